"""What the board and the prisoner page show, read from what the scorer keeps.

The scorer writes each prisoner's light, score, reasons, static factors and daily feature
counts, and one record per alert raised. These are read-only views of them; the alert's
lifecycle is ``aim.domain.casework``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from aim.domain.features import CHANNELS, MEMBERSHIP

LIGHT_ORDER = {"red": 0, "amber": 1, "insufficient": 2, "green": 3}
ROUTINE_WEEKS = 6
USUAL_DAYS = 28  # "usual" for a day: the mean of the 28 days before it
MIN_USUAL_DAYS = 7


@dataclass(frozen=True)
class BoardRow:
    prisoner_id: str
    wing: str
    location: str | None
    light: str
    score: float
    since: str | None
    open_alert_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "prisoner_id": self.prisoner_id,
            "wing": self.wing,
            "location": self.location,
            "light": self.light,
            "score": round(self.score, 2),
            "since": self.since,
            "open_alert_id": self.open_alert_id,
        }


@dataclass(frozen=True)
class HabitSeries:
    """One habit's daily counts against the person's usual, oldest day first."""

    signal: str
    words: str
    direction: str  # "drop": a fall matters; "rise": a rise matters
    days: list[str]
    counts: list[int]
    usual: list[float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "words": self.words,
            "direction": self.direction,
            "days": self.days,
            "counts": self.counts,
            "usual": self.usual,
        }


@dataclass(frozen=True)
class PrisonerView:
    establishment: str
    prisoner_id: str
    wing: str
    location: str | None
    light: str
    score: float
    since: str | None
    judged_day: str | None
    reasons: list[dict[str, Any]]
    static_factors: list[str]
    open_alert_id: str | None
    in_custody: bool
    routine: list[HabitSeries] = field(default_factory=list)


@dataclass(frozen=True)
class AlertRecord:
    """An alert as the scorer raised it: the ``aim.alert/1`` message."""

    alert_id: str
    establishment: str
    prisoner_id: str
    raised_at: str
    message: dict[str, Any]
    # The person's fairness subgroups when it was raised (age band, kiosk use): for figures by group
    # only, never shown against the person.
    subgroups: dict[str, str] = field(default_factory=dict)

    @property
    def wing(self) -> str:
        location = self.message.get("location") or ""
        return str(location).split("-")[0] if location else "?"

    @classmethod
    def from_message(cls, message: dict[str, Any], subgroups: dict[str, str] | None = None) -> AlertRecord:
        return cls(
            alert_id=str(message["alert_id"]),
            establishment=str(message["establishment"]),
            prisoner_id=str(message["prisoner_id"]),
            raised_at=str(message["raised_at"]),
            message=message,
            subgroups=dict(subgroups or {}),
        )


def board_order(rows: list[BoardRow]) -> list[BoardRow]:
    """Reds first, then ambers, then those with too little data for a human check, then greens;
    within a light the highest score first, then by prison number."""
    return sorted(rows, key=lambda r: (LIGHT_ORDER.get(r.light, 9), -r.score, r.prisoner_id))


def routine_against_usual(
    days: npt.NDArray[np.int16],
    origin: date,
    last_day: date,
    weeks: int = ROUTINE_WEEKS,
    first_day: date | None = None,
) -> list[HabitSeries]:
    """Each habit's daily counts for the last ``weeks`` weeks up to ``last_day``, beside the mean of
    the ``USUAL_DAYS`` days before each day (``None`` where fewer than ``MIN_USUAL_DAYS`` are kept).
    Nothing before ``first_day`` (when AIM first saw the person) is shown or counted in the usual.
    Habits the person never showed in the window are left out."""
    channels = days.astype(np.float64) @ MEMBERSHIP.T  # [H, C]
    end = (last_day - origin).days
    if end < 0:
        return []
    end = min(end, channels.shape[0] - 1)
    floor = max(0, (first_day - origin).days) if first_day else 0
    if floor > end:
        return []
    channels = channels.copy()
    channels[:floor] = np.nan
    start = max(floor, end - weeks * 7 + 1)
    shown = [origin + timedelta(days=t) for t in range(start, end + 1)]
    out = []
    for c, channel in enumerate(CHANNELS):
        counts = channels[start : end + 1, c]
        history = channels[max(floor, start - USUAL_DAYS) : end + 1, c]
        if not np.nansum(history):
            continue
        usual: list[float | None] = []
        for t in range(start, end + 1):
            before = channels[max(floor, t - USUAL_DAYS) : t, c]
            usual.append(round(float(before.mean()), 2) if len(before) >= MIN_USUAL_DAYS else None)
        out.append(
            HabitSeries(
                signal=channel.name,
                words=channel.words,
                direction=channel.direction,
                days=[d.isoformat() for d in shown],
                counts=[int(v) for v in counts],
                usual=usual,
            )
        )
    return out


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


__all__ = [
    "LIGHT_ORDER",
    "AlertRecord",
    "BoardRow",
    "HabitSeries",
    "PrisonerView",
    "board_order",
    "routine_against_usual",
]
