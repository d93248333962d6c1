"""Tests of polyregions.domains.convex: membership, sampling, the polytope check and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import region_problem

# ---------------------------------------------------------------------- contains


def test_box_contains_is_the_open_box():
    box = pr.Box([0.0, -1.0], [1.0, 1.0])
    pts = np.array([[0.5, 0.0], [0.0, 0.0], [1.0, 0.5], [0.5, 1.0], [1.5, 0.0], [0.5, -2.0], [1e-12, 0.999]])
    np.testing.assert_array_equal(box.contains(pts), [True, False, False, False, False, False, True])
    assert box.contains([0.5, 0.5]).shape == (1,)
    assert box.dim == 2 and box.bounded


@pytest.mark.parametrize(
    "p, inside",
    [
        # points: (0.6, 0.6) [L1 1.2, L2 0.849, Linf 0.6], (0.9, 0) [0.9 in all], (0.8, 0.7) [L2 1.063, Linf 0.8],
        # (1, 0) on every sphere, (0, 0) the centre
        (1, [False, True, False, False, True]),
        (2, [True, True, False, False, True]),
        (math.inf, [True, True, True, False, True]),
    ],
)
def test_ball_contains(p, inside):
    ball = pr.Ball([0.0, 0.0], 1.0, p=p)
    pts = np.array([[0.6, 0.6], [0.9, 0.0], [0.8, 0.7], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(ball.contains(pts), inside)
    shifted = pr.Ball([3.0, -2.0], 2.0, p=p)
    np.testing.assert_array_equal(shifted.contains(np.array([3.0, -2.0]) + 2 * pts), inside)


def test_ball_p_spellings():
    assert pr.Ball([0.0], 1.0).p == 2
    for spelling in (np.inf, float("inf"), "inf"):
        assert pr.Ball([0.0], 1.0, p=spelling).p == math.inf
    assert pr.Ball([0.0], 1.0, p=1).p == 1


def test_whole_contains_every_finite_point():
    whole = pr.Whole(3)
    pts = np.array([[0.0, 0.0, 0.0], [1e300, -1e300, 5.0], [np.inf, 0.0, 0.0], [np.nan, 0.0, 0.0]])
    np.testing.assert_array_equal(whole.contains(pts), [True, True, False, False])
    assert whole.dim == 3 and not whole.bounded
    np.testing.assert_array_equal(whole.center_point(), np.zeros(3))


def test_polytope_contains_and_normalises_rows(triangle):
    pts = np.array([[0.2, 0.2], [0.5, 0.5], [0.0, 0.3], [0.6, 0.6], [-0.1, 0.1], [0.3, 0.69]])
    expected = [True, False, False, False, False, True]
    np.testing.assert_array_equal(triangle.contains(pts), expected)
    scaled = pr.Polytope([[-5.0, 0.0], [0.0, -0.01], [3.0, 3.0]], [0.0, 0.0, 3.0])  # the same triangle
    np.testing.assert_array_equal(scaled.contains(pts), expected)
    np.testing.assert_allclose(np.linalg.norm(scaled.A, axis=1), 1.0)
    assert triangle.bounded and triangle.dim == 2
    assert triangle.contains(triangle.center_point())[0]


def test_polytope_may_be_unbounded():
    half = pr.Polytope([[1.0, 0.0]], [1.0])
    assert not half.bounded
    assert half.contains([[-100.0, 7.0]])[0] and not half.contains([[1.0, 0.0]])[0]
    assert region_problem(half, 1e-7).t_cap is not None
    assert pr.Polytope([[1.0], [-1.0]], [1.0, 1.0]).bounded


def test_polytope_zero_rows_with_nonnegative_bound_are_dropped():
    poly = pr.Polytope([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [0.0, 1.0, 1.0, 1.0, 1.0])
    assert poly.A.shape == (4, 2)
    assert poly.contains([[0.0, 0.0]])[0]


# ---------------------------------------------------------------------- centre points and sampling


@pytest.mark.parametrize(
    "domain",
    [
        pr.Box([-1.0, 0.0, 2.0], [1.0, 0.5, 3.0]),
        pr.Ball([1.0, -1.0, 0.5], 0.3, p=2),
        pr.Ball([1.0, -1.0, 0.5], 0.3, p=1),
        pr.Ball([1.0, -1.0, 0.5], 0.3, p=math.inf),
    ],
    ids=["box", "ball2", "ball1", "ballinf"],
)
def test_sample_lands_inside(domain, rng):
    X = domain.sample(5000, rng)
    assert X.shape == (5000, 3)
    assert np.all(domain.contains(X))
    assert domain.contains(domain.center_point())[0]


@pytest.mark.parametrize("p", [1, 2, math.inf])
def test_ball_sample_is_uniform(p, rng):
    """Uniform in a d-ball of any norm: P(|x - c| < r/2) = 2^-d (volume scales as r^d)."""
    d, n = 3, 40000
    ball = pr.Ball([0.5, 0.0, -1.0], 2.0, p=p)
    X = ball.sample(n, rng)
    frac = np.mean(np.linalg.norm(X - ball.center, ord=p, axis=1) < 1.0)
    assert abs(frac - 2.0**-d) < 5 * math.sqrt(2.0**-d * (1 - 2.0**-d) / n)
    # symmetric: the mean is the centre
    np.testing.assert_allclose(X.mean(axis=0), ball.center, atol=0.05)


def test_box_sample_is_uniform(rng):
    box = pr.Box([0.0, 0.0], [2.0, 1.0])
    X = box.sample(40000, rng)
    frac = np.mean(X[:, 0] < 0.5)
    assert abs(frac - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 40000)


def test_bounded_polytope_sample_lands_inside(triangle, rng):
    X = triangle.sample(1000, rng)
    assert X.shape == (1000, 2) and np.all(triangle.contains(X))


def test_polytope_sample_is_uniform(triangle, rng):
    """In the triangle x, y >= 0, x + y <= 1: P(x + y < 1/2) = 1/4."""
    X = triangle.sample(40000, rng)
    frac = np.mean(X.sum(axis=1) < 0.5)
    assert abs(frac - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 40000)


def test_unbounded_polytope_cannot_be_sampled(rng):
    with pytest.raises(pr.InvalidInputError, match="unbounded"):
        pr.Polytope([[1.0, 0.0]], [1.0]).sample(10, rng)


# ---------------------------------------------------------------------- region problems


def test_region_problems():
    eps = 1e-7
    box = region_problem(pr.Box([0.0, -1.0], [1.0, 2.0]), eps)
    assert box.dim == 2 and box.eps == eps and box.bounded
    A, b = box.A, box.b
    # the box rows: every vertex satisfies them, a point outside violates one
    for v in ([0, -1], [1, -1], [0, 2], [1, 2]):
        assert np.all(A @ np.array(v, float) <= b + 1e-15)
    assert np.any(A @ np.array([1.5, 0.0]) > b)
    binf = region_problem(pr.Ball([1.0, 1.0], 0.5, p=math.inf), eps)
    assert np.all(binf.A @ np.array([1.5, 0.5]) <= binf.b + 1e-15)
    assert np.any(binf.A @ np.array([1.6, 1.0]) > binf.b)
    b1 = region_problem(pr.Ball([1.0, 1.0], 0.5, p=1), eps)
    assert b1.l1_ball is not None and b1.A.shape == (0, 2)
    b2 = region_problem(pr.Ball([1.0, 1.0], 0.5, p=2), eps)
    assert b2.l2_ball is not None and b2.A.shape == (0, 2)
    whole = region_problem(pr.Whole(2), eps)
    assert whole.A.shape == (0, 2) and whole.t_cap is not None and not whole.bounded


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: pr.Ball([0.0, 0.0], 0.0), "radius"),
        (lambda: pr.Ball([0.0, 0.0], -1.0), "radius"),
        (lambda: pr.Ball([0.0, 0.0], np.inf), "radius"),
        (lambda: pr.Ball([0.0, 0.0], np.nan), "radius"),
        (lambda: pr.Ball([0.0, 0.0], "big"), "radius"),
        (lambda: pr.Ball([0.0, 0.0], 1.0, p=3), "`p`"),
        (lambda: pr.Ball([0.0, np.nan], 1.0), "center"),
        (lambda: pr.Ball([], 1.0), "center"),
        (lambda: pr.Ball([[0.0]], 1.0), "center"),
        (lambda: pr.Box([0.0, 1.0], [1.0, 1.0]), "`lo` must be < `hi`"),
        (lambda: pr.Box([0.0, 2.0], [1.0, 1.0]), "`lo` must be < `hi`"),
        (lambda: pr.Box([0.0], [1.0, 1.0]), "same length"),
        (lambda: pr.Box([], []), "lo"),
        (lambda: pr.Box([0.0, np.nan], [1.0, 1.0]), "lo.*NaN or inf"),
        (lambda: pr.Box([0.0, 0.0], [1.0, np.inf]), "hi.*NaN or inf"),
        (lambda: pr.Whole(0), "`n`"),
        (lambda: pr.Whole(1.5), "`n`"),
        (lambda: pr.Whole(True), "`n`"),
        (lambda: pr.Polytope([[1.0], [-1.0]], [0.0, 0.0]), "full-dimensional"),  # the point x = 0
        (lambda: pr.Polytope([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0]), "full-dimensional"),  # the line x1 = 1
        (lambda: pr.Polytope([[1.0], [-1.0]], [0.0, -1.0]), "full-dimensional"),  # empty
        (lambda: pr.Polytope([[0.0, 0.0]], [-1.0]), "empty"),
        (lambda: pr.Polytope([[1.0, 0.0]], [1.0, 2.0]), "rows"),
        (lambda: pr.Polytope([[1.0, np.nan]], [1.0]), "`A`.*NaN or inf"),
        (lambda: pr.Polytope([[1.0, 0.0]], [np.inf]), "`b`.*NaN or inf"),
        (lambda: pr.Polytope([1.0, 0.0], [1.0]), "`A`"),
    ],
)
def test_domain_bad_input(make, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        make()


@pytest.mark.parametrize("p", [True, False, 1.5, "2", None])
def test_ball_p_must_be_one_two_or_inf(p):
    with pytest.raises(pr.InvalidInputError, match="`p`"):
        pr.Ball([0.0, 0.0], 1.0, p=p)


@pytest.mark.parametrize("domain", [
    pr.Box([-1.0, 0.0, 2.0], [1.0, 0.5, 2.5]),
    pr.Ball([0.3, -0.7, 0.1], 0.4, p=math.inf),
], ids=["box", "linf"])
def test_coordinate_bounds_are_the_rows(domain):
    """``coordinate_bounds()`` is the rows ``x_k <= hi_k``, ``-x_k <= -lo_k`` read as bounds."""
    lo, hi = domain.coordinate_bounds()
    A, b = domain.rows()
    n = domain.dim
    assert np.array_equal(A, np.vstack([np.eye(n), -np.eye(n)]))
    assert np.array_equal(b, np.concatenate([hi, -lo]))


@pytest.mark.parametrize("domain", [
    pr.Ball([0.3, -0.7], 0.4, p=1), pr.Ball([0.3, -0.7], 0.4, p=2),
    pr.Polytope(np.vstack([-np.eye(2), np.ones((1, 2))]), np.ones(3)), pr.Whole(2),
], ids=["l1", "l2", "polytope", "whole"])
def test_other_domains_have_no_coordinate_bounds(domain):
    assert domain.coordinate_bounds() is None
