"""The exact three-dimensional algorithm: convex polyhedra split neuron by neuron (method "cells3d").

It serves 3-D inputs in a box, a bounded polytope or an L1 / L-inf ball, and bounded 3-D
slices of higher-dimensional inputs (:class:`~polyregions.domains.slices.Volume`). In
orthonormal coordinates ``y`` (:mod:`polyregions.domains.slices`; the identity for a 3-D
domain) the domain is a convex polyhedron; layer by layer every cell is refined by the layer's
neurons, whose pre-activations are affine on the cell (the earlier pattern fixes them), and a
cell's pattern is the record of the sides it took. The planar algorithm's idea
(:mod:`polyregions.cells.planar`) one dimension up; the compiled kernels are in
:mod:`polyregions.cells.polyhedron` (compiled on the first 3-D count, then cached).

The counting rule is the search's: a pattern counts when its region holds a ball of radius
``eps`` (input units); a cell thinner than that is dropped with all its descendants (they
are subsets of it). The decision uses ``V / F <= r <= 3 V / F`` (volume ``V``, surface area
``F``) and, only within a factor :data:`~polyregions.result.NEAR_EPS_FACTOR` of ``eps``, the inradius ``r`` itself:
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

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.slices import SliceRegions, check_layers, compose_layers
from ..driver import drive
from ..errors import UnsupportedError
from ..result import NEAR_EPS_FACTOR, RegionCount, Stats
from .planar import CellWork
from .polygon import ZERO_RTOL
from .polyhedron import next_maps, split_cells
from .polyhedron_measure import inradii, volumes
from .size_range import size_range_reason

__all__ = ["Cells3dWork", "METHOD", "PolyhedralCell", "check_cells3d", "count_cells3d", "domain_rows",
           "domain_volume", "enumerate_cells3d", "polyhedral_cells", "unsupported_reason"]

logger = logging.getLogger(__name__)

#: The method name of this algorithm in ``count_regions`` / ``enumerate_regions``.
METHOD = "cells3d"
#: Relative allowance when the domain's vertices are sorted onto its faces.
POLYTOPE_RTOL = 1e-12
#: Cells refined together: their next maps (about 48 bytes per cell and neuron) stay in cache
#: (1 MiB: on the benchmark nets about 20% faster than 4 MiB, ``benchmarks/bench_3d.py``).
BATCH_BYTES = 2**20
#: Cells a chunk of the last layer's output holds (a chunk of another layer is one batch of the next).
LAST_CHUNK = 4096
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
        ``(s, t, w)`` for a :class:`~polyregions.domains.slices.Volume`.
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


def unsupported_reason(domain, net=None) -> str | None:
    """None when the 3-D algorithm serves `domain` (and `net` on it, when given), else why not (one
    sentence): a domain of other than three dimensions in its frame, the domain's own
    :meth:`~polyregions.domains.base.Domain.polyhedron_reason` (no polyhedron), or sizes beyond its
    rounding bounds (:func:`polyregions.cells.size_range.size_range_reason`)."""
    k = domain.frame_dim()
    if k != 3 and k < domain.dim:
        return f"the domain is a {k}-D slice ({METHOD} serves 3-D domains and volumes)"
    if k != 3:
        return f"the domain has {domain.dim} dimensions ({METHOD} serves 3-D domains and volumes)"
    reason = domain.polyhedron_reason()
    return reason if reason is not None or net is None else size_range_reason(net, domain)


def check_cells3d(net, domain) -> None:
    """Refuse what the 3-D algorithm cannot count (UnsupportedError naming why); its count and
    enumeration trust their arguments: their callers check once."""
    reason = unsupported_reason(domain, net)
    if reason is not None:
        raise UnsupportedError(f"`method` '{METHOD}' cannot serve this domain: {reason}")
    check_layers(net)


# ---------------------------------------------------------------------------------------------
# the domain as a polyhedron

def domain_rows(domain):
    """``(A, b)``: the domain's rows ``A p <= b`` in its own coordinates (the input, or a Volume's
    ``(s, t, w)``), whose index ``r`` a face label ``-(r + 1)`` names: the rows of
    :meth:`~polyregions.domains.base.Domain.frame_rows` (unit normals in the orthonormal
    coordinates ``y = R p``, in their order) written in ``p``."""
    A, b = domain.frame_rows()  # A y <= b with y = R (p - p0)
    _, _, R, p0 = domain.working_frame()
    AR = A @ R
    return AR, b + AR @ p0


def _domain_polyhedron(domain):
    """The domain in orthonormal coordinates ``y``: vertices (m, 3), faces (vertex index arrays,
    counter-clockwise from outside), planes (F, 4) with unit outward normals, labels."""
    Ay, by = domain.frame_rows()
    Y = domain.frame_vertices()
    size = 1.0 + np.abs(Y).max()
    onto = np.abs(Y @ Ay.T - by) <= 1e3 * POLYTOPE_RTOL * size  # (vertex, row): the vertex is on the row's plane
    faces, planes, labels = [], [], []
    for r in range(len(by)):
        on = np.flatnonzero(onto[:, r])
        if len(on) < 3:
            continue  # a redundant row
        n = Ay[r]
        # e1 = n x (1, 0, 0), or n x (0, 1, 0) when n is near (1, 0, 0); e2 = n x e1 (written out: np.cross is slow)
        e1 = np.array([0.0, n[2], -n[1]]) if abs(n[0]) < 0.9 else np.array([-n[2], 0.0, n[0]])
        e1 /= np.linalg.norm(e1)
        e2 = np.array([n[1] * e1[2] - n[2] * e1[1], n[2] * e1[0] - n[0] * e1[2], n[0] * e1[1] - n[1] * e1[0]])
        d = Y[on] - Y[on].mean(axis=0)
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

    def __init__(self, eps, deadline=None, *, patterns=True, maps=False, cells=True):
        self.eps = eps
        self.stats = Stats(eps=eps)
        self.deadline = deadline
        self.stopped = None
        self.angle_caps = 0
        self.yscale = 0.0  # the domain's largest coordinate (:func:`polyregions.cells.polyhedron.split_cells`)
        self.patterns = patterns  # the batches carry the cells' patterns (a count needs none)
        self.maps = maps  # ... and their last layer's maps
        self.cells = cells  # the final cells are made (a count has them counted and measured in the kernel)


def _refine(run, layers, l, cells, bits, A, S, label_base):
    """Yield ``(cells, bits, maps)`` batches of final cells below `cells` at layer ``l``: ``A``
    (K, 4, n_l) holds the layer's pre-activation maps ``z = A[:, :3] . y + A[:, 3]``, ``S`` the
    same with absolute values. ``bits`` is None unless ``run.patterns``, ``maps`` unless
    ``run.maps``. Unless ``run.cells``, the final cells are not made: ``(count, smallest
    inradius)`` pairs are yielded instead (the inradius as ``smaller_inradius`` finds it, below
    ``run.stats.min_radius``)."""
    if run.deadline is not None and time.perf_counter() > run.deadline:
        run.stopped = "time_limit"
        return
    n = A.shape[2]
    last = l + 1 == len(layers)
    if not last:
        W, b = layers[l + 1]
        # copies, C order and writable (a read-only array would compile another version of next_maps)
        WT, absWT = np.array(W.T, dtype=np.float64, order="C"), np.array(abs(W).T, dtype=np.float32, order="C")
        b, absb = np.array(b, dtype=np.float64), np.abs(b).astype(np.float32)
        step = max(64, BATCH_BYTES // (48 * W.shape[0]))
    chunks, st, smallest = split_cells(*cells.arrays(), A, S, label_base, run.eps, NEAR_EPS_FACTOR, ZERO_RTOL,
                                       run.yscale, ARENA_ROOM, emit=run.cells or not last,
                                       below=run.stats.min_radius, chunk=LAST_CHUNK if last else step)
    run.stats.near_eps += int(st[0])
    run.stats.nodes += int(st[2])
    run.angle_caps += int(st[3])
    if last and not run.cells:
        yield int(st[2]), float(smallest)
        return
    for *arrays, parent, lbits in chunks:
        cells = _Cells(*arrays)
        cbits = np.concatenate([bits[parent], lbits], axis=1) if run.patterns else None
        if last:
            maps = np.take(A, parent, axis=0) * lbits[:, None, :] if run.maps else None
            yield cells, cbits, maps
            continue
        K = parent.size
        for k0 in range(0, K, step):
            k1 = min(K, k0 + step)
            A2, S2 = next_maps(A, S, parent[k0:k1], lbits[k0:k1], WT, b, absWT, absb)
            yield from _refine(run, layers, l + 1, cells.take(k0, k1), None if cbits is None else cbits[k0:k1], A2,
                               S2, label_base + n)
            if run.stopped:
                return


def _cell_batches(run, net, domain):
    """Yield ``(cells, bits, maps)`` batches of the counted cells of `net` on `domain` (in ``y``), or
    ``(count, smallest inradius)`` pairs unless ``run.cells`` (:func:`_refine`)."""
    origin, Q, _, _ = domain.working_frame()
    Y, faces, planes, labels = _domain_polyhedron(domain)
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
    # C order, as every later layer's maps: the kernels then run in the one version a first count loads
    A = np.ascontiguousarray(np.vstack([G.T, c])[None])
    S = np.ascontiguousarray(np.vstack([Gabs.T, cabs])[None], dtype=np.float32)
    layers = compose_layers(net, origin, Q)
    yield from _refine(run, layers, 0, root, np.zeros((1, 0), np.uint8) if run.patterns else None, A, S, 0)


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
    check_cells3d(net, domain)
    _, _, R, p0 = domain.working_frame()
    Rinv = np.linalg.inv(R)
    for cells, bits, _ in _cell_batches(_Run(eps), net, domain):
        vol, _ = volumes(cells.cv, cells.V, cells.cf, cells.fi, cells.FI)
        mask = bits.astype(bool)
        for k in range(len(vol)):
            verts, faces, labels = _one_cell(cells, k)
            yield PolyhedralCell(mask[k], verts @ Rinv.T + p0, faces, labels, float(vol[k]))


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
    """Count the regions of `net` on a 3-D domain or a bounded Volume (checked by the caller:
    :func:`check_cells3d`).

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
    work = Cells3dWork(net, domain, eps)
    res = drive(work, max_units=max_regions, time_limit=time_limit, progress=progress)
    if work.run.angle_caps:
        logger.info("%d cut faces ordered by angle (vertices on the zero set within rounding of no one plane)",
                    work.run.angle_caps)
    return res


class Cells3dWork(CellWork):
    """The 3-D algorithm's cells as a :class:`~polyregions.cells.planar.CellWork`."""

    def __init__(self, net, domain, eps):
        super().__init__(_Run(eps, patterns=False, cells=False))
        self.net, self.domain = net, domain

    def batches(self):
        yield from _cell_batches(self.run, self.net, self.domain)


def enumerate_cells3d(net, domain, *, eps):
    """Yield a :class:`~polyregions.domains.slices.SliceRegion` per region of `net` on a 3-D
    `domain` (as :func:`count_cells3d`): its pattern, the centre (``point``, ``coords``) and
    radius of its largest inscribed ball, its polyhedron's vertices (``vertices``, domain
    coordinates) and volume (``size``, input units). Faces: :func:`polyhedral_cells`."""
    make = SliceRegions(net, domain)
    for cells, bits, maps in _cell_batches(_Run(eps, maps=True), net, domain):
        r, centre = inradii(cells.cv, cells.V, cells.cf, cells.P)
        vol, _ = volumes(cells.cv, cells.V, cells.cf, cells.fi, cells.FI)
        packed = np.packbits(bits.astype(bool), axis=1)
        for k in range(len(bits)):
            yield make(packed[k], centre[k], r[k], y_map=(maps[k, :3].T, maps[k, 3]), vertices=_one_cell(cells, k)[0],
                       size=vol[k])


def domain_volume(domain) -> float:
    """The volume of a domain that :func:`count_cells3d` serves, in input units (for checks), from
    its polyhedron by the compiled kernels (:meth:`~polyregions.domains.base.Domain.measure`
    gives it in closed form)."""
    Y, faces, _, _ = _domain_polyhedron(domain)
    fi = np.concatenate([[0], np.cumsum([len(f) for f in faces])]).astype(np.int64)
    vol, _ = volumes(np.array([0, len(Y)], np.int64), np.ascontiguousarray(Y, dtype=np.float64),
                     np.array([0, len(faces)], np.int64), fi, np.concatenate(faces).astype(np.int64))
    return float(vol[0])
