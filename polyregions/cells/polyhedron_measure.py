"""Compiled measures of convex polyhedra in 3-D: volume, surface area, inradius (Chebyshev ball).

The polyhedra are those of :mod:`polyregions.cells.polyhedron` (vertices, faces as cycles of
vertex indices counter-clockwise from outside, face planes ``n . y <= beta`` with unit outward
normals), one at a time or a batch in CSR form.

* Volume by the divergence theorem over each face's fan of triangles (relative to the first
  vertex, for accuracy), area as the sum of the faces' vector areas' lengths.
* Inradius: the Chebyshev LP ``max t s.t. n_i . y + t <= beta_i``, a bounded LP in four
  variables, attains its optimum at a vertex of its feasible set: four planes tight. Every
  four planes are solved (a 4 x 4 system) and every candidate judged by its own distance to the
  nearest plane, recomputed, so the radius returned is honest for its centre (never above the
  truth) and equals the LP's optimum up to the rounding of the best-conditioned candidate. The
  cost grows as the fourth power of the number of faces: it is meant for cells (typically 4 to
  15 faces), and the splitting computes it only for cells within a factor of ``near`` of ``eps``.
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.jit import kernel

__all__ = ["PIVOT_TOL", "PLANE_ROUNDING", "VOLUME_ROUNDING", "inradii", "inradius", "inradius_in", "mean_depth",
           "min_inradius", "smaller_inradius", "volume_area", "volume_rounding", "volumes"]

#: The rounding of ``beta - n . c`` (four terms, each within a few roundings) is at most this
#: times ``|beta| + |n_0 c_0| + |n_1 c_1| + |n_2 c_2|`` (:func:`mean_depth`).
PLANE_ROUNDING = 2.0**-48
#: A 4 x 4 system of the Chebyshev LP's vertex enumeration is singular when a pivot falls
#: below this (its rows are unit normals with a 1 appended: entries of size one).
PIVOT_TOL = 1e-13
#: A child's volume, summed over ``T`` fan triangles of vertex differences of size up to ``D``,
#: is within ``VOLUME_ROUNDING * T (T + 6) D^3`` of the volume of its float vertices (each
#: triple product of six terms up to ``D^3`` within a few roundings, then ``T`` of them summed).
VOLUME_ROUNDING = 2.0**-52


@kernel()
def volume_area(av, vs, fs, fm, af_s, af_c, ai):
    """``(V, F)``: volume (divergence theorem over fan triangles, relative to the first vertex)
    and surface area of the polyhedron with vertices at ``vs`` and faces ``fs .. fs + fm``."""
    ox, oy, oz = av[vs, 0], av[vs, 1], av[vs, 2]
    vol = 0.0
    area = 0.0
    for f in range(fs, fs + fm):
        s, m = af_s[f], af_c[f]
        a = vs + ai[s]
        ax, ay, az = av[a, 0] - ox, av[a, 1] - oy, av[a, 2] - oz
        nx = 0.0
        ny = 0.0
        nz = 0.0
        for i in range(1, m - 1):
            b = vs + ai[s + i]
            c = vs + ai[s + i + 1]
            bx, by, bz = av[b, 0] - ox, av[b, 1] - oy, av[b, 2] - oz
            cx, cy, cz = av[c, 0] - ox, av[c, 1] - oy, av[c, 2] - oz
            vol += ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx)
            ux, uy, uz = bx - ax, by - ay, bz - az
            wx, wy, wz = cx - ax, cy - ay, cz - az
            nx += uy * wz - uz * wy
            ny += uz * wx - ux * wz
            nz += ux * wy - uy * wx
        area += math.sqrt(nx * nx + ny * ny + nz * nz)
    return vol / 6.0, area / 2.0


@kernel()
def volume_rounding(av, vs, vm, af_c, fs, fm):
    """The bound ``VOLUME_ROUNDING * T (T + 6) D^3`` of the rounding of :func:`volume_area` (the
    polyhedron with vertices ``av[vs:vs + vm]`` and faces ``fs .. fs + fm`` of ``af_c`` indices)."""
    d = 0.0
    for i in range(1, vm):
        for q in range(3):
            d = max(d, abs(av[vs + i, q] - av[vs, q]))
    t = 0
    for f in range(fs, fs + fm):
        t += af_c[f] - 2
    return VOLUME_ROUNDING * t * (t + 6) * d * d * d


@kernel()
def _solve4(M, rhs, out):
    """Solve the 4 x 4 system ``M out = rhs`` (Gaussian elimination, partial pivoting; ``M``
    and ``rhs`` are overwritten). False when a pivot is below :data:`PIVOT_TOL`."""
    for col in range(4):
        p = col
        for i in range(col + 1, 4):
            if abs(M[i, col]) > abs(M[p, col]):
                p = i
        if abs(M[p, col]) < PIVOT_TOL:
            return False
        if p != col:
            for q in range(4):
                M[col, q], M[p, q] = M[p, q], M[col, q]
            rhs[col], rhs[p] = rhs[p], rhs[col]
        for i in range(col + 1, 4):
            f = M[i, col] / M[col, col]
            for q in range(col, 4):
                M[i, q] -= f * M[col, q]
            rhs[i] -= f * rhs[col]
    for i in range(3, -1, -1):
        acc = rhs[i]
        for q in range(i + 1, 4):
            acc -= M[i, q] * out[q]
        out[i] = acc / M[i, i]
    return True


@kernel()
def inradius(planes, fs, fm, verts, vs, vm):
    """``(r, y0, y1, y2)``: a ball of radius ``r`` centred at ``y`` inside the polyhedron whose
    face planes are ``planes[fs:fs + fm]`` (vertices ``verts[vs:vs + vm]``): the largest one,
    found among the vertices of the Chebyshev LP ``max t s.t. n_i . y + t <= beta_i`` (every
    four planes; the optimum of this bounded LP sits at one) and the vertices' mean. Each
    candidate is judged by its own distance to the nearest plane, recomputed, so ``r`` is
    honest for the centre returned even where four planes are ill-conditioned. Solved in
    coordinates centred on the vertices' mean (:func:`inradius_in`, here with its scratch)."""
    return inradius_in(planes, fs, fm, verts, vs, vm, np.empty(fm), np.empty((4, 4)), np.empty((2, 4)))


@kernel()
def inradius_in(planes, fs, fm, verts, vs, vm, beta, M, vecs):
    """:func:`inradius` in the scratch it is given, allocating nothing: ``beta`` (at least `fm`),
    ``M`` (4, 4) and ``vecs`` (2, 4), overwritten (for kernels compiled without reference counts,
    which allocate no array)."""
    ox = 0.0
    oy = 0.0
    oz = 0.0
    for i in range(vm):
        ox += verts[vs + i, 0] / vm
        oy += verts[vs + i, 1] / vm
        oz += verts[vs + i, 2] / vm
    best = np.inf
    for i in range(fm):
        p = fs + i
        beta[i] = planes[p, 3] - planes[p, 0] * ox - planes[p, 1] * oy - planes[p, 2] * oz
        best = min(best, beta[i])  # the mean itself
    bx = 0.0
    by = 0.0
    bz = 0.0
    rhs = vecs[0]
    sol = vecs[1]
    for a in range(fm):
        for b in range(a + 1, fm):
            for c in range(b + 1, fm):
                for d in range(c + 1, fm):
                    for i in range(4):
                        t = a if i == 0 else (b if i == 1 else (c if i == 2 else d))
                        p = fs + t
                        M[i, 0], M[i, 1], M[i, 2], M[i, 3] = planes[p, 0], planes[p, 1], planes[p, 2], 1.0
                        rhs[i] = beta[t]
                    if not _solve4(M, rhs, sol) or not sol[3] > best:
                        continue
                    r = np.inf
                    for q in range(fm):
                        p = fs + q
                        r = min(r, beta[q] - planes[p, 0] * sol[0] - planes[p, 1] * sol[1] - planes[p, 2] * sol[2])
                        if r <= best:
                            break
                    if r > best:
                        best = r
                        bx, by, bz = sol[0], sol[1], sol[2]
    return best, bx + ox, by + oy, bz + oz


@kernel()
def volumes(cv, V, cf, fi, FI):
    """Volume and surface area of every cell: arrays ``(K,)`` and ``(K,)``."""
    K = cv.size - 1
    vol = np.empty(K)
    area = np.empty(K)
    counts = np.empty(max(fi.size - 1, 1), np.int64)  # the index count of every face
    for f in range(fi.size - 1):
        counts[f] = fi[f + 1] - fi[f]
    for k in range(K):
        # face f of cell k: FI[fi[f]:fi[f + 1]], vertex indices local to the cell (from V[cv[k]])
        vol[k], area[k] = volume_area(V, cv[k], cf[k], cf[k + 1] - cf[k], fi, counts, FI)
    return vol, area


@kernel()
def inradii(cv, V, cf, P):
    """Inradius and centre of every cell: arrays ``r`` (K,), ``centre`` (K, 3)."""
    K = cv.size - 1
    r = np.empty(K)
    centre = np.empty((K, 3))
    for k in range(K):
        r[k], centre[k, 0], centre[k, 1], centre[k, 2] = inradius(P, cf[k], cf[k + 1] - cf[k], V, cv[k],
                                                                  cv[k + 1] - cv[k])
    return r, centre


@kernel()
def mean_depth(verts, vs, vm, planes, fs, fm):
    """A lower bound of the inradius of the polyhedron with vertices ``verts[vs:vs + vm]`` and
    face planes ``planes[fs:fs + fm]``: the depth of the vertices' mean ``c`` below the nearest
    plane, ``min_i (beta_i - n_i . c)``, less :data:`PLANE_ROUNDING` times the size of the terms
    (the ball of that radius around ``c`` lies inside every plane, as :func:`inradius` judges its
    centres; negative when ``c`` is not inside)."""
    cx = 0.0
    cy = 0.0
    cz = 0.0
    for i in range(vm):
        cx += verts[vs + i, 0]
        cy += verts[vs + i, 1]
        cz += verts[vs + i, 2]
    cx, cy, cz = cx / vm, cy / vm, cz / vm
    depth = np.inf
    for f in range(fs, fs + fm):
        a, b, c = planes[f, 0] * cx, planes[f, 1] * cy, planes[f, 2] * cz
        t = planes[f, 3] - (a + b + c)
        depth = min(depth, t - PLANE_ROUNDING * (abs(planes[f, 3]) + abs(a) + abs(b) + abs(c)))
    return depth


@kernel()
def smaller_inradius(verts, vs, vm, fs, fm, face_start, face_count, indices, planes, below, beta, M, vecs):
    """The inradius of one polyhedron if it is below `below`, else `below` (:func:`volume_area`'s
    arguments, then the planes, and the scratch of :func:`inradius_in`): the exact inradius is
    computed only when the lower bound ``(V - e) / F`` is below `below` (``e``: the volume's
    rounding, :func:`volume_rounding`, as the count's judgement takes it; a needle's ``V`` may
    be all rounding, and then its inradius decides), and the volume only when the cheaper lower
    bound :func:`mean_depth` is below `below`. A cell without area leaves `below`."""
    if mean_depth(verts, vs, vm, planes, fs, fm) >= below:
        return below
    vol, area = volume_area(verts, vs, fs, fm, face_start, face_count, indices)
    if area > 0.0 and (vol - volume_rounding(verts, vs, vm, face_count, fs, fm)) / area < below:
        return min(below, inradius_in(planes, fs, fm, verts, vs, vm, beta, M, vecs)[0])
    return below


@kernel()
def min_inradius(cv, V, cf, P, fi, FI, below):
    """The smallest inradius of the cells if it is below `below`, else `below`
    (:func:`smaller_inradius` cell by cell, as a count measures its cells)."""
    counts = np.empty(max(fi.size - 1, 1), np.int64)
    for f in range(fi.size - 1):
        counts[f] = fi[f + 1] - fi[f]
    beta = np.empty(max(fi.size - 1, 1))
    M = np.empty((4, 4))
    vecs = np.empty((2, 4))
    best = below
    for k in range(cv.size - 1):
        best = smaller_inradius(V, cv[k], cv[k + 1] - cv[k], cf[k], cf[k + 1] - cf[k], fi, counts, FI, P, best, beta,
                                M, vecs)
    return best
