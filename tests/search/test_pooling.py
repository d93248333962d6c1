"""Max pooling in the search: counts against dense sampling, the HiGHS backend, and for
2-candidate windows the ReLU construction max(a, b) = b + ReLU(a - b); ties; resuming."""

import numpy as np
import pytest

import polyregions as pr
from polyregions import Dense, Flatten, MaxPool2d, Network, Unflatten
from polyregions.search.pooling import window_children

BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])


def pooled_net(seed, windows=2, k=(2, 2)):
    """2 inputs -> ReLU(8 or so units) -> max pooling of `windows` windows of size k -> ReLU(3)."""
    rng = np.random.default_rng(seed)
    k1, k2 = k
    n = windows * k1 * k2
    W1, b1 = rng.normal(size=(n, 2)), 0.5 * rng.normal(size=n)
    W2, b2 = rng.normal(size=(3, windows)), 0.3 * rng.normal(size=3)
    layers = [Dense(W1, b1), Unflatten((windows, k1, k2)), MaxPool2d(k), Flatten(), Dense(W2, b2)]
    return Network(layers, input_shape=2), (W1, b1, W2, b2)


def enumerated(net, **kw):
    return {tuple(r.bits) for r in pr.enumerate_regions(net, BOX, **kw)}


def test_pool_forward_is_the_window_max():
    net, (W1, b1, W2, b2) = pooled_net(0)
    x = np.random.default_rng(1).normal(size=(100, 2))
    r = np.maximum(x @ W1.T + b1, 0).reshape(100, 2, 4)
    expected = np.maximum(r.max(axis=2) @ W2.T + b2, 0)
    assert np.allclose(net.forward(x), expected, atol=1e-12)
    bits = net.pattern(x)
    assert bits.shape == (100, 8 + 8 + 3)
    assert np.all(bits[:, 8:16].reshape(100, 2, 4).sum(axis=2) == 1)  # one argmax per window


@pytest.mark.parametrize("seed", [2, 3])
def test_four_candidate_windows_against_sampling_and_highs(seed):
    net, _ = pooled_net(seed)
    regions = enumerated(net)
    x = np.random.default_rng(seed).uniform(-1, 1, size=(60000, 2))
    assert {tuple(p) for p in net.pattern(x)} <= regions
    assert len(regions) == pr.count_regions(net, BOX, backend="highs").count


def test_two_candidate_windows_against_the_relu_construction():
    net, (W1, b1, W2, b2) = pooled_net(4, windows=3, k=(1, 2))
    a, b = W1[0::2], W1[1::2]  # the two candidates of each window, before the ReLU
    ba, bb = b1[0::2], b1[1::2]
    # max(r_a, r_b) = r_b + relu(r_a - r_b); r_b >= 0 passes a ReLU unchanged
    first = Network.from_dense([np.vstack([a, b])], [np.concatenate([ba, bb])])
    D = np.hstack([np.eye(3), -np.eye(3)])
    S = np.hstack([np.zeros((3, 3)), np.eye(3)])
    hand = Network.from_dense([first.hidden[0][0], np.vstack([D, S]), W2 @ np.hstack([np.eye(3), np.eye(3)])],
                              [first.hidden[0][1], np.zeros(6), b2])
    x = np.random.default_rng(5).uniform(-1, 1, size=(50, 2))
    assert np.allclose(net.forward(x), hand.forward(x), atol=1e-12)
    assert len(enumerated(net)) == pr.count_regions(hand, BOX).count


def test_identical_candidates_do_not_split_and_record_the_lowest_index():
    rng = np.random.default_rng(6)
    w, c = rng.normal(size=(1, 2)), np.array([0.1])
    W1 = np.vstack([w, w, -w, w])  # candidates 0, 1 and 3 are the same function
    net = Network([Dense(W1, np.concatenate([c, c, -c, c])), Unflatten((1, 2, 2)), MaxPool2d(2)], input_shape=2)
    single = Network.from_dense([np.vstack([w, -w])], [np.concatenate([c, -c])])
    regions = enumerated(net)
    assert len(regions) == pr.count_regions(single, BOX).count == 2
    for bits in regions:
        window = bits[4:]
        assert window[1] == 0 and window[3] == 0  # the tie goes to index 0
    x = rng.uniform(-1, 1, size=(1000, 2))
    assert {tuple(p) for p in net.pattern(x)} <= regions


def test_window_children_classes():
    Gw = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    cw = np.array([0.0, 0.0, 0.0, 5.0])
    reps = [i for i, _ in window_children(Gw, cw, 1e-12)]
    assert reps == [0, 3]  # 1 ties with 0; 2 is below 3 by a constant


def test_resume_inside_pooling_stages_gives_the_full_count(tmp_path):
    net, _ = pooled_net(7, windows=3)
    full = pr.count_regions(net, BOX, method="dfs").count
    path = tmp_path / "pool.ckpt"
    part = pr.count_regions(net, BOX, method="dfs", max_regions=None, time_limit=1e-3, checkpoint=path)
    if part.complete:
        pytest.skip("the search finished before its time limit; nothing to resume")
    assert pr.count_regions(net, BOX, method="dfs", resume=path).count == full
    assert pr.count_regions(net, BOX, method="dfs", workers=2).count == full


def test_larger_windows_count_argmax_regions_not_a_tournament():
    """A 3-candidate window counts the argmax partition: a = x, b = y, c = -x - y meet at the
    origin, 3 sectors. The ReLU tournament max(max(a, b), c) = m + ReLU(c - m) with
    m = b + ReLU(a - b) also cuts c's sector along a = b: 4 regions."""
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    net = Network([Dense(W1, np.zeros(3), 1.0), Unflatten((1, 1, 3)), MaxPool2d((1, 3))], input_shape=2)
    shift = 10.0  # keeps the carried values positive on BOX, where |a|, |b|, |c| <= 2
    first_W = np.vstack([W1[0] - W1[1], W1[1], W1[2]])  # relu(a - b), b + shift, c + shift
    second_W = np.array([[-1.0, -1.0, 1.0], [1.0, 1.0, 0.0]])  # relu(c - m), m + shift
    tournament = Network.from_dense([first_W, second_W], [np.array([0.0, shift, shift]), np.array([0.0, 0.0])])
    x = np.random.default_rng(8).uniform(-1, 1, size=(200, 2))
    m = x[:, 1] + np.maximum(x[:, 0] - x[:, 1], 0)
    assert np.allclose(tournament.forward(x)[:, 0] + m, net.forward(x).max(axis=1), atol=1e-12)
    assert len(enumerated(net)) == 3
    assert pr.count_regions(tournament, BOX).count == 4
