"""Big-M MILP formulations of a ReLU network over a bounded domain (SPEC section 5).

The encoding
------------
With pre-activation bounds ``l_j <= z_j <= u_j`` on the domain ``D``
(:func:`polyregions.propagate.neuron_bounds`), the network is the set of
``(x, z, h, a)`` with ``x`` in ``D`` and, layer by layer,

.. math::

    z^l = W^l h^{l-1} + b^l, \\qquad h^0 = x,

and for every neuron ``j``:

* stably off (``u_j <= 0``): ``h_j = 0`` (no variable);
* stably on (``l_j > 0``): ``h_j = z_j`` (no variable);
* otherwise (``l_j <= 0 < u_j``): ``h_j >= 0``, ``h_j >= z_j``,
  ``h_j <= z_j - l_j (1 - a_j)``, ``h_j <= u_j a_j`` with ``a_j`` binary
  (``a_j = 1``: on, ``h_j = z_j``; ``a_j = 0``: off, ``h_j = 0``).

The domain: a box or an L-inf ball by the bounds of ``x``; an L1 ball lifted
(``|x_k - c_k| <= s_k``, ``sum_k s_k <= r``); a polytope by its rows; the L2 ball
``|x - c| <= r`` by an outer approximation: its bounding box, the tangent planes
``u . (x - c) <= r`` at ``u = (+-e_i +- e_j) / sqrt 2``, and a tangent plane at every
solution that leaves the ball (added lazily). Every optimum over the outer
approximation bounds the optimum over the ball from above, so stopping decisions stay
valid; every pattern is re-checked exactly.

Counting
--------
The margin MILP (SPEC section 5) maximises ``t`` in ``[0, t_cap]`` subject to
``z_j >= t`` for the neurons with a binary that are on (``a_j = 1``) and ``z_j <= -t``
for those that are off, through the big-M rows

.. math::

    z_j - t \\ge -(t_{cap} - l_j)(1 - a_j), \\qquad z_j + t \\le (u_j + t_{cap})\\, a_j .

Stable neurons (constant sign on ``D``) are exempt. A positive margin at a point of
``D`` means the pattern's region has interior in ``D``. A neuron of layer 2 or later
with a (near) zero bias is also exempt where all its inputs are off: it is the
constant ``b_j`` there (identically zero when ``b_j = 0``, hence off), which no margin
can certify. A continuous ``e_j <= 1 - a_i`` (for every input ``i``) switches the
exemption on, and ``e_j`` ties the bit to the constant's sign.

Each pattern found is read from the binaries (and compared with the signs of the
network's pre-activations at the solution), re-checked with the exact region test of
SPEC section 3 (its rows are built from the pattern with the network's affine maps),
and excluded by the no-good cut

.. math::

    \\sum_{j: a_j^* = 1} (1 - a_j) + \\sum_{j: a_j^* = 0} a_j \\ge 1

whether or not it passes. The loop stops when the MILP is infeasible or its optimal
margin is at most ``margin_tol``; regions whose best margin is below ``margin_tol``
(in pre-activation units) are out of the MILP's reach. The loop is independent of the
depth-first search of :mod:`polyregions.enumerate`, so the two cross-check each other;
it is far slower (every pattern costs one MILP solved from scratch: HiGHS has no
solution pool and no lazy-constraint callback).

Limits
------
* The whole space has no big-M constants: :class:`~polyregions.domains.Whole` and
  unbounded polytopes are refused.
* A neuron identically zero on a region *by cancellation* (for example ``h_1 - h_2``
  with two duplicated neurons) is out of the margin MILP's reach. After the loop the
  patterns of random points of the domain are compared with those found; a region seen
  only there is added and the count is marked incomplete (``stopped="degenerate"``).
* User-supplied bounds must be valid; bounds that cut off part of the domain make the
  encoding wrong (the sampling check then usually reports it).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._validate import net_and_domain, positive_number
from .domains import Ball, Domain, Polytope, Whole
from .errors import InvalidInputError, SolverError, UnsupportedError
from .network import Network
from .propagate import METHODS, NeuronBounds, SOLVER_PAD, domain_box, neuron_bounds
from .result import RegionCount, Stats
from .search import DEFAULT_EPS, ZERO_ROW_RTOL
from .solvers.base import Status
from .solvers.registry import make_backend, region_problem

__all__ = [
    "DEFAULT_MARGIN_CAP", "DEFAULT_MARGIN_TOL", "HIGHS_MIP_OPTIONS", "LinearModel", "LocalResult", "MilpStats",
    "build_margin_model", "count_regions_milp", "export_model", "max_margin_pattern", "single_region",
]

log = logging.getLogger(__name__)

#: Patterns whose best margin (in pre-activation units) is at most this are not searched for.
DEFAULT_MARGIN_TOL = 1e-6
#: Upper bound ``t_cap`` of the margin variable.
DEFAULT_MARGIN_CAP = 1.0
#: HiGHS options for every MIP solved here: explicit tolerances, an exact optimality gap.
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
#: HiGHS options for the LPs of bound tightening.
HIGHS_LP_OPTIONS = {
    "output_flag": False,
    "threads": 1,
    "presolve": "off",
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}
#: A solution is inside the L2 ball when ``|x - c| <= r (1 + L2_RTOL)``.
L2_RTOL = 1e-7
#: Tangent cuts allowed per decision before giving up (counting raises, bounds keep the outer bound).
MAX_L2_CUTS = 500
#: A neuron of layer >= 2 whose bias is below this fraction of ``t_cap`` in absolute value is
#: exempt from the margin where all its inputs are off (it is the constant ``b_j`` there).
STRUCTURAL_BIAS = 1e-3
#: Up to this input dimension, L2-ball models start from the tangent planes at +-e_k and +-e_i +- e_j.
L2_SEED_MAX_DIM = 8
#: Tangent cuts per neuron when tightening bounds over an L2 ball (the bound is valid at every round).
L2_CUTS_PER_BOUND = 40

_MIP_SOLVERS = ("highs", "cbc", "pulp-highs")


# ====================================================================== a neutral model
class LinearModel:
    """A (mixed-integer) linear model in a solver-neutral form.

    Columns have bounds ``lb <= v <= ub`` (``+-inf`` allowed), an integrality flag and a
    name; rows are ``lo <= sum_k val_k v_{idx_k} <= hi`` with a name. ``objective`` maps
    column indices to costs and ``sense`` is ``"max"`` or ``"min"``. Backends that
    consume it (:mod:`polyregions.solvers.pulp_milp` and the HiGHS driver here) read it
    incrementally: columns and rows are only appended, and bound changes are logged in
    ``bound_changes``.
    """

    def __init__(self):
        self.lb, self.ub, self.integer, self.names = [], [], [], []
        self.rows = []  # (idx int32 array, val float array, lo, hi, name)
        self.bound_changes = []  # (col, lb, ub)
        self.objective = {}
        self.sense = "max"

    @property
    def num_cols(self):
        return len(self.lb)

    @property
    def num_rows(self):
        return len(self.rows)

    def add_col(self, lb, ub, name, integer=False) -> int:
        self.lb.append(float(lb))
        self.ub.append(float(ub))
        self.integer.append(bool(integer))
        self.names.append(name)
        return len(self.lb) - 1

    def add_row(self, idx, val, lo, hi, name) -> int:
        idx = np.asarray(idx, dtype=np.int32)
        val = np.asarray(val, dtype=np.float64)
        keep = val != 0
        self.rows.append((idx[keep], val[keep], float(lo), float(hi), name))
        return len(self.rows) - 1

    def set_bounds(self, col, lb, ub):
        self.lb[col], self.ub[col] = float(lb), float(ub)
        self.bound_changes.append((col, float(lb), float(ub)))


@dataclass
class _Solution:
    status: Status
    x: np.ndarray | None = None
    value: float = math.nan  # the objective (minimisation) at x
    bound: float = math.nan  # a valid lower bound on the minimum (MIP dual bound)
    proven: bool = True  # False: a cutoff search (first solution below a cutoff, or none below it)


def _highs_status_table():
    import highspy

    M = highspy.HighsModelStatus
    return {
        M.kOptimal: Status.OPTIMAL,
        M.kInfeasible: Status.INFEASIBLE,
        M.kTimeLimit: Status.LIMIT,
        M.kIterationLimit: Status.LIMIT,
        M.kSolutionLimit: Status.LIMIT,
        M.kInterrupt: Status.LIMIT,
        M.kMemoryLimit: Status.LIMIT,
        # kUnbounded cannot occur (every column is bounded or fixed by bounded ones);
        # kUnboundedOrInfeasible, kObjectiveBound/Target, kSolveError, kModelError, kNotset,
        # kUnknown, ... are errors: never read as "no more patterns".
    }


class _HighsDriver:
    """A persistent highspy model mirroring a :class:`LinearModel` (LP or MIP)."""

    name = "highs"

    def __init__(self, model: LinearModel, *, mip: bool):
        import highspy

        self._hs = highspy
        self.model = model
        self.mip = mip
        self._table = _highs_status_table()
        h = self._h = highspy.Highs()
        for k, v in (HIGHS_MIP_OPTIONS if mip else HIGHS_LP_OPTIONS).items():
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

    def minimize(self, cost: dict, time_limit: float | None = None, cutoff: float | None = None) -> _Solution:
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
            if raw in (M.kSolutionLimit, M.kOptimal) and h.getInfo().primal_solution_status == 2:
                x = np.array(h.getSolution().col_value)
                value = float(c @ x)
                if value < cutoff:
                    return _Solution(Status.OPTIMAL, x, value, math.nan, proven=False)
            if raw in (M.kTimeLimit, M.kInterrupt, M.kMemoryLimit):
                return _Solution(Status.LIMIT)
            # nothing below the cutoff, or a status this mode does not trust: the caller confirms
            return _Solution(Status.INFEASIBLE, proven=False)
        status = self._run()
        if status is Status.ERROR:
            # one retry from scratch without presolve before giving up
            h.clearSolver()
            h.setOptionValue("presolve", "off")
            status = self._run()
            h.setOptionValue("presolve", "choose" if self.mip else "off")
        if status is Status.ERROR:
            raise SolverError(f"HiGHS returned {h.getModelStatus()} on a {'MIP' if self.mip else 'LP'} "
                              "of the big-M encoding")
        if status is not Status.OPTIMAL:
            bound = math.nan
            if status is Status.LIMIT and self.mip:
                bound = float(h.getInfo().mip_dual_bound)
            return _Solution(status, bound=bound)
        x = np.array(h.getSolution().col_value)
        value = float(c @ x)
        bound = float(h.getInfo().mip_dual_bound) if self.mip else value
        if not math.isfinite(bound):
            bound = value
        return _Solution(status, x, value, min(bound, value))

    def _run(self):
        self.solves += 1
        self._h.run()
        return self._table.get(self._h.getModelStatus(), Status.ERROR)


class _PulpAdapter:
    """A :class:`~polyregions.solvers.pulp_milp.PulpDriver` behind the HiGHS driver's interface."""

    def __init__(self, model, solver, *, mip):
        from .solvers.pulp_milp import PulpDriver

        self._d = PulpDriver(model, solver=solver, mip=mip)
        self.name = self._d.name

    @property
    def solves(self):
        return self._d.solves

    def sync(self):
        self._d.sync()

    def minimize(self, cost, time_limit=None, cutoff=None):
        status, x, value = self._d.minimize(cost, time_limit)
        # PuLP gives no dual bound: with an exact gap the optimum is its own bound
        return _Solution(status, x, value, value)


def _make_driver(model, solver, *, mip):
    if solver == "highs":
        return _HighsDriver(model, mip=mip)
    return _PulpAdapter(model, "cbc" if solver == "cbc" else "highs", mip=mip)


# ====================================================================== the encoding
class _Encoding:
    """The big-M encoding of a network over a bounded domain, built layer by layer."""

    def __init__(self, net: Network, domain: Domain, *, integer: bool):
        if isinstance(domain, Whole) or not domain.bounded:
            raise UnsupportedError(
                f"`domain` must be bounded for a big-M encoding (got {domain!r}); the whole space has no big-M "
                "constants: use a Box, a Ball or a bounded Polytope"
            )
        self.net, self.domain, self.integer = net, domain, integer
        m = self.m = LinearModel()
        n = net.input_dim
        lo, hi = domain_box(domain)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):  # pragma: no cover - bounded domains only
            raise UnsupportedError(f"`domain` {domain!r} has no finite bounding box")
        self.x = np.array([m.add_col(lo[k], hi[k], f"x_{k}") for k in range(n)], dtype=np.int32)
        self.l2 = None
        if isinstance(domain, Polytope):
            for i in range(domain.A.shape[0]):
                m.add_row(self.x, domain.A[i], -math.inf, domain.b[i], f"dom_{i}")
        elif isinstance(domain, Ball) and domain.p == 1:
            c, r = domain.center, domain.radius
            s = [m.add_col(0.0, r, f"s_{k}") for k in range(n)]
            for k in range(n):
                m.add_row([self.x[k], s[k]], [1.0, -1.0], -math.inf, c[k], f"l1p_{k}")
                m.add_row([self.x[k], s[k]], [-1.0, -1.0], -math.inf, -c[k], f"l1n_{k}")
            m.add_row(s, np.ones(n), -math.inf, r, "l1_sum")
        elif isinstance(domain, Ball) and domain.p == 2:
            self.l2 = (domain.center, domain.radius)
        self.l2_cuts = 0
        self.prev = list(self.x)  # column of each unit of the previous layer, -1 for a zero unit
        self.layers = []  # per layer: dict(z, h, a, lo, up, state)
        self.binaries = []  # (flat neuron index, a column)
        self.fixed = []  # (flat neuron index, bit)
        self._offset = 0
        self.t = None

    # ------------------------------------------------------------------ layers
    def add_affine(self, W, b):
        """Columns ``z`` (free) and rows ``z = W h_prev + b`` of the next layer."""
        m, l = self.m, len(self.layers) + 1
        prev = np.array(self.prev)
        live = prev >= 0
        z = np.array([m.add_col(-math.inf, math.inf, f"z_{l}_{j}") for j in range(W.shape[0])], dtype=np.int32)
        for j in range(W.shape[0]):
            idx = np.concatenate([[z[j]], prev[live]])
            val = np.concatenate([[1.0], -W[j, live]])
            m.add_row(idx, val, b[j], b[j], f"aff_{l}_{j}")
        self._z = z
        self._Wb = (np.asarray(W, float), np.asarray(b, float))
        return z

    def add_relu(self, lo, up):
        """Fix the bounds of the pending ``z`` and add the ReLUs (binaries for unstable neurons)."""
        m, l, z = self.m, len(self.layers) + 1, self._z
        W, b = self._Wb
        lo, up = np.array(lo, float), np.array(up, float)
        n = z.size
        h = np.full(n, -1, dtype=np.int64)
        a = np.full(n, -1, dtype=np.int64)
        state = np.zeros(n, dtype=np.int8)
        # inputs that are identically zero on the domain (stably off units of the previous layer)
        dead_in = self.layers[-1]["state"] == -1 if self.layers else np.zeros(W.shape[1], bool)
        for j in range(n):
            if not np.any((W[j] != 0) & ~dead_in):
                lo[j] = up[j] = b[j]  # constant on the domain: on when b_j > 0, else off
            m.set_bounds(z[j], lo[j], up[j])
            k = self._offset + j
            if up[j] <= 0:
                state[j] = -1
                self.fixed.append((k, 0))
            elif lo[j] > 0:
                state[j] = 1
                h[j] = z[j]
                self.fixed.append((k, 1))
            else:
                h[j] = m.add_col(0.0, up[j], f"h_{l}_{j}")
                a[j] = m.add_col(0.0, 1.0, f"a_{l}_{j}", integer=self.integer)
                m.add_row([z[j], h[j]], [1.0, -1.0], -math.inf, 0.0, f"rlz_{l}_{j}")
                m.add_row([h[j], z[j], a[j]], [1.0, -1.0, -lo[j]], -math.inf, -lo[j], f"rlo_{l}_{j}")
                m.add_row([h[j], a[j]], [1.0, -up[j]], -math.inf, 0.0, f"rup_{l}_{j}")
                self.binaries.append((k, int(a[j])))
        self.layers.append(dict(z=z, h=h, a=a, lo=lo, up=up, state=state, Wb=(W, b)))
        self.prev = list(h)
        self._offset += n

    def add_margin(self, cap):
        """The margin column ``t`` in ``[0, cap]`` and its big-M rows; objective ``max t``."""
        m = self.m
        self.t = t = m.add_col(0.0, cap, "t")
        for li, L in enumerate(self.layers, start=1):
            W, b = L["Wb"]
            P = self.layers[li - 2] if li >= 2 else None
            for j in np.flatnonzero(L["a"] >= 0):
                z, a, lo, up = int(L["z"][j]), int(L["a"][j]), L["lo"][j], L["up"][j]
                M_on, M_off = cap - lo, up + cap
                e = -1
                if P is not None and abs(b[j]) < STRUCTURAL_BIAS * cap:
                    supp = np.flatnonzero(W[j])
                    if not np.any(P["state"][supp] == 1):
                        # structurally constant where all its inputs are off: z_j = b_j there
                        ins = [int(P["a"][i]) for i in supp if P["a"][i] >= 0]
                        e = m.add_col(0.0, 1.0, f"e_{li}_{j}")
                        for i, ai in enumerate(ins):
                            m.add_row([e, ai], [1.0, 1.0], -math.inf, 1.0, f"ein_{li}_{j}_{i}")
                        if b[j] > 0:  # the constant's sign fixes the bit
                            m.add_row([e, a], [1.0, -1.0], -math.inf, 0.0, f"eon_{li}_{j}")
                        else:
                            m.add_row([e, a], [1.0, 1.0], -math.inf, 1.0, f"eoff_{li}_{j}")
                if e < 0:
                    m.add_row([z, t, a], [1.0, -1.0, -M_on], -M_on, math.inf, f"mon_{li}_{j}")
                    m.add_row([z, t, a], [1.0, 1.0, -M_off], -math.inf, 0.0, f"moff_{li}_{j}")
                else:
                    m.add_row([z, t, a, e], [1.0, -1.0, -M_on, M_on], -M_on, math.inf, f"mon_{li}_{j}")
                    m.add_row([z, t, a, e], [1.0, 1.0, -M_off, -M_off], -math.inf, 0.0, f"moff_{li}_{j}")
        m.objective = {t: 1.0}
        m.sense = "max"
        return t

    def add_l2_cut(self, x):
        """Tangent plane of the L2 ball at the direction of ``x - c``: ``u . x <= u . c + r``."""
        c, r = self.l2
        d = x - c
        u = d / np.linalg.norm(d)
        self.l2_cuts += 1
        self.m.add_row(self.x, u, -math.inf, float(u @ c + r), f"l2cut_{self.l2_cuts}")

    def add_l2_outer(self):
        """Tangent planes at the directions +-e_i +- e_j (the bounds of ``x`` give those at +-e_k)."""
        c, _ = self.l2
        n = c.size
        dirs = []
        for i in range(n):
            for j in range(i + 1, n):
                for si in (1.0, -1.0):
                    for sj in (1.0, -1.0):
                        v = np.zeros(n)
                        v[i], v[j] = si, sj
                        dirs.append(v)
        for v in dirs:
            self.add_l2_cut(c + v)

    def outside_l2(self, x) -> bool:
        if self.l2 is None:
            return False
        c, r = self.l2
        return float(np.linalg.norm(x - c)) > r * (1.0 + L2_RTOL)

    # ------------------------------------------------------------------ reading solutions
    def pattern(self, sol_x):
        """The pattern (bool array, pattern order) read from the binaries of a solution."""
        bits = np.zeros(self._offset, dtype=bool)
        for k, b in self.fixed:
            bits[k] = bool(b)
        for k, col in self.binaries:
            bits[k] = sol_x[col] > 0.5
        return bits

    def binary_values(self, bits):
        return np.array([bits[k] for k, _ in self.binaries], dtype=bool)

    def add_no_good(self, bits, name):
        """Exclude the binaries' assignment of `bits`: sum_{on}(1 - a) + sum_{off} a >= 1."""
        cols = np.array([col for _, col in self.binaries], dtype=np.int32)
        on = self.binary_values(bits)
        val = np.where(on, -1.0, 1.0)
        self.m.add_row(cols, val, 1.0 - on.sum(), math.inf, name)


def _build(net, domain, bounds, *, integer, margin_cap=None):
    enc = _Encoding(net, domain, integer=integer)
    for (W, b), (lo, up) in zip(net.hidden, bounds):
        enc.add_affine(W, b)
        enc.add_relu(lo, up)
    if margin_cap is not None:
        enc.add_margin(margin_cap)
    return enc


# ====================================================================== solving with L2 cuts
def _optimize(driver, enc, cost, *, deadline=None, settle_at=None, max_cuts=MAX_L2_CUTS, cutoff=None):
    """Minimise `cost` over the encoding; on an L2 ball, add tangent cuts until the solution lies
    in the ball (within ``L2_RTOL``).

    The optimum over the outer approximation is a valid lower bound of the minimum over the
    ball at every round: when ``settle_at`` is given the loop also stops as soon as the
    value is at least ``settle_at``. Returns the last solution (``cuts_exhausted`` flags
    a loop that ran out of cuts). ``cutoff`` is passed to the driver (first solution below it).
    """
    cuts = 0
    while True:
        remaining = None
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return _Solution(Status.LIMIT), False
        sol = driver.minimize(cost, remaining, cutoff)
        if sol.status is not Status.OPTIMAL or enc.l2 is None:
            return sol, False
        if settle_at is not None and sol.value >= settle_at:
            return sol, False
        x = sol.x[enc.x]
        if not enc.outside_l2(x):
            return sol, False
        if cuts >= max_cuts:
            return sol, True
        enc.add_l2_cut(x)
        cuts += 1


# ====================================================================== bound tightening
def _tighten_bounds(net, domain, start, *, integer, time_limit=None):
    """Per-neuron LP (or MILP) tightening, layer by layer (used by ``neuron_bounds``)."""
    enc = _Encoding(net, domain, integer=integer)
    if enc.l2 is not None and domain.dim <= L2_SEED_MAX_DIM:
        enc.add_l2_outer()
    driver = _HighsDriver(enc.m, mip=integer)
    out = []
    for l, (W, b) in enumerate(net.hidden):
        z = enc.add_affine(W, b)
        lo0, up0 = (np.asarray(v, float) for v in start[l])
        lo, up = lo0.copy(), up0.copy()
        for j in range(z.size):
            enc.m.set_bounds(z[j], lo0[j], up0[j])
        for j in range(z.size):
            if lo[j] == up[j]:
                continue
            for sign in (1.0, -1.0):  # sign +1: min z_j; -1: max z_j
                deadline = None if time_limit is None else time.perf_counter() + time_limit
                sol, _ = _optimize(driver, enc, {int(z[j]): sign}, deadline=deadline,
                                   max_cuts=L2_CUTS_PER_BOUND)
                bound = sol.bound
                if sol.status is Status.INFEASIBLE:  # pragma: no cover - the domain is non-empty
                    raise SolverError("the big-M encoding is infeasible on a non-empty domain")
                if not math.isfinite(bound):
                    continue  # a limit without a bound: keep the start bound (still sound)
                v = sign * bound
                pad = SOLVER_PAD * (1.0 + abs(v))
                if sign > 0:
                    lo[j] = max(lo[j], v - pad)
                else:
                    up[j] = min(up[j], v + pad)
            if lo[j] > up[j]:  # only from solver tolerances on an (almost) constant neuron: keep the hull
                lo[j], up[j] = up[j], lo[j]
        enc.add_relu(lo, up)
        out.append((lo, up))
    return out


# ====================================================================== validation
def _validate(net, domain):
    net_and_domain(net, domain)
    if isinstance(domain, Whole) or not domain.bounded:
        raise UnsupportedError(
            f"`domain` must be bounded for the MILP (got {domain!r}): the whole space has no big-M constants; "
            "count in a Box or Ball that contains the regions of interest, or use count_regions"
        )


def _bounds_for(net, domain, bounds, time_limit=None):
    if isinstance(bounds, str):
        if bounds not in METHODS:
            raise InvalidInputError(
                f"`bounds` must be one of {list(METHODS)} or a list of (lower, upper), got {bounds!r}"
            )
        return neuron_bounds(net, domain, method=bounds, time_limit=time_limit)
    try:
        pairs = [(np.asarray(lo, float), np.asarray(up, float)) for lo, up in bounds]
    except (TypeError, ValueError):
        raise InvalidInputError("`bounds` must be a method name or a list of (lower, upper) pairs") from None
    shapes_ok = all(lo.shape == (n,) and up.shape == (n,) for (lo, up), n in zip(pairs, net.widths))
    if len(pairs) != len(net.widths) or not shapes_ok:
        raise InvalidInputError(f"`bounds` must hold one (lower, upper) pair per hidden layer, of lengths {net.widths}")
    if any(np.any(~np.isfinite(lo)) or np.any(~np.isfinite(up)) or np.any(lo > up) for lo, up in pairs):
        raise InvalidInputError("`bounds` must be finite with lower <= upper")
    out = NeuronBounds(pairs)
    out.method = "given"
    return out


def _validate_solver(solver):
    if solver not in _MIP_SOLVERS:
        raise InvalidInputError(f"`solver` must be one of {list(_MIP_SOLVERS)}, got {solver!r}")
    return solver


def _nonneg_int(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidInputError(f"`{name}` must be a non-negative integer, got {value!r}")
    return int(value)


# ====================================================================== the region test of a pattern
def pattern_rows(net: Network, bits):
    """The half-spaces ``a . x <= b`` (unit ``a``) of the region of pattern `bits`.

    Returns ``None`` when a neuron that is constant on the region contradicts its bit
    (the pattern has no region). Constant neurons (zero rows, as in the search) add no row.
    """
    bits = np.asarray(bits, dtype=bool)
    n0 = net.input_dim
    M, m = np.eye(n0), np.zeros(n0)
    rows = []
    k = 0
    for W, b in net.hidden:
        G = W @ M
        c = W @ m + b
        norms = np.linalg.norm(G, axis=1)
        absW = np.abs(W)
        scale = absW @ np.linalg.norm(M, axis=1)
        cscale = absW @ np.abs(m) + np.abs(b)
        beta = bits[k:k + W.shape[0]]
        for j in range(W.shape[0]):
            if norms[j] <= ZERO_ROW_RTOL * scale[j]:
                if (c[j] > ZERO_ROW_RTOL * cscale[j]) != beta[j]:
                    return None
                continue
            g, cj = G[j] / norms[j], c[j] / norms[j]
            rows.append((-g, cj) if beta[j] else (g, -cj))
        M = beta[:, None] * G
        m = beta * c
        k += W.shape[0]
    return rows


def _region_test(tester, rows, anchor):
    for a, b in rows:
        tester.push(a, b)
    try:
        return tester.test(anchor)
    finally:
        for _ in rows:
            tester.pop()


def _sample_domain(domain, n, rng):
    if hasattr(domain, "sample"):
        return domain.sample(n, rng)
    lo, hi = domain_box(domain)
    pts = rng.uniform(lo, hi, size=(8 * n, domain.dim))
    return pts[domain.contains(pts)][:n]


def _coverage_check(net, domain, counted, tester, n, seed):
    """Regions met by random points of the domain, passing the region test, but not counted."""
    pts = _sample_domain(domain, n, np.random.default_rng(seed))
    if len(pts) == 0:
        return 0
    P = net.pattern(pts)
    pats, first = np.unique(P, axis=0, return_index=True)
    missed = 0
    for bits, i in zip(pats, first):
        key = np.packbits(bits).tobytes()
        if key in counted:
            continue
        rows = pattern_rows(net, bits)
        if rows is None:
            continue
        anchor = pts[i]
        if _region_test(tester, rows, anchor).keep:
            counted.add(key)
            missed += 1
    return missed


# ====================================================================== counting
@dataclass
class MilpStats(Stats):
    """Statistics of a MILP count (the fields of :class:`~polyregions.result.Stats` and more).

    ``milp_solves``: MILPs solved; ``patterns``: patterns the MILP returned; ``rejected``:
    those the exact region test refused (cut anyway); ``sign_mismatches``: patterns whose
    binaries disagreed with the signs of the network's pre-activations at the solution;
    ``l2_cuts``: tangent planes added; ``binaries``: binary variables (unstable neurons);
    ``final_margin``: the optimal margin of the last MILP (0 when it was infeasible);
    ``min_margin``: the smallest margin of a counted region; ``margin_tol``: the stopping
    tolerance; ``bounds``: the bound method used for the big-M constants; ``missed``:
    regions found only by the final sampling check (degenerate parameters).
    """

    milp_solves: int = 0
    patterns: int = 0
    rejected: int = 0
    sign_mismatches: int = 0
    l2_cuts: int = 0
    binaries: int = 0
    final_margin: float = math.nan
    min_margin: float = math.inf
    margin_tol: float = DEFAULT_MARGIN_TOL
    bounds: str = ""
    missed: int = 0


def count_regions_milp(net: Network, domain: Domain, *, eps: float | None = None, max_regions: int | None = None,
                       time_limit: float | None = None, bounds="lp", backend: str = "highs",
                       solver: str = "highs", margin_tol: float = DEFAULT_MARGIN_TOL,
                       margin_cap: float = DEFAULT_MARGIN_CAP, strategy: str = "first",
                       check_samples: int = 1000, seed: int = 0, progress=None) -> RegionCount:
    """Count the activation regions of `net` in a bounded `domain` by MILP with no-good cuts.

    Repeatedly solves the margin MILP (module documentation)

    .. math::

        \\max t \\quad \\text{s.t.}\\quad x \\in D,\\ \\text{big-M ReLU rows},\\
        z_j \\ge t \\ (a_j = 1),\\ z_j \\le -t \\ (a_j = 0),\\ 0 \\le t \\le t_{cap},

    re-checks each pattern it returns with the exact region test (a ball of radius `eps`
    inside the region and the domain), counts it when the test passes, and excludes its
    binaries by a no-good cut either way, until the MILP is infeasible or its optimal
    margin is at most `margin_tol`.

    Parameters
    ----------
    net : Network
    domain : Box, Ball or Polytope
        Bounded, of dimension ``net.input_dim``. :class:`Whole` is refused.
    eps : float, optional
        The region test's radius (default :data:`polyregions.enumerate.DEFAULT_EPS`).
    max_regions : int, optional
        Stop after this many regions; the result is then marked incomplete
        (``stopped="max_regions"``).
    time_limit : float, optional
        Seconds; when reached the result is marked incomplete (``stopped="time_limit"``).
    bounds : {"interval", "symbolic", "lp", "milp"} or list of (lower, upper)
        The pre-activation bounds for the big-M constants (default: LP-tightened).
    backend : str
        The backend of the exact region test (``"highs"``, ``"scipy"``, ``"cvxpy"``).
    solver : {"highs", "cbc", "pulp-highs"}
        The MIP solver: highspy directly, or PuLP with its bundled CBC or its HiGHS API.
    margin_tol : float
        Stop when the optimal margin is at most this (pre-activation units). Keep it well
        above the MIP's feasibility tolerance (``HIGHS_MIP_OPTIONS``).
    margin_cap : float
        The cap ``t_cap`` of the margin.
    strategy : {"first", "max"}
        ``"max"``: every MILP is solved to optimality (the pattern of largest margin).
        ``"first"`` (HiGHS only; faster): each MILP stops at its first pattern with margin
        above `margin_tol` (the objective bound ``-margin_tol`` prunes the rest); when it
        finds none, a full maximisation confirms that the optimal margin is at most
        `margin_tol` before the loop stops. The count is the same.
    check_samples : int
        After the loop, the patterns of this many random points of `domain` are compared
        with the patterns found; a pattern seen there that passes the region test but was
        not found (a region where some neuron is identically zero by cancellation, out of
        the margin MILP's reach) is added to the count, and the result is marked
        incomplete (``stopped="degenerate"``). 0 skips the check.
    seed : int
        Seed of the sample points.
    progress : callable, optional
        Called as ``progress(count, stats)`` after every MILP.

    Returns
    -------
    RegionCount
        With :class:`MilpStats`. ``complete`` is False when a limit stopped the loop.

    Raises
    ------
    UnsupportedError
        For an unbounded `domain`.
    SolverError
        When a MIP solver fails (never read as "no more patterns").

    Examples
    --------
    Two lines through the origin cut the square into 4 regions:

    >>> import polyregions as pr
    >>> from polyregions.milp import count_regions_milp
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> count_regions_milp(net, pr.Box([-1, -1], [1, 1])).count
    4
    """
    _validate(net, domain)
    eps = DEFAULT_EPS if eps is None else positive_number(eps, "eps")
    max_regions = _nonneg_int(max_regions, "max_regions")
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    margin_tol = positive_number(margin_tol, "margin_tol")
    margin_cap = positive_number(margin_cap, "margin_cap")
    if margin_cap <= margin_tol:
        raise InvalidInputError(f"`margin_cap` must exceed `margin_tol`, got {margin_cap} <= {margin_tol}")
    solver = _validate_solver(solver)
    if strategy not in ("first", "max"):
        raise InvalidInputError(f"`strategy` must be 'first' or 'max', got {strategy!r}")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")

    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    nb = _bounds_for(net, domain, bounds)
    enc = _build(net, domain, nb, integer=True, margin_cap=margin_cap)
    if enc.l2 is not None and domain.dim <= L2_SEED_MAX_DIM:
        enc.add_l2_outer()
    driver = _make_driver(enc.m, solver, mip=True)
    tester = make_backend(backend, region_problem(domain, eps))
    if isinstance(domain, Ball) and domain.p == 2 and "qp" not in tester.capabilities:
        raise InvalidInputError(f"`backend` {tester.name!r} cannot test regions in an L2 ball")
    check_samples = _nonneg_int(check_samples, "check_samples")
    stats = MilpStats(eps=eps, margin_tol=margin_tol, bounds=nb.method, binaries=len(enc.binaries))
    count, stopped = 0, None
    counted = set()
    t_col = enc.t
    while True:
        if max_regions is not None and count >= max_regions:
            stopped = "max_regions"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = "time_limit"
            break
        cutoff = -margin_tol if strategy == "first" else None
        sol, _ = _optimize(driver, enc, {t_col: -1.0}, deadline=deadline, settle_at=-margin_tol,
                           cutoff=cutoff, max_cuts=0)
        if sol.status is Status.INFEASIBLE and not sol.proven:
            # confirm "no pattern with margin above margin_tol" with a full maximisation
            sol, _ = _optimize(driver, enc, {t_col: -1.0}, deadline=deadline, settle_at=-margin_tol, max_cuts=0)
        if sol.status is Status.INFEASIBLE:
            stats.final_margin = 0.0
            break
        if sol.status is Status.LIMIT:
            stopped = "time_limit"
            break
        if sol.status is not Status.OPTIMAL:  # pragma: no cover - the driver raises on errors
            raise SolverError(f"the MIP solver returned {sol.status.value}")
        margin = -sol.value
        stats.final_margin = -sol.bound
        if margin <= margin_tol:
            break
        x = sol.x[enc.x]
        if enc.outside_l2(x):
            # the point left the ball: tighten the outer approximation; the pattern is still
            # decided by the exact test below (it may meet the ball elsewhere)
            enc.add_l2_cut(x)
        bits = enc.pattern(sol.x)
        stats.patterns += 1
        if not np.array_equal(bits, net.pattern(x)):
            stats.sign_mismatches += 1
        rows = pattern_rows(net, bits)
        ok = False
        if rows is not None:
            res = _region_test(tester, rows, x)
            ok = res.keep
            if ok:
                count += 1
                counted.add(np.packbits(bits).tobytes())
                stats.min_radius = min(stats.min_radius, res.radius)
                stats.min_kept_depth = min(stats.min_kept_depth, res.depth)
                stats.min_margin = min(stats.min_margin, margin)
            if eps / 10 <= res.depth <= eps * 10:
                stats.near_eps += 1
        if not ok:
            stats.rejected += 1
            log.debug("MILP pattern with margin %.3g rejected by the region test", margin)
        if not enc.binaries:
            stats.final_margin = 0.0
            break  # a single pattern: nothing left to cut
        enc.add_no_good(bits, f"nogood_{stats.patterns}")
        stats.milp_solves = driver.solves
        if progress is not None:
            stats.seconds = time.perf_counter() - t0
            progress(count, stats)
    if stopped is None and check_samples:
        missed = _coverage_check(net, domain, counted, tester, check_samples, seed)
        if missed:
            log.warning("the margin MILP missed %d region(s) that random points found (degenerate parameters)",
                        missed)
            count += missed
            stats.missed = missed
            stopped = "degenerate"
    stats.nodes = stats.patterns
    stats.milp_solves = driver.solves
    stats.l2_cuts = enc.l2_cuts
    stats.lp_solves = tester.lp_solves
    stats.seconds = time.perf_counter() - t0
    return RegionCount(count, stats, complete=stopped is None, stopped=stopped)


# ====================================================================== single questions
def max_margin_pattern(net: Network, domain: Domain, *, bounds="lp", margin_cap: float = DEFAULT_MARGIN_CAP,
                       time_limit: float | None = None, solver: str = "highs"):
    """The pattern with the largest margin in `domain`, by one MILP.

    Solves ``max t`` s.t. ``x`` in `domain`, ``z_j >= t`` for the on neurons and
    ``z_j <= -t`` for the off ones (stable neurons exempt), ``0 <= t <= margin_cap``.

    Parameters
    ----------
    net : Network
    domain : Box, Ball or Polytope
        Bounded.
    bounds : {"interval", "symbolic", "lp", "milp"} or list of (lower, upper)
    margin_cap : float
    time_limit : float, optional
    solver : {"highs", "cbc", "pulp-highs"}

    Returns
    -------
    pattern : ndarray of bool
        In pattern order (layer by layer), True = on.
    point : ndarray
        A point of `domain` where the pattern holds with that margin.
    margin : float
        The optimal ``t`` (pre-activation units).

    Examples
    --------
    >>> import polyregions as pr
    >>> from polyregions.milp import max_margin_pattern
    >>> net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    >>> pattern, point, margin = max_margin_pattern(net, pr.Box([-1, -1], [1, 1]))
    >>> round(margin, 6)
    1.0
    """
    _validate(net, domain)
    margin_cap = positive_number(margin_cap, "margin_cap")
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    solver = _validate_solver(solver)
    nb = _bounds_for(net, domain, bounds)
    enc = _build(net, domain, nb, integer=True, margin_cap=margin_cap)
    driver = _make_driver(enc.m, solver, mip=True)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    sol, exhausted = _optimize(driver, enc, {enc.t: -1.0}, deadline=deadline)
    if sol.status is Status.LIMIT:
        raise SolverError("the margin MILP stopped at its time limit")
    if sol.status is not Status.OPTIMAL:
        raise SolverError(f"the margin MILP returned {sol.status.value} (a domain always has a pattern)")
    if exhausted:
        raise SolverError(f"the L2-ball cuts did not settle within {MAX_L2_CUTS} tangent planes")
    x = sol.x[enc.x].copy()
    if enc.l2 is not None:  # the point may sit a hair outside the ball: pull it in
        c, r = enc.l2
        d = np.linalg.norm(x - c)
        if d > r:
            x = c + (x - c) * (r / d)
    return enc.pattern(sol.x), x, float(-sol.value)


@dataclass
class LocalResult:
    """Answer of :func:`single_region`.

    ``single``: the domain (ball) lies in one activation region (up to null sets);
    ``switching``: flat bool mask in pattern order of the neurons that take both signs in
    the ball (with ``|z_j| > tol`` on each side), i.e. whose state differs between two
    regions that meet the ball; ``states``: int8, +1 on throughout, -1 off throughout, 0
    switching; ``bounds``: the propagated bounds used; ``milp_solves``; ``seconds``.
    """

    single: bool
    switching: np.ndarray
    states: np.ndarray
    bounds: NeuronBounds = field(repr=False)
    milp_solves: int = 0
    seconds: float = 0.0

    @property
    def num_switching(self) -> int:
        return int(np.count_nonzero(self.switching))


def single_region(net: Network, ball: Domain, *, tol: float = DEFAULT_MARGIN_TOL, bounds="lp",
                  samples: int = 256, seed: int = 0, time_limit: float | None = None) -> LocalResult:
    """Is `ball` inside one activation region, and which neurons can switch inside it?

    Neuron ``j`` *switches* in the ball ``B`` when ``max_B z_j > tol`` and
    ``min_B z_j < -tol``: then ``{z_j > 0}`` and ``{z_j < 0}`` are non-empty open parts of
    ``B``, each meeting a region of positive volume, and the two regions differ in ``j``.
    Conversely a neuron that does not switch has one state on all of ``B`` (up to null
    sets). So ``B`` lies in one region exactly when no neuron switches.

    Each question is answered by the cheapest sufficient evidence: propagated bounds
    (stable neurons), random points of the ball (a sign seen at a point is a witness),
    and otherwise the exact extreme of ``z_j`` over the ball by MILP on the big-M
    encoding (for an L2 ball, with tangent cuts; the outer approximation's extreme is an
    upper bound, and a solution inside the ball a witness).

    Parameters
    ----------
    net : Network
    ball : Ball, Box or Polytope
        Bounded, of dimension ``net.input_dim``.
    tol : float
        Pre-activation values within ``tol`` of 0 do not count as a sign.
    bounds : {"interval", "symbolic", "lp", "milp"} or list of (lower, upper)
    samples : int
        Random points drawn in the ball before any MILP (0 for none).
    seed : int
    time_limit : float, optional
        Seconds for the whole call; raises :class:`SolverError` when reached.

    Returns
    -------
    LocalResult

    Examples
    --------
    >>> import polyregions as pr
    >>> from polyregions.milp import single_region
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> single_region(net, pr.Ball([0.5, 0.5], 0.2)).single
    True
    >>> single_region(net, pr.Ball([0.1, 0.5], 0.2)).switching.tolist()
    [True, False]
    """
    _validate(net, ball)
    tol = positive_number(tol, "tol")
    samples = _nonneg_int(samples, "samples")
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    nb = _bounds_for(net, ball, bounds)
    N = net.num_neurons
    pos = np.concatenate([up > tol for _, up in nb])  # may be positive (bounds are outer)
    neg = np.concatenate([lo < -tol for lo, _ in nb])
    seen_pos = np.zeros(N, bool)
    seen_neg = np.zeros(N, bool)
    pts = [ball.center_point()[None, :]]
    if samples and hasattr(ball, "sample"):
        pts.append(ball.sample(samples, np.random.default_rng(seed)))
    Z = np.concatenate(net.preactivations(np.vstack(pts)), axis=1)
    seen_pos |= np.any(Z > tol, axis=0)
    seen_neg |= np.any(Z < -tol, axis=0)
    has_pos = seen_pos | False
    has_neg = seen_neg | False
    todo = [k for k in range(N) if pos[k] and neg[k] and not (seen_pos[k] and seen_neg[k])]
    enc = driver = None
    zcol = None
    if todo:
        enc = _build(net, ball, nb, integer=True)
        driver = _HighsDriver(enc.m, mip=True)
        zcol = np.concatenate([L["z"] for L in enc.layers])
    for k in todo:
        for sign, have in ((1.0, has_pos), (-1.0, has_neg)):
            if have[k]:
                continue
            # sign +1: is max z_k > tol?  minimise -z_k, settle when -z_k >= -tol over the outer model
            sol, exhausted = _optimize(driver, enc, {int(zcol[k]): -sign}, deadline=deadline, settle_at=-tol)
            if sol.status is Status.LIMIT:
                raise SolverError("single_region reached its time limit")
            if sol.status is not Status.OPTIMAL:
                raise SolverError(f"a MILP of single_region returned {sol.status.value}")
            if -sol.value > tol and not exhausted:
                have[k] = True
            elif -sol.value > tol:
                raise SolverError(f"the L2-ball cuts did not settle within {MAX_L2_CUTS} tangent planes")
            else:
                break  # this side is empty: the neuron does not switch
    switching = has_pos & has_neg
    states = np.where(switching, 0, np.where(has_pos, 1, -1)).astype(np.int8)
    return LocalResult(bool(not switching.any()), switching, states, nb,
                       driver.solves if driver is not None else 0, time.perf_counter() - t0)


# ====================================================================== export
def build_margin_model(net: Network, domain: Domain, *, bounds="lp", margin_cap: float = DEFAULT_MARGIN_CAP,
                       l2_outer: bool = False) -> LinearModel:
    """The margin MILP (``max t``) as a solver-neutral :class:`LinearModel`.

    Column names: ``x_k`` (input), ``s_k`` (L1 lifting), ``z_l_j``, ``h_l_j``, ``a_l_j``
    (layer ``l`` from 1; binaries ``a`` only for unstable neurons) and ``t``.
    An L2 ball has no exact linear model: with ``l2_outer=True`` it is replaced by its
    outer approximation by the tangent planes at ``+-e_k`` and ``+-e_i +- e_j``
    (normalised), otherwise it is refused.
    """
    _validate(net, domain)
    margin_cap = positive_number(margin_cap, "margin_cap")
    if isinstance(domain, Ball) and domain.p == 2 and not l2_outer:
        raise UnsupportedError(
            "`domain` is an L2 ball, which has no exact linear model: export Ball(p=inf) or Ball(p=1), or pass "
            "`l2_outer=True` to export a polyhedral outer approximation"
        )
    nb = _bounds_for(net, domain, bounds)
    enc = _build(net, domain, nb, integer=True, margin_cap=margin_cap)
    if enc.l2 is not None:
        enc.add_l2_outer()
    return enc.m


def export_model(net: Network, domain: Domain, path, *, bounds="lp", margin_cap: float = DEFAULT_MARGIN_CAP,
                 l2_outer: bool = False):
    """Write the margin MILP of `net` over `domain` to an ``.lp`` or ``.mps`` file (by extension).

    The model is the first MILP of :func:`count_regions_milp` (maximise the margin ``t``),
    built with PuLP, for use with Gurobi, CPLEX, SCIP, HiGHS or CBC. The MPS file carries
    an ``OBJSENSE MAX`` section (read it back with
    ``pulp.LpProblem.fromMPS(path, sense=pulp.LpMaximize)``).

    Parameters
    ----------
    net : Network
    domain : Box, Ball or Polytope
        Bounded; an L2 ball only with ``l2_outer=True`` (see :func:`build_margin_model`).
    path : str or path-like
        Ending in ``.lp`` or ``.mps``.
    bounds, margin_cap, l2_outer
        As in :func:`build_margin_model`.

    Returns
    -------
    pulp.LpProblem
        The problem that was written.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".lp", ".mps"):
        raise InvalidInputError(f"`path` must end in .lp or .mps, got {path!r}")
    model = build_margin_model(net, domain, bounds=bounds, margin_cap=margin_cap, l2_outer=l2_outer)
    from .solvers.pulp_milp import write_model

    return write_model(model, path)
