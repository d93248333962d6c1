"""Region counting by MILP with no-good cuts, local questions by MILP, and model export.

The models are the big-M encoding of :mod:`polyregions.milp.encoding`.

Counting
--------
The margin MILP maximises ``t`` in ``[0, t_cap]`` subject to ``z_j >= t`` for the
neurons that are on and ``z_j <= -t`` for those that are off (stable neurons exempt;
the big-M rows are in :mod:`polyregions.milp.encoding`). A positive margin at a point of
``D`` means the pattern's region has interior in ``D``.

Each pattern found is read from the binaries (and compared with the signs of the
network's pre-activations at the solution), re-checked with the exact region test (a Euclidean
ball of radius ``eps`` inside the region and the domain; its rows are built from the
pattern with the network's affine maps, :func:`polyregions.search.engine.pattern_rows`),
and excluded by the no-good cut

.. math::

    \\sum_{j: a_j^* = 1} (1 - a_j) + \\sum_{j: a_j^* = 0} a_j \\ge 1

whether or not it passes. The loop stops when the MILP is infeasible or its optimal
margin is at most ``margin_tol``; regions whose best margin is below ``margin_tol``
(in pre-activation units) are out of the MILP's reach. The loop is independent of the
depth-first search of :mod:`polyregions.api`, so the two cross-check each other;
it is far slower (every pattern costs one MILP solved from scratch: HiGHS has no
solution pool and no lazy-constraint callback).

Limits
------
* The whole space has no big-M constants: :class:`~polyregions.domains.convex.Whole` and
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
import os
import time

import numpy as np

from .._validate import int_at_least, net_and_domain, positive_number
from ..domains.base import Domain
from .encoding import L2_SEED_MAX_DIM, MAX_L2_CUTS, build_encoding, optimize
from ..errors import InvalidInputError, SolverError, UnsupportedError
from ..model.network import Network, require_relu
from .propagate import resolve_bounds
from ..driver import drive
from ..result import NEAR_EPS_FACTOR, LocalResult, MilpStats, RegionCount
from ..search.engine import DEFAULT_EPS, pattern_rows, region_test
from ..solvers.base import LinearModel, Status
from ..solvers.registry import MIP_SOLVERS, make_backend, make_mip_driver, region_problem, write_model

__all__ = [
    "DEFAULT_MARGIN_CAP", "DEFAULT_MARGIN_TOL", "LinearModel", "LocalResult", "MilpStats",
    "build_margin_model", "check_milp", "count_milp", "count_regions_milp", "export_model", "max_margin_pattern",
    "single_region",
]

log = logging.getLogger(__name__)

#: Patterns whose best margin (in pre-activation units) is at most this are not searched for.
DEFAULT_MARGIN_TOL = 1e-6
#: Upper bound ``t_cap`` of the margin variable.
DEFAULT_MARGIN_CAP = 1.0


def check_milp(net, domain) -> None:
    """Refuse what the MILP cannot serve (UnsupportedError): a network that is not plain ReLU,
    an unbounded domain (no big-M constants). The functions below trust their arguments once
    their public entry (or :func:`polyregions.count_regions`) has checked them."""
    require_relu(net, "the MILP")
    if not domain.bounded:
        raise UnsupportedError(
            f"`domain` must be bounded for the MILP (got {domain!r}): the whole space has no big-M constants; "
            "count in a Box or Ball that contains the regions of interest, or use count_regions"
        )


def _check_bounded(net, domain):
    net_and_domain(net, domain)
    check_milp(net, domain)


def _validate_solver(solver):
    if solver not in MIP_SOLVERS:
        raise InvalidInputError(f"`solver` must be one of {list(MIP_SOLVERS)}, got {solver!r}")
    return solver


def _optional_positive(value, name):
    return None if value is None else positive_number(value, name)


def _validate_count(net, domain, eps, max_regions, time_limit, backend, solver, margin_tol, margin_cap, strategy,
                    check_samples):
    """Check the arguments of :func:`count_regions_milp`; return the numbers normalised."""
    _check_bounded(net, domain)
    eps = DEFAULT_EPS if eps is None else positive_number(eps, "eps")
    max_regions = None if max_regions is None else int_at_least(max_regions, "max_regions", 0)
    time_limit = _optional_positive(time_limit, "time_limit")
    margin_tol = positive_number(margin_tol, "margin_tol")
    margin_cap = positive_number(margin_cap, "margin_cap")
    if margin_cap <= margin_tol:
        raise InvalidInputError(f"`margin_cap` must exceed `margin_tol`, got {margin_cap} <= {margin_tol}")
    _validate_solver(solver)
    if strategy not in ("first", "max"):
        raise InvalidInputError(f"`strategy` must be 'first' or 'max', got {strategy!r}")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")
    check_samples = None if check_samples is None else int_at_least(check_samples, "check_samples", 0)
    return eps, max_regions, time_limit, margin_tol, margin_cap, check_samples


def _validate_max_margin(net, domain, margin_cap, time_limit, solver):
    """Check the arguments of :func:`max_margin_pattern`; return the numbers normalised."""
    _check_bounded(net, domain)
    margin_cap = positive_number(margin_cap, "margin_cap")
    _validate_solver(solver)
    return margin_cap, _optional_positive(time_limit, "time_limit")


def _validate_margin_model(net, domain, margin_cap, l2_outer):
    """Check the arguments of :func:`build_margin_model` (and :func:`export_model`); return `margin_cap`."""
    _check_bounded(net, domain)
    margin_cap = positive_number(margin_cap, "margin_cap")
    if domain.model_is_outer and not l2_outer:
        raise UnsupportedError(
            f"`domain` {domain!r} has no exact linear model (an L2 ball): export Ball(p=inf) or Ball(p=1), or pass "
            "`l2_outer=True` to export a polyhedral outer approximation"
        )
    return margin_cap


def _validate_single_region(net, ball, tol, samples, time_limit):
    """Check the arguments of :func:`single_region`; return the numbers normalised."""
    _check_bounded(net, ball)
    return (positive_number(tol, "tol"), int_at_least(samples, "samples", 0),
            _optional_positive(time_limit, "time_limit"))


def _sample_domain(domain, n, rng):
    if hasattr(domain, "sample"):
        return domain.sample(n, rng)
    lo, hi = domain.bounding_box()
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
        rows = pattern_rows(net, bits, domain)
        if rows is None:
            continue
        anchor = pts[i]
        if region_test(tester, rows, anchor).keep:
            counted.add(key)
            missed += 1
    return missed


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
        The region test's radius (default :data:`polyregions.api.DEFAULT_EPS`).
    max_regions : int, optional
        Stop after this many regions; the result is then marked incomplete
        (``stopped="max_regions"``).
    time_limit : float, optional
        Seconds; when reached the result is marked incomplete (``stopped="time_limit"``).
    bounds : {"interval", "symbolic", "lp", "milp"} or list of (lower, upper)
        The pre-activation bounds for the big-M constants (default: LP-tightened).
    backend : str
        The backend of the exact region test: one of
        :func:`polyregions.solvers.registry.backend_names` (default "highs").
    solver : str
        The MIP solver: one of :data:`polyregions.solvers.registry.MIP_SOLVERS`.
    margin_tol : float
        Stop when the optimal margin is at most this (pre-activation units). Keep it well
        above the MIP's feasibility tolerance (``polyregions.solvers.highs.HIGHS_MIP_OPTIONS``).
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
        Called as ``progress(count, stats)`` at most every ``polyregions.driver.PROGRESS_EVERY`` seconds.

    Returns
    -------
    RegionCount
        With :class:`MilpStats` (``stats.margin_tol`` among them). ``complete=True`` means
        *no region of margin >= margin_tol was missed*: regions whose best margin is below
        ``margin_tol`` (in pre-activation units) may exist and are not counted. ``complete``
        is False when a limit stopped the loop.

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
    >>> from polyregions.milp.milp import count_regions_milp
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> count_regions_milp(net, pr.Box([-1, -1], [1, 1])).count
    4
    """
    eps, max_regions, time_limit, margin_tol, margin_cap, check_samples = _validate_count(
        net, domain, eps, max_regions, time_limit, backend, solver, margin_tol, margin_cap, strategy, check_samples)
    return count_milp(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, bounds=bounds,
                      backend=backend, solver=solver, margin_tol=margin_tol, margin_cap=margin_cap, strategy=strategy,
                      check_samples=check_samples, seed=seed, progress=progress)


def count_milp(net, domain, *, eps, max_regions=None, time_limit=None, bounds="lp", backend="highs", solver="highs",
               margin_tol=DEFAULT_MARGIN_TOL, margin_cap=DEFAULT_MARGIN_CAP, strategy="first", check_samples=1000,
               seed=0, progress=None) -> RegionCount:
    """:func:`count_regions_milp` on arguments already checked and normalised (by it, or by
    :func:`polyregions.count_regions` with :func:`check_milp`)."""
    t0 = time.perf_counter()
    nb = resolve_bounds(net, domain, bounds)
    enc = build_encoding(net, domain, nb, integer=True, margin_cap=margin_cap)
    if enc.outer and domain.dim <= L2_SEED_MAX_DIM:
        enc.add_l2_outer()
    driver = make_mip_driver(enc.m, solver, mip=True)
    tester = make_backend(backend, region_problem(domain, eps))
    work = MilpWork(net, domain, enc, driver, tester, eps=eps, margin_tol=margin_tol, strategy=strategy,
                    check_samples=check_samples, seed=seed)
    work.stats.bounds = nb.method
    return drive(work, max_units=max_regions, time_limit=time_limit, progress=progress, start=t0)


class MilpWork:
    """The no-good loop of :func:`count_regions_milp` as work for the counting driver
    (:mod:`polyregions.driver`): one step solves margin MILPs until none is left (or the
    deadline passes) and yields 1 per pattern that passes the region test (0 per rejected
    one), then the regions the final sampling check adds. Not resumable: ``stopped`` is
    "time_limit" when a deadline stopped it, "degenerate" when the sampling check found more."""

    def __init__(self, net, domain, enc, driver, tester, *, eps, margin_tol, strategy, check_samples, seed):
        self.net, self.domain, self.enc, self.driver, self.tester = net, domain, enc, driver, tester
        self.eps, self.margin_tol, self.strategy = eps, margin_tol, strategy
        self.check_samples, self.seed = check_samples, seed
        self.stats = MilpStats(eps=eps, margin_tol=margin_tol, binaries=len(enc.binaries))
        self.done = False
        self.stopped = None

    def step(self, control):
        net, enc, driver, stats, margin_tol = self.net, self.enc, self.driver, self.stats, self.margin_tol
        eps, deadline = self.eps, control.deadline
        counted = set()
        t_col = enc.t
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                self.stopped = "time_limit"
                break
            cutoff = -margin_tol if self.strategy == "first" else None
            sol, _ = optimize(driver, enc, {t_col: -1.0}, deadline=deadline, settle_at=-margin_tol,
                              cutoff=cutoff, max_cuts=0)
            if sol.status is Status.INFEASIBLE and not sol.proven:
                # confirm "no pattern with margin above margin_tol" with a full maximisation
                sol, _ = optimize(driver, enc, {t_col: -1.0}, deadline=deadline, settle_at=-margin_tol, max_cuts=0)
            if sol.status is Status.INFEASIBLE:
                stats.final_margin = 0.0
                break
            if sol.status is Status.LIMIT:
                self.stopped = "time_limit"
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
            rows = pattern_rows(net, bits, self.domain)
            ok = False
            if rows is not None:
                res = region_test(self.tester, rows, x)
                ok = res.keep
                if ok:
                    counted.add(np.packbits(bits).tobytes())
                    stats.min_radius = min(stats.min_radius, res.radius)
                    stats.min_kept_depth = min(stats.min_kept_depth, res.depth)
                    stats.min_margin = min(stats.min_margin, margin)
                if eps / NEAR_EPS_FACTOR <= res.depth <= eps * NEAR_EPS_FACTOR:
                    stats.near_eps += 1
            if not ok:
                stats.rejected += 1
                log.debug("MILP pattern with margin %.3g rejected by the region test", margin)
            single = not enc.binaries  # a single pattern: nothing left to cut
            if not single:
                enc.add_no_good(bits, f"nogood_{stats.patterns}")
            yield 1 if ok else 0
            if single:
                stats.final_margin = 0.0
                break
        if self.stopped is None and self.check_samples:
            missed = _coverage_check(net, self.domain, counted, self.tester, self.check_samples, self.seed)
            if missed:
                log.warning("the margin MILP missed %d region(s) that random points found (degenerate parameters)",
                            missed)
                stats.missed = missed
                self.stopped = "degenerate"
                yield missed
        self.done = True

    def open_work(self):
        return 0, []

    def refresh_stats(self):
        stats = self.stats
        stats.nodes = stats.patterns
        stats.milp_solves = self.driver.solves
        stats.l2_cuts = self.enc.l2_cuts
        stats.lp_solves = self.tester.lp_solves


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
    solver : str
        One of :data:`polyregions.solvers.registry.MIP_SOLVERS`.

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
    >>> from polyregions.milp.milp import max_margin_pattern
    >>> net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    >>> pattern, point, margin = max_margin_pattern(net, pr.Box([-1, -1], [1, 1]))
    >>> round(margin, 6)
    1.0
    """
    margin_cap, time_limit = _validate_max_margin(net, domain, margin_cap, time_limit, solver)
    nb = resolve_bounds(net, domain, bounds)
    enc = build_encoding(net, domain, nb, integer=True, margin_cap=margin_cap)
    driver = make_mip_driver(enc.m, solver, mip=True)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    sol, exhausted = optimize(driver, enc, {enc.t: -1.0}, deadline=deadline)
    if sol.status is Status.LIMIT:
        raise SolverError("the margin MILP stopped at its time limit")
    if sol.status is not Status.OPTIMAL:
        raise SolverError(f"the margin MILP returned {sol.status.value} (a domain always has a pattern)")
    if exhausted:
        raise SolverError(f"the L2-ball cuts did not settle within {MAX_L2_CUTS} tangent planes")
    x = domain.clip(sol.x[enc.x].copy())  # an outer model's point may sit a hair outside: pull it in
    return enc.pattern(sol.x), x, float(-sol.value)


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
    >>> from polyregions.milp.milp import single_region
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> single_region(net, pr.Ball([0.5, 0.5], 0.2)).single
    True
    >>> single_region(net, pr.Ball([0.1, 0.5], 0.2)).switching.tolist()
    [True, False]
    """
    tol, samples, time_limit = _validate_single_region(net, ball, tol, samples, time_limit)
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    nb = resolve_bounds(net, ball, bounds)
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
        enc = build_encoding(net, ball, nb, integer=True)
        driver = make_mip_driver(enc.m, "highs", mip=True)
        zcol = np.concatenate([L["z"] for L in enc.layers])
    for k in todo:
        for sign, have in ((1.0, has_pos), (-1.0, has_neg)):
            if have[k]:
                continue
            # sign +1: is max z_k > tol?  minimise -z_k, settle when -z_k >= -tol over the outer model
            sol, exhausted = optimize(driver, enc, {int(zcol[k]): -sign}, deadline=deadline, settle_at=-tol)
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


def build_margin_model(net: Network, domain: Domain, *, bounds="lp", margin_cap: float = DEFAULT_MARGIN_CAP,
                       l2_outer: bool = False) -> LinearModel:
    """The margin MILP (``max t``) as a solver-neutral :class:`LinearModel`.

    Column names: ``x_k`` (input), ``s_k`` (L1 lifting), ``z_l_j``, ``h_l_j``, ``a_l_j``
    (layer ``l`` from 1; binaries ``a`` only for unstable neurons) and ``t``.
    An L2 ball has no exact linear model: with ``l2_outer=True`` it is replaced by its
    outer approximation by the tangent planes at ``+-e_k`` and ``+-e_i +- e_j``
    (normalised), otherwise it is refused.
    """
    margin_cap = _validate_margin_model(net, domain, margin_cap, l2_outer)
    nb = resolve_bounds(net, domain, bounds)
    enc = build_encoding(net, domain, nb, integer=True, margin_cap=margin_cap)
    if enc.outer:
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
    return write_model(model, path)
