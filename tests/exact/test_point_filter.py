"""The proven floating-point filter of region points (polyregions.exact.point_filter): it never
proves a wrong pattern, it refuses where float64 gets a sign wrong, and it is off for weights
that float64 does not hold exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from polyregions.exact.exact_net import ExactNetwork
from polyregions.exact.point_filter import PointFilter


def test_a_sign_that_float64_gets_wrong_is_not_proven():
    # z = 3 x1 - 3 x2 - 3 at x = (2^52 + 1, 2^52) is exactly 0 (on no region), but 3 x1 rounds in
    # float64 (3 * 2^52 + 3 needs 54 bits), so the float value is not 0: the filter must refuse it
    net = pr.Network.from_dense([np.array([[3.0, -3.0]])], [np.array([-3.0])])
    X = [2 ** 52 + 1, 2 ** 52]
    exact = ExactNetwork(net, pr.Box(-np.full(2, 2.0 ** 60), np.full(2, 2.0 ** 60)))
    naive = float(np.array([3.0, -3.0]) @ np.array(X, dtype=float)) - 3.0
    assert naive != 0 and 3 * X[0] - 3 * X[1] - 3 == 0
    assert not exact.point_filter.passes([[0], [1]], [X, X], [1, 1]).any()
    assert exact.points_in_regions([([0], X, 1), ([1], X, 1)]) == [False, False]


def test_rational_weights_switch_the_filter_off_and_the_exact_pass_decides():
    # a weight of 1/3 is not a float: no point passes the filter; the exact pass still decides
    third = Fraction(1, 3)
    net = pr.Network.from_dense([np.array([[third, Fraction(-1)]], dtype=object)], [np.array([Fraction(0)], dtype=object)])
    exact = ExactNetwork(net, pr.Box(-np.ones(2), np.ones(2)))
    assert not exact.point_filter.usable
    # x = (1/2, 1/6): z = 1/6 - 1/6 = 0 (no region); x = (1/2, 1/8): z = 1/6 - 1/8 > 0 (on)
    points = [([1], [3, 1], 6), ([0], [3, 1], 6), ([1], [4, 1], 8), ([0], [4, 1], 8)]
    assert exact.points_in_regions(points) == [False, False, True, False]


def test_float_layers_with_integers_beyond_2_53_are_used():
    # one layer over a common power-of-2 denominator has integers of more than 53 bits that
    # float64 still holds exactly (each is a float times a power of 2): the filter stays on
    W = np.array([[1.0, 2.0 ** -40], [3.0, -1.0]])
    pf = PointFilter([(Wi, bi, den) for den, Wi, bi in
                      [(2 ** 40, [[int(w * 2 ** 40) for w in row] for row in W], [0, 0])]])
    assert pf.usable
    assert pf.passes([[1, 1]], [[1, 1]], [2]).tolist() == [True]


def test_the_error_of_a_layer_is_carried_into_the_next():
    # layer 1: z1 = 3 x - (3 * 2^52 - 1000) at x = 2^52 + 1 is exactly 1003, but 3 x rounds up by 1
    # in float64 (a single product: no summation order or fused multiply-add changes it), so the
    # float value is 1004, well above its own error bound; layer 2: z2 = z1 - 1003.5 is exactly -1/2
    # (off) but 1/2 in float64. Only the carried error bound of z1 stops the filter proving "on"
    big = float(3 * 2 ** 52 - 1000)
    net = pr.Network.from_dense([np.array([[3.0]]), np.array([[1.0]])], [np.array([-big]), np.array([-1003.5])])
    X = [2 ** 52 + 1]
    assert 3 * X[0] - int(big) == 1003 and float(3.0 * X[0]) - big == 1004.0
    exact = ExactNetwork(net, pr.Box(np.array([-2.0 ** 60]), np.array([2.0 ** 60])))
    assert exact.point_filter.usable
    assert not exact.point_filter.passes([[1, 1], [1, 0]], [X, X], [1, 1]).any()
    assert exact.points_in_regions([([1, 1], X, 1), ([1, 0], X, 1)]) == [False, True]


def test_a_pattern_of_another_length_is_not_proven_and_the_exact_pass_names_it():
    net = pr.Network.from_dense([np.array([[1.0, 0.0]])], [np.array([0.5])])
    exact = ExactNetwork(net, pr.Box(-np.ones(2), np.ones(2)))
    assert exact.point_filter.passes([[1], [1, 1], []], [[1, 0]] * 3, [4] * 3).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="bits"):
        exact.points_in_regions([([], [1, 0], 4)])
