"""Red and amber lines set from an establishment's own recent scores.

A safety team can act on so many reds a day. Given a red capacity (reds per 1,000 prisoner-days),
the red line is the lowest value at which the establishment's recent judged days would have raised
no more than that many reds. A red is an *episode*, not a day: someone whose line value stays above
the line for three weeks raises one red, and another only once their light has left red and the
quiet period has passed, exactly as alerts behave (``alerts.should_close``). So the line is found
by replaying the recent days' line values, person by person, against each candidate line and
counting the reds each would have raised.

A line value is what is compared with the line: the person's score divided by their static-factor
multiplier, or above any line when regular habits stopped together (silence is red whatever the
line, so it uses up capacity like any other red). Every judged prisoner-day counts, people with an
open alert included: counting episodes rather than days keeps someone who stays high from
filling the capacity, and leaving them out would thin the top of the history after each red, so the
line would sink and reds outrun the capacity. Amber keeps the configured ratio to red. The line is
bounded (never below half the configured red, never above twice it) so an establishment where
almost nothing changes does not page on noise and a noisy one still pages.

The history is compact: per judged day, how many line values there were and the highest
``TAIL_KEPT`` of them, each with a short keyed hash of whose it was (``person_key``) so episodes can
be followed from day to day without keeping prison numbers. The count is exact as long as the
line falls within the kept values, which holds for establishments of up to about
``TAIL_KEPT * 1000 / capacity`` prisoners; beyond that the line is taken at the lowest kept value
(slightly fewer reds than asked).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aim.config import Thresholds

TAIL_KEPT = 64  # highest line values kept per judged day
FULL_DAY_SHARE = 0.8  # a day counts towards the line when this share of the most judged were judged
UPPER_FACTOR = 2.0  # the calibrated red never exceeds this multiple of the configured red
LOWER_FACTOR = 0.5  # ... nor falls below this multiple of it


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


def person_key(key: bytes, prisoner_id: str) -> str:
    """Whose a kept line value was, as 8 hex digits of HMAC-SHA256 under the deployment's key: enough
    to follow a person from day to day in the history, not to recover a prison number."""
    return hmac.new(key, prisoner_id.encode(), hashlib.sha256).hexdigest()[:8]


def day_entry(values: Iterable[tuple[str, float]]) -> dict[str, Any]:
    """One judged day's line values as kept: their number and the highest ``TAIL_KEPT``, each as
    ``[person key, value]``."""
    ordered = sorted(((str(k), float(v)) for k, v in values), key=lambda kv: -kv[1])
    return {"n": len(ordered), "top": [[k, round(v, 3)] for k, v in ordered[:TAIL_KEPT]]}


def update_history(
    history: dict[str, dict[str, Any]], day: str, values: Iterable[tuple[str, float]], keep_days: int
) -> dict[str, dict[str, Any]]:
    """``history`` with ``day`` set (a later run for the same day replaces it), the latest
    ``keep_days`` days kept."""
    merged = {**history, day: day_entry(values)}
    return {d: merged[d] for d in sorted(merged)[-keep_days:]}


def configured_line(thresholds: Thresholds, why: str) -> RedLine:
    return RedLine(thresholds.amber, thresholds.red, "configured", f"configured: {why}")


def calibrate(
    history: dict[str, dict[str, Any]],
    thresholds: Thresholds,
    capacity_per_1000: float | None,
    min_days: int,
    quiet_days: int = 14,
) -> RedLine:
    """The lowest red line at which the line values in ``history`` would have raised at most
    ``capacity_per_1000`` reds per 1,000 judged prisoner-days, a red being an episode that ends once
    the value is below the line and ``quiet_days`` have passed since it was raised; the configured
    thresholds when no capacity is set or the history is shorter than ``min_days``."""
    if capacity_per_1000 is None:
        return configured_line(thresholds, "no red capacity set")
    days = full_days(history)
    if len(days) < min_days:
        return configured_line(thresholds, f"fewer than {min_days} full days of history ({len(days)})")
    total = sum(int(history[d]["n"]) for d in days)
    runs = _runs(history, days)
    allowed = capacity_per_1000 * total / 1000.0
    value = _lowest_line(runs, allowed, quiet_days)
    lower, upper = LOWER_FACTOR * thresholds.red, UPPER_FACTOR * thresholds.red
    red = min(max(value, lower), upper)
    basis = (
        f"calibrated: at most {capacity_per_1000:g} reds per 1,000 over {total:,} judged prisoner-days "
        f"in {len(days)} days"
    )
    if red != value:
        factor = LOWER_FACTOR if red == lower else UPPER_FACTOR
        basis += f" ({value:.2f}, bounded at {red:.2f}, {factor:g}x the configured red)"
    return RedLine(red * thresholds.amber / thresholds.red, red, "calibrated", basis)


def _runs(history: dict[str, dict[str, Any]], days: list[str]) -> list[list[tuple[int, float]]]:
    """Each person's kept (day number, line value) pairs in day order. A value kept without a person
    (an older history) is a person of its own."""
    by_person: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
    for day in sorted(days):
        n = date.fromisoformat(day).toordinal()
        for i, kept in enumerate(history[day]["top"]):
            who, value = (kept[0], kept[1]) if isinstance(kept, list) else (f"{day}#{i}", kept)
            by_person[str(who)].append((n, float(value)))
    return list(by_person.values())


def reds_at(runs: list[list[tuple[int, float]]], line: float, quiet_days: int) -> int:
    """How many reds ``line`` would have raised: a red when a value reaches the line with no red
    open; the red stays open until a value is below the line ``quiet_days`` or more after it."""
    reds = 0
    for run in runs:
        raised: int | None = None
        for day, value in run:
            if raised is not None and value < line and day - raised >= quiet_days:
                raised = None
            if raised is None and value >= line:
                raised, reds = day, reds + 1
    return reds


def _lowest_line(runs: list[list[tuple[int, float]]], allowed: float, quiet_days: int) -> float:
    """The lowest kept value that as a line raises at most ``allowed`` reds (more reds never come
    from a higher line, near enough, so a binary search over the kept values finds it); the lowest
    kept value when even that raises no more, and above every value when none does."""
    candidates = sorted({v for run in runs for _, v in run})
    if not candidates:
        return 0.0
    lo, hi = 0, len(candidates)  # invariant: candidates[hi] (or above all) raises <= allowed
    while lo < hi:
        mid = (lo + hi) // 2
        if reds_at(runs, candidates[mid], quiet_days) <= allowed:
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo] if lo < len(candidates) else candidates[-1] + 1e-3


def full_days(history: dict[str, dict[str, Any]]) -> list[str]:
    """The days of ``history`` on which most of the establishment was judged: at least
    ``FULL_DAY_SHARE`` of the most judged on any day kept. While an establishment (or AIM) is new,
    people are judged as their baselines reach two weeks, on short baselines that score low; a line
    set from those days would sit too low once everyone's baseline is whole."""
    most = max((int(e.get("n", 0)) for e in history.values()), default=0)
    return [d for d, e in history.items() if most > 0 and int(e.get("n", 0)) >= FULL_DAY_SHARE * most]


__all__ = [
    "TAIL_KEPT",
    "LOWER_FACTOR",
    "UPPER_FACTOR",
    "person_key",
    "reds_at",
    "RedLine",
    "calibrate",
    "full_days",
    "configured_line",
    "day_entry",
    "SILENT_VALUE",
    "line_value",
    "update_history",
]
