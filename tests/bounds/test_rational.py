"""Exact integer linear algebra, against Gaussian elimination over Fractions written here."""

from __future__ import annotations

import doctest
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

import polyregions.bounds.rational as rational
from polyregions.bounds.rational import exact_rank, exact_rows, first_circuit, primitive


def _fraction_rank(rows):
    """Rank by textbook Gaussian elimination over Fractions (row echelon form)."""
    M = [[Fraction(v) for v in r] for r in rows]
    rank, n = 0, len(M[0]) if M else 0
    for c in range(n):
        p = next((i for i in range(rank, len(M)) if M[i][c] != 0), None)
        if p is None:
            continue
        M[rank], M[p] = M[p], M[rank]
        for i in range(rank + 1, len(M)):
            f = M[i][c] / M[rank][c]
            M[i] = [a - f * b for a, b in zip(M[i], M[rank])]
        rank += 1
    return rank


@pytest.mark.parametrize("seed", range(20))
def test_exact_rank_matches_fraction_elimination(seed):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 7), rng.integers(1, 6)
    base = rng.integers(-3, 4, size=(m, n))
    # add exact dependencies: sums and multiples of earlier rows
    extra = [base[0] * 3 - base[-1], base[-1] * -2]
    rows = [tuple(int(v) for v in r) for r in (*base, *extra)]
    assert exact_rank(rows) == _fraction_rank(rows)


def test_exact_rows_keep_the_binary_value():
    # 0.1 is not 1/10 in binary: the primitive row of (0.1, 0.2) is (1, 2) since 0.2 = 2 * 0.1 exactly
    assert exact_rows([[0.1, 0.2]]) == [(1, 2)]
    # 0.1 + 0.2 != 0.3 in binary, so these three numbers are not proportional to (1, 2, 3)
    assert exact_rows([[0.1, 0.2, 0.3]])[0] != (1, 2, 3)
    assert primitive([Fraction(-2, 3), Fraction(4, 9)]) == (-3, 2)  # (-6, 4) / 9, then divided by 2


@pytest.mark.parametrize("seed", range(10))
def test_first_circuit_is_a_minimal_dependent_set(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 4))
    rows = [tuple(int(v) for v in rng.integers(-2, 3, size=n)) for _ in range(n + 2)]
    order = list(rng.permutation(len(rows)))
    circ = first_circuit(rows, order)
    if circ is None:
        assert _fraction_rank(rows) == len(rows)
        return
    assert _fraction_rank([rows[i] for i in circ]) == len(circ) - 1  # dependent
    for drop in combinations(circ, len(circ) - 1):  # every proper subset independent
        assert _fraction_rank([rows[i] for i in drop]) == len(drop)
    # it is the first dependency of the greedy pass: the prefix before its last element is independent
    last = max(order.index(i) for i in circ)
    assert _fraction_rank([rows[i] for i in order[:last]]) == last


def test_doctests():
    failures, tried = doctest.testmod(rational, verbose=False)
    assert tried > 0 and failures == 0
