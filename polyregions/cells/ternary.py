"""Sign vectors of points in cells: which neurons vanish there, which domain rows are tight.

The faces of the polyhedral complex of a ReLU network are told apart by their **sign
vectors**. For a point ``x`` let ``s_j(x)`` in {-1, 0, +1} be the sign of neuron ``j``'s
pre-activation. Given a sign vector ``s`` every layer's map is fixed (a neuron at zero passes
0, as an off one does), so ``{x : sign(z(x)) = s}`` is an intersection of open half-spaces and
hyperplanes: a relatively open convex set. Inside a cell ``C`` (a region, with the signs
``t_C``) the pre-activations are affine on the closure, and an affine function of one sign on
a polytope is either identically zero on a face or of that sign on the face's relative
interior; so every face ``F`` of a cell's closure has one sign vector on its relative
interior: ``s_j(F) = 0`` when ``z_j`` vanishes at every vertex of ``F``, else ``t_C,j``. Two
faces of two cells are the same face of the complex exactly when their sign vectors (and
their sets of tight domain rows) agree: identity is decided combinatorially, from the
zero decisions at the vertices, never by comparing coordinates.

The zero decision at a vertex is the planar algorithm's: ``|z| <= ZERO_RTOL * s`` with ``s``
the size of the terms summed (the same recurrence with absolute values,
:data:`polyregions.cells.polygon.ZERO_RTOL`); a domain row ``a . y <= b`` (unit ``a``) is
tight when ``|a . y - b| <= ZERO_RTOL * (|y|_1 + |b|)``.

Cells are given in orthonormal local coordinates ``y`` (``x = origin + Q y``,
:func:`polyregions.domains.slices.frame_of`).
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np

from ..domains.convex import Ball, Box, Line, Plane, Polytope, Slice
from ..errors import UnsupportedError
from .polygon import ZERO_RTOL
from .sign_kernels import signs_at

__all__ = ["CellMaps", "local_rows", "vertex_signs"]


class CellMaps:
    """Every layer's pre-activation maps on a batch of cells, in local coordinates.

    ``maps[l]`` has shape ``(n_l, K, d + 1)``: ``z = maps[l][j, k, :d] . y + maps[l][j, k, d]``
    for neuron ``j`` of layer ``l`` on cell ``k``; ``sizes[l]`` the same recurrence with
    absolute values (the size of the terms summed). The cells' patterns fix the maps: off
    neurons pass nothing on.
    """

    def __init__(self, net, origin, Q, bits):
        bits = np.asarray(bits, dtype=bool)
        K = bits.shape[0]
        W, b = net.hidden[0]
        absW = abs(W)
        G = np.asarray(W @ Q, dtype=np.float64)  # (n1, d)
        c = np.asarray(W @ origin, dtype=np.float64) + b
        Gs = np.asarray(absW @ np.abs(Q), dtype=np.float64)
        cs = np.asarray(absW @ np.abs(origin), dtype=np.float64) + np.abs(b)
        A = np.broadcast_to(np.column_stack([G, c])[:, None, :], (G.shape[0], K, G.shape[1] + 1))
        S = np.broadcast_to(np.column_stack([Gs, cs])[:, None, :], A.shape)
        self.maps, self.sizes = [A], [S]
        offset = 0
        for W, b in net.hidden[1:]:
            n = A.shape[0]
            beta = bits[:, offset : offset + n].T[:, :, None]  # (n, K, 1)
            offset += n
            A = self._next(W, np.where(beta, A, 0.0), b)
            S = self._next(abs(W), np.where(beta, S, 0.0), np.abs(b))
            self.maps.append(A)
            self.sizes.append(S)

    @staticmethod
    def _next(W, A, b):
        n, K, e = A.shape
        out = np.asarray(W @ A.reshape(n, K * e), dtype=np.float64).reshape(-1, K, e)
        out[:, :, -1] += b[:, None]
        return out


def vertex_signs(maps: CellMaps, owner, y):
    """Signs of every neuron at points ``y`` (T, d) of cells ``owner`` (T,): ``(zero, z_sign)``,
    boolean ``(T, N)`` arrays (zero within ``ZERO_RTOL``; ``z_sign`` True where ``z > 0``)."""
    M = np.ascontiguousarray(np.concatenate(maps.maps, axis=0).transpose(1, 0, 2))
    S = np.ascontiguousarray(np.concatenate(maps.sizes, axis=0).transpose(1, 0, 2))
    return signs_at(M, S, np.ascontiguousarray(owner, dtype=np.int64), np.ascontiguousarray(y, dtype=np.float64),
                    ZERO_RTOL)




def local_rows(domain, R):
    """The domain's rows ``A y <= b`` (unit normals) in its local orthonormal coordinates
    ``y`` (``y = R p`` for a slice with parameters ``p``), for the bounded polyhedral domains
    of one to three dimensions; raises UnsupportedError for the others."""
    if isinstance(domain, Line):
        A, b = np.array([[1.0], [-1.0]]), np.array([domain.length, 0.0])
    elif isinstance(domain, Slice):
        if not domain.bounded:
            raise UnsupportedError("`domain`: the unbounded plane has no cells (give `lo` and `hi`)")
        Rinv = np.linalg.inv(R)
        A, b = np.vstack([Rinv, -Rinv]), np.concatenate([domain.hi, -domain.lo])
    elif isinstance(domain, Ball) and domain.p == 1:
        signs = np.array(list(product((1.0, -1.0), repeat=domain.dim)))  # the order of cells3d.domain_rows
        A, b = signs, signs @ domain.center + domain.radius
    elif isinstance(domain, Ball) and domain.p == 2:
        if domain.dim != 1:
            raise UnsupportedError("`domain`: an L2 ball is not a polytope (its cells are not polyhedra)")
        c, r = float(domain.center[0]), domain.radius
        A, b = np.array([[1.0], [-1.0]]), np.array([c + r, r - c])
    elif isinstance(domain, (Box, Ball, Polytope)):
        if not domain.bounded:
            raise UnsupportedError("`domain`: an unbounded polytope has unbounded cells")
        A, b = domain.rows()
    else:
        raise UnsupportedError(f"`domain`: {type(domain).__name__} is not a bounded polyhedral domain")
    norms = np.linalg.norm(A, axis=1)
    return A / norms[:, None], b / norms


def tight_rows(rows, y):
    """Boolean ``(T, R)``: the domain rows tight at the points ``y`` (module docstring)."""
    A, b = rows
    resid = y @ A.T - b
    return np.abs(resid) <= ZERO_RTOL * (np.abs(y).sum(axis=1)[:, None] + np.abs(b) + 1e-300)


def domain_volume(domain, rows) -> float:
    """The domain's length, area or volume (input units), from closed forms where they exist,
    else from its vertices (``scipy.spatial`` over the rows' intersection)."""
    if isinstance(domain, Line):
        return domain.length
    if isinstance(domain, Slice):
        _, _, R = domain.frame()
        return float(abs(np.linalg.det(R)) * np.prod(domain.hi - domain.lo))
    if isinstance(domain, Box):
        return float(np.prod(domain.hi - domain.lo))
    if isinstance(domain, Ball):
        d, r = domain.dim, domain.radius
        return float((2 * r) ** d / (math.factorial(d) if domain.p == 1 else 1))
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    A, b = rows
    if A.shape[1] == 1:
        return float(np.min(b[A[:, 0] > 0] / A[A[:, 0] > 0, 0]) + np.min(b[A[:, 0] < 0] / -A[A[:, 0] < 0, 0]))
    pts = HalfspaceIntersection(np.column_stack([A, -b]), domain.center_point()).intersections
    return float(ConvexHull(pts).volume)
