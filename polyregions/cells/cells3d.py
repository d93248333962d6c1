"""The exact three-dimensional algorithm: convex polyhedra split neuron by neuron (method "cells3d").

It serves 3-D inputs in a box, a bounded polytope or an L1 / L-inf ball, and bounded 3-D
slices of higher-dimensional inputs (:class:`~polyregions.domains.convex.Volume`). In
orthonormal coordinates ``y`` (:mod:`polyregions.domains.slices`; the identity for a 3-D
domain) the domain is a convex polyhedron; layer by layer every cell is refined by the layer's
neurons, whose pre-activations are affine on the cell (the earlier pattern fixes them), and a
cell's pattern is the record of the sides it took. The planar algorithm's idea
(:mod:`polyregions.cells.planar`) one dimension up; the compiled kernels are in
:mod:`polyregions.cells.polyhedron` (compiled on the first 3-D count, then cached).

The counting rule is the search's: a pattern counts when its region holds a ball of radius
``eps`` (input units); a cell thinner than that is dropped with all its descendants (they
are subsets of it). The decision uses ``V / F <= r <= 3 V / F`` (volume ``V``, surface area
``F``) and, only within a factor :data:`NEAR_FACTOR` of ``eps``, the inradius ``r`` itself:
the Chebyshev LP ``max t s.t. n_i . y + t <= beta_i`` over the cell's face planes, solved
exactly by enumerating its vertices (every four planes) in compiled code. That is exact for
this LP (a bounded LP in four variables attains its optimum at a vertex), costs nothing on
the rare cells that need it, and every radius it returns is recomputed as the centre's
distance to the nearest plane, so it is never above the truth.

Degenerate cases are decided by the sign of each pre-activation at the cell's vertices,
evaluated from the weights (never interpolated), zero within
:data:`~polyregions.cells.polygon.ZERO_RTOL` times the size of the terms summed, as in the
plane (each coordinate's size counted as at least the domain's largest coordinate, the scale
of a vertex's rounding error; :mod:`polyregions.cells.polyhedron`): a plane through a vertex, along an edge or holding a face makes no sliver (vertices on
it belong to both sides); several planes through one point are cut in turn, each against the
cell left by the others; a neuron identically zero on a cell is off there and does not split it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import product

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.convex import Ball, Box, Polytope, Slice, Volume
from ..domains.slices import SliceRegion, check_layers, compose_layers, frame_of
from ..errors import UnsupportedError
from ..result import RegionCount, Stats
from ..solvers.jit import compile_seconds
from .polygon import ZERO_RTOL
from .polyhedron import split_cells
from .polyhedron_measure import inradii, min_inradius, volumes

__all__ = ["METHOD", "NEAR_FACTOR", "PolyhedralCell", "count_cells3d", "domain_rows", "domain_volume",
           "enumerate_cells3d", "polyhedral_cells", "unsupported_reason"]

logger = logging.getLogger(__name__)

#: The method name of this algorithm in ``count_regions`` / ``enumerate_regions``.
METHOD = "cells3d"
#: A decision is near ``eps`` when the inradius lies in [eps / 10, 10 eps] (as in the search).
NEAR_FACTOR = 10.0
#: Relative allowance when a 3-D polytope's rows are turned into its vertices and faces.
POLYTOPE_RTOL = 1e-12
#: Cells refined together: their next maps (about 48 bytes per cell and neuron) stay in cache.
BATCH_BYTES = 4 * 2**20
#: Vertices the kernel's scratch arena holds at first (it doubles when a cell needs more).
ARENA_ROOM = 1024


@dataclass(frozen=True, eq=False)
class PolyhedralCell:
    """One counted cell of a 3-D domain (:func:`polyhedral_cells`).

    Attributes
    ----------
    bits : ndarray of bool, shape (N,)
        The activation pattern (True = on), layer by layer in the network's pattern order.
    vertices : ndarray of float64, shape (V, 3)
        The polyhedron's vertices in the domain's own coordinates: the input for a 3-D domain,
        ``(s, t, w)`` for a :class:`~polyregions.domains.convex.Volume`.
    faces : tuple of int ndarrays
        Each face's vertex indices, ordered counter-clockwise seen from outside.
    face_labels : ndarray of int64
        Per face: ``>= 0`` the index in the pattern of the neuron whose zero set holds the
        face; ``-(r + 1)`` for the domain's row ``r`` (:func:`domain_rows`).
    volume : float
        In input units (a Volume's ``(s, t, w)`` box is measured with the metric of ``u, v, r``).
    """

    bits: np.ndarray
    vertices: np.ndarray
    faces: tuple
    face_labels: np.ndarray
    volume: float


def unsupported_reason(domain) -> str | None:
    """None when the 3-D algorithm serves `domain`, else why not (one sentence)."""
    if isinstance(domain, Volume):
        return None if domain.bounded else "the unbounded volume has no polyhedron"
    if isinstance(domain, Slice):
        return (f"the domain is a {domain.slice_dim}-D slice ({METHOD} serves 3-D domains and volumes)")
    if domain.dim != 3:
        return f"the domain has {domain.dim} dimensions ({METHOD} serves 3-D domains and volumes)"
    if isinstance(domain, Ball) and domain.p == 2:
        return "an L2 ball is not a polyhedron"
    if isinstance(domain, (Box, Ball)) or (isinstance(domain, Polytope) and domain.bounded):
        return None
    return f"{type(domain).__name__} is not a bounded polyhedral domain"


def _check(net, domain):
    reason = unsupported_reason(domain)
    if reason is not None:
        raise UnsupportedError(f"`method` '{METHOD}' cannot serve this domain: {reason}")
    check_layers(net)


# ---------------------------------------------------------------------------------------------
# the domain as a polyhedron

def domain_rows(domain):
    """``(A, b)``: the domain's rows ``A p <= b`` in its own coordinates, whose index ``r`` a face
    label ``-(r + 1)`` names: ``rows()`` for a Box, an L-inf ball and a Polytope; for a Volume
    the rows of its ``(s, t, w)`` box in the same order as a Box's (``p_k <= hi_k``, then
    ``-p_k <= -lo_k``); for an L1 ball the eight rows ``sigma . (x - c) <= radius``, ``sigma``
    in ``itertools.product((1, -1), repeat=3)`` order."""
    if isinstance(domain, Volume):
        eye = np.eye(3)
        return np.vstack([eye, -eye]), np.concatenate([domain.hi, -domain.lo])
    if isinstance(domain, Ball) and domain.p == 1:
        sigma = np.array(list(product((1.0, -1.0), repeat=3)))
        return sigma, sigma @ domain.center + domain.radius
    return domain.rows()


def _domain_vertices(domain, A, b):
    """The vertices of the bounded 3-D polyhedron ``A y <= b`` (any rows): every three rows'
    planes met, the points that no row exceeds by more than ``POLYTOPE_RTOL`` (relative) kept,
    repeats (closer than ``POLYTOPE_RTOL`` times the coordinates' size) merged."""
    if isinstance(domain, (Box, Ball, Volume)):  # known vertices, no search
        if isinstance(domain, Ball) and domain.p == 1:
            eye = np.eye(3) * domain.radius
            return np.vstack([domain.center + eye, domain.center - eye])
        lo, hi = (domain.lo, domain.hi) if isinstance(domain, (Box, Volume)) else (
            domain.center - domain.radius, domain.center + domain.radius)
        bits = (np.arange(8)[:, None] >> np.arange(3)) & 1
        return np.where(bits == 1, hi, lo)
    pts = []
    for i, j, k in ((i, j, k) for i in range(len(b)) for j in range(i + 1, len(b)) for k in range(j + 1, len(b))):
        M = A[[i, j, k]]
        if abs(np.linalg.det(M)) > POLYTOPE_RTOL:
            pts.append(np.linalg.solve(M, b[[i, j, k]]))
    pts = np.array(pts)
    size = 1.0 + np.abs(pts).max()
    pts = pts[np.all(pts @ A.T <= b + POLYTOPE_RTOL * size, axis=1)]
    keep = []
    for p in pts:
        if all(np.abs(p - q).max() > POLYTOPE_RTOL * size for q in keep):
            keep.append(p)
    return np.array(keep)


def _domain_polyhedron(domain, R):
    """The domain in orthonormal coordinates ``y = R p``: vertices (m, 3), faces (vertex index
    arrays, counter-clockwise from outside), planes (F, 4) with unit outward normals, labels."""
    A, b = domain_rows(domain)
    P = _domain_vertices(domain, A, b)
    Rinv = np.linalg.inv(R)
    Ay = A @ Rinv  # A p <= b with p = R^-1 y
    norms = np.linalg.norm(Ay, axis=1)
    Ay, by = Ay / norms[:, None], b / norms
    Y = P @ R.T
    size = 1.0 + np.abs(Y).max()
    faces, planes, labels = [], [], []
    for r in range(len(by)):
        on = np.flatnonzero(np.abs(Y @ Ay[r] - by[r]) <= 1e3 * POLYTOPE_RTOL * size)
        if len(on) < 3:
            continue  # a redundant row
        n = Ay[r]
        centre = Y[on].mean(axis=0)
        e1 = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        d = Y[on] - centre
        faces.append(on[np.argsort(np.arctan2(d @ e2, d @ e1))])
        planes.append(np.append(n, by[r]))
        labels.append(-1 - r)
    return Y, faces, np.array(planes), np.array(labels, np.int64)


# ---------------------------------------------------------------------------------------------
# batches of cells

@dataclass
class _Cells:
    """Cells in CSR form (:mod:`polyregions.cells.polyhedron`)."""

    cv: np.ndarray
    V: np.ndarray
    cf: np.ndarray
    P: np.ndarray
    L: np.ndarray
    fi: np.ndarray
    FI: np.ndarray

    def take(self, k0, k1):
        """Cells ``k0 .. k1 - 1``, offsets rebased."""
        v0, v1, f0, f1 = self.cv[k0], self.cv[k1], self.cf[k0], self.cf[k1]
        i0, i1 = self.fi[f0], self.fi[f1]
        return _Cells(self.cv[k0:k1 + 1] - v0, self.V[v0:v1], self.cf[k0:k1 + 1] - f0, self.P[f0:f1],
                      self.L[f0:f1], self.fi[f0:f1 + 1] - i0, self.FI[i0:i1])

    def arrays(self):
        return self.cv, self.V, self.cf, self.P, self.L, self.fi, self.FI


class _Run:
    """One 3-D computation: the statistics, and the stop conditions of a count."""

    def __init__(self, eps, deadline=None):
        self.eps = eps
        self.stats = Stats(eps=eps)
        self.deadline = deadline
        self.stopped = None
        self.angle_caps = 0
        self.yscale = 0.0  # the domain's largest coordinate (:func:`polyregions.cells.polyhedron.split_cells`)


def _refine(run, layers, l, cells, bits, A, S, label_base):
    """Yield ``(cells, bits, maps)`` batches of final cells below `cells` at layer ``l``: ``A``
    (K, 4, n_l) holds the layer's pre-activation maps ``z = A[:, :3] . y + A[:, 3]``, ``S`` the
    same with absolute values."""
    if run.deadline is not None and time.perf_counter() > run.deadline:
        run.stopped = "time_limit"
        return
    n = A.shape[2]
    *arrays, parent, lbits, st = split_cells(*cells.arrays(), A, S, label_base, run.eps, NEAR_FACTOR, ZERO_RTOL,
                                             run.yscale, ARENA_ROOM)
    cells = _Cells(*arrays)
    run.stats.near_eps += int(st[0])
    run.stats.nodes += int(st[2])
    run.angle_caps += int(st[3])
    bits = np.concatenate([bits[parent], lbits], axis=1)
    if l + 1 == len(layers):
        maps = np.take(A, parent, axis=0)
        maps *= lbits[:, None, :]
        yield cells, bits, maps
        return
    W, b = layers[l + 1]
    absW, absb = abs(W).astype(np.float32), np.abs(b).astype(np.float32)
    K = parent.size
    step = max(64, BATCH_BYTES // (48 * W.shape[0]))
    for k0 in range(0, K, step):
        k1 = min(K, k0 + step)
        p, hb = parent[k0:k1], lbits[k0:k1, None, :]
        Ap, Sp = np.take(A, p, axis=0), np.take(S, p, axis=0)
        Ap *= hb  # the off neurons pass nothing on
        Sp *= hb
        A2 = np.asarray(Ap.reshape(-1, n) @ W.T).reshape(k1 - k0, 4, -1)
        A2[:, 3, :] += b
        S2 = np.asarray(Sp.reshape(-1, n) @ absW.T).reshape(k1 - k0, 4, -1)
        S2[:, 3, :] += absb
        yield from _refine(run, layers, l + 1, cells.take(k0, k1), bits[k0:k1], A2, S2, label_base + n)
        if run.stopped:
            return


def _cell_batches(run, net, domain):
    """Yield ``(cells, bits, maps)`` batches of the counted cells of `net` on `domain` (in ``y``)."""
    origin, Q, R, _ = frame_of(domain)
    Y, faces, planes, labels = _domain_polyhedron(domain, R)
    fi = np.concatenate([[0], np.cumsum([len(f) for f in faces])]).astype(np.int64)
    root = _Cells(np.array([0, len(Y)], np.int64), np.ascontiguousarray(Y, dtype=np.float64),
                  np.array([0, len(faces)], np.int64), np.ascontiguousarray(planes), labels, fi,
                  np.concatenate(faces).astype(np.int64))
    run.yscale = float(np.abs(Y).max())
    r0 = inradii(root.cv, root.V, root.cf, root.P)[0][0]
    if not r0 > run.eps:
        return
    W, b = net.hidden[0]
    absW = abs(W)
    G = np.asarray(W @ Q, dtype=np.float64)
    c = np.asarray(W @ origin, dtype=np.float64) + b
    Gabs = np.asarray(absW @ np.abs(Q), dtype=np.float64)
    cabs = np.asarray(absW @ np.abs(origin), dtype=np.float64) + np.abs(b)
    A = np.vstack([G.T, c])[None]
    S = np.vstack([Gabs.T, cabs])[None].astype(np.float32)
    layers = compose_layers(net, origin, Q)
    yield from _refine(run, layers, 0, root, np.zeros((1, 0), np.uint8), A, S, 0)


# ---------------------------------------------------------------------------------------------
# results

def polyhedral_cells(net, domain, eps):
    """Yield a :class:`PolyhedralCell` for every counted cell of `net` on a 3-D `domain`.

    Parameters
    ----------
    net : Network
        Dense, convolutional or pooling layers with ReLU (as the planar algorithm).
    domain : Box, Ball (p = 1 or inf), bounded Polytope of dimension 3, or bounded Volume
    eps : float
        A pattern counts when its region holds a ball of radius `eps` (input units): the
        cells yielded are the regions :func:`polyregions.count_regions` counts.

    Yields
    ------
    PolyhedralCell
        ``bits``, ``vertices`` (domain coordinates), ``faces`` (counter-clockwise from
        outside), ``face_labels`` (neuron index, or ``-(r + 1)`` for domain row ``r`` of
        :func:`domain_rows`) and ``volume`` (input units). The volumes sum to the domain's
        volume up to the cells dropped as thinner than `eps`.
    """
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    _check(net, domain)
    Rinv = np.linalg.inv(frame_of(domain)[2])
    for cells, bits, _ in _cell_batches(_Run(eps), net, domain):
        vol, _ = volumes(cells.cv, cells.V, cells.cf, cells.fi, cells.FI)
        mask = bits.astype(bool)
        for k in range(len(vol)):
            verts, faces, labels = _one_cell(cells, k)
            yield PolyhedralCell(mask[k], verts @ Rinv.T, faces, labels, float(vol[k]))


def _one_cell(cells, k):
    """Cell ``k``'s vertices (in ``y``; only those its faces use), faces and labels."""
    f0, f1 = cells.cf[k], cells.cf[k + 1]
    idx = cells.FI[cells.fi[f0]:cells.fi[f1]]
    used, local = np.unique(idx, return_inverse=True)
    verts = cells.V[cells.cv[k] + used]
    bounds = cells.fi[f0:f1 + 1] - cells.fi[f0]
    faces = tuple(local[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(f1 - f0))
    return verts, faces, cells.L[f0:f1].copy()


def count_cells3d(net, domain, *, eps, max_regions=None, time_limit=None, progress=None) -> RegionCount:
    """Count the regions of `net` on a 3-D domain or a bounded Volume.

    Parameters
    ----------
    net : Network
    domain : Box, Ball (p = 1 or inf), bounded Polytope of dimension 3, or bounded Volume
    eps : float
        A pattern counts when its region holds a ball of radius `eps`.
    max_regions, time_limit, progress
        As for :func:`polyregions.count_regions` (the time limit is checked between batches).

    Returns
    -------
    RegionCount
        ``stats.min_radius``: the smallest inradius of a counted region; ``stats.near_eps``:
        keep-or-drop decisions whose inradius fell in [eps/10, 10 eps]; ``stats.nodes``: cells
        made; ``stats.lp_solves`` is 0 (no LP solver runs).
    """
    _check(net, domain)
    t0 = time.perf_counter()
    compiling0 = compile_seconds()  # the kernels' one-time compilation is not the count's time
    run = _Run(eps, None if time_limit is None else t0 + time_limit)
    count = 0
    if max_regions == 0:
        return RegionCount(0, run.stats, complete=False, stopped="max_regions")
    next_report = t0 + 0.5
    for cells, bits, _ in _cell_batches(run, net, domain):
        count += len(bits)
        if len(bits):
            run.stats.min_radius = float(min_inradius(*cells.arrays()[:4], cells.fi, cells.FI,
                                                      run.stats.min_radius))
        if max_regions is not None and count >= max_regions:
            count, run.stopped = max_regions, "max_regions"
            break
        if progress is not None and time.perf_counter() >= next_report:
            run.stats.seconds = time.perf_counter() - t0 - (compile_seconds() - compiling0)
            progress(count, run.stats)
            next_report = time.perf_counter() + 0.5
    run.stats.min_kept_depth = run.stats.min_radius
    run.stats.seconds = time.perf_counter() - t0 - (compile_seconds() - compiling0)
    if run.angle_caps:
        logger.info("%d cut faces ordered by angle (vertices on the zero set within rounding of no one plane)",
                    run.angle_caps)
    return RegionCount(count, run.stats, complete=run.stopped is None, stopped=run.stopped)


def enumerate_cells3d(net, domain, *, eps):
    """Yield a :class:`~polyregions.domains.slices.SliceRegion` per region of `net` on a 3-D
    `domain` (as :func:`count_cells3d`): its pattern, the centre (``point``, ``coords``) and
    radius of its largest inscribed ball, its polyhedron's vertices (``vertices``, domain
    coordinates) and volume (``size``, input units). Faces: :func:`polyhedral_cells`."""
    _check(net, domain)
    return _lifted(net, domain, eps)


def _lifted(net, domain, eps):
    origin, Q, R, _ = frame_of(domain)
    slice_layers = tuple(compose_layers(net, origin, Q))
    Rinv = np.linalg.inv(R)
    n_bits = net.num_neurons
    square = Q.shape[0] == Q.shape[1]
    for cells, bits, maps in _cell_batches(_Run(eps), net, domain):
        r, centre = inradii(cells.cv, cells.V, cells.cf, cells.P)
        vol, _ = volumes(cells.cv, cells.V, cells.cf, cells.fi, cells.FI)
        packed = np.packbits(bits.astype(bool), axis=1)
        for k in range(len(bits)):
            y = centre[k]
            verts = _one_cell(cells, k)[0]
            yield SliceRegion(packed[k], n_bits, origin + Q @ y, float(r[k]),
                              (maps[k, :3].T, maps[k, 3]) if square else None, net.output, coords=Rinv @ y,
                              vertices=verts @ Rinv.T, size=float(vol[k]), edges=None, _layers=net.hidden,
                              _slice_layers=slice_layers, _R=R)


def domain_volume(domain) -> float:
    """The volume of a domain that :func:`count_cells3d` serves, in input units (for checks)."""
    _, _, R, _ = frame_of(domain)
    Y, faces, _, _ = _domain_polyhedron(domain, R)
    fi = np.concatenate([[0], np.cumsum([len(f) for f in faces])]).astype(np.int64)
    vol, _ = volumes(np.array([0, len(Y)], np.int64), np.ascontiguousarray(Y, dtype=np.float64),
                     np.array([0, len(faces)], np.int64), fi, np.concatenate(faces).astype(np.int64))
    return float(vol[0])
