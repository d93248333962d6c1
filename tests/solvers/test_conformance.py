"""One conformance suite for every region-test backend (polyregions.solvers).

Each backend gets the same problems, built by ``make_backend(name, region_problem(domain, eps))``
and driven through ``push`` / ``pop`` / ``test``, on small polytopes whose Chebyshev radius is
known in closed form. What a backend may do differently is listed in ``EXCEPTIONS`` and
nowhere else.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import make_backend
from polyregions.solvers import region_problem

SQ2 = math.sqrt(2.0)


def _has_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


BACKENDS = [
    "highs",
    "scipy",
    pytest.param("cvxpy", marks=pytest.mark.skipif(not _has_module("polyregions.solvers.cvxpy_conic"),
                                                    reason="polyregions.solvers.cvxpy_conic is not available")),
    "numba",
    "bounded",
    "projection",
]

#: Backend-specific expectations: the only places where backends may differ.
EXCEPTIONS = {
    # the witness on an unbounded domain is kept near the anchor (a proximity term)
    "anchors_witness": {"highs"},
    # serves some domains only: numba bounded polyhedral ones (boxes, L-inf balls, bounded
    # polytopes), bounded those and L1 balls, projection L2 balls
    "bounded_polyhedral_only": {"numba", "bounded", "projection"},
    # decides at fixed margins: a kept node's radius is an honest lower bound on the exact
    # radius (above eps), a dropped node's depth an upper bound (same sign as the exact one)
    "radius_bounds": {"bounded", "projection"},
}

EPS = 1e-7


def unit(*v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def make(name, domain, eps=EPS, *, needs="lp"):
    """The backend `name` for `domain`, skipping when it does not serve that problem kind."""
    try:
        lp = make_backend(name, region_problem(domain, eps))
    except pr.InvalidInputError as exc:
        if name in EXCEPTIONS["bounded_polyhedral_only"]:
            pytest.skip(f"backend {name!r} refuses this domain: {exc}")
        raise
    caps = set(lp.capabilities)
    if needs == "l2" and not caps & {"qp", "soc"}:
        pytest.skip(f"backend {name!r} does not test regions in an L2 ball")
    if needs == "lp" and "lp" not in caps:
        pytest.skip(f"backend {name!r} does not solve LPs")
    return lp


def assert_radius(name, res, exact, eps=EPS):
    """``radius`` and ``depth`` equal the exact Chebyshev radius, or bound it on the side that
    decides for the backends of ``EXCEPTIONS["radius_bounds"]``."""
    if name not in EXCEPTIONS["radius_bounds"]:
        assert res.radius == pytest.approx(exact, rel=1e-7, abs=1e-9)
        assert res.depth == pytest.approx(exact, rel=1e-7, abs=1e-9)
    elif res.keep:
        assert eps < res.radius <= exact * (1 + 1e-7) + 1e-12
        assert eps < res.depth <= exact * (1 + 1e-7) + 1e-12
    else:
        assert res.depth >= exact * (1 - 1e-7) - 1e-12 and (res.depth > 0) == (exact > 0)


def assert_witness_inside(res, domain, rows, rng, tol=1e-9):
    """The ball B(point, radius) lies in the domain and on the inner side of every row."""
    assert res.keep and res.point is not None
    x, r = np.asarray(res.point, float), float(res.radius)
    assert r > 0
    for a, b in rows:
        a = np.asarray(a, float)
        assert a @ x + r * np.linalg.norm(a) <= b + tol, "the witness ball crosses a row"
    u = rng.normal(size=(32, x.size))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    ring = x + (1 - 1e-6) * r * u
    assert np.all(domain.contains(ring)), "the witness ball leaves the domain"
    assert domain.contains(x)[0]


# ---------------------------------------------------------------------- known Chebyshev radii

TRIANGLE = pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])

LP_CASES = {
    # id: (domain, pushed rows (unit a, b), Chebyshev radius, centre or None)
    "box": (pr.Box([-1.0, -1.0], [1.0, 1.0]), [], 1.0, [0.0, 0.0]),
    # right isosceles triangle with legs 2: inradius (2 + 2 - 2 sqrt 2) / 2 = 2 - sqrt 2
    "box-diagonal": (pr.Box([-1.0, -1.0], [1.0, 1.0]), [(unit(1, 1), 0.0)], 2 - SQ2, None),
    # the rectangle [0, 0.5] x [0, 1]: radius 0.25
    "box-half": (pr.Box([0.0, 0.0], [1.0, 1.0]), [(unit(1, 0), 0.5)], 0.25, [0.25, None]),
    # the strip -0.5 <= x1 <= 0.5 in [-1, 1]^2: radius 0.5
    "box-strip": (pr.Box([-1.0, -1.0], [1.0, 1.0]), [(unit(1, 0), 0.5), (unit(-1, 0), 0.5)], 0.5, [0.0, None]),
    "box-3d": (pr.Box([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]), [], 0.5, [0.5, None, None]),
    # the simplex x, y >= 0, x + y <= 1: inradius (1 + 1 - sqrt 2) / 2
    "triangle": (TRIANGLE, [], 1 - 1 / SQ2, [1 - 1 / SQ2, 1 - 1 / SQ2]),
    "ballinf": (pr.Ball([1.0, 2.0], 0.5, p=math.inf), [], 0.5, [1.0, 2.0]),
    # the L1 unit ball (a square of side sqrt 2): inradius 1 / sqrt 2
    "ball1": (pr.Ball([0.0, 0.0], 1.0, p=1), [], 1 / SQ2, [0.0, 0.0]),
    # its left half, the triangle (0, 1), (0, -1), (-1, 0): inradius 1 / (1 + sqrt 2)
    "ball1-half": (pr.Ball([0.0, 0.0], 1.0, p=1), [(unit(1, 0), 0.0)], 1 / (1 + SQ2), [-1 / (1 + SQ2), 0.0]),
    # the L1 ball in R^3: inradius r / sqrt 3
    "ball1-3d": (pr.Ball([1.0, 0.0, -1.0], 2.0, p=1), [], 2 / math.sqrt(3), [1.0, 0.0, -1.0]),
    # the whole plane: the cap, 1
    "whole": (pr.Whole(2), [], 1.0, None),
    "whole-halfplane": (pr.Whole(2), [(unit(1, 0), 0.0)], 1.0, None),
    "whole-strip": (pr.Whole(2), [(unit(1, 0), 0.25), (unit(-1, 0), 0.25)], 0.25, [0.0, None]),
    "whole-triangle": (pr.Whole(2), [(unit(-1, 0), 0.0), (unit(0, -1), 0.0), (unit(1, 1), 1 / SQ2)],
                       1 - 1 / SQ2, [1 - 1 / SQ2, 1 - 1 / SQ2]),
    # an unbounded polytope (half-plane x1 <= 1) is capped like the whole space
    "halfplane-polytope": (pr.Polytope([[1.0, 0.0]], [1.0]), [], 1.0, None),
    "halfplane-polytope-strip": (pr.Polytope([[1.0, 0.0]], [1.0]), [(unit(-1, 0), -0.5)], 0.25, [0.75, None]),
}


@pytest.mark.parametrize("case", list(LP_CASES))
@pytest.mark.parametrize("name", BACKENDS)
def test_chebyshev_radius(name, case, rng):
    domain, rows, radius, centre = LP_CASES[case]
    lp = make(name, domain)
    for a, b in rows:
        lp.push(a, b)
    res = lp.test()
    assert res.keep
    assert_radius(name, res, radius)
    if centre is not None and name not in EXCEPTIONS["radius_bounds"]:  # unique along these coordinates
        for k, v in enumerate(centre):
            if v is not None:
                assert res.point[k] == pytest.approx(v, abs=1e-7)
    assert_witness_inside(res, domain, rows, rng)


@pytest.mark.parametrize("name", BACKENDS)
def test_push_pop_restores_the_previous_answer(name):
    domain = pr.Box([-1.0, -1.0], [1.0, 1.0])
    lp = make(name, domain)
    first = lp.test()
    lp.push(unit(1, 1), 0.0)
    assert_radius(name, lp.test(), 2 - SQ2)
    lp.pop()
    again = lp.test()
    assert again.keep == first.keep
    assert again.radius == pytest.approx(first.radius, rel=1e-9)
    # nested: push a, push b, pop b  ==  push a alone
    lp.push(unit(1, 0), 0.5)
    assert_radius(name, lp.test(), 0.75)
    lp.push(unit(0, 1), -0.5)
    assert_radius(name, lp.test(), 0.25)  # the square [-1, 0.5] x [-1, -0.5]
    lp.pop()
    assert_radius(name, lp.test(), 0.75)
    lp.pop()
    assert lp.test().radius == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("name", BACKENDS)
def test_many_pushes_and_pops(name, rng):
    """A random walk of pushes and pops: every answer equals a fresh backend's on the same rows."""
    domain = pr.Box([-1.0, -1.0], [1.0, 1.0])
    lp = make(name, domain)
    stack = []
    for step in range(40):
        if stack and rng.uniform() < 0.4:
            lp.pop()
            stack.pop()
        else:
            a = unit(*rng.normal(size=2))
            b = float(rng.uniform(0.0, 0.8))
            lp.push(a, b)
            stack.append((a, b))
        res = lp.test()
        fresh = make(name, domain)
        for a, b in stack:
            fresh.push(a, b)
        ref = fresh.test()
        assert res.keep == ref.keep
        assert res.depth == pytest.approx(ref.depth, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("domain", [pr.Box([-1.0, -1.0], [1.0, 1.0]), pr.Whole(2), pr.Ball([0.0, 0.0], 1.0, p=1),
                                    TRIANGLE], ids=["box", "whole", "ball1", "triangle"])
def test_contradicting_rows_give_an_empty_node(name, domain):
    """x1 <= -0.5 and x1 >= 0.5: empty, keep False, no point, depth <= 0 (here -0.5)."""
    lp = make(name, domain)
    lp.push(unit(1, 0), -0.5)
    lp.push(unit(-1, 0), -0.5)
    res = lp.test()
    assert not res.keep
    assert res.point is None
    assert res.depth <= 0


@pytest.mark.parametrize("name", BACKENDS)
def test_a_row_outside_the_domain_gives_an_empty_node(name):
    """x1 <= -2 misses the box [-1, 1]^2."""
    lp = make(name, pr.Box([-1.0, -1.0], [1.0, 1.0]))
    lp.push(unit(1, 0), -2.0)
    res = lp.test()
    assert not res.keep and res.depth <= 0


@pytest.mark.parametrize("name", BACKENDS)
def test_a_node_thinner_than_eps(name):
    """The strip 0 <= x1 <= 1e-8 (Chebyshev radius 5e-9) is dropped at eps = 1e-7 with a
    positive depth (it is not empty), and kept at eps = 1e-9."""
    for eps, keep in ((1e-7, False), (1e-9, True)):
        lp = make(name, pr.Box([-1.0, -1.0], [1.0, 1.0]), eps)
        lp.push(unit(1, 0), 1e-8)
        lp.push(unit(-1, 0), 0.0)
        res = lp.test()
        assert res.keep == keep
        if name in EXCEPTIONS["radius_bounds"]:
            assert_radius(name, res, 5e-9, eps)
        else:
            assert res.depth == pytest.approx(5e-9, rel=1e-3)


# ---------------------------------------------------------------------- the L2 ball


@pytest.mark.parametrize("name", BACKENDS)
def test_l2_ball_without_rows(name, rng):
    domain = pr.Ball([0.5, -0.5], 2.0)
    lp = make(name, domain, needs="l2")
    res = lp.test()
    assert res.keep and res.radius > EPS
    assert_witness_inside(res, domain, [], rng)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("eps, bound, keep", [
    (1e-7, 0.5, True),  # x1 <= 0.5 in the unit disc: a ball of radius eps fits
    (1e-7, 0.0, True),  # the half disc
    (1e-3, -0.99, True),  # a cap of height 0.01: inscribed radius 0.005 > eps
    (1e-3, -0.999999, False),  # a cap of height 1e-6: inscribed radius 5e-7 < eps
    (1e-3, -0.9985, False),  # height 1.5e-3: inscribed radius 7.5e-4 < eps
    (1e-7, -1.5, False),  # the row misses the disc
])
def test_l2_ball_with_one_row(name, eps, bound, keep, rng):
    domain = pr.Ball([0.0, 0.0], 1.0)
    lp = make(name, domain, eps, needs="l2")
    row = (unit(1, 0), bound)
    lp.push(*row)
    res = lp.test()
    assert res.keep == keep
    if keep:
        assert res.radius > eps
        assert_witness_inside(res, domain, [row], rng)
    else:
        assert res.point is None


@pytest.mark.parametrize("name", BACKENDS)
def test_l2_ball_wedge_and_push_pop(name, rng):
    """The wedge x2 >= |x1| (rows -x1 - x2 <= 0 and x1 - x2 <= 0) in the unit disc off-centre."""
    domain = pr.Ball([0.2, 0.1], 1.0)
    lp = make(name, domain, needs="l2")
    first = lp.test()
    rows = [(unit(-1, -1), 0.0), (unit(1, -1), 0.0)]
    for r in rows:
        lp.push(*r)
    res = lp.test()
    assert_witness_inside(res, domain, rows, rng)
    lp.push(unit(0, 1), -1.5)  # x2 <= -1.5: misses the disc
    assert not lp.test().keep
    lp.pop()
    assert lp.test().keep
    lp.pop()
    lp.pop()
    again = lp.test()
    assert again.keep == first.keep
    assert_witness_inside(again, domain, [], rng)


@pytest.mark.parametrize("name", BACKENDS)
def test_l2_ball_contradicting_rows(name):
    lp = make(name, pr.Ball([0.0, 0.0], 1.0), needs="l2")
    lp.push(unit(1, 0), -0.5)
    lp.push(unit(-1, 0), -0.5)
    res = lp.test()
    assert not res.keep and res.point is None


# ---------------------------------------------------------------------- unbounded domains


@pytest.mark.parametrize("name", BACKENDS)
def test_whole_radius_is_capped(name):
    lp = make(name, pr.Whole(3))
    res = lp.test()
    assert res.keep and res.radius == pytest.approx(1.0, rel=1e-9)
    assert np.all(np.isfinite(res.point))


@pytest.mark.parametrize("name", BACKENDS)
def test_whole_witness_near_the_anchor(name, rng):
    if name not in EXCEPTIONS["anchors_witness"]:
        pytest.skip(f"backend {name!r} does not keep witnesses near the anchor")
    from polyregions.solvers.highs import ANCHOR_DRIFT

    lp = make(name, pr.Whole(2))
    # a wedge between two nearly parallel lines that meet near x1 = -5e6: the capped
    # Chebyshev LP's optimal face (width >= 2) reaches x1 = -4e6, far from the anchor
    rows = [(unit(-1e-6, 1), 0.0), (unit(-1e-6, -1), 10.0)]
    for r in rows:
        lp.push(*r)
    anchor = np.array([0.0, -5.0])
    res = lp.test(anchor)
    assert res.keep and res.radius >= 0.5 - 1e-9
    assert np.max(np.abs(res.point - anchor)) <= ANCHOR_DRIFT * (1 + 5.0)
    assert_witness_inside(res, pr.Whole(2), rows, rng)


@pytest.mark.parametrize("name", BACKENDS)
def test_whole_far_rows(name, rng):
    """Rows far from the origin (the cell 1000 <= x1 <= 1001, x2 <= -1000): radius 0.5."""
    lp = make(name, pr.Whole(2))
    rows = [(unit(-1, 0), -1000.0), (unit(1, 0), 1001.0), (unit(0, 1), -1000.0)]
    for r in rows:
        lp.push(*r)
    res = lp.test(np.array([1000.5, -1000.5]))
    assert res.keep and res.radius == pytest.approx(0.5, rel=1e-7)
    assert_witness_inside(res, pr.Whole(2), rows, rng, tol=1e-7)


# ---------------------------------------------------------------------- the interface


@pytest.mark.parametrize("name", BACKENDS)
def test_interface(name):
    lp = make(name, pr.Box([0.0], [1.0]))
    assert lp.name == name
    assert isinstance(lp.capabilities, frozenset)
    before = lp.lp_solves
    lp.test()
    assert lp.lp_solves >= before + 1


def test_unknown_backend():
    with pytest.raises(pr.InvalidInputError, match="backend"):
        make_backend("gurobi", region_problem(pr.Box([0.0], [1.0]), EPS))
