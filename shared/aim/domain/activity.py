"""Facts: one stored item per distinct event, keyed so that storing it twice is a no-op.

Key layout (ActivityTable):
    pk = "{EST}#{local date}"      one partition per establishment-day, read whole by the scorer
    sk = "{prisoner}#{event_id}"   a prisoner's record
       | "~K#{kiosk}#{event_id}"   a kiosk heartbeat
       | "~U#{event_id}"           an unknown-type record without a prisoner

An item's content depends only on its event (and the kiosk that sent it), so a
redelivered message, a re-uploaded batch or an event repeated in another batch writes
the identical item: idempotent by construction, and concurrent writers commute.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from aim.domain.batch import BatchVerdict


class Fact(NamedTuple):
    """One stored event. Immutable; a named tuple because a batch builds one per record and a
    frozen dataclass cost several times more to construct (issue 5)."""

    establishment: str
    local_date: date
    event_id: str
    type: str
    occurred_at: datetime  # UTC
    kiosk_id: str
    prisoner_id: str | None = None
    detail: str = ""  # compact JSON of the validated detail, "" when empty
    batch: str = ""  # "{kiosk}/{batch_id}" that first stored it (provenance)

    @property
    def pk(self) -> str:
        return day_partition(self.establishment, self.local_date)

    @property
    def sk(self) -> str:
        if self.type == "kiosk_heartbeat":
            return f"~K#{self.kiosk_id}#{self.event_id}"
        if self.prisoner_id is None:
            return f"~U#{self.event_id}"
        return f"{self.prisoner_id}#{self.event_id}"

    def to_item(self, retention_days: int) -> dict[str, Any]:
        expires = self.occurred_at + timedelta(days=retention_days)
        item: dict[str, Any] = {
            "pk": self.pk,
            "sk": self.sk,
            "t": self.type,
            "at": self.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "k": self.kiosk_id,
            "b": self.batch,
            "expires_at": int(expires.timestamp()),
        }
        if self.detail:
            item["d"] = self.detail
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Fact:
        est, _, day = str(item["pk"]).partition("#")
        sk = str(item["sk"])
        if sk.startswith("~K#"):
            prisoner, event_id = None, sk.split("#", 2)[2]
        elif sk.startswith("~U#"):
            prisoner, event_id = None, sk[3:]
        else:
            prisoner, _, event_id = sk.partition("#")
        return cls(
            establishment=est,
            local_date=date.fromisoformat(day),
            event_id=event_id,
            type=str(item["t"]),
            occurred_at=datetime.fromisoformat(str(item["at"])),  # "...Z": UTC, as written by to_item
            kiosk_id=str(item.get("k", "")),
            prisoner_id=prisoner,
            detail=str(item.get("d", "")),
            batch=str(item.get("b", "")),
        )

    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


def day_partition(establishment: str, day: date) -> str:
    return f"{establishment}#{day.isoformat()}"


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The establishment's calendar day of a moment (DST-correct)."""
    return moment.astimezone(tz).date()


def facts_from_verdict(verdict: BatchVerdict, tz: ZoneInfo) -> list[Fact]:
    header = verdict.header
    establishment, kiosk_id = header.establishment, header.kiosk_id
    ref = batch_ref(kiosk_id, header.batch_id)
    facts = []
    # Local dates change only at whole quarter hours of UTC in every real zone (offsets are
    # multiples of 15 minutes): one time-zone lookup per quarter hour, not per record.
    day_of_quarter: dict[int, date] = {}
    for record in verdict.accepted:
        occurred = record.occurred_at
        if occurred.tzinfo is not UTC:
            occurred = occurred.astimezone(UTC)
        quarter = int(occurred.timestamp()) // 900
        local_day = day_of_quarter.get(quarter)
        if local_day is None:
            local_day = day_of_quarter[quarter] = occurred.astimezone(tz).date()
        facts.append(
            Fact(
                establishment,
                local_day,
                record.event_id,
                record.type,
                occurred,
                kiosk_id,
                record.prisoner_id,
                record.detail,
                ref,
            )
        )
    return facts


def batch_ref(kiosk_id: str, batch_id: str) -> str:
    return f"{kiosk_id}/{batch_id}"


def changes_key(establishment: str, day: date) -> tuple[str, str]:
    """The item listing the batches that brought facts for an establishment-day."""
    return f"{establishment}#DAYS", day.isoformat()


def batch_days(facts: list[Fact]) -> dict[date, datetime]:
    """Local days a batch's facts fall on, each with its latest occurred_at (for expiry)."""
    out: dict[date, datetime] = {}
    for f in facts:
        out[f.local_date] = max(out.get(f.local_date, f.occurred_at), f.occurred_at)
    return out
