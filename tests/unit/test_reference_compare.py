"""Both reference rules alone on written scenarios, pooled (aim_lab.reference_compare)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aim_lab.habit_rule import DEFAULT_THRESHOLDS
from aim_lab.reference_compare import main, rule_results, run_of_directory
from aim_lab.reference_rule import DEFAULT_GRID
from aim_lab.scenario_writer import write_scenario


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    dirs = []
    for seed in (1, 2):
        root = tmp_path_factory.mktemp(f"noisy{seed}")
        write_scenario(root, seed=seed, prisoners=40, days=14, family="noisy")
        dirs.append(root)
    return dirs


def test_figures_are_pooled_over_scenarios_and_the_best_respects_each_rate(
    scenarios: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two written scenarios, each measured alone
    alone = [rule_results(run_of_directory(d)) for d in scenarios]

    # When they are compared together
    out = tmp_path / "rules.json"
    args = [a for d in scenarios for a in ("--scenario", str(d))]
    assert main([*args, "--at", "0,1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())

    # Then each rule's settings are all there, with counts added over the scenarios
    habit = result["rules"]["habit_rule"]["settings"]
    assert len(habit) == len(DEFAULT_THRESHOLDS)
    assert len(result["rules"]["reference_rule"]["settings"]) == len(DEFAULT_GRID)
    for label, pooled in habit.items():
        assert pooled["collapses"] == sum(a["habit_rule"][label].collapses for a in alone) > 0
        assert pooled["false_reds"] == sum(a["habit_rule"][label].false_reds for a in alone)
        assert pooled["detected_7d"] >= pooled["detected_72h"]
    # And the best setting at each rate has no more false reds per 1,000 than that rate
    for rule in ("habit_rule", "reference_rule"):
        for cap, best in result["rules"][rule]["best_at"].items():
            assert best is None or best["false_reds_per_1000"] <= float(cap) + 1e-9
    assert "best at <= 1 false reds per 1,000" in capsys.readouterr().out


def test_the_command_needs_a_scenario() -> None:
    with pytest.raises(SystemExit):
        main([])
