"""Daily feature vectors and the routine-change score."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aim.config import AimConfig
from aim.domain.activity import Fact
from aim.domain.assessment import silence_fires
from aim.domain.features import CHANNELS, FEATURES, NF, F, day_vectors, feature_index, kiosk_hours
from aim.domain.scoring import ScoreInputs, ScoreResult, channel_weights, score
from hypothesis import given, settings
from hypothesis import strategies as st

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 20)
C = {c.name: i for i, c in enumerate(CHANNELS)}


def fact(
    type_: str,
    hour: int = 9,
    prisoner: str | None = "A1234BC",
    detail: str = "",
    n: int = 0,
    day: date = DAY,
    kiosk: str = "K1",
) -> Fact:
    at = datetime(day.year, day.month, day.day, hour, n % 60, tzinfo=UTC)
    return Fact("LEI", day, f"E-{type_}-{hour}-{n}", type_, at, kiosk, prisoner, detail)


# --- features -------------------------------------------------------------------------------
def test_day_vector_counts_each_routine_record_in_its_feature_and_in_routine():
    facts = [fact("phone_call", n=1), fact("phone_call", n=2), fact("canteen_order"), fact("kiosk_login", hour=10)]
    vec = day_vectors(facts, LONDON)["A1234BC"]
    assert vec.shape == (NF,)
    assert (int(vec[F["phone_call"]]), int(vec[F["canteen_order"]]), int(vec[F["kiosk_login"]])) == (2, 1, 1)
    assert int(vec[F["routine"]]) == 4
    assert int(vec[F["late_login"]]) == 0


def test_non_routine_and_unknown_types_and_heartbeats_are_not_counted():
    facts = [
        fact("profile"),
        fact("reception"),
        fact("hologram_booked"),
        fact("kiosk_heartbeat", prisoner=None),
        fact("significant_date"),
        fact("hologram_booked", prisoner=None),
    ]
    assert day_vectors(facts, LONDON) == {}


def test_visit_cancellations_are_split_by_who_cancelled():
    facts = [
        fact("visit_cancelled", detail=f'{{"by":"{by}","visit_date":"2026-11-23"}}', n=i)
        for i, by in enumerate(["prisoner", "visitor", "establishment", "establishment"])
    ]
    vec = day_vectors(facts, LONDON)["A1234BC"]
    got = [int(vec[F[f"visit_cancelled_{by}"]]) for by in ("prisoner", "visitor", "establishment")]
    assert got == [1, 1, 2]
    assert int(vec[F["routine"]]) == 4


@pytest.mark.parametrize(
    ("reason", "feature"),
    [
        ("refused", "activity_missed_refused"),
        ("sick", "activity_missed_other"),  # illness is not a refusal
        ("cancelled", "activity_missed_cancelled"),
        ("other", "activity_missed_other"),
    ],
)
def test_missed_activity_reasons(reason, feature):
    vec = day_vectors([fact("activity_missed", detail=f'{{"activity":"work","reason":"{reason}"}}')], LONDON)
    assert int(vec["A1234BC"][F[feature]]) == 1


@pytest.mark.parametrize(
    ("day", "utc_hour", "late"),
    [
        (date(2026, 11, 20), 22, True),  # 22:00 GMT
        (date(2026, 11, 20), 21, False),
        (date(2026, 7, 1), 21, True),  # 22:00 BST
        (date(2026, 7, 1), 4, True),  # 05:00 BST
        (date(2026, 7, 1), 5, False),  # 06:00 BST
    ],
)
def test_late_login_is_judged_in_local_time(day, utc_hour, late):
    vec = day_vectors([fact("kiosk_login", hour=utc_hour, day=day)], LONDON)["A1234BC"]
    assert int(vec[F["late_login"]]) == int(late)


def test_vectors_are_per_prisoner():
    vectors = day_vectors([fact("phone_call"), fact("phone_call", prisoner="G5678KL", n=1)], LONDON)
    assert sorted(vectors) == ["A1234BC", "G5678KL"]


def test_kiosk_hours_are_local_hours_of_heartbeats():
    facts = [fact("kiosk_heartbeat", hour=h, prisoner=None, day=date(2026, 7, 1)) for h in (7, 8, 8)]
    facts.append(fact("kiosk_heartbeat", hour=9, prisoner=None, kiosk="K2"))
    assert kiosk_hours(facts, LONDON) == {"K1": {8, 9}, "K2": {9}}


def test_feature_names_are_unique_and_channels_use_known_features():
    assert len(set(FEATURES)) == len(FEATURES)
    assert all(0 <= i < NF for c in CHANNELS for i in c.features)


# --- scoring --------------------------------------------------------------------------------
T = 49
ROUTINE = {"phone_call": 3, "kiosk_login": 2, "canteen_order": 1, "meal_selected": 2, "activity_attended": 1}


def steady(n_people: int = 1, days: int = T) -> np.ndarray:
    counts = np.zeros((n_people, days, NF))
    for name, k in ROUTINE.items():
        counts[:, :, F[name]] = k
    counts[:, :, F["routine"]] = sum(ROUTINE.values())
    return counts


def inputs(counts: np.ndarray, valid: np.ndarray | None = None, arrival: np.ndarray | None = None) -> ScoreInputs:
    n_p, n_t, _ = counts.shape
    start = date(2026, 9, 7)
    return ScoreInputs(
        counts=counts,
        valid=np.ones((n_p, n_t, len(CHANNELS)), dtype=bool) if valid is None else valid,
        weekday=np.array([(start + timedelta(days=t)).weekday() for t in range(n_t)], dtype=np.int64),
        judge=n_t - 1,
        channel_weights=channel_weights({}),
        arrival=arrival,
    )


def test_flat_routine_scores_low():
    result = score(inputs(steady(3)))
    assert np.all(result.score < 0.5)
    assert np.all(result.baseline_days == T - 1)  # the judged day is scored against every day before it


def test_noisy_but_stable_routine_scores_below_amber():
    rng = np.random.default_rng(1)
    counts = steady(5)
    for name, k in ROUTINE.items():
        counts[:, :, F[name]] = rng.poisson(k, size=(5, T))
    result = score(inputs(counts))
    assert np.all(result.score < 3.0), result.score


def red_by_default(result: ScoreResult, p: int) -> bool:
    """The default configuration's red: the score at the red line, or a silence."""
    cfg = AimConfig()
    by_silence = silence_fires(
        int(result.silent[p].sum()), int(result.rising[p].sum()), cfg.silence.factors, cfg.silence.factors_with_rise
    )
    return bool(result.score[p] >= cfg.thresholds.red) or by_silence


@pytest.mark.parametrize("stop_days", [2, 3, 5])
def test_total_stop_is_red_under_the_default_configuration(stop_days):
    counts = steady(2)
    counts[0, -stop_days:, :] = 0
    result = score(inputs(counts))
    assert red_by_default(result, 0)
    assert result.score[0] >= AimConfig().thresholds.amber  # the score alone says something moved
    assert result.score[1] < 0.5
    assert result.window[0] >= stop_days
    drop_channels = [C[n] for n in ("phone", "selfcare", "purposeful", "engagement")]
    assert np.all(result.observed[0, drop_channels] == 0)
    assert np.all(result.expected[0, drop_channels] > 0)


def test_longer_stop_scores_higher():
    scores = []
    for stop in (1, 2, 4):
        counts = steady(1)
        counts[0, -stop:, :] = 0
        scores.append(float(score(inputs(counts)).score[0]))
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]


def test_fall_in_a_channel_never_used_scores_about_zero():
    # Given someone who never books visits; When they still never book visits
    counts = steady(1)
    assert counts[0, :, F["visit_booked"]].sum() == 0
    result = score(inputs(counts))
    # Then the visits channel contributes nothing
    assert result.deviance[0, C["visits"]] == pytest.approx(0.0, abs=1e-9)
    assert result.score[0] < 0.5


def test_stopping_only_a_rarely_used_channel_scores_low():
    counts = steady(1)
    counts[0, ::7, F["application_submitted"]] = 1  # one application a week
    counts[0, -3:, F["application_submitted"]] = 0
    assert score(inputs(counts)).score[0] < 3.0


def test_rise_in_refusals_is_evidence():
    counts = steady(1)
    counts[0, -3:, F["activity_missed_refused"]] = 2
    counts[0, -3:, F["activity_attended"]] = 0
    result = score(inputs(counts))
    assert result.deviance[0, C["refusals"]] > 0
    assert result.score[0] > 3.0


def test_masked_days_do_not_count():
    # Given a stop on days that are masked (e.g. kiosk outage, lockdown)
    counts = steady(1)
    counts[0, -3:, :] = 0
    valid = np.ones((1, T, len(CHANNELS)), dtype=bool)
    valid[0, -3:, :] = False
    # Then it is no evidence at all
    assert score(inputs(counts, valid)).score[0] < 0.5


def test_masked_baseline_days_do_not_lower_the_expectation():
    # Given a baseline where half the days were empty because the kiosk was down (masked)
    counts = steady(1)
    counts[0, : T - 7 : 2, :] = 0
    valid = np.ones((1, T, len(CHANNELS)), dtype=bool)
    valid[0, : T - 7 : 2, :] = False
    # When the routine stops
    counts[0, -3:, :] = 0
    masked = score(inputs(counts, valid))
    unmasked = score(inputs(counts))
    # Then the masked baseline expects the full routine; counting the outage days would dilute it
    phone = C["phone"]
    assert masked.expected[0, phone] > unmasked.expected[0, phone]
    assert masked.score[0] > unmasked.score[0]


def test_factor_weight_zero_switches_a_factor_off():
    counts = steady(1)
    counts[0, -3:, F["phone_call"]] = 0
    base = score(inputs(counts))
    weighted = ScoreInputs(**{**inputs(counts).__dict__, "channel_weights": channel_weights({"phone": 0.0})})
    assert base.score[0] > 3.0
    assert score(weighted).score[0] < 0.5


def test_new_arrival_with_short_history_is_judged_against_peers():
    # Given a newcomer (reception seen) with only a few own days among people with long histories
    counts = steady(4)
    valid = np.ones((4, T, len(CHANNELS)), dtype=bool)
    valid[0, : T - 10, :] = False
    counts[0, -3:, :] = 0
    result = score(inputs(counts, valid, arrival=np.array([True, False, False, False])))
    # Then the peer baseline gives an expectation and the stop is still evidence
    assert result.baseline_days[0] == 9
    assert result.judgeable[0]
    assert result.expected[0, C["phone"]] > 0
    assert result.score[0] > 3.0


def test_someone_already_in_custody_with_a_short_history_is_not_judged_yet():
    # Given a person AIM has seen for only 10 days who did not arrive during the data (e.g. go-live)
    counts = steady(4)
    valid = np.ones((4, T, len(CHANNELS)), dtype=bool)
    valid[0, : T - 10, :] = False
    counts[0, -3:, :] = 0
    result = score(inputs(counts, valid))
    # Then they are not judgeable (listed as insufficient), not red on a peer's routine
    assert not result.judgeable[0]
    assert result.score[0] == 0.0


# --- the group ratio: same-day comparison with the others on the same kiosk ------------------
def grouped(counts: np.ndarray, open_from: int | None = None) -> ScoreInputs:
    return ScoreInputs(
        **{**inputs(counts).__dict__, "group": np.zeros(counts.shape[0], dtype=np.int64), "open_from": open_from}
    )


def test_a_fall_shared_by_the_whole_group_is_not_evidence_but_one_persons_fall_is():
    # Given twelve people on one kiosk whose routine all fell by a third for three days (a regime change),
    # and one of them who stopped altogether
    counts = steady(12)
    counts[:, -3:, :] = np.round(counts[:, -3:, :] * 0.67)
    counts[0, -3:, :] = 0
    # When scored with and without the same-day group comparison
    alone, together = score(inputs(counts)), score(grouped(counts))
    # Then the shared fall scores about nothing against the group, though it looks like a fall alone,
    assert np.all(together.score[1:] < 1.0)
    assert np.all(alone.score[1:] > together.score[1:] + 1.5)
    # and the one who stopped is still red (on the score or on their regular habits stopping)
    assert red_by_default(together, 0)


def test_an_open_day_counts_in_proportion_to_what_the_group_has_sent_so_far():
    # Given twelve people; today (still open) the others have sent about half a day's records
    counts = steady(12)
    counts[:, -1, :] = np.floor(counts[:, -1, :] / 2)
    counts[0, -3:, :] = 0  # one person stopped two days ago and has sent nothing today
    # When judged with today open
    result = score(grouped(counts, open_from=T - 1))
    # Then half a day of the others' records is not a fall for them
    assert np.all(result.score[1:] < 1.0)
    # and today's absence adds to the stopped person's evidence (against two closed days alone)
    closed_only = score(grouped(counts[:, :-1, :]))
    assert result.score[0] > closed_only.score[0]


def test_an_open_day_from_which_the_group_has_sent_nothing_is_no_evidence():
    # Given twelve people with no records yet today (the kiosk's batches are still to come)
    counts = steady(12)
    counts[:, -1, :] = 0
    # When judged with today open, Then nobody scores: nothing is known about today
    result = score(grouped(counts, open_from=T - 1))
    assert np.all(result.score < 0.5)
    # while the same day judged as closed would look like everyone stopped
    assert np.all(score(inputs(counts)).score > 3.0)


def test_day_vectors_count_exactly_what_feature_index_says_for_every_type_and_hour():
    # Given facts of every type at every hour of a DST-change day, for three prisoners and none
    details = {
        "visit_cancelled": ['{"by":"prisoner"}', '{"by":"visitor"}', '{"by":"establishment"}', '{"by":"x"}'],
        "activity_missed": ['{"reason":"refused"}', '{"reason":"sick"}', '{"reason":"cancelled"}', "{}"],
    }
    day = date(2026, 3, 29)
    facts = [
        fact(kind, hour=h, prisoner=pid, detail=d, n=i, day=day)
        for i, (kind, h, pid, d) in enumerate(
            (kind, h, pid, d)
            for kind in (*FEATURES, "kiosk_heartbeat", "profile", "hologram_booked")
            for h in range(24)
            for pid in ("A1234BC", "B2345CD", "C3456DE", None)
            for d in details.get(kind, [""])
        )
    ]
    # When counted into day vectors, Then each prisoner's vector is the sum of feature_index over their facts
    got = day_vectors(facts, LONDON)
    for pid in ("A1234BC", "B2345CD", "C3456DE"):
        want = np.zeros(NF, dtype=np.int64)
        for f in facts:
            if f.prisoner_id == pid:
                for i in feature_index(f, LONDON):
                    want[i] += 1
        assert got[pid].tolist() == want.tolist()
    assert int(got["A1234BC"][F["late_login"]]) == 8  # 22:00-05:59 local on the day the clocks go forward


def test_day_vector_counts_are_capped_to_what_the_state_stores():
    # Given more phone calls in a day than an int16 count holds (a runaway kiosk)
    facts = [fact("phone_call", n=i) for i in range(32_005)]
    # Then the stored count stops at the cap instead of wrapping round
    vec = day_vectors(facts, LONDON)["A1234BC"]
    assert int(vec[F["phone_call"]]) == 32_000
    assert int(vec[F["routine"]]) == 32_000


@settings(max_examples=300, deadline=None)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from([*FEATURES, "visit_cancelled", "activity_missed", "kiosk_heartbeat", "profile", "mystery"]),
            st.integers(0, 24 * 60 - 1),  # minute of the UTC day
            st.sampled_from(["A1234BC", "B2345CD", None]),
            st.sampled_from(['{"by":"visitor"}', '{"reason":"sick"}', '{"by":"x"}', ""]),
            st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=-5)]),  # the fact's own offset
        ),
        max_size=40,
    ),
    day=st.sampled_from([date(2026, 3, 29), date(2026, 10, 25), date(2026, 7, 1), date(2024, 2, 29)]),
    as_generator=st.booleans(),
)
def test_day_vectors_are_the_sums_of_feature_index_whatever_the_facts_offsets(
    picks: list[tuple[str, int, str | None, str, timedelta]], day: date, as_generator: bool
) -> None:
    # Given facts of any type, prisoner and minute, their moments held in UTC or another offset
    facts = [
        Fact(
            "LEI",
            day,
            f"E-{i}",
            kind,
            (datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minute)).astimezone(
                UTC if offset == timedelta(0) else timezone(offset)
            ),
            "K1",
            pid,
            detail if kind in ("visit_cancelled", "activity_missed") else "",
        )
        for i, (kind, minute, pid, detail, offset) in enumerate(picks)
    ]
    # When counted, as a list or as any other iterable
    got = day_vectors((f for f in facts) if as_generator else facts, LONDON)
    # Then each prisoner's vector is the int16 sum of feature_index over their facts, in order of first fact
    want: dict[str, np.ndarray] = {}
    for f in facts:
        if f.prisoner_id is not None and feature_index(f, LONDON):
            row = want.setdefault(f.prisoner_id, np.zeros(NF, dtype=np.int64))
            for i in feature_index(f, LONDON):
                row[i] += 1
    assert list(got) == list(want)
    for pid, vec in got.items():
        assert vec.dtype == np.int16 and vec.shape == (NF,)
        assert vec.tolist() == want[pid].tolist()


def test_day_vector_counts_are_capped_for_any_iterable_of_facts():
    facts = (fact("kiosk_login", n=i) for i in range(32_005))
    vec = day_vectors(facts, LONDON)["A1234BC"]
    assert (int(vec[F["kiosk_login"]]), int(vec[F["routine"]]), int(vec[F["late_login"]])) == (32_000, 32_000, 0)


# --- silence: regular habits stopped altogether ----------------------------------------------
ONCE_A_DAY = {"phone_call": 1, "kiosk_login": 1, "meal_selected": 1}


def once_a_day(n_people: int = 1, days: int = T) -> np.ndarray:
    counts = np.zeros((n_people, days, NF))
    for name, k in ONCE_A_DAY.items():
        counts[:, :, F[name]] = k
    return counts


def _silent_names(result_silent: np.ndarray) -> set[str]:
    return {CHANNELS[c].name for c in np.flatnonzero(result_silent)}


def test_three_once_a_day_habits_stopping_for_two_days_are_silent_though_the_score_is_low():
    # Given someone who phones, logs in and picks a meal once a day, and stops all three for two days
    counts = once_a_day()
    counts[0, -2:, :] = 0
    result = score(inputs(counts))
    # Then all three are regular habits that stopped
    assert result.silent is not None
    assert _silent_names(result.silent[0]) == {"phone", "engagement", "selfcare"}
    # While the count-based score alone is below the default red threshold: few events were lost
    assert result.score[0] < AimConfig().thresholds.red


def test_two_habits_stopping_with_complaints_rising_is_a_silence_with_a_rise():
    # Given someone who phones, logs in and picks a meal once a day; for two days they stop phoning and
    # picking meals, still log in, and submit two complaints a day (usually none)
    counts = once_a_day()
    counts[0, -2:, F["phone_call"]] = 0
    counts[0, -2:, F["meal_selected"]] = 0
    counts[0, -2:, F["complaint_submitted"]] = 2
    result = score(inputs(counts))
    cfg = AimConfig().silence
    # Then two regular habits stopped and the complaints are a rise beside them, with what was seen
    assert _silent_names(result.silent[0]) == {"phone", "selfcare"}
    assert _silent_names(result.rising[0]) == {"distress"}
    assert result.recent[0, C["distress"]] == 4
    assert result.recent_usual[0, C["distress"]] < 1
    assert silence_fires(2, 1, cfg.factors, cfg.factors_with_rise)
    # And without the complaints the same two habits are not enough
    counts[0, -2:, F["complaint_submitted"]] = 0
    quiet = score(inputs(counts))
    assert not quiet.rising[0].any()
    assert not silence_fires(int(quiet.silent[0].sum()), 0, cfg.factors, cfg.factors_with_rise)


def test_complaints_at_someones_usual_level_are_no_rise():
    # Given someone who usually submits two complaints a day
    counts = once_a_day()
    counts[0, :, F["complaint_submitted"]] = 2
    counts[0, -2:, F["phone_call"]] = 0
    counts[0, -2:, F["meal_selected"]] = 0
    # Then two a day during the silence is no rise, and two complaints in the two days are too few
    assert not score(inputs(counts)).rising.any()
    low = once_a_day()
    low[0, -2:, F["complaint_submitted"]] = 1
    assert not score(inputs(low)).rising.any()
    low[0, -1, F["complaint_submitted"]] = 2  # three: enough
    assert _silent_names(score(inputs(low)).rising[0]) == {"distress"}


def test_silence_fires_on_enough_habits_or_fewer_with_a_rise_and_never_when_off():
    assert silence_fires(3, 0, 3, 2)
    assert silence_fires(2, 1, 3, 2)
    assert not silence_fires(2, 0, 3, 2)
    assert not silence_fires(1, 2, 3, 2)
    assert not silence_fires(2, 1, 3, 0)  # the rise part switched off
    assert not silence_fires(6, 3, 0, 2)  # silence switched off altogether


def test_one_day_off_is_not_silence_and_neither_is_an_irregular_habit():
    counts = once_a_day()
    counts[0, -1, :] = 0  # only the last day
    assert not score(inputs(counts)).silent.any()  # type: ignore[union-attr]
    irregular = once_a_day()
    irregular[0, ::2, F["phone_call"]] = 0  # phones every other day
    irregular[0, -2:, :] = 0
    result = score(inputs(irregular))
    assert _silent_names(result.silent[0]) == {"engagement", "selfcare"}  # type: ignore[index]


def test_a_masked_day_in_the_window_is_not_evidence_of_silence():
    counts = once_a_day()
    counts[0, -2:, :] = 0
    valid = np.ones((1, T, len(CHANNELS)), dtype=bool)
    valid[0, -1, :] = False  # an outage, a lockdown, a wing-wide fall
    assert not score(inputs(counts, valid)).silent.any()  # type: ignore[union-attr]


def test_silence_needs_two_weeks_of_baseline():
    counts = once_a_day(days=15)
    counts[0, -2:, :] = 0
    assert not score(inputs(counts)).silent.any()  # type: ignore[union-attr]


def test_a_factor_weighted_zero_is_never_silent():
    counts = once_a_day()
    counts[0, -2:, :] = 0
    base = inputs(counts)
    off = ScoreInputs(**{**base.__dict__, "channel_weights": channel_weights({"phone": 0.0})})
    assert "phone" not in _silent_names(score(off).silent[0])  # type: ignore[index]
