"""Prisoner states and alerts written straight into the local StateTable, as the scorer writes
them: for the staff API's tests and its bench, where a full replay would take minutes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from aim.adapters.state_table import alert_record_item, board_items, day_item, meta_item, state_item
from aim.config import AimConfig
from aim.domain.alerts import ALERT_SCHEMA, alert_id_for
from aim.domain.features import NF, F
from aim.domain.prisoner import PrisonerState
from aim.service.scoring_run import horizon

from aim_local.memory import LAB_ALERT_ID_KEY

WINGS = "ABCD"


@dataclass(frozen=True)
class SeededAlert:
    alert_id: str
    establishment: str
    prisoner_id: str


def prison_number(establishment: str, n: int) -> str:
    letter = "ABCDEFGHJKLMNPRSTUVWXYZ"[(ord(establishment[0]) + n // 10_000) % 23]
    return f"{letter}{n % 10_000:04d}{establishment[:2]}"


def _state(
    est: str, pid: str, n: int, judged: date, config: AimConfig, light: str, rng: np.random.Generator
) -> PrisonerState:
    h = horizon(config)
    origin = judged - timedelta(days=h - 1)
    s = PrisonerState.new(est, pid, origin, h)
    usual = rng.uniform(0.5, 3.0, size=NF)
    days = rng.poisson(usual, size=(h, NF)).astype(np.int16)
    if light == "red":  # the last ten days: phone, canteen and kiosk use stop
        for name in ("phone_call", "phone_credit_added", "canteen_order", "meal_selected", "kiosk_login"):
            days[-10:, F[name]] = 0
    days[:, F["routine"]] = days[:, : F["routine"]].sum(axis=1)
    s.days = days
    stamp = "2026-01-01T00:00:00Z|seed"
    wing = WINGS[n % len(WINGS)]
    s.profile = {"location": [f"{wing}-{1 + n % 4}-{1 + n % 30:02d}", stamp]}
    s.first_seen = origin.isoformat()
    s.light = light
    s.score = {"red": 7.4, "amber": 4.6, "green": 0.8, "insufficient": 0.0}[light] + (n % 10) / 10
    s.judged_day = judged.isoformat()
    s.light_since = datetime(judged.year, judged.month, judged.day, 7, tzinfo=UTC).isoformat()
    s.thresholds = [4.0, 6.0]
    if light in ("red", "amber"):
        s.reasons = [
            {
                "factor": "phone",
                "signal": "phone",
                "change": "stopped",
                "observed": 0,
                "expected": 9.0,
                "window_days": 10,
                "since": (judged - timedelta(days=9)).isoformat(),
                "text": "Phone calls and credit stopped: none in the 10 days since "
                f"{judged - timedelta(days=9):%a %d %b}",
            },
            {
                "factor": "selfcare",
                "signal": "selfcare",
                "change": "fell",
                "observed": 1,
                "expected": 12.0,
                "window_days": 10,
                "since": (judged - timedelta(days=9)).isoformat(),
                "text": "Canteen orders and meal choices fell: 1 in the 10 days (usually about 12)",
            },
        ]
        s.static_factors = ["history of self-harm"] if n % 2 else []
    return s


def seed_establishment(
    store_client: Any,
    table: str,
    establishment: str,
    config: AimConfig,
    prisoners: int,
    reds: int = 1,
    ambers: int = 2,
    insufficient: int = 1,
    judged: date = date(2026, 11, 30),
    seed: int = 1,
    confounders: list[dict[str, Any]] | None = None,
) -> list[SeededAlert]:
    """``prisoners`` states (the first ``reds`` red with an open alert each, then ambers, then too
    little data, the rest green), their alert records (with subgroups) and the judged day's record
    (the ambers counted new that day, ``confounders`` as given). Returns the alerts."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    rng = np.random.default_rng(seed)
    items: list[dict[str, Any]] = []
    alerts: list[SeededAlert] = []
    states: list[PrisonerState] = []
    raised = datetime(judged.year, judged.month, judged.day, 7, tzinfo=UTC) + timedelta(days=1)
    for n in range(prisoners):
        light = (
            "red"
            if n < reds
            else "amber"
            if n < reds + ambers
            else "insufficient"
            if n < reds + ambers + insufficient
            else "green"
        )
        pid = prison_number(establishment, n)
        s = _state(establishment, pid, n, judged, config, light, rng)
        if light == "red":
            alert_id = alert_id_for(LAB_ALERT_ID_KEY, establishment, pid, judged.isoformat(), "new")
            s.open_alert = {"alert_id": alert_id, "raised_at": raised.isoformat(), "score": round(s.score, 3)}
            message = {
                "schema": ALERT_SCHEMA,
                "alert_id": alert_id,
                "level": "red",
                "establishment": establishment,
                "prisoner_id": pid,
                "raised_at": raised.isoformat(),
                "reasons": s.reasons,
                "kind": "new",
                "score": round(s.score, 2),
                "red_threshold": 6.0,
                "static_factors": s.static_factors,
                "judged_day": judged.isoformat(),
                "location": s.location,
            }
            expires = int((raised + timedelta(days=365)).timestamp())
            items.append(alert_record_item(establishment, message, expires, seeded_subgroups(n)))
            alerts.append(SeededAlert(alert_id, establishment, pid))
        items.append(state_item(s))
        states.append(s)
    items.append(day_item(establishment, judged, day_figures_of(states, config, establishment, confounders)))
    # The board, then the run's marker, as every scoring run that changed anything writes them.
    items.extend(board_items(establishment, states))
    items.append(meta_item(establishment, {"judged_day": judged.isoformat(), "seed": seed}))
    rows = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in item.items()}}} for item in items]
    for start in range(0, len(rows), 25):
        store_client.batch_write_item(RequestItems={table: rows[start : start + 25]})
    return alerts


AGE_BANDS = ("18-24", "25-39", "40+")


def seeded_subgroups(n: int) -> dict[str, str]:
    """The n-th seeded person's fairness subgroups: age bands in turn, every fifth a low kiosk user."""
    return {"age_band": AGE_BANDS[n % len(AGE_BANDS)], "kiosk_use": "low" if n % 5 == 0 else "normal"}


def day_figures_of(
    states: list[PrisonerState], config: AimConfig, establishment: str, confounders: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """A day record as the scorer writes it for these states: everyone amber counted new that day."""
    lights: dict[str, Counter[str]] = defaultdict(Counter)
    for s in states:
        lights[s.wing][s.light] += 1
    thresholds = config.thresholds_for(establishment)
    return {
        "lights": {w: dict(c) for w, c in sorted(lights.items())},
        "new_amber": {w: c["amber"] for w, c in sorted(lights.items()) if c["amber"]},
        "red_line": {
            "value": thresholds.red,
            "amber": thresholds.amber,
            "method": "configured",
            "basis": "configured: no red capacity set",
        },
        "confounders": list(confounders or []),
    }


__all__ = ["SeededAlert", "day_figures_of", "prison_number", "seed_establishment", "seeded_subgroups"]
