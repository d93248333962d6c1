"""Compiled kernels that cut a convex polyhedron in 3-D by a plane into its two parts.

The polyhedra and the arena they live in are those of :mod:`polyregions.cells.polyhedron`
(vertices in ``av``; faces as cycles of vertex indices in ``ai``, counter-clockwise seen from
outside, with their start ``af_s``, count ``af_c``, label ``af_l`` and plane ``af_p``), whose
:func:`~polyregions.cells.polyhedron.split_cells` decides the signs ``sg`` (-1, 0, 1) of a
neuron's pre-activation ``z`` at the vertices and calls :func:`cut_polyhedron` when both signs
occur. A vertex on the zero set (sign 0) goes to both parts; an edge whose ends have strictly
opposite signs is crossed once, at ``v_a + z_a / (z_a - z_b) (v_b - v_a)`` with ``a < b``; each
face is clipped as a polygon, and each part is closed by its cap (:func:`close_cap`).
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel

__all__ = ["close_cap", "cut_polyhedron", "order_by_angle"]

#: Indices known to be non-negative are cast to this in the hot loop: numba then skips the
#: wrap-around of a negative index (a select and the array's length held in a register, per access).
_U = np.uint64


@kernel(refcounts=False)
def order_by_angle(av, base, ids, k, nrm, ang):
    """Order ``ids[:k]`` (vertex indices from ``base``) counter-clockwise around ``nrm[:3]``
    (``ang``: scratch for `k` angles)."""
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


@kernel(refcounts=False)
def cut_polyhedron(av, af_p, af_l, af_s, af_c, ai, vs, vm, fs, fm, sg, z, tv, tf, ti, im, vmap, onp, xhead, xnext, xb,
                   xpos, eu, ev, edge_half, cap_on, cap_off, cap_label, ang, stats, dims):
    """Write both parts of the polyhedron ``(vs, vm, fs, fm)``, ``side * z >= 0`` for side 1 (on) and
    -1 (off), at the tops ``(tv, tf, ti)`` of the arena, in one pass over its faces (module
    docstring); ``dims`` gets ``(v, vm, f, fm, i, im)`` of each, on first.

    The on part's vertices are the parent's with ``z >= 0``, then the crossings; its faces and
    indices start at ``tf`` and ``ti``; the off part's faces start at ``tf + fm + 1`` and its indices
    at ``ti + 3 im + fm + vm + 4`` (bounds of the on part's; its vertices follow the on part's once
    the crossings are counted). Each edge whose ends have strictly opposite signs is crossed once
    (found again from its other face through the crossings chained at its lower end, ``xhead``),
    and each face is clipped for both parts at once; the edges with both ends on the zero set are
    recorded as they are written (the on part's in ``eu``, ``ev`` from 0, the off part's from
    `edge_half`), in the order :func:`close_cap` expects. Vertex maps (``vmap``: the on part's from 0, the
    off part's from ``vm``) and the flags of vertices on the zero set (``onp``, likewise from 0 and
    from ``edge_half``) are written without branches on the signs (as good as random: a
    mispredicted branch costs more than a store): every vertex and index is written, and the
    counts move on past those kept."""
    # the parent's vertices: each part's map, and the on part's coordinates (the off part's below)
    c_on = 0
    c_off = 0
    for i in range(vm):
        s_i = sg[i]
        zero = s_i == 0
        vmap[i] = c_on
        vmap[vm + i] = c_off
        onp[c_on] = zero
        onp[edge_half + c_off] = zero
        av[tv + c_on, 0], av[tv + c_on, 1], av[tv + c_on, 2] = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
        c_on += s_i >= 0
        c_off += s_i <= 0
    for i in range(vm):
        xhead[i] = -1
    nx = 0
    f_on = tf
    f_off = tf + fm + 1
    i_on = ti
    i_off = ti + 3 * im + fm + vm + 4
    i_off0 = i_off
    ne_on = 0
    ne_off = edge_half
    for f in range(fs, fs + fm):
        s, m = af_s[f], af_c[f]
        e_on, e_off = i_on, i_off
        n_on, n_off = ne_on, ne_off
        p_on = 0  # the last vertex written to each part's face (when one is), and whether it is on the zero set
        p_off = 0
        pz_on = False
        pz_off = False
        for i in range(m):
            a = ai[_U(s + i)]
            c = ai[_U(s + i + 1)] if i + 1 < m else ai[_U(s)]
            sa = sg[_U(a)]
            # the vertex itself
            zero = sa == 0
            keep_on = sa >= 0
            keep_off = sa <= 0
            u_on = vmap[_U(a)]
            u_off = vmap[_U(vm + a)]
            ai[_U(i_on)] = u_on
            ai[_U(i_off)] = u_off
            eu[_U(ne_on)], ev[_U(ne_on)] = p_on, u_on
            eu[_U(ne_off)], ev[_U(ne_off)] = p_off, u_off
            ne_on += keep_on & (i_on > e_on) & pz_on & zero
            ne_off += keep_off & (i_off > e_off) & pz_off & zero
            p_on = u_on if keep_on else p_on
            p_off = u_off if keep_off else p_off
            pz_on = zero if keep_on else pz_on
            pz_off = zero if keep_off else pz_off
            i_on += keep_on
            i_off += keep_off
            # the crossing of the edge to the next vertex, in both parts
            if sa * sg[_U(c)] < 0:
                lo, hi = min(a, c), max(a, c)
                q = xhead[_U(lo)]
                while q >= 0 and xb[_U(q)] != hi:
                    q = xnext[_U(q)]
                if q < 0:
                    t = z[_U(lo)] / (z[_U(lo)] - z[_U(hi)])
                    for r in range(3):
                        xpos[nx, r] = av[vs + lo, r] + t * (av[vs + hi, r] - av[vs + lo, r])
                    xb[nx], xnext[nx], xhead[lo] = hi, xhead[lo], nx
                    onp[c_on + nx] = True
                    onp[edge_half + c_off + nx] = True
                    q = nx
                    nx += 1
                u_on = c_on + q
                u_off = c_off + q
                ai[_U(i_on)] = u_on
                ai[_U(i_off)] = u_off
                eu[_U(ne_on)], ev[_U(ne_on)] = p_on, u_on
                eu[_U(ne_off)], ev[_U(ne_off)] = p_off, u_off
                ne_on += (i_on > e_on) & pz_on
                ne_off += (i_off > e_off) & pz_off
                p_on = u_on
                p_off = u_off
                pz_on = True
                pz_off = True
                i_on += 1
                i_off += 1
        # close each part's face (the edge from its last vertex to its first), or drop it (fewer than 3)
        if i_on - e_on < 3:
            i_on, ne_on = e_on, n_on
        else:
            w = ai[e_on]
            eu[ne_on], ev[ne_on] = p_on, w
            ne_on += pz_on & onp[w]
            af_s[f_on], af_c[f_on], af_l[f_on] = e_on, i_on - e_on, af_l[f]
            for q in range(4):
                af_p[f_on, q] = af_p[f, q]
            f_on += 1
        if i_off - e_off < 3:
            i_off, ne_off = e_off, n_off
        else:
            w = ai[e_off]
            eu[ne_off], ev[ne_off] = p_off, w
            ne_off += pz_off & onp[edge_half + w]
            af_s[f_off], af_c[f_off], af_l[f_off] = e_off, i_off - e_off, af_l[f]
            for q in range(4):
                af_p[f_off, q] = af_p[f, q]
            f_off += 1
    # the crossings' coordinates in the on part, then the off part's vertices after them
    for q in range(nx):
        av[tv + c_on + q, 0], av[tv + c_on + q, 1], av[tv + c_on + q, 2] = xpos[q, 0], xpos[q, 1], xpos[q, 2]
    tv2 = tv + c_on + nx
    cnt = 0
    for i in range(vm):
        av[tv2 + cnt, 0], av[tv2 + cnt, 1], av[tv2 + cnt, 2] = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
        cnt += sg[i] <= 0
    for q in range(nx):
        av[tv2 + c_off + q, 0], av[tv2 + c_off + q, 1], av[tv2 + c_off + q, 2] = xpos[q, 0], xpos[q, 1], xpos[q, 2]
    f_on, i_on = close_cap(av, tv, af_p, af_l, af_s, af_c, ai, eu, ev, 0, ne_on, f_on, i_on, cap_on, cap_label, ang,
                        stats)
    f_off, i_off = close_cap(av, tv2, af_p, af_l, af_s, af_c, ai, eu, ev, edge_half, ne_off - edge_half, f_off, i_off,
                          cap_off, cap_label, ang, stats)
    dims[0], dims[1], dims[2], dims[3], dims[4], dims[5] = tv, c_on + nx, tf, f_on - tf, ti, i_on - ti
    dims[6], dims[7], dims[8], dims[9], dims[10], dims[11] = (tv2, c_off + nx, tf + fm + 1, f_off - tf - fm - 1,
                                                              i_off0, i_off - i_off0)


@kernel(refcounts=False)
def close_cap(av, tv, af_p, af_l, af_s, af_c, ai, eu, ev, e0, ne, out_f, out_i, cap_plane, cap_label, ang, stats):
    """Close a part written by :func:`cut_polyhedron` (vertices from ``tv``, its faces' edges with both ends on
    the zero set in ``eu[e0:e0 + ne]``, ``ev``; next face ``out_f``, next index ``out_i``) with its
    cap: on a closed surface every edge is traversed once in each direction, so the edges traversed
    once only bound the hole, and the cap is their cycle reversed (stored after the edges); when it
    is not one simple cycle, the distinct vertices of those edges ordered by angle (counted).
    Returns the next face and index."""
    k = 0
    end = e0 + ne
    for q in range(e0, end):
        matched = False
        for r in range(e0, end):
            if eu[r] == ev[q] and ev[r] == eu[q]:
                matched = True
                break
        if not matched:
            eu[end + k], ev[end + k] = ev[q], eu[q]
            k += 1
    if k >= 3:
        c0 = out_i
        ai[out_i] = eu[end]
        out_i += 1
        cur = ev[end]
        ok = True
        steps = 1
        while cur != eu[end]:
            nxt = -1
            for q in range(end, end + k):
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
            for q in range(end, end + k):
                dup = False
                for r in range(c0, out_i):
                    if ai[r] == eu[q]:
                        dup = True
                        break
                if not dup:
                    ai[out_i] = eu[q]
                    out_i += 1
            order_by_angle(av, tv, ai[c0:out_i], out_i - c0, cap_plane, ang)
        if out_i - c0 >= 3:
            af_s[out_f], af_c[out_f], af_l[out_f] = c0, out_i - c0, cap_label
            for q in range(4):
                af_p[out_f, q] = cap_plane[q]
            out_f += 1
        else:
            out_i = c0
    return out_f, out_i
