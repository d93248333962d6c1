"""The compiled kernel of :func:`polyregions.cells.ternary.vertex_signs`: neurons' signs at points."""

from __future__ import annotations

import numpy as np

from ..solvers.jit import kernel


@kernel()
def signs_at(M, S, owner, y, rtol):
    """``(zero, pos)``: at each point ``y[t]`` of cell ``owner[t]``, whether each neuron's
    pre-activation ``z = M[k, j, :d] . y + M[k, j, d]`` is zero (``|z| <= rtol * s``, ``s`` the
    same with ``S`` and ``|y|``) and whether it is positive; ``M``, ``S`` of shape (K, N, d + 1)."""
    T, d = y.shape
    N = M.shape[1]
    zero = np.empty((T, N), np.bool_)
    pos = np.empty((T, N), np.bool_)
    for t in range(T):
        k = owner[t]
        for j in range(N):
            z = M[k, j, d]
            s = S[k, j, d]
            for i in range(d):
                z += M[k, j, i] * y[t, i]
                s += S[k, j, i] * abs(y[t, i])
            zero[t, j] = abs(z) <= rtol * s
            pos[t, j] = z > 0.0
    return zero, pos
