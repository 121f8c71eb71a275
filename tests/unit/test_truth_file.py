"""Reading a scenario's truth.json (aim.scenario-truth/1) for ``aim evaluate --scenario``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aim_lab.truth_file import TruthError, load_truth


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "aim.scenario-truth/1",
        "seed": 7,
        "establishment": "HMW",
        "timezone": "Europe/London",
        "history_start": "2026-02-02",
        "window_start": "2026-03-02",
        "window_end": "2026-04-26",
        "prisoners": [
            {
                "prisoner_id": "A1234BC",
                "date_of_birth": "2000-05-01",
                "wing": "B",
                "in_custody_from": "2025-01-01",
                "left_on": None,
                "left_how": None,
                "low_kiosk_use": True,
                "self_harm_history": True,
                "acct": "open",
            },
            {
                "prisoner_id": "B2345CD",
                "date_of_birth": "1970-01-01",
                "wing": "C",
                "in_custody_from": "2026-03-20",
                "left_on": "2026-04-10",
                "left_how": "transfer",
                "low_kiosk_use": False,
                "self_harm_history": False,
                "acct": "none",
            },
        ],
        "collapses": [
            {
                "prisoner_id": "B2345CD",
                "onset": "2026-04-01T09:00:00+01:00",
                "speed": "gradual",
                "depth": "partial",
                "factors": ["work", "self_care", "distress"],
            },
        ],
        "confounders": [
            {
                "kind": "lockdown",
                "scope": "establishment",
                "start": "2026-03-10T00:00:00Z",
                "end": "2026-03-11T00:00:00Z",
            },
            {
                "kind": "regime_change",
                "scope": "wing:C",
                "start": "2026-03-12T00:00:00Z",
                "end": "2026-03-19T00:00:00Z",
            },
            {
                "kind": "kiosk_outage",
                "scope": "kiosk:C-K1",
                "start": "2026-03-14T00:00:00Z",
                "end": "2026-03-15T00:00:00Z",
            },
            {
                "kind": "staff_shortage",
                "scope": "wing:B",
                "start": "2026-03-16T00:00:00Z",
                "end": "2026-03-17T00:00:00Z",
            },
        ],
    }
    doc.update(changes)
    return doc


def _write(tmp_path: Path, doc: Any) -> Path:
    (tmp_path / "truth.json").write_text(json.dumps(doc))
    return tmp_path


def test_truth_maps_window_prisoners_collapses_and_confounders(tmp_path: Path) -> None:
    # Given a truth file with a long-stay and a newly arrived prisoner
    truth = load_truth(_write(tmp_path, _doc()))
    # Then the window is the figures' period
    assert truth.spec.establishment == "HMW"
    assert truth.spec.start == date(2026, 3, 2) and truth.spec.days == 56
    assert truth.window_from == datetime(2026, 3, 2, tzinfo=UTC)  # GMT in early March
    long_stay, arrival = truth.prisoners
    assert long_stay.arrival_at is None and long_stay.usage == "low" and long_stay.acct_status == "open"
    assert arrival.arrival_at is not None and arrival.arrival_at.date() == date(2026, 3, 20)
    assert arrival.departure_kind == "transfer_out"
    assert arrival.departure_at is not None and arrival.departure_at.isoformat() == "2026-04-10T00:00:00+01:00"
    # And the collapse is expressed in the evaluation's factors
    (collapse,) = truth.collapses
    assert collapse.factors == ["activities", "canteen", "meals"]
    assert collapse.rises == ["healthcare_request"]
    assert collapse.speed == "gradual" and collapse.severity == "partial"
    assert collapse.new_arrival is True  # 12 days after reception
    # And confounders keep their scope
    kinds = [(c.kind, c.wing, c.kiosk_id, c.note) for c in truth.confounders]
    assert kinds == [
        ("lockdown_establishment", None, None, "lockdown"),
        ("regime_change", "C", None, "regime_change"),
        ("kiosk_outage", None, "C-K1", "kiosk_outage"),
        ("regime_change", "B", None, "staff_shortage"),
    ]


def test_wing_lockdown_is_a_wing_confounder(tmp_path: Path) -> None:
    doc = _doc(
        confounders=[
            {"kind": "lockdown", "scope": "wing:D", "start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z"}
        ]
    )
    (c,) = load_truth(_write(tmp_path, doc)).confounders
    assert (c.kind, c.wing) == ("lockdown_wing", "D")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_doc(schema="something/2"), "schema"),
        (_doc(establishment="hmw"), "establishment"),
        (_doc(window_end="2026-03-01"), "window_end is before window_start"),
        (_doc(window_end="2026-03-04"), "at least 7"),
        (_doc(collapses=[{"prisoner_id": "Z9999ZZ", "onset": "2026-04-01T09:00:00+01:00"}]), "not in the prisoners"),
        (_doc(collapses=[{"prisoner_id": "A1234BC", "onset": "2026-04-01T09:00:00"}]), "without an offset"),
        (
            _doc(collapses=[{"prisoner_id": "A1234BC", "onset": "2026-04-01T09:00:00Z"}] * 2),
            "at most one collapse",
        ),
        (
            _doc(confounders=[{"kind": "solar_flare", "start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z"}]),
            "solar_flare",
        ),
        (_doc(prisoners=[_doc()["prisoners"][0]] * 2), "listed twice"),
        ([1, 2, 3], "problem"),
    ],
)
def test_bad_truth_is_refused_with_the_reason(tmp_path: Path, doc: Any, message: str) -> None:
    with pytest.raises(TruthError, match=message):
        load_truth(_write(tmp_path, doc))


def test_missing_or_unreadable_truth_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(TruthError, match="truth.json not found"):
        load_truth(tmp_path)
    (tmp_path / "truth.json").write_text("{not json")
    with pytest.raises(TruthError, match="not readable JSON"):
        load_truth(tmp_path)
