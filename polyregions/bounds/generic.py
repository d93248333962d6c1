"""Exact one-layer oracles: regions of a hyperplane arrangement, independent subsets.

A one-hidden-layer ReLU network :math:`x \\mapsto \\max(Wx + b, 0)` has one
linear region per region of the arrangement of its neurons' hyperplanes
:math:`\\{x : W_j x + b_j = 0\\}` (a neuron whose weight row is zero never
splits the space). The functions here count them exactly, for *any*
parameters, in rational arithmetic: every entry is converted exactly
(``fractions.Fraction(float)`` keeps the binary value of a float), each row
is scaled to a primitive integer vector, and ranks come from integer
(fraction-free) Gaussian elimination. No tolerance is involved, so rows that
are dependent only up to rounding count as independent.

References
----------
.. [Z75] T. Zaslavsky, "Facing up to arrangements: face-count formulas for
   partitions of space by hyperplanes", Memoirs of the AMS 154, 1975.
.. [S07] R. P. Stanley, "An introduction to hyperplane arrangements",
   in Geometric Combinatorics, IAS/Park City Math. Ser. 13, 2007 (Lecture 2:
   Whitney's theorem and the broken-circuit expansion).
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from math import isfinite

import numpy as np

from ..errors import InvalidInputError
from .rational import eliminate, pivot, primitive

__all__ = ["whitney_count", "independent_subsets"]


def _to_fraction(value, name):
    """Convert one real entry exactly to a Fraction, or raise naming ``name``."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if isfinite(value):
            return Fraction(value)
    raise InvalidInputError(f"`{name}` must contain finite real numbers, got {value!r}")


def _validate_matrix(W, name="W"):
    """Return the rows of ``W`` (2-D, at least one column) as lists of Fractions."""
    try:
        arr = np.asarray(W, dtype=object)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] < 1:
        shape = None if arr is None else arr.shape
        raise InvalidInputError(
            f"`{name}` must be a 2-D array of shape (n1, n0) with n0 >= 1, got shape {shape}"
        )
    return [[_to_fraction(v, name) for v in row] for row in arr]


def _validate_vector(b, n, name="b"):
    """Return ``b`` (1-D, length ``n``) as a list of Fractions."""
    try:
        arr = np.asarray(b, dtype=object)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.shape[0] != n:
        shape = None if arr is None else arr.shape
        raise InvalidInputError(f"`{name}` must be a 1-D array of length {n}, got shape {shape}")
    return [_to_fraction(v, name) for v in arr]


def whitney_count(W, b):
    r"""Exact number of regions of the arrangement :math:`\{x : W_j x + b_j = 0\}` in :math:`\mathbb{R}^{n_0}`.

    This is the exact number of linear regions of the one-hidden-layer ReLU
    network :math:`\max(Wx + b, 0)` on :math:`\mathbb{R}^{n_0}`, for any
    parameters (shared or repeated biases included). Whitney's formula
    ([Z75]_; [S07]_, Lecture 2) gives it as

    .. math::

        r(\mathcal{A}) = \sum_{S \subseteq \mathcal{A},\ \cap S \neq \emptyset}
        (-1)^{|S| - \operatorname{rank} S},

    where :math:`\operatorname{rank} S = \operatorname{rank} W_S` and
    :math:`\cap S \ne \emptyset` exactly when
    :math:`\operatorname{rank} [W_S \mid -b_S] = \operatorname{rank} W_S`.

    **Rows that do not define a hyperplane are dropped first.** A row with
    :math:`W_j = 0` is either empty (:math:`b_j \ne 0`: the neuron has one
    sign everywhere) or the whole space (:math:`b_j = 0`: the neuron is
    identically zero, hence off everywhere, and does not split anything; in
    the sum it would cancel every term, so it must go). **Repeated
    hyperplanes** (rows :math:`(W_j, b_j)` equal up to a non-zero factor, of
    either sign) are kept once: the regions do not depend on multiplicity.
    (Whitney's sum is in fact unchanged by a repeated hyperplane, its terms
    cancel in pairs, but deduplicating makes the search smaller.)

    **Algorithm.** A depth-first search over subsets in index order keeps
    every remaining hyperplane reduced against the echelon form of the
    current subset's rows :math:`[W_S \mid -b_S]` (exact integers). A
    remaining hyperplane that reduces to :math:`0 = c \ne 0` misses the
    current flat :math:`\cap S`, and so misses the flat of every superset:
    it is dropped from the subtree. A remaining hyperplane that reduces to
    :math:`0 = 0` *contains* the flat :math:`\cap S`; if there is one,
    :math:`H` say, the whole subtree sums to zero (adding :math:`H` to any
    subset of the subtree keeps its flat and rank and flips the sign, a
    sign-reversing involution) and is skipped. So every subset that is
    visited is affinely independent and contributes :math:`+1`: the visited
    subsets are the no-broken-circuit sets of the arrangement, whose number
    is the number of regions. The cost is about
    ``regions * (n1 * n0)`` integer operations on small integers, plus the
    pruned attempts. Measured on one core: 20 generic hyperplanes in
    :math:`\mathbb{R}^4` (6,196 regions) take about 0.2 s, 30 in
    :math:`\mathbb{R}^5` (174,437 regions) about 6 s; degenerate
    arrangements cost no more than their regions (40 concurrent lines: 80
    regions, not :math:`2^{40}` subsets). Practical up to a few hundred
    thousand regions.

    Parameters
    ----------
    W : array_like, shape (n1, n0)
        Weight rows, one per neuron; finite real numbers (floats are taken at
        their exact binary value), integers or :class:`fractions.Fraction`.
    b : array_like, shape (n1,)
        Biases, same kinds of entries.

    Returns
    -------
    int
        The number of regions (1 when no row defines a hyperplane).

    Raises
    ------
    InvalidInputError
        If ``W`` is not 2-D with at least one column, ``b`` does not have
        length ``n1``, or an entry is not a finite real number.

    See Also
    --------
    polyregions.bounds.zaslavsky : the count for hyperplanes in general position.
    independent_subsets : the count for generic biases.

    Examples
    --------
    Three lines through one point cut the plane into 6 regions, three lines
    in general position into 7:

    >>> whitney_count([[1, 0], [0, 1], [1, 1]], [0, 0, 0])
    6
    >>> whitney_count([[1, 0], [0, 1], [1, 1]], [0, 0, -1])
    7
    """
    rows = _validate_matrix(W, "W")
    n0 = len(rows[0]) if rows else np.asarray(W, dtype=object).shape[1]
    bias = _validate_vector(b, len(rows), "b")

    planes = {}
    for w, bj in zip(rows, bias):
        if not any(w):
            continue  # empty or the whole space: no split
        row = primitive(list(w) + [-bj])  # hyperplane  w . x = -b
        if row[pivot(row, n0)] < 0:
            row = tuple(-v for v in row)
        planes.setdefault(row, None)
    return _nbc_count(list(planes), n0)


def _nbc_count(cands, n0):
    """Count subsets visited by the pruned Whitney search (see :func:`whitney_count`)."""
    # A node: its candidates are reduced against the node's echelon rows; none is
    # inconsistent (those were dropped). If one reduces to zero the subtree sums to 0.
    if any(not any(r) for r in cands):
        return 0
    total = 1  # the node itself, affinely independent
    for i, r in enumerate(cands):
        c = pivot(r, n0)
        child = []
        for q in cands[i + 1 :]:
            q = eliminate(q, r, c)
            if any(q[:n0]) or not q[n0]:
                child.append(q)  # keeps a direction, or contains the new flat
        total += _nbc_count(child, n0)
    return total


def independent_subsets(W):
    r"""Exact number of linearly independent subsets of the rows of ``W``, the empty set included.

    For generic biases :math:`b`, a set :math:`S` of hyperplanes
    :math:`W_j x + b_j = 0` has a non-empty common intersection exactly when
    the rows :math:`W_S` are linearly independent, and then contributes
    :math:`(-1)^0 = 1` to Whitney's formula. So, for generic biases,

    .. math::

        \#\text{regions of } \max(Wx + b, 0)
        = \#\{S : \text{the rows } W_j,\ j \in S, \text{ are linearly independent}\}

    (the number of independent sets of the row matroid of :math:`W`), and
    this equals :func:`whitney_count` ``(W, b)``. Zero rows belong to no
    independent set; repeated rows are distinct elements (two equal rows are
    a dependent pair, each alone is independent), as repeated normals with
    generic biases are distinct parallel hyperplanes.

    **Algorithm.** A depth-first search over subsets in index order keeps
    the remaining rows reduced against the current subset's echelon form
    (exact integers); a row that reduces to zero depends on the current
    subset, hence on every superset, and is dropped from the subtree. Each
    visited subset is independent, so the cost is about
    ``count * (n1 * n0)`` small-integer operations: 30 generic rows in
    :math:`\mathbb{R}^4` (31,931 subsets) take about 0.4 s, 20 in
    :math:`\mathbb{R}^6` (60,460 subsets) about 0.6 s. Practical up to a
    few hundred thousand independent subsets.

    Parameters
    ----------
    W : array_like, shape (n1, n0)
        Rows; finite real numbers (exact binary value of floats), integers or
        :class:`fractions.Fraction`.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If ``W`` is not 2-D with at least one column or an entry is not a
        finite real number.

    Examples
    --------
    Rows (1, 0), (0, 1), (1, 1): the empty set, 3 singletons and 3 pairs
    are independent, the triple is not:

    >>> independent_subsets([[1, 0], [0, 1], [1, 1]])
    7
    """
    rows = _validate_matrix(W, "W")
    n0 = np.asarray(W, dtype=object).shape[1]
    cands = [primitive(list(w)) for w in rows if any(w)]
    return _independent_count(cands, n0)


def _independent_count(cands, n0):
    """Count independent subsets whose further rows come from ``cands`` (reduced rows)."""
    total = 1
    for i, r in enumerate(cands):
        c = pivot(r, n0)
        child = []
        for q in cands[i + 1 :]:
            q = eliminate(q, r, c)
            if any(q):
                child.append(q)
        total += _independent_count(child, n0)
    return total
