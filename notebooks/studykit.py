"""Helpers shared by the studies in this folder: the size, tables, figures, saved results, local counts.

The studies run at two sizes: small (seconds; what the tests run) and full (what is
committed). ``scripts/notebooks.py`` sets the size and the output folders through the
environment:

- ``POLYREGIONS_FULL=1`` for the full size;
- ``POLYREGIONS_FIGURES``: where figures go (default ``figures/`` beside the notebooks), each
  as a 300 dpi PNG and an SVG;
- ``POLYREGIONS_RESULTS``: where each study saves its raw results and its verdicts (default
  ``results/``), the files ``tests/test_notebooks.py`` recomputes the committed verdicts from;
- ``POLYREGIONS_CACHE``: where long studies keep finished pieces of work, so that an
  interrupted full run resumes (default ``.cache/`` beside the notebooks, not committed).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import time

import numpy as np
from IPython.display import Markdown, display

import verdicts as verdict_rules

FULL = os.environ.get("POLYREGIONS_FULL", "0") == "1"
SIZE = "full" if FULL else "small"
FIGURES = pathlib.Path(os.environ.get("POLYREGIONS_FIGURES", "figures"))
RESULTS = pathlib.Path(os.environ.get("POLYREGIONS_RESULTS", "results"))
CACHE = pathlib.Path(os.environ.get("POLYREGIONS_CACHE", ".cache"))

#: Resolution of the saved PNG files (the SVG files are vector graphics).
DPI = 300
#: Resolution of the figures shown inline in the notebooks (kept modest: they are committed).
INLINE_DPI = 110
#: Printed widths, in inches: one column and the full text width of a two-column paper.
WIDTH = {"single": 3.4, "double": 7.0}
#: Okabe & Ito's colour-blind-safe palette (black first, then the eight hues).
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
#: The palette in the order the figures use for up to seven series (yellow last: weak on white).
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")


def style() -> None:
    """Matplotlib settings for figures printed at :data:`WIDTH`: 9 pt text, 8 pt ticks, the safe palette."""
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update({
        "figure.dpi": INLINE_DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
        "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8, "legend.frameon": False,
        "axes.prop_cycle": cycler(color=SERIES), "axes.spines.top": False, "axes.spines.right": False,
        "lines.linewidth": 1.2, "lines.markersize": 4, "errorbar.capsize": 2,
        "svg.fonttype": "none", "svg.hashsalt": "polyregions", "figure.constrained_layout.use": True,
    })


def say(text: str) -> None:
    """Show `text` (Markdown built from computed values) as a rendered paragraph."""
    display(Markdown(text))


def num(value, digits: int = 3) -> str:
    """An int with thousands separators; a float with `digits` significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def table(headers, rows) -> None:
    """Show a Markdown table; cells are formatted with :func:`num` unless already strings."""
    def cell(v):
        return v if isinstance(v, str) else num(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    say("\n".join(lines))


def save(fig, name: str) -> pathlib.Path:
    """Save `fig` as ``FIGURES/name.png`` (300 dpi) and ``FIGURES/name.svg``; both without timestamps."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    fig.savefig(FIGURES / f"{name}.svg", metadata={"Date": None, "Creator": None})
    return path


def band(ax, x, interval_rows, *, color, label=None, marker="o", ls="-"):
    """Plot the estimates of `interval_rows` (stats.Interval per x) with a shaded band between their ends."""
    est = [iv.estimate for iv in interval_rows]
    low = [iv.low if iv.defined else iv.estimate for iv in interval_rows]
    high = [iv.high if iv.defined else iv.estimate for iv in interval_rows]
    ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
    ax.plot(x, est, color=color, marker=marker, ls=ls, label=label)


def legend_above(fig, ax, ncol: int = 4) -> None:
    """One legend for the whole figure, above the panels (from the handles of `ax`)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=ncol)


def log_axis(ax, ticks, axis: str = "x") -> None:
    """A log axis labelled at `ticks` with plain numbers (no minor ticks, no overlapping powers of ten)."""
    from matplotlib.ticker import NullLocator

    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}ticks")(list(ticks), [f"{t:g}" for t in ticks])
    getattr(ax, f"{axis}axis").set_minor_locator(NullLocator())


# ---------------------------------------------------------------- results and verdicts

def save_results(study: str, data: dict) -> pathlib.Path:
    """Write the study's raw results as ``RESULTS/<study>.json`` (checked against its schema first)."""
    document = {"study": study, "size": SIZE, "data": data}
    verdict_rules.validate(document, study)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{study}.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=True, default=_plain) + "\n")
    return path


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__}")


def verdicts(study: str) -> list:
    """Compute the study's verdicts from its saved results (as the tests do), show them and save them."""
    document = verdict_rules.load(RESULTS / f"{study}.json", study)
    found = verdict_rules.STUDIES[study](document)
    (RESULTS / f"{study}_verdicts.json").write_text(
        json.dumps([v.to_dict() for v in found], indent=1) + "\n")
    for v in found:
        say(v.sentence())
    return found


def verdict_details(study: str) -> None:
    """Show, per setting, the word and interval behind each verdict of `study` (from its saved results)."""
    document = verdict_rules.load(RESULTS / f"{study}.json", study)
    table(["claim", "setting", "word", "interval"],
          [[r["claim"], r["setting"], r["word"], r["interval"]] for r in verdict_rules.DETAILS[study](document)])


# ---------------------------------------------------------------- resumable pieces of work

#: Per study, how many pieces of work :func:`cached` read from the cache and how many it computed.
CACHE_USE: dict = {}


def cached(study: str, key: dict, compute):
    """``compute()`` (a JSON-able value), saved under ``CACHE/<study>/`` and reused when `key` comes again.

    `key` names the piece of work completely (every setting it depends on); a full run that is
    interrupted resumes from the pieces it finished. The small size never caches.
    """
    use = CACHE_USE.setdefault(study, {"read": 0, "computed": 0})
    if not FULL:
        use["computed"] += 1
        return compute()
    folder = CACHE / study
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = folder / f"{digest}.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            use["read"] += 1
            return stored["value"]
    use["computed"] += 1
    value = compute()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "value": value}, default=_plain))
    tmp.replace(path)
    return value


def run_time(study: str, start: float) -> str:
    """The sentence that reports the run time since `start`, and how much of the work the cache supplied.

    A piece of work read from the cache of an earlier run took no time in this one, so a run
    time is only the study's cost when nothing was read.
    """
    use = CACHE_USE.get(study, {"read": 0, "computed": 0})
    text = f"Run time at this size: {time.perf_counter() - start:,.0f} s"
    if use["read"]:
        text += (f" ({use['read']:,} of the {use['read'] + use['computed']:,} pieces of work were read from the cache of an "
                 "earlier run; their time is not included)")
    return text + "."


# ---------------------------------------------------------------- many local counts

def ball_counts(net, points, radius: float, *, exact: str = "all", time_limit: float | None = None,
                arrangement: bool = True, distance=None, failures: list | None = None) -> dict:
    r"""For every point: Zhu et al.'s C and 2^C, the local arrangement bound, the exact count, the distance.

    Every count of the studies in L2 balls goes through this function, so that it can move to
    ``polyregions.local_counts`` in this one place. Per point, in a ball of radius `radius`:

    - ``C``, ``zhu`` (:math:`2^C`, a Python int): :func:`polyregions.bounds.zhu_local`;
    - ``ours``: :func:`polyregions.bounds.local_arrangement_bound` (1 without computing it when
      :math:`C = 0`, where it must be 1; None when ``arrangement=False``);
    - ``distance``: :func:`polyregions.boundary_distances`, the Euclidean distance to the nearest
      point with another activation pattern (or the given `distance`, computed before);
    - ``exact``, ``complete``: the number of regions meeting the open ball. When the distance
      exceeds the radius (by the relative margin :data:`DISTANCE_MARGIN`) the ball lies inside
      one region and the count is 1 without a search; otherwise ``count_regions`` with
      `time_limit` (a stopped count is a lower bound, ``complete=False``). A count stopped by a
      solver error is None, ``complete=False``, and its message is appended to `failures`.
      ``exact="none"`` skips the counts (None).
    """
    import polyregions as pr

    if exact not in ("all", "none"):
        raise ValueError(f"`exact` must be 'all' or 'none', got {exact!r}")
    failures = [] if failures is None else failures
    points = np.atleast_2d(np.asarray(points, dtype=float))
    if distance is None:
        distance, _ = pr.boundary_distances(net, points)
    rows = []
    for x, d in zip(points, distance):
        zhu = pr.bounds.zhu_local(net, x, radius)
        ours = None
        if arrangement:
            ours = 1 if zhu.C == 0 else int(pr.bounds.local_arrangement_bound(net, x, radius).bound)
            assert ours <= zhu.bound, (ours, zhu.bound)
        count, complete, seconds = None, None, 0.0
        if exact == "all":
            if d > radius * (1 + DISTANCE_MARGIN):
                count, complete = 1, True
            else:
                t0 = time.perf_counter()
                try:
                    res = pr.count_regions(net, pr.Ball(x, radius), time_limit=time_limit)
                    count, complete = int(res.count), bool(res.complete)
                except pr.SolverError as exc:  # reported, never read as a count
                    failures.append(f"r = {radius:g}: {exc}")
                    complete = False
                seconds = time.perf_counter() - t0
                if complete and d < radius * (1 - DISTANCE_MARGIN):
                    assert count >= 2, "a ball reaching past the nearest boundary holds a single region"
            if ours is not None and count is not None:  # a stopped count is a lower bound: still at most the bounds
                assert count <= ours, (count, ours)
            if zhu.C == 0 and count is not None:
                assert count == 1, "C = 0 but the ball meets several regions"
        rows.append({"C": int(zhu.C), "zhu": int(zhu.bound), "ours": ours, "exact": count, "complete": complete,
                     "distance": float(d), "seconds": seconds})
    return {key: [r[key] for r in rows] for key in rows[0]} if rows else {}


#: A ball whose radius is below the distance to the nearest boundary by this relative margin
#: lies in one region (the distance is computed from the weights in floating point; within the
#: margin the ball is counted by the search instead).
DISTANCE_MARGIN = 1e-6
