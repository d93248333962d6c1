"""Tests of polyregions.bounds.local: Zhu, Lin & Tang's Algorithm 1 and our arrangement bound.

Ground truth: the exact regions meeting the ball (``enumerate_regions`` with the L2-ball
test, ``eps = 1e-7``), sampled points of the ball, and a hand computation. Networks have
non-square layers, so an implementation using the transposed weight matrix would fail.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest

import polyregions as pr
from polyregions.bounds import local
from polyregions.bounds.local import local_arrangement_bound, zhu_local

EPS = 1e-7
RADII = (0.05, 0.3, 1.0, 3.0)
METHODS = ("interval", "symbolic", "lp")


def _random_net(rng, n0, widths):
    weights, biases, n_in = [], [], n0
    for n in widths:
        weights.append(rng.normal(size=(n, n_in)))
        biases.append(rng.normal(size=n))
        n_in = n
    return pr.Network.from_dense(weights, biases)


def _split(bits, widths):
    return np.split(np.asarray(bits, dtype=int), np.cumsum(widths)[:-1])


def _ball_samples(rng, center, radius, n=400):
    d = center.size
    g = rng.normal(size=(n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    rad = radius * rng.uniform(size=(n, 1)) ** (1.0 / d)
    rad[: n // 4] = radius  # a quarter on the sphere itself (the ball is closed)
    return center + rad * g


def _post_activations(net, x):
    return [np.maximum(z, 0.0) for z in net.preactivations(x)]


def _check_ball(net, center, radius, rng):
    """Every soundness check on one ball; returns (exact count, Zhu's bound, our bounds)."""
    regions = list(pr.enumerate_regions(net, pr.Ball(center, radius), eps=EPS))
    count = len(regions)
    assert count >= 1
    pats = np.array([r.bits for r in regions], dtype=int)
    widths = net.widths
    z = zhu_local(net, center, radius)

    # the sharp test: a neuron whose state differs between two regions meeting the ball has S = 1
    S = np.concatenate(z.S)
    for a, b in itertools.combinations(range(count), 2):
        differ = pats[a] != pats[b]
        assert np.all(S[differ] == 1), (a, b, np.flatnonzero(differ & (S == 0)))
    # a neuron with S = 0 has its state at the center in every region
    fixed = S == 0
    center_bits = net.pattern(center).astype(int)
    assert np.all(pats[:, fixed] == center_bits[fixed])

    # C = 0: the ball lies in one region; 2^C bounds the exact count
    assert isinstance(z.bound, int) and z.bound == 2**z.C
    assert z.C == int(S.sum())
    if z.C == 0:
        assert pr.count_regions(net, pr.Ball(center, radius), eps=EPS).count == 1
    assert z.bound >= count

    # U bounds the post-activation's change, and P = 0 neurons follow their exact map L
    xs = _ball_samples(rng, center, radius)
    h_c = _post_activations(net, center)
    h_x = _post_activations(net, xs)
    for l in range(len(widths)):
        dev = np.abs(h_x[l] - h_c[l])
        assert np.all(dev <= z.U[l] + 1e-9 * (1 + z.U[l])), l
        for j in np.flatnonzero(z.P[l] == 0):
            Lj = z.L[l][j]
            assert Lj is not None and Lj.shape == (net.input_dim,)
            np.testing.assert_allclose(h_x[l][:, j] - h_c[l][j], (xs - center) @ Lj, atol=1e-9)
        assert all((z.L[l][j] is None) == (z.P[l][j] == 1) for j in range(widths[l]))

    # our bound: sound intervals, unstable flags as sharp as S, never looser than 2^C
    ours = {}
    zs = net.preactivations(xs)
    for method in METHODS:
        res = local_arrangement_bound(net, center, radius, method=method)
        unst = np.concatenate(res.unstable)
        assert np.all(unst <= S)  # every unstable neuron has Zhu's S = 1
        for a, b in itertools.combinations(range(count), 2):
            assert np.all(unst[pats[a] != pats[b]] == 1)
        for l in range(len(widths)):
            assert np.all(zs[l] >= res.lower[l] - 1e-9) and np.all(zs[l] <= res.upper[l] + 1e-9)
        assert isinstance(res.bound, int)
        assert count <= res.bound <= z.bound
        assert res.bound <= 2 ** sum(res.k)
        assert res.zhu.bound == z.bound
        ours[method] = res.bound
    # the LP and symbolic methods refine the interval method
    assert ours["lp"] <= ours["symbolic"] <= ours["interval"]
    return count, z.bound, ours


@pytest.mark.parametrize("widths", [(5, 4), (4, 6, 3)])
def test_random_nets_in_balls(widths):
    rng = np.random.default_rng(7)
    improved, saw_c0, saw_split = 0, False, False
    for trial in range(2):
        net = _random_net(rng, 3, widths)
        for radius in RADII:
            center = rng.normal(size=3)
            count, zhu, ours = _check_ball(net, center, radius, rng)
            improved += ours["symbolic"] < zhu
            saw_c0 |= zhu == 1
            saw_split |= count > 1
    assert saw_c0 and saw_split
    assert improved >= 1  # the arrangement count is strictly tighter somewhere


def test_tiny_ball_has_one_region():
    """C = 0 around a generic point for a small enough radius, and then exactly one region."""
    rng = np.random.default_rng(3)
    net = _random_net(rng, 3, (4, 6, 3))
    center = rng.normal(size=3)
    z = zhu_local(net, center, 1e-3)
    assert z.C == 0 and z.bound == 1
    assert pr.count_regions(net, pr.Ball(center, 1e-3), eps=1e-9).count == 1
    assert local_arrangement_bound(net, center, 1e-3).bound == 1


def test_hand_worked_example():
    r"""Algorithm 1 by hand: 1-D input, center x* = 0, radius r = 0.5.

    Layer 1: z = (x + 1, -2x + 0.5), A = (1, 0.5). Inputs have P = 0, L = e_1 = (1), U = 0.
      n1: U = 0, l = (1),  U_1 = 0.5 * 1 = 0.5 < A = 1 and U == 0 -> P = S = 0, L = (1), U = 0.5
      n2: U = 0, l = (-2), U_2 = 0.5 * 2 = 1.0 >= A = 0.5         -> P = S = 1, U = 1.0
    Layer 2: W = [[1, 1], [1, -1], [0, 1], [1, 0]], b = (0.5, -2.5, -1, 0); h^1(0) = (1, 0.5),
    so A = (2, -2, -0.5, 1). Only n2 of layer 1 has P = 1 (U = 1.0).
      n1: U = |1| * 1.0 = 1,  l = 1*(1) = (1), U_1 = 0.5 + 1 = 1.5 < A = 2, U != 0 -> P = 1, S = 0, U = 1.5
      n2: U = |-1| * 1.0 = 1, l = (1),  U_2 = 1.5, A + U_2 = -0.5 < 0  -> off: P = S = 0, U = 0, L = (0)
      n3: U = |1| * 1.0 = 1,  l = 0*(1) = (0), U_3 = 1.0, A + U_3 = 0.5 >= 0 -> U = 0.5, P = S = 1
      n4: U = |0| * 1.0 = 0,  l = (1),  U_4 = 0.5 < A = 1, U == 0 -> P = S = 0, L = (1), U = 0.5
    C = 2 (layer 1 n2, layer 2 n3), bound 4. The truth on [-0.5, 0.5]: layer 1 n2 switches at
    x = 0.25, layer 2 n3 (= max(0, 0.5 - 2x) - 1) at x = -0.25: 3 regions.
    """
    net = pr.Network.from_dense(
        [[[1.0], [-2.0]], [[1.0, 1.0], [1.0, -1.0], [0.0, 1.0], [1.0, 0.0]]],
        [[1.0, 0.5], [0.5, -2.5, -1.0, 0.0]],
    )
    z = zhu_local(net, [0.0], 0.5)
    assert [p.tolist() for p in z.P] == [[0, 1], [1, 0, 1, 0]]
    assert [s.tolist() for s in z.S] == [[0, 1], [0, 0, 1, 0]]
    np.testing.assert_allclose(z.U[0], [0.5, 1.0])
    np.testing.assert_allclose(z.U[1], [1.5, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(z.A[1], [2.0, -2.0, -0.5, 1.0])
    np.testing.assert_allclose(z.delta[1], [1.5, 1.5, 1.0, 0.5])
    assert z.L[0][1] is None and z.L[1][0] is None and z.L[1][2] is None
    np.testing.assert_allclose(z.L[0][0], [1.0])
    np.testing.assert_allclose(z.L[1][1], [0.0])
    np.testing.assert_allclose(z.L[1][3], [1.0])
    assert z.C == 2 and z.bound == 4
    assert pr.count_regions(net, pr.Ball([0.0], 0.5), eps=EPS).count == 3
    ours = local_arrangement_bound(net, [0.0], 0.5)
    assert ours.k == (1, 1) and ours.dims == (1, 1) and ours.bound == 4
    _check_ball(net, np.array([0.0]), 0.5, np.random.default_rng(0))


def test_arrangement_count_is_tighter_than_zhu():
    """Lines x = 0, y = 0, x + y = 1/2, unit ball at 0: Zhu 2^3 = 8, the arrangement 1 + 3 + 3 = 7 (exact)."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -0.5]])
    res = local_arrangement_bound(net, [0.0, 0.0], 1.0)
    assert (res.zhu.bound, res.bound, res.k, res.factors) == (8, 7, (3,), (7,))
    assert pr.count_regions(net, pr.Ball([0.0, 0.0], 1.0), eps=EPS).count == 7


def test_dimension_drops_after_a_narrow_layer():
    """A layer with one possibly-on neuron: the next layer's pieces live on a line (m_2 = 1)."""
    rng = np.random.default_rng(11)
    W1 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    b1 = np.array([0.0, -1.0, -2.0])  # two dead neurons, one unstable
    W2 = rng.normal(size=(4, 3))
    b2 = np.zeros(4)
    net = pr.Network.from_dense([W1, W2], [b1, b2])
    res = local_arrangement_bound(net, np.zeros(3), 1.0)
    assert res.k[0] == 1 and res.stable_on[0] == 0 and res.dims == (3, 1)
    assert res.factors[1] == 1 + res.k[1]
    assert res.bound >= pr.count_regions(net, pr.Ball(np.zeros(3), 1.0), eps=EPS).count


def test_conv_network():
    rng = np.random.default_rng(5)
    conv = pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), stride=1)
    dense = pr.Dense(rng.normal(size=(3, 8)), rng.normal(size=3))
    net = pr.Network([conv, dense], input_shape=(1, 3, 3))
    assert net.widths == (8, 3) and net.input_dim == 9
    counts = []
    for radius in (0.05, 0.3, 1.0):
        center = rng.normal(size=9)
        count, _, _ = _check_ball(net, center, radius, rng)
        counts.append(count)
    assert max(counts) > 1
    # the center may be given in the network's input shape
    center = rng.normal(size=(1, 3, 3))
    assert zhu_local(net, center, 0.3).C == zhu_local(net, center.ravel(), 0.3).C


def test_result_is_frozen():
    net = pr.Network.from_dense([[[1.0], [-1.0]]], [[0.0, 0.5]])
    z = zhu_local(net, [0.1], 0.2)
    with pytest.raises(AttributeError):
        z.C = 0
    with pytest.raises(ValueError):
        z.S[0][0] = 0


@pytest.mark.parametrize("fn", [zhu_local, local_arrangement_bound])
def test_bad_input(fn):
    net = pr.Network.from_dense([np.ones((2, 3))], [np.zeros(2)])
    with pytest.raises(pr.InvalidInputError, match="`center` must have 3 entries"):
        fn(net, np.zeros(4), 1.0)
    with pytest.raises(pr.InvalidInputError, match="`center` must have 3 entries"):
        fn(net, np.zeros((3, 1)), 1.0)
    with pytest.raises(pr.InvalidInputError, match="`center` contains NaN"):
        fn(net, [0.0, np.nan, 0.0], 1.0)
    for bad in (0.0, -1.0, np.inf, np.nan, "x"):
        with pytest.raises(pr.InvalidInputError, match="`radius` must be a positive finite number"):
            fn(net, np.zeros(3), bad)
    with pytest.raises(pr.InvalidInputError, match="`net` must be a polyregions.Network"):
        fn("net", np.zeros(3), 1.0)


def test_bad_method():
    net = pr.Network.from_dense([np.ones((2, 3))], [np.zeros(2)])
    with pytest.raises(pr.InvalidInputError, match="`method` must be one of"):
        local_arrangement_bound(net, np.zeros(3), 1.0, method="milp")
    with pytest.raises(pr.InvalidInputError, match="`max_cuts` must be a non-negative integer"):
        local_arrangement_bound(net, np.zeros(3), 1.0, method="lp", max_cuts=-1)


def test_doctests():
    failures, _ = doctest.testmod(local, verbose=False)
    assert failures == 0
