"""The kernel of a small two-dimensional count in one compiled call
(:mod:`polyregions.cells.planar_small`): the first layer in the domain's frame, every layer's
splits (:func:`polyregions.cells.polygon.split_cells_kernel`), the next layers' maps by plain
loops, and the count's statistics."""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel
from .polygon import SCRATCH_ROWS_PER_NEURON, inradius, min_inradius, output_room, split_cells_kernel

__all__ = ["count_cells"]


@kernel()
def count_cells(verts, W1, b1, origin, Q, weights, abs_weights, widths, size_M, size_c, size_limit, eps, near, rtol):
    """``(count, min_radius, near_eps, nodes, status)``: the regions of a ReLU network on a convex
    polygon, by the planar algorithm's rules (:mod:`polyregions.cells.planar`).

    ``verts`` (m, 2): the domain's polygon in its frame's coordinates ``y`` (counter-clockwise);
    ``x = origin + Q y``; ``W1`` (n_1, D), ``b1``: the first layer; ``weights``: the later layers
    ``l`` as ``W_l^T`` (n_{l-1}, n_l) then ``b_l``, flattened one after the other, ``abs_weights``
    their absolute values in float32 (the sizes of the terms); ``widths``: ``n_1 .. n_L``;
    ``(size_M, size_c)``: the network's size bounds
    (:func:`polyregions.cells.size_range.size_growth`). ``status`` 1: a size bound on the domain,
    ``max((M |Q|)_j, (M |origin| + c)_j)``, exceeds ``size_limit`` (or is NaN); 2: the first layer
    overflows float64 on the domain (nothing counted then). The polygon's edge lines are
    :func:`polyregions.domains.base.polygon_lines`'. The first layer in ``y`` is ``G = W1 Q``,
    ``c = W1 origin + b1`` with sizes ``|W1| |Q|``, ``|W1| |origin| + |b1|``; a later layer's maps
    are the kept cells' maps, their off neurons zeroed, times ``W_l^T``, plus ``b_l`` (and the
    same with absolute values, float32).
    """
    n1, D = W1.shape
    m = verts.shape[0]
    for j in range(size_M.shape[0]):
        s0 = 0.0
        s1 = 0.0
        sc = size_c[j]
        for d in range(D):
            s0 += size_M[j, d] * abs(Q[d, 0])
            s1 += size_M[j, d] * abs(Q[d, 1])
        for d in range(D):
            sc += size_M[j, d] * abs(origin[d])
        if not (s0 <= size_limit and s1 <= size_limit and sc <= size_limit):  # False with a NaN
            return 0, np.inf, 0, 0, 1
    lines = np.empty((m, 3))  # edge i: from vertex i to i + 1, unit outward normal (a_0, a_1), a . y <= beta
    for i in range(m):
        i1 = (i + 1) % m
        e0, e1 = verts[i1, 0] - verts[i, 0], verts[i1, 1] - verts[i, 1]
        length = math.hypot(e0, e1)
        lines[i, 0], lines[i, 1] = e1 / length, -e0 / length
        lines[i, 2] = lines[i, 0] * verts[i, 0] + lines[i, 1] * verts[i, 1]
    A = np.empty((1, 3, n1))
    S = np.empty((1, 3, n1), np.float32)
    for j in range(n1):
        g0 = 0.0
        g1 = 0.0
        c = 0.0
        s0 = 0.0
        s1 = 0.0
        sc = 0.0
        for d in range(D):
            w = W1[j, d]
            g0 += w * Q[d, 0]
            g1 += w * Q[d, 1]
            c += w * origin[d]
            s0 += abs(w) * abs(Q[d, 0])
            s1 += abs(w) * abs(Q[d, 1])
            sc += abs(w) * abs(origin[d])
        c += b1[j]
        if not (math.isfinite(g0) and math.isfinite(g1) and math.isfinite(c)):
            return 0, np.inf, 0, 0, 2
        A[0, 0, j], A[0, 1, j], A[0, 2, j] = g0, g1, c
        S[0, 0, j], S[0, 1, j], S[0, 2, j] = s0, s1, sc + abs(b1[j])
    if not inradius(lines, verts, 0, m)[0] > eps:
        return 0, np.inf, 0, 0, 0
    start = np.zeros(2, np.int64)
    start[1] = m
    labels = -1 - np.arange(m)
    near_eps = 0
    nodes = 0
    label_base = 0
    offset = 0
    L = widths.size
    for l in range(L):
        n = widths[l]
        largest = 0
        for k in range(start.size - 1):
            largest = max(largest, start[k + 1] - start[k])
        room = max(64, SCRATCH_ROWS_PER_NEURON * (n + 4) * (largest + 8))
        cell_room, vert_room = output_room(start.size - 1, n, verts.shape[0])
        while True:  # the split from the first cell, with more room while it lacks some
            (start2, verts2, lines2, labels2, parent, bits, st, _,
             short) = split_cells_kernel(start, verts, lines, labels, A, S, label_base, eps, near, rtol, 0, room,
                                         cell_room, vert_room)
            if short == 0:
                break
            if short == 1:
                room *= 4
            else:
                cell_room, vert_room = 4 * cell_room, 4 * vert_room
        start, verts, lines, labels = start2, verts2, lines2, labels2
        near_eps += st[0]
        nodes += st[2]
        label_base += n
        if l + 1 == L or parent.size == 0:
            break
        n2 = widths[l + 1]
        WT = weights[offset:offset + n * n2].reshape((n, n2))
        aWT = abs_weights[offset:offset + n * n2].reshape((n, n2))
        b = weights[offset + n * n2:offset + n * n2 + n2]
        ab = abs_weights[offset + n * n2:offset + n * n2 + n2]
        offset += n * n2 + n2
        K = parent.size
        A2 = np.zeros((K, 3, n2))
        S2 = np.zeros((K, 3, n2), np.float32)
        for k in range(K):
            p = parent[k]
            for r in range(3):
                for j in range(n):
                    if bits[k, j]:  # an off neuron passes nothing on
                        a = A[p, r, j]
                        s = S[p, r, j]
                        for i in range(n2):
                            A2[k, r, i] += a * WT[j, i]
                            S2[k, r, i] += s * aWT[j, i]
            for i in range(n2):
                A2[k, 2, i] += b[i]
                S2[k, 2, i] += ab[i]
        A, S = A2, S2
    count = start.size - 1
    return count, min_inradius(start, lines, verts) if count > 0 else np.inf, near_eps, nodes, 0
