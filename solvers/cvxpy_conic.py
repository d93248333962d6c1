"""cvxpy backend (Clarabel): the region test as a conic program, the cross-check of the HiGHS QP.

Capabilities: LP (the Chebyshev LP on polyhedral domains, the L1 ball lifted) and SOCP
(the L2 ball). ``"qp"`` is listed as well: it is the capability the search asks of a
backend before it tests regions in an L2 ball, and this backend decides that test
exactly (by the SOCP instead of a QP).

The test, with the node's rows ``a_i . x <= b_i`` (unit ``a_i``), is

.. math::

    \\max t \\quad\\text{s.t.}\\quad a_i . x + t \\le b_i,\\quad \\text{domain}(x, t)

where ``domain`` is ``A_k . x + |A_k| t <= b_k`` for the domain's linear rows, the lifted
``|x - c|_1 + t sqrt(n) <= r`` for an L1 ball, and the cone ``|x - c|_2 + t <= r`` for an
L2 ball: the largest Euclidean ball inside the region and the domain. A node is kept when
``t > eps`` and the returned point, checked row by row in floating point (its smallest
slack), holds a ball larger than ``eps``: the same honesty check as the default backend.

Bounded domains only (its declaration in :data:`polyregions.solvers.base.REGION_BACKENDS`):
on an unbounded domain the optimal face is unbounded and Clarabel's iterates run off to
infinity (it stops at its iteration limit), so the registry refuses such a domain before
the backend is built.

Problems are built once per number of rows with cvxpy parameters (DPP) and re-solved
with new parameter values. cvxpy's statuses go through :data:`CVXPY_STATUS`; an
``optimal_inaccurate`` answer is re-solved once with more iterations and default
tolerances, and then raised as :class:`~polyregions.errors.SolverError`, as is every
status that is not an optimum (the problem is always feasible and bounded, so
"infeasible" or "unbounded" is a failure, never an "empty" region).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import SolverError
from .base import REGION_BACKENDS, RowStack, RegionProblem, Status, TestResult

#: Clarabel settings for the region tests (tight: decisions are made at ``eps`` ~ 1e-9).
CLARABEL_OPTIONS = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 200}
#: Settings of the single re-solve after an inaccurate answer.
CLARABEL_RETRY_OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_iter": 2000}


def _status_table():
    import cvxpy as cp

    return {
        cp.OPTIMAL: Status.OPTIMAL,
        cp.OPTIMAL_INACCURATE: Status.ERROR,  # re-solved once, then raised
        cp.INFEASIBLE: Status.INFEASIBLE,
        cp.INFEASIBLE_INACCURATE: Status.ERROR,
        cp.UNBOUNDED: Status.UNBOUNDED,
        cp.UNBOUNDED_INACCURATE: Status.ERROR,
        cp.USER_LIMIT: Status.LIMIT,
        cp.SOLVER_ERROR: Status.ERROR,
        # anything else (None, new statuses) is an error
    }


class CvxpyBackend(RowStack):
    """Region test by cvxpy + Clarabel (LP and SOCP)."""

    name = "cvxpy"
    capabilities = REGION_BACKENDS["cvxpy"]

    def __init__(self, problem: RegionProblem, solver: str = "CLARABEL"):
        super().__init__()
        import cvxpy as cp

        self._cp = cp
        self._table = _status_table()
        self.problem = problem
        self.eps = problem.eps
        self.n = problem.dim
        self.solver = solver
        self._cache = {}
        A = np.asarray(problem.A, float).reshape(-1, self.n)
        self._dA = A
        self._db = np.asarray(problem.b, float)
        self._dnorm = np.linalg.norm(A, axis=1)


    # ------------------------------------------------------------------ problems
    def _problem(self, m: int):
        if m in self._cache:
            return self._cache[m]
        cp, p, n = self._cp, self.problem, self.n
        x = cp.Variable(n)
        t = cp.Variable()
        cons = []
        A_par = b_par = None
        if m:
            A_par = cp.Parameter((m, n))
            b_par = cp.Parameter(m)
            cons.append(A_par @ x + t <= b_par)
        if self._dA.shape[0]:
            cons.append(self._dA @ x + self._dnorm * t <= self._db)
        if p.l1_ball is not None:
            c, r = p.l1_ball
            s = cp.Variable(n, nonneg=True)
            c = np.asarray(c, float)
            cons += [x - c <= s, c - x <= s, cp.sum(s) + math.sqrt(n) * t <= float(r)]
        if p.l2_ball is not None:
            c, r = p.l2_ball
            cons.append(cp.norm(x - np.asarray(c, float), 2) + t <= float(r))
        entry = (cp.Problem(cp.Maximize(t), cons), x, t, A_par, b_par)
        self._cache[m] = entry
        return entry

    def _solve(self):
        cp = self._cp
        m = len(self._rows)
        prob, x, t, A_par, b_par = self._problem(m)
        if m:
            A_par.value, b_par.value = self.stacked_rows(self.n)
        status = None
        for opts in (CLARABEL_OPTIONS, CLARABEL_RETRY_OPTIONS):
            self._solves += 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # inaccurate answers are handled here
                    prob.solve(solver=self.solver, **opts)
            except cp.error.SolverError as exc:
                raise SolverError(f"cvxpy/{self.solver} failed on a region test: {exc}") from None
            status = self._table.get(prob.status, Status.ERROR)
            if status is Status.OPTIMAL or prob.status != cp.OPTIMAL_INACCURATE:
                break
        if status is not Status.OPTIMAL:
            # the problem is always feasible and bounded: no status but an optimum is an answer
            raise SolverError(f"cvxpy/{self.solver} returned {prob.status!r} on a region test (status {status.value})")
        if x.value is None or t.value is None:  # pragma: no cover - defensive
            raise SolverError(f"cvxpy/{self.solver} reported an optimum without a solution")
        return np.array(x.value, dtype=float), float(t.value)

    def chebyshev(self):
        """``(x, t)``: the centre and radius of the largest Euclidean ball in the node and the
        domain (Clarabel's optimum; a status other than optimal raises :class:`SolverError`)."""
        return self._solve()

    def _honest_radius(self, x, t):
        """The smallest slack of the returned point over every row (never above ``t``)."""
        p, n = self.problem, self.n
        r = t
        if self._rows:
            A, b = self.stacked_rows(self.n)
            r = min(r, float(np.min(b - A @ x)))
        if self._dA.shape[0]:
            r = min(r, float(np.min((self._db - self._dA @ x) / self._dnorm)))
        if p.l1_ball is not None:
            c, rad = p.l1_ball
            r = min(r, (float(rad) - float(np.abs(x - np.asarray(c, float)).sum())) / math.sqrt(n))
        if p.l2_ball is not None:
            c, rad = p.l2_ball
            r = min(r, float(rad) - float(np.linalg.norm(x - np.asarray(c, float))))
        return r

    def test(self, anchor=None) -> TestResult:
        """Keep the node when Clarabel's optimum exceeds ``eps`` and its point, checked row by
        row in floating point, is a witness of a ball larger than ``eps`` (``anchor`` is not
        used: the domains served are bounded)."""
        x, t = self._solve()
        if t <= self.eps:
            return TestResult(False, t, None, t)
        radius = self._honest_radius(x, t)
        if radius > self.eps:
            return TestResult(True, radius, x, t)
        # the point meets its rows only within Clarabel's tolerance, so t is within that
        # tolerance of eps: no checked witness, a thin but non-empty node (depth eps)
        return TestResult(False, self.eps, None, self.eps)
