"""The governor's day figures, subgroups and their CSV rows against a fixture worked out by hand,
and the scorer's helpers that make a day's record (confounders, subgroups)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase, Intervention
from aim.domain.features import NF, F
from aim.domain.outcomes import day_figures, figures_csv, red_line_periods, weeks_between
from aim.domain.prisoner import PrisonerState
from aim.service.scoring_run import GroupDrop, age_band, day_confounders, subgroups
from aim.service.staff import outcome_figures

LINE_6 = {"value": 6.0, "amber": 4.0, "method": "configured", "basis": "configured: no red capacity set"}
LINE_5 = {"value": 5.2, "amber": 3.47, "method": "calibrated", "basis": "calibrated: at most 5 reds per 1,000 over 900"}
WEEKS = weeks_between(date(2026, 11, 2), date(2026, 11, 15))  # 2026-11-02 and -09, Mondays

# Four days of day records: Fri 6, Sat 7 (an outage on B), Mon 9 (a lockdown of all), Tue 10 (no
# lights yet: only the confounders of a closed day written while the open day was judged).
DAYS = [
    {
        "day": "2026-11-06",
        "lights": {"A": {"red": 1, "amber": 2, "green": 7}, "B": {"green": 5, "insufficient": 1}},
        "new_amber": {"A": 2},
        "red_line": LINE_6,
        "confounders": [],
    },
    {
        "day": "2026-11-07",
        "lights": {"A": {"amber": 3, "green": 7}, "B": {"amber": 1, "green": 5}},
        "new_amber": {"A": 1, "B": 1},
        "red_line": LINE_6,
        "confounders": [{"kind": "kiosk_outage", "wing": "B", "detail": "LEI-K02"}],
    },
    {
        "day": "2026-11-09",
        "lights": {"A": {"amber": 1, "green": 9}, "B": {"green": 6}},
        "new_amber": {},
        "red_line": LINE_5,
        "confounders": [{"kind": "routine_drop", "wing": "all", "detail": "phone, purposeful"}],
    },
    {"day": "2026-11-10", "confounders": [{"kind": "visits_cancelled", "wing": "A", "people": 3}]},
]


def test_day_figures_match_the_hand_worked_fixture() -> None:
    figures = day_figures(DAYS, WEEKS)
    # all wings: Fri 1 red, 2 amber, 12 green, 1 too little; Sat 4 amber, 12 green; Mon 1 amber, 15 green
    assert figures["lights"]["all"] == {
        "2026-11-06": {"red": 1, "amber": 2, "green": 12, "insufficient": 1},
        "2026-11-07": {"red": 0, "amber": 4, "green": 12, "insufficient": 0},
        "2026-11-09": {"red": 0, "amber": 1, "green": 15, "insufficient": 0},
    }
    assert figures["lights"]["B"]["2026-11-07"] == {"red": 0, "amber": 1, "green": 5, "insufficient": 0}
    # new ambers: A 2 + 1 in the week of 2 Nov, B 1; none in the week of 9 Nov
    assert figures["amber_weeks"] == {
        "all": {"2026-11-02": 4, "2026-11-09": 0},
        "A": {"2026-11-02": 3, "2026-11-09": 0},
        "B": {"2026-11-02": 1, "2026-11-09": 0},
    }
    assert figures["confounders"] == [
        {"day": "2026-11-07", "kind": "kiosk_outage", "wing": "B", "detail": "LEI-K02"},
        {"day": "2026-11-09", "kind": "routine_drop", "wing": "all", "detail": "phone, purposeful"},
        {"day": "2026-11-10", "kind": "visits_cancelled", "wing": "A", "people": 3},
    ]
    assert figures["red_lines"] == [
        {"from": "2026-11-06", "to": "2026-11-07", **LINE_6},
        {"from": "2026-11-09", "to": "2026-11-09", **LINE_5},
    ]


def test_a_line_that_comes_back_is_a_new_period() -> None:
    days = [{"day": f"2026-11-0{n}", "red_line": line} for n, line in ((1, LINE_6), (2, LINE_5), (3, LINE_6))]
    assert [(p["from"], p["value"]) for p in red_line_periods(days)] == [
        ("2026-11-01", 6.0),
        ("2026-11-02", 5.2),
        ("2026-11-03", 6.0),
    ]


def alert(alert_id: str, location: str, raised: datetime, age: str | None, use: str | None) -> AlertRecord:
    message = {
        "alert_id": alert_id,
        "establishment": "LEI",
        "prisoner_id": f"P{alert_id}",
        "raised_at": raised.isoformat(),
        "location": location,
    }
    groups = {k: v for k, v in (("age_band", age), ("kiosk_use", use)) if v}
    return AlertRecord.from_message(message, groups)


def intervention(useful: str, outcome: str, at: datetime) -> Intervention:
    return Intervention(
        action="welfare_check",
        engaged=True,
        outcome=outcome,  # type: ignore[arg-type]
        useful=useful,  # type: ignore[arg-type]
        intervention_id=f"i-{useful}-{outcome}",
        recorded_by="officer",
        recorded_at=at,
    )


T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def subgroup_fixture() -> tuple[list[AlertRecord], dict[str, AlertCase]]:
    """x1: 18-24, low use, acknowledged, useful yes; x2: 18-24, normal, closed, useful no;
    x3: 40+, normal, open; x4: raised before subgroups were kept (unknown both)."""
    records = [
        alert("x1", "A-1-01", T0, "18-24", "low"),
        alert("x2", "B-1-01", T0 + timedelta(days=1), "18-24", "normal"),
        alert("x3", "A-2-01", T0 + timedelta(days=7), "40+", "normal"),
        alert("x4", "C-1-01", T0 + timedelta(days=8), None, None),
    ]
    at = T0 + timedelta(minutes=30)
    cases = {
        "x1": AlertCase(
            "x1", "LEI", "Px1", "acknowledged", "o", at, None, None, (intervention("yes", "support_given", at),)
        ),
        "x2": AlertCase(
            "x2",
            "LEI",
            "Px2",
            "closed",
            "o",
            at + timedelta(days=1),
            "o",
            at + timedelta(days=1, hours=1),
            (intervention("no", "no_concern", at + timedelta(days=1)),),
        ),
    }
    return records, cases


def test_subgroup_figures_match_the_hand_worked_fixture() -> None:
    records, cases = subgroup_fixture()
    figures = outcome_figures(records, cases, WEEKS, T0 + timedelta(days=14), DAYS)
    ages, use = figures["subgroups"]["age_band"], figures["subgroups"]["kiosk_use"]
    assert {b: g["alerts_raised"] for b, g in ages.items()} == {"18-24": 2, "25-39": 0, "40+": 1, "unknown": 1}
    assert {b: g["alerts_raised"] for b, g in use.items()} == {"low": 1, "normal": 2, "unknown": 1}
    assert ages["18-24"]["useful"] == {"yes": 1, "no": 1, "unsure": 0}
    assert ages["18-24"]["status"] == {"open": 0, "acknowledged": 1, "closed": 1}
    assert ages["40+"]["status"] == {"open": 1, "acknowledged": 0, "closed": 0}
    assert use["low"]["outcomes"] == {"support_given": 1} and use["normal"]["outcomes"] == {"no_concern": 1}
    # wings: A and B from alerts and days, C from an alert only; day figures on each
    assert list(figures["wings"]) == ["A", "B", "C"]
    assert figures["wings"]["C"]["lights"] == {} and figures["wings"]["C"]["new_ambers"] == 0
    assert figures["wings"]["A"]["new_ambers"] == 3 and figures["total"]["new_ambers"] == 4
    assert figures["total"]["lights"]["2026-11-09"]["green"] == 15


def test_csv_rows_carry_the_day_figures_subgroups_confounders_and_lines() -> None:
    records, cases = subgroup_fixture()
    figures = {"establishment": "LEI", "from": "2026-11-02", "to": "2026-11-15"}
    figures |= outcome_figures(records, cases, WEEKS, T0 + timedelta(days=14), DAYS)
    rows = list(csv.DictReader(io.StringIO(figures_csv(figures))))
    found = {(r["wing"], r["subgroup"], r["figure"], r["category"]): r["value"] for r in rows}
    assert found[("all", "", "people_amber", "2026-11-07")] == "4"
    assert found[("B", "", "people_insufficient", "2026-11-06")] == "1"
    assert found[("A", "", "ambers_new_in_week", "2026-11-02")] == "3"
    assert found[("all", "", "ambers_new", "")] == "4"
    assert found[("all", "age 18-24", "alerts_raised", "")] == "2"
    assert found[("all", "kiosk use low", "useful", "yes")] == "1"
    assert found[("all", "age unknown", "alerts_raised", "")] == "1"
    assert found[("B", "", "confounder_kiosk_outage", "2026-11-07")] == "1"
    assert found[("A", "", "confounder_visits_cancelled", "2026-11-10")] == "3"
    assert found[("all", "", "red_line_value", "2026-11-06/2026-11-07")] == "6.0"
    assert found[("all", "", "red_line_method", "2026-11-09/2026-11-09")] == "calibrated"
    assert len(found) == len(rows)  # one row per number
    assert not any("Px" in v for r in rows for v in r.values())


# --- the scorer's helpers ------------------------------------------------------------------------
def person(pid: str, wing: str, born: str | None = None) -> PrisonerState:
    s = PrisonerState.new("LEI", pid, date(2026, 11, 1), 10)
    stamp = "2026-01-01T00:00:00Z|t"
    s.profile = {"location": [f"{wing}-1-01", stamp]}
    if born:
        s.profile["date_of_birth"] = [born, stamp]
    return s


def test_age_bands_and_kiosk_use_at_the_judged_day() -> None:
    day = date(2026, 11, 30)
    assert subgroups(person("A0001AA", "A", "2001-12-01"), day, 5.0) == {"age_band": "18-24", "kiosk_use": "normal"}
    assert subgroups(person("A0001AA", "A", "2001-11-30"), day, 2.9) == {"age_band": "25-39", "kiosk_use": "low"}
    assert subgroups(person("A0001AA", "A", "1986-11-30"), day, 3.0)["age_band"] == "40+"
    assert subgroups(person("A0001AA", "A"), day, 3.0) == {"age_band": "unknown", "kiosk_use": "normal"}
    assert [age_band(a) for a in (18, 24, 25, 39, 40, None)] == ["18-24", "18-24", "25-39", "25-39", "40+", "unknown"]


def test_a_days_confounders_name_kind_and_wing_and_count_people_never_who() -> None:
    active = [person("A0001AA", "A"), person("A0002AA", "A"), person("B0001AA", "B")]
    counts = np.zeros((3, NF))
    counts[0, F["activity_missed_cancelled"]] = 1
    counts[1, F["activity_missed_cancelled"]] = 2
    counts[2, F["visit_cancelled_establishment"]] = 1
    drops = [GroupDrop(9, "all", ("phone", "visits"), True), GroupDrop(9, "B", ("purposeful",), False)]
    assert day_confounders(active, counts, drops) == [
        {"kind": "routine_drop", "wing": "all", "detail": "phone, visits"},
        {"kind": "habits_drop", "wing": "B", "detail": "purposeful"},
        {"kind": "activities_cancelled", "wing": "A", "people": 2},
        {"kind": "visits_cancelled", "wing": "B", "people": 1},
    ]
