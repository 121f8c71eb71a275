"""Reconcile: is every upload accounted for?

An upload under ``incoming/`` is accounted for once the transform has written its report
(``reports/<path>.report.json``, status ``applied`` or ``quarantined``). Anything older than a
grace period without one was never processed (a lost notification, a crash before the report,
a key whose suffix S3 never notifies about), and every message on the ingest dead-letter queue
is a batch that failed five times. ``aim reconcile`` lists both and exits 1 if there are any,
so it can run as a periodic check.

It reads object keys, report keys, the day change sets and dead-letter messages (S3
notifications): never an upload's content, so it prints no prison numbers.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from aim.domain.activity import member_ref

INCOMING = "incoming/"
REPORTS = "reports/"
REPORT_SUFFIX = ".report.json"
_BATCH_KEY = re.compile(r"^incoming/([A-Z]{3})/([A-Za-z0-9._:-]{1,64})/([A-Za-z0-9._:-]{1,64})\.jsonl(\.gz)?$")
_PEEK_ROUNDS = 50  # receive calls at most when peeking the dead-letter queue


@dataclass(frozen=True)
class UnaccountedUpload:
    key: str
    last_modified: datetime
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    keys: tuple[str, ...]
    receive_count: int
    note: str = ""


@dataclass
class ReconcileReport:
    checked: int = 0  # uploads older than the grace period
    accounted: int = 0
    unaccounted: list[UnaccountedUpload] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unaccounted and not self.dead_letters

    def lines(self) -> list[str]:
        out = [
            f"uploads older than the grace period: {self.checked}, accounted for: {self.accounted}, "
            f"unaccounted: {len(self.unaccounted)}, dead letters: {len(self.dead_letters)}"
        ]
        for u in self.unaccounted:
            out.append(f"UNACCOUNTED {u.key} (uploaded {u.last_modified.isoformat()}): {u.reason}")
        for d in self.dead_letters:
            names = ", ".join(d.keys) or "-"
            note = f" ({d.note})" if d.note else ""
            out.append(f"DEAD LETTER {d.message_id} received {d.receive_count}x: {names}{note}")
        return out


def _pages(s3_client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def report_key_for(key: str) -> str:
    return REPORTS + key.removeprefix(INCOMING) + REPORT_SUFFIX


def _recorded_batches(ddb_client: Any, activity_table: str, establishment: str) -> set[str]:
    """Every ``{kiosk}/{batch_id}`` named in the establishment's day change sets (still within TTL)."""
    from aim.adapters.activity_table import DynamoActivityRepository

    change_sets = DynamoActivityRepository(activity_table, ddb_client).change_sets(establishment)
    return {member_ref(m) for members in change_sets.values() for m in members}


def _why_unprocessed(key: str, recorded: dict[str, set[str]]) -> str:
    match = _BATCH_KEY.match(key)
    if match is None:
        if not key.endswith((".jsonl", ".jsonl.gz")):
            return "no report: not a batch suffix (.jsonl/.jsonl.gz), so S3 never notified the transform"
        return "no report: key does not match incoming/{EST}/{kiosk}/{batch}.jsonl[.gz] and was never processed"
    est, kiosk, batch = match.group(1), match.group(2), match.group(3)
    if f"{kiosk}/{batch}" in recorded.get(est, set()):
        return "no report, but facts of this batch are stored: processing stopped before the report (redrive it)"
    return "no report and no stored facts: never processed (lost notification or still failing)"


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
    try:
        body = json.loads(message.get("Body", ""))
    except ValueError:
        return DeadLetter(message["MessageId"], (), count, "body is not JSON")
    records = body.get("Records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        note = "S3 test event" if isinstance(body, dict) and body.get("Event") == "s3:TestEvent" else "no Records"
        return DeadLetter(message["MessageId"], (), count, note)
    keys = []
    for record in records:
        try:
            keys.append(unquote_plus(str(record["s3"]["object"]["key"])))
        except (KeyError, TypeError):
            continue
    return DeadLetter(message["MessageId"], tuple(keys), count, "" if keys else "names no object")


def peek_dead_letters(sqs_client: Any, dlq_url: str) -> list[DeadLetter]:
    """Every message on the queue, left on it (VisibilityTimeout=0, nothing deleted)."""
    attrs = sqs_client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    expected = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    seen: dict[str, DeadLetter] = {}
    empty_rounds = 0
    for _ in range(_PEEK_ROUNDS):
        if expected and len(seen) >= expected:
            break
        response = sqs_client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            AttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        if not messages:
            empty_rounds += 1
            if empty_rounds >= 2 or not expected:
                break
            continue
        for m in messages:
            seen.setdefault(m["MessageId"], _dead_letter(m))
    return sorted(seen.values(), key=lambda d: (d.keys, d.message_id))


def reconcile(
    s3_client: Any,
    ddb_client: Any,
    sqs_client: Any,
    bucket: str,
    activity_table: str,
    dlq_url: str,
    now: datetime,
    grace: timedelta,
) -> ReconcileReport:
    """Uploads older than ``grace`` with no report, and the messages on the dead-letter queue."""
    report = ReconcileReport()
    reports = {obj["Key"] for obj in _pages(s3_client, bucket, REPORTS)}
    cutoff = now - grace
    missing: list[tuple[str, datetime]] = []
    for obj in _pages(s3_client, bucket, INCOMING):
        modified: datetime = obj["LastModified"]
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        if modified > cutoff:
            continue  # the transform may still be on it
        report.checked += 1
        if report_key_for(obj["Key"]) in reports:
            report.accounted += 1
        else:
            missing.append((obj["Key"], modified))
    establishments = {m.group(1) for key, _ in missing if (m := _BATCH_KEY.match(key))}
    recorded = {est: _recorded_batches(ddb_client, activity_table, est) for est in sorted(establishments)}
    report.unaccounted = [UnaccountedUpload(key, at, _why_unprocessed(key, recorded)) for key, at in sorted(missing)]
    report.dead_letters = peek_dead_letters(sqs_client, dlq_url)
    return report


def run_reconcile(args: argparse.Namespace) -> int:
    """``aim reconcile``: print the report; exit 1 when anything is unaccounted for."""
    from aim.adapters.aws import client  # boto3 honours AWS_ENDPOINT_URL itself

    result = reconcile(
        client("s3"),
        client("dynamodb"),
        client("sqs"),
        args.bucket,
        args.activity_table,
        args.dlq_url,
        datetime.now(UTC),
        timedelta(minutes=args.grace_minutes),
    )
    for line in result.lines():
        print(line)
    return 0 if result.ok else 1
