"""What every domain answers: the geometric questions the algorithms ask of the set they count in.

A domain is a convex set with a non-empty interior. The algorithms never ask what type a
domain is; they ask it:

* its **rows** ``A x <= b`` (unit normals; :meth:`Domain.rows`) and the **norm ball** it has
  besides them (:meth:`Domain.norm_ball`: the L1 and L2 balls, which are not rows), whether it
  is **bounded**, its **bounding box** and **diameter**: the solvers' region problem is built
  from these (:func:`polyregions.solvers.registry.region_problem`);
* its **support function** ``max_{x in D} g . x`` (:meth:`Domain.support`) and the **range of
  an affine map** over it (:meth:`Domain.affine_range`) or over its bounding box
  (:meth:`Domain.box_range`, one matrix product: the search's far-hyperplane filter);
* in the coordinates of its **frame** (:meth:`Domain.frame`: the identity, except on a slice),
  whether it is a bounded **polyhedron** the cell algorithms can split, or why not
  (:meth:`Domain.polyhedron_reason`), its rows there (:meth:`Domain.frame_rows`), its
  vertices (:meth:`Domain.frame_vertices`), its **polygon** (:meth:`Domain.polygon`) and its
  length, area or volume (:meth:`Domain.measure`);
* its **exact spec** (:meth:`Domain.exact_spec`: rationals, for certificates);
* its **key** (:meth:`Domain.key`: the numbers that define it, for checkpoint fingerprints:
  two different domains never share one);
* its **rows in the big-M model** (:meth:`Domain.add_to_model`), and for a domain that has no
  exact linear model (the L2 ball) the **cuts** that refine an outer approximation
  (:meth:`Domain.outer_cut`, :meth:`Domain.seed_cuts`, :meth:`Domain.outside`);
* the **search problem** it poses for a network (:meth:`Domain.search_problem`: itself, or on
  a slice the network composed with the slice's frame).

:class:`Domain` leaves every question unanswered (a new kind of domain that forgets one
fails loudly, never silently). :class:`PolyhedralDomain` answers all of them from the rows
alone: a new polyhedral domain is one subclass that gives ``dim`` and :meth:`~Domain.rows`
(see ``docs/architecture.md``); it may override any answer it knows in closed form.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from ..errors import InvalidInputError, UnsupportedError
from ..solvers.registry import chebyshev_ball, polyhedron_box, polyhedron_support

__all__ = ["Domain", "POLYGON_RTOL", "PolyhedralDomain", "SUPPORT_PAD", "box_affine_range", "exact_rows_spec",
           "polygon_lines"]

#: A support value computed by an LP is widened outwards by this times ``1 + |v|``, so that
#: solver tolerances cannot make it an underestimate.
SUPPORT_PAD = 1e-7
#: Relative rounding allowance when a 2-D polyhedron's rows are turned into its vertices.
POLYGON_RTOL = 1e-12


def box_affine_range(G, c, mid, half):
    """``(lo, hi)``: the range of each row of ``G x + c`` over the box ``|x - mid| <= half``
    (``lo = G mid + c - |G| half``)."""
    centre = G @ mid + c
    spread = np.abs(G) @ half
    return centre - spread, centre + spread


def exact_rows_spec(dim, A, b) -> dict:
    """``{"kind": "rows", "dim", "A", "b"}`` (the open set ``A x < b``) with the floats read as the
    exact rationals they are, or ``{"kind": "whole", "dim"}`` without rows."""
    if len(b) == 0:
        return {"kind": "whole", "dim": dim}
    zero = Fraction(0)  # most entries of a box's or a ball's rows (a million in 784 dimensions)
    rows = np.asarray(A, dtype=float).tolist()
    return {"kind": "rows", "dim": dim, "A": [[Fraction(v) if v else zero for v in row] for row in rows],
            "b": [Fraction(v) for v in np.asarray(b, dtype=float).tolist()]}


def polygon_lines(verts) -> np.ndarray:
    """The edge lines of a convex polygon (vertices counter-clockwise): per vertex ``i`` the line of
    the edge to vertex ``i + 1`` as ``(a_0, a_1, beta)`` with ``a . y <= beta`` and ``a`` the unit
    outward normal."""
    edges = np.empty_like(verts)  # vertex i + 1 minus vertex i (written in place: a count calls this every time)
    np.subtract(verts[1:], verts[:-1], out=edges[:-1])
    np.subtract(verts[0], verts[-1], out=edges[-1])
    length = np.hypot(edges[:, 0], edges[:, 1])
    normals = np.empty((len(verts), 2))
    np.divide(edges[:, 1], length, out=normals[:, 0])
    np.divide(-edges[:, 0], length, out=normals[:, 1])
    out = np.empty((len(verts), 3))
    out[:, :2] = normals
    out[:, 2] = np.einsum("ij,ij->i", normals, verts)
    return out


def _unanswered(domain, question):
    return NotImplementedError(f"{type(domain).__name__} does not answer {question} (see polyregions.domains.base)")


class Domain:
    """Base class of the input domains: every question an algorithm may ask, unanswered.

    Attributes
    ----------
    dim : int
        The input dimension.
    bounded : bool
    norm : {None, 1, 2, inf}
        ``p`` when the domain is a norm ball ``|x - center|_p <= radius``, else None.
    """

    dim: int
    bounded: bool = True
    norm = None
    #: True when the domain's rows in a MILP (:meth:`add_to_model`) are an outer approximation,
    #: refined by :meth:`outer_cut` (the L2 ball); False when they are the domain itself.
    model_is_outer = False

    # ------------------------------------------------------------------ description
    def rows(self):
        """The domain's linear rows ``A x <= b`` with unit normals (empty arrays when it has none)."""
        raise _unanswered(self, "rows()")

    def norm_ball(self):
        """``(p, center, radius)`` of the L1 or L2 ball the domain is besides its rows, or None."""
        return None

    def coordinate_bounds(self):
        """``(lo, hi)`` when :meth:`rows` are exactly ``x_k <= hi_k`` and ``-x_k <= -lo_k``, one pair
        per coordinate in that order (a box, an L-inf ball), so that a solver may take them as
        bounds without building the rows; else None."""
        return None

    def bounding_box(self):
        """``(lo, hi)`` with ``lo <= x <= hi`` on the domain (infinite entries where unbounded)."""
        raise _unanswered(self, "bounding_box()")

    @property
    def diameter(self) -> float:
        """Euclidean diameter of the bounding box (inf when unbounded): a hyperplane farther than
        this from an interior point misses the domain."""
        if not self.bounded:
            return math.inf
        lo, hi = self.bounding_box()
        return float(np.linalg.norm(hi - lo))

    def contains(self, x) -> np.ndarray:
        """True where ``x`` lies in the interior of the domain."""
        raise _unanswered(self, "contains()")

    def center_point(self) -> np.ndarray:
        """A point of the interior (the start of the search)."""
        raise _unanswered(self, "center_point()")

    def sample(self, n, rng) -> np.ndarray:
        """``n`` uniform points of the domain."""
        raise _unanswered(self, "sample()")

    def key(self) -> tuple:
        """The numbers that define the domain, with its type: equal keys, equal domains."""
        raise _unanswered(self, "key()")

    # ------------------------------------------------------------------ geometry
    def support(self, G) -> np.ndarray:
        """``max_{x in D} G_i . x`` for every row ``G_i`` of `G` (``+inf`` where unbounded; 0 for a
        zero row). A 1-D `G` gives a float."""
        G = np.asarray(G, dtype=float)
        rows = np.atleast_2d(G)
        out = np.asarray(self._support(rows), dtype=float)
        out = np.where(np.any(rows != 0, axis=1), out, 0.0)
        return float(out[0]) if G.ndim == 1 else out

    def _support(self, G) -> np.ndarray:
        raise _unanswered(self, "support()")

    def affine_range(self, G, c):
        """``(lo, hi)``: the exact range of every row of ``G x + c`` over the domain (by
        :meth:`support`; infinite where unbounded)."""
        G = np.atleast_2d(np.asarray(G, dtype=float))
        c = np.asarray(c, dtype=float)
        return c - self.support(-G), c + self.support(G)

    def box(self):
        """The bounding box as ``(mid, half)`` (centre and half-widths; computed once), or None when
        the domain is unbounded: a neuron of one sign over it needs no solver call."""
        box = getattr(self, "_mid_half", None)
        if box is None:
            lo, hi = self.bounding_box()
            box = ((lo + hi) / 2, (hi - lo) / 2) if np.all(np.isfinite(lo) & np.isfinite(hi)) else False
            self._mid_half = box
        return box if box is not False else None

    def box_range(self, G, c):
        """``(lo, hi)``: the range of every row of ``G x + c`` over the domain's bounding box (one
        matrix product; it contains :meth:`affine_range`), or None when the domain is unbounded."""
        box = self.box()
        return None if box is None else box_affine_range(G, c, *box)

    # ------------------------------------------------------------------ the planar algorithm
    def frame(self):
        """``(origin, Q, R)``: ``x = origin + Q y`` with ``y = R p`` (``Q`` orthonormal columns);
        the identity for a domain counted in its own coordinates, a slice's frame otherwise."""
        n = self.dim
        return np.zeros(n), np.eye(n), np.eye(n)

    def frame_dim(self) -> int:
        """The dimension the domain is counted in: the number of columns of its frame's ``Q``
        (:meth:`frame`), known without building the frame (an ``n x n`` identity for an
        ``n``-input domain)."""
        return self.dim

    def working_frame(self):
        """``(origin, Q, R, p0)``: the frame the algorithms compute in, ``x = origin + Q y`` with
        ``y = R (p - p0)`` for the domain's own coordinates ``p``: the identity (``p0 = 0``), except
        on a slice, whose origin is moved to its point nearest the input space's origin. Every
        answer "in the frame's coordinates" below is in these ``y``."""
        n = self.dim
        return np.zeros(n), np.eye(n), np.eye(n), np.zeros(n)

    def polyhedron_reason(self) -> str | None:
        """None when the domain is a bounded polyhedron in its frame's coordinates (an interval, a
        polygon or a polyhedron the cell algorithms can split), else why not (one sentence)."""
        raise _unanswered(self, "polyhedron_reason()")

    def frame_rows(self):
        """``(A, b)``: the domain as rows ``A y <= b`` (unit normals) in its frame's coordinates
        ``y``, in a fixed order (the cell algorithms label the domain's faces by it); no rows for
        the whole space; UnsupportedError for a domain that is not a polyhedron (an L2 ball)."""
        raise _unanswered(self, "frame_rows()")

    def frame_vertices(self) -> np.ndarray:
        """The vertices (shape (m, k), no order) of the bounded polyhedron the domain is in its
        frame's coordinates."""
        raise _unanswered(self, "frame_vertices()")

    def polygon(self):
        """The domain in its frame's coordinates ``y``: the interval ``(lo, hi)`` in one dimension,
        the vertices (counter-clockwise, shape (m, 2)) of a convex polygon in two."""
        vertices = self.frame_vertices()
        if vertices.shape[1] == 1:
            return float(vertices.min()), float(vertices.max())
        centre = vertices.mean(axis=0)
        return vertices[np.argsort(np.arctan2(vertices[:, 1] - centre[1], vertices[:, 0] - centre[0]))]

    def measure(self) -> float:
        """The domain's length, area or volume in input units (inf when unbounded)."""
        raise _unanswered(self, "measure()")

    # ------------------------------------------------------------------ exact arithmetic
    def exact_spec(self) -> dict:
        """The domain as exact data: ``{"kind": "rows", "dim", "A", "b"}`` (the open set ``A x < b``),
        ``{"kind": "l1" | "l2", "dim", "center", "radius"}`` or ``{"kind": "whole", "dim"}``, numbers
        as :class:`fractions.Fraction` (each float read as the exact rational it is)."""
        raise _unanswered(self, "exact_spec()")

    # ------------------------------------------------------------------ the big-M model
    def add_to_model(self, model, x) -> None:
        """Add the domain's rows over the input columns `x` to a
        :class:`~polyregions.solvers.base.LinearModel` (the columns already carry the bounding
        box); an outer approximation when :attr:`model_is_outer`."""
        raise _unanswered(self, "add_to_model()")

    def outside(self, x, rtol: float) -> bool:
        """Whether `x` (a solution of the model) lies outside the domain by more than `rtol`
        (relative): only an outer model can place it there."""
        return False

    def outer_cut(self, x):
        """``(u, level)``: a row ``u . x <= level`` valid on the domain that `x` violates (when
        :meth:`outside`); only for a domain whose model is an outer approximation."""
        raise UnsupportedError(f"{type(self).__name__} has an exact linear model: it needs no cuts")

    def seed_cuts(self) -> list:
        """Rows ``(u, level)`` valid on the domain that tighten its first outer model ([] when exact)."""
        return []

    def clip(self, x) -> np.ndarray:
        """`x` moved into the domain when a solver left it a hair outside (outer models), else `x`."""
        return x

    # ------------------------------------------------------------------ the search
    def search_problem(self, net):
        """``(net, domain)`` the search runs on: the network and the domain themselves (a slice
        composes the network with its frame)."""
        return net, self

    def rounding_decisions(self, net) -> int:
        """How many neurons the search problem (:meth:`search_problem`) fixes by a decision
        float64 does not make, counted in ``stats.near_eps`` (0: the network is the domain's own; a
        slice's composed first layer may hold some,
        :meth:`~polyregions.domains.slices.Slice.rounding_decisions`)."""
        return 0


class PolyhedralDomain(Domain):
    """A domain that is exactly its rows ``A x <= b`` (bounded or not): every answer from the rows.

    A subclass gives ``dim`` and :meth:`rows` (unit normals); the rest is derived here, with
    LPs where no closed form is known (the bounding box, an interior point and the support
    function, each through :mod:`polyregions.solvers.registry`). It may override any answer.
    """

    @property
    def bounded(self) -> bool:
        lo, hi = self.bounding_box()
        return bool(np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)))

    def bounding_box(self):
        """``(lo, hi)`` by ``2n`` LPs over the rows, computed once."""
        box = getattr(self, "_box", None)
        if box is None:
            A, b = self.rows()
            box = self._box = polyhedron_box(A, b)
        return box[0].copy(), box[1].copy()

    def contains(self, x):
        A, b = self.rows()
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.all(x @ A.T < b, axis=1)

    def center_point(self):
        """The centre of the largest ball in the rows (capped at radius 1), computed once."""
        point = getattr(self, "_point", None)
        if point is None:
            A, b = self.rows()
            point, radius = chebyshev_ball(A, b, cap=1.0)
            if point is None or not radius > 0:
                raise InvalidInputError(f"{type(self).__name__} has an empty interior")
            self._point = point
        return point.copy()

    def sample(self, n, rng):
        """Uniform points, by rejection from the bounding box (bounded domains only)."""
        if not self.bounded:
            raise InvalidInputError(f"cannot sample uniformly from an unbounded {type(self).__name__}")
        lo, hi = self.bounding_box()
        out, have = [], 0
        while have < n:
            x = rng.uniform(lo, hi, size=(max(2 * (n - have), 64), self.dim))
            x = x[self.contains(x)]
            out.append(x)
            have += len(x)
        return np.concatenate(out)[:n]

    def key(self) -> tuple:
        A, b = self.rows()
        return (f"{type(self).__module__}.{type(self).__qualname__}", self.dim, np.asarray(A, float),
                np.asarray(b, float))

    def _support(self, G):
        """By LPs over the rows (one model, one solve per row), padded outwards by :data:`SUPPORT_PAD`."""
        A, b = self.rows()
        sup = polyhedron_support(A, b, SUPPORT_PAD)
        return np.array([sup(g) for g in G])

    def polyhedron_reason(self):
        return None if self.bounded else f"{type(self).__name__} is not a bounded polyhedral domain"

    def frame_rows(self):
        """Its rows (the frame is the identity)."""
        return self.rows()

    def frame_vertices(self):
        """The rows' hyperplanes met ``k`` at a time (``k`` the dimension, at most 3; subsets whose
        normals are within :data:`POLYGON_RTOL` of dependent skipped), the points that no row
        exceeds by more than ``POLYGON_RTOL`` (relative) kept, repeats (closer than ``POLYGON_RTOL``
        times the coordinates' size) merged."""
        A, b = self.frame_rows()
        k = A.shape[1]
        if k > 3:
            raise UnsupportedError(f"{type(self).__name__}: vertices are enumerated in 1 to 3 dimensions, not {k}")
        pts = []
        for rows in itertools.combinations(range(len(b)), k):
            M = A[list(rows)]
            if abs(np.linalg.det(M)) > POLYGON_RTOL:
                pts.append(np.linalg.solve(M, b[list(rows)]))
        pts = np.array(pts)
        size = 1.0 + np.abs(pts).max()
        pts = pts[np.all(pts @ A.T <= b + POLYGON_RTOL * size, axis=1)]
        keep = []
        for p in pts:
            if all(np.abs(p - q).max() > POLYGON_RTOL * size for q in keep):
                keep.append(p)
        return np.array(keep)

    def measure(self):
        """From the rows: an interval's length in one dimension, else the convex hull of the
        rows' intersection (``scipy.spatial``, Qhull)."""
        if not self.bounded:
            return math.inf
        A, b = self.frame_rows()
        if A.shape[1] == 1:
            up, down = A[:, 0] > 0, A[:, 0] < 0
            return float(np.min(b[up] / A[up, 0]) + np.min(b[down] / -A[down, 0]))
        from scipy.spatial import ConvexHull, HalfspaceIntersection

        pts = HalfspaceIntersection(np.column_stack([A, -b]), self.center_point()).intersections
        return float(ConvexHull(pts).volume)

    def exact_spec(self):
        A, b = self.rows()
        return exact_rows_spec(self.dim, A, b)

    def add_to_model(self, model, x):
        A, b = self.rows()
        for i in range(A.shape[0]):
            model.add_row(x, A[i], -math.inf, b[i], f"dom_{i}")
