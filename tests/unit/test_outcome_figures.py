"""The governor's figures against a small fixture worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase, Intervention
from aim.domain.outcomes import figures_csv, percentile_90, weeks_between
from aim.service.staff import outcome_figures

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def record(alert_id: str, location: str, raised: datetime) -> AlertRecord:
    message = {
        "alert_id": alert_id,
        "establishment": "LEI",
        "prisoner_id": f"P{alert_id}",
        "raised_at": raised.isoformat(),
        "location": location,
    }
    return AlertRecord.from_message(message)


def intervention(n: int, at: datetime, outcome: str, useful: str) -> Intervention:
    return Intervention(
        action="welfare_check",
        engaged=True,
        outcome=outcome,  # type: ignore[arg-type]
        useful=useful,  # type: ignore[arg-type]
        intervention_id=f"i{n}",
        recorded_by="officer",
        recorded_at=at,
    )


def fixture() -> tuple[list[AlertRecord], dict[str, AlertCase]]:
    """Four alerts: A-wing three (two in week 1, one in week 2), B-wing one in week 2.

    a1: acknowledged after 10 min, intervention at 30 min (support_given, useful yes), closed.
    a2: acknowledged after 20 min, intervention at 90 min (no_concern, useful no), then another.
    a3: raised 2026-11-09 09:00, never acknowledged: open 7 days (10080 min) at NOW.
    b1: acknowledged after 40 min, no intervention.
    """
    a1 = record("a1", "A-1-01", T0)
    a2 = record("a2", "A-2-03", T0 + timedelta(days=2))
    a3 = record("a3", "A-3-01", T0 + timedelta(days=7))
    b1 = record("b1", "B-1-01", T0 + timedelta(days=8))
    cases = {
        "a1": AlertCase(
            "a1",
            "LEI",
            "Pa1",
            "closed",
            "o",
            T0 + timedelta(minutes=10),
            "o",
            T0 + timedelta(hours=1),
            (intervention(1, T0 + timedelta(minutes=30), "support_given", "yes"),),
        ),
        "a2": AlertCase(
            "a2",
            "LEI",
            "Pa2",
            "acknowledged",
            "o",
            a2_at(20),
            None,
            None,
            (
                intervention(3, a2_at(200), "escalated", "unsure"),
                intervention(2, a2_at(90), "no_concern", "no"),
            ),
        ),
        "b1": AlertCase("b1", "LEI", "Pb1", "acknowledged", "o", T0 + timedelta(days=8, minutes=40)),
    }
    return [a1, a2, a3, b1], cases


def a2_at(minutes: int) -> datetime:
    return T0 + timedelta(days=2, minutes=minutes)


def test_figures_match_the_hand_worked_fixture() -> None:
    records, cases = fixture()
    weeks = weeks_between(date(2026, 11, 2), date(2026, 11, 15))
    figures = outcome_figures(records, cases, weeks, NOW)
    total, a, b = figures["total"], figures["wings"]["A"], figures["wings"]["B"]
    assert figures["weeks"] == ["2026-11-02", "2026-11-09"]
    assert total["alerts_raised"] == 4
    assert total["weeks"] == {"2026-11-02": 2, "2026-11-09": 2}
    assert a["weeks"] == {"2026-11-02": 2, "2026-11-09": 1} and b["weeks"] == {"2026-11-02": 0, "2026-11-09": 1}
    assert total["status"] == {"open": 1, "acknowledged": 2, "closed": 1}
    # acknowledged after 10, 20, 40 minutes: median 20; p90 = 20 + 0.8 * (40 - 20) = 36
    assert total["median_minutes_to_acknowledge"] == 20.0
    assert total["p90_minutes_to_acknowledge"] == 36.0
    # first interventions after 30 and 90 minutes (a2's first is the 90-minute one): median 60, p90 84
    assert total["median_minutes_to_first_intervention"] == 60.0
    assert total["p90_minutes_to_first_intervention"] == 84.0
    assert total["longest_open_minutes"] == 7 * 24 * 60.0
    assert total["outcomes"] == {"escalated": 1, "no_concern": 1, "support_given": 1}
    assert total["useful"] == {"yes": 1, "no": 1, "unsure": 1}
    assert a["median_minutes_to_acknowledge"] == 15.0 and a["p90_minutes_to_acknowledge"] == 19.0
    assert b["median_minutes_to_first_intervention"] is None and b["longest_open_minutes"] is None


def test_percentile_of_one_value_is_that_value_and_of_none_is_none() -> None:
    assert percentile_90([]) is None
    assert percentile_90([7.0]) == 7.0
    assert percentile_90([float(m) for m in range(1, 11)]) == 9.1


def test_csv_has_one_row_per_number_and_the_same_figures() -> None:
    records, cases = fixture()
    weeks = weeks_between(date(2026, 11, 2), date(2026, 11, 15))
    figures = {"establishment": "LEI", "from": "2026-11-02", "to": "2026-11-15"}
    figures |= outcome_figures(records, cases, weeks, NOW)
    rows = list(csv.DictReader(io.StringIO(figures_csv(figures))))
    found = {(r["wing"], r["figure"], r["category"]): r["value"] for r in rows if not r["subgroup"]}
    assert found[("all", "alerts_raised", "")] == "4"
    assert found[("A", "alerts_raised_in_week", "2026-11-02")] == "2"
    assert found[("all", "p90_minutes_to_acknowledge", "")] == "36.0"
    assert found[("B", "median_minutes_to_first_intervention", "")] == ""
    assert found[("all", "useful", "unsure")] == "1"
    assert found[("A", "outcomes", "support_given")] == "1"
    assert {r["establishment"] for r in rows} == {"LEI"} and len([r for r in rows if not r["subgroup"]]) == len(found)
    assert not any(r["wing"].startswith("P") or "Pa1" in r.values() for r in rows)


def test_a_wing_that_looks_like_a_formula_is_not_one_in_the_csv() -> None:
    records = [record("x1", "=cmd|x-1", T0)]
    figures = {"establishment": "LEI", "from": "2026-11-02", "to": "2026-11-02"}
    figures |= outcome_figures(records, {}, weeks_between(date(2026, 11, 2), date(2026, 11, 2)), NOW)
    rows = list(csv.DictReader(io.StringIO(figures_csv(figures))))
    assert {r["wing"] for r in rows} == {"all", "'=cmd|x"}
