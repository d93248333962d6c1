"""One conformance suite for every region-test backend (polyregions.solvers).

Each backend gets the same problems, built by ``make_backend(name, region_problem(domain, eps))``
and driven through ``push`` / ``pop`` / ``test``, on small polytopes whose Chebyshev radius is
known in closed form. What a backend may do differently is listed in ``EXCEPTIONS`` and
nowhere else.
"""

from __future__ import annotations

import importlib.util
import math
import re

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import make_backend
from polyregions.solvers import region_problem
from polyregions.solvers.base import PROBLEM_KINDS
from polyregions.solvers.registry import BACKENDS, refusal

SQ2 = math.sqrt(2.0)


def _has_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _available(name):
    """A pytest param for backend `name`, skipped when a module it requires is missing."""
    missing = [m for m in BACKENDS[name].requires if not _has_module(m)]
    return pytest.param(name, marks=pytest.mark.skipif(bool(missing), reason=f"{missing} not installed"))


#: Every declared backend.
NAMES = [_available(name) for name in BACKENDS]

#: Backend-specific expectations, read from the declared features: the only places where
#: backends may differ.
EXCEPTIONS = {feature: {name for name, cap in BACKENDS.items() if feature in cap.features}
              for feature in ("anchors_witness", "radius_bounds")}

#: The domain kinds a backend refuses when it is built (with the registry's one-line
#: InvalidInputError naming `backend`): those its declaration does not list. A backend must
#: serve every other domain.
REFUSALS = {name: set(PROBLEM_KINDS) - cap.kinds for name, cap in BACKENDS.items()}

EPS = 1e-7


def unit(*v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def domain_kind(domain):
    """The key of :data:`REFUSALS` for `domain`, worked out here from the domain's own data."""
    if not domain.bounded:
        return "unbounded"
    if domain.norm in (1, 2):
        return f"l{domain.norm}"
    return "polyhedral"


def make(name, domain, eps=EPS):
    """The backend `name` for `domain`; for a refusal, check the registry's refusal and skip."""
    kind = domain_kind(domain)
    if kind in REFUSALS[name]:
        with pytest.raises(pr.InvalidInputError, match=re.escape(refusal(name, kind))):
            make_backend(name, region_problem(domain, eps))
        pytest.skip(f"backend {name!r} refuses {kind} domains (the refusal is checked)")
    return make_backend(name, region_problem(domain, eps))


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
@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
def test_a_row_outside_the_domain_gives_an_empty_node(name):
    """x1 <= -2 misses the box [-1, 1]^2."""
    lp = make(name, pr.Box([-1.0, -1.0], [1.0, 1.0]))
    lp.push(unit(1, 0), -2.0)
    res = lp.test()
    assert not res.keep and res.depth <= 0


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
def test_l2_ball_without_rows(name, rng):
    domain = pr.Ball([0.5, -0.5], 2.0)
    lp = make(name, domain)
    res = lp.test()
    assert res.keep and res.radius > EPS
    assert_witness_inside(res, domain, [], rng)


@pytest.mark.parametrize("name", NAMES)
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
    lp = make(name, domain, eps)
    row = (unit(1, 0), bound)
    lp.push(*row)
    res = lp.test()
    assert res.keep == keep
    if keep:
        assert res.radius > eps
        assert_witness_inside(res, domain, [row], rng)
    else:
        assert res.point is None


@pytest.mark.parametrize("name", NAMES)
def test_l2_ball_wedge_and_push_pop(name, rng):
    """The wedge x2 >= |x1| (rows -x1 - x2 <= 0 and x1 - x2 <= 0) in the unit disc off-centre."""
    domain = pr.Ball([0.2, 0.1], 1.0)
    lp = make(name, domain)
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


@pytest.mark.parametrize("name", NAMES)
def test_l2_ball_contradicting_rows(name):
    lp = make(name, pr.Ball([0.0, 0.0], 1.0))
    lp.push(unit(1, 0), -0.5)
    lp.push(unit(-1, 0), -0.5)
    res = lp.test()
    assert not res.keep and res.point is None


# ---------------------------------------------------------------------- unbounded domains


@pytest.mark.parametrize("name", NAMES)
def test_whole_radius_is_capped(name):
    lp = make(name, pr.Whole(3))
    res = lp.test()
    assert res.keep and res.radius == pytest.approx(1.0, rel=1e-9)
    assert np.all(np.isfinite(res.point))


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
def test_interface(name):
    lp = make(name, pr.Box([0.0], [1.0]))
    assert lp.name == name
    assert lp.capabilities is BACKENDS[name]
    before = lp.lp_solves
    lp.test()
    assert lp.lp_solves >= before + 1


def test_unknown_backend():
    with pytest.raises(pr.InvalidInputError, match="backend"):
        make_backend("gurobi", region_problem(pr.Box([0.0], [1.0]), EPS))


# ---------------------------------------------------------------------- answers within a solver's tolerance


def _highs_point_on_the_row(monkeypatch, lp, move):
    class PointMoved:
        def __init__(self, h):
            self._h = h

        def __getattr__(self, name):
            return getattr(self._h, name)

        def getSolution(self):
            col = list(self._h.getSolution().col_value)
            col[: lp.n] = move(col[: lp.n])
            return type("Solution", (), {"col_value": col})()

    lp._h = PointMoved(lp._h)


def _scipy_point_on_the_row(monkeypatch, lp, move):
    import scipy.optimize

    real = scipy.optimize.linprog

    def linprog(*args, **kwargs):
        res = real(*args, **kwargs)
        res.x[: lp.n] = move(res.x[: lp.n])
        return res

    monkeypatch.setattr(scipy.optimize, "linprog", linprog)


def _cvxpy_point_on_the_row(monkeypatch, lp, move):
    real = type(lp)._solve

    def solve(self, *args, **kwargs):
        x, t = real(self, *args, **kwargs)
        return move(x), t

    monkeypatch.setattr(type(lp), "_solve", solve)


#: How to make a backend's solver return its optimum with a point moved onto a row (what a
#: solver may do within its tolerance). The compiled simplex checks its own answers and hands
#: every doubtful one to HiGHS (tests/solvers/test_numba_lp.py).
POINT_ON_A_ROW = {"highs": _highs_point_on_the_row, "scipy": _scipy_point_on_the_row,
                  "cvxpy": _cvxpy_point_on_the_row}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("domain", [pr.Box([-1.0, -1.0], [1.0, 1.0]), pr.Ball([0.0, 0.0], 1.0)], ids=["box", "l2"])
def test_a_node_is_kept_only_on_a_checked_witness(name, domain, monkeypatch):
    """The strip |x1| <= 5e-7 (eps = 1e-7): the solver reports its optimum 5e-7 but a point on
    the row x1 = 5e-7. A backend that keeps the node must return a ball that lies in it."""
    if name not in POINT_ON_A_ROW:
        pytest.skip(f"backend {name!r}: no solver answer to alter")
    half = 5e-7
    lp = make(name, domain, 1e-7)
    lp.push(np.array([1.0, 0.0]), half)
    lp.push(np.array([-1.0, 0.0]), half)

    def move(x):
        x = np.array(x, dtype=float)
        x[0] = half
        return x

    POINT_ON_A_ROW[name](monkeypatch, lp, move)
    res = lp.test()
    if res.keep:
        assert res.radius > 1e-7, "a kept node must hold a ball larger than eps"
        assert half - abs(res.point[0]) >= res.radius * (1 - 1e-9), "the witness ball crosses a row"
