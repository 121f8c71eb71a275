"""``aim evaluate --scenario DIR``: a scenario written elsewhere, scored against its truth.json."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aim.config import load_config
from aim_cli.main import main
from aim_lab.evaluate import classify_alerts, evaluate_directory, match_detections
from aim_lab.habit_rule import DEFAULT_THRESHOLDS
from aim_lab.simulate import Scenario, ScenarioSpec, simulate, write_scenario
from aim_lab.truth_file import load_truth

SPEC = ScenarioSpec(seed=11, prisoners=14, days=14, min_history_days=7, arrival_history_days=5, collapse_fraction=0.3)


def _external_truth(scenario: Scenario) -> dict[str, object]:
    """The simulation's truth written in the aim.scenario-truth/1 layout another team would use."""
    spec = scenario.spec
    falls = {
        "phone": "phone",
        "visits": "visits",
        "activities": "work",
        "canteen": "self_care",
        "meals": "self_care",
        "kiosk": "engagement",
    }
    return {
        "schema": "aim.scenario-truth/1",
        "seed": spec.seed,
        "establishment": spec.establishment,
        "window_start": spec.start.isoformat(),
        "window_end": (spec.start + timedelta(days=spec.days - 1)).isoformat(),
        "prisoners": [
            {
                "prisoner_id": p.prisoner_id,
                "date_of_birth": p.date_of_birth.isoformat(),
                "wing": p.wing,
                "in_custody_from": p.arrival_at.date().isoformat() if p.arrival_at else None,
                "left_on": None,
                "low_kiosk_use": p.usage == "low",
                "acct": p.acct_status,
            }
            for p in scenario.prisoners
        ],
        "collapses": [
            {
                "prisoner_id": c.prisoner_id,
                "onset": c.onset_at.isoformat(),
                "factors": sorted({falls[f] for f in c.factors}),
            }
            for c in scenario.truth
        ],
        "confounders": [
            {
                "kind": "bank_holiday",
                "scope": f"wing:{c.wing}" if c.wing else "establishment",
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
            }
            for c in scenario.confounders
        ],
    }


def test_scenario_directory_is_scored_against_its_own_truth(tmp_path: Path) -> None:
    # Given a scenario written to disk with its truth, in both truth layouts
    scenario = simulate(SPEC)
    assert scenario.truth, "the spec must contain collapses for this test to mean anything"
    sim_dir, ext_dir = tmp_path / "sim", tmp_path / "ext"
    write_scenario(scenario, sim_dir)
    write_scenario(scenario, ext_dir)
    (ext_dir / "truth.json").write_text(json.dumps(_external_truth(scenario)))
    config = load_config()
    tz = ZoneInfo(config.timezone)
    quiet = timedelta(hours=config.quiet_period_hours)

    # When the directory is evaluated
    outcome = evaluate_directory(sim_dir, config)

    # Then the figures are those of the simulation's own truth for the alerts published
    assert [c.prisoner_id for c in outcome.truth] == [c.prisoner_id for c in scenario.truth]
    assert outcome.detections == match_detections(scenario.truth, outcome.alerts, tz, quiet)
    assert outcome.verdicts == classify_alerts(
        outcome.alerts, scenario.truth, scenario.prisoners, scenario.confounders, tz
    )
    assert outcome.observations, "every scoring run's rows are kept for the threshold sweep"
    assert sum(f.custody_days for f in outcome.facts) > 0
    # And the plain per-factor rule was measured on the same batches, for comparison
    assert len(outcome.reference) == 18
    assert all(0 <= hit <= len(scenario.truth) and false >= 0 for hit, false in outcome.reference.values())
    # And so was the habit-drop rule, at every threshold of its grid
    assert len(outcome.habit_reference) == len(DEFAULT_THRESHOLDS)
    assert all(0 <= hit <= len(scenario.truth) and false >= 0 for hit, false in outcome.habit_reference.values())
    # And the external layout of the same truth gives the same detections for the same alerts
    ext = load_truth(ext_dir)
    assert match_detections(ext.collapses, outcome.alerts, tz, quiet) == outcome.detections
    assert [p.prisoner_id for p in ext.prisoners] == [p.prisoner_id for p in scenario.prisoners]


def test_cli_refuses_a_scenario_without_truth(tmp_path: Path, capsys: object) -> None:
    (tmp_path / "a.jsonl").write_text("{}\n")
    code = main(["evaluate", "--scenario", str(tmp_path), "--report", str(tmp_path / "r.html")])
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "truth.json not found" in err
