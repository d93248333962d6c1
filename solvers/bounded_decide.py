"""The compiled decision of one fixed-margin region test (see :mod:`polyregions.solvers.bounded_lp`).

One call per test: it brings the node's stack level up from its nearest solved ancestor,
runs the margin search (a deep margin first, then a fraction of each certified bound,
then the keep margin ``eps + band``), the cut test at ``band0`` when needed, and the
witness step, and says what it found: KEEP (with a witness), DROP (with the bound that
decides), or a reason to hand the test to HiGHS. No decision is taken within a band of a
threshold, and a solver failure is never an answer.
"""

from __future__ import annotations

import numpy as np

from .jit import B1, B2, F1, F2, I1, I2, kernel
from .bounded_kernels import (FEASIBLE, INFEASIBLE, ITERATION_LIMIT, SINGULAR, border, dot_row, slacks_radius, solve,
                              workspace)

KEEP = 0
DROP = 1
# reasons to hand a test to HiGHS
LIMIT = 2
SINGULAR_BASIS = 3
CHECK_FAILED = 4
NOT_CERTIFIED = 5
NEAR_EPS = 6
NEAR_ZERO = 7

REASONS = {
    LIMIT: "iteration limit",
    SINGULAR_BASIS: "singular basis",
    CHECK_FAILED: "residual check failed",
    NOT_CERTIFIED: "certificate does not certify",
    NEAR_EPS: "Chebyshev radius near eps",
    NEAR_ZERO: "Chebyshev radius near 0",
}

# indices into the float parameters
F_MU_KEEP, F_BAND0, F_BAND_EPS, F_EPS, F_FEAS_TOL, F_NEXT_MARGIN = range(6)
# indices into the integer parameters
I_MAX_PIVOTS, I_BLAND_AFTER, I_REFACTOR_EVERY, I_MARGIN_TRIES, I_HAS_ANCHOR, I_L1_HALF = range(6)


@kernel(f"{F2}({F1}, {I1}, i8, i8)", internal=True)
def _inverse(pool, offsets, m0, k):
    """The basis inverse of stack level ``k``: an ``(m0 + k)``-square view into the pool."""
    return pool[offsets[k] : offsets[k + 1]].reshape((m0 + k, m0 + k))


@kernel("i8(i8)", internal=True)
def _failure(status):
    if status == ITERATION_LIMIT:
        return LIMIT
    if status == SINGULAR:
        return SINGULAR_BASIS
    return CHECK_FAILED


@kernel(f"void({F1}, i8, {F1})", internal=True, refcounts=False)
def _canonical(z, half, out):
    """``out = z``; for the L1 lift (``half`` > 0: ``z = (p, q)``, ``x = c + p - q``) the
    complementary ``(max(p - q, 0), max(q - p, 0))``, whose norm row is exact."""
    if half == 0:
        for j in range(z.shape[0]):
            out[j] = z[j]
        return
    for j in range(half):
        d = z[j] - z[half + j]
        out[j] = d if d > 0.0 else 0.0
        out[half + j] = -d if d < 0.0 else 0.0


@kernel(f"f8({F2}, {F1}, {F1}, i8, {F1}, f8)", internal=True, refcounts=False)
def _with_row(R, bv, kappa, i, z, radius):
    """``slacks_radius`` with row ``i`` too, from its value without it (``radius``)."""
    s = (bv[i] - dot_row(R, i, z, R.shape[1])) / kappa[i]
    return s if s < radius else radius


@kernel(f"f8({F2}, {F1}, {F1}, {F1}, {F1}, {F1}, {F1}, i8, i8, {F1}, {F1}, b1, i8, {F1}, f8)", internal=True)
def _witness(R, bv, kappa, lo, hi, blo, bhi, m, m0, z_f, za, has_anchor, half, zout, r_a):
    """The best witness among the simplex's point ``z_f``, the anchor, and the point of the
    segment from the anchor to ``z_f`` where the parent-radius bound ``(1 - l) r_a + l r_f``
    meets the new row's slack ``(1 - l) s_a + l s_f``; ``zout`` receives it, its radius
    (recomputed there) is returned. ``r_a``: the anchor's radius without the last row (when
    there is an anchor and a pushed row; a radius with a row is the minimum of that and the
    row's slack, so each radius is computed once)."""
    nz = R.shape[1]
    cand = np.empty(nz)
    _canonical(z_f, half, zout)
    last = m - 1
    pushed = has_anchor and m > m0
    if pushed and half == 0:  # zout is z_f itself
        r_f = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, z_f, last)
        best = _with_row(R, bv, kappa, last, zout, r_f)
    else:
        best = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, zout, -1)
    if not has_anchor:
        return best
    if pushed:
        r = _with_row(R, bv, kappa, last, za, r_a)
    else:
        r = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, za, -1)
    if r > best:
        best = r
        for j in range(nz):
            zout[j] = za[j]
    if pushed:
        if half != 0:
            r_f = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, z_f, last)
        s_a = bv[last]
        s_f = bv[last]
        for j in range(nz):
            s_a -= R[last, j] * za[j]
            s_f -= R[last, j] * z_f[j]
        s_a /= kappa[last]
        s_f /= kappa[last]
        if r_a > 0.0 and s_a < r_a and s_f > r_f:
            lam = (r_a - s_a) / ((r_a - s_a) + (s_f - r_f))
            for j in range(nz):
                cand[j] = (1.0 - lam) * za[j] + lam * z_f[j]
            _canonical(cand, half, cand)
            r = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, cand, -1)
            if r > best:
                best = r
                for j in range(nz):
                    zout[j] = cand[j]
    return best


@kernel(f"Tuple((i8, f8, f8))({F2}, {F1}, {F1}, {F1}, {F1}, {F1}, {F1}, i8, i8, {I2}, {F1}, {I1}, {B2}, {B1}, "
        f"{F1}, {F1}, {F1}, {F1}, {F1}, {I1}, {I1})")
def region_test(R, bv, kappa, lo, hi, blo, bhi, m0, level, bases, pool, offsets, atups, ready, za, z, zout, y, fpar,
                ipar, counters):
    """Decide stack level `level` (see the module docstring).

    Returns ``(code, radius, depth)``: KEEP with ``zout`` the witness and ``radius`` its
    radius; DROP with ``depth`` the upper bound on the Chebyshev radius (``<= 0``: the node
    has no interior); otherwise a reason for HiGHS. ``counters`` accumulates (solves, pivots).
    """
    m = m0 + level
    fw, iw = workspace(R.shape[1], R.shape[0])  # the solves' scratch, once per test
    mu_keep, band0, band_eps, eps = fpar[F_MU_KEEP], fpar[F_BAND0], fpar[F_BAND_EPS], fpar[F_EPS]
    has_anchor = ipar[I_HAS_ANCHOR] != 0
    half = ipar[I_L1_HALF]
    mu = mu_keep
    r_a = 0.0
    if has_anchor:
        r_a = slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, za, m - 1 if level > 0 else -1)
        if 0.5 * r_a > mu:
            mu = 0.5 * r_a
    # bring the level up from its nearest solved ancestor (solving the levels between)
    src = level
    while not ready[src]:
        src -= 1
    for k in range(src + 1, level + 1):
        mk = m0 + k
        # copied element by element: a slice assignment would compile numba's broadcasting
        # errors (formatted shapes), seconds of compilation for nothing
        for i in range(mk - 1):
            bases[k, i] = bases[k - 1, i]
        binv = _inverse(pool, offsets, m0, k)
        parent = _inverse(pool, offsets, m0, k - 1)
        for i in range(mk - 1):
            for j in range(mk - 1):
                binv[i, j] = parent[i, j]
        for j in range(atups.shape[1]):
            atups[k, j] = atups[k - 1, j]
        border(R, mk, bases[k], binv)
        if k < level:
            status, piv, _ = solve(R, bv, kappa, lo, hi, blo, bhi, mk, mu, bases[k], binv, atups[k], z, y,
                                   ipar[I_MAX_PIVOTS], ipar[I_BLAND_AFTER], ipar[I_REFACTOR_EVERY], fpar[F_FEAS_TOL],
                                   fw, iw)
            counters[0] += 1
            counters[1] += piv
            if status != FEASIBLE and status != INFEASIBLE:
                ready[k:] = False
                return _failure(status), 0.0, 0.0
            ready[k] = True
    # the margin search, then the keep margin
    binv = _inverse(pool, offsets, m0, level)
    tries = 0
    while True:
        final = mu <= mu_keep or tries >= ipar[I_MARGIN_TRIES]
        if final:
            mu = mu_keep
        status, piv, t_up = solve(R, bv, kappa, lo, hi, blo, bhi, m, mu, bases[level], binv, atups[level],
                                  z, y, ipar[I_MAX_PIVOTS], ipar[I_BLAND_AFTER], ipar[I_REFACTOR_EVERY], fpar[F_FEAS_TOL],
                                  fw, iw)
        counters[0] += 1
        counters[1] += piv
        tries += 1
        if status != FEASIBLE and status != INFEASIBLE:
            ready[level:] = False
            return _failure(status), 0.0, 0.0
        ready[level] = True
        if status == FEASIBLE:
            r = _witness(R, bv, kappa, lo, hi, blo, bhi, m, m0, z, za, has_anchor, half, zout, r_a)
            if r > eps + 0.5 * band_eps:
                return KEEP, r, r
            if final:
                return NEAR_EPS, 0.0, 0.0
            mu = mu_keep
            continue
        if not t_up < mu:
            return NOT_CERTIFIED, 0.0, 0.0
        if t_up <= -band0:
            return DROP, t_up, t_up
        if t_up <= eps - band_eps:
            break
        if t_up < mu_keep:
            return NEAR_EPS, 0.0, 0.0
        mu = max(mu_keep, fpar[F_NEXT_MARGIN] * t_up)
    # not kept; does the hyperplane cut the node (t* > 0)?
    status, piv, t_up0 = solve(R, bv, kappa, lo, hi, blo, bhi, m, band0, bases[level], binv, atups[level],
                               z, y, ipar[I_MAX_PIVOTS], ipar[I_BLAND_AFTER], ipar[I_REFACTOR_EVERY], fpar[F_FEAS_TOL],
                               fw, iw)
    counters[0] += 1
    counters[1] += piv
    if status == FEASIBLE:
        _canonical(z, half, zout)
        if slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, zout, -1) > 0.5 * band0:
            return DROP, t_up, t_up
        return NEAR_ZERO, 0.0, 0.0
    if status != INFEASIBLE:
        ready[level:] = False
        return _failure(status), 0.0, 0.0
    if not t_up0 < band0:
        return NOT_CERTIFIED, 0.0, 0.0
    if t_up0 <= -band0:
        return DROP, t_up0, t_up0
    return NEAR_ZERO, 0.0, 0.0
