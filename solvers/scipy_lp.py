"""The plain reference backend: every test is a fresh ``scipy.optimize.linprog`` call.

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
from .base import HONEST_CHECK_BELOW, RegionProblem, Status, TestResult, honest_radius

#: scipy's linprog status codes.
LINPROG_STATUS = {0: Status.OPTIMAL, 1: Status.LIMIT, 2: Status.INFEASIBLE, 3: Status.UNBOUNDED, 4: Status.ERROR}
#: Cutting-plane rounds allowed for one L2-ball test.
L2_MAX_CUTS = 500


class ScipyBackend:
    """Region test by one ``linprog(method="highs")`` call per test, no state kept."""

    name = "scipy"
    capabilities = frozenset({"lp", "qp"})

    def __init__(self, problem: RegionProblem):
        self.problem = problem
        self.eps = problem.eps
        self.n = problem.dim
        self._rows = []
        self._solves = 0

    def push(self, a, b):
        self._rows.append((np.asarray(a, float), float(b)))

    def pop(self):
        self._rows.pop()

    @property
    def lp_solves(self):
        return self._solves

    def _chebyshev(self, extra_A=None, extra_b=None):
        """max t s.t. a_i . x + |a_i| t <= b_i over node rows, domain rows and extra rows (all over x)."""
        from scipy.optimize import linprog

        p, n = self.problem, self.n
        blocks_A = [np.array([a for a, _ in self._rows]).reshape(-1, n), p.A]
        blocks_b = [np.array([b for _, b in self._rows]), p.b]
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
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
        status = LINPROG_STATUS.get(res.status, Status.ERROR)
        if status is not Status.OPTIMAL:
            raise SolverError(f"linprog returned status {res.status} ({res.message}) on a region LP")
        return res.x[:n], float(res.x[n])

    def test(self, anchor=None) -> TestResult:
        if self.problem.l2_ball is not None:
            return self._test_l2()
        x, t = self._chebyshev()
        keep = t > self.eps
        if keep and t < HONEST_CHECK_BELOW:  # decide on a witness checked in floating point
            A = np.array([a for a, _ in self._rows]).reshape(-1, self.n)
            b = np.array([b for _, b in self._rows])
            t = honest_radius(self.problem, A, b, x)
            keep = t > self.eps
        return TestResult(keep, t, x if keep else None, t)

    def _test_l2(self) -> TestResult:
        c, r = self.problem.l2_ball
        A = np.array([a for a, _ in self._rows]).reshape(-1, self.n)
        b = np.array([b for _, b in self._rows])
        res, solves = l2_cutting_plane_test(A, b, np.asarray(c, float), float(r), self.eps)
        self._solves += solves
        return res


def l2_cutting_plane_test(A, b, c, r, eps, start=None):
    """Decide whether ``{a_i . x <= b_i}`` (unit rows) and ``B(c, r)`` share a ball of radius `eps`.

    Outer approximation of the ball by cuts ``u . (x - c) + t <= r``, starting from the
    bounding box (and the tangent cut through `start`, when given); returns
    ``(TestResult, number of LP solves)``.
    """
    from scipy.optimize import linprog

    n = c.size
    cuts_A = [np.eye(n), -np.eye(n)]  # the bounding box of the ball: u = +-e_k
    cuts_b = [c + r, r - c]
    if start is not None and np.linalg.norm(start - c) > 0:
        u = (start - c) / np.linalg.norm(start - c)
        cuts_A.append(u[None, :])
        cuts_b.append(np.array([u @ c + r]))
    for k in range(1, L2_MAX_CUTS + 1):
        rows = np.vstack([A] + cuts_A)
        A_ub = np.hstack([rows, np.ones((rows.shape[0], 1))])
        b_ub = np.concatenate([b] + cuts_b)
        cost = np.zeros(n + 1)
        cost[n] = -1.0
        sol = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * (n + 1), method="highs")
        if LINPROG_STATUS.get(sol.status, Status.ERROR) is not Status.OPTIMAL:
            raise SolverError(f"linprog returned status {sol.status} ({sol.message}) in the L2-ball test")
        x, t = sol.x[:n], float(sol.x[n])
        if t <= eps:  # an outer approximation: the true optimum is no larger
            return TestResult(False, t, None, t), k
        dist = float(np.linalg.norm(x - c))
        radius = min(t, r - dist)
        if radius > eps:
            return TestResult(True, radius, x, radius), k
        u = (x - c) / dist
        cuts_A.append(u[None, :])
        cuts_b.append(np.array([u @ c + r]))
    raise SolverError(f"the L2-ball cutting-plane test did not settle within {L2_MAX_CUTS} cuts")
