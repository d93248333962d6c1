"""Input domains: the sets inside which regions are counted.

Every domain has a non-empty interior and describes itself as data: ``rows()`` gives
its linear rows ``A x <= b`` (empty for the whole space and the L1 and L2 balls),
``norm``, ``center`` and ``radius`` its norm ball ``|x - center|_p <= radius`` (``norm``
is None for a domain that is not a ball), ``bounded`` and ``diameter`` its extent. The
solver layer builds its problems from these (:func:`polyregions.solvers.region_problem`).
``contains(x)`` tests interior membership; ``sample(n, rng)`` draws uniform points (used
by tests and studies).
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import finite_array, positive_int, positive_number
from .errors import InvalidInputError
from .solvers.scipy_lp import bounding_box, interior_ball

__all__ = ["Domain", "Whole", "Box", "Ball", "Polytope"]

#: A polytope is full-dimensional when it holds a ball of radius above this (after its
#: rows are scaled to unit normals).
FULL_DIMENSION_RADIUS = 1e-12


class Domain:
    """Base class of the input domains."""

    dim: int
    bounded: bool = True
    #: Euclidean diameter (inf when unbounded): a hyperplane farther than this from an
    #: interior point misses the domain.
    diameter: float = math.inf
    #: ``p`` of a norm ball ``|x - center|_p <= radius`` (1, 2 or inf); None for other domains.
    norm = None

    def rows(self):  # pragma: no cover - abstract
        """The domain's linear rows ``A x <= b`` (empty arrays when it has none)."""
        raise NotImplementedError

    def bounding_box(self):  # pragma: no cover - abstract
        """``(lo, hi)`` with ``lo <= x <= hi`` on the domain (infinite entries where unbounded)."""
        raise NotImplementedError

    def contains(self, x) -> np.ndarray:  # pragma: no cover - abstract
        """True where ``x`` lies in the interior of the domain."""
        raise NotImplementedError

    def center_point(self) -> np.ndarray:  # pragma: no cover - abstract
        """A point of the interior (the start of the search)."""
        raise NotImplementedError


class Whole(Domain):
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

    def __repr__(self):
        return f"Whole({self.dim})"


class Box(Domain):
    """The box ``lo <= x <= hi`` (``lo < hi`` in every coordinate)."""

    def __init__(self, lo, hi):
        lo = finite_array(lo, "lo", ndim=1)
        hi = finite_array(hi, "hi", ndim=1)
        if lo.shape != hi.shape:
            raise InvalidInputError(f"`lo` and `hi` must have the same length, got {lo.shape[0]} and {hi.shape[0]}")
        if lo.size == 0:
            raise InvalidInputError("`lo` must not be empty")
        if not np.all(lo < hi):
            k = int(np.argmin(hi - lo))
            raise InvalidInputError(f"`lo` must be < `hi` in every coordinate (coordinate {k}: {lo[k]} >= {hi[k]})")
        self.lo, self.hi, self.dim = lo, hi, lo.size
        self.diameter = float(np.linalg.norm(hi - lo))

    def rows(self):
        """The box as ``A x <= b``: ``x_k <= hi_k`` and ``-x_k <= -lo_k``."""
        eye = np.eye(self.dim)
        return np.vstack([eye, -eye]), np.concatenate([self.hi, -self.lo])

    def bounding_box(self):
        return self.lo.copy(), self.hi.copy()

    def contains(self, x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.all((x > self.lo) & (x < self.hi), axis=1)

    def center_point(self):
        return (self.lo + self.hi) / 2

    def sample(self, n, rng):
        return rng.uniform(self.lo, self.hi, size=(n, self.dim))

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
        self.diameter = 2 * self.radius * (math.sqrt(self.dim) if self.p == math.inf else 1.0)

    @property
    def norm(self):
        return self.p

    def rows(self):
        """The L-inf ball as ``|x_k - c_k| <= r`` (2n rows); no rows for the L1 and L2 balls."""
        n, c, r = self.dim, self.center, self.radius
        if self.p == math.inf:
            eye = np.eye(n)
            return np.vstack([eye, -eye]), np.concatenate([c + r, r - c])
        return np.zeros((0, n)), np.zeros(0)

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

    def __repr__(self):
        c = self.center.tolist() if self.dim <= 4 else f"<{self.dim} values, |c|_2 = {np.linalg.norm(self.center):.4g}>"
        return f"Ball(center={c}, radius={self.radius:g}, p={self.p})"


class Polytope(Domain):
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
        self.bounded, self._point = self._check_full_dimensional()

    def _check_full_dimensional(self):
        """Check the interior (one LP) and compute the bounding box (``2n`` LPs, once)."""
        point, radius = interior_ball(self.A, self.b, cap=1.0)
        if radius is None or radius <= FULL_DIMENSION_RADIUS:
            raise InvalidInputError("`A` and `b` must describe a full-dimensional polytope (its interior is empty)")
        self.box = bounding_box(self.A, self.b)
        lo, hi = self.box
        bounded = bool(np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)))
        if bounded:
            self.diameter = float(np.linalg.norm(hi - lo))
        return bounded, point

    def rows(self):
        """The rows ``A x <= b`` (scaled to unit normals)."""
        return self.A, self.b

    def bounding_box(self):
        """Computed once, at construction (:func:`polyregions.solvers.scipy_lp.bounding_box`)."""
        return self.box[0].copy(), self.box[1].copy()

    def sample(self, n, rng):
        """Uniform points, by rejection from the bounding box (bounded polytopes only)."""
        if not self.bounded:
            raise InvalidInputError("cannot sample uniformly from an unbounded polytope")
        out, have = [], 0
        while have < n:
            x = rng.uniform(*self.box, size=(max(2 * (n - have), 64), self.dim))
            x = x[self.contains(x)]
            out.append(x)
            have += len(x)
        return np.concatenate(out)[:n]

    def contains(self, x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.all(x @ self.A.T < self.b, axis=1)

    def center_point(self):
        return self._point.copy()

    def __repr__(self):
        return f"Polytope(rows={self.A.shape[0]}, dim={self.dim})"
