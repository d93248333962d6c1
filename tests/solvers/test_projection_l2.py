"""Tests of the L2-ball test by projection (polyregions.solvers.projection_l2).

The reference is the HiGHS backend's QP test on the same problem and the same push / pop /
test sequence: keep (``dist(c, P_eps) < r - eps``) and cut (the node meets the open ball,
the sign of ``depth``) must agree, a dropped node's positive ``depth`` must equal HiGHS's,
and a kept node's witness ball must lie in the rows and the ball.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import region_problem
from polyregions.solvers import projection_l2
from polyregions.solvers.highs import HighsBackend
from polyregions.solvers.projection_l2 import ProjectionL2Backend

EPS = 1e-7


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


BALLS = {
    "disc": pr.Ball([0.0, 0.0], 1.0),
    "ball-8": pr.Ball(np.full(8, 0.3), 2.0),
    "ball-50": pr.Ball(np.random.default_rng(1).uniform(0, 1, 50), 0.1),
}


def check_against(res, ref, rows, ball):
    assert res.keep == ref.keep
    assert (res.depth > 0) == (ref.depth > 0)
    if res.keep:
        x, r = res.point, res.radius
        assert r > EPS
        for a, b in rows:
            assert a @ x + r <= b + 1e-9
        assert np.linalg.norm(x - ball.center) + r <= ball.radius + 1e-9
    else:
        assert res.point is None
        # a node that meets the ball with a non-empty P_eps: both depths are r - dist(c, P_eps);
        # otherwise (P_eps empty, or the node outside the ball) each backend reports a bound of
        # its own of the right sign
        if math.isfinite(ref.depth) and math.isfinite(res.depth) and 0 < ref.depth < EPS:
            assert res.depth == pytest.approx(ref.depth, abs=1e-7)


def random_walk(walk, ball, rng, steps):
    p = region_problem(ball, EPS)
    return walk(ProjectionL2Backend(p), HighsBackend(p), ball, rng, steps, ball.radius / 2,
                lambda res, ref, rows: check_against(res, ref, rows, ball))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(BALLS))
def test_random_walks_agree_with_highs(name, seed, search_walk):
    nb = random_walk(search_walk, BALLS[name], np.random.default_rng([seed, list(BALLS).index(name)]), 250)
    assert nb.fallbacks == sum(nb.fallback_reasons.values())


def test_iteration_limit_goes_to_highs(monkeypatch, search_walk):
    monkeypatch.setattr(projection_l2, "MAX_STEPS", 0)
    nb = random_walk(search_walk, BALLS["ball-8"], np.random.default_rng(4), 120)
    assert nb.fallback_reasons.get("iteration limit", 0) > 0


@pytest.mark.parametrize("bound, keep", [(0.5, True), (-0.99, True), (-0.9999999, False), (-1.5, False)])
def test_one_row_in_the_disc(bound, keep):
    """x1 <= bound in the unit disc: a cap of height 1 + bound, inscribed radius (1 + bound) / 2."""
    p = region_problem(pr.Ball([0.0, 0.0], 1.0), EPS)
    nb, hb = ProjectionL2Backend(p), HighsBackend(p)
    for be in (nb, hb):
        be.push(unit([1.0, 0.0]), bound)
    res, ref = nb.test(), hb.test()
    assert res.keep == keep == ref.keep


def test_contradicting_rows_are_empty():
    nb = ProjectionL2Backend(region_problem(pr.Ball([0.0, 0.0], 1.0), EPS))
    nb.push(unit([1.0, 0.0]), -0.5)
    nb.push(unit([-1.0, 0.0]), -0.5)
    res = nb.test()
    assert not res.keep and res.point is None and res.depth <= 0
    assert nb.fallbacks == 0


@pytest.mark.parametrize("dim, widths", [(2, [6]), (3, [5, 5]), (20, [6, 6])])
def test_counts_and_patterns_equal_highs(dim, widths, rng, random_dense_net):
    """The same patterns as the HiGHS QP test, through the search, in an L2 ball."""
    ball = pr.Ball(np.linspace(-0.3, 0.3, dim), 0.8)
    net = random_dense_net(rng, dim, widths)
    a = list(pr.enumerate_regions(net, ball, eps=EPS, backend="projection"))
    b = list(pr.enumerate_regions(net, ball, eps=EPS, backend="highs"))
    assert sorted(r.bits.tolist() for r in a) == sorted(r.bits.tolist() for r in b)
    for r in a:
        assert r.radius > EPS and ball.contains(r.point)[0]
        assert np.array_equal(net.pattern(r.point), r.bits)
