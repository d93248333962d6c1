"""Bounds on pre-activations (polyregions.milp.propagate).

Oracles: sampled pre-activations (every bound must contain them), the closed-form
support functions of the norm balls written out here, and a Lipschitz argument on a
dense grid for the exact (MILP) bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.milp.propagate import METHODS, neuron_bounds, stability, support

TOL = 1e-9


def _domains(d, rng):
    c = rng.uniform(-0.3, 0.3, size=d)
    A = np.vstack([np.eye(d), -np.eye(d), np.ones((1, d))])
    b = np.concatenate([np.ones(d), np.ones(d), [0.5]])
    return {
        "box": pr.Box(-np.ones(d), np.ones(d)),
        "ballinf": pr.Ball(c, 0.7, p=math.inf),
        "ball1": pr.Ball(c, 0.9, p=1),
        "ball2": pr.Ball(c, 0.8, p=2),
        "polytope": pr.Polytope(A, b),
    }


def _samples(domain, n, rng):
    if hasattr(domain, "sample"):
        return domain.sample(n, rng)
    d = domain.dim
    pts = rng.uniform(-1, 1, size=(8 * n, d))
    return pts[domain.contains(pts)][:n]


@pytest.mark.parametrize("d", [2, 3])
def test_every_method_contains_the_samples_and_tightens(d, rng, random_dense_net):
    net = random_dense_net(rng, d, [5, 4, 3], bias_scale=0.3)
    for name, dom in _domains(d, rng).items():
        B = {m: neuron_bounds(net, dom, m) for m in METHODS}
        X = _samples(dom, 10_000, rng)
        assert len(X) > 1000
        Z = net.preactivations(X)
        for m, bounds in B.items():
            assert len(bounds) == 3 and bounds.method == m
            for l, (lo, up) in enumerate(bounds):
                assert lo.shape == up.shape == (net.widths[l],)
                assert np.all(Z[l] >= lo - TOL), (name, m, l)
                assert np.all(Z[l] <= up + TOL), (name, m, l)
        # each method at least as tight as the previous one (LP never looser than interval)
        for loose, tight in [("interval", "symbolic"), ("symbolic", "lp"), ("interval", "lp"), ("lp", "milp")]:
            for l in range(3):
                assert np.all(B[tight][l][0] >= B[loose][l][0] - 1e-12), (name, loose, tight, l)
                assert np.all(B[tight][l][1] <= B[loose][l][1] + 1e-12), (name, loose, tight, l)


def test_first_layer_of_norm_balls_is_exact(rng):
    """z = w.x + b over |x - c|_p <= r ranges over w.c + b +- r |w|_q, 1/p + 1/q = 1."""
    W = rng.normal(size=(4, 3))
    b = rng.normal(size=4)
    net = pr.Network.from_dense([W], [b])
    c = rng.normal(size=3)
    for p, q in [(1, np.inf), (2, 2), (math.inf, 1)]:
        (lo, up), = neuron_bounds(net, pr.Ball(c, 0.7, p=p), "interval")
        half = 0.7 * np.linalg.norm(W, ord=q, axis=1)
        np.testing.assert_allclose(up, W @ c + b + half, rtol=1e-12)
        np.testing.assert_allclose(lo, W @ c + b - half, rtol=1e-12)
    np.testing.assert_allclose(support(pr.Box([0, 0, 0], [1, 2, 3]), [1.0, -1.0, 2.0]), 1 + 0 + 6)


def test_milp_bounds_are_exact_on_a_grid(rng, random_dense_net):
    """In the plane, the exact maximum is within Lipschitz * spacing of a grid maximum."""
    net = random_dense_net(rng, 2, [4, 4], bias_scale=0.3)
    dom = pr.Box([-1.0, -1.0], [1.0, 1.0])
    bounds = neuron_bounds(net, dom, "milp")
    g = np.linspace(-1, 1, 401)
    X = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    Z = net.preactivations(X)
    spacing = (g[1] - g[0]) / math.sqrt(2)  # every point is this close to a grid point
    lip = 1.0  # a Lipschitz constant (Euclidean) of every unit of the previous layer
    for l, (W, _) in enumerate(net.hidden):
        lip_rows = np.abs(W).sum(axis=1) * lip if l else np.linalg.norm(W, axis=1)
        lo, up = bounds[l]
        assert np.all(Z[l].max(axis=0) <= up + TOL)
        assert np.all(Z[l].min(axis=0) >= lo - TOL)
        assert np.all(up <= Z[l].max(axis=0) + lip_rows * spacing + 1e-6)
        assert np.all(lo >= Z[l].min(axis=0) - lip_rows * spacing - 1e-6)
        lip = float(lip_rows.max())  # ReLU is 1-Lipschitz


def test_stability_masks():
    # z1 = x + 2 > 0 on [-1, 1]; z2 = x - 3 < 0; z3 = x crosses; second layer z = h1 (on), h2 (zero: off)
    net = pr.Network.from_dense([[[1.0], [1.0], [1.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]],
                                [[2.0, -3.0, 0.0], [0.0, 0.0]])
    for method in METHODS:
        bounds = neuron_bounds(net, pr.Box([-1.0], [1.0]), method)
        assert bounds.stable_on.tolist() == [True, False, False, True, False]
        assert bounds.stable_off.tolist() == [False, True, False, False, True]
        assert bounds.num_unstable == 1
        assert [s.tolist() for s in stability(bounds)] == [[1, -1, 0], [1, -1]]


def test_a_neuron_that_is_zero_on_part_of_the_domain_is_not_stable():
    """z2 = relu(x) >= 0 is identically zero (off) for x < 0: lower == 0 is not 'stably on'."""
    net = pr.Network.from_dense([[[1.0]], [[1.0]]], [[0.0], [0.0]])
    bounds = neuron_bounds(net, pr.Box([-1.0], [1.0]), "lp")
    assert bounds[1][0][0] <= 0.0
    assert not bounds.stable_on[1] and not bounds.stable_off[1]


def test_whole_space():
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 0.0]]], [[0.0, 0.5]])
    (lo, up), = neuron_bounds(net, pr.Whole(2), "symbolic")
    assert lo[0] == -math.inf and up[0] == math.inf
    assert lo[1] == up[1] == 0.5  # a zero row is the constant bias
    with pytest.raises(pr.UnsupportedError, match="`domain` must be bounded"):
        neuron_bounds(net, pr.Whole(2), "lp")


def test_validation_messages():
    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    with pytest.raises(pr.InvalidInputError, match="`method` must be one of"):
        neuron_bounds(net, pr.Box([0, 0], [1, 1]), "crown")
    with pytest.raises(pr.InvalidInputError, match="`domain` has dimension 3"):
        neuron_bounds(net, pr.Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(pr.InvalidInputError, match="`net` must be"):
        neuron_bounds("net", pr.Box([0, 0], [1, 1]))
    with pytest.raises(pr.InvalidInputError, match="`time_limit` must be a positive"):
        neuron_bounds(net, pr.Box([0, 0], [1, 1]), "milp", time_limit=0)
