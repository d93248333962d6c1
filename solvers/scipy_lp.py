"""Every ``scipy.optimize.linprog`` call of polyregions, and the plain reference backend.

The helpers :func:`solve_lp` (one linprog call, its status read through
:data:`LINPROG_STATUS`), :func:`interior_ball` and :func:`bounding_box` (a polytope's
Chebyshev ball and bounding box), :func:`far_margin` (rows far beyond the others, in the
limit) and :func:`l2_tangent_cut` serve the domains, the search, the bounds and the other
backends.

The backend: every test is a fresh ``scipy.optimize.linprog`` call.

Capabilities: LP (Chebyshev region test, L1 ball lifted) and the L2-ball test by
outer approximation: ``max t`` subject to the rows and the cuts ``u . (x - c) + t <= r``
(valid for every unit ``u``, since ``u . (x - c) <= |x - c|``), adding the cut at the
current point until the point is a witness or the upper bound ``t`` falls to ``eps``.
Independent of the HiGHS QP, so the two cross-check each other.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SolverError
from .base import HONEST_CHECK_BELOW, REGION_BACKENDS, RowStack, RegionProblem, Status, TestResult

#: scipy's linprog status codes.
LINPROG_STATUS = {0: Status.OPTIMAL, 1: Status.LIMIT, 2: Status.INFEASIBLE, 3: Status.UNBOUNDED, 4: Status.ERROR}
#: Cutting-plane rounds allowed for one L2-ball test.
L2_MAX_CUTS = 500
#: linprog's HiGHS tolerances, in every call: the same as the default backend's
#: (``HIGHS_LP_OPTIONS``), far tighter than linprog's default 1e-7, which would decide
#: regions of radius near ``eps``.
LINPROG_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}
#: A polytope's bounding box is widened outwards by this times ``1 + |v|`` per entry, so
#: that solver tolerances cannot make it cut the polytope.
BOX_PAD = 1e-7


def solve_lp(c, *, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None, what="an LP", accept=()):
    """``linprog(method="highs")``; returns ``(Status, result)``.

    Any status but OPTIMAL and those listed in `accept` raises :class:`SolverError`
    naming `what`: a limit or an error is never read as an answer.
    """
    from scipy.optimize import linprog

    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs",
                  options=LINPROG_OPTIONS)
    status = LINPROG_STATUS.get(res.status, Status.ERROR)
    if status is not Status.OPTIMAL and status not in accept:
        raise SolverError(f"linprog returned status {res.status} ({res.message}) on {what}")
    return status, res


def interior_ball(A, b, cap):
    """The Chebyshev ball of ``{A x <= b}`` (rows of unit norm), its radius capped at `cap`.

    Solves ``max t  s.t.  A x + t <= b, t <= cap``. Returns ``(x, t)``, or ``(None, None)``
    when the rows are infeasible.
    """
    n = A.shape[1]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.hstack([A, np.ones((A.shape[0], 1))])
    status, res = solve_lp(c, A_ub=A_ub, b_ub=b, bounds=[(None, None)] * n + [(None, cap)],
                           what="the Chebyshev ball of a polytope", accept=(Status.INFEASIBLE,))
    if status is Status.INFEASIBLE:
        return None, None
    return res.x[:n], float(res.x[-1])


def far_margin(A_near, A_far, b_far):
    """``max m  s.t.  A_near y <= 0,  A_far y + m <= b_far,  m <= 1`` (``y`` free); its optimum.

    Polyhedra ``{A_near x <= c, A_far x <= b}`` whose rows ``b`` are far beyond ``c`` (scaled
    so that ``max |b| = 1``): they meet the far rows, in the limit, where a direction ``y`` of
    the near rows' recession cone reaches them; ``m`` is the margin by which one does.
    Returns ``(m, y)``, ``(-inf, None)`` when no direction does (the LP is infeasible).
    """
    n = A_far.shape[1]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.vstack([np.hstack([A_near, np.zeros((A_near.shape[0], 1))]),
                      np.hstack([A_far, np.ones((A_far.shape[0], 1))])])
    b_ub = np.concatenate([np.zeros(A_near.shape[0]), b_far])
    status, res = solve_lp(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(None, 1.0)],
                           what="the far margin of a node", accept=(Status.INFEASIBLE,))
    if status is Status.INFEASIBLE:
        return -math.inf, None
    return float(res.x[-1]), res.x[:n]


def bounding_box(A, b):
    """The bounding box ``(lo, hi)`` of the non-empty polyhedron ``{A x <= b}`` (2n LPs).

    ``hi_k = max x_k`` and ``lo_k = min x_k``, each widened outwards by
    ``BOX_PAD (1 + |v|)``; ``+-inf`` where the polyhedron is unbounded.
    """
    n = A.shape[1]
    lo, hi = np.full(n, -math.inf), np.full(n, math.inf)
    for k in range(n):
        for sign in (1.0, -1.0):
            obj = np.zeros(n)
            obj[k] = -sign
            status, res = solve_lp(obj, A_ub=A, b_ub=b, bounds=[(None, None)] * n,
                                   what="the bounding box of a polytope", accept=(Status.UNBOUNDED,))
            if status is Status.OPTIMAL:
                v = -sign * res.fun  # max x_k, or min x_k
                pad = BOX_PAD * (1.0 + abs(v))
                if sign > 0:
                    hi[k] = v + pad
                else:
                    lo[k] = v - pad
    return lo, hi


def l2_tangent_cut(center, radius, x):
    """The tangent plane ``u . y <= u . c + r`` of the ball ``|y - c| <= r`` in the direction
    ``u = (x - c) / |x - c|``, as ``(u, u . c + r)``; every point of the ball satisfies it
    (``u . (y - c) <= |y - c|``), and ``x`` violates it when it lies outside the ball."""
    d = np.asarray(x, float) - center
    u = d / np.linalg.norm(d)
    return u, float(u @ center + radius)


def transposition_nnls(A, b):
    """Floating-point multipliers ``y >= 0`` with ``A^T y = 0`` and ``b^T y = -1``, if any.

    ``scipy.optimize.nnls`` on ``min |A^T y|^2 + (b^T y + 1)^2, y >= 0``: a zero residual
    is a (floating-point) transposition certificate of the emptiness of ``{x : A x < b}``.
    Returns ``(y, residual)``; nothing here is a proof (the caller derives an exact one).
    """
    from scipy.optimize import nnls

    A = np.asarray(A, float)
    M = np.vstack([A.T, np.asarray(b, float)[None, :]])
    rhs = np.zeros(M.shape[0])
    rhs[-1] = -1.0
    y, residual = nnls(M, rhs)
    return y, float(residual)


def transposition_lp(A, b):
    """Floating-point multipliers for the emptiness of ``{x : A x < b}``, or None.

    ``min b^T y  s.t.  A^T y = 0,  sum y = 1,  y >= 0`` by :func:`solve_lp`; an optimum
    ``<= 0`` is a (floating-point) transposition certificate of the strict system, also one
    with ``b^T y = 0`` that :func:`transposition_nnls` cannot normalise. Returns
    ``(y, value)``, or None when the LP is infeasible (the system is not empty); nothing
    here is a proof (the caller derives an exact one).
    """
    A = np.asarray(A, float)
    m, n = A.shape
    A_eq = np.vstack([A.T, np.ones((1, m))])
    b_eq = np.concatenate([np.zeros(n), [1.0]])
    status, res = solve_lp(np.asarray(b, float), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * m,
                           what="a transposition LP", accept=(Status.INFEASIBLE,))
    if status is not Status.OPTIMAL:
        return None
    return np.asarray(res.x), float(res.fun)


def box_transposition_lp(A, b, lo, hi):
    """Floating-point multipliers for the emptiness of ``{x : A x < b, lo < x < hi}``, the box kept implicit.

    ``min b^T y - sum t  s.t.  t_k <= lo_k (A^T y)_k,  t_k <= hi_k (A^T y)_k,  sum y = 1,  y >= 0``:
    ``sum t`` is the box's support function ``min over the box of (A^T y) . x``, so an optimum
    ``<= 0`` is a (floating-point) certificate with ``m + n`` variables instead of the ``2 n``
    explicit box rows. Returns ``(y, value)``; nothing here is a proof.
    """
    import scipy.sparse as sp

    A = np.asarray(A, float)
    m, n = A.shape
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    eye = sp.identity(n, format="csr")
    A_ub = sp.vstack([sp.hstack([sp.csr_matrix(-(A * lo[None, :]).T), eye]),
                      sp.hstack([sp.csr_matrix(-(A * hi[None, :]).T), eye])], format="csr")
    A_eq = sp.csr_matrix(np.concatenate([np.ones(m), np.zeros(n)])[None, :])
    c = np.concatenate([np.asarray(b, float), -np.ones(n)])
    _, res = solve_lp(c, A_ub=A_ub, b_ub=np.zeros(2 * n), A_eq=A_eq, b_eq=[1.0],
                      bounds=[(0, None)] * m + [(None, None)] * n, what="a box transposition LP")
    return np.asarray(res.x[:m]), float(res.fun)


class ScipyBackend(RowStack):
    """Region test by one ``linprog(method="highs")`` call per test, no state kept."""

    name = "scipy"
    capabilities = REGION_BACKENDS["scipy"]

    def __init__(self, problem: RegionProblem):
        super().__init__()
        self.problem = problem
        self.eps = problem.eps
        self.n = problem.dim

    def _chebyshev(self, extra_A=None, extra_b=None):
        """max t s.t. a_i . x + |a_i| t <= b_i over node rows, domain rows and extra rows (all over x)."""
        p, n = self.problem, self.n
        node_A, node_b = self.stacked_rows(n)
        blocks_A = [node_A, p.A]
        blocks_b = [node_b, p.b]
        if extra_A is not None:
            blocks_A.append(extra_A)
            blocks_b.append(extra_b)
        A = np.vstack(blocks_A)
        b = np.concatenate(blocks_b)
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        A_ub = np.hstack([A, norms])
        b_ub = b
        nvar = n + 1
        bounds = [(None, None)] * n + [(None, p.t_cap)]
        if p.l1_ball is not None:
            c, r = p.l1_ball
            eye = np.eye(n)
            lift = np.vstack([
                np.hstack([eye, np.zeros((n, 1)), -eye]),
                np.hstack([-eye, np.zeros((n, 1)), -eye]),
                np.concatenate([np.zeros(n), [math.sqrt(n)], np.ones(n)])[None, :],
            ])
            A_ub = np.vstack([np.hstack([A_ub, np.zeros((A_ub.shape[0], n))]), lift])
            b_ub = np.concatenate([b_ub, c, -c, [r]])
            bounds += [(0, None)] * n
            nvar += n
        cost = np.zeros(nvar)
        cost[n] = -1.0
        self._solves += 1
        _, res = solve_lp(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, what="a region LP")
        return res.x[:n], float(res.x[n])

    def test(self, anchor=None) -> TestResult:
        if self.problem.l2_ball is not None:
            return self._test_l2()
        x, t = self._chebyshev()
        keep = t > self.eps
        if keep and t < HONEST_CHECK_BELOW:  # decide on a witness checked in floating point
            A, b = self.stacked_rows(self.n)
            t = self.problem.honest_radius(A, b, x)
            keep = t > self.eps
        return TestResult(keep, t, x if keep else None, t)

    def _test_l2(self) -> TestResult:
        c, r = self.problem.l2_ball
        A, b = self.stacked_rows(self.n)
        res, solves = l2_cutting_plane_test(A, b, np.asarray(c, float), float(r), self.eps)
        self._solves += solves
        return res


def l2_cutting_plane_test(A, b, c, r, eps, start=None):
    """Decide whether ``{a_i . x <= b_i}`` (unit rows) and ``B(c, r)`` share a ball of radius `eps`.

    Outer approximation of the ball by cuts ``u . (x - c) + t <= r``, starting from the
    bounding box (and the tangent cut through `start`, when given); returns
    ``(TestResult, number of LP solves)``.
    """
    n = c.size
    cuts_A = [np.eye(n), -np.eye(n)]  # the bounding box of the ball: u = +-e_k
    cuts_b = [c + r, r - c]
    if start is not None and np.linalg.norm(start - c) > 0:
        u, level = l2_tangent_cut(c, r, start)
        cuts_A.append(u[None, :])
        cuts_b.append(np.array([level]))
    for k in range(1, L2_MAX_CUTS + 1):
        rows = np.vstack([A] + cuts_A)
        A_ub = np.hstack([rows, np.ones((rows.shape[0], 1))])
        b_ub = np.concatenate([b] + cuts_b)
        cost = np.zeros(n + 1)
        cost[n] = -1.0
        _, sol = solve_lp(cost, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * (n + 1), what="the L2-ball test")
        x, t = sol.x[:n], float(sol.x[n])
        if t <= eps:  # an outer approximation: the true optimum is no larger
            return TestResult(False, t, None, t), k
        # decide on the point itself (its distance to every row and to the sphere), not on t
        slack = float(np.min(b - A @ x)) if b.size else math.inf
        if slack <= eps:
            # the point meets the rows only within linprog's tolerance, so t is within that
            # tolerance of eps: no checked witness, the node is thin (depth eps: non-empty)
            return TestResult(False, eps, None, eps), k
        dist = float(np.linalg.norm(x - c))
        radius = min(slack, r - dist)
        if radius > eps:
            return TestResult(True, radius, x, radius), k
        u, level = l2_tangent_cut(c, r, x)
        cuts_A.append(u[None, :])
        cuts_b.append(np.array([level]))
    raise SolverError(f"the L2-ball cutting-plane test did not settle within {L2_MAX_CUTS} cuts")
