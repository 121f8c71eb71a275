"""Per-prisoner derived state: folding facts commutes, and the stored form round-trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
from aim.adapters.state_table import state_from_item, state_item
from aim.domain.activity import Fact
from aim.domain.features import NF
from aim.domain.prisoner import PrisonerState
from aim.service.scoring_run import MIN_GROUP_MEMBERS, ScoringRun
from hypothesis import given, settings
from hypothesis import strategies as st

ORIGIN = date(2026, 10, 1)
H = 56

EVENT_KINDS = {
    "profile": [
        {"date_of_birth": "1990-01-02"},
        {"self_harm_history": True},
        {"self_harm_history": False},
        {"acct_status": "open", "location": "B-2-14"},
        {"acct_status": "none"},
        {"location": "A-1-1"},
    ],
    "reception": [{"location": "C-3-3", "from": "MDI"}, {}],
    "location_change": [{"location": "D-1-2"}, {"location": "B-1-1"}],
    "transfer_out": [{"to": "MDI"}, {}],
    "release": [{}],
    "significant_date": [{"date": "2026-11-03", "kind": "court"}, {"date": "2026-12-25", "kind": "anniversary"}],
    "phone_call": [{"duration_s": 60}],
    "kiosk_login": [{}],
}


@st.composite
def facts(draw) -> list[Fact]:
    n = draw(st.integers(1, 14))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(sorted(EVENT_KINDS)))
        detail = draw(st.sampled_from(EVENT_KINDS[kind]))
        at = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
        out.append(
            Fact(
                "LEI",
                at.date(),
                f"E-{i}",
                kind,
                at,
                draw(st.sampled_from(["K1", "K2", "K3"])),
                "A1234BC",
                json.dumps(detail, sort_keys=True, separators=(",", ":")) if detail else "",
            )
        )
    return out


def fold_all(items: list[Fact]) -> PrisonerState:
    state = PrisonerState.new("LEI", "A1234BC", ORIGIN, H)
    for f in items:
        state.fold(f, f.local_date)
    return state


@settings(max_examples=150, deadline=None)
@given(items=facts(), seed=st.randoms(use_true_random=False))
def test_folding_facts_in_any_order_gives_the_same_stored_state(items, seed):
    shuffled = list(items)
    seed.shuffle(shuffled)
    assert state_item(fold_all(shuffled)) == state_item(fold_all(items))


def test_latest_profile_wins_field_by_field_whatever_the_order():
    early = Fact(
        "LEI",
        date(2026, 11, 1),
        "E-1",
        "profile",
        datetime(2026, 11, 1, 8, tzinfo=UTC),
        "K1",
        "A1234BC",
        '{"acct_status":"open","location":"B-2-14"}',
    )
    late = Fact(
        "LEI",
        date(2026, 11, 2),
        "E-2",
        "profile",
        datetime(2026, 11, 2, 8, tzinfo=UTC),
        "K1",
        "A1234BC",
        '{"acct_status":"none"}',
    )
    for order in ([early, late], [late, early]):
        state = fold_all(order)
        assert state.profile["acct_status"][0] == "none"
        assert state.location == "B-2-14"


def test_movements_decide_custody_by_latest_event():
    reception = Fact(
        "LEI",
        date(2026, 11, 1),
        "E-1",
        "reception",
        datetime(2026, 11, 1, 8, tzinfo=UTC),
        "K1",
        "A1234BC",
        '{"location":"C-3-3"}',
    )
    release = Fact("LEI", date(2026, 11, 5), "E-2", "release", datetime(2026, 11, 5, 8, tzinfo=UTC), "K1", "A1234BC")
    assert fold_all([release, reception]).in_custody is False
    assert fold_all([reception]).in_custody is True
    assert fold_all([reception]).custody_start() == date(2026, 11, 1)
    assert fold_all([reception]).wing == "C"


def test_stored_item_round_trips():
    state = fold_all(
        [
            Fact(
                "LEI",
                date(2026, 11, 1),
                "E-1",
                "profile",
                datetime(2026, 11, 1, 8, tzinfo=UTC),
                "K1",
                "A1234BC",
                '{"date_of_birth":"2001-05-06","self_harm_history":true}',
            ),
        ]
    )
    state.days[3, 5] = 7
    state.light, state.score, state.thresholds = "amber", 4.25, [2.7, 5.4]
    item = state_item(state)
    again = state_from_item(item, H)
    assert state_item(again) == item
    assert again.age_on(date(2026, 11, 20)) == 25


def test_shift_keeps_days_aligned_to_their_dates():
    state = PrisonerState.new("LEI", "A1234BC", ORIGIN, H)
    state.set_day(ORIGIN + timedelta(days=10), np.full(NF, 3, dtype=np.int16))
    state.shift_to(ORIGIN + timedelta(days=4))
    assert int(state.days[6, 0]) == 3
    assert int(state.days.sum()) == 3 * NF
    state.shift_to(ORIGIN + timedelta(days=4 + H))  # everything falls off
    assert int(state.days.sum()) == 0


def test_horizon_change_keeps_the_latest_days():
    state = PrisonerState.new("LEI", "A1234BC", ORIGIN, H)
    state.set_day(ORIGIN + timedelta(days=H - 1), np.ones(NF, dtype=np.int16))
    resized = state_from_item(state_item(state), 30)
    assert resized.days.shape == (30, NF)
    assert resized.origin + timedelta(days=29) == ORIGIN + timedelta(days=H - 1)
    assert int(resized.days[-1].sum()) == NF


def _sig(event_id: str, kind: str, hour: int) -> Fact:
    return Fact(
        "LEI",
        date(2026, 11, 1),
        event_id,
        "significant_date",
        datetime(2026, 11, 1, hour, tzinfo=UTC),
        "K1",
        "A1234BC",
        json.dumps({"date": "2026-11-20", "kind": kind}, separators=(",", ":")),
    )


def test_significant_date_corrected_later_wins_whatever_the_order():
    court, corrected = _sig("E-1", "court", 8), _sig("E-2", "parole", 9)
    assert state_item(fold_all([corrected, court])) == state_item(fold_all([court, corrected]))
    assert fold_all([corrected, court]).significant_date_near(date(2026, 11, 20), 0) == "parole"


def test_folding_the_same_facts_again_gives_the_same_state():
    day = [
        Fact("LEI", date(2026, 11, 1), "E-1", "kiosk_login", datetime(2026, 11, 1, 8, tzinfo=UTC), "K1", "A1234BC"),
        Fact("LEI", date(2026, 11, 1), "E-2", "kiosk_login", datetime(2026, 11, 1, 9, tzinfo=UTC), "K1", "A1234BC"),
    ]
    once = fold_all(day)
    twice = fold_all(day)
    for f in day:  # the day is re-read after a late batch and folded again
        twice.fold(f, f.local_date)
    assert state_item(twice) == state_item(once)


def test_state_of_someone_released_expires_with_their_facts_and_in_custody_does_not():
    # Given a prisoner in custody and then released on 1 Nov, with 180 days' retention
    state = PrisonerState.new("LEI", "A1234BC", date(2026, 10, 1), 10)
    state.retention_days = 180
    state.fold(
        Fact("LEI", date(2026, 10, 2), "E-1", "kiosk_login", datetime(2026, 10, 2, 8, tzinfo=UTC), "K1", "A1234BC"),
        date(2026, 10, 2),
    )
    assert "expires_at" not in state_item(state)
    state.fold(
        Fact("LEI", date(2026, 11, 1), "E-2", "release", datetime(2026, 11, 1, 9, tzinfo=UTC), "K1", "A1234BC"),
        date(2026, 11, 1),
    )
    # Then the stored state carries a TTL 180 days after the release day
    expires = datetime.fromtimestamp(state_item(state)["expires_at"], tz=UTC)
    assert expires.date() == date(2026, 11, 1) + timedelta(days=180)


def test_same_day_groups_are_kiosks_with_enough_users_else_the_wing() -> None:
    # Given nine prisoners on a shared wing-A kiosk, and three wing-B prisoners on in-cell devices of their own
    def person(pid: str, kiosk: str, location: str) -> PrisonerState:
        s = PrisonerState.new("LEI", pid, date(2026, 3, 1), 10)
        s.kiosks = {kiosk: "2026-03-05"}
        s.profile["location"] = [location, "2026-03-01T00:00:00Z|e"]
        return s

    shared = [person(f"A{i:04d}AA", "KA", f"A-1-{i:02d}") for i in range(MIN_GROUP_MEMBERS + 1)]
    own = [person(f"B{i:04d}BB", f"CELL-{i}", f"B-2-{i:02d}") for i in range(3)]
    # When grouped for the same-day ratio
    groups = ScoringRun._groups(shared + own).tolist()
    # Then the kiosk users form one group and the in-cell device users are grouped by their wing
    assert len(set(groups[: len(shared)])) == 1
    assert len(set(groups[len(shared) :])) == 1
    assert groups[0] != groups[-1]


def test_stored_day_counts_are_compressed() -> None:
    # Given eight weeks of ordinary counts
    rng = np.random.default_rng(3)
    state = PrisonerState.new("LEI", "A1234BC", date(2026, 3, 1), 56)
    state.days = rng.poisson(0.6, size=(56, NF)).astype(np.int16)
    item = state_item(state)
    # Then the stored counts are far smaller than the raw array (a state fits one 1 KB write unit)
    assert len(item["days"]) < state.days.nbytes / 3
    assert state_from_item(item, 56).days.tolist() == state.days.tolist()
