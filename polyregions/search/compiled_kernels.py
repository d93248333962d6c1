"""The search's inner loop compiled: the depth-first traversal of :mod:`polyregions.search.engine`
as a resumable state machine over arrays, for ReLU, LeakyReLU and linear (residual carry) stages.

:func:`run_search` takes the network (:class:`NetArrays`), a compiled backend's stack
(:mod:`polyregions.solvers.stack_kernels`) and the search's state (:class:`SearchState`), and
advances the search until something needs Python, which it reports as an event:

* ``EV_DONE``: the subtree is exhausted (the stack is back at the subproblem's rows);
* ``EV_BUDGET``: ``budget`` children were entered in this call (the caller checks its deadline,
  and may hand every child not yet entered to the frontier, :meth:`frames`);
* ``EV_LEAF``: a region was found (enumeration; a count only counts it), ``EV_ROOM``: the count
  reached the room it was given;
* ``EV_REFEREE``: a test the compiled solve is unsure of (its reason code in ``reg[R_CODE]``,
  the tested row still pushed): the caller has HiGHS decide, writes the answer
  (``reg[R_ANSWER] = 1``, ``flt[F_ANS_*]``, ``ans_x``) and calls again;
* ``EV_GROW``: the backend's stack needs room for one more row; ``EV_BOUND``: a row's bound is
  beyond what the solvers take as finite (``flt[F_BAD_BOUND]``): an error.

Between two events the state is complete: every call resumes exactly where the last stopped,
so the search takes, node for node, the decisions of the Python search: the same witness
shortcut, the same constant, far, box and prefilter tests at layer entry, the same children in
the same order, the same tests on the same stacks. A frame is one branching node: its layer
and neuron, its children (bit, row sign, witness ball) and the stack level below them.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..solvers.jit import kernel
from ..solvers.stack_kernels import DECIDED, S_CAP, S_LEVEL, stack_pop, stack_push, stack_test

__all__ = ["NetArrays", "SearchState", "run_search"]

#: The network: ``dims = (n0, layers, has_box)``; per layer ``l`` its width and fan-in, and the
#: offsets of its slots in the flat arrays (``goff``: rows of ``G``, ``noff``: neurons, ``moff``:
#: rows of ``M``, ``foff``: entries of ``m``); its weights in CSR form (``indptr`` from ``poff[l]``,
#: ``indices`` and ``data`` from ``zoff[l]``), biases, slopes (1: a linear neuron), the
#: pattern bits per layer, and the domain's bounding box: its centre ``box_mid`` and ``box_h2``,
#: the columns ``half`` and ``|mid| + half`` (as :func:`polyregions.search.engine.box_signs` takes them).
NetArrays = namedtuple("NetArrays", ["dims", "widths", "fanin", "goff", "noff", "moff", "foff", "indptr", "poff",
                                     "indices", "data", "zoff", "bias", "slopes", "split", "nbits", "box_mid",
                                     "box_h2", "dense", "woff", "wflat", "awflat"])
#: The search: registers ``reg`` and ``flt`` (indices below), counters ``cnt``, the node's witness
#: ``x``, a test's witness ``ans_x``, the pattern ``bits``; the frames (``fr``, ``fr_x``, ``fr_r``);
#: per layer its ``G x + c``, the unit rows ``Gh x + ch``, ``fixed`` (-1 branch, 0 off, 1 on,
#: 2 linear), its input ``M x + m``; scratch ``s_all``, ``rn``; per row of ``G`` (``grange``) and of
#: ``M`` (``mrange``) the columns ``[lo, hi)`` outside which the row is zero (convolutions' rows
#: are zero but on their receptive field: a sparse layer composes only that span); ``gnorm``: the
#: norm of each row of ``G`` (-1: not known), the norm of its next layer's input row when its gain is 1;
#: ``gkappa``: the norm of each unit row of ``Gh`` as the backend's stack sums it (-1: not known).
SearchState = namedtuple("SearchState", ["reg", "flt", "cnt", "x", "ans_x", "bits", "fr", "fr_x", "fr_r", "G", "c",
                                         "Gh", "ch", "fixed", "M", "m", "s_all", "rn", "vec", "absG", "sr",
                                         "grange", "mrange", "gnorm", "gkappa"])

# events
EV_DONE, EV_BUDGET, EV_LEAF, EV_ROOM, EV_REFEREE, EV_GROW, EV_BOUND = range(7)
# where the search is (reg[R_PC]): entering a child, appending fixed bits, entering a layer, the
# prefilter, the other side, the witness's side (then the frame), and a test (a subroutine that
# returns to reg[R_RET] with its result in flt[F_ANS_*] and ans_x, reg[R_HAVE] = 1)
PC_ADVANCE, PC_DESCEND, PC_ENTER, PC_PREFILTER, PC_OTHER, PC_WITNESS, PC_TEST = range(7)
# registers: program counter, layer, neuron, frames, pattern length, prefilter position, referee
# code, referee answer given, enumerate, room (-1: none), budget, prefilter on, layer input given
# (1: in M, 2: the identity, M not read),
# regions in this call, a test result given, where a test returns, its neuron, its row's sign
(R_PC, R_L, R_J, R_TOP, R_NBITS, R_PF, R_CODE, R_ANSWER, R_ENUM, R_ROOM, R_BUDGET, R_PRUNE, R_GIVEN, R_LEAVES,
 R_HAVE, R_RET, R_TJ, R_TSIGN) = range(18)
N_REG = 18
# float registers: witness radius, eps, domain diameter, near-eps factor, smallest leaf radius,
# smallest kept depth, the referee's answer, zero-row tolerance, row-bound limit, a bad bound, the box
# test's tolerance, the coordinates' resolution (relative) within which a region or a drop counts as near eps,
# the witness's distance to the branching hyperplane (the other side's, read by the witness's side)
(F_RHO, F_EPS, F_DIAM, F_NEAR, F_MIN_RADIUS, F_MIN_KEPT, F_ANS_KEEP, F_ANS_RADIUS, F_ANS_DEPTH, F_ZERO_RTOL,
 F_BOUND_LIMIT, F_BAD_BOUND, F_BOX_RTOL, F_RES_RTOL, F_DIST) = range(15)
N_FLT = 15
# counters: children entered, near-eps decisions, regions
C_NODES, C_NEAR_EPS, C_COUNT = range(3)
# frame fields: layer, neuron, children, next child, pattern length, stack level, row pushed for
# the child in progress, the children's bits and row signs (0: no row), the other side's keep
FR_L, FR_J, FR_N, FR_K, FR_HERE, FR_LEVEL, FR_PUSHED, FR_BIT0, FR_BIT1, FR_SIGN0, FR_SIGN1, FR_OKEEP = range(12)
N_FR = 12
#: ``fixed`` of a linear neuron (no pattern bit), as in the engine.
LINEAR = 2


@kernel(internal=True)
def _row_norm(A, start, n):
    """``|A[start:start+n]|``, scaled by its largest entry first (as :func:`polyregions.search.rows.row_norms`)."""
    big = 0.0
    for q in range(n):
        v = abs(A[start + q])
        if v > big:
            big = v
    if big == 0.0:
        return 0.0
    s = 0.0
    for q in range(n):
        v = A[start + q] / big
        s += v * v
    return big * math.sqrt(s)


@kernel(internal=True, fastmath={"reassoc", "contract"})
def _row_norm_fast(A, start, n):
    """``|A[start:start+n]|`` as ``sqrt`` of the sum of squares (in any order: vectorised) where
    that sum is within ``1e-200..1e200`` (every square that underflows is below ``1e-300`` of it),
    else :func:`_row_norm`; a few roundings from it (the sums' order differs)."""
    s = 0.0
    for q in range(n):
        s += A[start + q] * A[start + q]
    if 1e-200 < s < 1e200:
        return math.sqrt(s)
    return _row_norm(A, start, n)


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
def _enter(dims, widths, fanin, goff, noff, moff, foff, indptr, poff, indices, data, zoff, bias, slopes, split, nbits,
           box_mid, box_h2, dense, woff, wflat, awflat, reg, flt, cnt, bits, x, G, c, Gh, ch, fixed, M, m, s_all, rn,
           vec, absG, sr, grange, mrange, gnorm, gkappa):
    """Layer ``reg[R_L]`` starts: its ``G x + c`` from its input ``M x + m`` (the previous layer's
    rows times its gains, unless given), unit rows, and the neurons fixed without a test:
    constant (zero row), farther from the witness than the domain's diameter, or of one sign on
    the domain's bounding box up to ``BOX_RTOL`` (counted near eps when its range crosses 0; as
    the engine's ``_enter_layer`` and ``box_signs``, with the same products: BLAS for a dense
    layer (without the input rows of gain 0, whose terms are exact zeros), the CSR order for a
    sparse one)."""
    l = reg[R_L]
    n0 = dims[0]
    fan = fanin[l]
    w = widths[l]
    mo, fo = moff[l], foff[l]
    # a dense layer's product leaves out the input rows of gain 0 (exact zeros): the others in M's first slots
    compact = reg[R_GIVEN] == 0 and dense[l] != 0
    gain = vec[4]
    kept = fan
    if reg[R_GIVEN] == 0:
        p = l - 1
        gp, npv = goff[p], noff[p]
        b0 = reg[R_NBITS] - nbits[p]
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
            _clear_outside(M, mo + u * n0, mrange[fo + u, 0], mrange[fo + u, 1], lo, hi)
            for q in range(lo, hi):
                M[mo + u * n0 + q] = beta * G[gp + k * n0 + q]
            mrange[fo + u, 0] = lo
            mrange[fo + u, 1] = hi
            # the row's norm: its G row's when the gain is 1 (the same row), 0 when it is 0
            if beta == 1.0 and gnorm[npv + k] >= 0.0:
                rn[k] = gnorm[npv + k]
            elif beta == 0.0:
                rn[k] = 0.0
            else:
                rn[k] = _row_norm(M, mo + u * n0 + lo, hi - lo)
    elif reg[R_GIVEN] == 2:  # the identity (the root of a dense first layer): unit rows, M not read
        for k in range(fan):
            rn[k] = 1.0
    else:  # a given input: the span of each row read off
        for k in range(fan):
            _find_span(M, mo + k * n0, n0, mrange, fo + k)
            lo = mrange[fo + k, 0]
            rn[k] = _row_norm(M, mo + k * n0 + lo, mrange[fo + k, 1] - lo)
    identity = reg[R_GIVEN] == 2
    reg[R_GIVEN] = 0
    g0, nv = goff[l], noff[l]
    Gv = G[g0:g0 + w * n0].reshape((w, n0))
    Ghv = Gh[g0:g0 + w * n0].reshape((w, n0))
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
        lo, hi = grange[nv + i, 0], grange[nv + i, 1]
        norm = _row_norm_fast(G, g0 + i * n0 + lo, hi - lo)
        gnorm[nv + i] = norm
        gkappa[nv + i] = -1.0
        safe = norm if norm > 0.0 else 1.0
        for q in range(lo, hi):
            Gh[g0 + i * n0 + q] = G[g0 + i * n0 + q] / safe
        ch[nv + i] = c[nv + i] / safe
        scale[i] = -1.0 if norm <= flt[F_ZERO_RTOL] * scale[i] else norm  # -1: a constant neuron
    s = s_all[:w]
    np.dot(Ghv, x, s)
    has_box = dims[2] != 0
    if has_box:
        centre = vec[3, :w]
        spread = sr[:w]
        A = absG[:w * n0].reshape((w, n0))
        for i in range(w):
            for q in range(n0):
                A[i, q] = abs(Gv[i, q])
        np.dot(Gv, box_mid, centre)
        np.dot(A, box_h2, spread)  # per row: its spread over the box, and the size of its terms
    zrt, brt = flt[F_ZERO_RTOL], flt[F_BOX_RTOL]
    for i in range(w):
        s[i] += ch[nv + i]
        if not split[nv + i]:
            fixed[nv + i] = LINEAR
        elif scale[i] < 0.0:
            fixed[nv + i] = 1 if c[nv + i] > zrt * cscale[i] else 0
            if abs(c[nv + i]) <= zrt * cscale[i] and cscale[i] > 0.0:
                cnt[C_NEAR_EPS] += 1  # a constant within rounding of zero (as the Python search)
        else:
            if abs(s[i]) >= flt[F_DIAM]:
                fixed[nv + i] = 1 if s[i] > 0.0 else 0
                continue
            fixed[nv + i] = -1
            if has_box:
                mid = centre[i] + c[nv + i]
                lo, hi = mid - spread[i, 0], mid + spread[i, 0]
                size = spread[i, 1] + abs(c[nv + i])
                on = lo > -brt * size
                off = (not on) and hi < brt * size
                if on or off:
                    fixed[nv + i] = 1 if on else 0
                    if (on and lo < 0.0) or (off and hi > 0.0):
                        cnt[C_NEAR_EPS] += 1
    reg[R_PF] = 0
    reg[R_J] = 0
    reg[R_PC] = PC_PREFILTER if reg[R_PRUNE] != 0 else PC_DESCEND


@kernel(internal=True, fastmath={"reassoc", "contract"})
def _distance(Gh, ch, x, gi, nj, n0):
    """The witness's signed distance ``Gh_j . x + ch_j`` to a neuron's hyperplane (row at ``gi``;
    the dot product summed in any order, vectorised, as BLAS sums the Python search's)."""
    s = 0.0
    for q in range(n0):
        s += Gh[gi + q] * x[q]
    return s + ch[nj]


@kernel(internal=True)
def _machine(lp, dims, widths, fanin, goff, noff, moff, foff, indptr, poff, indices, data, zoff, bias, slopes, split,
             nbits, box_mid, box_h2, dense, woff, wflat, awflat, reg, flt, cnt, x, ans_x, bits, fr, fr_x, fr_r, G, c,
             Gh, ch, fixed, M, m, s_all, rn, vec, absG, sr, grange, mrange, gnorm, gkappa):
    """The search as a state machine over ``reg[R_PC]`` (see :func:`run_search`)."""
    n0, layers = dims[0], dims[1]
    eps, near = flt[F_EPS], flt[F_NEAR]
    steps = 0
    reg[R_LEAVES] = 0
    while True:
        pc = reg[R_PC]
        if pc == PC_ADVANCE:
            # the next child of the top frame (a frame whose children are all done is popped)
            top = reg[R_TOP]
            if top == 0:
                return EV_DONE
            f = top - 1
            if fr[f, FR_PUSHED] != 0:
                stack_pop(lp)
                fr[f, FR_PUSHED] = 0
            k = fr[f, FR_K]
            if k >= fr[f, FR_N]:
                reg[R_TOP] = f
                continue
            if steps >= reg[R_BUDGET]:
                return EV_BUDGET
            l, j = fr[f, FR_L], fr[f, FR_J]
            sign = fr[f, FR_SIGN0 + k]
            b = 0.0
            if sign != 0:
                if lp.ints[S_LEVEL] >= lp.ints[S_CAP]:
                    return EV_GROW
                b = -sign * ch[noff[l] + j]
                if not abs(b) < flt[F_BOUND_LIMIT]:
                    flt[F_BAD_BOUND] = b
                    return EV_BOUND
            steps += 1
            fr[f, FR_K] = k + 1
            cnt[C_NODES] += 1
            here = fr[f, FR_HERE]
            bits[here] = fr[f, FR_BIT0 + k]
            reg[R_NBITS] = here + 1
            if sign != 0:
                gkappa[noff[l] + j] = stack_push(lp, Gh, goff[l] + j * n0, n0, float(sign), b, gkappa[noff[l] + j])
                fr[f, FR_PUSHED] = 1
            for q in range(n0):
                x[q] = fr_x[f, k, q]
            flt[F_RHO] = fr_r[f, k]
            reg[R_L] = l
            reg[R_J] = j + 1
            reg[R_PC] = PC_DESCEND
        elif pc == PC_DESCEND:
            # the fixed neurons' bits; then branch, enter the next layer, or count a region
            l, j = reg[R_L], reg[R_J]
            nv = noff[l]
            nb = reg[R_NBITS]
            while j < widths[l] and fixed[nv + j] >= 0:
                if fixed[nv + j] != LINEAR:
                    bits[nb] = fixed[nv + j]
                    nb += 1
                j += 1
            reg[R_NBITS] = nb
            if j < widths[l]:
                reg[R_J] = j
                reg[R_PC] = PC_OTHER
            elif l + 1 < layers:
                reg[R_L] = l + 1
                reg[R_PC] = PC_ENTER
            else:
                reg[R_PC] = PC_ADVANCE
                cnt[C_COUNT] += 1
                reg[R_LEAVES] += 1
                big = 0.0
                for q in range(n0):
                    big = max(big, abs(x[q]))
                if flt[F_RHO] <= flt[F_RES_RTOL] * big:  # as thin as the rounding of its coordinates
                    cnt[C_NEAR_EPS] += 1
                if flt[F_RHO] < flt[F_MIN_RADIUS]:
                    flt[F_MIN_RADIUS] = flt[F_RHO]
                if reg[R_ENUM] != 0:
                    return EV_LEAF
                if reg[R_ROOM] >= 0 and reg[R_LEAVES] >= reg[R_ROOM]:
                    return EV_ROOM
        elif pc == PC_ENTER:
            _enter(dims, widths, fanin, goff, noff, moff, foff, indptr, poff, indices, data, zoff, bias, slopes, split,
                   nbits, box_mid, box_h2, dense, woff, wflat, awflat, reg, flt, cnt, bits, x, G, c, Gh, ch, fixed, M,
                   m, s_all, rn, vec, absG, sr, grange, mrange, gnorm, gkappa)
        elif pc == PC_PREFILTER:
            # each neuron left to branch whose hyperplane misses the witness ball is tested once:
            # when the other side is empty it is fixed for the whole subtree
            l = reg[R_L]
            nv = noff[l]
            rho = flt[F_RHO]
            j = reg[R_PF]
            if reg[R_HAVE] != 0:
                reg[R_HAVE] = 0
                if flt[F_ANS_KEEP] == 0.0 and flt[F_ANS_DEPTH] <= 0.0:
                    fixed[nv + j] = 1 if s_all[j] > 0.0 else 0
                j += 1
            while j < widths[l] and not (fixed[nv + j] == -1 and abs(s_all[j]) >= rho):
                j += 1
            if j < widths[l]:
                reg[R_PF] = j
                reg[R_TJ] = j
                reg[R_TSIGN] = 1 if s_all[j] > 0.0 else -1
                reg[R_RET] = PC_PREFILTER
                reg[R_PC] = PC_TEST
            else:
                reg[R_J] = 0
                reg[R_PC] = PC_DESCEND
        elif pc == PC_OTHER:
            # branching at neuron j: the side without the witness, by the witness-ball shortcut
            # (the hyperplane cuts the ball deep enough) or by a test; kept in the new frame
            l, j = reg[R_L], reg[R_J]
            f = reg[R_TOP]
            gi = goff[l] + j * n0
            if reg[R_HAVE] != 0:
                reg[R_HAVE] = 0
                okeep = flt[F_ANS_KEEP] != 0.0
                oradius, odepth = flt[F_ANS_RADIUS], flt[F_ANS_DEPTH]
                for q in range(n0):
                    fr_x[f, 1, q] = ans_x[q]
            else:
                rho = flt[F_RHO]
                s = _distance(Gh, ch, x, gi, noff[l] + j, n0)
                flt[F_DIST] = s  # (the witness's side reads it)
                sw = -1.0 if s > 0.0 else 1.0  # the witness's side: sw * (Gh_j . x + ch_j) <= 0
                delta = abs(s)
                if not (rho - delta) / 2 > eps:
                    reg[R_TJ] = j
                    reg[R_TSIGN] = -int(sw)
                    reg[R_RET] = PC_OTHER
                    reg[R_PC] = PC_TEST
                    continue
                # the cap beyond the hyperplane holds a ball of radius (rho - delta) / 2
                okeep = True
                oradius = odepth = (rho - delta) / 2
                t = (rho + delta) / 2
                for q in range(n0):
                    fr_x[f, 1, q] = x[q] + t * (sw * Gh[gi + q])
                if odepth <= eps * near:
                    if eps / near <= odepth:
                        cnt[C_NEAR_EPS] += 1
                    if odepth < flt[F_MIN_KEPT]:
                        flt[F_MIN_KEPT] = odepth
            fr[f, FR_OKEEP] = 1 if okeep else 0
            fr_r[f, 1] = oradius
            fr_r[f, 2] = odepth
            reg[R_PC] = PC_WITNESS
        elif pc == PC_WITNESS:
            # the witness's side (kept on the re-centred ball, or tested when that ball is below
            # eps), then the frame: the witness's side first, then the other side
            l, j = reg[R_L], reg[R_J]
            f = reg[R_TOP]
            gi = goff[l] + j * n0
            rho = flt[F_RHO]
            s = flt[F_DIST]  # the distance the other side computed (_distance, the same x)
            side = s > 0.0
            sw = -1.0 if side else 1.0
            delta = abs(s)
            okeep = fr[f, FR_OKEEP] != 0
            bit = 1 if side else 0
            n_ch = 0
            if not (okeep or fr_r[f, 2] > 0.0):  # the hyperplane misses the node: no row, same witness
                for q in range(n0):
                    fr_x[f, 0, q] = x[q]
                fr_r[f, 0] = rho
                fr[f, FR_BIT0] = bit
                fr[f, FR_SIGN0] = 0
                n_ch = 1
            else:
                r1 = rho if delta >= rho else (rho + delta) / 2
                if r1 > eps:
                    if r1 <= eps * near:
                        if eps / near <= r1:
                            cnt[C_NEAR_EPS] += 1
                        if r1 < flt[F_MIN_KEPT]:
                            flt[F_MIN_KEPT] = r1
                    t = (rho - delta) / 2
                    for q in range(n0):
                        fr_x[f, 0, q] = x[q] if delta >= rho else x[q] - t * (sw * Gh[gi + q])
                    fr_r[f, 0] = r1
                    n_ch = 1
                elif reg[R_HAVE] == 0:
                    reg[R_TJ] = j
                    reg[R_TSIGN] = int(sw)
                    reg[R_RET] = PC_WITNESS
                    reg[R_PC] = PC_TEST
                    continue
                else:
                    reg[R_HAVE] = 0
                    if flt[F_ANS_KEEP] != 0.0:
                        for q in range(n0):
                            fr_x[f, 0, q] = ans_x[q]
                        fr_r[f, 0] = flt[F_ANS_RADIUS]
                        n_ch = 1
                if n_ch == 1:
                    fr[f, FR_BIT0] = bit
                    fr[f, FR_SIGN0] = int(sw)
                if okeep:
                    if n_ch == 0:
                        for q in range(n0):
                            fr_x[f, 0, q] = fr_x[f, 1, q]
                        fr_r[f, 0] = fr_r[f, 1]
                    fr[f, FR_BIT0 + n_ch] = 1 - bit
                    fr[f, FR_SIGN0 + n_ch] = -int(sw)
                    n_ch += 1
            fr[f, FR_L] = l
            fr[f, FR_J] = j
            fr[f, FR_N] = n_ch
            fr[f, FR_K] = 0
            fr[f, FR_HERE] = reg[R_NBITS]
            fr[f, FR_LEVEL] = lp.ints[S_LEVEL]
            fr[f, FR_PUSHED] = 0
            reg[R_TOP] = f + 1
            reg[R_PC] = PC_ADVANCE
        else:
            # PC_TEST: the node with the row reg[R_TSIGN] * (Gh_j . x + ch_j) <= 0 of layer
            # reg[R_L], j = reg[R_TJ], pushed, tested at the witness, popped; or, when the
            # referee answered (the row still pushed), its answer
            if reg[R_ANSWER] != 0:
                stack_pop(lp)
                reg[R_ANSWER] = 0
            else:
                l, j = reg[R_L], reg[R_TJ]
                sign = float(reg[R_TSIGN])
                if lp.ints[S_LEVEL] >= lp.ints[S_CAP]:
                    return EV_GROW
                b = -sign * ch[noff[l] + j]
                if not abs(b) < flt[F_BOUND_LIMIT]:
                    flt[F_BAD_BOUND] = b
                    return EV_BOUND
                gkappa[noff[l] + j] = stack_push(lp, Gh, goff[l] + j * n0, n0, sign, b, gkappa[noff[l] + j])
                code, keep, radius, depth = stack_test(lp, x, ans_x)
                if code != DECIDED:
                    reg[R_CODE] = code
                    return EV_REFEREE
                stack_pop(lp)
                flt[F_ANS_KEEP] = 1.0 if keep else 0.0
                flt[F_ANS_RADIUS] = radius
                flt[F_ANS_DEPTH] = depth
            depth = flt[F_ANS_DEPTH]
            big = abs(ch[noff[reg[R_L]] + reg[R_TJ]])  # the magnitude of the node's coordinates (engine.magnitude)
            for q in range(n0):
                big = max(big, abs(x[q]))
            if eps / near <= depth <= eps * near or (flt[F_ANS_KEEP] == 0.0 and depth > eps - flt[F_RES_RTOL] * big):
                cnt[C_NEAR_EPS] += 1
            if flt[F_ANS_KEEP] != 0.0 and depth < flt[F_MIN_KEPT]:
                flt[F_MIN_KEPT] = depth
            reg[R_HAVE] = 1
            reg[R_PC] = reg[R_RET]


@kernel()
def run_search(net, lp, st):
    """Advance the search (module docstring) until an event; returns the event."""
    return _machine(lp, net.dims, net.widths, net.fanin, net.goff, net.noff, net.moff, net.foff, net.indptr, net.poff,
                    net.indices, net.data, net.zoff, net.bias, net.slopes, net.split, net.nbits, net.box_mid,
                    net.box_h2, net.dense, net.woff, net.wflat, net.awflat, st.reg, st.flt, st.cnt, st.x, st.ans_x,
                    st.bits, st.fr, st.fr_x, st.fr_r, st.G, st.c, st.Gh, st.ch, st.fixed, st.M, st.m, st.s_all, st.rn,
                    st.vec, st.absG, st.sr, st.grange, st.mrange, st.gnorm, st.gkappa)
