"""One evaluation across scenario families: pooled arithmetic and the per-family verdict on hand-made
runs, and a tiny two-family run end to end (in memory, one process)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aim.config import AimConfig
from aim_lab.evaluate import (
    DEFAULT_SWEEP,
    AlertVerdict,
    Detection,
    PrisonerFacts,
    RedAlert,
    SweepPoint,
    poisson_interval,
    wilson_interval,
)
from aim_lab.evaluate_families import (
    FamilyRun,
    all_results,
    best_rule_setting,
    family_results,
    parse_families,
    render,
    run_families,
    trade_off,
    verdict,
)

ONSET = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def detections(delays_hours: list[float | None]) -> list[Detection]:
    return [
        Detection(f"C{i}", ONSET, None if h is None else ONSET + timedelta(hours=h), False)
        for i, h in enumerate(delays_hours)
    ]


def verdicts(true: int, false: int, confounded: int = 0) -> list[AlertVerdict]:
    out = [AlertVerdict(RedAlert(f"C{i}", ONSET), True, "detection") for i in range(true)]
    out += [
        AlertVerdict(RedAlert(f"N{i}", ONSET), False, "no collapse", ("lockdown",) if i < confounded else ())
        for i in range(false)
    ]
    return out


def facts(prisoners: int, days_each: int) -> list[PrisonerFacts]:
    return [PrisonerFacts(f"P{i}", days_each, "25-39", "normal") for i in range(prisoners)]


def run(
    family: str,
    delays: list[float | None],
    true: int,
    false: int,
    days: int,
    sweep: list[SweepPoint] | None = None,
    rules: dict[str, dict[str, tuple[int, int]]] | None = None,
    confounded: int = 0,
) -> FamilyRun:
    return FamilyRun(
        family=family,
        seed=1,
        name=f"{family} by hand",
        establishment="HMW",
        seconds=0.0,
        detections=detections(delays),
        verdicts=verdicts(true, false, confounded),
        facts=facts(10, days // 10),
        sweep=sweep or [],
        rules=rules or {},
    )


def setting(label: str, detected: int, false: int) -> dict[str, Any]:
    return {"setting": label, "detected_72h": detected, "false_reds": false}


def test_pooled_recall_is_hits_added_over_collapses_added_with_its_wilson_interval() -> None:
    # Given two families: 2 of 4 collapses within 72 h (one more within 7 days), and 1 of 6
    a = run("mixed", [10.0, 50.0, 100.0, None], true=3, false=2, days=1000, confounded=1)
    b = run("quiet", [20.0, 90.0, None, None, None, None], true=2, false=1, days=2000)
    # When they are pooled
    out = all_results([a, b], AimConfig(), ["mixed", "quiet"])
    pooled = out["pooled"]["overall"]
    # Then pooled recall is (2 + 1) / (4 + 6), not the mean of 0.50 and 0.17
    assert (pooled["detected_72h"], pooled["collapses"]) == (3, 10)
    assert pooled["recall_72h"] == pytest.approx(0.3)
    assert pooled["recall_7d"] == pytest.approx(5 / 10)
    # And its interval is the Wilson interval of 3 of 10 (textbook 0.108-0.603)
    low, high = pooled["interval_95"]["recall_72h"]
    assert (low, high) == pytest.approx((0.108, 0.603), abs=1e-3)
    assert [low, high] == [round(v, 3) for v in wilson_interval(3, 10) or ()]
    # And false reds are 3 over 3,000 prisoner-days = 1.0 per 1,000, with the Poisson interval of 3
    assert (pooled["false_reds"], pooled["prisoner_days"]) == (3, 3000)
    assert pooled["false_reds_per_1000"] == pytest.approx(1.0)
    assert pooled["interval_95"]["false_reds_per_1000"] == [round(v / 3, 3) for v in poisson_interval(3)]
    assert pooled["false_reds_from_confounders"] == 1
    # And the median time to detect runs over every detection within 7 days of both families
    assert pooled["median_hours_to_detect"] == pytest.approx(50.0)
    # And each family keeps its own figures
    assert out["families"]["mixed"]["overall"]["recall_72h"] == pytest.approx(0.5)
    assert out["families"]["quiet"]["overall"]["recall_72h"] == pytest.approx(1 / 6)


def test_all_reds_are_set_against_the_configured_capacity_when_one_is_set() -> None:
    # Given 8 reds in 2,000 prisoner-days (4.0 per 1,000)
    runs = [run("mixed", [1.0], true=3, false=1, days=1000), run("noisy", [None], true=0, false=4, days=1000)]
    # When no capacity is configured, then the rate is reported and the ratio is not
    off = family_results(runs, AimConfig(red_capacity_per_1000=None))["all_reds"]
    assert off["red_alerts"] == 8 and off["reds_per_1000"] == pytest.approx(4.0)
    assert off["red_capacity_per_1000"] is None and off["ratio_to_capacity"] is None
    assert off["reds_per_1000_interval_95"] == [round(v / 2, 3) for v in poisson_interval(8)]
    # When a capacity of 2 per 1,000 is set (the default), then the reds ran at twice it
    on = family_results(runs, AimConfig())["all_reds"]
    assert on["red_capacity_per_1000"] == pytest.approx(2.0) and on["ratio_to_capacity"] == pytest.approx(2.0)


def test_a_rule_is_compared_at_no_more_false_reds_than_aim_had_at_each_sweep_point() -> None:
    # Given AIM's curve and two rules' settings (the same collapses and prisoner-days)
    curve = [SweepPoint(3.0, 10, 6, 9, 1000), SweepPoint(4.0, 10, 4, 3, 1000), SweepPoint(5.0, 10, 2, 0, 1000)]
    rules = {
        "reference_rule": [setting("a", 5, 3), setting("b", 1, 0)],
        "habit_rule": [setting("h", 3, 10)],
    }
    # When AIM is set beside them point by point
    rows = trade_off(curve, rules)
    # Then at red 3 (9 false reds) the per-factor rule's best is "a" and the habit rule has no setting so quiet
    assert rows[0]["rules"]["reference_rule"]["setting"] == "a" and rows[0]["rules"]["habit_rule"] is None
    # And at red 4 (3 false reds) setting "a" detects 5 against AIM's 4: AIM is behind there only
    assert [r["aim_at_least_every_rule"] for r in rows] == [True, False, True]
    assert verdict(rows) == {"holds": False, "points": 3, "thresholds_behind": [4.0]}


def test_a_tie_with_a_rule_counts_as_aim_at_least_as_good() -> None:
    rows = trade_off([SweepPoint(4.0, 10, 5, 3, 1000)], {"reference_rule": [setting("a", 5, 3)], "habit_rule": []})
    assert verdict(rows) == {"holds": True, "points": 1, "thresholds_behind": []}
    assert verdict([]) == {"holds": False, "points": 0, "thresholds_behind": []}


def test_best_rule_setting_prefers_detections_then_fewer_false_reds() -> None:
    settings = [setting("loose", 6, 8), setting("mid", 4, 3), setting("tight", 4, 1)]
    assert best_rule_setting(settings, 8)["setting"] == "loose"  # type: ignore[index]
    assert best_rule_setting(settings, 7)["setting"] == "tight"  # type: ignore[index]
    assert best_rule_setting(settings, 0) is None


def test_rules_and_sweeps_are_pooled_setting_by_setting_and_the_verdict_is_per_family() -> None:
    # Given two families where AIM leads on one and trails on the other
    sweep_a = [SweepPoint(4.0, 4, 3, 1, 1000)]
    sweep_b = [SweepPoint(4.0, 6, 0, 1, 2000)]
    a = run("mixed", [1, 2, 3, None], 3, 1, 1000, sweep_a, {"habit_rule": {"t9": (1, 0)}, "reference_rule": {}})
    b = run("quiet", [None] * 6, 0, 1, 2000, sweep_b, {"habit_rule": {"t9": (2, 1)}, "reference_rule": {}})
    # When evaluated per family and pooled
    out = all_results([a, b], AimConfig(), ["mixed", "quiet", "noisy"])
    # Then the pooled setting adds detections and false reds, and a family without runs is left out
    pooled_habit = out["pooled"]["rule_settings"]["habit_rule"]
    assert pooled_habit == [
        {"setting": "t9", "detected_72h": 3, "recall_72h": 0.3, "false_reds": 1, "false_reds_per_1000": 1 / 3}
    ]
    assert list(out["families"]) == ["mixed", "quiet"]
    assert out["families"]["mixed"]["verdict"]["holds"] is True
    assert out["families"]["quiet"]["verdict"] == {"holds": False, "points": 1, "thresholds_behind": [4.0]}
    # And pooled, AIM's 3 of 10 at 2 false reds matches the rule's 3 of 10 at 1: AIM holds
    assert out["pooled"]["trade_off"][0]["aim"]["detected_72h"] == 3
    assert out["pooled"]["verdict"]["holds"] is True
    # And the printout carries one verdict per family and the pooled one
    text = "\n".join(render(out, "header"))
    assert "mixed: AIM >= both rules at all 1 sweep points" in text
    assert "quiet: NOT MET, a rule detects more at 1 of 1 points (red 4; AIM at 0.50 false reds per 1,000)" in text
    assert "pooled: AIM >= both rules" in text


def test_families_are_checked() -> None:
    assert parse_families("quiet, mixed,quiet") == ["quiet", "mixed"]
    with pytest.raises(ValueError, match="comma-separated subset"):
        parse_families("mixed,loud")


def test_a_tiny_two_family_run_pools_what_each_family_measured(tmp_path: Path) -> None:
    # Given a small simulated family and a small written one, in one process
    args = argparse.Namespace(
        families="mixed,quiet",
        per_family=1,
        prisoners=12,
        days=10,
        jobs=1,
        config=None,
        json=str(tmp_path / "families.json"),
    )
    # When the evaluation runs
    assert run_families(args) == 0
    doc = json.loads((tmp_path / "families.json").read_text())
    # Then each family is one run and the pooled counts are the families' counts added
    fams = doc["families"]
    assert doc["partial"] is None
    assert sorted(fams) == ["mixed", "quiet"] and [r["family"] for r in doc["runs"]] == ["quiet", "mixed"]
    for key in ("collapses", "detected_72h", "detected_7d", "false_reds", "red_alerts", "prisoner_days"):
        assert doc["pooled"]["overall"][key] == sum(f["overall"][key] for f in fams.values())
    # And every family has a verdict over the whole sweep, with both rules beside each point
    for body in [*fams.values(), doc["pooled"]]:
        assert body["verdict"]["points"] == len(DEFAULT_SWEEP)
        assert set(body["trade_off"][0]["rules"]) == {"reference_rule", "habit_rule"}
    # And the written scenario is kept beside the figures
    assert (tmp_path / "scenarios" / "quiet-s1" / "truth.json").is_file()


def test_an_unknown_family_is_refused_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        families="mixed,loud", per_family=1, prisoners=12, days=10, jobs=1, config=None, json=None
    )
    assert run_families(args) == 2
    assert "comma-separated subset" in capsys.readouterr().err


def test_thresholds_behind_are_written_as_runs_of_neighbours() -> None:
    from aim_lab.evaluate_families import _spans

    assert _spans([2.0, 2.5, 3.0, 3.5, 4.0], [2.5, 3.0, 4.0]) == ["2.5-3", "4"]
    assert _spans([2.0, 2.5], []) == []


def test_the_same_prison_number_in_two_scenarios_counts_as_two_people_in_the_subgroups() -> None:
    # Given two scenarios that both use P0: young in one, over 40 in the other; a false red for each
    young = replace(run("mixed", [None], true=0, false=0, days=100), facts=[PrisonerFacts("P0", 100, "18-24", "low")])
    older = replace(
        run("quiet", [None], true=0, false=0, days=100),
        facts=[PrisonerFacts("P0", 300, "40+", "normal")],
        verdicts=[AlertVerdict(RedAlert("P0", ONSET), False, "no collapse")],
    )
    # When pooled, in either order
    one = family_results([young, older], AimConfig())["subgroups"]
    other = family_results([older, young], AimConfig())["subgroups"]
    # Then each person keeps their own band, days and false red
    days = {(s["group"], s["band"]): (s["prisoner_days"], s["false_reds"]) for s in one}
    assert days[("age", "18-24")] == (100, 0) and days[("age", "40+")] == (300, 1)
    assert days[("kiosk use", "low")] == (100, 0) and days[("kiosk use", "normal")] == (300, 1)
    assert one == other
