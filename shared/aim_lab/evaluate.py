"""``aim evaluate``: detection quality measured on simulated establishments with ground truth.

Each seed simulates one establishment (``aim_lab.simulate``), replays its kiosk batches through
the same path as ``aim replay`` (embedded local AWS, the production handlers, the hourly
schedule on a simulated clock) and then scores what came out against the truth:

* recall: a collapse counts as detected by the first red alert raised at or after its onset
  whose judged day is not before the onset's local day (an alert judged only on days before
  the onset is luck, not detection), within 72 hours and within 7 days;
* false reds: every red alert (new, escalation or reminder: alerts, not prisoners) for a
  prisoner without a collapse, or raised before the onset of their collapse, per 1,000
  prisoner-days in custody;
* false reds whose evidence window overlaps a confounder that affected that prisoner
  (establishment-wide, their wing, or their wing's kiosk); reds after release or transfer;
* the same figures by age band and by kiosk use, with ratios against the overall figure;
* a sweep of the red threshold over the score trajectories recorded after every scoring
  run, replaying the alert lifecycle of ``aim.domain.alerts`` for each candidate threshold.
* two plain reference rules on the same batches (``aim_lab.reference_rule``, the per-factor
  absence rule, and ``aim_lab.habit_rule``, the habit-drop rule), each at its best setting with
  no more false reds per 1,000 prisoner-days than AIM raised.

The functions below the command are pure and typed so they can be tested without moto.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aim.config import AimConfig, load_config
from aim.domain import alerts as alerting
from aim.domain.assessment import Assessment

from aim_lab import habit_rule
from aim_lab.reference_rule import DEFAULT_GRID, REARM, Flag, Upload, plain_rule_flags
from aim_lab.simulate import Collapse, Confounder, ScenarioSpec, SimPrisoner
from aim_lab.truth_file import ExternalTruth

HOURS_72 = 72.0
HOURS_7D = 7 * 24.0
AGE_BANDS: tuple[str, ...] = ("18-24", "25-39", "40+")
USAGE_BANDS: tuple[str, ...] = ("low", "normal")
RATIO_LOW, RATIO_HIGH = 0.8, 1.25
TARGET_RECALL_72H = 0.90
TARGET_FALSE_REDS_PER_1000 = 1.0
DEFAULT_SWEEP: tuple[float, ...] = tuple(round(2.0 + 0.5 * i, 2) for i in range(25))  # 2.0 .. 14.0


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class RedAlert:
    """The parts of an ``aim.alert/1`` message the evaluation needs."""

    prisoner_id: str
    raised_at: datetime
    judged_day: date | None = None
    window_start: date | None = None  # earliest "since" among the reasons
    kind: str = "new"
    signals: tuple[str, ...] = ()
    static_factors: tuple[str, ...] = ()

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> RedAlert:
        reasons = list(message.get("reasons") or [])
        since = [date.fromisoformat(str(r["since"])) for r in reasons if r.get("since")]
        judged = message.get("judged_day")
        return cls(
            prisoner_id=str(message["prisoner_id"]),
            raised_at=_aware(datetime.fromisoformat(str(message["raised_at"]))),
            judged_day=date.fromisoformat(str(judged)) if judged else None,
            window_start=min(since) if since else (date.fromisoformat(str(judged)) if judged else None),
            kind=str(message.get("kind", "new")),
            signals=tuple(str(r.get("signal", r.get("factor", "?"))) for r in reasons),
            static_factors=tuple(str(s) for s in message.get("static_factors") or ()),
        )


@dataclass(frozen=True)
class Observation:
    """One prisoner's row of the board after one scoring run that re-scored."""

    tick: datetime
    prisoner_id: str
    score: float
    red_at: float | None
    judged_day: date | None
    in_custody: bool
    # Red by the silence rule (its reasons say "stopped"): a rule of its own, red whatever the score
    # threshold, so the sweep moves the score threshold and keeps silence as configured.
    silence: bool = False

    @classmethod
    def from_row(cls, tick: datetime, row: Mapping[str, Any]) -> Observation:
        judged = row.get("judged_day")
        red_at = row.get("red_at")
        return cls(
            tick=_aware(tick),
            prisoner_id=str(row["prisoner_id"]),
            score=float(row.get("score") or 0.0),
            red_at=float(red_at) if red_at is not None else None,
            judged_day=date.fromisoformat(str(judged)) if judged else None,
            in_custody=bool(row.get("in_custody", True)),
            silence=row.get("light") == "red" and any(r.get("change") == "stopped" for r in row.get("reasons") or []),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Detection:
    prisoner_id: str
    onset_at: datetime
    alert_at: datetime | None  # first qualifying red alert at/after onset
    open_at_onset: bool  # a red alert raised before onset was still open (it may block a new one)

    @property
    def delay_hours(self) -> float | None:
        if self.alert_at is None:
            return None
        return (self.alert_at - self.onset_at).total_seconds() / 3600.0

    def within(self, hours: float) -> bool:
        delay = self.delay_hours
        return delay is not None and delay <= hours


def counts_as_detection(alert: RedAlert, collapse: Collapse, tz: ZoneInfo) -> bool:
    """Raised at or after onset, and judged on a day that is not before the onset's local day."""
    if alert.prisoner_id != collapse.prisoner_id or alert.raised_at < collapse.onset_at:
        return False
    onset_day = collapse.onset_at.astimezone(tz).date()
    return alert.judged_day is None or alert.judged_day >= onset_day


def match_detections(
    truth: Sequence[Collapse], alerts: Sequence[RedAlert], tz: ZoneInfo, quiet_period: timedelta
) -> list[Detection]:
    by_prisoner: dict[str, list[RedAlert]] = defaultdict(list)
    for alert in sorted(alerts, key=lambda a: a.raised_at):
        by_prisoner[alert.prisoner_id].append(alert)
    out = []
    for collapse in truth:
        mine = by_prisoner.get(collapse.prisoner_id, [])
        hit = next((a for a in mine if counts_as_detection(a, collapse, tz)), None)
        before = [a for a in mine if a.raised_at < collapse.onset_at]
        open_at_onset = bool(before) and collapse.onset_at - before[-1].raised_at < quiet_period
        out.append(Detection(collapse.prisoner_id, collapse.onset_at, hit.raised_at if hit else None, open_at_onset))
    return out


@dataclass(frozen=True)
class AlertVerdict:
    alert: RedAlert
    true_positive: bool
    reason: str  # "detection", "after onset" (follow-up of a true case), "no collapse", "before onset"
    confounders: tuple[str, ...] = ()  # kinds of confounders overlapping the evidence window (false reds only)
    after_departure: bool = False


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def wings_during(prisoner: SimPrisoner, start: datetime, end: datetime) -> set[str]:
    """The wings a prisoner lived on at any time in [start, end)."""
    wing = prisoner.wing
    wings: set[str] = set()
    for change in sorted(prisoner.location_changes, key=lambda c: c.at):
        if change.at <= start:
            wing = change.location.split("-")[0]
        elif change.at < end:
            wings.add(wing)
            wing = change.location.split("-")[0]
    wings.add(wing)
    return wings


def overlapping_confounders(
    alert: RedAlert, prisoner: SimPrisoner | None, confounders: Sequence[Confounder], tz: ZoneInfo
) -> tuple[str, ...]:
    """Kinds of confounders affecting the prisoner whose span overlaps the alert's evidence window."""
    if alert.judged_day is None:
        return ()
    start = _local_midnight(alert.window_start or alert.judged_day, tz)
    end = _local_midnight(alert.judged_day + timedelta(days=1), tz)
    wings = wings_during(prisoner, start, end) if prisoner else set()
    kinds = []
    for c in confounders:
        if c.end <= start or c.start >= end:
            continue
        if c.wing is not None and prisoner is not None and c.wing not in wings:
            continue
        kinds.append(c.kind)
    return tuple(sorted(set(kinds)))


def classify_alerts(
    alerts: Sequence[RedAlert],
    truth: Sequence[Collapse],
    prisoners: Sequence[SimPrisoner],
    confounders: Sequence[Confounder],
    tz: ZoneInfo,
) -> list[AlertVerdict]:
    collapse_of = {c.prisoner_id: c for c in truth}
    roster = {p.prisoner_id: p for p in prisoners}
    first_hit: dict[str, datetime] = {}
    out = []
    for alert in sorted(alerts, key=lambda a: a.raised_at):
        person = roster.get(alert.prisoner_id)
        departed = person is not None and person.departure_at is not None and alert.raised_at >= person.departure_at
        collapse = collapse_of.get(alert.prisoner_id)
        if collapse is not None and counts_as_detection(alert, collapse, tz):
            reason = "after onset" if alert.prisoner_id in first_hit else "detection"
            first_hit.setdefault(alert.prisoner_id, alert.raised_at)
            out.append(AlertVerdict(alert, True, reason, after_departure=departed))
            continue
        reason = "no collapse" if collapse is None else "before onset"
        kinds = overlapping_confounders(alert, person, confounders, tz)
        out.append(AlertVerdict(alert, False, reason, kinds, departed))
    return out


# --------------------------------------------------------------------------- denominators and groups


def custody_days(prisoner: SimPrisoner, start: date, days: int, tz: ZoneInfo) -> int:
    """Local days of the run on which the prisoner was in custody (partial days count)."""
    first = prisoner.arrival_at.astimezone(tz).date() if prisoner.arrival_at else start
    last_run_day = start + timedelta(days=days - 1)
    last = prisoner.departure_at.astimezone(tz).date() if prisoner.departure_at else last_run_day
    first, last = max(first, start), min(last, last_run_day)
    return max(0, (last - first).days + 1)


def age_band(date_of_birth: date, on: date) -> str:
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    if age < 25:
        return "18-24"
    if age < 40:
        return "25-39"
    return "40+"


@dataclass(frozen=True)
class PrisonerFacts:
    """What the figures need to know about one simulated prisoner."""

    prisoner_id: str
    custody_days: int
    age_band: str
    usage: str


def prisoner_facts(prisoners: Sequence[SimPrisoner], spec: ScenarioSpec, tz: ZoneInfo) -> list[PrisonerFacts]:
    return [
        PrisonerFacts(
            p.prisoner_id,
            custody_days(p, spec.start, spec.days, tz),
            age_band(p.date_of_birth, spec.start),
            p.usage,
        )
        for p in prisoners
    ]


# --------------------------------------------------------------------------- figures


def per_1000(count: int, prisoner_days: int) -> float | None:
    return None if prisoner_days <= 0 else 1000.0 * count / prisoner_days


Z95 = 1.959964  # two-sided 95 %


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion ``hits / n`` (None when n is 0): with 32 collapses a
    recall is known only to within about +-0.1-0.15, which every quoted figure should carry."""
    if n <= 0:
        return None
    p = hits / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_interval(count: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of a Poisson count (Byar's approximation; within 1 % of the exact interval)."""
    lower = 0.0 if count == 0 else count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    k = count + 1
    return max(0.0, lower), k * (1 - 1 / (9 * k) + z / (3 * math.sqrt(k))) ** 3


def intervals(f: Figures) -> dict[str, list[float] | None]:
    """The 95 % intervals of the overall figures that are rates (kept beside them in evaluate.json)."""
    fr = poisson_interval(f.false_reds)
    r72, r7 = wilson_interval(f.detected_72h, f.collapses), wilson_interval(f.detected_7d, f.collapses)
    days = f.prisoner_days
    return {
        "recall_72h": [round(v, 3) for v in r72] if r72 else None,
        "recall_7d": [round(v, 3) for v in r7] if r7 else None,
        "false_reds_per_1000": [round(1000 * v / days, 3) for v in fr] if days > 0 else None,
    }


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None:
        return None
    if whole == 0:
        return 1.0 if part == 0 else None
    return part / whole


@dataclass(frozen=True)
class Figures:
    collapses: int
    detected_72h: int
    detected_7d: int
    recall_72h: float | None
    recall_7d: float | None
    median_hours_to_detect: float | None
    prisoner_days: int
    red_alerts: int
    false_reds: int
    false_reds_per_1000: float | None
    false_reds_from_confounders: int
    reds_after_departure: int


def figures(
    detections: Sequence[Detection], verdicts: Sequence[AlertVerdict], prisoner_days: int, *, window_days: int = 7
) -> Figures:
    n = len(detections)
    d72 = sum(d.within(HOURS_72) for d in detections)
    d7 = sum(d.within(window_days * 24.0) for d in detections)
    delays = [d.delay_hours for d in detections if d.delay_hours is not None and d.delay_hours <= window_days * 24.0]
    false = [v for v in verdicts if not v.true_positive]
    return Figures(
        collapses=n,
        detected_72h=d72,
        detected_7d=d7,
        recall_72h=d72 / n if n else None,
        recall_7d=d7 / n if n else None,
        median_hours_to_detect=statistics.median(delays) if delays else None,
        prisoner_days=prisoner_days,
        red_alerts=len(verdicts),
        false_reds=len(false),
        false_reds_per_1000=per_1000(len(false), prisoner_days),
        false_reds_from_confounders=sum(1 for v in false if v.confounders),
        reds_after_departure=sum(1 for v in verdicts if v.after_departure),
    )


@dataclass(frozen=True)
class SubgroupFigures:
    group: str
    band: str
    collapses: int
    recall_72h: float | None
    prisoner_days: int
    false_reds: int
    false_reds_per_1000: float | None
    recall_ratio: float | None
    false_red_ratio: float | None

    @property
    def within_target(self) -> bool:
        return all(r is not None and RATIO_LOW <= r <= RATIO_HIGH for r in (self.recall_ratio, self.false_red_ratio))


def subgroup_figures(
    detections: Sequence[Detection],
    verdicts: Sequence[AlertVerdict],
    facts: Sequence[PrisonerFacts],
    band_of: Callable[[PrisonerFacts], str],
    bands: Sequence[str],
    group: str,
) -> list[SubgroupFigures]:
    """Recall@72h and false-red rate per band, with ratios against the whole population."""
    band = {f.prisoner_id: band_of(f) for f in facts}
    days_total = sum(f.custody_days for f in facts)
    overall = figures(detections, verdicts, days_total)
    out = []
    for b in bands:
        dets = [d for d in detections if band.get(d.prisoner_id) == b]
        vers = [v for v in verdicts if band.get(v.alert.prisoner_id) == b]
        days = sum(f.custody_days for f in facts if band_of(f) == b)
        fig = figures(dets, vers, days)
        out.append(
            SubgroupFigures(
                group=group,
                band=b,
                collapses=fig.collapses,
                recall_72h=fig.recall_72h,
                prisoner_days=days,
                false_reds=fig.false_reds,
                false_reds_per_1000=fig.false_reds_per_1000,
                recall_ratio=ratio(fig.recall_72h, overall.recall_72h),
                false_red_ratio=ratio(fig.false_reds_per_1000, overall.false_reds_per_1000),
            )
        )
    return out


def recall_by(
    detections: Sequence[Detection], truth: Sequence[Collapse], key: Callable[[Collapse], Iterable[str]]
) -> dict[str, tuple[int, int]]:
    """(detected within 72 h, collapses) for each value of ``key`` (a collapse may have several)."""
    hit = {d.prisoner_id: d.within(HOURS_72) for d in detections}
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in truth:
        for k in key(c):
            out[k][1] += 1
            out[k][0] += int(hit.get(c.prisoner_id, False))
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def false_red_context(
    verdicts: Sequence[AlertVerdict], prisoners: Sequence[SimPrisoner], start: date, tz: ZoneInfo
) -> dict[str, Counter[str]]:
    """Where false reds fall: week of the run, early days after arrival, kiosk use."""
    roster = {p.prisoner_id: p for p in prisoners}
    out: dict[str, Counter[str]] = {"week_of_run": Counter(), "custody": Counter(), "usage": Counter()}
    for v in verdicts:
        if v.true_positive:
            continue
        raised = v.alert.raised_at.astimezone(tz).date()
        out["week_of_run"][f"week {(raised - start).days // 7 + 1}"] += 1
        person = roster.get(v.alert.prisoner_id)
        if person is None:
            continue
        early = person.arrival_at is not None and (v.alert.raised_at - person.arrival_at) < timedelta(days=30)
        out["custody"]["first 30 days after arrival" if early else "settled"] += 1
        out["usage"][person.usage] += 1
    return out


# --------------------------------------------------------------------------- threshold sweep


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    collapses: int
    detected_72h: int
    false_reds: int
    prisoner_days: int

    @property
    def recall_72h(self) -> float | None:
        return self.detected_72h / self.collapses if self.collapses else None

    @property
    def false_reds_per_1000(self) -> float | None:
        return per_1000(self.false_reds, self.prisoner_days)


_SIM_ALERT_KEY = b"aim-evaluate"  # ids are not compared here, only when alerts are raised


def simulate_alerts(
    observations: Sequence[Observation], threshold: float, configured_red: float, quiet_period: timedelta
) -> list[RedAlert]:
    """The red alerts the lifecycle of ``aim.domain.alerts`` would raise with red at ``threshold``.

    The static-factor multiplier of each row is ``red_at / configured_red``, so the row is red
    when ``score >= threshold * multiplier``, or when the silence rule made it red (whatever the
    threshold). A prisoner whose judged days had no evidence scores 0 and is never red."""
    by_prisoner: dict[str, list[Observation]] = defaultdict(list)
    for o in observations:
        by_prisoner[o.prisoner_id].append(o)
    out = []
    for pid, rows in by_prisoner.items():
        open_alert: dict[str, Any] | None = None
        for o in sorted(rows, key=lambda r: r.tick):
            if not o.in_custody:
                open_alert = None
                continue
            multiplier = (o.red_at / configured_red) if o.red_at else 1.0
            red_at = threshold * multiplier
            light = "red" if o.silence or (o.score > 0 and o.score >= red_at) else "green"
            judged = o.judged_day.isoformat() if o.judged_day else None
            assessment = Assessment(pid, light, o.score, red_at / 2, red_at, [], [], judged)
            if alerting.should_close(assessment, open_alert, o.tick, quiet_period):
                open_alert = None
            decision = alerting.decide("SIM", assessment, open_alert, o.tick, quiet_period, _SIM_ALERT_KEY)
            if decision is None:
                continue
            out.append(RedAlert(pid, o.tick, o.judged_day, o.judged_day, decision.kind))
            open_alert = {"raised_at": o.tick.isoformat(), "score": o.score}
    return sorted(out, key=lambda a: a.raised_at)


def sweep(
    observations: Sequence[Observation],
    truth: Sequence[Collapse],
    prisoner_days: int,
    thresholds: Sequence[float],
    configured_red: float,
    quiet_period: timedelta,
    tz: ZoneInfo,
) -> list[SweepPoint]:
    points = []
    for threshold in thresholds:
        alerts = simulate_alerts(observations, threshold, configured_red, quiet_period)
        dets = match_detections(truth, alerts, tz, quiet_period)
        verdicts = classify_alerts(alerts, truth, [], [], tz)
        points.append(
            SweepPoint(
                threshold=threshold,
                collapses=len(truth),
                detected_72h=sum(d.within(HOURS_72) for d in dets),
                false_reds=sum(1 for v in verdicts if not v.true_positive),
                prisoner_days=prisoner_days,
            )
        )
    return points


def pool_sweeps(sweeps: Sequence[Sequence[SweepPoint]]) -> list[SweepPoint]:
    """Adds the counts of several seeds' sweeps, threshold by threshold."""
    pooled: dict[float, list[int]] = {}
    for points in sweeps:
        for p in points:
            acc = pooled.setdefault(p.threshold, [0, 0, 0, 0])
            acc[0] += p.collapses
            acc[1] += p.detected_72h
            acc[2] += p.false_reds
            acc[3] += p.prisoner_days
    return [SweepPoint(t, *v) for t, v in sorted(pooled.items())]


def best_operating_point(points: Sequence[SweepPoint]) -> SweepPoint | None:
    """The threshold with the highest recall@72h among those with <= 1 false red per 1,000 days."""
    ok = [p for p in points if (p.false_reds_per_1000 or 0.0) <= TARGET_FALSE_REDS_PER_1000]
    if not ok:
        return None
    # Highest recall; then fewest false reds; then the lowest (most sensitive) threshold.
    return max(ok, key=lambda p: (p.recall_72h or 0.0, -p.false_reds, -p.threshold))


# --------------------------------------------------------------------------- miss analysis


def peak_normalised_score(
    observations: Sequence[Observation], collapse: Collapse, configured_red: float, hours: float, tz: ZoneInfo
) -> float | None:
    """Highest score (scaled to the configured red, static factors removed) in the first ``hours`` after onset."""
    onset_day = collapse.onset_at.astimezone(tz).date()
    until = collapse.onset_at + timedelta(hours=hours)
    values = [
        o.score * configured_red / o.red_at
        for o in observations
        if o.prisoner_id == collapse.prisoner_id
        and o.red_at
        and collapse.onset_at <= o.tick <= until
        and (o.judged_day is None or o.judged_day >= onset_day)
    ]
    return max(values) if values else None


# --------------------------------------------------------------------------- one seed


@dataclass
class SeedOutcome:
    seed: int
    variant: str
    spec: ScenarioSpec
    seconds: float
    stats: dict[str, Any]
    truth: list[Collapse]
    prisoners: list[SimPrisoner]
    confounders: list[Confounder]
    facts: list[PrisonerFacts]
    alerts: list[RedAlert]
    detections: list[Detection]
    verdicts: list[AlertVerdict]
    observations: list[Observation]
    sweep: list[SweepPoint]
    summary_lines: list[str] = field(default_factory=list)
    summary: Any = None  # the ReplaySummary (board), for the per-seed replay report
    messages: list[dict[str, Any]] = field(default_factory=list)  # the alerts as published
    # the plain per-factor rule (aim_lab.reference_rule) on the same batches: setting -> (detected 72h, false reds)
    reference: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the habit-drop rule (aim_lab.habit_rule) on the same batches: threshold -> (detected 72h, false reds)
    habit_reference: dict[str, tuple[int, int]] = field(default_factory=dict)


SPEC_VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("default (spring, crosses BST start, Easter bank holidays)", {}),
    (
        "more confounders and delivery noise",
        {
            "collapse_fraction": 0.05,
            "wing_lockdowns": 2,
            "regime_changes": 2,
            "kiosk_outages": 2,
            "activities_cancelled_days": 2,
            "visits_cancelled_days": 2,
            "late_upload_rate": 0.02,
            "duplicate_upload_rate": 0.03,
            "rebatch_rate": 0.01,
        },
    ),
    (
        "autumn (crosses BST end), more arrivals, releases, transfers and low kiosk use",
        {
            "start": date(2026, 9, 28),
            "reception_fraction": 0.15,
            "release_fraction": 0.1,
            "transfer_fraction": 0.05,
            "low_usage_fraction": 0.3,
        },
    ),
)


def spec_for(
    seed: int, position: int, prisoners: int, days: int, collapse_style: str = "mixed"
) -> tuple[str, ScenarioSpec]:
    """The n-th seed of a run uses the n-th variant (cycling): the mix varies across seeds."""
    name, changes = SPEC_VARIANTS[position % len(SPEC_VARIANTS)]
    if collapse_style != "mixed":
        name += f", {collapse_style} collapses"
    spec = ScenarioSpec(seed=seed, prisoners=prisoners, days=days, collapse_style=collapse_style, **changes)
    return name, spec


def evaluate_seed(
    seed: int,
    variant: str,
    spec: ScenarioSpec,
    config: AimConfig,
    progress: Callable[[str, int, int], None] | None = None,
    thresholds: Sequence[float] = DEFAULT_SWEEP,
) -> SeedOutcome:
    from aim_local.replay import BatchFile, replay

    from aim_lab.simulate import simulate

    started = time.perf_counter()
    scenario = simulate(spec)
    messages: list[dict[str, Any]] = []
    observations: list[Observation] = []

    def observe(tick: datetime, rows: list[dict[str, Any]]) -> None:
        observations.extend(Observation.from_row(tick, r) for r in rows)

    batches = [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]
    summary = replay(batches, config, on_alert=messages.append, progress=progress, observe=observe)
    return _outcome(
        seed,
        variant,
        spec,
        config,
        started,
        scenario.stats(),
        list(scenario.truth),
        list(scenario.prisoners),
        list(scenario.confounders),
        messages,
        observations,
        summary,
        thresholds,
        [Upload(b.created_at, b.body) for b in scenario.batches],
    )


def _outcome(
    seed: int,
    variant: str,
    spec: ScenarioSpec,
    config: AimConfig,
    started: float,
    stats: dict[str, Any],
    truth: list[Collapse],
    prisoners: list[SimPrisoner],
    confounders: list[Confounder],
    messages: list[dict[str, Any]],
    observations: list[Observation],
    summary: Any,
    thresholds: Sequence[float],
    uploads: Sequence[Upload] = (),
) -> SeedOutcome:
    tz = ZoneInfo(config.timezone)
    alerts = [RedAlert.from_message(m) for m in messages if m.get("level") == "red"]
    quiet = timedelta(hours=config.quiet_period_hours)
    facts = prisoner_facts(prisoners, spec, tz)
    days = sum(f.custody_days for f in facts)
    red = config.thresholds_for(spec.establishment).red
    return SeedOutcome(
        seed=seed,
        variant=variant,
        spec=spec,
        seconds=time.perf_counter() - started,
        stats=stats,
        truth=truth,
        prisoners=prisoners,
        confounders=confounders,
        facts=facts,
        alerts=alerts,
        detections=match_detections(truth, alerts, tz, quiet),
        verdicts=classify_alerts(alerts, truth, prisoners, confounders, tz),
        observations=observations,
        sweep=sweep(observations, truth, days, thresholds, red, quiet, tz),
        summary_lines=summary.lines(),
        summary=summary,
        messages=messages,
        reference=reference_figures(uploads, truth, prisoners, spec, tz) if uploads else {},
        habit_reference=habit_reference_figures(uploads, truth, prisoners, spec, tz) if uploads else {},
    )


def reference_figures(
    uploads: Sequence[Upload],
    truth: Sequence[Collapse],
    prisoners: Sequence[SimPrisoner],
    spec: ScenarioSpec,
    tz: ZoneInfo,
) -> dict[str, tuple[int, int]]:
    """(detected within 72 h, false reds) of each setting of the plain per-factor rule."""
    flags = plain_rule_flags(uploads, tz, spec.start, spec.start + timedelta(days=spec.days), DEFAULT_GRID)
    found = rule_figures({s.label: raised for s, raised in flags.items()}, truth, prisoners, [], tz, REARM, 0)
    return {label: (f.detected_72h, f.false_reds) for label, f in found.items()}


def habit_reference_figures(
    uploads: Sequence[Upload],
    truth: Sequence[Collapse],
    prisoners: Sequence[SimPrisoner],
    spec: ScenarioSpec,
    tz: ZoneInfo,
) -> dict[str, tuple[int, int]]:
    """(detected within 72 h, false reds) of each threshold of the habit-drop rule."""
    flags = habit_rule.habit_rule_flags(uploads, tz, spec.start, spec.start + timedelta(days=spec.days))
    labelled = {habit_rule_label(t): raised for t, raised in flags.items()}
    found = rule_figures(labelled, truth, prisoners, [], tz, habit_rule.REARM, 0, habit_rule.RECENT_DAYS)
    return {label: (f.detected_72h, f.false_reds) for label, f in found.items()}


def habit_rule_label(threshold: float) -> str:
    return f"score >= {threshold:g}"


def rule_figures(
    flags: Mapping[str, Sequence[Flag]],
    truth: Sequence[Collapse],
    prisoners: Sequence[SimPrisoner],
    confounders: Sequence[Confounder],
    tz: ZoneInfo,
    rearm: timedelta,
    prisoner_days: int,
    evidence_days: int = 1,
) -> dict[str, Figures]:
    """The figures of each setting of a reference rule whose flags judge the ``evidence_days`` closed days
    before the morning they are raised."""
    out = {}
    for label, raised in flags.items():
        alerts = []
        for f in raised:
            judged = (f.raised_at.astimezone(tz) - timedelta(days=1)).date()
            alerts.append(RedAlert(f.prisoner_id, f.raised_at, judged, judged - timedelta(days=evidence_days - 1)))
        verdicts = classify_alerts(alerts, truth, prisoners, confounders, tz)
        out[label] = figures(match_detections(truth, alerts, tz, rearm), verdicts, prisoner_days)
    return out


def evaluate_directory(
    directory: Path,
    config: AimConfig,
    progress: Callable[[str, int, int], None] | None = None,
    thresholds: Sequence[float] = DEFAULT_SWEEP,
    truth: ExternalTruth | None = None,
) -> SeedOutcome:
    """Replay the kiosk batches under ``directory`` and score the alerts against its ``truth.json``
    (``truth``: that file already read).

    Alerts and score rows before the truth's evaluation window are the model's burn-in on the
    scenario's history and are left out of every figure."""
    from aim_local.replay import collect_batches, replay

    from aim_lab.truth_file import TruthError, load_truth

    started = time.perf_counter()
    truth = truth or load_truth(directory)
    batches = collect_batches(directory)
    if not batches:
        raise TruthError(f"no *.jsonl or *.jsonl.gz files under {directory}")
    messages: list[dict[str, Any]] = []
    observations: list[Observation] = []

    def keep(message: dict[str, Any]) -> None:
        raised = _aware(datetime.fromisoformat(str(message["raised_at"])))
        if raised >= truth.window_from:
            messages.append(message)

    def observe(tick: datetime, rows: list[dict[str, Any]]) -> None:
        if _aware(tick) >= truth.window_from:
            observations.extend(Observation.from_row(tick, r) for r in rows)

    summary = replay(batches, config, on_alert=keep, progress=progress, observe=observe)
    uploads = [Upload(b.created_at, b.body) for b in batches if b.created_at is not None]
    stats = {"batches": len(batches), "prisoners": len(truth.prisoners), "collapses": len(truth.collapses)}
    return _outcome(
        truth.spec.seed,
        f"scenario {directory}",
        truth.spec,
        config,
        started,
        stats,
        truth.collapses,
        truth.prisoners,
        truth.confounders,
        messages,
        observations,
        summary,
        thresholds,
        uploads,
    )


# --------------------------------------------------------------------------- pooling and output


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def pooled_results(outcomes: Sequence[SeedOutcome], config: AimConfig) -> dict[str, Any]:
    """Everything ``aim evaluate`` prints and writes, pooled over seeds (counts added, then rates)."""
    tz = ZoneInfo(config.timezone)
    detections = [d for o in outcomes for d in o.detections]
    verdicts = [v for o in outcomes for v in o.verdicts]
    facts = [f for o in outcomes for f in o.facts]
    truth = [c for o in outcomes for c in o.truth]
    days = sum(f.custody_days for f in facts)
    overall = figures(detections, verdicts, days)
    age = subgroup_figures(detections, verdicts, facts, lambda f: f.age_band, AGE_BANDS, "age")
    usage = subgroup_figures(detections, verdicts, facts, lambda f: f.usage, USAGE_BANDS, "kiosk use")
    swept = pool_sweeps([o.sweep for o in outcomes])
    red = config.thresholds.red
    current = next((p for p in swept if abs(p.threshold - red) < 1e-9), None)
    best = best_operating_point(swept)
    false = [v for v in verdicts if not v.true_positive]

    misses = []
    for o in outcomes:
        for c, d in zip(o.truth, o.detections, strict=True):
            if d.within(HOURS_72):
                continue
            peak = peak_normalised_score(o.observations, c, red, HOURS_72, tz)
            misses.append(
                {
                    "seed": o.seed,
                    "onset_at": c.onset_at.isoformat(),
                    "factors": c.factors,
                    "speed": c.speed,
                    "severity": c.severity,
                    "rises": c.rises,
                    "usage": c.usage,
                    "new_arrival": c.new_arrival,
                    "delay_hours": d.delay_hours,
                    "red_open_at_onset": d.open_at_onset,
                    "peak_score_72h": peak,
                }
            )

    breakdown = {
        "by_reason": dict(Counter(v.reason for v in false)),
        "by_top_signal": dict(Counter(v.alert.signals[0] if v.alert.signals else "?" for v in false).most_common()),
        "by_any_signal": dict(Counter(s for v in false for s in set(v.alert.signals)).most_common()),
        "by_kind": dict(Counter(v.alert.kind for v in false)),
        "by_confounder": dict(Counter(k for v in false for k in v.confounders).most_common()),
        "prisoners": len({(o.seed, v.alert.prisoner_id) for o in outcomes for v in o.verdicts if not v.true_positive}),
        "with_static_factors": sum(1 for v in false if v.alert.static_factors),
        **{
            key: dict(sorted(counter.items()))
            for key, counter in _sum_counters(
                false_red_context(o.verdicts, o.prisoners, o.spec.start, tz) for o in outcomes
            ).items()
        },
    }
    recall_detail = {
        "speed": recall_by(detections, truth, lambda c: [c.speed]),
        "severity": recall_by(detections, truth, lambda c: [c.severity]),
        "factor": recall_by(detections, truth, lambda c: list(c.factors)),
        "factor_count": recall_by(detections, truth, lambda c: [str(len(c.factors))]),
        "rises": recall_by(detections, truth, lambda c: ["with rises" if c.rises else "falls only"]),
        "new_arrival": recall_by(detections, truth, lambda c: ["new arrival" if c.new_arrival else "settled"]),
    }
    sub_ok = all(s.within_target for s in age + usage)
    targets = [
        _target("recall within 72 h of onset", overall.recall_72h, f">= {TARGET_RECALL_72H}", _ge(overall.recall_72h)),
        _target(
            "false reds per 1,000 prisoner-days",
            overall.false_reds_per_1000,
            f"<= {TARGET_FALSE_REDS_PER_1000}",
            overall.false_reds_per_1000 is not None and overall.false_reds_per_1000 <= TARGET_FALSE_REDS_PER_1000,
        ),
        _target(
            "false reds overlapping a confounder",
            overall.false_reds_from_confounders,
            "0",
            overall.false_reds_from_confounders == 0,
        ),
        _target("reds after release or transfer", overall.reds_after_departure, "0", overall.reds_after_departure == 0),
        _target(
            "subgroup recall and false-red ratios",
            None,
            f"all within {RATIO_LOW}-{RATIO_HIGH}",
            sub_ok,
            text="see table",
        ),
        _target(
            "a threshold with recall@72h >= 0.90 at <= 1 false red / 1,000",
            best.threshold if best else None,
            "exists",
            best is not None and (best.recall_72h or 0) >= TARGET_RECALL_72H,
        ),
    ]
    return {
        "reference_rule": reference_summary(outcomes, days, overall.false_reds_per_1000),
        "habit_rule": reference_summary(outcomes, days, overall.false_reds_per_1000, rule="habit_reference"),
        "overall": asdict(overall) | {"interval_95": intervals(overall)},
        "subgroups": [asdict(s) | {"within_target": s.within_target} for s in age + usage],
        "sweep": [_point(p) for p in swept],
        "current_threshold": red,
        "current_point": _point(current) if current else None,
        "best_point_at_target_false_reds": _point(best) if best else None,
        "targets": targets,
        "false_red_breakdown": breakdown,
        "recall_by": {
            k: {b: {"detected_72h": h, "collapses": n} for b, (h, n) in v.items()} for k, v in recall_detail.items()
        },
        "misses": misses,
        "sweep_reproduces_alerts": _sweep_check(outcomes, config),
    }


def reference_summary(
    outcomes: Sequence[SeedOutcome],
    prisoner_days: int,
    aim_false_reds_per_1000: float | None = None,
    rule: str = "reference",
) -> dict[str, Any]:
    """A reference rule's settings pooled over seeds (``rule``: the outcomes' attribute holding them), its best
    at <= 1 false red per 1,000, and its best at <= the false-red rate AIM reached (``aim_false_reds_per_1000``)."""
    collapses = sum(len(o.truth) for o in outcomes)
    pooled: dict[str, list[int]] = {}
    for o in outcomes:
        for label, (detected, false) in getattr(o, rule).items():
            acc = pooled.setdefault(label, [0, 0])
            acc[0] += detected
            acc[1] += false
    settings: list[dict[str, Any]] = [
        {
            "setting": label,
            "detected_72h": d,
            "recall_72h": d / collapses if collapses else None,
            "false_reds": f,
            "false_reds_per_1000": per_1000(f, prisoner_days),
        }
        for label, (d, f) in pooled.items()
    ]
    return {
        "collapses": collapses,
        "settings": settings,
        "best_at_target_false_reds": _best_setting(settings, TARGET_FALSE_REDS_PER_1000),
        "aim_false_reds_per_1000": aim_false_reds_per_1000,
        "best_at_aim_false_reds": (
            _best_setting(settings, aim_false_reds_per_1000) if aim_false_reds_per_1000 is not None else None
        ),
    }


def _best_setting(settings: Sequence[dict[str, Any]], cap: float) -> dict[str, Any] | None:
    """The setting with the most detections within 72 h among those with <= ``cap`` false reds per 1,000."""
    ok = [x for x in settings if (x["false_reds_per_1000"] or 0.0) <= cap + 1e-9]
    return max(ok, key=lambda x: (x["detected_72h"], -x["false_reds"]), default=None)


def _sum_counters(parts: Iterable[dict[str, Counter[str]]]) -> dict[str, Counter[str]]:
    total: dict[str, Counter[str]] = defaultdict(Counter)
    for part in parts:
        for key, counter in part.items():
            total[key].update(counter)
    return dict(total)


def _ge(value: float | None) -> bool:
    return value is not None and value >= TARGET_RECALL_72H


def _target(name: str, value: float | int | None, goal: str, met: bool, text: str | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "target": goal, "met": bool(met), "text": text}


def _point(p: SweepPoint) -> dict[str, Any]:
    return asdict(p) | {"recall_72h": p.recall_72h, "false_reds_per_1000": p.false_reds_per_1000}


def _sweep_check(outcomes: Sequence[SeedOutcome], config: AimConfig) -> dict[str, int]:
    """How closely the sweep's lifecycle, at the configured threshold, reproduces the real alerts."""
    quiet = timedelta(hours=config.quiet_period_hours)
    real = replayed = same = 0
    for o in outcomes:
        red = config.thresholds_for(o.spec.establishment).red
        sim = simulate_alerts(o.observations, red, red, quiet)
        a = {(x.prisoner_id, x.raised_at) for x in o.alerts}
        b = {(x.prisoner_id, x.raised_at) for x in sim}
        real, replayed, same = real + len(a), replayed + len(b), same + len(a & b)
    return {"real_alerts": real, "sweep_alerts": replayed, "identical": same}


def render_text(results: dict[str, Any], outcomes: Sequence[SeedOutcome]) -> list[str]:
    o = results["overall"]
    lines = ["", "DETECTION QUALITY (pooled over seeds; counts added, then rates)", "-" * 78]
    lines.append(
        f"collapses {o['collapses']}, red alerts {o['red_alerts']}, prisoner-days in custody {o['prisoner_days']}"
    )
    ci = o.get("interval_95") or {}

    def within(key: str) -> str:
        span = ci.get(key)
        return f"95 % interval {span[0]:.2f}-{span[1]:.2f}" if span else ""

    def counted(key: str, hits: int) -> str:
        return f"({hits}/{o['collapses']}" + (f"; {within(key)})" if within(key) else ")")

    lines.append(f"recall within 72 h of onset  {_fmt(o['recall_72h'])} {counted('recall_72h', o['detected_72h'])}")
    lines.append(f"recall within 7 days         {_fmt(o['recall_7d'])} {counted('recall_7d', o['detected_7d'])}")
    lines.append(f"median time to detect        {_fmt(o['median_hours_to_detect'], 1)} h (detected within 7 days)")
    fr = within("false_reds_per_1000")
    lines.append(
        f"false reds                   {o['false_reds']} = {_fmt(o['false_reds_per_1000'])} per 1,000 days"
        + (f" ({fr})" if fr else "")
    )
    lines.append(f"  overlapping a confounder   {o['false_reds_from_confounders']}")
    lines.append(f"reds after release/transfer  {o['reds_after_departure']}")
    lines.append("")
    lines.append(
        f"{'subgroup':<22}{'collapses':>10}{'recall72':>10}{'ratio':>7}{'days':>8}{'FR/1000':>9}{'ratio':>7}  ok"
    )
    for s in results["subgroups"]:
        lines.append(
            f"{s['group'] + ' ' + s['band']:<22}{s['collapses']:>10}{_fmt(s['recall_72h']):>10}"
            f"{_fmt(s['recall_ratio']):>7}{s['prisoner_days']:>8}{_fmt(s['false_reds_per_1000']):>9}"
            f"{_fmt(s['false_red_ratio']):>7}  {'yes' if s['within_target'] else 'NO'}"
        )
    lines.append("")
    lines.append("threshold sweep (red; normalised score, static factors still lower it per person):")
    lines.append(f"{'red':>6}{'recall72':>10}{'false reds':>12}{'per 1,000':>11}")
    for p in results["sweep"]:
        mark = "  <- configured" if abs(p["threshold"] - results["current_threshold"]) < 1e-9 else ""
        lines.append(
            f"{p['threshold']:>6.1f}{_fmt(p['recall_72h']):>10}{p['false_reds']:>12}"
            f"{_fmt(p['false_reds_per_1000']):>11}{mark}"
        )
    check = results["sweep_reproduces_alerts"]
    lines.append(
        f"(sweep check: at the configured threshold the sweep raises {check['sweep_alerts']} alerts, "
        f"{check['identical']} identical to the {check['real_alerts']} the system raised)"
    )
    best = results["best_point_at_target_false_reds"]
    if best:
        lines.append(
            f"best threshold with <= {TARGET_FALSE_REDS_PER_1000} false red per 1,000: {best['threshold']} "
            f"(recall@72h {_fmt(best['recall_72h'])}, {_fmt(best['false_reds_per_1000'])} per 1,000)"
        )
    else:
        lines.append(f"no threshold in the sweep gives <= {TARGET_FALSE_REDS_PER_1000} false red per 1,000")
    ref = results.get("reference_rule") or {}
    ref_best = ref.get("best_at_target_false_reds")
    if ref.get("settings"):
        lines.append(
            "plain per-factor rule (aim_lab.reference_rule, for comparison), best with <= "
            f"{TARGET_FALSE_REDS_PER_1000} false red per 1,000: "
            + (
                f"{ref_best['setting']}: recall@72h {_fmt(ref_best['recall_72h'])}, "
                f"{_fmt(ref_best['false_reds_per_1000'])} per 1,000"
                if ref_best
                else "none of its settings"
            )
        )
    lines.extend(_reference_lines(results))
    lines.append("")
    lines.append("TARGETS")
    for t in results["targets"]:
        value = t["text"] or (_fmt(t["value"]) if isinstance(t["value"], float) else str(t["value"]))
        lines.append(f"  [{'MET' if t['met'] else 'NOT MET':>7}] {t['name']}: {value} (target {t['target']})")
    fb = results["false_red_breakdown"]
    lines.append("")
    lines.append(f"false reds by top signal: {fb['by_top_signal']}")
    lines.append(f"false reds by confounder overlapped: {fb['by_confounder']}")
    lines.append(f"false reds by reason: {fb['by_reason']}; by alert kind: {fb['by_kind']}")
    lines.append(
        f"false reds by week of run: {fb.get('week_of_run')}; by custody: {fb.get('custody')}; "
        f"by kiosk use: {fb.get('usage')}"
    )
    lines.append(f"recall@72h by collapse speed: {results['recall_by']['speed']}")
    lines.append(f"recall@72h by factor: {results['recall_by']['factor']}")
    lines.append("")
    for oc in outcomes:
        lines.append(f"seed {oc.seed} [{oc.variant}]: {oc.seconds:.0f} s; {'; '.join(oc.summary_lines)}")
    return lines


def _reference_lines(results: dict[str, Any]) -> list[str]:
    """Both reference rules beside AIM, each at its best setting with no more false reds than AIM had."""
    o = results["overall"]
    lines = [
        "",
        f"at AIM's false-red rate ({_fmt(o['false_reds_per_1000'])} per 1,000): AIM recall@72h "
        f"{_fmt(o['recall_72h'])} ({o['detected_72h']}/{o['collapses']})",
    ]
    for key, name in (
        ("reference_rule", "per-factor absence rule (aim_lab.reference_rule)"),
        ("habit_rule", "habit-drop rule (aim_lab.habit_rule)"),
    ):
        ref = results.get(key) or {}
        if not ref.get("settings"):
            continue
        best = ref.get("best_at_aim_false_reds")
        lines.append(
            f"  {name}: "
            + (
                f"{best['setting']}: recall@72h {_fmt(best['recall_72h'])} ({best['detected_72h']}/"
                f"{ref['collapses']}), {_fmt(best['false_reds_per_1000'])} per 1,000"
                if best
                else "no setting at or under that rate"
            )
        )
    return lines


def write_json(
    path: Path, results: dict[str, Any], outcomes: Sequence[SeedOutcome], command: str, partial: str | None = None
) -> None:
    seeds = []
    for o in outcomes:
        fig = figures(o.detections, o.verdicts, sum(f.custody_days for f in o.facts))
        seeds.append(
            {
                "seed": o.seed,
                "variant": o.variant,
                "spec": json.loads(o.spec.model_dump_json()),
                "seconds": round(o.seconds, 1),
                "stats": o.stats,
                "figures": asdict(fig),
                "alerts": o.messages,
            }
        )
    doc = {
        "command": command,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "partial": partial,
        "seeds": seeds,
        **results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str))


def history_of(observations: Iterable[Observation]) -> dict[str, list[tuple[datetime, float, float]]]:
    """Score trajectories for ``aim_lab.report.write_replay_report(history=...)``."""
    out: dict[str, list[tuple[datetime, float, float]]] = defaultdict(list)
    for o in observations:
        if o.red_at is not None and o.in_custody:
            out[o.prisoner_id].append((o.tick, o.score, o.red_at))
    return dict(out)


def run_evaluate(args: argparse.Namespace) -> int:
    from aim_lab.console import progress_printer

    config = load_config(args.config) if getattr(args, "config", None) else load_config()
    try:
        seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    except ValueError:
        print(f"aim evaluate: --seeds must be comma-separated integers, got {args.seeds!r}", file=sys.stderr)
        return 2
    if not seeds:
        print("aim evaluate: no seeds", file=sys.stderr)
        return 2
    command = f"aim evaluate --seeds {','.join(map(str, seeds))} --prisoners {args.prisoners} --days {args.days}"
    style = getattr(args, "collapses", None) or "mixed"
    if style != "mixed":
        command += f" --collapses {style}"
    if getattr(args, "config", None):
        command += f" --config {args.config}"
    outcomes: list[SeedOutcome] = []
    started = time.perf_counter()
    out_dir = Path(args.report).parent if getattr(args, "report", None) else Path("out")
    json_path = out_dir / "evaluate.json"
    scenarios = [Path(d) for d in getattr(args, "scenario", None) or []]
    if scenarios:
        return _evaluate_scenarios(scenarios, config, args, json_path, started)
    for position, seed in enumerate(seeds):
        variant, spec = spec_for(seed, position, args.prisoners, args.days, style)
        config = _with_establishment(config, spec.establishment)
        print(f"seed {seed}: {spec.prisoners} prisoners, {spec.days} days from {spec.start} [{variant}]", flush=True)
        outcome = evaluate_seed(seed, variant, spec, config, progress=progress_printer(f"  seed {seed}"))
        _print_outcome(outcome)
        outcomes.append(outcome)
        if len(outcomes) < len(seeds):  # a long run leaves usable figures after every seed
            partial = pooled_results(outcomes, config)
            write_json(json_path, partial, outcomes, command, partial=f"{len(outcomes)} of {len(seeds)} seeds")
            print(f"  figures so far written to {json_path}", flush=True)
    return _finish(outcomes, config, args, json_path, command, started)


def _evaluate_scenarios(
    directories: Sequence[Path], config: AimConfig, args: argparse.Namespace, json_path: Path, started: float
) -> int:
    """``aim evaluate --scenario DIR``: scenarios written elsewhere, each with its own truth.json."""
    from aim_lab.console import progress_printer
    from aim_lab.truth_file import TruthError, load_truth

    command = "aim evaluate " + " ".join(f"--scenario {d}" for d in directories)
    if getattr(args, "config", None):
        command += f" --config {args.config}"
    outcomes: list[SeedOutcome] = []
    for directory in directories:
        try:
            truth = load_truth(directory)
            config = _with_establishment(config, truth.spec.establishment)
            print(f"scenario {directory}: establishment {truth.spec.establishment}", flush=True)
            outcome = evaluate_directory(
                directory, config, progress=progress_printer(f"  {directory.name}"), truth=truth
            )
        except TruthError as exc:
            print(f"aim evaluate: {exc}", file=sys.stderr)
            return 2
        _print_outcome(outcome)
        outcomes.append(outcome)
    return _finish(outcomes, config, args, json_path, command, started)


def _with_establishment(config: AimConfig, establishment: str) -> AimConfig:
    if establishment in config.establishments:
        return config
    return config.model_copy(update={"establishments": [*config.establishments, establishment]})


def _print_outcome(outcome: SeedOutcome) -> None:
    fig = figures(outcome.detections, outcome.verdicts, sum(f.custody_days for f in outcome.facts))
    print(
        f"  {outcome.seconds:.0f} s: {fig.collapses} collapses, recall@72h {_fmt(fig.recall_72h)}, "
        f"{fig.red_alerts} reds, {fig.false_reds} false ({_fmt(fig.false_reds_per_1000)} per 1,000 days)",
        flush=True,
    )


def _finish(
    outcomes: Sequence[SeedOutcome],
    config: AimConfig,
    args: argparse.Namespace,
    json_path: Path,
    command: str,
    started: float,
) -> int:
    results = pooled_results(outcomes, config)
    for line in render_text(results, outcomes):
        print(line)
    write_json(json_path, results, outcomes, command)
    print(f"figures written to {json_path}")
    if getattr(args, "report", None):
        try:
            from aim_lab.report import write_evaluate_report, write_replay_report

            write_evaluate_report(Path(args.report), results, results["sweep"])
            print(f"report written to {args.report}")
            first = outcomes[0]
            replay_path = Path(args.report).with_name(f"evaluate-replay-seed{first.seed}.html")
            write_replay_report(
                replay_path,
                first.summary,
                alerts=first.messages,
                config=config,
                history=history_of(first.observations),
            )
            print(f"replay report of seed {first.seed} (board, red alerts, score histories) written to {replay_path}")
        except ImportError as exc:  # plotting is a dev extra
            print(f"(report skipped: {exc})", file=sys.stderr)
    print(f"evaluate finished in {time.perf_counter() - started:.0f} s")
    return 0


__all__ = [
    "AlertVerdict",
    "Detection",
    "Figures",
    "Observation",
    "RedAlert",
    "SweepPoint",
    "classify_alerts",
    "custody_days",
    "figures",
    "match_detections",
    "evaluate_directory",
    "run_evaluate",
    "simulate_alerts",
    "subgroup_figures",
    "sweep",
]
