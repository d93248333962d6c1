"""A layer's entry in the compiled search (:mod:`polyregions.search.compiled_kernels`).

:func:`enter_layer` does, on the search's flat arrays, what the engine's ``enter_layer`` does
before its prefilter: layer ``l``'s pre-activations ``G x + c = W (M x + m) + b`` from its input
``M x + m`` (the previous layer's rows times their gains, unless given), the witness's distances
``G x / |G| + c / |G|`` to their hyperplanes, and the neurons fixed without a test: constant (a
zero row, ``|G_j| <= ZERO_ROW_RTOL * sum_k |W_jk| |M_k|``), farther from the witness than the
domain's diameter, or of one sign on the domain's bounding box up to ``BOX_RTOL`` (as
:func:`polyregions.search.engine.box_signs`); then the unit rows ``Gh x + ch = (G x + c) / |G|``
of the neurons left to branch on (``ch`` of every neuron), the only rows the search pushes or
moves its witness along. The products are the engine's: BLAS for a dense layer (without the
input rows of gain 0, whose terms are exact zeros), the CSR order for a sparse one.

Every loop over a row's columns runs on a view of that row (``A[start:stop]``, indexed from 0),
so that the compiler sees contiguous, non-negative indices and vectorises it (an index
``start + q`` would be wrapped, element by element, in case it were negative).
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel

__all__ = ["GIVEN_IDENTITY", "GIVEN_M", "GIVEN_NONE", "LINEAR", "enter_layer", "row_norm", "row_norm_fast"]

#: ``fixed`` of a linear neuron (no pattern bit), as in the engine.
LINEAR = 2
#: The layer's input: the previous layer's rows times their gains (computed here), ``M``'s rows
#: as given (their spans read off), or the identity (the root of a dense first layer: ``M`` not read).
GIVEN_NONE, GIVEN_M, GIVEN_IDENTITY = 0, 1, 2


@kernel(internal=True)
def row_norm(v):
    """``|v|``, scaled by its largest entry first (as :func:`polyregions.search.rows.row_norms`)."""
    big = 0.0
    for q in range(v.shape[0]):
        a = abs(v[q])
        if a > big:
            big = a
    if big == 0.0:
        return 0.0
    s = 0.0
    for q in range(v.shape[0]):
        a = v[q] / big
        s += a * a
    return big * math.sqrt(s)


@kernel(internal=True, fastmath={"reassoc", "contract"})
def row_norm_fast(v):
    """``|v|`` as ``sqrt`` of the sum of squares (in any order: vectorised) where that sum is
    within ``1e-200..1e200`` (every square that underflows is below ``1e-300`` of it), else
    :func:`row_norm`; a few roundings from it (the sums' order differs)."""
    s = 0.0
    for q in range(v.shape[0]):
        s += v[q] * v[q]
    if 1e-200 < s < 1e200:
        return math.sqrt(s)
    return row_norm(v)


@kernel(internal=True)
def _clear_outside(A, start, old_lo, old_hi, lo, hi):
    """Zero ``A[start + q]`` for ``q`` in ``[old_lo, old_hi)`` but not in ``[lo, hi)`` (a row whose
    span moves from the old to the new: zero outside the new afterwards)."""
    for q in range(old_lo, min(old_hi, lo)):
        A[start + q] = 0.0
    for q in range(max(old_lo, hi), old_hi):
        A[start + q] = 0.0


@kernel(internal=True)
def _find_span(A, start, n, span, row):
    """``span[row] = (lo, hi)``: the first and one past the last non-zero of ``A[start:start+n]``
    (``(0, 0)`` for a zero row)."""
    lo = 0
    while lo < n and A[start + lo] == 0.0:
        lo += 1
    hi = n
    while hi > lo and A[start + hi - 1] == 0.0:
        hi -= 1
    if lo >= hi:
        lo, hi = 0, 0
    span[row, 0] = lo
    span[row, 1] = hi


@kernel(internal=True)
def _scaled_copy(dst, src, beta):
    """``dst = beta * src`` (views of equal length)."""
    for q in range(src.shape[0]):
        dst[q] = beta * src[q]


@kernel(internal=True)
def _divided_copy(dst, src, d):
    """``dst = src / d`` (views of equal length; a division, as numpy's ``G / norm``, not a product by ``1 / d``)."""
    for q in range(src.shape[0]):
        dst[q] = src[q] / d


@kernel(internal=True)
def _absolute_copy(dst, src):
    """``dst = |src|`` (views of equal length)."""
    for q in range(src.shape[0]):
        dst[q] = abs(src[q])


@kernel(internal=True)
def _input_rows(l, n0, fan, compact, goff, noff, moff, foff, split, slopes, nbits, nb, bits, G, c, M, m, rn, gain,
                grange, mrange, gnorm):
    """Layer ``l``'s input ``M x + m`` from the previous layer's rows times their gains ``gain``
    (written), with each row's norm in ``rn``; `compact`: the rows of gain 0 left out, the others
    in ``M``'s first slots. Returns the number of rows in ``M``."""
    mo, fo = moff[l], foff[l]
    p = l - 1
    gp, npv = goff[p], noff[p]
    b0 = nb - nbits[p]
    t = 0
    for k in range(fan):
        beta = 1.0
        if split[npv + k]:
            if bits[b0 + t] == 0:
                beta = slopes[npv + k]
            t += 1
        gain[k] = beta
    kept = 0
    for k in range(fan):
        beta = gain[k]
        m[fo + k] = beta * c[npv + k]
        if compact and beta == 0.0:
            rn[k] = 0.0
            continue
        u = kept if compact else k  # the row's slot
        kept += 1
        lo, hi = grange[npv + k, 0], grange[npv + k, 1]
        row = mo + u * n0
        _clear_outside(M, row, mrange[fo + u, 0], mrange[fo + u, 1], lo, hi)
        _scaled_copy(M[row + lo:row + hi], G[gp + k * n0 + lo:gp + k * n0 + hi], beta)
        mrange[fo + u, 0] = lo
        mrange[fo + u, 1] = hi
        # the row's norm: its G row's when the gain is 1 (the same row), 0 when it is 0
        if beta == 1.0 and gnorm[npv + k] >= 0.0:
            rn[k] = gnorm[npv + k]
        elif beta == 0.0:
            rn[k] = 0.0
        else:
            rn[k] = row_norm(M[row + lo:row + hi])
    return kept


@kernel(internal=True)
def enter_layer(l, given, nb, zrt, brt, diam, dims, widths, fanin, goff, noff, moff, foff, indptr, poff, indices, data,
                zoff, bias, slopes, split, nbits, box_mid, box_h2, dense, woff, wflat, awflat, bits, x, G, c, Gh, ch,
                fixed, M, m, s_all, rn, vec, absG, sr, grange, mrange, gnorm, gkappa):
    """Layer `l` starts (module docstring): its ``G x + c``, the witness's distances ``s_all`` to
    its hyperplanes, ``fixed`` (-1: to branch on, 0 off, 1 on, :data:`LINEAR`), and the unit rows
    ``Gh`` of the neurons to branch on (the others' rows of ``Gh`` are left as they were).
    `given`: its input (:data:`GIVEN_NONE`, :data:`GIVEN_M`, :data:`GIVEN_IDENTITY`); `nb`: the
    pattern's length; `zrt`, `brt`: the zero-row and box tolerances; `diam`: the domain's
    diameter. Returns the number of neurons fixed near eps (a constant within rounding of 0,
    or a box range crossing 0 by less than the tolerance)."""
    n0 = dims[0]
    fan = fanin[l]
    w = widths[l]
    mo, fo = moff[l], foff[l]
    near_eps = 0
    # a dense layer's product leaves out the input rows of gain 0 (exact zeros): the others in M's first slots
    compact = given == GIVEN_NONE and dense[l] != 0
    gain = vec[4]
    kept = fan
    if given == GIVEN_NONE:
        kept = _input_rows(l, n0, fan, compact, goff, noff, moff, foff, split, slopes, nbits, nb, bits, G, c, M, m, rn,
                           gain, grange, mrange, gnorm)
    elif given == GIVEN_IDENTITY:  # unit rows, M not read
        for k in range(fan):
            rn[k] = 1.0
    else:  # a given input: the span of each row read off
        for k in range(fan):
            _find_span(M, mo + k * n0, n0, mrange, fo + k)
            lo = mrange[fo + k, 0]
            rn[k] = row_norm(M[mo + k * n0 + lo:mo + k * n0 + mrange[fo + k, 1]])
    identity = given == GIVEN_IDENTITY
    g0, nv = goff[l], noff[l]
    Gv = G[g0:g0 + w * n0].reshape((w, n0))
    Mv = M[mo:mo + fan * n0].reshape((fan, n0))
    mv = m[fo:fo + fan]
    cv = vec[0, :w]
    scale = vec[1, :w]
    cscale = vec[2, :w]
    if dense[l]:
        Wv = wflat[woff[l]:woff[l] + w * fan].reshape((w, fan))
        AWv = awflat[woff[l]:woff[l] + w * fan].reshape((w, fan))
        if identity:  # W @ I is W exactly (polyregions.search.rows.identity)
            for i in range(w):
                for q in range(n0):
                    Gv[i, q] = Wv[i, q]
        elif kept == fan:
            np.dot(Wv, Mv, Gv)
        elif kept == 0:
            Gv.fill(0.0)
        else:  # W's columns of the kept rows (in the box product's scratch, not yet in use)
            Wk = absG[:w * kept].reshape((w, kept))
            for i in range(w):
                u = 0
                for k in range(fan):
                    if gain[k] != 0.0:
                        Wk[i, u] = Wv[i, k]
                        u += 1
            np.dot(Wk, M[mo:mo + kept * n0].reshape((kept, n0)), Gv)
        np.dot(Wv, mv, cv)
        np.dot(AWv, rn[:fan], scale)
        np.dot(AWv, np.abs(mv), cscale)
        for i in range(w):  # every column written
            grange[nv + i, 0] = 0
            grange[nv + i, 1] = n0
    else:
        # the rows of a sparse layer over the spans of the rows they combine (zero elsewhere:
        # the same sums as over every column, without the exact zeros)
        ptr, z0 = poff[l], zoff[l]
        for i in range(w):
            gi = g0 + i * n0
            lo, hi = n0, 0
            for jj in range(indptr[ptr + i], indptr[ptr + i + 1]):
                col = indices[z0 + jj]
                if mrange[fo + col, 0] < mrange[fo + col, 1]:
                    lo = min(lo, mrange[fo + col, 0])
                    hi = max(hi, mrange[fo + col, 1])
            if lo >= hi:
                lo, hi = 0, 0
            _clear_outside(G, gi, grange[nv + i, 0], grange[nv + i, 1], lo, hi)
            _clear_outside(Gh, gi, grange[nv + i, 0], grange[nv + i, 1], lo, hi)
            grange[nv + i, 0] = lo
            grange[nv + i, 1] = hi
            for q in range(lo, hi):
                G[gi + q] = 0.0
            acc = 0.0
            sc = 0.0
            csc = 0.0
            for jj in range(indptr[ptr + i], indptr[ptr + i + 1]):
                col = indices[z0 + jj]
                v = data[z0 + jj]
                for q in range(mrange[fo + col, 0], mrange[fo + col, 1]):
                    G[gi + q] += v * M[mo + col * n0 + q]
                acc += v * m[fo + col]
                sc += abs(v) * rn[col]
                csc += abs(v) * abs(m[fo + col])
            cv[i] = acc
            scale[i] = sc
            cscale[i] = csc
    for i in range(w):
        c[nv + i] = cv[i] + bias[nv + i]
        cscale[i] += abs(bias[nv + i])
        lo, hi = g0 + i * n0 + grange[nv + i, 0], g0 + i * n0 + grange[nv + i, 1]
        norm = row_norm_fast(G[lo:hi])
        gnorm[nv + i] = norm
        gkappa[nv + i] = -1.0
        ch[nv + i] = c[nv + i] / (norm if norm > 0.0 else 1.0)
        scale[i] = -1.0 if norm <= zrt * scale[i] else norm  # -1: a constant neuron
    # the witness's distances G x / |G| + ch (as the engine's s_all: one division per row)
    s = s_all[:w]
    np.dot(Gv, x, s)
    undecided = 0
    for i in range(w):
        norm = gnorm[nv + i]
        s[i] = s[i] / (norm if norm > 0.0 else 1.0) + ch[nv + i]
        if not split[nv + i]:
            fixed[nv + i] = LINEAR
        elif scale[i] < 0.0:
            fixed[nv + i] = 1 if c[nv + i] > zrt * cscale[i] else 0
            if abs(c[nv + i]) <= zrt * cscale[i] and cscale[i] > 0.0:
                near_eps += 1  # a constant within rounding of zero (as the Python search)
        elif abs(s[i]) >= diam:
            fixed[nv + i] = 1 if s[i] > 0.0 else 0
        else:
            fixed[nv + i] = -1
            undecided += 1
    if dims[2] != 0 and undecided > 0:
        # the box test of the rows left (each row's products are BLAS's over its own entries:
        # the rows not written, fixed already, give values nobody reads)
        centre = vec[3, :w]
        spread = sr[:w]
        A = absG[:w * n0].reshape((w, n0))
        for i in range(w):
            if fixed[nv + i] == -1:
                _absolute_copy(A[i], Gv[i])
        np.dot(Gv, box_mid, centre)
        np.dot(A, box_h2, spread)  # per row: its spread over the box, and the size of its terms
        for i in range(w):
            if fixed[nv + i] != -1:
                continue
            mid = centre[i] + c[nv + i]
            lo, hi = mid - spread[i, 0], mid + spread[i, 0]
            size = spread[i, 1] + abs(c[nv + i])
            on = lo > -brt * size
            off = (not on) and hi < brt * size
            if on or off:
                fixed[nv + i] = 1 if on else 0
                if (on and lo < 0.0) or (off and hi > 0.0):
                    near_eps += 1
    # the unit rows of the neurons left to branch on (the only ones the search pushes or moves along)
    for i in range(w):
        if fixed[nv + i] == -1:
            norm = gnorm[nv + i]
            lo, hi = g0 + i * n0 + grange[nv + i, 0], g0 + i * n0 + grange[nv + i, 1]
            _divided_copy(Gh[lo:hi], G[lo:hi], norm if norm > 0.0 else 1.0)
    return near_eps
