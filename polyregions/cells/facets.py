"""The facets of a region in any dimension, the patterns across them, and the adjacency graph.

A region with pattern ``sigma`` is the polyhedron of its neurons' rows (``z_j >= 0`` for an on
neuron, ``z_j <= 0`` for an off one, every ``z_j`` affine there) and the domain's rows. Its
**facets** are the rows that hold a face of dimension ``n - 1``: found by one LP per row
(:mod:`polyregions.solvers.facet_lp`, the largest ball of the row's hyperplane inside the
others), kept when that ball's radius exceeds ``eps`` (the counting rule one dimension
down). Rows that coincide (two neurons, or a neuron and a domain row, on one hyperplane:
rows within :data:`DUPLICATE_RTOL`) make one facet together; a neuron whose map vanishes on
the region (all of its inputs off) has no row.

**The pattern across a facet.** At a point ``x0`` of the facet's relative interior, the
neurons that vanish are those of the facet and those identically zero on the region; every
other neuron keeps its sign across (it is continuous and not zero there). A vanishing neuron
``j`` takes, on the other side, the sign of its pre-activation a step along the outward
normal ``u``: ``z'_j(x0 + delta u) = delta g'_j . u``, with ``g'_j`` its gradient under the new
pattern of the earlier layers; so the new pattern is built layer by layer, ``j`` on when
``g'_j . u > 0`` (beyond :data:`polyregions.cells.polygon.ZERO_RTOL` times the size of the
terms), off otherwise. This is exact in the degenerate cases too: a second-layer neuron that
is identically zero on one side and switches on across the first layer's hyperplane, or two
coincident neurons that switch together.

:func:`adjacency` runs the search and joins every region to the regions across its facets:
a ``networkx`` graph.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.slices import check_layers
from ..errors import InvalidInputError, UnsupportedError
from ..solvers.registry import BOX_PAD, UNBOUNDED_RADIUS_CAP, facet_lp, polyhedron_support
from .polygon import ZERO_RTOL
from .ternary import CellMaps

__all__ = ["DUPLICATE_RTOL", "FACET_EPS", "L1_ROWS_MAX_DIM", "Facet", "RegionRows", "adjacency", "region_facets",
           "region_rows"]

log = logging.getLogger(__name__)

#: Default ``eps`` (input units): a facet holds a ball of its hyperplane of this radius.
FACET_EPS = 1e-9
#: Two unit rows ``(a, b)``, ``(a', b')`` are one hyperplane (and side) when
#: ``|a - a'|_inf <= DUPLICATE_RTOL`` and ``|b - b'| <= DUPLICATE_RTOL (1 + max(|b|, |b'|))``.
DUPLICATE_RTOL = 1e-12
#: The L1 ball's ``2^n`` rows are listed up to this dimension.
L1_ROWS_MAX_DIM = 12


@dataclass(frozen=True)
class Facet:
    """One facet of a region.

    ``neurons``: the neurons whose hyperplane holds it (pattern indices; more than one when
    hyperplanes coincide); ``domain_rows``: the domain rows that hold it (indices into
    ``domain.rows()``, or the slice's rows ``R^-1 y <= hi``, ``-R^-1 y <= -lo``);
    ``point``: the centre of the largest ball of the facet's hyperplane inside the facet
    (input coordinates); ``radius``: that ball's radius (capped at 1 on unbounded domains);
    ``normal``: the outward unit normal (local coordinates: the input space, or the slice's
    orthonormal coordinates); ``neighbour``: the pattern across (bit-packed), None on the
    domain's boundary.
    """

    neurons: tuple
    domain_rows: tuple
    point: np.ndarray
    radius: float
    normal: np.ndarray
    neighbour: np.ndarray | None


@dataclass(frozen=True)
class RegionRows:
    """A region as rows ``A y <= b`` (unit normals) in local coordinates ``y`` (the input, or a
    slice's orthonormal coordinates ``x = origin + Q y``): ``labels[k] >= 0`` names the neuron
    of row ``k``, ``-1 - r`` the domain row ``r``; ``zero``: the neurons identically zero on
    the region; ``t_cap``: the cap on radii (unbounded domains), or None; ``frame``: the domain's
    working frame ``(origin, Q, R, p0)`` (``x = origin + Q y``, ``y = R (p - p0)``)."""

    A: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    zero: np.ndarray
    t_cap: float | None
    frame: tuple


def _domain_rows(domain):
    """The domain's rows in its frame's coordinates (:meth:`~polyregions.domains.base.Domain.frame_rows`:
    none for the whole space or an unbounded slice), or UnsupportedError for a domain without
    (listable) rows."""
    if domain.norm == 2 and domain.dim > 1:
        raise UnsupportedError("`domain`: an L2 ball has no rows (its boundary is curved); take a box, an "
                               "L-inf or L1 ball or a polytope")
    if domain.norm == 1 and domain.dim > L1_ROWS_MAX_DIM:
        raise UnsupportedError(f"`domain`: an L1 ball in {domain.dim} dimensions has 2^{domain.dim} rows "
                               f"(listed up to {L1_ROWS_MAX_DIM} dimensions)")
    return domain.frame_rows()


def _bits_of(region, n_bits):
    if hasattr(region, "bits") and hasattr(region, "n_bits"):
        bits = np.asarray(region.bits, dtype=bool)
    else:
        bits = np.asarray(region)
        if bits.dtype != bool and not np.all((bits == 0) | (bits == 1)):
            raise InvalidInputError("`region` must be a Region or a boolean pattern (one bit per neuron)")
        bits = bits.astype(bool)
    if bits.ndim != 1 or bits.size != n_bits:
        raise InvalidInputError(f"`region` must have {n_bits} pattern bits (one per neuron), got {bits.size}")
    return bits


def region_rows(net, domain, region) -> RegionRows:
    """The rows of `region` (a Region or a boolean pattern) in `domain` (module docstring)."""
    net_and_domain(net, domain)
    check_layers(net)
    bits = _bits_of(region, net.num_neurons)
    origin, Q, R, p0 = domain.working_frame()
    dA, db = _domain_rows(domain)
    maps = CellMaps(net, origin, Q, bits[None, :])
    A = np.concatenate([m[:, 0, :-1] for m in maps.maps])
    c = np.concatenate([m[:, 0, -1] for m in maps.maps])
    S = np.concatenate([s[:, 0, :-1] for s in maps.sizes])
    Sc = np.concatenate([s[:, 0, -1] for s in maps.sizes])
    flat = np.abs(A).sum(axis=1) <= ZERO_RTOL * S.sum(axis=1)
    zero = flat & (np.abs(c) <= ZERO_RTOL * (Sc + S.sum(axis=1)))
    sign = np.where(bits, -1.0, 1.0)  # on: -z <= 0; off: z <= 0
    live = np.flatnonzero(~flat)
    rowsA = sign[live, None] * A[live]
    rowsb = -sign[live] * c[live]
    norms = np.linalg.norm(rowsA, axis=1)
    rowsA, rowsb = rowsA / norms[:, None], rowsb / norms
    labels = np.concatenate([live, -1 - np.arange(len(db))])
    t_cap = None if domain.bounded else UNBOUNDED_RADIUS_CAP
    return RegionRows(np.vstack([rowsA, dA]), np.concatenate([rowsb, db]), labels, np.flatnonzero(zero), t_cap,
                      (origin, Q, R, p0))


def _coincident(A, b):
    """Groups of rows on one hyperplane and side (:data:`DUPLICATE_RTOL`): ``group[k]`` is the
    smallest row index of row ``k``'s group."""
    m = len(b)
    group = np.arange(m)
    for i in range(m):
        if group[i] != i:
            continue
        same = (np.max(np.abs(A[i + 1 :] - A[i]), axis=1, initial=0.0) <= DUPLICATE_RTOL) & \
               (np.abs(b[i + 1 :] - b[i]) <= DUPLICATE_RTOL * (1.0 + np.maximum(abs(b[i]), np.abs(b[i + 1 :]))))
        group[i + 1 :][same & (group[i + 1 :] == np.arange(i + 1, m))] = i
    return group


def neighbour_bits(net, frame, bits, vanishing, normal) -> np.ndarray:
    """The pattern across a facet: `bits` with the neurons in `vanishing` (those zero on the
    facet) decided layer by layer by the sign of ``g'_j . normal`` (module docstring)."""
    origin, Q = frame[:2]
    new = bits.copy()
    vanishing = np.asarray(vanishing, dtype=np.int64)
    W, _ = net.hidden[0]
    G = np.asarray(W @ Q, dtype=np.float64)
    Gs = np.asarray(abs(W) @ np.abs(Q), dtype=np.float64)
    au = np.abs(normal)
    offset = 0
    for l, (W, _) in enumerate(net.hidden):
        if l:
            on = new[offset - G.shape[0] : offset, None]
            G = np.asarray(W @ np.where(on, G, 0.0), dtype=np.float64)
            Gs = np.asarray(abs(W) @ np.where(on, Gs, 0.0), dtype=np.float64)
        n = G.shape[0]
        here = vanishing[(vanishing >= offset) & (vanishing < offset + n)] - offset
        slope = G[here] @ normal
        new[offset + here] = slope > ZERO_RTOL * (Gs[here] @ au)
        offset += n
    return new


def _candidates(A, b, rows):
    """The rows whose hyperplane meets the region's bounding box (the others cannot hold a
    facet). The box costs ``2 n`` support LPs, so it is computed only when that is fewer
    than half the rows; it is widened outwards (:data:`polyregions.solvers.registry.BOX_PAD`)."""
    n = A.shape[1]
    if 4 * n >= len(rows):
        return rows
    support = polyhedron_support(A, b, BOX_PAD)
    eye = np.eye(n)
    hi = np.array([support(e) for e in eye])
    lo = -np.array([support(-e) for e in eye])
    if not (np.all(np.isfinite(hi)) and np.all(np.isfinite(lo))):
        return rows
    centre, half = (hi + lo) / 2, (hi - lo) / 2
    top = A[rows] @ centre + np.abs(A[rows]) @ half  # max of a_k . x over the box
    return rows[top >= b[rows] - BOX_PAD * (1.0 + np.abs(b[rows]))]


def region_facets(net, domain, region, *, eps: float = FACET_EPS) -> list:
    """The facets of `region` in `domain`, and the pattern across each.

    Parameters
    ----------
    net : Network
        A ReLU network (dense or convolutional layers).
    domain : Box, Ball (p = inf; p = 1 up to :data:`L1_ROWS_MAX_DIM` inputs), Polytope, Whole, Line, Plane
    region : Region or array of bool
        A region of `net` in `domain` (``enumerate_regions``) or its pattern.
    eps : float
        A facet counts when it holds a ball of radius `eps` of its hyperplane.

    Returns
    -------
    list of Facet
        Non-redundant, one per hyperplane (coinciding rows together).
    """
    eps = positive_number(eps, "eps")
    rows = region_rows(net, domain, region)
    bits = _bits_of(region, net.num_neurons)
    A, b, labels = rows.A, rows.b, rows.labels
    group = _coincident(A, b)
    lp = facet_lp(A, b, rows.t_cap)
    origin, Q = rows.frame[:2]
    out = []
    for i in _candidates(A, b, np.unique(group)):
        members = np.flatnonzero(group == i)
        t, y = lp.radius(i, members, eps)
        if not t > eps:
            continue
        neurons = tuple(int(k) for k in labels[members] if k >= 0)
        domain_rows = tuple(int(-1 - k) for k in labels[members] if k < 0)
        across = None
        if not domain_rows:
            vanishing = np.union1d(np.array(neurons, dtype=np.int64), rows.zero)
            across = np.packbits(neighbour_bits(net, rows.frame, bits, vanishing, A[i]))
        out.append(Facet(neurons, domain_rows, origin + Q @ y, float(t), A[i].copy(), across))
    return out


def adjacency(net, domain, *, eps: float = FACET_EPS, backend: str = "auto"):
    """The regions of `net` in `domain` as a ``networkx.Graph``, adjacent across facets.

    The regions come from the search (``enumerate_regions(..., method="dfs")``); each region's
    facets and the patterns across them from :func:`region_facets`.

    Returns
    -------
    networkx.Graph
        Nodes ``0 .. count - 1`` in the search's order, with attributes ``pattern`` (packed
        bytes), ``point`` and ``facets`` (the number of its facets; those on the domain's
        boundary included); an edge per shared facet with ``neurons`` (the neurons whose
        state differs across it). ``graph.graph["missing"]``: patterns across a facet that
        the search did not count (a region thinner than `eps`), 0 when the partition is complete.
    """
    from ..api import enumerate_regions
    from .complex import networkx_module

    nx = networkx_module()
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    regions = list(enumerate_regions(net, domain, eps=eps, backend=backend, method="dfs"))
    index = {r.pattern.tobytes(): k for k, r in enumerate(regions)}
    g = nx.Graph()
    g.graph["missing"] = 0
    for k, r in enumerate(regions):
        g.add_node(k, pattern=r.pattern.tobytes(), point=r.point)
    for k, r in enumerate(regions):
        facets = region_facets(net, domain, r, eps=eps)
        g.nodes[k]["facets"] = len(facets)
        for f in facets:
            if f.neighbour is None:
                continue
            other = index.get(f.neighbour.tobytes())
            if other is None:
                g.graph["missing"] += 1
                log.info("region %d: the pattern across its facet on neurons %s was not counted", k, f.neurons)
                continue
            if other != k:
                flipped = np.flatnonzero(r.bits != np.unpackbits(f.neighbour, count=r.n_bits).astype(bool))
                g.add_edge(k, other, neurons=tuple(flipped.tolist()))
    return g

