"""The weekly digest to governors: a short text of how AIM did at one establishment in a week.

Pure: figures in, text out. The figures are counts and times only, so the text carries no
prisoner, no health detail and nothing staff wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DIGEST_SCHEMA = "aim.digest/1"
DIGEST_KIND = "digest"  # the ``kind`` message attribute (aim.domain.alerts.KIND_ATTRIBUTE)


@dataclass(frozen=True)
class DigestFigures:
    """One establishment's week: counts and times to act (minutes; None when nothing was measured)."""

    establishment: str
    start: str  # first day, ISO
    end: str  # last day, ISO
    raised: int
    acknowledged: int
    closed: int
    median_minutes_to_acknowledge: float | None
    p90_minutes_to_acknowledge: float | None
    median_minutes_to_first_intervention: float | None
    p90_minutes_to_first_intervention: float | None
    open_over_a_day: int
    unacknowledged_over_a_day: int
    useful: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": DIGEST_SCHEMA,
            "establishment": self.establishment,
            "from": self.start,
            "to": self.end,
            "reds_raised": self.raised,
            "acknowledged": self.acknowledged,
            "closed": self.closed,
            "median_minutes_to_acknowledge": self.median_minutes_to_acknowledge,
            "p90_minutes_to_acknowledge": self.p90_minutes_to_acknowledge,
            "median_minutes_to_first_intervention": self.median_minutes_to_first_intervention,
            "p90_minutes_to_first_intervention": self.p90_minutes_to_first_intervention,
            "open_over_a_day": self.open_over_a_day,
            "unacknowledged_over_a_day": self.unacknowledged_over_a_day,
            "useful": dict(self.useful),
        }


def duration_text(minutes: float | None) -> str:
    """``None`` -> "no data"; under an hour in minutes; under two days in hours; else in days."""
    if minutes is None:
        return "no data"
    if minutes < 60:
        return f"{round(minutes)} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / (24 * 60):.1f} days"


def digest_subject(establishment: str) -> str:
    return f"AIM weekly digest {establishment}"


def digest_text(f: DigestFigures) -> str:
    useful = f.useful
    return "\n".join(
        [
            f"AIM weekly digest for {f.establishment}, {f.start} to {f.end}",
            "",
            f"Reds raised: {f.raised}",
            f"Acknowledged: {f.acknowledged}",
            f"Closed: {f.closed}",
            "",
            "Time to acknowledge: "
            f"median {duration_text(f.median_minutes_to_acknowledge)}, "
            f"90th percentile {duration_text(f.p90_minutes_to_acknowledge)}",
            "Time to first intervention: "
            f"median {duration_text(f.median_minutes_to_first_intervention)}, "
            f"90th percentile {duration_text(f.p90_minutes_to_first_intervention)}",
            "",
            f"Alerts open for more than a day: {f.open_over_a_day} "
            f"(not yet acknowledged: {f.unacknowledged_over_a_day})",
            "",
            "Staff judged the alert useful: "
            f"yes {useful.get('yes', 0)}, no {useful.get('no', 0)}, unsure {useful.get('unsure', 0)}",
            "",
            "Details on the board: the establishment's outcomes page.",
        ]
    )


__all__ = ["DIGEST_SCHEMA", "DigestFigures", "digest_subject", "digest_text", "duration_text"]
