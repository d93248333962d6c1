"""Exact linear algebra on integer rows: primitive vectors, fraction-free elimination, ranks, circuits.

A real row is taken at its exact value (``fractions.Fraction(float)`` keeps the binary
value of a float) and scaled to the *primitive* integer vector with the same direction
(integer entries whose greatest common divisor is 1). Elimination combines two such
rows into a third with integer arithmetic only, and divides out the common factor, so
the entries stay small and no rounding ever happens: ranks and dependencies are exact.
The one-layer oracles (:mod:`.generic`) and the rank-deficit analysis of a convolution
(:mod:`.rank_deficit`) both build on these functions.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm

import numpy as np

__all__ = ["primitive", "eliminate", "pivot", "exact_rows", "reduce_row", "exact_rank", "first_circuit"]


def primitive(row) -> tuple:
    """Scale a list of Fractions to the primitive integer vector with the same direction.

    >>> primitive([Fraction(1, 2), Fraction(-3, 4)])
    (2, -3)
    """
    den = lcm(*(f.denominator for f in row)) if row else 1
    ints = [f.numerator * (den // f.denominator) for f in row]
    g = gcd(*ints)
    return tuple(v // g for v in ints) if g > 1 else tuple(ints)


def eliminate(q, r, c) -> tuple:
    """Return ``q`` with its entry ``c`` cancelled by the pivot row ``r``: ``r[c] q - q[c] r``, made primitive.

    >>> eliminate((2, 3), (1, 1), 0)
    (0, 1)
    """
    a, e = r[c], q[c]
    if e == 0:
        return q
    out = [a * x - e * y for x, y in zip(q, r)]
    g = gcd(*out)
    return tuple(v // g for v in out) if g > 1 else tuple(out)


def pivot(row, n) -> int:
    """Index of the first non-zero entry among the first ``n`` entries of `row`, or -1."""
    for k in range(n):
        if row[k]:
            return k
    return -1


def exact_rows(M) -> list:
    """The rows of a float matrix as primitive integer tuples (their exact binary values)."""
    return [primitive([Fraction(float(v)) for v in r]) for r in np.asarray(M, dtype=np.float64)]


def reduce_row(q, basis) -> tuple:
    """Reduce the integer row ``q`` against ``basis``, a list of ``(pivot column, row)`` in echelon order."""
    for c, r in basis:
        q = eliminate(q, r, c)
    return q


def exact_rank(rows) -> int:
    """Rank over the rationals of integer rows (fraction-free Gaussian elimination).

    >>> exact_rank([(1, 0), (0, 1), (1, 1)])
    2
    """
    basis = []  # (pivot column, row)
    for q in rows:
        q = reduce_row(q, basis)
        piv = pivot(q, len(q))
        if piv >= 0:
            basis.append((piv, q))
    return len(basis)


def first_circuit(rows, order):
    """The circuit met by a greedy pass over ``order`` (indices into the integer `rows`), or None.

    Rows are added in order while they stay linearly independent; the first row ``e``
    that depends on the kept ones ``I`` closes the unique circuit (minimal dependent
    set) of ``I + e``: ``e`` and the kept rows with a non-zero coefficient in the
    dependency. The coefficients ride along as extra columns of the elimination.

    >>> first_circuit([(1, 0), (0, 1), (2, 0)], [0, 1, 2])
    [0, 2]
    """
    k = len(order)
    basis = []  # (pivot column, augmented row)
    n = len(rows[order[0]]) if order else 0
    for pos, idx in enumerate(order):
        q = reduce_row(tuple(rows[idx]) + tuple(1 if t == pos else 0 for t in range(k)), basis)
        piv = pivot(q, n)
        if piv < 0:
            return sorted(order[t] for t in range(k) if q[n + t])
        basis.append((piv, q))
    return None
