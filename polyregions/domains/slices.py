"""Lines and planes through the input space, and the network composed on them.

A slice (:class:`Line`, :class:`Plane`, :class:`Volume`) is ``x = origin + U p`` with slice
coordinates ``p`` (``s`` on a line, ``(s, t)`` on a plane, ``(s, t, w)`` in a volume). With ``U = Q R`` (``Q`` orthonormal columns,
:meth:`Slice.frame`) the orthonormal coordinates ``y = R p`` measure input-space distances,
and the network on the slice is the network whose first affine map is composed with
``x = origin + Q y``:

    z^1 = (W^1 Q) y + (W^1 origin + b^1),   later layers unchanged.

Its regions in ``y`` are the regions of the slice (a pattern's region on the slice is
the slice of its region in input space), counted in the slice's dimension with ``eps``
in input units (:meth:`Slice.search_problem`; the planar algorithm reads the slice's
:meth:`Slice.frame` and :meth:`Slice.polygon`). Full-dimensional one- and two-dimensional
domains use the identity frame (:meth:`polyregions.domains.base.Domain.frame`).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import finite_array
from .base import Domain
from .convex import Box, Polytope, Whole
from ..errors import InvalidInputError, UnsupportedError
from ..model.network import Network, require_relu
from ..result import SliceRegion, pattern_map
from ..search.rows import ZERO_ROW_RTOL, row_norms

__all__ = ["Line", "ON_SLICE_RTOL", "PARALLEL_RTOL", "Plane", "Slice", "SliceRegion", "SliceRegions", "Volume",
           "check_layers", "compose_layers", "composed_search_problem", "constant_on_slice", "first_layer_on_slice",
           "lift_regions", "pattern_map", "working_frame"]

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


def _origin_and_directions(kind: str, origin, directions: dict):
    """`origin` and the `directions` (``{name: vector}``) of a `kind` ("plane", "volume") as finite
    real vectors, each direction non-zero and of the origin's length, which is at least the
    number of directions; or raise naming the argument."""
    origin = _real_vector(origin, "origin")
    n, k = origin.size, len(directions)
    if n < k:
        raise InvalidInputError(f"`origin` must have at least {k} coordinates for a {kind}, got {n}")
    vectors = [_real_vector(w, name, n) for name, w in directions.items()]
    for name, w in zip(directions, vectors):
        if not np.any(w):
            raise InvalidInputError(f"`{name}` must not be the zero vector")
    return origin, vectors


def _parameter_box(kind: str, lo, hi, k: int):
    """``(bounded, lo, hi)``: the box ``lo < hi`` of a `kind`'s `k` slice coordinates (numbers or
    `k` numbers each), or ``(False, None, None)`` when both are omitted (the unbounded `kind`)."""
    if (lo is None) != (hi is None):
        raise InvalidInputError(f"`lo` and `hi` must be given together (neither: the unbounded {kind})")
    if lo is None:
        return False, None, None
    lo, hi = _bound_vector(lo, "lo", k), _bound_vector(hi, "hi", k)
    if not np.all(lo < hi):
        j = int(np.argmin(hi - lo))
        raise InvalidInputError(f"`lo` must be < `hi` (coordinate {j}: {lo[j]} >= {hi[j]})")
    return True, lo, hi


def _check_directions_in_range(shape: str, directions: dict, lo, hi) -> None:
    """Raise InvalidInputError naming the direction unless each of `directions` (``{name: vector}``)
    has a float64 norm and, with the box `lo`, `hi` (None: unbounded), a float64 extent along its
    coordinate; `shape`: "the plane's rectangle", ..."""
    with np.errstate(over="ignore", invalid="ignore"):
        for k, (name, w) in enumerate(directions.items()):
            norm = float(np.abs(w).max() * np.linalg.norm(w / np.abs(w).max()))
            if not math.isfinite(norm):
                raise InvalidInputError(f"`{name}` is too long: its norm overflows float64")
            if lo is not None and not math.isfinite(norm * max(abs(lo[k]), abs(hi[k]))):
                raise InvalidInputError(f"`{name}` times `lo`/`hi` overflows float64: {shape} leaves the range of "
                                        "floating point numbers")


def _check_independent(U: np.ndarray, message: str) -> None:
    """Raise InvalidInputError(`message`) unless the columns of `U` are linearly independent: the
    smallest of their singular values above :data:`PARALLEL_RTOL` times the largest."""
    sv = np.linalg.svd(U, compute_uv=False)
    if len(sv) < U.shape[1] or sv[-1] <= PARALLEL_RTOL * sv[0]:
        raise InvalidInputError(message)


def _through(points: dict, margin, message: str):
    """``(x1, directions, margin)`` of the slice through `points` (``{"x1": x1, "x2": x2, ...}``):
    the directions ``x_i - x1``, each point checked, distinct from ``x1``, and the directions
    independent (else InvalidInputError(`message`))."""
    (first, x1), *rest = points.items()
    x1 = _real_vector(x1, first)
    others = [_real_vector(x, name, x1.size) for name, x in rest]
    margin = _margin(margin)
    for (name, _), x in zip(rest, others):
        if np.array_equal(x, x1):
            raise InvalidInputError(f"`{name}` must differ from `{first}`")
    directions = [x - x1 for x in others]
    _check_independent(np.column_stack(directions), message)
    return x1, directions, margin


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

    def frame_dim(self) -> int:
        """The slice's own dimension (the columns of ``Q``)."""
        return self.slice_dim

    def _working_candidates(self):
        """Points of the slice given to rounding, with their slice coordinates: its origin and
        the centre of its box (a Line: its ends and its midpoint)."""
        out = [(self.origin, np.zeros(self.slice_dim))]
        if self.bounded:
            centre = (self.lo + self.hi) / 2
            out.append((self.origin + self.U @ centre, centre))
        return out

    def working_frame(self):
        """``(x0, Q, R, p0)``: ``x = x0 + Q y`` with ``y = R (p - p0)``, ``x0 = origin + U p0``.

        A first-layer pre-activation is computed as ``(W x0 + b) + (W Q) y``: its rounding grows
        with ``|x0|`` and ``|y|``. So ``x0`` is, among the points the slice gives to rounding
        (:meth:`_working_candidates`), the one nearest the input space's origin: a segment from
        ``-s d`` to ``s d`` is computed from ``0``, and the hyperplanes near ``0`` are placed to
        the precision of numbers near ``0`` however long it is."""
        x0, p0 = min(self._working_candidates(), key=lambda cand: float(np.abs(cand[0]).max()))
        return x0, self._Q, self._R, np.atleast_1d(np.asarray(p0, dtype=float))

    def key(self):
        return (type(self).__name__, self.origin, self.U, self.lo, self.hi)

    def corners(self) -> np.ndarray:
        """The parameter box's ``2^k`` corners in slice coordinates: corner ``i`` takes ``hi`` in
        coordinate ``j`` when bit ``j`` of ``i`` is set (corners ``i`` and ``2^k - 1 - i`` are opposite)."""
        k = self.slice_dim
        bits = (np.arange(2 ** k)[:, None] >> np.arange(k)) & 1
        return np.where(bits == 1, self.hi, self.lo)

    def slice_domain(self, p0=None):
        """The slice in the orthonormal coordinates ``y = R (p - p0)`` (``p0 = 0`` by default): the
        parallelepiped ``lo - p0 <= R^-1 y <= hi - p0`` as a Polytope, or the whole space ``R^k``
        when unbounded."""
        if not self.bounded:
            return Whole(self.slice_dim)
        p0 = np.zeros(self.slice_dim) if p0 is None else p0
        Rinv = np.linalg.inv(self._R)
        return Polytope(np.vstack([Rinv, -Rinv]), np.concatenate([self.hi - p0, p0 - self.lo]))

    def sample(self, n, rng):
        """Uniform points of the slice (bounded slices only)."""
        if not self.bounded:
            raise InvalidInputError(f"cannot sample uniformly from an unbounded {type(self).__name__.lower()}")
        return self.to_input(rng.uniform(self.lo, self.hi, size=(n, self.slice_dim)))

    def polyhedron_reason(self):
        if self.bounded:
            return None
        k = self.slice_dim
        return f"the unbounded {type(self).__name__.lower()} has no {'polygon' if k == 2 else 'polyhedron'}"

    def frame_rows(self):
        """The parameter box ``lo <= p <= hi`` in the working coordinates ``y = R (p - p0)``:
        ``R^-T``'s rows (``p_k <= hi_k``, then ``-p_k <= -lo_k``) scaled to unit normals; none when
        unbounded."""
        k = self.slice_dim
        if not self.bounded:
            return np.zeros((0, k)), np.zeros(0)
        p0 = self.working_frame()[3]
        Rinv = np.linalg.inv(self._R)
        A, b = np.vstack([Rinv, -Rinv]), np.concatenate([self.hi - p0, p0 - self.lo])
        norms = np.linalg.norm(A, axis=1)
        return A / norms[:, None], b / norms

    def frame_vertices(self):
        return (self.corners() - self.working_frame()[3]) @ self._R.T

    def polygon(self):
        """The parallelogram ``R (corners - p0)`` in the working coordinates (a Line: its interval)."""
        return self.frame_vertices()

    def measure(self):
        """``|det R| prod(hi - lo)``: the parameter box's measure in input units (inf when unbounded)."""
        if not self.bounded:
            return math.inf
        return float(abs(np.linalg.det(self._R)) * np.prod(self.hi - self.lo))

    def to_input(self, p) -> np.ndarray:
        """Input points ``origin + U p`` of slice coordinates ``p`` (shape (N, k) or (k,))."""
        p = np.asarray(p, dtype=float)
        return self.origin + p @ self.U.T if p.ndim > 1 else self.origin + self.U @ p.reshape(-1)

    def to_slice(self, x) -> np.ndarray:
        """Slice coordinates of the orthogonal projection of input points ``x`` onto the slice."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        y = (x - self.origin) @ self._Q
        return np.linalg.solve(self._R, y.T).T

    @property
    def diameter(self) -> float:
        return self._diameter

    def rows(self):
        """A slice has no interior in the input space: it is searched in its own coordinates."""
        raise UnsupportedError("a slice has no rows in the input space: it is counted in its own coordinates "
                               "(`slice_domain()`)")

    def _not_in_input_space(self, what):
        return UnsupportedError(f"a slice has no {what} in the input space: it is counted in its own coordinates "
                                "(`search_problem()`)")

    def _support(self, G):
        raise self._not_in_input_space("support function")

    def exact_spec(self):
        """None: a slice is counted on the network composed with its frame, which is computed in
        floating point (certify the full input space instead)."""
        raise UnsupportedError("`domain`: a slice has no exact form (its composed network is computed in floating "
                               "point; certify the full input space instead)")

    def add_to_model(self, model, x):
        raise self._not_in_input_space("rows")

    def search_problem(self, net):
        """``(net_y, domain_y)``: the network on the slice and the slice's parameter range in the
        working coordinates ``y = R (p - p0)`` (:meth:`working_frame`; the module docstring)."""
        check_layers(net)
        origin, Q, _, p0 = self.working_frame()
        layers = compose_layers(net, origin, Q)
        net_y = Network.from_dense([W for W, _ in layers], [b for _, b in layers], output=net.output)
        return net_y, self.slice_domain(p0)

    def rounding_decisions(self, net) -> int:
        """The first-layer neurons of `net` whose value on the slice is zero within rounding
        (:func:`constant_on_slice`): the search problem (:meth:`search_problem`) fixes them off,
        a decision float64 does not make; a count on the slice adds them to ``stats.near_eps``."""
        origin, Q, _, _ = self.working_frame()
        return int(np.count_nonzero(constant_on_slice(net, origin, Q)[3]))

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
        self._diameter = self.length
        self._center = np.array([0.5])

    def _working_candidates(self):
        """Its ends and its midpoint."""
        return [(self.a, 0.0), (self.b, 1.0), (self.a / 2 + self.b / 2, 0.5)]

    def polygon(self):
        """The segment in the working coordinate ``y = |b - a| (s - s0)``."""
        p0 = float(self.working_frame()[3][0])
        return -self.length * p0, self.length * (1.0 - p0)

    def slice_domain(self, p0=None):
        """The segment in the orthonormal coordinate ``y = |b - a| (s - p0)`` (``p0 = 0`` by default):
        ``Box([-|b - a| p0], [|b - a| (1 - p0)])``."""
        p0 = 0.0 if p0 is None else float(np.asarray(p0).reshape(-1)[0])
        return Box([-self.length * p0], [self.length * (1.0 - p0)])

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
        self.origin, (self.u, self.v) = _origin_and_directions("plane", origin, {"u": u, "v": v})
        n = self.origin.size
        self.U = np.column_stack([self.u, self.v])
        self.bounded, self.lo, self.hi = _parameter_box("plane", lo, hi, 2)
        _check_directions_in_range("the plane's rectangle", {"u": self.u, "v": self.v}, self.lo, self.hi)
        _check_independent(self.U, "`u` and `v` must not be parallel (they span no plane)")
        self.dim = n
        self._Q, self._R = _orthonormal_frame(self.U)
        if not self.bounded:
            self._center = np.zeros(2)
            self._diameter = math.inf
            return
        with np.errstate(over="ignore", invalid="ignore"):
            self._center = (self.lo + self.hi) / 2
            corners = self.corners() @ self._R.T
            self._diameter = float(max(np.hypot(*(corners[0] - corners[2])), np.hypot(*(corners[1] - corners[3]))))
        if not (np.all(np.isfinite(corners)) and math.isfinite(self._diameter)):
            raise InvalidInputError("`lo` and `hi` span a rectangle whose diameter overflows float64")

    @classmethod
    def through(cls, x1, x2, x3, margin=0.25):
        """The plane through three inputs: origin ``x1``, ``u = x2 - x1``, ``v = x3 - x1``,
        ``(s, t)`` in ``[-margin, 1 + margin]^2`` (``margin > -0.5``; negative: a smaller square)."""
        x1, (u, v), margin = _through({"x1": x1, "x2": x2, "x3": x3}, margin,
                                      "`x1`, `x2` and `x3` must not be collinear")
        return cls(x1, u, v, -margin, 1.0 + margin)

    def corners(self) -> np.ndarray:
        """The rectangle's corners in slice coordinates, counter-clockwise from ``lo``."""
        (s0, t0), (s1, t1) = self.lo, self.hi
        return np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]])

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
        self.origin, (self.u, self.v, self.r) = _origin_and_directions("volume", origin, {"u": u, "v": v, "r": r})
        self.U = np.column_stack([self.u, self.v, self.r])
        self.bounded, self.lo, self.hi = _parameter_box("volume", lo, hi, 3)
        _check_directions_in_range("the volume's box", {"u": self.u, "v": self.v, "r": self.r}, self.lo, self.hi)
        _check_independent(self.U, "`u`, `v` and `r` must be linearly independent (they span no volume)")
        self.dim = self.origin.size
        self._Q, self._R = _orthonormal_frame(self.U)
        if not self.bounded:
            self._center = np.zeros(3)
            self._diameter = math.inf
            return
        with np.errstate(over="ignore", invalid="ignore"):
            self._center = (self.lo + self.hi) / 2
            corners = self.corners() @ self._R.T
            self._diameter = float(max(np.linalg.norm(corners[k] - corners[7 - k]) for k in range(4)))
        if not (np.all(np.isfinite(corners)) and math.isfinite(self._diameter)):
            raise InvalidInputError("`lo` and `hi` span a box whose diameter overflows float64")

    @classmethod
    def through(cls, x1, x2, x3, x4, margin=0.25):
        """The volume through four inputs: origin ``x1``, ``u = x2 - x1``, ``v = x3 - x1``,
        ``r = x4 - x1``, ``(s, t, w)`` in ``[-margin, 1 + margin]^3`` (``margin > -0.5``)."""
        x1, directions, margin = _through({"x1": x1, "x2": x2, "x3": x3, "x4": x4}, margin,
                                          "`x1`, `x2`, `x3` and `x4` must not lie in one plane")
        return cls(x1, *directions, -margin, 1.0 + margin)

    def __repr__(self):
        box = "unbounded" if not self.bounded else f"lo={self.lo.tolist()}, hi={self.hi.tolist()}"
        if self.dim <= 4:
            return (f"Volume(origin={self.origin.tolist()}, u={self.u.tolist()}, v={self.v.tolist()}, "
                    f"r={self.r.tolist()}, {box})")
        return f"Volume(dim={self.dim}, |u|={np.linalg.norm(self.u):.4g}, |v|={np.linalg.norm(self.v):.4g}, " \
               f"|r|={np.linalg.norm(self.r):.4g}, {box})"


# ---------------------------------------------------------------------------------------------
# The network on a slice

def check_layers(net: Network) -> None:
    """Raise UnsupportedError unless `net` is a plain ReLU network.

    Slices compose the lowered stages (:attr:`Network.hidden`), whatever layers they came
    from (Dense, Conv2d, pooling, Flatten, Unflatten, Activation): only the activation
    matters, since the composed network and the planar algorithm apply ReLU after each stage.
    """
    require_relu(net, "lines, planes and the planar algorithm")


def first_layer_on_slice(net: Network, origin: np.ndarray, Q: np.ndarray):
    """``(W Q, W origin + b)``: the first hidden layer in the coordinates ``y`` of ``x = origin + Q y``,
    in floating point as it comes (:func:`compose_layers` also zeroes the rows that are rounding
    errors); InvalidInputError when it overflows float64."""
    W, b = net.hidden[0]
    with np.errstate(over="ignore", invalid="ignore"):
        G = np.asarray(W @ Q, dtype=np.float64)
        c = np.asarray(W @ origin, dtype=np.float64) + b
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(c))):
        raise InvalidInputError("`domain` lies too far out for `net`: its first layer overflows float64 on the slice")
    return G, c


def constant_on_slice(net: Network, origin: np.ndarray, Q: np.ndarray):
    """``(G, c, zero, rounded)``: the first layer on the slice (:func:`first_layer_on_slice`) and two
    masks of its neurons: `zero`, constant on the slice (the row is rounding errors), and
    `rounded`, constant and zero within rounding (the constant is rounding errors too).

    The search's own rule (:data:`polyregions.search.rows.ZERO_ROW_RTOL`) with the sizes of the
    terms summed: a row whose norm is at most ``ZERO_ROW_RTOL sum_k |W_jk| |Q_k|`` (``Q_k`` the
    k-th row of ``Q``) is zero, and then its constant is zero when at most
    ``ZERO_ROW_RTOL (|W| |origin| + |b|)_j``. A `rounded` neuron is off (ReLU of 0), but float64
    does not decide it: its true constant on the slice may be a tiny positive number (on), or its
    row a tiny one that cuts the slice near ``origin``. G and c are returned as computed.
    """
    W, b = net.hidden[0]
    G, c = first_layer_on_slice(net, origin, Q)
    absW = abs(W)
    zero = row_norms(G) <= ZERO_ROW_RTOL * np.asarray(absW @ row_norms(Q)).reshape(-1)
    rounded = np.zeros_like(zero)
    if np.any(zero):
        cscale = np.asarray(absW @ np.abs(origin)).reshape(-1) + np.abs(b)
        rounded = zero & (np.abs(c) <= ZERO_ROW_RTOL * cscale)
    return G, c, zero, rounded


def compose_layers(net: Network, origin: np.ndarray, Q: np.ndarray) -> list:
    """The hidden layers of `net` seen in the coordinates ``y`` of ``x = origin + Q y``
    (only the first is new; the others are shared, not copied).

    The first layer is ``(W Q, W origin + b)``, computed in floating point. A neuron that is
    constant on the slice (its hyperplane contains the slice's directions) comes out as a
    row of rounding errors, which the search would take for a hyperplane: its row is zeroed,
    and its constant too when that is rounding errors (:func:`constant_on_slice`; such neurons
    are counted in ``stats.near_eps``, :meth:`Slice.rounding_decisions`).
    """
    layers = list(net.hidden)
    G, c, zero, rounded = constant_on_slice(net, origin, Q)
    G[zero] = 0.0
    c[rounded] = 0.0
    layers[0] = (G, c)
    return layers


def working_frame(domain):
    """``(origin, Q, R, p0)``: the frame `domain` is computed in
    (:meth:`~polyregions.domains.base.Domain.working_frame`)."""
    return domain.working_frame()


def composed_search_problem(net: Network, domain):
    """``(net_y, domain_y)``: what the search runs on for `domain`
    (:meth:`~polyregions.domains.base.Domain.search_problem`)."""
    return domain.search_problem(net)


class SliceRegions:
    """The constructor of the :class:`SliceRegion` of `net` on `domain` (a slice, or a one- or
    two-dimensional domain in its identity frame): what an algorithm finds in the frame's
    orthonormal coordinates ``y`` (:meth:`~polyregions.domains.base.Domain.frame`) becomes a
    region reported in input coordinates (:meth:`~polyregions.domains.base.Domain.working_frame`:
    ``x = origin + Q y``, ``y = R (p - p0)``). Built once per enumeration (the frame, its inverse and
    the network composed on the slice are computed once); every slice region is made here.
    """

    def __init__(self, net: Network, domain, slice_layers=None):
        self.origin, self.Q, self.R, self.p0 = domain.working_frame()
        self.Rinv = np.linalg.inv(self.R)
        self.layers, self.output, self.n_bits = net.hidden, net.output, net.num_neurons
        self.slice_layers = tuple(compose_layers(net, self.origin, self.Q) if slice_layers is None else slice_layers)
        self.square = self.Q.shape[0] == self.Q.shape[1]  # the frame spans the input space

    def __call__(self, pattern, y, radius, *, y_map=None, vertices=None, size=None, edges=None) -> SliceRegion:
        """The region of the packed `pattern` whose witness ball (centre `y`, `radius`) the algorithm
        found. `y_map`: the last hidden layer's map ``h = M y + m`` on it when known (used, turned
        into input coordinates, when the frame spans the input space); `vertices`: its polygon or
        interval in ``y``; `size`: its area or length; `edges`: its edges' neurons."""
        y = np.asarray(y, dtype=float)
        x_map = None
        if y_map is not None and self.square:
            M, m = y_map  # x = origin + Q y with Q orthonormal and square: y = Q^T (x - origin)
            MQ = M @ self.Q.T
            x_map = (MQ, m - MQ @ self.origin)
        return SliceRegion(pattern, self.n_bits, self.origin + self.Q @ y, float(radius), x_map, self.output,
                           coords=self.Rinv @ y + self.p0,
                           vertices=None if vertices is None else vertices @ self.Rinv.T + self.p0,
                           size=None if size is None else float(size), edges=edges, _layers=self.layers,
                           _slice_layers=self.slice_layers, _R=self.R, _p0=self.p0)


def lift_regions(regions, net: Network, domain, slice_layers):
    """The regions found by the search in a slice's orthonormal coordinates ``y``, reported in
    input coordinates (their patterns and radii are the same on both sides)."""
    make = SliceRegions(net, domain, slice_layers)
    for region in regions:
        yield make(region.pattern, region.point, region.radius)
