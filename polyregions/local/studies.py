r"""The counts of a dataset-scale study, numbered: balls around data points, segments between them.

A study is what :class:`polyregions.batch.BatchWork` runs (:class:`polyregions.batch.Study`):
count ``k`` is a network and a domain, and the study measures, where the count ran, what it
reports beside the count.

* :class:`BallStudy`: for every network ``i``, point ``j`` and radius ``r``, the ball
  :math:`\{x : \|x - x_j\|_p \le r\}`; count ``k = (i N + j) R + r`` (networks, then points,
  then radii). Beside the count: the distance from the point to the nearest boundary of its
  region (:func:`polyregions.cells.measure.boundary_distances`, for ReLU networks) and, in an L2
  ball of a ReLU network, Zhu, Lin & Tang's :math:`C` and :math:`2^C`
  (:func:`polyregions.bounds.local.zhu_local`) and polyregions' local arrangement bound
  (:func:`polyregions.bounds.local.local_arrangement_bound`, symbolic stability); where they do
  not apply the columns hold -1 (``zhu_C``) or NaN.
* :class:`LineStudy`: for every network ``i`` and segment ``j``, :class:`~polyregions.Line`
  ``(starts[j], ends[j])``; count ``k = i L + j``; beside the count the segment's length (the
  table divides the count by it: regions per unit length).

:func:`study_key` is the study's fingerprint: a checkpoint of finished counts is read only by
the study that wrote it.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..bounds.local import local_arrangement_bound
from ..cells.measure import boundary_distances
from ..domains.convex import Ball
from ..domains.slices import Line
from ..search.checkpoint import hash_network

__all__ = ["BallStudy", "LineStudy", "NO_BOUND", "study_key", "upper_float"]

#: ``zhu_C`` where Zhu, Lin & Tang's bound does not apply (a ball other than L2, a network other
#: than plain ReLU, or ``bounds=False``).
NO_BOUND = -1


def study_key(kind: str, nets, arrays, values) -> str:
    """A hash of everything the counts of a study depend on: its kind, every network's stages,
    the arrays (points, radii; their shapes and float64 bytes) and the other values (p, eps)."""
    h = hashlib.sha256(repr(("polyregions study", kind, len(nets))).encode())
    for net in nets:
        hash_network(h, net)
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(repr(("array", a.shape)).encode())
        h.update(a.tobytes())
    h.update(repr(tuple(values)).encode())
    return h.hexdigest()


def upper_float(n: int) -> float:
    """The smallest float at least the integer `n` (inf beyond the floats): a bound stays a bound."""
    try:
        f = float(n)
    except OverflowError:
        return math.inf
    return f if f >= n else math.nextafter(f, math.inf)


class BallStudy:
    """Counts in the balls ``|x - points[j]|_p <= radii[r]`` for every network (validated arrays:
    `points` of shape (N, n), `radii` of shape (R,))."""

    kind = "ball"

    def __init__(self, nets, points, radii, p, eps, bounds):
        self.nets, self.points, self.radii = list(nets), points, radii
        self.p, self.eps, self.bounds = p, eps, bool(bounds)
        self.size = len(self.nets) * len(points) * len(radii)
        self.key = study_key(self.kind, self.nets, (points, radii), (p, eps, self.bounds))
        self._distance = {}

    def index(self, k: int) -> tuple:
        """``(network, point, radius)`` numbers of count ``k``."""
        i, rest = divmod(k, len(self.points) * len(self.radii))
        j, r = divmod(rest, len(self.radii))
        return i, j, r

    def problem(self, k: int) -> tuple:
        i, j, r = self.index(k)
        return self.nets[i], Ball(self.points[j], self.radii[r], p=self.p)

    def distance(self, i: int, j: int) -> float:
        """The distance from point ``j`` to the nearest boundary of its region of network ``i``
        (NaN for a network other than plain ReLU, whose regions the measurement does not describe)."""
        key = (i, j)
        if key not in self._distance:
            if len(self._distance) > 4096:
                self._distance.clear()
            net = self.nets[i]
            self._distance[key] = float(boundary_distances(net, self.points[j])[0][0]) if net.is_relu else math.nan
        return self._distance[key]

    def measure(self, k, net, domain, result) -> dict:
        i, j, r = self.index(k)
        out = {"distance": self.distance(i, j), "zhu_C": NO_BOUND, "zhu_bound": math.nan,
               "arrangement_bound": math.nan}
        if self.bounds and self.p == 2 and net.is_relu:
            bound = local_arrangement_bound(net, self.points[j], self.radii[r])
            out.update(zhu_C=int(bound.zhu.C), zhu_bound=upper_float(bound.zhu.bound),
                       arrangement_bound=upper_float(bound.bound))
        return out


class LineStudy:
    """Counts on the segments ``Line(starts[j], ends[j])`` for every network (validated arrays of
    shape (L, n), no segment of length 0)."""

    kind = "line"

    def __init__(self, nets, starts, ends, eps):
        self.nets, self.starts, self.ends, self.eps = list(nets), starts, ends, eps
        self.size = len(self.nets) * len(starts)
        self.key = study_key(self.kind, self.nets, (starts, ends), (eps,))

    def index(self, k: int) -> tuple:
        """``(network, segment)`` numbers of count ``k``."""
        return divmod(k, len(self.starts))

    def problem(self, k: int) -> tuple:
        i, j = self.index(k)
        return self.nets[i], Line(self.starts[j], self.ends[j])

    def measure(self, k, net, domain, result) -> dict:
        return {"length": domain.length}
