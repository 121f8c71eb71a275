"""A plain per-factor rule, measured beside the model by ``aim evaluate`` as a reference.

AIM's detection target is stated against "a plain per-factor rule", said to reach about 0.45
recall within 72 hours at 1 false red per 1,000 prisoner-days on the scenario AIM is accepted
on. This module is that kind of rule, written without any of the model's machinery, so
an evaluation shows whether a gap comes from the model or from the scenario:

    every morning (07:00 local), for each prisoner and factor, the factor is *regular* if it
    happened on at least ``regular`` of the person's previous 28 closed days; the rule flags
    the person when at least ``factors`` regular factors have been absent for the last
    ``zero_days`` closed days. A flag is an alert; the same person is not alerted again within
    72 hours.

It reads the kiosk batches directly (JSON Lines, gzip or not), counting each ``event_id`` once
and only what was uploaded by the time of each morning check; nobody is checked after a release
or transfer record. No confounder masks, no static
factors, no day-of-week awareness: deliberately plain. Pure: no I/O beyond the bytes given.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FACTOR_OF_TYPE: dict[str, str] = {
    "visit_booked": "visits",
    "visit_attended": "visits",
    "phone_call": "phone",
    "phone_credit_added": "phone",
    "activity_attended": "purposeful",
    "canteen_order": "selfcare",
    "meal_selected": "selfcare",
    "application_submitted": "requests",
    "kiosk_login": "engagement",
}
FACTORS: tuple[str, ...] = ("visits", "phone", "purposeful", "selfcare", "requests", "engagement")
HISTORY_DAYS = 28
CHECK_AT = time(7, 0)
REARM = timedelta(hours=72)


@dataclass(frozen=True)
class RuleSetting:
    regular: float  # share of history days on which the factor happened
    zero_days: int  # closed days in a row without it
    factors: int  # regular factors that must all be absent

    @property
    def label(self) -> str:
        return f"regular >= {self.regular:.0%}, absent {self.zero_days} days, >= {self.factors} factor(s)"


DEFAULT_GRID: tuple[RuleSetting, ...] = tuple(
    RuleSetting(r, z, k) for r in (0.6, 0.75, 0.9) for z in (2, 3) for k in (1, 2, 3)
)


@dataclass(frozen=True)
class Upload:
    created_at: datetime  # when the batch could first be seen
    body: bytes


@dataclass(frozen=True)
class Flag:
    prisoner_id: str
    raised_at: datetime


MOVEMENTS = ("reception", "release", "transfer_out")


def _records(body: bytes) -> Iterable[tuple[str, str, str, datetime]]:
    """(event_id, type, prisoner_id, occurred_at) of each readable factor or movement record."""
    try:
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        lines = raw.decode("utf-8-sig").splitlines()[1:]
    except (OSError, EOFError, UnicodeDecodeError):
        return
    for line in lines:
        try:
            rec = json.loads(line)
            kind, pid = rec["type"], rec.get("prisoner_id")
            if (kind not in FACTOR_OF_TYPE and kind not in MOVEMENTS) or not isinstance(pid, str):
                continue
            at = datetime.fromisoformat(str(rec["occurred_at"]).replace("Z", "+00:00"))
            if at.tzinfo is None:
                continue
            yield str(rec["event_id"]), kind, pid, at
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def plain_rule_flags(
    uploads: Sequence[Upload], tz: ZoneInfo, first_check: date, last_check: date, settings: Sequence[RuleSetting]
) -> dict[RuleSetting, list[Flag]]:
    """The alerts each setting of the rule raises at the morning checks from ``first_check`` to ``last_check``."""
    ordered = sorted(uploads, key=lambda u: u.created_at)
    origin = first_check - timedelta(days=HISTORY_DAYS + max(s.zero_days for s in settings) + 2)
    n_days = (last_check - origin).days + 1
    n_f = len(FACTORS)
    f_index = {f: i for i, f in enumerate(FACTORS)}
    counts: dict[str, npt.NDArray[np.int32]] = defaultdict(lambda: np.zeros((n_days, n_f), dtype=np.int32))
    seen: set[tuple[str, str]] = set()
    flags: dict[RuleSetting, list[Flag]] = {s: [] for s in settings}
    last_flag: dict[tuple[RuleSetting, str], datetime] = {}
    gone: dict[str, datetime] = {}
    i = 0
    day = first_check
    while day <= last_check:
        check = datetime.combine(day, CHECK_AT, tzinfo=tz).astimezone(UTC)
        while i < len(ordered) and ordered[i].created_at <= check:
            for event_id, kind, pid, at in _records(ordered[i].body):
                if (pid, event_id) in seen:
                    continue
                seen.add((pid, event_id))
                if kind in MOVEMENTS:  # nobody who has left is checked; a reception brings them back
                    if kind == "reception":
                        gone.pop(pid, None)
                    elif at > gone.get(pid, datetime.min.replace(tzinfo=UTC)):
                        gone[pid] = at
                    continue
                d = (at.astimezone(tz).date() - origin).days
                if 0 <= d < n_days:
                    counts[pid][d, f_index[FACTOR_OF_TYPE[kind]]] += 1
            i += 1
        judged = (day - origin).days - 1  # yesterday: the latest closed day
        for pid, x in counts.items():
            if pid in gone:
                continue
            present = x > 0
            for s in settings:
                lo = judged - s.zero_days + 1
                hist = present[lo - HISTORY_DAYS : lo]
                if lo - HISTORY_DAYS < 0 or not hist.any():
                    continue
                regular = hist.mean(axis=0) >= s.regular
                absent = ~present[lo : judged + 1].any(axis=0)
                if int((regular & absent).sum()) < s.factors:
                    continue
                key = (s, pid)
                if key in last_flag and check - last_flag[key] < REARM:
                    continue
                last_flag[key] = check
                flags[s].append(Flag(pid, check))
        day += timedelta(days=1)
    return flags
