"""Pictures of partitions along lines and across planes (matplotlib, an optional extra).

:func:`plot_partition` draws a plane (or a 2-D input domain) as its regions, each filled
with :func:`region_color` of its pattern (a hash: the same colour on every run and
machine), with the region edges, optionally the decision boundary of a classifier output
and data points; a line as the network's outputs or one layer's pre-activations along it
(exact: they are affine between breakpoints), with the breakpoints marked and the
regions' colours behind. matplotlib is imported only here, when a picture is drawn:
``pip install 'polyregions[plot]'``.
"""

from __future__ import annotations

import colorsys
import hashlib

import numpy as np

from .._validate import figure_size, net_and_domain, positive_number
from ..domains.slices import Line, Slice, check_layers
from ..errors import InvalidInputError, UnsupportedError
from .planar import enumerate_planar, unsupported_reason

__all__ = ["plot_partition", "region_color"]

#: Default eps of the pictures (input units): slivers thinner than this are not drawn.
PLOT_EPS = 1e-9


def region_color(pattern) -> tuple:
    """The RGB colour (floats in [0, 1]) of a region: a BLAKE2b hash of its bit-packed
    pattern (``Region.pattern``) read as hue, saturation and value."""
    digest = hashlib.blake2b(np.asarray(pattern, dtype=np.uint8).tobytes(), digest_size=4).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    sat = 0.35 + 0.4 * digest[2] / 255.0
    val = 0.70 + 0.25 * digest[3] / 255.0
    return colorsys.hsv_to_rgb(hue, sat, val)


def _figure(ax, figsize, dpi):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UnsupportedError("pictures need matplotlib: pip install 'polyregions[plot]'") from None
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.add_subplot()


def plot_partition(net, domain, ax=None, *, eps: float = PLOT_EPS, edges: bool = True,
                   decision_boundary: bool = False, points=None, labels=None, layer: int | None = None,
                   figsize=(6.0, 6.0), dpi: float = 100.0):
    """Draw the activation regions of `net` on a plane or along a line.

    Parameters
    ----------
    net : Network
    domain : Plane, Line, or a bounded 2-D / 1-D domain the planar algorithm serves
        Planes are drawn in their slice coordinates ``(s, t)``, lines against ``s``.
    ax : matplotlib Axes, optional
        Draw there; by default a new Figure of `figsize` inches at `dpi`.
    eps : float
        Regions holding a disc (segment) of this radius are drawn (input units).
    edges : bool
        Outline every region.
    decision_boundary : bool
        Plane: draw where the argmax of the output changes (a single output: its sign),
        exactly (the outputs are affine on each region).
    points, labels : arrays, optional
        Input points (N, n) drawn at their projection onto the plane (or along the line),
        coloured by `labels`.
    layer : int, optional
        Line: plot this hidden layer's pre-activations (0-based) instead of the output (the
        last hidden layer's activations when the network has no output layer).

    Returns
    -------
    matplotlib.figure.Figure
    """
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    dpi = positive_number(dpi, "dpi")
    figsize = figure_size(figsize)
    reason = unsupported_reason(domain)
    if reason is not None:
        raise UnsupportedError(f"cannot draw this domain: {reason}")
    check_layers(net)
    fig, ax = _figure(ax, figsize, dpi)
    regions = list(enumerate_planar(net, domain, eps=eps))
    one_d = isinstance(domain, Line) or (not isinstance(domain, Slice) and domain.dim == 1)
    if one_d:
        _draw_line(ax, net, domain, regions, layer, points, labels)
    else:
        if layer is not None:
            raise InvalidInputError("`layer` applies to lines only")
        _draw_plane(ax, net, domain, regions, edges, decision_boundary, points, labels)
    return fig


def _to_slice(domain, x):
    return domain.to_slice(x) if isinstance(domain, Slice) else np.atleast_2d(x)


def _draw_plane(ax, net, domain, regions, edges, decision_boundary, points, labels):
    from matplotlib.collections import LineCollection, PolyCollection

    polys = [r.vertices for r in regions]
    colors = [region_color(r.pattern) for r in regions]
    ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors="0.15" if edges else colors,
                                     linewidths=0.3 if edges else 0.0, antialiased=edges))
    allv = np.concatenate(polys) if polys else np.zeros((1, 2))
    ax.set_xlim(allv[:, 0].min(), allv[:, 0].max())
    ax.set_ylim(allv[:, 1].min(), allv[:, 1].max())
    if decision_boundary:
        if net.output is None:
            raise InvalidInputError("`decision_boundary` needs a network with an output layer")
        segments = [s for r in regions for s in _argmax_segments(r)]
        if segments:
            ax.add_collection(LineCollection(segments, colors="k", linewidths=1.5))
    if points is not None:
        p = _to_slice(domain, _points(points, net.input_dim))
        colour = {"c": "k"} if labels is None else {"c": np.asarray(labels), "cmap": "tab10"}
        ax.scatter(p[:, 0], p[:, 1], s=12, edgecolors="k", linewidths=0.4, zorder=3, **colour)
    ax.set_xlabel("s" if isinstance(domain, Slice) else "x_0")
    ax.set_ylabel("t" if isinstance(domain, Slice) else "x_1")


def _points(points, n):
    x = np.atleast_2d(np.asarray(points, dtype=float))
    if x.ndim != 2 or x.shape[1] != n or not np.all(np.isfinite(x)):
        raise InvalidInputError(f"`points` must be finite, of shape (N, {n})")
    return x


def _argmax_segments(region):
    """The decision boundary inside one region: edges between the cells of the polygon where
    each class's (affine) logit is the largest."""
    A, c = region.slice_affine_map()
    if A.shape[0] == 1:  # one logit: its sign
        A, c = np.vstack([np.zeros_like(A), A]), np.concatenate([[0.0], c])
    V = region.vertices
    top = np.argmax(V @ A.T + c, axis=1)
    if np.all(top == top[0]):
        return []  # the set where one class wins is convex: it holds the whole polygon
    segments = []
    for k in np.unique(top):
        cell = V
        for i in range(A.shape[0]):
            if i != k and len(cell):
                cell = _clip(cell, A[i] - A[k], c[k] - c[i])  # f_i <= f_k
        if len(cell) < 2:
            continue
        for a, b in zip(cell, np.roll(cell, -1, axis=0)):
            mid = (a + b) / 2
            vals = A @ mid + c
            rest = np.delete(vals, k)
            if rest.size and np.isclose(rest.max(), vals[k], rtol=1e-9, atol=1e-12):
                segments.append([a, b])
    return segments


def _clip(poly, a, b):
    """The convex polygon ``poly`` cut to ``a . p <= b``."""
    out = []
    s = poly @ a - b
    for i in range(len(poly)):
        j = (i + 1) % len(poly)
        if s[i] <= 0:
            out.append(poly[i])
        if (s[i] < 0 < s[j]) or (s[j] < 0 < s[i]):
            out.append(poly[i] + s[i] / (s[i] - s[j]) * (poly[j] - poly[i]))
    return np.array(out).reshape(-1, 2)


def _draw_line(ax, net, domain, regions, layer, points, labels):
    ends = np.unique(np.concatenate([r.vertices[:, 0] for r in regions])) if regions else np.zeros(0)
    for r in regions:
        ax.axvspan(r.vertices[0, 0], r.vertices[1, 0], color=region_color(r.pattern), alpha=0.35, lw=0)
    x = domain.to_input(ends[:, None]) if isinstance(domain, Slice) else ends[:, None]
    if layer is None:
        values, what = np.atleast_2d(net.forward(x)), "output" if net.output is not None else "last hidden layer"
    else:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < len(net.hidden):
            raise InvalidInputError(f"`layer` must be a hidden layer index in [0, {len(net.hidden)}), got {layer!r}")
        values, what = np.atleast_2d(net.preactivations(x)[layer]), f"pre-activations of hidden layer {layer}"
    ax.plot(ends, values, lw=1.0)
    if layer is not None:
        ax.axhline(0.0, color="k", lw=0.6)
    for e in ends:
        ax.axvline(e, color="0.4", lw=0.3)
    ax.plot(ends, np.full(len(ends), values.min()), "|", color="k", ms=8)
    if points is not None:
        p = _to_slice(domain, _points(points, net.input_dim))[:, 0]
        colour = {"c": "k"} if labels is None else {"c": np.asarray(labels), "cmap": "tab10"}
        ax.scatter(p, np.full(len(p), values.min()), s=14, zorder=3, **colour)
    ax.set_xlabel("s" if isinstance(domain, Slice) else "x_0")
    ax.set_ylabel(what)
    ax.set_xlim(ends.min(), ends.max()) if len(ends) else None
