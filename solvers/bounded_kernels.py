"""Compiled kernels of the fixed-margin region test (:mod:`polyregions.solvers.bounded_lp`).

The problem at margin ``mu``, over variables ``z`` (the input ``x``, or a lift of it):

    R_i . z <= bv_i - kappa_i mu         (one row per domain row and node row)
    lo_j + blo_j mu <= z_j <= hi_j - bhi_j mu     (column bounds; blo, bhi in {0, 1})

written with slacks ``R z + s = bv - kappa mu``, ``s >= 0``. A basis holds one variable per
row (a column ``z_j`` or a slack ``s_i``), so its matrix is ``m x m`` with ``m`` the number
of rows, whatever the number of columns; the other columns sit at a bound. The objective
is zero: every basis is dual feasible, so the basis a node ends with is a valid start
for its children (a pushed row enters with its slack basic). The dual simplex then moves
an infeasible basic variable to its bound (dual steepest-edge choice, Bland's rule after
``bland_after`` pivots) against the non-basic variable of largest pivot ``|alpha_j|`` with
the right sign; when none has the right sign the row ``rho = e_p^T B^-1`` proves the
problem infeasible (Farkas), and gives an upper bound on the Chebyshev radius:

    t* <= (y . bv - C0) / (y . kappa + sum_j beta_j |g_j|),   y = +-rho >= 0,  g = R^T y,

with ``C0 = min_{lo <= z <= hi} g . z`` and ``beta_j`` the bound margin on the side ``g_j``
pushes against. Any ``y >= 0`` gives such a bound (a dual feasible point of the Chebyshev
LP); a certificate of infeasibility at ``mu`` gives one below ``mu``.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import B1, F1, F2, I1, kernel
from .bounded_ratio import BLOCK, BUCKETS, PIVOT_TOL, column_keys, flip_and_choose
from .linalg_kernels import dot_row, gauss_jordan

# kernel statuses
FEASIBLE = 0
INFEASIBLE = 1
ITERATION_LIMIT = 2
SINGULAR = 3
CHECK_FAILED = 4

_SINGULAR_TOL = 1e-11  # smallest pivot of a refactorisation
_COLUMN_RTOL = 1e-7  # the entering column's pivot must agree with the pivot row's entry
_FLOAT_SCRATCH = 10  # columns' worth of float scratch of a solve (lo_e, hi_e, sgn, xn, alpha, dxn, g, kcol, key, ratio)


@kernel(f"b1({F2}, i8, {I1}, {F2})", internal=True)
def invert_basis(R, m, basis, Binv):
    """``Binv = B^-1`` for the basis ``basis[:m]`` (a column ``j < nz`` of ``R``, or the unit
    column of slack ``j - nz``). False when singular."""
    nz = R.shape[1]
    W = np.zeros((m, m))
    for c in range(m):
        v = basis[c]
        if v < nz:
            for i in range(m):
                W[i, c] = R[i, v]
        else:
            W[v - nz, c] = 1.0
    return gauss_jordan(W, Binv, _SINGULAR_TOL)


@kernel(f"void({F2}, i8, {I1}, {F2})", internal=True, refcounts=False)
def border(R, m, basis, Binv):
    """Extend the basis of rows ``0..m-2`` by row ``m-1`` with its slack basic:
    ``B' = [[B, 0], [r_B, 1]]``, ``B'^-1 = [[B^-1, 0], [-r_B B^-1, 1]]``."""
    nz = R.shape[1]
    k = m - 1
    for j in range(m):
        Binv[k, j] = 0.0
        Binv[j, k] = 0.0
    for c in range(k):
        v = basis[c]
        if v < nz:
            f = R[k, v]
            if f != 0.0:
                for j in range(k):
                    Binv[k, j] -= f * Binv[c, j]
    Binv[k, k] = 1.0
    basis[k] = nz + k


_FAST = {"reassoc", "contract"}  # reassociated sums (vectorised dot products); no other fast-math


@kernel(f"f8({F1})")
def row_norm(a):
    """``|a|``, summed in order: every row's ``kappa``, pushed from Python or from compiled code,
    is the same double (the searches take the same pivots on the same problem)."""
    s = 0.0
    for k in range(a.shape[0]):
        s += a[k] * a[k]
    return math.sqrt(s)


@kernel(f"i8({F1}, i8, i8)", internal=True, refcounts=False)
def _next_row(y, m, i):
    """The first row ``>= i`` with ``y_i != 0`` (``m`` when none)."""
    while i < m and y[i] == 0.0:
        i += 1
    return i


@kernel(f"void({F2}, {F1}, i8, {F1})", internal=True, fastmath=_FAST, refcounts=False)
def _row_combination(R, y, m, out):
    """``out = sum_i y_i R[i, :]`` over rows ``0..m-1`` (rows with ``y_i = 0`` left out), four
    rows to a pass over ``out`` (it is read and written once per four rows, not once per row)."""
    nz = R.shape[1]
    for j in range(nz):
        out[j] = 0.0
    i = _next_row(y, m, 0)
    while i < m:
        a = i
        b = _next_row(y, m, a + 1)
        c = _next_row(y, m, b + 1)
        d = _next_row(y, m, c + 1)
        if d < m:
            ya, yb, yc, yd = y[a], y[b], y[c], y[d]
            for j in range(nz):
                out[j] += ya * R[a, j] + yb * R[b, j] + yc * R[c, j] + yd * R[d, j]
            i = _next_row(y, m, d + 1)
        else:
            for r in (a, b, c):
                if r < m:
                    yr = y[r]
                    for j in range(nz):
                        out[j] += yr * R[r, j]
            i = m


@kernel(f"void({F2}, {F1}, {F1}, i8, f8, {F1}, {F1}, {B1}, {I1}, {F1}, {F1})", internal=True, refcounts=False)
def _nonbasic_rhs(R, bv, kappa, m, mu, lo_e, hi_e, atup, pos, xn, rhs):
    """``rhs = bv - kappa mu - R_N z_N`` (non-basic columns at their bounds); ``xn`` receives
    ``z_N`` (0 at basic columns)."""
    nz = R.shape[1]
    for j in range(nz):
        xn[j] = 0.0 if pos[j] >= 0 else (hi_e[j] if atup[j] else lo_e[j])
    for i in range(m):
        rhs[i] = bv[i] - kappa[i] * mu - dot_row(R, i, xn, nz)


@kernel(f"f8({F2}, {F1}, {F1}, {F1}, {F1}, {F1}, {F1}, i8, {F1}, {F1})", internal=True, fastmath=_FAST,
        refcounts=False)
def farkas_bound(R, bv, kappa, lo, hi, blo, bhi, m, y, g):
    """The Chebyshev-radius bound ``(y . bv - C0) / (y . kappa + sum_j beta_j |g_j|)`` of a
    multiplier vector ``y >= 0`` (see the module docstring); inf when the denominator vanishes.
    ``g`` (``nz`` entries) receives ``R^T y``. (The sums in any order: vectorised; a column's
    terms are chosen without a branch, the sign of ``g_j`` being a coin flip.)"""
    nz = R.shape[1]
    _row_combination(R, y, m, g)
    num = 0.0
    den = 0.0
    for i in range(m):
        num += y[i] * bv[i]
        den += y[i] * kappa[i]
    for j in range(nz):
        gj = g[j]
        num -= gj * lo[j] if gj > 0.0 else (gj * hi[j] if gj < 0.0 else 0.0)
        den += blo[j] * gj if gj > 0.0 else (-bhi[j] * gj if gj < 0.0 else 0.0)
    if not den > 1e-300:
        return np.inf
    return num / den


@kernel(f"f8({F1}, {F1}, {F1})", internal=True, refcounts=False)
def _bound_violation(z, lo, hi):
    """``max(0, max_j (lo_j - z_j, z_j - hi_j))``, in four independent running maxima (a NaN
    anywhere makes the result NaN or leaves it to the rows' check, as one running maximum did)."""
    w0 = w1 = w2 = w3 = 0.0
    nz = z.shape[0]
    n4 = nz - nz % 4
    for j in range(0, n4, 4):
        w0 = max(w0, lo[j] - z[j], z[j] - hi[j])
        w1 = max(w1, lo[j + 1] - z[j + 1], z[j + 1] - hi[j + 1])
        w2 = max(w2, lo[j + 2] - z[j + 2], z[j + 2] - hi[j + 2])
        w3 = max(w3, lo[j + 3] - z[j + 3], z[j + 3] - hi[j + 3])
    for j in range(n4, nz):
        w0 = max(w0, lo[j] - z[j], z[j] - hi[j])
    return max(max(w0, w1), max(w2, w3))


@kernel("f8(i8, b1, f8)", internal=True)
def _entering_sign(position, at_upper, width):
    """The entering sign of a column (see :func:`solve`): 0 when basic (``position >= 0``) or
    without a range, else -1 at its upper bound and +1 at its lower."""
    if position >= 0 or not width > 0.0:
        return 0.0
    return -1.0 if at_upper else 1.0


@kernel(internal=True)
def workspace(nz, rows):
    """The scratch of :func:`solve` for ``nz`` columns and up to ``rows`` rows, as
    ``(floats, ints, flags)``: allocated once by a caller that solves many times (a region test
    solves up to a few times per level it brings up, each solve needing some twenty arrays)."""
    return (np.empty(_FLOAT_SCRATCH * nz + 5 * rows + BUCKETS + nz // BLOCK + 1),
            np.empty(6 * (nz + rows), np.int64))



@kernel(f"Tuple((i8, i8, f8))({F2}, {F1}, {F1}, {F1}, {F1}, {F1}, {F1}, i8, f8, {I1}, {F2}, {B1}, {F1}, {F1}, "
        f"i8, i8, i8, f8, {F1}, {I1})", internal=True, refcounts=False)
def solve(R, bv, kappa, lo, hi, blo, bhi, m, mu, basis, Binv, atup, z, y, max_pivots, bland_after,
          refactor_every, feas_tol, fw, iw):
    """Dual simplex on the margin-``mu`` problem over rows ``0..m-1`` from the basis
    ``basis[:m]`` (inverse ``Binv``; ``atup[j]``: non-basic column ``j`` at its upper bound).
    ``fw``, ``iw``: scratch (:func:`workspace`, for at least ``m`` rows).

    Returns ``(status, pivots, t_up)``. FEASIBLE: ``z`` receives the point. INFEASIBLE:
    ``y`` the Farkas multipliers and ``t_up`` the radius bound they give (below ``mu``).
    """
    nz = R.shape[1]
    nk = nz + m
    lo_e = fw[0:nz]
    hi_e = fw[nz:2 * nz]
    sgn = fw[2 * nz:3 * nz]
    xn = fw[3 * nz:4 * nz]
    alpha = fw[4 * nz:5 * nz]
    dxn = fw[5 * nz:6 * nz]
    g = fw[6 * nz:7 * nz]
    kcol = fw[7 * nz:8 * nz]
    f0 = _FLOAT_SCRATCH * nz - 2 * nz  # key and ratio: nz + m each, then the rows' arrays
    key = fw[f0:f0 + nk]
    ratio = fw[f0 + nk:f0 + 2 * nk]
    r0 = f0 + 2 * nk
    rhs = fw[r0:r0 + m]
    zB = fw[r0 + m:r0 + 2 * m]
    col = fw[r0 + 2 * m:r0 + 3 * m]
    sums = fw[r0 + 3 * m:r0 + 3 * m + BUCKETS]
    bmax = fw[r0 + 3 * m + BUCKETS:r0 + 3 * m + BUCKETS + nz // BLOCK + 1]
    pos = iw[0:nk]
    cand = iw[nk:2 * nk]
    walk = iw[2 * nk:3 * nk]
    bucket = iw[3 * nk:4 * nk]
    flipped = iw[4 * nk:5 * nk]
    slacks = iw[5 * nk:6 * nk]
    for j in range(nz):
        lo_e[j] = lo[j] + blo[j] * mu
        hi_e[j] = hi[j] - bhi[j] * mu
        dxn[j] = 0.0
    for j in range(nk):
        pos[j] = -1
    for r in range(m):
        pos[basis[r]] = r
    # per column, the sign its entry in the pivot row must have (times the direction) for
    # the column to enter: -1 at the upper bound, +1 at the lower, 0 for a basic column or
    # one without a range (it never enters); kept up to date through pivots and flips
    for j in range(nz):
        sgn[j] = _entering_sign(pos[j], atup[j], hi_e[j] - lo_e[j])
    d_p = 0.0
    _nonbasic_rhs(R, bv, kappa, m, mu, lo_e, hi_e, atup, pos, xn, rhs)
    pivots = 0
    since = 0
    refreshed = False
    while True:
        for i in range(m):
            s = 0.0
            for k in range(m):
                s += Binv[i, k] * rhs[k]
            zB[i] = s
        # leaving variable: the infeasible basic variable of largest d^2 / |B^-T e_p|^2
        bland = pivots >= bland_after
        p = -1
        direction = 0
        score = 0.0
        for r in range(m):
            v = basis[r]
            if v < nz:
                lb, ub = lo_e[v], hi_e[v]
            else:
                lb, ub = 0.0, np.inf
            val = zB[r]
            if val < lb - feas_tol:
                d, dr = lb - val, 1
            elif val > ub + feas_tol:
                d, dr = val - ub, -1
            else:
                continue
            if bland:
                if p < 0 or v < basis[p]:
                    p, direction, d_p = r, dr, d
                continue
            wgt = 0.0
            for k in range(m):
                wgt += Binv[r, k] * Binv[r, k]
            sc = d * d / wgt
            if sc > score:
                score, p, direction, d_p = sc, r, dr, d
        if p < 0:
            # feasible: the point, then an independent residual check
            for j in range(nz):
                if pos[j] < 0:
                    z[j] = hi_e[j] if atup[j] else lo_e[j]
            for r in range(m):
                if basis[r] < nz:
                    z[basis[r]] = zB[r]
            worst = _bound_violation(z, lo_e, hi_e)
            for i in range(m):
                worst = max(worst, dot_row(R, i, z, nz) - (bv[i] - kappa[i] * mu))
            if worst <= 10.0 * feas_tol:
                return FEASIBLE, pivots, np.inf
            if refreshed:
                return CHECK_FAILED, pivots, np.inf
            if not invert_basis(R, m, basis, Binv):
                return SINGULAR, pivots, np.inf
            _nonbasic_rhs(R, bv, kappa, m, mu, lo_e, hi_e, atup, pos, xn, rhs)
            since = 0
            refreshed = True
            continue
        if pivots >= max_pivots:
            return ITERATION_LIMIT, pivots, np.inf
        # pivot row alpha = rho^T R over the columns (the slacks' entries are rho itself)
        _row_combination(R, Binv[p], m, alpha)
        q = -1
        if bland:
            # textbook Bland: the eligible variable of smallest index, no bound flips
            for j in range(nz):
                if pos[j] < 0 and hi_e[j] - lo_e[j] > 0.0:
                    a = alpha[j]
                    sig = -1.0 if atup[j] else 1.0
                    if direction * a * sig < 0.0 and abs(a) > PIVOT_TOL:
                        q = j
                        break
            if q < 0:
                for i in range(m):
                    a = Binv[p, i]
                    if pos[nz + i] < 0 and direction * a < 0.0 and abs(a) > PIVOT_TOL:
                        q = nz + i
                        break
        else:
            # bound-flipping ratio test with zero costs (polyregions.solvers.bounded_ratio): the
            # columns' keys in one vectorised pass, then the eligible slacks
            amax, reach = column_keys(alpha, sgn, float(direction), lo_e, hi_e, kcol, bmax)
            ns = 0
            for i in range(m):
                a = Binv[p, i]
                if pos[nz + i] < 0 and direction * a < 0.0 and abs(a) > PIVOT_TOL:
                    slacks[ns] = nz + i
                    ns += 1
                    amax = max(amax, abs(a))
                    reach = np.inf
            if amax > 0.0:
                q = flip_and_choose(R, m, kcol, bmax, Binv[p], slacks, ns, amax, reach, d_p, feas_tol, lo_e, hi_e, atup, sgn,
                                    xn, rhs, dxn, cand, key, bucket, ratio, sums, flipped, walk)
        if q < 0:
            # infeasible: y = direction * rho >= 0 proves it (a tiny wrong-signed entry is dropped)
            for i in range(m):
                v = direction * Binv[p, i]
                y[i] = v if v > 0.0 else 0.0
            return INFEASIBLE, pivots, farkas_bound(R, bv, kappa, lo, hi, blo, bhi, m, y, g)
        # entering column B^-1 a_q, checked against the pivot row
        for i in range(m):
            s = 0.0
            if q < nz:
                for k in range(m):
                    s += Binv[i, k] * R[k, q]
            else:
                s = Binv[i, q - nz]
            col[i] = s
        a_q = alpha[q] if q < nz else Binv[p, q - nz]
        # (a pivot of the computed column at or below PIVOT_TOL is refused too: the agreement
        # test alone admits col[p] == 0 when |a_q| is below _COLUMN_RTOL)
        if abs(col[p] - a_q) > _COLUMN_RTOL * (1.0 + abs(a_q)) or abs(col[p]) <= PIVOT_TOL:
            if since == 0:
                return CHECK_FAILED, pivots, np.inf
            if not invert_basis(R, m, basis, Binv):
                return SINGULAR, pivots, np.inf
            _nonbasic_rhs(R, bv, kappa, m, mu, lo_e, hi_e, atup, pos, xn, rhs)
            since = 0
            continue
        inv = 1.0 / col[p]
        for k in range(m):
            Binv[p, k] *= inv
        for i in range(m):
            if i != p:
                f = col[i]
                if f != 0.0:
                    for k in range(m):
                        Binv[i, k] -= f * Binv[p, k]
        # the right-hand side: q leaves the non-basic columns, the leaving variable joins them
        if q < nz:
            xq = hi_e[q] if atup[q] else lo_e[q]
            xn[q] = 0.0
            sgn[q] = 0.0
            for i in range(m):
                rhs[i] += R[i, q] * xq
        v = basis[p]
        if v < nz:
            atup[v] = direction < 0
            sgn[v] = _entering_sign(-1, atup[v], hi_e[v] - lo_e[v])
            xv = hi_e[v] if atup[v] else lo_e[v]
            xn[v] = xv
            for i in range(m):
                rhs[i] -= R[i, v] * xv
        pos[v] = -1
        pos[q] = p
        basis[p] = q
        pivots += 1
        since += 1
        if since >= refactor_every:
            if not invert_basis(R, m, basis, Binv):
                return SINGULAR, pivots, np.inf
            _nonbasic_rhs(R, bv, kappa, m, mu, lo_e, hi_e, atup, pos, xn, rhs)
            since = 0


@kernel(f"f8({F2}, {F1}, {F1}, {F1}, {F1}, {F1}, {F1}, i8, {F1}, i8)", internal=True, refcounts=False)
def slacks_radius(R, bv, kappa, lo, hi, blo, bhi, m, z, skip):
    """The radius of the largest ball around ``z`` that the rows (except row ``skip``) and the
    margin-carrying bounds allow: ``min(slack_i / kappa_i, z_j - lo_j, hi_j - z_j)``."""
    nz = R.shape[1]
    r = np.inf
    for i in range(m):
        if i == skip:
            continue
        s = (bv[i] - dot_row(R, i, z, nz)) / kappa[i]
        if s < r:
            r = s
    for j in range(nz):
        if blo[j] > 0.0 and z[j] - lo[j] < r:
            r = z[j] - lo[j]
        if bhi[j] > 0.0 and hi[j] - z[j] < r:
            r = hi[j] - z[j]
    return r
