"""Results: one region (:class:`Region`, and :class:`SliceRegion` on a slice or a low-dimensional
domain), a count with its statistics (:class:`RegionCount`, :class:`Stats`, :class:`MilpStats`)
and the answer of a local question (:class:`LocalResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LocalResult", "MilpStats", "NEAR_EPS_FACTOR", "Region", "RegionCount", "SliceRegion", "Stats",
           "pattern_map"]

#: A decision is reported as near ``eps`` (``Stats.near_eps``) when the value it turned on (a
#: solver's optimal radius, an inradius, a half-length) lies in ``[eps / NEAR_EPS_FACTOR,
#: eps * NEAR_EPS_FACTOR]``: there the count depends on ``eps``. Every method reads it here.
NEAR_EPS_FACTOR = 10.0


@dataclass
class Stats:
    """Statistics of one search.

    ``lp_solves``: solver runs; ``nodes``: partial patterns visited; ``seconds``: wall time;
    ``min_radius``: the smallest witness radius of a counted region (each counted region
    contains a Euclidean ball at least this large); ``min_kept_depth``: the smallest solver
    optimum that kept a node; ``near_eps``: near-degenerate decisions, whose outcome eps or
    rounding may change: an optimum (inradius) within a factor :data:`NEAR_EPS_FACTOR` of
    ``eps``, a neuron fixed by a rounding tolerance where it cuts the domain within that
    tolerance, a counted region as thin as the rounding of its coordinates, a node dropped with
    a depth within that rounding of eps (``RESOLUTION_RTOL``), a sign decided by a tolerance
    coarser than eps (planar), a first-layer neuron constant on a slice whose constant is zero
    within rounding (fixed off by the search:
    :meth:`polyregions.domains.slices.Slice.rounding_decisions`). A count with ``near_eps == 0``
    does not depend on them; ``eps``: the tolerance used;
    ``pending``: subproblems left unexplored (0 when the count is complete);
    ``recentre_failures``: witnesses on an unbounded domain that could not be moved back
    near their parent's (the far witness was used; the count does not depend on it).
    """

    lp_solves: int = 0
    nodes: int = 0
    seconds: float = 0.0
    min_radius: float = math.inf
    min_kept_depth: float = math.inf
    near_eps: int = 0
    eps: float = 0.0
    pending: int = 0
    lp_solves_before: int = 0  # solves of earlier runs of a resumed count
    recentre_failures: int = 0

    def as_dict(self):
        return {k: getattr(self, k, f.default) for k, f in self.__dataclass_fields__.items()}

    def merge(self, part: "Stats") -> None:
        """Add the statistics of a part of the same count searched elsewhere (a subtree searched by
        a worker): nodes, near-eps decisions and recentring failures add up, the smallest radii
        are the smaller of the two (solver runs are added by the caller, which knows whether they
        are already counted)."""
        self.nodes += part.nodes
        self.near_eps += part.near_eps
        self.recentre_failures += part.recentre_failures
        self.min_radius = min(self.min_radius, part.min_radius)
        self.min_kept_depth = min(self.min_kept_depth, part.min_kept_depth)


@dataclass
class RegionCount:
    """The number of activation regions of a network in a domain.

    ``count``: the exact number of patterns whose region contains a ball of radius ``eps``;
    ``complete``: False when the search stopped early (``max_regions`` or ``time_limit``),
    in which case ``count`` is a lower bound and ``stopped`` says why. For a MILP count
    (``stats.margin_tol`` is set), ``complete=True`` means *no region of margin >=
    margin_tol was missed*; thinner regions may exist (see :mod:`polyregions.milp.milp`).
    """

    count: int
    stats: Stats
    complete: bool = True
    stopped: str | None = None

    def __int__(self):
        return self.count

    def as_dict(self):
        return {"count": self.count, "complete": self.complete, "stopped": self.stopped, "stats": self.stats.as_dict()}


@dataclass
class CertifiedCount(RegionCount):
    """A count decided in exact arithmetic (``count_regions(..., certify=True)``).

    ``count``: the number of patterns whose open region inside the open domain is non-empty,
    exact when ``certified``; ``certified``: the search finished and every counted region
    and every dropped branch carries an exactly checked certificate; ``undecided``:
    ``[(partial pattern, why)]`` left open (never guessed); ``float_count``: what the
    floating-point search counted at ``stats.eps``; ``certificate``: the certificate file
    written, if any; ``exact_lps`` / ``hint_lps``: exact simplex and hint LP runs.
    """

    certified: bool = False
    undecided: list = field(default_factory=list)
    float_count: int = 0
    certificate: str | None = None
    exact_lps: int = 0
    hint_lps: int = 0

    def as_dict(self):
        out = super().as_dict()
        out.update(certified=self.certified, undecided=[list(u) for u in self.undecided],
                   float_count=self.float_count, certificate=self.certificate, exact_lps=self.exact_lps,
                   hint_lps=self.hint_lps)
        return out


@dataclass(eq=False)
class Region:
    """One activation region.

    ``pattern``: the bits, packed with ``numpy.packbits`` (layer by layer, big-endian bit
    order; ``bits`` unpacks them); ``point``: an interior point; ``radius``: a Euclidean
    ball of this radius around ``point`` lies in the region and the domain.
    """

    pattern: np.ndarray
    n_bits: int
    point: np.ndarray
    radius: float
    _map: tuple = field(repr=False)
    _output: tuple | None = field(repr=False, default=None)

    @property
    def bits(self) -> np.ndarray:
        """The pattern as booleans (True = on)."""
        return np.unpackbits(self.pattern, count=self.n_bits).astype(bool)

    def affine_map(self):
        """``(A, c)`` with ``f(x) = A x + c`` on the region: the output layer when the network
        has one, else the last hidden layer's activations."""
        M, m = self._map
        if self._output is None:
            return M.copy(), m.copy()
        W, b = self._output
        return W @ M, W @ m + b


@dataclass
class LocalResult:
    """Answer of :func:`single_region`.

    ``single``: the domain (ball) lies in one activation region (up to null sets);
    ``switching``: flat bool mask in pattern order of the neurons that take both signs in
    the ball (with ``|z_j| > tol`` on each side), i.e. whose state differs between two
    regions that meet the ball; ``states``: int8, +1 on throughout, -1 off throughout, 0
    switching; ``bounds``: the propagated bounds used; ``milp_solves``; ``seconds``.
    """

    single: bool
    switching: np.ndarray
    states: np.ndarray
    bounds: list = field(repr=False)  # the NeuronBounds used
    milp_solves: int = 0
    seconds: float = 0.0

    @property
    def num_switching(self) -> int:
        return int(np.count_nonzero(self.switching))


@dataclass
class MilpStats(Stats):
    """Statistics of a MILP count (the fields of :class:`~polyregions.result.Stats` and more).

    ``milp_solves``: MILPs solved; ``patterns``: patterns the MILP returned; ``rejected``:
    those the exact region test refused (cut anyway); ``sign_mismatches``: patterns whose
    binaries disagreed with the signs of the network's pre-activations at the solution;
    ``l2_cuts``: tangent planes added; ``binaries``: binary variables (unstable neurons);
    ``final_margin``: the optimal margin of the last MILP (0 when it was infeasible);
    ``min_margin``: the smallest margin of a counted region; ``margin_tol``: the stopping
    tolerance; ``bounds``: the bound method used for the big-M constants; ``missed``:
    regions found only by the final sampling check (degenerate parameters).
    """

    milp_solves: int = 0
    patterns: int = 0
    rejected: int = 0
    sign_mismatches: int = 0
    l2_cuts: int = 0
    binaries: int = 0
    final_margin: float = math.nan
    min_margin: float = math.inf
    margin_tol: float = math.nan
    bounds: str = ""
    missed: int = 0


def pattern_map(layers, bits: np.ndarray):
    """``(M, m)`` with ``h^L = M x + m`` on the region of the pattern `bits` (booleans, layer by
    layer), in the coordinates of the first layer of `layers`: the product of the layers'
    maps with the off neurons' rows set to zero."""
    offset = 0
    W, b = layers[0]
    M = np.asarray(W, dtype=np.float64)
    m = np.asarray(b, dtype=np.float64)
    for l, (W, b) in enumerate(layers):
        if l:
            M, m = W @ M, W @ m + b
        beta = bits[offset : offset + M.shape[0]].astype(np.float64)
        offset += M.shape[0]
        M, m = beta[:, None] * M, beta * m
    return M, m


@dataclass(eq=False)
class SliceRegion(Region):
    """A region of a line, a plane, a volume, or a one- to three-dimensional input domain (made by
    :class:`polyregions.domains.slices.SliceRegions`).

    Besides :class:`~polyregions.result.Region`'s fields (``point`` and ``radius`` in input
    coordinates and units): ``coords``, the point's slice coordinates (``s`` or ``(s, t)``;
    the input itself when the domain is not a slice); ``vertices``, the region's polygon
    (counter-clockwise) or interval ends in slice coordinates (None from the search, which
    finds points, not polygons); ``size``, its area or length in input units (None from
    the search); ``edges``, per polygon edge (from vertex ``i`` to ``i + 1``) the neuron whose
    zero set it lies on (its bit's index, layer by layer), ``-1`` on the domain's boundary.
    ``affine_map()`` is the network's map in input coordinates (computed on
    first use: for wide inputs it is an ``(out, n)`` product), ``slice_affine_map()`` in
    slice coordinates.
    """

    coords: np.ndarray = None
    vertices: np.ndarray | None = None
    size: float | None = None
    edges: np.ndarray | None = None
    _layers: tuple = field(repr=False, default=())
    _slice_layers: tuple = field(repr=False, default=())
    _R: np.ndarray = field(repr=False, default=None)
    _p0: np.ndarray = field(repr=False, default=None)

    def affine_map(self):
        """``(A, c)`` with ``f(x) = A x + c`` on the region, ``x`` in input coordinates."""
        if self._map is None:
            self._map = pattern_map(self._layers, self.bits)
        return super().affine_map()

    def slice_affine_map(self):
        """``(A, c)`` with ``f(origin + U p) = A p + c`` on the region, ``p`` in slice coordinates."""
        M, m = pattern_map(self._slice_layers, self.bits)
        M = M @ self._R  # the layers are composed in the working frame: y = R (p - p0)
        if self._p0 is not None:
            m = m - M @ self._p0
        if self._output is None:
            return M, m
        W, b = self._output
        return W @ M, W @ m + b
