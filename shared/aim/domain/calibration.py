"""Red and amber lines set from an establishment's own recent scores.

A safety team can act on so many reds a day. Given a red capacity (reds per 1,000 prisoner-days),
the red line is the value that the establishment's judged prisoner-days reach at about that rate:
the ``1 - capacity/1000`` quantile of its recent *line values*. A line value is what is compared
with the line: the person's score divided by their static-factor multiplier, or above any line
when regular habits stopped together (silence is red whatever the line, so it uses up capacity
like any other red). Every judged prisoner-day counts, open alerts and all: the capacity is the
safety team's workload, every red included. A high score lasts several days but raises one red,
so the realised rate of reds sits at or a little under the capacity. Amber keeps the configured
ratio to red. The line is bounded (never below the configured amber, never above twice the
configured red) so a quiet establishment does not page on noise and a noisy one still pages.

The history is compact: per judged day, how many line values there were and the highest of
them (``TAIL_KEPT``). The top of the pooled distribution is exact as long as the line falls within
those kept scores, which holds for establishments of up to ``TAIL_KEPT * 1000 / capacity``
prisoners; beyond that the line is taken at the lowest kept score (slightly fewer reds than asked).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aim.config import Thresholds

TAIL_KEPT = 64  # highest line values kept per judged day
FULL_DAY_SHARE = 0.8  # a day counts towards the line when this share of the most judged were judged
UPPER_FACTOR = 2.0  # the calibrated red never exceeds this multiple of the configured red


@dataclass(frozen=True)
class RedLine:
    """The lines in force for an establishment, before static factors, and how they were set."""

    amber: float
    red: float
    method: str  # "calibrated" or "configured"
    basis: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.red, 3), "amber": round(self.amber, 3), "method": self.method, "basis": self.basis}


SILENT_VALUE = 1000.0  # the line value of a silence: above any line (at most 2 x a red of at most 100s)


def line_value(light: str, score: float, multiplier: float, silent: bool) -> float | None:
    """What a prisoner's judged day adds to the history the line is set from: their score over
    their static-factor multiplier, ``SILENT_VALUE`` when regular habits stopped together, nothing
    when they were not judged (light 'insufficient': too little evidence, or days confounded)."""
    if light == "insufficient":
        return None
    return SILENT_VALUE if silent else score / multiplier


def day_entry(scores: Iterable[float]) -> dict[str, Any]:
    """One judged day's line values as kept: their number and the highest ``TAIL_KEPT``."""
    values = sorted((float(v) for v in scores), reverse=True)
    return {"n": len(values), "top": [round(v, 3) for v in values[:TAIL_KEPT]]}


def update_history(
    history: dict[str, dict[str, Any]], day: str, scores: Iterable[float], keep_days: int
) -> dict[str, dict[str, Any]]:
    """``history`` with ``day`` set (a later run for the same day replaces it), the latest
    ``keep_days`` days kept."""
    merged = {**history, day: day_entry(scores)}
    return {d: merged[d] for d in sorted(merged)[-keep_days:]}


def configured_line(thresholds: Thresholds, why: str) -> RedLine:
    return RedLine(thresholds.amber, thresholds.red, "configured", f"configured: {why}")


def calibrate(
    history: dict[str, dict[str, Any]],
    thresholds: Thresholds,
    capacity_per_1000: float | None,
    min_days: int,
) -> RedLine:
    """The red line that the line values in ``history`` reach at ``capacity_per_1000`` per 1,000;
    the configured thresholds when no capacity is set or the history is shorter than ``min_days``."""
    if capacity_per_1000 is None:
        return configured_line(thresholds, "no red capacity set")
    days = full_days(history)
    if len(days) < min_days:
        return configured_line(thresholds, f"fewer than {min_days} full days of history ({len(days)})")
    total = sum(int(e["n"]) for e in days)
    tail = sorted((float(v) for e in days for v in e["top"]), reverse=True)
    value = tail_quantile(tail, total, capacity_per_1000 / 1000.0)
    lower, upper = thresholds.amber, UPPER_FACTOR * thresholds.red
    red = min(max(value, lower), upper)
    pct = 100.0 * (1.0 - capacity_per_1000 / 1000.0)
    basis = f"calibrated: {pct:.2f}th percentile of {total:,} judged prisoner-days over {len(days)} days"
    if red != value:
        bound = "the configured amber" if red == lower else f"{UPPER_FACTOR:g}x the configured red"
        basis += f" ({value:.2f}, bounded at {red:.2f}, {bound})"
    return RedLine(red * thresholds.amber / thresholds.red, red, "calibrated", basis)


def full_days(history: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The days of ``history`` on which most of the establishment was judged: at least
    ``FULL_DAY_SHARE`` of the most judged on any day kept. While an establishment (or AIM) is new,
    people are judged as their baselines reach two weeks, on short baselines that score low; a line
    set from those days would sit too low once everyone's baseline is whole."""
    most = max((int(e.get("n", 0)) for e in history.values()), default=0)
    return [e for e in history.values() if most > 0 and int(e.get("n", 0)) >= FULL_DAY_SHARE * most]


def tail_quantile(tail_desc: list[float], total: int, share_above: float) -> float:
    """The score reached or passed by ``share_above`` of ``total`` scores, from the highest scores
    (descending). Linear between neighbouring order statistics, like ``numpy.quantile``."""
    if not tail_desc:
        return 0.0
    rank = share_above * (total - 1)  # 0: the highest score
    lo = math.floor(rank)
    if lo + 1 >= len(tail_desc):
        return tail_desc[-1]  # past the kept scores: the lowest kept
    frac = rank - lo
    return tail_desc[lo] * (1.0 - frac) + tail_desc[lo + 1] * frac


__all__ = [
    "TAIL_KEPT",
    "UPPER_FACTOR",
    "RedLine",
    "calibrate",
    "full_days",
    "configured_line",
    "day_entry",
    "SILENT_VALUE",
    "line_value",
    "update_history",
]
