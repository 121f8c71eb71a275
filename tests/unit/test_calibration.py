"""The red line set from an establishment's own everyday scores."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from aim.config import AimConfig, ConfigError, Thresholds, load_config
from aim.domain.calibration import TAIL_KEPT, calibrate, day_entry, is_everyday, update_history

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
    assert "99.85th percentile of 4,200 everyday scores over 21 days" in line.basis


def test_about_capacity_per_1000_everyday_scores_pass_the_line():
    rng = np.random.default_rng(3)
    history = history_of([rng.gamma(2.0, 1.0, size=300) for _ in range(28)])
    line = calibrate(history, CONFIGURED, 2.0, min_days=14)
    fresh = rng.gamma(2.0, 1.0, size=400_000)
    assert 1.0 <= 1000 * np.mean(fresh >= line.red) <= 3.0


def test_too_little_history_falls_back_to_the_configured_thresholds():
    rng = np.random.default_rng(1)
    line = calibrate(history_of([rng.gamma(2.0, 1.5, size=200) for _ in range(13)]), CONFIGURED, 1.5, 14)
    assert (line.amber, line.red, line.method) == (4.0, 6.0, "configured")
    assert line.basis == "configured: fewer than 14 days of history (13)"


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
    assert AimConfig().red_capacity_for("LEI") is None  # off unless configured


def test_history_shorter_than_min_days_is_refused():
    with pytest.raises(ConfigError, match="red_capacity_min_days"):
        load_config(text='{"red_capacity_min_days": 30, "red_capacity_history_days": 20}')


def test_open_alerts_from_earlier_days_and_insufficient_days_are_not_everyday():
    day = date(2026, 3, 10)
    assert is_everyday("green", None, day)
    assert is_everyday("red", day, day)  # raised by an earlier run on the same judged day
    assert not is_everyday("amber", day - timedelta(days=1), day)  # an open alert from an earlier day
    assert not is_everyday("insufficient", None, day)


def test_open_alert_scores_left_out_keep_the_line_where_everyday_scores_put_it():
    # Given a day where those with open alerts score far above everyone else
    rng = np.random.default_rng(5)
    day = date(2026, 3, 10)
    everyone = [("green", None, float(s)) for s in rng.gamma(2.0, 1.0, size=400)]
    alerted = [("red", day - timedelta(days=2), 11.0)] * 10
    kept = [score for light, alert_day, score in everyone + alerted if is_everyday(light, alert_day, day)]
    history = history_of([np.array(kept)] * 20)
    # Then the line is that of the everyday scores alone
    assert calibrate(history, CONFIGURED, 1.5, 14).red < 10.0
