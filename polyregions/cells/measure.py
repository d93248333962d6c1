"""What researchers measure on lines and planes: boundary distances, densities, linear pieces.

* :func:`boundary_distances`: for points ``x``, the distance to the nearest boundary of
  their region, in the full input space and within a slice. The region of ``x`` is the
  polytope where every neuron keeps its state, ``z_j^sigma(x') = g_j . x' + c_j`` with the
  pattern's affine maps; the distance from an interior point to the boundary of a polytope
  is the smallest distance to one of its hyperplanes, ``min_j |z_j(x)| / |g_j|`` over the
  neurons whose gradient ``g_j`` is not zero (Hanin & Rolnick's measurement). Within a slice
  ``x = origin + U p`` the gradients are ``Q^T g_j`` (``U = Q R``), the distance is measured in
  the plane (line) through ``x`` parallel to the slice, and the slice's own edges are not
  region boundaries.
* :func:`regions_per_length`: regions met by a segment per unit of input-space length.
* :func:`linear_pieces`: adjacent regions whose network maps on the slice agree (to
  :data:`PIECE_RTOL`) merged into pieces.
"""

from __future__ import annotations

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.slices import Line, Slice
from ..errors import InvalidInputError
from ..model.network import Network
from .planar import check_planar, enumerate_planar

__all__ = ["PIECE_RTOL", "boundary_distances", "count_pieces", "linear_pieces", "regions_per_length"]

#: Two affine maps ``(A1, c1)``, ``(A2, c2)`` agree when every entry of ``A1 - A2`` and
#: ``c1 - c2`` is at most this fraction of the largest entry of the four (rounding in the
#: products of the layers' maps stays far below it; a real difference far above).
PIECE_RTOL = 1e-9


def boundary_distances(net: Network, points, domain: Slice | None = None):
    """Distance from each point to the nearest boundary of its activation region.

    Parameters
    ----------
    net : Network
    points : array of shape (N, n) or (n,)
        Input points.
    domain : Line or Plane, optional
        Also measure within the slice (see the module docstring).

    Returns
    -------
    full : ndarray of shape (N,)
        Distances in the input space (inf when no neuron depends on the input).
    along : ndarray of shape (N,) or None
        Distances within the slice (None without `domain`).
    """
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregions.Network, got {type(net).__name__}")
    if domain is not None and not isinstance(domain, Slice):
        raise InvalidInputError(f"`domain` must be a Line or a Plane, got {type(domain).__name__}")
    x = np.asarray(points, dtype=float)
    if np.iscomplexobj(points) or not np.all(np.isfinite(x)):
        raise InvalidInputError("`points` must be finite real numbers")
    x = np.atleast_2d(x)
    if x.ndim != 2 or x.shape[1] != net.input_dim:
        raise InvalidInputError(f"`points` must have shape (N, {net.input_dim}), got {np.shape(points)}")
    Q = domain.frame()[1] if domain is not None else None
    full = np.empty(len(x))
    along = np.empty(len(x)) if domain is not None else None
    for i, xi in enumerate(x):
        full[i], a = _distances(net, xi, Q)
        if along is not None:
            along[i] = a
    return full, along


def _distances(net, x, Q):
    h = x
    J = None  # d h / d x, (n_l, n0)
    best_full, best_along = np.inf, np.inf
    for l, (W, b) in enumerate(net.hidden):
        z = np.asarray(W @ h) + b
        G = np.asarray(W if l == 0 else W @ J, dtype=np.float64)
        norms = np.linalg.norm(G, axis=1)
        live = norms > 0
        if np.any(live):
            best_full = min(best_full, float(np.min(np.abs(z[live]) / norms[live])))
        if Q is not None:
            GQ = np.linalg.norm(G @ Q, axis=1)
            live = GQ > 0
            if np.any(live):
                best_along = min(best_along, float(np.min(np.abs(z[live]) / GQ[live])))
        on = z > 0
        h = np.where(on, z, 0.0)
        J = G * on[:, None]
    return best_full, best_along


def regions_per_length(count, line: Line) -> float:
    """``count / |b - a|``: regions met per unit of input-space length along `line`."""
    if not isinstance(line, Line):
        raise InvalidInputError(f"`line` must be a polyregions.Line, got {type(line).__name__}")
    return float(int(count)) / line.length


def _agree(map1, map2, rtol):
    (A1, c1), (A2, c2) = map1, map2
    scale = max(np.abs(A1).max(initial=0), np.abs(A2).max(initial=0), np.abs(c1).max(initial=0),
                np.abs(c2).max(initial=0))
    return max(np.abs(A1 - A2).max(initial=0), np.abs(c1 - c2).max(initial=0)) <= rtol * scale


def linear_pieces(regions, *, rtol: float = PIECE_RTOL) -> np.ndarray:
    """Merge adjacent regions of a slice on which the network is one affine map.

    Parameters
    ----------
    regions : list of SliceRegion
        Every region of a line or a plane from ``enumerate_regions(..., method="planar")``
        (they carry their polygons or intervals).
    rtol : float
        Maps agree to this relative tolerance (:data:`PIECE_RTOL`).

    Returns
    -------
    ndarray of int
        The piece of each region, numbered from 0; ``piece.max() + 1`` pieces. Regions are
        adjacent when they share an edge of positive length across which exactly one neuron
        changes state (on a line: a common end point). Two regions separated only by a
        region thinner than ``eps`` (not counted) are not joined through it.
    """
    rtol = positive_number(rtol, "rtol")
    regions = list(regions)
    if any(getattr(r, "vertices", None) is None for r in regions):
        raise InvalidInputError("`regions` must carry their polygons: enumerate them with method='planar'")
    maps = [r.slice_affine_map() for r in regions]
    parent = list(range(len(regions)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        if _agree(maps[i], maps[j], rtol):
            parent[find(i)] = find(j)

    if regions and regions[0].vertices.shape[1] == 1:  # intervals: neighbours share an end
        order = np.argsort([r.vertices[0, 0] for r in regions])
        for i, j in zip(order[:-1], order[1:]):
            if regions[i].vertices[1, 0] == regions[j].vertices[0, 0]:
                join(i, j)
    else:
        index = {r.pattern.tobytes(): k for k, r in enumerate(regions)}
        for k, r in enumerate(regions):
            bits = r.bits
            for j in set(int(e) for e in r.edges if e >= 0):
                flipped = bits.copy()
                flipped[j] = not flipped[j]
                other = index.get(np.packbits(flipped).tobytes())
                if other is not None and other > k:
                    join(k, other)
    roots = [find(i) for i in range(len(regions))]
    _, piece = np.unique(roots, return_inverse=True)
    return piece.reshape(-1)


def count_pieces(net: Network, domain, *, eps: float, rtol: float = PIECE_RTOL):
    """``(regions, pieces)``: the activation regions of `net` on a line, a plane or a 1-D / 2-D
    domain (the planar algorithm) and the linear pieces they form (:func:`linear_pieces`)."""
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    check_planar(net, domain)
    regions = list(enumerate_planar(net, domain, eps=eps))
    pieces = linear_pieces(regions, rtol=rtol)
    return len(regions), int(pieces.max()) + 1 if len(regions) else 0
