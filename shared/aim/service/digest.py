"""The weekly digest: per establishment, how the last seven days' reds were acted on, to the
governors' SNS subscriptions (message attribute ``digest=true``).

The figures are those of the governor's outcomes page (``outcome_figures``), over the seven whole
local days (the configured time zone, in which the schedule runs) before the run day, plus how many
alerts raised up to ``OPEN_LOOKBACK_DAYS`` back are still open more than a day after they were
raised. Nothing about a prisoner leaves: no prison number, no reason, no note.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from aim.domain.alerts import KIND_ATTRIBUTE
from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase
from aim.domain.digest import DIGEST_KIND, DigestFigures, digest_subject, digest_text
from aim.domain.ports import AlertPublisher
from aim.service.staff import outcome_figures

DIGEST_DAYS = 7
OPEN_LOOKBACK_DAYS = 90
DIGEST_ATTRIBUTES = {KIND_ATTRIBUTE: DIGEST_KIND, "digest": "true"}


class RaisedAlerts(Protocol):
    """The alerts the scorer raised (the staff service's ``BoardReader`` is one)."""

    def alerts_raised(self, establishment: str, start: datetime, end: datetime) -> list[AlertRecord]: ...


class CaseLookup(Protocol):
    """What staff recorded on alerts (the staff service's ``CaseRepository`` is one)."""

    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]: ...


@dataclass(frozen=True)
class DigestSent:
    establishment: str
    message_id: str
    figures: DigestFigures


def digest_window(now: datetime, tz: tzinfo) -> tuple[date, date]:
    """The seven whole local days before ``now``'s local day."""
    end = now.astimezone(tz).date() - timedelta(days=1)
    return end - timedelta(days=DIGEST_DAYS - 1), end


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def build_digest(
    establishment: str, now: datetime, reader: RaisedAlerts, cases: CaseLookup, tz: tzinfo
) -> DigestFigures:
    start, end = digest_window(now, tz)
    lo, hi = _midnight(start, tz), _midnight(end + timedelta(days=1), tz)
    since = min(lo, _midnight(end - timedelta(days=OPEN_LOOKBACK_DAYS), tz))
    recent = reader.alerts_raised(establishment, since, now)
    held = cases.get_many(establishment, [r.alert_id for r in recent]) if recent else {}
    week = [r for r in recent if lo <= datetime.fromisoformat(r.raised_at) < hi]
    total = outcome_figures(week, held)["total"]
    day_ago = now - timedelta(days=1)
    stale = [r for r in recent if datetime.fromisoformat(r.raised_at) < day_ago and _open(held.get(r.alert_id))]
    return DigestFigures(
        establishment=establishment,
        start=start.isoformat(),
        end=end.isoformat(),
        raised=len(week),
        acknowledged=sum(1 for r in week if _acknowledged(held.get(r.alert_id))),
        closed=total["status"]["closed"],
        median_minutes_to_acknowledge=total["median_minutes_to_acknowledge"],
        p90_minutes_to_acknowledge=total["p90_minutes_to_acknowledge"],
        median_minutes_to_first_intervention=total["median_minutes_to_first_intervention"],
        p90_minutes_to_first_intervention=total["p90_minutes_to_first_intervention"],
        open_over_a_day=len(stale),
        unacknowledged_over_a_day=sum(1 for r in stale if not _acknowledged(held.get(r.alert_id))),
        useful=dict(total["useful"]),
    )


def send_digest(
    establishment: str,
    now: datetime,
    reader: RaisedAlerts,
    cases: CaseLookup,
    publisher: AlertPublisher,
    tz: tzinfo,
) -> DigestSent:
    figures = build_digest(establishment, now, reader, cases, tz)
    message_id = publisher.publish(
        machine_json=json.dumps(figures.to_json(), sort_keys=True),
        human_text=digest_text(figures),
        subject=digest_subject(establishment),
        attributes={**DIGEST_ATTRIBUTES, "establishment": establishment},
    )
    return DigestSent(establishment, message_id, figures)


def _open(case: AlertCase | None) -> bool:
    return case is None or case.status != "closed"


def _acknowledged(case: AlertCase | None) -> bool:
    return case is not None and case.acknowledged_at is not None


__all__ = [
    "DIGEST_ATTRIBUTES",
    "CaseLookup",
    "RaisedAlerts",
    "DigestSent",
    "build_digest",
    "digest_window",
    "send_digest",
]
