"""Exact one-layer oracles, against hand-counted arrangements, Zaslavsky and brute force."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from polyregions.bounds.dense import zaslavsky
from polyregions.bounds.generic import independent_subsets, whitney_count


def _brute_independent(W):
    """Count independent subsets of rows by trying every subset (numpy rank, small integers)."""
    W = np.asarray(W, dtype=float)
    n = W.shape[0]
    count = 0
    for r in range(n + 1):
        for S in itertools.combinations(range(n), r):
            if r == 0 or np.linalg.matrix_rank(W[list(S)]) == r:
                count += 1
    return count


class TestWhitneyHandCounted:
    def test_empty_arrangement(self):
        assert whitney_count(np.zeros((0, 3)), np.zeros(0)) == 1

    def test_one_line(self):
        assert whitney_count([[1.0, 2.0]], [0.5]) == 2

    def test_three_lines_through_a_point(self):
        # x = 0, y = 0, x + y = 0: six sectors.
        assert whitney_count([[1, 0], [0, 1], [1, 1]], [0, 0, 0]) == 6

    def test_three_lines_through_another_point(self):
        # x = 1, y = 2, x - y = -1 all pass through (1, 2): six sectors.
        assert whitney_count([[1, 0], [0, 1], [1, -1]], [-1, -2, 1]) == 6

    def test_two_parallel_lines_and_a_transversal(self):
        # x = 0, x = 1 (three strips), cut by y = 0: 3 * 2 = 6.
        assert whitney_count([[1, 0], [1, 0], [0, 1]], [0, -1, 0]) == 6

    def test_coincident_lines_count_once(self):
        # x + y = 1 given three times (scaled by 1, -2 and 0.5) and x = 0:
        # the regions of two crossing lines, 4.
        W = [[1, 1], [-2, -2], [0.5, 0.5], [1, 0]]
        b = [-1, 2, -0.5, 0]
        assert whitney_count(W, b) == 4

    def test_four_lines_in_general_position(self):
        # 1 + 4 + C(4, 2) = 11.
        W = [[1, 0], [0, 1], [1, 1], [1, -2]]
        b = [0, -1, -3, 5]
        assert whitney_count(W, b) == 11

    def test_three_concurrent_lines_plus_one(self):
        # Three lines through the origin (6 sectors), and the line x - 2y = 1,
        # which meets them at (0, -1/2), (1, 0) and (1/3, -1/3): it is cut into
        # 4 pieces, each splitting a region in two: 6 + 4 = 10.
        W = [[1, 0], [0, 1], [1, 1], [1, -2]]
        b = [0, 0, 0, -1]
        assert whitney_count(W, b) == 10

    def test_coordinate_planes_and_a_parallel_plane(self):
        # x = 0, y = 0, z = 0 (8 orthants) and z = 1 (splits the 4 upper ones): 12.
        W = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 2]]
        b = [0, 0, 0, -2]
        assert whitney_count(W, b) == 12

    def test_central_arrangement_in_R3(self):
        # The 3 coordinate planes and x + y + z = 0, all through the origin:
        # each of the 8 orthants except (+,+,+) and (-,-,-) is cut in two: 14.
        W = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
        assert whitney_count(W, [0, 0, 0, 0]) == 14

    def test_zero_rows_do_not_split(self):
        # Row (0, 0) with bias 3 is never zero; with bias 0 it is identically zero (off).
        W = [[0, 0], [1, 0], [0, 0]]
        assert whitney_count(W, [3, 0, 0]) == 2

    def test_n_parallel_hyperplanes(self):
        # n distinct parallel planes in R^3: n + 1 slabs.
        n = 7
        W = [[1, 2, 3]] * n
        b = list(range(n))
        assert whitney_count(W, b) == n + 1

    def test_fractions_and_integers_accepted(self):
        W = [[Fraction(1, 3), Fraction(0)], [0, 1]]
        assert whitney_count(W, [Fraction(-1, 7), 2]) == 4


class TestWhitneyGeneric:
    @pytest.mark.parametrize("n0", [1, 2, 3, 4])
    @pytest.mark.parametrize("n1", [1, 3, 5, 8])
    def test_gaussian_matches_zaslavsky(self, n0, n1):
        rng = np.random.default_rng(100 * n0 + n1)
        W = rng.standard_normal((n1, n0))
        b = rng.standard_normal(n1)
        assert whitney_count(W, b) == zaslavsky(n0, n1)

    def test_lines_through_the_origin(self):
        # n distinct lines through the origin of the plane: 2n sectors.
        rng = np.random.default_rng(1)
        n = 9
        W = rng.standard_normal((n, 2))
        assert whitney_count(W, np.zeros(n)) == 2 * n

    def test_central_generic_in_R3(self):
        # n generic planes through the origin of R^3: n (n - 1) + 2
        # (the great circles on the sphere: 2 + sum_{k<n} 2k).
        rng = np.random.default_rng(2)
        n = 6
        W = rng.standard_normal((n, 3))
        assert whitney_count(W, np.zeros(n)) == n * (n - 1) + 2

    def test_many_concurrent_lines_is_fast(self):
        # 40 lines through one point: 80 sectors; the pruned search does not
        # visit the 2^40 subsets with a common point.
        # Directions at angles 0, 1, ..., 39 radians are pairwise distinct (pi is
        # irrational); every line passes exactly through (1/4, -1/2).
        angles = np.arange(40)
        W = [[Fraction(np.cos(a)), Fraction(np.sin(a))] for a in angles]
        b = [-(w1 * Fraction(1, 4) - w2 * Fraction(1, 2)) for w1, w2 in W]
        assert whitney_count(W, b) == 80


class TestIndependentSubsets:
    def test_hand_values(self):
        # (1,0), (0,1), (1,1): empty + 3 singletons + 3 pairs = 7.
        assert independent_subsets([[1, 0], [0, 1], [1, 1]]) == 7
        # Two equal rows and a zero row: empty + 2 singletons = 3.
        assert independent_subsets([[1, 2], [1, 2], [0, 0]]) == 3
        # Identity of size 3: all 8 subsets.
        assert independent_subsets(np.eye(3)) == 8
        # No rows: the empty set only.
        assert independent_subsets(np.zeros((0, 2))) == 1

    @pytest.mark.parametrize("seed", range(12))
    def test_against_brute_force(self, seed):
        rng = np.random.default_rng(seed)
        n1 = int(rng.integers(1, 9))
        n0 = int(rng.integers(1, 5))
        W = rng.integers(-1, 2, size=(n1, n0))  # entries in {-1, 0, 1}: many dependencies
        assert independent_subsets(W) == _brute_independent(W)

    @pytest.mark.parametrize("seed", range(8))
    def test_equals_whitney_for_generic_biases(self, seed):
        rng = np.random.default_rng(seed)
        n1 = int(rng.integers(1, 9))
        n0 = int(rng.integers(1, 4))
        W = rng.integers(-2, 3, size=(n1, n0))
        W = W[np.any(W != 0, axis=1)]
        b = rng.standard_normal(len(W))
        assert independent_subsets(W) == whitney_count(W, b)

    def test_generic_rows_match_zaslavsky(self):
        # For rows in general position every subset of at most n0 rows is independent.
        rng = np.random.default_rng(3)
        W = rng.standard_normal((10, 3))
        assert independent_subsets(W) == zaslavsky(3, 10)


class TestValidation:
    @pytest.mark.parametrize("W", [[1.0, 2.0], np.zeros((2, 0)), [[[1.0]]]])
    def test_bad_shape_W(self, W):
        with pytest.raises(ValueError, match="`W` must be a 2-D array"):
            whitney_count(W, [0.0, 0.0])
        with pytest.raises(ValueError, match="`W` must be a 2-D array"):
            independent_subsets(W)

    def test_bad_entries(self):
        with pytest.raises(ValueError, match="`W` must contain finite real numbers"):
            whitney_count([[np.nan, 1.0]], [0.0])
        with pytest.raises(ValueError, match="`b` must contain finite real numbers"):
            whitney_count([[1.0, 1.0]], [np.inf])
        with pytest.raises(ValueError, match="`W` must contain finite real numbers"):
            independent_subsets([["a", 1.0]])

    def test_bad_b(self):
        with pytest.raises(ValueError, match="`b` must be a 1-D array of length 2"):
            whitney_count([[1.0], [2.0]], [1.0])
