"""Scoring: how far each prisoner's routine has moved from their own expected level.

For every prisoner and channel (see ``features.CHANNELS``) the expected daily count is
learned from their own baseline days, aware of day of week (a canteen day, a visit day),
shrunk towards their overall mean, and blended with a peer baseline while their own
history is short (new arrivals). Over recent windows of 1-7 days ending on the judged day
we compare observed with expected counts using a Poisson deviance scaled by the person's
own day-to-day variability: a fall in a drop channel, or a rise in a refusal or distress
channel, is evidence; a fall in what someone never did is not (its expected level is ~0).
Days that are not evidence about the person (kiosk outage, wing/establishment-wide drops,
establishment cancellations, days not in custody) are masked out of both sides.

All arrays are [prisoner, day, channel]; the maths is vectorised with numpy so one pass
scores an establishment of thousands of prisoners in well under a second. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aim.domain.features import CHANNELS, DROP, MEMBERSHIP

WINDOWS: tuple[int, ...] = (1, 2, 3, 4, 5, 7)
EVAL_SPAN = max(WINDOWS)
DOW_SHRINK = 1.5  # pseudo-days pulling a weekday's mean towards the person's overall mean
PEER_SHRINK = 6.0  # pseudo-days of peer baseline for someone with a short history
RISE_FLOOR = 0.12  # expected refusals/distress per day never taken below this
MIN_PEER_DAYS = 14
MIN_GROUP_EXPECTED = 8.0  # a group ratio needs this many expected events from the others that day
SILENCE_BASELINE_DAYS = 28  # days before the silence window that say whether a habit is regular
MIN_SILENCE_BASELINE = 14  # valid baseline days needed before a habit can be called regular
SILENCE_RISE_MIN = 3  # a rise beside a silence: at least this many refusals/distress events in its days
SILENCE_RISE_RATIO = 3.0  # ... and at least this many times the person's usual for those days

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScoreInputs:
    counts: Array  # [P, T, NF] daily feature counts
    valid: BoolArray  # [P, T, C] day-channel is evidence about this person
    weekday: npt.NDArray[np.int64]  # [T] 0=Monday
    judge: int  # index of the judged day in T
    channel_weights: Array  # [C]
    # [P] arrived during the data (reception seen): may be judged on a peer baseline. None: nobody.
    arrival: BoolArray | None = None
    # [P, T] a day within someone's first two weeks in custody (for the new-arrival peer). None: none.
    early: BoolArray | None = None
    min_own_days: int = 14  # baseline days needed before someone already in custody is judged
    # [P] who shares each prisoner's data source (their kiosk): on each day their expected falls are
    # scaled by how the rest of the group did against its own expectations. None: no scaling.
    group: npt.NDArray[np.int64] | None = None
    # Index of the first day still open (records still arriving); such days are judged only through
    # the group ratio, i.e. in proportion to what their group has sent so far. None: all closed.
    open_from: int | None = None
    # Silence: drop channels done on at least ``silence_share`` of the valid baseline days and not at
    # all on each of the last ``silence_days`` judged days (every one of them valid evidence).
    silence_days: int = 2
    silence_share: float = 0.6


@dataclass(frozen=True)
class ScoreResult:
    score: Array  # [P]
    window: npt.NDArray[np.int64]  # [P] window length (days) of the best evidence
    observed: Array  # [P, C] in the best window
    expected: Array  # [P, C] in the best window
    deviance: Array  # [P, C] weighted, dispersion-scaled contribution in the best window
    expected_per_day: Array  # [P] expected routine (drop channels) per day
    baseline_days: npt.NDArray[np.int64]  # [P] valid baseline days of their own
    judgeable: BoolArray  # [P] enough history of their own, or a new arrival on a peer baseline
    silent: BoolArray  # [P, C] regular habits stopped altogether (see ``silence``)
    regular_share: Array  # [P, C] share of baseline days each channel happened on
    rising: BoolArray  # [P, C] rise channels well above usual over the silence days (see ``silence``)
    recent: Array  # [P, C] counts over the valid ones of the silence days
    recent_usual: Array  # [P, C] what the person usually did over those days (rises: at least the floor)


def _poisson_drop(obs: Array, exp: Array) -> Array:
    safe_obs = np.maximum(obs, 1e-12)
    dev = 2.0 * (exp - obs + obs * np.log(safe_obs / np.maximum(exp, 1e-12)))
    return np.where(obs < exp, dev, 0.0)


def _poisson_rise(obs: Array, exp: Array) -> Array:
    safe_obs = np.maximum(obs, 1e-12)
    dev = 2.0 * (obs * np.log(safe_obs / np.maximum(exp, 1e-12)) - (obs - exp))
    return np.where(obs > exp, dev, 0.0)


@dataclass(frozen=True)
class _Baseline:
    expected: Array  # [P, W, C] expected counts on the days of the window it was made for
    phi: Array  # [P, C]
    mean: Array  # [P, C] blended mean per day
    days: npt.NDArray[np.int64]  # [P]
    judgeable: BoolArray  # [P]


@dataclass(frozen=True)
class _Sums:
    """Per weekday sums over a run of baseline days: enough for means and dispersion, and additive,
    so the baselines of the six windows are built by adding a day at a time."""

    s: Array  # [P, 7, C] sum of valid counts
    q: Array  # [P, 7, C] sum of squared valid counts
    n: Array  # [P, 7, C] valid days
    days: npt.NDArray[np.int64]  # [P] days with any valid channel

    @classmethod
    def over(cls, x: Array, valid: BoolArray, wd: npt.NDArray[np.int64], lo: int, hi: int) -> _Sums:
        n_p, _, n_c = x.shape
        m = valid[:, lo:hi, :]
        bx = np.where(m, x[:, lo:hi, :], 0.0)
        s, q, n = (np.zeros((n_p, 7, n_c)) for _ in range(3))
        for d in range(7):
            sel = wd[lo:hi] == d
            if sel.any():
                s[:, d, :] = bx[:, sel, :].sum(axis=1)
                q[:, d, :] = (bx[:, sel, :] ** 2).sum(axis=1)
                n[:, d, :] = m[:, sel, :].sum(axis=1)
        return cls(s, q, n, m.any(axis=2).sum(axis=1).astype(np.int64))

    def __add__(self, other: _Sums) -> _Sums:
        return _Sums(self.s + other.s, self.q + other.q, self.n + other.n, self.days + other.days)


def _baseline(
    sums: _Sums, wd_window: npt.NDArray[np.int64], arrival: BoolArray, min_own_days: int, peer_new: Array
) -> _Baseline:
    """Expected counts on the window's days from the baseline days summed in ``sums``."""
    n_c = sums.s.shape[2]
    n_all = sums.n.sum(axis=1)  # [P, C]
    mean_all = sums.s.sum(axis=1) / np.maximum(n_all, 1)
    experienced = sums.days >= MIN_PEER_DAYS
    peer_old = mean_all[experienced].mean(axis=0) if experienced.any() else np.zeros(n_c)
    peer = np.where(arrival[:, None], peer_new[None, :], peer_old[None, :])  # [P, C]

    expected_dow = (sums.s + DOW_SHRINK * mean_all[:, None, :]) / (sums.n + DOW_SHRINK)  # [P, 7, C]
    own = n_all / (n_all + PEER_SHRINK)  # [P, C]
    expected_dow = own[:, None, :] * expected_dow + (1.0 - own[:, None, :]) * peer[:, None, :]
    # sum over baseline days of (x - expected)^2, expanded per weekday: q - 2 e s + n e^2
    e = expected_dow
    resid2 = np.maximum((sums.q - 2.0 * e * sums.s + sums.n * e * e).sum(axis=1), 0.0) / np.maximum(n_all - 1, 1)
    phi = np.clip(resid2 / np.maximum(mean_all, 0.25), 1.0, 3.0)
    phi = np.where(n_all >= MIN_PEER_DAYS, phi, 2.0)  # unknown variability: be modest
    judgeable = arrival | (sums.days >= min_own_days)
    return _Baseline(expected_dow[:, wd_window, :], phi, own * mean_all + (1 - own) * peer, sums.days, judgeable)


def group_ratio(x: Array, expected: Array, mask: BoolArray, group: npt.NDArray[np.int64], is_open: BoolArray) -> Array:
    """[P, W, C] how the *rest* of each prisoner's group did against its expectations on each day.

    Leave-one-out, so a person's own fall never hides itself. Closed days: at most 1 (a group-wide
    fall - a regime change, a quiet wing - lowers what is expected of everyone in it; a busy day
    does not raise it), and 1 where the group is too small to tell. Open days: the share of the
    group's expected routine that has arrived so far, and 0 (no evidence) where that is unknown."""
    n_g = int(group.max(initial=-1)) + 1
    ox = np.where(mask, x, 0.0)
    oe = np.where(mask, expected, 0.0)
    gx = np.zeros((n_g, *x.shape[1:]))
    ge = np.zeros((n_g, *x.shape[1:]))
    np.add.at(gx, group, ox)
    np.add.at(ge, group, oe)
    rest_x = gx[group] - ox
    rest_e = ge[group] - oe
    known = rest_e >= MIN_GROUP_EXPECTED
    ratio = np.clip(rest_x / np.maximum(rest_e, 1e-9), 0.0, 1.0)
    fallback = np.where(is_open[None, :, None], 0.0, 1.0)
    return np.where(known, ratio, fallback)


def score(inputs: ScoreInputs) -> ScoreResult:
    x = inputs.counts.astype(np.float64) @ MEMBERSHIP.T  # [P, T, C]
    n_p, n_t, _ = x.shape
    arrival = inputs.arrival if inputs.arrival is not None else np.zeros(n_p, dtype=bool)
    peer_new = _peer_new_arrivals(x, inputs.valid, inputs.early, n_t)
    sums = _window_sums(x, inputs)
    best = _Best.empty(n_p, x.shape[2])
    first: _Baseline | None = None
    for w in WINDOWS:
        lo = inputs.judge - w + 1
        if lo < 0:
            continue
        base = _baseline(sums[lo], inputs.weekday[lo : inputs.judge + 1], arrival, inputs.min_own_days, peer_new)
        first = first or base
        best.keep_better(w, *_window_deviance(x, inputs, base, lo))
    silent, share, rising, recent, usual = silence(
        x, inputs.valid, inputs.judge, inputs.silence_days, inputs.silence_share
    )
    silent &= (inputs.channel_weights > 0)[None, :]  # a factor weighted 0 is switched off
    if first is None:
        zeros = np.zeros(n_p)
        return ScoreResult(
            zeros,
            np.zeros(n_p, dtype=np.int64),
            best.observed,
            best.expected,
            best.deviance,
            zeros,
            np.zeros(n_p, dtype=np.int64),
            np.zeros(n_p, dtype=bool),
            np.zeros_like(silent),
            share,
            np.zeros_like(rising),
            recent,
            usual,
        )
    return ScoreResult(
        score=np.maximum(best.score, 0.0),
        window=best.window,
        observed=best.observed,
        expected=best.expected,
        deviance=best.deviance,
        expected_per_day=np.where(DROP[None, :], first.mean, 0.0).sum(axis=1),
        baseline_days=first.days,
        judgeable=first.judgeable,
        silent=silent & first.judgeable[:, None],
        regular_share=share,
        rising=rising & first.judgeable[:, None],
        recent=recent,
        recent_usual=usual,
    )


def _peer_new_arrivals(x: Array, valid: BoolArray, early_days: BoolArray | None, n_t: int) -> Array:
    """[C] what others did in their own first two weeks: the baseline of a new arrival."""
    n_p, _, n_c = x.shape
    if early_days is None:
        early_days = np.zeros((n_p, n_t), dtype=bool)
    early = early_days[:, :, None] & valid
    n_early = early.sum(axis=(0, 1))
    if int(n_early.max(initial=0)) < 20:
        return np.zeros(n_c)
    return np.where(early, x, 0.0).sum(axis=(0, 1)) / np.maximum(n_early, 1)


def _window_sums(x: Array, inputs: ScoreInputs) -> dict[int, _Sums]:
    """Baseline sums for each window start: every day before the window, so a collapse does not
    teach itself. Built in ascending order, each adding the days since the previous start."""
    starts = sorted({inputs.judge - w + 1 for w in WINDOWS if inputs.judge - w + 1 >= 0})
    sums: dict[int, _Sums] = {}
    running: _Sums | None = None
    prev = 0
    for lo in starts:
        part = _Sums.over(x, inputs.valid, inputs.weekday, prev, lo)
        running = sums[lo] = part if running is None else running + part
        prev = lo
    return sums


def _window_deviance(x: Array, inputs: ScoreInputs, base: _Baseline, lo: int) -> tuple[Array, Array, Array, Array]:
    """Score, observed, expected and deviance per factor over the window from ``lo`` to the judged day."""
    judge = inputs.judge
    emask = inputs.valid[:, lo : judge + 1, :]
    xw = x[:, lo : judge + 1, :]
    ew = base.expected
    is_open = np.arange(lo, judge + 1) >= (inputs.open_from if inputs.open_from is not None else x.shape[1])
    if inputs.group is not None:
        ratio = group_ratio(xw, ew, emask & base.judgeable[:, None, None], inputs.group, is_open)
        ew = np.where(DROP[None, None, :], ew * ratio, ew)
    obs = np.where(emask, xw, 0.0).sum(axis=1)
    exp = np.where(emask, ew, 0.0).sum(axis=1)
    # An open day counts a full day's expected rises: conservative while its count still grows.
    n_eval = emask.sum(axis=1)
    rise_exp = np.maximum(exp, RISE_FLOOR * n_eval)
    dev = np.where(DROP[None, :], _poisson_drop(obs, exp), _poisson_rise(obs, rise_exp))
    dev = np.where(base.judgeable[:, None], dev * inputs.channel_weights[None, :] / base.phi, 0.0)
    return np.sqrt(dev.sum(axis=1)), obs, np.where(DROP[None, :], exp, rise_exp), dev


@dataclass
class _Best:
    """Per prisoner, the window with the highest score so far and its per-factor figures."""

    score: Array  # [P]
    window: npt.NDArray[np.int64]  # [P]
    observed: Array  # [P, C]
    expected: Array  # [P, C]
    deviance: Array  # [P, C]

    @classmethod
    def empty(cls, n_p: int, n_c: int) -> _Best:
        return cls(
            np.full(n_p, -1.0),
            np.zeros(n_p, dtype=np.int64),
            np.zeros((n_p, n_c)),
            np.zeros((n_p, n_c)),
            np.zeros((n_p, n_c)),
        )

    def keep_better(self, window: int, s: Array, obs: Array, exp: Array, dev: Array) -> None:
        better = s > self.score
        self.score = np.where(better, s, self.score)
        self.window = np.where(better, window, self.window)
        self.observed[better] = obs[better]
        self.expected[better] = exp[better]
        self.deviance[better] = dev[better]


def silence(
    x: Array, valid: BoolArray, judge: int, days: int, regular_share: float
) -> tuple[BoolArray, Array, BoolArray, Array, Array]:
    """([P, C] regular habits stopped altogether, [P, C] share of baseline days each was done on,
    [P, C] rise channels well above usual over the same days, [P, C] counts over those days (valid
    ones), [P, C] the person's usual over them).

    A drop channel is a regular habit when it happened on at least ``regular_share`` of the person's
    valid days among the 28 before the window (and there are at least 14 such days). It has stopped
    when it did not happen on any of the last ``days`` days and every one of those days is valid
    evidence about the person (no outage, lockdown, wing-wide fall, establishment cancellation). The
    Poisson score needs many lost events; several habits a person keeps almost every day stopping at
    once is strong evidence after two days even when each habit is only one event a day.

    A rise channel (refusals, complaints and healthcare requests, visits they cancelled, late-night
    use) is rising when, over the valid ones of the same days, it happened at least 3 times and at least
    three times the person's usual (never taken below ``RISE_FLOOR`` a day): distress beside a silence."""
    n_p, _, n_c = x.shape
    lo = judge - days + 1
    none = np.zeros((n_p, n_c), dtype=bool)
    if days < 1 or lo - MIN_SILENCE_BASELINE < 0:
        zero = np.zeros((n_p, n_c))
        return none, zero, none, zero, zero
    b0 = max(0, lo - SILENCE_BASELINE_DAYS)
    base_valid = valid[:, b0:lo, :]
    n_base = base_valid.sum(axis=1)
    share = ((x[:, b0:lo, :] > 0) & base_valid).sum(axis=1) / np.maximum(n_base, 1)
    regular = (n_base >= MIN_SILENCE_BASELINE) & (share >= regular_share) & DROP[None, :]
    stopped = valid[:, lo : judge + 1, :].all(axis=1) & (x[:, lo : judge + 1, :] == 0).all(axis=1)
    usual = np.where(base_valid, x[:, b0:lo, :], 0.0).sum(axis=1) / np.maximum(n_base, 1)
    recent_valid = valid[:, lo : judge + 1, :]
    n_recent = recent_valid.sum(axis=1)
    recent = np.where(recent_valid, x[:, lo : judge + 1, :], 0.0).sum(axis=1)
    rise_expected = np.maximum(usual, RISE_FLOOR) * n_recent
    rising = (
        ~DROP[None, :]
        & (n_base >= MIN_SILENCE_BASELINE)
        & (recent >= SILENCE_RISE_MIN)
        & (recent >= SILENCE_RISE_RATIO * rise_expected)
    )
    return regular & stopped, share, rising, recent, np.where(DROP[None, :], usual * n_recent, rise_expected)


def channel_weights(factor_weights: dict[str, float]) -> Array:
    return np.array([c.weight * factor_weights.get(c.factor, 1.0) for c in CHANNELS])
