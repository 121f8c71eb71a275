"""Daily feature vectors: what one prisoner did on one local day, as counts.

Scoring works on *channels*, sums of features: a drop channel (e.g. phone calls and
credit) is evidence when it falls below the person's own expected level; a rise channel
(refusals, distress) is evidence when it rises above it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aim.domain.activity import Fact

FEATURES: tuple[str, ...] = (
    "visit_booked",
    "visit_attended",
    "visit_cancelled_prisoner",
    "visit_cancelled_visitor",
    "visit_cancelled_establishment",
    "phone_call",
    "phone_credit_added",
    "activity_attended",
    "activity_missed_refused",  # refused (a session missed sick counts under "other")
    "activity_missed_cancelled",
    "activity_missed_other",
    "canteen_order",
    "meal_selected",
    "application_submitted",
    "complaint_submitted",
    "healthcare_request",
    "kiosk_login",
    "late_login",  # kiosk_login between 22:00 and 05:59 local time
    "routine",  # every routine record of the day (all of the above)
)
F = {name: i for i, name in enumerate(FEATURES)}
NF = len(FEATURES)
LATE_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4, 5})


@dataclass(frozen=True)
class Channel:
    name: str
    factor: str  # the configurable factor it belongs to (config.FACTORS)
    direction: Literal["drop", "rise"]
    features: tuple[int, ...]
    words: str  # what an officer reads: "phone calls and credit"
    weight: float = 1.0


CHANNELS: tuple[Channel, ...] = (
    Channel("visits", "visits", "drop", (F["visit_booked"], F["visit_attended"]), "visits booked or attended"),
    Channel("visits_cancelled", "visits", "rise", (F["visit_cancelled_prisoner"],), "visits cancelled by them"),
    Channel("phone", "phone", "drop", (F["phone_call"], F["phone_credit_added"]), "phone calls and credit"),
    Channel("purposeful", "purposeful", "drop", (F["activity_attended"],), "work, education and activities"),
    # A refused session is rare in an ordinary routine and is an act rather than an absence, so it
    # weighs three times a drop channel (the plain habit-drop rule gives each refusal 3 points). A
    # session missed sick is not a refusal: ordinary illness is the commonest change in routine, so
    # it counts under "other" and is left out of this channel.
    Channel("refusals", "purposeful", "rise", (F["activity_missed_refused"],), "activities refused", 3.0),
    Channel(
        "selfcare", "selfcare", "drop", (F["canteen_order"], F["meal_selected"]), "canteen orders and meal choices"
    ),
    Channel("applications", "requests", "drop", (F["application_submitted"],), "applications", 0.5),
    # Ordinary illness raises healthcare requests too: evidence, but not alone.
    Channel(
        "distress",
        "requests",
        "rise",
        (F["complaint_submitted"], F["healthcare_request"]),
        "requests and complaints",
        0.5,
    ),
    # Every kiosk action starts with a login, so kiosk use falls with any other drop channel: half
    # weight, so one withdrawal is not counted twice in full (measured: a slightly better trade-off).
    Channel("engagement", "engagement", "drop", (F["kiosk_login"],), "kiosk use", 0.5),
    Channel("late_night", "engagement", "rise", (F["late_login"],), "kiosk use late at night"),
)
NC = len(CHANNELS)
DROP = np.array([c.direction == "drop" for c in CHANNELS])
# channel x feature membership matrix: channels = features @ MEMBERSHIP.T
MEMBERSHIP = np.zeros((NC, NF), dtype=np.float64)
for _i, _c in enumerate(CHANNELS):
    MEMBERSHIP[_i, list(_c.features)] = 1.0
ROUTINE_TYPES = frozenset(
    {
        "visit_booked",
        "visit_cancelled",
        "visit_attended",
        "phone_call",
        "phone_credit_added",
        "activity_attended",
        "activity_missed",
        "canteen_order",
        "meal_selected",
        "application_submitted",
        "complaint_submitted",
        "healthcare_request",
        "kiosk_login",
    }
)


def feature_index(fact: Fact, tz: ZoneInfo) -> list[int]:
    """The features one fact counts towards (empty for non-routine types)."""
    t = fact.type
    if t not in ROUTINE_TYPES:
        return []
    out = [F["routine"]]
    if t == "visit_cancelled":
        by = fact.detail_dict().get("by")
        out.append(F[f"visit_cancelled_{by}"] if by in ("prisoner", "visitor", "establishment") else F["routine"])
    elif t == "activity_missed":
        reason = fact.detail_dict().get("reason")
        key = {"refused": "refused", "cancelled": "cancelled"}.get(str(reason), "other")
        out.append(F[f"activity_missed_{key}"])
    else:
        out.append(F[t])
        if t == "kiosk_login" and fact.occurred_at.astimezone(tz).hour in LATE_HOURS:
            out.append(F["late_login"])
    return out


# Types that count towards their own feature and "routine", whatever their detail or hour.
_PLAIN_TYPES: dict[str, int] = {t: F[t] for t in ROUTINE_TYPES - {"visit_cancelled", "activity_missed", "kiosk_login"}}
_ROUTINE, _KIOSK_LOGIN, _LATE = F["routine"], F["kiosk_login"], F["late_login"]
_COUNT_CAP = 32000  # int16 storage
_NO_COUNTS = array("i", bytes(4 * NF))  # one prisoner's row of zeros
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_vectors(facts: Iterable[Fact], tz: ZoneInfo) -> dict[str, npt.NDArray[np.int16]]:
    """Per-prisoner feature counts for the facts of one day (same counts as ``feature_index``).

    The counts are kept in one buffer, a row per prisoner; each prisoner's vector is a row of
    one int16 array."""
    counts = array("i")
    row_of: dict[str, int] = {}  # prisoner -> offset of their row in counts
    late_by_hour: dict[int, bool] = {}  # UTC hour -> is a late local hour (one tz lookup per hour)
    plain_types = _PLAIN_TYPES
    for fact in facts:
        pid = fact.prisoner_id
        if pid is None:
            continue
        t = fact.type
        own = plain_types.get(t)
        if own is None:
            if t == "kiosk_login":
                occurred = fact.occurred_at
                if occurred.tzinfo is UTC:  # hours since the epoch, without timestamp()'s cost
                    hour = (occurred.toordinal() - _EPOCH_ORDINAL) * 24 + occurred.hour
                else:
                    hour = int(occurred.timestamp()) // 3600
                late = late_by_hour.get(hour)
                if late is None:
                    late = late_by_hour[hour] = occurred.astimezone(tz).hour in LATE_HOURS
                row = row_of.get(pid)
                if row is None:
                    row = row_of[pid] = len(counts)
                    counts.extend(_NO_COUNTS)
                counts[row + _ROUTINE] += 1
                counts[row + _KIOSK_LOGIN] += 1
                if late:
                    counts[row + _LATE] += 1
                continue
            if t not in ROUTINE_TYPES:
                continue
            row = row_of.get(pid)
            if row is None:
                row = row_of[pid] = len(counts)
                counts.extend(_NO_COUNTS)
            for i in feature_index(fact, tz):
                counts[row + i] += 1
            continue
        row = row_of.get(pid)
        if row is None:
            row = row_of[pid] = len(counts)
            counts.extend(_NO_COUNTS)
        counts[row + _ROUTINE] += 1
        counts[row + own] += 1
    if not row_of:
        return {}
    matrix = np.frombuffer(counts, dtype=np.int32).reshape(-1, NF)
    # A fact adds at most 2 to a count, so only a day of over _COUNT_CAP / 2 facts may pass the cap.
    if not (isinstance(facts, list) and 2 * len(facts) <= _COUNT_CAP) and matrix.max() > _COUNT_CAP:
        matrix = np.minimum(matrix, _COUNT_CAP)
    return dict(zip(row_of, matrix.astype(np.int16), strict=True))


def kiosk_hours(facts: Iterable[Fact], tz: ZoneInfo) -> dict[str, set[int]]:
    """Local hours in which each kiosk sent a heartbeat on the day."""
    out: dict[str, set[int]] = {}
    for fact in facts:
        if fact.type == "kiosk_heartbeat":
            out.setdefault(fact.kiosk_id, set()).add(fact.occurred_at.astimezone(tz).hour)
    return out


def day_index(day: date, origin: date) -> int:
    return (day - origin).days
