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
:meth:`polyregions.domains.base.Domain.frame`).
"""

from __future__ import annotations


import numpy as np

from ..errors import UnsupportedError
from .polygon import ZERO_RTOL
from .sign_kernels import signs_at

__all__ = ["CellMaps", "local_rows", "tight_rows", "vertex_signs"]


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




def local_rows(domain):
    """The domain's rows ``A y <= b`` (unit normals) in its local orthonormal coordinates ``y``
    (:meth:`~polyregions.domains.base.Domain.frame_rows`), for the domains that are bounded
    polyhedra there; raises UnsupportedError naming why for the others
    (:meth:`~polyregions.domains.base.Domain.polyhedron_reason`)."""
    reason = domain.polyhedron_reason()
    if reason is not None:
        raise UnsupportedError(f"`domain`: {reason}: it has no cells")
    return domain.frame_rows()


def tight_rows(rows, y):
    """Boolean ``(T, R)``: the domain rows tight at the points ``y`` (module docstring)."""
    A, b = rows
    resid = y @ A.T - b
    return np.abs(resid) <= ZERO_RTOL * (np.abs(y).sum(axis=1)[:, None] + np.abs(b) + 1e-300)


