"""Input domains: the sets inside which regions are counted.

Every domain has a non-empty interior and describes itself as data: ``rows()`` gives
its linear rows ``A x <= b`` (empty for the whole space and the L1 and L2 balls),
``norm``, ``center`` and ``radius`` its norm ball ``|x - center|_p <= radius`` (``norm``
is None for a domain that is not a ball), ``bounded`` and ``diameter`` its extent. The
solver layer builds its problems from these (:func:`polyregions.solvers.region_problem`).
``contains(x)`` tests interior membership; ``sample(n, rng)`` draws uniform points (used
by tests and studies). The slices :class:`Line`, :class:`Plane` and :class:`Volume` are lower-dimensional:
they have no rows in the input space and are counted in their own coordinates
(``frame()``, ``slice_domain()``).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import finite_array, positive_int, positive_number
from ..errors import InvalidInputError, UnsupportedError
from ..solvers.scipy_lp import bounding_box, interior_ball

__all__ = ["Domain", "Whole", "Box", "Ball", "Polytope", "Slice", "Line", "Plane", "Volume"]

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


# ---------------------------------------------------------------------------------------------
# Slices: a segment or a plane through the input space, counted in their own dimension.

#: A point lies on a slice when its distance to the slice is at most this fraction of the
#: size of the numbers that place it there (rounding, not geometry).
ON_SLICE_RTOL = 1e-9
#: ``u`` and ``v`` count as parallel when the smaller singular value of ``[u v]`` is at most
#: this fraction of the larger one (the plane's frame would lose ~all digits).
PARALLEL_RTOL = 1e-12


def _real_vector(value, name: str, n: int | None = None) -> np.ndarray:
    """`value` as a finite real float64 vector (of length `n` when given), or raise naming `name`."""
    if np.iscomplexobj(np.asarray(value) if not isinstance(value, complex) else np.complex128(value)):
        raise InvalidInputError(f"`{name}` must be real, got complex values")
    arr = finite_array(value, name, ndim=1)
    if arr.size == 0:
        raise InvalidInputError(f"`{name}` must not be empty")
    if n is not None and arr.size != n:
        raise InvalidInputError(f"`{name}` has length {arr.size} but the slice lives in {n} dimensions")
    return arr


def _bound_vector(value, name: str, k: int) -> np.ndarray:
    """`value` (a number or `k` numbers) as a finite real float64 vector of length `k`, or raise naming `name`."""
    if isinstance(value, complex) or np.iscomplexobj(np.asarray(value)):
        raise InvalidInputError(f"`{name}` must be real, got complex values")
    arr = finite_array(value, name)
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    if arr.shape != (k,):
        what = "a pair" if k == 2 else f"{k} numbers"
        raise InvalidInputError(f"`{name}` must be a number or {what}, got shape {arr.shape}")
    return arr


def _margin(margin) -> float:
    """`margin` of ``through`` as a float > -0.5, or raise."""
    if isinstance(margin, (bool, complex)) or not isinstance(margin, (int, float, np.integer, np.floating)) \
            or not math.isfinite(margin) or margin <= -0.5:
        raise InvalidInputError(f"`margin` must be a finite number > -0.5, got {margin!r}")
    return float(margin)


def _orthonormal_frame(U: np.ndarray):
    """``Q, R`` with ``U = Q R``, ``Q`` orthonormal columns and ``diag(R) > 0`` (orientation kept)."""
    Q, R = np.linalg.qr(U)
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return Q * signs, R * signs[:, None]


class Slice(Domain):
    """A segment (:class:`Line`) or a plane (:class:`Plane`) through the input space ``R^n``.

    Points are ``x = origin + U p`` with slice coordinates ``p`` (``s`` on a line,
    ``(s, t)`` on a plane). The network is counted on the slice in its own dimension
    ``k = slice_dim``: with ``U = Q R`` (``Q`` orthonormal, see :meth:`frame`) the
    coordinates ``y = R p`` measure input-space distances, so ``eps``, radii, lengths and
    areas are in input units whatever ``U``.
    """

    slice_dim: int
    origin: np.ndarray
    U: np.ndarray

    def frame(self):
        """``(origin, Q, R)``: ``x = origin + Q y`` with ``y = R p`` (``Q`` orthonormal, ``det R > 0``)."""
        return self.origin, self._Q, self._R

    def to_input(self, p) -> np.ndarray:
        """Input points ``origin + U p`` of slice coordinates ``p`` (shape (N, k) or (k,))."""
        p = np.asarray(p, dtype=float)
        return self.origin + p @ self.U.T if p.ndim > 1 else self.origin + self.U @ p.reshape(-1)

    def to_slice(self, x) -> np.ndarray:
        """Slice coordinates of the orthogonal projection of input points ``x`` onto the slice."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        y = (x - self.origin) @ self._Q
        return np.linalg.solve(self._R, y.T).T

    def rows(self):
        """A slice has no interior in the input space: it is searched in its own coordinates."""
        raise UnsupportedError("a slice has no rows in the input space: it is counted in its own coordinates "
                               "(`slice_domain()`)")

    def bounding_box(self):
        """``(lo, hi)`` over the slice's corners in input coordinates (infinite when unbounded)."""
        if not self.bounded:
            return np.full(self.dim, -np.inf), np.full(self.dim, np.inf)
        corners = self.to_input(self.corners())
        return corners.min(axis=0), corners.max(axis=0)

    def center_point(self):
        return self.to_input(self._center)

    def contains(self, x):
        """True where ``x`` lies on the slice (up to rounding) inside its parameter range."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        p = self.to_slice(x)
        off = np.linalg.norm(x - self.to_input(p), axis=1)
        scale = 1.0 + np.abs(self.origin).max() + np.abs(self.U).sum(axis=1).max() * (1.0 + np.abs(p).max())
        on = off <= ON_SLICE_RTOL * scale
        if self.bounded:
            on &= np.all((p > self.lo) & (p < self.hi), axis=1)
        return on


class Line(Slice):
    """The segment ``x = a + s (b - a)``, ``s`` in ``[0, 1]``, between two inputs ``a != b``.

    Counted in one dimension: a region counts when it holds a segment of radius ``eps``
    (length ``> 2 eps``, input units).
    """

    slice_dim = 1

    def __init__(self, a, b):
        self.a = _real_vector(a, "a")
        self.b = _real_vector(b, "b", self.a.size)
        if np.array_equal(self.a, self.b):
            raise InvalidInputError("`b` must differ from `a` (the segment has no length)")
        self.dim = self.a.size
        with np.errstate(over="ignore", invalid="ignore"):
            direction = self.b - self.a
            length = float(np.linalg.norm(direction / np.abs(direction).max()) * np.abs(direction).max())
        if not (np.all(np.isfinite(direction)) and math.isfinite(length)):
            raise InvalidInputError("`b` is too far from `a`: the segment's length overflows float64 "
                                    f"(|b - a| > {np.finfo(float).max:.4g})")
        self.origin, self.U = self.a, direction[:, None]
        self.lo, self.hi = np.zeros(1), np.ones(1)
        self._Q, self._R = _orthonormal_frame(self.U)
        self.length = float(self._R[0, 0])
        self.diameter = self.length
        self._center = np.array([0.5])

    def corners(self) -> np.ndarray:
        """The segment's ends in slice coordinates."""
        return np.array([[0.0], [1.0]])

    def slice_domain(self):
        """The segment in its orthonormal coordinate ``y = |b - a| s``: ``Box([0], [|b - a|])``."""
        return Box([0.0], [self.length])

    def sample(self, n, rng):
        return self.to_input(rng.uniform(0.0, 1.0, size=(n, 1)))

    def __repr__(self):
        if self.dim <= 4:
            return f"Line(a={self.a.tolist()}, b={self.b.tolist()})"
        return f"Line(dim={self.dim}, length={self.length:.6g})"


class Plane(Slice):
    """The plane ``x = origin + s u + t v`` with ``(s, t)`` in the rectangle ``[lo, hi]``.

    ``u`` and ``v`` need not be orthonormal, only independent. ``lo`` and ``hi`` are numbers
    or pairs (``lo < hi``); both omitted, the plane is unbounded (counted by the search only).
    Counted in two dimensions: a region counts when it holds a disc of radius ``eps``
    (input units: the metric that ``u`` and ``v`` induce).
    """

    slice_dim = 2

    def __init__(self, origin, u, v, lo=None, hi=None):
        self.origin = _real_vector(origin, "origin")
        n = self.origin.size
        if n < 2:
            raise InvalidInputError(f"`origin` must have at least 2 coordinates for a plane, got {n}")
        self.u = _real_vector(u, "u", n)
        self.v = _real_vector(v, "v", n)
        for name, w in (("u", self.u), ("v", self.v)):
            if not np.any(w):
                raise InvalidInputError(f"`{name}` must not be the zero vector")
        if (lo is None) != (hi is None):
            raise InvalidInputError("`lo` and `hi` must be given together (neither: the unbounded plane)")
        self.U = np.column_stack([self.u, self.v])
        self.bounded = lo is not None
        if self.bounded:
            self.lo, self.hi = (self._pair(value, name) for value, name in ((lo, "lo"), (hi, "hi")))
            if not np.all(self.lo < self.hi):
                k = int(np.argmin(self.hi - self.lo))
                raise InvalidInputError(f"`lo` must be < `hi` (coordinate {k}: {self.lo[k]} >= {self.hi[k]})")
        else:
            self.lo = self.hi = None
        with np.errstate(over="ignore", invalid="ignore"):
            for k, name in enumerate("uv"):
                w = self.U[:, k]
                norm = float(np.abs(w).max() * np.linalg.norm(w / np.abs(w).max()))
                if not math.isfinite(norm):
                    raise InvalidInputError(f"`{name}` is too long: its norm overflows float64")
                if self.bounded and not math.isfinite(norm * max(abs(self.lo[k]), abs(self.hi[k]))):
                    raise InvalidInputError(f"`{name}` times `lo`/`hi` overflows float64: the plane's rectangle "
                                            "leaves the range of floating point numbers")
        sv = np.linalg.svd(self.U, compute_uv=False)
        if sv[1] <= PARALLEL_RTOL * sv[0]:
            raise InvalidInputError("`u` and `v` must not be parallel (they span no plane)")
        self.dim = n
        self._Q, self._R = _orthonormal_frame(self.U)
        if not self.bounded:
            self._center = np.zeros(2)
            return
        with np.errstate(over="ignore", invalid="ignore"):
            self._center = (self.lo + self.hi) / 2
            corners = self.corners() @ self._R.T
            self.diameter = float(max(np.hypot(*(corners[0] - corners[2])), np.hypot(*(corners[1] - corners[3]))))
        if not (np.all(np.isfinite(corners)) and math.isfinite(self.diameter)):
            raise InvalidInputError("`lo` and `hi` span a rectangle whose diameter overflows float64")

    @staticmethod
    def _pair(value, name):
        return _bound_vector(value, name, 2)

    @classmethod
    def through(cls, x1, x2, x3, margin=0.25):
        """The plane through three inputs: origin ``x1``, ``u = x2 - x1``, ``v = x3 - x1``,
        ``(s, t)`` in ``[-margin, 1 + margin]^2`` (``margin > -0.5``; negative: a smaller square)."""
        x1 = _real_vector(x1, "x1")
        x2 = _real_vector(x2, "x2", x1.size)
        x3 = _real_vector(x3, "x3", x1.size)
        margin = _margin(margin)
        for name, x in (("x2", x2), ("x3", x3)):
            if np.array_equal(x, x1):
                raise InvalidInputError(f"`{name}` must differ from `x1`")
        U = np.column_stack([x2 - x1, x3 - x1])
        sv = np.linalg.svd(U, compute_uv=False)
        if sv[1] <= PARALLEL_RTOL * sv[0]:
            raise InvalidInputError("`x1`, `x2` and `x3` must not be collinear")
        return cls(x1, x2 - x1, x3 - x1, -float(margin), 1.0 + float(margin))

    def corners(self) -> np.ndarray:
        """The rectangle's corners in slice coordinates, counter-clockwise from ``lo``."""
        (s0, t0), (s1, t1) = self.lo, self.hi
        return np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]])

    def slice_domain(self):
        """The plane in its orthonormal coordinates ``y = R (s, t)``: the parallelogram
        ``lo <= R^-1 y <= hi`` as a Polytope, or ``Whole(2)`` when unbounded."""
        if not self.bounded:
            return Whole(2)
        Rinv = np.linalg.inv(self._R)
        return Polytope(np.vstack([Rinv, -Rinv]), np.concatenate([self.hi, -self.lo]))

    def sample(self, n, rng):
        if not self.bounded:
            raise InvalidInputError("cannot sample uniformly from an unbounded plane")
        return self.to_input(rng.uniform(self.lo, self.hi, size=(n, 2)))

    def __repr__(self):
        box = "unbounded" if not self.bounded else f"lo={self.lo.tolist()}, hi={self.hi.tolist()}"
        if self.dim <= 4:
            return f"Plane(origin={self.origin.tolist()}, u={self.u.tolist()}, v={self.v.tolist()}, {box})"
        return f"Plane(dim={self.dim}, |u|={np.linalg.norm(self.u):.4g}, |v|={np.linalg.norm(self.v):.4g}, {box})"


class Volume(Slice):
    """The 3-D slice ``x = origin + s u + t v + w r`` with ``(s, t, w)`` in the box ``[lo, hi]``.

    ``u``, ``v`` and ``r`` need not be orthonormal, only linearly independent. ``lo`` and
    ``hi`` are numbers or triples (``lo < hi``); both omitted, the volume is unbounded (counted
    by the search only). Counted in three dimensions (:mod:`polyregions.cells.cells3d`): a region
    counts when it holds a ball of radius ``eps`` in input units (the metric that ``u``, ``v``
    and ``r`` induce); volumes are in input units too.
    """

    slice_dim = 3

    def __init__(self, origin, u, v, r, lo=None, hi=None):
        self.origin = _real_vector(origin, "origin")
        n = self.origin.size
        if n < 3:
            raise InvalidInputError(f"`origin` must have at least 3 coordinates for a volume, got {n}")
        self.u = _real_vector(u, "u", n)
        self.v = _real_vector(v, "v", n)
        self.r = _real_vector(r, "r", n)
        for name, d in (("u", self.u), ("v", self.v), ("r", self.r)):
            if not np.any(d):
                raise InvalidInputError(f"`{name}` must not be the zero vector")
        self.U = np.column_stack([self.u, self.v, self.r])
        sv = np.linalg.svd(self.U, compute_uv=False)
        if sv[2] <= PARALLEL_RTOL * sv[0]:
            raise InvalidInputError("`u`, `v` and `r` must be linearly independent (they span no volume)")
        if (lo is None) != (hi is None):
            raise InvalidInputError("`lo` and `hi` must be given together (neither: the unbounded volume)")
        self.dim = n
        self._Q, self._R = _orthonormal_frame(self.U)
        if lo is None:
            self.bounded, self.lo, self.hi = False, None, None
            self._center = np.zeros(3)
            return
        self.lo, self.hi = (_bound_vector(value, name, 3) for value, name in ((lo, "lo"), (hi, "hi")))
        if not np.all(self.lo < self.hi):
            k = int(np.argmin(self.hi - self.lo))
            raise InvalidInputError(f"`lo` must be < `hi` (coordinate {k}: {self.lo[k]} >= {self.hi[k]})")
        self._center = (self.lo + self.hi) / 2
        corners = self.corners() @ self._R.T
        self.diameter = float(max(np.linalg.norm(corners[k] - corners[7 - k]) for k in range(4)))

    @classmethod
    def through(cls, x1, x2, x3, x4, margin=0.25):
        """The volume through four inputs: origin ``x1``, ``u = x2 - x1``, ``v = x3 - x1``,
        ``r = x4 - x1``, ``(s, t, w)`` in ``[-margin, 1 + margin]^3`` (``margin > -0.5``)."""
        x1 = _real_vector(x1, "x1")
        others = [_real_vector(x, name, x1.size) for x, name in ((x2, "x2"), (x3, "x3"), (x4, "x4"))]
        margin = _margin(margin)
        for name, x in zip(("x2", "x3", "x4"), others):
            if np.array_equal(x, x1):
                raise InvalidInputError(f"`{name}` must differ from `x1`")
        U = np.column_stack([x - x1 for x in others])
        sv = np.linalg.svd(U, compute_uv=False)
        if U.shape[0] < 3 or sv[2] <= PARALLEL_RTOL * sv[0]:
            raise InvalidInputError("`x1`, `x2`, `x3` and `x4` must not lie in one plane")
        return cls(x1, *(x - x1 for x in others), -margin, 1.0 + margin)

    def corners(self) -> np.ndarray:
        """The box's 8 corners in slice coordinates: corner ``k`` takes ``hi`` in coordinate
        ``i`` when bit ``i`` of ``k`` is set (so corners ``k`` and ``7 - k`` are opposite)."""
        bits = (np.arange(8)[:, None] >> np.arange(3)) & 1
        return np.where(bits == 1, self.hi, self.lo)

    def slice_domain(self):
        """The volume in its orthonormal coordinates ``y = R (s, t, w)``: the parallelepiped
        ``lo <= R^-1 y <= hi`` as a Polytope, or ``Whole(3)`` when unbounded."""
        if not self.bounded:
            return Whole(3)
        Rinv = np.linalg.inv(self._R)
        return Polytope(np.vstack([Rinv, -Rinv]), np.concatenate([self.hi, -self.lo]))

    def sample(self, n, rng):
        if not self.bounded:
            raise InvalidInputError("cannot sample uniformly from an unbounded volume")
        return self.to_input(rng.uniform(self.lo, self.hi, size=(n, 3)))

    def __repr__(self):
        box = "unbounded" if not self.bounded else f"lo={self.lo.tolist()}, hi={self.hi.tolist()}"
        if self.dim <= 4:
            return (f"Volume(origin={self.origin.tolist()}, u={self.u.tolist()}, v={self.v.tolist()}, "
                    f"r={self.r.tolist()}, {box})")
        return f"Volume(dim={self.dim}, |u|={np.linalg.norm(self.u):.4g}, |v|={np.linalg.norm(self.v):.4g}, " \
               f"|r|={np.linalg.norm(self.r):.4g}, {box})"
