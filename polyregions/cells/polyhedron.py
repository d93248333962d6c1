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
  faces of the edge and by both children; :mod:`polyregions.cells.polyhedron_cut` writes both in
  one pass over the faces). Each face is clipped as a polygon (its vertices
  with ``side * z >= 0`` and the crossings of its edges); a clipped face with fewer than three
  vertices is dropped. The new face (the cap) is closed from the clipped faces themselves:
  on a closed surface every edge is traversed once in each direction, so the edges traversed
  once only, all with both ends on the zero set, bound the hole, and the cap is their cycle
  reversed (outward orientation by construction). Should that cycle not be simple (vertices
  decided on the zero set within the tolerance that no exact plane could hold together), the
  cap's vertices are ordered by angle around their mean, and the event is counted.

A bounding ball (the vertices' mean and largest distance) decides first when every vertex
would get the same sign (the short-cut of the planar kernels, with the same slack).

A child is kept when it contains a ball of radius ``eps``. First, the ball around its
vertices' mean ``c`` of radius ``min_i (beta_i - n_i . c)`` (its depth below the nearest face
plane, less :data:`PLANE_ROUNDING` times the size of the terms; :func:`mean_depth`) lies inside
it: when that depth exceeds ``near * eps`` the child is kept at once (``r`` is at least the depth, as the inradius
below judges its centres; the test costs a pass over the vertices and faces, the measures
below several). Else, with volume ``V`` and surface area
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
from .polyhedron_cut import cut_polyhedron
from .polyhedron_measure import (PLANE_ROUNDING, VOLUME_ROUNDING, inradius_in, mean_depth, smaller_inradius,
                                 volume_area, volume_rounding)

__all__ = ["PLANE_ROUNDING", "VOLUME_ROUNDING", "ZERO_RTOL", "next_maps", "split_cells"]


@kernel(inline="always")
def _keep(av, vs, fs, fm, af_s, af_c, ai, af_p, eps, near, stats, vm, lp_beta, lp_M, lp_vecs):
    """Whether the child holds a ball of radius ``eps`` (module docstring; ``lp_*``: the scratch
    of :func:`~polyregions.cells.polyhedron_measure.inradius_in`)."""
    if fm < 4 or vm < 4:
        return False
    if mean_depth(av, vs, vm, af_p, fs, fm) > near * eps:
        return True
    vol, area = volume_area(av, vs, fs, fm, af_s, af_c, ai)
    err = volume_rounding(av, vs, vm, af_c, fs, fm)
    if vol + err <= 0.0 or area <= 0.0:
        return False
    if (vol - err) / area > near * eps:
        return True
    if 3.0 * (vol + err) / area < eps / near:
        return False
    r = inradius_in(af_p, fs, fm, av, vs, vm, lp_beta, lp_M, lp_vecs)[0]
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
        cx += av[vs + i, 0]
        cy += av[vs + i, 1]
        cz += av[vs + i, 2]
    cx, cy, cz = cx / vm, cy / vm, cz / vm  # (any centre serves: the reach is measured from it)
    reach = 0.0
    for i in range(vm):
        d = (av[vs + i, 0] - cx) ** 2 + (av[vs + i, 1] - cy) ** 2 + (av[vs + i, 2] - cz) ** 2
        reach = max(reach, d)
    return cx, cy, cz, math.sqrt(reach)


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


def split_cells(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, room, emit=True, below=np.inf,
                chunk=4096):
    """Refine cells by the ``n = A.shape[2]`` neurons of one layer (module docstring).

    Returns ``(chunks, stats, smallest)``. ``chunks``: a list of ``(cv', V', cf', P', L', fi',
    FI', parent, bits)``, the kept cells in input order, at most `chunk` in each (CSR, as the
    input), the input cell each came from and the layer's pattern bits (``uint8``, ``(K', n)``);
    ``stats = [near-eps decisions, exact inradii, cells, caps ordered by angle]``; and, when
    `emit` is False, the smallest inradius of the kept cells if below `below`, else `below`
    (:func:`~polyregions.cells.polyhedron_measure.smaller_inradius` cell by cell: the exact
    inradius only of a cell whose lower bound ``(V - e) / F`` is below the smallest so far,
    as :func:`~polyregions.cells.polyhedron_measure.min_inradius` measures a batch). With `emit` False
    (a count's last layer) the kept cells are counted (``stats[2]``) and measured where they are
    made, and none is returned (no chunk).

    The output is written into buffers sized for `chunk` cells (their vertices, faces and
    indices as the input's on average, with a margin), copied out as a chunk whenever one is
    full: no buffer is grown and copied unless one input cell's output overflows it alone.
    The scratch arena starts with `room` vertices; a cell that would overflow it, or the
    output, is split again from the start once there is room (:func:`_split_cells`).
    The arrays are passed on C-contiguous (one compiled version serves every call).
    """
    c = np.ascontiguousarray
    return _split_cells(c(cv), c(V), c(cf), c(P), c(L), c(fi), c(FI), c(A), c(S), int(label_base), float(eps),
                        float(near), float(rtol), float(yscale), int(room), bool(emit), float(below), int(chunk))


@kernel()
def _arena(cap_v):
    """The scratch arena of :func:`_split_some` for `cap_v` vertices: ``(av, af_p, af_l, af_s, af_c, ai, z,
    sg, vmap, onp, xnext, xb, xpos, eu, ev, ang, lp_beta, lp_M, lp_vecs, xhead, dims)`` (``vmap``, ``onp``,
    ``eu``, ``ev``: both parts' of a cut, :func:`_cut`; ``xhead``, ``xnext``: each vertex's crossings, chained;
    ``ang``: the angles of a cap's vertices; ``lp_*``: the inradius' scratch; ``dims``: the parts' places)."""
    return (np.empty((cap_v, 3)), np.empty((cap_v, 4)), np.empty(cap_v, np.int64), np.empty(cap_v, np.int64),
            np.empty(cap_v, np.int64), np.empty(4 * cap_v, np.int64), np.empty(cap_v), np.empty(cap_v, np.int64),
            np.empty(2 * cap_v, np.int64), np.empty(16 * cap_v, np.bool_), np.empty(4 * cap_v, np.int64),
            np.empty(4 * cap_v, np.int64), np.empty((4 * cap_v, 3)), np.empty(16 * cap_v, np.int64),
            np.empty(16 * cap_v, np.int64), np.empty(cap_v), np.empty(cap_v), np.empty((4, 4)), np.empty((2, 4)),
            np.empty(cap_v, np.int64), np.empty(12, np.int64))


@kernel()
def _split_cells(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, room, emit, below, chunk):
    """The compiled body of :func:`split_cells`: :func:`_split_some` until every cell is split,
    a chunk copied out whenever the output is full, the arena (or, for a cell whose output
    alone overflows it, the output) doubled whenever it stops for room (arrays are allocated
    and replaced here only: in the loop of :func:`_split_some` a replaced array would cost
    reference counting on every access)."""
    n = A.shape[2]
    k_in = max(cv.size - 1, 1)
    # the output's room: `chunk` cells of the input's sizes on average, with a margin (none when nothing is emitted)
    K = chunk if emit else 0
    nV, nP, nI = K * (V.shape[0] // k_in + 8), K * (P.shape[0] // k_in + 4), K * (FI.size // k_in + 24)
    out = (np.zeros(K + 17, np.int64), np.empty((nV + 64, 3)), np.zeros(K + 17, np.int64), np.empty((nP + 64, 4)),
           np.empty(nP + 64, np.int64), np.zeros(nP + 65, np.int64), np.empty(nI + 64, np.int64),
           np.empty(K + 16, np.int64), np.empty((K + 16, n), np.uint8))
    chunks = []
    cap_v = max(room, 4)
    arena = _arena(cap_v)
    # the stack (vs, vm, fs, fm, is, im, neuron, bit: at most one entry per neuron), the pattern so far,
    # the two caps' planes, the statistics and their values where the current cell started, the smallest
    # inradius of the cells counted (emit False)
    work = (np.empty((n + 2, 8), np.int64), np.zeros(n, np.uint8), np.empty(4), np.empty(4), np.zeros(4, np.int64),
            np.zeros(4, np.int64), np.full(1, below))
    at = np.zeros(5, np.int64)  # the next input cell; the output's cells, vertices, faces and indices so far
    while True:
        status = _split_some(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, emit, out, arena,
                             work, at)
        if status == 0:
            break
        if status == 1:
            cap_v *= 2
            arena = _arena(cap_v)
        elif at[1] > 0:  # the output is full: its cells (all but the one it stopped at) copied out as a chunk
            chunks.append(_chunk(out, at))
            at[1], at[2], at[3], at[4] = 0, 0, 0, 0
        else:
            o_cv, o_V, o_cf, o_P, o_L, o_fi, o_FI, o_parent, o_bits = out
            out = (_grow(o_cv, 2 * o_cv.shape[0]), _grow(o_V, 2 * o_V.shape[0]), _grow(o_cf, 2 * o_cf.shape[0]),
                   _grow(o_P, 2 * o_P.shape[0]), _grow(o_L, 2 * o_L.shape[0]), _grow(o_fi, 2 * o_fi.shape[0]),
                   _grow(o_FI, 2 * o_FI.shape[0]), _grow(o_parent, 2 * o_parent.shape[0]),
                   _grow(o_bits, 2 * o_bits.shape[0]))
    stats = work[4]
    stats[2] = at[1]
    if emit:
        for part in chunks:
            stats[2] += part[7].size
        if at[1] > 0 or not chunks:
            chunks.append(_chunk(out, at))
    return chunks, stats, work[6][0]


@kernel()
def _chunk(out, at):
    """The ``at[1]`` cells in the output (``at[2:]``: their vertices, faces, indices), copied."""
    o_cv, o_V, o_cf, o_P, o_L, o_fi, o_FI, o_parent, o_bits = out
    nc, nv, nf, ni = at[1], at[2], at[3], at[4]
    return (o_cv[: nc + 1].copy(), o_V[:nv].copy(), o_cf[: nc + 1].copy(), o_P[:nf].copy(), o_L[:nf].copy(),
            o_fi[: nf + 1].copy(), o_FI[:ni].copy(), o_parent[:nc].copy(), o_bits[:nc].copy())


@kernel(refcounts=False)
def _split_some(cv, V, cf, P, L, fi, FI, A, S, label_base, eps, near, rtol, yscale, emit, out, arena, work, at):
    """Split the input cells from ``at[0]`` on into the output (counters ``at[1:]``), in the
    arena, neither of them replaced: 0 when every cell is split, 1 when a cell needs a larger
    arena, 2 when the output is full (that cell's output and statistics undone, ``at[0]`` on it).
    With `emit` False the final cells are counted and measured (:func:`split_cells`), not copied."""
    o_cv, o_V, o_cf, o_P, o_L, o_fi, o_FI, o_parent, o_bits = out
    (av, af_p, af_l, af_s, af_c, ai, z, sg, vmap, onp, xnext, xb, xpos, eu, ev, ang, lp_beta, lp_M, lp_vecs, xhead,
     dims) = arena
    stack, bits, cap_on, cap_off, stats, saved, smallest = work
    K = cv.size - 1
    n = A.shape[2]
    cap_v = av.shape[0]
    k, nc, nv, nf, ni = at[0], at[1], at[2], at[3], at[4]
    while k < K:
        v0, vm0, f0, fm0 = cv[k], cv[k + 1] - cv[k], cf[k], cf[k + 1] - cf[k]
        i0, im0 = fi[f0], fi[f0 + fm0] - fi[f0]
        if 4 * (vm0 + fm0 + im0) > cap_v:  # room for the cell and a few children, before any split
            at[0], at[1], at[2], at[3], at[4] = k, nc, nv, nf, ni
            return 1
        mark_c, mark_v, mark_f, mark_i = nc, nv, nf, ni
        for q in range(4):
            saved[q] = stats[q]
        overflow = 0
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
                # twice the largest tolerance of a vertex (each coordinate within reach of the centre's)
                tol_all = 2.0 * rtol * (a0 * (abs(cx) + reach + yscale) + a1 * (abs(cy) + reach + yscale)
                                        + a2 * (abs(cz) + reach + yscale) + ca)
                if abs(zc) > gn * reach * (1.0 + DISC_SLACK) + tol_all:
                    bits[j] = 1 if zc > 0 else 0
                    j += 1
                    continue
                npos = 0
                nneg = 0
                for i in range(vm):
                    x, y, w = av[vs + i, 0], av[vs + i, 1], av[vs + i, 2]
                    zi = g0 * x + g1 * y + g2 * w + cj
                    z[i] = zi
                    tol = 0.0  # beyond every vertex's tolerance, the sign decides (the same decision, cheaper)
                    if abs(zi) <= tol_all:
                        tol = rtol * (a0 * (abs(x) + yscale) + a1 * (abs(y) + yscale) + a2 * (abs(w) + yscale) + ca)
                        if tol > eps * gn and abs(zi) <= tol:
                            stats[0] += 1  # on the plane by a tolerance coarser than eps
                    up = zi > tol  # (no branch on the sign: as good as random)
                    down = zi < -tol
                    sg[i] = np.int64(up) - np.int64(down)
                    npos += up
                    nneg += down
                if nneg == 0 or npos == 0:
                    bits[j] = 1 if nneg == 0 and npos > 0 else 0
                    j += 1
                    continue
                # room for both children: vertices (+ crossings, at most one per index), faces (+ cap), indices
                if (tv + 2 * (vm + im) + 2 > cap_v or tf + 2 * fm + 4 > cap_v
                        or ti + 2 * (3 * im + fm + vm) + 8 > 4 * cap_v or 4 * im + 4 > 16 * cap_v):
                    overflow = 1
                    break
                cap_on[0], cap_on[1], cap_on[2], cap_on[3] = -g0 / gn, -g1 / gn, -g2 / gn, cj / gn
                cap_off[0], cap_off[1], cap_off[2], cap_off[3] = g0 / gn, g1 / gn, g2 / gn, -cj / gn
                cut_polyhedron(av, af_p, af_l, af_s, af_c, ai, vs, vm, fs, fm, sg, z, tv, tf, ti, im, vmap, onp, xhead,
                               xnext, xb, xpos, eu, ev, 8 * cap_v, cap_on, cap_off, label_base + j, ang, stats, dims)
                on_v, on_vm, on_f, on_fm, on_i, on_im = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
                off_v, off_vm, off_f, off_fm, off_i, off_im = dims[6], dims[7], dims[8], dims[9], dims[10], dims[11]
                keep_on = _keep(av, on_v, on_f, on_fm, af_s, af_c, ai, af_p, eps, near, stats, on_vm, lp_beta, lp_M,
                                lp_vecs)
                keep_off = _keep(av, off_v, off_f, off_fm, af_s, af_c, ai, af_p, eps, near, stats, off_vm, lp_beta,
                                 lp_M, lp_vecs)
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
            if not emit:  # counted and measured (the same again, should this cell be split again after an overflow)
                smallest[0] = smaller_inradius(av, vs, vm, fs, fm, af_s, af_c, ai, af_p, smallest[0], lp_beta, lp_M,
                                               lp_vecs)
                nc += 1
                continue
            # a final cell: copy it out, when the output has room
            if (nc + 2 > o_cv.shape[0] or nc + 2 > o_cf.shape[0] or nc + 1 > o_parent.shape[0]
                    or nc + 1 > o_bits.shape[0] or nv + vm > o_V.shape[0] or nf + fm > o_P.shape[0]
                    or nf + fm > o_L.shape[0] or nf + fm + 1 > o_fi.shape[0] or ni + im > o_FI.shape[0]):
                overflow = 2
                break
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
        if overflow:  # undo this cell's output and statistics; split it again when there is room
            for q in range(4):
                stats[q] = saved[q]
            at[0], at[1], at[2], at[3], at[4] = k, mark_c, mark_v, mark_f, mark_i
            return overflow
        k += 1
    at[0], at[1], at[2], at[3], at[4] = k, nc, nv, nf, ni
    return 0


@kernel()
def next_maps(A, S, parent, bits, WT, b, absWT, absb):
    """The next layer's maps of each output cell: ``(A2, S2)`` of shapes (K, 4, m), ``A2[k] =
    (A[parent[k]] * bits[k]) W^T`` with ``b`` added to its constant row (index 3), and ``S2`` the
    same from ``S`` with ``|W|`` and ``|b|`` (float32, as ``S``): the off neurons pass nothing on,
    so only the on neurons' columns are summed, in their order. ``WT`` (n, m) and ``absWT`` are the
    transposed weights (contiguous rows: each term is a row of ``m`` products)."""
    K, n = bits.shape
    m = WT.shape[1]
    A2 = np.zeros((K, 4, m))
    S2 = np.zeros((K, 4, m), np.float32)
    for k in range(K):
        p = parent[k]
        for j in range(n):
            if bits[k, j] == 0:
                continue
            for q in range(4):
                a = A[p, q, j]
                sa = S[p, q, j]
                for i in range(m):
                    A2[k, q, i] += a * WT[j, i]
                    S2[k, q, i] += sa * absWT[j, i]
        for i in range(m):
            A2[k, 3, i] += b[i]
            S2[k, 3, i] += absb[i]
    return A2, S2
