r"""Verdict rules of the studies, fixed before the data: intervals, trend tests, equality.

A study turns measurements into one of three words, and only through the rules below:

- **confirmed**: the claim's prediction lies inside the interval, at a size that could have
  refuted it;
- **contradicted**: the interval excludes the prediction, with the networks in the regime
  the claim is about (the caller says whether they are: e.g. trained to the accuracy the
  paper reports);
- **not resolved at this size**: anything else (an interval too wide, too few replicates,
  a run smaller than the planned one, networks outside the claim's regime).

Replicates are the independent units of a study (seeds, i.e. independently initialised
and trained networks; or independently drawn networks): every interval is taken over
replicates, each replicate contributing one value computed from all its points, so the
variation over points enters through the replicates' values. The tolerances and error rates
are the named constants of this module, stated once:

==================  ======  ==========================================================
name                value   meaning
==================  ======  ==========================================================
``ALPHA``           0.05    false-positive rate of every rule (two-sided 95% intervals)
``EQUAL_RTOL``      0.10    two positive quantities are equal when their ratio lies in
                            [1/1.1, 1.1]
``EXPONENT_ATOL``   0.10    a fitted exponent equals k when it lies in [k - 0.1, k + 0.1]
``TREND_RTOL``      0.10    a change smaller than 10% of a series' room (the distance from its
                            mean level to the nearer bound of the quantity) is no change
``MIN_REPLICATES``  5       with fewer replicates no interval is trusted: not resolved
==================  ======  ==========================================================

scipy.stats does the statistics: t-intervals (:func:`scipy.stats.ttest_1samp`,
:func:`scipy.stats.ttest_ind`), exact binomial intervals (:func:`scipy.stats.binomtest`,
Clopper-Pearson), regression slopes (:func:`scipy.stats.linregress`) and the bootstrap
(:func:`scipy.stats.bootstrap`). This module only states which interval answers which
claim and how it becomes a word. ``tests/studies/test_stats.py`` runs every rule on
synthetic data whose answer is known (pure noise, planted effects) and checks its error
rates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from ..errors import InvalidInputError

__all__ = ["ALPHA", "EQUAL_RTOL", "EXPONENT_ATOL", "TREND_RTOL", "MIN_REPLICATES",
           "CONFIRMED", "CONTRADICTED", "NOT_RESOLVED", "WORDS",
           "Interval", "Judgement", "TrendTest", "Verdict",
           "mean_interval", "ratio_interval", "unpaired_ratio_interval", "proportion_interval",
           "slope_interval", "bootstrap_interval",
           "judge_direction", "judge_equal", "judge_at_most", "monotone_trend", "turn_trend",
           "universal", "family_alpha", "verdict"]

#: False-positive rate of every rule: intervals are two-sided at level 1 - ALPHA.
ALPHA = 0.05
#: Two positive quantities are "equal" when their ratio lies in [1 / (1 + EQUAL_RTOL), 1 + EQUAL_RTOL].
EQUAL_RTOL = 0.10
#: A fitted exponent "equals" k when it lies in [k - EXPONENT_ATOL, k + EXPONENT_ATOL].
EXPONENT_ATOL = 0.10
#: A change over a series smaller than TREND_RTOL times the series' room (its mean level's distance
#: to the nearer of the quantity's bounds, e.g. 0 below and the number of points above) is "no change".
TREND_RTOL = 0.10
#: Below this many replicates no verdict is issued ("not resolved at this size").
MIN_REPLICATES = 5

CONFIRMED = "confirmed"
CONTRADICTED = "contradicted"
NOT_RESOLVED = "not resolved at this size"
WORDS = (CONFIRMED, CONTRADICTED, NOT_RESOLVED)


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` around ``estimate``, at ``level``, made by ``method``.

    ``low`` and ``high`` are NaN when the data cannot give an interval (fewer than two
    replicates): such an interval decides nothing.
    """

    low: float
    high: float
    estimate: float
    level: float
    method: str

    @property
    def defined(self) -> bool:
        """Both ends are finite numbers."""
        return bool(np.isfinite(self.low) and np.isfinite(self.high))

    def text(self, digits: int = 3) -> str:
        """``"1.02 [0.97, 1.08] (95% t-interval over 10 seeds)"``."""
        if not self.defined:
            return f"{_fmt(self.estimate, digits)} (no interval: {self.method})"
        return (f"{_fmt(self.estimate, digits)} [{_fmt(self.low, digits)}, {_fmt(self.high, digits)}] "
                f"({self.level * 100:.4g}% {self.method})")


def _fmt(x, digits):
    if x is None or not np.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:,.0f}"


@dataclass(frozen=True)
class Judgement:
    """A word and why: the outcome of one rule on one interval or test."""

    word: str
    reason: str


@dataclass(frozen=True)
class TrendTest:
    """Outcome of :func:`monotone_trend` or :func:`turn_trend`.

    Attributes
    ----------
    word : str
        One of :data:`WORDS`.
    reason : str
        The decisive test, in words.
    p_confirm : float
        p-value of the test for the claimed shape (small: the shape is there).
    p_contradict : float
        p-value of the test that the claimed change is absent (smaller than the tolerance).
    changes : tuple of Interval
        The change over the series (monotone), or over its two segments at the turn that
        fits the claimed shape best (turn), each as an interval over replicates.
    turn : float or None
        The time of that turn (None for a monotone trend).
    replicates : int
    """

    word: str
    reason: str
    p_confirm: float
    p_contradict: float
    changes: tuple
    turn: float | None
    replicates: int


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: the word, the size it was reached at, its interval and what would change it."""

    claim: str
    word: str
    size: str
    interval: str
    prediction: str
    would_change: str
    reason: str

    def sentence(self) -> str:
        """One Markdown paragraph, starting ``**Verdict** (claim): word.``"""
        return (f"**Verdict** ({self.claim}): **{self.word}**. Size: {self.size}. Prediction: {self.prediction}. "
                f"Interval: {self.interval}. Why: {self.reason}. What would change it: {self.would_change}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> "Verdict":
        """Rebuild a verdict from :meth:`to_dict`'s output, checking every field."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"a verdict must be a JSON object, got {type(data).__name__}")
        names = [f for f in cls.__dataclass_fields__]
        if sorted(data) != sorted(names):
            raise InvalidInputError(f"a verdict must have exactly the fields {names}, got {sorted(data)}")
        for name in names:
            if not isinstance(data[name], str):
                raise InvalidInputError(f"verdict field `{name}` must be a string, got {type(data[name]).__name__}")
        if data["word"] not in WORDS:
            raise InvalidInputError(f"verdict field `word` must be one of {WORDS}, got {data['word']!r}")
        return cls(**data)


# ---------------------------------------------------------------- intervals over replicates

def _values(values, name="values"):
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise InvalidInputError(f"`{name}` must be a non-empty sequence of finite numbers")
    return v


def _t_interval(v, level, method):
    """t-interval of the mean of `v` (the point itself when every value is equal)."""
    est = float(np.mean(v))
    if v.size < 2:
        return Interval(math.nan, math.nan, est, level, f"{method}: fewer than 2 replicates")
    if np.ptp(v) == 0:
        return Interval(est, est, est, level, f"{method} (every replicate equal)")
    ci = sps.ttest_1samp(v, 0.0).confidence_interval(confidence_level=level)
    return Interval(float(ci.low), float(ci.high), est, level, method)


def mean_interval(values, *, level: float = 1 - ALPHA, unit: str = "replicates") -> Interval:
    r"""t-interval of the mean over independent replicates.

    :math:`\bar v \pm t_{n-1, 1-\alpha/2}\, s / \sqrt n` (:func:`scipy.stats.ttest_1samp`),
    exact for normal replicates and close to it for the symmetric ones of the studies.

    >>> mean_interval([1.0, 2.0, 3.0]).text()
    '2 [-0.484, 4.48] (95% t-interval over 3 replicates)'
    """
    v = _values(values)
    return _t_interval(v, level, f"t-interval over {v.size} {unit}")


def ratio_interval(numerators, denominators, *, level: float = 1 - ALPHA, unit: str = "replicates") -> Interval:
    r"""Interval of a ratio of paired positive values: the t-interval of their mean log ratio, exponentiated.

    Replicate :math:`i` gives :math:`\log(a_i / b_i)`; the interval of the mean log ratio is
    mapped back with :math:`\exp` (a geometric-mean ratio).
    """
    a, b = _values(numerators, "numerators"), _values(denominators, "denominators")
    if a.shape != b.shape or np.any(a <= 0) or np.any(b <= 0):
        raise InvalidInputError("`numerators` and `denominators` must be positive and of equal length")
    iv = _t_interval(np.log(a / b), level, f"t-interval of the log ratio over {a.size} {unit}")
    return Interval(math.exp(iv.low) if iv.defined else math.nan, math.exp(iv.high) if iv.defined else math.nan,
                    math.exp(iv.estimate), level, iv.method)


def unpaired_ratio_interval(a, b, *, level: float = 1 - ALPHA, unit: str = "replicates") -> Interval:
    r"""Interval of the ratio of two groups' geometric means (Welch's t-interval on the logs).

    :func:`scipy.stats.ttest_ind` with ``equal_var=False`` on :math:`\log a` and
    :math:`\log b`, exponentiated: for independent groups (networks of two depths, say).
    """
    a, b = _values(a, "a"), _values(b, "b")
    if np.any(a <= 0) or np.any(b <= 0):
        raise InvalidInputError("`a` and `b` must be positive")
    la, lb = np.log(a), np.log(b)
    est = math.exp(la.mean() - lb.mean())
    method = f"Welch t-interval of the log ratio over {a.size} and {b.size} {unit}"
    if a.size < 2 or b.size < 2:
        return Interval(math.nan, math.nan, est, level, f"{method}: fewer than 2 replicates")
    if np.ptp(la) == 0 and np.ptp(lb) == 0:
        return Interval(est, est, est, level, f"{method} (every replicate equal)")
    ci = sps.ttest_ind(la, lb, equal_var=False).confidence_interval(confidence_level=level)
    return Interval(math.exp(ci.low), math.exp(ci.high), est, level, method)


def proportion_interval(successes: int, trials: int, *, level: float = 1 - ALPHA) -> Interval:
    """Exact (Clopper-Pearson) interval of a proportion (:meth:`scipy.stats.binomtest.proportion_ci`).

    >>> proportion_interval(0, 20).high < 0.17
    True
    """
    if int(trials) < 1 or not 0 <= int(successes) <= int(trials):
        raise InvalidInputError(f"`successes` must be in [0, trials] and `trials` >= 1, got {successes}, {trials}")
    ci = sps.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="exact")
    return Interval(float(ci.low), float(ci.high), successes / trials, level,
                    f"exact binomial interval over {trials}")


def slope_interval(x, y, *, level: float = 1 - ALPHA, log: bool = False, unit: str = "replicates") -> Interval:
    r"""t-interval of the least-squares slope of `y` against `x` (:func:`scipy.stats.linregress`).

    Every pair is one independent replicate (one network, say). With ``log=True`` both are
    log-transformed: the slope is the exponent :math:`k` of :math:`y \propto x^k`. The
    interval is :math:`\hat k \pm t_{n-2, 1-\alpha/2}\, \mathrm{se}(\hat k)`.
    """
    x, y = _values(x, "x"), _values(y, "y")
    if x.shape != y.shape:
        raise InvalidInputError("`x` and `y` must have the same length")
    if log:
        if np.any(x <= 0) or np.any(y <= 0):
            raise InvalidInputError("`x` and `y` must be positive with log=True")
        x, y = np.log(x), np.log(y)
    what = "exponent" if log else "slope"
    if x.size < 3 or np.ptp(x) == 0:
        est = math.nan if np.ptp(x) == 0 else float(np.polyfit(x, y, 1)[0])
        return Interval(math.nan, math.nan, est, level, f"{what}: fewer than 3 {unit} or one x")
    fit = sps.linregress(x, y)
    half = sps.t.ppf(0.5 + level / 2, x.size - 2) * fit.stderr
    return Interval(fit.slope - half, fit.slope + half, fit.slope, level,
                    f"t-interval of the least-squares {what} over {x.size} {unit}")


def bootstrap_interval(samples, statistic, *, level: float = 1 - ALPHA, n_resamples: int = 9999,
                       seed: int = 0, unit: str = "replicates") -> Interval:
    """BCa bootstrap interval of ``statistic(*samples)``, each sample resampled on its own.

    :func:`scipy.stats.bootstrap` (``method="BCa"``, ``paired=False``), for statistics that
    are not a mean: a ratio of means of two independent groups, say. The resampling is seeded,
    so the interval is reproducible.
    """
    samples = [_values(s, "samples") for s in samples]
    est = float(statistic(*samples))
    if min(s.size for s in samples) < 2:
        return Interval(math.nan, math.nan, est, level, "bootstrap: fewer than 2 replicates")
    res = sps.bootstrap(samples, statistic, n_resamples=n_resamples, confidence_level=level, method="BCa",
                        vectorized=False, paired=False, rng=np.random.default_rng(seed))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):  # degenerate resamples (all equal): no interval
        return Interval(math.nan, math.nan, est, level, "bootstrap: degenerate resamples")
    return Interval(low, high, est, level, f"BCa bootstrap over {'/'.join(str(s.size) for s in samples)} {unit}")


# ---------------------------------------------------------------- rules: interval -> word

def judge_direction(interval: Interval, *, null: float, tolerance: float, direction: int = 1) -> Judgement:
    r"""A claim that a quantity exceeds `null` (``direction=1``) or falls below it (``-1``).

    - confirmed: the interval lies strictly on the claimed side of `null` (false-positive
      rate :math:`\alpha/2` when the quantity equals `null`);
    - contradicted: the interval excludes an effect of size `tolerance` on the claimed side
      (for ``direction=1``: ``high < null + tolerance``), i.e. the claimed effect is absent or
      smaller than the tolerance;
    - otherwise not resolved. Confirmed takes precedence: a significant effect smaller than the
      tolerance confirms a claim that states no size.
    """
    if direction not in (1, -1):
        raise InvalidInputError(f"`direction` must be 1 or -1, got {direction!r}")
    if not interval.defined:
        return Judgement(NOT_RESOLVED, "no interval")
    low, high = (interval.low, interval.high) if direction == 1 else (-interval.high, -interval.low)
    null = null * direction
    if low > null:
        return Judgement(CONFIRMED, "the interval lies on the claimed side")
    if high < null + tolerance:
        return Judgement(CONTRADICTED, "the interval excludes an effect as large as the tolerance on the claimed side")
    return Judgement(NOT_RESOLVED, "the interval holds both the claimed effect and its absence")


def judge_equal(interval: Interval, *, target: float, tolerance: float, relative: bool = False) -> Judgement:
    """A claim that a quantity equals `target` (within `tolerance`, absolute or relative).

    The prediction is the band ``[target - tolerance, target + tolerance]`` (relative:
    ``[target / (1 + tolerance), target * (1 + tolerance)]``). Confirmed when the interval
    lies inside the band, contradicted when it misses the band, otherwise not resolved.
    """
    lo, hi = ((target / (1 + tolerance), target * (1 + tolerance)) if relative
              else (target - tolerance, target + tolerance))
    if not interval.defined:
        return Judgement(NOT_RESOLVED, "no interval")
    if lo <= interval.low and interval.high <= hi:
        return Judgement(CONFIRMED, f"the interval lies inside the band [{lo:.3g}, {hi:.3g}]")
    if interval.high < lo or interval.low > hi:
        return Judgement(CONTRADICTED, f"the interval misses the band [{lo:.3g}, {hi:.3g}]")
    return Judgement(NOT_RESOLVED, f"the interval overlaps the band [{lo:.3g}, {hi:.3g}] without lying inside it")


def judge_at_most(interval: Interval, *, bound: float, tolerance: float) -> Judgement:
    """A claim that a quantity is at most `bound` (an upper bound, not a growth law).

    Confirmed when the interval lies at or below ``bound + tolerance``; contradicted when it
    lies above it; otherwise not resolved.
    """
    if not interval.defined:
        return Judgement(NOT_RESOLVED, "no interval")
    if interval.high <= bound + tolerance:
        return Judgement(CONFIRMED, f"the interval lies at or below {bound + tolerance:.3g}")
    if interval.low > bound + tolerance:
        return Judgement(CONTRADICTED, f"the interval lies above {bound + tolerance:.3g}")
    return Judgement(NOT_RESOLVED, f"the interval straddles {bound + tolerance:.3g}")


# ---------------------------------------------------------------- trends across replicates

def _series(series, times):
    Y = np.asarray(series, dtype=float)
    t = np.asarray(times, dtype=float)
    if Y.ndim not in (2, 3) or Y.shape[-1] != t.size or t.ndim != 1 or t.size < 3 or not np.all(np.isfinite(Y)) \
            or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InvalidInputError("`series` must be finite, of shape (replicates, times) or (batch, replicates, "
                                f"times) with at least 3 increasing `times`; got shapes {Y.shape} and {t.shape}")
    return Y, t


def _changes(Y, t):
    """Per replicate, the least-squares change over the span of `t`: slope x (t[-1] - t[0]); shape Y.shape[:-1]."""
    tc = t - t.mean()
    slopes = (Y - Y.mean(axis=-1, keepdims=True)) @ tc / (tc @ tc)
    return slopes * (t[-1] - t[0])


def _p_beyond(values, threshold, side):
    """One-sided t-test p-values that the mean over the last axis of `values` lies beyond `threshold`.

    ``side=1``: above. One :func:`scipy.stats.ttest_1samp` call tests every leading index. A
    set of replicates that are all equal has a certain mean: its test is decided exactly (p = 0
    or 1).
    """
    v = np.asarray(values, dtype=float)
    if v.shape[-1] < 2:
        return np.ones(v.shape[:-1])
    constant = np.ptp(v, axis=-1) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sps.ttest_1samp(v, threshold, axis=-1, alternative="greater" if side == 1 else "less").pvalue
    exact = np.where(side * (v[..., 0] - threshold) > 0, 0.0, 1.0)
    return np.where(constant, exact, np.asarray(p, dtype=float))


def _intervals(values, level, unit):
    """t-intervals of the mean over the last axis, one per leading index (as :func:`mean_interval`)."""
    v = np.asarray(values, dtype=float)
    est = v.mean(axis=-1)
    n = v.shape[-1]
    method = f"t-interval over {n} {unit}"
    if n < 2:
        return [Interval(math.nan, math.nan, float(e), level, f"{method}: fewer than 2 replicates")
                for e in est.ravel()]
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = sps.ttest_1samp(v, 0.0, axis=-1).confidence_interval(confidence_level=level)
    constant = (np.ptp(v, axis=-1) == 0).ravel()
    return [Interval(float(e), float(e), float(e), level, f"{method} (every replicate equal)") if c
            else Interval(float(lo), float(hi), float(e), level, method)
            for e, lo, hi, c in zip(est.ravel(), np.ravel(ci.low), np.ravel(ci.high), constant)]


def _degenerate(Y, what):
    if Y.shape[-2] < 2:
        return f"fewer than 2 replicates of the {what}"
    if np.ptp(Y) == 0:
        return f"the {what} is constant ({Y.flat[0]:.4g} at every time and in every replicate): the claim cannot show"
    return None


def _tolerance(Yb, rtol, floor, ceiling):
    """Per series: rtol times the room between the mean level and the nearer of `floor` and `ceiling`."""
    if not floor < ceiling:
        raise InvalidInputError(f"`floor` must be below `ceiling`, got {floor} and {ceiling}")
    level = Yb.mean(axis=(1, 2))
    return rtol * np.maximum(np.minimum(level - floor, ceiling - level), 0.0)


def _one_or_many(Y, results):
    return results[0] if Y.ndim == 2 else results


def monotone_trend(series, times, *, direction: int = 1, alpha: float = ALPHA, rtol: float = TREND_RTOL,
                   floor: float = 0.0, ceiling: float = math.inf, unit: str = "replicates"):
    r"""Judge "the quantity rises" (``direction=1``) or "falls" (``-1``) over `times`.

    Each replicate (a row of `series`, shape (replicates, times)) gives its least-squares
    change over the span, :math:`\Delta_i = \hat\beta_i (t_T - t_1)`. The :math:`\Delta_i`
    are independent, and under "no trend" (noise exchangeable in time, or any stationary
    noise reversible in time) symmetric about 0.

    - confirmed when a one-sided t-test finds the mean :math:`\Delta` on the claimed side of
      0 at level `alpha` (false-positive rate `alpha` on pure noise);
    - contradicted when a one-sided t-test finds it below :math:`\tau`, the tolerance
      ``rtol`` times the series' room: the distance from its mean level to the nearer of the
      quantity's bounds `floor` and `ceiling` (a share of points cannot rise by more than its
      distance to 1; a count of regions cannot fall below 1), at level `alpha`: the claimed
      change, if any, is smaller than the tolerance;
    - otherwise not resolved. A constant series is not resolved (the claim cannot show).

    A batch of series, shape (batch, replicates, times), gives a list of results.
    """
    if direction not in (1, -1):
        raise InvalidInputError(f"`direction` must be 1 or -1, got {direction!r}")
    Y, t = _series(series, times)
    Yb = Y[None] if Y.ndim == 2 else Y
    d = _changes(Yb, t) * direction                                     # (batch, replicates)
    tol = _tolerance(Yb, rtol, floor, ceiling)
    p_yes = _p_beyond(d, 0.0, 1)
    p_no = _p_beyond(d - tol[:, None], 0.0, -1)
    ivs = _intervals(d * direction, 1 - alpha, unit)
    claimed = "rise" if direction == 1 else "fall"
    out = []
    for k in range(Yb.shape[0]):
        bad = _degenerate(Yb[k], "series")
        if bad:
            word, why = NOT_RESOLVED, bad
        elif p_yes[k] < alpha:
            word, why = CONFIRMED, f"the mean change is a {claimed} (one-sided t-test p = {p_yes[k]:.2g} < {alpha:.2g})"
        elif p_no[k] < alpha:
            word, why = CONTRADICTED, (f"no {claimed} as large as {rtol:.0%} of the series' room ({tol[k]:.3g}): "
                                       f"one-sided t-test p = {p_no[k]:.2g} < {alpha:.2g}")
        else:
            word, why = NOT_RESOLVED, (f"neither a {claimed} (p = {p_yes[k]:.2g}) nor its absence "
                                       f"(p = {p_no[k]:.2g}) is shown")
        out.append(TrendTest(word, why, float(p_yes[k]), float(p_no[k]), (ivs[k],), None, Yb.shape[1]))
    return _one_or_many(Y, out)


def turn_trend(series, times, *, shape: str = "falls then rises", alpha: float = ALPHA, rtol: float = TREND_RTOL,
               floor: float = 0.0, ceiling: float = math.inf, unit: str = "replicates"):
    r"""Judge "the quantity falls, then rises" (or "rises, then falls") over `times`.

    The turn is not given by the claim, so every interior time :math:`t_b` (both segments
    with at least two times) is a candidate. At a turn :math:`b`, replicate :math:`i` gives
    the least-squares changes over the two segments, :math:`\Delta^{(1)}_i` (times
    :math:`t_1..t_b`) and :math:`\Delta^{(2)}_i` (times :math:`t_b..t_T`).

    - **confirmed** when, at some turn, one-sided t-tests find both mean changes in the claimed
      directions; the turn's p-value is the larger of the two (an intersection-union test), and
      the smallest over the :math:`B` candidate turns is multiplied by :math:`B` (Bonferroni):
      false-positive rate at most `alpha` on pure noise;
    - **contradicted** when, at every turn, one of the two segments is shown not to move by
      :math:`\tau` (``rtol`` times the series' room, as in :func:`monotone_trend`) in its claimed
      direction (one-sided
      t-tests at level ``alpha / 2`` each; rejecting the claim at every turn is an
      intersection-union test of level `alpha`): if the claimed turn exists with both changes
      at least :math:`\tau`, this happens with probability at most `alpha`;
    - otherwise not resolved. Confirmed takes precedence (a significant turn smaller than the
      tolerance confirms a claim that states no size).

    A batch of series, shape (batch, replicates, times), gives a list of results.
    """
    if shape not in ("falls then rises", "rises then falls"):
        raise InvalidInputError(f"`shape` must be 'falls then rises' or 'rises then falls', got {shape!r}")
    Y, t = _series(series, times)
    if t.size < 4:
        raise InvalidInputError("a turn needs at least 4 `times` (two per segment)")
    Yb = Y[None] if Y.ndim == 2 else Y
    first = -1 if shape == "falls then rises" else 1
    tol = _tolerance(Yb, rtol, floor, ceiling)                          # (batch,)
    turns = list(range(1, t.size - 1))
    d1 = np.stack([_changes(Yb[..., :b + 1], t[:b + 1]) for b in turns])  # (turns, batch, replicates), signed
    d2 = np.stack([_changes(Yb[..., b:], t[b:]) for b in turns])
    a1, a2 = d1 * first, d2 * -first                                    # positive: the claimed direction
    p_each = np.maximum(_p_beyond(a1, 0.0, 1), _p_beyond(a2, 0.0, 1))   # (turns, batch): intersection-union
    below = tol[None, :, None]
    absent = np.minimum(_p_beyond(a1 - below, 0.0, -1), _p_beyond(a2 - below, 0.0, -1)) < alpha / 2
    everywhere = np.all(absent, axis=0)
    best = np.argmin(p_each, axis=0)
    p_yes = np.minimum(1.0, p_each[best, np.arange(Yb.shape[0])] * len(turns))
    first_word, then_word = shape.split(" then ")
    cols = np.arange(Yb.shape[0])
    ivs = _intervals(np.stack([d1[best, cols], d2[best, cols]], axis=1), 1 - alpha, unit)  # (batch, 2) flattened
    out = []
    for k in range(Yb.shape[0]):
        b = turns[best[k]]
        bad = _degenerate(Yb[k], "series")
        if bad:
            word, why = NOT_RESOLVED, bad
        elif p_yes[k] < alpha:
            word, why = CONFIRMED, (f"it {first_word} to t = {t[b]:g}, then {then_word} (Bonferroni-corrected "
                                    f"p = {p_yes[k]:.2g} < {alpha:.2g} over {len(turns)} candidate turns)")
        elif everywhere[k]:
            word, why = CONTRADICTED, (f"at every candidate turn one segment is shown not to move by {rtol:.0%} of "
                                       f"the series' room ({tol[k]:.3g}) in its claimed direction")
        else:
            word, why = NOT_RESOLVED, (f"the best turn (t = {t[b]:g}) has corrected p = {p_yes[k]:.2g}, and the "
                                       "turn's absence is not shown at every candidate")
        out.append(TrendTest(word, why, float(p_yes[k]), 0.0 if everywhere[k] else 1.0, tuple(ivs[2 * k:2 * k + 2]),
                             float(t[b]),
                             Yb.shape[1]))
    return _one_or_many(Y, out)


# ---------------------------------------------------------------- several series, and the verdict

def family_alpha(m: int, alpha: float = ALPHA) -> float:
    """Bonferroni: the level of each of `m` tests whose family has false-positive rate `alpha`."""
    if int(m) < 1:
        raise InvalidInputError(f"`m` must be at least 1, got {m}")
    return alpha / int(m)


def universal(words) -> str:
    """The word of a claim made for every series, from the series' words.

    Confirmed when every series confirms it; contradicted when at least one contradicts it
    (run each series at :func:`family_alpha` so that a false contradiction anywhere has
    probability at most ALPHA); otherwise not resolved.
    """
    words = list(words)
    if not words or any(w not in WORDS for w in words):
        raise InvalidInputError(f"`words` must be a non-empty sequence of {WORDS}")
    if all(w == CONFIRMED for w in words):
        return CONFIRMED
    if any(w == CONTRADICTED for w in words):
        return CONTRADICTED
    return NOT_RESOLVED


def verdict(claim: str, judgement, *, size: str, interval: str, prediction: str, would_change: str,
            replicates: int | None = None, planned: bool = True, in_regime: bool = True,
            regime: str = "") -> Verdict:
    """The verdict on `claim` from a rule's `judgement` (a Judgement or TrendTest), gated by size and regime.

    The word is "not resolved at this size" whatever the rule said when the run is smaller
    than the planned one (``planned=False``: a run of the code at a small size), when there
    are fewer than :data:`MIN_REPLICATES` replicates, or, for "contradicted", when the
    networks are outside the claim's regime (``in_regime=False``, `regime` says why).
    """
    word, reason = judgement.word, judgement.reason
    if word not in WORDS:
        raise InvalidInputError(f"the judgement's word must be one of {WORDS}, got {word!r}")
    if not planned:
        word, reason = NOT_RESOLVED, f"this run is smaller than the planned study (the rule alone said: {reason})"
    elif replicates is not None and replicates < MIN_REPLICATES:
        word, reason = NOT_RESOLVED, f"{replicates} replicates, fewer than {MIN_REPLICATES}"
    elif word == CONTRADICTED and not in_regime:
        word, reason = NOT_RESOLVED, f"the interval excludes the claim, but the networks are not in its regime ({regime})"
    return Verdict(claim=claim, word=word, size=size, interval=interval, prediction=prediction,
                   would_change=would_change, reason=reason)
