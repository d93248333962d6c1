"""The full-dimensional input domains: the box, the norm balls, the polytope and the whole space.

Each answers the questions of :class:`~polyregions.domains.base.Domain` (its rows, support
function, polygon, exact spec, key, rows in the big-M model). The box, the polytope and the
whole space are their rows (:class:`~polyregions.domains.base.PolyhedralDomain`) and answer in
closed form where one exists; the ball ``|x - c|_p <= r`` is rows only for ``p = inf``: for
``p = 1`` and ``p = 2`` it answers with its centre and radius.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from .._validate import finite_array, positive_int, positive_number
from ..errors import InvalidInputError, UnsupportedError
from .base import Domain, PolyhedralDomain, box_affine_range, exact_rows_spec
from ..solvers.registry import chebyshev_ball, polyhedron_box

__all__ = ["Ball", "Box", "Domain", "FULL_DIMENSION_RADIUS", "Polytope", "Whole"]

#: A polytope is full-dimensional when it holds a ball of radius above this (after its
#: rows are scaled to unit normals).
FULL_DIMENSION_RADIUS = 1e-12


def _box_corners(lo, hi):
    """The rectangle ``lo <= y <= hi`` counter-clockwise from ``lo``."""
    return np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])


def _corners(lo, hi):
    """The ``2^n`` corners of the box ``lo <= y <= hi``: corner ``k`` takes ``hi`` in coordinate ``i``
    when bit ``i`` of ``k`` is set (corners ``k`` and ``2^n - 1 - k`` are opposite)."""
    n = len(lo)
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    return np.where(bits == 1, hi, lo)


class Whole(PolyhedralDomain):
    """The whole input space ``R^n``."""

    bounded = False

    def __init__(self, n):
        self.dim = positive_int(n, "n")

    def rows(self):
        """No rows: ``A`` of shape ``(0, n)``."""
        return np.zeros((0, self.dim)), np.zeros(0)

    def bounding_box(self):
        return np.full(self.dim, -math.inf), np.full(self.dim, math.inf)

    def contains(self, x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.all(np.isfinite(x), axis=1)

    def center_point(self):
        return np.zeros(self.dim)

    def _support(self, G):
        return np.full(G.shape[0], math.inf)

    def __repr__(self):
        return f"Whole({self.dim})"


class Box(PolyhedralDomain):
    """The box ``lo <= x <= hi`` (``lo < hi`` in every coordinate)."""

    bounded = True

    def __init__(self, lo, hi):
        lo = finite_array(lo, "lo", ndim=1)
        hi = finite_array(hi, "hi", ndim=1)
        if lo.shape != hi.shape:
            raise InvalidInputError(f"`lo` and `hi` must have the same length, got {lo.shape[0]} and {hi.shape[0]}")
        if lo.size == 0:
            raise InvalidInputError("`lo` must not be empty")
        if not (lo < hi).all():
            k = int(np.argmin(hi - lo))
            raise InvalidInputError(f"`lo` must be < `hi` in every coordinate (coordinate {k}: {lo[k]} >= {hi[k]})")
        self.lo, self.hi, self.dim = lo, hi, lo.size

    def rows(self):
        """The box as ``A x <= b``: ``x_k <= hi_k`` and ``-x_k <= -lo_k``."""
        eye = np.eye(self.dim)
        return np.vstack([eye, -eye]), np.concatenate([self.hi, -self.lo])

    def coordinate_bounds(self):
        """``(lo, hi)``: :meth:`rows` as bounds."""
        return self.lo.copy(), self.hi.copy()

    def bounding_box(self):
        return self.lo.copy(), self.hi.copy()

    def contains(self, x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.all((x > self.lo) & (x < self.hi), axis=1)

    def center_point(self):
        return (self.lo + self.hi) / 2

    def sample(self, n, rng):
        return rng.uniform(self.lo, self.hi, size=(n, self.dim))

    def key(self):
        return ("Box", self.lo, self.hi)

    def _support(self, G):
        """``G mid + |G| half`` (mid and half-widths of the box)."""
        return box_affine_range(G, 0.0, (self.lo + self.hi) / 2, (self.hi - self.lo) / 2)[1]

    def polygon(self):
        if self.dim == 1:
            return float(self.lo[0]), float(self.hi[0])
        return _box_corners(self.lo, self.hi)

    def frame_vertices(self):
        return _corners(self.lo, self.hi)

    def measure(self):
        return float(np.prod(self.hi - self.lo))

    def add_to_model(self, model, x):
        """Nothing: the bounds of the input columns are the box."""

    def __repr__(self):
        if self.dim <= 4:
            return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"
        return f"Box(dim={self.dim}, lo in [{self.lo.min():g}, {self.lo.max():g}], hi in [{self.hi.min():g}, {self.hi.max():g}])"


class Ball(Domain):
    """The ball ``|x - center|_p <= radius`` for ``p`` in {1, 2, inf} (default 2)."""

    def __init__(self, center, radius, p=2):
        self.center = finite_array(center, "center", ndim=1)
        if self.center.size == 0:
            raise InvalidInputError("`center` must not be empty")
        self.radius = positive_number(radius, "radius")
        if isinstance(p, (bool, np.bool_)):
            raise InvalidInputError(f"`p` must be 1, 2 or inf, got {p!r}")
        if p in (1, 2):
            self.p = int(p)
        elif p in (np.inf, "inf", float("inf")):
            self.p = math.inf
        else:
            raise InvalidInputError(f"`p` must be 1, 2 or inf, got {p!r}")
        self.dim = self.center.size
        self.model_is_outer = self.p == 2

    @property
    def norm(self):
        return self.p

    @property
    def diameter(self):
        return 2 * self.radius * (math.sqrt(self.dim) if self.p == math.inf else 1.0)

    def rows(self):
        """The L-inf ball as ``|x_k - c_k| <= r`` (2n rows); no rows for the L1 and L2 balls."""
        n, c, r = self.dim, self.center, self.radius
        if self.p == math.inf:
            eye = np.eye(n)
            return np.vstack([eye, -eye]), np.concatenate([c + r, r - c])
        return np.zeros((0, n)), np.zeros(0)

    def norm_ball(self):
        """``(p, center, radius)`` for ``p`` = 1 or 2 (the L-inf ball is its rows)."""
        return (self.p, self.center, self.radius) if self.p in (1, 2) else None

    def coordinate_bounds(self):
        """The L-inf ball's :meth:`rows` as bounds, ``c - r <= x <= c + r`` (``c - r`` is exactly
        ``-(r - c)``, the rows' ``-x_k <= r - c_k``); None for the L1 and L2 balls."""
        if self.p == math.inf:
            return self.center - self.radius, self.center + self.radius
        return None

    def bounding_box(self):
        """``c -+ r`` in every coordinate, for every ``p`` (``max e_k . (x - c) = r |e_k|_q = r``)."""
        return self.center - self.radius, self.center + self.radius

    def contains(self, x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.linalg.norm(x - self.center, ord=self.p, axis=1) < self.radius

    def center_point(self):
        return self.center.copy()

    def sample(self, n, rng):
        """Uniform points in the ball."""
        d, c, r = self.dim, self.center, self.radius
        if self.p == math.inf:
            return rng.uniform(c - r, c + r, size=(n, d))
        if self.p == 2:
            g = rng.normal(size=(n, d))
            g /= np.linalg.norm(g, axis=1, keepdims=True)
            return c + r * g * rng.uniform(size=(n, 1)) ** (1.0 / d)
        # L1: exponential spacings give a uniform point of the simplex; random signs and a radius
        e = rng.exponential(size=(n, d + 1))
        s = e[:, :d] / e.sum(axis=1, keepdims=True)
        return c + r * s * rng.choice([-1.0, 1.0], size=(n, d))

    def key(self):
        return ("Ball", self.center, self.radius, self.p)

    # ------------------------------------------------------------------ geometry
    def _support(self, G):
        """``G c + r |G_i|_q`` with ``1/p + 1/q = 1``."""
        q = {1: np.inf, 2: 2, math.inf: 1}[self.p]
        return G @ self.center + self.radius * np.linalg.norm(G, ord=q, axis=1)

    def polyhedron_reason(self):
        if self.p == 2 and self.dim > 1:
            return "an L2 disc is not a polygon" if self.dim == 2 else "an L2 ball is not a polyhedron"
        return None

    def frame_rows(self):
        """L-inf: its rows; L1: its ``2^n`` facets ``sigma . (x - c) <= r`` (``sigma`` in
        ``itertools.product((1, -1), repeat=n)`` order, scaled to unit normals); L2 in one
        dimension: the interval's two rows."""
        n, c, r = self.dim, self.center, self.radius
        if self.p == math.inf:
            return self.rows()
        if self.p == 1:
            signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
            return signs / math.sqrt(n), (signs @ c + r) / math.sqrt(n)
        if n == 1:
            return np.array([[1.0], [-1.0]]), np.array([c[0] + r, r - c[0]])
        raise UnsupportedError("`domain`: an L2 ball is not a polytope (its cells are not polyhedra)")

    def frame_vertices(self):
        c, r = self.center, self.radius
        if self.p == 1 or self.dim == 1:
            eye = np.eye(self.dim) * r
            return np.vstack([c + eye, c - eye])
        if self.p == math.inf:
            return _corners(c - r, c + r)
        raise UnsupportedError("`domain`: an L2 ball has no vertices")

    def measure(self):
        d, r = self.dim, self.radius
        if self.p == 1:
            return float((2 * r) ** d / math.factorial(d))
        if self.p == math.inf or d == 1:
            return float((2 * r) ** d)
        return float(math.pi ** (d / 2) / math.gamma(d / 2 + 1) * r ** d)

    def polygon(self):
        """The interval ``c -+ r`` in one dimension (every ``p``); the square (L-inf) or the
        diamond (L1) in two."""
        (c0, *_), r = self.center, self.radius
        if self.dim == 1:
            return float(c0 - r), float(c0 + r)
        if self.p == math.inf:
            return _box_corners(self.center - r, self.center + r)
        c1 = self.center[1]
        return np.array([[c0 + r, c1], [c0, c1 + r], [c0 - r, c1], [c0, c1 - r]])

    def exact_spec(self):
        if self.p == math.inf:
            return exact_rows_spec(self.dim, *self.rows())
        return {"kind": f"l{self.p}", "dim": self.dim, "center": [Fraction(float(v)) for v in self.center],
                "radius": Fraction(float(self.radius))}

    # ------------------------------------------------------------------ the big-M model
    def add_to_model(self, model, x):
        """L-inf: nothing (the bounds of ``x``); L1 lifted: ``|x_k - c_k| <= s_k``, ``sum_k s_k <= r``;
        L2: nothing yet (its bounding box in the bounds of ``x``; :meth:`seed_cuts` and
        :meth:`outer_cut` refine it)."""
        if self.p != 1:
            return
        n, c, r = self.dim, self.center, self.radius
        s = [model.add_col(0.0, r, f"s_{k}") for k in range(n)]
        for k in range(n):
            model.add_row([x[k], s[k]], [1.0, -1.0], -math.inf, c[k], f"l1p_{k}")
            model.add_row([x[k], s[k]], [-1.0, -1.0], -math.inf, -c[k], f"l1n_{k}")
        model.add_row(s, np.ones(n), -math.inf, r, "l1_sum")

    def outside(self, x, rtol):
        return self.p == 2 and float(np.linalg.norm(x - self.center)) > self.radius * (1.0 + rtol)

    def outer_cut(self, x):
        """The tangent plane ``u . y <= u . c + r`` in the direction ``u = (x - c) / |x - c|``: every
        point of the L2 ball satisfies it (``u . (y - c) <= |y - c|``), and ``x`` violates it when
        it lies outside."""
        if self.p != 2:
            return super().outer_cut(x)
        d = np.asarray(x, float) - self.center
        u = d / np.linalg.norm(d)
        return u, float(u @ self.center + self.radius)

    def seed_cuts(self):
        """L2: the tangent planes at the directions ``(+-e_i +- e_j) / sqrt 2`` (the bounds of ``x``
        give those at ``+-e_k``)."""
        if self.p != 2:
            return []
        c, n = self.center, self.dim
        cuts = []
        for i in range(n):
            for j in range(i + 1, n):
                for si in (1.0, -1.0):
                    for sj in (1.0, -1.0):
                        v = np.zeros(n)
                        v[i], v[j] = si, sj
                        cuts.append(self.outer_cut(c + v))
        return cuts

    def clip(self, x):
        """L2: a point a hair outside the ball moved onto its sphere."""
        if self.p == 2:
            d = np.linalg.norm(x - self.center)
            if d > self.radius:
                return self.center + (x - self.center) * (self.radius / d)
        return x

    def __repr__(self):
        c = self.center.tolist() if self.dim <= 4 else f"<{self.dim} values, |c|_2 = {np.linalg.norm(self.center):.4g}>"
        return f"Ball(center={c}, radius={self.radius:g}, p={self.p})"


class Polytope(PolyhedralDomain):
    """The polytope ``A x <= b``; it must be full-dimensional (it may be unbounded)."""

    def __init__(self, A, b):
        A = finite_array(A, "A", ndim=2)
        b = finite_array(b, "b", ndim=1)
        if A.shape[0] != b.shape[0]:
            raise InvalidInputError(f"`A` has {A.shape[0]} rows but `b` has length {b.shape[0]}")
        if A.shape[1] == 0:
            raise InvalidInputError("`A` must have at least one column")
        norms = np.linalg.norm(A, axis=1)
        if np.any(norms == 0):
            k = int(np.flatnonzero(norms == 0)[0])
            if b[k] < 0:
                raise InvalidInputError(f"the polytope is empty: row {k} of `A` is zero and b[{k}] < 0")
            A, b, norms = A[norms > 0], b[norms > 0], norms[norms > 0]
        self.A, self.b, self.dim = A / norms[:, None], b / norms, A.shape[1]
        # the interior (one LP) and the bounding box (2n LPs), once
        point, radius = chebyshev_ball(self.A, self.b, cap=1.0)
        if radius is None or radius <= FULL_DIMENSION_RADIUS:
            raise InvalidInputError("`A` and `b` must describe a full-dimensional polytope (its interior is empty)")
        self._point = point
        self._box = polyhedron_box(self.A, self.b)
        self._bounded = bool(np.all(np.isfinite(self._box[0])) and np.all(np.isfinite(self._box[1])))

    @property
    def bounded(self):
        return self._bounded

    def rows(self):
        """The rows ``A x <= b`` (scaled to unit normals)."""
        return self.A, self.b

    def __repr__(self):
        return f"Polytope(rows={self.A.shape[0]}, dim={self.dim})"
