"""Whether the cell algorithms' rounding bounds can hold a network's sizes on a domain.

The planar algorithm and cells3d decide every sign with a bound on its rounding error: a
pre-activation ``z_j(y) = g_j . y + c_j`` (``y`` the frame's coordinates) evaluated at a vertex is
taken as zero when ``|z_j(y)| <= tol * (|g|_j . |y| + |c|_j)``, with ``(|g|_j, |c|_j)`` the same
affine map composed with absolute values (the sizes of the terms summed), carried in float32
(:mod:`polyregions.cells.polygon`). When such a size overflows float32 (about 3.4e38), the
tolerances are infinite, signs read as zero, and the count is wrong (flagged as near ``eps``,
but wrong). Sizes that large come from networks with large weights, or domains whose frame
starts far out, which the search counts in float64.

With ``x = origin + Q y`` the domain's working frame, layer ``l``'s sizes are at most (all
neurons on: an off neuron's are 0) ``M_l |Q|`` for the coefficients of ``y`` and
``M_l |origin| + c_l`` for the constant, with ``M_l = |W_l| ... |W_1|`` and
``c_l = |W_l| c_{l-1} + |b_l|``, ``c_0 = 0``. :func:`size_range_reason` refuses the cell
algorithms when one of them exceeds :data:`SIZE_LIMIT` (computed in float64, far past
float32's range before it overflows).
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["SIZE_LIMIT", "size_growth", "size_range_reason"]

#: Largest size bound (:func:`size_range_reason`) the cell algorithms accept: 2^120, a factor
#: 2^8 inside float32's range, so that the kernels' own products of sizes with a tolerance
#: and a vertex's coordinates stay finite.
SIZE_LIMIT = 2.0 ** 120

_GROWTH = weakref.WeakKeyDictionary()


def size_growth(net):
    """``(M, c, layer)``: every layer's size bound as ``S_l = M_l r + c_l`` (``M_l = |W_l| ... |W_1|``,
    ``c_l = |W_l| c_{l-1} + |b_l|``), stacked over the layers (``M`` C-contiguous), with each row's
    layer; kept per network (a Network is immutable)."""
    growth = _GROWTH.get(net)
    if growth is None:
        M, c, blocks = None, None, []
        with np.errstate(over="ignore", invalid="ignore"):
            for W, b in net.hidden:
                A = np.abs(np.asarray(W, dtype=np.float64))
                M, c = (A, np.abs(b)) if M is None else (A @ M, A @ c + np.abs(b))
                blocks.append((M, c))
        layer = np.concatenate([np.full(len(c), l + 1) for l, (_, c) in enumerate(blocks)])
        growth = _GROWTH[net] = (np.vstack([M for M, _ in blocks]), np.concatenate([c for _, c in blocks]), layer)
    return growth


def size_range_reason(net, domain) -> str | None:
    """None when every size bound of `net` in `domain`'s working frame (module docstring) is at
    most :data:`SIZE_LIMIT`, else why not (one sentence)."""
    origin, Q, _, _ = domain.working_frame()
    M, c, layer = size_growth(net)
    with np.errstate(over="ignore", invalid="ignore"):
        size = np.maximum((M @ np.abs(Q)).max(axis=1, initial=0.0), M @ np.abs(origin) + c)
    if size.max(initial=0.0) <= SIZE_LIMIT:  # False with a NaN (an infinite product with a zero)
        return None
    worst = int(np.argmax(np.where(np.isnan(size), np.inf, size)))
    return (f"the sizes of layer {layer[worst]}'s pre-activations on the domain reach {size[worst]:.3g}, beyond "
            f"the {SIZE_LIMIT:.3g} the cell algorithms' float32 rounding bounds hold (weights this large, or a "
            "domain this far out: method 'dfs' counts in float64)")
