"""Which backend serves which problem: the registry of region-test backends.

:func:`region_problem` states a domain's constraints for a backend (from the data the
domain describes itself with: its linear rows, its norm ball, whether it is bounded);
:func:`make_backend` builds a backend by name. Backends are imported lazily, so a
missing optional solver only matters when it is asked for.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..errors import InvalidInputError
from .base import LinearModel, LPBackend, MipDriver, RegionProblem

__all__ = ["BACKENDS", "DENSE_SIMPLEX_MAX_DIM", "MIP_SOLVERS", "UNBOUNDED_RADIUS_CAP", "chebyshev_ball", "make_backend",
           "make_mip_driver", "polyhedron_box", "polyhedron_support", "region_problem"]

#: Cap on the Chebyshev radius in unbounded domains (regions there may be unbounded).
UNBOUNDED_RADIUS_CAP = 1.0


def region_problem(domain, eps: float) -> RegionProblem:
    """The constraints of `domain` as a backend sees them, for the radius `eps`.

    The domain's linear rows ``A x <= b`` (``domain.rows()``), plus its norm ball
    ``|x - center|_p <= radius`` for ``p`` = 1 or 2 (``domain.norm_ball()``; an L-inf ball is
    given by its rows), its bounding box when bounded, and the radius cap
    :data:`UNBOUNDED_RADIUS_CAP` when the domain is unbounded.
    """
    A, b = domain.rows()
    ball = domain.norm_ball()
    norm, ball = (ball[0], ball[1:]) if ball is not None else (None, None)
    return RegionProblem(domain.dim, np.asarray(A, float), np.asarray(b, float), eps,
                         l1_ball=ball if norm == 1 else None, l2_ball=ball if norm == 2 else None,
                         t_cap=None if domain.bounded else UNBOUNDED_RADIUS_CAP,
                         box=domain.bounding_box() if domain.bounded else None)


def _highs(problem):
    from .highs import HighsBackend

    return HighsBackend(problem)


def _scipy(problem):
    from .scipy_lp import ScipyBackend

    return ScipyBackend(problem)


def _cvxpy(problem):
    from .cvxpy_conic import CvxpyBackend

    return CvxpyBackend(problem)


def _numba(problem):
    from .numba_lp import NumbaBackend

    return NumbaBackend(problem)


def _bounded(problem):
    from .bounded_lp import BoundedDualBackend

    return BoundedDualBackend(problem)


def _projection(problem):
    from .projection_l2 import ProjectionL2Backend

    return ProjectionL2Backend(problem)


#: Up to this input dimension "auto" uses the dense dual simplex on bounded polyhedral
#: domains (its basis has n + 1 rows); above it, the fixed-margin test (a basis of one row
#: per node row). Measured in benchmarks/: the two cross at about n = 16-24 on [16, 16] nets.
DENSE_SIMPLEX_MAX_DIM = 20


def _auto(problem):
    """The fastest backend that serves `problem`, compiled where numba is installed: on boxes,
    L-inf balls and bounded polytopes the dense dual simplex ("numba") up to
    :data:`DENSE_SIMPLEX_MAX_DIM` inputs and the fixed-margin test ("bounded") above; the
    fixed-margin test on L1 balls; the projection ("projection") on L2 balls; HiGHS on
    unbounded domains and without numba."""
    if importlib.util.find_spec("numba") is None or problem.t_cap is not None:
        return _highs(problem)
    if problem.l2_ball is not None:
        return _projection(problem)
    if problem.l1_ball is None and problem.dim <= DENSE_SIMPLEX_MAX_DIM:
        return _numba(problem)
    return _bounded(problem)


BACKENDS = {"auto": _auto, "highs": _highs, "scipy": _scipy, "cvxpy": _cvxpy, "numba": _numba, "bounded": _bounded,
            "projection": _projection}


def make_backend(name: str, problem: RegionProblem) -> LPBackend:
    """Build the backend called `name` for `problem` ("auto": see :func:`_auto`)."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise InvalidInputError(f"`backend` must be one of {sorted(BACKENDS)}, got {name!r}") from None
    return factory(problem)


#: The MIP solvers: highspy directly, or PuLP with its bundled CBC or its HiGHS interface.
MIP_SOLVERS = ("highs", "cbc", "pulp-highs")


def make_mip_driver(model: LinearModel, solver: str, *, mip: bool) -> MipDriver:
    """The driver called `solver` (one of :data:`MIP_SOLVERS`) for `model` (an LP when not `mip`)."""
    if solver == "highs":
        from .highs import HighsMipDriver

        return HighsMipDriver(model, mip=mip)
    if solver in ("cbc", "pulp-highs"):
        from .pulp_milp import PulpDriver

        return PulpDriver(model, solver="cbc" if solver == "cbc" else "highs", mip=mip)
    raise InvalidInputError(f"`solver` must be one of {list(MIP_SOLVERS)}, got {solver!r}")


# ---------------------------------------------------------------------------------------------
# LPs over a polyhedron that the domains ask for (computed once per domain)

def chebyshev_ball(A, b, cap):
    """The largest ball in ``{A x <= b}`` (unit rows), its radius capped at `cap`: ``(x, t)``, or
    ``(None, None)`` when the rows are infeasible (:func:`polyregions.solvers.scipy_lp.interior_ball`)."""
    from .scipy_lp import interior_ball

    return interior_ball(A, b, cap)


def polyhedron_box(A, b):
    """The bounding box ``(lo, hi)`` of the non-empty ``{A x <= b}``, padded outwards; infinite
    where unbounded (:func:`polyregions.solvers.scipy_lp.bounding_box`)."""
    from .scipy_lp import bounding_box

    return bounding_box(A, b)


def polyhedron_support(A, b, pad):
    """A callable ``a -> max a . x`` over ``{A x <= b}`` (one persistent LP, padded outwards by
    ``pad (1 + |v|)``; ``+inf`` when unbounded; :class:`polyregions.solvers.highs.PolytopeSupport`)."""
    from .highs import PolytopeSupport

    return PolytopeSupport(A, b, pad)
