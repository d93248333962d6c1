"""A region's vertices and volume in any dimension up to :data:`QHULL_MAX_DIM`, through Qhull.

The region's rows (:func:`polyregions.cells.facets.region_rows`) are handed to
``scipy.spatial.HalfspaceIntersection`` with the region's witness point (strictly inside:
a ball of radius ``region.radius`` around it lies in the region), which returns the
vertices; ``scipy.spatial.ConvexHull`` of the vertices gives the volume. Redundant rows are
harmless to Qhull. Cost grows with the number of vertices, which grows quickly with the
dimension (``benchmarks/bench_complex.py`` measures it): above :data:`QHULL_MAX_DIM` the
request is refused, and the region's facets (an LP each, any dimension) are what remains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import net_and_domain
from ..errors import InvalidInputError, UnsupportedError
from .facets import region_rows

__all__ = ["QHULL_MAX_DIM", "RegionPolytope", "region_polytope"]

#: Largest dimension served. ``benchmarks/bench_complex.py`` (regions of he_net(d, [16, 16]) in the
#: unit box, a loaded 2-core machine): about 0.01 s per region up to 5 dimensions (50 vertices),
#: 0.1 s at 6 (150 vertices), 3.5 s at 7 (320 vertices, up to 21 s) with Qhull failing on some
#: regions (a topology error).
QHULL_MAX_DIM = 6


@dataclass(frozen=True)
class RegionPolytope:
    """A region as a polytope: ``vertices`` (V, n) in domain coordinates (the input, or a
    slice's parameters), ``volume`` (input units, the slice's own dimension) and the Qhull
    objects ``halfspaces`` (the rows, ``A y - b <= 0``) and ``hull``."""

    vertices: np.ndarray
    volume: float
    halfspaces: object
    hull: object


def region_polytope(net, domain, region) -> RegionPolytope:
    """The vertices and volume of `region` (a :class:`~polyregions.result.Region` of `net` in a
    bounded polyhedral `domain`).

    Raises
    ------
    UnsupportedError
        Above :data:`QHULL_MAX_DIM` dimensions, on unbounded domains, or where Qhull fails.
    """
    net_and_domain(net, domain)
    if not (hasattr(region, "point") and hasattr(region, "bits")):
        raise InvalidInputError("`region` must be a Region (from enumerate_regions), with an interior point")
    if not domain.bounded:
        raise UnsupportedError("`domain` is unbounded: a region's volume may be infinite (give a bounded domain)")
    rows = region_rows(net, domain, region)
    origin, Q, R, p0 = rows.frame  # x = origin + Q y, y = R (p - p0)
    n = Q.shape[1]
    if n > QHULL_MAX_DIM:
        raise UnsupportedError(f"a region's vertices and volume are computed up to {QHULL_MAX_DIM} dimensions "
                               f"(Qhull's cost grows quickly with the dimension); this one has {n}: use "
                               "region_facets (any dimension) or a slice (Line, Plane, Volume)")
    if n == 1:
        A, b = rows.A[:, 0], rows.b
        hi = float(np.min(b[A > 0] / A[A > 0]))
        lo = float(np.max(b[A < 0] / A[A < 0]))
        y = np.array([[lo], [hi]])
        return RegionPolytope(np.linalg.solve(R, y.T).T + p0, hi - lo, None, None)
    from scipy.spatial import ConvexHull, HalfspaceIntersection
    from scipy.spatial import QhullError

    y0 = Q.T @ (np.asarray(region.point, dtype=float) - origin)
    try:
        hs = HalfspaceIntersection(np.column_stack([rows.A, -rows.b]), y0)
        hull = ConvexHull(hs.intersections)
    except QhullError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        raise UnsupportedError(f"Qhull failed on this region ({first})") from None
    vertices = hs.intersections[hull.vertices]
    return RegionPolytope(np.linalg.solve(R, vertices.T).T + p0, float(hull.volume), hs, hull)
