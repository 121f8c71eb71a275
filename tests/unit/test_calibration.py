"""The red line set from an establishment's own recent judged days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from aim.config import AimConfig, ConfigError, Thresholds, load_config
from aim.domain.calibration import (
    SILENT_VALUE,
    TAIL_KEPT,
    calibrate,
    day_entry,
    line_value,
    person_key,
    reds_at,
    update_history,
)

CONFIGURED = Thresholds(amber=4.0, red=6.0)


def history_of(daily_scores: list[np.ndarray]) -> dict[str, dict]:
    """Day by day, prisoner ``i`` has the ``i``-th score of each day's array."""
    start = date(2026, 1, 1)
    history: dict[str, dict] = {}
    for i, scores in enumerate(daily_scores):
        values = [(f"p{j}", float(v)) for j, v in enumerate(scores)]
        history = update_history(history, (start + timedelta(days=i)).isoformat(), values, 120)
    return history


def reds_over(days: list[np.ndarray], line: float, quiet_days: int = 14) -> int:
    """Reds a line raises over the days (prisoner i is the i-th score each day), alert by alert."""
    raised: dict[int, int] = {}
    reds = 0
    for d, scores in enumerate(days):
        for i, v in enumerate(scores):
            if i in raised and v < line and d - raised[i] >= quiet_days:
                del raised[i]
            if i not in raised and v >= line:
                raised[i], reds = d, reds + 1
    return reds


def test_with_independent_days_the_line_is_the_quantile_of_the_days():
    # Given 21 days of 200 everyday scores each, independent from day to day and person to person
    rng = np.random.default_rng(7)
    days = [rng.gamma(2.0, 1.0, size=200) for _ in range(21)]
    # When the line is set for 1.5 reds per 1,000 with no quiet period
    line = calibrate(history_of(days), CONFIGURED, 1.5, min_days=14, quiet_days=1)
    # Then it is the lowest line raising at most 6.3 reds (1.5 per 1,000 of 4,200): the 6th highest score
    assert line.method == "calibrated"
    assert line.red == pytest.approx(np.sort(np.concatenate(days))[-6], rel=1e-3)
    assert line.amber == pytest.approx(line.red * 4.0 / 6.0)
    assert line.basis == "calibrated: at most 1.5 reds per 1,000 over 4,200 judged prisoner-days in 21 days"


def test_someone_who_stays_high_is_one_red_not_a_red_a_day():
    # Given 300 people with everyday scores, and 3 who stay far above everyone for the whole 28 days
    rng = np.random.default_rng(3)
    days = [np.append(rng.gamma(2.0, 1.0, size=297), [20.0, 21.0, 22.0]) for _ in range(28)]
    line = calibrate(history_of(days), CONFIGURED, 2.0, min_days=14)
    # Then the three raise 2 reds each (one per quiet period) and the rest of the capacity is left
    # to everyone else: the line is where 2 per 1,000 of the 8,400 days raise a red, no more
    assert reds_over(days, line.red) <= 2.0 * 8400 / 1000
    assert reds_over(days, line.red * 0.97) > 2.0 * 8400 / 1000
    assert line.red < 20.0


def test_about_capacity_per_1000_judged_days_raise_a_red_on_fresh_days():
    rng = np.random.default_rng(3)
    history = history_of([rng.gamma(2.0, 1.0, size=300) for _ in range(28)])
    line = calibrate(history, CONFIGURED, 2.0, min_days=14, quiet_days=1)
    fresh = rng.gamma(2.0, 1.0, size=400_000)
    assert 1.0 <= 1000 * np.mean(fresh >= line.red) <= 3.0


def test_reds_follow_the_alert_lifecycle():
    day = date(2026, 1, 1).toordinal()
    # above, above, below on day 2 (too soon to close), above on day 3: one red
    assert reds_at([[(day, 5.0), (day + 1, 5.0), (day + 2, 1.0), (day + 3, 5.0)]], 4.0, quiet_days=3) == 1
    # below once the quiet period has passed, then above again: a second red
    assert reds_at([[(day, 5.0), (day + 3, 1.0), (day + 4, 5.0)]], 4.0, quiet_days=3) == 2
    # still above after the quiet period: the red stays open
    assert reds_at([[(day + d, 5.0) for d in range(10)]], 4.0, quiet_days=3) == 1


def test_too_little_history_falls_back_to_the_configured_thresholds():
    rng = np.random.default_rng(1)
    line = calibrate(history_of([rng.gamma(2.0, 1.5, size=200) for _ in range(13)]), CONFIGURED, 1.5, 14)
    assert (line.amber, line.red, line.method) == (4.0, 6.0, "configured")
    assert line.basis == "configured: fewer than 14 full days of history (13)"


def test_no_capacity_means_the_configured_thresholds():
    rng = np.random.default_rng(1)
    line = calibrate(history_of([rng.gamma(2.0, 1.5, size=200) for _ in range(30)]), CONFIGURED, None, 14)
    assert (line.red, line.method) == (6.0, "configured")


def test_line_is_bounded_by_half_and_twice_the_configured_red():
    quiet = history_of([np.full(200, 0.5) for _ in range(20)])
    noisy = history_of([np.full(200, 30.0) for _ in range(20)])
    low, high = calibrate(quiet, CONFIGURED, 1.5, 14), calibrate(noisy, CONFIGURED, 1.5, 14)
    assert low.red == 3.0 and "bounded at 3.00, 0.5x the configured red" in low.basis
    assert high.red == 12.0 and "bounded at 12.00, 2x the configured red" in high.basis


def test_history_keeps_the_tail_with_whose_and_the_latest_days_and_a_rerun_replaces_its_day():
    entry = day_entry((f"p{i}", float(i)) for i in range(500))
    assert entry["n"] == 500 and len(entry["top"]) == TAIL_KEPT and entry["top"][0] == ["p499", 499.0]
    history = history_of([np.arange(10.0) for _ in range(5)])
    history = update_history(history, "2026-01-05", [("a", 1.0), ("b", 2.0)], keep_days=3)
    assert sorted(history) == ["2026-01-03", "2026-01-04", "2026-01-05"]
    assert history["2026-01-05"] == {"n": 2, "top": [["b", 2.0], ["a", 1.0]]}


def test_a_history_kept_without_whose_counts_each_value_as_its_own_person():
    rng = np.random.default_rng(2)
    plain = {
        (date(2026, 1, 1) + timedelta(days=i)).isoformat(): {"n": 200, "top": sorted(rng.gamma(2, 1, 64), reverse=True)}
        for i in range(20)
    }
    line = calibrate(plain, CONFIGURED, 2.0, 14)
    values = np.sort(np.concatenate([e["top"] for e in plain.values()]))
    assert line.red == pytest.approx(values[-8])  # 8 reds allowed of 4,000 days at 2 per 1,000


def test_person_keys_are_short_keyed_and_stable():
    assert person_key(b"k", "A1234BC") == person_key(b"k", "A1234BC")
    assert person_key(b"k", "A1234BC") != person_key(b"other", "A1234BC")
    assert len(person_key(b"k", "A1234BC")) == 8 and "A1234BC" not in person_key(b"k", "A1234BC")


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
    with_silence = [np.roll(np.append(d[:-1], SILENT_VALUE), i) for i, d in enumerate(plain)]  # someone new each day
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
    assert line.basis.endswith("in 14 days")
    assert line.red == pytest.approx(calibrate(history_of(whole), CONFIGURED, 2.0, 14).red)
    # and with fewer full days than asked for, the configured line stays
    short = calibrate(history_of(warming + whole[:10]), CONFIGURED, 2.0, min_days=14)
    assert (short.method, short.basis) == ("configured", "configured: fewer than 14 full days of history (10)")
