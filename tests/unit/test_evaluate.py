"""Detection-quality metrics on hand-made truth and alerts (no moto, no replay)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aim_lab.evaluate import (
    Detection,
    Observation,
    PrisonerFacts,
    RedAlert,
    age_band,
    best_operating_point,
    classify_alerts,
    custody_days,
    false_red_context,
    figures,
    match_detections,
    poisson_interval,
    pool_sweeps,
    prisoner_facts,
    ratio,
    simulate_alerts,
    spec_for,
    subgroup_figures,
    sweep,
    wilson_interval,
)
from aim_lab.simulate import Collapse, Confounder, LocationChange, SimPrisoner

TZ = ZoneInfo("Europe/London")
QUIET = timedelta(hours=72)
ONSET = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
START = date(2026, 3, 2)


def collapse(pid: str, onset: datetime = ONSET, usage: str = "normal") -> Collapse:
    return Collapse(
        prisoner_id=pid,
        onset_at=onset,
        factors=["phone"],
        speed="abrupt",
        ramp_days=0.0,
        severity="total",
        remaining_level=0.0,
        rises=[],
        static_risk=False,
        new_arrival=False,
        usage=usage,  # type: ignore[arg-type]
    )


def alert(pid: str, at: datetime, judged: date | None = None, since: date | None = None) -> RedAlert:
    judged = judged or at.astimezone(TZ).date()  # as if the judged day closed early: keeps cases short
    return RedAlert(pid, at, judged, since or judged)


def prisoner(pid: str, wing: str = "A", **kw: object) -> SimPrisoner:
    return SimPrisoner(
        prisoner_id=pid,
        wing=wing,
        location=f"{wing}-1-1",
        date_of_birth=date(1990, 1, 1),
        self_harm_history=False,
        acct_status="none",
        usage="normal",
        **kw,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- recall windows


def test_alert_within_72_hours_counts_for_both_windows() -> None:
    # Given a collapse and a red 30 hours after onset, judged on the onset day
    dets = match_detections([collapse("A1234BC")], [alert("A1234BC", ONSET + timedelta(hours=30))], TZ, QUIET)
    # Then it is detected within 72 h and within 7 days, 30 h late
    assert dets[0].within(72) and dets[0].within(7 * 24)
    assert dets[0].delay_hours == pytest.approx(30)


def test_alert_after_four_days_counts_only_for_seven_days() -> None:
    dets = match_detections([collapse("A1234BC")], [alert("A1234BC", ONSET + timedelta(days=4))], TZ, QUIET)
    fig = figures(dets, [], 100)
    assert (fig.recall_72h, fig.recall_7d) == (0.0, 1.0)
    assert fig.median_hours_to_detect == pytest.approx(96)


def test_alert_judged_only_on_days_before_onset_is_not_a_detection() -> None:
    # Given a red raised after onset but judged on the day before it (evidence all pre-onset)
    early = RedAlert("A1234BC", ONSET + timedelta(hours=1), date(2026, 3, 19), date(2026, 3, 17))
    dets = match_detections([collapse("A1234BC")], [early], TZ, QUIET)
    verdicts = classify_alerts([early], [collapse("A1234BC")], [], [], TZ)
    # Then it is not a detection, and it is a false red "before onset"
    assert dets[0].alert_at is None
    assert [(v.true_positive, v.reason) for v in verdicts] == [(False, "before onset")]


def test_red_open_at_onset_is_reported() -> None:
    before = alert("A1234BC", ONSET - timedelta(hours=10))
    dets = match_detections([collapse("A1234BC")], [before], TZ, QUIET)
    assert dets[0].open_at_onset and dets[0].alert_at is None


def test_median_time_to_detect_uses_detected_cases_only() -> None:
    truth = [collapse("A1111AA"), collapse("B2222BB"), collapse("C3333CC")]
    alerts = [alert("A1111AA", ONSET + timedelta(hours=10)), alert("B2222BB", ONSET + timedelta(hours=50))]
    fig = figures(match_detections(truth, alerts, TZ, QUIET), [], 1000)
    assert fig.recall_72h == pytest.approx(2 / 3)
    assert fig.median_hours_to_detect == pytest.approx(30)


# --------------------------------------------------------------------------- false reds


def test_false_reds_count_alerts_not_prisoners() -> None:
    # Given one prisoner without a collapse alerted twice, and a true case alerted twice
    truth = [collapse("A1111AA")]
    alerts = [
        alert("Z9999ZZ", ONSET),
        alert("Z9999ZZ", ONSET + timedelta(days=4)),
        alert("A1111AA", ONSET + timedelta(hours=20)),
        alert("A1111AA", ONSET + timedelta(days=5)),
    ]
    verdicts = classify_alerts(alerts, truth, [], [], TZ)
    fig = figures(match_detections(truth, alerts, TZ, QUIET), verdicts, 2000)
    # Then two false reds (both for the prisoner without a collapse), 1 per 1,000 days
    assert fig.false_reds == 2 and fig.red_alerts == 4
    assert fig.false_reds_per_1000 == pytest.approx(1.0)
    assert [v.reason for v in verdicts if v.true_positive] == ["detection", "after onset"]


def test_red_before_onset_is_false_even_for_a_collapsing_prisoner() -> None:
    verdicts = classify_alerts([alert("A1111AA", ONSET - timedelta(days=3))], [collapse("A1111AA")], [], [], TZ)
    assert not verdicts[0].true_positive and verdicts[0].reason == "before onset"


def test_false_red_overlapping_own_wing_confounder_is_attributed() -> None:
    # Given a wing-B lockdown in the alert's evidence window, an establishment bank holiday outside it
    lock = Confounder(
        kind="lockdown_wing",
        start=datetime(2026, 3, 18, 0, tzinfo=UTC),
        end=datetime(2026, 3, 19, 0, tzinfo=UTC),
        wing="B",
    )
    holiday = Confounder(
        kind="bank_holiday", start=datetime(2026, 4, 3, tzinfo=UTC), end=datetime(2026, 4, 4, tzinfo=UTC)
    )
    red = alert("Z9999ZZ", ONSET, judged=date(2026, 3, 19), since=date(2026, 3, 17))
    on_b = classify_alerts([red], [], [prisoner("Z9999ZZ", "B")], [lock, holiday], TZ)
    on_a = classify_alerts([red], [], [prisoner("Z9999ZZ", "A")], [lock, holiday], TZ)
    # Then it is attributed on wing B only
    assert on_b[0].confounders == ("lockdown_wing",)
    assert on_a[0].confounders == ()


def test_wing_move_during_window_counts_both_wings() -> None:
    lock = Confounder(
        kind="lockdown_wing",
        start=datetime(2026, 3, 17, 0, tzinfo=UTC),
        end=datetime(2026, 3, 18, 0, tzinfo=UTC),
        wing="A",
    )
    moved = prisoner(
        "Z9999ZZ", "A", location_changes=[LocationChange(at=datetime(2026, 3, 18, 12, tzinfo=UTC), location="C-1-2")]
    )
    red = alert("Z9999ZZ", ONSET, judged=date(2026, 3, 19), since=date(2026, 3, 16))
    assert classify_alerts([red], [], [moved], [lock], TZ)[0].confounders == ("lockdown_wing",)


def test_red_after_release_is_flagged() -> None:
    gone = prisoner("Z9999ZZ", departure_at=ONSET, departure_kind="release")
    verdicts = classify_alerts(
        [alert("Z9999ZZ", ONSET - timedelta(hours=1)), alert("Z9999ZZ", ONSET + timedelta(hours=1))],
        [],
        [gone],
        [],
        TZ,
    )
    fig = figures([], verdicts, 100)
    assert [v.after_departure for v in verdicts] == [False, True]
    assert fig.reds_after_departure == 1


# --------------------------------------------------------------------------- denominators and subgroups


def test_custody_days_counts_partial_days_inside_the_run() -> None:
    assert custody_days(prisoner("A1111AA"), START, 10, TZ) == 10
    arrived = prisoner("A1111AA", arrival_at=datetime(2026, 3, 5, 15, tzinfo=UTC))
    assert custody_days(arrived, START, 10, TZ) == 7  # 5th..11th
    left = prisoner("A1111AA", departure_at=datetime(2026, 3, 3, 9, tzinfo=UTC), departure_kind="release")
    assert custody_days(left, START, 10, TZ) == 2


def test_age_bands() -> None:
    on = date(2026, 3, 2)
    assert age_band(date(2002, 3, 3), on) == "18-24"  # 23
    assert age_band(date(2001, 3, 2), on) == "25-39"  # 25 today
    assert age_band(date(1986, 3, 2), on) == "40+"


def test_subgroup_ratios_against_overall() -> None:
    # Given two low-use and two normal-use collapses; only normal-use ones detected
    truth = [collapse("L1", usage="low"), collapse("L2", usage="low"), collapse("N1"), collapse("N2")]
    alerts = [alert("N1", ONSET + timedelta(hours=5)), alert("N2", ONSET + timedelta(hours=5)), alert("N3", ONSET)]
    facts = [
        PrisonerFacts("L1", 100, "25-39", "low"),
        PrisonerFacts("L2", 100, "25-39", "low"),
        PrisonerFacts("N1", 100, "25-39", "normal"),
        PrisonerFacts("N2", 100, "25-39", "normal"),
        PrisonerFacts("N3", 600, "25-39", "normal"),
    ]
    dets = match_detections(truth, alerts, TZ, QUIET)
    verdicts = classify_alerts(alerts, truth, [], [], TZ)
    low, normal = subgroup_figures(dets, verdicts, facts, lambda f: f.usage, ("low", "normal"), "kiosk use")
    # Then recall is 0 vs 1 against an overall 0.5 (ratios 0 and 2); false reds 0 vs 1/800
    assert (low.recall_72h, normal.recall_72h) == (0.0, 1.0)
    assert (low.recall_ratio, normal.recall_ratio) == (0.0, 2.0)
    assert normal.false_reds_per_1000 == pytest.approx(1.25)
    assert normal.false_red_ratio == pytest.approx(1.25 / 1.0)
    assert low.false_red_ratio == 0.0
    assert not low.within_target and not normal.within_target


def test_ratio_edge_cases() -> None:
    assert ratio(None, 1.0) is None
    assert ratio(0.0, 0.0) == 1.0
    assert ratio(1.0, 0.0) is None


# --------------------------------------------------------------------------- sweep


def _trajectory(pid: str, start: datetime, scores: list[float], red_at: float = 6.0) -> list[Observation]:
    return [
        Observation(start + timedelta(hours=24 * i), pid, s, red_at, (start + timedelta(hours=24 * i)).date(), True)
        for i, s in enumerate(scores)
    ]


def test_lifecycle_raises_once_then_only_on_escalation() -> None:
    obs = _trajectory("Z9999ZZ", ONSET, [7, 7, 7, 7, 7])  # red every day
    raised = simulate_alerts(obs, 6.0, 6.0, QUIET)
    assert [a.kind for a in raised] == ["new"]  # a persisting red stays on the board, it does not page again
    escalating = _trajectory("Z9999ZZ", ONSET, [7, 8, 11])
    assert [a.kind for a in simulate_alerts(escalating, 6.0, 6.0, QUIET)] == ["new", "escalation"]


def test_static_factors_lower_the_swept_threshold_per_person() -> None:
    # red_at 4.8 means a 0.8 multiplier: a score of 5 is red at the configured 6, not at 7
    obs = _trajectory("Z9999ZZ", ONSET, [5.0], red_at=4.8)
    assert len(simulate_alerts(obs, 6.0, 6.0, QUIET)) == 1
    assert simulate_alerts(obs, 7.0, 6.0, QUIET) == []


def test_a_silence_red_stays_red_at_any_swept_threshold_and_is_read_from_the_board() -> None:
    # Given a board row made red by silence (score shown at the red line, reasons "stopped")
    stopped = {"signal": "phone", "change": "stopped"}
    row = {
        "prisoner_id": "Z9999ZZ",
        "light": "red",
        "score": 6.0,
        "red_at": 6.0,
        "judged_day": "2026-04-01",
        "in_custody": True,
        "reasons": [stopped],
    }
    silent = Observation.from_row(ONSET, row)
    assert silent.silence
    # Then the sweep keeps it red above the configured threshold, while a score red at 6 is not red at 7
    assert len(simulate_alerts([silent], 7.0, 6.0, QUIET)) == 1
    by_score = Observation.from_row(ONSET, {**row, "reasons": [{"signal": "phone", "change": "fell"}]})
    assert not by_score.silence and simulate_alerts([by_score], 7.0, 6.0, QUIET) == []
    # And "stopped" on a row that is not red (a reason kept from an amber) is not a silence red
    assert not Observation.from_row(ONSET, {**row, "light": "amber"}).silence


def test_not_in_custody_is_never_red() -> None:
    obs = [Observation(ONSET, "Z9999ZZ", 50.0, 6.0, ONSET.date(), False)]
    assert simulate_alerts(obs, 6.0, 6.0, QUIET) == []


def test_sweep_is_monotone_in_threshold() -> None:
    # Given rising scores for collapses and noise for others
    truth = [collapse(f"C{i}") for i in range(5)]
    obs: list[Observation] = []
    for i in range(5):
        obs += _trajectory(f"C{i}", ONSET + timedelta(hours=1), [2.0 + 2 * i, 4.0 + 2 * i, 6.0 + 2 * i])
    for j in range(8):
        obs += _trajectory(f"N{j}", ONSET - timedelta(days=10), [1.0 + j, 0.5, 1.0 + j])
    thresholds = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    points = sweep(obs, truth, 10_000, thresholds, 6.0, QUIET, TZ)
    recalls = [p.recall_72h for p in points]
    false = [p.false_reds for p in points]
    # Then recall and false reds never rise as the threshold rises
    assert recalls == sorted(recalls, reverse=True)  # type: ignore[type-var]
    assert false == sorted(false, reverse=True)
    assert recalls[0] == 1.0 and false[-1] == 0


def test_pooled_sweep_adds_counts_and_best_point_respects_false_red_target() -> None:
    a = sweep(_trajectory("C1", ONSET + timedelta(hours=1), [9.0]), [collapse("C1")], 1000, [4.0, 8.0], 6.0, QUIET, TZ)
    b = sweep(_trajectory("N1", ONSET, [5.0]), [], 1000, [4.0, 8.0], 6.0, QUIET, TZ)
    pooled = pool_sweeps([a, b])
    assert [(p.collapses, p.detected_72h, p.false_reds, p.prisoner_days) for p in pooled] == [
        (1, 1, 1, 2000),
        (1, 1, 0, 2000),
    ]
    best = best_operating_point(pooled)
    # Both meet the false-red target with the same recall: the higher threshold (fewer false reds) wins
    assert best is not None and best.threshold == 8.0
    noisy = sweep(_trajectory("N2", ONSET, [5.0, 5.0, 5.0, 5.0]), [], 0, [4.0, 8.0], 6.0, QUIET, TZ)
    assert best_operating_point(pool_sweeps([a, b, noisy])) == pool_sweeps([a, b, noisy])[1]


def test_detection_dataclass_without_alert() -> None:
    d = Detection("A1111AA", ONSET, None, False)
    assert d.delay_hours is None and not d.within(72)


def test_spec_variants_cycle_and_keep_size() -> None:
    names = [spec_for(s, i, 50, 20)[0] for i, s in enumerate([1, 2, 3, 4])]
    assert names[0] == names[3] and len(set(names)) == 3
    assert all(spec_for(s, i, 50, 20)[1].prisoners == 50 for i, s in enumerate([1, 2, 3]))


def test_false_red_context_separates_run_weeks_and_early_custody() -> None:
    arrived = prisoner("N1", arrival_at=ONSET - timedelta(days=3))
    alerts = [alert("N1", ONSET), alert("S1", datetime(2026, 3, 3, 6, tzinfo=UTC))]
    verdicts = classify_alerts(alerts, [], [arrived, prisoner("S1")], [], TZ)
    context = false_red_context(verdicts, [arrived, prisoner("S1")], START, TZ)
    assert context["week_of_run"] == {"week 1": 1, "week 3": 1}
    assert context["custody"] == {"first 30 days after arrival": 1, "settled": 1}


def test_pooled_results_render_and_json_from_a_hand_made_seed(tmp_path: Path) -> None:
    # Given one seed's outcome built by hand (no replay)
    from aim.config import AimConfig
    from aim_lab.evaluate import SeedOutcome, pooled_results, render_text, write_json

    truth = [collapse("C1")]
    people = [prisoner("C1"), prisoner("N1")]
    obs = _trajectory("C1", ONSET + timedelta(hours=1), [3.0, 7.0]) + _trajectory("N1", ONSET, [6.5])
    alerts = simulate_alerts(obs, 6.0, 6.0, QUIET)
    spec = spec_for(1, 0, 2, 28)[1]
    facts = prisoner_facts(people, spec, TZ)
    days = sum(f.custody_days for f in facts)
    outcome = SeedOutcome(
        seed=1,
        variant="hand-made",
        spec=spec,
        seconds=0.0,
        stats={},
        truth=truth,
        prisoners=people,
        confounders=[],
        facts=facts,
        alerts=alerts,
        detections=match_detections(truth, alerts, TZ, QUIET),
        verdicts=classify_alerts(alerts, truth, people, [], TZ),
        observations=obs,
        sweep=sweep(obs, truth, days, [6.0, 8.0], 6.0, QUIET, TZ),
    )
    # When the figures are pooled, printed and written
    results = pooled_results([outcome], AimConfig())
    text = "\n".join(render_text(results, [outcome]))
    write_json(tmp_path / "evaluate.json", results, [outcome], "aim evaluate --seeds 1")
    # Then the detection, the false red and the sweep check all agree
    assert results["overall"]["detected_72h"] == 1 and results["overall"]["false_reds"] == 1
    assert results["sweep_reproduces_alerts"] == {"real_alerts": 2, "sweep_alerts": 2, "identical": 2}
    assert "NOT MET" in text and "recall within 72 h of onset" in text
    assert json.loads((tmp_path / "evaluate.json").read_text())["overall"]["collapses"] == 1
    # And every rate carries its 95 % interval, in the printout and the file
    assert "recall within 72 h of onset  1.00 (1/1; 95 % interval 0.21-1.00)" in text
    ci = json.loads((tmp_path / "evaluate.json").read_text())["overall"]["interval_95"]
    assert ci["recall_72h"] == [0.207, 1.0] and ci["false_reds_per_1000"][0] > 0


def test_wilson_interval_matches_the_textbook_values() -> None:
    # 3 of 32: the mixed scenarios' recall within 72 h
    low, high = wilson_interval(3, 32) or (0.0, 0.0)
    assert low == pytest.approx(0.0324, abs=5e-4) and high == pytest.approx(0.2422, abs=5e-4)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-4))
    assert wilson_interval(0, 0) is None


def test_poisson_interval_is_close_to_the_exact_one() -> None:
    # exact 95 % limits (chi-square): 36 -> 25.21-49.84; 0 -> 0-3.69; 1 -> 0.025-5.57
    low, high = poisson_interval(36)
    assert low == pytest.approx(25.21, rel=0.01) and high == pytest.approx(49.84, rel=0.01)
    assert poisson_interval(0)[0] == 0.0 and poisson_interval(0)[1] == pytest.approx(3.69, rel=0.02)
    assert poisson_interval(1)[1] == pytest.approx(5.57, rel=0.02)
