"""The big-M MILP (polyregions.milp.milp): counting by no-good cuts, local questions, export.

Oracles: the depth-first search (an independent algorithm) on cases whose thinnest region
is far above the MIP tolerances, hand-counted degenerate arrangements, brute-force LPs
over the regions the search lists, and the regions' patterns themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linprog

import polyregions as pr
from polyregions.milp.milp import (DEFAULT_MARGIN_TOL, count_regions_milp, export_model, max_margin_pattern,
                              single_region)

#: The search's thinnest region must be this wide for the comparison to be meaningful
#: (margins below DEFAULT_MARGIN_TOL are out of the MILP's reach).
WELL_ABOVE = 50 * DEFAULT_MARGIN_TOL


def _he_net(rng, n0, widths, bias_scale=0.3):
    weights, biases, fan = [], [], n0
    for n in widths:
        weights.append(rng.normal(size=(n, fan)) * math.sqrt(2.0 / fan))
        biases.append(bias_scale * rng.normal(size=n))
        fan = n
    return pr.Network.from_dense(weights, biases)


def _domains(d, rng):
    c = rng.uniform(-0.3, 0.3, size=d)
    return [pr.Box(-np.ones(d), np.ones(d)), pr.Ball(c, 0.7, p=math.inf), pr.Ball(c, 0.9, p=1),
            pr.Ball(c, 0.8, p=2)]


@pytest.mark.parametrize("n0, widths", [(2, [4, 4]), (3, [5, 3])])
def test_count_equals_the_search(n0, widths, rng):
    net = _he_net(rng, n0, widths)
    for dom in _domains(n0, rng):
        # the scipy backend's witnesses are Chebyshev centres (HiGHS's L2 witnesses are shallower)
        ref = pr.count_regions(net, dom, backend="scipy")
        assert ref.count == pr.count_regions(net, dom).count
        assert ref.complete and ref.stats.min_radius > WELL_ABOVE, "choose a case far above the MIP tolerance"
        res = count_regions_milp(net, dom)
        assert res.complete and res.stopped is None
        assert res.count == ref.count, dom
        # a pattern is rejected only when its point lay outside an L2 ball (its region misses the ball)
        assert res.stats.rejected == 0 or (isinstance(dom, pr.Ball) and dom.p == 2)
        assert res.stats.patterns == res.count + res.stats.rejected
        assert res.stats.final_margin <= DEFAULT_MARGIN_TOL


def test_count_in_a_polytope_and_with_the_max_strategy(rng):
    net = _he_net(rng, 2, [4, 3])
    dom = pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0])
    ref = pr.count_regions(net, dom)
    assert ref.stats.min_radius > WELL_ABOVE
    assert count_regions_milp(net, dom).count == ref.count
    assert count_regions_milp(net, pr.Box([-1, -1], [1, 1]), strategy="max").count == \
        pr.count_regions(net, pr.Box([-1, -1], [1, 1])).count


# hand-counted arrangements in the square [-1, 1]^2 (and the unit balls around 0)
DEGENERATE = {
    # the lines x = 0, y = 0 and x = y through the origin: 6 sectors
    "three lines through a point": ([[[1, 0], [0, 1], [1, -1]]], [[0, 0, 0]], 6),
    # x = 0, x = 0.5 and x = -0.2 (2x + 0.4 = 0): 4 strips
    "parallel lines": ([[[1, 0], [1, 0], [2, 0]]], [[0, -0.5, 0.4]], 4),
    # x + 2y = -0.1 twice and y = x - 0.2 (generic pair): 4 regions
    "duplicated neurons": ([[[1, 2], [1, 2], [-1, 1]]], [[0.1, 0.1, 0.2]], 4),
    # a zero row (constant 0.5: on everywhere) and x = 0: 2 regions
    "zero row": ([[[0, 0], [1, 0]]], [[0.5, 0.0]], 2),
    # The degenerate case of a neuron identically zero on a region: second-layer neurons with zero bias whose inputs are all off on
    # some sectors (identically zero there: off). The six sectors of the three lines, each
    # one region (the second layer does not split them).
    "zero-bias second layer": ([[[1, 0], [0, 1], [1, -1]], [[1, 1, 0], [1, -1, 1], [0, 0, 1]]],
                               [[0, 0, 0], [0, 0, 0]], 6),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_arrangements(case):
    W, b, expected = DEGENERATE[case]
    net = pr.Network.from_dense([np.array(w, float) for w in W], [np.array(v, float) for v in b])
    for dom in [pr.Box([-1, -1], [1, 1]), pr.Ball([0.0, 0.0], 1.0, p=2), pr.Ball([0.0, 0.0], 1.0, p=1),
                pr.Ball([0.0, 0.0], 1.0, p=math.inf)]:
        res = count_regions_milp(net, dom)
        assert res.count == expected, dom
        assert res.complete, dom


def test_cancellation_is_flagged_not_hidden():
    """z = h1 - h2 with h1 = h2 (duplicated neurons) is identically zero by cancellation, out of the
    margin MILP's reach: the sampling check finds the missed regions and marks the count."""
    net = pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[1.0, -1.0, 0.0], [0.0, 1.0, 1.0]]],
                                [[0.0, 0.0, 0.0], [0.0, 0.0]])
    res = count_regions_milp(net, pr.Box([-1, -1], [1, 1]))
    # the lines x = 0, y = 0 and, in layer 2, x + y = 0 where x > 0 > y, or x > 0: 4 regions by hand
    assert res.count == 4
    assert not res.complete and res.stopped == "degenerate" and res.stats.missed > 0


def test_max_regions_stops_early(rng):
    net = _he_net(rng, 2, [4, 4])
    res = count_regions_milp(net, pr.Box([-1, -1], [1, 1]), max_regions=3)
    assert res.count == 3 and not res.complete and res.stopped == "max_regions"
    assert count_regions_milp(net, pr.Box([-1, -1], [1, 1]), max_regions=0).count == 0


def test_time_limit_marks_the_count_incomplete(rng):
    net = _he_net(rng, 2, [6, 6])
    res = count_regions_milp(net, pr.Box([-1, -1], [1, 1]), time_limit=1e-6)
    assert not res.complete and res.stopped == "time_limit"


def test_whole_space_is_refused():
    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    with pytest.raises(pr.UnsupportedError, match="`domain` must be bounded"):
        count_regions_milp(net, pr.Whole(2))
    with pytest.raises(pr.UnsupportedError, match="`domain` must be bounded"):
        single_region(net, pr.Whole(2))
    with pytest.raises(pr.UnsupportedError, match="`domain` must be bounded"):
        count_regions_milp(net, pr.Polytope([[1.0, 0.0]], [1.0]))


def test_validation_messages(tmp_path):
    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    box = pr.Box([-1, -1], [1, 1])
    for kwargs, msg in [
        (dict(margin_tol=0), "`margin_tol` must be a positive"),
        (dict(margin_cap=1e-9), "`margin_cap` must exceed `margin_tol`"),
        (dict(max_regions=-1), "`max_regions` must be a non-negative integer"),
        (dict(time_limit=-1), "`time_limit` must be a positive"),
        (dict(solver="gurobi"), "`solver` must be one of"),
        (dict(strategy="best"), "`strategy` must be 'first' or 'max'"),
        (dict(bounds="exact"), "`bounds` must be one of"),
        (dict(bounds=[(np.zeros(1), np.ones(1))] * 2), "`bounds` must hold one"),
        (dict(bounds=[(np.ones(1), np.zeros(1))]), "`bounds` must be finite with lower <= upper"),
        (dict(eps=0), "`eps` must be a positive"),
        (dict(check_samples=-5), "`check_samples` must be a non-negative integer"),
    ]:
        with pytest.raises(pr.InvalidInputError, match=msg):
            count_regions_milp(net, box, **kwargs)
    with pytest.raises(pr.InvalidInputError, match="`domain` has dimension 3"):
        count_regions_milp(net, pr.Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(pr.InvalidInputError, match="`path` must end in .lp or .mps"):
        export_model(net, box, tmp_path / "model.txt")
    with pytest.raises(pr.UnsupportedError, match="L2 ball"):
        export_model(net, pr.Ball([0, 0], 1.0, p=2), tmp_path / "model.lp")


def test_given_bounds_are_used(rng):
    net = _he_net(rng, 2, [3, 3])
    box = pr.Box([-1, -1], [1, 1])
    from polyregions.milp.propagate import neuron_bounds

    loose = [(lo - 1.0, up + 1.0) for lo, up in neuron_bounds(net, box, "interval")]
    res = count_regions_milp(net, box, bounds=loose)
    assert res.count == pr.count_regions(net, box).count
    assert res.stats.bounds == "given"


# ---------------------------------------------------------------------- local questions


def test_single_region_agrees_with_the_regions_in_the_ball(rng):
    cases = 0
    for n0, widths in [(2, [4, 4]), (3, [5, 3])]:
        net = _he_net(rng, n0, widths)
        for r in (0.02, 0.1, 0.4):
            for p in (2, math.inf, 1):
                ball = pr.Ball(rng.uniform(-0.8, 0.8, size=n0), r, p=p)
                bits = np.array([g.bits for g in pr.enumerate_regions(net, ball)])
                differs = np.any(bits != bits[0], axis=0)
                res = single_region(net, ball)
                assert res.single == (len(bits) == 1), (n0, r, p)
                np.testing.assert_array_equal(res.switching, differs)
                assert res.num_switching == int(differs.sum())
                # neurons that do not switch have the state every region shows
                fixed = ~differs
                np.testing.assert_array_equal(res.states[fixed] == 1, bits[0][fixed])
                assert np.all(res.states[differs] == 0)
                cases += 1
    assert cases == 18


def test_single_region_with_milp_only():
    """No samples: every unstable neuron is decided by MILP alone."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, -1.0, 1.0]]],
                                [[0.0, 0.0, -0.3], [0.05]])
    for c, r in [([0.5, 0.5], 0.1), ([0.02, 0.5], 0.1), ([0.0, 0.0], 0.5)]:
        ball = pr.Ball(c, r)
        bits = np.array([g.bits for g in pr.enumerate_regions(net, ball)])
        res = single_region(net, ball, samples=0)
        np.testing.assert_array_equal(res.switching, np.any(bits != bits[0], axis=0))
        assert res.single == (len(bits) == 1)


@pytest.mark.parametrize("samples", [256, 0])
def test_single_region_reports_dead_neurons_off(samples):
    """Neuron 1 of layer 1 is identically 0 (zero row and bias), neuron 0 of layer 2 reads only
    neurons that are off in the ball (0 there), neuron 2 of layer 1 is negative on the ball: all
    three are off at every point (their pattern bit is False: the network's own forward pass
    on 2,000 points), whatever the bounds say; the others are on throughout."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]],
                                [[0.0, 0.0, -5.0], [0.0, 0.0]])
    ball = pr.Ball([1.0, 0.5], 0.2, p=math.inf)
    res = single_region(net, ball, samples=samples)
    bits = net.pattern(ball.sample(2000, np.random.default_rng(3)))
    assert res.single and not res.switching.any()
    np.testing.assert_array_equal(res.states == 1, bits[0])
    assert np.all(bits == bits[0])
    assert res.states.tolist() == [1, -1, -1, -1, 1]


def test_max_margin_pattern_matches_brute_force(rng):
    """One layer: the best margin is the largest, over the regions, of the LP
    max t s.t. s_j (w_j . x + b_j) >= t, x in the box (s_j = +1 on, -1 off)."""
    W = rng.normal(size=(4, 2))
    b = 0.3 * rng.normal(size=4)
    net = pr.Network.from_dense([W], [b])
    box = pr.Box([-1, -1], [1, 1])
    X = box.sample(10_000, rng)
    Z = X @ W.T + b
    assert np.all((Z > 0).any(axis=0) & (Z < 0).any(axis=0)), "every neuron must cross the box"
    best = -math.inf
    for region in pr.enumerate_regions(net, box):
        s = np.where(region.bits, 1.0, -1.0)
        # variables (x1, x2, t): maximise t s.t. -s_j w_j . x + t <= s_j b_j
        A = np.hstack([-s[:, None] * W, np.ones((4, 1))])
        res = linprog([0, 0, -1], A_ub=A, b_ub=s * b, bounds=[(-1, 1), (-1, 1), (None, 1.0)], method="highs")
        best = max(best, -res.fun)
    pattern, point, margin = max_margin_pattern(net, box)
    assert margin == pytest.approx(best, abs=1e-7)
    np.testing.assert_array_equal(pattern, net.pattern(point))
    assert np.all(np.abs(W @ point + b) >= margin - 1e-7)


def test_max_margin_pattern_in_an_l2_ball(rng):
    net = _he_net(rng, 2, [4, 4])
    ball = pr.Ball([0.1, -0.2], 0.6, p=2)
    pattern, point, margin = max_margin_pattern(net, ball)
    assert np.linalg.norm(point - ball.center) <= ball.radius + 1e-12
    assert margin > 0
    z = np.concatenate(net.preactivations(point))
    np.testing.assert_array_equal(pattern, z > 0)


# ====================================================================== what complete means, refused options


def test_milp_reports_its_margin_tolerance_and_what_complete_means():
    """Lines x = 0 and x = 1e-6 in [-1, 1]: the middle piece has margin 5e-7, below the default
    margin_tol = 1e-6, so the MILP does not reach it; with margin_tol = 1e-8 it does (3 pieces,
    a 1-D breakpoint count)."""
    net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -1e-6]])
    box = pr.Box([-1.0], [1.0])
    res = pr.count_regions(net, box, method="milp")
    assert res.stats.margin_tol == DEFAULT_MARGIN_TOL
    assert res.as_dict()["stats"]["margin_tol"] == DEFAULT_MARGIN_TOL
    assert "margin_tol" in repr(res)
    fine = count_regions_milp(net, box, margin_tol=1e-8)
    assert fine.count == 3 and fine.complete


@pytest.mark.parametrize("kwargs, name", [({"workers": 2}, "workers"), ({"checkpoint": "x.ckpt"}, "checkpoint"),
                                           ({"resume": "x.ckpt"}, "resume"),
                                           ({"client": object()}, "client")])
def test_milp_refuses_search_options(kwargs, name, tmp_path):
    net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -0.5]])
    with pytest.raises(pr.InvalidInputError, match=f"`{name}`"):
        pr.count_regions(net, pr.Box([-1.0], [1.0]), method="milp", **kwargs)


def test_hyperplanes_far_outside_the_domain_are_no_rows():
    """A neuron with weights 1e-61 and bias -0.5 is a hyperplane 5e60 away: no solver takes
    that as a finite bound, and it misses the box, so the pattern's region test leaves it out.

    Layer 1 cuts [-1, 1]^2 into quadrants at x = 0 and y = 0; layer 2's first neuron
    relu(x) + relu(y) - 0.5 cuts the three quadrants where an input is on (x + y = 0.5,
    x = 0.5, y = 0.5) and not the fourth: 4 + 3 = 7 regions; the second neuron is never on.
    """
    net = pr.Network.from_dense([np.eye(2), np.array([[1.0, 1.0], [1e-61, 0.0]])],
                                [np.zeros(2), np.array([-0.5, -0.5])])
    assert pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), method="milp").count == 7
    one_d = pr.Network.from_dense([np.array([[1.0], [1e-61], [-1e-61]])], [np.array([0.0, -0.5, 0.5])])
    assert pr.count_regions(one_d, pr.Box([-1.0], [1.0]), method="milp").count == 2
