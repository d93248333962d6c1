"""polyregions.studies.stats: every verdict rule on synthetic data whose answer is known.

Null data (pure noise, no effect) must give "confirmed" at most at the stated false-positive
rate; planted effects must be detected; an effect at least as large as the tolerance must be
"contradicted" at most at the stated rate. Rates are estimated over many seeded simulations and
compared with the stated rate plus three binomial standard deviations, so a rule that is
off by a few points fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyregions.errors import InvalidInputError
from polyregions.studies import stats
from polyregions.studies.stats import (ALPHA, CONFIRMED, CONTRADICTED, NOT_RESOLVED, Interval, Judgement, Verdict,
                                       judge_at_most, judge_direction, judge_equal, mean_interval,
                                       monotone_trend, proportion_interval, ratio_interval, slope_interval,
                                       turn_trend, unpaired_ratio_interval, universal, verdict)

SIMS = 1000  # series per trend test (the trend rules take a batch in one call)
RUNS = 400  # intervals per interval test (one scipy call each)
TIMES = np.arange(2, 21, 2, dtype=float)  # ten measurements, as in the studies' training series
SEEDS = 10


def at_most(rate, stated, sims=SIMS):
    """`rate` (an estimate over `sims` runs) is not above `stated` by more than 3 binomial sd."""
    return rate <= stated + 3 * math.sqrt(stated * (1 - stated) / sims)


def rate_of(word, runs):
    return sum(r == word for r in runs) / len(runs)


# ---------------------------------------------------------------- intervals

def test_mean_interval_covers_the_mean_at_its_level():
    rng = np.random.default_rng(0)
    misses = sum(not (iv.low <= 0.0 <= iv.high) for iv in (mean_interval(rng.normal(size=SEEDS)) for _ in range(RUNS)))
    assert at_most(misses / RUNS, ALPHA, RUNS)
    assert misses / RUNS > ALPHA / 3  # not a vacuous (infinitely wide) interval


def test_intervals_without_replicates_decide_nothing():
    iv = mean_interval([3.0])
    assert not iv.defined and iv.estimate == 3.0
    for rule in (lambda i: judge_direction(i, null=0, tolerance=1), lambda i: judge_equal(i, target=1, tolerance=0.1),
                 lambda i: judge_at_most(i, bound=1, tolerance=0.1)):
        assert rule(iv).word == NOT_RESOLVED


def test_ratio_interval_of_paired_values():
    rng = np.random.default_rng(1)
    misses = 0
    for _ in range(RUNS):
        b = rng.uniform(1, 2, SEEDS)
        a = 1.5 * b * np.exp(rng.normal(0, 0.1, SEEDS))
        iv = ratio_interval(a, b)
        misses += not (iv.low <= 1.5 <= iv.high)
    assert at_most(misses / RUNS, ALPHA, RUNS)
    with pytest.raises(InvalidInputError, match="positive"):
        ratio_interval([1.0, -1.0], [1.0, 1.0])


def test_unpaired_ratio_interval():
    rng = np.random.default_rng(2)
    misses = sum(not (iv.low <= 2.0 <= iv.high) for iv in
                 (unpaired_ratio_interval(2 * np.exp(rng.normal(0, 0.2, 8)), np.exp(rng.normal(0, 0.4, 12)))
                  for _ in range(RUNS)))
    assert at_most(misses / RUNS, ALPHA, RUNS)


def test_proportion_interval_is_clopper_pearson():
    iv = proportion_interval(0, 20)
    assert iv.low == 0.0 and iv.high == pytest.approx(1 - 0.025 ** (1 / 20))  # the closed form when k = 0
    iv = proportion_interval(20, 20)
    assert iv.high == 1.0 and iv.low == pytest.approx(0.025 ** (1 / 20))
    with pytest.raises(InvalidInputError, match="successes"):
        proportion_interval(3, 2)


def test_slope_interval_recovers_a_planted_exponent():
    rng = np.random.default_rng(3)
    x = np.repeat([24.0, 48, 96, 192, 384, 768], 4)
    misses = 0
    for _ in range(RUNS):
        y = 0.3 * x ** 2 * np.exp(rng.normal(0, 0.1, x.size))
        iv = slope_interval(x, y, log=True)
        misses += not (iv.low <= 2.0 <= iv.high)
    assert at_most(misses / RUNS, ALPHA, RUNS)
    assert not slope_interval([1.0, 2.0], [1.0, 2.0]).defined


def test_bootstrap_interval_of_a_ratio_of_means():
    rng = np.random.default_rng(4)
    misses = 0
    sims = 200
    for _ in range(sims):
        a, b = rng.normal(3.0, 0.3, 12), rng.normal(2.0, 0.2, 12)
        iv = stats.bootstrap_interval([a, b], lambda u, v: np.mean(u) / np.mean(v), n_resamples=999, seed=1)
        misses += not (iv.low <= 1.5 <= iv.high)
    assert misses / sims <= 0.12  # BCa with 12 replicates: close to, and a little above, 5%


# ---------------------------------------------------------------- interval rules

def _direction_runs(effect, tolerance=0.5, n=SEEDS, seed=5):
    rng = np.random.default_rng(seed)
    return [judge_direction(mean_interval(effect + rng.normal(size=n)), null=0.0, tolerance=tolerance).word
            for _ in range(RUNS)]


def test_direction_rule_on_null_data():
    assert at_most(rate_of(CONFIRMED, _direction_runs(0.0)), ALPHA / 2, RUNS)


def test_direction_rule_detects_a_planted_effect():
    assert rate_of(CONFIRMED, _direction_runs(1.5)) > 0.95


def test_direction_rule_rarely_contradicts_a_real_effect():
    # an effect exactly as large as the tolerance is the hardest case for a false "contradicted"
    assert at_most(rate_of(CONTRADICTED, _direction_runs(0.5, tolerance=0.5)), ALPHA / 2, RUNS)
    # an effect in the other direction is contradicted
    assert rate_of(CONTRADICTED, _direction_runs(-1.5)) > 0.95


def test_equal_rule():
    rng = np.random.default_rng(6)

    def runs(true_ratio, sd=0.03):
        return [judge_equal(ratio_interval(true_ratio * np.exp(rng.normal(0, sd, SEEDS)), np.ones(SEEDS)),
                            target=1.0, tolerance=stats.EQUAL_RTOL, relative=True).word for _ in range(RUNS)]

    assert rate_of(CONFIRMED, runs(1.0)) > 0.95              # equal, measured precisely: confirmed
    assert rate_of(CONTRADICTED, runs(1.5)) > 0.95           # far from equal: contradicted
    assert at_most(rate_of(CONFIRMED, runs(1.1)), ALPHA / 2, RUNS)  # at the band's edge: rarely confirmed
    assert at_most(rate_of(CONTRADICTED, runs(1.1)), ALPHA / 2, RUNS)
    assert rate_of(NOT_RESOLVED, runs(1.0, sd=1.0)) > 0.95   # too noisy to tell


def test_at_most_rule():
    rng = np.random.default_rng(7)
    x = np.repeat([24.0, 48, 96, 192], 5)

    def runs(k):
        return [judge_at_most(slope_interval(x, x ** k * np.exp(rng.normal(0, 0.05, x.size)), log=True),
                              bound=2.0, tolerance=stats.EXPONENT_ATOL).word for _ in range(RUNS)]

    assert rate_of(CONFIRMED, runs(1.5)) > 0.95
    assert rate_of(CONTRADICTED, runs(2.6)) > 0.95
    assert at_most(rate_of(CONFIRMED, runs(2.1)), ALPHA / 2, RUNS)  # at the bound plus tolerance


# ---------------------------------------------------------------- trends

def _noise(rng, kind, shape=(SIMS, SEEDS, TIMES.size)):
    """A batch of SIMS series of SEEDS replicates: normal, Poisson counts (skewed) or AR(1) in time."""
    if kind == "normal":
        return rng.normal(size=shape)
    if kind == "poisson":
        return rng.poisson(3.0, size=shape).astype(float)
    if kind == "ar1":  # correlated in time within a replicate, as training series are
        e = rng.normal(size=shape)
        for j in range(1, shape[-1]):
            e[..., j] = 0.8 * e[..., j - 1] + 0.6 * e[..., j]
        return e
    raise ValueError(kind)


def words(results):
    return [r.word for r in results]


@pytest.mark.parametrize("kind", ["normal", "poisson", "ar1"])
def test_monotone_trend_on_pure_noise(kind):
    rng = np.random.default_rng(8)
    assert at_most(rate_of(CONFIRMED, words(monotone_trend(10.0 + _noise(rng, kind), TIMES))), ALPHA)
    assert at_most(rate_of(CONFIRMED, words(monotone_trend(10.0 + _noise(rng, kind), TIMES, direction=-1))), ALPHA)


def test_monotone_trend_detects_a_planted_rise_and_contradicts_a_fall():
    rng = np.random.default_rng(9)
    rise = words(monotone_trend(10.0 + 0.15 * TIMES + _noise(rng, "normal"), TIMES))
    assert rate_of(CONFIRMED, rise) > 0.95
    fall = words(monotone_trend(10.0 - 0.15 * TIMES + _noise(rng, "normal"), TIMES))
    assert rate_of(CONTRADICTED, fall) > 0.95
    flat = words(monotone_trend(100.0 + _noise(rng, "normal"), TIMES))
    assert rate_of(CONTRADICTED, flat) > 0.95  # precisely flat: no rise as large as 10% of the room above 0


def test_monotone_trend_rarely_contradicts_a_rise_as_large_as_the_tolerance():
    rng = np.random.default_rng(10)
    level = 10.0
    slope = stats.TREND_RTOL * level / (TIMES[-1] - TIMES[0])  # a rise of exactly the tolerance over the span
    runs = words(monotone_trend(level + slope * (TIMES - TIMES.mean()) + _noise(rng, "normal"), TIMES))
    assert at_most(rate_of(CONTRADICTED, runs), ALPHA)


def test_one_series_gives_one_result():
    rng = np.random.default_rng(14)
    one = monotone_trend(10.0 + _noise(rng, "normal", (SEEDS, TIMES.size)), TIMES)
    assert one.word in stats.WORDS and one.replicates == SEEDS and len(one.changes) == 1
    batch = rng.normal(size=(3, SEEDS, TIMES.size))
    assert [r.p_confirm for r in turn_trend(batch, TIMES)] == [turn_trend(s, TIMES).p_confirm for s in batch]


@pytest.mark.parametrize("kind", ["normal", "poisson", "ar1"])
def test_turn_trend_on_pure_noise(kind):
    rng = np.random.default_rng(11)
    runs = words(turn_trend(10.0 + _noise(rng, kind), TIMES, shape="falls then rises"))
    assert at_most(rate_of(CONFIRMED, runs), ALPHA)
    runs = words(turn_trend(10.0 + _noise(rng, kind), TIMES, shape="rises then falls"))
    assert at_most(rate_of(CONFIRMED, runs), ALPHA)


def _vee(depth, turn=8.0):
    """A planted fall to `turn`, then a rise: 10 - depth at the turn."""
    return 10.0 - depth * np.where(TIMES <= turn, (TIMES - TIMES[0]) / (turn - TIMES[0]),
                                   (TIMES[-1] - TIMES) / (TIMES[-1] - turn))


def test_turn_trend_detects_a_planted_turn():
    rng = np.random.default_rng(12)
    runs = turn_trend(_vee(3.0) + _noise(rng, "normal"), TIMES, shape="falls then rises")
    assert rate_of(CONFIRMED, words(runs)) > 0.9
    assert np.median([r.turn for r in runs if r.word == CONFIRMED]) == 8.0
    # the opposite shape is contradicted, and a monotone rise is not taken for a turn
    runs = words(turn_trend(_vee(-3.0) + _noise(rng, "normal"), TIMES, shape="falls then rises"))
    assert rate_of(CONTRADICTED, runs) > 0.9
    runs = words(turn_trend(10 + 0.3 * TIMES + _noise(rng, "normal"), TIMES, shape="falls then rises"))
    assert at_most(rate_of(CONFIRMED, runs), ALPHA)


def test_the_old_shape_classifier_fails_where_the_rule_holds():
    """A series classified by its argmin (the studies' former rule) reads pure noise as a turn."""
    rng = np.random.default_rng(15)
    means = (10.0 + _noise(rng, "normal")).mean(axis=1)              # the mean over replicates, per time
    lo = means.argmin(axis=1)
    argmin_says_turn = np.mean((lo > 0) & (lo < TIMES.size - 1))
    assert argmin_says_turn > 0.5                                    # most noise "falls then rises"
    assert at_most(rate_of(CONFIRMED, words(turn_trend(10.0 + _noise(rng, "normal"), TIMES))), ALPHA)


def test_turn_trend_rarely_contradicts_a_turn_as_large_as_the_tolerance():
    rng = np.random.default_rng(13)
    depth = stats.TREND_RTOL * 10.0 * 1.05  # each segment moves a little more than the tolerance
    runs = words(turn_trend(_vee(depth) + 0.3 * _noise(rng, "normal"), TIMES, shape="falls then rises"))
    assert at_most(rate_of(CONTRADICTED, runs), ALPHA)


def test_the_tolerance_is_the_room_below_a_ceiling():
    """A share near 1 cannot rise by 10% of its level: the tolerance is 10% of its distance to the ceiling."""
    rng = np.random.default_rng(16)
    shares = 0.95 + 0.02 * rng.normal(size=(SIMS, SEEDS, TIMES.size))
    level_rule = words(monotone_trend(shares, TIMES))
    room_rule = words(monotone_trend(shares, TIMES, ceiling=1.0))
    assert rate_of(CONTRADICTED, level_rule) > 0.9    # "no rise of 0.095", which no share could make
    assert rate_of(CONTRADICTED, room_rule) < 0.5     # "no rise of 0.005" is much harder to show
    slope = 0.1 * 0.05 / (TIMES[-1] - TIMES[0]) * 1.05  # a rise a little above 10% of the room
    planted = 0.95 + slope * (TIMES - TIMES.mean()) + 0.0005 * rng.normal(size=(SIMS, SEEDS, TIMES.size))
    assert at_most(rate_of(CONTRADICTED, words(monotone_trend(planted, TIMES, ceiling=1.0))), ALPHA)
    with pytest.raises(InvalidInputError, match="floor"):
        monotone_trend(shares[0], TIMES, floor=1.0, ceiling=1.0)


def test_a_constant_series_is_not_resolved():
    zeros = np.zeros((SEEDS, TIMES.size))
    assert monotone_trend(zeros, TIMES).word == NOT_RESOLVED
    assert turn_trend(zeros, TIMES).word == NOT_RESOLVED
    assert "constant" in monotone_trend(zeros, TIMES).reason


def test_trend_input_is_checked():
    with pytest.raises(InvalidInputError, match="series"):
        monotone_trend(np.ones(5), TIMES)
    with pytest.raises(InvalidInputError, match="shape"):
        turn_trend(np.ones((3, 4)), [1, 2, 3, 4], shape="wiggles")


# ---------------------------------------------------------------- combining and the verdict

def test_universal():
    assert universal([CONFIRMED, CONFIRMED]) == CONFIRMED
    assert universal([CONFIRMED, CONTRADICTED, NOT_RESOLVED]) == CONTRADICTED
    assert universal([CONFIRMED, NOT_RESOLVED]) == NOT_RESOLVED
    with pytest.raises(InvalidInputError):
        universal([])
    assert stats.family_alpha(4) == ALPHA / 4


def test_verdict_is_gated_by_size_replicates_and_regime():
    yes, no = Judgement(CONFIRMED, "because"), Judgement(CONTRADICTED, "because")
    kw = dict(size="s", interval="i", prediction="p", would_change="w")
    assert verdict("c", yes, replicates=10, **kw).word == CONFIRMED
    assert verdict("c", yes, replicates=10, planned=False, **kw).word == NOT_RESOLVED
    assert verdict("c", yes, replicates=2, **kw).word == NOT_RESOLVED
    assert verdict("c", no, replicates=10, **kw).word == CONTRADICTED
    v = verdict("c", no, replicates=10, in_regime=False, regime="accuracy 0.6", **kw)
    assert v.word == NOT_RESOLVED and "accuracy 0.6" in v.reason
    assert v.sentence().startswith("**Verdict** (c): **not resolved at this size**.")


def test_verdict_round_trip_and_validation():
    v = verdict("claim", Judgement(CONFIRMED, "r"), size="s", interval="i", prediction="p", would_change="w")
    assert Verdict.from_dict(v.to_dict()) == v
    bad = v.to_dict() | {"word": "likely"}
    with pytest.raises(InvalidInputError, match="word"):
        Verdict.from_dict(bad)
    with pytest.raises(InvalidInputError, match="fields"):
        Verdict.from_dict({"claim": "x"})
    with pytest.raises(InvalidInputError, match="string"):
        Verdict.from_dict(v.to_dict() | {"size": 3})


def test_interval_text():
    assert Interval(1.0, 2.0, 1.5, 0.95, "t-interval over 10 seeds").text() == "1.5 [1, 2] (95% t-interval over 10 seeds)"
