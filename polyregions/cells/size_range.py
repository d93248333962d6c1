"""Whether the cell algorithms' rounding bounds can hold a network's sizes on a domain.

The planar algorithm and cells3d decide every sign with a bound on its rounding error: a
pre-activation ``z_j(x)`` evaluated at a vertex ``x`` is taken as zero when
``|z_j(x)| <= tol * s_j(x)``, with ``s_j(x)`` the same affine map computed with absolute values
(the size of the terms summed), carried in float32 (:mod:`polyregions.cells.polygon`). When a
size overflows float32 (about 3.4e38), every tolerance is infinite, every sign reads as zero, and
the count is wrong (flagged as near ``eps``, but wrong). Sizes that large come from networks
with large weights or domains far out, which the search counts in float64.

Over a bounded domain, with ``r`` the per-coordinate bound ``|x| <= |origin| + |Q| max|y|`` of
its points (``x = origin + Q y`` its working frame, ``y`` over its frame's vertices), every size
of layer ``l`` is at most ``S_l = |W_l| S_{l-1} + |b_l|``, ``S_0 = r`` (all neurons on: an off
neuron's size is 0). :func:`size_range_reason` refuses the cell algorithms when some ``S_l``
exceeds :data:`SIZE_LIMIT` (computed in float64, where these products do not overflow before
float32's range is long passed).
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["SIZE_LIMIT", "size_range_reason"]

#: Largest size bound (:func:`size_range_reason`) the cell algorithms accept: 2^120, a factor
#: 2^8 inside float32's range, so that the kernels' own products of sizes with a tolerance
#: and a vertex's coordinates stay finite.
SIZE_LIMIT = 2.0 ** 120

_GROWTH = weakref.WeakKeyDictionary()


def _growth(net):
    """``(M, c, layer)``: every layer's size bound as ``S_l = M_l r + c_l`` (``M_l = |W_l| ... |W_1|``,
    ``c_l = |W_l| c_{l-1} + |b_l|``), stacked over the layers, with each row's layer; kept per network
    (a Network is immutable)."""
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
    """None when every size bound ``S_l`` of `net` over the bounded `domain` (module docstring)
    is at most :data:`SIZE_LIMIT`, else why not (one sentence)."""
    origin, Q, _, _ = domain.working_frame()
    M, c, layer = _growth(net)
    ymax = np.max(np.abs(np.asarray(domain.frame_vertices(), dtype=np.float64)), axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        size = M @ (np.abs(origin) + np.abs(Q) @ ymax) + c
    if size.max(initial=0.0) <= SIZE_LIMIT:  # False with a NaN (an infinite product with a zero)
        return None
    worst = int(np.argmax(np.where(np.isnan(size), np.inf, size)))
    return (f"the sizes of layer {layer[worst]}'s pre-activations on the domain reach {size[worst]:.3g}, beyond "
            f"the {SIZE_LIMIT:.3g} the cell algorithms' float32 rounding bounds hold (weights this large, or a "
            "domain this far out: method 'dfs' counts in float64)")
