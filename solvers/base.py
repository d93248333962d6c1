"""The region-test interface that every solver backend implements.

A backend holds one problem: the domain's constraints and a stack of half-spaces
``a_i . x <= b_i`` with unit normals (the node's rows). :meth:`LPBackend.test` decides
whether the node's region inside the domain contains a Euclidean ball of radius ``eps``
(a ball ``B(x, eps)`` inside every row and the domain) and returns an interior witness:

* polyhedral domains: the Chebyshev LP ``max t  s.t.  a_i . x + t <= b_i`` plus the
  domain's rows lifted the same way (``t`` capped for unbounded domains);
* the L2 ball ``|x - c| <= r``: a ball ``B(x, eps)`` lies in region and ball exactly when
  ``a_i . x <= b_i - eps`` and ``|x - c| <= r - eps``: one convex QP (or an SOCP).
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


@dataclass(frozen=True)
class RegionProblem:
    """The domain seen by a backend.

    ``A x <= b``: the domain's linear rows (a box, an L-inf ball, a polytope); ``l1_ball``
    and ``l2_ball``: ``(center, radius)`` of a norm ball; ``t_cap``: cap on the Chebyshev
    radius when the domain is unbounded; ``eps``: the radius a kept region must exceed;
    ``box``: the bounding box ``(lo, hi)`` of the rows when the domain already knows it
    (a polytope computes it once), else None.
    """

    dim: int
    A: np.ndarray
    b: np.ndarray
    eps: float
    l1_ball: tuple | None = None
    l2_ball: tuple | None = None
    t_cap: float | None = None
    box: tuple | None = None

    @property
    def bounded(self) -> bool:
        return self.t_cap is None


@dataclass
class TestResult:
    """Outcome of a region test.

    ``keep``: the region contains a ball of radius ``eps`` (decided by the solver);
    ``radius``: the witness ball's radius (the Chebyshev radius for LP tests, capped on
    unbounded domains; an honest radius of the returned point for the L2 test);
    ``point``: the witness, or None when ``keep`` is False; ``depth``: the solver's optimal
    radius (may be negative when the node is empty), used to report near-eps decisions.
    """

    __test__ = False  # not a pytest class

    keep: bool
    radius: float
    point: np.ndarray | None
    depth: float


#: Below this solver optimum a kept node is re-checked on its witness in floating point:
#: solver tolerances (about 1e-9) must not decide near ``eps``.
HONEST_CHECK_BELOW = 1e-6


def honest_radius(problem: RegionProblem, rows_A: np.ndarray, rows_b: np.ndarray, x: np.ndarray) -> float:
    """The radius of the largest ball around `x` inside the node's rows (unit normals) and
    the polyhedral domain, computed directly (not taken from a solver)."""
    r = math.inf
    if rows_b.size:
        r = float(np.min(rows_b - rows_A @ x))
    if problem.b.size:
        norms = np.linalg.norm(problem.A, axis=1)
        r = min(r, float(np.min((problem.b - problem.A @ x) / norms)))
    if problem.l1_ball is not None:
        c, rad = problem.l1_ball
        r = min(r, (rad - float(np.sum(np.abs(x - c)))) / math.sqrt(problem.dim))
    if problem.t_cap is not None:
        r = min(r, problem.t_cap)
    return r


class LPBackend(Protocol):
    """What a backend can do. ``capabilities`` lists the problem kinds it serves."""

    name: str
    capabilities: frozenset

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
