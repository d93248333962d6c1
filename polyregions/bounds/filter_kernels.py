"""The compiled kernels of :mod:`polyregions.bounds.filter_polynomial`: modular Gaussian elimination
in two prime fields, and the search over independent multisets of position sets.

See :func:`polyregions.bounds.filter_polynomial.generic_count_polynomial` for the mathematics.
"""

from __future__ import annotations

import numpy as np

from ..solvers.jit import kernel


@kernel(internal=True)
def extend_basis(basis, pivots, rank, vectors, p):  # pragma: no cover - compiled
    """Add `vectors` (rows) to the reduced echelon `basis[:rank]` modulo `p`, in place.

    Returns the new rank, or -1 as soon as a vector reduces to zero (the set is dependent);
    rows beyond the returned rank are scratch.
    """
    n = basis.shape[1]
    for k in range(vectors.shape[0]):
        v = vectors[k].copy()
        for r in range(rank):
            c = v[pivots[r]]
            if c != 0:
                for col in range(n):
                    v[col] = (v[col] - c * basis[r, col]) % p
        lead = -1
        for col in range(n):
            if v[col] != 0:
                lead = col
                break
        if lead < 0:
            return -1
        inv = 1
        base, e = v[lead], p - 2  # Fermat: v[lead]^(p-2) is its inverse modulo p
        while e > 0:
            if e & 1:
                inv = (inv * base) % p
            base = (base * base) % p
            e >>= 1
        for col in range(n):
            v[col] = (v[col] * inv) % p
        for r in range(rank):  # keep the basis reduced: clear the new pivot's column
            c = basis[r, lead]
            if c != 0:
                for col in range(n):
                    basis[r, col] = (basis[r, col] - c * v[col]) % p
        basis[rank] = v
        pivots[rank] = lead
        rank += 1
    return rank


@kernel(internal=True)
def extend_both(basis, pivots, rank, vectors, k, primes, out_rank):  # pragma: no cover - compiled
    """Extend the bases of both fields by `vectors[:, :k]`: 1 independent, 0 dependent, -1 the fields disagree."""
    r0 = extend_basis(basis[0], pivots[0], rank[0], vectors[0, :k], primes[0])
    r1 = extend_basis(basis[1], pivots[1], rank[1], vectors[1, :k], primes[1])
    out_rank[0], out_rank[1] = r0, r1
    if r0 >= 0 and r1 >= 0:
        return 1
    if r0 < 0 and r1 < 0:
        return 0
    return -1


@kernel()
def count_subtree(normals, mask_rows, mask_sizes, first, depth_limit, primes, fact, totals, counters):  # pragma: no cover
    """Independent sets whose first position set is mask index `first` (then non-increasing), up to `depth_limit` filters.

    ``totals[j] += j! / prod(multiplicities!)`` for every independent multiset of `j` position
    sets met; ``counters`` = [nodes, dependence decisions, 1 if a total would overflow an int64,
    1 if the two fields disagreed (the draw was unlucky: the search stops)]. An explicit stack:
    level ``j`` holds the reduced bases (one per field) of the set's first `j` filters and the
    next candidate mask.
    """
    n = normals.shape[3]
    depth = depth_limit + 1
    basis = np.zeros((depth, 2, n, n), dtype=np.int64)
    pivots = np.zeros((depth, 2, n), dtype=np.int64)
    rank = np.zeros((depth, 2), dtype=np.int64)
    cand = np.zeros(depth, dtype=np.int64)
    last = np.zeros(depth, dtype=np.int64)
    run = np.zeros(depth, dtype=np.int64)
    denom = np.ones(depth, dtype=np.int64)
    failed = np.zeros((depth, mask_rows.shape[0]), dtype=np.int64)
    nfailed = np.zeros(depth, dtype=np.int64)
    vectors = np.zeros((2, mask_rows.shape[1], n), dtype=np.int64)
    new_rank = np.zeros(2, dtype=np.int64)

    k = mask_sizes[first]
    for f in range(2):
        for q in range(k):
            vectors[f, q] = normals[f, 0, mask_rows[first, q]]
    verdict = extend_both(basis[1], pivots[1], rank[0], vectors, k, primes, new_rank)
    if verdict < 0:
        counters[3] = 1
        return
    if verdict == 0:
        counters[1] += 1
        return
    rank[1, 0], rank[1, 1] = new_rank[0], new_rank[1]
    last[1], run[1], denom[1], cand[1], nfailed[1] = first, 1, 1, 0, 0
    totals[1] += 1
    counters[0] += 1
    j = 1
    while j >= 1:
        if j == depth_limit or cand[j] > last[j]:
            j -= 1
            continue
        c = cand[j]
        cand[j] += 1
        m = c + 1  # the mask of index c
        k = mask_sizes[c]
        if rank[j, 0] + k > n:
            continue
        skip = False
        for f in range(nfailed[j]):
            if m & failed[j, f] == failed[j, f]:
                skip = True
                break
        if skip:
            continue
        for f in range(2):
            for q in range(k):
                vectors[f, q] = normals[f, j, mask_rows[c, q]]
        basis[j + 1] = basis[j]
        pivots[j + 1] = pivots[j]
        verdict = extend_both(basis[j + 1], pivots[j + 1], rank[j], vectors, k, primes, new_rank)
        if verdict < 0:
            counters[3] = 1
            return
        if verdict == 0:
            counters[1] += 1
            failed[j, nfailed[j]] = m
            nfailed[j] += 1
            continue
        nxt = run[j] + 1 if c == last[j] else 1
        rank[j + 1, 0], rank[j + 1, 1] = new_rank[0], new_rank[1]
        last[j + 1], run[j + 1], denom[j + 1] = c, nxt, denom[j] * nxt
        cand[j + 1], nfailed[j + 1] = 0, 0
        add = fact[j + 1] // denom[j + 1]
        if totals[j + 1] > 2 ** 62 - add:  # the int64 total would overflow: stop, flagged
            counters[2] = 1
            return
        totals[j + 1] += add
        counters[0] += 1
        j += 1
