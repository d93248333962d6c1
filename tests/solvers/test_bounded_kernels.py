"""Tests of the bounded-variable dual simplex's kernels (polyregions.solvers.bounded_kernels).

The reference is HiGHS (the exact Chebyshev LP of the same node).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import region_problem
from polyregions.solvers.bounded_lp import BoundedDualBackend
from polyregions.solvers.highs import HighsBackend

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "bounded_zero_pivot.npz")


def _field(data, name, dtype, shape=None, size=None):
    """One validated array of the saved state: its dtype, shape or length, finite."""
    if name not in data.files:
        raise ValueError(f"{DATA}: field {name!r} missing")
    v = data[name]
    if v.dtype != dtype:
        raise ValueError(f"{DATA}: field {name!r} has dtype {v.dtype}, expected {dtype}")
    if shape is not None and v.shape != shape:
        raise ValueError(f"{DATA}: field {name!r} has shape {v.shape}, expected {shape}")
    if size is not None and (v.ndim != 1 or v.size != size):
        raise ValueError(f"{DATA}: field {name!r} has shape {v.shape}, expected ({size},)")
    if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
        raise ValueError(f"{DATA}: field {name!r} is not finite")
    return v


def load_zero_pivot_state():
    """The saved node of the zero-pivot case: a box (``lo``, ``hi``), its pushed rows (sparse
    ``rows_r, rows_c, rows_v``, right-hand sides ``b``), the basis of the first ``len(basis)``
    rows as the search left it solved (columns ``< n``, slacks ``n + i``), the columns at their
    upper bound there (a basic column's flag is
    left as the kernel left it: it reads no flag of a basic column), the anchor and ``eps``; every field checked before use."""
    with np.load(DATA, allow_pickle=False) as data:
        lo = _field(data, "lo", np.float64)
        n = lo.size
        hi = _field(data, "hi", np.float64, size=n)
        b = _field(data, "b", np.float64)
        m = b.size
        rr = _field(data, "rows_r", np.int64)
        rc = _field(data, "rows_c", np.int64, size=rr.size)
        rv = _field(data, "rows_v", np.float64, size=rr.size)
        basis = _field(data, "basis", np.int64)
        at_upper = _field(data, "at_upper", np.int64)
        anchor = _field(data, "anchor", np.float64, size=n)
        eps = float(_field(data, "eps", np.float64, shape=()))
    if not (n > 0 and np.all(lo < hi) and 0 < basis.size < m and eps > 0):
        raise ValueError(f"{DATA}: inconsistent sizes or bounds")
    if not (np.all((0 <= rr) & (rr < m)) and np.all((0 <= rc) & (rc < n)) and np.all(rv != 0)):
        raise ValueError(f"{DATA}: a row entry out of range")
    k = basis.size
    if not (np.all((0 <= basis) & (basis < n + k)) and np.unique(basis).size == k):
        raise ValueError(f"{DATA}: the basis is not a set of columns and slacks of its rows")
    if not (np.all((0 <= at_upper) & (at_upper < n)) and np.unique(at_upper).size == at_upper.size):
        raise ValueError(f"{DATA}: a column at its upper bound out of range")
    R = np.zeros((m, n))
    R[rr, rc] = rv
    if np.any(np.linalg.norm(R, axis=1) == 0):
        raise ValueError(f"{DATA}: a zero row")
    return lo, hi, R, b, basis, at_upper, anchor, eps


def test_a_zero_pivot_of_the_entering_column_is_refused():
    """A node whose solve from its parent's basis meets an entering column with a zero pivot
    (the pivot row's entry below the agreement tolerance, the computed column's exactly 0):
    once a division by zero, now refused (refactorised, or handed to HiGHS), and the decision
    is the exact Chebyshev LP's (HiGHS)."""
    lo, hi, R, b, basis, at_upper, anchor, eps = load_zero_pivot_state()
    problem = region_problem(pr.Box(lo, hi), eps)
    lp, ref = BoundedDualBackend(problem), HighsBackend(problem)
    for a, bi in zip(R, b):
        lp.push(a, bi)
        ref.push(a, bi)
    # the stack as the search left it: rows up to len(basis) solved with this basis
    k = basis.size
    B = np.zeros((k, k))
    for c, v in enumerate(basis):
        if v < R.shape[1]:
            B[:, c] = R[:k, v]
        else:
            B[v - R.shape[1], c] = 1.0
    lp._bases[k, :k] = basis
    lp._pool[lp._offsets[k]:lp._offsets[k + 1]] = np.linalg.inv(B).ravel()
    lp._atups[k] = False
    lp._atups[k, at_upper] = True
    lp._ready[: k + 1] = True
    res, exact = lp.test(anchor), ref.test(anchor)
    assert res.keep == exact.keep
    assert (res.depth > 0) == (exact.depth > 0)
    if res.keep:
        assert eps < res.radius <= exact.depth + 1e-9
        assert np.all(R @ res.point + res.radius <= b + 1e-9)
    elif exact.depth > 0:
        assert res.depth >= exact.depth - 1e-9


@pytest.fixture(scope="module")
def combine():
    """The pivot row's combination and the bound check (internal kernels) behind compiled wrappers."""
    numba = pytest.importorskip("numba")
    from polyregions.solvers.bounded_kernels import _bound_violation, _row_combination

    @numba.njit
    def row_combination(R, y):
        out = np.empty(R.shape[1])
        _row_combination(R, y, y.size, out)
        return out

    @numba.njit
    def bound_violation(z, lo, hi):
        return _bound_violation(z, lo, hi)

    return row_combination, bound_violation


@pytest.mark.parametrize("m", [0, 1, 3, 4, 5, 8, 11])
def test_the_pivot_row_is_the_rows_combination(combine, m):
    """``sum_i y_i R_i`` (four rows to a pass, rows with ``y_i = 0`` left out) equals numpy's product
    for every count of non-zero multipliers and any pattern of zeros among them."""
    row_combination, _ = combine
    rng = np.random.default_rng(m)
    R = rng.normal(size=(max(m, 1) + 2, 37))
    for trial in range(12):
        y = rng.normal(size=m) * (rng.uniform(size=m) < [1.0, 0.7, 0.3][trial % 3])
        expect = R[:m].T @ y if m else np.zeros(37)
        assert np.allclose(row_combination(R, y), expect, rtol=1e-13, atol=1e-13)


def test_the_bound_check_is_the_largest_violation(combine):
    """The largest violation ``max(0, lo_j - z_j, z_j - hi_j)`` over any length (four running
    maxima and the remainder), wherever the worst column is; a point inside gives 0."""
    _, bound_violation = combine
    rng = np.random.default_rng(5)
    for n in (1, 3, 4, 7, 64, 785):
        lo, hi = -rng.uniform(0.5, 1.0, n), rng.uniform(0.5, 1.0, n)
        z = rng.uniform(-0.4, 0.4, n)
        assert bound_violation(z, lo, hi) == 0.0
        for j in {0, n // 2, n - 1}:
            w = z.copy()
            w[j] = hi[j] + 0.25 if j % 2 else lo[j] - 0.25
            assert bound_violation(w, lo, hi) == pytest.approx(0.25, rel=1e-12)

