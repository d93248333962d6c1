"""The exact one- and two-dimensional algorithm: intervals and convex polygons split neuron by neuron.

It serves lines, bounded planes, and one- or two-dimensional inputs in a box, a bounded
polytope or an L1 / L-inf ball (and any ball in one dimension). In orthonormal slice
coordinates ``y`` (:mod:`polyregions.domains.slices`) the domain is an interval or a convex polygon;
layer by layer every cell is refined by the layer's neurons, whose pre-activations are
affine on the cell (the earlier pattern fixes them), and a cell's pattern is the record of
the sides it took. The counting rule is the search's: a pattern counts when its region
holds a segment (1-D) or a disc (2-D) of radius ``eps``, and a cell thinner than that is
dropped with all its descendants.

Degenerate cases are decided by the sign of each pre-activation at the cell's vertices,
evaluated from the weights (never interpolated), zero within a rounding tolerance
(:data:`polyregions.cells.polygon.ZERO_RTOL` times the size of the terms summed):

* three lines through one point, a hyperplane through a vertex, a line along an edge: the
  vertices on the line belong to both sides and create no new vertex, so no sliver is made;
* a neuron identically zero on a cell (every vertex on its zero set) is off there and does
  not split it, as in the search.

Two dimensions run in compiled kernels (:mod:`polyregions.cells.polygon`); one dimension is a
sweep in numpy: the breakpoints of layer ``l`` are the zero crossings of ``z^l`` between
consecutive breakpoints of the earlier layers (``z^l`` is affine there), and every new
breakpoint is pushed through the network from the input.
"""

from __future__ import annotations

import math
import time
import weakref

import numpy as np

from ..domains.base import polygon_lines
from ..search.blas import one_thread_product, only_openblas
from ..errors import InvalidInputError, UnsupportedError
from .polygon import ZERO_RTOL, areas, inradii, live_maps, min_inradius, split_cells
from ..driver import drive
from ..result import NEAR_EPS_FACTOR, RegionCount, Stats
from ..domains.slices import SliceRegions, check_layers, first_layer_on_slice
from .size_range import size_range_reason

__all__ = ["CellWork", "PlanarWork", "check_planar", "count_planar", "enumerate_planar", "one_blas_thread_anyway",
           "planar_cells", "unsupported_reason"]


#: Cells refined together: their next maps (about 36 bytes per cell and neuron) stay in cache.
BATCH_BYTES = 4 * 2**20


def unsupported_reason(domain, net=None) -> str | None:
    """None when the planar algorithm serves `domain` (and `net` on it, when given), else why not
    (one sentence): a domain of more than two dimensions in its frame, the domain's own
    :meth:`~polyregions.domains.base.Domain.polyhedron_reason` (no polygon), or sizes beyond its
    rounding bounds (:func:`polyregions.cells.size_range.size_range_reason`)."""
    if domain.frame_dim() > 2:
        return f"the domain has {domain.dim} dimensions (planar serves 1-D and 2-D domains, lines and planes)"
    reason = domain.polyhedron_reason()
    return reason if reason is not None or net is None else size_range_reason(net, domain)


def check_planar(net, domain) -> None:
    """Refuse what the planar algorithm cannot count (UnsupportedError naming why): a domain with
    no polygon (:func:`unsupported_reason`), a network that is not
    plain ReLU with dense, convolutional or average-pooling layers. :func:`count_planar` and
    :func:`enumerate_planar` trust their arguments: their callers check once."""
    reason = unsupported_reason(domain, net)
    if reason is not None:
        raise UnsupportedError(f"`method` 'planar' cannot serve this domain: {reason}")
    check_layers(net)


def _first_layer(layers_x, origin, Q):
    """The first layer in ``y`` and its absolute-value map (the size of the terms summed)."""
    W, b = layers_x[0]
    G = np.asarray(W @ Q, dtype=np.float64)
    c = np.asarray(W @ origin, dtype=np.float64) + b
    return (G, c) + _first_layer_sizes(layers_x, origin, Q)


def _first_layer_sizes(layers_x, origin, Q, absW=None):
    """The first layer's absolute-value map in ``y`` (the size of the terms summed); `absW`: the
    first layer's ``|W|`` when it is at hand."""
    W, b = layers_x[0]
    absW = abs(W) if absW is None else absW
    Gabs = np.asarray(absW @ np.abs(Q), dtype=np.float64)
    cabs = np.asarray(absW @ np.abs(origin), dtype=np.float64) + np.abs(b)
    return Gabs, cabs


class _PlanarNet:
    """What the 2-D algorithm reads of a network besides its layers, the same for every count:
    the absolute values of the weights and biases (the sizes of the terms summed; float32 after
    the first layer), and whether its layers' products run on one BLAS thread
    (:func:`_one_thread_layers`). Made once per network (:func:`_planar_net`): a
    :class:`~polyregions.model.network.Network` is immutable (a frozen dataclass whose arrays
    are read-only)."""

    def __init__(self, net):
        self.layers = net.hidden
        self.abs_first = abs(self.layers[0][0])
        self.sizes = [None] + [(abs(W).astype(np.float32), np.abs(b).astype(np.float32)) for W, b in self.layers[1:]]
        self.one_thread_layers = _one_thread_layers([W.shape[0] for W, _ in self.layers])


#: Each network's :class:`_PlanarNet`, dropped with the network.
_PLANAR_NETS = weakref.WeakKeyDictionary()


def _planar_net(net) -> _PlanarNet:
    """The :class:`_PlanarNet` of `net`, made on its first count."""
    prepared = _PLANAR_NETS.get(net)
    if prepared is None:
        prepared = _PLANAR_NETS[net] = _PlanarNet(net)
    return prepared


def one_blas_thread_anyway(net, domain) -> bool:
    """Whether every matrix product of a count of `net` on `domain` (two dimensions; False in one,
    and with a BLAS other than OpenBLAS) runs on one BLAS thread whatever BLAS is set to (:func:`polyregions.search.blas.one_thread_product`),
    so that the count needs no thread limit. The products are the first layer's ``W Q`` and
    ``W origin`` (with ``|W|``), then per layer ``l`` those of at most ``3 K`` rows of maps by
    ``W_{l+1}^T`` (:func:`_refine`), ``K`` the cells of a batch after layer ``l``: ``n`` lines cut a
    convex cell into at most ``1 + n + n (n - 1) / 2`` pieces, and a batch holds at most
    ``max(64, BATCH_BYTES / (36 n_{l+1}))`` cells."""
    if domain.frame_dim() != 2 or not only_openblas():
        return False
    n1, D = net.hidden[0][0].shape
    return one_thread_product(n1, D, 2) and one_thread_product(n1, D, 1) and _planar_net(net).one_thread_layers


def _one_thread_layers(widths) -> bool:
    """Whether the products of :func:`_refine` on layers of these `widths` run on one BLAS thread
    (:func:`one_blas_thread_anyway`)."""
    cells = 1
    for n, n_next in zip(widths, widths[1:]):
        cells = min(cells * (1 + n + n * (n - 1) // 2), max(64, BATCH_BYTES // (36 * n_next)))
        if not one_thread_product(3 * cells, n, n_next):
            return False
    return True


class _Run:
    """One planar computation: the statistics, and the stop conditions of a count."""

    def __init__(self, eps, deadline=None):
        self.eps = eps
        self.stats = Stats(eps=eps)
        self.deadline = deadline
        self.stopped = None


# ---------------------------------------------------------------------------------------------
# two dimensions

def _refine(run, layers, l, start, verts, lines, labels, bits, A, S, label_base, sizes):
    """Yield batches of final cells below these cells at layer ``l``: ``A`` (K, 3, n_l) holds the
    layer's pre-activation maps ``z = A[:, 0] y_0 + A[:, 1] y_1 + A[:, 2]``, ``S`` the same with
    absolute values (the size of the terms, :mod:`polyregions.cells.polygon`); ``sizes[l]`` the
    absolute values of layer ``l``'s weights and biases (float32). Without patterns (`bits`
    None, as when counting) neither the patterns nor the last layer's maps are made."""
    if run.deadline is not None and time.perf_counter() > run.deadline:
        run.stopped = "time_limit"
        return
    n = A.shape[2]
    start, verts, lines, labels, parent, lbits, st = split_cells(
        start, verts, lines, labels, A, S, label_base, run.eps, NEAR_EPS_FACTOR, ZERO_RTOL)
    run.stats.near_eps += int(st[0])
    run.stats.nodes += int(st[2])
    if bits is not None:
        bits = np.concatenate([bits[parent], lbits], axis=1)
    if l + 1 == len(layers):
        maps = None
        if bits is not None:
            maps = np.take(A, parent, axis=0)
            maps *= lbits[:, None, :]
        yield start, verts, lines, labels, bits, maps
        return
    W, b = layers[l + 1]
    absW, absb = sizes[l + 1]
    K = parent.size
    step = max(64, BATCH_BYTES // (36 * W.shape[0]))
    for k0 in range(0, K, step):
        k1 = min(K, k0 + step)
        v0, v1 = start[k0], start[k1]
        Ap, Sp = live_maps(A, S, parent, lbits, k0, k1)  # the off neurons pass nothing on
        A2 = np.asarray(Ap.reshape(-1, n) @ W.T).reshape(k1 - k0, 3, -1)
        A2[:, 2, :] += b
        S2 = np.asarray(Sp.reshape(-1, n) @ absW.T).reshape(k1 - k0, 3, -1)
        S2[:, 2, :] += absb
        yield from _refine(run, layers, l + 1, start[k0:k1 + 1] - v0, verts[v0:v1], lines[v0:v1], labels[v0:v1],
                           None if bits is None else bits[k0:k1], A2, S2, label_base + n, sizes)


def _polygon_cells(run, net, domain, patterns=True, frame=None):
    """Yield ``(start, verts, lines, labels, bits, maps)`` batches of the final cells (:func:`_refine`;
    `bits` and `maps` None without `patterns`); `frame`: the domain's working frame when at hand."""
    origin, Q, _, _ = domain.working_frame() if frame is None else frame
    verts = np.asarray(domain.polygon(), dtype=float)  # counter-clockwise, in orthonormal coordinates
    lines = polygon_lines(verts)
    m = len(verts)
    # the first layer in y, refused where it overflows float64; the later layers are the network's
    # own (the composed network of the slice differs from it in the first layer only)
    G, c = first_layer_on_slice(net, origin, Q)
    prepared = _planar_net(net)
    layers = prepared.layers
    Gabs, cabs = _first_layer_sizes(layers, origin, Q, prepared.abs_first)
    start = np.array([0, m], np.int64)
    root_r = inradii(start, lines, verts)[0][0]
    if not root_r > run.eps:
        return
    A = np.empty((1, 3, len(c)))  # (G^T; c) and (|G|^T; |c|), one cell
    A[0, :2], A[0, 2] = G.T, c
    S = np.empty((1, 3, len(c)), np.float32)
    S[0, :2], S[0, 2] = Gabs.T, cabs
    yield from _refine(run, layers, 0, start, np.ascontiguousarray(verts), np.ascontiguousarray(lines),
                       -1 - np.arange(m, dtype=np.int64), np.zeros((1, 0), np.uint8) if patterns else None, A, S, 0,
                       prepared.sizes)


# ---------------------------------------------------------------------------------------------
# one dimension

def _tolerance_decisions(P, Z, i, j, tol, eps):
    """How many of the zero decisions ``|Z[i, j]| <= tol`` (at breakpoints ``i``, other than the
    neuron's own crossing) the tolerance makes coarser than eps: ``tol > eps |slope|``, with the
    steeper slope of the two neighbouring intervals. There a region thicker than eps may be lost
    (or kept) by rounding: the coordinates are too large, or eps too small, for the floats."""
    steep = np.zeros(i.size)
    for k0, k1 in ((i - 1, i), (i, i + 1)):  # the interval before and the one after
        ok = (k0 >= 0) & (k1 < len(P))
        k0, k1 = k0[ok], k1[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.abs((Z[k1, j[ok]] - Z[k0, j[ok]]) / (P[k1] - P[k0]))  # nan on an interval of length 0
        steep[ok] = np.fmax(steep[ok], np.nan_to_num(slope, nan=0.0, posinf=0.0))
    return int(np.count_nonzero(tol > eps * steep))


def _interval_cells(run, net, domain):
    """One batch: the breakpoints ``P`` (sorted) and the pattern of every interval between them.

    Each pre-activation is evaluated from the input; it is zero within ``ZERO_RTOL`` times the
    size of its terms (the same sums with absolute values, through the live neurons) at that
    point. The sizes are summed only where a value lies within the tolerance of their bound
    over the whole segment (elsewhere the sign is plain). A crossing between two breakpoints,
    where ``z`` is affine, is interpolated, and where the interval is longer than the crossing's
    coordinate (it may span the whole line: interpolating across it would cost its length's
    rounding) moved by one Newton step from ``z`` evaluated there afresh. Zero decisions of the
    tolerance coarser than eps (:func:`_tolerance_decisions`) count in ``stats.near_eps``.
    """
    origin, Q, _, _ = domain.working_frame()
    y0, y1 = domain.polygon()  # the interval, in the working coordinates
    if not (y1 - y0) / 2 > run.eps:
        return
    g1, c1, g1abs, c1abs = _first_layer(net.hidden, origin, Q)
    g1, g1abs = g1[:, 0], g1abs[:, 0]
    layers = net.hidden
    absWs = [None] + [abs(W) for W, _ in layers[1:]]

    def forward(y, upto, sizes=False):
        """Pre-activations at the points `y`, layers ``0..upto`` (with the sizes of their terms)."""
        z, size = y[:, None] * g1 + c1, np.abs(y)[:, None] * g1abs + c1abs
        out = [(z, size)]
        for l in range(1, upto + 1):
            W, b = layers[l]
            if sizes:
                size = np.asarray((size * (z > -ZERO_RTOL * size)) @ absWs[l].T) + np.abs(b)
            z = np.asarray(np.maximum(z, 0.0) @ W.T) + b
            out.append((z, size))
        return out

    # per neuron, a bound of the size of its terms over the whole segment
    bounds = [g1abs * max(abs(y0), abs(y1)) + c1abs]
    for absW, (_, b) in zip(absWs[1:], layers[1:]):
        bounds.append(np.asarray(absW @ bounds[-1]) + np.abs(b))

    def tolerances(l, i, j):
        """``ZERO_RTOL`` times the sizes at breakpoints `i`, neurons `j` of layer `l`."""
        rows, inv = np.unique(i, return_inverse=True)
        return ZERO_RTOL * forward(P[rows], l, sizes=True)[l][1][inv, j]

    def zeros(l, Z):
        """``(i, j, tol)``: the entries of `Z` (layer `l`) within their tolerance, but for the
        neurons' own crossings (zero by construction)."""
        near = np.abs(Z) <= ZERO_RTOL * bounds[l]
        i, j = np.nonzero(near) if near.any() else (np.zeros(0, int), np.zeros(0, int))
        mine = (crossing[i, 0] == l) & (crossing[i, 1] == j)
        i, j = i[~mine], j[~mine]
        if not i.size:
            return i, j, np.zeros(0)
        tol = tolerances(l, i, j)
        keep = np.abs(Z[i, j]) <= tol
        return i[keep], j[keep], tol[keep]

    P = np.array([y0, y1])
    Zs = [forward(P, 0)[0][0]]
    crossing = np.full((2, 2), -1)  # per breakpoint: (layer, neuron) that crosses there, or -1
    for l in range(len(layers)):
        Z = Zs[l]
        sign = np.sign(Z)
        i, j, _ = zeros(l, Z)
        sign[i, j] = 0
        i, j = np.nonzero(sign[:-1] * sign[1:] < 0)
        if i.size:
            t = Z[i, j] / (Z[i, j] - Z[i + 1, j])
            ynew = P[i] + t * (P[i + 1] - P[i])
            # interpolating across an interval longer than the crossing's coordinate costs more
            # than its rounding: one Newton step there (z is affine between P[i] and P[i + 1])
            far = np.flatnonzero(np.abs(P[i + 1] - P[i]) > np.abs(ynew))
            if far.size:
                slope = (Z[i + 1, j] - Z[i, j])[far] / (P[i + 1] - P[i])[far]
                residual = forward(ynew[far], l)[l][0][np.arange(far.size), j[far]]
                ynew[far] = np.clip(ynew[far] - residual / slope, P[i][far], P[i + 1][far])
            new = forward(ynew, l)
            P = np.concatenate([P, ynew])
            order = np.argsort(P, kind="stable")
            P = P[order]
            crossing = np.concatenate([crossing, np.column_stack([np.full(j.size, l), j])])[order]
            for k in range(l + 1):
                Zs[k] = np.concatenate([Zs[k], new[k][0]])[order]
        if l + 1 < len(layers):
            W, b = layers[l + 1]
            Zs.append(np.asarray(np.maximum(Zs[l], 0.0) @ W.T) + b)
    bits = []
    for l, Z in enumerate(Zs):
        i, j, tol = zeros(l, Z)
        run.stats.near_eps += _tolerance_decisions(P, Z, i, j, tol, run.eps)
        mids = Z[:-1] + Z[1:]  # twice the value at each interval's middle
        on = mids > 0
        near = on & (mids <= 2 * ZERO_RTOL * bounds[l])
        if near.any():  # on by a value the tolerance may call zero
            i, j = np.nonzero(near)
            zero = mids[i, j] <= tolerances(l, i, j) + tolerances(l, i + 1, j)
            on[i[zero], j[zero]] = False
            # on an interval that may hold a counted region: the tolerance decided
            run.stats.near_eps += int(np.count_nonzero(zero & (P[i + 1] - P[i] > 2 * run.eps)))
        bits.append(on)
    bits = np.concatenate(bits, axis=1)
    # a breakpoint where no bit changes (a crossing within the tolerance of another breakpoint)
    # separates two parts of one region (a pattern's region is convex): join them
    same = np.all(bits[1:] == bits[:-1], axis=1)
    P, bits = np.delete(P, 1 + np.flatnonzero(same)), bits[np.concatenate([[True], ~same])]
    run.stats.nodes += len(P) - 1
    yield P, bits


# ---------------------------------------------------------------------------------------------
# results

class _Polygons:
    """The polygons ``idx`` of a batch, materialised one at a time: ``(vertices, edge labels)``."""

    def __init__(self, start, verts, labels, idx):
        self.start, self.verts, self.labels, self.idx = start, verts, labels, idx

    def __getitem__(self, k):
        a, b = self.start[self.idx[k]], self.start[self.idx[k] + 1]
        return self.verts[a:b], self.labels[a:b]


def planar_cells(net, domain, eps, run=None):
    """Yield ``(bits, centre_y, radius, size, polys, maps)`` batches of the counted cells:
    patterns (``uint8``, (K, N)), inradius centres and radii in orthonormal coordinates, areas
    or lengths, ``polys[k] = (vertices, edge labels)`` (labels None in 1-D) and, in 2-D, the
    last hidden layer's maps ``h = maps[:, 0] y_0 + maps[:, 1] y_1 + maps[:, 2]`` (None in 1-D)."""
    run = run or _Run(eps)
    dim = domain.frame_dim()
    if dim == 1:
        for P, bits in _interval_cells(run, net, domain):
            length = np.diff(P)
            radius = length / 2
            near = (radius >= eps / NEAR_EPS_FACTOR) & (radius <= eps * NEAR_EPS_FACTOR)
            run.stats.near_eps += int(near.sum())
            keep = radius > eps
            ends = np.column_stack([P[:-1], P[1:]])[keep]
            yield (bits[keep], ((P[:-1] + P[1:]) / 2)[keep, None], radius[keep], length[keep],
                   [(e[:, None], None) for e in ends], None)
        return
    for start, verts, lines, labels, bits, maps in _polygon_cells(run, net, domain):
        # every cell here passed the split decisions (a disc of radius > eps); r and the centre
        # are a disc the cell holds (the largest, but for ill-conditioned slivers a lower bound)
        r, centre = inradii(start, lines, verts)
        idx = np.arange(len(r))
        polys = _Polygons(start, verts, np.maximum(labels, -1), idx)
        yield bits[idx], centre[idx], r[idx], areas(start, verts)[idx], polys, maps[idx]


def count_planar(net, domain, *, eps, max_regions=None, time_limit=None, progress=None) -> RegionCount:
    """Count the regions of `net` on a line, a bounded plane or a 1-D / 2-D domain.

    Parameters
    ----------
    net : Network
    domain : Line, Plane, or a 1-D / 2-D Box, Ball (p = 1 or inf; any p in 1-D), bounded Polytope
        (any domain with a polygon; the caller has checked it with :func:`check_planar`)
    eps : float
        A pattern counts when its region holds a segment (1-D) or a disc (2-D) of radius `eps`.
    max_regions, time_limit, progress
        As for :func:`polyregions.count_regions` (the time limit is checked between batches).

    Returns
    -------
    RegionCount
        ``stats.min_radius``: the smallest inradius (half-length) of a counted region;
        ``stats.near_eps``: keep-or-drop decisions whose inradius fell in [eps/10, 10 eps];
        ``stats.nodes``: cells made; ``stats.lp_solves`` is 0 (no LP is solved).
    """
    return drive(PlanarWork(net, domain, eps), max_units=max_regions, time_limit=time_limit, progress=progress)


class CellWork:
    """A cell algorithm as work for the counting driver (:mod:`polyregions.driver`): one step yields
    the counted cells batch by batch (a subclass's ``batches()``: pairs of the number of cells and
    the smallest inradius so far); a deadline stops it between batches, and it is not resumable
    (``stopped`` is then "time_limit"). ``run`` holds the statistics and the deadline."""

    def __init__(self, run):
        self.run = run
        self.stats = run.stats
        self.done = False

    @property
    def stopped(self):
        return self.run.stopped

    def step(self, control):
        self.run.deadline = control.deadline
        for units, min_radius in self.batches():
            self.stats.min_radius = min(self.stats.min_radius, min_radius)
            yield units
        self.done = True

    def open_work(self):
        return 0, []

    def refresh_stats(self):
        self.stats.min_kept_depth = self.stats.min_radius


class PlanarWork(CellWork):
    """The planar algorithm's cells (:func:`planar_cells`) as a :class:`CellWork`."""

    def __init__(self, net, domain, eps):
        super().__init__(_Run(eps))
        self.net, self.domain, self.eps = net, domain, eps

    def batches(self):
        frame = self.domain.working_frame()
        if frame[1].shape[1] == 2:  # only the cells' number and inradii are needed
            for start, verts, lines, _, _, _ in _polygon_cells(self.run, self.net, self.domain, False, frame):
                yield start.size - 1, float(min_inradius(start, lines, verts))
            return
        for bits, _, radius, _, _, _ in planar_cells(self.net, self.domain, self.eps, self.run):
            yield len(bits), float(radius.min()) if len(radius) else math.inf


def enumerate_planar(net, domain, *, eps):
    """Yield a :class:`~polyregions.domains.slices.SliceRegion` per region of `net` on `domain` (as
    :func:`count_planar`): its pattern, the centre (``point``, ``coords``) and radius of its
    largest inscribed disc or segment, its polygon or interval (``vertices``, slice
    coordinates) and area or length (``size``, input units), and its edges' neurons."""
    make = SliceRegions(net, domain)
    for bits, centre, radius, size, polys, maps in planar_cells(net, domain, eps):
        packed = np.packbits(bits.astype(bool), axis=1)
        for k in range(len(bits)):
            verts, labels = polys[k]
            yield make(packed[k], centre[k], radius[k], y_map=None if maps is None else (maps[k, :2].T, maps[k, 2]),
                       vertices=verts, size=size[k], edges=labels)
