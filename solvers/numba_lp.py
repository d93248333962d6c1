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
``radius`` around ``point`` lies inside every row. The compiled kernels are in
:mod:`polyregions.solvers.dense_kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidInputError
from .base import REGION_BACKENDS, RegionProblem, TestResult
from .dense_kernels import DECIDED_DROP, DECIDED_KEEP, OK, STATUS_NAMES, chebyshev_decision, chebyshev_test
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
        self._binv0 = None  # the first basis's inverse, kept for a compiled search
        self._reset_root()
        self._y = np.zeros(N)
        # the domain's size: primal tolerances and the band around the thresholds scale with it
        self._scale = scale = max(1.0, float(np.max(np.abs(self._bv[:mD]))))
        self._band0 = DECISION_ATOL * scale
        self._band_eps = max(DECISION_RTOL * self.eps, self._band0)
        self.pivots = 0
        self._dropped_at = None  # the level of the last test when it dropped the node with t* < 0

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
        self._dropped_at = None
        status, t, radius, piv = chebyshev_test(self._R, self._bv, self._mD, self._art_lo, self._art_hi, lvl,
                                         self._bases, self._binvs, self._meta, self._y, MAX_PIVOTS, REFACTOR_EVERY,
                                         BLAND_AFTER, self._scale)
        self._solves += 1
        self.pivots += piv
        if status != OK and self._meta[0, 1] == 0:
            self._reset_root()  # the root's slot failed: back to the first basis
        code = chebyshev_decision.py_func(status, t, radius, self.eps, self._band0, self._band_eps)
        if code == DECIDED_DROP:
            self._dropped_at = lvl if t < 0 else None
            return TestResult(False, t, None, t)
        if code == DECIDED_KEEP:
            return TestResult(True, min(radius, t), self._y[: self.n].copy(), t)
        return self._fallback(STATUS_NAMES[code])

    def farkas(self):
        """The optimal dual of the last test when it dropped the node with ``t* < 0``: ``lam >= 0``
        with ``sum lam_i a'_i = e_t`` and ``b . lam = t*`` over the domain's rows and the pushed ones,
        so ``sum lam_i (a_i . x - b_i) = -t* > 0`` at every ``x``; returned on the pushed rows
        (bottom first). See :meth:`~polyregions.solvers.base.LPBackend.farkas`."""
        lvl = self._dropped_at
        if lvl is None or lvl != self._level:
            return None
        y = np.zeros(lvl)
        basis, lam = self._bases[lvl], self._binvs[lvl][self.n]
        pushed = basis >= self._mD
        y[basis[pushed] - self._mD] = np.maximum(lam[pushed], 0.0)
        return y

    def _row_in_x(self, k):
        return self._R[self._mD + k, : self.n].copy(), float(self._bv[self._mD + k])

    # ------------------------------------------------------------------ for a compiled search
    def reserve(self, levels: int) -> None:
        """Make room for `levels` pushed rows."""
        while self._cap < levels:
            self._grow()

    def compiled_stack(self):
        """The stack as a :class:`~polyregions.solvers.stack_kernels.DenseStack` (the arrays
        themselves); :meth:`adopt_compiled` takes it back after a compiled search used it."""
        from .stack_kernels import D_BAND0, D_BAND_EPS, D_EPS, D_SCALE, S_CAP, S_LEVEL, S_NEXT_ID, DenseStack

        if self._binv0 is None:
            self._binv0 = np.linalg.inv(self._R[self._basis0])  # as _reset_root computes it
        ids, next_id = self.stack_ids()
        ids_arr = np.zeros(self._cap + 1, dtype=np.int64)
        ids_arr[: len(ids)] = ids
        ints = np.zeros(11, dtype=np.int64)
        ints[[S_LEVEL, S_CAP, S_NEXT_ID]] = (self._level, self._cap, next_id)
        ints[5:] = (self._mD, self._art_lo, self._art_hi, MAX_PIVOTS, REFACTOR_EVERY, BLAND_AFTER)
        floats = np.zeros(4)
        floats[[D_SCALE, D_EPS, D_BAND0, D_BAND_EPS]] = (self._scale, self.eps, self._band0, self._band_eps)
        return DenseStack(self._R, self._bv, self._bases, self._binvs, self._meta, self._y, self._basis0, self._binv0,
                          ids_arr, ints, floats)

    def adopt_compiled(self, stack) -> None:
        """Take back the level, row ids and counters a compiled search left in `stack`."""
        from .stack_kernels import S_LEVEL, S_NEXT_ID, S_PIVOTS, S_SOLVES

        ints = stack.ints
        self.adopt_stack(stack.ids[: ints[S_LEVEL]], ints[S_NEXT_ID], ints[S_SOLVES])
        self.pivots += int(ints[S_PIVOTS])
        ints[S_SOLVES] = ints[S_PIVOTS] = 0
