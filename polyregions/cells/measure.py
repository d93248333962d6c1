"""What researchers measure on lines and planes: boundary distances, densities, linear pieces.

* :func:`boundary_distances`: for points ``x``, the distance to the nearest boundary of
  their region, in the full input space and within a slice. The region of ``x`` is the
  polytope where every neuron keeps its state, ``z_j^sigma(x') = g_j . x' + c_j`` with the
  pattern's affine maps; the distance from an interior point to the boundary of a polytope
  is the smallest distance to one of its hyperplanes, ``min_j |z_j(x)| / |g_j|`` over the
  neurons whose gradient ``g_j`` is not zero (Hanin & Rolnick's measurement); LeakyReLU,
  linear carries and max pooling are followed as the network computes them (:func:`_distances`). Within a slice
  ``x = origin + U p`` the gradients are ``Q^T g_j`` (``U = Q R``), the distance is measured in
  the plane (line) through ``x`` parallel to the slice, and the slice's own edges are not
  region boundaries.
* :func:`regions_per_length`: regions met by a segment per unit of input-space length.
* :func:`linear_pieces`: adjacent regions (sharing a facet, :data:`FACET_RTOL`) whose network
  maps on the slice agree (to :data:`PIECE_RTOL`) merged into pieces.
"""

from __future__ import annotations

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.slices import Line, Slice
from ..errors import InvalidInputError
from ..model.network import Network
from .planar import check_planar, enumerate_planar

__all__ = ["FACET_RTOL", "PIECE_RTOL", "boundary_distances", "count_pieces", "linear_pieces", "regions_per_length"]

#: Two affine maps ``(A1, c1)``, ``(A2, c2)`` agree when every entry of ``A1 - A2`` and
#: ``c1 - c2`` is at most this fraction of the largest entry of the four (rounding in the
#: products of the layers' maps stays far below it; a real difference far above).
PIECE_RTOL = 1e-9
#: Two polygon edges are one facet when each end of one lies within this fraction of the
#: coordinates' size of the other's line and they overlap along it by more than that
#: (their vertices are computed separately, to rounding).
FACET_RTOL = 1e-9


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
    """The distances of :func:`boundary_distances` at one point, stage by stage (:mod:`polyregions.model.lowering`).

    On the region of ``x`` stage ``l`` reads ``z = W h + b = G x' + c`` (``G = W J``, ``J`` the
    Jacobian of ``h``). An elementwise stage's pattern changes where a neuron with a bit
    changes sign (``|z_j| / |g_j|`` away) and passes ``h = beta z`` on, ``beta_j`` 1 where
    ``z_j > 0`` and its negative slope elsewhere (0 for ReLU, 1 for a carried linear neuron, which
    has no bit). A max-pooling window's pattern changes where another candidate reaches the
    winner's value (``(z_w - z_i) / |g_w - g_i|`` away); the stage passes the winners on.
    """
    h = x
    J = None  # d h / d x, (n_l, n0)
    best_full, best_along = np.inf, np.inf

    def nearest(values, grads):
        nonlocal best_full, best_along
        for norms, attr in ((np.linalg.norm(grads, axis=1), "full"),
                            (np.linalg.norm(grads @ Q, axis=1) if Q is not None else None, "along")):
            if norms is None:
                continue
            live = norms > 0
            if np.any(live):
                d = float(np.min(np.abs(values[live]) / norms[live]))
                if attr == "full":
                    best_full = min(best_full, d)
                else:
                    best_along = min(best_along, d)

    for stage in net.stages:
        W, b = stage.weight, stage.bias
        z = np.asarray(W @ h) + b
        G = np.asarray(W if J is None else W @ J, dtype=np.float64)
        if stage.pool:
            k = stage.pool
            zw, Gw = z.reshape(-1, k), G.reshape(-1, k, G.shape[1])
            win = np.argmax(zw, axis=1)  # the first maximum wins, as in the pattern
            rows = np.arange(len(win))
            gap = zw[rows, win][:, None] - zw
            dgrad = Gw[rows, win][:, None, :] - Gw
            others = np.ones(zw.shape, bool)
            others[rows, win] = False
            nearest(gap[others], dgrad[others])
            beta = np.zeros(zw.shape)
            beta[rows, win] = 1.0
            beta = beta.reshape(-1)
        else:
            split = stage.split
            nearest(z[split], G[split])
            beta = np.where(z > 0, 1.0, stage.slopes)
        h = beta * z
        J = G * beta[:, None]
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


def _shared_edges(regions):
    """Pairs ``(i, j)`` of polygons that share an edge of positive length.

    Two neighbours' common edge lies on the zero set of the neuron whose cut separated them,
    and both carry that neuron's label on it (a neuron whose zero set coincides with it, or
    more, may switch too); so only edges of equal label are compared: collinear (each end of
    one within :data:`FACET_RTOL` times the coordinates' size of the other's line) and
    overlapping along it by more than that.
    """
    by_label = {}
    for k, r in enumerate(regions):
        V = np.asarray(r.vertices, dtype=float)
        for e, label in enumerate(r.edges):
            if label >= 0:
                by_label.setdefault(int(label), []).append((k, V[e], V[(e + 1) % len(V)]))
    pairs = set()
    for group in by_label.values():
        owner = np.array([k for k, _, _ in group])
        P0 = np.array([p for _, p, _ in group])
        P1 = np.array([q for _, _, q in group])
        D = P1 - P0
        length = np.hypot(D[:, 0], D[:, 1])
        size = np.maximum(np.abs(P0).max(axis=1), np.abs(P1).max(axis=1)) + length
        step = max(1, 2**18 // len(group))  # a chunk of edges a against every edge b: |a| m pairs at once
        for a0 in range(0, len(group), step):
            a = np.arange(a0, min(a0 + step, len(group)))
            tol = FACET_RTOL * np.maximum(size[a][:, None], size[None, :])
            ends = np.stack([P0, P1])[:, None, :, :] - P0[a][None, :, None, :]  # (2, |a|, m, 2)
            unit = D[a] / np.where(length[a] > 0, length[a], 1.0)[:, None]
            off_line = np.abs(unit[None, :, None, 0] * ends[..., 1] - unit[None, :, None, 1] * ends[..., 0])
            along = np.einsum("eabk,ak->eab", ends, unit)
            overlap = np.minimum(length[a][:, None], along.max(axis=0)) - np.maximum(0.0, along.min(axis=0))
            hit = np.all(off_line <= tol, axis=0) & (overlap > tol) & (owner[a][:, None] != owner[None, :])
            hit &= (length[a] > 0)[:, None]
            for i, j in zip(*np.nonzero(hit)):
                pairs.add((min(owner[a[i]], owner[j]), max(owner[a[i]], owner[j])))
    return sorted(pairs)


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
        adjacent when they share an edge of positive length, whatever neurons change state
        across it (on a line: a common end point); a piece is a class of regions joined by
        adjacencies with agreeing maps. Two regions separated only by a region thinner than
        ``eps`` (not counted) are not joined through it.
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
        for i, j in _shared_edges(regions):
            join(i, j)
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
