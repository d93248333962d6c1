"""Independent references for the bounds' tests: Xiong et al.'s K and R_N by brute force, from the definitions."""

from __future__ import annotations

import itertools
from math import comb, prod

import pytest


def _fields_by_definition(d0, h, w, f1, f2, s):
    """Receptive fields written out from the definition (flat index c*h*w + r*w + col)."""
    out = []
    for i in range((h - f1) // s + 1):
        for j in range((w - f2) // s + 1):
            out.append(
                {
                    c * h * w + r * w + col
                    for c in range(d0)
                    for r in range(i * s, i * s + f1)
                    for col in range(j * s, j * s + f2)
                }
            )
    return out


def _brute_K(fields, tmax=None):
    """All t with 0 <= t_p <= min(|S_p|, tmax) meeting sum_J t <= |union_J S| for every J."""
    n = len(fields)
    unions = []
    for mask in range(1, 1 << n):
        members = [p for p in range(n) if mask >> p & 1]
        unions.append((members, len(set().union(*(fields[p] for p in members)))))
    top = [len(f) if tmax is None else min(len(f), tmax) for f in fields]
    return [
        t
        for t in itertools.product(*(range(m + 1) for m in top))
        if all(sum(t[p] for p in members) <= size for members, size in unions)
    ]


def _brute_R(d0, h, w, d1, f1, f2, s):
    # Terms with some t_p > d1 vanish (C(d1, t_p) = 0), so t_p <= d1 suffices.
    K = _brute_K(_fields_by_definition(d0, h, w, f1, f2, s), tmax=d1)
    return sum(prod(comb(d1, x) for x in t) for t in K)


@pytest.fixture
def fields_by_definition():
    """``fields_by_definition(d0, h, w, f1, f2, s)``: the receptive fields, from the definition."""
    return _fields_by_definition


@pytest.fixture
def brute_K():
    """``brute_K(fields, tmax=None)``: the set K of Theorem 1, by trying every t."""
    return _brute_K


@pytest.fixture
def brute_R():
    """``brute_R(d0, h, w, d1, f1, f2, s)``: Theorem 1's R_N summed over the brute-force K."""
    return _brute_R
