"""Pictures of 3-D partitions and level sets (matplotlib's 3-D axes, an optional extra).

:func:`plot_cells3d` draws the cells of a 3-D domain or :class:`~polyregions.domains.convex.Volume`
coloured by :func:`polyregions.cells.plot.region_color` of their patterns (the colours of the
2-D pictures): either the domain's surface, each boundary face in its cell's colour (what
the partition looks like from outside), or every cell shrunk towards its centre so that the
inside shows. :func:`plot_level_set` draws the level-set mesh of a scalar output
(:mod:`polyregions.cells.mesh`), each triangle in its cell's colour. Coordinates are the
domain's (the input, or a volume's ``(s, t, w)``). ``pip install 'polyregions[plot]'``.
"""

from __future__ import annotations

import numpy as np

from .._validate import figure_size, net_and_domain, positive_number
from ..errors import InvalidInputError, UnsupportedError
from .complex import COMPLEX_EPS, PolyhedralComplex, polyhedral_complex
from .mesh import level_set
from .plot import region_color

__all__ = ["plot_cells3d", "plot_level_set"]


def _axes3d(ax, figsize, dpi):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UnsupportedError("pictures need matplotlib: pip install 'polyregions[plot]'") from None
    dpi = positive_number(dpi, "dpi")
    figsize = figure_size(figsize)
    if ax is not None:
        if getattr(ax, "name", None) != "3d":
            raise InvalidInputError("`ax` must be a 3-D Axes (projection='3d')")
        return ax.figure, ax
    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.add_subplot(projection="3d")


def _complex3d(net, domain, eps, cx):
    net_and_domain(net, domain)
    if cx is None:
        cx = polyhedral_complex(net, domain, eps=positive_number(eps, "eps"))
    elif not isinstance(cx, PolyhedralComplex):
        raise InvalidInputError(f"`complex` must be a PolyhedralComplex, got {type(cx).__name__}")
    if cx.dim != 3:
        raise UnsupportedError(f"`domain` is {cx.dim}-dimensional: draw it with plot_partition")
    return cx


def _frame_axes(ax, points, labels):
    lo, hi = points.min(axis=0), points.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(tuple(np.maximum(hi - lo, 1e-12 * (1.0 + np.abs(hi)))))
    for setter, label in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), labels):
        setter(label)


def plot_cells3d(net, domain, ax=None, *, eps: float = COMPLEX_EPS, surface: bool = True, shrink: float = 0.8,
                 edges: bool = True, complex: PolyhedralComplex | None = None, figsize=(6.0, 6.0),
                 dpi: float = 100.0, elev: float = 25.0, azim: float = -60.0):
    """Draw the regions of `net` on a 3-D domain, coloured by pattern.

    Parameters
    ----------
    net : Network
    domain : a 3-D domain or Volume the 3-D cell splitting serves
    ax : a matplotlib 3-D Axes, optional
    eps : float
        Cells holding a ball of this radius are drawn (ignored when `complex` is given).
    surface : bool
        True: the domain's boundary faces, each in its cell's colour; False: every cell,
        shrunk towards its centre by `shrink` (in (0, 1]).
    edges : bool
        Outline the faces.
    complex : PolyhedralComplex, optional
        The complex of `net` on `domain`, if already computed.
    elev, azim : float
        The view (degrees).

    Returns
    -------
    matplotlib.figure.Figure
    """
    shrink = positive_number(shrink, "shrink")
    if shrink > 1:
        raise InvalidInputError(f"`shrink` must be in (0, 1], got {shrink!r}")
    cx = _complex3d(net, domain, eps, complex)
    fig, ax = _axes3d(ax, figsize, dpi)
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    faces = cx.faces[2]
    polys, colors = [], []
    if surface:
        for f in range(len(faces)):
            if faces.rows[f].any():
                polys.append(cx.points[faces.vertices[f]])
                colors.append(region_color(np.packbits(cx.bits[faces.cells[f][0]])))
    else:
        facets = cx.incidence(2)
        cell_vertices = cx.faces[3].vertices
        for c in range(cx.num_cells):
            centre = cx.points[cell_vertices[c]].mean(axis=0)
            colour = region_color(np.packbits(cx.bits[c]))
            for f in facets[c]:
                polys.append(centre + shrink * (cx.points[faces.vertices[f]] - centre))
                colors.append(colour)
    ax.add_collection3d(Poly3DCollection(polys, facecolors=colors, edgecolors="0.2" if edges else colors,
                                         linewidths=0.2 if edges else 0.0))
    _frame_axes(ax, cx.points, _labels(domain))
    ax.view_init(elev=elev, azim=azim)
    return fig


def _labels(domain):
    from ..domains.slices import Slice

    return ("s", "t", "w") if isinstance(domain, Slice) else ("x_0", "x_1", "x_2")


def plot_level_set(net, domain, ax=None, *, level: float = 0.0, eps: float = COMPLEX_EPS,
                   complex: PolyhedralComplex | None = None, figsize=(6.0, 6.0), dpi: float = 100.0,
                   elev: float = 25.0, azim: float = -60.0):
    """Draw the level set ``f = level`` of `net`'s scalar output on a 3-D domain as its exact
    triangle mesh (:func:`polyregions.cells.mesh.level_set`), each triangle in the colour of its
    cell's pattern.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cx = _complex3d(net, domain, eps, complex)
    mesh = level_set(net, domain, level=level, complex=cx)
    fig, ax = _axes3d(ax, figsize, dpi)
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    colors = [region_color(np.packbits(cx.bits[c])) for c in mesh.cells]
    ax.add_collection3d(Poly3DCollection(mesh.vertices[mesh.faces], facecolors=colors, edgecolors="0.3",
                                         linewidths=0.1))
    _frame_axes(ax, cx.points, _labels(domain))
    ax.view_init(elev=elev, azim=azim)
    return fig
