"""Tests of the exact rational reference counter (tests/exact_reference.py) against closed forms.

The reference is the ground truth of other tests, so it is checked here only against
geometry worked out by hand (written in each docstring), Zaslavsky's formula, a 1-D
breakpoint count and dense sampling with numpy; nothing here calls polyregions' search.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import exact_reference as ref
import numpy as np
import pytest

F = Fraction


def exact_rank(rows):
    """Rank of an integer matrix by Gaussian elimination over the rationals."""
    m = [[F(v) for v in row] for row in rows]
    rank, ncol = 0, len(m[0])
    for col in range(ncol):
        piv = next((i for i in range(rank, len(m)) if m[i][col] != 0), None)
        if piv is None:
            continue
        m[rank], m[piv] = m[piv], m[rank]
        for i in range(len(m)):
            if i != rank and m[i][col] != 0:
                f = m[i][col] / m[rank][col]
                m[i] = [u - f * v for u, v in zip(m[i], m[rank])]
        rank += 1
    return rank


def test_sqrt_bounds_bracket_and_are_tight():
    lo, hi = ref.sqrt_bounds(F(2))
    assert lo * lo <= 2 <= hi * hi
    assert hi - lo <= F(1, 2**ref.NORM_BITS)
    assert ref.sqrt_bounds(F(9, 4)) == (F(3, 2), F(3, 2))


def test_max_inball_of_a_square_is_half_its_side():
    """[0, 2] x [0, 1]: the largest ball has radius 1/2; rows are axis-aligned, norms 1."""
    rows = ref.exact_domain(("box", [0, 0], [2, 1]))[2]
    assert ref.max_inball(rows, [F(1)] * len(rows)) == F(1, 2)


def test_max_inball_is_capped_at_one():
    rows = ref.exact_domain(("box", [0, 0], [10, 10]))[2]
    assert ref.max_inball(rows, [F(1)] * len(rows)) == 1


def test_max_inball_of_the_unit_triangle_brackets_its_inradius():
    """x >= 0, y >= 0, x + y <= 1 has inradius 1 - 1/sqrt(2)."""
    rows = [([F(-1), F(0)], F(0)), ([F(0), F(-1)], F(0)), ([F(1), F(1)], F(1))]
    lo_w = [F(1), F(1), ref.sqrt_bounds(F(2))[0]]
    hi_w = [F(1), F(1), ref.sqrt_bounds(F(2))[1]]
    exact = 1 - 1 / math.sqrt(2)
    low, high = ref.max_inball(rows, hi_w), ref.max_inball(rows, lo_w)
    assert low <= high
    assert float(low) == pytest.approx(exact, rel=1e-15) and float(high) == pytest.approx(exact, rel=1e-15)


def test_max_inball_is_negative_for_an_empty_system():
    """x <= -1 and -x <= -1 (x >= 1): the best t is -1."""
    rows = [([F(1)], F(-1)), ([F(-1)], F(-1))]
    assert ref.max_inball(rows, [F(1), F(1)]) == -1


def test_projection_onto_a_square_and_a_half_plane():
    square = ref.exact_domain(("box", [0, 0], [1, 1]))[2]
    assert ref.projection_distance2(square, [F(3), F(3)]) == 8
    assert ref.projection_distance2(square, [F(1, 2), F(5)]) == 16
    assert ref.projection_distance2(square, [F(1, 2), F(1, 2)]) == 0
    half = [([F(1), F(1)], F(1))]
    assert ref.projection_distance2(half, [F(1), F(1)]) == F(1, 2)


def test_three_lines_in_general_position_and_through_one_point():
    """Zaslavsky: 1 + 3 + 3 = 7 regions; through one point, 6 (no triangle)."""
    W = [[[1, 0], [0, 1], [1, 1]]]
    assert ref.exact_count(W, [[0, 0, -1]], ("whole", 2)) == 7
    assert ref.exact_count(W, [[0, 0, 0]], ("whole", 2)) == 6


@pytest.mark.parametrize("n0, n1", [(1, 3), (2, 4), (3, 4), (2, 5)])
def test_generic_integer_arrangement_is_zaslavsky(n0, n1):
    """Rows of a Vandermonde-like matrix with distinct biases are in general position
    (checked here with exact ranks), so the count is sum_{i <= n0} C(n1, i)."""
    W = [[(k + 2) ** p * (1 if p % 2 == 0 else -1) for p in range(n0)] for k in range(n1)]
    b = [(k + 2) ** n0 + 1 for k in range(n1)]
    # general position: every n0+1 of the augmented rows [w, b] independent, every <= n0 rows of W independent
    for size in range(1, n0 + 1):
        for S in itertools.combinations(range(n1), size):
            assert exact_rank([W[i] for i in S]) == size
    for S in itertools.combinations(range(n1), n0 + 1):
        assert exact_rank([W[i] + [b[i]] for i in S]) == n0 + 1
    expected = sum(math.comb(n1, i) for i in range(n0 + 1))
    assert ref.exact_count([W], [b], ("whole", n0)) == expected


def test_one_input_counts_breakpoints():
    """One input, neurons x - k for k = 0..3 inside (-1, 5): 4 breakpoints, 5 pieces; in
    (0.5, 2.5) only the breakpoints 1 and 2 lie inside: 3 pieces."""
    W, b = [[[1], [1], [1], [1]]], [[0, -1, -2, -3]]
    assert ref.exact_count(W, b, ("box", [-1], [5])) == 5
    assert ref.exact_count(W, b, ("box", [F(1, 2)], [F(5, 2)])) == 3
    assert ref.exact_count(W, b, ("box", [1], [2])) == 1  # breakpoints on the boundary only


def test_second_layer_neuron_dead_where_its_inputs_are_off():
    """h = relu(x), z2 = h - 1: off while x < 1; identically 0 where x < 0 (off, no split).
    Pieces in (-2, 3): x < 0, 0 < x < 1, x > 1: 3 patterns (0,0), (1,0), (1,1)."""
    pats = ref.exact_patterns([[[1]], [[1]]], [[0], [-1]], ("box", [-2], [3]))
    assert pats == {(0, 0), (1, 0), (1, 1)}


def test_zero_bias_dead_neuron_does_not_split():
    """z2 = -h with h = relu(x): identically 0 (off) on x < 0 and negative on x > 0: 2 patterns."""
    assert ref.exact_patterns([[[1]], [[-1]]], [[0], [0]], ("box", [-1], [1])) == {(0, 0), (1, 0)}


def test_strip_counts_depend_on_eps():
    """Lines x = 0 and x = w in the box [-1, 1]^2: the strip between them holds balls of
    radius up to w / 2, so it counts iff w / 2 > eps."""
    w = F(3, 10**7)
    W, b = [[[1, 0], [1, 0]]], [[0, -w]]
    box = ("box", [-1, -1], [1, 1])
    assert ref.exact_count(W, b, box) == 3
    assert ref.exact_count(W, b, box, eps=F(149, 10**9)) == 3
    assert ref.exact_count(W, b, box, eps=F(15, 10**8)) == 2
    assert ref.exact_count(W, b, box, eps=F(151, 10**9)) == 2


def test_diagonal_strip_in_an_l2_ball_depends_on_eps():
    """Lines x + y = 0 and x + y = w sqrt(2) ... written with rational offsets: x + y = 0
    and x + y = d, strip width d / sqrt(2), inside the unit disc around 0: 3 regions iff
    d / (2 sqrt(2)) > eps."""
    d = F(4, 10**6)
    W, b = [[[1, 1], [1, 1]]], [[0, -d]]
    disc = ("ball", [0, 0], 1, 2)
    half_width = 4e-6 / (2 * math.sqrt(2))  # 1.414e-6
    assert ref.exact_count(W, b, disc) == 3
    assert ref.exact_count(W, b, disc, eps=F(half_width * 0.999)) == 3
    assert ref.exact_count(W, b, disc, eps=F(half_width * 1.001)) == 2


def test_lines_tangent_to_the_balls():
    """x = 1 touches the unit L2 disc and the L1 ball |x| + |y| < 1 at a point or a corner:
    one region; x = 1/2 cuts both: two. x + y = 1 contains a face of the L1 ball: one."""
    for p in (1, 2):
        ball = ("ball", [0, 0], 1, p)
        assert ref.exact_count([[[1, 0]]], [[-1]], ball) == 1
        assert ref.exact_count([[[1, 0]]], [[F(-1, 2)]], ball) == 2
    assert ref.exact_count([[[1, 1]]], [[-1]], ("ball", [0, 0], 1, 1)) == 1
    assert ref.exact_count([[[1, 1]]], [[-1]], ("ball", [0, 0], 1, 2)) == 2  # distance 1/sqrt(2) < 1


def test_thin_triangle_in_an_l2_ball_at_eps():
    """The lines x = .31, y = -.17 and x + y = .14 + 3e-9 bound a right triangle with legs
    3e-9 and inradius 3e-9 (2 - sqrt 2) / 2 = 8.8e-10; in a disc of radius 1e-6 around it
    the arrangement has 7 regions, 6 of them thicker than 1e-9."""
    W, b = [[[1, 0], [0, 1], [1, 1]]], [[-.31, .17, -(.14 + 3e-9)]]
    disc = ("ball", [.3100001, -.1699999], 1e-6, 2)
    assert ref.exact_count(W, b, disc) == 7
    assert ref.exact_count(W, b, disc, eps=1e-9) == 6
    assert ref.exact_count(W, b, disc, eps=8e-10) == 7


def test_dense_sampling_finds_only_reference_patterns():
    """Random small-integer networks: every pattern of 20,000 uniform points of the box is a
    reference pattern, and every reference pattern of a region thicker than 1e-2 is sampled."""
    rng = np.random.default_rng(7)
    for _ in range(6):
        W1 = rng.integers(-3, 4, size=(3, 2))
        W2 = rng.integers(-3, 4, size=(2, 3))
        b1, b2 = rng.integers(-2, 3, size=3), rng.integers(-2, 3, size=2)
        weights, biases = [W1.tolist(), W2.tolist()], [b1.tolist(), b2.tolist()]
        box = ("box", [-2, -2], [2, 2])
        pats = ref.exact_patterns(weights, biases, box)
        thick = ref.exact_patterns(weights, biases, box, eps=F(1, 100))
        x = rng.uniform(-2, 2, size=(20000, 2))
        z1 = x @ W1.T + b1
        z2 = np.maximum(z1, 0) @ W2.T + b2
        sampled = {tuple(int(v) for v in row) for row in np.hstack([z1 > 0, z2 > 0])}
        assert sampled <= pats
        assert thick <= sampled


def test_undecided_is_raised_at_an_exact_tie():
    """The strip 0 < x < 2 e has inradius exactly e: at eps = e the norms are exact (axis
    rows), so the answer is decided (not kept); a tilted strip with irrational norms whose
    half-width equals eps to 2**-NORM_BITS cannot be decided."""
    e = F(1, 10**6)
    assert ref.exact_count([[[1], [1]]], [[0, -2 * e]], ("box", [-1], [1]), eps=e) == 2
    # x + y = 0 and x + y = 2: half-width 1/sqrt(2), irrational; eps = a 200-bit rational near it
    lo, _ = ref.sqrt_bounds(F(1, 2))
    with pytest.raises(ref.Undecided):
        ref.exact_count([[[1, 1], [1, 1]]], [[0, -2]], ("box", [-5, -5], [5, 5]), eps=lo)


def test_slices_are_composed_exactly():
    """The plane z = 1 of R^3 through the net (x, y, x + y + z - 2): in (s, t) it is
    (s, t, s + t - 1), three lines in general position, 7 regions of R^2 (1 + 3 + 3) and, in
    [0, 1]^2, the 4 of the two axes' quadrant (s, t > 0) cut by s + t = 1: 2 regions; the
    line x = 1 + 2 p, y = 2 p, z = 2 (its metric |(2, 2, 0)| = 2 sqrt(2) is not rational, so
    eps = 0 there) meets x = 0 at p = -1/2, the third (1 + 4 p) at p = -1/4 and y = 0 at p = 0."""
    W, b = [[1, 0, 0], [0, 1, 0], [1, 1, 1]], [0, 0, -2]
    Ws, bs = ref.compose_slice([W], [b], [0, 0, 1], [[1, 0], [0, 1], [0, 0]])
    assert Ws == [[[1, 0], [0, 1], [1, 1]]] and bs == [[0, 0, -1]]
    assert len(ref.exact_slice_patterns([W], [b], [0, 0, 1], [[1, 0], [0, 1], [0, 0]], None, None)) == 7
    assert len(ref.exact_slice_patterns([W], [b], [0, 0, 1], [[1, 0], [0, 1], [0, 0]], [0, 0], [1, 1])) == 2
    line = ref.exact_slice_patterns([W], [b], [1, 0, 2], [[2], [2], [0]], [-1], [1])
    assert line == {(0, 0, 0), (1, 0, 0), (1, 0, 1), (1, 1, 1)}
    # a conformal frame: u = (3, 4, 0), v = (-4, 3, 0), metric 5; the strip 0 < s < 1/5 has
    # half-width 1/10 in p, 1/2 in input units
    strip = [[3, 4, 0], [3, 4, 0]], [0, -5]
    U = [[3, -4], [4, 3], [0, 0]]
    assert len(ref.exact_slice_patterns(*map(lambda a: [a], strip), [0, 0, 0], U, [-1, -1], [1, 1], eps=F(49, 100),
                                        metric=5)) == 3
    assert len(ref.exact_slice_patterns(*map(lambda a: [a], strip), [0, 0, 0], U, [-1, -1], [1, 1], eps=F(1, 2),
                                        metric=5)) == 2
