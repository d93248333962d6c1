"""Compiled kernels for convex polygons in the plane: splitting by lines, areas, inradii.

A cell is a convex polygon with its vertices counter-clockwise in orthonormal slice
coordinates ``y``. Vertex ``i`` carries the line of the edge from it to vertex ``i + 1``,
``a . y <= beta`` with a unit outward normal ``a`` (stored as ``(a_0, a_1, beta)``), and a
label: ``-1 - k`` for the ``k``-th edge of the domain, else the global index of the neuron
whose zero set the edge lies on.

:func:`split_cells` refines cells by the neurons of one layer. For cell ``k`` and neuron
``j`` the pre-activation is affine on the cell, ``z = A[k, 0, j] y_0 + A[k, 1, j] y_1 + A[k, 2, j]``
(the maps of a batch of cells in one array, coefficient-major), and it is
evaluated afresh at every vertex (nothing is interpolated but the position of a new
vertex). The vertex is *on the zero set* when ``|z| <= ZERO_RTOL * s`` with
``s = S[k, 0, j] |y_0| + S[k, 1, j] |y_1| + S[k, 2, j]`` the size of the terms summed (``S``
is the same map computed with absolute values, in float32: a bound on the rounding error
needs one digit). Then:

* no vertex with ``z > tol``: the neuron is off on the cell (this covers a neuron
  identically zero on the cell, a line through a vertex and a line along an edge);
* no vertex with ``z < -tol``: the neuron is on;
* otherwise the cell is cut in two; vertices on the zero set go to both children, and the
  cut crosses each edge whose ends have strictly opposite signs at
  ``v_i + z_i / (z_i - z_{i+1}) (v_{i+1} - v_i)`` (the same float in both children).

So a vertex within about ``ZERO_RTOL`` times its coordinates' size of a line counts as on
it: this, not ``eps``, is the resolution of the degenerate cases. Where that tolerance is
coarser than eps (``tol > eps |g|``: large coordinates, or a tiny eps), such a decision may
drop, or keep, a region that eps alone would decide otherwise: it is counted with the
near-eps decisions (``stats[0]``), so that a count where eps is below the rounding says so. A short-cut decides first from
a disc around the cell when every vertex would get the same sign.

A child is kept when it contains a disc of radius ``eps`` (its inradius, the Chebyshev
radius, exceeds ``eps``). With area ``F`` and perimeter ``P`` of a convex polygon,
``F / P <= r <= 2 F / P`` (its inner parallel set at distance ``t < F / P`` keeps a
positive area; the triangles from the incentre to the edges cover it). Only when these
bounds straddle ``[eps / near, near eps]`` is ``r`` computed (:func:`inradius`); the
decision is reported as near ``eps`` when ``r`` lies in that interval. A dropped child
holds no counted region: its descendants are subsets of it.
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel

__all__ = ["CROSSING_SIN", "DISC_SLACK", "NORM_SLACK", "SCRATCH_ROWS_PER_NEURON", "ZERO_RTOL", "areas", "inradii",
           "inradius", "live_maps", "min_inradius", "output_room", "split_cells", "split_cells_kernel"]

#: Relative slack on the largest change of a pre-activation over a cell's enclosing disc (the
#: short-cut in :func:`split_cells` must never decide what the vertex test would not).
DISC_SLACK = 1e-9
#: A new vertex, where a neuron's zero set crosses an edge, is the intersection of the two
#: lines when they meet at an angle whose sine exceeds this (accurate however long the edge),
#: else the interpolation along the edge.
CROSSING_SIN = 1e-6
#: Relative slack on the 1-norm bounds that short-cut a Euclidean norm (``|g_0| + |g_1|`` for
#: ``hypot(g_0, g_1)``, a perimeter in the 1-norm for its length): far above rounding, so that a
#: short-cut decides only what the Euclidean test would decide.
NORM_SLACK = 1.0 + 1e-12
#: Scratch rows of :func:`split_cells` per neuron of the layer (plus 4) and vertex of the
#: largest cell (plus 8): room for a cell's nested splits (more is given when a cell needs it).
SCRATCH_ROWS_PER_NEURON = 3
#: A pre-activation is zero at a vertex when ``|z| <= ZERO_RTOL * s``, ``s`` the size of the
#: terms summed to compute it (module docstring).
ZERO_RTOL = 1e-12


@kernel(internal=True)
def _area_perimeter(v, s, m, l1=False):
    """Shoelace area and perimeter, in coordinates relative to the first vertex (accuracy) and
    divided by their largest size (no overflow: an area beyond the float range is inf, not nan).
    With `l1` the perimeter is measured in the 1-norm (an upper bound of the length, without
    a square root; the area is the same float)."""
    ox, oy = v[s, 0], v[s, 1]
    size = 0.0
    for i in range(m):
        size = max(size, abs(v[s + i, 0] - ox), abs(v[s + i, 1] - oy))
    if size == 0.0:
        return 0.0, 0.0
    area = 0.0
    per = 0.0
    for i in range(m):
        i1 = s + (i + 1) % m
        x0, y0 = (v[s + i, 0] - ox) / size, (v[s + i, 1] - oy) / size
        x1, y1 = (v[i1, 0] - ox) / size, (v[i1, 1] - oy) / size
        area += x0 * y1 - x1 * y0
        per += abs(x1 - x0) + abs(y1 - y0) if l1 else math.hypot(x1 - x0, y1 - y0)
    return 0.5 * area * size * size, per * size


@kernel()
def inradius(lines, verts, s, m):
    """``(r, y0, y1)``: a disc of radius ``r`` centred at ``(y0, y1)`` inside the polygon
    ``verts[s:s + m]`` whose edge lines are ``lines[s:s + m]``: the largest one, found among
    the vertices of ``max t s.t. a_i . y + t <= beta_i`` (every triple of lines; the optimum
    of this bounded LP sits at one) and the vertices' mean. Each candidate is judged by its
    own distance to the nearest line, recomputed, so ``r`` is always honest for the centre
    returned, even where a triple is ill-conditioned (nearly parallel lines). Solved in
    coordinates centred on the vertices' mean (offsets of the polygon's size)."""
    ox = 0.0
    oy = 0.0
    for i in range(m):
        ox += verts[s + i, 0] / m
        oy += verts[s + i, 1] / m
    beta = np.empty(m)
    best_r = np.inf
    for i in range(m):
        beta[i] = lines[s + i, 2] - lines[s + i, 0] * ox - lines[s + i, 1] * oy
        best_r = min(best_r, beta[i])  # the mean itself
    by0 = 0.0
    by1 = 0.0
    for i in range(m):
        a0, a1, b0 = lines[s + i, 0], lines[s + i, 1], beta[i]
        for j in range(i + 1, m):
            c0, c1, b1 = lines[s + j, 0], lines[s + j, 1], beta[j]
            for k in range(j + 1, m):
                d0, d1, b2 = lines[s + k, 0], lines[s + k, 1], beta[k]
                # [a0 a1 1; c0 c1 1; d0 d1 1] [y0 y1 t]^T = [b0 b1 b2]^T by Cramer's rule
                det = a0 * (c1 - d1) - a1 * (c0 - d0) + (c0 * d1 - c1 * d0)
                if det == 0.0:
                    continue
                t = (a0 * (c1 * b2 - b1 * d1) - a1 * (c0 * b2 - b1 * d0) + b0 * (c0 * d1 - c1 * d0)) / det
                if not t > best_r:
                    continue
                y0 = (b0 * (c1 - d1) - a1 * (b1 - b2) + (b1 * d1 - c1 * b2)) / det
                y1 = (a0 * (b1 - b2) - b0 * (c0 - d0) + (c0 * b2 - b1 * d0)) / det
                r = np.inf
                for q in range(m):
                    r = min(r, beta[q] - lines[s + q, 0] * y0 - lines[s + q, 1] * y1)
                    if r <= best_r:
                        break
                if r > best_r:
                    best_r, by0, by1 = r, y0, y1
    return best_r, by0 + ox, by1 + oy


@kernel()
def inradii(start, lines, verts):
    """Inradius and centre of every cell: arrays ``r`` (K,), ``centre`` (K, 2)."""
    K = start.size - 1
    r = np.empty(K)
    centre = np.empty((K, 2))
    for k in range(K):
        r[k], centre[k, 0], centre[k, 1] = inradius(lines, verts, start[k], start[k + 1] - start[k])
    return r, centre


@kernel()
def min_inradius(start, lines, verts):
    """The smallest inradius of the cells (:func:`inradius`; inf without cells), computed only for
    the cells that may hold it: a convex polygon of area ``F`` and perimeter ``P`` has an
    inradius of at least ``F / P`` (module docstring), so the cells are visited by that bound
    (with the slack :data:`NORM_SLACK`), and the visit ends at the first whose bound is not
    below the smallest radius found. The result is ``inradii(...)[0].min()`` unless a cell's
    radius comes out below its own bound (an ill-conditioned polygon), and never more than
    any cell's inradius."""
    K = start.size - 1
    bound = np.empty(K)
    for k in range(K):
        area, per = _area_perimeter(verts, start[k], start[k + 1] - start[k])
        b = area / (per * NORM_SLACK) if area > 0.0 and per > 0.0 else 0.0
        bound[k] = b if b >= 0.0 else 0.0  # inf / inf: no bound
    best = np.inf
    for k in np.argsort(bound):
        if not bound[k] < best:
            break
        best = min(best, inradius(lines, verts, start[k], start[k + 1] - start[k])[0])
    return best


@kernel()
def areas(start, verts):
    """Area of every cell."""
    K = start.size - 1
    out = np.empty(K)
    for k in range(K):
        out[k] = _area_perimeter(verts, start[k], start[k + 1] - start[k])[0]
    return out


@kernel(internal=True)
def _keep(v, lines, s, m, eps, near, stats):
    """Whether the child ``[s, s + m)`` holds a disc of radius ``eps`` (module docstring)."""
    if m < 3:
        return False
    # first with the 1-norm perimeter (no square roots): a smaller lower bound of the inradius,
    # so a keep it decides is one the bound below decides too
    area, per = _area_perimeter(v, s, m, True)
    if area > 0.0 and per > 0.0 and area / (per * NORM_SLACK) > near * eps:
        return True
    area, per = _area_perimeter(v, s, m)
    if area <= 0.0 or per <= 0.0:
        return False
    lb = area / per
    if lb > near * eps:
        return True
    if 2.0 * lb < eps / near:
        return False
    r = inradius(lines, v, s, m)[0]
    stats[1] += 1
    if eps / near <= r <= near * eps:
        stats[0] += 1
    return r > eps


@kernel(internal=True)
def _crossing(v, ln, ps, i, i1, z, g0, g1, cj, gn):
    """Where the zero set of ``g0 y_0 + g1 y_1 + cj`` crosses the edge from vertex ``i`` to ``i1``
    (whose ends have opposite signs ``z``): the intersection of that line with the edge's
    line, when they meet at an angle whose sine exceeds :data:`CROSSING_SIN` and it lies on
    the edge, else the interpolation ``v_i + z_i / (z_i - z_i1) (v_i1 - v_i)``. ``gn`` is
    ``math.hypot(g0, g1)``."""
    x0, y0 = v[ps + i, 0], v[ps + i, 1]
    dx, dy = v[ps + i1, 0] - x0, v[ps + i1, 1] - y0
    a0, a1, beta = ln[ps + i, 0], ln[ps + i, 1], ln[ps + i, 2]
    det = a0 * g1 - a1 * g0  # a is a unit normal: |det| / |g| is the sine of the angle
    if abs(det) > CROSSING_SIN * gn:
        px = (beta * g1 + a1 * cj) / det
        py = -(a0 * cj + beta * g0) / det
        lam = (px - x0) / dx if abs(dx) >= abs(dy) else (py - y0) / dy  # its place along the edge
        if 0.0 <= lam <= 1.0:
            return px, py
    t = z[i] / (z[i] - z[i1])
    return x0 + t * dx, y0 + t * dy


@kernel(internal=True)
def _clip(v, ln, lab, ps, pm, z, sg, side, g0, g1, cj, cut_label, d):
    """Write the part of polygon ``[ps, ps + pm)`` where ``side * z >= 0`` at ``d``; its length.
    ``z = g0 y_0 + g1 y_1 + cj`` (the same numbers for both sides: their new vertices are the same floats)."""
    gn = math.hypot(g0, g1)
    cut0, cut1, cutb = -side * g0 / gn, -side * g1 / gn, side * cj / gn
    out = d
    for i in range(pm):
        i1 = (i + 1) % pm
        si = sg[i] * side
        sn = sg[i1] * side
        if si >= 0:
            v[out, 0], v[out, 1] = v[ps + i, 0], v[ps + i, 1]
            if sn < 0 and si == 0:
                ln[out, 0], ln[out, 1], ln[out, 2], lab[out] = cut0, cut1, cutb, cut_label
            else:
                ln[out, 0], ln[out, 1], ln[out, 2], lab[out] = ln[ps + i, 0], ln[ps + i, 1], ln[ps + i, 2], lab[ps + i]
            out += 1
            if si > 0 and sn < 0:
                v[out, 0], v[out, 1] = _crossing(v, ln, ps, i, i1, z, g0, g1, cj, gn)
                ln[out, 0], ln[out, 1], ln[out, 2], lab[out] = cut0, cut1, cutb, cut_label
                out += 1
        elif sn > 0:
            # the edge enters the kept side: the same crossing as the other child computes
            v[out, 0], v[out, 1] = _crossing(v, ln, ps, i, i1, z, g0, g1, cj, gn)
            ln[out, 0], ln[out, 1], ln[out, 2], lab[out] = ln[ps + i, 0], ln[ps + i, 1], ln[ps + i, 2], lab[ps + i]
            out += 1
    return out - d


@kernel(internal=True)
def _disc(v, s, m):
    """A disc holding the polygon: the vertices' mean and the largest distance to a vertex."""
    cx = 0.0
    cy = 0.0
    for i in range(m):
        cx += v[s + i, 0] / m
        cy += v[s + i, 1] / m
    reach = 0.0
    for i in range(m):
        reach = max(reach, math.sqrt((v[s + i, 0] - cx) ** 2 + (v[s + i, 1] - cy) ** 2))
    return cx, cy, reach


@kernel()
def live_maps(A, S, parent, bits, k0, k1):
    """``(A[parent[k]] * bits[k], S[parent[k]] * bits[k])`` for the cells ``k0 <= k < k1`` (a neuron
    off in a cell passes nothing on): the maps of :func:`split_cells`' children of one layer,
    ``A`` (K, 3, n), ``S`` the same in float32, ``bits`` (K', n)."""
    n = A.shape[2]
    Ap = np.empty((k1 - k0, 3, n))
    Sp = np.empty((k1 - k0, 3, n), np.float32)
    for k in range(k0, k1):
        p = parent[k]
        for r in range(3):
            for j in range(n):
                Ap[k - k0, r, j] = A[p, r, j] * bits[k, j]
                Sp[k - k0, r, j] = S[p, r, j] * bits[k, j]
    return Ap, Sp


@kernel()
def _largest_cell(start):
    """The most vertices of a cell (0 without cells)."""
    out = 0
    for k in range(start.size - 1):
        out = max(out, start[k + 1] - start[k])
    return out


def split_cells(start, verts, lines, labels, A, S, label_base, eps, near, rtol):
    """Refine cells by the ``n = A.shape[2]`` neurons of one layer (module docstring).

    Returns ``(start', verts', lines', labels', parent, bits, stats)``: the kept cells (a
    CSR layout of their vertices), the input cell each came from, the layer's pattern bits
    (``uint8``, ``(K', n)``), and ``stats = [near-eps decisions, exact inradii, cells]``.
    The arrays are passed on C-contiguous (one compiled version serves every call).

    The kernel's scratch (the polygons of one cell's nested splits) and its outputs have fixed
    sizes, so that its loops reassign no array (numba counts the references of a reassigned
    array at every iteration): it stops before a cell that outgrows either, and is called
    again from that cell, with four times the room it lacked; the parts are joined.
    """
    c = np.ascontiguousarray
    start, verts, lines, labels, A, S = c(start), c(verts), c(lines), c(labels), c(A), c(S)
    K, n = start.size - 1, A.shape[2]
    room = max(64, SCRATCH_ROWS_PER_NEURON * (n + 4) * (int(_largest_cell(start)) + 8))
    cell_room, vert_room = output_room(K, n, verts.shape[0])
    parts, k0 = [], 0
    while True:
        *part, k_end, short = split_cells_kernel(start, verts, lines, labels, A, S, int(label_base), float(eps),
                                           float(near), float(rtol), k0, room, cell_room, vert_room)
        parts.append(part)
        if short == 0:
            break
        if short == 1:
            room *= 4
        elif k_end == k0:  # the outputs cannot hold even this cell's pieces
            cell_room, vert_room = 4 * cell_room, 4 * vert_room
        k0 = k_end
    return parts[0] if len(parts) == 1 else _join(parts)


@kernel()
def output_room(cells, n, vertices):
    """``(cells, vertices)`` the outputs of :func:`split_cells` hold at first: four times its input's,
    and at least what ``n`` lines can cut one cell into (``1 + n (n + 1) / 2`` pieces)."""
    cell_room = max(4 * cells + 64, 1 + n * (n + 1) // 2)
    return cell_room, max(4 * vertices + 256, 6 * cell_room)


def _join(parts):
    """One result of :func:`split_cells` from the parts of consecutive calls of its kernel."""
    offsets = np.cumsum([0] + [p[1].shape[0] for p in parts[:-1]])
    start = np.concatenate([parts[0][0][:1]] + [p[0][1:] + o for p, o in zip(parts, offsets)])
    joined = [start] + [np.concatenate([p[i] for p in parts]) for i in range(1, 6)]
    return (*joined, np.sum([p[6] for p in parts], axis=0))


@kernel()
def split_cells_kernel(start, verts, lines, labels, A, S, label_base, eps, near, rtol, k0, room, cell_room, vert_room):
    """The compiled body of :func:`split_cells`, from cell ``k0`` on, with ``room`` rows of scratch
    and outputs for ``cell_room`` cells and ``vert_room`` vertices. Returns the parts of the
    result for cells ``k0 .. k_end - 1``, then ``k_end`` and why it stopped there: 0 at the
    end, 1 when cell ``k_end`` outgrew the scratch, 2 the outputs."""
    K = start.size - 1
    n = A.shape[2]
    o_start = np.zeros(cell_room + 1, np.int64)
    o_verts = np.empty((vert_room, 2))
    o_lines = np.empty((vert_room, 3))
    o_labels = np.empty(vert_room, np.int64)
    o_parent = np.empty(cell_room, np.int64)
    o_bits = np.empty((cell_room, n), np.uint8)
    nc = 0
    nv = 0
    # scratch of fixed size: never reassigned in the loops below
    sv = np.empty((room, 2))
    sl = np.empty((room, 3))
    slab = np.empty(room, np.int64)
    e_info = np.empty((n + 2, 4), np.int64)  # start, count, neuron, bit (the neurons increase up the stack)
    bits = np.zeros(n, np.uint8)
    z = np.empty(room)
    sg = np.empty(room, np.int64)
    stats = np.zeros(3, np.int64)
    short = 0
    k_end = K
    for k in range(k0, K):
        m0 = start[k + 1] - start[k]
        if m0 > room:
            short, k_end = 1, k
            break
        nc0, nv0, near0, exact0 = nc, nv, stats[0], stats[1]  # to undo a cell that does not fit
        for i in range(m0):
            sv[i, 0], sv[i, 1] = verts[start[k] + i, 0], verts[start[k] + i, 1]
            sl[i, 0], sl[i, 1], sl[i, 2] = lines[start[k] + i, 0], lines[start[k] + i, 1], lines[start[k] + i, 2]
            slab[i] = labels[start[k] + i]
        ne = 1
        e_info[0, 0], e_info[0, 1], e_info[0, 2], e_info[0, 3] = 0, m0, 0, -1
        while ne > 0:
            ne -= 1
            ps, pm, j, b = e_info[ne, 0], e_info[ne, 1], e_info[ne, 2], e_info[ne, 3]
            top = ps + pm
            if b >= 0:
                bits[j] = b
                j += 1
            alive = True
            cx, cy, reach = _disc(sv, ps, pm)
            while j < n:
                g0, g1, cj = A[k, 0, j], A[k, 1, j], A[k, 2, j]
                a0, a1, ca = S[k, 0, j], S[k, 1, j], S[k, 2, j]
                # the disc (cx, cy, reach) holds the polygon: when z at its centre exceeds the
                # largest change over the disc plus every vertex's tolerance, all vertices
                # would get that sign (the test below, short-cut)
                # (first with |g_0| + |g_1| >= hypot(g_0, g_1): a larger bound, no square root)
                zc = g0 * cx + g1 * cy + cj
                tol_c = 2.0 * rtol * (a0 * (abs(cx) + reach) + a1 * (abs(cy) + reach) + ca)
                if (abs(zc) > (abs(g0) + abs(g1)) * NORM_SLACK * reach * (1.0 + DISC_SLACK) + tol_c
                        or abs(zc) > math.hypot(g0, g1) * reach * (1.0 + DISC_SLACK) + tol_c):
                    bits[j] = 1 if zc > 0 else 0
                    j += 1
                    continue
                npos = 0
                nneg = 0
                for i in range(pm):
                    x, y = sv[ps + i, 0], sv[ps + i, 1]
                    zi = g0 * x + g1 * y + cj
                    tol = rtol * (a0 * abs(x) + a1 * abs(y) + ca)
                    z[i] = zi
                    if abs(zi) <= tol and tol > eps * math.hypot(g0, g1):
                        stats[0] += 1  # on the line by a tolerance coarser than eps
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
                if top + 3 * pm > room:  # each vertex writes at most three in the two children
                    short = 1
                    break
                on_s = top
                on_m = _clip(sv, sl, slab, ps, pm, z, sg, 1.0, g0, g1, cj, label_base + j, on_s)
                off_s = on_s + on_m
                off_m = _clip(sv, sl, slab, ps, pm, z, sg, -1.0, g0, g1, cj, label_base + j, off_s)
                top = off_s + off_m
                keep_on = _keep(sv, sl, on_s, on_m, eps, near, stats)
                keep_off = _keep(sv, sl, off_s, off_m, eps, near, stats)
                if keep_on and keep_off:
                    if ne + 1 > e_info.shape[0]:
                        short = 1
                        break
                    e_info[ne, 0], e_info[ne, 1], e_info[ne, 2], e_info[ne, 3] = off_s, off_m, j, 0
                    ne += 1
                if keep_on:
                    ps, pm = on_s, on_m
                    bits[j] = 1
                elif keep_off:
                    ps, pm = off_s, off_m
                    bits[j] = 0
                else:
                    alive = False
                    break
                cx, cy, reach = _disc(sv, ps, pm)
                j += 1
            if short != 0:
                break
            if not alive:
                continue
            if nc + 1 > cell_room or nv + pm > vert_room:
                short = 2
                break
            for i in range(pm):
                o_verts[nv + i, 0], o_verts[nv + i, 1] = sv[ps + i, 0], sv[ps + i, 1]
                o_lines[nv + i, 0], o_lines[nv + i, 1], o_lines[nv + i, 2] = sl[ps + i, 0], sl[ps + i, 1], sl[ps + i, 2]
                o_labels[nv + i] = slab[ps + i]
            nv += pm
            o_parent[nc] = k
            for j in range(n):
                o_bits[nc, j] = bits[j]
            nc += 1
            o_start[nc] = nv
        if short != 0:
            nc, nv, stats[0], stats[1], k_end = nc0, nv0, near0, exact0, k
            break
    stats[2] = nc
    return (o_start[: nc + 1].copy(), o_verts[:nv].copy(), o_lines[:nv].copy(), o_labels[:nv].copy(),
            o_parent[:nc].copy(), o_bits[:nc].copy(), stats, k_end, short)
