"""One scheduled scoring run for one establishment.

1. Take the establishment's lease (an overlapping or duplicate run does nothing).
2. Find which recent days changed since the last run (day change sets) and re-read only those
   day partitions; fold their distinct facts (an event repeated across batches once) into the
   per-prisoner state.
3. Score every prisoner in custody on the latest closed day (all its records due in), each day
   weighed against what the rest of their kiosk group did that day (scoring.group_ratio), and
   set traffic lights. With ``judge_open_days`` the days still open are judged too, in
   proportion to what the group has sent so far: a day is never judged on data still to come.
4. Record each new red alert before sending it, send it, mark it sent; resend any
   alert recorded earlier and not sent.
5. Write back the states that changed, and the run's META item.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aim.config import AimConfig
from aim.domain import alerts as alerting
from aim.domain.activity import Fact, changes_key, day_partition, facts_of_day
from aim.domain.assessment import (
    MIN_EXPECTED_PER_DAY,
    Assessment,
    reasons,
    rise_reasons,
    silence_fires,
    silence_reasons,
    static_factors,
)
from aim.domain.features import CHANNELS, DROP, MEMBERSHIP, F, day_vectors, kiosk_hours
from aim.domain.ports import AlertPublisher, ItemStore
from aim.domain.prisoner import PrisonerState
from aim.domain.scoring import EVAL_SPAN, ScoreInputs, ScoreResult, channel_weights, score

LEASE_SECONDS = 900
ALERT_RECORD_RETENTION = timedelta(days=365)
LOOKBACK_DAYS = 7  # closed days re-read when late records arrive for them
KIOSK_HISTORY_DAYS = 21
KIOSK_COVERAGE = 0.7  # a day with heartbeats in fewer than this share of the kiosk's usual hours is not evidence
MIN_GROUP_MEMBERS = 8  # a kiosk used by fewer prisoners is grouped with their wing for the same-day ratio
CONFOUNDER_RATIO = 0.6  # a wing/establishment below this share of its usual activity is not about one person
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


def alert_partition(establishment: str) -> str:
    """Every alert raised (kept for audit, with a TTL)."""
    return f"{establishment}#ALERT"


def control_partition(establishment: str) -> str:
    """The run's own small partition, read by one Query every run: its META item (which days are
    loaded, kiosk hours) and the alerts recorded but not yet sent (one item per alert)."""
    return f"{establishment}#RUN"


META_SK = "~META"  # sorts after every alert id


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


class ScoringRun:
    def __init__(
        self,
        establishment: str,
        now: datetime,
        activity: ItemStore,
        state: ItemStore,
        publisher: AlertPublisher,
        config: AimConfig,
    ) -> None:
        self.est = establishment
        self.now = now.astimezone(UTC)
        self.activity = activity
        self.state = state
        self.publisher = publisher
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.h = horizon(config)
        self.summary = RunSummary(establishment)

    # --- lease ----------------------------------------------------------------------------
    def _acquire(self, holder: str) -> bool:
        expires = int(self.now.timestamp()) + LEASE_SECONDS
        return self.state.put_if(
            {"pk": self.est, "sk": "LEASE", "holder": holder, "lease_expires": expires},
            "attribute_not_exists(pk) OR lease_expires < :now",
            {":now": int(self.now.timestamp())},
        )

    def run(self) -> RunSummary:
        judged = latest_closed_day(self.now, self.tz, self.config.late_data_hours)
        # The last day judged: today (still open) when configured, else the latest closed day.
        last_day = self.now.astimezone(self.tz).date() if self.config.judge_open_days else judged
        self.summary.judged_day = judged.isoformat()
        self.summary.scored_to = last_day.isoformat()
        # Cheap checks first (no lease, no writes): most hourly runs find nothing to do.
        control = self.state.query(control_partition(self.est))
        pending = [i for i in control if i["sk"] != META_SK]
        meta_item = next((i for i in control if i["sk"] == META_SK), None)
        lookback = [last_day - timedelta(days=n) for n in range(LOOKBACK_DAYS + (last_day - judged).days)]
        keys = [changes_key(self.est, d) for d in lookback]
        change_sets = self.activity.get_many(keys)
        meta: dict[str, Any] = json.loads(str(meta_item["m"])) if meta_item else {}
        loaded: dict[str, int] = meta.get("loaded", {})
        counts = {sk: len(item.get("batches", ())) for (_, sk), item in change_sets.items()}
        changed = sorted(d for d, n in counts.items() if loaded.get(d) != n)
        if (
            not pending
            and not changed
            and meta.get("judged_day") == judged.isoformat()
            and meta.get("last_day") == last_day.isoformat()
        ):
            self.summary.status = "unchanged"
            return self.summary
        holder = str(uuid.uuid4())
        if not self._acquire(holder):
            self.summary.status = "skipped: another run holds the lease"
            return self.summary
        try:
            self._resend_pending(pending)
            self._run(judged, last_day, meta, loaded, counts, changed)
        finally:
            self.state.delete(self.est, "LEASE")
        return self.summary

    # --- the run --------------------------------------------------------------------------
    def _run(
        self,
        judged: date,
        last_day: date,
        meta: dict[str, Any],
        loaded: dict[str, int],
        counts: dict[str, int],
        changed: list[str],
    ) -> None:
        hours: dict[str, dict[str, list[int]]] = meta.get("kiosk_hours", {})
        states = {
            s.prisoner_id: s
            for s in (PrisonerState.from_item(i, self.h) for i in self.state.query(self.est, sk_prefix="P#"))
        }
        before = {pid: s.to_item() for pid, s in states.items()}
        origin = last_day - timedelta(days=self.h - 1)
        for s in states.values():
            s.shift_to(origin)
            s.retention_days = self.config.retention.activity_days

        for iso in changed:
            day = date.fromisoformat(iso)
            facts = facts_of_day(self.activity.query(day_partition(self.est, day)))  # packs and per-event items
            self._apply_day(day, facts, states, origin, hours)
            loaded[iso] = counts[iso]
            self.summary.days_read.append(iso)

        self._score(judged, last_day, states, loaded, hours)

        after = {pid: s.to_item() for pid, s in states.items()}  # serialise each state once
        changed_items = [item for pid, item in after.items() if item != before.get(pid)]
        self.state.put_many(changed_items)
        keep_from = (last_day - timedelta(days=self.h)).isoformat()
        meta = {
            "loaded": {d: n for d, n in loaded.items() if d >= keep_from},
            "kiosk_hours": {
                k: {d: h for d, h in days.items() if d >= (judged - timedelta(days=KIOSK_HISTORY_DAYS)).isoformat()}
                for k, days in hours.items()
            },
            "judged_day": judged.isoformat(),
            "last_day": last_day.isoformat(),
        }
        self.state.put_many([{"pk": control_partition(self.est), "sk": META_SK, "m": json.dumps(meta, sort_keys=True)}])

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
        cfg = self.config
        origin = last_day - timedelta(days=self.h - 1)
        days = [origin + timedelta(days=t) for t in range(self.h)]
        open_from = (judged - origin).days + 1  # days from here on are still open
        active = [s for s in states.values() if s.in_custody]
        for s in states.values():
            if not s.in_custody:
                s.light, s.reasons, s.open_alert = (
                    "released" if s.movement and s.movement[0] == "release" else "transferred",
                    [],
                    None,
                )
        if not active:
            self.summary.prisoners = 0
            return
        n_p, n_t, n_c = len(active), self.h, len(CHANNELS)
        counts = np.stack([s.days for s in active]).astype(np.float64)  # [P, T, NF]
        day_loaded = np.array([d.isoformat() in loaded for d in days])
        valid_day = np.broadcast_to(day_loaded, (n_p, n_t)).copy()

        kiosk_ok = self._kiosk_reliable(hours, days, open_from)
        for p, s in enumerate(active):
            start = s.custody_start()
            if start is not None:
                first_full = start + timedelta(days=1) if s.reception_day else start
                valid_day[p, : max(0, (first_full - origin).days)] = False
            kiosk = s.kiosk()
            if kiosk in kiosk_ok:
                valid_day[p] &= kiosk_ok[kiosk]
        valid = np.repeat(valid_day[:, :, None], n_c, axis=2)
        arrival = np.array([s.reception_day is not None for s in active])
        early = np.zeros((n_p, n_t), dtype=bool)
        for p, s in enumerate(active):
            if s.reception_day is not None:
                lo = max(0, (date.fromisoformat(s.reception_day) - origin).days + 1)
                early[p, lo : max(lo, lo + 14)] = True

        # Establishment cancellations are not the person's doing.
        valid[:, :, PURPOSEFUL] &= (counts[:, :, F["activity_missed_cancelled"]] == 0)[:, :, None]
        valid[:, :, VISITS] &= (counts[:, :, F["visit_cancelled_establishment"]] == 0)[:, :, None]

        # Wing- and establishment-wide drops: many routines change at once.
        chan = counts @ MEMBERSHIP.T  # [P, T, C]
        wings = np.array([s.wing for s in active])
        groups = [np.ones(n_p, dtype=bool)] + [wings == w for w in sorted(set(wings))]
        for members in groups:
            if members.sum() < 5:
                continue
            total = chan[members].sum(axis=0)  # [T, C]
            for t in range(min(n_t, open_from)):  # open days: the group ratio weighs them
                ref_days = [
                    u for u in range(max(0, t - 28), t) if day_loaded[u] and days[u].weekday() == days[t].weekday()
                ]
                if len(ref_days) < 2 or not day_loaded[t]:
                    continue
                usual = np.median(total[ref_days], axis=0)
                low = DROP & (usual >= 3) & (total[t] < CONFOUNDER_RATIO * usual)
                if low.any():
                    valid[np.ix_(members, np.array([t]), np.flatnonzero(low))] = False
                overall_usual = usual[DROP].sum()
                if overall_usual >= 5 and total[t][DROP].sum() < CONFOUNDER_RATIO * overall_usual:
                    valid[members, t, :] = False

        inputs = ScoreInputs(
            counts=counts,
            valid=valid,
            weekday=np.array([d.weekday() for d in days], dtype=np.int64),
            judge=n_t - 1,
            channel_weights=channel_weights(cfg.factor_weights),
            arrival=arrival,
            early=early,
            min_own_days=cfg.min_active_days,
            group=self._groups(active),
            open_from=open_from,
            silence_days=cfg.silence.days,
            silence_share=cfg.silence.regular_share,
        )
        result = score(inputs)
        self._scored(active, inputs, result)
        thresholds = cfg.thresholds_for(self.est)
        quiet = timedelta(hours=cfg.quiet_period_hours)
        lights: dict[str, int] = defaultdict(int)
        for p, s in enumerate(active):
            factors, multiplier = static_factors(s, last_day, cfg)
            value = float(result.score[p])
            amber_at, red_at = thresholds.amber * multiplier, thresholds.red * multiplier
            judged_valid = bool(valid_day[p, -EVAL_SPAN:].any())
            if not judged_valid or not result.judgeable[p]:
                light = "insufficient"
            elif value >= red_at:
                light = "red"
            elif value >= amber_at:
                light = "amber"
            elif result.expected_per_day[p] < MIN_EXPECTED_PER_DAY:
                light = "insufficient"
            else:
                light = "green"
            stopped = np.flatnonzero(result.silent[p]).tolist()
            rising = np.flatnonzero(result.rising[p]).tolist()
            silent = silence_fires(len(stopped), len(rising), cfg.silence.factors, cfg.silence.factors_with_rise)
            if light != "insufficient" and silent:
                # Several regular habits stopped at once (fewer with distress rising): red whatever the
                # score; the score is shown at least at the red line so the board, escalation and the
                # threshold sweep agree.
                light, value = "red", max(value, red_at)
            why = (
                reasons(
                    result.observed[p].tolist(),
                    result.expected[p].tolist(),
                    result.deviance[p].tolist(),
                    int(result.window[p]),
                    last_day,
                )
                if light in ("red", "amber")
                else []
            )
            if light == "red" and silent:
                stop_why = silence_reasons(stopped, result.regular_share[p].tolist(), cfg.silence.days, last_day)
                if len(stopped) < cfg.silence.factors:  # the rise is part of why: name it
                    stop_why += rise_reasons(
                        rising, result.recent[p].tolist(), result.recent_usual[p].tolist(), cfg.silence.days, last_day
                    )
                named = {r["signal"] for r in stop_why}
                why = (stop_why + [r for r in why if r["signal"] not in named])[: max(4, len(stop_why))]
            assessment = Assessment(s.prisoner_id, light, value, amber_at, red_at, factors, why, last_day.isoformat())
            if light != s.light:
                s.light_since = self.now.isoformat()
            s.light, s.score, s.reasons, s.static_factors, s.judged_day = (
                light,
                value,
                why,
                factors,
                last_day.isoformat(),
            )
            s.thresholds = [round(amber_at, 3), round(red_at, 3)]
            lights[light] += 1
            self._alert(s, assessment, quiet)
        self.summary.prisoners = n_p
        self.summary.lights = dict(lights)

    def _scored(self, active: list[PrisonerState], inputs: ScoreInputs, result: ScoreResult) -> None:
        """Called after each scoring pass with who was scored, the model's inputs and its result, before
        the lights are set. Does nothing here: a hook for offline studies (``aim_lab.ceiling``)."""

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

    # --- alerts ---------------------------------------------------------------------------
    def _alert(self, s: PrisonerState, assessment: Assessment, quiet: timedelta) -> None:
        if alerting.should_close(assessment, s.open_alert, self.now, quiet):
            s.open_alert = None
        decision = alerting.decide(
            self.est, assessment, s.open_alert, self.now, quiet, remind=self.config.remind_while_red
        )
        if decision is None:
            return
        message = alerting.alert_message(decision, self.est, assessment, self.now, s.location)
        body = alerting.to_json(message)
        expires = int((self.now + ALERT_RECORD_RETENTION).timestamp())
        # Recorded before sent. The alert record is kept (its id is derived from what raised it), so
        # the same decision made again - a repeated or retried run - finds it and pages nobody twice.
        if self.state.put_if_absent(
            {"pk": alert_partition(self.est), "sk": decision.alert_id, "message": body, "expires_at": expires}
        ):
            self.state.put_many([{"pk": control_partition(self.est), "sk": decision.alert_id, "message": body}])
            self._send(message)
            self.state.delete(control_partition(self.est), decision.alert_id)
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
            attributes={"establishment": self.est, "level": str(message["level"])},
        )

    def _resend_pending(self, pending: list[dict[str, Any]]) -> None:
        for item in pending:
            message = json.loads(str(item["message"]))
            self._send(message)
            self.state.delete(control_partition(self.est), str(item["sk"]))
            self.summary.alerts_resent.append(str(message["alert_id"]))


def run_scoring(
    establishment: str,
    now: datetime,
    activity: ItemStore,
    state: ItemStore,
    publisher: AlertPublisher,
    config: AimConfig,
) -> RunSummary:
    return ScoringRun(establishment, now, activity, state, publisher, config).run()


__all__ = ["RunSummary", "ScoringRun", "horizon", "latest_closed_day", "run_scoring"]
