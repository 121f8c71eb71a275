"""The red line calibrated to an establishment's capacity, replayed in memory: stored and on every alert."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from aim.config import AimConfig
from aim.service.scoring_run import horizon
from aim_lab.simulate import ScenarioSpec, simulate
from aim_local.memory import InMemoryStack
from aim_local.replay import BatchFile, replay


@pytest.fixture(scope="module")
def replayed() -> tuple[AimConfig, InMemoryStack, list[dict[str, Any]], list[str]]:
    spec = ScenarioSpec(seed=4, prisoners=60, days=35, collapse_fraction=0.1)
    scenario = simulate(spec)
    config = AimConfig(establishments=[spec.establishment], red_capacity_per_1000=5.0)
    alerts: list[dict[str, Any]] = []
    kept: list[InMemoryStack] = []
    batches = [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]
    summary = replay(batches, config, on_alert=alerts.append, keep=kept.append)
    return config, kept[0], alerts, summary.lines()


def test_the_line_in_force_and_its_history_are_stored(replayed):
    config, stack, _, _ = replayed
    meta = stack.state.load_control("LEI").meta
    line = meta["red_line"]
    assert line["method"] == "calibrated"
    assert line["basis"].startswith("calibrated: at most 5 reds per 1,000 over ")
    assert 0.5 * config.thresholds.red <= line["value"] <= 2 * config.thresholds.red
    assert 14 <= len(meta["red_line_history"]) <= config.red_capacity_history_days
    in_custody = [s for s in stack.states("LEI", horizon(config)) if s.in_custody]
    assert in_custody and all(s.red_line == line for s in in_custody)


def test_every_alert_carries_the_line_it_was_raised_against(replayed):
    config, _, alerts, _ = replayed
    assert alerts
    methods = {a["red_line"]["method"] for a in alerts}
    assert "calibrated" in methods and methods <= {"configured", "calibrated"}
    for alert in alerts:
        line = alert["red_line"]
        # static factors lower the line per person, by at most a fifth
        assert 0.8 * line["value"] - 0.01 <= alert["red_threshold"] <= line["value"] + 0.01
        if line["method"] == "configured":
            assert line["value"] == config.thresholds.red
            assert line["basis"].startswith("configured: fewer than 14 full days of history")


def test_a_replay_says_which_line_each_establishment_ended_on(replayed):
    _, stack, _, lines = replayed
    line = stack.state.load_control("LEI").meta["red_line"]
    assert f"red line LEI: {line['value']} ({line['basis']})" in lines


def test_without_collapses_reds_arrive_at_about_the_capacity():
    # Given an establishment where nobody's routine collapses, only ordinary noise
    spec = ScenarioSpec(seed=11, prisoners=120, days=49, collapse_fraction=0.0)
    scenario = simulate(spec)
    capacity = 4.0
    config = AimConfig(establishments=[spec.establishment], red_capacity_per_1000=capacity)
    alerts: list[dict[str, Any]] = []
    batches = [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]
    replay(batches, config, on_alert=alerts.append)
    # When the reds raised against a calibrated line are counted per 1,000 prisoner-days
    calibrated = [a for a in alerts if a["level"] == "red" and a["red_line"]["method"] == "calibrated"]
    assert calibrated, "the line was never calibrated"
    first = min(a["judged_day"] for a in calibrated)
    last = max(a["judged_day"] for a in alerts)
    judged_days = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
    rate = 1000 * len(calibrated) / (spec.prisoners * judged_days)
    # Then the realised rate is within a factor of 1.5 of the capacity
    assert capacity / 1.5 <= rate <= 1.5 * capacity, rate
