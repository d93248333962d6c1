r"""The maximal count of a one-layer CNN as a polynomial in the number of filters :math:`d_1`.

For generic weights and biases the number of regions of a one-layer ReLU CNN in the whole
space is the number of linearly independent sets of its normals (``docs/theorem1.md``,
Theorems A and B), and Theorem 1 of Xiong et al. (2020) gives :math:`R_N`, the number of
sets that satisfy Hall's condition. Both depend on :math:`d_1` through the filters each set
uses. Write :math:`e_j` for the number of independent sets in which *exactly* the filters
:math:`1..j` appear (each at least once); relabelling the filters does not change generic
independence, so

.. math::

    \#\{\text{independent sets}\}(d_1) = \sum_{j \ge 0} \binom{d_1}{j} e_j ,

a polynomial in :math:`d_1` of degree at most the rank :math:`|U|` (the number of input units
the receptive fields cover), since every filter in an independent set contributes a normal.
The same holds for :math:`R_N` with its own coefficients :math:`e^T_j`, which
:func:`xiong_coefficients` reads off Theorem 1 by finite differences,
:math:`e^T_j = \sum_{i \le j} (-1)^{j-i}\binom{j}{i} R_N(i)`.

:func:`generic_count_polynomial` finds the :math:`e_j` by enumerating *multisets* of
position sets: filter :math:`k` of the set contributes its normals at a non-empty set
:math:`P_k` of output positions, and up to relabelling the filters a set is the multiset
:math:`\{P_1, \dots, P_j\}`, which stands for :math:`j! / \prod_P m_P!` labelled sets
(:math:`m_P` its multiplicities). The enumeration is a depth-first search over
non-increasing sequences of position sets (bit masks) that keeps only independent sets (a
superset of a dependent set is dependent), level by level in :math:`j` (iterative
deepening), so that a time limit leaves :math:`e_0..e_J` exact for the levels it finished.

**Independence** is decided twice, at two independent random draws of the filters, one modulo
each of the primes :math:`p_1 = 2^{31} - 1` and :math:`p_2 = 2^{31} - 19` (Gaussian elimination
compiled with numba). A set found independent modulo a prime has a non-zero minor at that integer
point, so it is independent for generic real weights: that decision is certain, and when the two
fields disagree the draw was unlucky in one of them and the search starts again with new draws.
A set is taken as dependent only when both fields find it dependent. Each maximal minor is a
polynomial of degree at most :math:`|U|` in the weights with integer coefficients of size at most
:math:`|U|!`, so it cannot vanish modulo both primes unless it is zero (:math:`|U|! < p_1 p_2` for
:math:`|U| \le 20`), and (Schwartz-Zippel) both draws are roots of a non-zero minor with probability
at most :math:`(|U|/p_1)(|U|/p_2)` when it is non-zero modulo both. The result reports the number of
dependence decisions :math:`D`; :math:`D\,|U|^2 / (p_1 p_2)` bounds the probability that any of them
erred (when a minor vanishes modulo one prime only, that prime's field disagrees with the other's
with probability at least :math:`1 - |U|/p`, and the search is redrawn).
"""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, PolyRegionsError
from .filter_kernels import count_subtree
from .xiong import receptive_fields, xiong_one_layer

__all__ = ["FilterPolynomial", "generic_count_polynomial", "xiong_coefficients", "PRIMES"]

#: The primes of the two modular eliminations (products of two residues fit in an int64).
PRIMES = (2 ** 31 - 1, 2 ** 31 - 19)
#: Draws of the filters tried before giving up when the two fields keep disagreeing.
REDRAWS = 3


@dataclass(frozen=True)
class FilterPolynomial:
    r"""Result of :func:`generic_count_polynomial`.

    Attributes
    ----------
    input_shape, kernel, stride :
        The layer, channels first.
    coefficients : tuple of int
        :math:`e_0, \dots, e_J`: independent sets using exactly the filters :math:`1..j`.
    complete : bool
        True when every independent set was enumerated (no level beyond :math:`J` has one),
        so that :meth:`count` is exact for every :math:`d_1`; False when the time limit
        stopped the search, and :meth:`count` is exact only for :math:`d_1 \le J`.
    units : int
        :math:`|U|`, the input units covered by the receptive fields (the maximal rank).
    nodes : int
        Independent multisets visited (each level's search repeats the levels below it).
    dependence_decisions : int
        Extensions found dependent in both fields: at most ``dependence_decisions * units**2 /
        (PRIMES[0] * PRIMES[1])`` is the probability that any of them erred (see the module).
    seconds : float
        CPU seconds of the search.
    next_level_seconds : float or None
        When the search stopped before a level because it would not fit in the time left: the
        estimated CPU seconds of that level (its multisets, about :math:`e^T_j / j!`, plus the
        levels below, at the rate of the last finished level). None otherwise.
    """

    input_shape: tuple
    kernel: tuple
    stride: int
    coefficients: tuple
    complete: bool
    units: int
    nodes: int
    dependence_decisions: int
    seconds: float
    next_level_seconds: float | None = None

    @property
    def max_filters(self) -> int:
        """The largest :math:`d_1` whose count is exact (the number of finished levels, J)."""
        return len(self.coefficients) - 1

    def count(self, filters: int) -> int:
        r"""The number of linearly independent sets of normals with `filters` generic filters.

        This is the exact number of regions in the whole space for generic weights and
        biases, :math:`\sum_j \binom{d_1}{j} e_j`.
        """
        d1 = operator.index(filters)
        if d1 < 0:
            raise InvalidInputError(f"`filters` must be non-negative, got {d1}")
        if d1 > self.max_filters and not self.complete:
            raise InvalidInputError(f"`filters` = {d1} is beyond the levels the search finished "
                                    f"(exact up to {self.max_filters} filters)")
        return sum(math.comb(d1, j) * e for j, e in enumerate(self.coefficients))


def _layer(input_shape, kernel, stride):
    d0, h, w = (operator.index(v) for v in input_shape)
    f1, f2 = (kernel, kernel) if isinstance(kernel, (int, np.integer)) else (operator.index(k) for k in kernel)
    s = operator.index(stride)
    if min(d0, h, w, f1, f2, s) < 1 or f1 > h or f2 > w:
        raise InvalidInputError(f"the layer must have positive sizes and a kernel within the input, got "
                                f"input_shape={tuple(input_shape)}, kernel={kernel}, stride={stride}")
    return (d0, h, w), (f1, f2), s


def generic_count_polynomial(input_shape, kernel, stride=1, *, time_limit: float = 600.0,
                             seed: int = 0) -> FilterPolynomial:
    r"""The coefficients :math:`e_j` of the generic count of a one-layer CNN in the binomial basis of :math:`d_1`.

    See the module for the method and the error bound of the modular rank.

    Parameters
    ----------
    input_shape : (d0, h, w)
    kernel : (f1, f2) or int
    stride : int
        No padding.
    time_limit : float
        CPU seconds (of this process: a shared machine's load does not shorten the search); the
        search stops at the first level it cannot finish in time (or whose labelled count would
        not fit an int64), or does not start a level its estimated cost would not fit, and
        returns the finished levels (``complete=False``).
    seed : int
        Seeds the random filters (two draws, one per prime of :data:`PRIMES`).

    Examples
    --------
    A 3x3 input with 2x2 filters at stride 1: two filters have 255 regions, not Theorem 1's 256.

    >>> poly = generic_count_polynomial((1, 3, 3), (2, 2))
    >>> poly.complete, poly.count(1), poly.count(2), poly.count(3)
    (True, 16, 255, 3998)
    """
    (d0, h, w), (f1, f2), s = _layer(input_shape, kernel, stride)
    if time_limit <= 0 or not math.isfinite(time_limit):
        raise InvalidInputError(f"`time_limit` must be a positive finite number of seconds, got {time_limit!r}")
    fields = receptive_fields((d0, h, w), (f1, f2), s)
    positions = list(fields)
    npos = len(positions)
    if npos > 16:
        raise InvalidInputError(f"{npos} output positions: at most 16 (the position sets are bit masks "
                                "enumerated one by one)")
    units = sorted(set().union(*fields.values()))
    column = {u: c for c, u in enumerate(units)}
    n = len(units)
    nmasks = 2 ** npos - 1
    mask_rows = np.zeros((nmasks, npos), dtype=np.int64)  # row c: the positions of mask c + 1
    mask_sizes = np.zeros(nmasks, dtype=np.int64)
    for c in range(nmasks):
        qs = [q for q in range(npos) if (c + 1) >> q & 1]
        mask_rows[c, :len(qs)] = qs
        mask_sizes[c] = len(qs)
    fact = np.array([math.factorial(k) for k in range(21)], dtype=np.int64)
    primes = np.array(PRIMES, dtype=np.int64)
    rng = np.random.default_rng(seed)

    def draw():
        """normals[field, filter, position, unit]: filter k of a set uses the k-th filter of each field's draw."""
        normals = np.zeros((2, n, npos, n), dtype=np.int64)
        for field, prime in enumerate(PRIMES):
            weights = rng.integers(1, prime, size=(n, d0, f1, f2))
            for q, (i, j) in enumerate(positions):
                for c in range(d0):
                    for a in range(f1):
                        for b in range(f2):
                            normals[field, :, q, column[c * h * w + (i * s + a) * w + (j * s + b)]] = weights[:, c, a, b]
        return normals

    def search(normals, counters):
        """The levels of the search for one draw: (coefficients, complete, estimate), or None if the fields disagree."""
        start = time.process_time()
        coefficients, complete, estimate = [1], False, None
        last_nodes = last_seconds = 0
        for depth in range(1, n + 1):
            if depth > 2:  # will the next level fit in the time left? (an estimate, stated in the result)
                rate = last_nodes / max(last_seconds, 1e-3)
                values = [1] + [xiong_one_layer((d0, h, w), filters=k, kernel=(f1, f2), stride=s)
                                for k in range(1, depth + 1)]
                bound = sum((-1) ** (depth - i) * math.comb(depth, i) * v for i, v in enumerate(values))
                estimate = (last_nodes + bound / math.factorial(depth)) / rate
                if estimate > time_limit - (time.process_time() - start):
                    break
            level_start, level_nodes = time.process_time(), int(counters[0])
            totals = [1] + [0] * depth
            for first in range(nmasks):
                part = np.zeros(depth + 1, dtype=np.int64)
                count_subtree(normals, mask_rows, mask_sizes, first, depth, primes, fact, part, counters)
                if counters[3]:
                    return None
                totals = [t + int(v) for t, v in zip(totals, part)]
                if counters[2] or time.process_time() - start > time_limit:
                    break
            else:
                coefficients, estimate = totals, None
                last_nodes, last_seconds = int(counters[0]) - level_nodes, time.process_time() - level_start
                if totals[depth] == 0:  # no independent set uses `depth` filters: none uses more
                    return totals[:depth], True, None
                if depth == n:
                    complete = True
                continue
            break
        return coefficients, complete, estimate

    count_subtree(draw(), mask_rows, mask_sizes, 0, 1, primes, fact, np.zeros(2, dtype=np.int64),
             np.zeros(4, dtype=np.int64))  # compiles the kernels outside the time limit
    start = time.process_time()
    for _ in range(REDRAWS):
        counters = np.zeros(4, dtype=np.int64)
        found = search(draw(), counters)
        if found is not None:
            break
    else:
        raise PolyRegionsError(f"the two modular fields disagreed on {REDRAWS} draws of the filters (a minor that "
                               "vanishes modulo one prime only): the generic count is not decided")
    coefficients, complete, estimate = found
    return FilterPolynomial(input_shape=(d0, h, w), kernel=(f1, f2), stride=s, coefficients=tuple(coefficients),
                            complete=complete, units=n, nodes=int(counters[0]), dependence_decisions=int(counters[1]),
                            seconds=time.process_time() - start, next_level_seconds=estimate)


def xiong_coefficients(input_shape, kernel, stride=1) -> tuple:
    r"""Theorem 1's :math:`R_N` in the binomial basis of :math:`d_1`: the :math:`e^T_j` with
    :math:`R_N(d_1) = \sum_j \binom{d_1}{j} e^T_j`.

    :math:`R_N` is a polynomial of degree :math:`|U|` in :math:`d_1` (each factor
    :math:`\binom{d_1}{t_{ij}}` is one, and :math:`\sum t_{ij} \le |U|`), so its coefficients
    are the finite differences of :math:`R_N(0) = 1, R_N(1), \dots, R_N(|U|)`
    (:func:`polyregions.bounds.xiong_one_layer`).

    >>> xiong_coefficients((1, 3, 3), (2, 2))[:3]
    (1, 15, 225)
    """
    (d0, h, w), (f1, f2), s = _layer(input_shape, kernel, stride)
    units = len(set().union(*receptive_fields((d0, h, w), (f1, f2), s).values()))
    values = [1] + [xiong_one_layer((d0, h, w), filters=d, kernel=(f1, f2), stride=s) for d in range(1, units + 1)]
    return tuple(sum((-1) ** (j - i) * math.comb(j, i) * values[i] for i in range(j + 1)) for j in range(units + 1))
