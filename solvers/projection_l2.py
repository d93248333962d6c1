"""The L2-ball region test by projection, with a cost that grows with the node's rows.

In the ball ``|x - c| <= r`` a ball ``B(x, mu)`` lies in the node's region and the domain
exactly when ``x`` lies in ``P_mu = {a_i . x <= b_i - mu}`` (unit ``a_i``) and
``|x - c| <= r - mu``; so the node holds such a ball exactly when the distance from ``c``
to ``P_mu`` is at most ``r - mu``. That distance is a projection, solved
by the dual active-set method of :mod:`polyregions.solvers.projection_kernels` entirely in
the space of the rows (their Gram matrix), warm-started from the parent's active set: a
pushed row costs ``O(m n)`` once, a test ``O(m k + k^3)`` per step.

Decisions (the same as the HiGHS backend's QP test, ``depth = r - dist(c, P_eps)``):

* a deep witness first: at ``mu = max(eps + band, r_a / 2)`` (``r_a`` the anchor's radius in
  the parent); a distance ``<= r - mu`` keeps the node with a witness of radius ``>= mu``;
* else at ``mu = eps + band``, and if needed at ``eps`` itself: ``r - dist`` against ``eps``
  (keep) and ``0`` (the hyperplane cuts the node);
* an empty ``P_mu`` comes with multipliers that bound ``max_{|x - c| <= r} min_i slack_i``:
  below ``eps - band`` the node is dropped; its depth is ``-inf`` when that bound is not
  positive or ``P_0`` is empty, else positive exactly when the projection at margin 0 says
  the node meets the open ball (as the HiGHS backend reports it).

Anything within the band of ``eps`` or ``0``, an iteration limit, a singular active set or
a returned point that fails its check goes to HiGHS (the QP, rows mirrored lazily).
The witness's radius is recomputed at the returned point:
``min(min_i (b_i - a_i . x), r - |x - c|)``.
"""

from __future__ import annotations

import math

import numpy as np

from .projection_kernels import EMPTY, ITERATION_LIMIT, OPTIMAL, SINGULAR, project
from .base import REGION_BACKENDS, RegionProblem, TestResult
from .fallback import RefereedStack

#: Active-set steps allowed in one projection before the test goes to HiGHS.
MAX_STEPS = 500
#: Distances within this relative band (and ``DECISION_ATOL`` times ``r``) of a threshold go to HiGHS.
DECISION_RTOL = 1e-7
DECISION_ATOL = 1e-9
#: Slack violation accepted by the projection (times ``r``).
FEASIBILITY_TOL = 1e-12
#: Projections tried (bisecting the margin geometrically) for a deeper witness of a kept node.
WITNESS_STEPS = 3
#: Initial number of stack levels (doubled when full).
INITIAL_LEVELS = 32


class ProjectionL2Backend(RefereedStack):
    """L2-ball region test by a compiled projection (dual active set), HiGHS as referee."""

    name = "projection"
    capabilities = REGION_BACKENDS["projection"]

    def __init__(self, problem: RegionProblem):
        super().__init__(problem)
        self.eps = eps = float(problem.eps)
        self.n = int(problem.dim)
        c, r = problem.l2_ball
        self._c, self._r = np.asarray(c, float), float(r)
        self._band0 = DECISION_ATOL * self._r
        self._band_eps = max(DECISION_RTOL * eps, self._band0)
        self._mu_keep = eps + self._band_eps
        self._feas_tol = FEASIBILITY_TOL * max(1.0, self._r)
        self._cap = 0
        self._grow()

    def _grow(self):
        old, cap, n = self._cap, max(INITIAL_LEVELS, 2 * self._cap), self.n

        def bigger(arr, shape, dtype=float):
            out = np.zeros(shape, dtype=dtype)
            if old:
                out[tuple(slice(0, s) for s in arr.shape)] = arr
            return out

        self._A = bigger(getattr(self, "_A", None), (cap, n))
        self._bv = bigger(getattr(self, "_bv", None), cap)
        self._h = bigger(getattr(self, "_h", None), cap)
        self._G = bigger(getattr(self, "_G", None), (cap, cap))
        self._act = bigger(getattr(self, "_act", None), (cap + 1, cap), np.int64)
        self._k = bigger(getattr(self, "_k", None), cap + 1, np.int64)
        self._ready = bigger(getattr(self, "_ready", None), cap + 1, np.bool_)
        self._ready[0] = True
        self._u = np.zeros(cap)
        self._cap = cap

    # ------------------------------------------------------------------ the stack
    def push(self, a, b):
        self._check_bound(b)
        a = np.asarray(a, float)
        lvl = self._level + 1
        if lvl > self._cap:
            self._grow()
        i = lvl - 1
        same = self._ready[lvl] and self._bv[i] == b and np.array_equal(self._A[i], a)
        if not same:
            self._A[i] = a
            self._bv[i] = b
            self._h[i] = a @ self._c
            g = self._A[: i + 1] @ a
            self._G[i, : i + 1] = g
            self._G[: i + 1, i] = g
            self._ready[lvl:] = False
        self._entered(lvl)

    # ------------------------------------------------------------------ solving
    def _project(self, mu):
        """Project ``c`` on ``P_mu`` for the current level from the nearest solved level's
        active set. Returns ``(status, dist, t_up)``; the level's slot keeps the active set."""
        lvl = self._level
        src = lvl
        while not self._ready[src]:
            src -= 1
        k = int(self._k[src])
        act = self._act[lvl]
        if src != lvl:
            act[:k] = self._act[src, :k]
        u = self._u
        u[0] = self._r  # the ball's radius, for the emptiness bound
        status, k, d2, t_up = project(self._G, self._h, self._bv, lvl, mu, act, k, u, MAX_STEPS, self._feas_tol)
        self._solves += 1
        if status in (OPTIMAL, EMPTY):
            self._k[lvl] = k
            self._ready[lvl] = True
        else:
            self._ready[lvl:] = False
        return status, math.sqrt(d2), t_up, k

    def _point(self, k):
        """The projection ``x = c - A_J^T u_J`` and its honest radius."""
        act = self._act[self._level, :k]
        x = self._c - self._u[:k] @ self._A[act] if k else self._c.copy()
        return x, self._radius(x)

    def _radius(self, x, skip=-1):
        m = self._level
        r = self._r - float(np.linalg.norm(x - self._c))
        if m:
            slack = self._bv[:m] - self._A[:m] @ x
            if skip >= 0:
                slack[skip] = np.inf
            r = min(r, float(np.min(slack)))
        return r

    def test(self, anchor=None) -> TestResult:
        eps, r = self.eps, self._r
        if self._level == 0:
            self._solves += 1
            return TestResult(r > eps, r, self._c.copy() if r > eps else None, r)
        mu = self._mu_keep
        if anchor is not None:
            mu = max(mu, 0.5 * self._radius(np.asarray(anchor, float), self._level - 1))
        hi = math.inf  # a margin known to fail
        if mu > self._mu_keep:
            status, dist, _, k = self._project(mu)
            if status == OPTIMAL and dist <= r - mu:
                x, rad = self._point(k)
                if rad > eps + 0.5 * self._band_eps:
                    return TestResult(True, rad, x, rad)
            hi = mu
        status, dist, t_up, k = self._project(self._mu_keep)
        if status == OPTIMAL and dist <= r - self._mu_keep:
            x, rad = self._point(k)
            if not rad > eps + 0.5 * self._band_eps:
                return self._fallback("witness radius near eps")
            x, rad = self._deepen(x, rad, min(hi, r - dist))
            return TestResult(True, rad, x, rad)
        if status == EMPTY:
            if t_up < eps - self._band_eps:
                return self._thin_or_empty(t_up)
        elif status != OPTIMAL:
            return self._fallback(_REASONS[status])
        # not kept at eps + band: the distance at eps itself decides (keep, cut, or neither)
        status, dist, t_up, k = self._project(eps)
        if status == EMPTY:
            if t_up < eps - self._band_eps:
                return self._thin_or_empty(t_up)
            return self._fallback("empty near eps")
        if status != OPTIMAL:
            return self._fallback(_REASONS[status])
        x, _ = self._point(k)
        m = self._level
        violation = float(np.max(self._A[:m] @ x - (self._bv[:m] - eps)))
        if violation > 10 * self._feas_tol or abs(float(np.linalg.norm(x - self._c)) - dist) > self._band0:
            return self._fallback("projection check failed")
        depth = r - dist
        if depth > eps - self._band_eps:
            return self._fallback("distance near r - eps")
        if abs(depth) <= self._band0:
            return self._fallback("distance near r")
        return TestResult(False, depth, None, depth)

    def _thin_or_empty(self, t_up):
        """A node with no ball of radius eps (``t_up`` bounds its largest radius). Its depth must
        be positive exactly when it meets the open ball, so that the search adds its row and no
        witness ball crosses it: the projection at margin 0 decides, HiGHS near the thresholds;
        a thin non-empty node gets the depth ``t_up`` (an upper bound of its radius, below eps)."""
        if t_up <= 0:
            return TestResult(False, -math.inf, None, -math.inf)
        status, dist, _, _ = self._project(0.0)
        if status == EMPTY:
            return TestResult(False, -math.inf, None, -math.inf)
        if status == OPTIMAL and dist < self._r - self._band0:
            return TestResult(False, t_up, None, t_up)
        if status == OPTIMAL and dist > self._r + self._band0:
            return TestResult(False, self._r - dist, None, self._r - dist)
        return self._fallback("thin node near the sphere" if status == OPTIMAL else _REASONS[status])

    def _deepen(self, x, rad, hi):
        """A deeper witness for a kept node: margins between ``rad`` (achieved) and `hi` (which
        fails, or cannot succeed: ``hi <= r - dist``) tried at their geometric mean."""
        lo = rad
        for _ in range(WITNESS_STEPS):
            if not hi > 2 * lo:
                break
            mu = math.sqrt(lo * hi)
            status, dist, t_up, k = self._project(mu)
            if status == OPTIMAL and dist <= self._r - mu:
                x2, rad2 = self._point(k)
                if rad2 > rad:
                    x, rad = x2, rad2
                lo = max(lo, rad2)
            else:
                hi = min(mu, t_up) if status == EMPTY else mu
        return x, rad

    def _row_in_x(self, k):
        return self._A[k].copy(), float(self._bv[k])


_REASONS = {ITERATION_LIMIT: "iteration limit", SINGULAR: "singular active set"}
