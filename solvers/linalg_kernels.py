"""Compiled dense linear algebra shared by the simplex kernels: a basis inverse by Gauss-Jordan, a row's dot product."""

from __future__ import annotations

from .jit import F1, F2, kernel


@kernel(f"b1({F2}, {F2}, f8)", internal=True)
def gauss_jordan(W, Binv, singular_tol):
    """``Binv = W^-1`` by Gauss-Jordan with partial pivoting (``W`` is overwritten); False
    when a pivot falls below `singular_tol`."""
    m = W.shape[0]
    for i in range(m):
        for j in range(m):
            Binv[i, j] = 1.0 if i == j else 0.0
    for c in range(m):
        p = c
        best = abs(W[c, c])
        for r in range(c + 1, m):
            if abs(W[r, c]) > best:
                best = abs(W[r, c])
                p = r
        if not best >= singular_tol:
            return False
        if p != c:
            for j in range(m):
                W[c, j], W[p, j] = W[p, j], W[c, j]
                Binv[c, j], Binv[p, j] = Binv[p, j], Binv[c, j]
        inv = 1.0 / W[c, c]
        for j in range(m):
            W[c, j] *= inv
            Binv[c, j] *= inv
        for r in range(m):
            if r != c:
                f = W[r, c]
                if f != 0.0:
                    for j in range(m):
                        W[r, j] -= f * W[c, j]
                        Binv[r, j] -= f * Binv[c, j]
    return True


@kernel(f"f8({F2}, i8, {F1}, i8)", internal=True, fastmath={"reassoc", "contract"}, refcounts=False)
def dot_row(R, i, x, n):
    """``R[i, :n] . x[:n]`` (summed in any order: vectorised)."""
    s = 0.0
    for j in range(n):
        s += R[i, j] * x[j]
    return s
