"""A small two-dimensional count in one compiled call.

The planar algorithm (:mod:`polyregions.cells.planar`) refines a polygon layer by layer; between
two layers it multiplies the kept cells' maps by the next layer's weights with BLAS, in
batches, and the driver (:mod:`polyregions.driver`) checks its limits between them. On a
small network (a few hundred regions) that Python around the kernels costs more than the
kernels. :func:`count_small_planar` counts such a network in one compiled call,
:func:`count_cells`: the first layer in the domain's frame, every layer's splits
(:func:`polyregions.cells.polygon.split_cells_kernel`, the planar algorithm's own), the next
maps by plain loops, and the statistics the result reports (the number of cells, the smallest
inradius, near-eps decisions, cells made), with nothing else in Python but the checks.

The same cells are made as by the planar algorithm, by the same decisions; the maps of a layer
are the same sums of products, but summed over the live neurons in another order than BLAS
does (a difference of rounding, which the decisions' tolerances hold). It serves a count
without limits, progress reports or checkpoints (the driver's business), of a plain ReLU
network of at most :data:`SMALL_NEURONS` neurons and :data:`SMALL_WIDTH` per layer, on a
domain the planar algorithm serves in two dimensions; it answers None for anything else, and
for anything its kernel meets that the planar algorithm decides with an error or a refusal (a
first layer that overflows float64 on the domain, sizes beyond the rounding bounds), so that
the planar algorithm's own path says so in its words.

Preparation kept between counts: per network (immutable: a frozen dataclass whose layer arrays
are read-only copies; the preparation is made again should its layers be replaced) its layers
flattened for the kernel and its size bounds (:func:`polyregions.cells.size_range.size_growth`);
per domain object, while its numbers (:meth:`~polyregions.domains.base.Domain.key`: equal keys,
equal domains) stay the same, its frame and polygon. The kernel
checks the size bounds on the domain (a few products per neuron) at every count.
"""

from __future__ import annotations

import math
import time
import weakref

import numpy as np

from ..result import NEAR_EPS_FACTOR, RegionCount, Stats
from ..solvers.jit import compile_seconds, kernel
from .polygon import SCRATCH_ROWS_PER_NEURON, ZERO_RTOL, inradius, min_inradius, output_room, split_cells_kernel
from .size_range import SIZE_LIMIT, size_growth

__all__ = ["SMALL_NEURONS", "SMALL_WIDTH", "count_cells", "count_small_planar"]

#: The most neurons (all layers) of a network :func:`count_small_planar` serves: beyond, the
#: planar algorithm's BLAS products and batches pay for their Python.
SMALL_NEURONS = 128
#: The widest layer it serves (its loops multiply a cell's maps by the next layer's weights in
#: ``O(n_l n_{l+1})``, as BLAS does, but without BLAS's speed).
SMALL_WIDTH = 16


@kernel()
def count_cells(verts, W1, b1, origin, Q, weights, abs_weights, widths, size_M, size_c, size_limit, eps, near, rtol):
    """``(count, min_radius, near_eps, nodes, status)``: the regions of a ReLU network on a convex
    polygon, by the planar algorithm's rules (:mod:`polyregions.cells.planar`).

    ``verts`` (m, 2): the domain's polygon in its frame's coordinates ``y`` (counter-clockwise);
    ``x = origin + Q y``; ``W1`` (n_1, D), ``b1``: the first layer; ``weights``: the later layers
    ``l`` as ``W_l^T`` (n_{l-1}, n_l) then ``b_l``, flattened one after the other, ``abs_weights``
    their absolute values in float32 (the sizes of the terms); ``widths``: ``n_1 .. n_L``;
    ``(size_M, size_c)``: the network's size bounds
    (:func:`polyregions.cells.size_range.size_growth`). ``status`` 1: a size bound on the domain,
    ``max((M |Q|)_j, (M |origin| + c)_j)``, exceeds ``size_limit`` (or is NaN); 2: the first layer
    overflows float64 on the domain (nothing counted then). The polygon's edge lines are
    :func:`polyregions.domains.base.polygon_lines`'. The first layer in ``y`` is ``G = W1 Q``,
    ``c = W1 origin + b1`` with sizes ``|W1| |Q|``, ``|W1| |origin| + |b1|``; a later layer's maps
    are the kept cells' maps, their off neurons zeroed, times ``W_l^T``, plus ``b_l`` (and the
    same with absolute values, float32).
    """
    n1, D = W1.shape
    m = verts.shape[0]
    for j in range(size_M.shape[0]):
        s0 = 0.0
        s1 = 0.0
        sc = size_c[j]
        for d in range(D):
            s0 += size_M[j, d] * abs(Q[d, 0])
            s1 += size_M[j, d] * abs(Q[d, 1])
        for d in range(D):
            sc += size_M[j, d] * abs(origin[d])
        if not (s0 <= size_limit and s1 <= size_limit and sc <= size_limit):  # False with a NaN
            return 0, np.inf, 0, 0, 1
    lines = np.empty((m, 3))  # edge i: from vertex i to i + 1, unit outward normal (a_0, a_1), a . y <= beta
    for i in range(m):
        i1 = (i + 1) % m
        e0, e1 = verts[i1, 0] - verts[i, 0], verts[i1, 1] - verts[i, 1]
        length = math.hypot(e0, e1)
        lines[i, 0], lines[i, 1] = e1 / length, -e0 / length
        lines[i, 2] = lines[i, 0] * verts[i, 0] + lines[i, 1] * verts[i, 1]
    A = np.empty((1, 3, n1))
    S = np.empty((1, 3, n1), np.float32)
    for j in range(n1):
        g0 = 0.0
        g1 = 0.0
        c = 0.0
        s0 = 0.0
        s1 = 0.0
        sc = 0.0
        for d in range(D):
            w = W1[j, d]
            g0 += w * Q[d, 0]
            g1 += w * Q[d, 1]
            c += w * origin[d]
            s0 += abs(w) * abs(Q[d, 0])
            s1 += abs(w) * abs(Q[d, 1])
            sc += abs(w) * abs(origin[d])
        c += b1[j]
        if not (math.isfinite(g0) and math.isfinite(g1) and math.isfinite(c)):
            return 0, np.inf, 0, 0, 2
        A[0, 0, j], A[0, 1, j], A[0, 2, j] = g0, g1, c
        S[0, 0, j], S[0, 1, j], S[0, 2, j] = s0, s1, sc + abs(b1[j])
    if not inradius(lines, verts, 0, m)[0] > eps:
        return 0, np.inf, 0, 0, 0
    start = np.zeros(2, np.int64)
    start[1] = m
    labels = -1 - np.arange(m)
    near_eps = 0
    nodes = 0
    label_base = 0
    offset = 0
    L = widths.size
    for l in range(L):
        n = widths[l]
        largest = 0
        for k in range(start.size - 1):
            largest = max(largest, start[k + 1] - start[k])
        room = max(64, SCRATCH_ROWS_PER_NEURON * (n + 4) * (largest + 8))
        cell_room, vert_room = output_room(start.size - 1, n, verts.shape[0])
        while True:  # the split from the first cell, with more room while it lacks some
            (start2, verts2, lines2, labels2, parent, bits, st, _,
             short) = split_cells_kernel(start, verts, lines, labels, A, S, label_base, eps, near, rtol, 0, room,
                                         cell_room, vert_room)
            if short == 0:
                break
            if short == 1:
                room *= 4
            else:
                cell_room, vert_room = 4 * cell_room, 4 * vert_room
        start, verts, lines, labels = start2, verts2, lines2, labels2
        near_eps += st[0]
        nodes += st[2]
        label_base += n
        if l + 1 == L or parent.size == 0:
            break
        n2 = widths[l + 1]
        WT = weights[offset:offset + n * n2].reshape((n, n2))
        aWT = abs_weights[offset:offset + n * n2].reshape((n, n2))
        b = weights[offset + n * n2:offset + n * n2 + n2]
        ab = abs_weights[offset + n * n2:offset + n * n2 + n2]
        offset += n * n2 + n2
        K = parent.size
        A2 = np.zeros((K, 3, n2))
        S2 = np.zeros((K, 3, n2), np.float32)
        for k in range(K):
            p = parent[k]
            for r in range(3):
                for j in range(n):
                    if bits[k, j]:  # an off neuron passes nothing on
                        a = A[p, r, j]
                        s = S[p, r, j]
                        for i in range(n2):
                            A2[k, r, i] += a * WT[j, i]
                            S2[k, r, i] += s * aWT[j, i]
            for i in range(n2):
                A2[k, 2, i] += b[i]
                S2[k, 2, i] += ab[i]
        A, S = A2, S2
    count = start.size - 1
    return count, min_inradius(start, lines, verts) if count > 0 else np.inf, near_eps, nodes, 0


class _SmallNet:
    """A network's layers as :func:`count_cells` takes them, made once per network; ``small``:
    whether :func:`count_small_planar` serves it (only then are the layers made)."""

    def __init__(self, net):
        self.hidden = net.hidden
        self.widths = np.array([W.shape[0] for W, _ in net.hidden], np.int64)
        self.small = bool(self.widths.sum() <= SMALL_NEURONS and self.widths.max() <= SMALL_WIDTH)
        if not self.small:
            return
        M, self.size_c, _ = size_growth(net)
        self.size_M = np.ascontiguousarray(M)
        W1, b1 = net.hidden[0]
        self.W1, self.b1 = np.ascontiguousarray(W1, dtype=np.float64), np.ascontiguousarray(b1, dtype=np.float64)
        later = [part for W, b in net.hidden[1:] for part in (np.asarray(W, np.float64).T.ravel(), b)]
        self.weights = np.ascontiguousarray(np.concatenate(later) if later else np.zeros(0))
        with np.errstate(over="ignore"):  # beyond float32: refused by the size bounds before a count
            self.abs_weights = np.abs(self.weights).astype(np.float32)


#: Each network's :class:`_SmallNet`, dropped with the network.
_NETS = weakref.WeakKeyDictionary()

class _Domain2D:
    """A domain's frame and polygon (:func:`_domain`), or ``reason`` why the planar algorithm does
    not serve it in two dimensions."""

    def __init__(self, domain, fingerprint):
        self.fingerprint = fingerprint
        # the planar algorithm's conditions (:func:`polyregions.cells.planar.unsupported_reason`) in
        # two dimensions: a frame of two (a domain of two dimensions is its own frame, or a line's)
        self.reason = "not two-dimensional"
        if domain.dim != 2 and domain.frame()[1].shape[1] != 2:
            return
        self.frame = domain.working_frame()
        if self.frame[1].shape[1] != 2:
            return
        self.reason = domain.polyhedron_reason()
        if self.reason is None:
            origin, Q = self.frame[:2]
            self.origin, self.Q = np.ascontiguousarray(origin, np.float64), np.ascontiguousarray(Q, np.float64)
            self.verts = np.ascontiguousarray(domain.polygon(), dtype=np.float64)


_DOMAINS = weakref.WeakKeyDictionary()


def _fingerprint(domain):
    """The numbers of `domain` (its :meth:`~polyregions.domains.base.Domain.key`) as bytes."""
    return tuple((x.dtype.str, x.shape, x.tobytes()) if isinstance(x, np.ndarray) else x for x in domain.key())


def _domain(domain) -> _Domain2D:
    """The :class:`_Domain2D` of `domain`, kept while its numbers stay the same (a domain without
    a key is prepared anew at every count)."""
    try:
        fingerprint = _fingerprint(domain)
    except NotImplementedError:
        return _Domain2D(domain, None)
    prepared = _DOMAINS.get(domain)
    if prepared is None or prepared.fingerprint != fingerprint:
        prepared = _DOMAINS[domain] = _Domain2D(domain, fingerprint)
    return prepared


def count_small_planar(net, domain, eps: float) -> RegionCount | None:
    """The count of :func:`polyregions.cells.planar.count_planar` (no limits, no progress) in one
    compiled call (:func:`count_cells`), or None where this does not serve (module docstring):
    the caller then counts by the planar algorithm's own path. `net` is a plain ReLU network
    and `eps` a positive float (checked by the caller)."""
    small = _NETS.get(net)
    if small is None or small.hidden is not net.hidden:
        small = _NETS[net] = _SmallNet(net)
    if not small.small:
        return None
    dom = _domain(domain)
    if dom.reason is not None:
        return None
    t0, compiling0 = time.perf_counter(), compile_seconds()
    count, radius, near_eps, nodes, status = count_cells(
        dom.verts, small.W1, small.b1, dom.origin, dom.Q, small.weights, small.abs_weights, small.widths,
        small.size_M, small.size_c, SIZE_LIMIT, eps, NEAR_EPS_FACTOR, ZERO_RTOL)
    if status != 0:
        return None
    seconds = time.perf_counter() - t0 - (compile_seconds() - compiling0)
    stats = Stats(nodes=int(nodes), seconds=seconds, min_radius=float(radius), min_kept_depth=float(radius),
                  near_eps=int(near_eps), eps=eps)
    return RegionCount(int(count), stats)
