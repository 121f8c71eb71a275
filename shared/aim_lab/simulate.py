"""A deterministic simulator of one establishment's kiosk uploads, with ground truth.

``simulate(spec)`` produces what the kiosks of one prison would upload over a run of
days (``aim.kiosk-batch/1`` batches, see ``docs/contract.md``), together with
what really happened: which prisoners' routines collapsed and when (``truth``), what
changed everyone's routine at once (``confounders``) and the roster. It feeds
``aim demo``, ``aim evaluate`` and ``make bench``.

How it works, briefly:

1. Every prisoner gets a personal routine (work or education allocation, phone habit,
   visitors, meal and canteen habits, kiosk use). Each day draws events from it, with
   a daily "mood" multiplier so counts are over-dispersed.
2. Episodes thin a prisoner's events over time: a collapse (the truth), and ordinary
   noise (a bad day, an illness, a week off work, a visitor who stops coming, phone
   credit running out, a quiet fortnight), and the ramp-up of a new arrival.
3. Wing-day regimes apply the confounders: lockdowns, a regime change, bank holidays,
   cancelled activities or visits.
4. Each kiosk seals a batch roughly hourly during open hours (Europe/London local time,
   DST-correct) with a heartbeat; an outage withholds batches and heartbeats and then
   uploads the backlog; some batches are uploaded late, re-sent, or repeat records.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``spec.seed``.
"""

from __future__ import annotations

import gzip
import json
import math
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

LONDON = ZoneInfo("Europe/London")
SCHEMA = "aim.kiosk-batch/1"

FallFactor = Literal["phone", "visits", "activities", "canteen", "meals", "kiosk"]
RiseKind = Literal["healthcare_request", "complaint_submitted", "late_night_login"]
ConfounderKind = Literal[
    "lockdown_establishment",
    "lockdown_wing",
    "bank_holiday",
    "kiosk_outage",
    "visits_cancelled_by_establishment",
    "activities_cancelled",
    "regime_change",
]
Delivery = Literal["on_time", "late", "backlog", "resent"]

# Which AIM scoring factor (``aim.config.FACTORS``) each simulated fall shows up in.
FALL_TO_FACTOR: dict[str, str] = {
    "phone": "phone",
    "visits": "visits",
    "activities": "purposeful",
    "canteen": "selfcare",
    "meals": "selfcare",
    "kiosk": "engagement",
}

_FALLS: tuple[FallFactor, ...] = ("phone", "visits", "activities", "canteen", "meals", "kiosk")
_RISES: tuple[RiseKind, ...] = ("healthcare_request", "complaint_submitted", "late_night_login")
_OTHER_ESTABLISHMENTS = ("MDI", "HMI", "WDI", "NMI", "BLI", "DMI", "PVI", "WWI", "HOI", "LPI")
_APPLICATION_CATEGORIES = (
    "property",
    "visits",
    "finance",
    "education",
    "employment",
    "healthcare",
    "chaplaincy",
    "resettlement",
    "library",
    "gym",
    "key worker",
    "OMU",
)
_DAY = 86_400
_HOUR = 3_600


# --------------------------------------------------------------------------- public models


class ScenarioSpec(BaseModel):
    """What to simulate. Every field has a default; the default run crosses the BST change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    establishment: str = Field(default="LEI", pattern=r"^[A-Z]{3}$")
    prisoners: int = Field(default=240, ge=1, le=5000)
    days: int = Field(default=63, ge=7, le=400)
    start: date = date(2026, 3, 2)
    seed: int = 0
    collapse_fraction: float = Field(default=0.04, ge=0, le=0.5)
    wings: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
    kiosks_per_wing: int = Field(default=1, ge=1, le=9)
    # Kiosk open hours, local time; batches are sealed roughly every seal_minutes inside them.
    open_from_hour: float = 7.0
    open_until_hour: float = 20.5
    seal_minutes: tuple[int, int] = (65, 80)
    low_usage_fraction: float = Field(default=0.2, ge=0, le=1)
    # Movements during the run, as fractions of ``prisoners``.
    reception_fraction: float = Field(default=0.08, ge=0, le=0.5)
    release_fraction: float = Field(default=0.06, ge=0, le=0.5)
    transfer_fraction: float = Field(default=0.03, ge=0, le=0.5)
    location_change_fraction: float = Field(default=0.06, ge=0, le=1)
    # Collapses: onset needs this much history (new arrivals: arrival_history_days).
    min_history_days: int = Field(default=21, ge=1)
    arrival_history_days: int = Field(default=10, ge=1)
    min_followup_days: int = Field(default=4, ge=1)
    # Confounders (0 / False switches one off).
    establishment_lockdown_days: int = Field(default=2, ge=0, le=5)
    wing_lockdowns: int = Field(default=1, ge=0)
    regime_changes: int = Field(default=1, ge=0)
    bank_holidays: bool = True
    kiosk_outages: int = Field(default=1, ge=0)
    outage_hours: tuple[float, float] = (12.0, 36.0)
    visits_cancelled_days: int = Field(default=1, ge=0)
    activities_cancelled_days: int = Field(default=1, ge=0)
    # Delivery noise, per sealed batch.
    late_upload_rate: float = Field(default=0.006, ge=0, le=1)
    duplicate_upload_rate: float = Field(default=0.01, ge=0, le=1)
    rebatch_rate: float = Field(default=0.004, ge=0, le=1)
    gzip_fraction: float = Field(default=0.5, ge=0, le=1)
    # Ordinary noise in normal prisoners' routines (bad days, illness, week off work, ...).
    noise: bool = True
    # "stark": every collapse is abrupt, total and touches every factor the person has (the kind a
    # plain per-factor rule catches); "mixed" varies speed, depth and the factors that move.
    collapse_style: Literal["mixed", "stark"] = "mixed"
    noise_rate: float = Field(default=1.0, ge=0, le=5)


class Collapse(BaseModel):
    """One prisoner whose routine collapsed: the thing AIM should raise an alert about."""

    model_config = ConfigDict(frozen=True)

    prisoner_id: str
    onset_at: datetime
    factors: list[FallFactor]
    speed: Literal["abrupt", "gradual"]
    ramp_days: float
    severity: Literal["partial", "total"]
    remaining_level: float
    rises: list[RiseKind]
    static_risk: bool
    new_arrival: bool
    usage: Literal["low", "normal"]


class Confounder(BaseModel):
    """Something that changed many prisoners' routines (or a kiosk's uploads) at once."""

    model_config = ConfigDict(frozen=True)

    kind: ConfounderKind
    start: datetime
    end: datetime
    wing: str | None = None
    kiosk_id: str | None = None
    note: str = ""


class LocationChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    location: str


class AcctChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    acct_status: Literal["open", "post_closure", "none"]


class SimPrisoner(BaseModel):
    model_config = ConfigDict(frozen=True)

    prisoner_id: str
    wing: str
    location: str
    date_of_birth: date
    self_harm_history: bool
    acct_status: Literal["open", "post_closure", "none"]
    usage: Literal["low", "normal"]
    arrival_at: datetime | None = None
    arrived_from: str | None = None
    departure_at: datetime | None = None
    departure_kind: Literal["release", "transfer_out"] | None = None
    location_changes: list[LocationChange] = Field(default_factory=list)
    acct_changes: list[AcctChange] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SimBatch:
    """One upload. ``created_at`` is when the object lands in the bucket (aware UTC) and
    equals the header's ``created_at`` except for a re-sent duplicate (``delivery ==
    "resent"``), which carries the identical bytes of an earlier upload."""

    key: str
    kiosk_id: str
    batch_id: str
    created_at: datetime
    body: bytes
    records: int
    delivery: Delivery = "on_time"


class BatchInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    created_at: datetime
    records: int
    delivery: Delivery


class ScenarioTruth(BaseModel):
    """What ``write_scenario`` stores in ``truth.json``."""

    spec: ScenarioSpec
    stats: dict[str, float | int]
    truth: list[Collapse]
    confounders: list[Confounder]
    prisoners: list[SimPrisoner]
    batches: list[BatchInfo]


@dataclass
class Scenario:
    spec: ScenarioSpec
    batches: list[SimBatch]
    truth: list[Collapse]
    confounders: list[Confounder]
    prisoners: list[SimPrisoner]
    kiosks: list[str]
    unique_events: int
    prisoner_days: int
    generation_seconds: float = 0.0

    def stats(self) -> dict[str, float | int]:
        by_delivery = {kind: 0 for kind in ("on_time", "late", "backlog", "resent")}
        for batch in self.batches:
            by_delivery[batch.delivery] += 1
        records = sum(b.records for b in self.batches)
        return {
            "prisoners": len(self.prisoners),
            "kiosks": len(self.kiosks),
            "batches": len(self.batches),
            "batches_gzip": sum(1 for b in self.batches if b.key.endswith(".gz")),
            **{f"batches_{kind}": n for kind, n in by_delivery.items()},
            "records": records,
            "unique_events": self.unique_events,
            "prisoner_days": self.prisoner_days,
            "events_per_prisoner_day": round(self.unique_events / max(1, self.prisoner_days), 2),
            "collapses": len(self.truth),
            "confounders": len(self.confounders),
            "receptions": sum(1 for p in self.prisoners if p.arrival_at is not None),
            "departures": sum(1 for p in self.prisoners if p.departure_at is not None),
            "generation_seconds": round(self.generation_seconds, 3),
        }


def tiny_spec(seed: int = 0) -> ScenarioSpec:
    """A small run for fast tests: 30 prisoners over 28 days, every mechanism switched on."""
    return ScenarioSpec(
        prisoners=30,
        days=28,
        seed=seed,
        collapse_fraction=0.1,
        wings=("A", "B", "C"),
        kiosks_per_wing=2,
        establishment_lockdown_days=1,
        late_upload_rate=0.02,
        duplicate_upload_rate=0.03,
        rebatch_rate=0.02,
        reception_fraction=0.1,
        release_fraction=0.1,
        transfer_fraction=0.05,
    )


# --------------------------------------------------------------------------- calendar


def uk_bank_holidays(year: int) -> list[date]:
    """England and Wales bank holidays (the regular ones; one-off royal holidays are not)."""

    def substitute(day: date, taken: set[date]) -> date:
        while day.weekday() >= 5 or day in taken:
            day += timedelta(days=1)
        return day

    def first_monday(month: int) -> date:
        day = date(year, month, 1)
        return day + timedelta(days=(7 - day.weekday()) % 7)

    def last_monday(month: int) -> date:
        day = date(year, month + 1, 1) - timedelta(days=1)
        return day - timedelta(days=day.weekday())

    # Anonymous Gregorian algorithm for Easter Sunday.
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    easter = date(year, month, (h + l_ - 7 * m + 114) % 31 + 1)
    taken: set[date] = set()
    new_year = substitute(date(year, 1, 1), taken)
    christmas = substitute(date(year, 12, 25), taken)
    taken.add(christmas)
    boxing = substitute(date(year, 12, 26), taken)
    return sorted(
        {
            new_year,
            easter - timedelta(days=2),
            easter + timedelta(days=1),
            first_monday(5),
            last_monday(5),
            last_monday(8),
            christmas,
            boxing,
        }
    )


class _Clock:
    """Local (Europe/London) wall time to epoch seconds, DST-correct, fast."""

    def __init__(self, start: date, days: int) -> None:
        self.dates = [start + timedelta(days=i) for i in range(days + 3)]
        epoch = date(1970, 1, 1)
        self.naive_midnight = [(d - epoch).days * _DAY for d in self.dates]
        self.off_midnight = [self._offset(d, 0) for d in self.dates]
        self.off_noon = [self._offset(d, 12) for d in self.dates]

    @staticmethod
    def _offset(day: date, hour: int) -> int:
        local = datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)
        offset = local.utcoffset()
        assert offset is not None
        return int(offset.total_seconds())

    def at(self, day: int, hours: float) -> int:
        """Epoch seconds of local time ``hours`` after midnight of run day ``day`` (may exceed 24)."""
        extra = int(hours // 24)
        day += extra
        hours -= 24 * extra
        offset = self.off_noon[day] if hours >= 2 else self.off_midnight[day]
        return self.naive_midnight[day] + int(hours * 3600) - offset

    def day_of(self, t: int) -> int:
        """Run day index of the local calendar day containing epoch ``t``."""
        guess = (t - self.naive_midnight[0]) // _DAY
        guess = max(0, min(guess, len(self.dates) - 2))
        while guess > 0 and t < self.at(guess, 0):
            guess -= 1
        while guess + 1 < len(self.dates) - 1 and t >= self.at(guess + 1, 0):
            guess += 1
        return guess


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _stamp(t: int, local: bool) -> str:
    when = datetime.fromtimestamp(t, tz=LONDON if local else UTC)
    return when.isoformat()


# --------------------------------------------------------------------------- internals


class _Uniforms:
    """Buffered uniform draws from the scenario's Generator: scalar draws are the hot path."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(65_536).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self()

    def pick(self, options: Sequence[Any]) -> Any:
        return options[min(len(options) - 1, int(self() * len(options)))]

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(lam + math.sqrt(lam) * self.normal()))
        threshold, k, product = math.exp(-lam), 0, self()
        while product > threshold:
            k += 1
            product *= self()
        return k

    def normal(self) -> float:
        return math.sqrt(-2 * math.log(max(self(), 1e-12))) * math.cos(2 * math.pi * self())


@dataclass(slots=True)
class _Episode:
    """A change to some of a prisoner's channels: falls to ``level`` over ``ramp`` seconds
    from ``start``; if ``end`` is set, recovers linearly over ``recover`` seconds after it."""

    channels: frozenset[str]
    start: int
    ramp: int
    level: float
    end: int | None = None
    recover: int = 0
    reason: str | None = None  # how a fallen activity is recorded: refused / sick / None (no record)

    def factor(self, t: int) -> float:
        if t < self.start:
            return 1.0
        progress = 1.0 if self.ramp <= 0 else min(1.0, (t - self.start) / self.ramp)
        value = 1.0 - (1.0 - self.level) * progress
        if self.end is not None and t > self.end:
            if self.recover <= 0:
                return 1.0
            value += (1.0 - value) * min(1.0, (t - self.end) / self.recover)
        return value


@dataclass(slots=True)
class _Routine:
    activity: str | None  # work / education / None
    part_time: bool
    attend_p: float
    allocated_from_day: int
    gym_p: float
    library_p: float
    faith_day: int | None
    phone_lam: float
    credit_day: int
    credit_p: float
    canteen_p: float
    meal_style: str  # daily / weekly / none
    meal_p: float
    login_lam: float
    app_lam: float
    complaint_lam: float
    healthcare_lam: float
    night_lam: float
    visit_every: int  # 0 none, 7 weekly, 14 fortnightly
    visit_weekday: int
    session_slots: tuple[float, ...]


@dataclass(slots=True)
class _Person:
    pid: str
    index: int
    wing_by_day: list[int]
    location: str
    dob: date
    self_harm: bool
    acct: str
    usage: str
    kiosk_pref: int
    present_from: int  # epoch
    present_until: int  # epoch (exclusive)
    arrival_day: int | None
    arrived_from: str | None
    departure_kind: str | None
    routine: _Routine
    episodes: list[_Episode] = field(default_factory=list)
    rises: list[tuple[str, int, int, float]] = field(default_factory=list)  # kind, start, ramp, per day
    location_changes: list[tuple[int, str]] = field(default_factory=list)
    acct_changes: list[tuple[int, str]] = field(default_factory=list)

    def mult(self, channel: str, t: int) -> float:
        value = 1.0
        for episode in self.episodes:
            if channel in episode.channels:
                value *= episode.factor(t)
        return value

    def activity_reason(self, t: int) -> str | None:
        worst, reason = 1.1, None
        for episode in self.episodes:
            if "activities" in episode.channels:
                f = episode.factor(t)
                if f < worst:
                    worst, reason = f, episode.reason
        return reason


@dataclass(slots=True)
class _Regime:
    """One wing-day: how activities run (normal / holiday / cancelled / restricted), whether
    visits are cancelled, and how much time out of cell there is (phone and kiosk access)."""

    activities: str = "normal"
    visits_cancelled: bool = False
    out_of_cell: float = 1.0


_Event = tuple[int, int, str, str | None, dict[str, Any] | None]  # t, kiosk, type, prisoner, detail


class _Builder:
    def __init__(self, spec: ScenarioSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.u = _Uniforms(self.rng)
        self.clock = _Clock(spec.start, spec.days)
        self.days = spec.days
        self.run_start = self.clock.at(0, 0)
        self.kiosks = [
            f"{spec.establishment}-K{w * spec.kiosks_per_wing + k + 1:02d}"
            for w in range(len(spec.wings))
            for k in range(spec.kiosks_per_wing)
        ]
        self.events: list[_Event] = []
        self.confounders: list[Confounder] = []
        self.collapses: list[Collapse] = []
        # Each wing has a canteen day and a menu day (weekday numbers).
        self.canteen_day = [int(x) for x in self.rng.integers(0, 5, len(spec.wings))]
        self.menu_day = [int(x) for x in self.rng.integers(0, 5, len(spec.wings))]
        self.regime = [[_Regime() for _ in range(self.days)] for _ in spec.wings]

    # ---------------------------------------------------------------- roster

    def _prison_numbers(self, n: int) -> list[str]:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        seen: set[str] = set()
        out: list[str] = []
        while len(out) < n:
            pid = self.u.pick("ABCGHJ") + f"{int(self.u() * 10_000):04d}" + self.u.pick(letters) + self.u.pick(letters)
            if pid not in seen:
                seen.add(pid)
                out.append(pid)
        return out

    def _age(self) -> int:
        x = self.u()
        if x < 0.32:
            return int(self.u.between(18, 25))
        if x < 0.72:
            return int(self.u.between(25, 40))
        if x < 0.92:
            return int(self.u.between(40, 55))
        return int(self.u.between(55, 71))

    def _routine(self, low: bool) -> _Routine:
        u = self.u
        x = u()
        activity = (
            ("work" if x < 0.55 else "education" if x < 0.85 else None)
            if not low
            else ("work" if x < 0.35 else "education" if x < 0.5 else None)
        )
        kind = u()
        if low:
            phone_lam = u.between(0.02, 0.12) if kind < 0.6 else u.between(0.15, 0.4)
        elif kind < 0.4:
            phone_lam = u.between(2.0, 5.0)  # daily callers
        elif kind < 0.8:
            phone_lam = u.between(0.3, 0.8)  # two to five a week
        else:
            phone_lam = u.between(0.02, 0.1)  # rarely
        v = u()
        visit_every = (7 if v < 0.3 else 14 if v < 0.5 else 0) if not low else (14 if v < 0.25 else 0)
        morning, lunch, evening = u.between(7.1, 8.6), u.between(12.0, 13.5), u.between(17.2, 19.9)
        return _Routine(
            activity=activity,
            part_time=u() < 0.2,
            attend_p=u.between(0.82, 0.98),
            allocated_from_day=0,
            gym_p=0.0 if u() < 0.3 else u.between(0.15, 0.7) * (0.5 if low else 1.0),
            library_p=u.between(0.0, 0.2),
            faith_day=(4 if u() < 0.5 else 6) if u() < 0.25 else None,
            phone_lam=phone_lam,
            credit_day=int(u() * 7),
            credit_p=(0.85 if phone_lam > 0.25 else 0.35) * (0.7 if low else 1.0),
            canteen_p=u.between(0.55, 0.8) if low else u.between(0.8, 0.97),
            meal_style=("none" if u() < 0.5 else "weekly") if low else ("daily" if u() < 0.5 else "weekly"),
            meal_p=u.between(0.75, 0.95),
            login_lam=u.between(0.05, 0.35) if low else u.between(1.8, 4.0),
            app_lam=u.between(0.005, 0.04) if low else u.between(0.03, 0.15),
            complaint_lam=u.between(0.0, 0.02),
            healthcare_lam=u.between(0.005, 0.05),
            night_lam=0.0 if u() < 0.8 else u.between(0.005, 0.04),
            visit_every=visit_every,
            visit_weekday=u.pick((1, 3, 5, 6)),
            session_slots=(morning, lunch, evening),
        )

    def build_roster(self) -> list[_Person]:
        spec, u = self.spec, self.u
        n = spec.prisoners
        ids = self._prison_numbers(n)
        n_wings = len(spec.wings)
        cells_per_landing = max(30, math.ceil(n / n_wings * 1.6 / 4))
        free_cells = [
            [f"{wing}-{landing}-{cell}" for landing in range(1, 5) for cell in range(1, cells_per_landing + 1)]
            for wing in spec.wings
        ]
        for cells in free_cells:
            self.rng.shuffle(cells)  # type: ignore[arg-type]
        n_arrivals = round(n * spec.reception_fraction)
        arrival_idx = set(self.rng.choice(n, size=n_arrivals, replace=False).tolist()) if n_arrivals else set()
        end = self.clock.at(self.days - 1, spec.open_until_hour) + 1
        people: list[_Person] = []
        for i, pid in enumerate(ids):
            wing = int(u() * n_wings)
            location = free_cells[wing].pop()
            low = u() < spec.low_usage_fraction
            age = self._age()
            dob = spec.start - timedelta(days=int(age * 365.25 + u() * 360))
            acct_draw = u()
            arrival_day = None
            present_from = self.run_start
            arrived_from = None
            if i in arrival_idx:
                arrival_day = 1 + int(u() * max(1, self.days - 6))
                present_from = self.clock.at(arrival_day, u.between(14.0, 18.5))
                arrived_from = u.pick(_OTHER_ESTABLISHMENTS)
            routine = self._routine(low)
            if arrival_day is not None:
                routine.allocated_from_day = arrival_day + 5 + int(u() * 6)
            people.append(
                _Person(
                    pid=pid,
                    index=i,
                    wing_by_day=[wing] * (self.days + 2),
                    location=location,
                    dob=dob,
                    self_harm=u() < 0.12,
                    acct="open" if acct_draw < 0.03 else "post_closure" if acct_draw < 0.09 else "none",
                    usage="low" if low else "normal",
                    kiosk_pref=int(u() * spec.kiosks_per_wing),
                    present_from=present_from,
                    present_until=end,
                    arrival_day=arrival_day,
                    arrived_from=arrived_from,
                    departure_kind=None,
                    routine=routine,
                )
            )
            if arrival_day is not None:
                # Sparse at first, builds up over about ten days.
                people[-1].episodes.append(
                    _Episode(
                        frozenset(_FALLS),
                        present_from,
                        0,
                        u.between(0.15, 0.35),
                        end=present_from,
                        recover=int(u.between(7, 14) * _DAY),
                    )
                )
        self._departures(people)
        self._location_changes(people, free_cells)
        return people

    def _departures(self, people: list[_Person]) -> None:
        spec, u = self.spec, self.u
        n_release = round(spec.prisoners * spec.release_fraction)
        n_transfer = round(spec.prisoners * spec.transfer_fraction)
        order = self.rng.permutation(len(people)).tolist()
        kinds = ["release"] * n_release + ["transfer_out"] * n_transfer
        for idx in order:
            if not kinds:
                break
            person = people[idx]
            first = person.arrival_day + 7 if person.arrival_day is not None else 2
            if first > self.days - 2:
                continue
            day = first + int(u() * (self.days - 1 - first))
            kind = kinds.pop()
            hour = u.between(8.0, 10.5) if kind == "release" else u.between(7.0, 9.0)
            person.present_until = self.clock.at(day, hour)
            person.departure_kind = kind

    def _location_changes(self, people: list[_Person], free_cells: list[list[str]]) -> None:
        u = self.u
        for person in people:
            if u() >= self.spec.location_change_fraction:
                continue
            first = (person.arrival_day or 0) + 2
            if first >= self.days - 2:
                continue
            day = first + int(u() * (self.days - 2 - first))
            t = self.clock.at(day, u.between(9.0, 16.0))
            if t >= person.present_until:
                continue
            wing = person.wing_by_day[day]
            if u() < 0.3 and len(self.spec.wings) > 1:
                wing = (wing + 1 + int(u() * (len(self.spec.wings) - 1))) % len(self.spec.wings)
            if not free_cells[wing]:
                continue
            location = free_cells[wing].pop()
            person.location_changes.append((t, location))
            for d in range(day + 1, len(person.wing_by_day)):
                person.wing_by_day[d] = wing

    # ---------------------------------------------------------------- confounders

    def _day_span(self, day: int, length: int = 1) -> tuple[datetime, datetime]:
        return _utc(self.clock.at(day, 0)), _utc(self.clock.at(day + length, 0))

    def _quiet_day(self, taken: set[int], lo: int, hi: int, weekday: bool = True) -> int | None:
        candidates = [
            d
            for d in range(max(0, lo), min(self.days, hi))
            if d not in taken and (not weekday or self.clock.dates[d].weekday() < 5)
        ]
        return self.u.pick(candidates) if candidates else None

    def build_confounders(self) -> None:
        spec, u = self.spec, self.u
        wings = range(len(spec.wings))
        taken: set[int] = set()
        if spec.bank_holidays:
            holidays = {h for y in {d.year for d in self.clock.dates} for h in uk_bank_holidays(y)}
            for d in range(self.days):
                if self.clock.dates[d] in holidays:
                    taken.add(d)
                    for w in wings:
                        self.regime[w][d] = _Regime("holiday", False, 0.95)
                    start, end = self._day_span(d)
                    self.confounders.append(Confounder(kind="bank_holiday", start=start, end=end))
        if spec.establishment_lockdown_days:
            day = self._quiet_day(taken, self.days // 4, self.days - spec.establishment_lockdown_days - 2)
            if day is not None:
                length = spec.establishment_lockdown_days
                for d in range(day, min(self.days, day + length)):
                    taken.add(d)
                    for w in wings:
                        self.regime[w][d] = _Regime("cancelled", True, u.between(0.3, 0.45))
                start, end = self._day_span(day, length)
                self.confounders.append(
                    Confounder(kind="lockdown_establishment", start=start, end=end, note="staff shortage")
                )
        for _ in range(spec.wing_lockdowns):
            day, w = self._quiet_day(taken, 5, self.days - 1), int(u() * len(spec.wings))
            if day is None:
                continue
            taken.add(day)
            self.regime[w][day] = _Regime("cancelled", True, u.between(0.3, 0.5))
            start, end = self._day_span(day)
            self.confounders.append(
                Confounder(kind="lockdown_wing", start=start, end=end, wing=spec.wings[w], note="incident")
            )
        for _ in range(spec.regime_changes):
            w = int(u() * len(spec.wings))
            day = int(u.between(self.days * 0.3, self.days * 0.8))
            length = self.days - day if u() < 0.5 else int(u.between(7, 21))
            length = max(1, min(length, self.days - day))
            for d in range(day, day + length):
                if self.regime[w][d].activities == "normal":
                    self.regime[w][d] = _Regime("restricted", False, 0.75)
            start, end = self._day_span(day, length)
            self.confounders.append(
                Confounder(
                    kind="regime_change",
                    start=start,
                    end=end,
                    wing=spec.wings[w],
                    note="restricted regime: mornings only, less time out of cell",
                )
            )
        for _ in range(spec.visits_cancelled_days):
            candidates = [
                d for d in range(3, self.days) if d not in taken and self.clock.dates[d].weekday() in (1, 3, 5, 6)
            ]
            if not candidates:
                continue
            day = u.pick(candidates)
            taken.add(day)
            for w in wings:
                self.regime[w][day].visits_cancelled = True
            start, end = self._day_span(day)
            self.confounders.append(
                Confounder(kind="visits_cancelled_by_establishment", start=start, end=end, note="visits hall")
            )
        for _ in range(spec.activities_cancelled_days):
            day = self._quiet_day(taken, 3, self.days)
            if day is None:
                continue
            taken.add(day)
            whole = u() < 0.4
            chosen = list(wings) if whole else [int(u() * len(spec.wings))]
            for w in chosen:
                self.regime[w][day].activities = "cancelled"
            start, end = self._day_span(day)
            self.confounders.append(
                Confounder(
                    kind="activities_cancelled",
                    start=start,
                    end=end,
                    wing=None if whole else spec.wings[chosen[0]],
                    note="staff training",
                )
            )

    # ---------------------------------------------------------------- episodes

    def build_collapses(self, people: list[_Person]) -> None:
        spec, u = self.spec, self.u
        target = round(spec.prisoners * spec.collapse_fraction)
        if spec.collapse_fraction > 0 and target == 0:
            target = 1
        last_onset = self.days - spec.min_followup_days
        eligible: list[tuple[_Person, int]] = []
        for person in people:
            first = (
                person.arrival_day + spec.arrival_history_days
                if person.arrival_day is not None
                else spec.min_history_days
            )
            if first > last_onset:
                continue
            eligible.append((person, first))
        if not eligible:
            return
        # New arrivals are over-represented among those in crisis (early days in custody).
        weights = np.array([3.0 if p.arrival_day is not None else 1.0 for p, _ in eligible])
        size = min(target, len(eligible))
        order = self.rng.choice(len(eligible), size=size, replace=False, p=weights / weights.sum()).tolist()
        for idx in order:
            person, first = eligible[idx]
            until_day = self.clock.day_of(person.present_until - 1)
            hi = min(last_onset, until_day - spec.min_followup_days)
            if hi < first:
                # Keep the truth honest: nobody leaves just after a collapse.
                person.present_until = self.clock.at(self.days - 1, spec.open_until_hour) + 1
                person.departure_kind = None
                hi = last_onset
            day = first + int(u() * (hi - first + 1))
            onset = self.clock.at(day, u.between(6.0, 20.0))
            self._collapse(person, onset)

    def _collapse(self, person: _Person, onset: int) -> None:
        u, r = self.u, person.routine
        possible: list[FallFactor] = ["phone", "canteen", "meals", "kiosk"]
        if r.visit_every:
            possible.append("visits")
        if r.activity or r.gym_p > 0:
            possible.append("activities")
        if r.phone_lam < 0.15:
            possible.remove("phone")
        if r.meal_style == "none":
            possible.remove("meals")
        n = min(len(possible), 1 + int(u() * 4))
        weights = np.array([{"kiosk": 0.5}.get(f, 1.0) for f in possible])
        chosen = sorted(self.rng.choice(len(possible), size=n, replace=False, p=weights / weights.sum()).tolist())
        factors: list[FallFactor] = [possible[i] for i in chosen]
        speed: Literal["abrupt", "gradual"] = "abrupt" if u() < 0.5 else "gradual"
        ramp_days = 0.0 if speed == "abrupt" else u.between(3.0, 7.0)
        total = u() < 0.4
        level = u.between(0.0, 0.05) if total else u.between(0.2, 0.4)
        if self.spec.collapse_style == "stark":  # same draws as "mixed", so the rest of the run is unchanged
            factors, speed, ramp_days, total, level = list(possible), "abrupt", 0.0, True, min(level, 0.05)
        reason = "refused" if u() < 0.6 else "sick"
        channels = set(factors)
        person.episodes.append(_Episode(frozenset(channels), onset, int(ramp_days * _DAY), level, reason=reason))
        rises: list[RiseKind] = []
        if u() < 0.4:
            rises = [k for k in _RISES if u() < 0.5] or [u.pick(_RISES)]
        for kind in rises:
            rate = u.between(0.25, 0.7) if kind != "late_night_login" else u.between(0.3, 0.8)
            person.rises.append((kind, onset, int(max(ramp_days, 1.0) * _DAY), rate))
        # Raise static risk for some: the rest collapse with no risk flags at all.
        if u() < 0.35:
            person.self_harm = True
        if u() < 0.15 and person.acct == "none":
            person.acct = "post_closure"
        if u() < 0.2:  # staff noticed, days later
            person.acct_changes.append((onset + int(u.between(2, 5) * _DAY), "open"))
        self.collapses.append(
            Collapse(
                prisoner_id=person.pid,
                onset_at=_utc(onset),
                factors=factors,
                speed=speed,
                ramp_days=round(ramp_days, 2),
                severity="total" if total else "partial",
                remaining_level=round(level, 3),
                rises=rises,
                static_risk=person.self_harm or person.acct != "none",
                new_arrival=person.arrival_day is not None,
                usage="low" if person.usage == "low" else "normal",
            )
        )

    def _noise_episode(
        self,
        person: _Person,
        channels: Sequence[str],
        length_days: float,
        level: float,
        ramp: int = 0,
        recover: int | None = None,
        reason: str | None = None,
    ) -> int:
        u = self.u
        start = person.present_from + int(u() * max(1, person.present_until - person.present_from))
        person.episodes.append(
            _Episode(
                frozenset(channels),
                start,
                ramp,
                level,
                end=start + int(length_days * _DAY),
                recover=int(_DAY * u.between(0.5, 2)) if recover is None else recover,
                reason=reason,
            )
        )
        return start

    def build_noise(self, people: list[_Person]) -> None:
        """Ordinary ups and downs that are not a crisis, so false alarms are possible."""
        spec, u = self.spec, self.u
        if not spec.noise:
            return
        rate = spec.noise_rate
        collapsed = {c.prisoner_id for c in self.collapses}
        for person in people:
            noise = self._noise_episode
            for _ in range(u.poisson(rate * self.days / 35)):  # a bad day
                fallen = [u.pick(_FALLS) for _ in range(1 + int(u() * 3))]
                noise(person, fallen, u.between(0.5, 2.0), u.between(0.0, 0.3), reason="refused")
            if u() < 0.12 * rate:  # ill for a few days: sick, fewer meals and calls, sees healthcare
                length = u.between(2, 6)
                channels = ("activities", "meals", "kiosk", "phone")
                start = noise(person, channels, length, u.between(0.1, 0.5), recover=_DAY, reason="sick")
                person.rises.append(("healthcare_request", start, 0, -length))  # negative: lasts that long
            if person.routine.activity and u() < 0.1 * rate:  # a week off work, or between jobs
                noise(person, ["activities"], u.between(4, 9), 0.0, recover=0, reason=u.pick((None, "sick")))
            if person.routine.visit_every and u() < 0.25 * rate:  # a visitor stops coming
                noise(person, ["visits"], u.between(14, 60), 0.0, recover=0)
            if person.routine.phone_lam > 0.25 and u() < 0.12 * rate:  # phone credit ran out
                noise(person, ["phone"], u.between(2, 8), u.between(0.0, 0.2), recover=0)
            if u() < 0.08 * rate:  # a quiet fortnight
                noise(person, ["kiosk", "phone"], u.between(7, 16), u.between(0.3, 0.6), ramp=2 * _DAY)
            if person.pid not in collapsed and u() < 0.03 * rate:  # looks like trouble for a few days, is not
                dipped = [u.pick(("phone", "activities", "canteen")), "kiosk"]
                ramp = int(u.between(0, 2) * _DAY)
                start = noise(person, dipped, u.between(3, 6), u.between(0.1, 0.35), ramp=ramp, reason="refused")
                person.rises.append(("complaint_submitted", start, 0, -2.0))
            if u() < 0.05 * rate and person.acct == "none":
                opened = person.present_from + int(u() * max(1, person.present_until - person.present_from))
                person.acct_changes.append((opened, "open"))
                if u() < 0.6:
                    person.acct_changes.append((opened + int(u.between(5, 20) * _DAY), "post_closure"))

    # ---------------------------------------------------------------- events

    def _emit(
        self, person: _Person, t: int, kind: str, detail: dict[str, Any] | None = None, day: int | None = None
    ) -> None:
        if t < person.present_from or t >= person.present_until:
            return
        if day is None:
            day = self.clock.day_of(t) if t >= self.run_start else 0
        wing = person.wing_by_day[min(day, len(person.wing_by_day) - 1)]
        kpw = self.spec.kiosks_per_wing
        k = person.kiosk_pref if kpw == 1 or self.u() < 0.8 else int(self.u() * kpw)
        self.events.append((t, wing * kpw + k, kind, person.pid, detail))

    def build_events(self, people: list[_Person]) -> int:
        prisoner_days = 0
        for person in people:
            self._profile_and_movements(person)
            extra = self._visits(person)
            moods = self.rng.gamma(6.0, 1 / 6.0, self.days).tolist()
            first = 0 if person.arrival_day is None else person.arrival_day
            last = self.clock.day_of(person.present_until - 1)
            for d in range(first, min(last, self.days - 1) + 1):
                prisoner_days += 1
                self._day(person, d, moods[d], extra.get(d, []))
            self._rises(person)
        return prisoner_days

    def _profile_and_movements(self, person: _Person) -> None:
        u = self.u
        profile: dict[str, Any] = {
            "date_of_birth": person.dob.isoformat(),
            "self_harm_history": person.self_harm,
            "acct_status": person.acct,
            "location": person.location,
        }
        if person.arrival_day is None:
            self._emit(person, self.clock.at(0, u.between(5.5, 6.5)), "profile", profile)
        else:
            t = person.present_from
            detail: dict[str, Any] = {"location": person.location}
            if person.arrived_from:
                detail["from"] = person.arrived_from
            self._emit(person, t, "reception", detail)
            self._emit(person, t + int(u.between(60, 1800)), "profile", profile)
        for t, location in person.location_changes:
            self._emit(person, t, "location_change", {"location": location})
            if u() < 0.4:
                self._emit(person, t + 600, "profile", {"location": location})
        for t, status in person.acct_changes:
            self._emit(person, t, "profile", {"acct_status": status})
        if u() < 0.15:
            when = person.present_from + int(u() * max(1, person.present_until - person.present_from))
            target = _utc(when).date() + timedelta(days=int(u.between(-3, 21)))
            kind = u.pick(("court", "sentence", "parole", "anniversary", "other"))
            self._emit(person, when, "significant_date", {"date": target.isoformat(), "kind": kind})
        if person.departure_kind == "release":
            self._emit(person, person.present_until - 1, "release")
        elif person.departure_kind == "transfer_out":
            self._emit(person, person.present_until - 1, "transfer_out", {"to": u.pick(_OTHER_ESTABLISHMENTS)})

    def _visits(self, person: _Person) -> dict[int, list[tuple[str, dict[str, Any], tuple[str, ...]]]]:
        """Plans the prisoner's visits; returns kiosk actions (bookings) by day."""
        u, r = self.u, person.routine
        actions: dict[int, list[tuple[str, dict[str, Any], tuple[str, ...]]]] = {}
        if not r.visit_every:
            return actions
        first = next((d for d in range(self.days) if self.clock.dates[d].weekday() == r.visit_weekday), None)
        if first is None:
            return actions
        first += 7 * int(u() * (r.visit_every // 7))
        for vd in range(first, self.days, r.visit_every):
            if u() < 0.12:  # nobody booked this time
                continue
            visit_date = self.clock.dates[vd].isoformat()
            book_day = vd - int(u.between(3, 10))
            booked_at = (
                self.clock.at(book_day, u.pick(r.session_slots) + u.between(0, 0.3))
                if book_day >= 0
                else self.run_start - _DAY
            )
            if booked_at >= self.run_start:
                if booked_at < person.present_from:
                    continue
                if u() > person.mult("visits", booked_at):
                    continue  # not booked: nothing is recorded
                actions.setdefault(book_day, []).append(("visit_booked", {"visit_date": visit_date}, ("kiosk",)))
            elif self.clock.at(vd, 0) < person.present_from:
                continue
            regime = self.regime[person.wing_by_day[vd]][vd]
            visit_t = self.clock.at(vd, u.between(15.5, 16.8))
            if regime.visits_cancelled:
                self._emit(
                    person,
                    self.clock.at(vd, u.between(7.5, 10.0)),
                    "visit_cancelled",
                    {"visit_date": visit_date, "by": "establishment"},
                )
                continue
            cancel_t = visit_t - int(u.between(0.3, 2.5) * _DAY)
            if cancel_t > booked_at and (u() > person.mult("visits", cancel_t) or u() < 0.015):
                self._emit(person, cancel_t, "visit_cancelled", {"visit_date": visit_date, "by": "prisoner"})
                continue
            if u() < 0.06:
                self._emit(person, cancel_t, "visit_cancelled", {"visit_date": visit_date, "by": "visitor"})
                continue
            if u() < 0.03:  # visitor did not turn up, nothing recorded
                continue
            self._emit(person, visit_t, "visit_attended")
        return actions

    def _day(
        self,
        person: _Person,
        d: int,
        mood: float,
        extra: list[tuple[str, dict[str, Any], tuple[str, ...]]],
    ) -> None:
        u, r, clock = self.u, person.routine, self.clock
        wing = person.wing_by_day[d]
        weekday = clock.dates[d].weekday()
        regime = self.regime[wing][d]
        ooc = regime.out_of_cell

        def emit(person: _Person, t: int, kind: str, detail: dict[str, Any] | None = None) -> None:
            self._emit(person, t, kind, detail, d)

        # Activities: work or education in two sessions on weekdays, gym/library/faith some days.
        if weekday < 5 and r.activity is not None:
            if d >= r.allocated_from_day:
                sessions: tuple[tuple[float, float], ...] = ((8.75, 11.75), (13.75, 16.4))
                if r.part_time or regime.activities == "restricted":
                    sessions = sessions[:1]
                for begin, end in sessions:
                    self._session(person, d, r.activity, begin, end, regime.activities)
            elif person.arrival_day is not None and d > person.arrival_day:
                self._session(person, d, "other", 9.0, 11.5, regime.activities)  # induction
        if r.gym_p and u() < r.gym_p * (0.5 if regime.activities != "normal" else 1.0):
            t = clock.at(d, u.between(17.5, 19.0) if weekday < 5 else u.between(9.5, 15.5))
            if regime.activities == "cancelled":
                emit(person, t, "activity_missed", {"activity": "gym", "reason": "cancelled"})
            elif u() < person.mult("activities", t):
                emit(person, t, "activity_attended", {"activity": "gym", "minutes": int(u.between(40, 75))})
        if r.library_p and u() < r.library_p and regime.activities in ("normal", "restricted"):
            t = clock.at(d, u.between(9.5, 16.0))
            if u() < person.mult("activities", t):
                emit(person, t, "activity_attended", {"activity": "library", "minutes": int(u.between(20, 50))})
        if r.faith_day == weekday and u() < 0.85 and regime.activities != "cancelled":
            t = clock.at(d, u.between(10.5, 12.5))
            if u() < person.mult("activities", t):
                emit(person, t, "activity_attended", {"activity": "faith", "minutes": int(u.between(45, 75))})

        # Phone calls: lunchtime and evening, all day at weekends.
        for _ in range(u.poisson(r.phone_lam * mood * ooc * (1.15 if weekday >= 5 else 1.0))):
            if weekday >= 5:
                hours = u.between(9.0, 20.5)
            else:
                hours = u.between(12.0, 13.6) if u() < 0.35 else u.between(17.3, 20.8)
            t = clock.at(d, hours)
            if u() < person.mult("phone", t):
                duration = 0 if u() < 0.05 else min(1800, int(math.exp(6.0 + 0.6 * u.normal())))
                emit(person, t, "phone_call", {"duration_s": duration})

        # Kiosk actions, then kiosk sessions that carry them.
        actions: list[tuple[str, dict[str, Any] | None, tuple[str, ...]]] = list(extra)
        if weekday == r.credit_day and u() < r.credit_p:
            amount = u.pick((300, 500, 500, 1000, 1000, 1500, 2000))
            actions.append(("phone_credit_added", {"amount_pence": amount}, ("phone", "kiosk")))
        if weekday == self.canteen_day[wing] and u() < r.canteen_p:
            amount = min(3000, int(math.exp(7.2 + 0.45 * u.normal())))
            actions.append(("canteen_order", {"amount_pence": amount}, ("canteen", "kiosk")))
        if r.meal_style == "daily" and u() < r.meal_p:
            actions.append(("meal_selected", None, ("meals", "kiosk")))
        elif r.meal_style == "weekly" and weekday == self.menu_day[wing] and u() < r.meal_p:
            actions.extend([("meal_selected", None, ("meals", "kiosk"))] * 7)
        for _ in range(u.poisson(r.app_lam * mood)):
            actions.append(("application_submitted", {"category": u.pick(_APPLICATION_CATEGORIES)}, ("kiosk",)))
        for _ in range(u.poisson(r.complaint_lam)):
            actions.append(("complaint_submitted", None, ("kiosk",)))
        for _ in range(u.poisson(r.healthcare_lam)):
            actions.append(("healthcare_request", None, ("kiosk",)))

        n_sessions = u.poisson(r.login_lam * mood * ooc)
        slots = r.session_slots if weekday < 5 else (r.session_slots[0] + 1.5, 11.0, 14.5, r.session_slots[2])
        session_times = sorted(clock.at(d, u.pick(slots) + u.between(-0.4, 0.6)) for _ in range(max(1, n_sessions)))
        used = [False] * len(session_times)
        meals_decision: bool | None = None
        offsets = [0] * len(session_times)
        for kind, detail, channels in actions:
            s = int(u() * len(session_times))
            t = session_times[s]
            keep = u() < ooc or kind == "visit_booked"
            if kind == "meal_selected":
                if meals_decision is None:
                    meals_decision = keep and u() < person.mult("meals", t) * person.mult("kiosk", t)
                keep = meals_decision
            else:
                for channel in channels:
                    keep = keep and u() < person.mult(channel, t)
            if not keep:
                continue
            used[s] = True
            offsets[s] += int(u.between(25, 240))
            emit(person, t + offsets[s], kind, detail)
        for s, t in enumerate(session_times):
            if used[s] or (s < n_sessions and u() < person.mult("kiosk", t)):
                emit(person, t, "kiosk_login")

        # Late-night logins: rare for most.
        for _ in range(u.poisson(r.night_lam)):
            t = clock.at(d, u.between(23.0, 27.0))
            if d + 1 < self.days and u() < person.mult("kiosk", t):
                emit(person, t, "kiosk_login")

    def _session(self, person: _Person, d: int, activity: str, begin: float, end: float, mode: str) -> None:
        u, r = self.u, person.routine
        if mode == "holiday":
            return
        start = self.clock.at(d, begin + u.between(-0.1, 0.15))
        if mode == "cancelled":
            self._emit(
                person,
                start + int(u.between(300, 1800)),
                "activity_missed",
                {"activity": activity, "reason": "cancelled"},
            )
            return
        finish = self.clock.at(d, end + u.between(-0.15, 0.1))
        if u() < r.attend_p:
            if u() < person.mult("activities", start):
                minutes = int((finish - start) / 60 * (1.0 if u() < 0.9 else u.between(0.4, 0.9)))
                self._emit(person, finish, "activity_attended", {"activity": activity, "minutes": minutes}, d)
                return
            reason = person.activity_reason(start)
            if reason is None:
                return
        else:
            x = u()
            reason = "sick" if x < 0.4 else "refused" if x < 0.65 else "other"
        self._emit(
            person, start + int(u.between(300, 2400)), "activity_missed", {"activity": activity, "reason": reason}
        )

    def _rises(self, person: _Person) -> None:
        u, clock = self.u, self.clock
        for kind, start, ramp, rate in person.rises:
            first = clock.day_of(start)
            if rate < 0:  # a short non-crisis burst lasting -rate days
                last, rate = first + max(1, int(-rate)), 0.8
            else:
                last = self.days - 1
            for d in range(first, min(last, self.days - 1) + 1):
                if kind == "late_night_login":
                    hours = u.between(23.0, 27.0)
                    if d + 1 >= self.days:
                        continue
                else:
                    hours = u.between(7.5, 20.0)
                base = clock.at(d, 0)
                progress = 1.0 if ramp <= 0 else min(1.0, max(0.0, (base + _DAY - start) / ramp))
                for _ in range(u.poisson(rate * progress)):
                    t = clock.at(d, hours + u.between(-0.5, 0.5))
                    if t < start:
                        continue
                    self._emit(person, t, "kiosk_login")
                    if kind != "late_night_login":
                        self._emit(person, t + int(u.between(30, 300)), kind)
                    elif u() < 0.3:
                        self._emit(
                            person,
                            t + int(u.between(30, 300)),
                            u.pick(("application_submitted", "healthcare_request", "complaint_submitted")),
                            None,
                        )

    # ---------------------------------------------------------------- batches

    def build_batches(self) -> tuple[list[SimBatch], int]:
        spec, u, clock = self.spec, self.u, self.clock
        n_kiosks = len(self.kiosks)
        gz = [u() < spec.gzip_fraction for _ in range(n_kiosks)]
        style = [u.pick(("utc", "local", "local", "mixed")) for _ in range(n_kiosks)]
        # Seal times per kiosk.
        seals: list[list[int]] = []
        for _k in range(n_kiosks):
            interval = u.between(*spec.seal_minutes) / 60
            times: list[int] = []
            for d in range(self.days):
                h = spec.open_from_hour + interval + u.between(-0.07, 0.07)
                while h < spec.open_until_hour - 0.25:
                    times.append(clock.at(d, h))
                    h += interval + u.between(-0.08, 0.08)
                times.append(clock.at(d, spec.open_until_hour))
            seals.append(times)
        # Outages.
        outages: dict[int, tuple[int, int]] = {}
        for _ in range(spec.kiosk_outages):
            k = int(u() * n_kiosks)
            if k in outages:
                continue
            day = int(u.between(self.days * 0.25, self.days * 0.85))
            t0 = clock.at(day, u.between(spec.open_from_hour + 1, spec.open_until_hour - 2))
            t1 = t0 + int(u.between(*spec.outage_hours) * _HOUR)
            outages[k] = (t0, t1)
            self.confounders.append(
                Confounder(
                    kind="kiosk_outage",
                    start=_utc(t0),
                    end=_utc(t1),
                    kiosk_id=self.kiosks[k],
                    wing=spec.wings[k // spec.kiosks_per_wing],
                    note="network down; backlog uploaded late",
                )
            )
        # Events by kiosk, in time order; event ids from a per-kiosk counter.
        self.events.sort(key=lambda e: (e[0], e[1]))
        by_kiosk: list[list[_Event]] = [[] for _ in range(n_kiosks)]
        for event in self.events:
            by_kiosk[event[1]].append(event)
        out: list[SimBatch] = []
        unique_events = 0
        for k in range(n_kiosks):
            kiosk_id = self.kiosks[k]
            slot_times = np.array(seals[k], dtype=np.int64)
            events = by_kiosk[k]
            if not events:
                ts = np.zeros(0, dtype=np.int64)
            else:
                ts = np.fromiter((e[0] for e in events), dtype=np.int64, count=len(events))
            slot_of = np.searchsorted(slot_times, ts, side="left").tolist()
            counter = 100_000 + int(u() * 800_000)
            local_p = {"utc": 0.0, "local": 1.0, "mixed": 0.5}[style[k]]
            lines_by_slot: dict[int, list[tuple[int, str]]] = {}
            backlog: list[tuple[int, str]] = []
            t0, t1 = outages.get(k, (0, 0))
            for event, s in zip(events, slot_of, strict=True):
                if s >= len(slot_times):
                    continue  # after the last seal of the run
                t, _, kind, pid, detail = event
                counter += 1
                # Hand-built: every field but detail is a plain identifier or timestamp (no escaping).
                line = (
                    f'{{"event_id":"{kiosk_id}-{counter:07d}","type":"{kind}","prisoner_id":"{pid}",'
                    f'"occurred_at":"{_stamp(t, u() < local_p)}"'
                    + (f',"detail":{json.dumps(detail, separators=(",", ":"))}}}' if detail else "}")
                )
                unique_events += 1
                if t1 and (t0 < slot_times[s] < t1 or (t < t1 and slot_times[s] >= t1)):
                    backlog.append((t, line))
                else:
                    lines_by_slot.setdefault(s, []).append((t, line))
            carried: list[tuple[int, str]] = []
            for s, seal in enumerate(seals[k]):
                if t1 and t0 < seal < t1:
                    continue
                lines = carried + lines_by_slot.get(s, [])
                carried = []
                if lines and u() < spec.rebatch_rate:  # a kiosk retry re-batches a few records
                    carried = sorted({lines[int(u() * len(lines))] for _ in range(1 + int(u() * 3))})
                created = seal
                delivery: Delivery = "on_time"
                if u() < spec.late_upload_rate:
                    created = seal + int(u.between(1, 30) * _HOUR)
                    if t1 and t0 < created < t1:  # nothing gets through while the network is down
                        created = t1 + int(u.between(60, 900))
                    delivery = "late"
                stamp = _utc(seal).strftime("%Y%m%dT%H%M")
                out.append(self._batch(kiosk_id, f"{kiosk_id}-{stamp}", seal, created, lines, gz[k], local_p, delivery))
                if t1 and seal >= t1 and backlog:
                    parts = min(len(backlog), 1 + int(u() * 3))
                    size = math.ceil(len(backlog) / parts)
                    for i in range(parts):
                        chunk = backlog[i * size : (i + 1) * size]
                        at = seal + 60 * (2 + 3 * i) + int(u() * 60)
                        out.append(
                            self._batch(
                                kiosk_id,
                                f"{kiosk_id}-{stamp}-backlog{i + 1}",
                                at,
                                at,
                                chunk,
                                gz[k],
                                local_p,
                                "backlog",
                            )
                        )
                    backlog = []
        for batch in list(out):
            if u() < spec.duplicate_upload_rate:
                again = batch.created_at + timedelta(minutes=u.between(5, 720))
                down = outages.get(self.kiosks.index(batch.kiosk_id))
                if down and _utc(down[0]) < again < _utc(down[1]):
                    again = _utc(down[1]) + timedelta(minutes=u.between(1, 15))
                out.append(
                    SimBatch(batch.key, batch.kiosk_id, batch.batch_id, again, batch.body, batch.records, "resent")
                )
        out.sort(key=lambda b: (b.created_at, b.key))
        return out, unique_events

    def _batch(
        self,
        kiosk_id: str,
        batch_id: str,
        heartbeat_at: int,
        created: int,
        lines: list[tuple[int, str]],
        gz: bool,
        local_p: float,
        delivery: Delivery,
    ) -> SimBatch:
        stamp = _utc(heartbeat_at).strftime("%Y%m%dT%H%M%S")
        heartbeat = json.dumps(
            {
                "event_id": f"{kiosk_id}-HB-{stamp}",
                "type": "kiosk_heartbeat",
                "occurred_at": _stamp(heartbeat_at, self.u() < local_p),
            },
            separators=(",", ":"),
        )
        body_lines = [line for _, line in sorted(lines, key=lambda x: x[0])] + [heartbeat]
        header = json.dumps(
            {
                "schema": SCHEMA,
                "batch_id": batch_id,
                "establishment": self.spec.establishment,
                "kiosk_id": kiosk_id,
                "created_at": _stamp(created, self.u() < local_p),
                "record_count": len(body_lines),
            },
            separators=(",", ":"),
        )
        body = ("\n".join([header, *body_lines]) + "\n").encode()
        suffix = ".jsonl"
        if gz:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            suffix = ".jsonl.gz"
        key = f"incoming/{self.spec.establishment}/{kiosk_id}/{batch_id}{suffix}"
        return SimBatch(key, kiosk_id, batch_id, _utc(created), body, len(body_lines), delivery)

    # ---------------------------------------------------------------- roster out

    def roster(self, people: list[_Person]) -> list[SimPrisoner]:
        out: list[SimPrisoner] = []
        end = self.clock.at(self.days - 1, self.spec.open_until_hour) + 1
        for p in people:
            out.append(
                SimPrisoner(
                    prisoner_id=p.pid,
                    wing=self.spec.wings[p.wing_by_day[p.arrival_day or 0]],
                    location=p.location,
                    date_of_birth=p.dob,
                    self_harm_history=p.self_harm,
                    acct_status=p.acct,  # type: ignore[arg-type]
                    usage=p.usage,  # type: ignore[arg-type]
                    arrival_at=_utc(p.present_from) if p.arrival_day is not None else None,
                    arrived_from=p.arrived_from,
                    departure_at=_utc(p.present_until - 1) if p.present_until < end else None,
                    departure_kind=p.departure_kind if p.present_until < end else None,  # type: ignore[arg-type]
                    location_changes=[LocationChange(at=_utc(t), location=loc) for t, loc in p.location_changes],
                    acct_changes=[
                        AcctChange(at=_utc(t), acct_status=s)  # type: ignore[arg-type]
                        for t, s in sorted(p.acct_changes)
                        if p.present_from <= t < p.present_until
                    ],
                )
            )
        return out


# --------------------------------------------------------------------------- entry points


def simulate(spec: ScenarioSpec | None = None) -> Scenario:
    """Simulates one establishment; the same spec (seed included) gives the same bytes."""
    spec = spec or ScenarioSpec()
    started = _time.perf_counter()
    builder = _Builder(spec)
    people = builder.build_roster()
    builder.build_confounders()
    builder.build_collapses(people)
    builder.build_noise(people)
    prisoner_days = builder.build_events(people)
    batches, unique_events = builder.build_batches()
    builder.confounders.sort(key=lambda c: (c.start, c.kind))
    return Scenario(
        spec=spec,
        batches=batches,
        truth=sorted(builder.collapses, key=lambda c: c.onset_at),
        confounders=builder.confounders,
        prisoners=builder.roster(people),
        kiosks=builder.kiosks,
        unique_events=unique_events,
        prisoner_days=prisoner_days,
        generation_seconds=_time.perf_counter() - started,
    )


def write_scenario(scenario: Scenario, directory: Path | str, include_resent: bool = True) -> Path:
    """Writes each batch at ``directory/<key>`` and ``directory/truth.json``.

    A re-sent duplicate has the same key as its first upload, so it is written under
    ``directory/resent/<n>/<key>`` (``aim replay`` reads any depth and must ignore it)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    resent = 0
    for batch in scenario.batches:
        if batch.delivery == "resent":
            if not include_resent:
                continue
            resent += 1
            path = root / "resent" / str(resent) / batch.key
        else:
            path = root / batch.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(batch.body)
    truth = ScenarioTruth(
        spec=scenario.spec,
        stats=scenario.stats(),
        truth=scenario.truth,
        confounders=scenario.confounders,
        prisoners=scenario.prisoners,
        batches=[
            BatchInfo(key=b.key, created_at=b.created_at, records=b.records, delivery=b.delivery)
            for b in scenario.batches
        ],
    )
    out = root / "truth.json"
    out.write_text(truth.model_dump_json(indent=1))
    return out


def load_truth(path: Path | str) -> ScenarioTruth:
    """Reads a ``truth.json`` written by ``write_scenario``."""
    return ScenarioTruth.model_validate_json(Path(path).read_text())
