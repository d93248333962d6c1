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


def reference_ratio_test(alpha, rho, cand, need, lo_e, hi_e, atup):
    """The bound-flipping ratio test as specified, over every candidate (independent of the
    kernel's order of work): candidates in buckets ``2 e + b`` of ``amax / |alpha_j| = 1.b.. 2^e``
    (capped at 63); whole buckets whose total gain is below the need left are flipped, the first
    bucket whose total reaches it is walked in column order: a column whose gain is below the
    need left is flipped, the first that is not (or a slack) enters. Returns the entering column
    (-1: the flips cannot remove the infeasibility) and the flipped columns in order."""
    nz = alpha.size
    key = np.array([abs(alpha[j]) if j < nz else abs(rho[j - nz]) for j in cand])
    gain = np.array([np.inf if j >= nz else key[t] * (hi_e[j] - lo_e[j]) for t, j in enumerate(cand)])
    reach = 0.0
    for t, j in enumerate(cand):
        reach = np.inf if j >= nz else reach + gain[t]
    if not reach > need - FEAS_TOL:
        return -1, []
    amax = float(key.max())
    bucket = []
    for k in key:
        f, e = np.frexp(amax / k)  # amax / k = (2 f) 2^(e - 1), 2 f in [1, 2)
        bucket.append(min(2 * (e - 1) + (1 if 2 * f >= 1.5 else 0), 63))
    sums = np.zeros(64)
    for t in range(len(cand)):
        sums[bucket[t]] += gain[t]
    flipped, first = [], 0
    while first < 64:
        kd = first
        while kd < 64 and sums[kd] < need:
            need -= sums[kd]
            kd += 1
        flipped += [cand[t] for t in range(len(cand)) if first <= bucket[t] < kd]
        for t in (t for t in range(len(cand)) if bucket[t] == kd):
            if gain[t] < need and cand[t] < nz:
                flipped.append(cand[t])
                need -= gain[t]
            else:
                return cand[t], flipped
        first = kd + 1
    return -1, flipped


FEAS_TOL = 1e-11


@pytest.fixture(scope="module")
def ratio_test():
    """The compiled ratio test (internal kernels) behind a small compiled wrapper, with its
    scratch: the columns' keys of the candidates (zero elsewhere) and their block maxima, the slack candidates, and the
    largest key and the reach as the simplex computes them; returns ``(q, atup after, rhs after)``."""
    numba = pytest.importorskip("numba")
    from polyregions.solvers.bounded_ratio import BLOCK, BUCKETS, flip_and_choose

    @numba.njit
    def call(R, kcol, bmax, rho, slacks, amax, reach, need, lo_e, hi_e, atup, sgn, xn, rhs):
        m, nz = R.shape
        nk = nz + m
        dxn = np.zeros(nz)
        cand, bucket = np.zeros(nk, np.int64), np.zeros(nk, np.int64)
        flipped, walk = np.zeros(nk, np.int64), np.zeros(nk, np.int64)
        key, ratio = np.zeros(nk), np.zeros(nk)
        sums = np.zeros(BUCKETS)
        return flip_and_choose(R, m, kcol, bmax, rho, slacks, slacks.size, amax, reach, need, FEAS_TOL, lo_e, hi_e, atup,
                               sgn, xn, rhs, dxn, cand, key, bucket, ratio, sums, flipped, walk)

    def run(R, alpha, rho, cand, need, lo_e, hi_e, atup):
        nz = alpha.size
        atup = atup.copy()
        sgn = np.where(atup, -1.0, 1.0)
        xn = np.where(atup, hi_e, lo_e)
        rhs = np.zeros(R.shape[0])
        cols, slacks = cand[cand < nz], cand[cand >= nz]
        kcol = np.zeros(nz)
        kcol[cols] = np.abs(alpha[cols])
        keys = np.concatenate([kcol[cols], np.abs(rho[slacks - nz])])
        reach = np.inf if slacks.size else float(np.sum(kcol * (hi_e - lo_e)))
        bmax = np.array([kcol[b:b + BLOCK].max() for b in range(0, nz, BLOCK)])
        q = call(R, kcol, bmax, rho, np.ascontiguousarray(slacks, np.int64), float(keys.max()), reach, need, lo_e, hi_e,
                 atup, sgn, xn, rhs)
        return q, atup, rhs

    return run


@pytest.mark.parametrize("seed", range(6))
def test_the_ratio_test_takes_the_columns_the_full_pass_takes(ratio_test, seed):
    """The compiled ratio test (which first assigns the buckets of the largest |alpha_j| only)
    enters and flips exactly the columns of the specified full pass, with needs deciding in the
    first bucket, the first two, the first six and far beyond, with and without slack candidates,
    and the flips it makes move the right-hand side by exactly ``-R (x_new - x_old)``."""
    rng = np.random.default_rng(seed)
    nz, m = 300, 6
    R = rng.normal(size=(m, nz))
    lo_e, hi_e = -rng.uniform(0.1, 1.0, nz), rng.uniform(0.1, 1.0, nz)
    reached = {0}
    for trial in range(60):
        alpha = rng.normal(size=nz) * (rng.uniform(0.0, 1.0, nz) ** (1 + trial % 4))
        rho = rng.normal(size=m)
        atup = rng.uniform(size=nz) < 0.5
        cols = np.flatnonzero(rng.uniform(size=nz) < 0.6)
        slacks = nz + np.flatnonzero(rng.uniform(size=m) < 0.3) if trial % 3 == 0 else np.zeros(0, np.int64)
        cand = np.concatenate([cols, slacks]).astype(np.int64)
        gains = np.sort(np.abs(alpha[cols]) * (hi_e[cols] - lo_e[cols]))[::-1]
        # the need left after the largest `k` gains: k = 1, a few, many, nearly all, more than all
        k = [1, 3, 12, 60, cols.size - 1, cols.size + 5][trial % 6]
        need = float(gains[: min(k, cols.size)].sum()) * (1.0 if k <= cols.size else 1.5) + 1e-9
        q_ref, flips_ref = reference_ratio_test(alpha, rho, cand, need, lo_e, hi_e, atup)
        q, atup_after, rhs = ratio_test(R, alpha, rho, cand, need, lo_e, hi_e, atup)
        assert q == q_ref
        expect = atup.copy()
        expect[np.array(flips_ref, dtype=np.int64)] ^= True
        assert np.array_equal(atup_after, expect)
        if flips_ref:
            x_old, x_new = np.where(atup, hi_e, lo_e), np.where(expect, hi_e, lo_e)
            assert np.allclose(rhs, -R @ (x_new - x_old), rtol=1e-12, atol=1e-12)
        flipped_keys = np.abs(alpha[np.array(flips_ref, dtype=np.int64)])
        if flipped_keys.size:  # the deepest bucket flipped (about 2 log2 of the largest over the smallest)
            reached.add(int(2 * np.log2(np.abs(alpha[cols]).max() / flipped_keys.min())))
    assert min(reached) <= 1 and any(2 <= k < 6 for k in reached) and max(reached) >= 6, sorted(reached)
