"""Pictures of a study's counts (matplotlib, an optional extra: ``pip install 'polyregions[plot]'``).

:func:`plot_local` draws, from a :class:`~polyregions.local.table.CountTable`, up to three panels,
each where the table has what it needs:

* the distribution of the local counts by label (box plots: median, quartiles, whiskers to
  1.5 interquartile ranges; every count drawn as a dot) at one radius;
* the counts against the radius (the mean over points per label, with the band between the first
  and third quartiles), when the table has several radii;
* local complexity against the training step (the mean over points per radius, with the
  quartile band), when the table has several networks.

Tables of segments show the regions per unit length instead. Every label and radius has a
colour of its own, a hash of its text as in the partition pictures
(:func:`polyregions.cells.plot.region_color`), the same on every run and machine. Counts stopped
at their time limit are lower bounds; a panel that holds any says how many.
"""

from __future__ import annotations

import numpy as np

from .._validate import positive_number
from ..cells.plot import region_color
from ..errors import InvalidInputError, UnsupportedError
from .table import CountTable

__all__ = ["label_color", "plot_local"]


def label_color(value) -> tuple:
    """The RGB colour of a label (or a radius, a network): the hash colour of its text."""
    value = value.item() if isinstance(value, np.generic) else value
    return region_color(np.frombuffer(str(value).encode(), dtype=np.uint8))


def _groups(table):
    if "label" in table:
        labels = table["label"]
        return [(str(v), labels == v) for v in sorted(set(labels.tolist()))]
    return [("all", np.ones(len(table), bool))]


def _incomplete_note(table, mask):
    k = int(np.sum(~table["complete"][mask]))
    return f" ({k:,} incomplete: lower bounds)" if k else ""


def _log_if_positive(ax, values, axis="y"):
    if len(values) and np.min(values) > 0 and np.max(values) / np.min(values) > 20:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _quartile_band(ax, xs, table, value, select, colour, name):
    means, lo, hi, shown = [], [], [], []
    for x, mask in select:
        v = table[value][mask].astype(float)
        if len(v):
            shown.append(x)
            means.append(v.mean())
            q = np.quantile(v, [0.25, 0.75])
            lo.append(q[0])
            hi.append(q[1])
    ax.plot(shown, means, "o-", color=colour, label=name, lw=1.5, ms=3)
    ax.fill_between(shown, lo, hi, color=colour, alpha=0.18, lw=0)


def plot_local(table: CountTable, *, radius: float | None = None, figsize=None, dpi: float = 100.0):
    """Draw the counts of a study (see the module docstring for the panels).

    Parameters
    ----------
    table : CountTable
        From :func:`polyregions.local_counts` or :func:`polyregions.line_counts` (or
        ``CountTable.load``).
    radius : float, optional
        The radius of the distribution panel (default the largest of the table).
    figsize : (float, float), optional
        Inches (default 5 per panel by 4).
    dpi : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(table, CountTable):
        raise InvalidInputError(f"`table` must be a CountTable, got {type(table).__name__}")
    if len(table) == 0:
        raise InvalidInputError("`table` holds no counts")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UnsupportedError("pictures need matplotlib: pip install 'polyregions[plot]'") from None
    balls = table.kind == "ball"
    value = "count" if balls else "per_length"
    what = "regions in the ball" if balls else "regions per unit length"
    radii = np.unique(table["radius"]) if balls else np.array([])
    if balls:
        r = radii.max() if radius is None else positive_number(radius, "radius")
        if r not in radii:
            raise InvalidInputError(f"`radius` {r:g} is not a radius of the table ({', '.join(f'{v:g}' for v in radii)})")
        at = table["radius"] == r
    else:
        at = np.ones(len(table), bool)
    steps = np.unique(table["step"])
    panels = ["labels"] + (["radius"] if len(radii) > 1 else []) + (["step"] if len(steps) > 1 else [])
    fig = Figure(figsize=figsize or (5.0 * len(panels), 4.0), dpi=dpi)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    groups = _groups(table)
    last_step = table["step"] == steps.max()
    for ax, panel in zip(axes, panels):
        if panel == "labels":
            masks = [m & at & last_step for _, m in groups]
            data = [table[value][m].astype(float) for m in masks]
            box = ax.boxplot(data, patch_artist=True, showfliers=False, widths=0.6)
            for patch, (name, _) in zip(box["boxes"], groups):
                patch.set_facecolor(label_color(name))
            rng = np.random.default_rng(0)
            for k, (d, (name, _)) in enumerate(zip(data, groups)):
                ax.plot(k + 1 + rng.uniform(-0.18, 0.18, len(d)), d, ".", color="k", ms=2, alpha=0.4)
            ax.set_xticks(range(1, len(groups) + 1), [g for g, _ in groups])
            ax.set_xlabel("label")
            _log_if_positive(ax, np.concatenate(data))
            where = f"radius {r:g}" if balls else "segments"
            ax.set_title(f"{what}, {where}" + (f", step {steps.max():g}" if len(steps) > 1 else "")
                         + _incomplete_note(table, at & last_step), fontsize=9)
            ax.set_ylabel(what)
        elif panel == "radius":
            for name, m in groups:
                _quartile_band(ax, radii, table, value,
                               [(rv, m & last_step & (table["radius"] == rv)) for rv in radii], label_color(name), name)
            ax.set_xscale("log")
            _log_if_positive(ax, table[value][last_step].astype(float))
            ax.set_xlabel("radius")
            ax.set_ylabel(f"{what} (mean, quartile band)")
            ax.set_title("counts against radius" + _incomplete_note(table, last_step), fontsize=9)
            ax.legend(fontsize=7, title="label" if "label" in table else None, title_fontsize=7)
        else:
            series = [(f"r = {rv:g}", table["radius"] == rv) for rv in radii] if balls else [("all", at)]
            for name, m in series:
                _quartile_band(ax, steps, table, value, [(s, m & (table["step"] == s)) for s in steps],
                               label_color(name), name)
            _log_if_positive(ax, table[value].astype(float))
            ax.set_xlabel("training step")
            ax.set_ylabel(f"{what} (mean, quartile band)")
            ax.set_title("local complexity along training" + _incomplete_note(table, np.ones(len(table), bool)),
                         fontsize=9)
            ax.legend(fontsize=7)
    p = table.meta.get("p")
    if balls and p is not None:
        fig.suptitle(f"exact regions in L{'-inf' if p == float('inf') else int(p)} balls around "
                     f"{len(np.unique(table['point'])):,} points, {len(steps)} network{'s' * (len(steps) > 1)}", fontsize=10)
    fig.tight_layout()
    return fig
