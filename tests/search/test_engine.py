"""Tests of polyregions.search.engine: the depth-first engine, driven directly.

Expected patterns come from hand computations written out in each test's docstring,
from Zaslavsky's closed form, or from the plain-numpy pattern of sample points; a
search split into subproblems and resumed is checked against the same sources.
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest

import polyregions as pr
from polyregions.search.engine import DEFAULT_EPS, FAR_ROW_BOUND, RegionSearch, Subproblem, pattern_rows, region_test, unit_rows
from polyregions.solvers import make_backend, region_problem

EPS = 1e-7


def net_of(weights, biases, output=None):
    return pr.Network.from_dense(weights, biases, output=output)


def search_patterns(net, domain, *, eps=EPS, backend="auto", prune=True):
    """The leaves of one uninterrupted search: ``(set of patterns, [(bits, witness, radius)])``."""
    search = RegionSearch(net, domain, eps, backend, prune)
    root = search.root()
    leaves = [] if root is None else [(tuple(search.bits), x.copy(), rho) for x, rho, _, _ in search.run(root)]
    pats = [bits for bits, _, _ in leaves]
    assert len(set(pats)) == len(pats), "a pattern was reached twice"
    return set(pats), leaves


def drain(search, queue):
    """Run every subproblem of `queue` (and those it parks) to the end; return the patterns."""
    pats = []
    while queue:
        sub = queue.pop()
        pats.extend(tuple(search.bits) for _ in search.run(sub))
        queue.extend(search.frontier)
        search.frontier = []
    return pats


# ====================================================================== splitting and resuming


@pytest.mark.parametrize("n0, n1", [(2, 6), (3, 7)])
def test_a_search_split_at_every_node_finds_every_region_once(n0, n1, rng, random_dense_net, zaslavsky):
    """With its deadline already passed the search parks every child it has not entered;
    resuming the parked subproblems one by one still reaches each of the Zaslavsky count of
    regions exactly once."""
    net = random_dense_net(rng, n0, [n1])
    search = RegionSearch(net, pr.Whole(n0), EPS, "highs", True)
    search.deadline = 0.0  # long past
    pats = drain(search, [search.root()])
    assert len(pats) == len(set(pats)) == zaslavsky(n0, n1)


def test_parked_subproblems_carry_their_witness_ball(rng, random_dense_net):
    net = random_dense_net(rng, 2, [5, 4])
    domain = pr.Box([-1.0, -1.0], [1.0, 1.0])
    search = RegionSearch(net, domain, EPS, "highs", True)
    search.deadline = 0.0
    for _ in search.run(search.root()):
        pass
    assert search.frontier
    for sub in search.frontier:
        assert isinstance(sub, Subproblem) and sub.rho > EPS
        assert domain.contains(sub.x)[0]
        if sub.rows_b.size:  # the witness ball lies inside every row of the node
            assert np.all(sub.rows_b - sub.rows_A @ sub.x >= sub.rho * (1 - 1e-9))


def test_every_sampled_pattern_is_reached_after_splitting(rng, random_dense_net, numpy_pattern):
    net = random_dense_net(rng, 2, [6, 5])
    domain = pr.Box([-2.0, -2.0], [2.0, 2.0])
    search = RegionSearch(net, domain, EPS, "auto", True)
    search.deadline = 0.0
    found = set(drain(search, [search.root()]))
    pts = rng.uniform(-2.0, 2.0, size=(4000, 2))
    weights = [W for W, _ in net.hidden]
    biases = [b for _, b in net.hidden]
    sampled = {tuple(int(v) for v in p) for p in numpy_pattern(weights, biases, pts)}
    assert sampled <= found


def test_an_l2_ball_needs_a_backend_with_qp():
    net = net_of([[[1.0, 0.0]]], [[0.0]])
    with pytest.raises(pr.InvalidInputError, match="`backend` 'numba'|L2 ball"):
        RegionSearch(net, pr.Ball([0.0, 0.0], 1.0), EPS, "numba", True)


# ====================================================================== the rows of a pattern


def test_unit_rows():
    G = np.array([[3.0, 4.0], [0.0, 0.0]])
    c = np.array([10.0, 2.0])
    Gh, ch, norms = unit_rows(G, c)
    np.testing.assert_allclose(Gh, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(ch, [2.0, 2.0])
    np.testing.assert_allclose(norms, [5.0, 0.0])


def test_pattern_rows_hold_at_the_points_of_the_pattern(rng, random_dense_net):
    net = random_dense_net(rng, 3, [5, 4])
    pts = rng.normal(size=(200, 3))
    for x, bits in zip(pts, net.pattern(pts)):
        rows = pattern_rows(net, bits)
        assert rows is not None
        A = np.array([a for a, _ in rows])
        b = np.array([v for _, v in rows])
        np.testing.assert_allclose(np.linalg.norm(A, axis=1), 1.0)
        assert np.all(A @ x <= b + 1e-9)


def test_pattern_rows_of_an_impossible_pattern():
    """Layer 2 is h1 - h1 = 0 + 1 > 0 wherever layer 1 is off: the bit 0 contradicts it."""
    net = net_of([[[1.0]], [[1.0]]], [[0.0], [1.0]])
    assert pattern_rows(net, [0, 0]) is None
    assert pattern_rows(net, [0, 1]) is not None


def test_region_test_of_a_pattern():
    """z = (x, y) in the unit box around 0: the quadrant x > 0, y < 0 is a square of side 1,
    its largest ball has radius 1/2."""
    net = net_of([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    tester = make_backend("highs", region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS))
    res = region_test(tester, pattern_rows(net, [1, 0]), np.zeros(2))
    assert res.keep and res.radius == pytest.approx(0.5, rel=1e-9)


# ====================================================================== degenerate cases by hand

BOX2 = pr.Box([-2.0, -2.0], [2.0, 2.0])
UNIT = pr.Box([0.0, 0.0], [1.0, 1.0])


def assert_patterns(net, domain, expected, **kw):
    got, leaves = search_patterns(net, domain, **kw)
    assert got == set(expected)
    for bits, x, rho in leaves:  # the witnesses are sound even in degenerate cases
        np.testing.assert_array_equal(net.pattern(x), np.array(bits, dtype=bool))
        assert domain.contains(x)[0] and rho > kw.get("eps", EPS)
    return leaves


def test_parallel_hyperplanes():
    """z1 = x1, z2 = x1 - 1 in [-2, 2]^2: the lines x1 = 0 and x1 = 1 cut the box in three
    strips: x1 < 0 (0, 0), 0 < x1 < 1 (1, 0), x1 > 1 (1, 1)."""
    net = net_of([[[1, 0], [1, 0]]], [[0, -1]])
    assert_patterns(net, BOX2, {(0, 0), (1, 0), (1, 1)})


def test_coincident_hyperplanes_same_orientation():
    """z1 = z2 = x1: one line, both neurons switch together: (0, 0) and (1, 1)."""
    net = net_of([[[1, 0], [1, 0]]], [[0, 0]])
    assert_patterns(net, BOX2, {(0, 0), (1, 1)})


def test_coincident_hyperplanes_opposite_orientation():
    """z1 = x1, z2 = -x1: exactly one is on off the line: (1, 0) and (0, 1)."""
    net = net_of([[[1, 0], [-1, 0]]], [[0, 0]])
    assert_patterns(net, BOX2, {(1, 0), (0, 1)})


@pytest.mark.parametrize("domain", [pr.Whole(2), BOX2, pr.Ball([0.0, 0.0], 0.5)], ids=["whole", "box", "ball"])
def test_three_lines_through_one_point(domain):
    """x1 = 0, x2 = 0, x1 + x2 = 0 through the origin: 6 sectors (not 7). The patterns
    (0, 0, 1) (x1, x2 <= 0 but x1 + x2 > 0) and (1, 1, 0) are impossible."""
    net = net_of([[[1, 0], [0, 1], [1, 1]]], [[0, 0, 0]])
    expected = {(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 1, 0), (0, 1, 1), (1, 1, 1)}
    assert_patterns(net, domain, expected)


@pytest.mark.parametrize("sign", [1, -1])
def test_hyperplane_through_a_box_corner(sign):
    """x1 + x2 = 2 touches [0, 1]^2 only at the corner (1, 1): 1 region, the side of the
    interior (x1 + x2 < 2): off for z = x1 + x2 - 2, on for z = 2 - x1 - x2."""
    net = net_of([[[sign, sign]]], [[-2 * sign]])
    assert_patterns(net, UNIT, {(0,)} if sign == 1 else {(1,)})


@pytest.mark.parametrize("prune", [True, False])
def test_hyperplane_missing_the_box_within_its_diameter(prune):
    """x1 + x2 = 2.5 misses [-1, 1]^2 (there x1 + x2 <= 2) although it passes 2.5 / sqrt 2
    = 1.77 from the centre, within the diameter 2.83: 1 region, z = x1 + x2 - 2.5 off. The
    bounding-box range decides it: no solver call beyond the root's."""
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    net = net_of([[[1, 1]]], [[-2.5]])
    assert_patterns(net, box, {(0,)}, prune=prune)
    search = RegionSearch(net, box, EPS, "auto", prune)
    list(search.run(search.root()))
    assert search.lp.lp_solves == 1


def test_hyperplane_cutting_a_thin_corner_of_the_box():
    """x1 + x2 = 2 - 1e-6 cuts from [-1, 1]^2 the corner triangle with legs 1e-6, whose
    inscribed circle has radius 1e-6 / (2 + sqrt 2) = 2.9e-7 > eps = 1e-9: 2 regions. The
    bounding-box range reaches 1e-6 past the hyperplane: it must not decide the neuron."""
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    net = net_of([[[1, 1]]], [[-(2 - 1e-6)]])
    assert_patterns(net, box, {(0,), (1,)}, eps=1e-9)


def test_hyperplane_through_a_box_corner_and_across():
    """x1 - x2 = 0 passes through the corners (0, 0) and (1, 1): 2 regions."""
    net = net_of([[[1, -1]]], [[0]])
    assert_patterns(net, UNIT, {(0,), (1,)})


@pytest.mark.parametrize("sign", [1, -1])
def test_hyperplane_on_a_box_face(sign):
    """z = sign * x1 vanishes on the face x1 = 0 of [0, 1]^2: 1 region, the interior side:
    on for z = x1, off for z = -x1."""
    net = net_of([[[sign, 0]]], [[0]])
    assert_patterns(net, UNIT, {(1,)} if sign == 1 else {(0,)})


def test_duplicated_and_scaled_neurons():
    """z1 = 2 x1, z2 = x1, z3 = x1 (duplicate): one line, 2 regions (0,0,0) and (1,1,1)."""
    net = net_of([[[2, 0], [1, 0], [1, 0]]], [[0, 0, 0]])
    assert_patterns(net, BOX2, {(0, 0, 0), (1, 1, 1)})


def test_zero_weight_neurons():
    """Zero rows: bias 1 -> z = 1 > 0 always on; bias 0 -> z = 0 always off; bias -1 ->
    always off. None splits; z4 = x1 does: 2 regions (1,0,0,0) and (1,0,0,1)."""
    net = net_of([[[0, 0], [0, 0], [0, 0], [1, 0]]], [[1, 0, -1, 0]])
    assert_patterns(net, BOX2, {(1, 0, 0, 0), (1, 0, 0, 1)})
    assert_patterns(net, pr.Whole(2), {(1, 0, 0, 0), (1, 0, 0, 1)})


def test_only_constant_neurons():
    """Every neuron has a zero row: one region, the constant pattern."""
    net = net_of([[[0, 0], [0, 0]]], [[2, 0]])
    assert_patterns(net, BOX2, {(1, 0)})


@pytest.mark.parametrize("bias, bit", [(-1, 0), (1, 1)])
def test_dead_and_always_on_second_layer_neurons(bias, bit):
    """Layer 1 = identity on R^2 (4 quadrants). Layer 2: z = -h1 - h2 - 1 <= -1 < 0 is dead
    everywhere; z = h1 + h2 + 1 >= 1 is always on. Neither splits: 4 regions."""
    sgn = -1 if bias < 0 else 1
    net = net_of([[[1, 0], [0, 1]], [[sgn, sgn]]], [[0, 0], [bias]])
    expected = {(a, b, bit) for a in (0, 1) for b in (0, 1)}
    assert_patterns(net, BOX2, expected)


def test_second_layer_neuron_constant_zero_where_its_inputs_are_off():
    """Layer 1 = identity; layer 2: z = h1 - h2, bias exactly 0.
    Quadrant x1, x2 < 0: h = 0, z = 0 identically: off, no split -> (0, 0, 0).
    x1 > 0 > x2: z = x1 > 0 -> (1, 0, 1). x1 < 0 < x2: z = -x2 < 0 -> (0, 1, 0).
    x1, x2 > 0: z = x1 - x2 splits -> (1, 1, 1), (1, 1, 0). Total 5."""
    net = net_of([[[1, 0], [0, 1]], [[1, -1]]], [[0, 0], [0]])
    expected = {(0, 0, 0), (1, 0, 1), (0, 1, 0), (1, 1, 1), (1, 1, 0)}
    assert_patterns(net, BOX2, expected)
    assert_patterns(net, pr.Whole(2), expected)
    assert_patterns(net, pr.Ball([0.0, 0.0], 1.0), expected)


def test_second_layer_neuron_cancelling_exactly():
    """Two identical first-layer neurons h1 = h2 = relu(x1) and z = h1 - h2 = 0 everywhere:
    off everywhere, no split: (0, 0, 0) and (1, 1, 0)."""
    net = net_of([[[1, 0], [1, 0]], [[1, -1]]], [[0, 0], [0]])
    assert_patterns(net, BOX2, {(0, 0, 0), (1, 1, 0)})


def test_second_layer_sum_with_zero_bias():
    """z = h1 + h2, bias 0: 0 on the negative quadrant (off), > 0 elsewhere: 4 regions."""
    net = net_of([[[1, 0], [0, 1]], [[1, 1]]], [[0, 0], [0]])
    assert_patterns(net, BOX2, {(0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)})


@pytest.mark.parametrize("sign", [1, -1])
def test_hyperplane_tangent_to_the_l2_ball(sign):
    """z = sign * (x1 - 1) on the unit disc: the line x1 = 1 only touches it: 1 region
    (the interior has x1 < 1: off for sign 1, on for sign -1)."""
    net = net_of([[[sign, 0]]], [[-sign]])
    assert_patterns(net, pr.Ball([0.0, 0.0], 1.0), {(0,)} if sign == 1 else {(1,)})


def test_hyperplane_at_half_radius_cuts_the_l2_ball():
    """z = x1 - 1/2 on the unit disc: the chord at distance r/2 leaves 2 regions."""
    net = net_of([[[1, 0]]], [[-0.5]])
    assert_patterns(net, pr.Ball([0.0, 0.0], 1.0), {(0,), (1,)})


def test_hyperplane_tangent_to_the_l1_ball():
    """x1 + x2 = 1 contains an edge of the L1 unit ball: 1 region; x1 + x2 = 1/2 cuts: 2."""
    ball1 = pr.Ball([0.0, 0.0], 1.0, p=1)
    assert_patterns(net_of([[[1, 1]]], [[-1]]), ball1, {(0,)})
    assert_patterns(net_of([[[1, 1]]], [[-0.5]]), ball1, {(0,), (1,)})


def test_thin_strip_depends_on_eps():
    """z1 = x1 and z2 = x1 - 1e-9 in [-2, 2]^2: the strip 0 < x1 < 1e-9 has pattern (1, 0)
    and half-width 5e-10. With eps = 1e-10 (below it) it counts: (0,0), (1,0), (1,1) = 3;
    with eps = 1e-8 (above it) it does not: (0,0), (1,1) = 2."""
    net = net_of([[[1.0, 0.0], [1.0, 0.0]]], [[0.0, -1e-9]])
    assert_patterns(net, BOX2, {(0, 0), (1, 0), (1, 1)}, eps=1e-10)
    assert_patterns(net, BOX2, {(0, 0), (1, 1)}, eps=1e-8)
    _, leaves = search_patterns(net, BOX2, eps=1e-10)
    assert min(rho for _, _, rho in leaves) == pytest.approx(5e-10, rel=1e-3)


def test_thin_strip_is_reported_near_eps():
    """The strip of the test above (half-width 5e-10) is kept at eps = 1e-10: a keep decision
    within a factor 10 of eps, so near_eps >= 1 and the smallest kept depth is about 5e-10."""
    net = net_of([[[1.0, 0.0], [1.0, 0.0]]], [[0.0, -1e-9]])
    search = RegionSearch(net, BOX2, 1e-10, "auto", True)
    assert sum(1 for _ in search.run(search.root())) == 3
    assert search.stats.near_eps >= 1
    assert search.stats.min_kept_depth <= 1e-9


@pytest.mark.parametrize("backend", ["highs", "scipy", "auto"])
@pytest.mark.parametrize("domain", ["ball2", "box", "whole"])
def test_zero_width_cells_are_not_counted(backend, domain):
    """Layer 1: z = (x, y, x - y), three lines through the origin, six sectors. Layer 2:
    a = h1 + h2, b = h1 - h2 + h3, c = h3. Sector by sector (counter-clockwise from 0 deg):
    0-45: h = (x, y, x-y), a > 0, b = 2(x-y) > 0, c > 0; 45-90: h = (x, y, 0), a > 0,
    b = x - y < 0, c = 0; 90-225 with x < y: h = (0, y, 0) or 0: (a, b) = (y, -y) or
    identically 0, no split inside either sector; 225-270: h = (0, 0, x-y), a = 0, b = c > 0;
    270-360: h = (x, 0, x-y), all of a, b, c > 0. Layer 2 splits no sector: 6 regions.
    Its hyperplanes b = 0 lie on layer-1 lines, leaving zero-width cells that must not count."""
    net = pr.Network.from_dense([[[1, 0], [0, 1], [1, -1]], [[1, 1, 0], [1, -1, 1], [0, 0, 1]]],
                                [[0, 0, 0], [0, 0, 0]])
    dom = {"ball2": pr.Ball([0.0, 0.0], 1.0), "box": pr.Box([-1.0, -1.0], [1.0, 1.0]), "whole": pr.Whole(2)}[domain]
    if backend == "auto" and domain != "box":
        backend = "highs"
    got, _ = search_patterns(net, dom, eps=DEFAULT_EPS, backend=backend)  # at the solvers' tolerance
    assert len(got) == 6


# ====================================================================== regions near eps: no extra region
# Expected counts come from the geometry (written in each docstring) or from the exact
# rational reference (tests/exact_reference.py), which decides every pattern at eps.

TRIANGLE_W = [[[1, 0], [0, 1], [1, 1]]]
TRIANGLE_B = [[-.31, .17, -(.14 + 3e-9)]]


def triangle_net(offset=3e-9):
    return pr.Network.from_dense(TRIANGLE_W, [[-.31, .17, -(.14 + offset)]])


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
def test_thin_triangle_in_a_small_l2_ball_is_not_counted(backend):
    """The triangle's inradius 8.8e-10 is below the default eps = 1e-9: 6 regions, not 7
    (the exact reference decides every pattern at eps in rationals)."""
    ball = pr.Ball([.3100001, -.1699999], 1e-6)
    expected = ref.exact_count(TRIANGLE_W, TRIANGLE_B, ball, eps=DEFAULT_EPS)
    assert expected == 6
    res = pr.count_regions(triangle_net(), ball, backend=backend)
    assert res.count == expected
    assert res.stats.min_radius > DEFAULT_EPS


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
def test_tiny_l2_ball_around_the_thin_triangle(backend):
    """In a ball of radius 3e-8 three lines make at most 7 regions; the reference says how many
    hold a ball of radius eps."""
    ball = pr.Ball([.310000003, -.169999997], 3e-8)
    expected = ref.exact_count(TRIANGLE_W, TRIANGLE_B, ball, eps=DEFAULT_EPS)
    res = pr.count_regions(triangle_net(), ball, backend=backend)
    assert res.count == expected <= 7


@pytest.mark.parametrize("backend", ["highs", "scipy", "numba", "cvxpy"])
def test_tiny_box_around_a_thinner_triangle(backend):
    box = pr.Box([.31 - 9e-8, -.17 - 9e-8], [.31 + 1.1e-7, -.17 + 1.1e-7])
    expected = ref.exact_count(TRIANGLE_W, [[-.31, .17, -(.14 + 1e-9)]], box, eps=DEFAULT_EPS)
    assert expected == 6
    assert pr.count_regions(triangle_net(1e-9), box, backend=backend).count == expected


@pytest.mark.parametrize("tiny", [1e-165, 1e-200, 1e-300])
def test_tiny_weights_still_cut(tiny):
    """z = (tiny x, y): the lines x = 0 and y = 0 cut the box into 4 quadrants."""
    net = pr.Network.from_dense([[[tiny, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    assert pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), method="dfs").count == 4
    assert pr.count_regions(net, pr.Whole(2)).count == 4


def test_tiny_second_layer_weights_still_cut():
    """Layer 2: z = 1e-170 (h1 - h2) with h = relu(x), relu(-x) ... = 1e-170 x: splits at 0."""
    net = pr.Network.from_dense([[[1.0], [-1.0]], [[1e-170, -1e-170]]], [[0.0, 0.0], [0.0]])
    # x < 0: h = (0, -x), z2 = 1e-170 x < 0 (off); x > 0: h = (x, 0), z2 > 0 (on)
    pats = {tuple(int(v) for v in r.bits) for r in pr.enumerate_regions(net, pr.Box([-1.0], [1.0]), method="dfs")}
    assert pats == {(0, 1, 0), (1, 0, 1)}


def search_or_planar(name):
    """Keyword arguments that run the search with backend `name`, or the planar algorithm."""
    return {"method": "planar"} if name == "planar" else {"method": "dfs", "backend": name}


def strip_halves(width):
    """One input: breakpoints 0, width / 2 and width. In [-1, 1] there are 4 pieces: two wide
    ones and two of width width / 2 (half-width width / 4)."""
    return pr.Network.from_dense([[[1.0], [1.0], [1.0]]], [[0.0, -width / 2, -width]])


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "numba", "cvxpy", "planar"])
@pytest.mark.parametrize("factor, expected", [(0.75, 2), (1.5, 4)])
def test_strip_split_in_half_near_eps_in_an_interval(backend, factor, expected):
    """A strip of width 4 factor eps split in half: each half holds balls of radius factor eps
    at most, so it counts iff factor > 1: 2 + 2 = 4 pieces, or the 2 wide ones."""
    eps = 1e-7
    net = strip_halves(4 * factor * eps)
    res = pr.count_regions(net, pr.Box([-1.0], [1.0]), eps=eps, **search_or_planar(backend))
    assert res.count == expected
    assert res.stats.min_radius > eps


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
@pytest.mark.parametrize("factor, expected", [(0.75, 2), (1.5, 4)])
def test_strip_split_in_half_near_eps_in_an_l2_ball(backend, factor, expected):
    """The same strip (now in the plane, lines x = 0, w/2, w) inside the unit disc: the two
    thin halves are long slabs of half-width w/4 = factor eps."""
    eps = 1e-7
    w = 4 * factor * eps
    net = pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]], [[0.0, -w / 2, -w]])
    res = pr.count_regions(net, pr.Ball([0.0, 0.0], 1.0), eps=eps, backend=backend)
    assert res.count == expected
    assert res.stats.min_radius > eps


def grid_net(s):
    """Lines x = 0, x = s, y = 0, y = s: a 3 x 3 grid of cells in the box; the middle row and
    column have width s."""
    return pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]], [[0.0, -s, 0.0, -s]])


def assert_honest_radii(net, domain, regions, eps):
    """Every counted region's ball B(point, radius) lies between its hyperplanes and in the
    domain, and radius > eps (a one-layer net: distances computed here with numpy)."""
    (W, b), = net.hidden
    for r in regions:
        x = r.point
        dist = np.abs(W @ x + b) / np.linalg.norm(W, axis=1)
        assert r.radius > eps
        assert np.all(dist >= r.radius * (1 - 1e-9))
        assert np.array_equal(r.bits, (W @ x + b) > 0)
        if isinstance(domain, pr.Box):
            assert np.all(np.minimum(x - domain.lo, domain.hi - x) >= r.radius * (1 - 1e-9))
        else:
            assert np.linalg.norm(x - domain.center) + r.radius <= domain.radius * (1 + 1e-12)


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "cvxpy", "planar"])
@pytest.mark.parametrize("domain", ["box", "ball"])
@pytest.mark.parametrize("factor, expected", [(0.6, 4), (0.95, 4), (1.05, 9), (1.6, 9)])
def test_grid_cells_near_eps(backend, domain, factor, expected):
    """The grid's thin cells (the middle row, the middle column, the centre square) all have
    inradius s / 2 = factor eps: they count iff factor > 1, so 9 cells or the 4 wide ones."""
    eps = 1e-7
    net = grid_net(2 * factor * eps)
    dom = pr.Box([-1.0, -1.0], [1.0, 1.0]) if domain == "box" else pr.Ball([0.0, 0.0], 1.0)
    if backend == "planar" and domain == "ball":
        pytest.skip("the planar algorithm does not serve L2 discs")
    regions = list(pr.enumerate_regions(net, dom, eps=eps, **search_or_planar(backend)))
    assert len(regions) == expected
    assert_honest_radii(net, dom, regions, eps)


@pytest.mark.parametrize("tiny", [1e-165, 1e-200, 1e-300])
def test_row_norms_do_not_underflow(tiny):
    """|(3t, 4t)| = 5t for every t, and a zero row has norm 0."""
    from polyregions.search.engine import row_norms

    assert row_norms(np.array([[3 * tiny, 4 * tiny], [0.0, 0.0]])) == pytest.approx([5 * tiny, 0.0], rel=1e-15)
    Gh, ch, norms = unit_rows(np.array([[3 * tiny, 4 * tiny]]), np.array([tiny]))
    assert Gh[0] == pytest.approx([0.6, 0.8]) and ch == pytest.approx([0.2])


def test_pattern_rows_of_tiny_weights():
    """The rows of a pattern (the MILP's exact re-check) are built like the search's: a
    neuron with weights 1e-170 is not constant."""
    net = pr.Network.from_dense([[[1e-170, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    rows = pattern_rows(net, [1, 0])
    assert len(rows) == 2
    assert np.allclose(rows[0][0], [-1.0, 0.0]) and np.allclose(rows[1][0], [0.0, 1.0])


# ====================================================================== rounding at large coordinates


@pytest.mark.parametrize("W, b, a, end, scale", [
    # z_1 = -x_1 2^-27 vanishes exactly at the end (0, 0)
    ([[-1, 0], [1, 1], [1, 2], [2, 0]], [0, -2, 0, 1], [-2**27, -3 * 2**27], [0, 0], 2**-27),
    # z_1 = (x_1 - x_2) 2^-24 + 8 vanishes exactly at the end (-2^27, 0), which is not where the
    # segment is computed from (its midpoint is nearer the origin)
    ([[2, -2], [1, 2], [-2, -1]], [8, 2, 1], [-2**27, 0], [2**25, 2**26], 2**-25),
])
def test_a_hyperplane_through_a_segment_end_is_no_sliver_at_large_coordinates(W, b, a, end, scale):
    """A neuron vanishing exactly at an end of a segment whose coordinates reach 1e8: composed
    with the segment's frame (one ulp about 1e-8) its zero may fall one ulp inside, a sliver of
    radius 1e-8 > eps. The exact reference composes the segment in rationals; every region's
    witness lies inside the segment."""
    Ws = [[w * scale for w in row] for row in W]
    truth = ref.exact_slice_patterns([Ws], [b], a, [[e - s] for s, e in zip(a, end)], [0], [1])
    net = net_of([np.array(Ws)], [np.array(b, float)])
    line = pr.Line(a, end)
    res = pr.count_regions(net, line, method="dfs")
    assert res.count == len(truth)
    regions = list(pr.enumerate_regions(net, line, method="dfs"))
    assert {tuple(int(v) for v in r.bits) for r in regions} == truth
    assert all(0 < r.coords[0] < 1 for r in regions)


def test_the_box_prefilter_tolerance_is_named_and_relative():
    """A neuron whose range over the domain's bounding box crosses 0 by less than BOX_RTOL times
    the size of its terms is fixed (and the decision counted near eps); by more, it is not."""
    from polyregions.search.engine import BOX_RTOL, box_signs

    G, c = np.array([[1.0], [1.0], [-1.0]]), np.array([-(1 - BOX_RTOL / 10) * 1e8, -(1 - 10 * BOX_RTOL) * 1e8, 1e8])
    box = (np.array([0.5e8]), np.array([0.5e8]))  # [0, 1e8]
    on, off, near = box_signs(G, c, box)
    assert off.tolist() == [True, False, False] and on.tolist() == [False, False, True]
    assert near.tolist() == [True, False, False]


def test_a_sliver_as_thin_as_its_coordinates_rounding_is_reported():
    """x - c and 3 x - fl(3 c) with c = 1e8 + 0.1 vanish 1e-8 apart (one ulp of 3c, over 3): the
    exact reference keeps the sliver between them (radius 5e-9 > eps = 1e-10), and so does the
    search, but a float at 1e8 places a hyperplane only to about 1e-8: the count says so
    (near_eps), though the radius is far from eps."""
    c = 1e8 + 0.1
    W, b = [[1.0], [3.0]], [-c, -3 * c]
    box = pr.Box([0.0], [2 * c])
    assert ref.exact_count([W], [b], ("box", [0], [2 * c]), eps=1e-10) == 3
    search = RegionSearch(net_of([np.array(W)], [np.array(b)]), box, 1e-10, "auto", True)
    leaves = list(search.run(search.root()))
    assert len(leaves) == 3 and search.stats.near_eps >= 1
    assert min(rho for _, rho, _, _ in leaves) > 10 * 1e-10  # not a decision near eps


def test_a_region_as_thin_as_its_coordinates_rounding_is_reported_without_a_near_empty_branch():
    """A box two float steps wide at 1e8 (3e-8) that no neuron cuts: one region (exact
    reference), of radius 1.5e-8, far above eps = 1e-10 and with no empty branch near it (the
    neuron's other side lies 1e8 away). Only the leaf's own thinness against its coordinates'
    rounding can say that the count is at the edge of what floats there hold."""
    c = 1e8
    hi = float(np.nextafter(np.nextafter(c, np.inf), np.inf))
    W, b = [[1.0]], [-1.0]
    assert ref.exact_count([W], [b], ("box", [c], [hi]), eps=1e-10) == 1
    search = RegionSearch(net_of([np.array(W)], [np.array(b)]), pr.Box([c], [hi]), 1e-10, "auto", True)
    leaves = list(search.run(search.root()))
    assert len(leaves) == 1 and search.stats.near_eps >= 1
    assert leaves[0][1] > 10 * 1e-10  # not a decision near eps


@pytest.mark.parametrize("far", [1e10, 1e21, 1e30])
def test_hyperplanes_far_from_the_origin_in_the_whole_space(far):
    """A neuron x_1 / far + 1 is the line x_1 = -far: it splits the two half-quadrants x_1 < 0 of
    the whole plane, 6 regions (exact reference); relu(x_1) + relu(x_2) scaled by 1 / far plus 1
    is positive everywhere, 4 regions. No solver takes a bound of 1e21 as finite: the search
    decides such a line in the limit, and says so (near_eps: floats do not hold both scales)."""
    W, b = [[1, 0], [0, 1], [1 / far, 0]], [0, 0, 1]
    assert ref.exact_count([W], [b], ("whole", 2)) == 6
    net = net_of([np.array(W, float)], [np.array(b, float)])
    res = pr.count_regions(net, pr.Whole(2), method="dfs")
    assert res.count == 6 and (res.stats.near_eps > 0) == (far > FAR_ROW_BOUND)  # decided in the limit: said
    deep = ([np.eye(2), np.array([[1 / far, 1 / far]])], [np.zeros(2), np.array([1.0])])
    assert ref.exact_count([w.tolist() for w in deep[0]], [c.tolist() for c in deep[1]], ("whole", 2)) == 4
    assert pr.count_regions(net_of(*deep), pr.Whole(2), method="dfs").count == 4
    patterns, leaves = search_patterns(net, pr.Whole(2), eps=1e-9)
    assert patterns == ref.exact_patterns([W], [b], ("whole", 2))
    for bits, x, _ in leaves:  # every witness has its pattern
        assert tuple(int(v) for v in net.pattern(x)) == bits


@pytest.mark.parametrize("seed", range(6))
def test_far_neurons_in_unbounded_domains_are_right_or_reported(seed):
    """Integer nets with one neuron's weights divided by 1e16 or 1e25 (its hyperplane that far out),
    in the whole plane and in an unbounded polytope: the exact reference's patterns, or a count
    that says near_eps > 0 (where later layers mix the far neuron with near ones, the limit is
    not the geometry)."""
    rng = np.random.default_rng(700 + seed)
    Ws, bs, n = [], [], 2
    for w in (int(rng.integers(2, 5)), int(rng.integers(1, 4))):
        Ws.append(rng.integers(-2, 3, size=(w, n)).astype(float))
        bs.append(rng.integers(-2, 3, size=w).astype(float))
        n = w
    l = seed % 2
    Ws[l][0] /= (1e16, 1e25)[seed % 3 % 2]
    bs[l][0] = bs[l][0] or 1.0
    net = net_of(Ws, bs)
    for domain, exact in ((pr.Whole(2), ("whole", 2)),
                          (pr.Polytope([[1.0, 1.0], [-1.0, 2.0]], [1.0, 3.0]),
                           ("polytope", [[1.0, 1.0], [-1.0, 2.0]], [1.0, 3.0]))):
        truth = ref.exact_patterns([W.tolist() for W in Ws], [b.tolist() for b in bs], exact)
        res = pr.count_regions(net, domain, method="dfs")
        patterns, _ = search_patterns(net, domain, eps=DEFAULT_EPS)
        assert res.count == len(patterns)
        assert patterns == truth or res.stats.near_eps > 0
