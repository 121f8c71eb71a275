"""Apply one uploaded kiosk batch: validate, store new facts, report, or quarantine.

Every processed object gets a report at ``reports/<path under incoming/>.report.json``
(outcome, counts, each rejected line with its reason), so an operator can find any
batch's fate. A quarantined object is also copied to ``quarantine/<same path>``.
Nothing is ever deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aim.config import AimConfig
from aim.domain.activity import Fact, batch_days, batch_ref, changes_key, facts_from_verdict
from aim.domain.batch import BatchVerdict, QuarantineError, read_batch
from aim.domain.ports import ItemStore, ObjectStore

REPORT_SCHEMA = "aim.batch-report/1"
INCOMING = "incoming/"
_KEY = re.compile(r"^incoming/([A-Z]{3})/([A-Za-z0-9._:-]{1,64})/([A-Za-z0-9._:-]{1,64})\.jsonl(\.gz)?$")


@dataclass
class IngestOutcome:
    key: str
    status: Literal["applied", "quarantined", "ignored"]
    reason: str = ""
    establishment: str | None = None
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown_types: int = 0
    heartbeats: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def report(self, processed_at: datetime) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "establishment": self.establishment,
            "records_applied": self.applied,
            "records_duplicate": self.duplicates,
            "records_rejected": self.rejected,
            "unknown_types": self.unknown_types,
            "heartbeats": self.heartbeats,
            "rejects": self.rejects,
            "processed_at": processed_at.isoformat(),
        }


def report_key(key: str) -> str:
    return "reports/" + key.removeprefix(INCOMING) + ".report.json"


def quarantine_key(key: str) -> str:
    return "quarantine/" + key.removeprefix(INCOMING)


def key_problem(key: str) -> str | None:
    """Why an object key is not an acceptable batch location, or None."""
    if ".." in key.split("/") or "//" in key or key.startswith("/"):
        return "key contains an empty or '..' path segment"
    if not key.startswith(INCOMING):
        return "key is outside incoming/"
    if not _KEY.match(key):
        return "key does not match incoming/{EST}/{kiosk_id}/{batch_id}.jsonl[.gz]"
    return None


def ingest_object(
    key: str,
    objects: ObjectStore,
    activity: ItemStore,
    config: AimConfig,
    received_at: datetime,
) -> IngestOutcome:
    """Process one object under incoming/. Transient AWS errors propagate (the message is retried)."""
    problem = key_problem(key)
    if problem is not None and not key.startswith(INCOMING):
        # Not ours to judge (e.g. AIM's own reports): ignore, never write beside it.
        return IngestOutcome(key=key, status="ignored", reason=problem)
    body = objects.get_bytes(key)
    tz = ZoneInfo(config.timezone)
    try:
        if problem is not None:
            raise QuarantineError(problem)
        key_match = _KEY.match(key)
        assert key_match is not None
        verdict = read_batch(
            key,
            body,
            expected_establishment=key_match.group(1),
            oldest_allowed=received_at - timedelta(days=config.retention.activity_days),
            received_at=received_at,
        )
        if verdict.header.establishment not in config.establishments:
            raise QuarantineError(f"establishment {verdict.header.establishment} is not configured in this deployment")
    except QuarantineError as exc:
        outcome = IngestOutcome(key=key, status="quarantined", reason=str(exc))
        objects.copy(key, quarantine_key(key))
        objects.put_json(report_key(key), outcome.report(received_at))
        return outcome

    outcome = apply_verdict(key, verdict, activity, config, tz)
    objects.put_json(report_key(key), outcome.report(received_at))
    return outcome


def apply_verdict(
    key: str, verdict: BatchVerdict, activity: ItemStore, config: AimConfig, tz: ZoneInfo
) -> IngestOutcome:
    """Store the facts of a validated batch that are not stored yet; count the rest as duplicates."""
    facts = facts_from_verdict(verdict, tz)
    header = verdict.header
    retention = config.retention.activity_days
    existing = activity.existing([(f.pk, f.sk) for f in facts])
    new_facts: list[Fact] = [f for f in facts if (f.pk, f.sk) not in existing]
    activity.put_many(f.to_item(retention) for f in new_facts)
    # Tell the scorer which days changed: add this batch to each day's change set, after the
    # facts are stored. Days are taken from every fact this batch stored, now or in an earlier
    # attempt that crashed part-way, so a retry repairs the set; a batch that only repeats
    # events another batch stored adds nothing, and re-adding a member changes nothing.
    ours = batch_ref(header.kiosk_id, header.batch_id)
    stored_by_us = [f for f in facts if (f.pk, f.sk) not in existing or existing[(f.pk, f.sk)].get("b") == ours]
    for day, latest in sorted(batch_days(stored_by_us).items()):
        pk, sk = changes_key(header.establishment, day)
        expires = int((latest + timedelta(days=retention)).timestamp())
        activity.add_to_set(pk, sk, "batches", {ours}, expires)
    return IngestOutcome(
        key=key,
        status="applied",
        establishment=verdict.header.establishment,
        applied=len(new_facts),
        duplicates=len(facts) - len(new_facts) + verdict.duplicates_in_batch,
        rejected=len(verdict.rejects),
        unknown_types=verdict.unknown_types,
        heartbeats=verdict.heartbeats,
        rejects=[{"line": r.line, "event_id": r.event_id, "reason": r.reason} for r in verdict.rejects],
    )
