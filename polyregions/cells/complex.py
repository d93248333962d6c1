"""The polyhedral complex of a ReLU network on a bounded 1-, 2- or 3-D domain.

The regions' closures and all their faces form a polyhedral complex (two cells meet in a
common face): :mod:`polyregions.cells.ternary` shows that the relative interior of every
face of a cell has one sign vector, and that two faces of two cells are one face of the
complex exactly when their sign vectors and tight domain rows agree. So the complex is
assembled from the cells (intervals and polygons of :func:`polyregions.cells.planar.planar_cells`,
polyhedra of :func:`polyregions.cells.cells3d.polyhedral_cells`) by computing, for every
vertex of every cell, which neurons vanish and which domain rows are tight, and deriving
every face's key from its vertices'; faces are merged by key, never by coordinates. A
vertex's coordinates are those of its first copy; ``max_vertex_spread`` reports how far its
copies in other cells lie (rounding: about 1e-16 times the coordinates' size).

Checks that come with it (each an independent count of the same tiling):

* the Euler characteristic ``f_0 - f_1 + f_2 - f_3`` of a subdivision of a convex domain is 1;
* the cells' lengths, areas or volumes add up to the domain's;
* every facet (a face of dimension ``d - 1``) lies in two cells, or in one on the domain's
  boundary: ``gaps`` counts interior facets with one cell (a region thinner than ``eps``
  dropped beside them), ``overlaps`` facets claimed by more than two.

Only cells holding a ball of radius ``eps`` are counted (the counting rule), so a region
thinner than ``eps`` leaves a gap: the checks then fail, as they should.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.slices import check_layers
from ..errors import UnsupportedError
from .planar import planar_cells
from .ternary import CellMaps, local_rows, tight_rows, vertex_signs

__all__ = ["COMPLEX_EPS", "Cell", "Faces", "PolyhedralComplex", "networkx_module", "polyhedral_complex"]

#: Default ``eps`` of the complex (input units): the counting rule's ``DEFAULT_EPS``.
COMPLEX_EPS = 1e-9
#: Cells processed together (their layer maps take about ``8 (d + 1) N`` bytes each).
BATCH_CELLS = 2048


@dataclass(frozen=True)
class Faces:
    """The faces of one dimension ``k`` of a complex.

    ``vertices[i]``: the face's vertex ids (an edge's two ends; a 2-face's cycle, counter-
    clockwise seen from outside its first cell; a cell's vertices); ``cells[i]``: the cells
    whose closure holds it; ``zero``: bit-packed ``(F, N)`` mask of the neurons whose
    pre-activation vanishes on the face; ``rows``: bit-packed ``(F, R)`` mask of the domain
    rows tight on it.
    """

    dim: int
    vertices: tuple
    cells: tuple
    zero: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    n_neurons: int = 0
    n_rows: int = 0

    def __len__(self):
        return len(self.vertices)

    def neurons(self, i) -> np.ndarray:
        """The neurons whose zero set holds face `i` (their pattern indices)."""
        return np.flatnonzero(np.unpackbits(self.zero[i], count=self.n_neurons))

    def domain_rows(self, i) -> np.ndarray:
        """The domain rows tight on face `i` (its boundary rows: the domain's ``rows()`` order)."""
        return np.flatnonzero(np.unpackbits(self.rows[i], count=self.n_rows))


@dataclass(frozen=True)
class Cell:
    """One cell: ``pattern`` (packed, as ``Region.pattern``), ``bits``, ``vertices`` (domain
    coordinates), ``volume`` (length, area or volume, input units) and ``facets``: per facet
    ``(face id, neurons, domain rows)``, the neurons being those whose zero set holds the
    facet and that are not identically zero on the cell (the neurons that make it)."""

    index: int
    pattern: np.ndarray
    bits: np.ndarray
    vertices: np.ndarray
    volume: float
    facets: tuple


@dataclass(frozen=True)
class PolyhedralComplex:
    """The cells of a network on a bounded domain and all their faces (module docstring).

    ``dim``: 1, 2 or 3; ``points``: vertex coordinates (domain coordinates: slice
    parameters on lines, planes and volumes, inputs otherwise); ``faces[k]``: the
    :class:`Faces` of dimension ``k`` (``faces[dim]`` are the cells); ``bits``: the cells'
    patterns; ``volumes``: their sizes; ``cell_facets[c]``: the facet ids of cell ``c``;
    ``domain_volume``; ``eps``; ``max_vertex_spread``: the largest distance (input units)
    between two copies of one vertex; ``sign_conflicts``: vertex evaluations whose sign
    contradicted their cell's pattern beyond the tolerance (0 when the cells are consistent).
    """

    dim: int
    points: np.ndarray
    faces: tuple
    bits: np.ndarray = field(repr=False)
    volumes: np.ndarray = field(repr=False)
    cell_facets: tuple = field(repr=False)
    domain_volume: float = 0.0
    eps: float = COMPLEX_EPS
    max_vertex_spread: float = 0.0
    sign_conflicts: int = 0
    _frame: tuple = field(repr=False, default=None)

    @property
    def f_vector(self) -> tuple:
        """``(f_0, ..., f_dim)``: the number of faces of each dimension."""
        return tuple(len(f) for f in self.faces)

    @property
    def euler_characteristic(self) -> int:
        """``sum_k (-1)^k f_k``: 1 for a subdivision of a convex domain."""
        return int(sum((-1) ** k * n for k, n in enumerate(self.f_vector)))

    @property
    def num_cells(self) -> int:
        return len(self.faces[self.dim])

    @property
    def total_volume(self) -> float:
        """The cells' sizes added up (compensated summation)."""
        import math

        return math.fsum(self.volumes.tolist())

    def _facet_cells(self):
        facets = self.faces[self.dim - 1]
        counts = np.array([len(c) for c in facets.cells])
        boundary = np.array([facets.rows[i].any() for i in range(len(facets))], dtype=bool)
        return counts, boundary

    @property
    def gaps(self) -> int:
        """Interior facets that lie in one cell only (a dropped thin region beside them)."""
        counts, boundary = self._facet_cells()
        return int(np.count_nonzero((counts == 1) & ~boundary))

    @property
    def overlaps(self) -> int:
        """Facets claimed by more than two cells, or boundary facets by more than one."""
        counts, boundary = self._facet_cells()
        return int(np.count_nonzero((counts > 2) | (boundary & (counts > 1))))

    def incidence(self, k) -> tuple:
        """Per cell, the ids of the faces of dimension `k` in its closure (sorted)."""
        cells = self.faces[k].cells
        counts = np.array([len(c) for c in cells], dtype=np.int64)
        face = np.repeat(np.arange(len(cells)), counts)
        return _group(face, np.concatenate(cells) if len(cells) else np.zeros(0, np.int64), self.num_cells)

    def to_input(self, points) -> np.ndarray:
        """Input coordinates of domain coordinates `points` (shape (M, dim))."""
        origin, Q, R, p0 = self._frame  # the working frame: x = origin + Q y, y = R (p - p0)
        y = (np.asarray(points, dtype=float) - p0) @ R.T
        return origin + y @ Q.T

    def cell(self, c) -> Cell:
        """Cell `c` with its vertices and its facets' makers."""
        c = int(c)
        cells = self.faces[self.dim]
        facets = self.faces[self.dim - 1]
        own_zero = np.unpackbits(cells.zero[c], count=cells.n_neurons).astype(bool)
        out = []
        for f in self.cell_facets[c]:
            zero = np.unpackbits(facets.zero[f], count=facets.n_neurons).astype(bool)
            out.append((int(f), np.flatnonzero(zero & ~own_zero), facets.domain_rows(f)))
        bits = self.bits[c]
        return Cell(c, np.packbits(bits), bits, self.points[cells.vertices[c]], float(self.volumes[c]), tuple(out))

    def dual_graph(self):
        """The cells as a ``networkx.Graph``, adjacent when they share a facet.

        Nodes are cell indices with attributes ``pattern`` (packed bytes), ``volume``; an
        edge carries ``face`` (the shared facet's id) and ``neurons`` (the neurons whose
        state differs between the two cells).
        """
        nx = networkx_module()
        g = nx.Graph()
        for c in range(self.num_cells):
            g.add_node(c, pattern=np.packbits(self.bits[c]).tobytes(), volume=float(self.volumes[c]))
        facets = self.faces[self.dim - 1]
        for f, cells in enumerate(facets.cells):
            if len(cells) == 2:
                a, b = int(cells[0]), int(cells[1])
                g.add_edge(a, b, face=f, neurons=tuple(np.flatnonzero(self.bits[a] != self.bits[b]).tolist()))
        return g


def networkx_module():
    """networkx, or UnsupportedError saying how to install it."""
    try:
        import networkx
    except ImportError:
        raise UnsupportedError("graphs need networkx: pip install 'polyregions[complex]'") from None
    return networkx


# ---------------------------------------------------------------------------------------------
# the cells of each dimension, as batches of (bits, vertex starts, vertices y, facet cycles, volumes)

def _planar_batches(net, domain, eps, R):
    """1-D and 2-D cells from the planar algorithm; facets are a cell's end points (1-D) or
    its edges (2-D), as ``(facet start per cell, vertex start per facet, vertex indices)``."""
    for bits, _, _, size, polys, _ in planar_cells(net, domain, eps):
        K = len(bits)
        if not K:
            continue
        start = getattr(polys, "start", None)  # polygons in one CSR array: no loop over cells
        if start is not None and np.array_equal(polys.idx, np.arange(K)) and len(start) == K + 1:
            vstart = np.asarray(start, dtype=np.int64) - start[0]
            y = np.asarray(polys.verts[start[0] : start[-1]], dtype=np.float64)
        else:
            verts = [np.asarray(polys[k][0], dtype=np.float64) for k in range(K)]
            vstart = np.concatenate([[0], np.cumsum([len(v) for v in verts])]).astype(np.int64)
            y = np.concatenate(verts)
        if y.shape[1] == 1:
            fidx = np.arange(len(y), dtype=np.int64)
            fptr = np.arange(len(y) + 1, dtype=np.int64)
        else:
            nxt = np.arange(len(y), dtype=np.int64) + 1
            nxt[vstart[1:] - 1] = vstart[:-1]
            fidx = np.column_stack([np.arange(len(y), dtype=np.int64), nxt]).ravel()
            fptr = np.arange(0, 2 * len(y) + 1, 2, dtype=np.int64)
        yield bits.astype(bool), vstart, y, vstart.copy(), fptr, fidx, np.asarray(size, dtype=np.float64)


def _volume_batches(net, domain, eps, R, p0):
    """3-D cells from :func:`polyregions.cells.cells3d.polyhedral_cells` (in batches)."""
    from .cells3d import polyhedral_cells

    batch = []
    for cell in polyhedral_cells(net, domain, eps):
        batch.append(cell)
        if len(batch) == BATCH_CELLS:
            yield _pack_cells(batch, R, p0)
            batch = []
    if batch:
        yield _pack_cells(batch, R, p0)


def _pack_cells(cells, R, p0):
    """Cells in the batch layout of :func:`_planar_batches`, vertices turned into the working
    coordinates ``y = R (p - p0)``."""
    bits = np.array([np.asarray(c.bits, dtype=bool) for c in cells])
    counts = np.array([len(c.vertices) for c in cells], dtype=np.int64)
    vstart = np.concatenate([[0], np.cumsum(counts)])
    y = (np.concatenate([np.asarray(c.vertices, dtype=np.float64) for c in cells]) - p0) @ R.T
    fcount = np.array([len(c.faces) for c in cells], dtype=np.int64)
    fstart = np.concatenate([[0], np.cumsum(fcount)])
    faces = [np.asarray(f, dtype=np.int64) + vstart[k] for k, c in enumerate(cells) for f in c.faces]
    fptr = np.concatenate([[0], np.cumsum([len(f) for f in faces])]).astype(np.int64)
    fidx = np.concatenate(faces)
    return bits, vstart, y, fstart, fptr, fidx, np.array([float(c.volume) for c in cells])


def _cycle_edges(fptr, fidx, fstart):
    """The edges of 3-D cells from their facet cycles: ``(edge vertex pairs (E, 2), owner
    cell of each edge)``, each edge of a cell once."""
    n = np.diff(fptr)
    nxt = np.arange(len(fidx), dtype=np.int64) + 1
    nxt[fptr[1:] - 1] = fptr[:-1]
    a, b = fidx, fidx[nxt]
    facet_cell = np.repeat(np.arange(len(fstart) - 1), np.diff(fstart))
    owner = np.repeat(facet_cell, n)
    pairs = np.column_stack([np.minimum(a, b), np.maximum(a, b)])
    _, first = np.unique(pairs, axis=0, return_index=True)  # vertex indices are global: one cell each
    first.sort()
    return pairs[first], owner[first]


class _Occurrences:
    """Face occurrences of one dimension over all batches: packed keys, owner cells, vertex lists."""

    def __init__(self):
        self.keys, self.owner, self.counts, self.idx = [], [], [], []

    def add(self, keys, owner, ptr, idx):
        self.keys.append(keys)
        self.owner.append(owner)
        self.counts.append(np.diff(ptr))
        self.idx.append(idx)

    def merged(self):
        """``(keys, owner, ptr, idx, first, inverse)``: ``first[f]`` is face ``f``'s first
        occurrence, ``inverse[i]`` the face of occurrence ``i``."""
        keys = np.ascontiguousarray(np.concatenate(self.keys))
        ptr = np.concatenate([[0], np.cumsum(np.concatenate(self.counts))]).astype(np.int64)
        flat = keys.view(np.dtype((np.void, keys.shape[1]))).ravel()
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
        return keys, np.concatenate(self.owner), ptr, np.concatenate(self.idx), first, inverse.reshape(-1)


def _face_keys(zero, tight, bits, owner, ptr, idx):
    """Keys (zero mask, positive mask, tight rows; each bit-packed) of the faces whose vertex
    occurrences are ``idx[ptr[i]:ptr[i + 1]]`` in cells ``owner``: a neuron vanishes on a
    face when it vanishes at all its vertices; elsewhere the face has its cell's sign."""
    starts = ptr[:-1]
    z = np.bitwise_and.reduceat(zero[idx], starts, axis=0)
    r = np.bitwise_and.reduceat(tight[idx], starts, axis=0)
    return np.concatenate([z, bits[owner] & ~z, r], axis=1)


def polyhedral_complex(net, domain, *, eps: float = COMPLEX_EPS) -> PolyhedralComplex:
    """The polyhedral complex of `net`'s regions on a bounded 1-, 2- or 3-D domain.

    Parameters
    ----------
    net : Network
        A ReLU network (dense or convolutional layers).
    domain : Line, Plane, Volume, or a bounded 1-, 2- or 3-D Box, Polytope, L1 / L-inf Ball
        The cells come from the planar algorithm (1-D, 2-D) or the 3-D cell splitting.
    eps : float
        Cells holding a ball (disc, segment) of radius `eps` are counted (input units).

    Returns
    -------
    PolyhedralComplex
        Its ``f_vector``, ``euler_characteristic`` (1 when the cells tile the domain),
        ``volumes`` (summing to ``domain_volume``), ``dual_graph()``, ``cell(c)``.

    Examples
    --------
    Two lines through the centre of a square make 4 cells, 4 + 1 + 4 vertices and 12 edges:

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> cx = pr.polyhedral_complex(net, pr.Box([-1, -1], [1, 1]))
    >>> cx.f_vector, cx.euler_characteristic
    ((9, 12, 4), 1)
    """
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    check_layers(net)
    origin, Q, R, p0 = domain.working_frame()
    dim = Q.shape[1]
    if dim > 3:
        raise UnsupportedError(f"`domain` has {dim} dimensions: the polyhedral complex is built in 1, 2 or 3 "
                               "(take a Line, a Plane or a Volume through the input space)")
    rows = local_rows(domain)
    if dim == 3:
        batches = _volume_batches(net, domain, eps, R, p0)
    else:
        batches = _planar_batches(net, domain, eps, R)
    return _assemble(net, domain, batches, dim, rows, (origin, Q, R, p0), eps)


def _assemble(net, domain, batches, dim, rows, frame, eps):
    origin, Q, R, p0 = frame
    N, nrows = net.num_neurons, rows[0].shape[0]
    occ = [_Occurrences() for _ in range(dim + 1)]
    ys, all_bits, volumes = [], [], []
    conflicts = v_off = c_off = 0
    for bits, vstart, y, fstart, fptr, fidx, vol in batches:
        K, T = len(bits), len(y)
        owner = np.repeat(np.arange(K), np.diff(vstart))
        zero, zsign = vertex_signs(CellMaps(net, origin, Q, bits), owner, y)
        conflicts += int(np.count_nonzero(~zero & (zsign != bits[owner])))
        zero, tight = np.packbits(zero, axis=1), np.packbits(tight_rows(rows, y), axis=1)
        cellzero = np.bitwise_and.reduceat(zero, vstart[:-1], axis=0)
        packed = np.packbits(bits, axis=1)
        every = np.arange(T + 1, dtype=np.int64)
        occ[0].add(_face_keys(zero, tight, packed, owner, every, every[:-1]), owner + c_off, every, every[:-1] + v_off)
        if dim >= 2:
            facet_cells = np.repeat(np.arange(K), np.diff(fstart))
            occ[dim - 1].add(_face_keys(zero, tight, packed, facet_cells, fptr, fidx), facet_cells + c_off, fptr,
                             fidx + v_off)
        if dim == 3:
            pairs, eowner = _cycle_edges(fptr, fidx, fstart)
            eptr = np.arange(0, 2 * len(pairs) + 1, 2, dtype=np.int64)
            occ[1].add(_face_keys(zero, tight, packed, eowner, eptr, pairs.ravel()), eowner + c_off, eptr,
                       pairs.ravel() + v_off)
        ckeys = np.concatenate([cellzero, packed & ~cellzero, np.zeros_like(tight, shape=(K, tight.shape[1]))], axis=1)
        occ[dim].add(ckeys, np.arange(K) + c_off, vstart, np.arange(T) + v_off)
        ys.append(y)
        all_bits.append(bits)
        volumes.append(vol)
        v_off += T
        c_off += K
    if c_off == 0:
        raise UnsupportedError("the domain holds no cell of radius `eps`")
    y = np.concatenate(ys)
    keys0, owner0, _, idx0, first0, vid = occ[0].merged()
    coords_y = y[idx0[first0]]
    spread = float(np.max(np.linalg.norm(y[idx0] - coords_y[vid], axis=1)))
    vertex_of = np.empty(len(y), dtype=np.int64)
    vertex_of[idx0] = vid
    faces = [_faces(0, keys0, owner0, None, None, first0, vid, N, nrows)]
    cell_facets = _group(vid, owner0, c_off) if dim == 1 else None
    for k in range(1, dim + 1):
        keys, owner, ptr, idx, first, inv = occ[k].merged()
        if k == dim:  # one occurrence per cell, distinct patterns: face c is cell c
            if len(first) != c_off:
                raise UnsupportedError("two cells share one pattern: the cells do not form a complex")
            first = inv = np.arange(c_off)
        faces.append(_faces(k, keys, owner, ptr, vertex_of[idx], first, inv, N, nrows))
        if k == dim - 1:
            cell_facets = _group(inv, owner, c_off)
    points = np.linalg.solve(R, coords_y.T).T + p0  # the domain's own coordinates (R = I, p0 = 0 outside a slice)
    return PolyhedralComplex(dim, points, tuple(faces), np.concatenate(all_bits), np.concatenate(volumes),
                             cell_facets, domain.measure(), eps, spread, conflicts, frame)


def _group(values, groups, n_groups):
    """Per group ``0 .. n_groups - 1``, the sorted distinct `values` of its members."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    keep = np.ones(len(g), dtype=bool)
    keep[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    g, v = g[keep], v[keep]
    bounds = np.searchsorted(g, np.arange(n_groups + 1))
    return tuple(v[bounds[i] : bounds[i + 1]] for i in range(n_groups))


def _faces(k, keys, owner, ptr, face_vertices, first, inverse, N, nrows):
    """The merged faces of dimension `k`: the vertex list of each face's first occurrence
    (``face_vertices[ptr[i]:ptr[i + 1]]``; a vertex is its own), incident cells, masks."""
    if ptr is None:
        verts = tuple(np.array([i]) for i in range(len(first)))
    else:
        verts = tuple(face_vertices[ptr[i] : ptr[i + 1]] for i in first)
    cells = _group(owner, inverse, len(first))
    nb = (N + 7) // 8
    rep = keys[first]
    return Faces(k, verts, cells, rep[:, :nb].copy(), rep[:, 2 * nb :].copy(), N, nrows)
