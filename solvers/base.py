"""The region-test interface that every solver backend implements.

Two kinds of solver sit behind it. A region-test backend (:class:`LPBackend`) holds one
problem: the domain's constraints and a stack of half-spaces
``a_i . x <= b_i`` with unit normals (the node's rows). :meth:`LPBackend.test` decides
whether the node's region inside the domain contains a Euclidean ball of radius ``eps``
(a ball ``B(x, eps)`` inside every row and the domain) and returns an interior witness:

* polyhedral domains: the Chebyshev LP ``max t  s.t.  a_i . x + t <= b_i`` plus the
  domain's rows lifted the same way (``t`` capped for unbounded domains);
* the L2 ball ``|x - c| <= r``: a ball ``B(x, eps)`` lies in region and ball exactly when
  ``a_i . x <= b_i - eps`` and ``|x - c| <= r - eps``: one convex QP (or an SOCP).

A MIP driver (:class:`MipDriver`) solves a solver-neutral :class:`LinearModel` (the
big-M encoding of :mod:`polyregions.milp.encoding`) and returns a :class:`MipSolution`.

Every backend and driver declares what it can do here, in :data:`REGION_BACKENDS` and
:data:`MIP_DRIVERS` (:class:`Capabilities`): the kinds of region problem it serves
(:data:`PROBLEM_KINDS`), its features, whether and when ``backend="auto"`` may choose it.
:mod:`polyregions.solvers.registry` reads these declarations and nothing else to choose a
backend, to refuse one (one message format) and to list them; the module of a backend is
imported only when it is built.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Status(enum.Enum):
    """Solver outcome, translated from each solver's own statuses through an explicit table."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    LIMIT = "limit"  # time or iteration limit: never an answer
    ERROR = "error"  # never an answer


#: The kinds of region problem (:attr:`RegionProblem.kind`), as the refusals name them.
PROBLEM_KINDS = {
    "polyhedral": "bounded polyhedral domains (boxes, L-inf balls, bounded polytopes)",
    "l1": "L1 balls",
    "l2": "L2 balls",
    "unbounded": "unbounded domains (the whole space, unbounded polytopes)",
}

#: The features a backend may declare (:attr:`Capabilities.features`).
FEATURES = {
    "lp": "decides the region test by a Chebyshev LP",
    "qp": "decides the L2-ball region test by a QP (a projection)",
    "socp": "decides the L2-ball region test by a second-order cone program",
    "certificates": "gives floating-point transposition multipliers: the hints of the certified count",
    "anchors_witness": "on unbounded domains keeps a witness near the anchor it is given",
    "radius_bounds": "decides at fixed margins: a kept node's radius and a dropped node's depth are bounds "
                     "on the Chebyshev radius (on the side that decides), not the radius itself",
    "cutoff_search": "(MIP) stops at the first solution below a cutoff, unproven",
    "compiled_stack": "hands its row stack to the compiled search (polyregions.search.compiled)",
}


@dataclass(frozen=True)
class Capabilities:
    """What one backend (or MIP driver) declares; the registry reads nothing else.

    ``module``, ``cls``: where it lives (``polyregions.solvers.<module>.<cls>``, imported only
    when it is built, with the keyword arguments ``options``); ``kinds``: the
    :data:`PROBLEM_KINDS` it serves (``{"mip"}`` for a MIP driver); ``features``: from
    :data:`FEATURES`; ``auto_rank``: its order among the backends ``"auto"`` may choose
    (lower first; None: never chosen), and ``auto_max_dim`` the input dimension up to which
    it is chosen; ``requires``: modules that must be importable for ``"auto"`` to choose it;
    ``kernels``: the kernel modules (of :mod:`polyregions.solvers`) its module compiles, or loads
    from the kernel cache, when it is imported (:mod:`polyregions.solvers.jit`; a search begins
    on a backend without kernels while they are not in the cache:
    :func:`polyregions.solvers.registry.starting_backend`); ``summary``: one line for the command
    line and the docs.
    """

    module: str
    cls: str
    kinds: frozenset
    features: frozenset = frozenset()
    auto_rank: int | None = None
    auto_max_dim: int | None = None
    requires: tuple = ()
    options: tuple = ()
    kernels: tuple = ()
    summary: str = ""


_ALL_KINDS = frozenset(PROBLEM_KINDS)

#: Up to this input dimension "auto" uses the dense dual simplex on bounded polyhedral
#: domains (its basis has n + 1 rows); above it, the fixed-margin test (a basis of one row
#: per node row). Measured in benchmarks/: the two cross at about n = 16-24 on [16, 16] nets.
DENSE_SIMPLEX_MAX_DIM = 20

#: The region-test backends, by name.
REGION_BACKENDS = {
    "numba": Capabilities("numba_lp", "NumbaBackend", frozenset({"polyhedral"}), frozenset({"lp", "compiled_stack"}),
                          auto_rank=0, auto_max_dim=DENSE_SIMPLEX_MAX_DIM, requires=("numba",),
                          kernels=("linalg_kernels", "dense_kernels"),
                          summary="compiled dense dual simplex, HiGHS as referee (low dimension)"),
    "projection": Capabilities("projection_l2", "ProjectionL2Backend", frozenset({"l2"}),
                               frozenset({"qp", "radius_bounds"}), auto_rank=0, requires=("numba",),
                               kernels=("projection_kernels",),
                               summary="compiled projection on the rows' Gram matrix, HiGHS as referee"),
    "bounded": Capabilities("bounded_lp", "BoundedDualBackend", frozenset({"polyhedral", "l1"}),
                            frozenset({"lp", "radius_bounds", "compiled_stack"}), auto_rank=1, requires=("numba",),
                            kernels=("linalg_kernels", "bounded_ratio", "bounded_kernels", "bounded_decide"),
                            summary="compiled fixed-margin test with the box as column bounds, HiGHS as referee "
                                    "(high dimension, L1 balls)"),
    "highs": Capabilities("highs", "HighsBackend", _ALL_KINDS, frozenset({"lp", "qp", "anchors_witness"}),
                          auto_rank=2, requires=("highspy",),
                          summary="HiGHS LP and QP on one persistent model (every domain)"),
    "scipy": Capabilities("scipy_lp", "ScipyBackend", _ALL_KINDS, frozenset({"lp", "certificates"}),
                          requires=("scipy",),
                          summary="one scipy.optimize.linprog per test, L2 balls by cutting planes (the plain "
                                  "reference)"),
    "cvxpy": Capabilities("cvxpy_conic", "CvxpyBackend", frozenset({"polyhedral", "l1", "l2"}),
                          frozenset({"lp", "socp"}), requires=("cvxpy",),
                          summary="Clarabel through cvxpy, the L2 ball as a cone (the conic cross-check)"),
}

#: The MIP drivers, by name.
MIP_DRIVERS = {
    "highs": Capabilities("highs", "HighsMipDriver", frozenset({"mip"}), frozenset({"cutoff_search"}),
                          requires=("highspy",), summary="highspy directly"),
    "cbc": Capabilities("pulp_milp", "PulpDriver", frozenset({"mip"}), requires=("pulp",),
                        options=(("solver", "cbc"),), summary="PuLP with its bundled CBC"),
    "pulp-highs": Capabilities("pulp_milp", "PulpDriver", frozenset({"mip"}), requires=("pulp",),
                               options=(("solver", "highs"),), summary="PuLP with its HiGHS interface"),
}


@dataclass(frozen=True)
class RegionProblem:
    """The domain seen by a backend.

    ``A x <= b``: the domain's linear rows (a box, an L-inf ball, a polytope); ``l1_ball``
    and ``l2_ball``: ``(center, radius)`` of a norm ball; ``t_cap``: cap on the Chebyshev
    radius when the domain is unbounded; ``eps``: the radius a kept region must exceed;
    ``box``: the bounding box ``(lo, hi)`` of the rows when the domain already knows it
    (a polytope computes it once), else None; ``coordinate_bounds``: ``(lo, hi)`` when the rows
    ``A x <= b`` are exactly ``x_k <= hi_k`` and ``-x_k <= -lo_k`` (a box, an L-inf ball), so that
    a backend that takes bounds need not read ``A``, else None. With ``coordinate_bounds`` given,
    ``A`` and ``b`` may be None: they are then built from the bounds when first read (the 2n rows
    of a high-dimensional box are megabytes a bounds-taking backend never reads).
    """

    dim: int
    A: np.ndarray
    b: np.ndarray
    eps: float
    l1_ball: tuple | None = None
    l2_ball: tuple | None = None
    t_cap: float | None = None
    box: tuple | None = None
    coordinate_bounds: tuple | None = None

    def __post_init__(self):
        if self.A is None or self.b is None:
            if self.A is not None or self.b is not None or self.coordinate_bounds is None:
                raise ValueError("RegionProblem: `A` and `b` may be None together, and only with `coordinate_bounds`")
            object.__delattr__(self, "A")  # built on first read (__getattr__)
            object.__delattr__(self, "b")

    def __getattr__(self, name):
        """``A`` and ``b`` from ``coordinate_bounds`` (``x_k <= hi_k``, then ``-x_k <= -lo_k``)
        when they were left to be built; called only for attributes not set."""
        bounds = self.__dict__.get("coordinate_bounds")
        if name not in ("A", "b") or bounds is None:
            raise AttributeError(name)
        lo, hi = (np.asarray(v, dtype=float) for v in bounds)
        eye = np.eye(self.dim)
        object.__setattr__(self, "A", np.vstack([eye, -eye]))
        object.__setattr__(self, "b", np.concatenate([hi, -lo]))
        return self.__dict__[name]

    @property
    def bounded(self) -> bool:
        return self.t_cap is None

    @property
    def kind(self) -> str:
        """Its key of :data:`PROBLEM_KINDS`: "unbounded", "l2", "l1" or "polyhedral"."""
        if self.t_cap is not None:
            return "unbounded"
        if self.l2_ball is not None:
            return "l2"
        return "l1" if self.l1_ball is not None else "polyhedral"

    def honest_radius(self, rows_A: np.ndarray, rows_b: np.ndarray, x: np.ndarray) -> float:
        """The radius of the largest ball around `x` inside the node's rows ``rows_A y <= rows_b``
        (unit normals) and the polyhedral part of the domain, computed directly in floating
        point (not taken from a solver); capped at ``t_cap`` on unbounded domains."""
        r = math.inf
        if rows_b.size:
            r = float(np.min(rows_b - rows_A @ x))
        if self.b.size:
            norms = np.linalg.norm(self.A, axis=1)
            r = min(r, float(np.min((self.b - self.A @ x) / norms)))
        if self.l1_ball is not None:
            c, rad = self.l1_ball
            r = min(r, (rad - float(np.sum(np.abs(x - c)))) / math.sqrt(self.dim))
        if self.t_cap is not None:
            r = min(r, self.t_cap)
        return r


@dataclass
class TestResult:
    """Outcome of a region test.

    ``keep``: the region contains a ball of radius ``eps`` (decided by the solver);
    ``radius``: the witness ball's radius (the Chebyshev radius for LP tests, capped on
    unbounded domains; an honest radius of the returned point for the L2 test);
    ``point``: the witness, or None when ``keep`` is False; ``depth``: the solver's optimal
    radius (may be negative when the node is empty), used to report near-eps decisions;
    ``recentre_failed``: on an unbounded domain, the solve that moves a far witness back
    near the anchor failed, and the far witness was kept (the decision stands).
    """

    __test__ = False  # not a pytest class

    keep: bool
    radius: float
    point: np.ndarray | None
    depth: float
    recentre_failed: bool = False


#: Below this solver optimum a kept node is re-checked on its witness in floating point:
#: solver tolerances (about 1e-9) must not decide near ``eps``.
HONEST_CHECK_BELOW = 1e-6
#: HiGHS reads bounds beyond 1e20 as infinite: a row with a larger bound cannot be added (to
#: HiGHS or, so that the referee can always decide, to any backend).
ROW_BOUND_LIMIT = 1e19


class RowStack:
    """The node's rows kept as a Python stack, for backends that build a fresh model at every test.

    ``push(a, b)`` adds the row ``a . x <= b``; ``pop()`` removes the last one; ``lp_solves`` counts
    the solver calls a subclass records in ``self._solves``.
    """

    def __init__(self):
        self._rows = []
        self._solves = 0

    def push(self, a, b):
        self._rows.append((np.asarray(a, float), float(b)))

    def pop(self):
        self._rows.pop()

    @property
    def lp_solves(self):
        return self._solves

    def farkas(self):
        """No multipliers (see :meth:`LPBackend.farkas`)."""
        return None

    def stacked_rows(self, n: int):
        """The rows as arrays ``(A, b)`` of shapes ``(m, n)`` and ``(m,)``."""
        return (np.array([a for a, _ in self._rows]).reshape(-1, n),
                np.array([b for _, b in self._rows]).reshape(-1))


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
class MipSolution:
    """Outcome of one (mixed-integer) linear solve of a :class:`LinearModel`.

    ``x``: the column values (None unless OPTIMAL); ``value``: the objective of the
    minimisation at ``x``; ``bound``: a valid lower bound on the minimum (a MIP's dual
    bound); ``proven``: False for a cutoff search (the first solution below a cutoff, or
    none found below it, which the caller confirms by a full solve).
    """

    __test__ = False

    status: Status
    x: np.ndarray | None = None
    value: float = math.nan  # the objective (minimisation) at x
    bound: float = math.nan  # a valid lower bound on the minimum (MIP dual bound)
    proven: bool = True  # False: a cutoff search (first solution below a cutoff, or none below it)


class MipDriver(Protocol):
    """A (MI)LP solver mirroring a :class:`LinearModel`: columns and rows appended to the
    model between solves reach the solver at the next :meth:`minimize`."""

    name: str
    solves: int

    def sync(self) -> None:
        """Send the model's new columns, rows and bound changes to the solver."""

    def minimize(self, cost: dict, time_limit: float | None = None, cutoff: float | None = None) -> MipSolution:
        """Minimise ``sum cost[j] v_j``; with `cutoff`, stop at the first solution below it."""


class LPBackend(Protocol):
    """A region-test backend; ``capabilities`` is its declaration in :data:`REGION_BACKENDS`."""

    name: str
    capabilities: Capabilities

    def push(self, a: np.ndarray, b: float) -> None:
        """Add the half-space ``a . x <= b`` (``a`` of unit norm) to the node."""

    def pop(self) -> None:
        """Remove the last pushed half-space and restore the parent's solver state."""

    def test(self, anchor: np.ndarray | None = None) -> TestResult:
        """Decide whether the node contains a ball of radius ``eps``; ``anchor`` keeps witnesses
        near a point on unbounded domains."""

    @property
    def lp_solves(self) -> int:
        """Number of solver runs so far."""

    def farkas(self) -> np.ndarray | None:
        """After a test that dropped the node with a negative optimum: floating-point multipliers
        ``y >= 0`` of the pushed rows (bottom first) such that ``sum y_i (a_i . x - b_i) < 0`` holds
        nowhere in the domain (the domain's own rows are left to its support function); None
        when the last test gave none. A hint for an exact certificate, never a proof."""
