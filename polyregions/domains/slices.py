"""Lines and planes as a change of variables, and the regions they report.

A slice (:class:`~polyregions.domains.convex.Line`, :class:`~polyregions.domains.convex.Plane`) is
``x = origin + U p`` with slice coordinates ``p``. With ``U = Q R`` (``Q`` orthonormal
columns, :meth:`~polyregions.domains.convex.Slice.frame`) the orthonormal coordinates
``y = R p`` measure input-space distances, and the network on the slice is the network
whose first affine map is composed with ``x = origin + Q y``:

    z^1 = (W^1 Q) y + (W^1 origin + b^1),   later layers unchanged.

Its regions in ``y`` are the regions of the slice (a pattern's region on the slice is
the slice of its region in input space), counted in the slice's dimension with ``eps``
in input units. Two-dimensional and one-dimensional input domains use the identity frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .convex import Box, Line, Polytope, Slice, Whole
from ..errors import InvalidInputError, UnsupportedError
from ..model.network import Network, require_relu
from ..result import Region
from ..search.engine import ZERO_ROW_RTOL
from ..search.rows import row_norms

__all__ = ["SliceRegion", "check_layers", "compose_layers", "composed_search_problem", "frame_of", "lift_regions", "pattern_map",
           "search_problem", "working_frame"]


def frame_of(domain):
    """``(origin, Q, R, slice_or_None)``: ``x = origin + Q y``, ``y = R p`` (the identity for
    a domain that is not a slice)."""
    if isinstance(domain, Slice):
        origin, Q, R = domain.frame()
        return origin, Q, R, domain
    n = domain.dim
    return np.zeros(n), np.eye(n), np.eye(n), None


def working_frame(domain):
    """``(origin, Q, R, p0)``: the frame slices are computed in, ``x = origin + Q y`` with
    ``y = R (p - p0)`` for a slice's coordinates ``p`` (the identity frame, ``p0 = 0``, for a
    domain that is not a slice).

    A first-layer pre-activation is computed as ``(W origin + b) + (W Q) y``: its rounding
    grows with ``|origin|`` and ``|y|``. So the origin is, among the points the slice gives to
    rounding (a line's ends and its midpoint, a plane's or a volume's origin and the centre of
    its box), the one nearest the input space's origin: a segment from ``-s d`` to ``s d``
    is computed from ``0``, and the hyperplanes near ``0`` are placed to the precision of
    numbers near ``0`` however long it is.
    """
    origin, Q, R, sl = frame_of(domain)
    if sl is None:
        return origin, Q, R, np.zeros(Q.shape[1])
    if isinstance(sl, Line):
        candidates = [(sl.a, 0.0), (sl.b, 1.0), (sl.a / 2 + sl.b / 2, 0.5)]
    else:
        candidates = [(sl.origin, np.zeros(sl.slice_dim))]
        if sl.bounded:
            centre = (sl.lo + sl.hi) / 2
            candidates.append((sl.origin + sl.U @ centre, centre))
    x0, p0 = min(candidates, key=lambda cand: float(np.abs(cand[0]).max()))
    return x0, Q, R, np.atleast_1d(np.asarray(p0, dtype=float))


def check_layers(net: Network) -> None:
    """Raise UnsupportedError unless `net` is a plain ReLU network.

    Slices compose the lowered stages (:attr:`Network.hidden`), whatever layers they came
    from (Dense, Conv2d, pooling, Flatten, Unflatten, Activation): only the activation
    matters, since the composed network and the planar algorithm apply ReLU after each stage.
    """
    require_relu(net, "lines, planes and the planar algorithm")


def compose_layers(net: Network, origin: np.ndarray, Q: np.ndarray) -> list:
    """The hidden layers of `net` seen in the coordinates ``y`` of ``x = origin + Q y``
    (only the first is new; the others are shared, not copied).

    The first layer is ``(W Q, W origin + b)``, computed in floating point. A neuron that is
    constant on the slice (its hyperplane contains the slice's directions) comes out as a
    row of rounding errors, which the search would take for a hyperplane. So the search's
    own rule (:data:`polyregions.search.engine.ZERO_ROW_RTOL`) is applied to the composition,
    with the sizes of the terms summed: a row whose norm is at most ``ZERO_ROW_RTOL`` times
    ``sum_k |W_jk| |Q_k|`` (``Q_k`` the k-th row of ``Q``) is zero, and then its constant is
    zero too when at most ``ZERO_ROW_RTOL (|W| |origin| + |b|)_j``.
    """
    layers = list(net.hidden)
    W, b = layers[0]
    with np.errstate(over="ignore", invalid="ignore"):
        G = np.asarray(W @ Q, dtype=np.float64)
        c = np.asarray(W @ origin, dtype=np.float64) + b
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(c))):
        raise InvalidInputError("`domain` lies too far out for `net`: its first layer overflows float64 on the slice")
    absW = abs(W)
    zero = row_norms(G) <= ZERO_ROW_RTOL * np.asarray(absW @ row_norms(Q)).reshape(-1)
    if np.any(zero):
        G[zero] = 0.0
        cscale = np.asarray(absW @ np.abs(origin)).reshape(-1) + np.abs(b)
        c[zero & (np.abs(c) <= ZERO_ROW_RTOL * cscale)] = 0.0
    layers[0] = (G, c)
    return layers


def composed_search_problem(net: Network, domain: Slice):
    """``(net_y, domain_y)``: the network on the slice and the slice's parameter range in the
    orthonormal coordinates ``y = R (p - p0)`` of :func:`working_frame`, for the search (see the
    module docstring)."""
    check_layers(net)
    origin, Q, R, p0 = working_frame(domain)
    layers = compose_layers(net, origin, Q)
    net_y = Network.from_dense([W for W, _ in layers], [b for _, b in layers], output=net.output)
    if isinstance(domain, Line):
        return net_y, Box([-domain.length * p0[0]], [domain.length * (1.0 - p0[0])])
    if not domain.bounded:
        return net_y, Whole(domain.slice_dim)
    Rinv = np.linalg.inv(R)
    return net_y, Polytope(np.vstack([Rinv, -Rinv]), np.concatenate([domain.hi - p0, p0 - domain.lo]))


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
    """A region of a line, a plane, or a one- or two-dimensional input domain.

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
    _slice_layers: tuple = field(repr=False, default=())  # composed in the working frame
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
        M = M @ self._R  # y = R (p - p0)
        if self._p0 is not None:
            m = m - M @ self._p0
        if self._output is None:
            return M, m
        W, b = self._output
        return W @ M, W @ m + b


def search_problem(net: Network, domain):
    """What the search runs on: ``(net, domain)`` itself, or for a slice its composed network
    and parameter range (:func:`composed_search_problem`)."""
    return composed_search_problem(net, domain) if isinstance(domain, Slice) else (net, domain)


def lift_regions(regions, net: Network, domain, slice_layers):
    """The regions found by the search in a slice's orthonormal coordinates ``y`` (of
    :func:`working_frame`; `slice_layers`: the network composed there), reported in input
    coordinates (their patterns and radii are the same on both sides)."""
    origin, Q, R, p0 = working_frame(domain)
    slice_layers = tuple(slice_layers)
    for region in regions:
        y = np.asarray(region.point, dtype=float)
        yield SliceRegion(region.pattern, region.n_bits, origin + Q @ y, region.radius, None, net.output,
                          coords=np.linalg.solve(R, y) + p0, _layers=net.hidden, _slice_layers=slice_layers, _R=R,
                          _p0=p0)
