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
from .fast_bounds import SIGNIFICANT_BITS, layer_maps, support_test, to_integers
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
# below which the traversal is done (a parked node's), the depth whose nodes are counted (-1: none)
# and the nodes entered at that depth (parked ones not counted)
R_P, R_PC, R_NL, R_NE, R_NV, R_NF, R_BUDGET, R_TESTS, R_SPLIT, R_NS, R_FLOOR, R_AT, R_SEEN = range(13)
N_REG = 13
PC_NODE, PC_NEXT = range(2)
#: Why a branch is flagged: thinner than eps (not proven empty), the simplex unsure, the
#: certificate's test failed, the row's float image unsure (a zero image with an error).
FLAG_THIN, FLAG_UNSURE, FLAG_CHECK, FLAG_ROW = range(4)
# what a tested child is
KEPT, EMPTY, FLAGGED = range(3)


# The kernels below take their arrays one by one, unpacked from the tuples once per call of
# certify_run: an array read from a tuple inside the per-node loop costs a reference count
# increment and decrement (two atomic operations) each time.


@kernel(internal=True, refcounts=False)
def _record_empty(bits, reg, ebits, elen, eptr, epos, evals, eexp, qbuf, ybuf, ebuf, p, bit, nrows):
    """Record the certified drop ``bits[:p] + [bit]`` with ``Y = ybuf * 2^ebuf`` on ``qbuf`` (room checked)."""
    e = reg[R_NE]
    N = bits.shape[0]
    for q in range(p):
        ebits[e, q] = bits[q]
    ebits[e, p] = bit
    for q in range(p + 1, N):
        ebits[e, q] = 0
    elen[e] = p + 1
    nv = reg[R_NV]
    for i in range(nrows):
        epos[nv + i] = qbuf[i]
        evals[nv + i] = np.int64(ybuf[i])
        eexp[nv + i] = ebuf[i]
    nv += nrows
    eptr[e + 1] = nv
    reg[R_NV] = nv
    reg[R_NE] = e + 1


@kernel(internal=True, refcounts=False)
def _record_flag(bits, reg, fbits, flen, fwhy, p, bit, why):
    f = reg[R_NF]
    N = bits.shape[0]
    for q in range(p):
        fbits[f, q] = bits[q]
    fbits[f, p] = bit
    for q in range(p + 1, N):
        fbits[f, q] = 0
    flen[f] = p + 1
    fwhy[f] = why
    reg[R_NF] = f + 1


@kernel(internal=True, refcounts=False)
def _single_row(G, c, EG, Ec, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, p, bit):
    """Whether the child ``bit`` at position ``p`` is empty by its own row and the box (its
    certificate left in ``qbuf``, ``ybuf``, ``ebuf``)."""
    qbuf[0] = p
    sbuf[0] = -1.0 if bit == 1 else 1.0
    ybuf[0] = 1.0
    ebuf[0] = 0
    return support_test(G, c, EG, Ec, qbuf, sbuf, ybuf, 1, lo, hi, bmax)


@kernel(internal=True, refcounts=False)
def _farkas(lp, G, c, EG, Ec, bits, lpos, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, p, bit):
    """The dense simplex dropped the pushed child with ``t < 0``: its optimal dual on the pushed
    rows as integer multipliers (``qbuf``, ``sbuf``, mantissas ``ybuf``, ``ebuf``); returns how
    many rows they name when they pass the test, else 0."""
    l_bases = lp.bases
    l_binvs = lp.binvs
    l_ints = lp.ints
    n0 = G.shape[1]
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
                q = lpos[r - md]
                sg = 1.0
                if q == p:
                    sg = -1.0 if bit == 1 else 1.0
                elif bits[q] == 1:
                    sg = -1.0
                nrm = 0.0
                for k in range(n0):
                    nrm += G[q, k] * G[q, k]
                nrm = math.sqrt(nrm)
                if nrm == 0.0:
                    nrows = 0
                    break
                qbuf[nrows] = q
                sbuf[nrows] = sg
                ybuf[nrows] = lam / nrm
                nrows += 1
    if nrows > 0 and to_integers(ybuf, ebuf, nrows):
        top_e = 0
        for i in range(nrows):
            top_e = max(top_e, ebuf[i])
        for i in range(nrows):  # the mantissas kept; the multipliers over 2^top_e as floats for the test
            sbuf[nrows + i] = ybuf[i]
            ybuf[i] = math.ldexp(ybuf[i], ebuf[i] - top_e)
        if support_test(G, c, EG, Ec, qbuf, sbuf, ybuf, nrows, lo, hi, bmax):
            for i in range(nrows):
                ybuf[i] = sbuf[nrows + i]
            return nrows
    return 0


@kernel(internal=True, refcounts="always")
def _test(lp, x, point):
    """The dense simplex's test of the stack's top (with reference counts, which it needs)."""
    return stack_test(lp, x, point)


@kernel(internal=True, refcounts=False)
def _pop(lp):
    stack_pop(lp)


@kernel(internal=True, refcounts=False)
def _push_row(lp, G, c, lpos, unit, p, bit):
    """Push the unit row of position ``p`` in state ``bit`` (its level's position noted)."""
    n0 = G.shape[1]
    sg = -1.0 if bit == 1 else 1.0
    nrm = 0.0
    for k in range(n0):
        nrm += G[p, k] * G[p, k]
    nrm = math.sqrt(nrm)
    for k in range(n0):
        unit[k] = sg * G[p, k] / nrm
    lpos[lp.ints[S_LEVEL]] = p
    stack_push(lp, unit, 0, n0, 1.0, -sg * c[p] / nrm, -1.0)  # the dense stack keeps no norms


@kernel(internal=True, refcounts=False)
def _lp_child(lp, band, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, kx, kr, reg,
              ebits, elen, eptr, epos, evals, eexp, fbits, flen, fwhy, p, bit, d):
    """Push the row of ``bit`` at ``p``, test it and pop it: KEPT (the witness and radius in
    child slot ``d`` of depth ``p``), EMPTY (certified, recorded) or FLAGGED (recorded)."""
    n0 = G.shape[1]
    _push_row(lp, G, c, lpos, unit, p, bit)
    code, keep, radius, depth = _test(lp, x, point)
    reg[R_TESTS] += 1
    res = FLAGGED
    if code != DECIDED:
        _record_flag(bits, reg, fbits, flen, fwhy, p, bit, FLAG_UNSURE)
    elif keep:
        for k in range(n0):
            kx[p, d, k] = point[k]
        kr[p, d] = radius
        res = KEPT
    elif depth < -band:
        nrows = _farkas(lp, G, c, EG, Ec, bits, lpos, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, p, bit)
        if nrows > 0:
            _record_empty(bits, reg, ebits, elen, eptr, epos, evals, eexp, qbuf, ybuf, ebuf, p, bit, nrows)
            res = EMPTY
        else:
            _record_flag(bits, reg, fbits, flen, fwhy, p, bit, FLAG_CHECK)
    else:
        _record_flag(bits, reg, fbits, flen, fwhy, p, bit, FLAG_THIN)
    _pop(lp)
    return res


@kernel(internal=True, refcounts=False)
def _kid(kbit, kpush, kx, kr, p, slot, bit, push, x, r):
    kbit[p, slot] = bit
    kpush[p, slot] = push
    for k in range(x.shape[0]):
        kx[p, slot, k] = x[k]
    kr[p, slot] = r


@kernel(internal=True, refcounts=False)
def _prefilter(lp, band, offs, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, kr, reg,
               fixed, fq, fm, fe, fn, l):
    """At the entry of layer ``l``: each neuron whose hyperplane misses the witness ball gets its
    other side tested once on this node; when it is certified empty the neuron is fixed
    (``fixed``) below the node, its certificate kept (``fq``, ``fm``, ``fe``, ``fn``)."""
    n0 = G.shape[1]
    rho = kr[offs[l], 2]
    for q in range(offs[l], offs[l + 1]):
        fixed[q] = -1
        nrm = 0.0
        s = c[q]
        for k in range(n0):
            nrm += G[q, k] * G[q, k]
            s += G[q, k] * x[k]
        nrm = math.sqrt(nrm)
        if nrm == 0.0 or abs(s) < rho * nrm:
            continue
        w = 1 if s > 0.0 else 0
        _push_row(lp, G, c, lpos, unit, q, 1 - w)
        code, keep, radius, depth = _test(lp, x, point)
        reg[R_TESTS] += 1
        if code == DECIDED and not keep and depth < -band:
            nrows = _farkas(lp, G, c, EG, Ec, bits, lpos, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, q, 1 - w)
            if nrows > 0:
                fixed[q] = w
                fn[q] = nrows
                for i in range(nrows):
                    fq[q, i] = qbuf[i]
                    fm[q, i] = ybuf[i]
                    fe[q, i] = ebuf[i]
        _pop(lp)


@kernel(internal=True, refcounts=False)
def _expand(lp, eps, band, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, fixed, fq,
            fm, fe, fn, nk, kbit, kpush, kx, kr, reg, ebits, elen, eptr, epos, evals, eexp, fbits, flen, fwhy, p):
    """The children of the (non-empty) node at depth ``p``: kept ones in ``nk[p]``, the others recorded."""
    n0 = G.shape[1]
    rho = kr[p, 2]
    nrm = 0.0
    err = Ec[p]
    for k in range(n0):
        nrm += G[p, k] * G[p, k]
        err += EG[p, k]
    nrm = math.sqrt(nrm)
    if fixed[p] >= 0:  # fixed at the layer's entry: the other side by its certificate, no row
        keep = fixed[p]
        for i in range(fn[p]):
            qbuf[i] = fq[p, i]
            ybuf[i] = fm[p, i]
            ebuf[i] = fe[p, i]
        _record_empty(bits, reg, ebits, elen, eptr, epos, evals, eexp, qbuf, ybuf, ebuf, p, 1 - keep, fn[p])
        _kid(kbit, kpush, kx, kr, p, 0, keep, 0, x, rho)
        nk[p] = 1
        return
    if nrm == 0.0:
        if err != 0.0:  # a zero image that may not be exact
            _record_flag(bits, reg, fbits, flen, fwhy, p, 0, FLAG_ROW)
            _record_flag(bits, reg, fbits, flen, fwhy, p, 1, FLAG_ROW)
            nk[p] = 0
            return
        # a constant neuron (exact): the side of c's sign (off when c = 0) has no row; the other is empty
        keep = 1 if c[p] > 0.0 else 0
        if _single_row(G, c, EG, Ec, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, p, 1 - keep):
            _record_empty(bits, reg, ebits, elen, eptr, epos, evals, eexp, qbuf, ybuf, ebuf, p, 1 - keep, 1)
        else:
            _record_flag(bits, reg, fbits, flen, fwhy, p, 1 - keep, FLAG_CHECK)
        _kid(kbit, kpush, kx, kr, p, 0, keep, 0, x, rho)
        nk[p] = 1
        return
    s = c[p]
    for k in range(n0):
        s += G[p, k] * x[k]
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
            kx[p, 1, k] = x[k] + t * so * G[p, k] / nrm
        kr[p, 1] = (rho - delta) / 2
        other = KEPT
    elif _single_row(G, c, EG, Ec, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, p, o):
        _record_empty(bits, reg, ebits, elen, eptr, epos, evals, eexp, qbuf, ybuf, ebuf, p, o, 1)
        other = EMPTY
    else:
        other = _lp_child(lp, band, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, kx,
                          kr, reg, ebits, elen, eptr, epos, evals, eexp, fbits, flen, fwhy, p, o, 1)
    if other == EMPTY:  # the hyperplane misses the node: no row, the same witness
        _kid(kbit, kpush, kx, kr, p, 0, w, 0, x, rho)
        nk[p] = 1
        return
    n = 0
    r1 = rho if delta >= rho else (rho + delta) / 2
    if r1 > eps:  # the witness ball's part on its side holds a ball of radius r1
        t = 0.0 if delta >= rho else (rho - delta) / 2
        sw = 1.0 if w == 1 else -1.0
        for k in range(n0):
            point[k] = x[k] + t * sw * G[p, k] / nrm
        _kid(kbit, kpush, kx, kr, p, 0, w, 1, point, r1)
        n = 1
    elif _lp_child(lp, band, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax, kx, kr,
                   reg, ebits, elen, eptr, epos, evals, eexp, fbits, flen, fwhy, p, w, 0) == KEPT:
        kbit[p, 0] = w
        kpush[p, 0] = 1
        n = 1
    if other == KEPT:
        if n == 0:
            for k in range(n0):
                point[k] = kx[p, 1, k]
            _kid(kbit, kpush, kx, kr, p, 0, o, 1, point, kr[p, 1])
        else:
            kbit[p, 1] = o
            kpush[p, 1] = 1
        n += 1
    nk[p] = n


@kernel(internal=True, refcounts=False)
def _machine(lp, dims, widths, offs, woff, wflat, bflat, sprev, lo, hi, bmax, eps, band, reg, G, c, EG, Ec, bits, nk,
             kk, kbit, kpush, kx, kr, lpos, x, unit, point, ybuf, qbuf, sbuf, ebuf, fixed, fq, fm, fe, fn, lbits, lx,
             lr, ebits, elen, eptr, epos, evals, eexp, fbits, flen, fwhy, sbits, sx, sr):
    """The traversal of :func:`certify_run` over its arrays."""
    n0, L, N = dims[0], dims[1], dims[2]
    cap_l, cap_e, cap_f, cap_v = lbits.shape[0], ebits.shape[0], fbits.shape[0], epos.shape[0]
    while True:
        p = reg[R_P]
        if reg[R_PC] == PC_NODE:
            if reg[R_NL] >= cap_l or reg[R_NE] + 2 > cap_e or reg[R_NF] + 2 > cap_f or reg[R_NV] + 2 * (n0 + 1) > cap_v:
                return EV_FULL
            if reg[R_TESTS] >= reg[R_BUDGET]:
                return EV_BUDGET
            if p == reg[R_SPLIT] and p < N:  # parked for another process
                i = reg[R_NS]
                if i >= sbits.shape[0]:
                    return EV_FULL
                for q in range(p):
                    sbits[i, q] = bits[q]
                for k in range(n0):
                    sx[i, k] = x[k]
                sr[i] = kr[p, 2]
                reg[R_NS] = i + 1
                reg[R_PC] = PC_NEXT
                reg[R_P] = p - 1
                continue
            if p == reg[R_AT]:
                reg[R_SEEN] += 1
            if p == N:  # a leaf
                i = reg[R_NL]
                for q in range(N):
                    lbits[i, q] = bits[q]
                for k in range(n0):
                    lx[i, k] = x[k]
                lr[i] = kr[p, 2]
                reg[R_NL] = i + 1
                reg[R_PC] = PC_NEXT
                reg[R_P] = p - 1
                continue
            for l in range(L):
                if offs[l] == p:
                    if l > 0:
                        layer_maps(dims, widths, offs, woff, wflat, bflat, sprev, G, c, EG, Ec, bits, l)
                        for q in range(offs[l], offs[l + 1]):
                            if not math.isfinite(c[q]) or not math.isfinite(Ec[q]):
                                return EV_OVERFLOW
                    _prefilter(lp, band, offs, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo,
                               hi, bmax, kr, reg, fixed, fq, fm, fe, fn, l)
            _expand(lp, eps, band, G, c, EG, Ec, bits, lpos, unit, x, point, qbuf, sbuf, ybuf, ebuf, lo, hi, bmax,
                    fixed, fq, fm, fe, fn, nk, kbit, kpush, kx, kr, reg, ebits, elen, eptr, epos, evals, eexp, fbits,
                    flen, fwhy, p)
            kk[p] = 0
            reg[R_PC] = PC_NEXT
            continue
        # PC_NEXT: the next child of depth p (the previous one's row popped), or back up
        if p < reg[R_FLOOR]:
            return EV_DONE
        k = kk[p]
        if k > 0 and kpush[p, k - 1] != 0:
            _pop(lp)
        if k >= nk[p]:
            reg[R_P] = p - 1
            continue
        kk[p] = k + 1
        bit = kbit[p, k]
        bits[p] = bit
        if kpush[p, k] != 0:
            _push_row(lp, G, c, lpos, unit, p, bit)
        for q in range(n0):
            x[q] = kx[p, k, q]
        kr[p + 1, 2] = kr[p, k]
        reg[R_P] = p + 1
        reg[R_PC] = PC_NODE


@kernel()
def certify_run(net, lp, st, out):
    """Advance the traversal (module docstring) until done, a budget of tests, or full buffers."""
    return _machine(lp, net.dims, net.widths, net.offs, net.woff, net.wflat, net.bflat, net.sprev, net.lo, net.hi,
                    net.bmax, net.eps[0], net.band[0], st.reg, st.G, st.c, st.EG, st.Ec, st.bits, st.nk, st.kk,
                    st.kbit, st.kpush, st.kx, st.kr, st.lpos, st.x, st.unit, st.point, st.ybuf, st.qbuf, st.sbuf,
                    st.ebuf, st.fixed, st.fq, st.fm, st.fe, st.fn, out.lbits, out.lx, out.lr, out.ebits, out.elen,
                    out.eptr, out.epos, out.eval, out.eexp, out.fbits, out.flen, out.fwhy, out.sbits, out.sx, out.sr)


@kernel()
def certify_start(net, lp, st, p0):
    """Start the traversal at the parked node of depth ``p0`` (its bits in ``bits``, its witness in
    ``x`` and ``kr[p0, 2]``, the stack empty): the layer maps above it, its rows pushed (those of
    non-zero rows: a superset of the rows the parking traversal held), done when back above it."""
    n0, L = net.dims[0], net.dims[1]
    for l in range(L):
        o = net.offs[l]
        if 0 < l and o < p0:
            layer_maps(net.dims, net.widths, net.offs, net.woff, net.wflat, net.bflat, net.sprev, st.G, st.c, st.EG,
                       st.Ec, st.bits, l)
        if o < p0:
            for q in range(o, net.offs[l + 1]):
                st.fixed[q] = -1
    for q in range(p0):
        nrm = 0.0
        for k in range(n0):
            nrm += st.G[q, k] * st.G[q, k]
        if nrm > 0.0:
            _push_row(lp, st.G, st.c, st.lpos, st.unit, q, st.bits[q])
    st.reg[R_P] = p0
    st.reg[R_PC] = PC_NODE
    st.reg[R_FLOOR] = p0
    st.reg[R_SPLIT] = -1
