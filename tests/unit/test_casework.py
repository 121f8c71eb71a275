"""The alert lifecycle: open -> acknowledged -> closed, with interventions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from aim.domain import casework
from aim.domain.access import AccessDeniedError, NotOnCaseloadError, Principal
from aim.domain.board import BoardRow, board_order, routine_against_usual
from aim.domain.casework import AlertCase, InterventionInput
from aim.domain.features import CHANNELS, NF, F
from aim.service.staff import outcome_figures
from pydantic import ValidationError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ENTRY = InterventionInput(action="welfare_check", engaged=True, outcome="no_concern", useful="unsure")


def new_case() -> AlertCase:
    return AlertCase.opened("aim-lei-1", "LEI", "A1234BC")


def test_acknowledge_takes_an_open_alert_and_bumps_the_version() -> None:
    taken = casework.acknowledge(new_case(), "amy", NOW)
    assert (taken.status, taken.acknowledged_by, taken.acknowledged_at, taken.version) == (
        "acknowledged",
        "amy",
        NOW,
        1,
    )


def test_acknowledging_again_yourself_changes_nothing() -> None:
    taken = casework.acknowledge(new_case(), "amy", NOW)
    assert casework.acknowledge(taken, "amy", NOW + timedelta(minutes=5)) is taken


def test_someone_else_acknowledging_is_told_who_holds_it() -> None:
    taken = casework.acknowledge(new_case(), "amy", NOW)
    with pytest.raises(casework.AlertHeldError) as held:
        casework.acknowledge(taken, "ben", NOW)
    assert (held.value.held_by, held.value.held_at) == ("amy", NOW)


def test_recording_on_an_open_alert_takes_it_for_the_recorder() -> None:
    case, stored = casework.record_intervention(new_case(), ENTRY, "ben", NOW)
    assert case.status == "acknowledged" and case.acknowledged_by == "ben"
    assert stored.recorded_by == "ben" and stored.recorded_at == NOW
    assert case.interventions == (stored,)


def test_the_same_idempotency_key_gives_the_same_record() -> None:
    once, first = casework.record_intervention(new_case(), ENTRY, "ben", NOW, "key")
    twice, second = casework.record_intervention(once, ENTRY, "ben", NOW + timedelta(seconds=3), "key")
    assert twice is once and second == first


def test_close_needs_an_intervention() -> None:
    with pytest.raises(casework.NoInterventionError):
        casework.close(casework.acknowledge(new_case(), "amy", NOW), "amy", NOW)


def test_closed_alert_refuses_more_and_closing_again_changes_nothing() -> None:
    case, _ = casework.record_intervention(new_case(), ENTRY, "amy", NOW)
    closed = casework.close(case, "amy", NOW)
    assert closed.status == "closed" and closed.closed_by == "amy"
    assert casework.close(closed, "ben", NOW) is closed
    with pytest.raises(casework.AlertClosedError):
        casework.record_intervention(closed, ENTRY, "amy", NOW)
    with pytest.raises(casework.AlertClosedError):
        casework.acknowledge(closed, "amy", NOW)


@pytest.mark.parametrize(
    "bad",
    [
        {"action": "hug"},
        {"engaged": "yes"},
        {"outcome": "fine"},
        {"useful": "maybe"},
        {"note": "x" * 1001},
        {"next_review": "soon"},
        {"recorded_by": "someone"},
    ],
)
def test_intervention_input_refuses_bad_fields(bad: dict[str, object]) -> None:
    body = {"action": "conversation", "engaged": False, "outcome": "not_seen", "useful": "no", **bad}
    with pytest.raises(ValidationError):
        InterventionInput.model_validate(body)


def test_intervention_input_keeps_optional_fields() -> None:
    entry = InterventionInput.model_validate({**ENTRY.model_dump(), "note": "a" * 1000, "next_review": "2026-12-24"})
    assert entry.next_review == date(2026, 12, 24)


def test_roles_and_caseload_from_groups() -> None:
    who = Principal.from_groups("amy", ["LEI-officer", "MDI-governor", "LEI-governor", "not-a-group", "lei-officer"])
    assert who.caseload == ["LEI", "MDI"]
    assert who.role_at("LEI") == "governor"  # the higher of two roles
    with pytest.raises(NotOnCaseloadError):
        who.can_see("BWI")
    with pytest.raises(AccessDeniedError):
        who.can_act("MDI")
    with pytest.raises(AccessDeniedError):
        Principal.from_groups("ben", ["LEI-officer"]).can_oversee("LEI")


def test_board_order_reds_then_ambers_then_insufficient_then_greens() -> None:
    rows = [
        BoardRow("G1", "A", None, "green", 1.0, None, None),
        BoardRow("I1", "A", None, "insufficient", 0.0, None, None),
        BoardRow("R1", "A", None, "red", 6.5, None, "x"),
        BoardRow("R2", "A", None, "red", 9.0, None, "y"),
        BoardRow("A1", "A", None, "amber", 4.5, None, None),
    ]
    assert [r.prisoner_id for r in board_order(rows)] == ["R2", "R1", "A1", "I1", "G1"]


def test_routine_against_usual_counts_and_the_mean_of_the_days_before() -> None:
    origin = date(2026, 10, 1)
    days = np.zeros((60, NF), dtype=np.int16)
    days[:, F["phone_call"]] = 2
    days[-5:, F["phone_call"]] = 0
    series = routine_against_usual(days, origin, origin + timedelta(days=59))
    phone = next(s for s in series if s.signal == "phone")
    assert len(phone.days) == 42 and phone.days[-1] == "2026-11-29"
    assert phone.counts[-5:] == [0] * 5 and phone.counts[0] == 2
    assert phone.usual[-6] == 2.0 and phone.usual[-1] == pytest.approx(2 * 24 / 28, abs=0.01)
    assert {s.signal for s in series} == {"phone"}  # habits never seen are left out
    assert len(CHANNELS) > len(series)


def test_routine_starts_when_aim_first_saw_the_person() -> None:
    origin = date(2026, 10, 1)
    days = np.zeros((60, NF), dtype=np.int16)
    days[30:, F["phone_call"]] = 3
    series = routine_against_usual(days, origin, origin + timedelta(days=59), first_day=origin + timedelta(days=30))
    phone = series[0]
    assert phone.days[0] == "2026-10-31" and len(phone.days) == 30
    assert phone.usual[:7] == [None] * 7 and phone.usual[7] == 3.0  # the usual never counts days before


def test_outcome_figures_by_wing() -> None:
    from aim.domain.board import AlertRecord

    records = [
        AlertRecord("a1", "LEI", "A1111AA", NOW.isoformat(), {"location": "A-1-01"}),
        AlertRecord("a2", "LEI", "B2222BB", NOW.isoformat(), {"location": "B-1-01"}),
    ]
    case = casework.acknowledge(AlertCase.opened("a1", "LEI", "A1111AA"), "amy", NOW + timedelta(minutes=30))
    case, _ = casework.record_intervention(case, ENTRY, "amy", NOW + timedelta(minutes=90))
    figures = outcome_figures(records, {"a1": case})
    assert figures["total"]["alerts_raised"] == 2
    assert figures["wings"]["A"]["median_minutes_to_acknowledge"] == 30.0
    assert figures["wings"]["A"]["median_minutes_to_first_intervention"] == 90.0
    assert figures["wings"]["B"]["status"] == {"open": 1, "acknowledged": 0, "closed": 0}
    assert figures["total"]["useful"]["unsure"] == 1
