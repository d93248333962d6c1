"""Every highspy call of polyregions: the region-test backend, the MIP driver, the support LPs.

All three read HiGHS's model status through one table, :func:`status_table`, whose
default is an error: a limit is never read as "infeasible".

The backend: one persistent model for the whole search.

Capabilities: LP (Chebyshev region test on polyhedral domains, L1 ball lifted) and QP
(the L2-ball test). Rows are added on descent and deleted on backtrack; the parent's
basis is saved on each push and restored on each pop, so every child LP starts from the
parent's optimal basis (measured: 3-5x fewer simplex iterations than a cold start).

Unbounded domains (``t_cap`` set): the optimal face of the capped Chebyshev LP may be
unbounded, and a vertex of it can lie far away, where ``a . x + b`` loses precision. The
model therefore carries proximity columns ``v >= |x - anchor|`` (inactive by default);
when a kept node's witness lands far from the parent's witness, a second solve finds the
point of the optimal face nearest to the parent's witness.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys

import numpy as np

from ..errors import SolverError
from .base import (HONEST_CHECK_BELOW, REGION_BACKENDS, ROW_BOUND_LIMIT, LinearModel, MipSolution, RegionProblem,
                   Status, TestResult)
from .scipy_lp import l2_cutting_plane_test

#: HiGHS options for the tiny, frequent LPs of the search (dual simplex, no presolve: the fastest measured).
HIGHS_LP_OPTIONS = {
    "output_flag": False,
    "presolve": "off",
    "solver": "simplex",
    "simplex_strategy": 1,  # dual simplex
    "threads": 1,
    "simplex_dual_edge_weight_strategy": 1,  # devex
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}

#: Options for the L2-ball QP.
HIGHS_QP_OPTIONS = {
    "output_flag": False,
    "threads": 1,
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}

#: HiGHS options for every MIP of the big-M encoding: explicit tolerances, an exact optimality gap.
HIGHS_MIP_OPTIONS = {
    "output_flag": False,
    "threads": 1,
    "random_seed": 0,
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 1e-9,
    "mip_feasibility_tolerance": 1e-8,
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}
#: HiGHS options for the LPs of bound propagation (tightening and support functions).
HIGHS_BOUND_LP_OPTIONS = {
    "output_flag": False,
    "threads": 1,
    "presolve": "off",
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}

#: On unbounded domains a witness farther than this factor times (1 + |anchor|_inf) from the
#: node's witness is pulled back by a second solve.
ANCHOR_DRIFT = 100.0
#: The L2 test first asks for a ball of this fraction of the domain's radius (a deep witness).
L2_WITNESS_DEPTH = 1e-3
#: Relative feasibility slack accepted when checking a QP's returned point.
QP_POINT_TOL = 1e-9


def new_highs():
    """A ``highspy.Highs()`` model that prints nothing.

    highspy writes its banner to the process's standard output (file descriptor 1, from
    C++) when a process builds its first model, before any option can switch output off.
    Standard output belongs to the command line (``--json`` must print one document), so
    the descriptor points at ``os.devnull`` while the model is built; C's buffers are
    flushed before it is restored (output of other threads in that instant is lost too).
    Every model polyregions builds comes from here.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


def status_table():
    """HiGHS model status -> :class:`Status`; anything not listed is an ERROR.

    Every limit (time, iterations, solutions, memory, interrupt, objective bound or
    target) is LIMIT: an answer was not reached, so it is never read as "infeasible".
    """
    import highspy

    M = highspy.HighsModelStatus
    return {
        M.kOptimal: Status.OPTIMAL,
        M.kInfeasible: Status.INFEASIBLE,
        M.kUnbounded: Status.UNBOUNDED,
        M.kTimeLimit: Status.LIMIT,
        M.kIterationLimit: Status.LIMIT,
        M.kSolutionLimit: Status.LIMIT,
        M.kInterrupt: Status.LIMIT,
        M.kMemoryLimit: Status.LIMIT,
        M.kObjectiveBound: Status.LIMIT,
        M.kObjectiveTarget: Status.LIMIT,
        # anything else (kUnboundedOrInfeasible, kSolveError, kModelError, kNotset, kUnknown, ...) is an error
    }


class HighsBackend:
    """Region test with a persistent highspy model (LP, or QP for the L2 ball)."""

    name = "highs"
    capabilities = REGION_BACKENDS["highs"]

    def __init__(self, problem: RegionProblem):
        import highspy

        self._hs = highspy
        self._status = status_table()
        self.problem = problem
        self.eps = problem.eps
        self.n = n = problem.dim
        self._solves = 0
        self.qp_fallbacks = 0  # QPs HiGHS failed on, decided by the SOCP instead
        self._conic, self._conic_depth = None, 0  # the conic backend of those SOCPs, and its rows
        self.recentred = 0  # witnesses pulled back on unbounded domains
        self.recentre_failures = 0  # pulls that failed (the far witness was kept)
        self._bases = []
        self._inf = highspy.kHighsInf
        h = self._h = new_highs()
        self._qp = problem.l2_ball is not None
        for k, v in (HIGHS_QP_OPTIONS if self._qp else HIGHS_LP_OPTIONS).items():
            h.setOptionValue(k, v)
        inf = self._inf
        if self._qp:
            c, r = problem.l2_ball
            self._center, self._radius = np.asarray(c, float), float(r)
            h.addVars(n, np.full(n, -inf), np.full(n, inf))
            # minimise |x - c|^2 = x'x - 2 c'x + c'c : HiGHS minimises 0.5 x'Qx + g'x with Q = 2I
            h.changeColsCost(n, np.arange(n, dtype=np.int32), -2.0 * self._center)
            h.passHessian(n, n, 1, np.arange(n + 1, dtype=np.int32), np.arange(n, dtype=np.int32), np.full(n, 2.0))
            # rows a.x <= b - shift (a of unit norm); the deeper shift gives usable witnesses
            self._witness_shift = max(self.eps, L2_WITNESS_DEPTH * self._radius)
            self._row_shift = self._witness_shift
            self._tcol = None
        else:
            # columns: x (n), t, then auxiliary columns
            tmax = problem.t_cap if problem.t_cap is not None else inf
            h.addVars(n, np.full(n, -inf), np.full(n, inf))
            h.addVars(1, np.array([-inf]), np.array([tmax]))
            self._tcol = n
            h.changeColCost(n, -1.0)
            ncol = n + 1
            A, b = problem.A, problem.b
            for i in range(A.shape[0]):
                idx = np.flatnonzero(A[i])
                h.addRow(-inf, b[i], idx.size + 1, np.append(idx, n).astype(np.int32),
                         np.append(A[i, idx], np.linalg.norm(A[i])))
            if problem.l1_ball is not None:
                # |x - c|_1 + t sqrt(n) <= r, lifted: x_k - u_k <= c_k, -x_k - u_k <= -c_k, sum u + sqrt(n) t <= r
                c, r = problem.l1_ball
                h.addVars(n, np.zeros(n), np.full(n, inf))
                for k in range(n):
                    h.addRow(-inf, c[k], 2, np.array([k, ncol + k], np.int32), np.array([1.0, -1.0]))
                    h.addRow(-inf, -c[k], 2, np.array([k, ncol + k], np.int32), np.array([-1.0, -1.0]))
                idx = np.append(np.arange(ncol, ncol + n), n).astype(np.int32)
                h.addRow(-inf, r, n + 1, idx, np.append(np.ones(n), math.sqrt(n)))
                ncol += n
            self._anchor_rows = None
            if problem.t_cap is not None:
                # proximity columns v >= |x - anchor|: x_k - v_k <= w_k, -x_k - v_k <= -w_k
                h.addVars(n, np.zeros(n), np.full(n, inf))
                first = h.getNumRow()
                for k in range(n):
                    h.addRow(-inf, 0.0, 2, np.array([k, ncol + k], np.int32), np.array([1.0, -1.0]))
                    h.addRow(-inf, 0.0, 2, np.array([k, ncol + k], np.int32), np.array([-1.0, -1.0]))
                self._anchor_rows = np.arange(first, first + 2 * n, dtype=np.int32)
                self._anchor_cols = np.arange(ncol, ncol + n, dtype=np.int32)
                # inactive (free rows, zero cost) until a witness must be pulled back
                h.changeRowsBounds(2 * n, self._anchor_rows, np.full(2 * n, -inf), np.full(2 * n, inf))
                ncol += n
            self._row_shift = 0.0
        self._base_rows = h.getNumRow()
        self._pushed = []  # (a, b) of the node's rows, for checks and re-solves

    # ------------------------------------------------------------------ the stack
    def push(self, a, b):
        h, n = self._h, self.n
        if not abs(b) < ROW_BOUND_LIMIT:
            raise SolverError(f"a row bound of {b:.3g} is beyond what HiGHS takes as finite")
        self._bases.append(h.getBasis() if not self._qp else None)
        if self._qp:
            h.addRow(-self._inf, b - self._row_shift, n, self._xidx(), a)
        else:
            h.addRow(-self._inf, b, n + 1, self._xtidx(), np.append(a, 1.0))
        self._pushed.append((a, b))

    def pop(self):
        h = self._h
        last = h.getNumRow() - 1
        h.deleteRows(1, np.array([last], dtype=np.int32))
        self._pushed.pop()
        basis = self._bases.pop()
        if basis is not None:
            h.setBasis(basis)

    def _xidx(self):
        return np.arange(self.n, dtype=np.int32)

    def _xtidx(self):
        return np.arange(self.n + 1, dtype=np.int32)

    @property
    def lp_solves(self):
        return self._solves

    def farkas(self):
        """No multipliers (see :meth:`~polyregions.solvers.base.LPBackend.farkas`)."""
        return None

    # ------------------------------------------------------------------ solving
    def _run(self):
        h = self._h
        self._solves += 1
        h.run()
        status = self._status.get(h.getModelStatus(), Status.ERROR)
        if status is Status.ERROR:
            # one retry from scratch before giving up; never read an error as "empty"
            h.clearSolver()
            self._solves += 1
            h.run()
            status = self._status.get(h.getModelStatus(), Status.ERROR)
        return status

    def test(self, anchor=None) -> TestResult:
        if self._qp:
            return self._test_l2()
        h = self._h
        status = self._run()
        if status is not Status.OPTIMAL:
            raise SolverError(f"HiGHS returned {h.getModelStatus()} on a region LP (status {status.value})")
        col = h.getSolution().col_value
        t = col[self._tcol]
        x = np.array(col[: self.n])
        keep = t > self.eps
        if keep and t < HONEST_CHECK_BELOW:
            A, b = self._rows()
            t = self.problem.honest_radius(A, b, x)
            keep = t > self.eps
        failed = False
        if keep and self._anchor_rows is not None and anchor is not None:
            w = np.asarray(anchor, float)
            if np.max(np.abs(x - w)) > ANCHOR_DRIFT * (1.0 + np.max(np.abs(w))):
                x, t, failed = self._pull_to(w, t)
        return TestResult(keep, t, x if keep else None, t, recentre_failed=failed)

    def _pull_to(self, w, t):
        """The point of the optimal face (radius ``t``) nearest to `w` in L1, and whether that
        solve failed.

        On unbounded domains the capped Chebyshev LP has unbounded optimal faces; its vertex
        may lie far away, where ``a . x + b`` loses precision. The decision is already made;
        this second solve only moves the witness back. When it fails (HiGHS has reported the
        shifted face infeasible) the far witness is kept: ``(x_far, t, True)``."""
        h, n = self._h, self.n
        h.changeRowsBounds(2 * n, self._anchor_rows, np.full(2 * n, -self._inf), np.repeat(w, 2) * np.tile([1.0, -1.0], n))
        x_far = np.array(h.getSolution().col_value[:n])
        t_keep = t - max(1e-7 * t, 1e-8)  # the optimal face, less a hair for the solver's tolerance
        h.changeColBounds(self._tcol, t_keep, self.problem.t_cap)
        h.changeColCost(self._tcol, 0.0)
        h.changeColsCost(n, self._anchor_cols, np.ones(n))
        try:
            status = self._run()
            if status is not Status.OPTIMAL:  # the decision stands; keep the far witness
                self.recentre_failures += 1
                return x_far, t, True
            x = np.array(h.getSolution().col_value[:n])
        finally:
            h.changeColBounds(self._tcol, -self._inf, self.problem.t_cap)
            h.changeColCost(self._tcol, -1.0)
            h.changeColsCost(n, self._anchor_cols, np.zeros(n))
            h.changeRowsBounds(2 * n, self._anchor_rows, np.full(2 * n, -self._inf), np.full(2 * n, self._inf))
        self.recentred += 1
        return x, t_keep, False

    def _set_row_shift(self, shift):
        """Shift every pushed row of the QP to ``a . x <= b - shift``."""
        if self._pushed:
            m = len(self._pushed)
            rows = np.arange(self._base_rows, self._base_rows + m, dtype=np.int32)
            ub = np.array([b for _, b in self._pushed]) - shift
            self._h.changeRowsBounds(m, rows, np.full(m, -self._inf), ub)
        self._row_shift = shift

    def _solve_qp(self, shift):
        """Solve min |x - c|^2 over the rows shifted by `shift`; return (x, slack, dist) or None if infeasible."""
        h = self._h
        status = self._run()
        if status is Status.INFEASIBLE:
            return None
        if status is not Status.OPTIMAL:
            return self._qp_fallback(shift)
        x = np.array(h.getSolution().col_value[: self.n])
        dist = float(np.linalg.norm(x - self._center))
        if self._pushed:
            A = np.array([a for a, _ in self._pushed])
            bb = np.array([b for _, b in self._pushed])
            slack = float(np.min(bb - A @ x))
        else:
            slack = math.inf
        if slack < shift - QP_POINT_TOL * (1.0 + float(np.abs(x).max())):
            return self._qp_fallback(shift)
        return x, slack, dist

    def _qp_fallback(self, shift):
        """HiGHS failed on the QP (it can, rarely, on harmless QPs): decide by the SOCP instead."""
        self.qp_fallbacks += 1
        out = self._socp()
        if out[1] <= shift:
            return None
        x = out[0]
        A, b = self._rows()
        slack = float(np.min(b - A @ x)) if b.size else math.inf
        return x, slack, float(np.linalg.norm(x - self._center))

    def _rows(self):
        A = np.array([a for a, _ in self._pushed]).reshape(-1, self.n)
        b = np.array([b for _, b in self._pushed])
        return A, b

    def _socp(self):
        """The largest ball in region and domain: ``max t  s.t.  a_i . x + t <= b_i,  |x - c| + t <= r``,
        by the conic backend (:class:`~polyregions.solvers.cvxpy_conic.CvxpyBackend`: Clarabel, its
        statuses through its table). Returns ``(x, t)``."""
        from .cvxpy_conic import CvxpyBackend

        if self._conic is None:
            self._conic = CvxpyBackend(self.problem)
        conic = self._conic
        for _ in range(self._conic_depth):
            conic.pop()
        for a, b in self._pushed:
            conic.push(a, b)
        self._conic_depth = len(self._pushed)
        before = conic.lp_solves
        try:
            return conic.chebyshev()
        finally:
            self._solves += conic.lp_solves - before

    def _solve_shifted(self, shift):
        """:meth:`_solve_qp` with every row shifted by `shift` instead of the witness shift."""
        deep = self._witness_shift
        if shift == deep:
            return self._solve_qp(deep)
        self._set_row_shift(shift)
        try:
            return self._solve_qp(shift)
        finally:
            self._set_row_shift(deep)

    def _test_l2(self) -> TestResult:
        """Keep when R_eps = {a_i . x <= b_i - eps} meets B(c, r - eps): exactly when a ball of radius
        eps lies inside the node's rows and the ball ``|x - c| <= r``.

        The model normally holds the rows shifted by the deeper ``witness_shift``: a success
        there gives a witness of that radius (usable by the search), kept when the radius
        computed from the point itself exceeds ``eps``. Otherwise the QP over the unshifted
        rows says whether the node meets the open ball at all: the returned depth is positive
        exactly when it does (the search then adds the node's row, so that no witness ball
        crosses it). A non-empty node is then decided at ``eps`` itself; one kept only there
        is thin, and the SOCP gives its radius and a centred witness. A non-empty node that
        is not kept gets a depth in (0, eps] (``eps`` when no better value is known).
        """
        eps, r = self.eps, self._radius
        deep = self._witness_shift
        out = self._solve_qp(deep)
        if out is not None and out[2] <= r - deep:
            x, slack, dist = out
            radius = min(slack, r - dist)  # computed from the point, not the QP's optimum
            if radius > eps:
                return TestResult(True, radius, x, radius)
            # the QP met its rows only within its tolerance: decide at eps below
        else:
            touching = self._solve_shifted(0.0)
            if touching is None:
                return TestResult(False, -math.inf, None, -math.inf)
            if touching[2] >= r:
                return TestResult(False, r - touching[2], None, r - touching[2])
        if deep > eps:
            out = self._solve_shifted(eps)
        depth = eps if out is None else r - out[2]
        if depth <= eps:
            depth = depth if depth > 0 else eps  # non-empty, thinner than eps
            return TestResult(False, depth, None, depth)
        # a thin node: the QP and the SOCP decide within their tolerances (about 1e-9), so
        # keep it only on a witness whose ball is checked in floating point; otherwise
        # decide by LPs (exact vertices) with tangent cuts, from the SOCP's point
        thin = self._socp()
        if thin is not None:
            x = thin[0]
            A, b = self._rows()
            honest = min(float(np.min(b - A @ x)) if b.size else math.inf, r - float(np.linalg.norm(x - self._center)))
            if honest > eps:
                return TestResult(True, honest, x, honest)
        A, b = self._rows()
        res, solves = l2_cutting_plane_test(A, b, self._center, r, eps, start=None if thin is None else thin[0])
        self._solves += solves
        return res


class HighsMipDriver:
    """A persistent highspy model mirroring a :class:`~polyregions.solvers.base.LinearModel` (LP or MIP).

    Statuses go through :func:`status_table`; an error is retried once from scratch
    without presolve, then raised as :class:`SolverError` (never read as "infeasible").
    """

    name = "highs"

    def __init__(self, model: LinearModel, *, mip: bool):
        import highspy

        self._hs = highspy
        self.model = model
        self.mip = mip
        self._table = status_table()
        h = self._h = new_highs()
        for k, v in (HIGHS_MIP_OPTIONS if mip else HIGHS_BOUND_LP_OPTIONS).items():
            h.setOptionValue(k, v)
        self._ncol = self._nrow = self._nbound = 0
        self.solves = 0
        self.sync()

    def sync(self):
        h, m, hs = self._h, self.model, self._hs
        inf = hs.kHighsInf
        n = m.num_cols
        if n > self._ncol:
            lb = np.array(m.lb[self._ncol:n])
            ub = np.array(m.ub[self._ncol:n])
            h.addVars(n - self._ncol, np.where(np.isinf(lb), -inf, lb), np.where(np.isinf(ub), inf, ub))
            if self.mip:
                ints = [j for j in range(self._ncol, n) if m.integer[j]]
                if ints:
                    h.changeColsIntegrality(len(ints), np.array(ints, np.int32),
                                            np.full(len(ints), int(hs.HighsVarType.kInteger), np.uint8))
            self._ncol = n
        for idx, val, lo, hi, _ in m.rows[self._nrow:]:
            h.addRow(-inf if lo == -math.inf else lo, inf if hi == math.inf else hi, idx.size, idx, val)
        self._nrow = m.num_rows
        for col, lb, ub in m.bound_changes[self._nbound:]:
            h.changeColBounds(col, -inf if lb == -math.inf else lb, inf if ub == math.inf else ub)
        self._nbound = len(m.bound_changes)

    def minimize(self, cost: dict, time_limit: float | None = None, cutoff: float | None = None) -> MipSolution:
        """Minimise ``sum cost[j] v_j``; the status goes through the explicit table.

        With a `cutoff` (MIP only) the search stops at the first solution whose objective is
        below the cutoff (``proven=False``, no bound), or reports INFEASIBLE (``proven=False``)
        when the solver finds none: the caller confirms that answer with a full solve.
        """
        self.sync()
        h = self._h
        n = self._ncol
        c = np.zeros(n)
        for j, v in cost.items():
            c[j] = v
        h.changeColsCost(n, np.arange(n, dtype=np.int32), c)
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else self._hs.kHighsInf)
        if cutoff is not None and self.mip:
            h.setOptionValue("objective_bound", float(cutoff))
            h.setOptionValue("mip_max_improving_sols", 1)
            try:
                self.solves += 1
                h.run()
                raw = h.getModelStatus()
            finally:
                h.setOptionValue("objective_bound", self._hs.kHighsInf)
                h.setOptionValue("mip_max_improving_sols", 2**31 - 1)
            M = self._hs.HighsModelStatus
            status = self._table.get(raw, Status.ERROR)
            if status in (Status.OPTIMAL, Status.LIMIT) and h.getInfo().primal_solution_status == 2:
                x = np.array(h.getSolution().col_value)
                value = float(c @ x)
                if value < cutoff:
                    return MipSolution(Status.OPTIMAL, x, value, math.nan, proven=False)
            # the cutoff search ends at its first solution (kSolutionLimit) or at the objective
            # bound (kObjectiveBound, kObjectiveTarget): those are its answers, not limits
            if status is Status.LIMIT and raw not in (M.kSolutionLimit, M.kObjectiveBound, M.kObjectiveTarget):
                return MipSolution(Status.LIMIT)
            # nothing below the cutoff, or a status this mode does not trust: the caller confirms
            return MipSolution(Status.INFEASIBLE, proven=False)
        status = self._run()
        if status in (Status.ERROR, Status.UNBOUNDED):  # every column is bounded: unbounded is an error
            # one retry from scratch without presolve before giving up
            h.clearSolver()
            h.setOptionValue("presolve", "off")
            status = self._run()
            h.setOptionValue("presolve", "choose" if self.mip else "off")
        if status in (Status.ERROR, Status.UNBOUNDED):
            raise SolverError(f"HiGHS returned {h.getModelStatus()} on a {'MIP' if self.mip else 'LP'} "
                              "of the big-M encoding")
        if status is not Status.OPTIMAL:
            bound = math.nan
            if status is Status.LIMIT and self.mip:
                bound = float(h.getInfo().mip_dual_bound)
            return MipSolution(status, bound=bound)
        x = np.array(h.getSolution().col_value)
        value = float(c @ x)
        bound = float(h.getInfo().mip_dual_bound) if self.mip else value
        if not math.isfinite(bound):
            bound = value
        return MipSolution(status, x, value, min(bound, value))

    def _run(self):
        self.solves += 1
        self._h.run()
        return self._table.get(self._h.getModelStatus(), Status.ERROR)


class PolytopeSupport:
    """``max a . x`` over ``A x <= b`` by a persistent HiGHS LP (changing only the cost).

    The optimum is widened outwards by ``pad (1 + |v|)`` so that solver tolerances cannot
    make it an underestimate; ``+inf`` when unbounded.
    """

    def __init__(self, A, b, pad):
        import highspy

        self.pad = pad
        self._table = status_table()
        n = A.shape[1]
        self.n = n
        h = self._h = new_highs()
        for k, v in HIGHS_BOUND_LP_OPTIONS.items():
            h.setOptionValue(k, v)
        inf = highspy.kHighsInf
        h.addVars(n, np.full(n, -inf), np.full(n, inf))
        for i in range(A.shape[0]):
            idx = np.flatnonzero(A[i]).astype(np.int32)
            h.addRow(-inf, float(b[i]), idx.size, idx, A[i, idx])
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.solves = 0

    def __call__(self, a) -> float:
        a = np.asarray(a, float)
        if not np.any(a):
            return 0.0
        h = self._h
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), a)
        self.solves += 1
        h.run()
        st = h.getModelStatus()
        status = self._table.get(st, Status.ERROR)
        if status is Status.OPTIMAL:
            x = np.array(h.getSolution().col_value)
            v = float(a @ x)
            return v + self.pad * (1.0 + abs(v))
        if status is Status.UNBOUNDED:
            return math.inf
        # an infeasible polytope cannot occur (Polytope checks its interior); anything else is an error
        raise SolverError(f"HiGHS returned {st} while maximising over the polytope")
