"""Tests of polyregions.model.network: construction, evaluation, the pattern rule and bit order."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import polyregions as pr


def _manual_forward(weights, biases, x, output=None):
    h = np.asarray(x, float)
    zs = []
    for W, b in zip(weights, biases):
        z = np.asarray(W, float) @ h + np.asarray(b, float)
        zs.append(z)
        h = np.maximum(z, 0.0)
    if output is not None:
        h = output[0] @ h + output[1]
    return zs, h


# ---------------------------------------------------------------------- from_dense


def test_from_dense_shapes(rng):
    weights = [rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4))]
    biases = [rng.normal(size=5), rng.normal(size=4), rng.normal(size=2)]
    net = pr.Network.from_dense(weights, biases)
    assert net.input_dim == 3
    assert net.input_shape == (3,)
    assert net.widths == (5, 4, 2)
    assert net.num_neurons == 11
    assert len(net.hidden) == 3
    for (W, b), W0, b0 in zip(net.hidden, weights, biases):
        assert W.shape == W0.shape and b.shape == b0.shape
        assert W.dtype == np.float64 and b.dtype == np.float64
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert net.output is None


def test_from_dense_accepts_nested_lists_of_ints():
    net = pr.Network.from_dense([[[1, 2], [3, 4], [5, 6]]], [[0, 1, 2]])
    assert net.widths == (3,)
    assert net.hidden[0][0].dtype == np.float64


def test_from_dense_with_output(rng):
    Wo, bo = rng.normal(size=(2, 4)), rng.normal(size=2)
    net = pr.Network.from_dense([rng.normal(size=(4, 3))], [rng.normal(size=4)], output=(Wo, bo))
    assert net.widths == (4,)
    np.testing.assert_array_equal(net.output[0], Wo)
    np.testing.assert_array_equal(net.output[1], bo)


def test_network_is_frozen_and_copies_its_input(rng):
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    net = pr.Network.from_dense([W], [b])
    x = np.array([0.3, -0.7])
    before = net.forward(x).copy()
    W[:] = 0.0  # the caller's array changes afterwards
    b[:] = 0.0
    np.testing.assert_array_equal(net.forward(x), before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.output = None
    with pytest.raises(ValueError):
        net.hidden[0][0][0, 0] = 1.0  # read-only weights


# ---------------------------------------------------------------------- evaluation


def test_forward_and_preactivations_match_a_manual_computation(rng):
    weights = [rng.normal(size=(4, 3)), rng.normal(size=(5, 4))]
    biases = [rng.normal(size=4), rng.normal(size=5)]
    output = (rng.normal(size=(2, 5)), rng.normal(size=2))
    net = pr.Network.from_dense(weights, biases, output=output)
    for x in rng.normal(size=(10, 3)):
        zs, y = _manual_forward(weights, biases, x, output)
        for z_net, z in zip(net.preactivations(x), zs):
            np.testing.assert_allclose(z_net, z, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(net.forward(x), y, rtol=1e-13, atol=1e-13)
        expected_bits = np.concatenate([z > 0 for z in zs])
        np.testing.assert_array_equal(net.pattern(x), expected_bits)


def test_forward_without_output_is_the_last_hidden_layer(rng):
    weights = [rng.normal(size=(4, 2)), rng.normal(size=(3, 4))]
    biases = [rng.normal(size=4), rng.normal(size=3)]
    net = pr.Network.from_dense(weights, biases)
    x = rng.normal(size=2)
    zs, h = _manual_forward(weights, biases, x)
    np.testing.assert_allclose(net.forward(x), h, rtol=1e-13, atol=1e-13)
    assert np.all(net.forward(rng.normal(size=(20, 2))) >= 0)


def test_batched_equals_single_point(rng):
    net = pr.Network.from_dense(
        [rng.normal(size=(6, 3)), rng.normal(size=(4, 6))], [rng.normal(size=6), rng.normal(size=4)],
        output=(rng.normal(size=(2, 4)), rng.normal(size=2)),
    )
    X = rng.normal(size=(25, 3))
    F, P, Z = net.forward(X), net.pattern(X), net.preactivations(X)
    assert F.shape == (25, 2) and P.shape == (25, 10) and P.dtype == bool
    assert [z.shape for z in Z] == [(25, 6), (25, 4)]
    for k, x in enumerate(X):
        assert net.forward(x).shape == (2,)
        assert net.pattern(x).shape == (10,)
        # a batched product may round differently in the last bit (BLAS blocking)
        np.testing.assert_allclose(net.forward(x), F[k], rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(net.pattern(x), P[k])
        for zl, Zl in zip(net.preactivations(x), Z):
            np.testing.assert_allclose(zl, Zl[k], rtol=1e-13, atol=1e-13)


def test_a_batch_of_one_point_keeps_its_batch_axis(rng):
    net = pr.Network.from_dense([rng.normal(size=(3, 2))], [rng.normal(size=3)])
    assert net.pattern(np.zeros((1, 2))).shape == (1, 3)
    assert net.forward(np.zeros((1, 2))).shape == (1, 3)


# ---------------------------------------------------------------------- the pattern rule


def test_pattern_is_on_iff_strictly_positive():
    """z = x1 - x2 is exactly 0 at (2, 2) (integer weights): off; > 0 on; < 0 off."""
    net = pr.Network.from_dense([[[1, -1], [0, 0], [0, 0]]], [[0, 0, 1]])
    # neuron 2: zero weights, bias 0 -> z == 0 -> off everywhere; neuron 3: bias 1 -> on everywhere
    assert net.preactivations([2.0, 2.0])[0][0] == 0.0
    np.testing.assert_array_equal(net.pattern([2.0, 2.0]), [False, False, True])
    np.testing.assert_array_equal(net.pattern([3.0, 2.0]), [True, False, True])
    np.testing.assert_array_equal(net.pattern([2.0, 3.0]), [False, False, True])


def test_pattern_zero_in_the_second_layer_is_off():
    """Layer 1: h = (relu(x1), relu(x2)); layer 2: z = h1 - h2, exactly 0 at x = (1, 1)
    and at every x <= 0 (both inputs off, bias 0): off there."""
    net = pr.Network.from_dense([[[1, 0], [0, 1]], [[1, -1]]], [[0, 0], [0]])
    np.testing.assert_array_equal(net.pattern([1.0, 1.0]), [True, True, False])
    np.testing.assert_array_equal(net.pattern([-1.0, -3.0]), [False, False, False])
    np.testing.assert_array_equal(net.pattern([2.0, 1.0]), [True, True, True])
    np.testing.assert_array_equal(net.pattern([2.0, -1.0]), [True, False, True])


def test_output_layer_does_not_change_the_pattern(rng):
    weights = [rng.normal(size=(5, 2)), rng.normal(size=(3, 5))]
    biases = [rng.normal(size=5), rng.normal(size=3)]
    plain = pr.Network.from_dense(weights, biases)
    with_out = pr.Network.from_dense(weights, biases, output=(rng.normal(size=(4, 3)), rng.normal(size=4)))
    X = rng.normal(size=(200, 2))
    np.testing.assert_array_equal(plain.pattern(X), with_out.pattern(X))
    assert with_out.num_neurons == plain.num_neurons == 8


def test_bit_order_is_layer_by_layer():
    """x = (1, -1). Layer 1 = identity, z1 = (1, -1): bits (1, 0); h = (1, 0).
    Layer 2: z2 = (h1, 1, -1 + h2) = (1, 1, -1): bits (1, 1, 0). Pattern 1 0 1 1 0."""
    net = pr.Network.from_dense([[[1, 0], [0, 1]], [[1, 0], [0, 0], [0, 1]]], [[0, 0], [0, 1, -1]])
    np.testing.assert_array_equal(net.pattern([1.0, -1.0]), [True, False, True, True, False])
    z1, z2 = net.preactivations([1.0, -1.0])
    np.testing.assert_array_equal(z1, [1.0, -1.0])
    np.testing.assert_array_equal(z2, [1.0, 1.0, -1.0])


def test_dense_layers_list_constructor_equals_from_dense(rng):
    W1, b1, W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=2)
    a = pr.Network([pr.Dense(W1, b1), pr.Dense(W2, b2)])
    b = pr.Network.from_dense([W1, W2], [b1, b2])
    X = rng.normal(size=(30, 2))
    np.testing.assert_array_equal(a.pattern(X), b.pattern(X))
    np.testing.assert_array_equal(a.forward(X), b.forward(X))


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "weights, biases, match",
    [
        ([np.ones((3, 2))], [np.ones(2)], r"biases\[0\]"),
        ([np.ones((3, 2)), np.ones((2, 2))], [np.ones(3), np.ones(2)], r"weights\[1\]"),
        ([np.ones((3, 2))], [np.ones(3), np.ones(3)], r"weights.*biases"),
        ([], [], r"weights.*biases"),
        ([np.ones(3)], [np.ones(3)], r"weights\[0\]"),
        ([[[np.nan, 1.0]]], [[0.0]], r"weights\[0\].*NaN or inf"),
        ([[[1.0, np.inf]]], [[0.0]], r"weights\[0\].*NaN or inf"),
        ([[[1.0, 1.0]]], [[np.inf]], r"biases\[0\].*NaN or inf"),
        ([[[1.0, 1.0]]], [[np.nan]], r"biases\[0\].*NaN or inf"),
        ([[["a", 1.0]]], [[0.0]], r"weights\[0\]"),
    ],
)
def test_from_dense_bad_input(weights, biases, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.Network.from_dense(weights, biases)


def test_from_dense_bad_output():
    with pytest.raises(pr.InvalidInputError, match="output"):
        pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]], output=(np.ones((1, 2)), np.ones(1)))
    with pytest.raises(pr.InvalidInputError, match="output"):
        pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]], output=(np.ones((1, 1)), np.ones(2)))
    with pytest.raises(pr.InvalidInputError, match="output bias.*NaN or inf"):
        pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]], output=(np.ones((1, 1)), [np.nan]))
    with pytest.raises(pr.InvalidInputError, match="output weight.*NaN or inf"):
        pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]], output=([[np.inf]], [0.0]))
    with pytest.raises(pr.InvalidInputError, match="output"):
        pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]], output=42)


def test_dense_layer_bad_input():
    with pytest.raises(pr.InvalidInputError, match="bias"):
        pr.Dense(np.ones((3, 2)), np.ones(2))
    with pytest.raises(pr.InvalidInputError, match="weight.*NaN or inf"):
        pr.Dense([[np.nan]], [0.0])


def test_network_layers_that_do_not_chain():
    with pytest.raises(pr.InvalidInputError, match=r"layers\[1\]"):
        pr.Network([pr.Dense(np.ones((3, 2)), np.ones(3)), pr.Dense(np.ones((2, 4)), np.ones(2))])
    with pytest.raises(pr.InvalidInputError, match="layers"):
        pr.Network([])


def test_unsupported_layer_type():
    with pytest.raises(pr.UnsupportedError, match=r"layers\[1\].*unsupported"):
        pr.Network([pr.Dense(np.ones((2, 2)), np.ones(2)), object()])
    with pytest.raises(pr.UnsupportedError, match=r"layers\[0\].*unsupported"):
        pr.Network([object()], input_shape=2)
    assert issubclass(pr.UnsupportedError, pr.PolyRegionsError)


def test_unsupported_first_layer_without_input_shape():
    with pytest.raises(pr.UnsupportedError, match=r"layers\[0\]"):
        pr.Network([object()])


def test_points_of_the_wrong_dimension(rng):
    net = pr.Network.from_dense([rng.normal(size=(3, 2))], [rng.normal(size=3)])
    for method in (net.pattern, net.forward, net.preactivations):
        with pytest.raises(pr.InvalidInputError, match="`x`"):
            method([1.0, 2.0, 3.0])
        with pytest.raises(pr.InvalidInputError, match="`x`"):
            method(np.zeros((4, 3)))


def test_complex_weights_are_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(pr.InvalidInputError, match="weight"):
            pr.Network.from_dense([np.array([[1 + 1j, 0.0]])], [np.zeros(1)])
        with pytest.raises(pr.InvalidInputError, match="bias"):
            pr.Dense(np.ones((1, 2)), np.array([1j]))
        with pytest.raises(pr.InvalidInputError, match="center"):
            pr.Ball(np.array([0.0, 1j]), 1.0)


def test_zero_inputs_are_refused():
    with pytest.raises(pr.InvalidInputError, match="input"):
        pr.Network.from_dense([np.zeros((3, 0))], [np.zeros(3)])
