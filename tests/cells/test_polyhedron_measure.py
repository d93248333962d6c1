"""Tests of polyregions.cells.polyhedron_measure: the smallest inradius of a batch of cells
(``stats.min_radius`` of a 3-D count) against the exact rational reference's inradius
(tests/exact_reference.py: the Chebyshev LP of the cells' face planes, read as exact rationals)."""

from __future__ import annotations

from fractions import Fraction

import exact_reference as ref
import numpy as np
import pytest

from polyregions.cells.polyhedron_measure import mean_depth, min_inradius, volumes

#: The float inradius is computed from planes at coordinates up to the needle's length: it is
#: within about this fraction of that length of the exact inradius of the same planes.
ROUNDING = 1e-16


def _prism(Q, length, gap):
    """The needle ``x >= 0, y >= 0, x + y <= gap, 0 <= z <= length`` rotated by ``Q``: vertices,
    faces (counter-clockwise from outside) and face planes ``n . y <= beta`` (unit ``n``)."""
    tri = np.array([[0.0, 0.0], [gap, 0.0], [0.0, gap]])
    V = np.array([[x, y, z] for z in (0.0, length) for x, y in tri]) @ Q.T
    faces = [[0, 2, 1], [3, 4, 5], [0, 1, 4, 3], [1, 2, 5, 4], [2, 0, 3, 5]]
    normals = np.array([[0, 0, -1], [0, 0, 1], [0, -1, 0], [1, 1, 0], [-1, 0, 0]], float)
    normals = normals / np.linalg.norm(normals, axis=1)[:, None] @ Q.T
    return V, faces, np.array([np.append(n, n @ V[f[0]]) for n, f in zip(normals, faces)])


def _cube(half, centre):
    V = np.array([[x, y, z] for x in (-half, half) for y in (-half, half) for z in (-half, half)]) + centre
    faces = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    normals = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]], float)
    return V, faces, np.array([np.append(n, n @ V[f[0]]) for n, f in zip(normals, faces)])


def _batch(cells):
    """Cells ``(V, faces, planes)`` in the CSR form of :mod:`polyregions.cells.polyhedron`."""
    cv, cf, fi, FI = [0], [0], [0], []
    for V, faces, _ in cells:
        for f in faces:
            FI.extend(f)
            fi.append(len(FI))
        cv.append(cv[-1] + len(V))
        cf.append(cf[-1] + len(faces))
    ints = lambda v: np.array(v, np.int64)  # noqa: E731
    return (ints(cv), np.vstack([V for V, _, _ in cells]), ints(cf), np.vstack([P for _, _, P in cells]), ints(fi),
            ints(FI))


def _exact_inradius(planes):
    """Rational bounds ``lo <= r <= hi`` of the inradius of ``{n . y <= beta}`` (the float planes, exactly)."""
    rows = [([Fraction(float(v)) for v in p[:3]], Fraction(float(p[3]))) for p in planes]
    norms = [ref.sqrt_bounds(ref.dot(a, a)) for a, _ in rows]
    cap = Fraction(10**12)
    return (float(ref.max_inball(rows, [hi for _, hi in norms], cap)),
            float(ref.max_inball(rows, [lo for lo, _ in norms], cap)))


@pytest.mark.parametrize("length, gap", [(1e3, 1e-7), (1e5, 1e-9)])
def test_the_smallest_inradius_of_a_needle_is_its_inradius(length, gap):
    """A needle (inradius about 3e-10, length 1e5; or 3e-8 and 1e3) beside a cube of inradius 0.5:
    the needle's volume (about 1e-14) is far below its rounding (V / F comes out anywhere between
    -10 and 10, above 0.5 for most of these seeds); the smallest inradius is the needle's, as the
    exact reference computes it for the same float planes."""
    for seed in range(12):
        Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
        needle = _prism(Q, length, gap)
        cells = _batch([needle, _cube(0.5, np.array([3 * length, 0.0, 0.0]))])
        lo, hi = _exact_inradius(needle[2])
        r = min_inradius(*cells[:4], cells[4], cells[5], np.inf)
        assert lo - ROUNDING * length <= r <= hi + ROUNDING * length, seed



@pytest.mark.parametrize("length, gap", [(1e3, 1e-7), (1e5, 1e-9), (1.0, 0.5)])
def test_the_mean_depth_is_a_lower_bound_of_the_inradius(length, gap):
    """The depth of the vertices' mean below the nearest face plane never exceeds the exact
    inradius of the same float planes (it is what the count keeps a cell on), and for a cube it
    is the half side (closed form)."""
    for seed in range(6):
        Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
        V, _, planes = _prism(Q, length, gap)
        lo, _ = _exact_inradius(planes)
        assert mean_depth(V, 0, len(V), planes, 0, len(planes)) <= lo
    V, _, planes = _cube(0.25, np.array([1.0, -2.0, 3.0]))
    assert mean_depth(V, 0, len(V), planes, 0, len(planes)) == pytest.approx(0.25, rel=1e-12)
