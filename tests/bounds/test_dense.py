"""Closed forms for fully connected networks, against hand values and brute force."""

import itertools
from math import comb, prod

import pytest

from polyregions.bounds.dense import (
    montufar2014_lower,
    montufar2017_upper,
    serra2018_upper,
    zaslavsky,
)

WIDTH_CASES = [
    (n0, widths)
    for n0 in (1, 2, 3)
    for L in (1, 2, 3)
    for widths in itertools.product((1, 2, 3, 4, 5), repeat=L)
]


def _serra_brute(n0, widths):
    """Enumerate J of Serra et al. (2018) directly: every j with 0 <= j_l <= n_l, kept when it meets the constraints."""
    total = 0
    for j in itertools.product(*(range(n + 1) for n in widths)):
        ok = True
        for l, jl in enumerate(j):
            budget = min([n0] + [widths[k] - j[k] for k in range(l)] + [widths[l]])
            if jl > budget:
                ok = False
                break
        if ok:
            total += prod(comb(n, x) for n, x in zip(widths, j))
    return total


class TestZaslavsky:
    def test_hand_values(self):
        # 3 lines in general position in the plane: 1 + 3 + 3 = 7.
        assert zaslavsky(2, 3) == 7
        # 4 lines in the plane: 1 + 4 + 6 = 11.
        assert zaslavsky(2, 4) == 11
        # 5 points on a line: 6 intervals.
        assert zaslavsky(1, 5) == 6
        # 2 hyperplanes in R^3 (n1 <= n0): 2^2 = 4 orthants-like pieces.
        assert zaslavsky(3, 2) == 4
        # 5 planes in general position in R^3: 1 + 5 + 10 + 10 = 26.
        assert zaslavsky(3, 5) == 26
        # No hyperplane: the whole space.
        assert zaslavsky(4, 0) == 1

    def test_powers_of_two_when_n1_le_n0(self):
        for n0 in range(1, 7):
            for n1 in range(0, n0 + 1):
                assert zaslavsky(n0, n1) == 2**n1

    def test_returns_python_int(self):
        assert type(zaslavsky(50, 100)) is int


class TestMontufar2014:
    def test_hand_values(self):
        # floor(4/2)^2 * (C(3,0) + C(3,1) + C(3,2)) = 4 * 7 = 28.
        assert montufar2014_lower(2, [4, 3]) == 28
        # n0 = 1: 3 * 3 * (1 + 2) = 27 (each layer of width 3 folds the line 3 times).
        assert montufar2014_lower(1, [3, 3, 2]) == 27
        # floor(5/2)^2 * floor(6/2)^2 * (1 + 2 + 1) = 4 * 9 * 4 = 144.
        assert montufar2014_lower(2, [5, 6, 2]) == 144

    @pytest.mark.parametrize("n0, n1", [(1, 1), (2, 2), (2, 5), (3, 7)])
    def test_one_layer_is_zaslavsky(self, n0, n1):
        assert montufar2014_lower(n0, [n1]) == zaslavsky(n0, n1)

    def test_needs_widths_at_least_n0(self):
        with pytest.raises(ValueError, match="n_l >= n0"):
            montufar2014_lower(3, [4, 2])
        with pytest.raises(ValueError, match="widths"):
            montufar2014_lower(3, [2])

    @pytest.mark.parametrize("n0, widths", [c for c in WIDTH_CASES if min(c[1]) >= c[0]])
    def test_below_the_upper_bounds(self, n0, widths):
        assert montufar2014_lower(n0, widths) <= serra2018_upper(n0, widths)


class TestMontufar2017:
    def test_hand_values(self):
        # m_1 = m_2 = 2: (1 + 3 + 3) * (1 + 3 + 3) = 49.
        assert montufar2017_upper(2, [3, 3]) == 49
        # m_1 = 2: C(1,0) + C(1,1) = 2; m_2 = min(2, 1) = 1: 1 + 3 = 4; product 8.
        assert montufar2017_upper(2, [1, 3]) == 8
        # n0 = 1: every factor is 1 + n_l: 3 * 4 * 2 = 24.
        assert montufar2017_upper(1, [2, 3, 1]) == 24

    @pytest.mark.parametrize("n0, n1", [(1, 3), (2, 2), (2, 6), (4, 3)])
    def test_one_layer_is_zaslavsky(self, n0, n1):
        assert montufar2017_upper(n0, [n1]) == zaslavsky(n0, n1)

    @pytest.mark.parametrize("n0, widths", WIDTH_CASES)
    def test_product_formula(self, n0, widths):
        # The formula written out independently: m_l = min(n0, n_1, ..., n_{l-1}).
        expected = 1
        for l, n in enumerate(widths):
            m = min([n0] + list(widths[:l]))
            expected *= sum(comb(n, i) for i in range(m + 1))
        assert montufar2017_upper(n0, widths) == expected


class TestSerra2018:
    def test_hand_values(self):
        # n0 = 2, widths (3, 3): j1 <= 2 and j2 <= min(2, 3 - j1).
        #   j1 = 0: C(3,0) * (C(3,0) + C(3,1) + C(3,2)) = 1 * 7 = 7
        #   j1 = 1: C(3,1) * 7 = 21
        #   j1 = 2: C(3,2) * (C(3,0) + C(3,1)) = 3 * 4 = 12      -> 40
        assert serra2018_upper(2, [3, 3]) == 40
        # n0 = 1, widths (2, 2): j1 = 0: 1 * (1 + 2) = 3; j1 = 1: 2 * (1 + 2) = 6 -> 9.
        assert serra2018_upper(1, [2, 2]) == 9
        # n0 = 2, widths (2, 2): j1 = 0: 1 * (1+2+1) = 4; j1 = 1: 2 * (1+2) = 6;
        #   j1 = 2: 1 * 1 = 1 -> 11 (Montufar 2017 gives 4 * 4 = 16).
        assert serra2018_upper(2, [2, 2]) == 11

    @pytest.mark.parametrize("n0, n1", [(1, 1), (1, 4), (2, 3), (3, 2), (3, 6)])
    def test_one_layer_is_zaslavsky(self, n0, n1):
        assert serra2018_upper(n0, [n1]) == zaslavsky(n0, n1)

    @pytest.mark.parametrize("n0, widths", WIDTH_CASES)
    def test_against_enumeration_of_J(self, n0, widths):
        assert serra2018_upper(n0, widths) == _serra_brute(n0, widths)

    @pytest.mark.parametrize("n0, widths", WIDTH_CASES)
    def test_at_most_montufar2017(self, n0, widths):
        assert serra2018_upper(n0, widths) <= montufar2017_upper(n0, widths)

    def test_large_network_is_fast_and_exact(self):
        widths = [64] * 20
        value = serra2018_upper(16, widths)
        assert type(value) is int
        assert value <= montufar2017_upper(16, widths)


@pytest.mark.parametrize("func", [montufar2014_lower, montufar2017_upper, serra2018_upper])
class TestValidation:
    @pytest.mark.parametrize("widths", [[], [3, 0], [2, -1], [2.0], "33", None, [True]])
    def test_bad_widths(self, func, widths):
        with pytest.raises(ValueError, match="`widths` must be a non-empty sequence of positive integers"):
            func(1, widths)

    @pytest.mark.parametrize("n0", [0, -2, 1.5, "2", None, True])
    def test_bad_n0(self, func, n0):
        with pytest.raises(ValueError, match="`n0` must be a positive integer"):
            func(n0, [3])


def test_zaslavsky_validation():
    with pytest.raises(ValueError, match="`n0` must be a positive integer"):
        zaslavsky(0, 3)
    with pytest.raises(ValueError, match="`n1` must be a non-negative integer"):
        zaslavsky(2, -1)
