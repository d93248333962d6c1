"""Tests of the fixed-margin region test (polyregions.solvers.bounded_lp).

The reference is the HiGHS backend (the exact Chebyshev LP) on the same problem, driven
through the same push / pop / test sequence. The decisions must be equal: keep
(Chebyshev radius > eps) and cut (radius > 0, read from the sign of ``depth``). The
numbers this backend reports are bounds, checked as such: a kept node's ``radius`` is at
most the Chebyshev radius and its ball lies inside every row; a dropped node's ``depth`` is
at least the Chebyshev radius (when that is positive).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import region_problem
from polyregions.solvers import bounded_lp
from polyregions.solvers.base import RegionProblem
from polyregions.solvers.bounded_lp import BoundedDualBackend
from polyregions.solvers.highs import HighsBackend

EPS = 1e-7
TOL = 1e-9


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def bounded_polytope(rng, d, m):
    while True:
        P = pr.Polytope(rng.normal(size=(m, d)), rng.uniform(0.5, 1.5, size=m))
        if P.bounded:
            return P


def domains():
    rng = np.random.default_rng(7)
    yield "box-2", pr.Box([-1.0, -2.0], [1.0, 0.5])
    yield "box-8", pr.Box(-np.ones(8), np.ones(8))
    yield "linf-60", pr.Ball(rng.uniform(0, 1, 60), 0.05, p=math.inf)
    yield "l1-3", pr.Ball([0.5, -1.0, 2.0], 0.75, p=1)
    yield "l1-20", pr.Ball(rng.uniform(0, 1, 20), 0.5, p=1)
    yield "polytope-4", bounded_polytope(rng, 4, 12)
    yield "simplex-3", pr.Polytope(np.vstack([-np.eye(3), np.ones((1, 3))]), np.ones(4))


DOMAINS = dict(domains())


def check_against(res, ref, rows, domain):
    """Same decisions as the exact Chebyshev LP; the reported numbers bound it."""
    assert res.keep == ref.keep
    assert (res.depth > 0) == (ref.depth > 0)
    if res.keep:
        assert res.radius > EPS and res.radius <= ref.depth + TOL
        x = res.point
        for a, b in rows:
            assert a @ x + res.radius <= b + TOL
        u = np.random.default_rng(0).normal(size=(16, x.size))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        assert np.all(domain.contains(x + (1 - 1e-6) * res.radius * u))
    else:
        assert res.point is None
        # an upper bound where it matters; below 0 (no interior) the L1 lift's bounds on p, q
        # (implied only for radii >= 0) may make the bound more negative than HiGHS's optimum
        if ref.depth > 0:
            assert res.depth >= ref.depth - TOL


def random_walk(walk, domain, rng, steps):
    p = region_problem(domain, EPS)
    return walk(BoundedDualBackend(p), HighsBackend(p), domain, rng, steps, domain.diameter / 4,
                lambda res, ref, rows: check_against(res, ref, rows, domain))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(DOMAINS))
def test_random_walks_agree_with_highs(name, seed, search_walk):
    rng = np.random.default_rng([seed, list(DOMAINS).index(name)])
    nb = random_walk(search_walk, DOMAINS[name], rng, 250)
    assert nb.pivots > 0
    assert nb.fallbacks == sum(nb.fallback_reasons.values())


def test_the_stack_grows(rng):
    domain = DOMAINS["box-2"]
    nb = BoundedDualBackend(region_problem(domain, EPS))
    hb = HighsBackend(region_problem(domain, EPS))
    rows = []
    for _ in range(3 * bounded_lp.INITIAL_LEVELS):
        a = unit(rng.normal(size=2))
        rows.append((a, float(rng.uniform(0.2, 1.0))))
        nb.push(*rows[-1])
        hb.push(*rows[-1])
    check_against(nb.test(), hb.test(), rows, domain)
    for _ in rows:
        nb.pop()
        hb.pop()
    check_against(nb.test(), hb.test(), [], domain)
    with pytest.raises(pr.SolverError, match="pop"):
        nb.pop()


@pytest.mark.parametrize("name", ["box-8", "polytope-4", "l1-3"])
def test_forced_fallback_agrees_with_highs(name, monkeypatch, search_walk):
    """With no pivot allowed every test needing one goes to HiGHS (rows mirrored)."""
    monkeypatch.setattr(bounded_lp, "MAX_PIVOTS", 0)
    nb = random_walk(search_walk, DOMAINS[name], np.random.default_rng(3), 150)
    assert nb.fallback_reasons.get("iteration limit", 0) > 0


@pytest.mark.parametrize("setting", [("REFACTOR_EVERY", 1), ("BLAND_AFTER", 0), ("MARGIN_TRIES", 0),
                                     ("NEXT_MARGIN", 0.5)])
def test_settings_do_not_change_decisions(setting, monkeypatch, search_walk):
    monkeypatch.setattr(bounded_lp, *setting)
    rng = np.random.default_rng(5)
    for name in ("box-8", "polytope-4", "l1-20"):
        random_walk(search_walk, DOMAINS[name], rng, 100)


def test_a_fallback_failure_is_an_error_not_empty(monkeypatch):
    def broken(self, anchor=None):
        raise pr.SolverError("HiGHS returned kSolveError")

    monkeypatch.setattr(bounded_lp, "MAX_PIVOTS", 0)
    monkeypatch.setattr(HighsBackend, "test", broken)
    nb = BoundedDualBackend(region_problem(pr.Polytope([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], [1.0, 0.0, 0.0]), EPS))
    nb.push(unit([1.0, -1.0]), 0.0)
    with pytest.raises(pr.SolverError):
        nb.test()


@pytest.mark.parametrize("width", [2 * EPS, 2 * EPS * (1 + 1e-9), 0.0, 1e-10])
def test_decisions_near_a_threshold_go_to_highs(width):
    """The strip 0 <= x1 <= width (Chebyshev radius width / 2) at eps, or at 0."""
    p = region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS)
    nb, hb = BoundedDualBackend(p), HighsBackend(p)
    for be in (nb, hb):
        be.push(unit([1.0, 0.0]), width)
        be.push(unit([-1.0, 0.0]), 0.0)
    r1, r2 = nb.test(), hb.test()
    assert nb.fallbacks == 1
    assert (r1.keep, r1.depth) == (r2.keep, r2.depth)


def test_clear_decisions_stay_compiled():
    p = region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS)
    nb = BoundedDualBackend(p)
    nb.push(unit([1.0, 0.0]), 1e-6)  # radius 5e-7 > eps: kept
    nb.push(unit([-1.0, 0.0]), 0.0)
    res = nb.test()
    assert res.keep and EPS < res.radius <= 5e-7 + TOL
    nb.pop()
    nb.pop()
    nb.push(unit([1.0, 0.0]), -1.5)  # misses the box: Chebyshev radius -0.25
    res = nb.test()
    assert not res.keep and -0.25 - TOL <= res.depth <= 0
    assert nb.fallbacks == 0


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_a_witness_near_a_face_of_the_box_counts_that_face(side):
    """The node side * x_0 >= -0.5 of the box [-1, 1]^2 has Chebyshev radius 0.75. The anchor
    (the parent's witness) sits 0.01 from the face side * x_0 = 1, far from the row: its ball is
    bounded by that face, whichever side it is on (the witness radius counts the lower and the
    upper bounds)."""
    nb = BoundedDualBackend(region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS))
    nb.push(unit([-side, 0.0]), 0.5)
    res = nb.test(np.array([0.99 * side, 0.0]))
    assert res.keep and EPS < res.radius <= 0.75 + TOL
    assert abs(res.point[0]) + res.radius <= 1.0 + TOL and abs(res.point[1]) + res.radius <= 1.0 + TOL


def test_box_without_rows_is_exact():
    nb = BoundedDualBackend(region_problem(pr.Box([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]), EPS))
    res = nb.test()
    assert res.keep and res.radius == pytest.approx(0.5) and res.point == pytest.approx([0.5, 1.0, 1.5])


def test_a_row_bound_beyond_the_solvers_range():
    nb = BoundedDualBackend(region_problem(pr.Box([0.0], [1.0]), EPS))
    with pytest.raises(pr.SolverError, match="finite"):
        nb.push(np.array([1.0]), 1e300)


@pytest.mark.parametrize("domain", [
    pr.Box(-np.ones(3), np.ones(3)),
    pr.Ball(np.linspace(-0.5, 0.5, 30), 0.3, p=math.inf),
    pr.Ball([0.2, -0.1, 0.3], 1.5, p=1),
    pr.Ball(np.linspace(0.0, 1.0, 12), 1.0, p=1),
    pr.Polytope(np.vstack([-np.eye(3), np.ones((1, 3))]), np.ones(4)),
], ids=["box", "linf-30", "l1", "l1-12", "simplex"])
def test_counts_and_patterns_equal_highs(domain, rng, random_dense_net):
    """The same count and the same patterns as the exact Chebyshev LP, through the search."""
    for widths in ([6], [5, 5]):
        net = random_dense_net(rng, domain.dim, widths)
        a = list(pr.enumerate_regions(net, domain, eps=EPS, backend="bounded"))
        b = list(pr.enumerate_regions(net, domain, eps=EPS, backend="highs"))
        assert sorted(r.bits.tolist() for r in a) == sorted(r.bits.tolist() for r in b)
        for r in a:
            assert r.radius > EPS and domain.contains(r.point)[0]
            assert np.array_equal(net.pattern(r.point), r.bits)


@pytest.mark.parametrize("domain", [
    pr.Box([-1.0, -2.0, 0.25], [1.0, 0.5, 3.0]),
    pr.Ball(np.random.default_rng(7).uniform(-1, 1, 40), 0.05, p=math.inf),
    pr.Ball([0.1, 0.3], 0.3, p=math.inf),  # a coordinate at c - r = -0.2 and one at exactly 0
], ids=["box", "linf-40", "linf-zero"])
def test_a_box_read_as_bounds_is_the_box_read_from_its_rows(domain):
    """The rows a box or an L-inf ball hands over as bounds are its rows (built when read), and the
    backend set up from the bounds equals the one set up from the rows (the general path)."""
    problem = region_problem(domain, EPS)
    assert problem.coordinate_bounds is not None and "A" not in problem.__dict__
    A, b = domain.rows()
    assert np.array_equal(problem.A, A) and np.array_equal(problem.b, b)
    from_bounds = BoundedDualBackend(problem)
    from_rows = BoundedDualBackend(RegionProblem(domain.dim, A, b, EPS, box=problem.box))
    for name in ("_lo", "_hi", "_blo", "_bhi", "_R", "_bv", "_kappa"):
        assert np.array_equal(getattr(from_bounds, name), getattr(from_rows, name)), name
    assert from_bounds._m0 == from_rows._m0 == 0 and from_bounds._scale == from_rows._scale


def test_rows_left_to_be_built_need_bounds():
    with pytest.raises(ValueError, match="coordinate_bounds"):
        RegionProblem(2, None, None, EPS)
    with pytest.raises(ValueError, match="coordinate_bounds"):
        RegionProblem(2, None, np.zeros(4), EPS, coordinate_bounds=(np.zeros(2), np.ones(2)))


def test_bounds_that_are_empty_are_an_error():
    with pytest.raises(pr.InvalidInputError, match="lo >= hi"):
        BoundedDualBackend(RegionProblem(2, None, None, EPS,
                                         coordinate_bounds=(np.zeros(2), np.array([1.0, 0.0]))))
