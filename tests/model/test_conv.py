"""Tests of polyregions.model.conv: Conv2d, AvgPool2d and Flatten lowered to dense maps.

The references below are written directly from the definitions, with explicit loops
on the (c, h, w) tensor, and never use the lowering under test.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from polyregions.model.conv import avgpool2d_matrix, conv2d_matrix, conv_output_size


def direct_conv(x, weight, bias, stride, padding):
    """Cross-correlation as in PyTorch: z[o, i, j] = bias[o] + sum_{c, a, b} weight[o, c, a, b] *
    xpad[c, i*s + a, j*s + b], with explicit loops over (o, i, j, c, a, b)."""
    d_out, d_in, f1, f2 = weight.shape
    c_in, h, w = x.shape
    assert c_in == d_in
    h_out = (h + 2 * padding - f1) // stride + 1
    w_out = (w + 2 * padding - f2) // stride + 1
    z = np.zeros((d_out, h_out, w_out))
    for o in range(d_out):
        for i in range(h_out):
            for j in range(w_out):
                total = bias[o]
                for c in range(d_in):
                    for a in range(f1):
                        for b in range(f2):
                            r = i * stride + a - padding
                            q = j * stride + b - padding
                            if 0 <= r < h and 0 <= q < w:  # outside: a padding zero
                                total += weight[o, c, a, b] * x[c, r, q]
                z[o, i, j] = total
    return z


def direct_avgpool(x, k1, k2, s1, s2):
    """Average pooling with explicit loops, no padding."""
    c_in, h, w = x.shape
    h_out = (h - k1) // s1 + 1
    w_out = (w - k2) // s2 + 1
    y = np.zeros((c_in, h_out, w_out))
    for c in range(c_in):
        for i in range(h_out):
            for j in range(w_out):
                total = 0.0
                for a in range(k1):
                    for b in range(k2):
                        total += x[c, i * s1 + a, j * s2 + b]
                y[c, i, j] = total / (k1 * k2)
    return y


CONV_CASES = [
    # (d_in, h, w, d_out, f1, f2, stride, padding)
    (1, 4, 4, 2, 2, 2, 1, 0),
    (2, 5, 5, 3, 3, 3, 2, 0),
    (3, 4, 5, 2, 2, 3, 1, 1),
    (2, 6, 6, 2, 3, 3, 2, 1),
    (1, 3, 3, 1, 3, 3, 1, 1),
    (2, 5, 4, 3, 2, 1, 2, 1),
    (1, 3, 3, 2, 3, 3, 1, 0),  # one output position
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "d{}x{}x{}-f{}-{}x{}-s{}-p{}".format(*c))
def test_conv2d_lowering_matches_direct_convolution(case, rng):
    d_in, h, w, d_out, f1, f2, s, p = case
    weight = rng.normal(size=(d_out, d_in, f1, f2))
    bias = rng.normal(size=d_out)
    W, b, shape = conv2d_matrix(weight, bias, (d_in, h, w), s, p)
    h_out, w_out = (h + 2 * p - f1) // s + 1, (w + 2 * p - f2) // s + 1
    assert shape == (d_out, h_out, w_out)
    assert W.shape == (d_out * h_out * w_out, d_in * h * w)
    assert b.shape == (d_out * h_out * w_out,)
    for _ in range(3):
        x = rng.normal(size=(d_in, h, w))
        ref = direct_conv(x, weight, bias, s, p)
        # flattened in (channel, row, column) order: C order of the (c, h, w) tensor
        np.testing.assert_allclose(W @ x.reshape(-1) + b, ref.reshape(-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[:4], ids=lambda c: "d{}x{}x{}-f{}-{}x{}-s{}-p{}".format(*c))
def test_conv_network_preactivations_and_pattern(case, rng):
    d_in, h, w, d_out, f1, f2, s, p = case
    weight = rng.normal(size=(d_out, d_in, f1, f2))
    bias = rng.normal(size=d_out)
    net = pr.Network([pr.Conv2d(weight, bias, stride=s, padding=p)], input_shape=(d_in, h, w))
    x = rng.normal(size=(d_in, h, w))
    ref = direct_conv(x, weight, bias, s, p)
    assert net.layer_shapes[0] == ref.shape
    assert net.widths == (ref.size,)
    assert net.input_dim == d_in * h * w
    np.testing.assert_allclose(net.preactivations(x)[0], ref.reshape(-1), rtol=1e-12, atol=1e-12)
    # the bits of a conv layer follow its (channel, row, column) order
    np.testing.assert_array_equal(net.pattern(x), (ref > 0).reshape(-1))
    # a flat input vector and a batch of tensors are accepted too
    np.testing.assert_array_equal(net.pattern(x.reshape(-1)), (ref > 0).reshape(-1))
    batch = np.stack([x, -x])
    P = net.pattern(batch)
    assert P.shape == (2, ref.size)
    np.testing.assert_array_equal(P[1], (direct_conv(-x, weight, bias, s, p) > 0).reshape(-1))


def test_two_conv_layers_then_dense(rng):
    w1, b1 = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=3)
    w2, b2 = rng.normal(size=(2, 3, 2, 2)), rng.normal(size=2)
    net = pr.Network(
        [pr.Conv2d(w1, b1, stride=1), pr.Conv2d(w2, b2, stride=2, padding=1), pr.Flatten(),
         pr.Dense(rng.normal(size=(4, 2 * 3 * 3)), rng.normal(size=4))],
        input_shape=(2, 5, 5),
    )
    x = rng.normal(size=(2, 5, 5))
    z1 = direct_conv(x, w1, b1, 1, 0)  # (3, 4, 4)
    z2 = direct_conv(np.maximum(z1, 0), w2, b2, 2, 1)  # (2, 3, 3)
    D_W, D_b = net.layers[3].weight, net.layers[3].bias
    z3 = D_W @ np.maximum(z2, 0).reshape(-1) + D_b
    got = net.preactivations(x)
    np.testing.assert_allclose(got[0], z1.reshape(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], z2.reshape(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[2], z3, rtol=1e-12, atol=1e-12)
    assert net.widths == (48, 18, 4)


@pytest.mark.parametrize("stride", [None, 1, 2])
def test_avgpool_then_dense_folds_into_the_dense_map(stride, rng):
    """Conv -> ReLU -> AvgPool(2x2) -> Flatten -> Dense: the Dense pre-activation equals
    Dense applied to the pooling done by hand."""
    w1, b1 = rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2)
    s = 2 if stride is None else stride
    pooled_shape = (2, (5 - 2) // s + 1, (5 - 2) // s + 1)  # conv output is (2, 5, 5)
    n_pooled = int(np.prod(pooled_shape))
    Wd, bd = rng.normal(size=(3, n_pooled)), rng.normal(size=3)
    pool = pr.AvgPool2d((2, 2)) if stride is None else pr.AvgPool2d((2, 2), stride)
    net = pr.Network([pr.Conv2d(w1, b1), pool, pr.Flatten(), pr.Dense(Wd, bd)], input_shape=(1, 6, 6))
    assert net.widths == (50, 3)  # pooling is not a layer of neurons
    for _ in range(3):
        x = rng.normal(size=(1, 6, 6))
        h = np.maximum(direct_conv(x, w1, b1, 1, 0), 0)
        pooled = direct_avgpool(h, 2, 2, s, s)
        assert pooled.shape == pooled_shape
        z2 = Wd @ pooled.reshape(-1) + bd
        np.testing.assert_allclose(net.preactivations(x)[1], z2, rtol=1e-12, atol=1e-12)


def test_avgpool_on_the_input_folds_into_the_first_layer(rng):
    Wd, bd = rng.normal(size=(3, 2 * 2 * 3)), rng.normal(size=3)
    net = pr.Network([pr.AvgPool2d((2, 2)), pr.Flatten(), pr.Dense(Wd, bd)], input_shape=(2, 4, 6))
    assert net.input_dim == 48 and net.widths == (3,)
    x = rng.normal(size=(2, 4, 6))
    z = Wd @ direct_avgpool(x, 2, 2, 2, 2).reshape(-1) + bd
    np.testing.assert_allclose(net.preactivations(x)[0], z, rtol=1e-12, atol=1e-12)


def test_avgpool_then_conv(rng):
    w2, b2 = rng.normal(size=(2, 2, 2, 2)), rng.normal(size=2)
    w1, b1 = rng.normal(size=(2, 1, 1, 1)), rng.normal(size=2)
    net = pr.Network([pr.Conv2d(w1, b1), pr.AvgPool2d((2, 2), 1), pr.Conv2d(w2, b2)], input_shape=(1, 4, 4))
    x = rng.normal(size=(1, 4, 4))
    h = np.maximum(direct_conv(x, w1, b1, 1, 0), 0)
    z2 = direct_conv(direct_avgpool(h, 2, 2, 1, 1), w2, b2, 1, 0)
    np.testing.assert_allclose(net.preactivations(x)[1], z2.reshape(-1), rtol=1e-12, atol=1e-12)


def test_avgpool_matrix_matches_pooling_by_hand(rng):
    for shape, kernel, stride in [((2, 4, 4), (2, 2), None), ((1, 5, 5), (3, 3), 1), ((3, 6, 4), (2, 2), 2)]:
        P, out_shape = avgpool2d_matrix(shape, kernel, stride)
        s = kernel[0] if stride is None else stride
        x = rng.normal(size=shape)
        ref = direct_avgpool(x, kernel[0], kernel[1], s, s)
        assert out_shape == ref.shape
        np.testing.assert_allclose(P @ x.reshape(-1), ref.reshape(-1), rtol=1e-12, atol=1e-12)


def test_avgpool_default_stride_of_a_non_square_kernel(rng):
    """Kernel (1, 2) on a (1, 2, 4) input, default stride = kernel = (1, 2): output (1, 2, 2)."""
    Wd = rng.normal(size=(1, 4))
    net = pr.Network([pr.AvgPool2d((1, 2)), pr.Flatten(), pr.Dense(Wd, [0.0])], input_shape=(1, 2, 4))
    x = rng.normal(size=(1, 2, 4))
    expected = Wd @ direct_avgpool(x, 1, 2, 1, 2).reshape(-1)
    np.testing.assert_allclose(net.preactivations(x)[0], expected, rtol=1e-12)


def test_trailing_avgpool_folds_into_the_output_layer(rng):
    """Conv -> ReLU -> AvgPool(2x2) with a linear output on the pooled units."""
    w, b = rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2)
    Wo, bo = rng.normal(size=(3, 2 * 2 * 2)), rng.normal(size=3)
    net = pr.Network([pr.Conv2d(w, b), pr.AvgPool2d((2, 2)), pr.Flatten()], input_shape=(1, 5, 5), output=(Wo, bo))
    assert net.widths == (32,)
    x = rng.normal(size=(1, 5, 5))
    pooled = direct_avgpool(np.maximum(direct_conv(x, w, b, 1, 0), 0), 2, 2, 2, 2)
    np.testing.assert_allclose(net.forward(x), Wo @ pooled.reshape(-1) + bo, rtol=1e-12, atol=1e-12)


def test_avgpool_with_a_pair_stride(rng):
    """Kernel (2, 3), stride (1, 3) on a (1, 3, 6) input: output (1, 2, 2)."""
    Wd = rng.normal(size=(2, 4))
    net = pr.Network([pr.AvgPool2d((2, 3), (1, 3)), pr.Flatten(), pr.Dense(Wd, [0.0, 0.0])], input_shape=(1, 3, 6))
    x = rng.normal(size=(1, 3, 6))
    expected = Wd @ direct_avgpool(x, 2, 3, 1, 3).reshape(-1)
    np.testing.assert_allclose(net.preactivations(x)[0], expected, rtol=1e-12, atol=1e-12)


def test_trailing_avgpool_is_not_silently_dropped(rng):
    """Network([Conv2d, AvgPool2d]) must either refuse the trailing pooling or apply it in forward()."""
    w, b = rng.normal(size=(1, 1, 1, 1)), rng.normal(size=1)
    try:
        net = pr.Network([pr.Conv2d(w, b), pr.AvgPool2d((2, 2))], input_shape=(1, 2, 2))
    except pr.PolyRegionsError:
        return
    x = rng.normal(size=(1, 2, 2))
    expected = direct_avgpool(np.maximum(direct_conv(x, w, b, 1, 0), 0), 2, 2, 2, 2).reshape(-1)
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-12)


def test_flatten_order_is_channel_row_column(rng):
    """Dense row e_k after Flatten reads unit (c, r, q) with k = c*h*w + r*w + q."""
    c, h, w = 2, 3, 4
    n = c * h * w
    net = pr.Network([pr.Flatten(), pr.Dense(np.eye(n), np.zeros(n))], input_shape=(c, h, w))
    x = rng.uniform(1.0, 2.0, size=(c, h, w))  # positive: ReLU is the identity
    y = net.forward(x)
    for ch in range(c):
        for r in range(h):
            for q in range(w):
                assert y[ch * h * w + r * w + q] == x[ch, r, q]


def test_flatten_order_after_a_conv_layer(rng):
    """A 1x1 identity convolution (3 channels) with a positive input keeps x; the next
    Dense layer picks unit (c, r, q) = (2, 1, 0) at flat index 2*2*3 + 1*3 + 0 = 15."""
    c, h, w = 3, 2, 3
    ident = np.eye(c).reshape(c, c, 1, 1)
    pick = np.zeros((1, c * h * w))
    pick[0, 15] = 1.0
    net = pr.Network([pr.Conv2d(ident, np.zeros(c)), pr.Flatten(), pr.Dense(pick, [0.0])], input_shape=(c, h, w))
    x = rng.uniform(1.0, 2.0, size=(c, h, w))
    np.testing.assert_allclose(net.preactivations(x)[1], [x[2, 1, 0]], rtol=0, atol=0)


def test_conv_output_size_formula():
    assert conv_output_size(5, 3, 1, 0) == 3
    assert conv_output_size(5, 3, 2, 0) == 2
    assert conv_output_size(5, 3, 2, 1) == 3
    assert conv_output_size(4, 2, 2, 0) == 2
    assert conv_output_size(4, 3, 2, 0) == 1


def test_conv_bad_input(rng):
    with pytest.raises(pr.InvalidInputError, match="input channels"):
        pr.Network([pr.Conv2d(rng.normal(size=(2, 3, 2, 2)), np.zeros(2))], input_shape=(2, 4, 4))
    with pytest.raises(pr.InvalidInputError, match="weight.*does not fit"):
        pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 5, 5)), np.zeros(2))], input_shape=(1, 4, 4))
    with pytest.raises(pr.InvalidInputError, match="stride"):
        pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(2), stride=0)
    with pytest.raises(pr.InvalidInputError, match="padding"):
        pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(2), padding=-1)
    with pytest.raises(pr.InvalidInputError, match="bias"):
        pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(3))
    with pytest.raises(pr.InvalidInputError, match="weight"):
        pr.Conv2d(rng.normal(size=(2, 2, 2)), np.zeros(2))
    with pytest.raises(pr.InvalidInputError, match="input_shape"):
        pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(2))])
    with pytest.raises(pr.InvalidInputError, match="Conv2d"):
        pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(2))], input_shape=4)
    with pytest.raises(pr.InvalidInputError, match="kernel"):
        pr.Network([pr.AvgPool2d((5, 5)), pr.Flatten(), pr.Dense(np.ones((1, 1)), [0.0])], input_shape=(1, 4, 4))


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "d{}x{}x{}-f{}-{}x{}-s{}-p{}".format(*c))
def test_sparse_conv2d_lowering_matches_direct_convolution(case, rng):
    """The sparse lowering holds at most d_in f1 f2 entries per row and maps like the definition."""
    d_in, h, w, d_out, f1, f2, s, p = case
    weight = rng.normal(size=(d_out, d_in, f1, f2))
    bias = rng.normal(size=d_out)
    W, b, shape = conv2d_matrix(weight, bias, (d_in, h, w), s, p, sparse=True)
    assert W.format == "csr"
    assert np.max(np.diff(W.indptr)) <= d_in * f1 * f2
    for _ in range(3):
        x = rng.normal(size=(d_in, h, w))
        np.testing.assert_allclose(W @ x.ravel() + b, direct_conv(x, weight, bias, s, p).ravel(), atol=1e-12)


@pytest.mark.parametrize("k1, k2, stride", [(2, 2, None), (3, 2, 1), (2, 3, (1, 2))])
def test_sparse_avgpool_matches_direct_pooling(k1, k2, stride, rng):
    P, shape = avgpool2d_matrix((2, 6, 7), (k1, k2), stride, sparse=True)
    s1, s2 = (k1, k2) if stride is None else (stride, stride) if isinstance(stride, int) else stride
    assert np.max(np.diff(P.indptr)) == k1 * k2
    x = rng.normal(size=(2, 6, 7))
    np.testing.assert_allclose(P @ x.ravel(), direct_avgpool(x, k1, k2, s1, s2).ravel(), atol=1e-12)
