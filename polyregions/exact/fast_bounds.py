"""The proven float64 tests of the compiled certified count (:mod:`polyregions.exact.fast_kernels`).

The integer maps ``G_l x + c_l`` of the prefix (``S_l z^l``, the checker's integer rows) are
carried as float64 images with an entrywise bound ``E`` of their error (Higham's model, as in
:mod:`polyregions.exact.point_filter`; every exact value is an integer, so nothing underflows):

    |fl(G_l) - G_l| <= F ((m + 2) u |Wi^l| diag(beta) |fl(G_{l-1})| + |Wi^l| diag(beta) E_{l-1})

(``c_l`` with its bias term ``|bi^l| s_{l-1}`` too; ``F`` = :data:`BOUND_FACTOR`). A drop's float
multipliers ``lam`` (the dense simplex's optimal dual on the unit rows, the Farkas ray of
the decision, as :meth:`polyregions.solvers.numba_lp.NumbaBackend.farkas` reads it) become
``lam_i / |a_i|`` on the integer rows, cut to :data:`SIGNIFICANT_BITS` bits and scaled by one
power of two to integers ``Y_i = m_i 2^(e_i)`` (``m_i < 2^24``; the test reads them over one
common power of two, exact in float64). With ``v = sum Y_i a_i`` and
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

from ..solvers.jit import kernel

__all__ = ["BOUND_FACTOR", "MAX_SPREAD", "SIGNIFICANT_BITS", "layer_maps", "support_test", "to_integers"]

#: The computed margin must exceed this many times its rounding error bound (as the point filter's).
BOUND_FACTOR = 8.0
#: Significant bits kept of each float multiplier (a compact certificate).
SIGNIFICANT_BITS = 24
#: Largest exponent difference between two multipliers of one certificate (rows of different
#: layers differ by their layers' denominators: 2^60 and more for float64 weights).
MAX_SPREAD = 600
_UNIT = 2.0 ** -53


@kernel(internal=True, refcounts=False)
def layer_maps(n_dims, n_widths, n_offs, n_woff, n_wflat, n_bflat, n_sprev, G, c, EG, Ec, bits, l):
    """``G``, ``c`` and their bounds ``EG``, ``Ec`` for layer ``l >= 1`` from layer ``l - 1`` under ``bits``."""
    n0 = n_dims[0]
    w, o = n_widths[l], n_offs[l]
    fan, po = n_widths[l - 1], n_offs[l - 1]
    wo = n_woff[l]
    s = n_sprev[l]
    gam = (fan + 3) * _UNIT
    for i in range(w):
        r = o + i
        for k in range(n0):
            acc = 0.0
            aab = 0.0
            aer = 0.0
            for j in range(fan):
                if bits[po + j] != 0:
                    wv = n_wflat[wo + i * fan + j]
                    g = G[po + j, k]
                    acc += wv * g
                    aab += abs(wv) * abs(g)
                    aer += abs(wv) * EG[po + j, k]
            G[r, k] = acc
            EG[r, k] = BOUND_FACTOR * (gam * aab + aer)
        bv = n_bflat[r]
        acc = bv * s
        aab = abs(bv) * s
        aer = 0.0
        for j in range(fan):
            if bits[po + j] != 0:
                wv = n_wflat[wo + i * fan + j]
                acc += wv * c[po + j]
                aab += abs(wv) * abs(c[po + j])
                aer += abs(wv) * Ec[po + j]
        c[r] = acc
        Ec[r] = BOUND_FACTOR * (gam * aab + aer)


@kernel()
def support_test(G, c, EG, Ec, qbuf, sbuf, ybuf, nrows, lo, hi, bmax):
    """Whether the multipliers ``ybuf[:nrows]`` (exact floats) on the integer rows at positions
    ``qbuf`` with signs ``sbuf`` (+1: off, ``G x < -c``; -1: on, ``-G x < c``), whose float
    images ``G``, ``c`` are within ``EG``, ``Ec``, prove the branch empty in the box ``[lo, hi]``
    (``bmax = max(|lo|, |hi|)``): the computed margin ``h(v) - s`` exceeds ``BOUND_FACTOR``
    times its error bound (module docstring)."""
    n0 = G.shape[1]
    gam = (nrows + 3) * _UNIT
    tot = 0.0
    absum = 0.0
    err = 0.0
    for k in range(n0):
        v = 0.0
        ab = 0.0
        ev = 0.0
        for i in range(nrows):
            q = qbuf[i]
            y = ybuf[i]
            a = sbuf[i] * G[q, k]
            v += y * a
            ab += y * abs(a)
            ev += y * EG[q, k]
        tot += min(v * lo[k], v * hi[k])
        absum += abs(v) * bmax[k]
        err += (gam * ab + ev) * bmax[k]
    s = 0.0
    ab = 0.0
    es = 0.0
    for i in range(nrows):
        q = qbuf[i]
        y = ybuf[i]
        b = -sbuf[i] * c[q]
        s += y * b
        ab += y * abs(b)
        es += y * Ec[q]
    margin = tot - s
    bound = (n0 + 3) * _UNIT * (absum + abs(s)) + err + gam * ab + es
    if not (math.isfinite(margin) and math.isfinite(bound)):
        return False
    return margin >= BOUND_FACTOR * bound


@kernel(internal=True, refcounts=False)
def to_integers(s_ybuf, s_ebuf, nrows):
    """``ybuf[:nrows]`` (positive floats) cut to ``SIGNIFICANT_BITS`` bits and scaled by one power
    of two to integers ``mantissa * 2^ebuf`` (``ebuf >= 0``; in place, exact floats); False when
    their spread exceeds :data:`MAX_SPREAD` bits."""
    emin = 10 ** 6
    emax = -10 ** 6
    for i in range(nrows):
        m, e = math.frexp(s_ybuf[i])
        s_ybuf[i] = math.floor(m * 2.0 ** SIGNIFICANT_BITS)  # in [2^23, 2^24)
        e -= SIGNIFICANT_BITS
        if e < emin:
            emin = e
        if e > emax:
            emax = e
        s_ebuf[i] = e
    if emax - emin > MAX_SPREAD:
        return False
    for i in range(nrows):
        s_ebuf[i] -= emin
    return True
