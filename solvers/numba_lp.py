"""A compiled dense dual simplex for the small Chebyshev LPs of the search (bounded domains).

The region test on a bounded polyhedral domain (a box, an L-inf ball, a bounded polytope)
is the Chebyshev LP

    max t  s.t.  a_i . x + |a_i| t <= b_i        (domain rows and node rows),

written ``A' y <= b`` with ``y = (x, t)`` and ``A' = [A | norms]``. Its dual,
``min b . lam  s.t.  A'^T lam = e_t, lam >= 0``, has ``n + 1`` equality rows, so a basis is a
set of ``n + 1`` rows of ``A'``. This backend keeps the basis as an index array and the
dense inverse of the ``(n + 1) x (n + 1)`` basis matrix. Whether a basis is dual feasible
(``lam_B = B^{-T} e_t >= 0``) depends on its own rows only, so a basis that was optimal
for a node stays dual feasible when rows are pushed; a few dual simplex pivots re-optimise
it (the entering row: the violated row of largest ``s_r^2 / (1 + |w_r|^2)``, dual steepest
edge with ``w_r = B^{-T} a'_r``; the leaving row: a Harris ratio test on ``lam_B / w_r``;
the inverse is updated in product form). The first basis comes from rows ``(+-e_k, 1)``:
for a box, the two rows of the narrowest coordinate and the upper rows of the others are
dual feasible (``lam = 1/2`` on the pair) and already optimal. A polytope without such
rows gets far, redundant artificial box rows; an optimum that leans on one of them
(positive multiplier) is handed to HiGHS.

State per stack level ``k`` (``k`` pushed rows): a basis and its inverse, materialised
lazily. A test at level ``k`` first solves the untested nodes between the nearest
materialised ancestor and ``k`` (each from its parent's basis), so every node's optimal
basis is computed once and shared by its children; ``pop`` returns to the parent's state
untouched.

Robustness: an iteration guard (``MAX_PIVOTS``, Bland's rule after ``BLAND_AFTER``
pivots), a pivot tolerance, a refactorisation from scratch every ``REFACTOR_EVERY``
pivots and whenever a residual or dual-feasibility check fails, and a HiGHS fallback
(:class:`HighsBackend` on the same problem, rows mirrored lazily) whenever the compiled
solve is unsure: iteration limit, singular basis, failed checks, an artificial row in
use, or an optimum near a decision threshold (``eps``, and ``0`` which the search reads
as "the hyperplane cuts the node"). A non-answer is never read as "empty". The witness
radius is the returned point's exact distance to the nearest row, so the ball of
``radius`` around ``point`` lies inside every row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import InvalidInputError
from .base import REGION_BACKENDS, RegionProblem, TestResult
from .bounded_kernels import gauss_jordan
from .fallback import RefereedStack
from .scipy_lp import bounding_box

#: Pivots allowed in one test before the test is handed to HiGHS.
MAX_PIVOTS = 500
#: After this many pivots in one test, switch to Bland's rule (no cycling).
BLAND_AFTER = 60
#: Recompute the basis inverse from scratch after this many updates.
REFACTOR_EVERY = 48
#: Decisions within this relative distance of ``eps`` go to HiGHS...
DECISION_RTOL = 1e-7
#: ... and so do optima within this distance (times the domain's scale) of ``eps`` or ``0``.
DECISION_ATOL = 1e-9
#: Initial number of stack levels (doubled when full).
INITIAL_LEVELS = 64

# compiled-side tolerances (rows of A' have norm about sqrt(2))
_FEAS_TOL = 1e-11  # primal violation accepted at the optimum
_PIVOT_TOL = 1e-9  # smallest |w_i| a ratio test pivots on
_HARRIS_TOL = 1e-12  # Harris ratio-test slack on the multipliers
_DUAL_TOL = 1e-9  # smallest multiplier accepted as non-negative; multipliers above it are "in use"
_RESID_TOL = 1e-9  # residuals of B y = b_B and B^T lam = e_t accepted at the optimum
_SINGULAR_TOL = 1e-11  # smallest pivot of a refactorisation

# kernel statuses
_OK = 0
_ITERATION_LIMIT = 1
_SINGULAR = 2
_NO_RATIO = 3
_CHECK_FAILED = 4
_ARTIFICIAL = 5
_STATUS_NAMES = {
    _ITERATION_LIMIT: "iteration limit",
    _SINGULAR: "singular basis",
    _NO_RATIO: "no ratio-test pivot",
    _CHECK_FAILED: "residual or dual check failed",
    _ARTIFICIAL: "artificial row in use",
}


# ---------------------------------------------------------------------- compiled kernels
@njit(cache=True)
def _invert(R, basis, Binv):
    """``Binv = R[basis]^{-1}`` by Gauss-Jordan with partial pivoting; False when singular."""
    N = basis.shape[0]
    W = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            W[i, j] = R[basis[i], j]
    return gauss_jordan(W, Binv, _SINGULAR_TOL)


@njit(cache=True)
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
    status = _OK
    if since >= refactor_every:
        if not _invert(R, basis, Binv):
            return _SINGULAR, pivots, since
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
                        status = _ARTIFICIAL
                break
        else:
            if pivots >= max_pivots:
                status = _ITERATION_LIMIT
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
                        status = _SINGULAR
                        break
                    since = 0
        if not ok:
            if since == 0:
                status = _CHECK_FAILED
                break
            if not _invert(R, basis, Binv):
                status = _SINGULAR
                break
            since = 0
    return status, pivots, since


@njit(cache=True)
def _kernel(R, bv, m_dom, art_lo, art_hi, level, bases, binvs, meta, y, max_pivots, refactor_every, bland_after, scale):
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
    status = _OK
    lv = src
    while True:
        if lv > src or src == level:
            since = meta[lv, 0]
            status, piv, since = _solve(R, bv, m_dom + lv, art_lo, art_hi, bases[lv], binvs[lv], since, y,
                                        max_pivots, refactor_every, bland_after, scale)
            pivots += piv
            meta[lv, 0] = since
            if status != _OK and status != _ARTIFICIAL:
                meta[lv, 1] = 0  # a failed slot restarts from its ancestor (the root: anew) next time
                return status, 0.0, 0.0, pivots
        if lv == level:
            break
        # materialise slot lv + 1 from slot lv
        if meta[lv, 0] >= refactor_every // 2:
            if not _invert(R, bases[lv], binvs[lv]):
                meta[lv, 1] = 0
                return _SINGULAR, 0.0, 0.0, pivots
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


# ---------------------------------------------------------------------- the backend
class NumbaBackend(RefereedStack):
    """Region test by a compiled dense dual simplex, warm-started from the parent's basis.

    Bounded polyhedral domains only. ``fallbacks`` counts the tests decided by HiGHS
    (``fallback_reasons`` says why); ``pivots`` counts the compiled simplex pivots.
    """

    name = "numba"
    capabilities = REGION_BACKENDS["numba"]

    def __init__(self, problem: RegionProblem):
        super().__init__(problem)
        self.eps = float(problem.eps)
        self.n = n = int(problem.dim)
        N = n + 1
        A = np.asarray(problem.A, dtype=float).reshape(-1, n)
        b = np.asarray(problem.b, dtype=float).reshape(-1)
        norms = np.linalg.norm(A, axis=1)
        if np.any((norms == 0) & (b < 0)):
            raise InvalidInputError("`backend` 'numba' got an empty domain (a zero row with a negative bound)")
        keep = norms > 0
        A, b, norms = A[keep], b[keep], norms[keep]
        if A.shape[0] == 0:
            raise InvalidInputError("`backend` 'numba' needs a bounded domain; the problem has no rows")
        rows = [np.hstack([A, norms[:, None]])]
        rhs = [b]
        # first basis: rows (+e_k) and (-e_k) (after scaling), the tightest of each
        up, low = np.full(n, -1), np.full(n, -1)
        ub, lb = np.full(n, np.inf), np.full(n, -np.inf)
        for i in range(A.shape[0]):
            nz = np.flatnonzero(A[i])
            if nz.size == 1:
                k = nz[0]
                v = b[i] / abs(A[i, k])
                if A[i, k] > 0 and v < ub[k]:
                    up[k], ub[k] = i, v
                elif A[i, k] < 0 and -v > lb[k]:
                    low[k], lb[k] = i, -v
        m0 = A.shape[0]
        self._art_lo = self._art_hi = m0
        if np.any(up < 0) or np.any(low < 0):
            # artificial box rows, far outside the domain (never binding at a trusted optimum)
            blo, bhi = problem.box if problem.box is not None else bounding_box(A, b)
            if not (np.all(np.isfinite(blo)) and np.all(np.isfinite(bhi))):
                raise InvalidInputError("`backend` 'numba' needs a bounded, non-empty polyhedral domain")
            margin = 1.0 + (bhi - blo)
            art = []
            for k in range(n):
                e = np.zeros(N)
                if up[k] < 0:
                    e[k], e[n] = 1.0, 1.0
                    art.append((e.copy(), bhi[k] + margin[k]))
                    up[k], ub[k] = m0 + len(art) - 1, bhi[k] + margin[k]
                if low[k] < 0:
                    e[k], e[n] = -1.0, 1.0
                    art.append((e.copy(), -(blo[k] - margin[k])))
                    low[k], lb[k] = m0 + len(art) - 1, blo[k] - margin[k]
            rows.append(np.array([r for r, _ in art]))
            rhs.append(np.array([v for _, v in art]))
            self._art_hi = m0 + len(art)
        self._mD = mD = self._art_hi  # pushed rows start here
        j = int(np.argmin(ub - lb))
        basis0 = np.array([up[j], low[j]] + [up[k] for k in range(n) if k != j], dtype=np.int64)

        self._cap = INITIAL_LEVELS
        self._R = np.zeros((mD + self._cap, N))
        self._R[:mD] = np.vstack(rows)
        self._R[mD:, n] = 1.0  # pushed rows: t coefficient 1 (unit normals), as in HighsBackend
        self._bv = np.zeros(mD + self._cap)
        self._bv[:mD] = np.concatenate(rhs)
        self._bases = np.zeros((self._cap + 1, N), dtype=np.int64)
        self._binvs = np.zeros((self._cap + 1, N, N))
        self._meta = np.zeros((self._cap + 1, 2), dtype=np.int64)  # (pivots since refactor, materialised)
        self._basis0 = basis0
        self._reset_root()
        self._y = np.zeros(N)
        # the domain's size: primal tolerances and the band around the thresholds scale with it
        self._scale = scale = max(1.0, float(np.max(np.abs(self._bv[:mD]))))
        self._band0 = DECISION_ATOL * scale
        self._band_eps = max(DECISION_RTOL * self.eps, self._band0)
        self.pivots = 0

    # ------------------------------------------------------------------ the stack
    def push(self, a, b):
        self._check_bound(b)
        lvl = self._level + 1
        if lvl > self._cap:
            self._grow()
        r = self._mD + lvl - 1
        self._R[r, : self.n] = a
        self._bv[r] = b
        self._meta[lvl, 1] = 0
        self._entered(lvl)

    def _grow(self):
        cap, N, mD = self._cap * 2, self.n + 1, self._mD
        R = np.zeros((mD + cap, N))
        R[:, self.n] = 1.0
        R[: mD + self._cap] = self._R
        bv = np.zeros(mD + cap)
        bv[: mD + self._cap] = self._bv
        bases = np.zeros((cap + 1, N), dtype=np.int64)
        bases[: self._cap + 1] = self._bases
        binvs = np.zeros((cap + 1, N, N))
        binvs[: self._cap + 1] = self._binvs
        meta = np.zeros((cap + 1, 2), dtype=np.int64)
        meta[: self._cap + 1] = self._meta
        self._R, self._bv, self._bases, self._binvs, self._meta, self._cap = R, bv, bases, binvs, meta, cap

    def _reset_root(self):
        self._bases[0] = self._basis0
        self._binvs[0] = np.linalg.inv(self._R[self._basis0])
        self._meta[0] = (0, 1)

    # ------------------------------------------------------------------ solving
    def test(self, anchor=None) -> TestResult:
        lvl = self._level
        status, t, radius, piv = _kernel(self._R, self._bv, self._mD, self._art_lo, self._art_hi, lvl,
                                         self._bases, self._binvs, self._meta, self._y, MAX_PIVOTS, REFACTOR_EVERY,
                                         BLAND_AFTER, self._scale)
        self._solves += 1
        self.pivots += piv
        if status != _OK and self._meta[0, 1] == 0:
            self._reset_root()  # the root's slot failed: back to the first basis
        if status == _OK:
            eps = self.eps
            if abs(t - eps) > self._band_eps and abs(t) > self._band0:
                if t <= eps:
                    return TestResult(False, t, None, t)
                if radius > eps:
                    return TestResult(True, min(radius, t), self._y[: self.n].copy(), t)
                return self._fallback("witness radius below eps")
            return self._fallback("optimum near a decision threshold")
        return self._fallback(_STATUS_NAMES[status])

    def _row_in_x(self, k):
        return self._R[self._mD + k, : self.n].copy(), float(self._bv[self._mD + k])
