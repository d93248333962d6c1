"""Tests of the bound-flipping ratio test of the bounded dual simplex (polyregions.solvers.bounded_ratio).

The reference is the ratio test as specified, written out in Python over every candidate.
"""

from __future__ import annotations

import numpy as np
import pytest


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


@pytest.fixture(scope="module")
def keys():
    """The columns' keys (an internal kernel) behind a compiled wrapper."""
    numba = pytest.importorskip("numba")
    from polyregions.solvers.bounded_ratio import BLOCK, column_keys

    @numba.njit
    def call(alpha, sgn, direction, lo_e, hi_e):
        kcol = np.empty(alpha.size)
        bmax = np.empty(alpha.size // BLOCK + 1)
        amax, reach = column_keys(alpha, sgn, direction, lo_e, hi_e, kcol, bmax)
        return kcol, bmax, amax, reach

    return call, BLOCK


@pytest.mark.parametrize("nz", [1, 5, 8, 9, 64, 300, 785])
def test_the_columns_keys_are_the_eligible_pivots(keys, nz):
    """Each column's key is ``|alpha_j|`` where it may enter (the sign rule, above the pivot
    tolerance, not basic), else 0; the block maxima, the largest key and the reach are those of
    numpy over the same keys (the block of the largest key anywhere, the last block short)."""
    from polyregions.solvers.bounded_ratio import PIVOT_TOL

    call, block = keys
    rng = np.random.default_rng(nz)
    for trial in range(10):
        alpha = rng.normal(size=nz) * (rng.uniform(size=nz) < 0.8)
        alpha[rng.uniform(size=nz) < 0.05] = PIVOT_TOL / 2  # too small to pivot on
        sgn = rng.choice([-1.0, 0.0, 1.0], size=nz)
        lo_e, hi_e = -rng.uniform(0.1, 1.0, nz), rng.uniform(0.1, 1.0, nz)
        direction = [-1.0, 1.0][trial % 2]
        kcol, bmax, amax, reach = call(alpha, sgn, direction, lo_e, hi_e)
        eligible = (direction * alpha * sgn < 0.0) & (np.abs(alpha) > PIVOT_TOL)
        expect = np.where(eligible, np.abs(alpha), 0.0)
        assert np.array_equal(kcol, expect)
        nblocks = -(-nz // block)
        assert np.array_equal(bmax[:nblocks], [expect[b:b + block].max() for b in range(0, nz, block)])
        assert amax == expect.max()
        assert reach == pytest.approx(float(np.sum(expect * (hi_e - lo_e))), rel=1e-12, abs=1e-300)
