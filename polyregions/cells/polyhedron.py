"""Compiled kernels for convex polyhedra in 3-D: splitting by planes, volumes, inradii.

A cell is a convex polyhedron in orthonormal coordinates ``y``: its vertices, and its faces,
each a cycle of vertex indices ordered counter-clockwise seen from outside, with the face's
plane ``n . y <= beta`` (``n`` a unit outward normal, stored as ``(n_0, n_1, n_2, beta)``)
and a label: ``-1 - r`` for the domain's row ``r``, else the global index of the neuron whose
zero set holds the face. A batch of cells is stored in CSR form: ``cv`` (vertex offsets of
each cell), ``V`` (vertices), ``cf`` (face offsets), ``P`` (planes), ``L`` (labels), ``fi``
(offsets of each face's indices in ``FI``) and ``FI`` (vertex indices, local to the cell).

:func:`split_cells` refines cells by the neurons of one layer, as
:func:`polyregions.cells.polygon.split_cells` does in the plane. For cell ``k`` and neuron ``j``
the pre-activation ``z = A[k, 0, j] y_0 + A[k, 1, j] y_1 + A[k, 2, j] y_2 + A[k, 3, j]`` is
evaluated afresh at every vertex; it is zero there when ``|z| <= ZERO_RTOL * s``, with ``s``
the same sum taken with absolute values (``S``, the size of the terms summed) and every
coordinate's size counted as at least ``yscale``, the domain's largest coordinate: a vertex
made by interpolation carries an absolute error of that size's rounding, so a vertex within
about ``ZERO_RTOL * yscale`` of a plane is on it, also near the origin (where ``|y|`` alone
would let a vertex off by 1e-17 make a face of no area). Where that tolerance is coarser than
eps (``tol > eps |g|``: large coordinates, or a tiny eps), such a decision may drop, or keep, a
region that eps alone would decide otherwise: it is counted with the near-eps decisions
(``stats[0]``), as in the plane. Then:

* no vertex with ``z > tol``: the neuron is off (a neuron identically zero on the cell, a
  plane through a vertex, along an edge or holding a face);
* no vertex with ``z < -tol``: the neuron is on;
* otherwise the cell is cut in two. A vertex on the zero set goes to both children; each
  edge whose ends have strictly opposite signs is crossed once, at
  ``v_a + z_a / (z_a - z_b) (v_b - v_a)`` with ``a < b`` (one vertex, shared by the two
  faces of the edge and by both children). Each face is clipped as a polygon (its vertices
  with ``side * z >= 0`` and the crossings of its edges); a clipped face with fewer than three
  vertices is dropped. The new face (the cap) is closed from the clipped faces themselves:
  on a closed surface every edge is traversed once in each direction, so the edges traversed
  once only, all with both ends on the zero set, bound the hole, and the cap is their cycle
  reversed (outward orientation by construction). Should that cycle not be simple (vertices
  decided on the zero set within the tolerance that no exact plane could hold together), the
  cap's vertices are ordered by angle around their mean, and the event is counted.

A bounding ball (the vertices' mean and largest distance) decides first when every vertex
would get the same sign (the short-cut of the planar kernels, with the same slack).

A child is kept when it contains a ball of radius ``eps``. With volume ``V`` and surface area
``F``, ``V / F <= r <= 3 V / F`` for the inradius ``r`` of a convex body: the inner parallel
body at distance ``t`` loses volume at the rate of its surface area, at most ``F``, so it is
non-empty for ``t < V / F``; and the pyramids from the centre of an inscribed ball of radius
``r`` to the faces, of heights at least ``r``, fill ``V >= r F / 3``. Only when these bounds
straddle ``[eps / near, near eps]`` is ``r`` computed (:func:`inradius`, the Chebyshev LP
``max t s.t. n_i . y + t <= beta_i`` solved by enumerating its vertices), and the decision
counted as near ``eps`` when ``r`` lies in that interval. ``V`` is a sum of ``T`` triple
products of vertex differences of size up to ``D`` (the fan triangles, from the first vertex):
its rounding is at most ``VOLUME_ROUNDING * T (T + 6) D^3``, and the bounds are taken with ``V``
moved by that much towards the straddle (a needle of inradius ``r`` and length ``D`` has
``V ~ r^2 D``, below that rounding once ``r < 1e-7 D``: there ``V`` says nothing, ``r`` decides).
Volumes, areas and inradii are in :mod:`polyregions.cells.polyhedron_measure`.
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel

from .polygon import DISC_SLACK, ZERO_RTOL
from .polyhedron_measure import VOLUME_ROUNDING, inradius, volume_area, volume_rounding

__all__ = ["VOLUME_ROUNDING", "ZERO_RTOL", "split_cells"]

@kernel()
def _keep(av, vs, fs, fm, af_s, af_c, ai, af_p, eps, near, stats, vm):
    """Whether the child holds a ball of radius ``eps`` (module docstring)."""
    if fm < 4 or vm < 4:
        return False
    vol, area = volume_area(av, vs, fs, fm, af_s, af_c, ai)
    err = volume_rounding(av, vs, vm, af_c, fs, fm)
    if vol + err <= 0.0 or area <= 0.0:
        return False
    if (vol - err) / area > near * eps:
        return True
    if 3.0 * (vol + err) / area < eps / near:
        return False
    r = inradius(af_p, fs, fm, av, vs, vm)[0]
    stats[1] += 1
    if eps / near <= r <= near * eps:
        stats[0] += 1
    return r > eps


@kernel()
def _ball(av, vs, vm):
    """A ball holding the polyhedron: the vertices' mean and the largest distance to a vertex."""
    cx = 0.0
    cy = 0.0
    cz = 0.0
    for i in range(vm):
        cx += av[vs + i, 0] / vm
        cy += av[vs + i, 1] / vm
        cz += av[vs + i, 2] / vm
    reach = 0.0
    for i in range(vm):
        d = (av[vs + i, 0] - cx) ** 2 + (av[vs + i, 1] - cy) ** 2 + (av[vs + i, 2] - cz) ** 2
        reach = max(reach, d)
    return cx, cy, cz, math.sqrt(reach)


@kernel()
def _crossing(xa, xb, nx, a, b):
    """The index of the crossing of edge ``{a, b}`` among the ``nx`` recorded, or -1."""
    lo, hi = min(a, b), max(a, b)
    for q in range(nx):
        if xa[q] == lo and xb[q] == hi:
            return q
    return -1


@kernel()
def _order_by_angle(av, base, ids, k, nrm):
    """Order ``ids[:k]`` (vertex indices from ``base``) counter-clockwise around ``nrm``."""
    cx = 0.0
    cy = 0.0
    cz = 0.0
    for i in range(k):
        cx += av[base + ids[i], 0] / k
        cy += av[base + ids[i], 1] / k
        cz += av[base + ids[i], 2] / k
    # e1 any unit vector orthogonal to nrm, e2 = nrm x e1
    if abs(nrm[0]) < 0.9:
        e1x, e1y, e1z = 0.0, -nrm[2], nrm[1]
    else:
        e1x, e1y, e1z = nrm[2], 0.0, -nrm[0]
    nn = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / nn, e1y / nn, e1z / nn
    e2x = nrm[1] * e1z - nrm[2] * e1y
    e2y = nrm[2] * e1x - nrm[0] * e1z
    e2z = nrm[0] * e1y - nrm[1] * e1x
    ang = np.empty(k)
    for i in range(k):
        dx, dy, dz = av[base + ids[i], 0] - cx, av[base + ids[i], 1] - cy, av[base + ids[i], 2] - cz
        ang[i] = math.atan2(dx * e2x + dy * e2y + dz * e2z, dx * e1x + dy * e1y + dz * e1z)
    # insertion sort (k is small; numpy's sort orders so too below 16 items): no sort to compile
    for i in range(1, k):
        a, v = ang[i], ids[i]
        j = i - 1
        while j >= 0 and ang[j] > a:
            ang[j + 1], ids[j + 1] = ang[j], ids[j]
            j -= 1
        ang[j + 1], ids[j + 1] = a, v


@kernel()
def _child(av, af_p, af_l, af_s, af_c, ai, vs, vm, fs, fm, sg, side, xa, xb, xpos, nx, cap_plane, cap_label,
           tv, tf, ti, vmap, onp, eu, ev, stats):
    """Write the part of the polyhedron ``(vs, vm, fs, fm)`` where ``side * z >= 0`` at the tops
    ``(tv, tf, ti)`` of the arena (module docstring); return its ``(vm, fm, im)``."""
    # vertices: the parent's on this side, then the crossings
    cnt = 0
    for i in range(vm):
        if sg[i] * side >= 0:
            vmap[i] = cnt
            onp[cnt] = sg[i] == 0
            av[tv + cnt, 0], av[tv + cnt, 1], av[tv + cnt, 2] = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
            cnt += 1
        else:
            vmap[i] = -1
    for q in range(nx):
        vmap[vm + q] = cnt
        onp[cnt] = True
        av[tv + cnt, 0], av[tv + cnt, 1], av[tv + cnt, 2] = xpos[q, 0], xpos[q, 1], xpos[q, 2]
        cnt += 1
    # faces: each clipped as a polygon; edges with both ends on the zero set recorded
    out_f = tf
    out_i = ti
    ne = 0
    for f in range(fs, fs + fm):
        s, m = af_s[f], af_c[f]
        e0 = out_i
        for i in range(m):
            a = ai[s + i]
            b = ai[s + (i + 1) % m]
            si = sg[a] * side
            sn = sg[b] * side
            if si >= 0:
                ai[out_i] = vmap[a]
                out_i += 1
            if (si > 0 and sn < 0) or (si < 0 and sn > 0):
                ai[out_i] = vmap[vm + _crossing(xa, xb, nx, a, b)]
                out_i += 1
        e = out_i - e0
        if e < 3:
            out_i = e0
            continue
        for i in range(e):
            u = ai[e0 + i]
            w = ai[e0 + (i + 1) % e]
            if onp[u] and onp[w]:
                eu[ne], ev[ne] = u, w
                ne += 1
        af_s[out_f], af_c[out_f], af_l[out_f] = e0, e, af_l[f]
        for q in range(4):
            af_p[out_f, q] = af_p[f, q]
        out_f += 1
    # the cap: the edges traversed once, reversed (stored after the edges), chained into one cycle
    k = 0
    for q in range(ne):
        matched = False
        for r in range(ne):
            if eu[r] == ev[q] and ev[r] == eu[q]:
                matched = True
                break
        if not matched:
            eu[ne + k], ev[ne + k] = ev[q], eu[q]
            k += 1
    if k >= 3:
        c0 = out_i
        ai[out_i] = eu[ne]
        out_i += 1
        cur = ev[ne]
        ok = True
        steps = 1
        while cur != eu[ne]:
            nxt = -1
            for q in range(ne, ne + k):
                if eu[q] == cur:
                    if nxt >= 0:
                        ok = False
                    nxt = q
            if nxt < 0 or steps >= k:
                ok = False
                break
            ai[out_i] = cur
            out_i += 1
            cur = ev[nxt]
            steps += 1
        if not ok or steps != k:
            # not one simple cycle: the distinct vertices of these edges, ordered by angle
            stats[3] += 1
            out_i = c0
            for q in range(ne, ne + k):
                dup = False
                for r in range(c0, out_i):
                    if ai[r] == eu[q]:
                        dup = True
                        break
                if not dup:
                    ai[out_i] = eu[q]
                    out_i += 1
            nrm = np.empty(3)
            nrm[0], nrm[1], nrm[2] = cap_plane[0], cap_plane[1], cap_plane[2]
            _order_by_angle(av, tv, ai[c0:out_i], out_i - c0, nrm)
        if out_i - c0 >= 3:
            af_s[out_f], af_c[out_f], af_l[out_f] = c0, out_i - c0, cap_label
            for q in range(4):
                af_p[out_f, q] = cap_plane[q]
            out_f += 1
        else:
            out_i = c0
    return cnt, out_f - tf, out_i - ti


@kernel()
def _grow(a, need):
    """`a`, or a copy with room for at least `need` rows (capacity doubled)."""
    cap = a.shape[0]
    if need <= cap:
        return a
    while cap < need:
        cap *= 2
    b = np.empty((cap,) + a.shape[1:], a.dtype)
    # element by element: a slice assignment compiles numba's broadcasting errors (seconds)
    flat_a = a.reshape(-1)
    flat_b = b.reshape(-1)
    for i in range(flat_a.size):
        flat_b[i] = flat_a[i]
    return b


def split_cells(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, room):
    """Refine cells by the ``n = A.shape[2]`` neurons of one layer (module docstring).

    Returns ``(cv', V', cf', P', L', fi', FI', parent, bits, stats)``: the kept cells (CSR, as
    the input), the input cell each came from, the layer's pattern bits (``uint8``, ``(K', n)``)
    and ``stats = [near-eps decisions, exact inradii, cells, caps ordered by angle]``.

    The scratch arena is sized per input cell and never reallocated while a cell is split (a
    reallocation there costs reference counting on every access): it starts with `room`
    vertices, and a cell that would overflow it is split again from the start with twice the room.
    The arrays are passed on C-contiguous (one compiled version serves every call).
    """
    c = np.ascontiguousarray
    return _split_cells(c(cv), c(V), c(cf), c(P), c(L), c(fi), c(FI), c(A), c(S), int(label_base), float(eps),
                        float(near), float(rtol), float(yscale), int(room))


@kernel()
def _split_cells(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, room):
    """The compiled body of :func:`split_cells`."""
    K = cv.size - 1
    n = A.shape[2]
    o_cv = np.zeros(2 * K + 17, np.int64)
    o_cf = np.zeros(2 * K + 17, np.int64)
    o_V = np.empty((2 * V.shape[0] + 64, 3))
    o_P = np.empty((2 * P.shape[0] + 64, 4))
    o_L = np.empty(2 * P.shape[0] + 64, np.int64)
    o_fi = np.zeros(2 * P.shape[0] + 65, np.int64)
    o_FI = np.empty(2 * FI.size + 64, np.int64)
    o_parent = np.empty(2 * K + 16, np.int64)
    o_bits = np.empty((2 * K + 16, n), np.uint8)
    nc = 0
    nv = 0
    nf = 0
    ni = 0
    cap_v = max(room, 4)
    av = np.empty((cap_v, 3))
    af_p = np.empty((cap_v, 4))
    af_l = np.empty(cap_v, np.int64)
    af_s = np.empty(cap_v, np.int64)
    af_c = np.empty(cap_v, np.int64)
    ai = np.empty(4 * cap_v, np.int64)
    z = np.empty(cap_v)
    sg = np.empty(cap_v, np.int64)
    vmap = np.empty(cap_v, np.int64)
    onp = np.empty(cap_v, np.bool_)
    xa = np.empty(4 * cap_v, np.int64)
    xb = np.empty(4 * cap_v, np.int64)
    xpos = np.empty((4 * cap_v, 3))
    eu = np.empty(16 * cap_v, np.int64)
    ev = np.empty(16 * cap_v, np.int64)
    stack = np.empty((n + 2, 8), np.int64)  # vs, vm, fs, fm, is, im, neuron, bit: at most one per neuron
    bits = np.zeros(n, np.uint8)
    cap_on = np.empty(4)
    cap_off = np.empty(4)
    stats = np.zeros(4, np.int64)
    saved = np.zeros(4, np.int64)
    k = 0
    while k < K:
        v0, vm0, f0, fm0 = cv[k], cv[k + 1] - cv[k], cf[k], cf[k + 1] - cf[k]
        i0, im0 = fi[f0], fi[f0 + fm0] - fi[f0]
        need = 4 * (vm0 + fm0 + im0)
        if need > cap_v:  # room for the cell and a few children, before any split
            while cap_v < need:
                cap_v *= 2
            av = np.empty((cap_v, 3))
            af_p = np.empty((cap_v, 4))
            af_l = np.empty(cap_v, np.int64)
            af_s = np.empty(cap_v, np.int64)
            af_c = np.empty(cap_v, np.int64)
            ai = np.empty(4 * cap_v, np.int64)
            z = np.empty(cap_v)
            sg = np.empty(cap_v, np.int64)
            vmap = np.empty(cap_v, np.int64)
            onp = np.empty(cap_v, np.bool_)
            xa = np.empty(4 * cap_v, np.int64)
            xb = np.empty(4 * cap_v, np.int64)
            xpos = np.empty((4 * cap_v, 3))
            eu = np.empty(16 * cap_v, np.int64)
            ev = np.empty(16 * cap_v, np.int64)
        mark_c, mark_v, mark_f, mark_i = nc, nv, nf, ni
        for q in range(4):
            saved[q] = stats[q]
        overflow = False
        # load cell k at the bottom of the arena
        for i in range(vm0):
            av[i, 0], av[i, 1], av[i, 2] = V[v0 + i, 0], V[v0 + i, 1], V[v0 + i, 2]
        for f in range(fm0):
            for q in range(4):
                af_p[f, q] = P[f0 + f, q]
            af_l[f] = L[f0 + f]
            af_s[f] = fi[f0 + f] - i0
            af_c[f] = fi[f0 + f + 1] - fi[f0 + f]
        for i in range(im0):
            ai[i] = FI[i0 + i]
        ns = 1
        stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, vm0, 0, fm0
        stack[0, 4], stack[0, 5], stack[0, 6], stack[0, 7] = 0, im0, 0, -1
        while ns > 0:
            ns -= 1
            vs, vm, fs, fm, is_, im, j, b = (stack[ns, 0], stack[ns, 1], stack[ns, 2], stack[ns, 3],
                                             stack[ns, 4], stack[ns, 5], stack[ns, 6], stack[ns, 7])
            tv, tf, ti = vs + vm, fs + fm, is_ + im
            if b >= 0:
                bits[j] = b
                j += 1
            alive = True
            cx, cy, cz, reach = _ball(av, vs, vm)
            while j < n:
                g0, g1, g2, cj = A[k, 0, j], A[k, 1, j], A[k, 2, j], A[k, 3, j]
                a0, a1, a2, ca = S[k, 0, j], S[k, 1, j], S[k, 2, j], S[k, 3, j]
                gn = math.sqrt(g0 * g0 + g1 * g1 + g2 * g2)
                zc = g0 * cx + g1 * cy + g2 * cz + cj
                if abs(zc) > (gn * reach * (1.0 + DISC_SLACK)
                              + 2.0 * rtol * (a0 * (abs(cx) + reach + yscale) + a1 * (abs(cy) + reach + yscale)
                                              + a2 * (abs(cz) + reach + yscale) + ca)):
                    bits[j] = 1 if zc > 0 else 0
                    j += 1
                    continue
                npos = 0
                nneg = 0
                for i in range(vm):
                    x, y, w = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
                    zi = g0 * x + g1 * y + g2 * w + cj
                    tol = rtol * (a0 * (abs(x) + yscale) + a1 * (abs(y) + yscale) + a2 * (abs(w) + yscale) + ca)
                    z[i] = zi
                    if abs(zi) <= tol and tol > eps * gn:
                        stats[0] += 1  # on the plane by a tolerance coarser than eps
                    if zi > tol:
                        sg[i] = 1
                        npos += 1
                    elif zi < -tol:
                        sg[i] = -1
                        nneg += 1
                    else:
                        sg[i] = 0
                if nneg == 0 or npos == 0:
                    bits[j] = 1 if nneg == 0 and npos > 0 else 0
                    j += 1
                    continue
                # room for both children: vertices (+ crossings, at most one per index), faces (+ cap), indices
                if (tv + 2 * (vm + im) + 2 > cap_v or tf + 2 * fm + 4 > cap_v
                        or ti + 2 * (3 * im + fm + vm) + 8 > 4 * cap_v or 4 * im + 4 > 16 * cap_v):
                    overflow = True
                    break
                # the crossings of the edges with strictly opposite signs, one per edge
                nx = np.int64(0)  # not a literal: one compiled _child
                for f in range(fs, fs + fm):
                    s, m = af_s[f], af_c[f]
                    for i in range(m):
                        a, c = ai[s + i], ai[s + (i + 1) % m]
                        if sg[a] * sg[c] < 0 and _crossing(xa, xb, nx, a, c) < 0:
                            lo, hi = min(a, c), max(a, c)
                            t = z[lo] / (z[lo] - z[hi])
                            for q in range(3):
                                xpos[nx, q] = av[vs + lo, q] + t * (av[vs + hi, q] - av[vs + lo, q])
                            xa[nx], xb[nx] = lo, hi
                            nx += 1
                cap_on[0], cap_on[1], cap_on[2], cap_on[3] = -g0 / gn, -g1 / gn, -g2 / gn, cj / gn
                cap_off[0], cap_off[1], cap_off[2], cap_off[3] = g0 / gn, g1 / gn, g2 / gn, -cj / gn
                on_v, on_f, on_i = tv, tf, ti
                on_vm, on_fm, on_im = _child(av, af_p, af_l, af_s, af_c, ai, vs, vm, fs, fm, sg, 1.0, xa, xb, xpos, nx,
                                             cap_on, label_base + j, on_v, on_f, on_i, vmap, onp, eu, ev, stats)
                off_v, off_f, off_i = on_v + on_vm, on_f + on_fm, on_i + on_im
                off_vm, off_fm, off_im = _child(av, af_p, af_l, af_s, af_c, ai, vs, vm, fs, fm, sg, -1.0, xa, xb, xpos,
                                                nx, cap_off, label_base + j, off_v, off_f, off_i, vmap, onp, eu, ev,
                                                stats)
                keep_on = _keep(av, on_v, on_f, on_fm, af_s, af_c, ai, af_p, eps, near, stats, on_vm)
                keep_off = _keep(av, off_v, off_f, off_fm, af_s, af_c, ai, af_p, eps, near, stats, off_vm)
                if keep_on and keep_off:
                    stack[ns, 0], stack[ns, 1], stack[ns, 2], stack[ns, 3] = off_v, off_vm, off_f, off_fm
                    stack[ns, 4], stack[ns, 5], stack[ns, 6], stack[ns, 7] = off_i, off_im, j, 0
                    ns += 1
                if keep_on:
                    vs, vm, fs, fm, is_, im = on_v, on_vm, on_f, on_fm, on_i, on_im
                    bits[j] = 1
                elif keep_off:
                    vs, vm, fs, fm, is_, im = off_v, off_vm, off_f, off_fm, off_i, off_im
                    bits[j] = 0
                else:
                    alive = False
                    break
                tv, tf, ti = off_v + off_vm, off_f + off_fm, off_i + off_im
                cx, cy, cz, reach = _ball(av, vs, vm)
                j += 1
            if overflow:
                break
            if not alive:
                continue
            # a final cell: copy it out
            o_cv = _grow(o_cv, nc + 2)
            o_cf = _grow(o_cf, nc + 2)
            o_parent = _grow(o_parent, nc + 1)
            o_bits = _grow(o_bits, nc + 1)
            o_V = _grow(o_V, nv + vm)
            o_P = _grow(o_P, nf + fm)
            o_L = _grow(o_L, nf + fm)
            o_fi = _grow(o_fi, nf + fm + 1)
            o_FI = _grow(o_FI, ni + im)
            for i in range(vm):
                o_V[nv + i, 0], o_V[nv + i, 1], o_V[nv + i, 2] = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
            for f in range(fm):
                for q in range(4):
                    o_P[nf + f, q] = af_p[fs + f, q]
                o_L[nf + f] = af_l[fs + f]
                s, m = af_s[fs + f], af_c[fs + f]
                for i in range(m):
                    o_FI[ni + i] = ai[s + i]
                ni += m
                o_fi[nf + f + 1] = ni
            nv += vm
            nf += fm
            o_parent[nc] = k
            for q in range(n):
                o_bits[nc, q] = bits[q]
            nc += 1
            o_cv[nc] = nv
            o_cf[nc] = nf
        if overflow:  # undo this cell's output and statistics; split it again with twice the room
            nc, nv, nf, ni = mark_c, mark_v, mark_f, mark_i
            for q in range(4):
                stats[q] = saved[q]
            cap_v = 2 * cap_v
            av = np.empty((cap_v, 3))
            af_p = np.empty((cap_v, 4))
            af_l = np.empty(cap_v, np.int64)
            af_s = np.empty(cap_v, np.int64)
            af_c = np.empty(cap_v, np.int64)
            ai = np.empty(4 * cap_v, np.int64)
            z = np.empty(cap_v)
            sg = np.empty(cap_v, np.int64)
            vmap = np.empty(cap_v, np.int64)
            onp = np.empty(cap_v, np.bool_)
            xa = np.empty(4 * cap_v, np.int64)
            xb = np.empty(4 * cap_v, np.int64)
            xpos = np.empty((4 * cap_v, 3))
            eu = np.empty(16 * cap_v, np.int64)
            ev = np.empty(16 * cap_v, np.int64)
            continue
        k += 1
    stats[2] = nc
    return (o_cv[: nc + 1].copy(), o_V[:nv].copy(), o_cf[: nc + 1].copy(), o_P[:nf].copy(), o_L[:nf].copy(),
            o_fi[: nf + 1].copy(), o_FI[:ni].copy(), o_parent[:nc].copy(), o_bits[:nc].copy(), stats)
