"""The level set ``f = level`` of a scalar network output, exactly, as a mesh.

On every cell of the complex (:mod:`polyregions.cells.complex`) the output is affine, so the
level set inside a cell is the cell cut by a plane: a convex polygon in 3-D, a segment in
2-D. Its vertices are the complex's vertices where ``f = level`` and the crossings of the
complex's edges whose ends lie strictly on opposite sides, at ``a + t (b - a)`` with
``t = f_a / (f_a - f_b)``. Both are named by the complex's vertex or edge, so neighbouring
cells share them and the mesh is watertight wherever the level set stays inside the domain
(no coordinates are compared). ``f`` is evaluated once per complex vertex by the network
itself; it counts as ``level`` when ``|f - level| <= ZERO_RTOL * s``, ``s`` the size of the
terms summed (the network evaluated with absolute weights and biases).

In 3-D each cell's polygon is ordered around its centre in its plane and split into a fan of
triangles facing the side where ``f > level`` (outward for a signed distance function that
is positive outside). A face of the complex on which ``f = level`` is produced by both its
cells and kept once; a cell on which ``f`` is identically ``level`` (a solid piece of the
level set) is reported in ``flat_cells`` and left out (a face it shares with a cell where
``f`` is not constant is that cell's level set, and is kept). The mesh is written through
``trimesh`` (PLY, OBJ, STL, ... by the file's suffix): a small, widely used library (numpy
its only requirement) whose ``Trimesh`` also answers the questions users ask of such a mesh
(``is_watertight``, ``area``, ``volume``); ``pip install 'polyregions[complex]'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import finite_number, net_and_domain
from ..errors import InvalidInputError, UnsupportedError
from .complex import COMPLEX_EPS, PolyhedralComplex, polyhedral_complex
from .polygon import ZERO_RTOL

__all__ = ["LevelSet", "level_set"]


@dataclass(frozen=True)
class LevelSet:
    """The level set of a scalar output: ``vertices`` (V, dim) in domain coordinates,
    ``faces`` (T, 3) triangles in 3-D or (T, 2) segments in 2-D, ``cells`` the cell of
    each face, ``flat_cells`` the cells on which the output is identically the level."""

    vertices: np.ndarray
    faces: np.ndarray
    cells: np.ndarray = field(repr=False)
    flat_cells: np.ndarray = field(repr=False)
    level: float = 0.0

    def to_trimesh(self):
        """A ``trimesh.Trimesh`` of the triangles (3-D only), vertices as computed (not merged)."""
        if self.faces.shape[1] != 3:
            raise UnsupportedError("a 2-D level set is made of segments, not triangles")
        try:
            import trimesh
        except ImportError:
            raise UnsupportedError("meshes need trimesh: pip install 'polyregions[complex]'") from None
        return trimesh.Trimesh(vertices=self.vertices, faces=self.faces, process=False)

    def write(self, path) -> None:
        """Write the mesh to `path`; its suffix names the format (``.ply``, ``.obj``, ``.stl``)."""
        suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
        if suffix not in ("ply", "obj", "stl", "off", "glb"):
            raise InvalidInputError(f"`path` must end in .ply, .obj, .stl, .off or .glb, got {str(path)!r}")
        self.to_trimesh().export(str(path), file_type=suffix)


def _values(net, cx, level):
    """``(f - level, zero)`` at every complex vertex."""
    x = cx.to_input(cx.points)
    h, s = x, np.abs(x)
    for W, b in net.hidden:
        z = np.asarray(h @ W.T) + b
        s = np.asarray(s @ abs(W).T) + np.abs(b)
        h = np.maximum(z, 0.0)
    W, b = net.output
    f = np.asarray(h @ W.T)[:, 0] + b[0] - level
    size = np.asarray(s @ abs(W).T)[:, 0] + abs(b[0]) + abs(level)
    return f, np.abs(f) <= ZERO_RTOL * size


def _check_scalar(net):
    if net.output is None:
        raise InvalidInputError("`net` must have a scalar output (an output layer with one row) for a level set; "
                                "it has no output layer")
    if net.output[0].shape[0] != 1:
        raise InvalidInputError(f"`net` must have a scalar output for a level set, got {net.output[0].shape[0]} "
                                "outputs (take one row of the output layer)")


def level_set(net, domain, *, level: float = 0.0, eps: float = COMPLEX_EPS,
              complex: PolyhedralComplex | None = None) -> LevelSet:
    """The set ``f(x) = level`` of `net`'s scalar output on a bounded 2-D or 3-D domain.

    Parameters
    ----------
    net : Network
        With an output layer of one row (a signed distance function, a logit).
    domain : as for :func:`polyregions.polyhedral_complex` (2-D or 3-D)
    level : float
    eps : float
        Passed to :func:`polyregions.polyhedral_complex` (ignored when `complex` is given).
    complex : PolyhedralComplex, optional
        The complex of `net` on `domain`, if already computed.

    Returns
    -------
    LevelSet
        Triangles (3-D) or segments (2-D); ``write("mesh.ply")`` saves it.
    """
    net_and_domain(net, domain)
    _check_scalar(net)
    level = finite_number(level, "level")
    cx = polyhedral_complex(net, domain, eps=eps) if complex is None else complex
    if not isinstance(cx, PolyhedralComplex):
        raise InvalidInputError(f"`complex` must be a PolyhedralComplex, got {type(cx).__name__}")
    if cx.dim == 1:
        raise UnsupportedError("`domain` is one-dimensional: its level set is a set of points (the vertices "
                               "of the complex where the output crosses the level)")
    f, zero = _values(net, cx, level)
    P = cx.points
    # level-set vertices: complex vertices at the level, then crossings of edges
    vid = np.full(len(P), -1, dtype=np.int64)
    vid[zero] = np.arange(np.count_nonzero(zero))
    pts = [P[zero]]
    ends = np.array([e for e in cx.faces[1].vertices]).reshape(-1, 2)
    fa, fb = f[ends[:, 0]], f[ends[:, 1]]
    cross = ~zero[ends[:, 0]] & ~zero[ends[:, 1]] & ((fa > 0) != (fb > 0))
    eid = np.full(len(ends), -1, dtype=np.int64)
    eid[cross] = len(pts[0]) + np.arange(np.count_nonzero(cross))
    t = (fa / (fa - np.where(cross, fb, fa - 1.0)))[cross]
    a, b = P[ends[cross, 0]], P[ends[cross, 1]]
    pts.append(a + t[:, None] * (b - a))
    verts = np.concatenate(pts)
    cell_vertices = cx.faces[cx.dim].vertices
    cell_edges = cx.incidence(1)
    faces, owners, flat, seen = [], [], [], set()
    for c in range(cx.num_cells):
        cv = cell_vertices[c]
        if np.all(zero[cv]):
            flat.append(c)
            continue
        ids = np.concatenate([vid[cv][zero[cv]], eid[cell_edges[c]][cross[cell_edges[c]]]])
        if len(ids) < cx.dim:
            continue
        key = tuple(sorted(ids.tolist()))
        if key in seen:
            continue  # a face of the complex at the level: its other cell gave it already
        seen.add(key)
        k = int(np.argmax(np.abs(f[cv])))
        up = np.sign(f[cv][k]) * (P[cv][k] - verts[ids].mean(axis=0))  # towards f > level
        if cx.dim == 2:
            faces.append(_segment(verts, ids, up))
        else:
            faces.extend(_fan(verts, ids, up))
            owners.extend([c] * (len(ids) - 3))
        owners.append(c)
    shape = (0, cx.dim)
    return LevelSet(verts, np.array(faces, dtype=np.int64).reshape(shape) if not faces else np.array(faces),
                    np.array(owners, dtype=np.int64), np.array(flat, dtype=np.int64), level)


def _segment(verts, ids, up):
    """The two ends (a cell's level set in 2-D is a segment), ordered so that ``f > level``
    lies to the right of ``a -> b`` (outward normal ``(dy, -dx)``)."""
    if len(ids) != 2:
        d = verts[ids] - verts[ids].mean(axis=0)
        axis = np.linalg.svd(d)[2][0]
        ids = np.array([ids[np.argmin(d @ axis)], ids[np.argmax(d @ axis)]])
    a, b = verts[ids[0]], verts[ids[1]]
    normal = np.array([b[1] - a[1], a[0] - b[0]])
    return [ids[0], ids[1]] if normal @ up >= 0 else [ids[1], ids[0]]


def _fan(verts, ids, up):
    """The convex polygon of `ids` (coplanar) as a fan of triangles, counter-clockwise seen
    from the side `up` points to."""
    p = verts[ids]
    centre = p.mean(axis=0)
    d = p - centre
    normal = np.linalg.svd(d)[2][2]
    if normal @ up < 0:
        normal = -normal
    e1 = d[np.argmax(np.linalg.norm(d, axis=1))]
    e1 = e1 / np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    order = ids[np.argsort(np.arctan2(d @ e2, d @ e1))]
    return [[order[0], order[i], order[i + 1]] for i in range(1, len(order) - 1)]
