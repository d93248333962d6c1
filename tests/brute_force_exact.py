"""A brute-force exact region counter for tiny networks, independent of polyregions' code.

Every one of the ``2^N`` patterns is decided on its own: its strict system (on: ``z_j > 0``,
off: ``z_j < 0`` unless ``z_j`` is identically zero after the pattern's substitution; the
open domain's rows) is tested for a solution by Fourier-Motzkin elimination over
:class:`fractions.Fraction` (a different method from the simplex polyregions uses). A float
is read as the exact rational it is. Practical for up to about two inputs and eight neurons.
"""

from __future__ import annotations

import itertools
from fractions import Fraction


def strict_feasible(rows, n):
    """Whether ``a . x < b`` for all ``(a, b)`` in `rows` has a solution in ``Q^n`` (Fourier-Motzkin)."""
    rows = [([Fraction(v) for v in a], Fraction(b)) for a, b in rows]
    for k in range(n):
        pos = [(a, b) for a, b in rows if a[k] > 0]
        neg = [(a, b) for a, b in rows if a[k] < 0]
        rest = [(a, b) for a, b in rows if a[k] == 0]
        for (ap, bp), (an, bn) in itertools.product(pos, neg):
            sp, sn = ap[k], -an[k]
            rest.append(([sn * u + sp * v for u, v in zip(ap, an)], sn * bp + sp * bn))
        rows = rest
    return all(b > 0 for _, b in rows)


def domain_rows(kind, n, params=None):
    """Strict rows of an open domain: ``("box", n, (lo, hi))`` or ``("whole", n)``."""
    if kind == "whole":
        return []
    lo, hi = params
    out = []
    for k in range(n):
        e = [0] * n
        e[k] = 1
        out.append((e, Fraction(hi[k])))
        out.append(([-v for v in e], -Fraction(lo[k])))
    return out


def exact_patterns(weights, biases, dom_rows):
    """The set of patterns (tuples of 0/1) whose open region inside the open domain is non-empty."""
    W = [[[Fraction(float(v)) for v in row] for row in Wl] for Wl in weights]
    B = [[Fraction(float(v)) for v in bl] for bl in biases]
    n = len(W[0][0])
    widths = [len(bl) for bl in B]
    found = set()
    for pattern in itertools.product((0, 1), repeat=sum(widths)):
        rows = list(dom_rows)
        G = [[Fraction(int(i == k)) for k in range(n)] for i in range(n)]  # h = G x + c
        c = [Fraction(0)] * n
        k = 0
        for Wl, bl in zip(W, B):
            Z = [[sum((w * G[i][q] for i, w in enumerate(row)), Fraction(0)) for q in range(n)] for row in Wl]
            z0 = [sum((w * c[i] for i, w in enumerate(row)), Fraction(0)) + b for row, b in zip(Wl, bl)]
            for j in range(len(bl)):
                on = pattern[k + j]
                if on:
                    rows.append(([-v for v in Z[j]], z0[j]))
                elif any(Z[j]) or z0[j] != 0:
                    rows.append((Z[j], -z0[j]))
            G = [Z[j] if pattern[k + j] else [Fraction(0)] * n for j in range(len(bl))]
            c = [z0[j] if pattern[k + j] else Fraction(0) for j in range(len(bl))]
            k += len(bl)
        if strict_feasible(rows, n):
            found.add(pattern)
    return found
