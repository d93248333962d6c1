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

from collections import namedtuple

from ..solvers.jit import kernel
from ..solvers.stack_kernels import DECIDED, S_CAP, S_LEVEL, stack_pop, stack_push, stack_test
from .layer_entry import LINEAR, enter_layer

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
# (layer_entry.GIVEN_*: 1 in M, 2 the identity, M not read),
# regions in this call, a test result given, where a test returns, its neuron, its row's sign
(R_PC, R_L, R_J, R_TOP, R_NBITS, R_PF, R_CODE, R_ANSWER, R_ENUM, R_ROOM, R_BUDGET, R_PRUNE, R_GIVEN, R_LEAVES,
 R_HAVE, R_RET, R_TJ, R_TSIGN) = range(18)
N_REG = 18
# float registers: witness radius, eps, domain diameter, near-eps factor, smallest leaf radius,
# smallest kept depth, the referee's answer, zero-row tolerance, row-bound limit, a bad bound, the box
# test's tolerance, the coordinates' resolution (relative) within which a region or a drop counts as near eps,
# the witness's distance to the branching hyperplane (the other side's, read by the witness's side),
# the magnitude of the witness's coordinates (negative: not yet known, _magnitude)
(F_RHO, F_EPS, F_DIAM, F_NEAR, F_MIN_RADIUS, F_MIN_KEPT, F_ANS_KEEP, F_ANS_RADIUS, F_ANS_DEPTH, F_ZERO_RTOL,
 F_BOUND_LIMIT, F_BAD_BOUND, F_BOX_RTOL, F_RES_RTOL, F_DIST, F_XBIG) = range(16)
N_FLT = 16
# counters: children entered, near-eps decisions, regions
C_NODES, C_NEAR_EPS, C_COUNT = range(3)
# frame fields: layer, neuron, children, next child, pattern length, stack level, row pushed for
# the child in progress, the children's bits and row signs (0: no row), the other side's keep
FR_L, FR_J, FR_N, FR_K, FR_HERE, FR_LEVEL, FR_PUSHED, FR_BIT0, FR_BIT1, FR_SIGN0, FR_SIGN1, FR_OKEEP = range(12)
N_FR = 12

@kernel(internal=True, fastmath={"reassoc", "contract"})
def _distance(Gh, ch, x, gi, nj, n0):
    """The witness's signed distance ``Gh_j . x + ch_j`` to a neuron's hyperplane (row at ``gi``;
    the dot product summed in any order, vectorised, as BLAS sums the Python search's)."""
    s = 0.0
    for q in range(n0):
        s += Gh[gi + q] * x[q]
    return s + ch[nj]


@kernel(internal=True)
def _magnitude(x, flt):
    """``max_q |x_q|`` (0 for none), the magnitude of the witness's coordinates: kept in
    ``flt[F_XBIG]`` (negative: not known) until the witness changes."""
    big = flt[F_XBIG]
    if big < 0.0:
        # four running maxima (a maximum is exact in any order), so that the loop vectorises
        n = x.shape[0]
        b0 = b1 = b2 = b3 = 0.0
        for q in range(0, n - 3, 4):
            b0 = max(b0, abs(x[q]))
            b1 = max(b1, abs(x[q + 1]))
            b2 = max(b2, abs(x[q + 2]))
            b3 = max(b3, abs(x[q + 3]))
        for q in range(n - n % 4, n):
            b0 = max(b0, abs(x[q]))
        big = max(max(b0, b1), max(b2, b3))
        flt[F_XBIG] = big
    return big


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
            flt[F_XBIG] = -1.0  # a new witness: its magnitude not yet known
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
                if flt[F_RHO] <= flt[F_RES_RTOL] * _magnitude(x, flt):  # as thin as the rounding of its coordinates
                    cnt[C_NEAR_EPS] += 1
                if flt[F_RHO] < flt[F_MIN_RADIUS]:
                    flt[F_MIN_RADIUS] = flt[F_RHO]
                if reg[R_ENUM] != 0:
                    return EV_LEAF
                if reg[R_ROOM] >= 0 and reg[R_LEAVES] >= reg[R_ROOM]:
                    return EV_ROOM
        elif pc == PC_ENTER:
            # layer l starts (polyregions.search.layer_entry), then its prefilter or its first neuron
            cnt[C_NEAR_EPS] += enter_layer(reg[R_L], reg[R_GIVEN], reg[R_NBITS], flt[F_ZERO_RTOL], flt[F_BOX_RTOL],
                                           flt[F_DIAM], dims, widths, fanin, goff, noff, moff, foff, indptr, poff,
                                           indices, data, zoff, bias, slopes, split, nbits, box_mid, box_h2, dense,
                                           woff, wflat, awflat, bits, x, G, c, Gh, ch, fixed, M, m, s_all, rn, vec,
                                           absG, sr, grange, mrange, gnorm, gkappa)
            reg[R_GIVEN] = 0
            reg[R_PF] = 0
            reg[R_J] = 0
            reg[R_PC] = PC_PREFILTER if reg[R_PRUNE] != 0 else PC_DESCEND
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
                gh = Gh[gi:gi + n0]  # (a view: contiguous, vectorised)
                for q in range(n0):
                    fr_x[f, 1, q] = x[q] + t * (sw * gh[q])
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
                    gh = Gh[gi:gi + n0]
                    for q in range(n0):
                        fr_x[f, 0, q] = x[q] if delta >= rho else x[q] - t * (sw * gh[q])
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
            if eps / near <= depth <= eps * near:
                cnt[C_NEAR_EPS] += 1
            elif flt[F_ANS_KEEP] == 0.0 and depth > eps - flt[F_RES_RTOL] * max(
                    abs(ch[noff[reg[R_L]] + reg[R_TJ]]), _magnitude(x, flt)):  # (engine.magnitude)
                cnt[C_NEAR_EPS] += 1  # dropped within its coordinates' rounding of eps
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
