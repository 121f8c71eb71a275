"""The red line set from an establishment's own recent judged days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from aim.config import AimConfig, ConfigError, Thresholds, load_config
from aim.domain.calibration import SILENT_VALUE, TAIL_KEPT, calibrate, day_entry, line_value, update_history

CONFIGURED = Thresholds(amber=4.0, red=6.0)


def history_of(daily_scores: list[np.ndarray]) -> dict[str, dict]:
    start = date(2026, 1, 1)
    history: dict[str, dict] = {}
    for i, scores in enumerate(daily_scores):
        history = update_history(history, (start + timedelta(days=i)).isoformat(), scores.tolist(), 120)
    return history


def test_known_distribution_gives_its_quantile_as_the_red_line():
    # Given 21 days of 200 everyday scores each, drawn from one distribution
    rng = np.random.default_rng(7)
    days = [rng.gamma(2.0, 1.0, size=200) for _ in range(21)]
    # When the line is set for 1.5 reds per 1,000
    line = calibrate(history_of(days), CONFIGURED, 1.5, min_days=14)
    # Then it is the 99.85th percentile of all of them, amber keeps the configured ratio
    assert line.method == "calibrated"
    assert line.red == pytest.approx(np.quantile(np.concatenate(days), 0.9985), rel=1e-3)
    assert line.amber == pytest.approx(line.red * 4.0 / 6.0)
    assert "99.85th percentile of 4,200 judged prisoner-days over 21 days" in line.basis


def test_about_capacity_per_1000_judged_days_pass_the_line():
    rng = np.random.default_rng(3)
    history = history_of([rng.gamma(2.0, 1.0, size=300) for _ in range(28)])
    line = calibrate(history, CONFIGURED, 2.0, min_days=14)
    fresh = rng.gamma(2.0, 1.0, size=400_000)
    assert 1.0 <= 1000 * np.mean(fresh >= line.red) <= 3.0


def test_too_little_history_falls_back_to_the_configured_thresholds():
    rng = np.random.default_rng(1)
    line = calibrate(history_of([rng.gamma(2.0, 1.5, size=200) for _ in range(13)]), CONFIGURED, 1.5, 14)
    assert (line.amber, line.red, line.method) == (4.0, 6.0, "configured")
    assert line.basis == "configured: fewer than 14 full days of history (13)"


def test_no_capacity_means_the_configured_thresholds():
    rng = np.random.default_rng(1)
    line = calibrate(history_of([rng.gamma(2.0, 1.5, size=200) for _ in range(30)]), CONFIGURED, None, 14)
    assert (line.red, line.method) == (6.0, "configured")


def test_line_is_bounded_by_configured_amber_and_twice_configured_red():
    quiet = history_of([np.full(200, 0.5) for _ in range(20)])
    noisy = history_of([np.full(200, 30.0) for _ in range(20)])
    low, high = calibrate(quiet, CONFIGURED, 1.5, 14), calibrate(noisy, CONFIGURED, 1.5, 14)
    assert low.red == 4.0 and "bounded at 4.00, the configured amber" in low.basis
    assert high.red == 12.0 and "bounded at 12.00, 2x the configured red" in high.basis


def test_history_keeps_the_tail_and_the_latest_days_and_a_rerun_replaces_its_day():
    entry = day_entry(range(500))
    assert entry["n"] == 500 and len(entry["top"]) == TAIL_KEPT and entry["top"][0] == 499
    history = history_of([np.arange(10.0) for _ in range(5)])
    history = update_history(history, "2026-01-05", [1.0, 2.0], keep_days=3)
    assert sorted(history) == ["2026-01-03", "2026-01-04", "2026-01-05"]
    assert history["2026-01-05"] == {"n": 2, "top": [2.0, 1.0]}


def test_capacity_per_establishment_overrides_the_default():
    config = AimConfig(
        establishments=["LEI", "MDI"], red_capacity_per_1000=1.0, establishment_red_capacity={"MDI": 3.0, "LEI": None}
    )
    assert config.red_capacity_for("MDI") == 3.0
    assert config.red_capacity_for("LEI") is None
    assert config.red_capacity_for("BAI") == 1.0
    assert AimConfig().red_capacity_for("LEI") == 2.0  # on by default
    assert AimConfig(red_capacity_per_1000=None).red_capacity_for("LEI") is None  # null: the configured line only


def test_history_shorter_than_min_days_is_refused():
    with pytest.raises(ConfigError, match="red_capacity_min_days"):
        load_config(text='{"red_capacity_min_days": 30, "red_capacity_history_days": 20}')


def test_line_values_are_scores_over_static_factors_and_silence_passes_every_line():
    assert line_value("green", 3.0, 1.0, silent=False) == 3.0
    assert line_value("red", 4.0, 0.8, silent=False) == pytest.approx(5.0)  # static factors lowered their line
    assert line_value("red", 2.0, 1.0, silent=True) == SILENT_VALUE
    assert line_value("insufficient", 9.0, 1.0, silent=False) is None  # not judged: not in the history
    assert SILENT_VALUE > 2 * 100  # above the highest line a configuration allows (2 x red, red <= 100)


def test_silences_use_up_capacity_so_the_score_line_rises():
    # Given days where 1 in 1,000 judged prisoner-days is a silence, beside ordinary scores
    rng = np.random.default_rng(5)
    plain = [rng.gamma(2.0, 1.0, size=1000) for _ in range(20)]
    with_silence = [np.append(d[:-1], SILENT_VALUE) for d in plain]
    # Then at 2 reds per 1,000 the score line sits higher: half the capacity is taken by silences
    assert (
        calibrate(history_of(with_silence), CONFIGURED, 2.0, 14).red
        > calibrate(history_of(plain), CONFIGURED, 2.0, 14).red
    )


def test_days_when_few_were_judged_do_not_set_the_line():
    # Given a new establishment: a week of days when a handful were judged on short baselines,
    # scoring low, then 14 days when everyone was
    rng = np.random.default_rng(9)
    warming = [rng.gamma(1.0, 0.5, size=20) for _ in range(7)]
    whole = [rng.gamma(2.0, 1.0, size=400) for _ in range(14)]
    line = calibrate(history_of(warming + whole), CONFIGURED, 2.0, min_days=14)
    # Then only the 14 full days count, and the line is theirs
    assert "over 14 days" in line.basis
    assert line.red == pytest.approx(calibrate(history_of(whole), CONFIGURED, 2.0, 14).red)
    # and with fewer full days than asked for, the configured line stays
    short = calibrate(history_of(warming + whole[:10]), CONFIGURED, 2.0, min_days=14)
    assert (short.method, short.basis) == ("configured", "configured: fewer than 14 full days of history (10)")
