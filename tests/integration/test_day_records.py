"""What the scorer records per judged day for the governor's view, replayed in memory: counts of
people in each light and newly amber by wing, the red line in force, the confounders it masked;
and the fairness subgroups kept with each alert record, apart from the message."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim.adapters.board_state import StateTableBoardReader
from aim.adapters.state_table import DynamoStateRepository
from aim.config import AimConfig
from aim.domain.outcomes import CONFOUNDER_KINDS, LIGHTS
from aim.service.scoring_run import horizon
from aim_lab.simulate import Scenario, ScenarioSpec, simulate
from aim_local.memory import InMemoryStack, InMemoryStateRepository
from aim_local.replay import BatchFile, replay
from aim_local.stack import REGION, create_table

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


# --- the same records in memory and on DynamoDB -------------------------------------------------
@pytest.fixture(params=["memory", "dynamodb"])
def stored(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """(save_day, read_days, record_alert, alert subgroups) over one store."""
    if request.param == "memory":
        state = InMemoryStateRepository()
        yield state, state.load_days, lambda: state.alert_subgroups("LEI")
        return
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, "state")
        reader = StateTableBoardReader("state", 30, client=ddb)

        def groups() -> dict[str, dict[str, str]]:
            records = reader.alerts_raised("LEI", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
            return {r.alert_id: r.subgroups for r in records}

        yield DynamoStateRepository("state", ddb), reader.day_records, groups


def test_a_days_figures_are_set_apart_and_read_back_by_range(stored) -> None:
    state, read_days, _ = stored
    lights = {"A": {"amber": 1, "green": 4}}
    state.save_day("LEI", date(2026, 11, 29), {"lights": lights, "new_amber": {"A": 1}, "red_line": {"value": 6.0}})
    state.save_day("LEI", date(2026, 11, 30), {"lights": lights, "new_amber": {}, "red_line": {"value": 6.0}})
    # the open day judged on: the closed day before it gets its confounders, its lights kept
    state.save_day("LEI", date(2026, 11, 29), {"confounders": [{"kind": "routine_drop", "wing": "all"}]})
    state.save_day("MDI", date(2026, 11, 29), {"lights": {"B": {"green": 1}}})
    days = read_days("LEI", date(2026, 11, 1), date(2026, 11, 29))
    assert days == [
        {
            "day": "2026-11-29",
            "lights": lights,
            "new_amber": {"A": 1},
            "red_line": {"value": 6.0},
            "confounders": [{"kind": "routine_drop", "wing": "all"}],
        }
    ]
    assert [d["day"] for d in read_days("LEI", date(2026, 11, 29), date(2026, 12, 31))] == ["2026-11-29", "2026-11-30"]


def test_subgroups_are_kept_with_the_alert_record_not_in_its_message(stored) -> None:
    state, _, groups = stored
    message = {
        "schema": "aim.alert/1",
        "alert_id": "aim-lei-1",
        "level": "red",
        "establishment": "LEI",
        "prisoner_id": "A1234BC",
        "raised_at": "2026-11-30T07:00:00+00:00",
        "reasons": [],
    }
    assert state.record_alert("LEI", message, 2_000_000_000, {"age_band": "40+", "kiosk_use": "low"})
    assert groups() == {"aim-lei-1": {"age_band": "40+", "kiosk_use": "low"}}
    assert "kiosk_use" not in json.dumps(state.pending_alerts("LEI"))


def test_judging_open_days_records_lights_on_today_and_confounders_on_the_closed_day() -> None:
    spec = ScenarioSpec(seed=5, prisoners=30, days=21)
    scenario = simulate(spec)
    config = AimConfig(establishments=[spec.establishment], judge_open_days=True)
    kept: list[InMemoryStack] = []
    replay([BatchFile(b.key, b.body, b.created_at) for b in scenario.batches], config, keep=kept.append)
    days = {d["day"]: d for d in days_of(kept[0])}
    meta = kept[0].state.load_control("LEI").meta
    today, closed = days[meta["last_day"]], days[meta["judged_day"]]
    assert meta["last_day"] > meta["judged_day"]
    assert "lights" in today and "confounders" not in today  # an open day is not masked
    assert "lights" in closed and "confounders" in closed  # judged while open, then its confounders
