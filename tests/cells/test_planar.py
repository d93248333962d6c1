"""Tests of polyregions.cells.planar: the exact 1-D / 2-D algorithm against the search, closed forms,
an exact rational breakpoint sweep written here, and dense sampling."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from exact_reference import exact_count, exact_patterns, exact_slice_patterns
from polyregions.domains.slices import composed_search_problem

EPS = 1e-9


def _patterns(regions):
    return {r.pattern.tobytes() for r in regions}


def _both(net, domain, eps=EPS):
    """Planar and search regions of `net` on `domain` (the search on the composed network)."""
    planar = list(pr.enumerate_regions(net, domain, method="planar", eps=eps))
    dfs = list(pr.enumerate_regions(net, domain, method="dfs", eps=eps))
    return planar, dfs


def _integer_net(rng, n0, widths, low=-2, high=3, output=False):
    """Small integer weights and biases: coincident lines, lines through vertices and along
    edges, dead neurons and zero pre-activations are common."""
    Ws, bs, n = [], [], n0
    for w in widths:
        Ws.append(rng.integers(low, high, size=(w, n)).astype(float))
        bs.append(rng.integers(low, high, size=w).astype(float))
        n = w
    out = (rng.integers(-2, 3, size=(2, n)).astype(float), np.zeros(2)) if output else None
    return pr.Network.from_dense(Ws, bs, output=out)


# ---------------------------------------------------------------------------------------------
# closed forms for the degenerate cases

@pytest.mark.parametrize("method", ["planar", "dfs"])
@pytest.mark.parametrize("rows, biases, expected", [
    ([[1, 0], [0, 1], [1, 1]], [0, 0, 0], 6),          # three lines through one point: 2 * 3 sectors
    ([[1, 0], [0, 1], [1, -1]], [0, 0, 0], 6),
    ([[1, 1]], [-2], 1),                               # a line through the box's corner (1, 1) only
    ([[1, 0]], [-1], 1),                               # a line along the edge x = 1
    ([[1, 0], [1, 0]], [0, 0], 2),                     # the same line twice: both on or both off
    ([[1, 0], [-1, 0]], [0, 0], 2),                    # opposite orientations: (on, off) and (off, on)
    ([[0, 0], [1, 0]], [0, 0], 2),                     # a zero row is off everywhere
    ([[1, 0], [0, 1], [1, 1], [1, -1]], [0, 0, 0, 0], 8),  # four lines through the centre
    ([[1, 1], [1, -1]], [-1, -1], 3),                  # two lines meeting on the boundary at (1, 0)
])
def test_degenerate_first_layer_closed_forms(rows, biases, expected, method):
    net = pr.Network.from_dense([np.array(rows, float)], [np.array(biases, float)])
    box = pr.Box([-1, -1], [1, 1])
    assert pr.count_regions(net, box, method=method).count == expected


@pytest.mark.parametrize("method", ["planar", "dfs"])
def test_identically_zero_second_layer_neurons_do_not_split(method):
    # z = relu(x) - relu(x) is identically 0; z' has only dead inputs on x < 0 and bias 0
    W1 = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    W2 = np.array([[1.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    net = pr.Network.from_dense([W1, W2], [np.zeros(3), np.zeros(3)])
    regions = list(pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1]), method=method))
    # layer 1: x = 0 (twice) and y = 0 make 4 quadrants; the second layer splits none of them
    assert len(regions) == 4
    assert all(not r.bits[3] for r in regions)


@pytest.mark.parametrize("method", ["planar", "dfs"])
def test_a_neuron_zero_up_to_rounding_is_off(method):
    # z = relu(0.1 x) + relu(0.2 x) - relu(0.3 x) is 0 in exact arithmetic; in floating point
    # its slope on x > 0 is 0.1 + 0.2 - 0.3 = 5.6e-17: zero up to rounding, so off everywhere
    W1 = np.array([[0.1, 0.0], [0.2, 0.0], [0.3, 0.0]])
    net = pr.Network.from_dense([W1, np.array([[1.0, 1.0, -1.0]])], [np.zeros(3), np.zeros(1)])
    regions = list(pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1]), method=method))
    assert len(regions) == 2 and not any(r.bits[3] for r in regions)


# ---------------------------------------------------------------------------------------------
# planar against the search

@pytest.mark.parametrize("seed", range(6))
def test_random_dense_nets_on_2d_boxes_agree_with_the_search(seed, random_dense_net):
    rng = np.random.default_rng(seed)
    net = random_dense_net(rng, 2, [8, 7, 6])
    planar, dfs = _both(net, pr.Box([-1, -1], [1.5, 1]))
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)


@pytest.mark.parametrize("seed", range(8))
def test_integer_nets_with_degeneracies_agree_with_the_search(seed):
    rng = np.random.default_rng(100 + seed)
    net = _integer_net(rng, 2, [6, 6])
    planar, dfs = _both(net, pr.Box([-2, -2], [2, 2]))
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)


@pytest.mark.parametrize("seed", range(4))
def test_planes_through_dense_nets_agree_with_the_search(seed, random_dense_net):
    rng = np.random.default_rng(200 + seed)
    net = random_dense_net(rng, 7, [10, 10])
    plane = pr.Plane(rng.normal(size=7), rng.normal(size=7), 3 * rng.normal(size=7), [-1, -0.5], [1, 0.5])
    planar, dfs = _both(net, plane)
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)
    ny, dy = plane.search_problem(net)
    assert pr.count_regions(ny, dy, method="dfs").count == len(planar)


@pytest.mark.parametrize("seed", range(3))
def test_planes_through_conv_nets_agree_with_the_search(seed):
    rng = np.random.default_rng(300 + seed)
    w1, b1 = rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2)
    w2, b2 = rng.normal(size=(2, 2, 2, 2)), rng.normal(size=2)
    Wd, bd = rng.normal(size=(4, 8)), rng.normal(size=4)
    net = pr.Network([pr.Conv2d(w1, b1), pr.AvgPool2d((2, 2), 1), pr.Conv2d(w2, b2), pr.Flatten(), pr.Dense(Wd, bd)],
                     input_shape=(1, 5, 5))
    plane = pr.Plane.through(*rng.normal(size=(3, 25)))
    planar, dfs = _both(net, plane)
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)


def test_plane_through_a_vertex_of_the_first_layer_arrangement():
    # the plane z = 0 of R^3 with three first-layer planes through the line x = y = 0:
    # on the slice, three lines through one point
    W1 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 2.0]])
    net = pr.Network.from_dense([W1, np.ones((2, 3))], [np.zeros(3), np.array([-1.0, 0.5])])
    plane = pr.Plane([0, 0, 0], [1, 0, 0], [0, 1, 0], -1, 1)
    planar, dfs = _both(net, plane)
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)


@pytest.mark.parametrize("domain", [
    pr.Ball([0.2, -0.1], 1.3, p=1),
    pr.Ball([0.2, -0.1], 0.9, p=np.inf),
    pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0], [1.0, -2.0]], [1.0, 1.0, 1.0, 1.5]),
])
def test_other_2d_domains_agree_with_the_search(domain, random_dense_net):
    net = random_dense_net(np.random.default_rng(7), 2, [9, 9])
    planar, dfs = _both(net, domain)
    assert len(planar) == len(dfs) and _patterns(planar) == _patterns(dfs)


def test_thin_regions_follow_the_same_eps_rule(random_dense_net):
    net = random_dense_net(np.random.default_rng(11), 2, [12, 12, 12])
    box = pr.Box([-1, -1], [1, 1])
    radii = sorted(r.radius for r in pr.enumerate_regions(net, box, method="planar", eps=1e-12))
    eps = float(np.sqrt(radii[2] * radii[3]))  # between the third and fourth thinnest regions
    planar = pr.count_regions(net, box, method="planar", eps=eps)
    dfs = pr.count_regions(net, box, method="dfs", eps=eps)
    assert planar.count == dfs.count == len(radii) - 3
    assert planar.stats.min_radius > eps


def test_dense_sampling_finds_only_enumerated_patterns(random_dense_net):
    rng = np.random.default_rng(12)
    net = random_dense_net(rng, 6, [10, 10, 10])
    plane = pr.Plane.through(*rng.normal(size=(3, 6)))
    regions = list(pr.enumerate_regions(net, plane))
    found = _patterns(regions)
    x = plane.sample(20000, rng)
    sampled = {np.packbits(p).tobytes() for p in net.pattern(x)}
    assert sampled <= found
    assert len(found) == len(regions)
    # every region's reported inradius disc lies in its pattern's region
    for r in regions[:50]:
        ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        ring = r.coords + 0.999 * r.radius * np.column_stack([np.cos(ang), np.sin(ang)]) @ np.linalg.inv(plane.frame()[2]).T
        assert (net.pattern(plane.to_input(ring)) == r.bits).all()


def test_areas_add_up_to_the_domain(random_dense_net):
    net = random_dense_net(np.random.default_rng(13), 2, [10, 10])
    regions = list(pr.enumerate_regions(net, pr.Box([-1, -2], [2, 1])))
    assert sum(r.size for r in regions) == pytest.approx(9.0, rel=1e-9)
    plane = pr.Plane([0, 0, 0], [2, 0, 0], [1, 1, 0], 0, 1)  # a parallelogram of area |u x v| = 2
    net3 = random_dense_net(np.random.default_rng(14), 3, [8, 8])
    assert sum(r.size for r in pr.enumerate_regions(net3, plane)) == pytest.approx(2.0, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# one dimension against an exact rational sweep

def _exact_line_patterns(Ws, bs, a, b):
    """The patterns met along ``a + s (b - a)``, s in [0, 1], with the length (in s) of each, by
    exact rational arithmetic: from each breakpoint, the pattern just after it and the next
    point where a neuron of that pattern's affine maps changes sign."""
    Ws = [[[Fraction(v) for v in row] for row in W] for W in Ws]
    bs = [[Fraction(v) for v in b_] for b_ in bs]
    a = [Fraction(v) for v in a]
    d = [Fraction(v) for v in b] 
    d = [bi - ai for ai, bi in zip(a, d)]
    s, out = Fraction(0), []
    while s < 1:
        pattern, nxt = [], Fraction(1)
        h0, h1 = a, d  # h = h0 + s h1 on the piece just after s
        for W, bias in zip(Ws, bs):
            z0 = [sum(w * x for w, x in zip(row, h0)) + c for row, c in zip(W, bias)]
            z1 = [sum(w * x for w, x in zip(row, h1)) for row in W]
            on = []
            for c0, c1 in zip(z0, z1):
                at_s = c0 + c1 * s
                on.append(at_s > 0 or (at_s == 0 and c1 > 0))
                if c1 != 0 and -c0 / c1 > s:
                    nxt = min(nxt, -c0 / c1)
            pattern += on
            h0 = [c if o else Fraction(0) for c, o in zip(z0, on)]
            h1 = [c if o else Fraction(0) for c, o in zip(z1, on)]
        if out and out[-1][0] == pattern:
            out[-1][1] += nxt - s
        else:
            out.append([pattern, nxt - s])
        s = nxt
    return out


@pytest.mark.parametrize("seed", range(10))
def test_lines_match_an_exact_breakpoint_sweep(seed):
    rng = np.random.default_rng(400 + seed)
    n0 = int(rng.integers(1, 5))
    net = _integer_net(rng, n0, [5, 4, 3])
    a = rng.integers(-3, 4, size=n0).astype(float)
    b = a + rng.integers(1, 4, size=n0)
    line = pr.Line(a, b)
    exact = _exact_line_patterns([W for W, _ in net.hidden], [c for _, c in net.hidden], a, b)
    counted = [(p, length) for p, length in exact if float(length) * line.length > 2 * EPS]
    regions = list(pr.enumerate_regions(net, line, method="planar", eps=EPS))
    assert len(regions) == len(counted)
    assert _patterns(regions) == {np.packbits(np.array(p, bool)).tobytes() for p, _ in counted}
    lengths = sorted(r.size for r in regions)
    assert np.allclose(lengths, sorted(float(length) * line.length for _, length in counted), rtol=1e-9)
    assert pr.count_regions(net, line, method="dfs").count == len(regions)


@pytest.mark.parametrize("piece, expected", [(1.5e-9, 2), (2.5e-9, 3)])
def test_a_short_piece_counts_by_its_half_length(piece, expected):
    """Breakpoints at 0 and `piece`: the piece between them holds a segment of radius piece / 2,
    counted when that exceeds eps = 1e-9 (the exact reference, at the same eps)."""
    W, b = [[1.0], [1.0]], [0.0, -piece]
    assert exact_count([W], [b], ("box", [-1], [1]), eps=EPS) == expected
    net = pr.Network.from_dense([np.array(W)], [np.array(b)])
    for domain in (pr.Box([-1.0], [1.0]), pr.Line([-1.0], [1.0])):
        for method in ("planar", "dfs"):
            assert pr.count_regions(net, domain, method=method, eps=EPS).count == expected


def test_a_neuron_zero_up_to_rounding_is_off_on_a_line():
    """relu(0.1 x) + relu(0.2 x) - relu(0.3 x) has slope 5.6e-17 on x > 0 in floating point: zero up
    to rounding, so off everywhere, in planar as in the search (1-D as in 2-D)."""
    net = pr.Network.from_dense([np.array([[0.1], [0.2], [0.3]]), np.array([[1.0, 1.0, -1.0]])],
                                [np.zeros(3), np.zeros(1)])
    for domain in (pr.Box([-1.0], [1.0]), pr.Line([1.0], [-2.0])):
        planar, dfs = _both(net, domain)
        assert _patterns(planar) == _patterns(dfs)
        assert len(planar) == 2 and not any(r.bits[3] for r in planar)


def test_one_dimensional_inputs_in_every_bounded_domain(random_dense_net):
    net = random_dense_net(np.random.default_rng(15), 1, [9, 9])
    W, c = net.hidden[0]
    for domain in [pr.Box([-1.0], [2.0]), pr.Ball([0.5], 1.5, p=2), pr.Ball([0.5], 1.5, p=1),
                   pr.Polytope([[1.0], [-2.0]], [2.0, 2.0])]:
        planar = pr.count_regions(net, domain, method="planar").count
        assert planar == pr.count_regions(net, domain, method="dfs").count


def test_a_one_dimensional_polytope_is_its_interval_not_its_bounding_box():
    """z = x - 2 on the polytope x <= 2, -x <= 1.5: the breakpoint x = 2 is the polytope's end,
    so one region (the exact reference); a box padded outwards would hold a second one."""
    net = pr.Network.from_dense([np.array([[1.0]])], [np.array([-2.0])])
    polytope = pr.Polytope([[1.0], [-1.0]], [2.0, 1.5])
    assert exact_count([[[1]]], [[-2]], ("polytope", [[1], [-1]], [2, 1.5])) == 1
    for method in ("planar", "dfs"):
        assert pr.count_regions(net, polytope, method=method).count == 1


@pytest.mark.parametrize("seed", range(6))
def test_one_dimensional_integer_polytopes_match_the_exact_reference(seed):
    """Integer nets whose breakpoints fall on the polytope's ends (integer and half-integer)."""
    rng = np.random.default_rng(500 + seed)
    net = _integer_net(rng, 1, [4, 3])
    lo, hi = sorted(rng.choice(np.arange(-6, 7) / 2, size=2, replace=False))
    rows, rhs = [[2.0], [-1.0], [3.0]], [2 * hi, -lo, 3 * hi + 1]  # a redundant row too
    polytope = pr.Polytope(rows, rhs)
    truth = exact_patterns([W.tolist() for W, _ in net.hidden], [b.tolist() for _, b in net.hidden],
                           ("polytope", rows, rhs))
    regions = list(pr.enumerate_regions(net, polytope, method="planar"))
    assert {tuple(int(v) for v in r.bits) for r in regions} == truth
    assert pr.count_regions(net, polytope, method="dfs").count == len(truth)


# ---------------------------------------------------------------------------------------------
# long lines and large planes: right, or reported near-degenerate

def _bits_set(regions):
    return {tuple(int(v) for v in r.bits) for r in regions}


def test_long_lines_keep_every_region():
    """The segment from -s d to s d crosses the 13 regions of the exact reference (computed at
    s = 1e12, composed in rationals) for every s from 1e4 on; the tolerance must follow the
    size of the numbers at each point, not the segment's length."""
    rng = np.random.default_rng(0)
    Ws, bs = [rng.normal(size=(8, 3)), rng.normal(size=(8, 8))], [rng.normal(size=8), rng.normal(size=8)]
    net = pr.Network.from_dense(Ws, bs)
    d = rng.normal(size=3)
    truth = exact_slice_patterns([W.tolist() for W in Ws], [b.tolist() for b in bs], -1e12 * d,
                                 [[2e12 * v] for v in d], [0], [1])
    assert len(truth) == 13
    for s in (1e4, 1e9, 1e10, 1e11, 1e12):
        res = pr.count_regions(net, pr.Line(-s * d, s * d), method="planar")
        assert res.count == 13 or res.stats.near_eps > 0
        assert _bits_set(pr.enumerate_regions(net, pr.Line(-s * d, s * d), method="planar")) == truth
        assert res.count == 13


@pytest.mark.parametrize("eps", [1e-9, 1e-13])
def test_decisions_of_the_rounding_tolerance_are_reported(eps):
    """Breakpoints at 1 and 1 + 3e-12 (z_1 = x - 1, z_2 = x - 1 - 3e-12): z_2 at the first is
    -3e-12, within its tolerance (ZERO_RTOL times its terms, about 2): they count as one
    breakpoint. The exact reference keeps the sliver between them at eps = 1e-13 (half-length
    1.5e-12), not at 1e-9: the count must be right, or say near_eps > 0 (the tolerance decided
    3e-12 from the zero, farther than eps). The same in the plane (three lines meeting within
    3e-12 of one point), and at coordinates near 1e8, where the neurons x - c and 3 x - fl(3 c)
    (c = 1e8 + 0.1) vanish 1e-8 apart (one ulp of 3c over 3): a sliver the exact reference keeps
    at eps = 1e-9 and 1e-13."""
    c = 1 + 3e-12
    W, b = [[1.0], [1.0]], [-1.0, -c]
    net = pr.Network.from_dense([np.array(W)], [np.array(b)])
    truth = exact_count([W], [b], ("box", [0], [2]), eps=eps)
    assert truth == (2 if eps == 1e-9 else 3)
    res = pr.count_regions(net, pr.Box([0.0], [2.0]), method="planar", eps=eps)
    assert res.count == truth or res.stats.near_eps > 0
    W2, b2 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [-1.0, -1.0, -2.0 - 3e-12]
    net2 = pr.Network.from_dense([np.array(W2)], [np.array(b2)])
    truth2 = exact_count([W2], [b2], ("box", [0, 0], [2, 2]), eps=eps)
    res2 = pr.count_regions(net2, pr.Box([0.0, 0.0], [2.0, 2.0]), method="planar", eps=eps)
    assert res2.count == truth2 or res2.stats.near_eps > 0
    if eps < 1e-9:
        assert res.count != truth and res2.count != truth2  # so the reports above were needed
    c = 1e8 + 0.1
    W3, b3 = [[1.0], [3.0]], [-c, -3 * c]
    truth3 = exact_count([W3], [b3], ("box", [0], [2 * c]), eps=eps)
    assert truth3 == 3
    for method in ("planar", "dfs"):
        res3 = pr.count_regions(pr.Network.from_dense([np.array(W3)], [np.array(b3)]), pr.Box([0.0], [2 * c]),
                                method=method, eps=eps)
        assert res3.count == truth3 or res3.stats.near_eps > 0, method


def test_large_planes_keep_every_region():
    """The square [-L, L]^2 of the plane z = 0 holds the 65 regions of the exact reference
    (computed at L = 1e200: the pattern set of a box holding every vertex) for L from 1e4 to
    1e200; new vertices far from the long edges they cut must not inherit those edges' rounding."""
    rng = np.random.default_rng(0)
    Ws, bs = [rng.normal(size=(6, 3)), rng.normal(size=(5, 6))], [rng.normal(size=6), rng.normal(size=5)]
    net = pr.Network.from_dense(Ws, bs)
    truth = exact_slice_patterns([W.tolist() for W in Ws], [b.tolist() for b in bs], [0, 0, 0],
                                 [[1, 0], [0, 1], [0, 0]], [-1e200, -1e200], [1e200, 1e200])
    assert len(truth) == 65
    e1, e2 = np.eye(3)[:2]
    for L in (1e4, 1e14, 1e16, 1e20, 1e100, 1e200):
        plane = pr.Plane(np.zeros(3), e1, e2, -L, L)
        res = pr.count_regions(net, plane, method="planar")
        assert res.count == 65 or res.stats.near_eps > 0, L
        assert _bits_set(pr.enumerate_regions(net, plane, method="planar")) == truth, L


# ---------------------------------------------------------------------------------------------
# methods, errors and statistics

def test_auto_uses_planar_where_it_applies(random_dense_net):
    net = random_dense_net(np.random.default_rng(16), 2, [6])
    res = pr.count_regions(net, pr.Box([-1, -1], [1, 1]))
    assert res.stats.lp_solves == 0  # no LP: the planar algorithm
    res = pr.count_regions(net, pr.Ball([0, 0], 1.0, p=2))
    assert res.stats.lp_solves > 0  # the L2 disc goes to the search


@pytest.mark.parametrize("domain, match", [
    (pr.Ball([0.0, 0.0], 1.0, p=2), "an L2 disc"),
    (pr.Whole(2), "Whole"),
    (pr.Box(-np.ones(3), np.ones(3)), "3 dimensions"),
    (pr.Polytope([[1.0, 0.0]], [1.0]), "Polytope"),
])
def test_planar_refuses_what_it_cannot_serve(domain, match, random_dense_net):
    net = random_dense_net(np.random.default_rng(17), domain.dim, [4])
    with pytest.raises(pr.UnsupportedError, match=match):
        pr.count_regions(net, domain, method="planar")
    with pytest.raises(pr.UnsupportedError, match=match):
        pr.enumerate_regions(net, domain, method="planar")


def test_unknown_method_is_named(random_dense_net):
    net = random_dense_net(np.random.default_rng(18), 2, [4])
    with pytest.raises(pr.InvalidInputError, match="`method` must be one of"):
        pr.count_regions(net, pr.Box([-1, -1], [1, 1]), method="fast")
    with pytest.raises(pr.InvalidInputError, match="`method` must be one of"):
        pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1]), method="milp")


def test_max_regions_and_statistics(random_dense_net):
    net = random_dense_net(np.random.default_rng(19), 2, [10, 10])
    box = pr.Box([-1, -1], [1, 1])
    full = pr.count_regions(net, box, method="planar")
    part = pr.count_regions(net, box, method="planar", max_regions=3)
    assert part.count == 3 and not part.complete and part.stopped == "max_regions"
    assert full.complete and full.stats.eps == EPS
    assert full.stats.min_radius == pytest.approx(min(r.radius for r in pr.enumerate_regions(net, box)))


def test_many_lines_in_general_position_give_zaslavsky_count(zaslavsky):
    """120 random lines, in a box holding all their crossings: 1 + 120 + C(120, 2) regions (this
    also takes the kernels' buffers far past their first sizes)."""
    rng = np.random.default_rng(21)
    angles = np.pi * (np.arange(120) + rng.uniform(0.2, 0.8, 120)) / 120  # no two lines nearly parallel
    W, b = np.column_stack([np.cos(angles), np.sin(angles)]), rng.normal(size=120)
    crossings = [np.linalg.solve(W[[i, j]], -b[[i, j]]) for i in range(120) for j in range(i)]
    reach = 1.01 * np.abs(crossings).max()
    net = pr.Network.from_dense([W], [b])
    res = pr.count_regions(net, pr.Box([-reach, -reach], [reach, reach]), method="planar", eps=1e-12)
    assert res.count == zaslavsky(2, 120)


@pytest.mark.parametrize("method", ["planar", "dfs"])
def test_three_nearly_parallel_lines_crossing_far_away(method):
    """Three lines within 0.005 rad of each other, crossing up to 7.5e5 from the origin: the
    long thin wedges between them (inradii 0.006 to 0.6) are 7 regions in a box holding
    the crossings."""
    W = np.array([[0.6939247628614134, -0.1196149568737294], [-1.045279424641642, 0.17390955321529164],
                  [1.9926526478415145, -0.331526522350224]])
    b = np.array([-2.1001051526512886, 0.11862428149034983, 2.2671920580788893])
    crossings = [np.linalg.solve(W[[i, j]], -b[[i, j]]) for i in range(3) for j in range(i)]
    reach = 1.01 * np.abs(crossings).max()
    net = pr.Network.from_dense([W], [b])
    res = pr.count_regions(net, pr.Box([-reach, -reach], [reach, reach]), method=method, eps=1e-12)
    assert res.count == 7


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=30, deadline=None, derandomize=True)
@hypothesis.given(seed=st.integers(0, 2**32 - 1), n0=st.integers(2, 4), width=st.integers(2, 5),
                  depth=st.integers(1, 3))
def test_integer_planes_agree_with_the_search(seed, n0, width, depth):
    """Integer weights, biases and plane points (degenerate arrangements everywhere): the
    planar patterns are the search's."""
    rng = np.random.default_rng(seed)
    net = _integer_net(rng, n0, [width] * depth)
    pts = rng.integers(-2, 3, size=(3, n0)).astype(float)
    try:
        plane = pr.Plane.through(*pts, margin=0.5)
    except pr.InvalidInputError:  # collinear or repeated points: no plane
        return
    planar, dfs = _both(net, plane)
    assert _patterns(planar) == _patterns(dfs)


@pytest.mark.parametrize("tiny", [1e-165, 1e-200, 1e-300])
def test_tiny_weights_still_cut(tiny):
    """z = (tiny x, y): the lines x = 0 and y = 0 cut the box into 4 quadrants, and a segment
    through the origin along the diagonal into 2 pieces; squaring 1e-165 would underflow."""
    net = pr.Network.from_dense([np.array([[tiny, 0.0], [0.0, 1.0]])], [np.zeros(2)])
    regions = list(pr.enumerate_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), method="planar"))
    assert sorted(tuple(net.pattern(r.point)) for r in regions) == [(a, b) for a in (False, True)
                                                                      for b in (False, True)]
    line = pr.Line(np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    assert pr.count_regions(net, line, method="planar").count == 2


# ---------------------------------------------------------------------------------------------
# planar, the search and the exact rational reference on slices scaled from 1e-8 to 1e12

#: Integer directions of rational length (|d| = 3, 7, 9, 11, 5) and the rows of integer orthogonal
#: matrices (each pair of rows: a conformal frame, |u| = |v|, u . v = 0), so that radii on a
#: slice are rational multiples of radii in slice coordinates and the reference decides eps exactly.
DIRECTIONS = [((1, 2, 2), 3), ((2, 3, 6), 7), ((1, 4, 8), 9), ((2, 6, 9), 11), ((0, 3, 4), 5)]
FRAMES = [(((1, 2, 2), (2, 1, -2), (2, -2, 1)), 3), (((2, 3, 6), (3, -6, 2), (6, 2, -3)), 7),
          (((1, 4, 8), (4, 7, -4), (8, -4, 1)), 9)]
SCALED_EPS = 1e-9


def _scaled_net(rng, sigma, scale_net, widths):
    """Integer weights and biases; with `scale_net` the first layer divided by `sigma` (a power
    of 2), so that the arrangement grows with the slice."""
    Ws, bs, n = [], [], 3
    for w in widths:
        Ws.append(rng.integers(-2, 3, size=(w, n)).astype(float))
        bs.append(rng.integers(-2, 3, size=w).astype(float))
        n = w
    if scale_net:
        Ws[0] = Ws[0] / sigma
    return Ws, bs


def _check_against_exact(net, Ws, bs, domain, origin, U, lo, hi, metric):
    """Planar and the search find the exact reference's patterns (each once), or say that a
    decision was near eps or near their rounding tolerance (``stats.near_eps > 0``)."""
    truth = exact_slice_patterns([W.tolist() for W in Ws], [b.tolist() for b in bs], origin, U, lo, hi,
                                 eps=SCALED_EPS, metric=metric)
    for method in ("planar", "dfs"):
        regions = list(pr.enumerate_regions(net, domain, method=method, eps=SCALED_EPS))
        res = pr.count_regions(net, domain, method=method, eps=SCALED_EPS)
        assert res.count == len(regions)
        if res.stats.near_eps == 0:
            assert len(regions) == len(truth) and _bits_set(regions) == truth, method


@hypothesis.settings(max_examples=25, deadline=None, derandomize=True)
@hypothesis.given(seed=st.integers(0, 2**32 - 1), k=st.integers(-27, 40), scale_net=st.booleans(),
                  direction=st.sampled_from(DIRECTIONS), symmetric=st.booleans())
def test_scaled_lines_agree_with_the_search_and_the_exact_reference(seed, k, scale_net, direction, symmetric):
    """Segments of length 2^k |d| (about 1e-8 to 1e12) through integer nets, the nets' first layer
    scaled by 2^-k or not (regions that grow with the segment, or a fixed arrangement crossed
    by a long segment)."""
    rng = np.random.default_rng(seed)
    sigma = 2.0**k
    Ws, bs = _scaled_net(rng, sigma, scale_net, [4, 3])
    net = pr.Network.from_dense(Ws, bs)
    d, norm = np.array(direction[0], float), direction[1]
    start = -d / 2 if symmetric else rng.integers(-2, 3, size=3) / 2
    a, b = sigma * start, sigma * (start + d)
    _check_against_exact(net, Ws, bs, pr.Line(a, b), a.tolist(), [[v] for v in (b - a)], [0], [1], sigma * norm)


@hypothesis.settings(max_examples=15, deadline=None, derandomize=True)
@hypothesis.given(seed=st.integers(0, 2**32 - 1), k=st.integers(-27, 40), scale_net=st.booleans(),
                  frame=st.sampled_from(FRAMES), rows=st.permutations(range(3)))
def test_scaled_planes_agree_with_the_search_and_the_exact_reference(seed, k, scale_net, frame, rows):
    """Rectangles of sides up to 3 |u| 2^k in a conformal frame (about 1e-8 to 1e12)."""
    rng = np.random.default_rng(seed)
    sigma = 2.0**k
    Ws, bs = _scaled_net(rng, sigma, scale_net, [4, 3])
    net = pr.Network.from_dense(Ws, bs)
    (rows_, norm), (i, j) = frame, rows[:2]
    u, v = sigma * np.array(rows_[i], float), sigma * np.array(rows_[j], float)
    origin = sigma * rng.integers(-1, 2, size=3) / 2
    lo = rng.integers(-3, 1, size=2) / 2
    hi = lo + rng.integers(1, 4, size=2) / 2
    plane = pr.Plane(origin, u, v, lo, hi)
    _check_against_exact(net, Ws, bs, plane, origin.tolist(), [[p, q] for p, q in zip(u, v)], lo.tolist(),
                         hi.tolist(), sigma * norm)


def _he_net(widths, seed):
    rng = np.random.default_rng(seed)
    dims = [2] + list(widths)
    return pr.Network.from_dense([rng.normal(size=(b, a)) * np.sqrt(2 / a) for a, b in zip(dims, dims[1:])],
                                 [rng.normal(size=b) * 0.1 for b in dims[1:]])


@pytest.mark.parametrize("widths, anyway", [([8, 7], True), ([7, 6, 5], True), ([3, 5, 4, 6], True),
                                            ([9, 8, 7], False), ([64, 63], False)])
def test_a_count_whose_products_run_on_one_blas_thread_is_told_so(monkeypatch, widths, anyway):
    """Every batch of cells a layer's maps are made for holds at most the closed-form bound
    (1 + n + n (n - 1) / 2 pieces of a cell cut by n lines, per layer, at most BATCH_BYTES' worth),
    and the count is told it needs no thread limit exactly when every product within the bound
    runs on one BLAS thread (the count itself checked against the search)."""
    from polyregions.cells import planar
    from polyregions.search.blas import one_thread_product

    net, box = _he_net(widths, seed=len(widths)), pr.Box([-1, -1], [1, 1])
    assert planar.one_blas_thread_anyway(net, box) is anyway
    assert not planar.one_blas_thread_anyway(net, pr.Line([0, 0], [1, 1]))  # one dimension: not bounded here
    bounds, cells = [], 1
    for n, n_next in zip(widths, widths[1:]):
        cells = min(cells * (1 + n + n * (n - 1) // 2), max(64, planar.BATCH_BYTES // (36 * n_next)))
        bounds.append(cells)
    assert anyway == all(one_thread_product(3 * c, n, m) for c, n, m in zip(bounds, widths, widths[1:]))
    seen = []
    live_maps = planar.live_maps

    def spy(A, S, parent, bits, k0, k1):
        seen.append((widths.index(A.shape[2]), k1 - k0))
        return live_maps(A, S, parent, bits, k0, k1)

    monkeypatch.setattr(planar, "live_maps", spy)
    count = planar.count_planar(net, box, eps=1e-9).count  # the batched path (small counts take one compiled call)
    assert count == pr.count_regions(net, box, method="dfs", eps=1e-9).count
    assert {layer for layer, _ in seen} == set(range(len(widths) - 1))
    assert all(chunk <= bounds[layer] for layer, chunk in seen)
