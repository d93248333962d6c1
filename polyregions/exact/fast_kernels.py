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

The integer maps ``G_l x + c_l`` of the prefix (``S_l z^l``, the checker's integer rows) are
carried as float64 images with an entrywise bound ``E`` of their error (Higham's model, as in
:mod:`polyregions.exact.point_filter`; every exact value is an integer, so nothing underflows):

    |fl(G_l) - G_l| <= F ((m + 2) u |Wi^l| diag(beta) |fl(G_{l-1})| + |Wi^l| diag(beta) E_{l-1})

(``c_l`` with its bias term ``|bi^l| s_{l-1}`` too; ``F`` = :data:`BOUND_FACTOR`). A drop's float
multipliers ``lam`` (the dense simplex's optimal dual on the unit rows, the Farkas ray of
the decision, as :meth:`polyregions.solvers.numba_lp.NumbaBackend.farkas` reads it) become
``lam_i / |a_i|`` on the integer rows, cut to :data:`SIGNIFICANT_BITS` bits and scaled by one
power of two to integers ``Y_i < 2^62`` (exact in float64). With ``v = sum Y_i a_i`` and
``s = sum Y_i b_i`` the certificate holds when ``s <= h(v) = sum_k min(v_k lo_k, v_k hi_k)``
over the box; it is accepted here when the computed ``T = h(fl(v)) - fl(s)`` exceeds ``F``
times the bound of its error:

    err(T) <= (n + 2) u (sum_k |v_k| B_k + |s|) + sum_k ev_k B_k + es,
    ev_k = (r + 2) u sum_i Y_i |a_ik| + sum_i Y_i E_ik    (es likewise),

with ``B_k = max(|lo_k|, |hi_k|)`` of the float box ``[lo, hi]`` that contains the exact box
(``h`` is ``B_k``-Lipschitz in ``v_k``, and the larger box only lowers ``h``). What this test
does not accept is never called empty: it goes to the exact path.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..solvers.jit import kernel
from ..solvers.stack_kernels import D_MD, DECIDED, S_LEVEL, stack_pop, stack_push, stack_test

__all__ = ["BOUND_FACTOR", "CertNet", "CertOut", "CertState", "EV_DONE", "EV_BUDGET", "EV_FULL", "EV_OVERFLOW",
           "FLAG_THIN", "FLAG_UNSURE", "FLAG_CHECK", "FLAG_ROW", "SIGNIFICANT_BITS", "certify_run"]

#: The computed margin must exceed this many times its rounding error bound (as the point filter's).
BOUND_FACTOR = 8.0
#: Significant bits kept of each float multiplier (a compact certificate).
SIGNIFICANT_BITS = 24
#: Largest exponent difference between two multipliers of one certificate (rows of different
#: layers differ by their layers' denominators: 2^60 and more for float64 weights).
MAX_SPREAD = 600
#: Multipliers below this fraction of the largest are left out.
SUPPORT_RTOL = 1e-9
_UNIT = 2.0 ** -53

#: The network: ``dims = (n0, layers, N)``; per layer its width, first position ``offs``, the
#: offset of its integer weights ``Wi`` (row-major, ``wflat``) and their scale ``sprev``
#: (``s_{l-1}``, the product of the earlier layers' denominators; 1 for the first); biases
#: ``bi`` by position; the float box ``lo, hi`` around the exact one and ``bmax``.
CertNet = namedtuple("CertNet", ["dims", "widths", "offs", "woff", "wflat", "bflat", "sprev", "lo", "hi", "bmax",
                                 "eps", "band"])
#: The traversal: registers ``reg``; per position its image row ``G``, ``c`` and their error
#: bounds ``EG``, ``Ec``, the pattern ``bits``; per depth its children (``nk``, ``kk``, bit,
#: pushed, witness, radius); per stack level the position of its row ``lpos``; scratch.
CertState = namedtuple("CertState", ["reg", "G", "c", "EG", "Ec", "bits", "nk", "kk", "kbit", "kpush", "kx", "kr",
                                     "lpos", "x", "unit", "point", "ybuf", "qbuf", "sbuf", "ebuf"])
#: The records: leaves (``lbits``, ``lx``, ``lr``), certified drops (``ebits``, ``elen``, CSR
#: ``eptr``, ``epos``, multipliers ``eval * 2^eexp``), flagged branches (``fbits``, ``flen``, ``fwhy``).
CertOut = namedtuple("CertOut", ["lbits", "lx", "lr", "ebits", "elen", "eptr", "epos", "eval", "eexp", "fbits",
                                 "flen", "fwhy"])

EV_DONE, EV_BUDGET, EV_FULL, EV_OVERFLOW = range(4)
# registers: depth, program counter, leaves, drops, multipliers, flagged, the test budget, tests run
R_P, R_PC, R_NL, R_NE, R_NV, R_NF, R_BUDGET, R_TESTS = range(8)
PC_NODE, PC_NEXT = range(2)
#: Why a branch is flagged: thinner than eps (not proven empty), the simplex unsure, the
#: certificate's test failed, the row's float image unsure (a zero image with an error).
FLAG_THIN, FLAG_UNSURE, FLAG_CHECK, FLAG_ROW = range(4)
# what a tested child is
KEPT, EMPTY, FLAGGED = range(3)


@kernel(internal=True)
def _layer_maps(net, st, l):
    """``G``, ``c`` and their bounds for layer ``l >= 1`` from layer ``l - 1`` under ``bits``."""
    n0 = net.dims[0]
    w, o = net.widths[l], net.offs[l]
    fan, po = net.widths[l - 1], net.offs[l - 1]
    wo = net.woff[l]
    s = net.sprev[l]
    gam = (fan + 3) * _UNIT
    G, c, EG, Ec, bits = st.G, st.c, st.EG, st.Ec, st.bits
    for i in range(w):
        r = o + i
        for k in range(n0):
            acc = 0.0
            aab = 0.0
            aer = 0.0
            for j in range(fan):
                if bits[po + j] != 0:
                    wv = net.wflat[wo + i * fan + j]
                    g = G[po + j, k]
                    acc += wv * g
                    aab += abs(wv) * abs(g)
                    aer += abs(wv) * EG[po + j, k]
            G[r, k] = acc
            EG[r, k] = BOUND_FACTOR * (gam * aab + aer)
        bv = net.bflat[r]
        acc = bv * s
        aab = abs(bv) * s
        aer = 0.0
        for j in range(fan):
            if bits[po + j] != 0:
                wv = net.wflat[wo + i * fan + j]
                acc += wv * c[po + j]
                aab += abs(wv) * abs(c[po + j])
                aer += abs(wv) * Ec[po + j]
        c[r] = acc
        Ec[r] = BOUND_FACTOR * (gam * aab + aer)


@kernel(internal=True)
def _checked(net, st, nrows):
    """Whether ``Y = ybuf[:nrows]`` on the rows at positions ``qbuf`` with signs ``sbuf``
    (+1: off, ``G x < -c``; -1: on, ``-G x < c``) passes the proven support test (module docstring)."""
    n0 = net.dims[0]
    G, c, EG, Ec = st.G, st.c, st.EG, st.Ec
    gam = (nrows + 3) * _UNIT
    tot = 0.0
    absum = 0.0
    err = 0.0
    for k in range(n0):
        v = 0.0
        ab = 0.0
        ev = 0.0
        for i in range(nrows):
            q = st.qbuf[i]
            y = st.ybuf[i]
            a = st.sbuf[i] * G[q, k]
            v += y * a
            ab += y * abs(a)
            ev += y * EG[q, k]
        lo, hi = net.lo[k], net.hi[k]
        tot += min(v * lo, v * hi)
        absum += abs(v) * net.bmax[k]
        err += (gam * ab + ev) * net.bmax[k]
    s = 0.0
    ab = 0.0
    es = 0.0
    for i in range(nrows):
        q = st.qbuf[i]
        y = st.ybuf[i]
        b = -st.sbuf[i] * c[q]
        s += y * b
        ab += y * abs(b)
        es += y * Ec[q]
    margin = tot - s
    bound = (n0 + 3) * _UNIT * (absum + abs(s)) + err + gam * ab + es
    if not (math.isfinite(margin) and math.isfinite(bound)):
        return False
    return margin >= BOUND_FACTOR * bound


@kernel(internal=True)
def _to_integers(st, nrows):
    """``ybuf[:nrows]`` (positive floats) cut to ``SIGNIFICANT_BITS`` bits and scaled by one power
    of two to integers ``mantissa * 2^ebuf`` (``ebuf >= 0``; in place, exact floats); False when
    their spread exceeds :data:`MAX_SPREAD` bits."""
    emin = 10 ** 6
    emax = -10 ** 6
    for i in range(nrows):
        m, e = math.frexp(st.ybuf[i])
        st.ybuf[i] = math.floor(m * 2.0 ** SIGNIFICANT_BITS)  # in [2^23, 2^24)
        e -= SIGNIFICANT_BITS
        if e < emin:
            emin = e
        if e > emax:
            emax = e
        st.ebuf[i] = e
    if emax - emin > MAX_SPREAD:
        return False
    for i in range(nrows):
        st.ebuf[i] -= emin
    return True


@kernel(internal=True)
def _record_empty(st, out, p, bit, nrows):
    """Record the certified drop ``bits[:p] + [bit]`` with ``Y = ybuf * 2^ebuf`` on ``qbuf`` (room checked)."""
    e = st.reg[R_NE]
    N = st.bits.shape[0]
    for q in range(p):
        out.ebits[e, q] = st.bits[q]
    out.ebits[e, p] = bit
    for q in range(p + 1, N):
        out.ebits[e, q] = 0
    out.elen[e] = p + 1
    nv = st.reg[R_NV]
    for i in range(nrows):
        out.epos[nv + i] = st.qbuf[i]
        out.eval[nv + i] = np.int64(st.ybuf[i])
        out.eexp[nv + i] = st.ebuf[i]
    nv += nrows
    out.eptr[e + 1] = nv
    st.reg[R_NV] = nv
    st.reg[R_NE] = e + 1


@kernel(internal=True)
def _record_flag(st, out, p, bit, why):
    f = st.reg[R_NF]
    N = st.bits.shape[0]
    for q in range(p):
        out.fbits[f, q] = st.bits[q]
    out.fbits[f, p] = bit
    for q in range(p + 1, N):
        out.fbits[f, q] = 0
    out.flen[f] = p + 1
    out.fwhy[f] = why
    st.reg[R_NF] = f + 1


@kernel(internal=True)
def _single_row(net, st, out, p, bit):
    """The child ``bit`` at position ``p`` empty by its own row and the box: recorded, True."""
    st.qbuf[0] = p
    st.sbuf[0] = -1.0 if bit == 1 else 1.0
    st.ybuf[0] = 1.0
    st.ebuf[0] = 0
    if _checked(net, st, 1):
        _record_empty(st, out, p, bit, 1)
        return True
    return False


@kernel(internal=True)
def _farkas(net, lp, st, out, p, bit):
    """The dense simplex dropped the pushed child with ``t < 0``: its optimal dual on the pushed
    rows as integer multipliers, recorded when they pass the test (True); else flagged (False)."""
    n0 = net.dims[0]
    lvl = lp.ints[S_LEVEL]
    md = lp.ints[D_MD]
    top = 0.0
    for i in range(n0 + 1):
        if lp.bases[lvl, i] >= md and lp.binvs[lvl, n0, i] > top:
            top = lp.binvs[lvl, n0, i]
    nrows = 0
    if top > 0.0:
        for i in range(n0 + 1):
            r = lp.bases[lvl, i]
            lam = lp.binvs[lvl, n0, i]
            if r >= md and lam > SUPPORT_RTOL * top:
                q = st.lpos[r - md]
                sg = 1.0
                if q == p:
                    sg = -1.0 if bit == 1 else 1.0
                elif st.bits[q] == 1:
                    sg = -1.0
                nrm = 0.0
                for k in range(n0):
                    nrm += st.G[q, k] * st.G[q, k]
                nrm = math.sqrt(nrm)
                if nrm == 0.0:
                    nrows = 0
                    break
                st.qbuf[nrows] = q
                st.sbuf[nrows] = sg
                st.ybuf[nrows] = lam / nrm
                nrows += 1
    if nrows > 0 and _to_integers(st, nrows):
        top_e = 0
        for i in range(nrows):
            top_e = max(top_e, st.ebuf[i])
        for i in range(nrows):  # the mantissas kept; the multipliers over 2^top_e as floats for the test
            st.sbuf[nrows + i] = st.ybuf[i]
            st.ybuf[i] = math.ldexp(st.ybuf[i], st.ebuf[i] - top_e)
        if _checked(net, st, nrows):
            for i in range(nrows):
                st.ybuf[i] = st.sbuf[nrows + i]
            _record_empty(st, out, p, bit, nrows)
            return True
    _record_flag(st, out, p, bit, FLAG_CHECK)
    return False


@kernel(internal=True)
def _push_row(lp, st, n0, p, bit):
    """Push the unit row of position ``p`` in state ``bit`` (its level's position noted)."""
    sg = -1.0 if bit == 1 else 1.0
    nrm = 0.0
    for k in range(n0):
        nrm += st.G[p, k] * st.G[p, k]
    nrm = math.sqrt(nrm)
    for k in range(n0):
        st.unit[k] = sg * st.G[p, k] / nrm
    st.lpos[lp.ints[S_LEVEL]] = p
    stack_push(lp, st.unit, 0, n0, 1.0, -sg * st.c[p] / nrm)


@kernel(internal=True)
def _lp_child(net, lp, st, out, p, bit, d):
    """Push the row of ``bit`` at ``p``, test it and pop it: KEPT (the witness and radius in
    child slot ``d`` of depth ``p``), EMPTY (certified, recorded) or FLAGGED (recorded)."""
    n0 = net.dims[0]
    _push_row(lp, st, n0, p, bit)
    code, keep, radius, depth = stack_test(lp, st.x, st.point)
    st.reg[R_TESTS] += 1
    res = FLAGGED
    if code != DECIDED:
        _record_flag(st, out, p, bit, FLAG_UNSURE)
    elif keep:
        for k in range(n0):
            st.kx[p, d, k] = st.point[k]
        st.kr[p, d] = radius
        res = KEPT
    elif depth < -net.band[0]:
        if _farkas(net, lp, st, out, p, bit):
            res = EMPTY
    else:
        _record_flag(st, out, p, bit, FLAG_THIN)
    stack_pop(lp)
    return res


@kernel(internal=True)
def _kid(st, p, slot, bit, push, n0, x, r):
    st.kbit[p, slot] = bit
    st.kpush[p, slot] = push
    for k in range(n0):
        st.kx[p, slot, k] = x[k]
    st.kr[p, slot] = r


@kernel(internal=True)
def _expand(net, lp, st, out, p):
    """The children of the (non-empty) node at depth ``p``: kept ones in ``nk[p]``, the others recorded."""
    n0 = net.dims[0]
    eps = net.eps[0]
    rho = st.kr[p, 2]
    nrm = 0.0
    err = st.Ec[p]
    for k in range(n0):
        nrm += st.G[p, k] * st.G[p, k]
        err += st.EG[p, k]
    nrm = math.sqrt(nrm)
    if nrm == 0.0:
        if err != 0.0:  # a zero image that may not be exact
            _record_flag(st, out, p, 0, FLAG_ROW)
            _record_flag(st, out, p, 1, FLAG_ROW)
            st.nk[p] = 0
            return
        # a constant neuron (exact): the side of c's sign (off when c = 0) has no row; the other is empty
        keep = 1 if st.c[p] > 0.0 else 0
        if not _single_row(net, st, out, p, 1 - keep):
            _record_flag(st, out, p, 1 - keep, FLAG_CHECK)
        _kid(st, p, 0, keep, 0, n0, st.x, rho)
        st.nk[p] = 1
        return
    s = st.c[p]
    for k in range(n0):
        s += st.G[p, k] * st.x[k]
    s /= nrm  # > 0: the witness is on the on side
    w = 1 if s > 0.0 else 0
    delta = abs(s)
    o = 1 - w
    # the other side: its row and the box alone, else the dense simplex (kept in slot 1)
    other = EMPTY if _single_row(net, st, out, p, o) else _lp_child(net, lp, st, out, p, o, 1)
    if other == EMPTY:  # the hyperplane misses the node: no row, the same witness
        _kid(st, p, 0, w, 0, n0, st.x, rho)
        st.nk[p] = 1
        return
    nk = 0
    r1 = rho if delta >= rho else (rho + delta) / 2
    if r1 > eps:  # the witness ball's part on its side holds a ball of radius r1
        t = 0.0 if delta >= rho else (rho - delta) / 2
        sw = 1.0 if w == 1 else -1.0
        for k in range(n0):
            st.point[k] = st.x[k] + t * sw * st.G[p, k] / nrm
        _kid(st, p, 0, w, 1, n0, st.point, r1)
        nk = 1
    elif _lp_child(net, lp, st, out, p, w, 0) == KEPT:
        st.kbit[p, 0] = w
        st.kpush[p, 0] = 1
        nk = 1
    if other == KEPT:
        if nk == 0:
            for k in range(n0):
                st.point[k] = st.kx[p, 1, k]
            _kid(st, p, 0, o, 1, n0, st.point, st.kr[p, 1])
        else:
            st.kbit[p, 1] = o
            st.kpush[p, 1] = 1
        nk += 1
    st.nk[p] = nk


@kernel()
def certify_run(net, lp, st, out):
    """Advance the traversal (module docstring) until done, a budget of tests, or full buffers."""
    n0, L, N = net.dims[0], net.dims[1], net.dims[2]
    reg = st.reg
    cap_l, cap_e, cap_f, cap_v = out.lbits.shape[0], out.ebits.shape[0], out.fbits.shape[0], out.epos.shape[0]
    while True:
        p = reg[R_P]
        if reg[R_PC] == PC_NODE:
            if reg[R_NL] >= cap_l or reg[R_NE] + 2 > cap_e or reg[R_NF] + 2 > cap_f or reg[R_NV] + 2 * (n0 + 1) > cap_v:
                return EV_FULL
            if reg[R_TESTS] >= reg[R_BUDGET]:
                return EV_BUDGET
            if p == N:  # a leaf
                i = reg[R_NL]
                for q in range(N):
                    out.lbits[i, q] = st.bits[q]
                for k in range(n0):
                    out.lx[i, k] = st.x[k]
                out.lr[i] = st.kr[p, 2]
                reg[R_NL] = i + 1
                reg[R_PC] = PC_NEXT
                reg[R_P] = p - 1
                continue
            for l in range(1, L):
                if net.offs[l] == p:
                    _layer_maps(net, st, l)
                    for q in range(net.offs[l], net.offs[l + 1]):
                        if not math.isfinite(st.c[q]) or not math.isfinite(st.Ec[q]):
                            return EV_OVERFLOW
            _expand(net, lp, st, out, p)
            st.kk[p] = 0
            reg[R_PC] = PC_NEXT
            continue
        # PC_NEXT: the next child of depth p (the previous one's row popped), or back up
        if p < 0:
            return EV_DONE
        k = st.kk[p]
        if k > 0 and st.kpush[p, k - 1] != 0:
            stack_pop(lp)
        if k >= st.nk[p]:
            reg[R_P] = p - 1
            continue
        st.kk[p] = k + 1
        bit = st.kbit[p, k]
        st.bits[p] = bit
        if st.kpush[p, k] != 0:
            _push_row(lp, st, n0, p, bit)
        for q in range(n0):
            st.x[q] = st.kx[p, k, q]
        st.kr[p + 1, 2] = st.kr[p, k]
        reg[R_P] = p + 1
        reg[R_PC] = PC_NODE
