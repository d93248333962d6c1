"""The exact simplex (polyregions.exact.exact_lp) against Fourier-Motzkin elimination, with every
answer checked on its own: a point must satisfy every strict row, multipliers must be a
transposition certificate."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from polyregions.exact.exact_lp import decide_strict, determinant, kernel_vector

from brute_force_exact import strict_feasible as fourier_motzkin_feasible

small = st.integers(-4, 4)


@st.composite
def systems(draw):
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 7))
    A = draw(st.lists(st.lists(small, min_size=n, max_size=n), min_size=m, max_size=m))
    b = draw(st.lists(small, min_size=m, max_size=m))
    return A, b


@settings(max_examples=300, deadline=None)
@given(systems())
def test_decision_matches_fourier_motzkin_and_checks(system):
    A, b = system
    res = decide_strict(A, b)
    assert res.empty == (not fourier_motzkin_feasible(list(zip(A, b)), len(A[0])))
    if res.empty:
        y = res.multipliers
        assert all(v >= 0 for v in y) and any(y)
        assert all(sum(y[i] * A[i][k] for i in range(len(A))) == 0 for k in range(len(A[0])))
        assert sum(y[i] * b[i] for i in range(len(A))) <= 0
    else:
        x = res.point
        assert all(sum(Fraction(a) * v for a, v in zip(row, x)) < r for row, r in zip(A, b))


def test_exact_coincidences_at_huge_scale():
    # three lines through one point, with coefficients near 2^100: the six open sectors
    big = 2 ** 100
    A = [[big, 0], [0, big], [big, big]]
    # the sector x > 0, y > 0, x + y < 0 is empty; x > 0, y < 0, x + y < 0 is not
    assert decide_strict([[-big, 0], [0, -big], [big, big]], [0, 0, 0]).empty
    assert not decide_strict([[-big, 0], [0, big], [big, big]], [0, 0, 0]).empty
    assert kernel_vector(A) is not None


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(st.lists(small, min_size=n, max_size=n), min_size=n + 1,
                                                     max_size=n + 1)))
def test_kernel_vector_is_a_left_kernel(A):
    y = kernel_vector(A)
    n = len(A[0])
    if y is not None:
        assert any(y) and all(sum(y[i] * A[i][k] for i in range(n + 1)) == 0 for k in range(n))


def test_determinant_against_the_permutation_expansion():
    import itertools

    M = [[3, -1, 2, 5], [0, 4, -2, 1], [7, 1, 1, -3], [2, 2, 0, 6]]

    def sign(p):
        return (-1) ** sum(1 for i in range(len(p)) for j in range(i + 1, len(p)) if p[i] > p[j])

    expected = sum(sign(p) * M[0][p[0]] * M[1][p[1]] * M[2][p[2]] * M[3][p[3]] for p in itertools.permutations(range(4)))
    assert determinant(M) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.lists(st.lists(small, min_size=n, max_size=n), min_size=n + 1,
                                                     max_size=n + 2)))
def test_kernel_vector_with_and_without_flint(A):
    from polyregions.exact import exact_lp

    n = len(A[0])
    found = []
    for use in ([False, True] if exact_lp.flint is not None else [False]):
        exact_lp.USE_FLINT = use
        try:
            y = kernel_vector(A)
        finally:
            exact_lp.USE_FLINT = exact_lp.flint is not None
        if y is not None:
            assert any(y) and all(sum(y[i] * A[i][k] for i in range(len(A))) == 0 for k in range(n))
        found.append(y is None)
    assert len(set(found)) == 1  # both paths agree on whether the left kernel is one-dimensional
