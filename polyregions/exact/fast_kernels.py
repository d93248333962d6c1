"""The compiled certifying traversal of a ReLU MLP in a box: its events as arrays, its drops checked.

:func:`certify_run` walks the tree of partial patterns in position order (depth first, as the
search of :mod:`polyregions.search.engine` does, on the dense simplex's stack of
:mod:`polyregions.solvers.stack_kernels`) and records, in buffers that Python drains:

* each **leaf**: its pattern, its float witness and radius (Python proves the witness inside
  its region, :mod:`polyregions.exact.point_filter`);
* each **dropped branch** proven empty here: its prefix and integer multipliers ``Y`` of the
  integer rows it names (``docs/certificates.md``), accepted only by the box support test
  below, with a proven rounding bound;
* each branch **flagged** for the exact path (a node thinner than ``eps`` but not proven
  empty, a test the dense simplex is unsure of, a certificate that fails the test, a row
  whose float image is unsure): Python decides its subtree exactly.

The drops' certificates are tested by :mod:`polyregions.exact.fast_bounds` (the integer maps'
float images with a proven error bound, the box support test with a margin beyond it).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..solvers.jit import kernel
from .fast_bounds import SIGNIFICANT_BITS, certificate_holds, layer_maps, to_integers
from ..solvers.stack_kernels import D_MD, DECIDED, S_LEVEL, stack_pop, stack_push, stack_test

__all__ = ["CertNet", "CertOut", "CertState", "EV_DONE", "EV_BUDGET", "EV_FULL", "EV_OVERFLOW", "FLAG_THIN",
           "FLAG_UNSURE", "FLAG_CHECK", "FLAG_ROW", "SIGNIFICANT_BITS", "certify_run", "certify_start"]

#: Multipliers below this fraction of the largest are left out.
SUPPORT_RTOL = 1e-9

#: The network: ``dims = (n0, layers, N)``; per layer its width, first position ``offs``, the
#: offset of its integer weights ``Wi`` (row-major, ``wflat``) and their scale ``sprev``
#: (``s_{l-1}``, the product of the earlier layers' denominators; 1 for the first); biases
#: ``bi`` by position; the float box ``lo, hi`` around the exact one and ``bmax``.
CertNet = namedtuple("CertNet", ["dims", "widths", "offs", "woff", "wflat", "bflat", "sprev", "lo", "hi", "bmax",
                                 "eps", "band"])
#: The traversal: registers ``reg``; per position its image row ``G``, ``c`` and their error
#: bounds ``EG``, ``Ec``, the pattern ``bits``; per depth its children (``nk``, ``kk``, bit,
#: pushed, witness, radius); per stack level the position of its row ``lpos``; scratch; per
#: position whether the layer's entry fixed it (``fixed``: -1 no, else the state kept) and the
#: certificate of its other side (rows ``fq``, mantissas ``fm``, exponents ``fe``, ``fn`` rows).
CertState = namedtuple("CertState", ["reg", "G", "c", "EG", "Ec", "bits", "nk", "kk", "kbit", "kpush", "kx", "kr",
                                     "lpos", "x", "unit", "point", "ybuf", "qbuf", "sbuf", "ebuf", "fixed", "fq", "fm",
                                     "fe", "fn"])
#: The records: leaves (``lbits``, ``lx``, ``lr``), certified drops (``ebits``, ``elen``, CSR
#: ``eptr``, ``epos``, multipliers ``eval * 2^eexp``), flagged branches (``fbits``, ``flen``, ``fwhy``),
#: parked nodes (``sbits`` to depth ``R_SPLIT``, witness ``sx``, radius ``sr``), flagged branches (``fbits``, ``flen``, ``fwhy``).
CertOut = namedtuple("CertOut", ["lbits", "lx", "lr", "ebits", "elen", "eptr", "epos", "eval", "eexp", "fbits",
                                 "flen", "fwhy", "sbits", "sx", "sr"])

EV_DONE, EV_BUDGET, EV_FULL, EV_OVERFLOW = range(4)
# registers: depth, program counter, leaves, drops, multipliers, flagged, the test budget, tests run,
# the depth at which nodes are parked for other processes (-1: none), parked nodes, the depth
# below which the traversal is done (a parked node's)
R_P, R_PC, R_NL, R_NE, R_NV, R_NF, R_BUDGET, R_TESTS, R_SPLIT, R_NS, R_FLOOR = range(11)
N_REG = 11
PC_NODE, PC_NEXT = range(2)
#: Why a branch is flagged: thinner than eps (not proven empty), the simplex unsure, the
#: certificate's test failed, the row's float image unsure (a zero image with an error).
FLAG_THIN, FLAG_UNSURE, FLAG_CHECK, FLAG_ROW = range(4)
# what a tested child is
KEPT, EMPTY, FLAGGED = range(3)


@kernel(internal=True, inline="always")
def _record_empty(st, out, p, bit, nrows):
    """Record the certified drop ``bits[:p] + [bit]`` with ``Y = ybuf * 2^ebuf`` on ``qbuf`` (room checked)."""
    o_ebits = out.ebits
    o_eexp = out.eexp
    o_elen = out.elen
    o_epos = out.epos
    o_eptr = out.eptr
    o_eval = out.eval
    s_bits = st.bits
    s_ebuf = st.ebuf
    s_qbuf = st.qbuf
    s_reg = st.reg
    s_ybuf = st.ybuf
    e = s_reg[R_NE]
    N = s_bits.shape[0]
    for q in range(p):
        o_ebits[e, q] = s_bits[q]
    o_ebits[e, p] = bit
    for q in range(p + 1, N):
        o_ebits[e, q] = 0
    o_elen[e] = p + 1
    nv = s_reg[R_NV]
    for i in range(nrows):
        o_epos[nv + i] = s_qbuf[i]
        o_eval[nv + i] = np.int64(s_ybuf[i])
        o_eexp[nv + i] = s_ebuf[i]
    nv += nrows
    o_eptr[e + 1] = nv
    s_reg[R_NV] = nv
    s_reg[R_NE] = e + 1


@kernel(internal=True, inline="always")
def _record_flag(st, out, p, bit, why):
    o_fbits = out.fbits
    o_flen = out.flen
    o_fwhy = out.fwhy
    s_bits = st.bits
    s_reg = st.reg
    f = s_reg[R_NF]
    N = s_bits.shape[0]
    for q in range(p):
        o_fbits[f, q] = s_bits[q]
    o_fbits[f, p] = bit
    for q in range(p + 1, N):
        o_fbits[f, q] = 0
    o_flen[f] = p + 1
    o_fwhy[f] = why
    s_reg[R_NF] = f + 1


@kernel(internal=True, inline="always")
def _single_row(net, st, out, p, bit):
    """The child ``bit`` at position ``p`` empty by its own row and the box: recorded, True."""
    s_ebuf = st.ebuf
    s_qbuf = st.qbuf
    s_sbuf = st.sbuf
    s_ybuf = st.ybuf
    s_qbuf[0] = p
    s_sbuf[0] = -1.0 if bit == 1 else 1.0
    s_ybuf[0] = 1.0
    s_ebuf[0] = 0
    if certificate_holds(net, st, 1):
        _record_empty(st, out, p, bit, 1)
        return True
    return False


@kernel(internal=True, inline="always")
def _farkas(net, lp, st, p, bit):
    """The dense simplex dropped the pushed child with ``t < 0``: its optimal dual on the pushed
    rows as integer multipliers (``qbuf``, ``sbuf``, mantissas ``ybuf``, ``ebuf``); returns how
    many rows they name when they pass the test, else 0."""
    l_bases = lp.bases
    l_binvs = lp.binvs
    l_ints = lp.ints
    n_dims = net.dims
    s_G = st.G
    s_bits = st.bits
    s_ebuf = st.ebuf
    s_lpos = st.lpos
    s_qbuf = st.qbuf
    s_sbuf = st.sbuf
    s_ybuf = st.ybuf
    n0 = n_dims[0]
    lvl = l_ints[S_LEVEL]
    md = l_ints[D_MD]
    top = 0.0
    for i in range(n0 + 1):
        if l_bases[lvl, i] >= md and l_binvs[lvl, n0, i] > top:
            top = l_binvs[lvl, n0, i]
    nrows = 0
    if top > 0.0:
        for i in range(n0 + 1):
            r = l_bases[lvl, i]
            lam = l_binvs[lvl, n0, i]
            if r >= md and lam > SUPPORT_RTOL * top:
                q = s_lpos[r - md]
                sg = 1.0
                if q == p:
                    sg = -1.0 if bit == 1 else 1.0
                elif s_bits[q] == 1:
                    sg = -1.0
                nrm = 0.0
                for k in range(n0):
                    nrm += s_G[q, k] * s_G[q, k]
                nrm = math.sqrt(nrm)
                if nrm == 0.0:
                    nrows = 0
                    break
                s_qbuf[nrows] = q
                s_sbuf[nrows] = sg
                s_ybuf[nrows] = lam / nrm
                nrows += 1
    if nrows > 0 and to_integers(st, nrows):
        top_e = 0
        for i in range(nrows):
            top_e = max(top_e, s_ebuf[i])
        for i in range(nrows):  # the mantissas kept; the multipliers over 2^top_e as floats for the test
            s_sbuf[nrows + i] = s_ybuf[i]
            s_ybuf[i] = math.ldexp(s_ybuf[i], s_ebuf[i] - top_e)
        if certificate_holds(net, st, nrows):
            for i in range(nrows):
                s_ybuf[i] = s_sbuf[nrows + i]
            return nrows
    return 0


@kernel(internal=True, inline="always")
def _push_row(lp, st, n0, p, bit):
    """Push the unit row of position ``p`` in state ``bit`` (its level's position noted)."""
    l_ints = lp.ints
    s_G = st.G
    s_c = st.c
    s_lpos = st.lpos
    s_unit = st.unit
    sg = -1.0 if bit == 1 else 1.0
    nrm = 0.0
    for k in range(n0):
        nrm += s_G[p, k] * s_G[p, k]
    nrm = math.sqrt(nrm)
    for k in range(n0):
        s_unit[k] = sg * s_G[p, k] / nrm
    s_lpos[l_ints[S_LEVEL]] = p
    stack_push(lp, s_unit, 0, n0, 1.0, -sg * s_c[p] / nrm)


@kernel(internal=True, inline="always")
def _lp_child(net, lp, st, out, p, bit, d):
    """Push the row of ``bit`` at ``p``, test it and pop it: KEPT (the witness and radius in
    child slot ``d`` of depth ``p``), EMPTY (certified, recorded) or FLAGGED (recorded)."""
    n_band = net.band
    n_dims = net.dims
    s_kr = st.kr
    s_kx = st.kx
    s_point = st.point
    s_reg = st.reg
    s_x = st.x
    n0 = n_dims[0]
    _push_row(lp, st, n0, p, bit)
    code, keep, radius, depth = stack_test(lp, s_x, s_point)
    s_reg[R_TESTS] += 1
    res = FLAGGED
    if code != DECIDED:
        _record_flag(st, out, p, bit, FLAG_UNSURE)
    elif keep:
        for k in range(n0):
            s_kx[p, d, k] = s_point[k]
        s_kr[p, d] = radius
        res = KEPT
    elif depth < -n_band[0]:
        nrows = _farkas(net, lp, st, p, bit)
        if nrows > 0:
            _record_empty(st, out, p, bit, nrows)
            res = EMPTY
        else:
            _record_flag(st, out, p, bit, FLAG_CHECK)
    else:
        _record_flag(st, out, p, bit, FLAG_THIN)
    stack_pop(lp)
    return res


@kernel(internal=True, inline="always")
def _kid(st, p, slot, bit, push, n0, x, r):
    s_kbit = st.kbit
    s_kpush = st.kpush
    s_kr = st.kr
    s_kx = st.kx
    s_kbit[p, slot] = bit
    s_kpush[p, slot] = push
    for k in range(n0):
        s_kx[p, slot, k] = x[k]
    s_kr[p, slot] = r


@kernel(internal=True, inline="always")
def _prefilter(net, lp, st, l):
    """At the entry of layer ``l``: each neuron whose hyperplane misses the witness ball gets its
    other side tested once on this node; when it is certified empty the neuron is fixed
    (``fixed``) below the node, its certificate kept (``fq``, ``fm``, ``fe``, ``fn``)."""
    n_band = net.band
    n_dims = net.dims
    n_offs = net.offs
    s_G = st.G
    s_c = st.c
    s_ebuf = st.ebuf
    s_fe = st.fe
    s_fixed = st.fixed
    s_fm = st.fm
    s_fn = st.fn
    s_fq = st.fq
    s_kr = st.kr
    s_point = st.point
    s_qbuf = st.qbuf
    s_reg = st.reg
    s_x = st.x
    s_ybuf = st.ybuf
    n0 = n_dims[0]
    rho = s_kr[n_offs[l], 2]
    for q in range(n_offs[l], n_offs[l + 1]):
        s_fixed[q] = -1
        nrm = 0.0
        s = s_c[q]
        for k in range(n0):
            nrm += s_G[q, k] * s_G[q, k]
            s += s_G[q, k] * s_x[k]
        nrm = math.sqrt(nrm)
        if nrm == 0.0 or abs(s) < rho * nrm:
            continue
        w = 1 if s > 0.0 else 0
        _push_row(lp, st, n0, q, 1 - w)
        code, keep, radius, depth = stack_test(lp, s_x, s_point)
        s_reg[R_TESTS] += 1
        if code == DECIDED and not keep and depth < -n_band[0]:
            nrows = _farkas(net, lp, st, q, 1 - w)
            if nrows > 0:
                s_fixed[q] = w
                s_fn[q] = nrows
                for i in range(nrows):
                    s_fq[q, i] = s_qbuf[i]
                    s_fm[q, i] = s_ybuf[i]
                    s_fe[q, i] = s_ebuf[i]
        stack_pop(lp)


@kernel(internal=True, inline="always")
def _expand(net, lp, st, out, p):
    """The children of the (non-empty) node at depth ``p``: kept ones in ``nk[p]``, the others recorded."""
    n_dims = net.dims
    n_eps = net.eps
    s_EG = st.EG
    s_Ec = st.Ec
    s_G = st.G
    s_c = st.c
    s_ebuf = st.ebuf
    s_fe = st.fe
    s_fixed = st.fixed
    s_fm = st.fm
    s_fn = st.fn
    s_fq = st.fq
    s_kbit = st.kbit
    s_kpush = st.kpush
    s_kr = st.kr
    s_kx = st.kx
    s_nk = st.nk
    s_point = st.point
    s_qbuf = st.qbuf
    s_x = st.x
    s_ybuf = st.ybuf
    n0 = n_dims[0]
    eps = n_eps[0]
    rho = s_kr[p, 2]
    nrm = 0.0
    err = s_Ec[p]
    for k in range(n0):
        nrm += s_G[p, k] * s_G[p, k]
        err += s_EG[p, k]
    nrm = math.sqrt(nrm)
    if s_fixed[p] >= 0:  # fixed at the layer's entry: the other side by its certificate, no row
        keep = s_fixed[p]
        for i in range(s_fn[p]):
            s_qbuf[i] = s_fq[p, i]
            s_ybuf[i] = s_fm[p, i]
            s_ebuf[i] = s_fe[p, i]
        _record_empty(st, out, p, 1 - keep, s_fn[p])
        _kid(st, p, 0, keep, 0, n0, s_x, rho)
        s_nk[p] = 1
        return
    if nrm == 0.0:
        if err != 0.0:  # a zero image that may not be exact
            _record_flag(st, out, p, 0, FLAG_ROW)
            _record_flag(st, out, p, 1, FLAG_ROW)
            s_nk[p] = 0
            return
        # a constant neuron (exact): the side of c's sign (off when c = 0) has no row; the other is empty
        keep = 1 if s_c[p] > 0.0 else 0
        if not _single_row(net, st, out, p, 1 - keep):
            _record_flag(st, out, p, 1 - keep, FLAG_CHECK)
        _kid(st, p, 0, keep, 0, n0, s_x, rho)
        s_nk[p] = 1
        return
    s = s_c[p]
    for k in range(n0):
        s += s_G[p, k] * s_x[k]
    s /= nrm  # > 0: the witness is on the on side
    w = 1 if s > 0.0 else 0
    delta = abs(s)
    o = 1 - w
    # the other side: a ball in the witness ball's cap beyond the hyperplane, its row and the
    # box alone, else the dense simplex (kept in slot 1)
    if (rho - delta) / 2 > eps:
        t = (rho + delta) / 2
        so = -1.0 if w == 1 else 1.0
        for k in range(n0):
            s_kx[p, 1, k] = s_x[k] + t * so * s_G[p, k] / nrm
        s_kr[p, 1] = (rho - delta) / 2
        other = KEPT
    elif _single_row(net, st, out, p, o):
        other = EMPTY
    else:
        other = _lp_child(net, lp, st, out, p, o, 1)
    if other == EMPTY:  # the hyperplane misses the node: no row, the same witness
        _kid(st, p, 0, w, 0, n0, s_x, rho)
        s_nk[p] = 1
        return
    nk = 0
    r1 = rho if delta >= rho else (rho + delta) / 2
    if r1 > eps:  # the witness ball's part on its side holds a ball of radius r1
        t = 0.0 if delta >= rho else (rho - delta) / 2
        sw = 1.0 if w == 1 else -1.0
        for k in range(n0):
            s_point[k] = s_x[k] + t * sw * s_G[p, k] / nrm
        _kid(st, p, 0, w, 1, n0, s_point, r1)
        nk = 1
    elif _lp_child(net, lp, st, out, p, w, 0) == KEPT:
        s_kbit[p, 0] = w
        s_kpush[p, 0] = 1
        nk = 1
    if other == KEPT:
        if nk == 0:
            for k in range(n0):
                s_point[k] = s_kx[p, 1, k]
            _kid(st, p, 0, o, 1, n0, s_point, s_kr[p, 1])
        else:
            s_kbit[p, 1] = o
            s_kpush[p, 1] = 1
        nk += 1
    s_nk[p] = nk


@kernel()
def certify_run(net, lp, st, out):
    """Advance the traversal (module docstring) until done, a budget of tests, or full buffers."""
    n_dims = net.dims
    n_offs = net.offs
    o_ebits = out.ebits
    o_epos = out.epos
    o_fbits = out.fbits
    o_lbits = out.lbits
    o_lr = out.lr
    o_lx = out.lx
    s_Ec = st.Ec
    s_bits = st.bits
    s_c = st.c
    s_kbit = st.kbit
    s_kk = st.kk
    s_kpush = st.kpush
    s_kr = st.kr
    s_kx = st.kx
    s_nk = st.nk
    s_reg = st.reg
    s_x = st.x
    n0, L, N = n_dims[0], n_dims[1], n_dims[2]
    reg = s_reg
    cap_l, cap_e, cap_f, cap_v = o_lbits.shape[0], o_ebits.shape[0], o_fbits.shape[0], o_epos.shape[0]
    while True:
        p = reg[R_P]
        if reg[R_PC] == PC_NODE:
            if reg[R_NL] >= cap_l or reg[R_NE] + 2 > cap_e or reg[R_NF] + 2 > cap_f or reg[R_NV] + 2 * (n0 + 1) > cap_v:
                return EV_FULL
            if reg[R_TESTS] >= reg[R_BUDGET]:
                return EV_BUDGET
            if p == reg[R_SPLIT] and p < N:  # parked for another process
                i = reg[R_NS]
                if i >= out.sbits.shape[0]:
                    return EV_FULL
                for q in range(p):
                    out.sbits[i, q] = s_bits[q]
                for k in range(n0):
                    out.sx[i, k] = s_x[k]
                out.sr[i] = s_kr[p, 2]
                reg[R_NS] = i + 1
                reg[R_PC] = PC_NEXT
                reg[R_P] = p - 1
                continue
            if p == N:  # a leaf
                i = reg[R_NL]
                for q in range(N):
                    o_lbits[i, q] = s_bits[q]
                for k in range(n0):
                    o_lx[i, k] = s_x[k]
                o_lr[i] = s_kr[p, 2]
                reg[R_NL] = i + 1
                reg[R_PC] = PC_NEXT
                reg[R_P] = p - 1
                continue
            for l in range(L):
                if n_offs[l] == p:
                    if l > 0:
                        layer_maps(net, st, l)
                        for q in range(n_offs[l], n_offs[l + 1]):
                            if not math.isfinite(s_c[q]) or not math.isfinite(s_Ec[q]):
                                return EV_OVERFLOW
                    _prefilter(net, lp, st, l)
            _expand(net, lp, st, out, p)
            s_kk[p] = 0
            reg[R_PC] = PC_NEXT
            continue
        # PC_NEXT: the next child of depth p (the previous one's row popped), or back up
        if p < reg[R_FLOOR]:
            return EV_DONE
        k = s_kk[p]
        if k > 0 and s_kpush[p, k - 1] != 0:
            stack_pop(lp)
        if k >= s_nk[p]:
            reg[R_P] = p - 1
            continue
        s_kk[p] = k + 1
        bit = s_kbit[p, k]
        s_bits[p] = bit
        if s_kpush[p, k] != 0:
            _push_row(lp, st, n0, p, bit)
        for q in range(n0):
            s_x[q] = s_kx[p, k, q]
        s_kr[p + 1, 2] = s_kr[p, k]
        reg[R_P] = p + 1
        reg[R_PC] = PC_NODE


@kernel()
def certify_start(net, lp, st, p0):
    """Start the traversal at the parked node of depth ``p0`` (its bits in ``bits``, its witness in
    ``x`` and ``kr[p0, 2]``, the stack empty): the layer maps above it, its rows pushed (those of
    non-zero rows: a superset of the rows the parking traversal held), done when back above it."""
    n0, L = net.dims[0], net.dims[1]
    for l in range(L):
        o = net.offs[l]
        if 0 < l and o < p0:
            layer_maps(net, st, l)
        if o < p0:
            for q in range(o, net.offs[l + 1]):
                st.fixed[q] = -1
    for q in range(p0):
        nrm = 0.0
        for k in range(n0):
            nrm += st.G[q, k] * st.G[q, k]
        if nrm > 0.0:
            _push_row(lp, st, n0, q, st.bits[q])
    st.reg[R_P] = p0
    st.reg[R_PC] = PC_NODE
    st.reg[R_FLOOR] = p0
    st.reg[R_SPLIT] = -1
