"""The studies' verdicts, computed from their saved results alone.

Each study saves its raw results as ``results/<study>.json`` (``studykit.save_results``);
the function of the study in :data:`STUDIES` turns that document into verdicts with the rules
of :mod:`polyregions.studies.stats`. The notebooks call these functions, and
``tests/test_notebooks.py`` calls them again on the committed files and compares with the
committed verdicts, so a verdict is always what its data give. :func:`load` (from
``results_files``) checks every field of a results file before anything reads it.
"""

from __future__ import annotations

import math

import numpy as np

from polyregions.studies import stats
from polyregions.studies.stats import CONFIRMED, CONTRADICTED, NOT_RESOLVED
from results_files import SCHEMAS, load, load_verdicts, validate  # noqa: F401 (the studies' entry points)

# ---------------------------------------------------------------- shared helpers

def _where(rows, **where):
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def _words(results):
    """Per-series words (each series tested at its family's Bonferroni level), out-of-regime contradictions withheld."""
    words = []
    for r in results:
        word = r["test"].word
        if word == CONTRADICTED and not r["in_regime"]:
            word = NOT_RESOLVED
        words.append(word)
    return words


def _decisive(series, words):
    """The series that decides a universal claim, and the word it gave."""
    word = stats.universal(words)
    pick = [s for s, w in zip(series, words) if w == word] or series
    if word == CONFIRMED:  # the weakest confirmation
        return word, max(pick, key=lambda s: s["test"].p_confirm if hasattr(s["test"], "p_confirm") else 0)
    return word, pick[0]


def _tally(words):
    return ", ".join(f"{sum(w == k for w in words)} {k}" for k in (CONFIRMED, CONTRADICTED, NOT_RESOLVED)
                     if any(w == k for w in words))


# ---------------------------------------------------------------- Zhu, Lin & Tang

def zhu_series(results, *, depth, rate, set, reading, key):
    """Array (seeds, measured epochs) of one per-set summary of the ball measurements."""
    s = results["settings"]
    out = np.full((s["seeds"], len(s["measure"])), np.nan)
    for r in _where(results["balls"], depth=depth, rate=rate, set=set, reading=reading):
        out[r["seed"], s["measure"].index(r["epoch"])] = r[key]
    return out


def zhu_distance_series(results, *, depth, rate, set):
    """Array (seeds, measured epochs) of the mean distance to the nearest boundary."""
    s = results["settings"]
    out = np.full((s["seeds"], len(s["measure"])), np.nan)
    for r in _where(results["distances"], depth=depth, rate=rate, set=set):
        out[r["seed"], s["measure"].index(r["epoch"])] = r["mean"]
    return out


def _zhu_regime(data):
    s = data["settings"]
    last = s["measure"][-1]
    return {(d, r): float(np.mean([q["test_acc"] for q in _where(data["runs"], depth=d, rate=r, epoch=last)]))
            for d in s["widths"] for r in s["rates"]}


def zhu_trend_tests(data, claim, reading=None, key=None):
    """The per-setting trend tests of claims Z1, Z2, Z4a, Z4b: one dict per (depth, rate, set)."""
    s = data["settings"]
    sets = {"Z1": ["train", "test"], "Z2": s["sets"], "Z4a": ["train"], "Z4b": s["sets"]}[claim]
    cells = [(d, r, name) for d in s["widths"] for r in s["rates"] for name in sets]
    alpha = stats.family_alpha(len(cells))
    regime = _zhu_regime(data)
    out = []
    for d, r, name in cells:
        if claim in ("Z4a", "Z4b"):
            Y = zhu_distance_series(data, depth=d, rate=r, set=name)
        else:
            Y = zhu_series(data, depth=d, rate=r, set=name, reading=reading, key=key)
        # the quantity's bounds: a number of points lies in [0, points of the set]; a number of regions in a ball
        # (its mean, or the mean 2^C) is at least 1; a distance at least 0
        if claim == "Z1":
            bounds = {"floor": 0.0, "ceiling": float(s["points"][name])}
        elif claim == "Z2":
            bounds = {"floor": 1.0}
        else:
            bounds = {"floor": 0.0}
        if claim in ("Z1", "Z4a"):
            test = stats.monotone_trend(Y, s["measure"], direction=1, alpha=alpha, unit="seeds", **bounds)
        else:
            shape = "falls then rises" if claim == "Z2" else "rises then falls"
            test = stats.turn_trend(Y, s["measure"], shape=shape, alpha=alpha, unit="seeds", **bounds)
        out.append({"setting": f"{d}, lr {r:g}, {name}", "test": test, "in_regime": regime[d, r] > s["regime_accuracy"],
                    "alpha": alpha})
    return out


def zhu_ratio_tests(data, claim, reading):
    """Z3 (training over random points) and Z0 (2^C over exact) after the last epoch: one dict per comparison."""
    s = data["settings"]
    last = s["measure"][-1]
    regime = _zhu_regime(data)
    seeds = range(s["seeds"])
    out = []
    if claim == "Z3":
        key = "exact_mean" if reading == "0-255" else "zhu_mean"
        cells = [(d, r, other) for d in s["widths"] for r in s["rates"] for other in ("random 1", "random 2")]
        alpha = stats.family_alpha(len(cells))
        for d, r, other in cells:
            num = [_where(data["balls"], depth=d, rate=r, seed=k, epoch=last, set="train", reading=reading)[0][key]
                   for k in seeds]
            den = [_where(data["balls"], depth=d, rate=r, seed=k, epoch=last, set=other, reading=reading)[0][key]
                   for k in seeds]
            iv = stats.ratio_interval(num, den, level=1 - alpha, unit="seeds")
            test = stats.judge_direction(iv, null=1.0, tolerance=stats.EQUAL_RTOL)
            out.append({"setting": f"{d}, lr {r:g}, training / {other} ({'exact' if key == 'exact_mean' else '2^C'})",
                        "test": test, "interval": iv, "in_regime": regime[d, r] > s["regime_accuracy"], "alpha": alpha})
        return out
    cells = [(d, r) for d in s["widths"] for r in s["rates"]]
    alpha = stats.family_alpha(len(cells))
    for d, r in cells:
        num, den, dropped = [], [], 0
        for k in seeds:
            if reading == "0-255":
                rows = _where(data["balls"], depth=d, rate=r, seed=k, epoch=last, reading=reading)
                weights = [q["n"] for q in rows]
                num.append(np.average([q["zhu_mean"] for q in rows], weights=weights))
                den.append(np.average([q["exact_mean"] for q in rows], weights=weights))
            else:
                rows = _where(data["sample"], depth=d, rate=r, seed=k)
                kept = [q for q in rows if q["complete"]]
                dropped += len(rows) - len(kept)
                if kept:
                    num.append(np.mean([q["zhu"] for q in kept]))
                    den.append(np.mean([q["exact"] for q in kept]))
        iv = stats.ratio_interval(num, den, level=1 - alpha, unit="seeds")
        test = stats.judge_equal(iv, target=1.0, tolerance=stats.EQUAL_RTOL, relative=True)
        out.append({"setting": f"{d}, lr {r:g}", "test": test, "interval": iv, "dropped": dropped,
                    "in_regime": regime[d, r] > s["regime_accuracy"], "alpha": alpha})
    return out


def _zhu_size(data, reading=None):
    s = data["settings"]
    p = s["points"]
    return (f"{s['seeds']} seeds; {p['train']} training, {p['test']} test and {p['random 1']:,} + {p['random 2']:,} random "
            f"points per seed; {len(s['measure'])} measurements over {s['epochs']} epochs; "
            f"{len(s['widths'])} depths x {len(s['rates'])} learning rates" + (f"; r = 0.4 ({reading} reading)"
                                                                                if reading else ""))


def _zhu_universal(claim, tests, data, *, reading, prediction, would_change, what):
    words = _words(tests)
    word, dec = _decisive(tests, words)
    t = dec["test"]
    if "interval" in dec:
        iv = dec["interval"].text()
    else:
        iv = "; ".join(f"{name} {c.text()}" for name, c in zip(("change", "then") if len(t.changes) == 2 else ("change",),
                                                                 t.changes))
    interval = (f"{what} in {dec['setting']}: {iv} (each setting at the Bonferroni level "
                f"{1 - dec['alpha']:.4g}); per setting: {_tally(words)}")
    judgement = stats.Judgement(word, f"{dec['setting']}: {t.reason}")
    return stats.verdict(claim, judgement, size=_zhu_size(data, reading), interval=interval, prediction=prediction,
                         would_change=would_change, replicates=data["settings"]["seeds"],
                         planned=data["planned"])


def _detail_rows(claim, tests):
    rows = []
    for t in tests:
        test = t["test"]
        word = NOT_RESOLVED if test.word == CONTRADICTED and not t["in_regime"] else test.word
        if "interval" in t:
            iv = t["interval"].text()
        else:
            iv = "; ".join(c.text() for c in test.changes)
        rows.append({"claim": claim, "setting": t["setting"], "word": word, "interval": iv})
    return rows


def zhu_details(document) -> list:
    """Every setting's word and interval behind the verdicts of :func:`zhu` (for the notebook's tables)."""
    data = dict(document["data"], planned=document["size"] == "full")
    rows = []
    for reading in READING_ORDER:
        rows += _detail_rows(f"Z0 ({reading})", zhu_ratio_tests(data, "Z0", reading))
    for reading in READING_ORDER:
        rows += _detail_rows(f"Z1 ({reading})", zhu_trend_tests(data, "Z1", reading, "c0"))
    for reading, key, measure in Z2_MEASURES:
        rows += _detail_rows(f"Z2 ({reading}, {measure})", zhu_trend_tests(data, "Z2", reading, key))
    for reading in READING_ORDER:
        rows += _detail_rows(f"Z3 ({reading})", zhu_ratio_tests(data, "Z3", reading))
    rows += _detail_rows("Z4a", zhu_trend_tests(data, "Z4a"))
    rows += _detail_rows("Z4b", zhu_trend_tests(data, "Z4b"))
    return rows


#: The readings of the radius, in the order the verdicts are given.
READING_ORDER = ("0-255", "0-1")
#: Z2's measures: (reading, per-set summary, name).
Z2_MEASURES = (("0-255", "zhu_mean", "2^C"), ("0-255", "exact_mean", "exact count"), ("0-1", "zhu_mean", "2^C"))


def zhu(document) -> list:
    """Verdicts on Z0-Z4b (see the notebook) from the saved results of ``zhu_local_bound``."""
    data = dict(document["data"], planned=document["size"] == "full")
    out = []
    for reading in READING_ORDER:
        tests = zhu_ratio_tests(data, "Z0", reading)
        out.append(_zhu_universal(
            f"Z0, the bound is tight at r = 0.4, {reading} reading", tests, data, reading=reading,
            prediction="mean 2^C / mean exact count within [1/1.1, 1.1] in every setting",
            would_change="a setting whose interval leaves the band (a looser bound) or straddles its edge",
            what="mean 2^C / mean exact count after the last epoch"
                 + ("" if reading == "0-255" else ", one ball per point set and seed")))
    for reading in READING_ORDER:
        out.append(_zhu_universal(
            f"Z1, points with a single region in their ball (C = 0) grow during training, {reading} reading",
            zhu_trend_tests(data, "Z1", reading, "c0"), data, reading=reading,
            prediction="a rise over the epochs in every setting (training and test points)",
            would_change="a setting with a fall, or with no rise as large as 10% of its room (the points without "
                         "C = 0); more seeds where the intervals are wide",
            what="change of the number of C = 0 points over training"))
    for reading, key, measure in Z2_MEASURES:
        out.append(_zhu_universal(
            f"Z2, local regions fall then rise during training, by the mean {measure}, {reading} reading",
            zhu_trend_tests(data, "Z2", reading, key), data, reading=reading,
            prediction="a fall, then a rise, in every setting and point set",
            would_change="a setting where the turn is shown, or where a fall or rise as large as 10% of the room above "
                         "1 region is excluded at every candidate turn; more seeds where the intervals are wide",
            what=f"changes of the mean {measure} before and after the best candidate turn"))
    for reading in READING_ORDER:
        out.append(_zhu_universal(
            f"Z3, balls around training points hold more regions than around random points, {reading} reading",
            zhu_ratio_tests(data, "Z3", reading), data, reading=reading,
            prediction="mean count around training points / around random points above 1 for both random sets in "
                       "every setting",
            would_change="a ratio interval that lies above 1 (confirmed) or reaches 1.1 (not resolved)",
            what="ratio of mean counts after the last epoch"))
    out.append(_zhu_universal(
        "Z4a, region boundaries move away from the training points during training", zhu_trend_tests(data, "Z4a"),
        data, reading=None, prediction="a rise of the mean distance from training points to the nearest boundary",
        would_change="a setting with a fall of the distance, or intervals at more seeds",
        what="change of the mean distance over training"))
    out.append(_zhu_universal(
        "Z4b, the mean distance to the nearest boundary rises then falls during training",
        zhu_trend_tests(data, "Z4b"), data, reading=None,
        prediction="a rise, then a fall, in every setting and point set",
        would_change="a setting where the turn is shown, or where it is excluded at every candidate turn",
        what="changes of the mean distance before and after the best candidate turn"))
    return out


# ---------------------------------------------------------------- Hanin & Rolnick

def _hanin_size(data, what):
    s = data["settings"]
    if what == "random":
        return (f"{len(s['depths'])} depths x {len(s['totals'])} totals N = {s['totals'][0]}..{s['totals'][-1]} x "
                f"{s['seeds']} seeds ({len(s['depths']) * len(s['totals']) * s['seeds']} networks); {s['lines']} segments "
                f"and {s['points']} points per network")
    if what == "planes":
        return (f"{len(s['depths'])} depths x {len(s['totals'])} totals N = {s['totals'][0]}..{s['totals'][-1]} x "
                f"{s['seeds']} seeds; {s['planes']} squares of side {s['side']:g} per network")
    return (f"{len(s['depths'])} depths x {len(s['train_totals'])} totals N = {', '.join(map(str, s['train_totals']))} x "
            f"{s['train_seeds']} seeds; {s['train_lines']} segments and {s['train_points']} test images per network, "
            f"epochs {s['epochs'][0]}..{s['epochs'][-1]}")


def hanin_exponent_tests(data, table, key, *, target, kind):
    """Per depth: the exponent of `key` in N over every network of the depth, judged against `target`."""
    s = data["settings"]
    alpha = stats.family_alpha(len(s["depths"]))
    out = []
    for d in s["depths"]:
        rows = _where(data[table], depth=d)
        iv = stats.slope_interval([r["N"] for r in rows], [r[key] for r in rows], log=True, level=1 - alpha,
                                  unit="networks")
        if kind == "equal":
            test = stats.judge_equal(iv, target=target, tolerance=stats.EXPONENT_ATOL)
        else:
            test = stats.judge_at_most(iv, bound=target, tolerance=stats.EXPONENT_ATOL)
        out.append({"setting": f"depth {d}", "test": test, "interval": iv, "in_regime": True, "alpha": alpha,
                    "replicates": len(rows)})
    return out


def hanin_depth_tests(data):
    """H2: density per neuron of each depth against depth 1 (Welch interval of the ratio of geometric means)."""
    s = data["settings"]
    others = [d for d in s["depths"] if d != s["depths"][0]]
    alpha = stats.family_alpha(len(others))
    base = [r["density"] / r["N"] for r in _where(data["lines"], depth=s["depths"][0])]
    out = []
    for d in others:
        rows = [r["density"] / r["N"] for r in _where(data["lines"], depth=d)]
        iv = stats.unpaired_ratio_interval(rows, base, level=1 - alpha, unit="networks")
        out.append({"setting": f"depth {d} / depth {s['depths'][0]}", "interval": iv, "in_regime": True, "alpha": alpha,
                    "test": stats.judge_equal(iv, target=1.0, tolerance=stats.EQUAL_RTOL, relative=True),
                    "replicates": min(len(rows), len(base))})
    return out


def hanin_training_tests(data):
    """H5: density and distance after the last epoch over their initial values, paired by seed, per (N, depth)."""
    s = data["settings"]
    first, last = s["epochs"][0], s["epochs"][-1]
    cells = [(n, d, key) for n in s["train_totals"] for d in s["depths"] for key in ("density", "distance")]
    alpha = stats.family_alpha(len(cells))
    out = []
    for n, d, key in cells:
        end = sorted(_where(data["training"], N=n, depth=d, epoch=last), key=lambda r: r["seed"])
        start = sorted(_where(data["training"], N=n, depth=d, epoch=first), key=lambda r: r["seed"])
        iv = stats.ratio_interval([r[key] for r in end], [r[key] for r in start], level=1 - alpha, unit="seeds")
        accuracy = float(np.mean([r["test"] for r in end]))
        out.append({"setting": f"N = {n}, depth {d}, {key} (test accuracy {accuracy:.2f})", "interval": iv,
                    "test": stats.judge_equal(iv, target=1.0, tolerance=stats.EQUAL_RTOL, relative=True),
                    "in_regime": accuracy > s["regime_accuracy"], "alpha": alpha, "replicates": len(end)})
    return out


def _universal(claim, tests, *, size, prediction, would_change, what, planned, regime=""):
    words = _words(tests)
    word, dec = _decisive(tests, words)
    interval = (f"{what}, {dec['setting']}: {dec['interval'].text()} (each setting at the Bonferroni level "
                f"{1 - dec['alpha']:.4g}); per setting: {_tally(words)}")
    judgement = stats.Judgement(word, f"{dec['setting']}: {dec['test'].reason}")
    return stats.verdict(claim, judgement, size=size, interval=interval, prediction=prediction,
                         would_change=would_change, replicates=min(t["replicates"] for t in tests), planned=planned,
                         regime=regime)


def hanin_details(document) -> list:
    """Every setting's word and interval behind the verdicts of :func:`hanin` (for the notebook's tables)."""
    data = document["data"]
    return (_detail_rows("H1", hanin_exponent_tests(data, "lines", "density", target=1.0, kind="equal"))
            + _detail_rows("H1b", hanin_exponent_tests(data, "lines", "density", target=1.0, kind="at most"))
            + _detail_rows("H2", hanin_depth_tests(data))
            + _detail_rows("H3", hanin_exponent_tests(data, "lines", "distance", target=-1.0, kind="equal"))
            + _detail_rows("H4", hanin_exponent_tests(data, "planes", "density", target=2.0, kind="at most"))
            + _detail_rows("H5", hanin_training_tests(data)))


def hanin(document) -> list:
    """Verdicts on H1-H5 (see the notebook) from the saved results of ``hanin_rolnick_lines``."""
    data, planned = document["data"], document["size"] == "full"
    random, planes = _hanin_size(data, "random"), _hanin_size(data, "planes")
    return [
        _universal("H1, regions per unit length grow linearly in N at initialisation",
                   hanin_exponent_tests(data, "lines", "density", target=1.0, kind="equal"), size=random,
                   prediction="log-log exponent of the density in N within 1 +- 0.1 at every depth",
                   would_change="an exponent interval outside [0.9, 1.1] at some depth, or wider intervals",
                   what="exponent", planned=planned),
        _universal("H1b, the proven bound: regions per unit length at most linear in N",
                   hanin_exponent_tests(data, "lines", "density", target=1.0, kind="at most"), size=random,
                   prediction="log-log exponent of the density in N at most 1.1 at every depth",
                   would_change="an exponent interval above 1.1 at some depth", what="exponent", planned=planned),
        _universal("H2, the density along lines does not depend on the depth at equal N", hanin_depth_tests(data),
                   size=random, prediction="density per neuron of every depth / depth 1 within [1/1.1, 1.1]",
                   would_change="a depth whose ratio interval leaves the band, or straddles its edge",
                   what="ratio of the density per neuron", planned=planned),
        _universal("H3, the mean distance to the nearest boundary scales like 1/N at initialisation",
                   hanin_exponent_tests(data, "lines", "distance", target=-1.0, kind="equal"), size=random,
                   prediction="log-log exponent of the mean distance in N within -1 +- 0.1 at every depth",
                   would_change="an exponent interval outside [-1.1, -0.9] at some depth", what="exponent",
                   planned=planned),
        _universal("H4, regions per unit area of 2-D cross-sections at most of order (C N)^2",
                   hanin_exponent_tests(data, "planes", "density", target=2.0, kind="at most"), size=planes,
                   prediction="log-log exponent of the area density in N at most 2.1 at every depth (a bound, not a "
                              "growth law)",
                   would_change="an exponent interval above 2.1 at some depth", what="exponent", planned=planned),
        _universal("H5, the density along lines and the distance to the boundary stay essentially unchanged during "
                   "training", hanin_training_tests(data), size=_hanin_size(data, "training"),
                   prediction="value after the last epoch / initial value within [1/1.1, 1.1], for the density and for "
                              "the distance, in every setting",
                   would_change="a setting whose interval leaves the band (contradicted, when its networks learned the "
                                "task) or settles inside it",
                   what="last / initial", planned=planned,
                   regime=f"mean test accuracy at most {data['settings']['regime_accuracy']}"),
    ]


# ---------------------------------------------------------------- Xiong et al.

def _exact(claim, word, reason, *, size, interval, prediction, would_change, planned):
    return stats.verdict(claim, stats.Judgement(word, reason), size=size, interval=interval, prediction=prediction,
                         would_change=would_change, planned=planned)


def _poly_value(coefficients, d1):
    return sum(math.comb(d1, j) * e for j, e in enumerate(coefficients))


def xiong(document) -> list:
    """Verdicts on Xiong et al.'s Theorems 1-3 (see the notebook) from the saved results of ``xiong_cnn``."""
    data, planned = document["data"], document["size"] == "full"
    s = data["settings"]
    grid = f"{len(data['theorem1'])} one-layer shapes x {s['seeds']} seeds, exact counts in the whole space"
    short = [r for r in data["theorem1"] if max(r["counts"]) < r["R_N"] and r["witness"]]
    big_short = [r for r in data["big"] if r["independent"] is not None and r["independent"] < r["R_N"] and r["witness"]]
    out = []
    for part, what in (("(i)", "the maximal count"), ("(ii)", "the expected count, for parameters with a density,")):
        if short:
            r = short[0]
            word, reason = CONTRADICTED, (f"{len(short)} enumerated shape(s) and {len(big_short)} larger one(s) fall below "
                                          f"R_N at every seed, each with a witness of a forced linear dependency")
            interval = (f"`{r['arch']}`: exact counts {min(r['counts']):,}..{max(r['counts']):,} over {len(r['counts'])} "
                        f"seeds against R_N = {r['R_N']:,} (exact, no error)")
        else:
            word, reason = CONFIRMED, "every count equals R_N"
            interval = "every count equals R_N (exact)"
        out.append(_exact(f"Theorem 1 {part}: {what} of a one-layer CNN equals R_N", word, reason, size=grid,
                          interval=interval, prediction="count = R_N on every shape",
                          would_change="nothing at any size: the shortfall is proved for every choice of weights "
                                       "(docs/theorem1.md, Theorem D); only a different reading of the theorem",
                          planned=planned))
    complete = [r for r in data["asymptotics"] if r["complete"]]
    equal_lead = [r for r in complete if r["coefficients"][-1] == r["xiong"][len(r["coefficients"]) - 1]
                  and len(r["coefficients"]) == len(r["xiong"])]
    if complete and len(equal_lead) == len(complete):
        word, reason = CONFIRMED, ("the generic count and R_N have the same degree |U| and leading coefficient on every "
                                   "complete polynomial (and in general: docs/theorem1.md, Theorem F)")
    elif complete:
        word, reason = CONTRADICTED, "a complete polynomial's leading coefficient differs from R_N's"
    else:
        word, reason = NOT_RESOLVED, "no polynomial was complete"
    ratios = []
    for r in data["asymptotics"]:
        J = len(r["coefficients"]) - 1
        top = 100 if r["complete"] else J
        ratios.append(f"{r['shape']}: count / R_N = {_poly_value(r['coefficients'], top) / _poly_value(r['xiong'], top):.9f} "
                      f"at d1 = {top}" + (" (limit 1)" if r["complete"] else f" (exact up to d1 = {J})"))
    out.append(_exact("Theorem 1, asymptotics: the maximal count is Theta(d1^|U|), with the shortfall vanishing relative "
                      "to R_N", word, reason,
                      size=f"{len(data['asymptotics'])} shapes with a shortfall; generic counts as polynomials in d1 "
                           f"({len(complete)} complete)", interval="; ".join(ratios),
                      prediction="count / R_N -> 1 as d1 grows (same leading coefficient)",
                      would_change="a complete polynomial with a smaller leading coefficient than R_N's", planned=planned))
    over = [r for r in data["theorem2"] if max(r["counts"]) > r["upper"]]
    arch2 = f"{len(data['theorem2'])} two-layer CNNs x {s['deep_seeds']} seeds, exact counts"
    out.append(_exact("Theorem 2 (ii): the upper bound", CONTRADICTED if over else CONFIRMED,
                      f"{len(over)} count(s) above the bound" if over else "no count exceeds the bound", size=arch2,
                      interval=f"largest count / bound: {max(max(r['counts']) / r['upper'] for r in data['theorem2']):.3g} "
                               "(exact)", prediction="every count at most the bound",
                      would_change="a network with more regions than the bound", planned=planned))
    proven = [r for r in data["theorem2"] if r["lower"] is not None]
    reached = [r for r in proven if max(r["counts"]) >= r["lower"]]
    word = CONFIRMED if proven and len(reached) == len(proven) else NOT_RESOLVED
    out.append(_exact("Theorem 2 (i): the lower bound on the maximal count", word,
                      f"a random count reaches the (proven) bound on {len(reached)} of {len(proven)} architectures; a "
                      "random count is a lower bound on the maximum", size=arch2,
                      interval="largest count / lower bound: " + ", ".join(
                          f"{max(r['counts']) / r['lower']:.3g}" for r in proven) + " (exact)",
                      prediction="maximal count at least the bound",
                      would_change="an architecture whose bound no random count reaches (not resolved: the maximum may "
                                   "still be larger)", planned=planned))
    t3 = data["theorem3"]
    wins = [r for r in t3 if r["deep_lower"] is not None and r["deep_lower"] / r["params"]
            > r["shallow_RN"] / r["shallow_params"]]
    best = max(t3, key=lambda r: (r["deep_upper"] / r["params"]) / (r["shallow_RN"] / r["shallow_params"]))
    word = CONFIRMED if wins else NOT_RESOLVED
    out.append(_exact(
        "Theorem 3: deep CNNs have more maximal regions per parameter than one-layer CNNs with as many parameters", word,
        (f"the deep lower bound per parameter exceeds the shallow R_N per parameter at {len(wins)} size(s)" if wins else
         "at no computed size does the deep network's lower bound per parameter exceed the shallow R_N per parameter; "
         "the claim is about d -> infinity, so no finite size contradicts it"),
        size=f"{len(t3)} (input, L, d) combinations, d = {min(r['d'] for r in t3)}..{max(r['d'] for r in t3)}, "
             "closed-form bounds",
        interval=(f"largest (deep upper bound / params) / (shallow R_N / params): "
                  f"{(best['deep_upper'] / best['params']) / (best['shallow_RN'] / best['shallow_params']):.3g} at "
                  f"input {best['input']}, L = {best['L']}, d = {best['d']} (exact bounds)"),
        prediction="deep lower bound per parameter above the shallow maximum per parameter as d grows",
        would_change="larger d (the deep bounds grow faster in d), or a proven deep lower bound above the shallow R_N",
        planned=planned))
    fc = data["cnn_vs_fc"]
    square = next((r for r in data["asymptotics"] if r["shape"] == "1x3x3" and r["complete"]), None)
    ahead = all(r["cnn_count"] > r["fc_count"] for r in fc)
    lead = None
    if square is not None:
        units = len(square["coefficients"]) - 1
        # CNN: e_|U| / |U|! d1^|U|; FC: n1 ~ d1 / 2 neurons, sum_{i<=9} C(n1, i) ~ (d1/2)^9 / 9!
        lead = (square["coefficients"][-1] / math.factorial(units), 0.5 ** 9 / math.factorial(9)) if units == 9 else None
    word = CONFIRMED if ahead and lead is not None and lead[0] > lead[1] else NOT_RESOLVED
    out.append(_exact("Theorem 3: a one-layer CNN has more maximal regions than a fully connected layer with as many "
                      "parameters", word,
                      "the CNN's exact maximum exceeds the fully connected layer's at every d1 of the table, and its "
                      "leading coefficient in d1 is larger" if word == CONFIRMED else "not shown at every size",
                      size=f"one layer, input 3x3, filters 2x2, d1 = {fc[0]['d1']}..{fc[-1]['d1']}, exact maxima",
                      interval=f"CNN / FC maximum from {min(r['cnn_count'] / r['fc_count'] for r in fc):,.4g} to "
                               f"{max(r['cnn_count'] / r['fc_count'] for r in fc):,.4g} (exact)"
                               + (f"; leading coefficients {lead[0]:.4g} against {lead[1]:.3g}" if lead else ""),
                      prediction="CNN maximum above the fully connected maximum at equal parameters",
                      would_change="several layers (only one is decided here)", planned=planned))
    return out


# ---------------------------------------------------------------- fully connected bounds

def fc(document) -> list:
    """Verdicts on the closed forms of ``fc_bounds`` from its saved results."""
    data, planned = document["data"], document["size"] == "full"
    seeds = data["settings"]["seeds"]
    one = [r for r in data["random"] if r["zaslavsky"] is not None]
    size_one = f"{len(one)} one-layer architectures x {seeds} seeds, exact counts in the whole space"
    off = [r for r in one if any(c != r["zaslavsky"] for c in r["counts"])]
    out = [_exact("Zaslavsky: a one-layer network in general position has sum_{i<=n0} C(n1, i) regions",
                  CONTRADICTED if off else CONFIRMED,
                  f"{len(off)} architecture(s) with another count" if off else "every count equals the formula",
                  size=size_one, interval="; ".join(f"{r['n0']}: {r['widths'][0]}: counts {min(r['counts'])}..{max(r['counts'])}"
                                                    f" against {r['zaslavsky']}" for r in one) + " (exact)",
                  prediction="count = formula for every seed", would_change="a random network with another count",
                  planned=planned)]
    counted = [(r, c, "whole space") for r in data["random"] for c in r["counts"]] \
        + [(r, r[k], "box") for r in data["trained"] for k in ("start", "trained")] \
        + [(r, r["whole"], "whole space") for r in data["construction"]]
    size_all = (f"{len(data['random'])} random architectures x {seeds} seeds, {len(data['trained'])} trained networks (two "
                f"counts each, in a box), {len(data['construction'])} constructions")
    for name, key in (("Serra et al. (2018)", "serra2018"), ("Montufar (2017)", "montufar2017")):
        above = [x for x in counted if x[1] > x[0][key]]
        worst = max(counted, key=lambda x: x[1] / x[0][key])
        out.append(_exact(f"{name}: an upper bound on every network's count", CONTRADICTED if above else CONFIRMED,
                          f"{len(above)} count(s) above the bound" if above else "no count exceeds the bound",
                          size=size_all, interval=f"largest count / bound: {worst[1] / worst[0][key]:.3g} ({worst[2]}; exact)",
                          prediction="every count at most the bound", would_change="a network with more regions",
                          planned=planned))
    cons = data["construction"]
    below = [r for r in cons if r["cube"] < r["montufar2014"]]
    out.append(_exact("Montufar et al. (2014): their construction has at least the lower bound",
                      CONTRADICTED if below else CONFIRMED,
                      f"{len(below)} shape(s) below it" if below else "every shape reaches it in the unit cube",
                      size=f"{len(cons)} shapes, exact counts in the unit cube",
                      interval="count in the cube / bound: " + ", ".join(f"{r['cube'] / r['montufar2014']:.3g}" for r in cons)
                               + " (exact)",
                      prediction="count in the unit cube at least the bound", would_change="a shape below the bound",
                      planned=planned))
    return out


STUDIES = {"zhu_local_bound": zhu, "hanin_rolnick_lines": hanin, "xiong_cnn": xiong, "fc_bounds": fc}
#: Studies whose verdicts combine several settings: the per-setting words and intervals.
DETAILS = {"zhu_local_bound": zhu_details, "hanin_rolnick_lines": hanin_details}
