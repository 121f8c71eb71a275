"""An independent kiosk-data scenario with ground truth, for measuring AIM on data it was not tuned on.

Designed from the interface contract (``aim.kiosk-batch/1``) and knowledge of how a
category-B/C local prison runs, deliberately without reference to the project's own
generator or model. It models:

- 3-5 wings, each with one or two wing kiosks (``HMW-A-K1``), some wings with in-cell
  devices behind one gateway per wing (``HMW-A-CELL``), and the kiosk platform's server
  (``HMW-HUB``) that posts attendance, visits outcomes, movements and profiles;
- a weekday regime (work/education sessions, Friday afternoons off), evening association,
  weekend regime, bank holidays, per-wing canteen and menu days, gym slots, faith services;
- each prisoner's own routine (calls, credit, visits, activities, canteen, meals,
  applications, complaints, healthcare, kiosk logins), low and heavy kiosk users,
  new arrivals, releases and transfers, wing moves, job changes, illness, leave from work,
  credit running out, visitors cancelling, gradual drift;
- routine collapses (the ground-truth positives) varied by speed, depth and factors;
- confounders that change many routines at once (lockdown, bank holidays, a wing's regime
  change, wing visits cancelled, a wing's activities cancelled, staff shortage days,
  kiosk outages with backlog or loss);
- delivery quirks (re-uploaded batches, repeated events, shuffled and late records,
  in-cell gateways a day late, UTC and local offsets).

Families (``--family``) set how much ordinary noise there is and what collapses look like,
from how an establishment runs rather than from any model (``FAMILIES``):

- ``independent`` (default): the mix above;
- ``quiet``: a settled establishment: regular routines (most days a person does what they
  usually do, little day-to-day variance), little illness, leave or credit trouble, few
  confounders; every collapse a *partial* drop (the habits fall to 30-60 % of usual);
- ``noisy``: an unsettled one: irregular users with good and bad days, frequent illness,
  weeks off work, credit running out, many low kiosk users, more lockdowns, shortages,
  outages and late uploads; collapses mixed (silences and partial drops).

``write_scenario`` writes ``batches/<kiosk_id>/<batch_id>.jsonl[.gz]`` and ``truth.json``
(schema ``aim.scenario-truth/1``). No deliberately invalid records are written: every
record should be accepted by the contract. Truth ``wing`` is the prisoner's first wing in
the data and ``acct`` the ACCT status at reception or at ``history_start``.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Europe/London")
WINDOW_START = date(2026, 3, 2)  # a Monday; the window spans the 29 March 2026 clock change
HISTORY_DAYS = 28
BANK_HOLIDAYS = (
    date(2025, 12, 25),
    date(2025, 12, 26),
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 8, 31),
)
FACTORS = ("phone", "visits", "work", "self_care", "requests", "engagement", "distress")
VISIT_WEEKDAYS = (1, 3, 5, 6)  # Tue, Thu, Sat, Sun afternoons
OTHER_PRISONS = ("LEI", "MDI", "BMI", "DMI", "HEI", "WDI", "NMI", "RNI")
APP_CATEGORIES = (
    "property",
    "canteen",
    "visits",
    "finance",
    "offender management",
    "education",
    "employment",
    "chaplaincy",
    "healthcare",
    "resettlement",
    "kitchen",
    "gym",
    "wing move",
    "telephone numbers",
)
ALPHA = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Weekday unlock windows (minutes from local midnight): morning, lunch, evening association.
WEEKDAY_WINDOWS = ((465, 500), (715, 750), (1005, 1125))
WEEKEND_WINDOWS = ((540, 690), (840, 990))
SESSIONS = {"am": (510, 690), "pm": (825, 990)}  # 08:30-11:30, 13:45-16:30

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Family:
    """How much ordinary noise a scenario has and what its collapses look like."""

    name: str = "independent"
    low_usage_p: float = 0.15  # share of low kiosk users
    sick_p: float = 0.12  # share of people with an illness spell
    sick_days: tuple[int, int] = (1, 4)
    leave_p: float = 0.12  # share of workers with time off work
    leave_days: tuple[int, int] = (4, 4)
    credit_out_p: float = 0.12  # chance, each top-up week, that credit ran out before it
    move_p: float = 0.06  # wing moves
    job_change_p: float = 0.08
    court_p: float = 0.06
    attend_p: tuple[float, float] = (0.82, 0.99)
    drift_sd: float = 0.15  # slow drift of a person's rates over the run
    regularity: float = 0.0  # chance that a day's count is the person's usual count rather than a Poisson draw
    day_dispersion: float = 0.0  # variance of a person-day's gamma multiplier (good and bad days)
    visitor_cancel_p: float = 0.06
    late_p: float = 0.012  # records delivered a day or two late
    window_lockdowns: int = 1
    shortage_days: tuple[int, int] = (2, 4)
    outages: int | None = None  # kiosk outages (backlog or loss); None: three or four
    collapse_fraction: float = 0.08
    sudden_p: float = 0.5
    ramp_days: tuple[float, float] = (3.0, 7.0)
    zero_p: float = 0.5  # share of collapses that fall silent rather than partially
    floor: tuple[float, float] = (0.3, 0.5)  # what is left of a habit in a partial collapse


FAMILIES: dict[str, Family] = {
    "independent": Family(),
    "quiet": Family(
        name="quiet",
        low_usage_p=0.05,
        sick_p=0.03,
        sick_days=(1, 2),
        leave_p=0.03,
        credit_out_p=0.02,
        move_p=0.02,
        job_change_p=0.02,
        court_p=0.02,
        attend_p=(0.95, 0.99),
        drift_sd=0.03,
        regularity=0.85,
        visitor_cancel_p=0.02,
        late_p=0.004,
        shortage_days=(0, 1),
        outages=1,
        zero_p=0.0,
        floor=(0.3, 0.6),
    ),
    "noisy": Family(
        name="noisy",
        low_usage_p=0.3,
        sick_p=0.35,
        sick_days=(1, 7),
        leave_p=0.3,
        leave_days=(4, 11),
        credit_out_p=0.3,
        move_p=0.12,
        job_change_p=0.2,
        court_p=0.12,
        attend_p=(0.6, 0.95),
        drift_sd=0.3,
        day_dispersion=0.6,
        visitor_cancel_p=0.15,
        late_p=0.03,
        window_lockdowns=2,
        shortage_days=(4, 7),
        outages=7,
    ),
}


def local(d: date, minutes: float) -> datetime:
    """Wall-clock minutes after local midnight of day d (may run into the next day), normalised."""
    naive = datetime.combine(d, time()) + timedelta(minutes=float(minutes))
    return naive.replace(tzinfo=TZ).astimezone(UTC).astimezone(TZ)


def rfc(t: datetime) -> str:
    return t.astimezone(TZ).isoformat(timespec="seconds")


def rfc_z(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def inside(t: datetime, ivs: list[Interval]) -> bool:
    return any(a <= t < b for a, b in ivs)


@dataclass
class Event:
    at: datetime
    type: str
    pid: str | None
    detail: dict[str, Any]
    source: str
    late_ok: bool = True  # may be chosen for late delivery


@dataclass
class Collapse:
    onset: datetime
    speed: str
    depth: str
    factors: list[str]
    ramp_days: float
    floor: float
    boost: float


@dataclass
class Wing:
    name: str
    kiosks: list[str]
    cell: str | None
    canteen_day: int
    menu_day: int
    gym_slots: list[tuple[int, int]]  # (weekday, start minute)
    landings: int


@dataclass
class Person:
    pid: str
    dob: date
    custody_from: date
    arrive_at: datetime | None
    leave_at: datetime | None
    left_how: str | None
    usage: str  # low | normal | heavy
    shh: bool
    acct: str
    moves: list[tuple[datetime, str, str]]  # (at, wing, location); first is the initial
    in_cell: bool
    call_rate: float
    call_evening: float
    topup_day: int
    topup_every: int
    topup_amount: int
    visit_period: int
    visit_weekday: int
    visit_phase: int
    jobs: list[tuple[date, str, tuple[str, ...]]]  # (from, kind, sessions)
    attend_p: float
    induction_days: int
    gym_p: float
    library: bool
    faith_day: int | None
    canteen_p: float
    canteen_amount: int
    meals_p: float
    app_rate: float
    complaint_rate: float
    hc_rate: float
    idle_rate: float
    night_p: float
    drift: float
    sick: list[tuple[date, date]] = field(default_factory=list)
    leave: list[tuple[date, date]] = field(default_factory=list)
    credit_out: set[date] = field(default_factory=set)
    court: set[date] = field(default_factory=set)
    collapse: Collapse | None = None
    kiosk_pref: float = 0.75

    def wing_at(self, t: datetime) -> tuple[str, str]:
        w, loc = self.moves[0][1], self.moves[0][2]
        for at, wing, location in self.moves[1:]:
            if at <= t:
                w, loc = wing, location
        return w, loc

    def in_custody(self, t: datetime) -> bool:
        if self.arrive_at is not None and t <= self.arrive_at:
            return False
        return not (self.leave_at is not None and t >= self.leave_at)

    def job_on(self, d: date) -> tuple[str, tuple[str, ...]]:
        kind = "none"
        sess: tuple[str, ...] = ()
        for start, k, s in self.jobs:
            if start <= d:
                kind, sess = k, s
        return kind, sess

    def level(self, factor: str, t: datetime) -> float:
        """Collapse multiplier on a factor at t: 1 before onset, falling to floor (or rising to boost)."""
        c = self.collapse
        if c is None or factor not in c.factors or t < c.onset:
            return 1.0
        ramp = timedelta(hours=10) if c.speed == "sudden" else timedelta(days=c.ramp_days)
        prog = min(1.0, (t - c.onset) / ramp)
        if factor == "distress":
            return 1.0 + (c.boost - 1.0) * prog
        return 1.0 - (1.0 - c.floor) * prog


class Scenario:
    def __init__(
        self, seed: int, prisoners: int, days: int, establishment: str, family: Family = FAMILIES["independent"]
    ) -> None:
        self.seed = seed
        self.fam = family
        self.day_mood = 1.0  # the current person-day's multiplier (``Family.day_dispersion``)
        self.rng = np.random.default_rng(seed)
        self.r = random.Random(seed).random  # fast scalar draws; numpy for distributions
        self.n = prisoners
        self.days = days
        self.est = establishment
        self.window_start = WINDOW_START
        self.window_end = WINDOW_START + timedelta(days=days - 1)
        self.history_start = WINDOW_START - timedelta(days=HISTORY_DAYS)
        self.all_days = [self.history_start + timedelta(days=i) for i in range(HISTORY_DAYS + days)]
        self.end_t = local(self.window_end + timedelta(days=1), 0)
        self.hub = f"{establishment}-HUB"
        self.events: list[Event] = []
        self.wings: dict[str, Wing] = {}
        self.people: list[Person] = []
        self.confounders: list[dict[str, Any]] = []
        self.lockdowns: list[Interval] = []
        self.shortages: list[Interval] = []
        self.regime_pm_off: dict[str, list[Interval]] = {}
        self.wing_visits_off: dict[str, list[Interval]] = {}
        self.wing_acts_off: dict[str, list[Interval]] = {}
        self.outages: list[tuple[str, Interval, str]] = []  # (kiosk, interval, backlog|lost)
        self.batches: list[tuple[str, datetime, list[dict[str, Any]]]] = []
        self.bank = {d for d in BANK_HOLIDAYS if self.history_start <= d <= self.window_end}

    # ----------------------------------------------------------------- helpers
    def u(self, a: float = 0.0, b: float = 1.0) -> float:
        return a + (b - a) * self.r()

    def chance(self, p: float) -> bool:
        return self.r() < p

    def ri(self, a: int, b: int) -> int:
        """Integer in [a, b] inclusive."""
        return min(b, a + int(self.r() * (b - a + 1)))

    def pick(self, seq: Any) -> Any:
        return seq[min(len(seq) - 1, int(self.r() * len(seq)))]

    def count(self, rate: float) -> int:
        """A day's number of events at ``rate``: Poisson, or the usual count on a regular day."""
        rate *= self.day_mood
        if self.fam.regularity > 0 and self.chance(self.fam.regularity):
            whole = int(rate)
            return whole + int(self.chance(rate - whole))
        return int(self.rng.poisson(rate))

    def emit(self, p: Person | None, t: datetime, type_: str, detail: dict[str, Any], source: str) -> None:
        if p is not None and not p.in_custody(t):
            return
        if t >= self.end_t - timedelta(seconds=2) or t < local(self.history_start, 0):
            return
        self.events.append(Event(t, type_, p.pid if p else None, detail, source))

    def weekend_like(self, d: date) -> bool:
        return d.weekday() >= 5 or d in self.bank

    # ----------------------------------------------------------------- build
    def build_establishment(self) -> None:
        n_wings = self.ri(3, 5)
        names = "ABCDE"[:n_wings]
        cell_wings = set(self.rng.choice(list(names), size=self.ri(1, max(1, n_wings - 1)), replace=False).tolist())
        for i, w in enumerate(names):
            n_k = 2 if self.chance(0.5) else 1
            kiosks = [f"{self.est}-{w}-K{k + 1}" for k in range(n_k)]
            gym = [(int(self.rng.integers(0, 5)), 1065), (int(self.rng.integers(0, 5)), 1065), (5 + i % 2, 600)]
            self.wings[w] = Wing(
                name=w,
                kiosks=kiosks,
                cell=f"{self.est}-{w}-CELL" if w in cell_wings else None,
                canteen_day=i % 5,
                menu_day=(i + 2) % 5,
                gym_slots=gym,
                landings=self.ri(2, 4),
            )

    def new_pid(self, used: set[str]) -> str:
        while True:
            pid = (
                self.pick(ALPHA)
                + f"{self.ri(0, 9999):04d}"
                + self.pick("ABCDEFGHJKLMNPQRSTUVWXYZ")
                + self.pick("ABCDEFGHJKLMNPQRSTUVWXYZ")
            )
            if pid not in used:
                used.add(pid)
                return pid

    def location(self, wing: str) -> str:
        w = self.wings[wing]
        return f"{wing}-{self.ri(1, w.landings)}-{self.ri(1, 32)}"

    def build_people(self) -> None:
        used: set[str] = set()
        n_arrivals = max(1, round(self.n * 0.12))
        n_leavers = max(2, round(self.n * 0.09))
        span = len(self.all_days)
        wing_names = list(self.wings)
        for i in range(self.n):
            pid = self.new_pid(used)
            r = self.rng.random()
            age = (
                self.u(18, 26)
                if r < 0.25
                else self.u(26, 41)
                if r < 0.7
                else self.u(41, 56)
                if r < 0.9
                else self.u(56, 70.9)
            )
            dob = self.window_start - timedelta(days=int(age * 365.25))
            arrival = i < n_arrivals
            if arrival:
                custody_from = self.history_start + timedelta(days=self.ri(3, span - 12))
                arrive_at = local(custody_from, self.u(900, 1170))
            else:
                custody_from = self.history_start - timedelta(days=self.ri(20, 1800))
                arrive_at = None
            leave_at: datetime | None = None
            left_how: str | None = None
            if n_arrivals <= i < n_arrivals + n_leavers:
                leave_day = self.history_start + timedelta(days=self.ri(10, span - 2))
                if self.chance(0.65):
                    left_how, leave_at = "release", local(leave_day, self.u(510, 630))
                else:
                    left_how, leave_at = "transfer", local(leave_day, self.u(420, 480))
            wing = self.pick(wing_names)
            shh = self.chance(0.16)
            acct_r = self.rng.random()
            acct = "open" if acct_r < 0.03 else "post_closure" if acct_r < 0.08 else "none"
            if acct != "none":
                shh = shh or self.chance(0.7)
            usage = "low" if self.chance(self.fam.low_usage_p) else "heavy" if self.chance(0.2) else "normal"
            has_cell_wing = self.wings[wing].cell is not None
            in_cell = has_cell_wing and self.chance(0.65)
            r = self.rng.random()
            call_rate = 0.0 if r < 0.1 else 2 / 7 if r < 0.3 else self.u(0.6, 1.2) if r < 0.8 else self.u(1.5, 3.5)
            if usage == "low":
                call_rate = min(call_rate, 2 / 7)
            if in_cell:
                call_rate *= 1.3
            r = self.rng.random()
            visit_period = 7 if r < 0.25 else 14 if r < 0.5 else 28 if r < 0.62 else 0
            job_r = self.rng.random()
            sess: tuple[str, ...]
            if age >= 65 and self.chance(0.6) or usage == "low" and self.chance(0.5):
                kind, sess = "none", ()
            elif job_r < 0.5:
                kind, sess = "work", ("am", "pm")
            elif job_r < 0.72:
                kind, sess = "education", (self.pick(("am", "pm")),) if self.chance(0.5) else ("am", "pm")
            elif job_r < 0.85:
                kind, sess = "work", (self.pick(("am", "pm")),)
            else:
                kind, sess = "none", ()
            start = custody_from + timedelta(days=self.ri(9, 20)) if arrival else self.history_start - timedelta(30)
            jobs: list[tuple[date, str, tuple[str, ...]]] = [(start, kind, sess)]
            idle = {"low": 0.04, "normal": self.u(0.3, 0.9), "heavy": self.u(1.5, 3.5)}[usage]
            p = Person(
                pid=pid,
                dob=dob,
                custody_from=custody_from,
                arrive_at=arrive_at,
                leave_at=leave_at,
                left_how=left_how,
                usage=usage,
                shh=shh,
                acct=acct,
                moves=[(local(self.history_start - timedelta(days=1), 0), wing, self.location(wing))],
                in_cell=in_cell,
                call_rate=call_rate,
                call_evening=self.u(0.5, 0.9),
                topup_day=self.pick((3, 4, 4, 5)),
                topup_every=14 if usage == "low" else 7,
                topup_amount=int(self.pick((300, 500, 500, 800, 1000, 1500, 2000))),
                visit_period=visit_period,
                visit_weekday=self.pick(VISIT_WEEKDAYS),
                visit_phase=self.ri(0, 27),
                jobs=jobs,
                attend_p=self.u(*self.fam.attend_p),
                induction_days=self.ri(3, 6),
                gym_p=0.0 if self.chance(0.45) else self.u(0.3, 0.95),
                library=self.chance(0.3),
                faith_day=None if self.chance(0.6) else self.pick((4, 6, 6)),
                canteen_p=0.0 if self.chance(0.06) else (self.u(0.3, 0.6) if usage == "low" else self.u(0.8, 0.99)),
                canteen_amount=self.ri(400, 3500),
                meals_p=0.0 if (usage == "low" or self.chance(0.2)) else self.u(0.75, 0.99),
                app_rate={"low": 0.02, "normal": self.u(0.05, 0.3), "heavy": self.u(0.25, 0.7)}[usage],
                complaint_rate=self.u(0.03, 0.08) if self.chance(0.1) else self.u(0.0, 0.012),
                hc_rate=self.u(0.01, 0.06) * (0.3 if usage == "low" else 1.0),
                idle_rate=idle,
                night_p=self.u(0.01, 0.06) if (in_cell and usage == "heavy") else 0.0,
                drift=float(self.rng.normal(0.0, self.fam.drift_sd)),
                kiosk_pref=self.u(0.6, 0.95),
            )
            self.people.append(p)
        self.add_noise()

    def add_noise(self) -> None:
        span = len(self.all_days)
        wing_names = list(self.wings)
        for p in self.people:
            f = self.fam
            if self.chance(f.sick_p):
                d0 = self.all_days[self.ri(0, span - 5)]
                p.sick.append((d0, d0 + timedelta(days=self.ri(*f.sick_days))))
            kind, _ = p.job_on(self.window_start)
            if kind != "none" and self.chance(f.leave_p):
                monday = self.history_start + timedelta(weeks=self.ri(0, span // 7 - 1))
                lo, hi = f.leave_days
                p.leave.append((monday, monday + timedelta(days=lo if lo == hi else self.ri(lo, hi))))
            if p.call_rate > 0:
                for d in self.all_days:
                    if d.weekday() == p.topup_day and self.chance(f.credit_out_p):
                        for k in range(1, self.ri(1, 3) + 1):
                            p.credit_out.add(d - timedelta(days=k))
            if self.chance(f.move_p):
                new_wing = self.pick([w for w in wing_names if w != p.moves[0][1]])
                t = local(self.all_days[self.ri(5, span - 5)], self.u(600, 900))
                p.moves.append((t, new_wing, self.location(new_wing)))
            elif self.chance(0.05):  # cell move on the same wing
                t = local(self.all_days[self.ri(5, span - 5)], self.u(600, 900))
                p.moves.append((t, p.moves[0][1], self.location(p.moves[0][1])))
            if self.chance(f.job_change_p):
                when = self.all_days[self.ri(7, span - 10)]
                kind, sess = p.job_on(when)
                gap = when + timedelta(days=self.ri(0, 10))
                new = self.pick((("work", ("am", "pm")), ("education", ("am",)), ("work", ("pm",))))
                p.jobs.append((when, "none", ()))
                p.jobs.append((gap, new[0], new[1]))
                p.jobs.sort(key=lambda j: j[0])
            if self.chance(f.court_p):
                p.court.add(self.all_days[self.ri(3, span - 3)])

    def build_confounders(self) -> None:
        ws, days = self.window_start, self.days
        wing_names = list(self.wings)

        def add(kind: str, scope: str, a: datetime, b: datetime) -> None:
            self.confounders.append({"kind": kind, "scope": scope, "start": rfc(a), "end": rfc(b)})

        for d in sorted(self.bank):
            add("bank_holiday", "establishment", local(d, 0), local(d + timedelta(days=1), 0))
        # Establishment lockdown (one in the window, a short one in the history).
        for _ in range(self.fam.window_lockdowns):
            d0 = ws + timedelta(days=self.ri(8, max(9, days - 6)))
            while d0 in self.bank or d0.weekday() >= 5:
                d0 += timedelta(days=1)
            a = local(d0, self.u(600, 780))
            b = a + timedelta(hours=self.u(24, 46))
            self.lockdowns.append((a, b))
            add("lockdown", "establishment", a, b)
        h0 = self.history_start + timedelta(days=self.ri(5, 20))
        a = local(h0, self.u(840, 960))
        b = local(h0 + timedelta(days=1), self.u(720, 840))
        self.lockdowns.append((a, b))
        add("lockdown", "establishment", a, b)
        # Staff shortage days: reduced regime, afternoon activities and evening association cut.
        for _ in range(self.ri(*self.fam.shortage_days)):
            d = ws + timedelta(days=self.ri(0, days - 1))
            if d.weekday() >= 5:
                d -= timedelta(days=2)
            a, b = local(d, 0), local(d + timedelta(days=1), 0)
            self.shortages.append((a, b))
            add("staff_shortage", "establishment", a, b)
        # One wing loses afternoon work for a week.
        w = self.pick(wing_names)
        mon = ws + timedelta(weeks=self.ri(1, max(1, days // 7 - 2)))
        a, b = local(mon, 0), local(mon + timedelta(days=7), 0)
        self.regime_pm_off.setdefault(w, []).append((a, b))
        add("regime_change", f"wing:{w}", a, b)
        # Visits cancelled by the establishment for one wing for a few days.
        w = self.pick(wing_names)
        d = ws + timedelta(days=self.ri(3, days - 6))
        a, b = local(d, 0), local(d + timedelta(days=self.ri(2, 4)), 0)
        self.wing_visits_off.setdefault(w, []).append((a, b))
        add("visits_cancelled", f"wing:{w}", a, b)
        # A wing's activities cancelled for a day (workshop closed: no instructors).
        w = self.pick(wing_names)
        d = ws + timedelta(days=self.ri(2, days - 3))
        while d.weekday() >= 5:
            d += timedelta(days=1)
        a, b = local(d, 0), local(d + timedelta(days=1), 0)
        self.wing_acts_off.setdefault(w, []).append((a, b))
        add("activities_cancelled", f"wing:{w}", a, b)
        # Kiosk outages: backlog uploaded late, or records lost.
        kiosks = [k for wg in self.wings.values() for k in wg.kiosks]
        cells = [wg.cell for wg in self.wings.values() if wg.cell]
        plans = [("backlog", self.pick(kiosks), self.u(18, 30)), ("lost", self.pick(kiosks), self.u(6, 12))]
        if cells:
            plans.append(("backlog", self.pick(cells), self.u(8, 20)))
        plans.append(("backlog", self.pick(kiosks), self.u(6, 10)))
        want = len(plans) if self.fam.outages is None else self.fam.outages
        plans = plans[:want]
        while len(plans) < want:
            plans.append(("backlog" if self.chance(0.7) else "lost", self.pick(kiosks), self.u(6, 24)))
        for mode, k, hours in plans:
            d = ws + timedelta(days=self.ri(2, days - 3))
            a = local(d, self.u(360, 1200))
            b = a + timedelta(hours=hours)
            self.outages.append((k, (a, b), mode))
            add("kiosk_outage", f"kiosk:{k}", a, b)
        self.confounders.sort(key=lambda c: (c["start"], c["kind"]))

    def build_collapses(self) -> None:
        want = max(1, round(self.n * self.fam.collapse_fraction))
        lo = min(22, max(0, self.days - 9))
        hi = max(lo, self.days - 8)
        cands = [p for p in self.people if p.leave_at is None]
        weights = np.array([2.0 if (p.shh or p.acct != "none") else 1.0 for p in cands])
        order = self.rng.choice(len(cands), size=len(cands), replace=False, p=weights / weights.sum())
        chosen = 0
        for idx in order:
            if chosen >= want:
                break
            p = cands[int(idx)]
            onset_day = self.window_start + timedelta(days=self.ri(lo, hi))
            if (onset_day - p.custody_from).days < 12:
                continue
            onset = local(onset_day, self.u(360, 1320))
            eff = self.effective_factors(p, onset_day)
            r = self.rng.random()
            n = 1 if r < 0.15 else 2 if r < 0.35 else 3 if r < 0.6 else 4 if r < 0.8 else self.ri(5, 7)
            n = min(n, len(eff))
            factors = sorted(self.rng.choice(eff, size=n, replace=False).tolist(), key=lambda f: FACTORS.index(str(f)))
            speed = "sudden" if self.chance(self.fam.sudden_p) else "gradual"
            depth = "zero" if self.chance(self.fam.zero_p) else "partial"
            p.collapse = Collapse(
                onset=onset,
                speed=speed,
                depth=depth,
                factors=[str(f) for f in factors],
                ramp_days=self.u(*self.fam.ramp_days),
                floor=0.0 if depth == "zero" else self.u(*self.fam.floor),
                boost=self.u(3, 8),
            )
            if self.chance(0.35):  # a trigger a day or two before (sentence, anniversary, ...)
                when = onset_day - timedelta(days=self.ri(0, 2))
                self.emit(
                    p,
                    local(when - timedelta(days=self.ri(3, 20)), self.u(600, 900)),
                    "significant_date",
                    {"date": when.isoformat(), "kind": self.pick(("sentence", "anniversary", "parole", "court"))},
                    self.hub,
                )
            chosen += 1

    def effective_factors(self, p: Person, d: date) -> list[str]:
        eff = []
        if p.call_rate > 0:
            eff.append("phone")
        if p.visit_period:
            eff.append("visits")
        if p.job_on(d)[0] != "none" or p.gym_p > 0.3:
            eff.append("work")
        if p.canteen_p > 0.5 or p.meals_p > 0:
            eff.append("self_care")
        if p.app_rate >= 0.05:
            eff.append("requests")
        if p.idle_rate >= 0.2:
            eff.append("engagement")
        eff.append("distress")
        return eff

    # ----------------------------------------------------------------- behaviour
    def kiosk_for(self, p: Person, t: datetime, wing: str) -> str:
        w = self.wings[wing]
        if p.in_cell and w.cell:
            return w.cell
        if len(w.kiosks) == 1 or self.chance(p.kiosk_pref):
            return w.kiosks[0]
        return w.kiosks[1]

    def kiosk_time(self, p: Person, d: date, wing: str, evening_bias: float = 0.5) -> datetime:
        if p.in_cell and self.wings[wing].cell:
            m = self.u(1020, 1350) if self.chance(evening_bias) else self.u(420, 1020)
            return local(d, m)
        wins = WEEKEND_WINDOWS if self.weekend_like(d) else WEEKDAY_WINDOWS
        x = self.u(0, sum(b - a for a, b in wins))
        for a, b in wins:
            if x < b - a:
                return local(d, a + x)
            x -= b - a
        return local(d, wins[-1][1] - 1)

    def regime_keep(self, p: Person, t: datetime, wing: str) -> bool:
        """Thin wing-bound activity by lockdown and staff shortage (in-cell use mostly unaffected)."""
        cell = p.in_cell and self.wings[wing].cell is not None
        if inside(t, self.lockdowns):
            return self.chance(0.85 if cell else 0.1)
        if inside(t, self.shortages) and t.hour >= 16:
            return self.chance(0.9 if cell else 0.35)
        return True

    def plan_visits(self, p: Person, actions: dict[date, list[tuple[datetime, str, dict[str, Any], str]]]) -> None:
        if not p.visit_period:
            return
        for d in self.all_days:
            if d.weekday() != p.visit_weekday:
                continue
            if ((d - self.history_start).days + p.visit_phase) % p.visit_period >= 7:
                continue
            visit_t = local(d, self.u(840, 870))
            if not p.in_custody(visit_t):
                continue
            book_day = d - timedelta(days=self.ri(3, 9))
            wing, _ = p.wing_at(visit_t)
            book_t = self.kiosk_time(p, book_day, wing)
            if not p.in_custody(book_t):
                continue
            if self.chance(0.04):  # never booked this one
                continue
            if self.chance(1 - p.level("visits", book_t)):
                continue
            actions.setdefault(book_day, []).append((book_t, "visit_booked", {"visit_date": d.isoformat()}, "visits"))
            wing_v = p.wing_at(visit_t)[0]
            est_off = inside(visit_t, self.lockdowns) or inside(visit_t, self.wing_visits_off.get(wing_v, []))
            c = p.collapse
            if c is not None and "visits" in c.factors and visit_t > c.onset and book_t < c.onset:
                cancel_t = c.onset + timedelta(hours=self.u(1, 30))
                if cancel_t < visit_t - timedelta(hours=1) and self.chance(1 - p.level("visits", cancel_t)):
                    cd = cancel_t.astimezone(TZ).date()
                    ct = self.kiosk_time(p, cd, wing_v)
                    if ct < visit_t:
                        actions.setdefault(cd, []).append(
                            (ct, "visit_cancelled", {"visit_date": d.isoformat(), "by": "prisoner"}, "visits")
                        )
                        continue
            if (
                c is not None
                and "visits" in c.factors
                and visit_t > c.onset
                and self.chance(1 - p.level("visits", visit_t))
            ):
                # booked after onset but does not go: cancels on the day
                ct = local(d, self.u(480, 720))
                actions.setdefault(d, []).append(
                    (ct, "visit_cancelled", {"visit_date": d.isoformat(), "by": "prisoner"}, "visits")
                )
                continue
            if est_off:
                t = local(d, self.u(500, 600))
                for a, _b in self.lockdowns:
                    if a.date() == d and a > t:
                        t = a + timedelta(minutes=self.u(20, 90))
                self.emit(p, t, "visit_cancelled", {"visit_date": d.isoformat(), "by": "establishment"}, self.hub)
            elif self.chance(self.fam.visitor_cancel_p):
                t = local(d - timedelta(days=self.ri(0, 2)), self.u(540, 1020))
                self.emit(p, t, "visit_cancelled", {"visit_date": d.isoformat(), "by": "visitor"}, self.hub)
            elif self.chance(0.015):
                ct = self.kiosk_time(p, d - timedelta(days=1), wing_v)
                actions.setdefault(ct.date(), []).append(
                    (ct, "visit_cancelled", {"visit_date": d.isoformat(), "by": "prisoner"}, "visits")
                )
            else:
                self.emit(p, visit_t + timedelta(minutes=self.u(90, 120)), "visit_attended", {}, self.hub)

    def movements_and_profiles(self, p: Person) -> None:
        loc0 = p.moves[0][2]
        prof: dict[str, Any] = {
            "date_of_birth": p.dob.isoformat(),
            "self_harm_history": p.shh,
            "acct_status": p.acct,
            "location": loc0,
        }
        if p.arrive_at is not None:
            rec: dict[str, Any] = {"location": loc0}
            if self.chance(0.4):
                rec["from"] = self.pick(OTHER_PRISONS)
            self.events.append(Event(p.arrive_at, "reception", p.pid, rec, self.hub))
            self.events.append(Event(p.arrive_at + timedelta(minutes=self.u(5, 90)), "profile", p.pid, prof, self.hub))
            # first call from reception: PIN credit
            if p.call_rate > 0:
                t = p.arrive_at + timedelta(minutes=self.u(100, 200))
                self.emit(p, t, "phone_credit_added", {"amount_pence": 500}, self.hub)
        else:
            t = local(self.history_start, self.u(330, 360))
            self.events.append(Event(t, "profile", p.pid, prof, self.hub))
        for at, _wing, loc in p.moves[1:]:
            self.emit(p, at, "location_change", {"location": loc}, self.hub)
            if self.chance(0.5):
                self.emit(p, at + timedelta(minutes=self.u(2, 60)), "profile", {"location": loc}, self.hub)
        # ACCT updates (noise and natural progression)
        span_t = (local(self.history_start, 0), self.end_t)
        if p.acct == "open" and self.chance(0.6):
            t = span_t[0] + timedelta(hours=self.u(48, 24 * 40))
            self.emit(p, t, "profile", {"acct_status": "post_closure"}, self.hub)
        elif p.acct == "none" and self.chance(0.025):
            t = span_t[0] + timedelta(hours=self.u(48, 24 * 60))
            self.emit(p, t, "profile", {"acct_status": "open", "self_harm_history": True}, self.hub)
            self.emit(p, t + timedelta(days=self.u(6, 15)), "profile", {"acct_status": "post_closure"}, self.hub)
        for d in sorted(p.court):
            t = local(d - timedelta(days=self.ri(5, 20)), self.u(600, 900))
            if t < local(self.history_start, 400):
                t = local(self.history_start, self.u(400, 500))
            self.emit(p, t, "significant_date", {"date": d.isoformat(), "kind": "court"}, self.hub)
        if self.chance(0.08):
            sd = self.all_days[self.ri(0, len(self.all_days) - 1)]
            t = local(max(self.history_start, sd - timedelta(days=20)), self.u(600, 900))
            kind = self.pick(("sentence", "parole", "anniversary", "other"))
            self.emit(p, t, "significant_date", {"date": sd.isoformat(), "kind": kind}, self.hub)
        if p.leave_at is not None:
            if p.left_how == "release":
                self.events.append(Event(p.leave_at, "release", p.pid, {}, self.hub))
            else:
                rec = {"to": self.pick(OTHER_PRISONS)} if self.chance(0.8) else {}
                self.events.append(Event(p.leave_at, "transfer_out", p.pid, rec, self.hub))

    def person_days(self, p: Person) -> None:
        actions: dict[date, list[tuple[datetime, str, dict[str, Any], str]]] = {}
        self.plan_visits(p, actions)
        total = float(len(self.all_days))
        for i, d in enumerate(self.all_days):
            if d < p.custody_from or (p.leave_at is not None and d > p.leave_at.date()):
                continue
            noon = local(d, 720)
            wing, _ = p.wing_at(noon)
            drift = max(0.3, 1.0 + p.drift * i / total)
            sick = any(a <= d <= b for a, b in p.sick)
            on_leave = any(a <= d <= b for a, b in p.leave)
            court = d in p.court
            days_in = (d - p.custody_from).days
            todo = actions.setdefault(d, [])
            if self.fam.day_dispersion > 0:  # a good or a bad day for this person
                k = 1.0 / self.fam.day_dispersion
                self.day_mood = float(self.rng.gamma(k, 1.0 / k))
            self.phone_day(p, d, wing, drift, sick, court)
            self.activity_day(p, d, wing, sick, on_leave, court, days_in)
            self.kiosk_day(p, d, wing, drift, sick, court, days_in, todo)
            self.sessions(p, d, wing, todo)

    def phone_day(self, p: Person, d: date, wing: str, drift: float, sick: bool, court: bool) -> None:
        if p.call_rate <= 0 or d in p.credit_out:
            return
        rate = p.call_rate * drift * (0.4 if sick else 1.0) * (0.3 if court else 1.0)
        cell = p.in_cell and self.wings[wing].cell is not None
        for _ in range(self.count(rate)):
            t = self.kiosk_time(p, d, wing, p.call_evening)
            if court and 480 <= t.hour * 60 + t.minute <= 1080:
                continue
            if not self.regime_keep(p, t, wing) or not self.chance(p.level("phone", t)):
                continue
            cap = 3600 if cell else 600
            dur = 0 if self.chance(0.06) else min(cap, int(self.rng.lognormal(np.log(420), 0.6)))
            self.emit(p, t, "phone_call", {"duration_s": dur}, self.kiosk_for(p, t, wing))

    def activity_day(
        self, p: Person, d: date, wing: str, sick: bool, on_leave: bool, court: bool, days_in: int
    ) -> None:
        wd = d.weekday()
        weekday = wd < 5 and d not in self.bank
        hub = self.hub
        # Induction for new arrivals (weekday mornings, first week).
        if p.arrive_at is not None and 1 <= days_in <= p.induction_days and weekday:
            st = local(d, 540)
            if self.regime_keep(p, st, wing):
                self.emit(p, local(d, 690), "activity_attended", {"activity": "other", "minutes": 120}, hub)
            return
        kind, sess = p.job_on(d)
        if weekday and kind != "none" and not on_leave:
            for s in sess:
                if s == "pm" and wd == 4:
                    continue
                a, b = SESSIONS[s]
                st, en = local(d, a), local(d, b)
                if s == "pm" and inside(st, self.regime_pm_off.get(wing, [])):
                    continue
                act = {"activity": kind}
                cancelled = (
                    inside(st, self.lockdowns)
                    or (s == "pm" and inside(st, self.shortages))
                    or inside(st, self.wing_acts_off.get(wing, []))
                )
                miss_t = st + timedelta(minutes=self.u(10, 40))
                if cancelled:
                    self.emit(p, miss_t, "activity_missed", {**act, "reason": "cancelled"}, hub)
                elif court:
                    self.emit(p, miss_t, "activity_missed", {**act, "reason": "other"}, hub)
                elif sick:
                    self.emit(p, miss_t, "activity_missed", {**act, "reason": "sick"}, hub)
                elif self.chance(1 - p.level("work", st)):
                    self.emit(p, miss_t, "activity_missed", {**act, "reason": "refused"}, hub)
                elif self.chance(p.attend_p):
                    mins = (b - a) - self.ri(0, 35)
                    self.emit(
                        p, en + timedelta(minutes=self.u(0, 20)), "activity_attended", {**act, "minutes": mins}, hub
                    )
                else:
                    reason = "refused" if self.chance(0.3) else "other"
                    self.emit(p, miss_t, "activity_missed", {**act, "reason": reason}, hub)
        if sick or court:
            return
        # Gym (wing slots), library, faith: voluntary, only attendance recorded (cancellations when allocated).
        for gwd, gmin in self.wings[wing].gym_slots:
            if gwd != wd or not self.chance(p.gym_p):
                continue
            st = local(d, gmin)
            if inside(st, self.lockdowns) or inside(st, self.shortages):
                self.emit(p, st, "activity_missed", {"activity": "gym", "reason": "cancelled"}, hub)
            elif self.chance(p.level("work", st)):
                self.emit(p, st + timedelta(minutes=60), "activity_attended", {"activity": "gym", "minutes": 60}, hub)
        if p.library and weekday and (d.toordinal() + hash_small(p.pid)) % 14 == 0:
            st = local(d, 870)
            if not inside(st, self.lockdowns) and self.chance(p.level("work", st)):
                self.emit(
                    p, st + timedelta(minutes=30), "activity_attended", {"activity": "library", "minutes": 30}, hub
                )
        if p.faith_day == wd and self.chance(0.85):
            st = local(d, 795 if wd == 4 else 570)
            if inside(st, self.lockdowns):
                self.emit(p, st, "activity_missed", {"activity": "faith", "reason": "cancelled"}, hub)
            elif self.chance(p.level("work", st)):
                self.emit(p, st + timedelta(minutes=60), "activity_attended", {"activity": "faith", "minutes": 60}, hub)

    def kiosk_day(
        self,
        p: Person,
        d: date,
        wing: str,
        drift: float,
        sick: bool,
        court: bool,
        days_in: int,
        todo: list[tuple[datetime, str, dict[str, Any], str]],
    ) -> None:
        if p.arrive_at is not None and days_in < 1:
            return
        w = self.wings[wing]
        wd = d.weekday()
        mood = 0.5 if sick else 1.0
        # Phone credit top-up after wages.
        if p.call_rate > 0 and wd == p.topup_day and (d.toordinal() // 7) % (p.topup_every // 7) == 0:
            t = self.kiosk_time(p, d, wing)
            amount = p.topup_amount + 100 * self.ri(-2, 3)
            todo.append((t, "phone_credit_added", {"amount_pence": max(100, amount)}, "phone"))
        if wd == w.canteen_day and self.chance(p.canteen_p):
            amt = max(50, int(p.canteen_amount * self.u(0.6, 1.3)))
            todo.append((self.kiosk_time(p, d, wing), "canteen_order", {"amount_pence": amt}, "self_care"))
        if wd == w.menu_day and self.chance(p.meals_p):
            t = self.kiosk_time(p, d, wing)
            for k in range(7):
                todo.append((t + timedelta(seconds=15 * k), "meal_selected", {}, "self_care"))
        for _ in range(self.count(p.app_rate * drift)):
            cat = self.pick(APP_CATEGORIES)
            todo.append((self.kiosk_time(p, d, wing), "application_submitted", {"category": cat}, "requests"))
        noon = local(d, 720)
        distress = p.level("distress", noon)
        for _ in range(int(self.rng.poisson(p.complaint_rate * (1 + 0.5 * (distress - 1))))):
            todo.append((self.kiosk_time(p, d, wing), "complaint_submitted", {}, "distress"))
        hc = p.hc_rate * distress + (0.6 if sick and any(a == d for a, _b in p.sick) else 0.0)
        for _ in range(int(self.rng.poisson(hc))):
            todo.append((self.kiosk_time(p, d, wing), "healthcare_request", {}, "distress"))
        for _ in range(self.count(p.idle_rate * drift * mood)):
            todo.append((self.kiosk_time(p, d, wing), "idle", {}, "engagement"))
        # Late-night in-cell use (23:00-04:00): rare habit for some, a distress sign in a collapse.
        if p.in_cell and w.cell:
            night_p = p.night_p + (0.0 if distress <= 1.0 else min(0.8, 0.12 * (distress - 1.0)))
            if self.chance(night_p):
                t = local(d, self.u(1380, 1680))
                todo.append((t, "idle", {}, "night"))
                if self.chance(0.4):
                    kind = self.pick(("healthcare_request", "application_submitted", "complaint_submitted"))
                    det = {"category": self.pick(APP_CATEGORIES)} if kind == "application_submitted" else {}
                    todo.append((t + timedelta(minutes=self.u(1, 6)), kind, det, "night"))
        _ = court

    def sessions(self, p: Person, d: date, wing: str, todo: list[tuple[datetime, str, dict[str, Any], str]]) -> None:
        kept: list[tuple[datetime, str, dict[str, Any]]] = []
        court = d in p.court
        for t, type_, det, factor in todo:
            if court and 480 <= t.hour * 60 + t.minute <= 1080:
                continue
            if factor in ("phone", "self_care", "requests", "engagement", "visits") and not self.chance(
                p.level(factor, t)
            ):
                continue
            if factor != "night" and not self.regime_keep(p, t, p.wing_at(t)[0]):
                continue
            kept.append((t, type_, det))
        kept.sort(key=lambda x: x[0])
        session_end: datetime | None = None
        source = ""
        cursor: datetime | None = None
        for t, type_, det in kept:
            if session_end is None or t > session_end:
                wing_t = p.wing_at(t)[0]
                source = self.kiosk_for(p, t, wing_t)
                login = t - timedelta(seconds=self.u(20, 120))
                self.emit(p, login, "kiosk_login", {}, source)
                session_end = t + timedelta(minutes=12)
                cursor = t
            assert cursor is not None
            cursor = max(cursor + timedelta(seconds=self.u(5, 40)), t)
            if type_ != "idle":
                self.emit(p, cursor, type_, det, source)

    # ----------------------------------------------------------------- delivery
    def heartbeats(self) -> None:
        for w in self.wings.values():
            for k in [*w.kiosks, *([w.cell] if w.cell else [])]:
                every = 60 if k != w.cell else 120
                t = local(self.history_start, self.u(0, 30))
                while t < self.end_t:
                    if not self.in_outage(k, t):
                        self.events.append(Event(t, "kiosk_heartbeat", None, {}, k, late_ok=False))
                    t = t + timedelta(minutes=every + self.u(-2, 2))

    def in_outage(self, kiosk: str, t: datetime) -> bool:
        return any(k == kiosk and a <= t < b for k, (a, b), _m in self.outages)

    def drop_lost(self) -> None:
        kept = []
        for e in self.events:
            if e.type != "kiosk_heartbeat" and any(
                k == e.source and mode == "lost" and a <= e.at < b for k, (a, b), mode in self.outages
            ):
                continue
            kept.append(e)
        self.events = kept

    def seal_times(self) -> dict[str, list[datetime]]:
        seals: dict[str, list[datetime]] = {}
        sources = [self.hub]
        for w in self.wings.values():
            sources += w.kiosks + ([w.cell] if w.cell else [])
        for s in sources:
            ts: list[datetime] = []
            is_cell = s.endswith("-CELL")
            for d in self.all_days:
                if s == self.hub:
                    ts += [local(d, m + self.u(0, 8)) for m in range(360, 1380, 120)] + [local(d, 1430)]
                elif is_cell:
                    if self.chance(0.12) and d != self.window_end:
                        continue  # gateway did not sync today: delivered a day late
                    ts += [local(d, self.u(560, 640)), local(d, self.u(900, 1000)), local(d, self.u(1395, 1430))]
                else:
                    m = self.u(450, 510)
                    while m < 1290:
                        ts.append(local(d, m))
                        m += self.u(60, 180)
                    ts.append(local(d, self.u(1290, 1320)))
            ts = [t for t in ts if not self.in_outage(s, t)]
            ts.append(self.end_t - timedelta(seconds=1))  # final flush
            seals[s] = sorted(set(ts))
        return seals

    def deliver(self) -> None:
        seals = self.seal_times()
        self.events.sort(key=lambda e: (e.at, e.source, e.pid or "", e.type, str(e.detail)))
        counters: dict[str, int] = {}
        buckets: dict[tuple[str, datetime], list[tuple[dict[str, Any], datetime]]] = {}
        for e in self.events:
            counters[e.source] = counters.get(e.source, 0) + 1
            eid = f"{e.source}:{counters[e.source]:07d}"
            rec: dict[str, Any] = {"event_id": eid, "type": e.type}
            if e.pid is not None:
                rec["prisoner_id"] = e.pid
            rec["occurred_at"] = rfc_z(e.at) if e.source == self.hub else rfc(e.at)
            if e.detail:
                rec["detail"] = e.detail
            after = e.at
            if e.source == self.hub:
                after = e.at + timedelta(minutes=self.u(0, 30))
            elif e.late_ok and e.pid is not None and self.chance(self.fam.late_p):
                after = e.at + timedelta(hours=self.u(24, 50))
            ts = seals[e.source]
            j = bisect.bisect_right(ts, after)
            seal = ts[min(j, len(ts) - 1)]
            if seal < e.at:  # after the final flush: never delivered
                continue
            buckets.setdefault((e.source, seal), []).append((rec, e.at))
            if self.chance(0.01):  # the same event again in a later batch
                j2 = bisect.bisect_right(ts, seal + timedelta(hours=self.u(1, 26)))
                seal2 = ts[min(j2, len(ts) - 1)]
                buckets.setdefault((e.source, seal2), []).append((rec, e.at))
        first_after: set[tuple[str, datetime]] = set()
        for kid, (_a, b), mode in self.outages:
            if mode == "backlog":
                ts = seals[kid]
                first_after.add((kid, ts[min(bisect.bisect_left(ts, b), len(ts) - 1)]))
        batches: list[tuple[str, datetime, list[dict[str, Any]]]] = []
        for (src, seal), items in sorted(buckets.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            recs = [r for r, _ in sorted(items, key=lambda x: x[1])]
            backlog = (src, seal) in first_after
            if backlog and len(recs) > 20:
                parts = self.ri(2, 3)
                size = -(-len(recs) // parts)
                for k in range(parts):
                    chunk = recs[k * size : (k + 1) * size]
                    if chunk:
                        batches.append((src, seal + timedelta(minutes=3 * k), chunk))
                continue
            if self.chance(0.2):
                idx = self.rng.permutation(len(recs))
                recs = [recs[int(i)] for i in idx]
            batches.append((src, seal, recs))
        self.batches = batches

    def write(self, out_dir: Path) -> dict[str, int]:
        bdir = out_dir / "batches"
        files = 0
        records = 0
        reuploads = 0
        seen_ids: dict[str, int] = {}
        for src, seal, recs in self.batches:
            stamp = seal.astimezone(TZ).strftime("%Y%m%dT%H%M%S")
            base = f"{src}.{stamp}"
            n = seen_ids.get(base, 0)
            seen_ids[base] = n + 1
            batch_id = base if n == 0 else f"{base}-{n}"
            header = {
                "schema": "aim.kiosk-batch/1",
                "batch_id": batch_id,
                "establishment": self.est,
                "kiosk_id": src,
                "created_at": rfc(seal),
                "record_count": len(recs),
            }
            lines = [json.dumps(header, separators=(",", ":"))]
            lines += [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in recs]
            body = ("\n".join(lines) + "\n").encode("utf-8")
            gz = src.endswith("-CELL") or (src == self.hub and self.chance(0.2))
            kdir = bdir / src
            kdir.mkdir(parents=True, exist_ok=True)
            name = batch_id + (".jsonl.gz" if gz else ".jsonl")
            data = gzip.compress(body, compresslevel=6, mtime=0) if gz else body
            (kdir / name).write_bytes(data)
            files += 1
            records += len(recs)
            if not src.endswith("-CELL") and self.chance(0.02):  # re-uploaded identically
                (kdir / f"{batch_id}.retry.jsonl").write_bytes(body)
                files += 1
                reuploads += 1
                records += len(recs)
        return {"batch_files": files, "record_lines": records, "reuploaded_batches": reuploads}

    # ----------------------------------------------------------------- truth
    def truth(self) -> dict[str, Any]:
        prisoners = []
        for p in self.people:
            prisoners.append(
                {
                    "prisoner_id": p.pid,
                    "date_of_birth": p.dob.isoformat(),
                    "wing": p.moves[0][1],
                    "in_custody_from": p.custody_from.isoformat(),
                    "left_on": p.leave_at.astimezone(TZ).date().isoformat() if p.leave_at else None,
                    "left_how": p.left_how,
                    "low_kiosk_use": p.usage == "low",
                    "self_harm_history": p.shh,
                    "acct": p.acct,
                }
            )
        collapses = [
            {
                "prisoner_id": p.pid,
                "onset": rfc(p.collapse.onset),
                "speed": p.collapse.speed,
                "depth": p.collapse.depth,
                "factors": p.collapse.factors,
            }
            for p in self.people
            if p.collapse is not None
        ]
        collapses.sort(key=lambda c: (c["onset"], c["prisoner_id"]))
        return {
            "schema": "aim.scenario-truth/1",
            "seed": self.seed,
            "family": self.fam.name,
            "establishment": self.est,
            "timezone": "Europe/London",
            "history_start": self.history_start.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "prisoners": prisoners,
            "collapses": collapses,
            "confounders": self.confounders,
        }


def hash_small(s: str) -> int:
    """A stable small hash (Python's str hash is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(s)) % 97


def _run(
    out_dir: Path, seed: int, prisoners: int, days: int, establishment: str, family: str = "independent"
) -> tuple[dict[str, Any], dict[str, int]]:
    if days < 10:
        raise ValueError("days must be at least 10")
    if prisoners < 10:
        raise ValueError("prisoners must be at least 10")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}")
    sc = Scenario(seed, prisoners, days, establishment, FAMILIES[family])
    sc.build_establishment()
    sc.build_people()
    sc.build_confounders()
    sc.build_collapses()
    for p in sc.people:
        sc.movements_and_profiles(p)
        sc.person_days(p)
    sc.heartbeats()
    sc.drop_lost()
    events = len(sc.events)
    sc.deliver()
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = sc.write(out_dir)
    stats["events"] = events
    stats["wings"] = len(sc.wings)
    stats["kiosks"] = sum(len(w.kiosks) + (1 if w.cell else 0) for w in sc.wings.values()) + 1
    truth = sc.truth()
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth, stats


def write_scenario(
    out_dir: Path,
    seed: int,
    prisoners: int = 200,
    days: int = 56,
    establishment: str = "HMW",
    family: str = "independent",
) -> dict[str, Any]:
    """Write kiosk batches under out_dir/batches/ and out_dir/truth.json; return the truth dict."""
    truth, _ = _run(Path(out_dir), seed, prisoners, days, establishment, family)
    return truth


def main(argv: list[str] | None = None, _clock: Callable[[], float] = _time.perf_counter) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m aim_lab.scenario_writer", description="Write an independent kiosk scenario with ground truth."
    )
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--prisoners", type=int, default=200)
    ap.add_argument("--days", type=int, default=56)
    ap.add_argument("--establishment", default="HMW")
    ap.add_argument(
        "--family", choices=sorted(FAMILIES), default="independent", help="how much ordinary noise; collapse shapes"
    )
    args = ap.parse_args(argv)
    t0 = _clock()
    truth, stats = _run(args.out, args.seed, args.prisoners, args.days, args.establishment, args.family)
    kinds: dict[str, int] = {}
    for c in truth["confounders"]:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    summary = {
        **stats,
        "prisoners": len(truth["prisoners"]),
        "collapses": len(truth["collapses"]),
        "confounders": kinds,
        "seconds": round(_clock() - t0, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
