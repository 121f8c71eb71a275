"""Apply one uploaded kiosk batch: validate, store its facts (packed per day), report, or quarantine.

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
from aim.domain.activity import batch_packs
from aim.domain.batch import BatchVerdict, QuarantineError, read_batch
from aim.domain.contract import BatchHeader
from aim.domain.ports import ActivityRepository, ObjectStore

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


def batch_key(establishment: str, kiosk_id: str, batch_id: str, *, gz: bool) -> str:
    """Where a kiosk puts a batch: ``incoming/{EST}/{kiosk_id}/{batch_id}.jsonl[.gz]``."""
    return f"{INCOMING}{establishment}/{kiosk_id}/{batch_id}.jsonl{'.gz' if gz else ''}"


def upload_key(header: BatchHeader, gz: bool) -> str:
    """The object key of a batch with this header (the header is authoritative over the key)."""
    return batch_key(header.establishment, header.kiosk_id, header.batch_id, gz=gz)


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
    activity: ActivityRepository,
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
    key: str, verdict: BatchVerdict, activity: ActivityRepository, config: AimConfig, tz: ZoneInfo
) -> IngestOutcome:
    """Store a validated batch's facts as one pack per local day, each named in the day's change set
    once stored (the scorer re-reads a day when its change set grows).

    A day whose change set already names this pack (``{kiosk}/{batch_id}#{digest of the day's
    facts}``) was stored completely by an earlier attempt, so it is skipped: a redelivered or
    re-uploaded batch writes nothing, and a retry after a crash part-way writes exactly what is
    missing. A batch_id re-used with other content is a new pack, stored beside the first.

    Report counts: ``records_duplicate`` is the records within the batch that repeat an earlier
    record of it plus the records of days whose identical pack was already stored (a redelivery or
    re-upload); ``records_applied`` is the rest. An event repeated from *another* batch is not looked
    up at ingest: it is stored in this batch's pack, counted as applied, and counts once when the
    scorer reads the day (``activity.distinct_facts``: the copy from the batch whose ref sorts first
    wins)."""
    header = verdict.header
    packs = batch_packs(verdict, tz, config.retention.activity_days)
    stored = activity.put_packs_if_absent(header.establishment, packs)
    applied = sum(p.facts for p in stored)
    return IngestOutcome(
        key=key,
        status="applied",
        establishment=verdict.header.establishment,
        applied=applied,
        duplicates=len(verdict.accepted) - applied + verdict.duplicates_in_batch,
        rejected=len(verdict.rejects),
        unknown_types=verdict.unknown_types,
        heartbeats=verdict.heartbeats,
        rejects=[{"line": r.line, "event_id": r.event_id, "reason": r.reason} for r in verdict.rejects],
    )
