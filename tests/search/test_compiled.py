"""Tests of polyregions.search.compiled: the compiled search, node for node the Python search.

Every pattern set asserted here comes from an independent source: the exact rational reference
(tests/exact_reference.py) on tiny networks at scales 10**-6..10**6, hand computations (the
docstrings of the engine's degenerate cases), ReLU networks written out by hand for LeakyReLU
and residual networks, or dense sampling. On top of that, the compiled search is compared with
the Python search (polyregions.search.engine) node for node: the same regions in the same order,
the same nodes, solver runs, HiGHS referee calls and near-eps decisions, witnesses and affine
maps equal up to rounding.
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyregions as pr
from polyregions import Activation, Dense, Network, Residual
from polyregions.errors import SolverError
from polyregions.search import compiled
from polyregions.search.compiled import CompiledSearch, make_search
from polyregions.search.engine import DEFAULT_EPS, RegionSearch

EPS = 1e-7
BOX2 = pr.Box([-2.0, -2.0], [2.0, 2.0])
COMPILED_BACKENDS = ["numba", "bounded"]


def leaves(search):
    """Every region of one uninterrupted search: ``[(bits, x, rho, M, m)]``."""
    root = search.root()
    if root is None:
        return []
    return [(tuple(search.bits), x.copy(), rho, M.copy(), m.copy()) for x, rho, M, m in search.run(root)]


def node_for_node(net, domain, backend, *, eps=EPS, prune=True, setup=None):
    """Search with the Python and the compiled loop; assert they agree node for node and return
    the set of patterns. ``setup(search)`` adjusts each search before it runs."""
    searches = [RegionSearch(net, domain, eps, backend, prune), make_search(net, domain, eps, backend, prune,
                                                                           compiled=True)]
    assert type(searches[1]) is CompiledSearch
    if setup is not None:
        for s in searches:
            setup(s)
    (py, co) = [leaves(s) for s in searches]
    assert [leaf[0] for leaf in co] == [leaf[0] for leaf in py], "the regions differ or come in another order"
    for a, b in zip(py, co):
        np.testing.assert_allclose(b[1], a[1], rtol=1e-9, atol=1e-9 * (1 + np.abs(a[1]).max()))
        assert b[2] == pytest.approx(a[2], rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(b[3], a[3], rtol=1e-12, atol=1e-12 * (1 + np.abs(a[3]).max()))
        np.testing.assert_allclose(b[4], a[4], rtol=1e-12, atol=1e-12 * (1 + np.abs(a[4]).max()))
    sp, sc = (s.stats for s in searches)
    assert (sc.nodes, sc.near_eps) == (sp.nodes, sp.near_eps)
    assert searches[1].lp.lp_solves == searches[0].lp.lp_solves
    assert searches[1].lp.fallbacks == searches[0].lp.fallbacks
    assert sc.min_kept_depth == pytest.approx(sp.min_kept_depth, rel=1e-9)
    pats = [leaf[0] for leaf in co]
    assert len(set(pats)) == len(pats), "a pattern was reached twice"
    return set(pats)


# ====================================================================== the exact reference


small_int = st.integers(-3, 3)


@st.composite
def tiny_cases(draw):
    """1-2 hidden layers of width 1-3 over 1-2 inputs, small integer weights, in a box or a ball."""
    n0 = draw(st.integers(1, 2))
    weights, biases, n_in = [], [], n0
    for _ in range(draw(st.integers(1, 2))):
        n = draw(st.integers(1, 3))
        weights.append([[draw(small_int) for _ in range(n_in)] for _ in range(n)])
        biases.append([draw(small_int) for _ in range(n)])
        n_in = n
    kind = draw(st.sampled_from(["box", "inf", "l1"]))
    if kind == "box":
        lo = [draw(st.integers(-3, 2)) for _ in range(n0)]
        hi = [lo[i] + draw(st.integers(1, 3)) for i in range(n0)]
        return weights, biases, pr.Box(lo, hi), ("box", lo, hi)
    center = [draw(st.integers(-2, 2)) for _ in range(n0)]
    radius = draw(st.sampled_from([0.5, 1.0, 2.0]))
    p = "inf" if kind == "inf" else 1
    return weights, biases, pr.Ball(center, radius, p=p), ("ball", center, radius, p)


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_cases(), st.sampled_from(COMPILED_BACKENDS))
def test_patterns_are_exact_and_node_for_node_at_every_scale(case, backend):
    """Layer l's weights times 10**k, its biases times 10**(k l): the same regions at every scale."""
    weights, biases, domain, exact_domain = case
    if domain.norm == 1 and backend == "numba":
        backend = "bounded"  # the dense simplex serves polyhedral domains
    expected = ref.exact_patterns(weights, biases, exact_domain, eps=DEFAULT_EPS)
    for k in (-6, 0, 6):
        net = pr.Network.from_dense([np.asarray(W, float) * 10.0**k for W in weights],
                                    [np.asarray(b, float) * 10.0 ** (k * (l + 1)) for l, b in enumerate(biases)])
        assert node_for_node(net, domain, backend, eps=DEFAULT_EPS) == expected, f"scale 10**{k}"


def random_domain(rng, n0, kind):
    """A random box, L-inf or L1 ball, or polytope (a box with two random cuts near its centre)
    in ``n0`` dimensions, with coordinates in multiples of 1/8 (exact in binary and small as rationals)."""
    eighths = lambda v: np.round(np.asarray(v) * 8) / 8  # noqa: E731
    center = eighths(rng.uniform(-1, 1, n0))
    if kind == "box":
        return pr.Box(center - eighths(rng.uniform(0.25, 1.5, n0)), center + eighths(rng.uniform(0.25, 1.5, n0)))
    if kind in ("inf", "l1"):
        return pr.Ball(center, float(eighths(rng.uniform(0.5, 2.0))), p="inf" if kind == "inf" else 1)
    cuts = eighths(rng.normal(size=(2, n0)))
    A = np.vstack([np.eye(n0), -np.eye(n0), cuts])
    b = np.concatenate([center + 1.0, 1.0 - center, cuts @ center + 0.5])
    return pr.Polytope(A, b)


@pytest.mark.parametrize("kind", ["box", "inf", "l1", "polytope"])
def test_random_nets_node_for_node_and_exact(kind):
    """Random nets (weights and biases in multiples of 1/8) on random domains of each kind: the
    compiled search, node for node the Python search, finds exactly the rational reference's regions."""
    rng = np.random.default_rng(["box", "inf", "l1", "polytope"].index(kind))
    for _ in range(6):
        n0 = int(rng.integers(1, 4))
        widths = [int(w) for w in rng.integers(1, 5, size=int(rng.integers(1, 3)))]
        fans = [n0] + widths[:-1]
        weights = [np.round(rng.normal(size=(w, f)) * 8) / 8 for w, f in zip(widths, fans)]
        biases = [np.round(rng.normal(size=w) * 4) / 8 for w in widths]
        net = pr.Network.from_dense(weights, biases)
        domain = random_domain(rng, n0, kind)
        expected = ref.exact_patterns(weights, biases, domain, eps=DEFAULT_EPS)
        for backend in (["bounded"] if kind == "l1" else COMPILED_BACKENDS if kind != "polytope" else ["numba"]):
            assert node_for_node(net, domain, backend, eps=DEFAULT_EPS) == expected, (kind, backend, widths)


@pytest.mark.parametrize("kind", ["box", "inf", "polytope"])
def test_random_larger_nets_node_for_node_and_sampling(kind, numpy_pattern):
    """Larger random nets (3-5 inputs, two or three layers): node for node the Python search, and
    every densely sampled pattern among those found."""
    rng = np.random.default_rng([7, ["box", "inf", "polytope"].index(kind)])
    for _ in range(3):
        n0 = int(rng.integers(3, 6))
        widths = [int(w) for w in rng.integers(4, 8, size=int(rng.integers(2, 4)))]
        fans = [n0] + widths[:-1]
        weights = [rng.normal(size=(w, f)) for w, f in zip(widths, fans)]
        biases = [rng.normal(size=w) for w in widths]
        net = pr.Network.from_dense(weights, biases)
        domain = random_domain(rng, n0, kind)
        pats = node_for_node(net, domain, "numba")
        x = domain.sample(20000, rng)
        assert {tuple(int(v) for v in p) for p in numpy_pattern(weights, biases, x)} <= pats


# ====================================================================== degenerate cases


def net_of(weights, biases):
    return pr.Network.from_dense(weights, biases)


def grid_net(s):
    """Lines x = 0, x = s, y = 0, y = s: a 3 x 3 grid of cells in the box."""
    return net_of([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]], [[0.0, -s, 0.0, -s]])


DEGENERATE = {
    # z1 = x1, z2 = x1 - 1: three strips
    "parallel": (net_of([[[1, 0], [1, 0]]], [[0, -1]]), BOX2, {(0, 0), (1, 0), (1, 1)}),
    # one line, both neurons switch together
    "coincident": (net_of([[[1, 0], [1, 0]]], [[0, 0]]), BOX2, {(0, 0), (1, 1)}),
    "opposite": (net_of([[[1, 0], [-1, 0]]], [[0, 0]]), BOX2, {(1, 0), (0, 1)}),
    # x1 = 0, x2 = 0, x1 + x2 = 0 through the origin: 6 sectors
    "three lines": (net_of([[[1, 0], [0, 1], [1, 1]]], [[0, 0, 0]]), BOX2,
                    {(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 1, 0), (0, 1, 1), (1, 1, 1)}),
    # x1 + x2 = 2 touches [0, 1]^2 at a corner only
    "corner": (net_of([[[1, 1]]], [[-2]]), pr.Box([0.0, 0.0], [1.0, 1.0]), {(0,)}),
    # x1 + x2 = 2 - 1e-6 cuts a corner triangle of inradius 2.9e-7 > eps
    "thin corner": (net_of([[[1, 1]]], [[-(2 - 1e-6)]]), pr.Box([-1.0, -1.0], [1.0, 1.0]), {(0,), (1,)}),
    # zero rows: bias 1 on, 0 and -1 off; z4 = x1 splits
    "zero rows": (net_of([[[0, 0], [0, 0], [0, 0], [1, 0]]], [[1, 0, -1, 0]]), BOX2,
                  {(1, 0, 0, 0), (1, 0, 0, 1)}),
    # layer 2: z = -h1 - h2 - 1 < 0 everywhere
    "dead second layer": (net_of([[[1, 0], [0, 1]], [[-1, -1]]], [[0, 0], [-1]]), BOX2,
                          {(a, b, 0) for a in (0, 1) for b in (0, 1)}),
    # layer 2: z = h1 - h2 is identically 0 where both inputs are off
    "constant zero": (net_of([[[1, 0], [0, 1]], [[1, -1]]], [[0, 0], [0]]), BOX2,
                      {(0, 0, 0), (1, 0, 1), (0, 1, 0), (1, 1, 1), (1, 1, 0)}),
    # the 3 x 3 grid whose middle row and column have width 1.05 eps... (inradius 0.525 eps < eps)
    "grid below eps": (grid_net(1.05 * EPS), pr.Box([-1.0, -1.0], [1.0, 1.0]),
                       {(a, b, c, d) for a, b in ((0, 0), (1, 1)) for c, d in ((0, 0), (1, 1))}),
    # ... and width 2.1 eps (inradius 1.05 eps: every cell counts)
    "grid above eps": (grid_net(2.1 * EPS), pr.Box([-1.0, -1.0], [1.0, 1.0]),
                       {(a, b, c, d) for a, b in ((0, 0), (1, 0), (1, 1)) for c, d in ((0, 0), (1, 0), (1, 1))}),
}


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_cases_node_for_node(name, backend):
    net, domain, expected = DEGENERATE[name]
    assert node_for_node(net, domain, backend) == expected


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_a_constant_within_rounding_of_zero_is_reported(backend):
    """h2 = 0.1 on the box (its row is zero); z3 = 10 h2 - 1 is then constant: 5.55e-17 in
    rationals (10 times the double nearest 0.1, less 1: on), exactly 0 in float64 (off). The
    search cannot tell its sign and must say so; with b3 = -0.5 (0.5, clearly on) it need not."""
    weights = [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 10.0]]]
    for b3, wrong in ((-1.0, True), (-0.5, False)):
        biases = [[0.0, 0.1], [b3]]
        net, box = net_of(weights, biases), pr.Box([-1.0, -1.0], [1.0, 1.0])
        exact = ref.exact_patterns(weights, biases, box)
        searches = [RegionSearch(net, box, EPS, backend, True),
                    make_search(net, box, EPS, backend, True, compiled=True)]
        for search in searches:
            found = {leaf[0] for leaf in leaves(search)}
            assert (found != exact) == wrong
            assert (search.stats.near_eps > 0) == wrong
        assert node_for_node(net, box, backend) == found


@pytest.mark.parametrize("prune", [True, False])
def test_without_the_prefilter(prune, rng, random_dense_net, numpy_pattern):
    net = random_dense_net(rng, 3, [5, 4])
    box = pr.Box(-np.ones(3), np.ones(3))
    pats = node_for_node(net, box, "numba", prune=prune)
    x = rng.uniform(-1, 1, size=(20000, 3))
    weights, biases = zip(*net.hidden)
    assert {tuple(int(v) for v in p) for p in numpy_pattern(weights, biases, x)} <= pats


# ====================================================================== larger and other networks


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_deeper_net_node_for_node_and_sampling(backend, rng, random_dense_net, numpy_pattern):
    net = random_dense_net(rng, 4, [7, 6, 5])
    box = pr.Box(-np.ones(4), np.ones(4))
    pats = node_for_node(net, box, backend)
    x = rng.uniform(-1, 1, size=(20000, 4))
    weights, biases = zip(*net.hidden)
    assert {tuple(int(v) for v in p) for p in numpy_pattern(weights, biases, x)} <= pats


def test_high_dimensional_ball_node_for_node(rng):
    """A 60-input net in a small L-inf and L1 ball (the fixed-margin test, many fixed neurons)."""
    W1, b1 = rng.normal(size=(10, 60)), 0.1 * rng.normal(size=10)
    W2, b2 = rng.normal(size=(6, 10)), 0.1 * rng.normal(size=6)
    net = pr.Network.from_dense([W1, W2], [b1, b2])
    x0 = rng.uniform(0, 1, 60)
    for p in ("inf", 1):
        ball = pr.Ball(x0, 0.3, p=p)
        pats = node_for_node(net, ball, "bounded")
        pts = ball.sample(4000, rng)
        assert {tuple(int(v) for v in q) for q in net.pattern(pts)} <= pats


def test_convolution_node_for_node(rng):
    """A small convolutional net (sparse layers, applied in CSR order) in an L-inf ball."""
    net = Network([pr.Conv2d(rng.normal(size=(2, 1, 3, 3)), 0.1 * rng.normal(size=2), stride=2), pr.Flatten(),
                   Dense(rng.normal(size=(4, 32)) / 4, 0.1 * rng.normal(size=4))], input_shape=(1, 9, 9))
    assert net.sparse_hidden[0] is not None
    ball = pr.Ball(rng.uniform(0, 1, 81), 0.05, p="inf")
    pats = node_for_node(net, ball, "bounded")
    assert {tuple(int(v) for v in q) for q in net.pattern(ball.sample(4000, rng))} <= pats


def two_convolutions(rng):
    """1x15x15 input; two stride-2 3x3 convolutions 1->2->2 (sparse layers, the second composing the
    first's rows over their receptive fields) and a dense layer of 3."""
    return Network([pr.Conv2d(rng.normal(size=(2, 1, 3, 3)) / 3, 0.1 * rng.normal(size=2), stride=2),
                    pr.Conv2d(rng.normal(size=(2, 2, 3, 3)) / 4, 0.1 * rng.normal(size=2), stride=2), pr.Flatten(),
                    Dense(rng.normal(size=(3, 18)) / 3, 0.1 * rng.normal(size=3))], input_shape=(1, 15, 15))


def test_two_convolutions_node_for_node(rng):
    """A sparse layer after a sparse layer: its rows composed over the spans of the rows they
    combine, node for node the Python search's (full products); every sampled pattern found."""
    net = two_convolutions(rng)
    assert net.sparse_hidden[0] is not None and net.sparse_hidden[1] is not None
    ball = pr.Ball(rng.uniform(0, 1, 225), 0.1, p="inf")
    pats = node_for_node(net, ball, "bounded")
    assert {tuple(int(v) for v in q) for q in net.pattern(ball.sample(4000, rng))} <= pats


@pytest.mark.parametrize("resume_compiled", [True, False])
def test_two_convolutions_split_and_resumed(resume_compiled, rng):
    """Parked inside the convolutions (a subproblem's rows given whole: their spans read off), the
    subproblems resumed by either search reach every region of the uninterrupted search once."""
    net = two_convolutions(rng)
    ball = pr.Ball(rng.uniform(0, 1, 225), 0.1, p="inf")
    whole = node_for_node(net, ball, "bounded")
    search = make_search(net, ball, EPS, "bounded", True, compiled=True)
    search.budget = compiled.MIN_BUDGET
    search.deadline = 0.0
    first = [tuple(search.bits) for _ in search.run(search.root())]
    assert search.frontier, "nothing was parked"
    queue, search.frontier = search.frontier, []
    other = make_search(net, ball, EPS, "bounded", True, compiled=resume_compiled)
    other.deadline = 0.0
    pats = first + drain(other, queue)
    assert len(pats) == len(set(pats)) and set(pats) == whole


def leaky_as_relu(layers, alpha, shift=10.0):
    """LeakyReLU(z) = alpha z + (1 - alpha) ReLU(z), written as a ReLU network: each layer carries
    its pre-activations in extra neurons relu(z + shift), on throughout the box for these weights."""
    (W1, b1) = layers[0]
    Ws, bs = [np.vstack([W1, W1])], [np.concatenate([b1, b1 + shift])]
    for l, (W, b) in enumerate(layers[1:], start=1):
        A = np.hstack([(1 - alpha) * W, alpha * W])
        c = b - alpha * W @ np.full(W.shape[1], shift)
        if l < len(layers) - 1:
            A, c = np.vstack([A, A]), np.concatenate([c, c + shift])
        Ws.append(A)
        bs.append(c)
    return Network.from_dense(Ws, bs)


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_leaky_relu_node_for_node_and_against_relu_by_hand(backend):
    rng = np.random.default_rng(4)
    layers = [(rng.normal(size=(m, n)), 0.5 * rng.normal(size=m)) for n, m in [(2, 5), (5, 4), (4, 3)]]
    net = Network([Dense(W, b, 0.2) for W, b in layers])
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    pats = node_for_node(net, box, backend)
    assert len(pats) == pr.count_regions(leaky_as_relu(layers, 0.2), box, method="dfs", backend="highs").count
    assert {tuple(p) for p in net.pattern(box.sample(20000, rng))} <= pats


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_residual_node_for_node_and_against_the_unrolled_network(backend):
    """A residual block's skip is a linear carry (no bit); unrolled by hand, its ReLU network
    has the same count."""
    rng = np.random.default_rng(6)
    (W1, b1), (Wa, ba), (Wb, bb) = [(rng.normal(size=(m, n)), 0.5 * rng.normal(size=m)) for n, m in
                                    [(2, 4), (4, 4), (4, 4)]]
    net = Network([Dense(W1, b1), Residual([Dense(Wa, ba), Dense(Wb, bb, 1.0)]), Activation()])
    hand = Network.from_dense([W1, np.vstack([Wa, np.eye(4)]), np.hstack([Wb, np.eye(4)])],
                              [b1, np.concatenate([ba, np.zeros(4)]), bb])
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    pats = node_for_node(net, box, backend)
    assert len(pats) == pr.count_regions(hand, box, method="dfs", backend="highs").count


def test_an_unbounded_domain_keeps_the_python_search():
    """Far rows of an unbounded domain are decided in a limit by the Python search only."""
    net, _, _ = DEGENERATE["three lines"]
    half_plane = pr.Polytope([[1.0, 0.0]], [1.0])
    assert type(make_search(net, half_plane, EPS, "auto", True)) is RegionSearch
    with pytest.raises(ValueError, match="does not serve"):
        make_search(net, half_plane, EPS, "auto", True, compiled=True)


def test_box_faces_node_for_node():
    """Hyperplanes on the box's faces (fixed by the box test within its tolerance): the regions
    by hand, node for node."""
    net = net_of([[[1, 0], [0, 1], [1, 1], [1, -1]]], [[1, -1, 0.25, -0.125]])
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])  # x1 = -1 and x2 = 1 are faces; two lines cross inside the box
    expected = {(1, 0, a, b) for a in (0, 1) for b in (0, 1)}
    for backend in COMPILED_BACKENDS:
        assert node_for_node(net, box, backend) == expected


def test_max_pooling_keeps_the_python_search(rng):
    net = Network([pr.Conv2d(rng.normal(size=(1, 1, 2, 2)), np.zeros(1)), pr.MaxPool2d(2)], input_shape=(1, 3, 3))
    search = make_search(net, pr.Box(np.zeros(9), np.ones(9)), EPS, "auto", True)
    assert type(search) is RegionSearch


# ====================================================================== the referee, the stack, errors


def referee_everything(search):
    """Hand every decision of the compiled backends to HiGHS: the bands around eps and 0 cover
    every optimum."""
    lp = search.lp
    if lp.name == "numba":
        lp._band0 = lp._band_eps = 1e9
    else:
        from polyregions.solvers.bounded_decide import F_BAND0, F_BAND_EPS

        lp._fpar[F_BAND0] = lp._fpar[F_BAND_EPS] = 1e9


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_every_decision_refereed_by_highs(backend):
    """HiGHS decides every test (the kernel stops, HiGHS answers on the same stack, the kernel
    resumes): the patterns of the three lines through one point."""
    net, domain, expected = DEGENERATE["three lines"]
    searches = []

    def setup(s):
        referee_everything(s)
        searches.append(s)

    assert node_for_node(net, domain, backend, setup=setup) == expected
    assert searches[1].lp.fallbacks > 0


def test_the_stack_grows_while_the_kernel_runs(monkeypatch, rng, random_dense_net):
    """The fixed-margin backend starts with room for one row: the kernel asks for more, node by node."""
    from polyregions.solvers import bounded_lp

    monkeypatch.setattr(bounded_lp, "INITIAL_LEVELS", 1)
    net = random_dense_net(rng, 3, [4, 4])
    node_for_node(net, pr.Box(-np.ones(3), np.ones(3)), "bounded")


def test_a_row_bound_beyond_the_limit_is_an_error():
    """A row whose bound the solvers would not take as finite stops the search with an error
    (the limit lowered here so that the row x1 <= 1 of the parallel lines is beyond it)."""
    from polyregions.search import compiled_kernels as ck

    net, domain, _ = DEGENERATE["parallel"]
    search = make_search(net, domain, EPS, "numba", True, compiled=True)
    search.state.flt[ck.F_BOUND_LIMIT] = 0.5
    with pytest.raises(SolverError, match="beyond what the solvers take as finite"):
        list(search.run(search.root()))


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_the_kept_magnitude_is_the_current_witness(backend, rng, random_dense_net):
    """The magnitude of the witness's coordinates (read by the near-eps resolution tests) is kept
    per node, not recomputed per test: at every region it is the region's own witness's
    ``max |x_q|`` (numpy's), never an earlier witness's (each region computes it)."""
    from polyregions.search import compiled_kernels as ck

    net = random_dense_net(rng, 3, [5, 5])
    domain = pr.Box([0.5, -3.0, 1.0], [2.5, -1.0, 4.0])
    search = make_search(net, domain, EPS, backend, True, compiled=True)
    seen = 0
    for x, *_ in search.run(search.root()):
        kept = search.state.flt[ck.F_XBIG]
        assert kept == np.abs(x).max()
        seen += 1
    assert seen > 3


# ====================================================================== splitting, room, laziness


def drain(search, queue, enumerate_regions=True):
    pats = []
    while queue:
        sub = queue.pop()
        if enumerate_regions:
            pats.extend(tuple(search.bits) for _ in search.run(sub))
        else:
            pats.append(sum(search.counts(sub)))
        queue.extend(search.frontier)
        search.frontier = []
    return pats


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
@pytest.mark.parametrize("resume_compiled", [True, False])
def test_split_at_every_call_and_resumed_by_either_search(backend, resume_compiled, rng, random_dense_net):
    """With its deadline long past, the kernel parks every child not yet entered each time it
    stops (after a few nodes): resuming them, by the compiled or the Python search (also split at
    every chance), reaches every region of the uninterrupted search exactly once."""
    net = random_dense_net(rng, 3, [5, 4])
    box = pr.Box(-np.ones(3), np.ones(3))
    whole = node_for_node(net, box, backend)
    search = make_search(net, box, EPS, backend, True, compiled=True)
    search.budget = compiled.MIN_BUDGET
    search.deadline = 0.0
    first = [tuple(search.bits) for _ in search.run(search.root())]
    assert search.frontier, "nothing was parked"
    queue, search.frontier = search.frontier, []
    other = make_search(net, box, EPS, backend, True, compiled=resume_compiled)
    other.deadline = 0.0
    pats = first + drain(other, queue)
    assert len(pats) == len(set(pats)) and set(pats) == whole


def test_a_deadline_already_past_splits_after_one_child(rng, random_dense_net):
    """With its deadline past before it starts, the kernel enters one child and parks the rest
    (as the Python search parks at its first chance): a count with a tiny time limit stops."""
    net = random_dense_net(rng, 3, [6, 5])
    box = pr.Box(-np.ones(3), np.ones(3))
    search = make_search(net, box, EPS, "numba", True, compiled=True)
    search.deadline = 0.0
    first = [tuple(search.bits) for _ in search.run(search.root())]
    assert search.frontier and search.stats.nodes <= 1 + len(net.stages) * 6 + 5
    queue, search.frontier = search.frontier, []
    search.deadline = None
    pats = first + drain(search, queue)
    python = RegionSearch(net, box, EPS, "numba", True)
    assert len(pats) == len(set(pats)) and set(pats) == {tuple(python.bits) for _ in python.run(python.root())}


def test_parked_subproblems_hold_their_witness_balls(rng, random_dense_net):
    net = random_dense_net(rng, 3, [6, 5])
    box = pr.Box(-np.ones(3), np.ones(3))
    search = make_search(net, box, EPS, "numba", True, compiled=True)
    search.budget = compiled.MIN_BUDGET
    search.deadline = 0.0
    list(search.run(search.root()))
    assert len(search.frontier) > 1
    for sub in search.frontier:
        assert sub.rho > EPS
        assert np.all(sub.rows_A @ sub.x - sub.rows_b <= -sub.rho * (1 - 1e-9))
        assert box.contains(sub.x)[0]


def test_counts_stop_at_the_room_they_are_given(rng, random_dense_net):
    net = random_dense_net(rng, 3, [5, 4])
    search = make_search(net, pr.Box(-np.ones(3), np.ones(3)), EPS, "numba", True, compiled=True)
    assert sum(search.counts(search.root(), 7)) == 7


def test_the_python_search_hands_over_to_the_kernel(monkeypatch, rng, random_dense_net):
    """A search starts in Python and switches once it has run COMPILE_AFTER seconds (here at once:
    the Python search parks its frontier at its first chance and the kernel searches it): the
    regions are the Python search's."""
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 1e-9)
    monkeypatch.setattr(compiled, "SWITCH_CACHED", 1e-9)
    monkeypatch.setattr(compiled, "_READY", set())
    net = random_dense_net(rng, 3, [6, 5])
    box = pr.Box(-np.ones(3), np.ones(3))
    python = RegionSearch(net, box, EPS, "numba", True)
    expected = {tuple(python.bits) for _ in python.run(python.root())}
    search = make_search(net, box, EPS, "numba", True)
    assert type(search) is CompiledSearch
    pats = [tuple(search.bits) for _ in search.run(search.root())]
    assert search.python_seconds > 0 and len(pats) == len(set(pats)) and set(pats) == expected
    assert "numba" in compiled._READY  # the kernel took over


@pytest.mark.parametrize("changed", ["polyregions.search.compiled_kernels", "polyregions.search.layer_entry",
                                     "polyregions.solvers.stack_kernels", "polyregions.solvers.dense_kernels"])
def test_the_kernel_marker_notices_a_changed_source(changed, tmp_path, monkeypatch, rng, random_dense_net):
    """The search kernel reads as cached once a search compiled it (in another process: not in
    ``_READY``), and no longer when a source it is compiled from changes: the search's modules
    or its backend's (here a copy of one, planted as its source, grows by a line)."""
    import shutil

    from polyregions.solvers import jit

    real = jit._source_path
    planted = tmp_path / "source.py"
    shutil.copyfile(real(changed), planted)
    monkeypatch.setattr(jit, "cache_directory", lambda: str(tmp_path))
    monkeypatch.setattr(jit, "_source_path", lambda module: str(planted) if module == changed else real(module))
    monkeypatch.setattr(compiled, "_READY", set())
    assert not compiled.kernel_cached("numba")
    net = random_dense_net(rng, 2, [3])
    search = make_search(net, BOX2, EPS, "numba", True, compiled=True)
    assert len(list(search.run(search.root()))) > 0
    assert compiled.kernel_cached("numba")
    compiled._READY.clear()  # another process: only the marker says it
    assert compiled.kernel_cached("numba") and not compiled.kernel_cached("bounded")
    planted.write_text(planted.read_text() + "# changed\n")
    assert not compiled.kernel_cached("numba")


@pytest.mark.parametrize("workers", [1, 2])
def test_count_regions_with_the_kernel_from_the_start(monkeypatch, workers, rng, random_dense_net):
    """count_regions (one or two processes) with the kernel from the first node finds the count of
    the Python search."""
    net = random_dense_net(rng, 3, [6, 6])
    box = pr.Box(-np.ones(3), np.ones(3))
    python = RegionSearch(net, box, EPS, "numba", True)
    expected = len(list(python.run(python.root())))
    monkeypatch.setattr(compiled, "SWITCH_CACHED", 0.0)
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)
    res = pr.count_regions(net, box, eps=EPS, method="dfs", workers=workers)
    assert res.complete and res.count == expected


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
def test_the_root_identity_is_skipped_to_the_same_numbers(backend, rng, random_dense_net):
    """The root enters the first layer with ``G = W`` (``W @ I``, without the product): the same
    leaves, affine maps, nodes and solver runs as a root whose input map is a plain copy of the
    identity (the general path), in both searches; the shared identity is read-only."""
    from polyregions.search.rows import identity

    net = random_dense_net(rng, 3, [5, 4])
    box = pr.Box(-np.ones(3), np.ones(3))
    for search_of in (lambda: RegionSearch(net, box, EPS, backend, True),
                      lambda: make_search(net, box, EPS, backend, True, compiled=True)):
        runs = []
        for plain in (False, True):
            search = search_of()
            root = search.root()
            assert root.G is identity(3) and not root.G.flags.writeable
            if plain:
                root.G = np.eye(3)
            runs.append(([(tuple(search.bits), x.copy(), M.copy(), m.copy()) for x, _, M, m in search.run(root)],
                         search.stats.nodes, search.lp.lp_solves))
        (skip, n1, s1), (full, n2, s2) = runs
        assert (n1, s1) == (n2, s2) and [r[0] for r in skip] == [r[0] for r in full] and skip
        for a, b in zip(skip, full):
            for u, v in zip(a[1:], b[1:]):
                np.testing.assert_array_equal(u, v)
