"""The ceiling study's scoring rules: the same quiet period, detection window and false-red count as
``aim evaluate``, applied to any value (AIM's score or a classifier's probability)."""

from __future__ import annotations

import numpy as np
import pytest
from aim_lab.ceiling import Capture, best_recall, labels, operating_point


def capture(pids: list[str], hours: list[float], onsets: dict[str, float], collapses: int, pdays: int) -> Capture:
    return Capture(
        name="t",
        pid=np.array(pids),
        hours=np.array(hours, dtype=np.float64),
        onset=np.array([onsets.get(p, np.nan) for p in pids], dtype=np.float64),
        aim=np.zeros(len(pids)),
        features=np.zeros((len(pids), 1)),
        collapses=collapses,
        prisoner_days=pdays,
    )


def test_red_within_72_hours_of_onset_detects_and_a_red_before_onset_is_false() -> None:
    # Given A collapsed at hour 100: red at hour 24 (before onset) and hour 130 (30 h after)
    cap = capture(["A", "A", "B"], [24, 130, 50], {"A": 100}, collapses=1, pdays=2000)
    point = operating_point([cap], [np.array([1.0, 1.0, 0.0])], 0.5)
    # Then the collapse is detected, and the early red is one false red in 2,000 prisoner-days
    assert point.recall_72h == 1.0 and point.recall_7d == 1.0
    assert point.false_per_1000 == pytest.approx(0.5)


def test_a_red_inside_the_quiet_period_is_not_counted_again() -> None:
    # Given B, who never collapsed, at or above the threshold at hours 10, 40 (within 72 h) and 90
    cap = capture(["B", "B", "B"], [10, 40, 90], {}, collapses=1, pdays=1000)
    point = operating_point([cap], [np.array([2.0, 2.0, 2.0])], 1.0)
    # Then two false reds: the one at hour 40 falls in the quiet period of the first
    assert point.false_per_1000 == pytest.approx(2.0)
    assert point.recall_72h == 0.0


def test_a_red_after_72_hours_counts_only_within_7_days() -> None:
    cap = capture(["A"], [200], {"A": 100}, collapses=1, pdays=1000)
    point = operating_point([cap], [np.array([1.0])], 0.5)
    assert point.recall_72h == 0.0 and point.recall_7d == 1.0 and point.false_per_1000 == 0.0


def test_labels_are_6_to_72_hours_after_onset_and_later_rows_are_left_out() -> None:
    cap = capture(["A", "A", "A", "A", "B"], [90, 103, 160, 200, 150], {"A": 100}, collapses=1, pdays=10)
    positive, usable = labels(cap)
    assert positive.tolist() == [False, False, True, False, False]
    # 90: before onset (negative); 103: too soon to tell (left out); 200: after the window (left out)
    assert usable.tolist() == [True, False, True, False, True]


def test_best_recall_keeps_false_reds_under_each_cap() -> None:
    # Given a collapse only found at a threshold that also makes 3 false reds in 1,000 prisoner-days
    pids = ["A", "B", "C", "D"]
    cap = capture(pids, [110, 50, 50, 50], {"A": 100}, collapses=1, pdays=1000)
    values = [np.array([0.6, 0.7, 0.8, 0.9])]
    best = best_recall([cap], values, caps=(1.0, 5.0))
    # Then at <= 1 false red the best recall is 0, at <= 5 it is 1
    low, high = best[1.0], best[5.0]
    assert low is not None and low.recall_72h == 0.0 and low.false_per_1000 <= 1.0
    assert high is not None and high.recall_72h == 1.0 and high.false_per_1000 == pytest.approx(3.0)
