"""The plain baseline: recursive DFS with one ``scipy.optimize.linprog(method="highs")`` per child.

No witness, no persistent model, no pruning: each child (neuron on / off) of each node is
tested by a fresh Chebyshev LP over the node's rows and the box. This is how region
counting is commonly written; the benchmarks report polyregions' speed as a ratio to it.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linprog


def baseline_count(net, lo, hi, eps=1e-7, time_limit=None):
    """Return ``(count, lp_solves, seconds, complete)`` for the box ``lo <= x <= hi``."""
    n = lo.size
    rows_A, rows_b = [], []
    box_A = np.vstack([np.eye(n), -np.eye(n)])
    box_b = np.concatenate([hi, -lo])
    state = {"count": 0, "lps": 0}
    t0 = time.perf_counter()
    layers = net.hidden

    class Stop(Exception):
        pass

    def feasible():
        A = np.vstack([box_A] + rows_A) if rows_A else box_A
        b = np.concatenate([box_b] + [np.atleast_1d(v) for v in rows_b]) if rows_b else box_b
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        cost = np.zeros(n + 1)
        cost[-1] = -1.0
        state["lps"] += 1
        res = linprog(cost, A_ub=np.hstack([A, norms]), b_ub=b, bounds=[(None, None)] * (n + 1), method="highs")
        return res.status == 0 and res.x[-1] > eps

    def dfs(l, j, M, m, bits):
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            raise Stop
        if l == len(layers):
            state["count"] += 1
            return
        W, b = layers[l]
        if j == W.shape[0]:
            beta = np.array(bits, dtype=float)
            dfs(l + 1, 0, beta[:, None] * (W @ M), beta * (W @ m + b), [])
            return
        g = W[j] @ M
        c = W[j] @ m + b[j]
        for on in (1, 0):
            # on: z >= 0  ->  -g.x <= c ; off: z <= 0  ->  g.x <= -c
            rows_A.append((-g if on else g)[None, :])
            rows_b.append(c if on else -c)
            if feasible():
                dfs(l, j + 1, M, m, bits + [on])
            rows_A.pop()
            rows_b.pop()

    complete = True
    try:
        dfs(0, 0, np.eye(n), np.zeros(n), [])
    except Stop:
        complete = False
    return state["count"], state["lps"], time.perf_counter() - t0, complete
