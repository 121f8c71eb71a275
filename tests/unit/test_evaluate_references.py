"""Both reference rules beside AIM in ``aim evaluate``: each at the false-red rate AIM reached."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aim.config import AimConfig
from aim_lab.evaluate import (
    Observation,
    SeedOutcome,
    classify_alerts,
    match_detections,
    pooled_results,
    prisoner_facts,
    render_text,
    rule_figures,
    simulate_alerts,
    spec_for,
    sweep,
    write_json,
)
from aim_lab.reference_rule import Flag
from aim_lab.simulate import Collapse, SimPrisoner

TZ = ZoneInfo("Europe/London")
QUIET = timedelta(hours=72)
ONSET = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def _collapse(pid: str) -> Collapse:
    return Collapse(
        prisoner_id=pid,
        onset_at=ONSET,
        factors=["phone"],
        speed="abrupt",
        ramp_days=0.0,
        severity="total",
        remaining_level=0.0,
        rises=[],
        static_risk=False,
        new_arrival=False,
        usage="normal",
    )


def _prisoner(pid: str) -> SimPrisoner:
    return SimPrisoner(
        prisoner_id=pid,
        wing="A",
        location="A-1-1",
        date_of_birth=date(1990, 1, 1),
        self_harm_history=False,
        acct_status="none",
        usage="normal",
    )


def test_rule_figures_judge_the_days_before_the_morning_flag() -> None:
    # Given a collapse, a flag two mornings later and a flag for someone without one
    truth, people = [_collapse("C1")], [_prisoner("C1"), _prisoner("N1")]
    morning = datetime(2026, 3, 22, 6, 0, tzinfo=UTC)
    flags = {"t": [Flag("C1", morning), Flag("N1", morning)], "early": [Flag("C1", ONSET - timedelta(hours=4))]}

    # When the rule's figures are computed over 1,000 prisoner-days
    found = rule_figures(flags, truth, people, [], TZ, timedelta(days=14), 1000, evidence_days=2)

    # Then the first setting detected within 72 h with one false red; the flag before onset is false
    assert (found["t"].detected_72h, found["t"].detected_7d, found["t"].false_reds) == (1, 1, 1)
    assert found["t"].false_reds_per_1000 == 1.0
    assert (found["early"].detected_72h, found["early"].false_reds) == (0, 1)


def test_both_reference_rules_are_reported_at_the_false_red_rate_aim_reached(tmp_path: Path) -> None:
    # Given a hand-made seed where AIM detected its collapse with one false red (1 per 56 prisoner-days)
    truth, people = [_collapse("C1")], [_prisoner("C1"), _prisoner("N1")]
    obs = [
        Observation(start + timedelta(days=i), pid, score, 6.0, (start + timedelta(days=i)).date(), True)
        for pid, start, scores in (("C1", ONSET + timedelta(hours=1), [3.0, 7.0]), ("N1", ONSET, [6.5]))
        for i, score in enumerate(scores)
    ]
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
        sweep=sweep(obs, truth, days, [6.0], 6.0, QUIET, TZ),
        # and each reference rule's settings: (detected within 72 h, false reds)
        reference={"loose": (1, 2), "tight": (1, 1), "strict": (0, 0)},
        habit_reference={"score >= 3": (1, 3), "score >= 9": (0, 0)},
    )

    # When the figures are pooled, printed and written
    results = pooled_results([outcome], AimConfig())
    text = "\n".join(render_text(results, [outcome]))
    write_json(tmp_path / "evaluate.json", results, [outcome], "aim evaluate --seeds 1")

    # Then each rule's best setting with no more false reds than AIM's is chosen
    assert results["overall"]["false_reds"] == 1
    assert results["reference_rule"]["best_at_aim_false_reds"]["setting"] == "tight"
    assert results["habit_rule"]["best_at_aim_false_reds"]["setting"] == "score >= 9"
    # And both are printed beside AIM, and written to evaluate.json
    assert "per-factor absence rule (aim_lab.reference_rule): tight: recall@72h 1.00 (1/1)" in text
    assert "habit-drop rule (aim_lab.habit_rule): score >= 9: recall@72h 0.00 (0/1)" in text
    written = json.loads((tmp_path / "evaluate.json").read_text())
    assert written["habit_rule"]["best_at_aim_false_reds"]["detected_72h"] == 0
    assert written["habit_rule"]["aim_false_reds_per_1000"] == results["overall"]["false_reds_per_1000"]
