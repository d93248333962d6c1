"""PuLP models of the big-M MILPs: solving with PuLP's solvers, and export to ``.lp`` / ``.mps``.

Capabilities: MILP (and LP). PuLP is imported lazily. The model handed in is solver-
neutral (:class:`polyregions.solvers.base.LinearModel`, read through its attributes only):
``lb``, ``ub``, ``integer``, ``names`` per column; ``rows`` as
``(idx, val, lo, hi, name)`` meaning ``lo <= sum val_k v_{idx_k} <= hi``;
``bound_changes``; ``objective`` (column -> cost) and ``sense`` (``"max"`` / ``"min"``).

Solvers: ``"cbc"`` (the CBC binary bundled with PuLP, ``pulp.PULP_CBC_CMD``) and
``"highs"`` (PuLP's interface to highspy, ``pulp.HiGHS``). Both run with an exact
optimality gap and explicit feasibility tolerances. PuLP's statuses are translated
through :data:`PULP_STATUS`; anything not listed is an error, and a limit is never read
as "infeasible".
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..errors import InvalidInputError, SolverError
from .base import MipSolution, Status

__all__ = ["PULP_STATUS", "PulpDriver", "build_problem", "make_solver", "write_model"]

#: ``(LpProblem.status, LpProblem.sol_status)`` -> Status. Default: ERROR.
#: PuLP codes: status 1 Optimal, 0 Not Solved, -1 Infeasible, -2 Unbounded, -3 Undefined;
#: sol_status 1 optimal, 2 a solution found (not proven optimal), 0 none found,
#: -1 no solution exists, -2 unbounded.
PULP_STATUS = {
    (1, 1): Status.OPTIMAL,
    (1, 2): Status.LIMIT,  # stopped with an incumbent (time limit): not an optimum
    (0, 0): Status.LIMIT,  # stopped without a solution
    (-1, -1): Status.INFEASIBLE,
    (-1, 0): Status.INFEASIBLE,
    (-2, -2): Status.UNBOUNDED,
    (-2, 0): Status.UNBOUNDED,
}

#: CBC command-line options: tolerances as in the HiGHS MIP options of polyregions.milp.milp.
CBC_OPTIONS = ["primalTolerance 1e-9", "integerTolerance 1e-8", "dualTolerance 1e-9"]
#: HiGHS options passed through PuLP.
PULP_HIGHS_OPTIONS = {
    "mip_feasibility_tolerance": 1e-8,
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
    "random_seed": 0,
}


def make_solver(name: str, *, time_limit: float | None = None, mip: bool = True):
    """A PuLP solver object: ``"cbc"`` or ``"highs"``, quiet, with an exact gap."""
    import pulp

    if name == "cbc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PuLP announces the bundled CBC's future removal
            return pulp.PULP_CBC_CMD(mip=mip, msg=False, gapRel=0.0, gapAbs=1e-9, timeLimit=time_limit,
                                     options=list(CBC_OPTIONS), threads=1)
    if name == "highs":
        return pulp.HiGHS(mip=mip, msg=False, gapRel=0.0, gapAbs=1e-9, timeLimit=time_limit, threads=1,
                          **PULP_HIGHS_OPTIONS)
    raise InvalidInputError(f"`solver` must be 'cbc' or 'highs', got {name!r}")


def _bound(v):
    return None if math.isinf(v) else float(v)


class _Builder:
    """Incremental translation of a neutral model into a ``pulp.LpProblem``."""

    def __init__(self, model, name="polyregions"):
        import pulp

        self._pulp = pulp
        self.model = model
        self.prob = pulp.LpProblem(name, pulp.LpMaximize if model.sense == "max" else pulp.LpMinimize)
        self.vars = []
        self._nrow = self._nbound = 0
        self.sync()

    def sync(self):
        pulp, m = self._pulp, self.model
        for j in range(len(self.vars), len(m.lb)):
            cat = pulp.LpInteger if m.integer[j] else pulp.LpContinuous
            if hasattr(self.prob, "add_variable"):  # PuLP >= 3.3
                v = self.prob.add_variable(m.names[j], _bound(m.lb[j]), _bound(m.ub[j]), cat=cat)
            else:  # pragma: no cover - older PuLP
                v = pulp.LpVariable(m.names[j], _bound(m.lb[j]), _bound(m.ub[j]), cat)
            self.vars.append(v)
        for col, lb, ub in m.bound_changes[self._nbound:]:
            self.vars[col].lowBound, self.vars[col].upBound = _bound(lb), _bound(ub)
        self._nbound = len(m.bound_changes)
        for idx, val, lo, hi, name in m.rows[self._nrow:]:
            expr = pulp.lpSum(float(v) * self.vars[int(i)] for i, v in zip(idx, val))
            if lo == hi:
                self.prob += (expr == lo, name)
            elif math.isinf(lo):
                self.prob += (expr <= hi, name)
            elif math.isinf(hi):
                self.prob += (expr >= lo, name)
            else:
                self.prob += (expr >= lo, name + "_lo")
                self.prob += (expr <= hi, name + "_hi")
        self._nrow = len(m.rows)

    def set_objective(self, cost: dict, sense: str):
        pulp = self._pulp
        self.prob.sense = pulp.LpMaximize if sense == "max" else pulp.LpMinimize
        expr = pulp.lpSum(float(v) * self.vars[int(j)] for j, v in cost.items())
        self.prob.setObjective(expr)


def build_problem(model, name: str = "polyregions"):
    """The ``pulp.LpProblem`` of a neutral model, with its objective and sense."""
    b = _Builder(model, name)
    b.set_objective(model.objective, model.sense)
    return b.prob


def write_model(model, path):
    """Write a neutral model to ``path`` (``.lp`` or ``.mps`` by extension); return the LpProblem."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    prob = build_problem(model)
    if ext == ".lp":
        prob.writeLP(path)
    elif ext == ".mps":
        prob.writeMPS(path, with_objsense=True)
    else:
        raise InvalidInputError(f"`path` must end in .lp or .mps, got {path!r}")
    return prob


class PulpDriver:
    """Solve a neutral model with a PuLP solver, rows appended between solves.

    :meth:`minimize` returns a :class:`~polyregions.solvers.base.MipSolution`: the
    translated status, the column values (in model order) and the objective, for the
    minimisation of ``cost``. PuLP gives no dual bound: with an exact gap the optimum is
    its own bound. A `cutoff` is not passed on (every solve is a full one).
    """

    def __init__(self, model, *, solver: str = "cbc", mip: bool = True):
        if solver not in ("cbc", "highs"):
            raise InvalidInputError(f"`solver` must be 'cbc' or 'highs', got {solver!r}")
        self.name = f"pulp-{solver}"
        self.solver = solver
        self.mip = mip
        self._b = _Builder(model)
        self.solves = 0

    def sync(self):
        self._b.sync()

    @property
    def problem(self):
        return self._b.prob

    def minimize(self, cost: dict, time_limit: float | None = None, cutoff: float | None = None) -> MipSolution:
        import pulp

        b = self._b
        b.sync()
        b.set_objective(cost, "min")
        solver = make_solver(self.solver, time_limit=time_limit, mip=self.mip)
        self.solves += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # the bundled CBC's announced removal
                b.prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"PuLP's {self.solver} failed: {exc}") from None
        status = PULP_STATUS.get((b.prob.status, b.prob.sol_status), Status.ERROR)
        if status is Status.ERROR:
            raise SolverError(
                f"PuLP's {self.solver} returned status {pulp.LpStatus.get(b.prob.status)!r} "
                f"(solution status {pulp.LpSolution.get(b.prob.sol_status)!r})"
            )
        if status is not Status.OPTIMAL:
            return MipSolution(status)
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in b.vars], dtype=float)
        value = float(sum(float(c) * x[int(j)] for j, c in cost.items()))
        return MipSolution(status, x, value, value)
