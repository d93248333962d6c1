"""Theorem 2 of Xiong et al. (2020): hand values, brute force, and the lower bound's construction counted.

The lower bound is checked three ways: against the formula with the one-layer factor
R_N' from brute force (tests/bounds/conftest.py) where N' attains it; on the deficit
shapes against the exact count of N' by the search (another method) and the forced
dependency of its normals; and by building the construction of the proof (written
out here from the docstring) and counting its regions in the unit cube.
"""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

import polyregions as pr
from polyregions.bounds.xiong import xiong_one_layer
from polyregions.bounds.xiong_deep import xiong_deep_lower, xiong_deep_lower_certificate, xiong_deep_upper
from polyregions.errors import UnprovenBoundError, UnsupportedError


class TestTheorem2:
    @pytest.mark.parametrize("shape, layer", [((1, 1, 4), (2, (1, 2), 1)), ((2, 4, 5), (2, (2, 3), 2))])
    def test_one_layer_is_theorem_1(self, shape, layer, brute_R):
        d, (f1, f2), s = layer
        R = brute_R(*shape, d, f1, f2, s)
        assert xiong_deep_lower(shape, [layer]) == R
        assert xiong_deep_upper(shape, [layer]) == R

    def test_two_layers_by_hand(self):
        # Input length 4, two layers of 2 filters with kernel (1, 2), stride 1:
        # grids 4 -> 3 -> 2.
        # Lower: N' is the second layer on a length-3 input with d0 = 1 channel:
        #   R_N' = 15, times floor(2/1)^(1*3*1) = 8: 120.
        # Upper: R_N'' = 55 (first layer); the second layer has
        #   1*2*2 = 4 neurons in input dimension 4: sum_{i<=4} C(4, i) = 16: 880.
        layers = [(2, (1, 2), 1), (2, (1, 2), 1)]
        assert xiong_deep_lower((1, 1, 4), layers) == 15 * 8 == 120
        assert xiong_deep_upper((1, 1, 4), layers) == 55 * 16 == 880

    def test_three_layers_against_formula(self, brute_R):
        # Input (1, 3, 4); layers (2 filters, 2x2), (3 filters, 2x2), (2 filters, 1x2),
        # stride 1: grids 3x4 -> 2x3 -> 1x2 -> 1x1.
        layers = [(2, (2, 2), 1), (3, (2, 2), 1), (2, (1, 2), 1)]
        # Lower: N' = last layer on a 1x2 input with d0 = 1 channel (fully connected,
        # 2 generic lines in the plane: 4 regions), times floor(2/1)^(2*3*1) * floor(3/1)^(1*2*1).
        lower = sum(comb(2, i) for i in range(3)) * 2**6 * 3**2
        assert lower == 4 * 64 * 9
        # Upper: first layer alone, times, for layers 2 and 3 (1*2*3 = 6 and 1*1*2 = 2
        # neurons, input dimension 3*4*1 = 12): sum_{i<=12} C(6, i) = 64, C(2, i): 4.
        upper = brute_R(1, 3, 4, 2, 2, 2, 1) * 64 * 4
        assert xiong_deep_lower((1, 3, 4), layers) == lower
        assert xiong_deep_upper((1, 3, 4), layers) == upper

    def test_lower_needs_d_at_least_d0(self):
        with pytest.raises(UnsupportedError, match="`layers`"):
            xiong_deep_lower((2, 3, 3), [(1, (2, 2), 1)])
        # The upper bound does not need it.
        assert xiong_deep_upper((2, 3, 3), [(1, (2, 2), 1)]) == xiong_one_layer((2, 3, 3), 1, 2)

    def test_empty_layer_refused(self):
        with pytest.raises(ValueError, match="`layers`.*empty"):
            xiong_deep_upper((1, 3, 3), [(2, (2, 2), 1), (2, (3, 3), 1)])
        with pytest.raises(ValueError, match="`layers`.*empty"):
            xiong_deep_lower((1, 3, 3), [(2, (2, 2), 2), (2, (2, 2), 1)])

    @pytest.mark.parametrize("layers", [[], [(2, 2)], [(0, (2, 2), 1)], [(2, (2, 2), 0)], "abc", None])
    def test_bad_layers(self, layers):
        with pytest.raises(ValueError, match="`layers` must be"):
            xiong_deep_upper((1, 4, 4), layers)


# ---------------------------------------------------------------- the lower bound on deficit shapes
def _head_network(cert, shape, layer):
    d, _, s = layer
    return pr.Network([pr.Conv2d(cert.head_weight, cert.head_bias, stride=s)], input_shape=shape)


def test_deficit_shape_returns_the_count_of_N_prime_not_R_N():
    """Two 2x2 filters on a 3x3 input: every choice of weights has at most 2^8 - 1 = 255 regions.

    The 8 normals satisfy sum_ij b_ij (a at offset ij) - sum_ij a_ij (b at offset ij) = 0 for
    all filters a, b, so the full set is never independent and the count is at most 255 < 256 = R_N.
    """
    shape, layer = (1, 3, 3), (2, (2, 2), 1)
    for seed in range(3):  # the dependency holds whatever the weights
        w = np.random.default_rng(seed).normal(size=(2, 1, 2, 2))
        W = pr.Network([pr.Conv2d(w, np.zeros(2))], input_shape=shape).hidden[0][0]
        y = np.concatenate([w[1, 0].ravel(), -w[0, 0].ravel()])
        np.testing.assert_allclose(y @ W, 0.0, atol=1e-12)
    cert = xiong_deep_lower_certificate(shape, [layer])
    assert xiong_deep_lower(shape, [layer]) == cert.bound == 255 < cert.head_R_N == 256
    assert not cert.attains_theorem and "255" in cert.how
    # the certified count of N' is its count by the search, another method
    assert pr.count_regions(_head_network(cert, shape, layer), pr.Whole(9), eps=1e-7).count == 255


def test_deficit_head_with_three_filters(brute_R):
    shape, layer = (1, 3, 3), (3, (2, 2), 1)
    cert = xiong_deep_lower_certificate(shape, [layer])
    assert cert.head_R_N == brute_R(1, 3, 3, 3, 2, 2, 1) == 4013
    count = pr.count_regions(_head_network(cert, shape, layer), pr.Whole(9), eps=1e-7).count
    assert cert.bound == cert.head == count < 4013


def test_deep_deficit_reproducer():
    """conv:1x4x4:2,2x2,1;2,2x2,1: N' is the 3x3 input with two 2x2 filters, so 255 x 2^(3*3), not 256 x 2^9."""
    cert = xiong_deep_lower_certificate((1, 4, 4), [(2, (2, 2), 1), (2, (2, 2), 1)])
    assert (cert.head, cert.factor, cert.bound) == (255, 2**9, 255 * 2**9)


def test_independent_normals_need_no_count():
    # two channels, two 2x2 filters on a 3x3 input: 8 normals in R^18, linearly independent
    cert = xiong_deep_lower_certificate((2, 3, 3), [(2, (2, 2), 1)], head_count_limit=0)
    assert cert.bound == 2**8 == cert.head_R_N and "linearly independent" in cert.how


def test_no_bound_without_a_proof():
    with pytest.raises(UnprovenBoundError, match="no lower bound is proven.*R_N' = 109,178,314"):
        xiong_deep_lower((1, 5, 5), [(3, (2, 2), 1), (3, (2, 2), 1)])
    with pytest.raises(UnprovenBoundError, match="linearly dependent"):
        xiong_deep_lower((1, 3, 3), [(2, (2, 2), 1)], head_count_limit=100)
    assert issubclass(UnprovenBoundError, pr.PolyRegionsError)


# ---------------------------------------------------------------- the construction of the proof, counted
def _construction(shape, layers, V, beta, tau):
    """The network of the proof: zig-zag folds at kernel offset (0, 0), then N' scaled into the cube."""
    d0 = shape[0]
    carries = {c: [(c, 1.0)] for c in range(d0)}  # t_c = sum of gamma * (channel of the previous layer)
    convs, d_prev = [], d0
    for d, (f1, f2), s in layers[:-1]:
        p = d // d0
        weight, bias = np.zeros((d, d_prev, f1, f2)), np.full(d, -1.0)  # leftover filters: off
        new = {}
        for c in range(d0):
            new[c] = []
            for k in range(p):  # neuron (c, k): max(0, p t_c - k)
                o = c * p + k
                for ch, g in carries[c]:
                    weight[o, ch, 0, 0] = p * g
                bias[o] = -k
                new[c].append((o, 1.0 if k == 0 else 2.0 * (-1) ** k))
        convs.append(pr.Conv2d(weight, bias, stride=s))
        carries, d_prev = new, d
    dL, (f1, f2), sL = layers[-1]
    weight = np.zeros((dL, d_prev, f1, f2))
    for c in range(d0):
        for ch, g in carries[c]:
            weight[:, ch] += g * V[:, c]
    bias = tau * beta - 0.5 * V.sum(axis=(1, 2, 3))  # y = (t - q) / tau, q = (1/2, ...)
    convs.append(pr.Conv2d(weight, bias, stride=sL))
    return pr.Network(convs, input_shape=shape)


@pytest.mark.parametrize("shape, layers, factor", [
    ((1, 2, 3), [(2, (1, 1), 1), (2, (2, 2), 1)], 2**6),          # folds on a 2x3 grid
    ((1, 1, 4), [(3, (1, 2), 1), (2, (1, 2), 1)], 3**3),           # p = 3 on 1-D
    ((1, 3, 3), [(1, (1, 1), 1), (2, (2, 2), 1)], 1),              # deficit N': 255 regions
])
def test_the_construction_has_the_bound_in_the_unit_cube(shape, layers, factor):
    cert = xiong_deep_lower_certificate(shape, layers)
    assert cert.factor == factor
    net = _construction(shape, layers, cert.head_weight, cert.head_bias, tau=1e-3)
    n = int(np.prod(shape))
    count = pr.count_regions(net, pr.Box(np.zeros(n), np.ones(n)), eps=1e-9).count
    assert count == cert.bound  # every (cell, region of N') pair, and nothing else
