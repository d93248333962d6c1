"""Theorem 1 of Xiong et al. (2020), against brute force (tests/bounds/conftest.py), hand values and exact oracles."""

from math import comb

import numpy as np
import pytest

from polyregions.bounds.xiong import receptive_fields, xiong_K, xiong_one_layer
from polyregions.bounds.dense import zaslavsky
from polyregions.bounds.generic import independent_subsets, whitney_count

# ---------------------------------------------------------------- independent references


# (d0, h, w, f1, f2, s): 1-D and 2-D, stride 1 and 2, overlapping and not.
SHAPES = [
    (1, 1, 3, 1, 2, 1),
    (1, 1, 5, 1, 2, 1),
    (1, 1, 6, 1, 3, 1),
    (1, 1, 5, 1, 2, 2),
    (1, 1, 7, 1, 3, 2),
    (2, 1, 4, 1, 2, 1),
    (2, 1, 5, 1, 3, 2),
    (1, 3, 3, 2, 2, 1),
    (1, 3, 4, 2, 2, 1),
    (1, 4, 3, 2, 2, 1),
    (1, 4, 4, 3, 3, 1),
    (1, 4, 5, 3, 3, 1),
    (1, 3, 5, 2, 3, 2),
    (1, 5, 5, 3, 3, 2),
    (1, 4, 4, 2, 2, 2),
    (2, 3, 3, 2, 2, 1),
    (2, 2, 4, 2, 2, 1),
    (2, 4, 4, 3, 2, 1),
    (1, 3, 3, 1, 2, 1),
]


class TestTheorem1AgainstBruteForce:
    @pytest.mark.parametrize("d1", [1, 2, 3])
    @pytest.mark.parametrize("d0, h, w, f1, f2, s", SHAPES)
    def test_xiong_one_layer(self, d0, h, w, f1, f2, s, d1, brute_R):
        got = xiong_one_layer((d0, h, w), filters=d1, kernel=(f1, f2), stride=s)
        assert got == brute_R(d0, h, w, d1, f1, f2, s)

    @pytest.mark.parametrize(
        "d0, h, w, f1, f2, s",
        [c for c in SHAPES if ((c[1] - c[3]) // c[5] + 1) * ((c[2] - c[4]) // c[5] + 1) <= 4 and c[0] * c[3] * c[4] <= 4],
    )
    def test_xiong_K(self, d0, h, w, f1, f2, s, brute_K, fields_by_definition):
        assert list(xiong_K((d0, h, w), (f1, f2), s)) == brute_K(fields_by_definition(d0, h, w, f1, f2, s))


class TestTheorem1HandValues:
    def test_1d_two_overlapping_fields(self):
        # Input length 3, kernel 2, stride 1: fields {0, 1} and {1, 2}.
        # K: t1, t2 <= 2 and t1 + t2 <= 3. Weights C(2, t) = 1, 2, 1, so
        # R = (1 + 2 + 1)^2 - C(2,2) C(2,2) = 16 - 1 = 15.
        assert xiong_one_layer((1, 1, 3), filters=2, kernel=(1, 2)) == 15

    def test_1d_three_overlapping_fields(self):
        # Input length 4, kernel 2: fields {0,1}, {1,2}, {2,3}; t_p <= 2,
        # t1 + t2 <= 3, t2 + t3 <= 3, t1 + t2 + t3 <= 4. Weights 1, 2, 1 (d1 = 2).
        #   t2 = 0 (weight 1): any t1, t3: 4 * 4 = 16
        #   t2 = 1 (weight 2): all but t1 = t3 = 2: 2 * (16 - 1) = 30
        #   t2 = 2 (weight 1): t1, t3 <= 1: (1 + 2)^2 = 9          -> 55
        assert xiong_one_layer((1, 1, 4), filters=2, kernel=(1, 2)) == 55

    def test_3x3_input_2x2_kernel(self):
        # Four fields of 4 units; any J has |union| >= 2 |J| (adjacent pair: 6,
        # diagonal pair: 7, three: 8, all: 9). With d1 = 2 every t in {0,1,2}^4
        # is in K: R = (1 + 2 + 1)^4 = 256. With d1 = 1: 2^4 = 16.
        assert xiong_one_layer((1, 3, 3), filters=2, kernel=2) == 256
        assert xiong_one_layer((1, 3, 3), filters=1, kernel=2) == 16

    @pytest.mark.parametrize("d0, h, w, d1", [(1, 2, 3, 1), (1, 3, 3, 4), (2, 2, 2, 3), (3, 1, 4, 5)])
    def test_1x1_kernel(self, d0, h, w, d1):
        # A 1x1 kernel: the fields are the h*w pixels (d0 units each), disjoint,
        # so K is a product and R = (sum_{i <= d0} C(d1, i))^{h w}; for d0 = 1
        # that is (1 + d1)^{h w}.
        expected = sum(comb(d1, i) for i in range(d0 + 1)) ** (h * w)
        assert xiong_one_layer((d0, h, w), filters=d1, kernel=(1, 1)) == expected
        if d0 == 1:
            assert expected == (1 + d1) ** (h * w)

    @pytest.mark.parametrize("d0, h, w, d1", [(1, 2, 2, 5), (1, 3, 2, 3), (2, 2, 3, 7), (1, 1, 9, 4)])
    def test_kernel_as_large_as_the_input(self, d0, h, w, d1):
        # One output position: a fully connected layer of d1 neurons on d0*h*w inputs.
        assert xiong_one_layer((d0, h, w), filters=d1, kernel=(h, w)) == zaslavsky(d0 * h * w, d1)

    def test_stride_equal_to_kernel(self):
        # 4x6 input, 2x2 kernel, stride 2: the 2x3 fields of 4 units tile the
        # input, so K is a product and R = zaslavsky(4, d1)^6.
        assert xiong_one_layer((1, 4, 6), filters=3, kernel=2, stride=2) == zaslavsky(4, 3) ** 6
        # Stride larger than the kernel leaves unused units: 1-D length 7, kernel 2,
        # stride 3: fields {0,1}, {3,4}, unit 2, 5, 6 unused: zaslavsky(2, d1)^2.
        assert xiong_one_layer((1, 1, 7), filters=4, kernel=(1, 2), stride=3) == zaslavsky(2, 4) ** 2

    def test_grows_like_d1_to_the_union(self):
        # R_N = Theta(d1^{|union of fields|}): here |union| = 9 on a 3x3 input.
        small, big = (xiong_one_layer((1, 3, 3), filters=d, kernel=2) for d in (200, 400))
        assert 2**9 * 0.5 < big / small < 2**9 * 1.5

    def test_transposed_shape_same_count(self, brute_R):
        a = xiong_one_layer((1, 3, 5), filters=3, kernel=(2, 3))
        b = xiong_one_layer((1, 5, 3), filters=3, kernel=(3, 2))
        assert a == b == brute_R(1, 3, 5, 3, 2, 3, 1)


# ---------------------------------------------------------------- against the exact one-layer oracle


def _conv_hyperplanes(d0, h, w, d1, f1, f2, s, rng):
    """Normals and shared biases of a random conv layer: one hyperplane per (filter, position)."""
    filters = rng.standard_normal((d1, d0, f1, f2))
    biases = rng.standard_normal(d1)
    rows, b = [], []
    for k in range(d1):
        for i in range((h - f1) // s + 1):
            for j in range((w - f2) // s + 1):
                W = np.zeros((d0, h, w))
                W[:, i * s : i * s + f1, j * s : j * s + f2] = filters[k]
                rows.append(W.ravel())
                b.append(biases[k])
    return np.array(rows), np.array(b)


class TestTheorem1AgainstExactCounts:
    # Shapes where random conv layers attain R_N (no rank deficit of the normals).
    @pytest.mark.parametrize(
        "d0, h, w, d1, f1, f2, s",
        [
            (1, 1, 4, 3, 1, 2, 1),
            (1, 1, 5, 2, 1, 3, 1),
            (1, 1, 6, 2, 1, 2, 2),
            (2, 1, 4, 3, 1, 2, 1),
            (1, 3, 3, 1, 2, 2, 1),
            (1, 5, 5, 2, 3, 3, 2),
            (1, 4, 4, 2, 2, 2, 2),
            (2, 3, 3, 2, 2, 2, 1),
        ],
    )
    def test_attained(self, d0, h, w, d1, f1, f2, s):
        W, b = _conv_hyperplanes(d0, h, w, d1, f1, f2, s, np.random.default_rng(0))
        assert whitney_count(W, b) == xiong_one_layer((d0, h, w), d1, (f1, f2), s)

    def test_rank_deficit_3x3_two_filters(self):
        # Two 2x2 filters a, b on a 3x3 input, stride 1: the 8 normals satisfy
        # sum_ij b_ij (a at offset ij) = a * b = sum_ij a_ij (b at offset ij),
        # so they have rank 7, not 8. Every proper subset is independent
        # (the dependency involves all 8), so independent subsets = 2^8 - 1 = 255.
        # With shared biases the 8 hyperplanes have no common point
        # (that would need alpha * sum(b) = beta * sum(a)), so the exact count is
        # 255, one less than R_N = 256 (computed by hand above).
        W, bias = _conv_hyperplanes(1, 3, 3, 2, 2, 2, 1, np.random.default_rng(1))
        assert np.linalg.matrix_rank(W) == 7
        assert independent_subsets(W) == 2**8 - 1
        assert whitney_count(W, bias) == 255 < xiong_one_layer((1, 3, 3), 2, 2) == 256

    @pytest.mark.parametrize(
        "d0, h, w, d1, f1, f2, s",
        [(1, 3, 3, 3, 2, 2, 1), (1, 3, 4, 2, 2, 2, 1), (2, 3, 3, 3, 2, 2, 1), (1, 2, 4, 3, 2, 2, 1)],
    )
    def test_never_above_R(self, d0, h, w, d1, f1, f2, s):
        # The exact count never exceeds R_N, and any gap is the normals' doing:
        # the count equals the number of independent subsets of the normals
        # (what generic per-neuron biases would give), so sharing the biases
        # costs nothing here and a gap below R_N is a linear dependency that
        # weight sharing forces among the normals.
        W, b = _conv_hyperplanes(d0, h, w, d1, f1, f2, s, np.random.default_rng(2))
        count = whitney_count(W, b)
        assert count <= xiong_one_layer((d0, h, w), d1, (f1, f2), s)
        assert count == independent_subsets(W)


# ---------------------------------------------------------------- receptive fields and validation


def test_receptive_fields_by_hand():
    # 2x3 input (single channel), 2x2 kernel: fields {0,1,3,4} and {1,2,4,5}.
    fields = receptive_fields((1, 2, 3), (2, 2))
    assert list(fields) == [(0, 0), (0, 1)]
    assert fields[(0, 0)] == {0, 1, 3, 4}
    assert fields[(0, 1)] == {1, 2, 4, 5}
    # Two channels: the second channel's units are shifted by h*w = 6.
    fields = receptive_fields((2, 2, 3), (2, 2))
    assert fields[(0, 1)] == {1, 2, 4, 5, 7, 8, 10, 11}
    # Stride 2 on a 1-D input of length 5, kernel 2: {0, 1}, {2, 3}.
    assert list(receptive_fields((1, 1, 5), (1, 2), 2).values()) == [{0, 1}, {2, 3}]


@pytest.mark.parametrize("d0, h, w, f1, f2, s", SHAPES)
def test_receptive_fields_match_definition(d0, h, w, f1, f2, s, fields_by_definition):
    assert list(receptive_fields((d0, h, w), (f1, f2), s).values()) == fields_by_definition(d0, h, w, f1, f2, s)


class TestValidation:
    def test_padding_refused(self):
        with pytest.raises(ValueError, match="padding"):
            xiong_one_layer((1, 3, 3), filters=2, kernel=2, padding=1)
        with pytest.raises(ValueError, match="padding"):
            xiong_one_layer((1, 3, 3), filters=2, kernel=2, padding=(0, 1))
        with pytest.raises(ValueError, match="padding"):
            xiong_K((1, 3, 3), kernel=2, padding=1)
        assert xiong_one_layer((1, 3, 3), filters=2, kernel=2, padding=(0, 0)) == 256

    @pytest.mark.parametrize("shape", [(3, 3), (1, 0, 3), (1, 2.0, 3), "abc", None, (1, 3, 3, 1)])
    def test_bad_input_shape(self, shape):
        with pytest.raises(ValueError, match="`input_shape` must be"):
            xiong_one_layer(shape, filters=2, kernel=1)

    @pytest.mark.parametrize("kernel", [0, (2,), (2, 0), (1.5, 2), None])
    def test_bad_kernel(self, kernel):
        with pytest.raises(ValueError, match="`kernel` must be"):
            xiong_one_layer((1, 3, 3), filters=2, kernel=kernel)

    def test_kernel_too_large(self):
        with pytest.raises(ValueError, match="`kernel`.*does not fit"):
            xiong_one_layer((1, 3, 3), filters=2, kernel=(2, 4))

    @pytest.mark.parametrize("filters", [0, -1, 2.5, None])
    def test_bad_filters(self, filters):
        with pytest.raises(ValueError, match="`filters` must be a positive integer"):
            xiong_one_layer((1, 3, 3), filters=filters, kernel=2)

    @pytest.mark.parametrize("stride", [0, 1.0, None])
    def test_bad_stride(self, stride):
        with pytest.raises(ValueError, match="`stride` must be a positive integer"):
            xiong_one_layer((1, 3, 3), filters=2, kernel=2, stride=stride)

    def test_xiong_K_validates_eagerly(self):
        with pytest.raises(ValueError, match="`kernel`"):
            xiong_K((1, 3, 3), kernel=(4, 4))
