"""What the scorer records per judged day for the governor's view, replayed in memory: counts of
people in each light and newly amber by wing, the red line in force, the confounders it masked;
and the fairness subgroups kept with each alert record, apart from the message."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim.config import AimConfig
from aim.domain.outcomes import CONFOUNDER_KINDS, LIGHTS
from aim.service.scoring_run import horizon
from aim_lab.simulate import Scenario, ScenarioSpec, simulate
from aim_local.memory import InMemoryStack
from aim_local.replay import BatchFile, replay

PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def replayed() -> tuple[Scenario, AimConfig, InMemoryStack, list[dict[str, Any]]]:
    spec = ScenarioSpec(seed=4, prisoners=60, days=35, collapse_fraction=0.1)
    scenario = simulate(spec)
    config = AimConfig(establishments=[spec.establishment], red_capacity_per_1000=5.0)
    alerts: list[dict[str, Any]] = []
    kept: list[InMemoryStack] = []
    replay([BatchFile(b.key, b.body, b.created_at) for b in scenario.batches], config, alerts.append, keep=kept.append)
    return scenario, config, kept[0], alerts


def days_of(stack: InMemoryStack) -> list[dict[str, Any]]:
    return stack.state.load_days("LEI", date(2000, 1, 1), date(2100, 1, 1))


def test_the_last_day_holds_the_boards_lights_by_wing_and_the_line_in_force(replayed):
    _, config, stack, _ = replayed
    last = days_of(stack)[-1]
    meta = stack.state.load_control("LEI").meta
    assert last["day"] == meta["last_day"]
    board = Counter((s.wing, s.light) for s in stack.states("LEI", horizon(config)) if s.in_custody)
    recorded = Counter({(w, light): n for w, c in last["lights"].items() for light, n in c.items()})
    assert recorded == board
    assert last["red_line"] == meta["red_line"]
    for wing, n in last["new_amber"].items():
        assert 0 < n <= last["lights"][wing]["amber"]


def test_every_judged_day_is_recorded_once_with_lights_for_everyone_scored(replayed):
    _, _, stack, _ = replayed
    days = days_of(stack)
    assert len(days) >= 14
    judged = [date.fromisoformat(d["day"]) for d in days]
    assert judged == [judged[0] + timedelta(days=n) for n in range(len(judged))]
    assert all(set(c) <= set(LIGHTS) for d in days for c in d["lights"].values())
    methods = {d["red_line"]["method"] for d in days}
    assert methods == {"configured", "calibrated"}  # calibrated once there is history enough


def local_day(moment: Any) -> str:
    return str(moment.astimezone(LONDON).date().isoformat())


def test_a_wing_lockdown_an_outage_and_cancellations_are_recorded_on_their_days(replayed):
    scenario, _, stack, _ = replayed
    found = {(d["day"], c["kind"], c["wing"], c.get("detail")) for d in days_of(stack) for c in d["confounders"]}
    wing_lockdown = next(c for c in scenario.confounders if c.kind == "lockdown_wing")
    assert (local_day(wing_lockdown.start), "routine_drop", wing_lockdown.wing) in {f[:3] for f in found}
    outage = next(c for c in scenario.confounders if c.kind == "kiosk_outage")
    outage_days = {d for d, kind, _, detail in found if kind == "kiosk_outage" and detail == outage.kiosk_id}
    assert outage_days and outage_days <= {local_day(outage.start), local_day(outage.end)}
    cancelled = next(c for c in scenario.confounders if c.kind == "activities_cancelled")
    assert (local_day(cancelled.start), "activities_cancelled") in {f[:2] for f in found}
    assert {kind for _, kind, _, _ in found} <= set(CONFOUNDER_KINDS)


def test_day_records_hold_no_prison_numbers(replayed):
    _, _, stack, _ = replayed
    assert not PRISON_NUMBER.search(json.dumps(days_of(stack)))


def test_every_alert_record_keeps_the_persons_subgroups_and_no_message_carries_them(replayed):
    _, _, stack, alerts = replayed
    assert alerts
    groups = stack.state.alert_subgroups("LEI")
    assert set(groups) == set(stack.state.alert_records("LEI"))
    for g in groups.values():
        assert g["age_band"] in ("18-24", "25-39", "40+", "unknown")
        assert g["kiosk_use"] in ("low", "normal")
    for message in alerts:
        assert "age_band" not in json.dumps(message) and "kiosk_use" not in json.dumps(message)
