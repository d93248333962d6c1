"""Rows of affine maps, normalised without underflow.

A hyperplane ``g . x + c = 0`` is used through its unit normal: ``(g / |g|) . x + c / |g|``
is the signed Euclidean distance from ``x``. Squaring entries below about 1e-154
underflows to 0, so norms are taken on rows scaled by their largest entry first.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["ZERO_ROW_RTOL", "identity", "row_norms", "unit_rows"]

#: A pre-activation is constant on a node when its row's norm is at most this fraction of
#: the norm it would have without cancellation (``sum_k |W_jk| |M_k|``): the search's rule, which
#: the network composed on a slice applies too.
ZERO_ROW_RTOL = 1e-12


def row_norms(X) -> np.ndarray:
    """Euclidean norms of the rows of `X`, each row scaled by its largest entry first.

    Squaring entries below about 1e-154 underflows to 0; a scaled row has entries in
    [-1, 1] and a norm in [1, sqrt(n)], so ``|x| = max|x_k| |x / max|x_k||`` is exact to
    rounding for every representable row.
    """
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return np.zeros(X.shape[0])
    big = np.max(np.abs(X), axis=1)
    scaled = X / np.where(big > 0, big, 1.0)[:, None]
    return big * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))


def unit_rows(G, c):
    """Unit-normal rows ``Gh x + ch`` of ``G x + c`` and the rows' norms (0 for zero rows)."""
    norms = row_norms(G)
    safe = np.where(norms > 0, norms, 1.0)
    with np.errstate(over="ignore"):  # a huge offset over a tiny normal: the hyperplane is far away
        return G / safe[:, None], c / safe, norms


@lru_cache(maxsize=4)
def identity(n: int) -> np.ndarray:
    """The ``n x n`` identity, read-only and built once per ``n``: the input map of the root,
    ``h^0 = I x + 0``. The search recognises it by identity (``M is identity(n)``) and enters
    the first layer with ``G = W`` (``W @ I`` is ``W`` exactly: one product ``w * 1`` per entry,
    the other terms zero), without building or multiplying the ``n x n`` matrix."""
    eye = np.eye(n)
    eye.flags.writeable = False
    return eye
