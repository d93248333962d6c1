"""Tests of polyregions.api: exact counts against formulas and independent references.

Every expected count below comes from a closed form (Zaslavsky), from an exact 1-D sweep
written here, from uniform sampling (a lower bound on the set of patterns), or from a
hand computation written out in the test's docstring. ``eps = 1e-7`` unless the test is
about ``eps``.
"""

from __future__ import annotations

import doctest
import math
import os

import numpy as np
import pytest

import polyregions as pr

EPS = 1e-7


def patterns_of(net, domain, **kw):
    """The enumerated patterns as a set of 0/1 tuples (and the regions themselves)."""
    regions = list(pr.enumerate_regions(net, domain, eps=kw.pop("eps", EPS), **kw))
    pats = [tuple(int(v) for v in r.bits) for r in regions]
    assert len(set(pats)) == len(pats), "a pattern was enumerated twice"
    return set(pats), regions


def count(net, domain, **kw):
    return pr.count_regions(net, domain, eps=kw.pop("eps", EPS), **kw).count


def net_of(weights, biases, output=None):
    return pr.Network.from_dense(weights, biases, output=output)


def simplex(dim, lo=-1.0, total=1.0):
    """The simplex ``x_k >= lo, sum_k x_k <= total`` as a Polytope."""
    A = np.vstack([-np.eye(dim), np.ones((1, dim))])
    b = np.concatenate([np.full(dim, -lo), [total]])
    return pr.Polytope(A, b)


def sample_simplex(dim, n, rng, lo=-1.0, total=1.0):
    """Uniform points of the simplex above (exponential spacings), independent of polyregions."""
    e = rng.exponential(size=(n, dim + 1))
    s = e[:, :dim] / e.sum(axis=1, keepdims=True)
    return lo + (total - dim * lo) * s


# ====================================================================== one layer, whole space


ZASLAVSKY_GRID = [(n0, n1) for n0 in (1, 2, 3, 4) for n1 in sorted({1, max(1, n0 - 1), n0, n0 + 1, 2 * n0, 8})]


@pytest.mark.parametrize("n0, n1", ZASLAVSKY_GRID, ids=lambda v: str(v))
def test_one_layer_whole_space_is_zaslavsky(n0, n1, rng, random_dense_net, zaslavsky):
    """n1 hyperplanes in general position in R^n0 cut it into sum_{i<=n0} C(n1, i) regions."""
    net = random_dense_net(rng, n0, [n1])
    res = pr.count_regions(net, pr.Whole(n0), eps=EPS)
    assert res.complete
    assert res.count == zaslavsky(n0, n1)


def test_zaslavsky_reference_values(zaslavsky):
    assert zaslavsky(2, 3) == 7
    assert zaslavsky(3, 3) == 8
    assert zaslavsky(2, 8) == 37
    assert zaslavsky(4, 8) == 163
    assert zaslavsky(5, 2) == 4


# ====================================================================== 1-D input, any depth


def sweep_1d(weights, biases, lo, hi):
    """Exact pieces of a network with one input on [lo, hi], by a breakpoint sweep.

    Layer by layer: on each current piece (between sorted breakpoints) the earlier layers'
    pattern is constant, so every pre-activation of layer l is affine in x there,
    ``z = g x + c``; its zero crossing inside the piece becomes a breakpoint. Returns the
    sorted breakpoints and the pattern at each piece's midpoint (plain numpy).
    """
    breaks = {float(lo), float(hi)}
    for l in range(len(weights)):
        pts = sorted(breaks)
        for a, b in zip(pts[:-1], pts[1:]):
            mid = 0.5 * (a + b)
            alpha, beta = np.ones(1), np.zeros(1)  # h = alpha x + beta on (a, b)
            for k in range(l):
                g = weights[k] @ alpha
                c = weights[k] @ beta + biases[k]
                on = g * mid + c > 0
                alpha, beta = np.where(on, g, 0.0), np.where(on, c, 0.0)
            g = weights[l] @ alpha
            c = weights[l] @ beta + biases[l]
            for gj, cj in zip(g, c):
                if gj != 0:
                    x0 = -cj / gj
                    if a < x0 < b:
                        breaks.add(float(x0))
    pts = np.array(sorted(breaks))
    mids = 0.5 * (pts[:-1] + pts[1:])
    h = mids[:, None]
    bits = []
    for W, b in zip(weights, biases):
        z = h @ W.T + b
        bits.append(z > 0)
        h = np.maximum(z, 0.0)
    return pts, np.concatenate(bits, axis=1)


def maximal_runs(pts, pats):
    """Maximal intervals of constant pattern: list of (start, end, pattern)."""
    runs = []
    start = pts[0]
    for k in range(len(pats)):
        last = k == len(pats) - 1
        if last or not np.array_equal(pats[k], pats[k + 1]):
            runs.append((start, pts[k + 1], tuple(int(v) for v in pats[k])))
            start = pts[k + 1]
    return runs


def test_sweep_1d_reference_on_a_hand_example():
    """h1 = relu(x), h2 = relu(-x + 1) on [-2, 2]: breakpoints 0 and 1, patterns
    (0,1) on (-2,0), (1,1) on (0,1), (1,0) on (1,2). Layer 2: z = h1 - h2: on (0,1) z = 2x - 1
    crosses at 1/2; on (-2,0) z = x - 1 < 0; on (1,2) z = x > 0. Five pieces, five patterns."""
    weights = [np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])]
    biases = [np.array([0.0, 1.0]), np.array([0.0])]
    pts, pats = sweep_1d(weights, biases, -2.0, 2.0)
    np.testing.assert_allclose(pts, [-2.0, 0.0, 0.5, 1.0, 2.0])
    runs = maximal_runs(pts, pats)
    assert [r[2] for r in runs] == [(0, 1, 0), (1, 1, 0), (1, 1, 1), (1, 0, 1)]
    net = net_of(weights, biases)
    assert count(net, pr.Box([-2.0], [2.0])) == 4


ONE_D_WIDTHS = [(3,), (8,), (4, 4), (8, 8), (2, 6), (3, 5, 4), (8, 8, 8), (6, 2, 7)]


@pytest.mark.parametrize("widths", ONE_D_WIDTHS, ids=lambda w: "x".join(map(str, w)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_1d_counts_equal_the_exact_sweep(widths, seed, numpy_pattern):
    rng = np.random.default_rng(1000 + seed)
    lo, hi = -3.0, 3.0
    weights, biases = [], []
    n_in = 1
    for n in widths:
        weights.append(rng.normal(size=(n, n_in)))
        biases.append(rng.normal(size=n))
        n_in = n
    net = net_of(weights, biases)
    pts, pats = sweep_1d(weights, biases, lo, hi)
    runs = maximal_runs(pts, pats)
    distinct = {r[2] for r in runs}
    # in 1-D a pattern's region is an intersection of half-lines: adjacent merging and
    # counting distinct patterns agree
    assert len(distinct) == len(runs)
    # the reference's pieces are well above eps, so the count does not depend on eps
    assert min(b - a for a, b, _ in runs) > 1e-4
    # the midpoint patterns agree with a plain numpy evaluation at a second point of each run
    for a, b, pat in runs:
        x = a + 0.3 * (b - a)
        assert tuple(int(v) for v in numpy_pattern(weights, biases, [[x]])[0]) == pat
    got, regions = patterns_of(net, pr.Box([lo], [hi]))
    assert got == distinct
    assert count(net, pr.Box([lo], [hi])) == len(runs)
    for r in regions:  # each region's point lies in the run of its pattern
        (a, b), = [(a, b) for a, b, p in runs if p == tuple(int(v) for v in r.bits)]
        assert a < r.point[0] < b
        assert r.radius <= 0.5 * (b - a) * (1 + 1e-9)


# ====================================================================== one layer in a convex domain


def arrangement_count_2d(G, c, meets_line, inside_point):
    """Regions of lines ``g_i . x + c_i = 0`` in general position inside an open convex set K:
    1 + (lines meeting K) + (pairwise intersection points inside K)."""
    total = 1
    for i in range(len(c)):
        total += bool(meets_line(G[i], c[i]))
    for i in range(len(c)):
        for j in range(i + 1, len(c)):
            p = np.linalg.solve(np.array([G[i], G[j]]), -np.array([c[i], c[j]]))
            total += bool(inside_point(p))
    return total


def _box_geometry(lo, hi):
    corners = np.array(np.meshgrid(*[[a, b] for a, b in zip(lo, hi)])).reshape(len(lo), -1).T

    def meets(g, c0):
        v = corners @ g + c0
        return v.min() < 0 < v.max()

    def inside(p):
        return bool(np.all((p > lo) & (p < hi)))

    return corners, meets, inside


def _disc_geometry(center, r):
    def meets(g, c0):
        return abs(g @ center + c0) / np.linalg.norm(g) < r

    def inside(p):
        return np.linalg.norm(p - center) < r

    return meets, inside


def _diamond_geometry(center, r):
    verts = np.array([center + r * e for e in (np.eye(2)[0], -np.eye(2)[0], np.eye(2)[1], -np.eye(2)[1])])

    def meets(g, c0):
        v = verts @ g + c0
        return v.min() < 0 < v.max()

    def inside(p):
        return np.abs(p - center).sum() < r

    return meets, inside


def _triangle_geometry():
    verts = np.array([[-1.0, -1.0], [2.0, -1.0], [-1.0, 2.0]])  # simplex(2): x_k >= -1, x1 + x2 <= 1

    def meets(g, c0):
        v = verts @ g + c0
        return v.min() < 0 < v.max()

    def inside(p):
        return p[0] > -1 and p[1] > -1 and p[0] + p[1] < 1

    return meets, inside


@pytest.mark.parametrize("dom", ["box", "ball2", "ball1", "simplex"])
@pytest.mark.parametrize("n1", [3, 6, 10])
def test_one_layer_in_a_convex_2d_domain(dom, n1, rng):
    """Generic lines in an open convex set: 1 + #lines meeting it + #vertices inside it."""
    G = rng.normal(size=(n1, 2))
    c = rng.normal(size=n1)
    center = np.array([0.1, -0.2])
    if dom == "box":
        domain = pr.Box([-1.0, -1.5], [1.5, 1.0])
        _, meets, inside = _box_geometry(np.array([-1.0, -1.5]), np.array([1.5, 1.0]))
    elif dom == "ball2":
        domain = pr.Ball(center, 1.3)
        meets, inside = _disc_geometry(center, 1.3)
    elif dom == "ball1":
        domain = pr.Ball(center, 1.6, p=1)
        meets, inside = _diamond_geometry(center, 1.6)
    else:
        domain = simplex(2)
        meets, inside = _triangle_geometry()
    expected = arrangement_count_2d(G, c, meets, inside)
    assert count(net_of([G], [c]), domain) == expected


def _line_meets_open_box(p, d, lo, hi):
    """Does the line p + t d meet the open box? (slab clipping)"""
    t0, t1 = -np.inf, np.inf
    for k in range(len(p)):
        if d[k] == 0:
            if not lo[k] < p[k] < hi[k]:
                return False
            continue
        a, b = (lo[k] - p[k]) / d[k], (hi[k] - p[k]) / d[k]
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    return t0 < t1


@pytest.mark.parametrize("n1", [4, 7])
def test_one_layer_in_a_3d_box(n1, rng):
    """Generic planes in an open box: the count is the number of intersection flats (the
    space, planes, lines of two planes, points of three) that meet the box."""
    lo, hi = np.array([-1.0, -0.5, -1.2]), np.array([1.0, 1.5, 0.8])
    G = rng.normal(size=(n1, 3))
    c = 0.7 * rng.normal(size=n1)
    corners, meets, inside = _box_geometry(lo, hi)
    total = 1 + sum(bool(meets(G[i], c[i])) for i in range(n1))
    for i in range(n1):
        for j in range(i + 1, n1):
            d = np.cross(G[i], G[j])
            # a point of the line: minimum-norm solution of the two equations
            p = np.linalg.lstsq(np.array([G[i], G[j]]), -np.array([c[i], c[j]]), rcond=None)[0]
            total += _line_meets_open_box(p, d, lo, hi)
            for k in range(j + 1, n1):
                q = np.linalg.solve(np.array([G[i], G[j], G[k]]), -np.array([c[i], c[j], c[k]]))
                total += inside(q)
    assert count(net_of([G], [c]), pr.Box(lo, hi)) == total


@pytest.mark.parametrize("n0, n1", [(2, 6), (3, 5)])
def test_one_layer_in_a_large_box_is_zaslavsky(n0, n1, rng, random_dense_net, zaslavsky):
    """A box containing every vertex of the arrangement meets every region of the space."""
    net = random_dense_net(rng, n0, [n1])
    W, b = net.hidden[0]
    from itertools import combinations

    vertices = [np.linalg.solve(W[list(S)], -b[list(S)]) for S in combinations(range(n1), n0)]
    R = 2 + max(np.abs(v).max() for v in vertices)
    assert count(net, pr.Box(np.full(n0, -R), np.full(n0, R))) == zaslavsky(n0, n1)


# ====================================================================== invariances


@pytest.mark.parametrize("scale", [1e-3, 1e3])
def test_patterns_are_invariant_under_scaling_the_input(scale, rng, random_dense_net):
    """net'(x) = net(x / s) on s * D has the patterns of net on D (eps scaled by s)."""
    net = random_dense_net(rng, 2, (5, 4))
    W = [w.copy() for w, _ in net.hidden]
    B = [b.copy() for _, b in net.hidden]
    W[0] = W[0] / scale
    scaled = net_of(W, B)
    base, _ = patterns_of(net, pr.Box([-1.0, -1.0], [1.0, 1.0]))
    got, _ = patterns_of(scaled, pr.Box([-scale, -scale], [scale, scale]), eps=EPS * scale)
    assert got == base
    base2, _ = patterns_of(net, pr.Ball([0.2, 0.1], 1.0))
    got2, _ = patterns_of(scaled, pr.Ball([0.2 * scale, 0.1 * scale], scale), eps=EPS * scale)
    assert got2 == base2


@pytest.mark.parametrize("shift", [10.0, 1e3])
def test_patterns_are_invariant_under_translation(shift, rng, random_dense_net):
    """net'(x) = net(x - t) on D + t has the patterns of net on D."""
    net = random_dense_net(rng, 2, (5, 4))
    t = np.array([shift, -0.5 * shift])
    W = [w.copy() for w, _ in net.hidden]
    B = [b.copy() for _, b in net.hidden]
    B[0] = B[0] - W[0] @ t
    moved = net_of(W, B)
    for dom in (pr.Box([-1.0, -1.0], [1.0, 1.0]), pr.Ball([0.0, 0.0], 1.0), pr.Ball([0.0, 0.0], 1.0, p=1)):
        base, _ = patterns_of(net, dom)
        if isinstance(dom, pr.Box):
            dom_t = pr.Box(dom.lo + t, dom.hi + t)
        else:
            dom_t = pr.Ball(dom.center + t, dom.radius, p=dom.p)
        got, _ = patterns_of(moved, dom_t)
        assert got == base


def test_permuting_neurons_permutes_the_bits(rng, random_dense_net):
    net = random_dense_net(rng, 2, (5, 3))
    (W1, b1), (W2, b2) = net.hidden
    perm = np.array([3, 0, 4, 1, 2])
    permuted = net_of([W1[perm], W2[:, perm]], [b1[perm], b2])
    domain = pr.Box([-1.5, -1.5], [1.5, 1.5])
    base, _ = patterns_of(net, domain)
    got, _ = patterns_of(permuted, domain)
    expected = {tuple(p[i] for i in perm) + p[5:] for p in base}
    assert got == expected


def test_output_layer_does_not_change_the_count(rng, random_dense_net):
    net = random_dense_net(rng, 2, (5, 4))
    with_out = net_of([w for w, _ in net.hidden], [b for _, b in net.hidden],
                      output=(rng.normal(size=(2, 4)), rng.normal(size=2)))
    domain = pr.Box([-1.0, -1.0], [1.0, 1.0])
    assert patterns_of(net, domain)[0] == patterns_of(with_out, domain)[0]


def test_whole_space_completeness_by_sampling(rng, random_dense_net, numpy_pattern):
    """Patterns of Gaussian points spread far out are all enumerated in Whole(n)."""
    net = random_dense_net(rng, 3, (6, 5))
    pats, regions = patterns_of(net, pr.Whole(3))
    X = np.vstack([rng.normal(size=(50_000, 3)) * s for s in (1.0, 10.0)])
    weights = [W for W, _ in net.hidden]
    biases = [b for _, b in net.hidden]
    seen = {tuple(int(v) for v in row) for row in np.unique(numpy_pattern(weights, biases, X), axis=0)}
    assert seen <= pats


# ====================================================================== soundness


def _domains(dim):
    c = np.linspace(-0.2, 0.3, dim)
    return {
        "box": pr.Box(np.full(dim, -1.0), np.full(dim, 1.5)),
        "ball2": pr.Ball(c, 1.2, p=2),
        "ball1": pr.Ball(c, 1.5, p=1),
        "ballinf": pr.Ball(c, 1.0, p=math.inf),
        "simplex": simplex(dim),
        "whole": pr.Whole(dim),
    }


def _sphere_points(rng, center, radius, k):
    u = rng.normal(size=(k, center.size))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return center + radius * u


@pytest.mark.parametrize("dom", ["box", "ball2", "ball1", "ballinf", "simplex", "whole"])
@pytest.mark.parametrize("dim, widths", [(2, (6, 5)), (3, (5, 4))])
def test_regions_are_sound(dim, widths, dom, rng, random_dense_net):
    """Every region's point has the region's pattern and lies in the domain; patterns are
    distinct; the ball of the region's radius around the point keeps the pattern."""
    net = random_dense_net(rng, dim, widths)
    domain = _domains(dim)[dom]
    pats, regions = patterns_of(net, domain)
    assert len(regions) >= 1
    for r in regions:
        assert r.bits.shape == (net.num_neurons,)
        assert r.n_bits == net.num_neurons
        np.testing.assert_array_equal(net.pattern(r.point), r.bits)
        assert domain.contains(r.point)[0]
        assert r.radius > EPS
        ring = _sphere_points(rng, r.point, 0.999 * r.radius, 8)
        assert np.all(domain.contains(ring))
        np.testing.assert_array_equal(net.pattern(ring), np.tile(r.bits, (8, 1)))
    assert count(net, domain) == len(pats)


# ====================================================================== completeness by sampling


def _sample(domain, name, n, rng):
    if name == "simplex":
        return sample_simplex(domain.dim, n, rng)
    return domain.sample(n, rng)


@pytest.mark.parametrize("dom", ["box", "ball2", "ball1", "ballinf", "simplex"])
@pytest.mark.parametrize("dim, widths", [(2, (8, 6)), (3, (6, 5)), (4, (5, 4))])
def test_every_sampled_pattern_is_enumerated(dim, widths, dom, rng, random_dense_net, numpy_pattern):
    net = random_dense_net(rng, dim, widths)
    domain = _domains(dim)[dom]
    pats, _ = patterns_of(net, domain)
    X = _sample(domain, dom, 100_000, rng)
    assert np.all(domain.contains(X))
    weights = [W for W, _ in net.hidden]
    biases = [b for _, b in net.hidden]
    seen = {tuple(int(v) for v in row) for row in np.unique(numpy_pattern(weights, biases, X), axis=0)}
    missing = seen - pats
    assert not missing, f"{len(missing)} sampled patterns were not enumerated"
    assert len(seen) >= 0.5 * len(pats)  # the sample is not vacuous


@pytest.mark.slow
@pytest.mark.parametrize("dom", ["box", "ball2"])
def test_every_sampled_pattern_is_enumerated_larger(dom, rng, random_dense_net, numpy_pattern):
    """4-D, widths (8, 8), 2 * 10^5 samples; with POLYREGIONS_FULL=1: 5-D, (10, 10), 10^6."""
    full = os.environ.get("POLYREGIONS_FULL") == "1"
    dim, widths, n = (5, (10, 10), 1_000_000) if full else (4, (8, 8), 200_000)
    net = random_dense_net(rng, dim, widths)
    domain = _domains(dim)[dom]
    pats, _ = patterns_of(net, domain)
    X = _sample(domain, dom, n, rng)
    weights = [W for W, _ in net.hidden]
    biases = [b for _, b in net.hidden]
    seen = {tuple(int(v) for v in row) for row in np.unique(numpy_pattern(weights, biases, X), axis=0)}
    assert seen <= pats


def test_conv_network_sound_and_complete_by_sampling(rng, numpy_pattern):
    """A conv layer (3 filters 2x2 on a 1x2x3 input: 6 neurons) and a dense layer of 3, in a box."""
    conv_w, conv_b = rng.normal(size=(3, 1, 2, 2)), rng.normal(size=3)
    Wd, bd = rng.normal(size=(3, 6)), rng.normal(size=3)
    net = pr.Network([pr.Conv2d(conv_w, conv_b), pr.Flatten(), pr.Dense(Wd, bd)], input_shape=(1, 2, 3))
    domain = pr.Box(-np.ones(6), np.ones(6))
    pats, regions = patterns_of(net, domain)
    for r in regions:
        np.testing.assert_array_equal(net.pattern(r.point), r.bits)
        assert domain.contains(r.point)[0]
    # the conv layer as a dense map written out by hand: z[o, 0, j] = b[o] + sum_ab w[o, 0, a, b] x[a, j + b]
    W1 = np.zeros((3, 1, 2, 1, 2, 3))
    for o in range(3):
        for j in range(2):
            W1[o, 0, j, 0, :, j : j + 2] = conv_w[o, 0]
    X = domain.sample(100_000, rng)
    seen = numpy_pattern([W1.reshape(6, 6), Wd], [np.repeat(conv_b, 2), bd], X)
    seen = {tuple(int(v) for v in row) for row in np.unique(seen, axis=0)}
    assert seen <= pats


# ====================================================================== backends and pruning agree


@pytest.mark.parametrize("dom", ["box", "ball1", "ball2", "ballinf", "simplex", "whole"])
@pytest.mark.parametrize("seed", [0, 1])
def test_backends_agree(dom, seed, random_dense_net):
    rng = np.random.default_rng(seed)
    dim = 2 + seed
    net = random_dense_net(rng, dim, (5, 4))
    domain = _domains(dim)[dom]
    highs, _ = patterns_of(net, domain, backend="highs")
    scipy_, _ = patterns_of(net, domain, backend="scipy")
    assert highs == scipy_


@pytest.mark.parametrize("dom", ["ball2", "ball1", "box"])
def test_conic_backend_agrees(dom, random_dense_net):
    """The cvxpy backend (an SOCP for the L2 ball) is the independent cross-check of the HiGHS QP."""
    import importlib.util

    if importlib.util.find_spec("polyregions.solvers.cvxpy_conic") is None:
        pytest.skip("polyregions.solvers.cvxpy_conic is not available")
    rng = np.random.default_rng(7)
    net = random_dense_net(rng, 2, (5, 4))
    domain = _domains(2)[dom]
    assert patterns_of(net, domain, backend="cvxpy")[0] == patterns_of(net, domain, backend="highs")[0]


@pytest.mark.parametrize("dom", ["box", "ball1", "ball2", "simplex", "whole"])
@pytest.mark.parametrize("backend", ["highs", "scipy"])
def test_prune_does_not_change_the_patterns(dom, backend, rng, random_dense_net):
    net = random_dense_net(rng, 2, (6, 5))
    domain = _domains(2)[dom]
    pruned, _ = patterns_of(net, domain, backend=backend, prune=True)
    plain, _ = patterns_of(net, domain, backend=backend, prune=False)
    assert pruned == plain


# ====================================================================== affine maps


@pytest.mark.parametrize("output_dim", [None, 1, 3])
@pytest.mark.parametrize("dom", ["box", "ball2", "whole"])
def test_affine_map_is_the_network_on_the_region(output_dim, dom, rng, random_dense_net):
    net = random_dense_net(rng, 3, (5, 4), output_dim=output_dim)
    domain = _domains(3)[dom]
    _, regions = patterns_of(net, domain)
    for r in regions:
        A, c = r.affine_map()
        n_out = output_dim if output_dim is not None else 4
        assert A.shape == (n_out, 3) and c.shape == (n_out,)
        pts = [r.point] + list(_sphere_points(rng, r.point, 0.5 * r.radius, 4))
        for x in pts:
            np.testing.assert_array_equal(net.pattern(x), r.bits)
            np.testing.assert_allclose(net.forward(x), A @ x + c, rtol=1e-9, atol=1e-9)


def test_affine_map_returns_copies(rng, random_dense_net):
    net = random_dense_net(rng, 2, (3,))
    r = next(iter(pr.enumerate_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), eps=EPS)))
    A, c = r.affine_map()
    A[:] = 0.0
    c[:] = 0.0
    A2, c2 = r.affine_map()
    np.testing.assert_allclose(net.forward(r.point), A2 @ r.point + c2, rtol=1e-12, atol=1e-12)


# ====================================================================== eps

BOX2 = pr.Box([-2.0, -2.0], [2.0, 2.0])


def test_default_eps():
    assert pr.DEFAULT_EPS > 0
    net = net_of([[[1, 0], [0, 1]]], [[0, 0]])
    res = pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]))
    assert res.count == 4 and res.stats.eps == pr.DEFAULT_EPS


# ====================================================================== results and statistics


def test_stats_are_consistent(rng, random_dense_net):
    net = random_dense_net(rng, 2, (5, 5))
    domain = pr.Box([-1.0, -1.0], [1.0, 1.0])
    res = pr.count_regions(net, domain, eps=EPS, method="dfs")
    _, regions = patterns_of(net, domain, method="dfs")
    assert res.complete and res.stopped is None
    assert int(res) == res.count == len(regions)
    s = res.stats
    assert s.eps == EPS
    assert s.nodes >= res.count and s.lp_solves >= 1 and s.seconds >= 0
    assert EPS < s.min_radius <= min(r.radius for r in regions) * (1 + 1e-9)
    d = res.as_dict()
    assert d["count"] == res.count and d["stats"]["eps"] == EPS


# ====================================================================== early stops


def test_max_regions_marks_the_count_incomplete(rng, random_dense_net):
    net = random_dense_net(rng, 2, (6, 6))
    domain = pr.Box([-2.0, -2.0], [2.0, 2.0])
    full = pr.count_regions(net, domain, eps=EPS)
    assert full.complete and full.count > 5
    part = pr.count_regions(net, domain, eps=EPS, max_regions=5)
    assert not part.complete and part.stopped == "max_regions"
    assert part.count == 5 <= full.count
    more = pr.count_regions(net, domain, eps=EPS, max_regions=full.count + 10)
    assert more.complete and more.count == full.count


def test_max_regions_zero_counts_nothing():
    net = net_of([[[1, 0], [0, 1]]], [[0, 0]])
    res = pr.count_regions(net, BOX2, eps=EPS, max_regions=0)
    assert res.count == 0 and not res.complete


def test_time_limit_marks_the_count_incomplete(rng, random_dense_net):
    net = random_dense_net(rng, 3, (8, 8))
    domain = pr.Box([-2.0] * 3, [2.0] * 3)
    full = pr.count_regions(net, domain, eps=EPS)
    part = pr.count_regions(net, domain, eps=EPS, time_limit=1e-9)
    assert not part.complete and part.stopped == "time_limit"
    assert part.count <= full.count


def test_progress_is_called(rng, random_dense_net, monkeypatch):
    """With the reporting interval at 0, the search's driver calls progress after every region it
    is given (one at a time by the Python search, in batches by the compiled one), with the count
    so far and the statistics (the subproblem being searched is pending)."""
    import polyregions.driver as driver

    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    calls = []
    net = random_dense_net(rng, 2, (4,))
    res = pr.count_regions(net, BOX2, eps=EPS, method="dfs",
                           progress=lambda c, s: calls.append((c, s.pending, s.nodes)))
    assert res.complete and res.count >= 2
    counts = [c for c, _, _ in calls]
    assert counts == sorted(set(counts)) and counts[-1] == res.count
    assert all(pending >= 1 for _, pending, _ in calls)
    assert [n for _, _, n in calls] == sorted(n for _, _, n in calls)


# ====================================================================== bad input


def _net2():
    return net_of([[[1, 0], [0, 1]]], [[0, 0]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"domain": pr.Box([0.0], [1.0])}, r"`domain` has dimension 1"),
        ({"domain": pr.Whole(3)}, r"`domain` has dimension 3"),
        ({"domain": "box"}, r"`domain`"),
        ({"net": "net"}, r"`net`"),
        ({"eps": 0.0}, r"`eps`"),
        ({"eps": -1e-7}, r"`eps`"),
        ({"eps": float("nan")}, r"`eps`"),
        ({"eps": float("inf")}, r"`eps`"),
        ({"backend": "gurobi"}, r"`backend`"),
        ({"backend": 3}, r"`backend`"),
    ],
)
@pytest.mark.parametrize("api", ["count", "enumerate"])
def test_bad_arguments(kwargs, match, api):
    args = {"net": _net2(), "domain": BOX2}
    args.update(kwargs)
    net, domain = args.pop("net"), args.pop("domain")
    with pytest.raises(pr.InvalidInputError, match=match):
        if api == "count":
            pr.count_regions(net, domain, **args)
        else:
            list(pr.enumerate_regions(net, domain, **args))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_regions": -1}, "max_regions"),
        ({"max_regions": 2.5}, "max_regions"),
        ({"max_regions": True}, "max_regions"),
        ({"time_limit": 0}, "time_limit"),
        ({"time_limit": -1.0}, "time_limit"),
    ],
)
def test_bad_limits(kwargs, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.count_regions(_net2(), BOX2, **kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        pr.count_regions(_net2(), BOX2, 1e-7)


def test_errors_share_one_root():
    for cls in (pr.InvalidInputError, pr.UnsupportedError, pr.SolverError):
        assert issubclass(cls, pr.PolyRegionsError)
    assert issubclass(pr.InvalidInputError, ValueError)


# ====================================================================== doctests


@pytest.mark.parametrize("module", ["polyregions", "polyregions.api"])
def test_doctests(module):
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# ====================================================================== validation once


@pytest.mark.parametrize("kw", [dict(method="dfs"), dict(method="planar"), dict(method="milp"),
                                dict(method="dfs", certify=True), dict(method="dfs", workers=2)],
                         ids=["dfs", "planar", "milp", "certify", "workers"])
def test_the_network_and_domain_are_checked_once_per_count(kw, monkeypatch):
    """Every module that imports the argument checks gets a counting copy: a count checks its
    network and domain once, at the public entry, whatever the method; the values it
    normalised are the ones used (``eps`` given as a string reaches the statistics as a float)."""
    import importlib
    import sys

    import polyregions._validate as validate
    from polyregions.model.network import require_relu

    for name in ("api", "milp.milp", "milp.propagate", "exact.certifier", "cells.planar", "search.parallel"):
        importlib.import_module(f"polyregions.{name}")
    calls = []

    def counting(name, real):
        def check(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        return check

    for module in [m for n, m in list(sys.modules.items()) if n.startswith("polyregions")]:
        for name, real in (("net_and_domain", validate.net_and_domain), ("require_relu", require_relu)):
            if vars(module).get(name) is real and module.__name__ != real.__module__:
                monkeypatch.setattr(module, name, counting(name, real))
    res = pr.count_regions(_net2(), BOX2, eps="1e-7", **kw)
    assert res.complete and res.count == 4  # two lines through the origin: 4 quadrants
    assert calls.count("net_and_domain") == 1, calls
    assert calls.count("require_relu") <= 1, calls
    assert isinstance(res.stats.eps, float) and res.stats.eps == 1e-7


@pytest.mark.parametrize("progress", [False, True, 1, "yes"])
def test_a_progress_that_is_not_callable_is_refused_by_name(progress):
    net = pr.Network.from_dense([np.eye(2)], [np.zeros(2)])
    with pytest.raises(pr.InvalidInputError, match="`progress`"):
        pr.count_regions(net, pr.Box([-1, -1], [1, 1]), progress=progress)
