"""Which backend serves which problem: the registry reads the declared capabilities.

Every backend and MIP driver declares what it can do in :mod:`polyregions.solvers.base`
(:data:`~polyregions.solvers.base.REGION_BACKENDS`, :data:`~polyregions.solvers.base.MIP_DRIVERS`).
From those declarations alone this module

* states a domain's problem for a backend (:func:`region_problem`);
* chooses ``backend="auto"`` (:func:`choose_backend`: the lowest ``auto_rank`` among the
  backends that serve the problem's kind, up to their ``auto_max_dim``, whose required
  modules are installed);
* refuses a backend that does not serve a problem, always in one format
  (:func:`refusal`), before the backend is built;
* builds backends and drivers (:func:`make_backend`, :func:`make_mip_driver`), importing a
  backend's module only then, so a missing optional solver only matters when it is asked for;
* says which backend a search begins on while the kernels of the one it is to run on are not
  compiled (:func:`starting_backend`: a first count on a fresh install does not wait for a
  compilation it may not need; the search moves to the compiled backend once it has run long
  enough, :mod:`polyregions.search.compiled`);
* lists them for the command line and the docs (:func:`backend_names`, :func:`describe_backends`);
* and offers the few solver services the rest of the package needs beyond the region test
  (an interior ball, a bounding box and the support LPs of a polyhedron, one LP, the
  certified count's floating-point hints, the export of a model).

Nothing outside :mod:`polyregions.solvers` imports a concrete backend: it goes through here
(``tests/test_architecture.py`` checks it).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys

import numpy as np

from ..errors import InvalidInputError
from .base import (DENSE_SIMPLEX_MAX_DIM, MIP_DRIVERS, PROBLEM_KINDS, REGION_BACKENDS, Capabilities, LinearModel,
                   LPBackend, MipDriver, RegionProblem)
from .scipy_lp import BOX_PAD

__all__ = ["BACKENDS", "BOX_PAD", "DENSE_SIMPLEX_MAX_DIM", "MIP_SOLVERS", "UNBOUNDED_RADIUS_CAP", "backend_factory",
           "backend_names", "certificate_hints", "chebyshev_ball", "choose_backend", "describe_backends", "facet_lp",
           "far_margin",
           "kernels_ready", "make_backend", "make_mip_driver", "polyhedron_box", "polyhedron_support", "refusal",
           "region_problem", "resolve_backend", "serving", "solve_lp", "starting_backend", "write_model"]

#: Cap on the Chebyshev radius in unbounded domains (regions there may be unbounded).
UNBOUNDED_RADIUS_CAP = 1.0
#: The region-test backends, by name (their declarations).
BACKENDS = REGION_BACKENDS
#: The MIP solvers, by name.
MIP_SOLVERS = tuple(MIP_DRIVERS)


def region_problem(domain, eps: float) -> RegionProblem:
    """The constraints of `domain` as a backend sees them, for the radius `eps`.

    The domain's linear rows ``A x <= b`` (``domain.rows()``), plus its norm ball
    ``|x - center|_p <= radius`` for ``p`` = 1 or 2 (``domain.norm_ball()``; an L-inf ball is
    given by its rows), its bounding box when bounded, and the radius cap
    :data:`UNBOUNDED_RADIUS_CAP` when the domain is unbounded, and its rows as coordinate bounds
    when they are exactly that (``domain.coordinate_bounds()``: a box, an L-inf ball).
    """
    bounds = domain.coordinate_bounds()
    A, b = domain.rows() if bounds is None else (None, None)  # else built from the bounds when read
    ball = domain.norm_ball()
    norm, ball = (ball[0], ball[1:]) if ball is not None else (None, None)
    return RegionProblem(domain.dim, None if A is None else np.asarray(A, float),
                         None if b is None else np.asarray(b, float), eps,
                         l1_ball=ball if norm == 1 else None, l2_ball=ball if norm == 2 else None,
                         t_cap=None if domain.bounded else UNBOUNDED_RADIUS_CAP,
                         box=domain.bounding_box() if domain.bounded else None,
                         coordinate_bounds=bounds)


# ---------------------------------------------------------------------------------------------
# reading the declarations

@functools.lru_cache(maxsize=None)
def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def backend_names() -> tuple:
    """The names ``backend=`` accepts: "auto" and every declared backend."""
    return ("auto", *BACKENDS)


def serving(kind: str) -> list:
    """The backends that serve problems of `kind` (a key of
    :data:`~polyregions.solvers.base.PROBLEM_KINDS`), in declaration order."""
    return [name for name, cap in BACKENDS.items() if kind in cap.kinds]


def refusal(name: str, kind: str) -> str | None:
    """Why the backend `name` refuses problems of `kind` (one format for every refusal), or None."""
    cap = BACKENDS[name]
    if kind in cap.kinds:
        return None
    served = ", ".join(PROBLEM_KINDS[k] for k in PROBLEM_KINDS if k in cap.kinds)
    others = ", ".join(repr(n) for n in serving(kind))
    return (f"`backend` {name!r} does not serve {PROBLEM_KINDS[kind]}: it serves {served}; "
            f"use backend='auto' or one of {others}")


def choose_backend(problem: RegionProblem) -> str:
    """The backend ``"auto"`` builds for `problem`: the lowest declared ``auto_rank`` among the
    backends that serve its kind, up to their ``auto_max_dim``, whose required modules are
    installed (on boxes, L-inf balls and bounded polytopes the dense dual simplex up to
    :data:`~polyregions.solvers.base.DENSE_SIMPLEX_MAX_DIM` inputs and the fixed-margin test
    above; the fixed-margin test on L1 balls; the projection on L2 balls; HiGHS on unbounded
    domains and without numba)."""
    kind = problem.kind
    eligible = [(cap.auto_rank, name) for name, cap in BACKENDS.items()
                if cap.auto_rank is not None and kind in cap.kinds
                and (cap.auto_max_dim is None or problem.dim <= cap.auto_max_dim)
                and all(_installed(m) for m in cap.requires)]
    if not eligible:
        raise InvalidInputError(f"no installed backend serves {PROBLEM_KINDS[kind]}: install the solvers of "
                                f"{', '.join(repr(n) for n in serving(kind))}")
    return min(eligible)[1]


def describe_backends() -> str:
    """One line per backend name: what it is and what it serves (for ``--help`` and the docs)."""
    lines = ["auto: chosen by the domain: " + "; ".join(
        f"{name} on {', '.join(k for k in PROBLEM_KINDS if k in cap.kinds)}"
        + (f" up to {cap.auto_max_dim} inputs" if cap.auto_max_dim is not None else "")
        for name, cap in sorted(BACKENDS.items(), key=lambda item: (item[1].auto_rank is None, item[1].auto_rank or 0))
        if cap.auto_rank is not None)]
    for name, cap in BACKENDS.items():
        lines.append(f"{name}: {cap.summary}; serves {', '.join(k for k in PROBLEM_KINDS if k in cap.kinds)}")
    return "\n".join(lines)


def _load(cap: Capabilities):
    module = importlib.import_module(f"{__package__}.{cap.module}")
    return functools.partial(getattr(module, cap.cls), **dict(cap.options))


_MARKED = set()  # backends whose kernels this process has marked as cached


def _kernel_modules(name: str) -> tuple:
    return tuple(f"{__package__}.{m}" for m in BACKENDS[name].kernels)


def backend_factory(name: str):
    """What builds the backend `name` from a problem: its class with its declared options (its
    module is imported now, compiling its kernels or loading them from the cache, which is then
    marked: :func:`kernels_ready`)."""
    factory = _load(BACKENDS[name])
    if BACKENDS[name].kernels and name not in _MARKED:
        from .jit import mark_cached

        mark_cached(f"backend-{name}", _kernel_modules(name))
        _MARKED.add(name)
    return factory


def kernels_ready(name: str) -> bool:
    """Whether the backend `name` builds without compiling: it declares no kernels, or they are
    imported in this process, or in the kernel cache (:func:`polyregions.solvers.jit.kernels_cached`:
    a few ``stat`` calls, nothing compiled or loaded)."""
    modules = _kernel_modules(name)
    if all(m in sys.modules for m in modules):
        return True
    from .jit import kernels_cached

    return kernels_cached(f"backend-{name}", modules)


def starting_backend(name: str, problem: RegionProblem) -> str:
    """The backend a search that is to run on the backend `name` begins on: `name` itself when
    its kernels are ready (:func:`kernels_ready`), else the one ``"auto"`` would choose for
    `problem` among the installed backends that compile nothing (HiGHS), if any.

    Every backend decides the region test of the exact Chebyshev radius (a compiled one hands
    every decision near a threshold to HiGHS), so the count does not depend on where a search
    begins; only its speed does: a backend without kernels decides each test more slowly, but a
    count that ends before the kernels would have compiled does not wait for them."""
    if kernels_ready(name):
        return name
    kind = problem.kind
    eligible = [(cap.auto_rank, other) for other, cap in BACKENDS.items()
                if not cap.kernels and cap.auto_rank is not None and kind in cap.kinds
                and all(_installed(m) for m in cap.requires)]
    return min(eligible)[1] if eligible else name


# ---------------------------------------------------------------------------------------------
# building

def resolve_backend(name: str, problem: RegionProblem) -> str:
    """The backend `name` names for `problem` ("auto": :func:`choose_backend`); a backend that
    does not serve the problem's kind is refused with :func:`refusal`'s message."""
    if not isinstance(name, str) or (name != "auto" and name not in BACKENDS):
        raise InvalidInputError(f"`backend` must be one of {list(backend_names())}, got {name!r}")
    if name == "auto":
        name = choose_backend(problem)
    why = refusal(name, problem.kind)
    if why is not None:
        raise InvalidInputError(why)
    return name


def make_backend(name: str, problem: RegionProblem) -> LPBackend:
    """Build the backend called `name` for `problem` (:func:`resolve_backend`)."""
    return backend_factory(resolve_backend(name, problem))(problem)


def make_mip_driver(model: LinearModel, solver: str, *, mip: bool) -> MipDriver:
    """The driver called `solver` (one of :data:`MIP_SOLVERS`) for `model` (an LP when not `mip`)."""
    if solver not in MIP_DRIVERS:
        raise InvalidInputError(f"`solver` must be one of {list(MIP_SOLVERS)}, got {solver!r}")
    return _load(MIP_DRIVERS[solver])(model, mip=mip)


# ---------------------------------------------------------------------------------------------
# solver services: LPs the domains, the bounds, the certified count and the export ask for

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


def far_margin(A_near, A_far, b_far):
    """The margin by which a direction of the near rows' recession cone reaches rows far beyond
    them (:func:`polyregions.solvers.scipy_lp.far_margin`): ``(m, y)``."""
    from .scipy_lp import far_margin as margin

    return margin(A_near, A_far, b_far)


def facet_lp(A, b, t_cap):
    """The facet LPs of the polyhedron ``{A x <= b}`` (unit rows), radii capped at `t_cap`
    (:class:`polyregions.solvers.facet_lp.FacetLP`)."""
    from .facet_lp import FacetLP

    return FacetLP(A, b, t_cap)


def solve_lp(c, **kwargs):
    """One LP, its status read through an explicit table (:func:`polyregions.solvers.scipy_lp.solve_lp`)."""
    from .scipy_lp import solve_lp as solve

    return solve(c, **kwargs)


def certificate_hints():
    """The floating-point hints of the certified count: the module of the backend that declares
    the "certificates" feature, with ``transposition_nnls(A, b)``, ``transposition_lp(A, b)`` and
    ``box_transposition_lp(...)`` (floating-point multipliers; the certifier derives exact ones)."""
    cap = next(cap for cap in BACKENDS.values() if "certificates" in cap.features)
    return importlib.import_module(f"{__package__}.{cap.module}")


def write_model(model: LinearModel, path):
    """Write `model` to an ``.lp`` or ``.mps`` file (:func:`polyregions.solvers.pulp_milp.write_model`)."""
    from .pulp_milp import write_model as write

    return write(model, path)
