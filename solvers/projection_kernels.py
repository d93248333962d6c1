"""Compiled projection of a point onto a polyhedron, in the space of the rows.

``min |x - c|^2  s.t.  a_i . x <= b'_i`` (unit ``a_i``) by the dual active-set method of
Goldfarb and Idnani (1983) with the identity as Hessian. With the active set ``J`` and
multipliers ``u_J >= 0`` the point is ``x = c - A_J^T u_J``, so every quantity the method
needs is an inner product of rows: with the Gram matrix ``G = A A^T`` and ``h = A c``,

    slack_i = a_i . x - b'_i = h_i - G_iJ u_J - b'_i,     |x - c|^2 = u_J^T G_JJ u_J.

A step for a violated row ``p``: the dual direction ``r = G_JJ^-1 G_Jp``, the primal
curvature ``zz = G_pp - G_pJ r = |a_p - A_J^T r|^2``; the full step ``t2 = slack_p / zz``
makes ``p`` active, a partial step ``t1 = min u_j / r_j`` (``r_j > 0``) drops a row first.
When ``zz`` vanishes and no ``r_j`` is positive, ``a_p`` is a non-negative combination of
the active rows' outward normals reversed: the polyhedron is empty (the multipliers
``y_p = 1``, ``y_J = -r`` prove it). So a test costs ``O(m k + k^3)`` per step with ``m`` rows
and ``k`` active ones, after ``O(m n)`` to add a row's Gram entries.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import F1, F2, I1, kernel

OPTIMAL = 0
EMPTY = 1
ITERATION_LIMIT = 2
SINGULAR = 3

_CURVATURE_RTOL = 1e-12  # zz below this (relative to G_pp) means a_p lies in the active rows' span
_DUAL_TOL = 1e-12  # r_j above this blocks a partial step


@kernel(f"b1({F2}, {I1}, i8, {F1}, {F2}, {F1})", internal=True)
def _cholesky_solve(G, act, k, rhs, L, out):
    """``out = G_JJ^-1 rhs`` for ``J = act[:k]`` (Cholesky into ``L``); False when not positive definite."""
    for i in range(k):
        for j in range(i + 1):
            s = G[act[i], act[j]]
            for t in range(j):
                s -= L[i, t] * L[j, t]
            if i == j:
                if not s > 1e-14 * G[act[i], act[i]]:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    for i in range(k):
        s = rhs[i]
        for t in range(i):
            s -= L[i, t] * out[t]
        out[i] = s / L[i, i]
    for i in range(k - 1, -1, -1):
        s = out[i]
        for t in range(i + 1, k):
            s -= L[t, i] * out[t]
        out[i] = s / L[i, i]
    return True


@kernel(f"Tuple((i8, i8, f8, f8))({F2}, {F1}, {F1}, i8, f8, {I1}, i8, {F1}, i8, f8)")
def project(G, h, bv, m, mu, act, k, u, max_steps, feas_tol):
    """Project ``c`` onto ``{a_i . x <= bv_i - mu, i < m}`` starting from the active set
    ``act[:k]`` (its multipliers recomputed, negative ones dropped).

    Returns ``(status, k, dist2, t_up)``: OPTIMAL with ``act[:k]``, ``u[:k]`` the active set and
    multipliers, ``dist2 = |x - c|^2``; EMPTY with ``t_up`` an upper bound on
    ``max_{|x - c| <= r} min_i (bv_i - a_i . x)`` for ``r`` = ``u[0]`` on entry (the ball's radius).
    """
    radius = u[0]
    L = np.empty((m, m))
    rhs = np.empty(m)
    r = np.empty(m)
    s = np.empty(m)
    inact = np.ones(m, np.bool_)
    # multipliers of the starting active set; negative ones are dropped
    while True:
        for i in range(k):
            rhs[i] = h[act[i]] - bv[act[i]] + mu
        if k > 0 and not _cholesky_solve(G, act, k, rhs, L, u):
            return SINGULAR, k, 0.0, np.inf
        worst = -1
        for i in range(k):
            if u[i] < 0.0 and (worst < 0 or u[i] < u[worst]):
                worst = i
        if worst < 0:
            break
        act[worst] = act[k - 1]
        k -= 1
    for i in range(k):
        inact[act[i]] = False
    for i in range(m):
        v = h[i] - bv[i] + mu
        for j in range(k):
            v -= G[i, act[j]] * u[j]
        s[i] = v
    steps = 0
    while True:
        p = -1
        for i in range(m):
            if inact[i] and s[i] > feas_tol and (p < 0 or s[i] > s[p]):
                p = i
        if p < 0:
            d2 = 0.0
            for i in range(k):
                for j in range(k):
                    d2 += u[i] * G[act[i], act[j]] * u[j]
            return OPTIMAL, k, max(d2, 0.0), np.inf
        up = 0.0
        while True:
            steps += 1
            if steps > max_steps:
                return ITERATION_LIMIT, k, 0.0, np.inf
            for i in range(k):
                rhs[i] = G[act[i], p]
            if k > 0 and not _cholesky_solve(G, act, k, rhs, L, r):
                return SINGULAR, k, 0.0, np.inf
            zz = G[p, p]
            for i in range(k):
                zz -= G[p, act[i]] * r[i]
            t1 = np.inf
            jb = -1
            for i in range(k):
                if r[i] > _DUAL_TOL and u[i] / r[i] < t1:
                    t1 = u[i] / r[i]
                    jb = i
            t2 = s[p] / zz if zz > _CURVATURE_RTOL * G[p, p] else np.inf
            if t1 == np.inf and t2 == np.inf:
                # empty: y_p = 1, y_J = -r >= 0 combine the normals to z, |z|^2 = zz ~ 0;
                # for |x - c| <= radius:  min_i slack_i <= (sum y (bv - h) + |z| radius) / sum y
                num = bv[p] - h[p]
                den = 1.0
                for i in range(k):
                    y = -r[i] if r[i] < 0.0 else 0.0
                    num += y * (bv[act[i]] - h[act[i]])
                    den += y
                num += math.sqrt(max(zz, 0.0)) * radius
                return EMPTY, k, 0.0, num / den
            t = min(t1, t2)
            for i in range(k):
                u[i] -= t * r[i]
            up += t
            for i in range(m):
                gz = G[i, p]
                for j in range(k):
                    gz -= G[i, act[j]] * r[j]
                s[i] -= t * gz
            if t == t2:
                act[k] = p
                u[k] = up
                inact[p] = False
                k += 1
                break
            # partial step: row act[jb] leaves the active set
            inact[act[jb]] = True
            act[jb] = act[k - 1]
            u[jb] = u[k - 1]
            k -= 1
