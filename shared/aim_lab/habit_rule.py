"""The habit-drop rule: a second plain reference measured beside the model by ``aim evaluate``.

Every morning at 06:00 local, for each person in custody:

    count their events per habit per day; compare the last two closed days with their own
    daily mean over the 28 days before, scaled down when the establishment as a whole fell on
    that habit; a habit is *low* when the Poisson probability of so few events is under 0.05.
    The score adds -ln p over the low habits, plus 3 per refusal (an activity missed with reason
    ``refused``, or a visit cancelled by the prisoner) in those two days. Red when at least two
    habits are low or there were two refusals, and the score reaches the threshold; no second
    red for the same person within 14 days.

Like ``aim_lab.reference_rule`` it reads the kiosk batches' bytes: each ``event_id`` once, only
what was uploaded by the time of each check, nobody checked after a release or transfer record
(a reception brings them back). No confounder masks, no static factors: deliberately plain.
One pass gives the reds of every threshold in the grid, so an evaluation can trace its curve.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aim_lab.reference_rule import Flag, Upload

HABIT_OF_TYPE: dict[str, str] = {
    "visit_booked": "visits",
    "visit_attended": "visits",
    "phone_call": "phone",
    "phone_credit_added": "phone",
    "activity_attended": "work",
    "canteen_order": "self_care",
    "meal_selected": "self_care",
    "application_submitted": "requests",
    "complaint_submitted": "requests",
    "healthcare_request": "requests",
    "kiosk_login": "engagement",
}
HABITS: tuple[str, ...] = ("visits", "phone", "work", "self_care", "requests", "engagement")
MOVEMENTS = ("reception", "release", "transfer_out")
READ_TYPES = frozenset(HABIT_OF_TYPE) | {"activity_missed", "visit_cancelled", *MOVEMENTS}
CHECK_AT = time(6, 0)
HISTORY_DAYS = 28
RECENT_DAYS = 2
MIN_HISTORY_DAYS = 7  # a person seen for fewer days is not judged yet
LOW_P = 0.05
REFUSAL_POINTS = 3.0
REARM = timedelta(days=14)
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in range(3, 21))


def poisson_lower_tail(observed: int, mean: float) -> float:
    """P(X <= observed) for X ~ Poisson(mean)."""
    if mean <= 0.0:
        return 1.0
    term = total = math.exp(-mean)
    for k in range(1, observed + 1):
        term *= mean / k
        total += term
    return min(1.0, total)


def _records(body: bytes) -> Iterable[tuple[str, str, str, datetime, dict[str, Any]]]:
    """(event_id, type, prisoner_id, occurred_at, detail) of each readable record the rule uses."""
    try:
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        lines = raw.decode("utf-8-sig").splitlines()[1:]
    except (OSError, EOFError, UnicodeDecodeError):
        return
    for line in lines:
        try:
            rec = json.loads(line)
            kind, pid = rec["type"], rec.get("prisoner_id")
            if not isinstance(pid, str):
                continue
            if (
                kind not in HABIT_OF_TYPE
                and kind not in MOVEMENTS
                and kind not in ("activity_missed", "visit_cancelled")
            ):
                continue
            at = datetime.fromisoformat(str(rec["occurred_at"]).replace("Z", "+00:00"))
            detail = rec.get("detail") or {}
            if at.tzinfo is None or not isinstance(detail, dict):
                continue
            yield str(rec["event_id"]), kind, pid, at, detail
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def _is_refusal(kind: str, detail: dict[str, Any]) -> bool:
    return (kind == "activity_missed" and detail.get("reason") == "refused") or (
        kind == "visit_cancelled" and detail.get("by") == "prisoner"
    )


def habit_scores(
    uploads: Sequence[Upload], tz: ZoneInfo, first_check: date, last_check: date
) -> list[tuple[str, datetime, float]]:
    """(prisoner, check, score) of every morning check at which the person met the red condition."""
    ordered = sorted(uploads, key=lambda u: u.created_at)
    origin = first_check - timedelta(days=HISTORY_DAYS + RECENT_DAYS + 1)
    n_days = (last_check - origin).days + 1
    h_index = {h: i for i, h in enumerate(HABITS)}
    counts: dict[str, npt.NDArray[np.int32]] = defaultdict(lambda: np.zeros((n_days, len(HABITS)), dtype=np.int32))
    refusals: dict[str, npt.NDArray[np.int32]] = defaultdict(lambda: np.zeros(n_days, dtype=np.int32))
    first_day: dict[str, int] = {}  # the person's first day here: their reception, else their first record
    seen: set[str] = set()
    gone: dict[str, datetime] = {}
    out: list[tuple[str, datetime, float]] = []
    scale = np.ones(len(HABITS))
    i = 0
    day = first_check
    while day <= last_check:
        check = datetime.combine(day, CHECK_AT, tzinfo=tz).astimezone(UTC)
        while i < len(ordered) and ordered[i].created_at <= check:
            for event_id, kind, pid, at, detail in _records(ordered[i].body):
                if event_id in seen:
                    continue
                seen.add(event_id)
                d = (at.astimezone(tz).date() - origin).days
                if kind in MOVEMENTS:
                    if kind == "reception":
                        gone.pop(pid, None)
                        first_day[pid] = max(d, 0)  # an earlier stay is not this one's history
                    elif at > gone.get(pid, datetime.min.replace(tzinfo=UTC)):
                        gone[pid] = at
                    continue
                if not 0 <= d < n_days:
                    continue
                first_day[pid] = min(first_day.get(pid, d), d)
                if kind in HABIT_OF_TYPE:
                    counts[pid][d, h_index[HABIT_OF_TYPE[kind]]] += 1
                elif _is_refusal(kind, detail):
                    refusals[pid][d] += 1
            i += 1
        recent_end = (day - origin).days  # exclusive: today is not closed
        lo = recent_end - RECENT_DAYS
        here = [x for pid, x in counts.items() if pid not in gone]
        if here:
            everyone = np.sum(here, axis=0)
            hist_lo = lo - HISTORY_DAYS
            est_hist = everyone[hist_lo:lo].mean(axis=0)
            est_recent = everyone[lo:recent_end].mean(axis=0)
            scale = np.minimum(1.0, np.divide(est_recent, est_hist, out=np.ones(len(HABITS)), where=est_hist > 0))
        for pid, x in counts.items():
            if pid in gone:
                continue
            start = max(first_day.get(pid, 0), lo - HISTORY_DAYS)
            if lo - start < MIN_HISTORY_DAYS:
                continue
            expected = x[start:lo].mean(axis=0) * RECENT_DAYS * scale
            observed = x[lo:recent_end].sum(axis=0)
            low = [p for p in map(poisson_lower_tail, observed.tolist(), expected.tolist()) if p < LOW_P]
            refused = int(refusals[pid][lo:recent_end].sum()) if pid in refusals else 0
            if len(low) < 2 and refused < 2:
                continue
            out.append((pid, check, sum(-math.log(p) for p in low) + REFUSAL_POINTS * refused))
        day += timedelta(days=1)
    return out


def habit_rule_flags(
    uploads: Sequence[Upload],
    tz: ZoneInfo,
    first_check: date,
    last_check: date,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict[float, list[Flag]]:
    """The reds the rule raises at each threshold, at the morning checks from ``first_check`` to ``last_check``."""
    scores = habit_scores(uploads, tz, first_check, last_check)
    flags: dict[float, list[Flag]] = {}
    for threshold in thresholds:
        last_red: dict[str, datetime] = {}
        raised = []
        for pid, check, score in scores:
            if score < threshold or (pid in last_red and check - last_red[pid] < REARM):
                continue
            last_red[pid] = check
            raised.append(Flag(pid, check))
        flags[threshold] = raised
    return flags
