"""The bound-flipping ratio test of the bounded dual simplex (:mod:`polyregions.solvers.bounded_kernels`).

With zero costs every breakpoint of the dual ratio test is at 0: the eligible non-basic
variables (a column at a bound whose pivot-row entry ``alpha_j`` has the sign that moves the
leaving variable toward its bound, ``|alpha_j| > PIVOT_TOL``; a non-basic slack likewise) are
flipped to their other bound, largest ``|alpha_j|`` first, while the infeasibility ``need`` left
exceeds what a flip removes (its gain ``|alpha_j| (hi_j - lo_j)``); the variable where it does
not, or a slack (whose range is unbounded), enters the basis.

"Largest first" is taken in buckets of about a factor ``sqrt 2``: candidate ``j`` is in bucket
``2 e + b`` for ``amax / |alpha_j| = 1.b... 2^e`` (capped at the last). A bucket whose total
gain is below the need left is flipped whole; the first bucket whose total reaches it is
walked in column order (then the slacks in row order): a column whose gain is below the need
left is flipped, the first that is not enters. So no sort is needed.

Most pivots are decided among the few largest ``|alpha_j|``: one vectorised pass over the
columns (:func:`column_keys`) gives each column's key (``|alpha_j|``, or 0 when it cannot
enter), the largest key of each block of ``BLOCK`` columns, the largest key and the total reach;
the buckets are then formed of the candidates above ``amax / 2`` only (buckets 0 and 1), then
above ``amax / 8`` (buckets 0..5), then of all, until the flips are decided within the buckets
formed, and the candidates above a threshold are looked for only in the blocks above it. Each bucket holds the same candidates,
summed in the same order, whichever set was formed: the choice is the one the pass over all
candidates makes.
"""

from __future__ import annotations

import numpy as np

from .jit import B1, F1, F2, I1, kernel
from .linalg_kernels import dot_row

__all__ = ["BLOCK", "BUCKETS", "PIVOT_TOL", "column_keys", "flip_and_choose"]

#: Smallest ``|alpha_j|`` a pivot may use.
PIVOT_TOL = 1e-9
#: Buckets of ``|alpha_j|`` (about a factor ``sqrt 2`` each).
BUCKETS = 64
#: Columns per block of :func:`column_keys`' block maxima (the candidates above a threshold are
#: looked for only in blocks whose maximum is above it).
BLOCK = 8

_FAST = {"reassoc", "contract"}  # the reach's sum in any order (vectorised); no other fast-math


@kernel(f"Tuple((f8, f8))({F1}, {F1}, f8, {F1}, {F1}, {F1}, {F1})", internal=True, fastmath=_FAST, refcounts=False)
def column_keys(alpha, sgn, direction, lo_e, hi_e, kcol, bmax):
    """``kcol[j] = |alpha_j|`` for a column that may enter (``direction alpha_j sgn_j < 0`` and
    ``|alpha_j| > PIVOT_TOL``; ``sgn_j`` is 0 for a basic column or one without a range), else 0;
    ``bmax[b]`` the largest key of columns ``BLOCK b .. BLOCK b + BLOCK - 1``. Returns the largest
    key and the reach ``sum_j kcol_j (hi_j - lo_j)`` (summed in any order): how far flipping
    every candidate column could move the leaving variable.

    The keys are never negative nor NaN, so their order is that of their bit patterns as
    integers, whose maxima vectorise (a float maximum's NaN rules keep it one at a time)."""
    reach = 0.0
    nz = alpha.shape[0]
    for j in range(nz):
        a = alpha[j]
        aa = abs(a)
        k = aa if (direction * a * sgn[j] < 0.0) & (aa > PIVOT_TOL) else 0.0
        kcol[j] = k
        reach += k * (hi_e[j] - lo_e[j]) if k > 0.0 else 0.0
    bits = kcol.view(np.int64)
    top = bmax.view(np.int64)
    full = nz // BLOCK
    for b in range(full):
        v = bits[BLOCK * b]
        for t in range(1, BLOCK):
            v = max(v, bits[BLOCK * b + t])
        top[b] = v
    nblocks = full
    if full * BLOCK < nz:
        v = 0
        for j in range(full * BLOCK, nz):
            v = max(v, bits[j])
        top[full] = v
        nblocks += 1
    best = 0
    for b in range(nblocks):
        best = max(best, top[b])
    amax = 0.0
    for b in range(nblocks):  # the block that holds it
        if top[b] == best:
            amax = bmax[b]
            break
    return amax, reach


@kernel(f"i8({F1}, {F1}, {I1}, i8, {F1}, f8, {I1}, {F1})", internal=True, refcounts=False)
def _select(kcol, bmax, slacks, ns, rho, lim, cand, key):
    """The candidates of key above ``lim``, in order: ``cand`` the columns ``j`` with
    ``kcol[j] > lim`` (only in blocks whose largest key ``bmax`` is above it; within a block
    without a branch: the index is written, the count advances for those above), then the
    slacks ``slacks[:ns]`` (``nz + i``, key ``|rho_i|``) above it; ``key`` their keys. Returns
    their number."""
    nz = kcol.shape[0]
    nl = 0
    for b in range((nz + BLOCK - 1) // BLOCK):
        if bmax[b] > lim:
            for j in range(BLOCK * b, min(BLOCK * b + BLOCK, nz)):
                cand[nl] = j
                nl += np.int64(kcol[j] > lim)
    for u in range(nl):
        key[u] = kcol[cand[u]]
    for s in range(ns):
        v = abs(rho[slacks[s] - nz])
        if v > lim:
            cand[nl] = slacks[s]
            key[nl] = v
            nl += 1
    return nl


@kernel(f"void({I1}, {F1}, {F1}, {I1}, {F1}, i8, f8, i8, {F1}, {F1}, i8)", internal=True, refcounts=False)
def _assign_buckets(cand, key, ratio, bucket, sums, nl, amax, nz, lo_e, hi_e, summed):
    """``bucket[u]`` of the candidates ``u < nl``: ``2 e + b`` for ``amax / key[u] = 1.b... 2^e``,
    capped at the last bucket; ``sums[k]`` (``k < summed``) the total gain of bucket ``k`` (a
    column's ``key * range``, a slack's inf), added in candidate order."""
    nb = sums.shape[0]
    for k in range(nb):
        sums[k] = 0.0
    for u in range(nl):
        ratio[u] = amax / key[u]
    bits = ratio.view(np.int64)
    for u in range(nl):
        k = 2 * ((bits[u] >> 52) - 1023) + ((bits[u] >> 51) & 1)
        if k >= nb:
            k = nb - 1
        bucket[u] = k
        if k < summed:
            j = cand[u]
            sums[k] += np.inf if j >= nz else key[u] * (hi_e[j] - lo_e[j])


@kernel(f"b1({F1}, f8, i8)", internal=True, refcounts=False)
def _decided_within(sums, need, first):
    """Whether the bucket totals reach ``need`` within the first ``first`` buckets (the deciding
    bucket of the ratio test is among them)."""
    for k in range(first):
        if not sums[k] < need:
            return True
        need -= sums[k]
    return False


@kernel(f"void(i8, {F1}, {F1}, {B1}, {F1}, {F1}, {F1})", internal=True, refcounts=False)
def _flip(j, lo_e, hi_e, atup, sgn, xn, dxn):
    """Column ``j`` moved to its other bound: ``xn[j]`` its new value, ``dxn[j]`` the change."""
    old = hi_e[j] if atup[j] else lo_e[j]
    atup[j] = not atup[j]
    sgn[j] = -sgn[j]
    new = hi_e[j] if atup[j] else lo_e[j]
    xn[j] = new
    dxn[j] = new - old


@kernel(f"i8({F2}, i8, {F1}, {F1}, {F1}, {I1}, i8, f8, f8, f8, f8, {F1}, {F1}, {B1}, {F1}, {F1}, {F1}, {F1}, "
        f"{I1}, {F1}, {I1}, {F1}, {F1}, {I1}, {I1})", internal=True, refcounts=False)
def flip_and_choose(R, m, kcol, bmax, rho, slacks, ns, amax, reach, need, feas_tol, lo_e, hi_e, atup, sgn, xn, rhs, dxn,
                     cand, key, bucket, ratio, sums, flipped, walk):
    """The ratio test (module docstring) of a pivot row with column keys ``kcol`` and their block
    maxima ``bmax`` (:func:`column_keys`; ``amax`` and ``reach`` include the slacks) and eligible slacks
    ``slacks[:ns]`` (``nz + i``, entry ``rho[i]``). Returns the entering variable (``rhs``,
    ``xn`` and ``sgn`` take the flips), or -1 when all the flips together cannot remove the
    infeasibility ``need`` (the pivot row then proves the problem infeasible; nothing is flipped,
    unless rounding left every bucket without an entering column). ``cand``, ``key``, ``bucket``,
    ``ratio``, ``sums``, ``flipped`` and ``walk`` are scratch of ``nz + m`` entries (``sums``:
    BUCKETS)."""
    nz = R.shape[1]
    nb = sums.shape[0]
    if not reach > need - feas_tol:
        return -1
    # the buckets of the candidates above amax / 2, then amax / 8 (the flips seldom reach
    # further), or of all of them
    nl = _select(kcol, bmax, slacks, ns, rho, 0.5 * amax, cand, key)
    _assign_buckets(cand, key, ratio, bucket, sums, nl, amax, nz, lo_e, hi_e, 2)
    full = not _decided_within(sums, need, 2)
    if full:
        nl = _select(kcol, bmax, slacks, ns, rho, 0.125 * amax, cand, key)
        _assign_buckets(cand, key, ratio, bucket, sums, nl, amax, nz, lo_e, hi_e, 6)
        full = not _decided_within(sums, need, 6)
    if full:
        nl = _select(kcol, bmax, slacks, ns, rho, 0.0, cand, key)
        _assign_buckets(cand, key, ratio, bucket, sums, nl, amax, nz, lo_e, hi_e, nb)
    q = -1
    nflip = 0
    first = 0  # buckets below `first` are done
    while q < 0 and first < nb:
        # the whole buckets from `first` on, then the deciding bucket `kd`
        kd = first
        while kd < nb and sums[kd] < need:
            need -= sums[kd]
            kd += 1
        nd = 0
        for u in range(nl):
            k = bucket[u]
            if k < first or k > kd:
                continue
            j = cand[u]
            if k < kd:
                _flip(j, lo_e, hi_e, atup, sgn, xn, dxn)
                flipped[nflip] = j
                nflip += 1
            else:
                walk[nd] = u  # the deciding bucket's candidates, in order
                nd += 1
        for w in range(nd):
            u = walk[w]
            j = cand[u]
            gain = np.inf if j >= nz else key[u] * (hi_e[j] - lo_e[j])
            if gain < need and j < nz:
                _flip(j, lo_e, hi_e, atup, sgn, xn, dxn)
                flipped[nflip] = j
                nflip += 1
                need -= gain
            else:
                q = j
                break
        first = kd + 1
        if q < 0 and not full:  # (rounding) past the first buckets: every candidate's bucket
            full = True
            nl = _select(kcol, bmax, slacks, ns, rho, 0.0, cand, key)
            _assign_buckets(cand, key, ratio, bucket, sums, nl, amax, nz, lo_e, hi_e, nb)
    if 8 * nflip >= nz:  # many flips: one pass over the rows
        for i in range(m):
            rhs[i] -= dot_row(R, i, dxn, nz)
        for j in range(nz):
            dxn[j] = 0.0
    else:
        for u in range(nflip):
            j = flipped[u]
            for i in range(m):
                rhs[i] -= R[i, j] * dxn[j]
            dxn[j] = 0.0
    return q
