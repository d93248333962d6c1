"""The region test as a fixed-margin feasibility problem, for high-dimensional domains.

The Chebyshev LP of a node in a box ties ``x`` to the radius ``t`` in every box row
(``x_k + t <= hi_k``), so its basis has ``n + 1`` rows whatever the node. Fixing the radius
instead turns the box into column bounds: the node's region contains a ball of radius
``mu`` exactly when

    a_i . x <= b_i - |a_i| mu   (node rows, domain rows)      lo + mu <= x <= hi - mu

is non-empty. A bounded-variable dual simplex (:mod:`polyregions.solvers.bounded_kernels`)
decides it with a basis of one variable per row, so a test costs ``O(m^2 + m n)`` per pivot
with ``m`` the rows at the node (neurons fixed so far) instead of ``O(n^2)``. The same
form serves

* boxes and L-inf balls: ``z = x``, the box as bounds that shrink with ``mu``;
* bounded polytopes: their rows as rows, the bounding box (far outside) as bounds;
* L1 balls ``|x - c|_1 <= r``: ``x = c + p - q`` with ``0 <= p, q <= r`` and one row
  ``sum p + sum q <= r - sqrt(n) mu`` (a ball of radius ``mu`` lies in the L1 ball exactly
  when ``|x - c|_1 + sqrt(n) mu <= r``).

A test answers the two questions the search asks, each at its own margin:

1. keep (a ball of radius ``eps`` fits): first at deeper margins (the margin search below),
   then at ``mu = eps + band``. Feasible: kept. Infeasible: the Farkas row bounds the
   Chebyshev radius, ``t* <= t_up < mu``; a bound below ``eps - band`` drops the node.
2. cut (the hyperplane meets the node's interior, ``t* > 0``), only when not kept and
   ``t_up > 0``: solved again at ``mu = band0``; feasible means ``t* > 0``, and an
   infeasible certificate gives ``t_up`` again.

Whenever a bound falls within the band of a threshold (``eps``, or ``0``), or the compiled
solve fails (iteration limit, singular basis, a residual check, a certificate that does
not certify), the test goes to HiGHS (the Chebyshev LP, rows mirrored lazily): the
decisions are those of the exact Chebyshev radius, never a guess.

What a result reports: ``radius`` is the honest radius of the returned witness (its
distance to the nearest row and box face, recomputed in floating point); ``depth`` is a
bound on the Chebyshev radius on the side that decides: for a kept node the witness radius
(a lower bound), for a dropped node ``t_up`` (an upper bound, ``<= 0`` when the node has no
interior). The search's ``near_eps`` count is therefore a superset of the decisions whose
Chebyshev radius lies within a factor 10 of ``eps``, and ``min_radius`` is the radius of a
ball that lies in every counted region (as before).

Witness: the search re-centres its witness balls without tests, so their size matters.
The margin search tries ``mu = r_a / 2`` first (``r_a``: the radius of the parent's witness,
the ``anchor``, in the parent), then ``NEXT_MARGIN`` times each certified bound ``t_up``
(these bounds are often exact), at most ``MARGIN_TRIES`` times; a margin feasible after a
certified bound gives a witness within a factor ``1 / NEXT_MARGIN`` of the Chebyshev
radius. The point is
then joined with the anchor: along the segment, a ball of radius ``(1 - l) r_a + l r_f``
lies in the parent (convexity) and the new row's slack is ``(1 - l) s_a + l s_f``; where
the two meet may be deeper still. The radius returned is recomputed at the chosen point.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidInputError
from .base import REGION_BACKENDS, RegionProblem, TestResult
from .bounded_decide import (
    DROP,
    F_BAND0,
    F_BAND_EPS,
    F_EPS,
    F_FEAS_TOL,
    F_MU_KEEP,
    F_NEXT_MARGIN,
    I_BLAND_AFTER,
    I_HAS_ANCHOR,
    I_L1_HALF,
    I_MARGIN_TRIES,
    I_MAX_PIVOTS,
    I_REFACTOR_EVERY,
    KEEP,
    REASONS,
    region_test,
)
from .bounded_kernels import row_norm
from .fallback import RefereedStack
from .scipy_lp import bounding_box

#: Deeper margins tried (the anchor's, then certified bounds) before the keep margin itself.
MARGIN_TRIES = 6
#: The next margin tried is this fraction of the certified bound (the bounds are often exact).
NEXT_MARGIN = 0.8
#: Pivots allowed in one compiled solve before the test goes to HiGHS.
MAX_PIVOTS = 2000
#: After this many pivots in one solve, Bland's rule (no cycling).
BLAND_AFTER = 200
#: Recompute the basis inverse from scratch after this many updates.
REFACTOR_EVERY = 64
#: Bounds within this relative distance of ``eps`` go to HiGHS ...
DECISION_RTOL = 1e-7
#: ... and so do bounds within this distance (times the domain's scale) of ``eps`` or ``0``.
DECISION_ATOL = 1e-9
#: Primal feasibility tolerance of the compiled simplex (times the domain's scale).
FEASIBILITY_TOL = 1e-11
#: Initial number of stack levels (doubled when full).
INITIAL_LEVELS = 32



class BoundedDualBackend(RefereedStack):
    """Region test by a compiled bounded-variable dual simplex at fixed margins.

    Boxes, L-inf balls, bounded polytopes and L1 balls. ``fallbacks`` counts the tests
    decided by HiGHS (``fallback_reasons`` says why); ``pivots`` the compiled pivots.
    """

    name = "bounded"
    capabilities = REGION_BACKENDS["bounded"]

    def __init__(self, problem: RegionProblem):
        super().__init__(problem)
        self.eps = eps = float(problem.eps)
        self.n = n = int(problem.dim)
        self._l1 = problem.l1_ball is not None
        if self._l1:
            c, r = problem.l1_ball
            self._center = np.asarray(c, float)
            nz = 2 * n
            lo, hi = np.zeros(nz), np.full(nz, float(r))
            blo, bhi = np.zeros(nz), np.zeros(nz)
            rows, rhs, kap = np.ones((1, nz)), np.array([float(r)]), np.array([math.sqrt(n)])
            scale = max(1.0, float(r) + float(np.max(np.abs(self._center))))
        elif problem.coordinate_bounds is not None:  # a box or an L-inf ball: its rows are the bounds
            nz = n
            lo, hi = (np.array(v, dtype=float).reshape(n) for v in problem.coordinate_bounds)
            if np.any(lo >= hi):
                raise InvalidInputError("`backend` 'bounded' got an empty domain (a coordinate with lo >= hi)")
            blo, bhi = np.ones(n), np.ones(n)
            rows, rhs, kap = np.zeros((0, n)), np.zeros(0), np.zeros(0)
            scale = max(float(np.max(np.abs(lo))), float(np.max(np.abs(hi))), 1.0)
        else:
            nz = n
            A = np.asarray(problem.A, float).reshape(-1, n)
            b = np.asarray(problem.b, float).reshape(-1)
            norms = np.linalg.norm(A, axis=1)
            if np.any((norms == 0) & (b < 0)):
                raise InvalidInputError("`backend` 'bounded' got an empty domain (a zero row with a negative bound)")
            A, b, norms = A[norms > 0], b[norms > 0], norms[norms > 0]
            lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
            # a row with one non-zero is a bound on its coordinate (the tightest of them kept)
            nonzero = A != 0
            single = np.count_nonzero(nonzero, axis=1) == 1
            general = np.flatnonzero(~single)
            rows_1 = np.flatnonzero(single)
            cols_1 = nonzero[rows_1].argmax(axis=1)
            coef = A[rows_1, cols_1]
            v = b[rows_1] / coef
            np.minimum.at(hi, cols_1[coef > 0], v[coef > 0])
            np.maximum.at(lo, cols_1[coef < 0], v[coef < 0])
            blo, bhi = np.isfinite(lo).astype(float), np.isfinite(hi).astype(float)
            if not (np.all(blo) and np.all(bhi)):
                if A.shape[0] == 0:
                    raise InvalidInputError("`backend` 'bounded' needs a bounded domain; the problem has no rows")
                # artificial bounds far outside the domain: implied by its rows, never active
                blo_box, bhi_box = problem.box if problem.box is not None else bounding_box(A, b)
                if not (np.all(np.isfinite(blo_box)) and np.all(np.isfinite(bhi_box))):
                    raise InvalidInputError("`backend` 'bounded' needs a bounded polyhedral domain")
                margin = 1.0 + (bhi_box - blo_box)
                lo = np.where(blo > 0, lo, blo_box - margin)
                hi = np.where(bhi > 0, hi, bhi_box + margin)
            if np.any(lo >= hi):
                raise InvalidInputError("`backend` 'bounded' got an empty domain (a coordinate with lo >= hi)")
            rows, rhs, kap = A[general], b[general], norms[general]
            finite = np.concatenate([np.abs(lo[blo > 0]), np.abs(hi[bhi > 0]), np.abs(rhs), [1.0]])
            scale = float(np.max(finite))
        self._nz = nz
        self._lo, self._hi, self._blo, self._bhi = lo, hi, blo, bhi
        self._m0 = m0 = rows.shape[0]
        self._cap = INITIAL_LEVELS
        M = m0 + self._cap
        self._R = np.zeros((M, nz))
        self._R[:m0] = rows
        self._bv = np.zeros(M)
        self._bv[:m0] = rhs
        self._kappa = np.ones(M)
        self._kappa[:m0] = kap
        self._bases = np.zeros((self._cap + 1, M), dtype=np.int64)
        self._offsets = self._inverse_offsets(m0, self._cap)
        self._pool = np.zeros(self._offsets[-1])
        self._atups = np.zeros((self._cap + 1, nz), dtype=np.bool_)
        self._ready = np.zeros(self._cap + 1, dtype=np.bool_)
        self._reset_root()
        self._z, self._zout, self._za = np.zeros(nz), np.zeros(nz), np.zeros(nz)
        self._y = np.zeros(M)
        self._scale = scale
        band0 = DECISION_ATOL * scale
        band_eps = max(DECISION_RTOL * eps, band0)
        self._fpar = np.zeros(6)
        self._fpar[[F_MU_KEEP, F_BAND0, F_BAND_EPS, F_EPS, F_FEAS_TOL]] = (
            eps + band_eps, band0, band_eps, eps, FEASIBILITY_TOL * scale)
        self._ipar = np.zeros(6, dtype=np.int64)
        self._ipar[I_L1_HALF] = n if self._l1 else 0
        self._counters = np.zeros(2, dtype=np.int64)
        self._dropped_at = None  # the level of the last test when it dropped the node with a Farkas row

    # ------------------------------------------------------------------ the stack
    def push(self, a, b):
        self._check_bound(b)
        a = np.asarray(a, float)
        lvl = self._level + 1
        if lvl > self._cap:
            self._grow()
        r = self._m0 + lvl - 1
        if self._l1:
            row = np.concatenate([a, -a])
            rhs = float(b) - float(a @ self._center)
        else:
            row, rhs = a, float(b)
        same = self._ready[lvl] and self._bv[r] == rhs and np.array_equal(self._R[r], row)
        if not same:
            self._R[r] = row
            self._bv[r] = rhs
            self._kappa[r] = row_norm(np.ascontiguousarray(a))
            self._ready[lvl:] = False
        self._entered(lvl)

    def _grow(self):
        cap, nz, m0 = self._cap * 2, self._nz, self._m0
        M, M_old = m0 + cap, m0 + self._cap
        R = np.zeros((M, nz))
        R[:M_old] = self._R
        bv = np.zeros(M)
        bv[:M_old] = self._bv
        kap = np.ones(M)
        kap[:M_old] = self._kappa
        bases = np.zeros((cap + 1, M), dtype=np.int64)
        bases[: self._cap + 1, :M_old] = self._bases
        offsets = self._inverse_offsets(m0, cap)
        pool = np.zeros(offsets[-1])
        pool[: self._pool.size] = self._pool  # the levels' inverses keep their places
        atups = np.zeros((cap + 1, nz), dtype=np.bool_)
        atups[: self._cap + 1] = self._atups
        ready = np.zeros(cap + 1, dtype=np.bool_)
        ready[: self._cap + 1] = self._ready
        self._R, self._bv, self._kappa, self._cap = R, bv, kap, cap
        self._bases, self._pool, self._offsets, self._atups, self._ready = bases, pool, offsets, atups, ready
        self._y = np.zeros(M)

    @staticmethod
    def _inverse_offsets(m0, cap):
        """Where level ``k``'s ``(m0 + k)``-square basis inverse starts in the flat pool (levels
        ``0..cap``; memory grows with the cube of the depth, a third of square slots)."""
        sizes = (m0 + np.arange(cap + 1)) ** 2
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _reset_root(self):
        m0 = self._m0
        self._bases[0, :m0] = self._nz + np.arange(m0)
        self._pool[: m0 * m0] = np.eye(m0).ravel()
        self._atups[0] = False
        self._ready[0] = True

    # ------------------------------------------------------------------ lifting
    def _to_x(self, z):
        if self._l1:
            n = self.n
            return self._center + z[:n] - z[n:]
        return z.copy()

    def _to_z(self, x):
        if self._l1:
            d = x - self._center
            return np.concatenate([np.maximum(d, 0.0), np.maximum(-d, 0.0)])
        return np.array(x, dtype=float)

    # ------------------------------------------------------------------ solving
    def test(self, anchor=None) -> TestResult:
        lvl = self._level
        if self._m0 + lvl == 0 or (self._l1 and lvl == 0):
            return self._domain_alone()
        if anchor is not None:
            if self._l1:
                self._za[:] = self._to_z(np.asarray(anchor, float))
            else:
                self._za[:] = anchor
        self._ipar[I_HAS_ANCHOR] = anchor is not None
        self._ipar[I_MAX_PIVOTS] = MAX_PIVOTS
        self._ipar[I_BLAND_AFTER] = BLAND_AFTER
        self._ipar[I_REFACTOR_EVERY] = REFACTOR_EVERY
        self._ipar[I_MARGIN_TRIES] = MARGIN_TRIES
        self._fpar[F_NEXT_MARGIN] = NEXT_MARGIN
        before = self._counters[0]
        self._dropped_at = None
        code, radius, depth = region_test(self._R, self._bv, self._kappa, self._lo, self._hi, self._blo, self._bhi,
                                             self._m0, lvl, self._bases, self._pool, self._offsets, self._atups, self._ready,
                                             self._za, self._z, self._zout, self._y, self._fpar, self._ipar,
                                             self._counters)
        self._solves += int(self._counters[0] - before)
        if not self._ready[0]:
            self._reset_root()
        if code == KEEP:
            return TestResult(True, radius, self._to_x(self._zout), depth)
        if code == DROP:
            # y holds the Farkas multipliers of the solve that decided when its bound is below -band0
            self._dropped_at = lvl if depth <= -self._fpar[F_BAND0] else None
            return TestResult(False, depth, None, depth)
        return self._fallback(REASONS[code])

    @property
    def pivots(self):
        return int(self._counters[1])

    def farkas(self):
        """The Farkas multipliers of the last test when it dropped the node with a bound below
        ``-band0``: ``y >= 0`` over the rows with ``y . b`` below the minimum of ``(R^T y) . z``
        over the box bounds (:func:`~polyregions.solvers.bounded_kernels.farkas_bound`), returned
        on the pushed rows (bottom first); see :meth:`~polyregions.solvers.base.LPBackend.farkas`.
        """
        lvl = self._dropped_at
        if lvl is None or lvl != self._level:
            return None
        return self._y[self._m0: self._m0 + lvl].copy()

    def _domain_alone(self):
        """The domain without rows: its centre and inradius, in closed form."""
        if self._l1:
            x, r = self._center.copy(), float(self.problem.l1_ball[1]) / math.sqrt(self.n)
        else:
            x = (self._lo + self._hi) / 2
            r = float(np.min((self._hi - self._lo) / 2))
        self._solves += 1
        return TestResult(r > self.eps, r, x if r > self.eps else None, r)

    # ------------------------------------------------------------------ for a compiled search
    def reserve(self, levels: int) -> None:
        """Make room for `levels` pushed rows (memory grows with the cube of the depth: a compiled
        search reserves as it goes)."""
        while self._cap < levels:
            self._grow()

    def compiled_stack(self):
        """The stack as a :class:`~polyregions.solvers.stack_kernels.BoundedStack` (the arrays
        themselves); :meth:`adopt_compiled` takes it back after a compiled search used it."""
        from .stack_kernels import B_L1, B_M0, B_NZ, S_CAP, S_LEVEL, S_NEXT_ID, BoundedStack

        ids, next_id = self.stack_ids()
        ids_arr = np.zeros(self._cap + 1, dtype=np.int64)
        ids_arr[: len(ids)] = ids
        ints = np.zeros(8, dtype=np.int64)
        ints[[S_LEVEL, S_CAP, S_NEXT_ID, B_M0, B_NZ, B_L1]] = (self._level, self._cap, next_id, self._m0, self._nz,
                                                              self._l1)
        self._ipar[I_MAX_PIVOTS] = MAX_PIVOTS
        self._ipar[I_BLAND_AFTER] = BLAND_AFTER
        self._ipar[I_REFACTOR_EVERY] = REFACTOR_EVERY
        self._ipar[I_MARGIN_TRIES] = MARGIN_TRIES
        self._fpar[F_NEXT_MARGIN] = NEXT_MARGIN
        center = self._center if self._l1 else np.zeros(0)
        return BoundedStack(self._R, self._bv, self._kappa, self._lo, self._hi, self._blo, self._bhi, self._bases,
                            self._pool, self._offsets, self._atups, self._ready, self._za, self._z, self._zout, self._y,
                            self._fpar, self._ipar, self._counters, center, ids_arr, ints)

    def adopt_compiled(self, stack) -> None:
        """Take back the level, row ids and counters a compiled search left in `stack`."""
        from .stack_kernels import S_LEVEL, S_NEXT_ID, S_SOLVES

        ints = stack.ints
        self.adopt_stack(stack.ids[: ints[S_LEVEL]], ints[S_NEXT_ID], ints[S_SOLVES])
        ints[S_SOLVES] = 0

    def _row_in_x(self, k):
        r = self._m0 + k
        if self._l1:
            a = self._R[r, : self.n].copy()
            return a, float(self._bv[r] + a @ self._center)
        return self._R[r].copy(), float(self._bv[r])
