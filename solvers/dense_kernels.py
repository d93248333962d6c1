"""Compiled kernels of the dense dual simplex (:mod:`polyregions.solvers.numba_lp`).

:func:`chebyshev_test` solves the Chebyshev LP of one stack level from the nearest solved
ancestor's basis (the backend's docstring states the method); the statuses below say why a
test goes to HiGHS instead.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import F1, F2, F3, I1, I2, kernel
from .linalg_kernels import gauss_jordan

# compiled-side tolerances (rows of A' have norm about sqrt(2))
_FEAS_TOL = 1e-11  # primal violation accepted at the optimum
_PIVOT_TOL = 1e-9  # smallest |w_i| a ratio test pivots on
_HARRIS_TOL = 1e-12  # Harris ratio-test slack on the multipliers
_DUAL_TOL = 1e-9  # smallest multiplier accepted as non-negative; multipliers above it are "in use"
_RESID_TOL = 1e-9  # residuals of B y = b_B and B^T lam = e_t accepted at the optimum
_SINGULAR_TOL = 1e-11  # smallest pivot of a refactorisation

# statuses
OK = 0
ITERATION_LIMIT = 1
SINGULAR = 2
NO_RATIO = 3
CHECK_FAILED = 4
ARTIFICIAL = 5
# reasons to hand a solved test to HiGHS (besides a failed status)
NEAR_THRESHOLD = 6
WITNESS_BELOW_EPS = 7
#: Why a test goes to HiGHS, by status or decision code.
STATUS_NAMES = {
    ITERATION_LIMIT: "iteration limit",
    SINGULAR: "singular basis",
    NO_RATIO: "no ratio-test pivot",
    CHECK_FAILED: "residual or dual check failed",
    ARTIFICIAL: "artificial row in use",
    NEAR_THRESHOLD: "optimum near a decision threshold",
    WITNESS_BELOW_EPS: "witness radius below eps",
}
# decisions taken without HiGHS
DECIDED_KEEP = -1
DECIDED_DROP = -2


@kernel(f"b1({F2}, {I1}, {F2})", internal=True)
def _invert(R, basis, Binv):
    """``Binv = R[basis]^{-1}`` by Gauss-Jordan with partial pivoting; False when singular."""
    N = basis.shape[0]
    W = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            W[i, j] = R[basis[i], j]
    return gauss_jordan(W, Binv, _SINGULAR_TOL)


@kernel(f"UniTuple(i8, 3)({F2}, {F1}, i8, i8, i8, {I1}, {F2}, i8, {F1}, i8, i8, i8, f8)", internal=True)
def _solve(R, bv, m, art_lo, art_hi, basis, Binv, since, y, max_pivots, refactor_every, bland_after, scale):
    """Dual simplex from the dual-feasible basis ``basis`` (inverse ``Binv``, updated
    ``since`` times since its last refactorisation) over rows ``0..m-1``; ``scale``: the
    size of the right-hand sides, which the primal tolerances scale with.

    Returns ``(status, pivots, since)``; ``y`` receives the vertex ``(x, t)``.
    """
    N = R.shape[1]
    n = N - 1
    isb = np.zeros(m, np.bool_)
    for i in range(N):
        isb[basis[i]] = True
    w = np.empty(N)
    wt = np.empty(N)
    lam = np.empty(N)
    feas_tol = _FEAS_TOL * scale
    resid_tol = _RESID_TOL * scale
    pivots = 0
    status = OK
    if since >= refactor_every:
        if not _invert(R, basis, Binv):
            return SINGULAR, pivots, since
        since = 0
    while True:
        # primal vertex y = B^{-1} b_B
        for i in range(N):
            s = 0.0
            for j in range(N):
                s += Binv[i, j] * bv[basis[j]]
            y[i] = s
        # entering row: the violated non-basic row of largest s_r^2 / (1 + |w_r|^2) (dual
        # steepest edge, w_r = B^{-T} a'_r), or the first violated one under Bland's rule;
        # the residual of the basic rows on the way
        r = -1
        score = 0.0
        resid = 0.0
        bland = pivots >= bland_after
        for i in range(m):
            s = -bv[i]
            for j in range(N):
                s += R[i, j] * y[j]
            if isb[i]:
                if abs(s) > resid:
                    resid = abs(s)
            elif s > feas_tol:
                if r >= 0 and bland:
                    continue
                nw = 1.0
                for k in range(N):
                    v = 0.0
                    for j in range(N):
                        v += Binv[j, k] * R[i, j]
                    wt[k] = v
                    nw += v * v
                sc = s * s / nw
                if sc > score:
                    score = sc
                    r = i
                    for k in range(N):
                        w[k] = wt[k]
        ok = True
        if r < 0:
            # optimal up to the checks: residuals, dual feasibility, artificial multipliers
            for i in range(N):
                lam[i] = Binv[n, i]
            dres = 0.0
            for j in range(N):
                s = -1.0 if j == n else 0.0
                for i in range(N):
                    s += lam[i] * R[basis[i], j]
                if abs(s) > dres:
                    dres = abs(s)
            lmin = 0.0
            for i in range(N):
                if lam[i] < lmin:
                    lmin = lam[i]
            if resid > resid_tol or dres > _RESID_TOL or lmin < -_DUAL_TOL:
                ok = False
            else:
                for i in range(N):
                    if basis[i] >= art_lo and basis[i] < art_hi and lam[i] > _DUAL_TOL:
                        status = ARTIFICIAL
                break
        else:
            if pivots >= max_pivots:
                status = ITERATION_LIMIT
                break
            # multipliers lam_B = row t of B^{-1}
            for i in range(N):
                lam[i] = Binv[n, i]
            p = -1
            if bland:
                best = np.inf
                for i in range(N):
                    if w[i] > _PIVOT_TOL:
                        q = max(lam[i], 0.0) / w[i]
                        if q < best or (q == best and basis[i] < basis[p]):
                            best = q
                            p = i
            else:
                # Harris: the largest pivot among the ratios within the relaxed minimum
                bound = np.inf
                for i in range(N):
                    if w[i] > _PIVOT_TOL:
                        q = (max(lam[i], 0.0) + _HARRIS_TOL) / w[i]
                        if q < bound:
                            bound = q
                big = 0.0
                for i in range(N):
                    if w[i] > _PIVOT_TOL and max(lam[i], 0.0) / w[i] <= bound and w[i] > big:
                        big = w[i]
                        p = i
            if p < 0:
                ok = False
            else:
                # replace basis row p by row r: B'^{-1} = B^{-1} - c (w - e_p)^T / w_p
                inv = 1.0 / w[p]
                for i in range(N):
                    c = Binv[i, p]
                    if c != 0.0:
                        for j in range(N):
                            if j == p:
                                Binv[i, j] = c * inv
                            else:
                                Binv[i, j] -= c * w[j] * inv
                isb[basis[p]] = False
                isb[r] = True
                basis[p] = r
                pivots += 1
                since += 1
                if since >= refactor_every:
                    if not _invert(R, basis, Binv):
                        status = SINGULAR
                        break
                    since = 0
        if not ok:
            if since == 0:
                status = CHECK_FAILED
                break
            if not _invert(R, basis, Binv):
                status = SINGULAR
                break
            since = 0
    return status, pivots, since


@kernel(f"Tuple((i8, f8, f8, i8))({F2}, {F1}, i8, i8, i8, i8, {I2}, {F3}, {I2}, {F1}, i8, i8, i8, f8)")
def chebyshev_test(R, bv, m_dom, art_lo, art_hi, level, bases, binvs, meta, y, max_pivots, refactor_every, bland_after,
                   scale):
    """Solve the Chebyshev LP of stack level ``level`` (rows ``0..m_dom+level-1``) in its slot.

    A slot not yet materialised (``meta[k, 1] == 0``) is first brought up from the nearest
    materialised ancestor, solving each untested intermediate node on the way: the node's
    optimal basis is then shared by all of its children. An ancestor whose inverse has
    taken many updates is refactorised once, before its children copy it.

    Returns ``(status, t, radius, pivots)``; ``y`` receives ``(x, t)``; ``radius`` is the
    distance from ``x`` to the nearest real (non-artificial) row.
    """
    N = R.shape[1]
    n = N - 1
    src = level
    while meta[src, 1] == 0:
        src -= 1
    pivots = 0
    status = OK
    lv = src
    while True:
        if lv > src or src == level:
            since = meta[lv, 0]
            status, piv, since = _solve(R, bv, m_dom + lv, art_lo, art_hi, bases[lv], binvs[lv], since, y,
                                        max_pivots, refactor_every, bland_after, scale)
            pivots += piv
            meta[lv, 0] = since
            if status != OK and status != ARTIFICIAL:
                meta[lv, 1] = 0  # a failed slot restarts from its ancestor (the root: anew) next time
                return status, 0.0, 0.0, pivots
        if lv == level:
            break
        # materialise slot lv + 1 from slot lv
        if meta[lv, 0] >= refactor_every // 2:
            if not _invert(R, bases[lv], binvs[lv]):
                meta[lv, 1] = 0
                return SINGULAR, 0.0, 0.0, pivots
            meta[lv, 0] = 0
        for i in range(N):
            bases[lv + 1, i] = bases[lv, i]
            for j in range(N):
                binvs[lv + 1, i, j] = binvs[lv, i, j]
        meta[lv + 1, 0] = meta[lv, 0]
        meta[lv + 1, 1] = 1
        lv += 1
    # the witness's exact distance to the nearest real row
    m = m_dom + level
    radius = np.inf
    for i in range(m):
        if i >= art_lo and i < art_hi:
            continue
        s = bv[i]
        nrm = 0.0
        for j in range(n):
            s -= R[i, j] * y[j]
            nrm += R[i, j] * R[i, j]
        d = s / math.sqrt(nrm)
        if d < radius:
            radius = d
    return status, y[n], radius, pivots


@kernel("i8(i8, f8, f8, f8, f8, f8)", internal=True)
def chebyshev_decision(status, t, radius, eps, band0, band_eps):
    """What a solved test decides: DECIDED_KEEP (the node holds a ball of radius ``eps``;
    the witness ``radius`` exceeds it), DECIDED_DROP (the optimum ``t <= eps``), or why
    HiGHS decides instead: a failed ``status``, an optimum within ``band_eps`` of ``eps`` or
    within ``band0`` of 0 (the threshold at which a hyperplane cuts the node), or a
    witness radius at most ``eps``."""
    if status != OK:
        return status
    if not (abs(t - eps) > band_eps and abs(t) > band0):  # NaN included
        return NEAR_THRESHOLD
    if t <= eps:
        return DECIDED_DROP
    if radius > eps:
        return DECIDED_KEEP
    return WITNESS_BELOW_EPS
