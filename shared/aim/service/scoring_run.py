"""One scheduled scoring run for one establishment.

1. Take the establishment's lease (an overlapping or duplicate run does nothing).
2. Find which recent days changed since the last run (day change sets) and re-read only those
   day partitions; fold their distinct facts (an event repeated across batches once) into the
   per-prisoner state.
3. Score every prisoner in custody on the latest closed day (all its records due in), each day
   weighed against what the rest of their kiosk group did that day (scoring.group_ratio), and
   set traffic lights. With ``judge_open_days`` the days still open are judged too, in
   proportion to what the group has sent so far: a day is never judged on data still to come.
4. Record each new red alert before sending it (the outbox), send it, mark it sent; resend any
   alert recorded earlier and not sent.
5. Write back the states that changed, and the run's control record.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aim.config import AimConfig
from aim.domain import alerts as alerting
from aim.domain.activity import Fact
from aim.domain.assessment import (
    MIN_EXPECTED_PER_DAY,
    Assessment,
    reasons,
    rise_reasons,
    silence_fires,
    silence_reasons,
    static_factors,
)
from aim.domain.calibration import RedLine, calibrate, line_value, person_key, update_history
from aim.domain.features import CHANNELS, DROP, MEMBERSHIP, F, day_vectors, kiosk_hours
from aim.domain.ports import ActivityRepository, AlertPublisher, StateRepository
from aim.domain.prisoner import PrisonerState
from aim.domain.scoring import EVAL_SPAN, ScoreInputs, ScoreResult, channel_weights, score

LEASE_SECONDS = 900
ALERT_RECORD_RETENTION = timedelta(days=365)
LOOKBACK_DAYS = 7  # closed days re-read when late records arrive for them
KIOSK_HISTORY_DAYS = 21
KIOSK_COVERAGE = 0.7  # a day with heartbeats in fewer than this share of the kiosk's usual hours is not evidence
MIN_GROUP_MEMBERS = 8  # a kiosk used by fewer prisoners is grouped with their wing for the same-day ratio
CONFOUNDER_RATIO = 0.6  # a wing/establishment below this share of its usual activity is not about one person
LOW_KIOSK_USE_PER_DAY = 3.0  # expected routine records a day below which kiosk use is "low" (decision 0028)
CHANNEL_INDEX = {c.name: i for i, c in enumerate(CHANNELS)}
PURPOSEFUL = [CHANNEL_INDEX["purposeful"], CHANNEL_INDEX["refusals"]]
VISITS = [CHANNEL_INDEX["visits"], CHANNEL_INDEX["visits_cancelled"]]


@dataclass
class RunSummary:
    establishment: str
    status: str = "scored"
    judged_day: str | None = None  # the latest closed day
    scored_to: str | None = None  # the last day judged: today with judge_open_days, else judged_day
    days_read: list[str] = field(default_factory=list)
    prisoners: int = 0
    lights: dict[str, int] = field(default_factory=dict)
    alerts_sent: list[str] = field(default_factory=list)
    alerts_resent: list[str] = field(default_factory=list)


def horizon(config: AimConfig) -> int:
    return config.baseline_days + EVAL_SPAN + LOOKBACK_DAYS


def latest_closed_day(now: datetime, tz: ZoneInfo, late_hours: int) -> date:
    """The latest local day whose records should all be in by ``now``."""
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=1)
    # The wait is in real hours: arithmetic on an aware local time would be wall-clock time (wrong on DST days).
    while datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC) + timedelta(
        hours=late_hours
    ) > now.astimezone(UTC):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class ScoringWindow:
    """The days a scoring pass covers: ``days[t]`` for row t, which are still open, which loaded."""

    days: list[date]
    open_from: int
    loaded: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class GroupDrop:
    """A closed day (row ``t``) on which a wing's or the establishment's (``group``: "all") routine
    fell: ``habits`` names the channels that dropped, ``whole`` says the routine as a whole did."""

    t: int
    group: str
    habits: tuple[str, ...]
    whole: bool


def mask_confounders(
    counts: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_], wings: list[str], window: ScoringWindow
) -> list[GroupDrop]:
    """Mark as not evidence (in ``valid``, [P, T, C]) what is not about one person: establishment
    cancellations, and wing- or establishment-wide drops (many routines changing at once). Returns
    the drops found."""
    valid[:, :, PURPOSEFUL] &= (counts[:, :, F["activity_missed_cancelled"]] == 0)[:, :, None]
    valid[:, :, VISITS] &= (counts[:, :, F["visit_cancelled_establishment"]] == 0)[:, :, None]
    chan = counts @ MEMBERSHIP.T  # [P, T, C]
    wing_of = np.array(wings)
    groups = [("all", np.ones(len(wings), dtype=bool))] + [(w, wing_of == w) for w in sorted(set(wings))]
    found: list[GroupDrop] = []
    for name, members in groups:
        if members.sum() >= 5:
            found += _mask_group_drops(chan[members].sum(axis=0), valid, members, window, name)
    return found


def _mask_group_drops(
    total: npt.NDArray[np.float64],
    valid: npt.NDArray[np.bool_],
    members: npt.NDArray[np.bool_],
    window: ScoringWindow,
    name: str = "all",
) -> list[GroupDrop]:
    """``total`` [T, C]: the group's activity. A closed day far below the group's usual for that
    weekday masks the channels that dropped, or every channel when the whole routine dropped (open
    days are weighed by the group ratio instead)."""
    days, loaded = window.days, window.loaded
    found: list[GroupDrop] = []
    for t in range(min(len(days), window.open_from)):
        ref_days = [u for u in range(max(0, t - 28), t) if loaded[u] and days[u].weekday() == days[t].weekday()]
        if len(ref_days) < 2 or not loaded[t]:
            continue
        usual = np.median(total[ref_days], axis=0)
        low = DROP & (usual >= 3) & (total[t] < CONFOUNDER_RATIO * usual)
        if low.any():
            valid[np.ix_(members, np.array([t]), np.flatnonzero(low))] = False
        overall_usual = usual[DROP].sum()
        whole = bool(overall_usual >= 5 and total[t][DROP].sum() < CONFOUNDER_RATIO * overall_usual)
        if whole:
            valid[members, t, :] = False
        if whole or low.any():
            found.append(GroupDrop(t, name, tuple(CHANNELS[c].name for c in np.flatnonzero(low)), whole))
    return found


ScoredCallback = Callable[[list[PrisonerState], ScoreInputs, ScoreResult], None]


class ScoringRun:
    """One run. ``alert_key``: the deployment's secret key for alert ids (``alerts.alert_id_for``).
    ``on_scored``: called after each scoring pass with who was scored, the model's inputs and its
    result, before the lights are set (for offline studies)."""

    def __init__(
        self,
        establishment: str,
        now: datetime,
        activity: ActivityRepository,
        state: StateRepository,
        publisher: AlertPublisher,
        config: AimConfig,
        alert_key: bytes,
        on_scored: ScoredCallback | None = None,
    ) -> None:
        self.est = establishment
        self.now = now.astimezone(UTC)
        self.activity = activity
        self.state = state
        self.publisher = publisher
        self.config = config
        self.alert_key = alert_key
        self.on_scored = on_scored
        self.tz = ZoneInfo(config.timezone)
        self.h = horizon(config)
        self.summary = RunSummary(establishment)
        self.red_history: dict[str, dict[str, Any]] = {}
        self.wing_lights: defaultdict[str, Counter[str]] = defaultdict(Counter)  # the last pass's, by wing
        self.new_ambers: Counter[str] = Counter()  # by wing: amber now, and since a run judging the last day
        self.line: RedLine = calibrate({}, config.thresholds_for(establishment), None, 1)

    def run(self) -> RunSummary:
        judged = latest_closed_day(self.now, self.tz, self.config.late_data_hours)
        # The last day judged: today (still open) when configured, else the latest closed day.
        last_day = self.now.astimezone(self.tz).date() if self.config.judge_open_days else judged
        self.summary.judged_day = judged.isoformat()
        self.summary.scored_to = last_day.isoformat()
        # Cheap checks first (no lease, no writes): most hourly runs find nothing to do.
        control = self.state.load_control(self.est)
        meta = control.meta
        seen = {date.fromisoformat(d): n for d, n in meta.get("loaded", {}).items()}
        lookback = [last_day - timedelta(days=n) for n in range(LOOKBACK_DAYS + (last_day - judged).days)]
        changed = self.activity.changed_days(self.est, lookback, seen)
        if (
            not control.pending
            and not changed
            and meta.get("judged_day") == judged.isoformat()
            and meta.get("last_day") == last_day.isoformat()
        ):
            self.summary.status = "unchanged"
            return self.summary
        if not self.state.take_lease(self.est, str(uuid.uuid4()), int(self.now.timestamp()), LEASE_SECONDS):
            self.summary.status = "skipped: another run holds the lease"
            return self.summary
        try:
            self._resend_pending(control.pending)
            self._run(judged, last_day, meta, changed)
        finally:
            self.state.release_lease(self.est)
        return self.summary

    # --- the run --------------------------------------------------------------------------
    def _run(self, judged: date, last_day: date, meta: dict[str, Any], changed: dict[date, int]) -> None:
        hours: dict[str, dict[str, list[int]]] = meta.get("kiosk_hours", {})
        loaded: dict[str, int] = dict(meta.get("loaded", {}))
        states = self.state.load_states(self.est, self.h)
        origin = last_day - timedelta(days=self.h - 1)
        for s in states.values():
            s.shift_to(origin)
            s.retention_days = self.config.retention.activity_days

        for day, count in changed.items():
            facts = self.activity.facts_of_day(self.est, day)
            self._apply_day(day, facts, states, origin, hours)
            loaded[day.isoformat()] = count
            self.summary.days_read.append(day.isoformat())

        self.red_history = dict(meta.get("red_line_history", {}))
        self.line = self._calibrated_line(last_day)
        self._score(judged, last_day, states, loaded, hours)
        self.state.save_states(self.est, states.values())
        self.state.save_meta(self.est, self._meta(judged, last_day, loaded, hours))

    def _meta(
        self, judged: date, last_day: date, loaded: dict[str, int], hours: dict[str, dict[str, list[int]]]
    ) -> dict[str, Any]:
        keep_from = (last_day - timedelta(days=self.h)).isoformat()
        hours_from = (judged - timedelta(days=KIOSK_HISTORY_DAYS)).isoformat()
        return {
            "loaded": {d: n for d, n in loaded.items() if d >= keep_from},
            "kiosk_hours": {k: {d: h for d, h in days.items() if d >= hours_from} for k, days in hours.items()},
            "judged_day": judged.isoformat(),
            "last_day": last_day.isoformat(),
            "red_line": self.line.as_dict(),
            "red_line_history": self.red_history,
        }

    def _calibrated_line(self, last_day: date) -> RedLine:
        """The red line from the line values of the days before ``last_day`` (the day being judged
        is not weighed against itself)."""
        before = {d: e for d, e in self.red_history.items() if d < last_day.isoformat()}
        cfg = self.config
        return calibrate(
            before,
            cfg.thresholds_for(self.est),
            cfg.red_capacity_for(self.est),
            cfg.red_capacity_min_days,
            quiet_days=max(1, round(cfg.quiet_period_hours / 24)),
        )

    def _apply_day(
        self,
        day: date,
        facts: list[Fact],
        states: dict[str, PrisonerState],
        origin: date,
        hours: dict[str, dict[str, list[int]]],
    ) -> None:
        for fact in sorted(facts, key=lambda f: (f.occurred_at, f.event_id)):
            if fact.prisoner_id is None:
                continue
            s = states.get(fact.prisoner_id)
            if s is None:
                s = states[fact.prisoner_id] = PrisonerState.new(self.est, fact.prisoner_id, origin, self.h)
                s.retention_days = self.config.retention.activity_days
            s.fold(fact, day)
        vectors = day_vectors(facts, self.tz)
        for pid, s in states.items():
            s.set_day(day, vectors.get(pid))
        for kiosk, hs in kiosk_hours(facts, self.tz).items():
            hours.setdefault(kiosk, {})[day.isoformat()] = sorted(hs)

    # --- scoring --------------------------------------------------------------------------
    def _kiosk_reliable(
        self, hours: dict[str, dict[str, list[int]]], days: list[date], open_from: int
    ) -> dict[str, np.ndarray]:
        """Per kiosk, whether each closed day's heartbeats cover most of its usual hours.

        Kiosks seal batches at irregular intervals, so the hours covered vary from day to day; an
        outage (or data still to come) shows as far fewer hours than the kiosk's usual count. An
        open day needs only a heartbeat: how much of it has arrived is weighed by the group ratio."""
        out: dict[str, np.ndarray] = {}
        first_open = days[open_from].isoformat() if open_from < len(days) else "~"  # "~": none open
        for kiosk, by_day in hours.items():
            counts = sorted(len(h) for d, h in by_day.items() if h and d < first_open)
            usual = counts[len(counts) // 2] if counts else 0
            flags = np.zeros(len(days), dtype=bool)
            for t, d in enumerate(days):
                got = len(by_day.get(d.isoformat(), []))
                flags[t] = got > 0 and (t >= open_from or got >= KIOSK_COVERAGE * usual)
            out[kiosk] = flags
        return out

    def _score(
        self,
        judged: date,
        last_day: date,
        states: dict[str, PrisonerState],
        loaded: dict[str, int],
        hours: dict[str, dict[str, list[int]]],
    ) -> None:
        for s in states.values():
            if not s.in_custody:
                s.light = "released" if s.movement and s.movement[0] == "release" else "transferred"
                s.reasons, s.open_alert = [], None
        active = [s for s in states.values() if s.in_custody]
        self.summary.prisoners = len(active)
        if not active:
            return
        origin = last_day - timedelta(days=self.h - 1)
        window = ScoringWindow(
            days=[origin + timedelta(days=t) for t in range(self.h)],
            open_from=(judged - origin).days + 1,  # days from here on are still open
            loaded=np.array([(origin + timedelta(days=t)).isoformat() in loaded for t in range(self.h)]),
        )
        counts = np.stack([s.days for s in active]).astype(np.float64)  # [P, T, NF]
        valid_day = self._valid_days(active, window, hours)
        valid = np.repeat(valid_day[:, :, None], len(CHANNELS), axis=2)
        drops = mask_confounders(counts, valid, [s.wing for s in active], window)
        inputs = self._inputs(active, window, counts, valid)
        result = score(inputs)
        if self.on_scored is not None:
            self.on_scored(active, inputs, result)
        self._set_lights(active, result, valid_day, last_day)
        self._record_days(judged, last_day, active, counts, window, hours, drops)

    def _valid_days(
        self, active: list[PrisonerState], window: ScoringWindow, hours: dict[str, dict[str, list[int]]]
    ) -> npt.NDArray[np.bool_]:
        """[P, T] days that are evidence about each prisoner: loaded, in custody (from the first full
        day after a reception), and their kiosk was up."""
        origin = window.days[0]
        valid_day = np.broadcast_to(window.loaded, (len(active), len(window.days))).copy()
        kiosk_ok = self._kiosk_reliable(hours, window.days, window.open_from)
        for p, s in enumerate(active):
            start = s.custody_start()
            if start is not None:
                first_full = start + timedelta(days=1) if s.reception_day else start
                valid_day[p, : max(0, (first_full - origin).days)] = False
            kiosk = s.kiosk()
            if kiosk in kiosk_ok:
                valid_day[p] &= kiosk_ok[kiosk]
        return valid_day

    def _inputs(
        self,
        active: list[PrisonerState],
        window: ScoringWindow,
        counts: npt.NDArray[np.float64],
        valid: npt.NDArray[np.bool_],
    ) -> ScoreInputs:
        cfg = self.config
        origin, n_t = window.days[0], len(window.days)
        early = np.zeros((len(active), n_t), dtype=bool)  # the first two weeks after a reception
        for p, s in enumerate(active):
            if s.reception_day is not None:
                lo = max(0, (date.fromisoformat(s.reception_day) - origin).days + 1)
                early[p, lo : max(lo, lo + 14)] = True
        return ScoreInputs(
            counts=counts,
            valid=valid,
            weekday=np.array([d.weekday() for d in window.days], dtype=np.int64),
            judge=n_t - 1,
            channel_weights=channel_weights(cfg.factor_weights),
            arrival=np.array([s.reception_day is not None for s in active]),
            early=early,
            min_own_days=cfg.min_active_days,
            group=self._groups(active),
            open_from=window.open_from,
            silence_days=cfg.silence.days,
            silence_share=cfg.silence.regular_share,
        )

    def _set_lights(
        self, active: list[PrisonerState], result: ScoreResult, valid_day: npt.NDArray[np.bool_], last_day: date
    ) -> None:
        line, line_shown = self.line, self.line.as_dict()
        quiet = timedelta(hours=self.config.quiet_period_hours)
        lights: dict[str, int] = defaultdict(int)
        self.wing_lights = defaultdict(Counter)
        self.new_ambers = Counter()
        values: list[tuple[str, float]] = []  # (whose, line value) of each judged prisoner: the history
        for p, s in enumerate(active):
            factors, multiplier = static_factors(s, last_day, self.config)
            amber_at, red_at = line.amber * multiplier, line.red * multiplier
            judgeable = bool(valid_day[p, -EVAL_SPAN:].any()) and bool(result.judgeable[p])
            light, value, silent = self._light(result, p, judgeable, amber_at, red_at)
            kept = line_value(light, float(result.score[p]), multiplier, silent)
            if kept is not None:
                values.append((person_key(self.alert_key, s.prisoner_id), kept))
            why = self._reasons(result, p, light, silent, last_day) if light in ("red", "amber") else []
            assessment = Assessment(
                s.prisoner_id, light, value, amber_at, red_at, factors, why, last_day.isoformat(), line_shown
            )
            if light != s.light:
                s.light_since = self.now.isoformat()
            s.light, s.score, s.reasons, s.static_factors = light, value, why, factors
            s.judged_day = last_day.isoformat()
            s.thresholds, s.red_line = [round(amber_at, 3), round(red_at, 3)], line_shown
            lights[light] += 1
            self.wing_lights[s.wing][light] += 1
            if light == "amber" and s.light_since and self._day_judged_at(s.light_since) == last_day:
                self.new_ambers[s.wing] += 1
            self._alert(s, assessment, quiet, subgroups(s, last_day, float(result.expected_per_day[p])))
        self.summary.lights = dict(lights)
        keep = self.config.red_capacity_history_days
        self.red_history = update_history(self.red_history, last_day.isoformat(), values, keep)

    def _day_judged_at(self, moment: str) -> date:
        """The last day a run at ``moment`` (ISO timestamp) judged."""
        at = datetime.fromisoformat(moment)
        if self.config.judge_open_days:
            return at.astimezone(self.tz).date()
        return latest_closed_day(at, self.tz, self.config.late_data_hours)

    def _light(
        self, result: ScoreResult, p: int, judgeable: bool, amber_at: float, red_at: float
    ) -> tuple[str, float, bool]:
        """(light, value shown, whether regular habits stopped together) of prisoner ``p``."""
        value = float(result.score[p])
        if not judgeable:
            light = "insufficient"
        elif value >= red_at:
            light = "red"
        elif value >= amber_at:
            light = "amber"
        elif result.expected_per_day[p] < MIN_EXPECTED_PER_DAY:
            light = "insufficient"
        else:
            light = "green"
        silence = self.config.silence
        stopped, rising = int(np.count_nonzero(result.silent[p])), int(np.count_nonzero(result.rising[p]))
        silent = silence_fires(stopped, rising, silence.factors, silence.factors_with_rise)
        if light != "insufficient" and silent:
            # Several regular habits stopped at once (fewer with distress rising): red whatever the
            # score; the score is shown at least at the red line so the board, escalation and the
            # threshold sweep agree.
            light, value = "red", max(value, red_at)
        return light, value, silent

    def _reasons(self, result: ScoreResult, p: int, light: str, silent: bool, last_day: date) -> list[dict[str, Any]]:
        why = reasons(
            result.observed[p].tolist(),
            result.expected[p].tolist(),
            result.deviance[p].tolist(),
            int(result.window[p]),
            last_day,
        )
        if light != "red" or not silent:
            return why
        silence = self.config.silence
        stopped = np.flatnonzero(result.silent[p]).tolist()
        stop_why = silence_reasons(stopped, result.regular_share[p].tolist(), silence.days, last_day)
        if len(stopped) < silence.factors:  # the rise is part of why: name it
            rising = np.flatnonzero(result.rising[p]).tolist()
            stop_why += rise_reasons(
                rising, result.recent[p].tolist(), result.recent_usual[p].tolist(), silence.days, last_day
            )
        named = {r["signal"] for r in stop_why}
        return (stop_why + [r for r in why if r["signal"] not in named])[: max(4, len(stop_why))]

    @staticmethod
    def _groups(active: list[PrisonerState]) -> npt.NDArray[np.int64]:
        """Who shares each prisoner's data source: their kiosk, or their wing where few use that kiosk
        (in-cell devices, a kiosk on a small unit)."""
        kiosks = [s.kiosk() for s in active]
        users = Counter(kiosks)
        keys = [
            f"K:{k}" if k is not None and users[k] >= MIN_GROUP_MEMBERS else f"W:{s.wing}"
            for s, k in zip(active, kiosks, strict=True)
        ]
        return np.unique(keys, return_inverse=True)[1].astype(np.int64)

    # --- the day's record, for the governor's view ------------------------------------------
    def _record_days(
        self,
        judged: date,
        last_day: date,
        active: list[PrisonerState],
        counts: npt.NDArray[np.float64],
        window: ScoringWindow,
        hours: dict[str, dict[str, list[int]]],
        drops: list[GroupDrop],
    ) -> None:
        """Counts only, never who: people in each light and newly amber by wing, and the red line,
        for the last day judged; what was masked as not about one person on the latest closed day."""
        day = {
            "lights": {w: dict(sorted(c.items())) for w, c in sorted(self.wing_lights.items())},
            "new_amber": dict(sorted(self.new_ambers.items())),
            "red_line": self.line.as_dict(),
        }
        t = window.open_from - 1
        confounders = day_confounders(active, counts[:, t, :], [d for d in drops if d.t == t])
        confounders += self._kiosk_outages(active, hours, window, t)
        if judged == last_day:
            self.state.save_day(self.est, last_day, {**day, "confounders": confounders})
        else:
            self.state.save_day(self.est, last_day, day)
            self.state.save_day(self.est, judged, {"confounders": confounders})

    def _kiosk_outages(
        self, active: list[PrisonerState], hours: dict[str, dict[str, list[int]]], window: ScoringWindow, t: int
    ) -> list[dict[str, Any]]:
        """Kiosks whose heartbeats covered too little of their usual hours on the loaded day ``t``,
        with the wings of the people who use them."""
        if t < 0 or not window.loaded[t]:
            return []
        down = {k for k, ok in self._kiosk_reliable(hours, window.days, window.open_from).items() if not ok[t]}
        wings: dict[str, set[str]] = defaultdict(set)
        for s in active:
            kiosk = s.kiosk()
            if kiosk in down:
                wings[kiosk].add(s.wing)
        return [{"kind": "kiosk_outage", "wing": w, "detail": k} for k in sorted(wings) for w in sorted(wings[k])]

    # --- alerts ---------------------------------------------------------------------------
    def _alert(
        self, s: PrisonerState, assessment: Assessment, quiet: timedelta, groups: dict[str, str] | None = None
    ) -> None:
        if alerting.should_close(assessment, s.open_alert, self.now, quiet):
            s.open_alert = None
        decision = alerting.decide(
            self.est, assessment, s.open_alert, self.now, quiet, self.alert_key, remind=self.config.remind_while_red
        )
        if decision is None:
            return
        message = alerting.alert_message(decision, self.est, assessment, self.now, s.location)
        expires = int((self.now + ALERT_RECORD_RETENTION).timestamp())
        # Recorded before sent. The alert record is kept (its id is derived from what raised it), so
        # the same decision made again - a repeated or retried run - finds it and pages nobody twice.
        if self.state.record_alert(self.est, message, expires, groups):
            self._send(message)
            self.state.mark_sent(self.est, decision.alert_id)
            self.summary.alerts_sent.append(decision.alert_id)
        s.open_alert = {
            "alert_id": decision.alert_id,
            "raised_at": self.now.isoformat(),
            "score": round(assessment.score, 3),
        }

    def _send(self, message: dict[str, Any]) -> None:
        self.publisher.publish(
            machine_json=alerting.to_json(message),
            human_text=alerting.alert_text(message, self.tz),
            subject=alerting.alert_subject(message),
            attributes=alerting.alert_attributes(message),
        )

    def _resend_pending(self, pending: list[dict[str, Any]]) -> None:
        for message in pending:
            self._send(message)
            self.state.mark_sent(self.est, str(message["alert_id"]))
            self.summary.alerts_resent.append(str(message["alert_id"]))


def age_band(age: int | None) -> str:
    """The age bands of docs/fairness.md."""
    if age is None:
        return "unknown"
    return "18-24" if age < 25 else "25-39" if age < 40 else "40+"


def subgroups(s: PrisonerState, day: date, expected_per_day: float) -> dict[str, str]:
    """The fairness subgroups someone is in on ``day``: kept with their alerts for figures by group,
    never shown against the person."""
    return {
        "age_band": age_band(s.age_on(day)),
        "kiosk_use": "low" if expected_per_day < LOW_KIOSK_USE_PER_DAY else "normal",
    }


def day_confounders(
    active: list[PrisonerState], day_counts: npt.NDArray[np.float64], drops: list[GroupDrop]
) -> list[dict[str, Any]]:
    """What on one closed day was not about one person (``day_counts`` [P, NF]): wing- or
    establishment-wide drops, and activities or visits the establishment cancelled (with how many
    people it touched)."""
    out: list[dict[str, Any]] = [
        {"kind": "routine_drop" if d.whole else "habits_drop", "wing": d.group, "detail": ", ".join(d.habits)}
        for d in drops
    ]
    for kind, feature in (
        ("activities_cancelled", "activity_missed_cancelled"),
        ("visits_cancelled", "visit_cancelled_establishment"),
    ):
        touched = Counter(s.wing for s, n in zip(active, day_counts[:, F[feature]], strict=True) if n > 0)
        out += [{"kind": kind, "wing": w, "people": n} for w, n in sorted(touched.items())]
    return out


def run_scoring(
    establishment: str,
    now: datetime,
    activity: ActivityRepository,
    state: StateRepository,
    publisher: AlertPublisher,
    config: AimConfig,
    alert_key: bytes,
    on_scored: ScoredCallback | None = None,
) -> RunSummary:
    return ScoringRun(establishment, now, activity, state, publisher, config, alert_key, on_scored).run()


__all__ = [
    "GroupDrop",
    "RunSummary",
    "ScoredCallback",
    "ScoringRun",
    "horizon",
    "latest_closed_day",
    "mask_confounders",
    "run_scoring",
    "subgroups",
]
