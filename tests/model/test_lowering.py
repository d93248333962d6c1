"""LeakyReLU and residual stages: forward passes against NumPy written out, counts against
independent sources (the ReLU count of one layer, dense sampling, ReLU networks built by hand)."""

import numpy as np
import pytest

import polyregions as pr
from polyregions import Activation, Dense, Network, Residual
from polyregions.search.checkpoint import Checkpointer

BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])
#: A shift that keeps a carried coordinate positive on BOX, so that a ReLU passes it unchanged.
CARRY_SHIFT = 10.0


def leaky(z, alpha):
    return np.where(z > 0, z, alpha * z)


def random_layers(seed, sizes):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(m, n)), 0.5 * rng.normal(size=m)) for n, m in zip(sizes[:-1], sizes[1:])]


def sampled_patterns(net, n=40000, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    return {tuple(p) for p in net.pattern(x)}


def enumerated(net, domain=BOX, **kw):
    return {tuple(r.bits) for r in pr.enumerate_regions(net, domain, **kw)}


def test_leaky_forward_matches_numpy():
    (W1, b1), (W2, b2) = random_layers(0, [2, 4, 3])
    net = Network([Dense(W1, b1, 0.1), Dense(W2, b2, -0.5)])
    x = np.random.default_rng(1).normal(size=(50, 2))
    expected = leaky(leaky(x @ W1.T + b1, 0.1) @ W2.T + b2, -0.5)
    assert np.allclose(net.forward(x), expected, rtol=0, atol=1e-12)
    assert net.num_neurons == 7 and not net.is_relu


@pytest.mark.parametrize("alpha", [0.01, 0.3, -0.7, 2.0])
def test_one_leaky_layer_has_the_regions_of_relu(alpha):
    (W1, b1), = random_layers(2, [2, 6])
    relu = Network([Dense(W1, b1)])
    assert enumerated(Network([Dense(W1, b1, alpha)])) == enumerated(relu)


def test_slope_one_is_linear_and_folds():
    (W1, b1), (W2, b2) = random_layers(3, [2, 3, 4])
    folded = Network([Dense(W1, b1, 1.0), Dense(W2, b2)])
    assert len(folded.stages) == 1
    composed = Network.from_dense([W2 @ W1], [W2 @ b1 + b2])
    assert pr.count_regions(folded, BOX).count == pr.count_regions(composed, BOX).count


def leaky_as_relu_network(layers, alpha):
    """The LeakyReLU network of `layers` as a ReLU network, by LeakyReLU(z) = alpha z + (1 - alpha) ReLU(z).

    Each layer gets the extra neurons ``relu(z + CARRY_SHIFT)`` that carry its pre-activations
    (positive on BOX for these weights), so that the next layer can add ``alpha z``."""
    Ws, bs = [], []
    (W1, b1) = layers[0]
    n1 = W1.shape[0]
    Ws.append(np.vstack([W1, W1]))
    bs.append(np.concatenate([b1, b1 + CARRY_SHIFT]))
    for l, (W, b) in enumerate(layers[1:], start=1):
        last = l == len(layers) - 1
        n = W.shape[0]
        # h_prev = alpha z_prev + (1 - alpha) r_prev with z_prev = carried - CARRY_SHIFT
        A = np.hstack([(1 - alpha) * W, alpha * W])
        c = b - alpha * W @ np.full(W.shape[1], CARRY_SHIFT)
        if not last:
            A, c = np.vstack([A, A]), np.concatenate([c, c + CARRY_SHIFT])
        Ws.append(A)
        bs.append(c)
    return Network.from_dense(Ws, bs)


def test_deeper_leaky_against_the_relu_identity_and_sampling():
    alpha = 0.2
    layers = random_layers(4, [2, 5, 4, 3])
    net = Network([Dense(W, b, alpha) for W, b in layers])
    hand = leaky_as_relu_network(layers, alpha)
    # the carried neurons are on throughout the box (the shift exceeds every |z| there)
    x = np.random.default_rng(5).uniform(-1, 1, size=(20000, 2))
    for z in net.preactivations(x):
        assert np.abs(z).max() < CARRY_SHIFT
    regions = enumerated(net)
    assert len(regions) == pr.count_regions(hand, BOX).count
    assert sampled_patterns(net) <= regions
    relu_count = pr.count_regions(Network([Dense(W, b) for W, b in layers]), BOX).count
    assert relu_count != len(regions)  # from the second layer on, LeakyReLU has other regions


def test_residual_forward_and_count_against_the_unrolled_network():
    (W1, b1), (Wa, ba), (Wb, bb) = random_layers(6, [2, 4, 4, 4])
    net = Network([Dense(W1, b1), Residual([Dense(Wa, ba), Dense(Wb, bb, 1.0)]), Activation()])
    x = np.random.default_rng(7).normal(size=(40, 2))
    r1 = np.maximum(x @ W1.T + b1, 0)
    expected = np.maximum(r1 + np.maximum(r1 @ Wa.T + ba, 0) @ Wb.T + bb, 0)
    assert np.allclose(net.forward(x), expected, atol=1e-12)
    # unrolled by hand: r1 >= 0 passes a ReLU unchanged, so relu(r1) carries the skip
    hand = Network.from_dense([W1, np.vstack([Wa, np.eye(4)]), np.hstack([Wb, np.eye(4)])],
                              [b1, np.concatenate([ba, np.zeros(4)]), bb])
    regions = enumerated(net)
    assert len(regions) == pr.count_regions(hand, BOX).count
    assert sampled_patterns(net) <= regions
    assert net.num_neurons == 12  # the carried skip has no pattern bits


def test_residual_on_the_input_against_a_shifted_carry():
    (Wa, ba), (Wb, bb) = random_layers(8, [2, 5, 2])
    net = Network([Residual([Dense(Wa, ba), Dense(Wb, bb, 1.0)]), Activation(0.1)], input_shape=2)
    hand_first = Network.from_dense([np.vstack([Wa, np.eye(2)])], [np.concatenate([ba, np.full(2, CARRY_SHIFT)])])
    # the second stage: leaky(Wb r + bb + x) with x = carried - CARRY_SHIFT, written as a ReLU net + linear skip
    W2, b2 = np.hstack([Wb, np.eye(2)]), bb - CARRY_SHIFT
    x = np.random.default_rng(9).uniform(-1, 1, size=(30, 2))
    h1 = hand_first.forward(x)
    assert np.allclose(net.forward(x), leaky(h1 @ W2.T + b2, 0.1), atol=1e-12)
    hand = Network.from_dense([hand_first.hidden[0][0], W2], [hand_first.hidden[0][1], b2])
    assert len(enumerated(net)) == pr.count_regions(hand, BOX).count


def test_residual_body_must_keep_the_shape():
    (Wa, ba), = random_layers(10, [2, 3])
    with pytest.raises(pr.InvalidInputError, match=r"layers\[0\].*Residual"):
        Network([Residual([Dense(Wa, ba)])], input_shape=2)


def test_relu_only_methods_refuse_other_activations():
    (W1, b1), (W2, b2) = random_layers(11, [2, 3, 2])
    net = Network([Dense(W1, b1, 0.1), Dense(W2, b2)])
    with pytest.raises(pr.UnsupportedError, match="LeakyReLU.*the MILP"):
        pr.count_regions(net, BOX, method="milp")
    with pytest.raises(pr.UnsupportedError, match="neuron_bounds"):
        pr.neuron_bounds(net, BOX)
    with pytest.raises(pr.UnsupportedError, match="zhu_local"):
        pr.bounds.zhu_local(net, np.zeros(2), 0.5)


def test_a_leaky_network_never_resumes_the_relu_checkpoint(tmp_path):
    (W1, b1), (W2, b2) = random_layers(12, [2, 3, 2])
    relu = Network([Dense(W1, b1), Dense(W2, b2)])
    leaky_net = Network([Dense(W1, b1), Dense(W2, b2, 0.1)])
    path = tmp_path / "relu.ckpt"
    Checkpointer(path, relu, BOX, 1e-9, "auto", True).save(0, [], pr.Stats(eps=1e-9))
    with pytest.raises(pr.InvalidInputError, match="another network"):
        pr.count_regions(leaky_net, BOX, resume=path, method="dfs")
    assert Checkpointer.load(path, relu, BOX, 1e-9, "auto", True)[0] == 0
