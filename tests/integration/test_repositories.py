"""The storage ports behave the same on DynamoDB (moto) and in memory: packs and change sets, the
lease, alert records and the outbox, states written only when they change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.state_table import DynamoStateRepository
from aim.domain.activity import Fact, pack_day
from aim.domain.prisoner import PrisonerState
from aim_local.memory import InMemoryActivityRepository, InMemoryStateRepository
from aim_local.stack import REGION, create_table

DAY = date(2026, 11, 20)


@pytest.fixture(params=["memory", "dynamodb"])
def repos(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    if request.param == "memory":
        yield InMemoryActivityRepository(), InMemoryStateRepository()
        return
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, "activity")
        create_table(ddb, "state")
        yield DynamoActivityRepository("activity", ddb), DynamoStateRepository("state", ddb)


def _fact(n: int, batch: str, day: date = DAY) -> Fact:
    kiosk = batch.split("/")[0]
    at = datetime(day.year, day.month, day.day, 8, n, tzinfo=UTC)
    return Fact("LEI", day, f"E-{n}", "kiosk_login", at, kiosk, "A1234BC", "", batch)


def test_packs_are_stored_once_and_the_day_reads_each_event_once(repos) -> None:
    activity, _ = repos
    # Given two batches that share one event, on one day
    first = pack_day("K1", "B1", DAY, [_fact(1, "K1/B1"), _fact(2, "K1/B1")], 180)
    second = pack_day("K2", "B7", DAY, [_fact(2, "K2/B7"), _fact(3, "K2/B7")], 180)
    # When the first is stored twice and the second once
    assert activity.put_packs_if_absent("LEI", [first]) == [first]
    assert activity.put_packs_if_absent("LEI", [first]) == []
    assert activity.put_packs_if_absent("LEI", [second]) == [second]
    # Then the day changed (two packs), and its facts are the three events, the shared one from K1/B1
    assert activity.changed_days("LEI", [DAY, date(2026, 11, 19)], {}) == {DAY: 2}
    assert activity.changed_days("LEI", [DAY], {DAY: 2}) == {}
    facts = activity.facts_of_day("LEI", DAY)
    assert [(f.event_id, f.batch) for f in facts] == [("E-1", "K1/B1"), ("E-2", "K1/B1"), ("E-3", "K2/B7")]
    assert activity.facts_of_day("MDI", DAY) == []


def test_the_lease_is_held_until_it_expires_or_is_released(repos) -> None:
    _, state = repos
    assert state.take_lease("LEI", "run-1", 1_000, 900)
    assert not state.take_lease("LEI", "run-2", 1_899, 900)  # still held
    assert state.take_lease("LEI", "run-3", 1_901, 900)  # the first run died: its lease expired
    state.release_lease("LEI")
    assert state.take_lease("LEI", "run-4", 1_902, 900)
    assert state.take_lease("MDI", "run-5", 1_902, 900)  # one lease per establishment


def test_an_alert_is_recorded_once_and_stays_in_the_outbox_until_sent(repos) -> None:
    _, state = repos
    message = {"alert_id": "aim-lei-0123456789abcdef", "level": "red", "prisoner_id": "A1234BC"}
    assert state.record_alert("LEI", message, 2_000_000_000)
    assert not state.record_alert("LEI", message, 2_000_000_000)  # a repeated run finds the record
    assert state.pending_alerts("LEI") == [message]
    state.mark_sent("LEI", message["alert_id"])
    assert state.pending_alerts("LEI") == []
    assert not state.record_alert("LEI", message, 2_000_000_000)  # still recorded after sending


def test_states_round_trip_and_only_changed_ones_are_written(repos) -> None:
    _, state = repos
    # Given two prisoners' states saved with the run's record
    a = PrisonerState.new("LEI", "A1234BC", DAY, 10)
    b = PrisonerState.new("LEI", "B2345CD", DAY, 10)
    a.days[3] = 2
    a.light, a.score = "amber", 4.25
    assert state.save_states("LEI", [a, b]) == 2
    state.save_meta("LEI", {"loaded": {"2026-11-20": 1}})
    # When a run loads them and changes one
    loaded = state.load_states("LEI", 10)
    assert sorted(loaded) == ["A1234BC", "B2345CD"]
    assert np.array_equal(loaded["A1234BC"].days, a.days) and loaded["A1234BC"].light == "amber"
    loaded["B2345CD"].light = "green"
    # Then only that one is written, and the next load sees it
    assert state.save_states("LEI", loaded.values()) == 1
    assert state.load_states("LEI", 10)["B2345CD"].light == "green"
    control = state.load_control("LEI")
    assert json.dumps(control.meta) == json.dumps({"loaded": {"2026-11-20": 1}}) and control.pending == []


def test_board_is_saved_with_the_states_and_round_trips(repos) -> None:
    _, state = repos
    # Given no board saved yet
    assert state.load_board("LEI") is None
    # When a run saves three states: one red with an open alert, one on a wing, one released
    red = PrisonerState.new("LEI", "A1234BC", DAY, 10)
    red.light, red.score, red.light_since = "red", 7.4567, "2026-11-20T07:00:00+00:00"
    red.open_alert = {"alert_id": "LEI-7f3a", "raised_at": "2026-11-20T07:00:00+00:00"}
    red.profile = {"location": ["B-2-07", "2026-11-01T00:00:00Z|seed"]}
    quiet = PrisonerState.new("LEI", "B2345CD", DAY, 10)
    gone = PrisonerState.new("LEI", "C3456DE", DAY, 10)
    gone.movement = ["release", "2026-11-18T10:00:00Z", "2026-11-18"]
    assert state.save_states("LEI", [red, quiet, gone]) == 3
    # Then the board has everyone in custody, with what the board shows of them
    assert state.load_board("LEI") == [
        ["A1234BC", "B", "B-2-07", "red", 7.457, "2026-11-20T07:00:00+00:00", "LEI-7f3a"],
        ["B2345CD", "?", None, "insufficient", 0.0, None, None],
    ]
    assert state.load_board("MDI") is None
    # And a later run's change is on it
    loaded = state.load_states("LEI", 10)
    loaded["B2345CD"].light = "green"
    assert state.save_states("LEI", loaded.values()) == 1
    assert [row[3] for row in state.load_board("LEI")] == ["red", "green"]


def test_a_board_too_large_for_one_item_is_split_and_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from aim.adapters import state_table
    from aim.adapters.state_table import BOARD_SK, board_items, board_rows_of_items

    # Given an item's share of compressed bytes far smaller than 3,000 prisoners' board
    monkeypatch.setattr(state_table, "BOARD_PART_BYTES", 4_000)
    states = []
    for n in range(3000):
        s = PrisonerState.new("LEI", f"A{n:04d}BC", DAY, 10)
        s.profile = {"location": [f"{'ABCD'[n % 4]}-{n % 7}-{n % 31:02d}", "x"]}
        states.append(s)
    # When it is made into items
    items = board_items("LEI", states)
    # Then it takes more than one, each within the share, and reads back whole and in order
    assert len(items) > 1 and items[0]["sk"] == BOARD_SK and items[0]["parts"] == len(items)
    assert all(len(i["b"]) <= 4_000 for i in items)
    rows = board_rows_of_items(reversed(items))
    assert [r[0] for r in rows] == [f"A{n:04d}BC" for n in range(3000)]
    assert rows[5][1:3] == ["B", "B-5-05"]


def test_the_board_reader_reads_a_board_saved_in_several_items(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from aim.adapters import state_table
    from aim.adapters.board_state import StateTableBoardReader
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setattr(state_table, "BOARD_PART_BYTES", 1_000)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, "state")
        state = DynamoStateRepository("state", ddb)
        # Given a run that saved 400 prisoners' board in several items, and its record
        states = [PrisonerState.new("LEI", f"A{n:04d}BC", DAY, 10) for n in range(400)]
        for n, s in enumerate(states):
            s.light = "green" if n % 3 else "amber"
        state.save_states("LEI", states)
        state.save_meta("LEI", {"run": 1})
        assert len(state.table.query("LEI#BOARD")) > 1
        # When the board is read
        rows = StateTableBoardReader("state", 10, ddb).board("LEI")
    # Then it is everyone's row, as saved
    assert [(r.prisoner_id, r.light) for r in rows] == [(s.prisoner_id, s.light) for s in states]
