"""Which rows of a polyhedron are facets: one HiGHS LP per candidate row.

For the polyhedron ``P = {x : A x <= b}`` (unit rows ``a_k``) and a row ``i``, the largest
ball of dimension ``n - 1`` inside the face ``P cap {a_i . x = b_i}`` solves

    max t   s.t.   a_i . x = b_i,   a_k . x + t |a_k - (a_k . a_i) a_i| <= b_k   (k not in S_i),
                   t <= t_cap,

where ``|a_k - (a_k . a_i) a_i|`` is the norm of ``a_k`` projected onto the hyperplane (a ball of radius ``t`` in the hyperplane around ``x`` stays inside row
``k`` exactly then), and ``S_i`` holds ``i`` and the rows that coincide with it (the same
hyperplane and side: they make the same facet). Row ``i`` holds a facet of ``P`` of
inradius ``t`` when ``t > 0``; rows whose hyperplane misses ``P`` give ``t <= 0`` or an
infeasible LP (a parallel row cuts the hyperplane off). Every status is read through
:func:`polyregions.solvers.highs.status_table`: a limit or an error raises
:class:`~polyregions.errors.SolverError`, never "not a facet". The radius is recomputed from
the returned point (projected onto the hyperplane) when it is small, as the region tests do
(:data:`polyregions.solvers.base.HONEST_CHECK_BELOW`), so the solver's tolerance never
decides near ``eps``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SolverError
from .base import HONEST_CHECK_BELOW, Status
from .highs import HIGHS_BOUND_LP_OPTIONS, new_highs, status_table

__all__ = ["facet_radius", "FacetLP"]


def _projected_norms(A, i):
    """``|a_k - (a_k . a_i) a_i|`` for every row ``k`` (unit rows), from the projection itself:
    ``sqrt(1 - (a_k . a_i)^2)`` loses every digit for nearly parallel rows."""
    return np.linalg.norm(A - np.outer(A @ A[i], A[i]), axis=1)


def facet_radius(A, b, i, skip, x, t_cap=math.inf) -> float:
    """The radius of the largest ball of the hyperplane ``a_i . y = b_i`` around the
    projection of `x` onto it that stays inside every row but those in `skip` (computed
    in floating point from the point, not taken from a solver); capped at `t_cap`."""
    y = x - (A[i] @ x - b[i]) * A[i]
    c = _projected_norms(A, i)
    slack = b - A @ y
    keep = np.ones(len(b), dtype=bool)
    keep[list(skip)] = False
    r = t_cap
    tilted = keep & (c > 0)
    if np.any(tilted):
        r = min(r, float(np.min(slack[tilted] / c[tilted])))
    flat = keep & (c == 0)
    if np.any(flat) and float(np.min(slack[flat])) < 0:
        return -math.inf
    return r


class FacetLP:
    """The facet LPs of one polyhedron ``A x <= b`` (unit rows), solved by one HiGHS model.

    The model holds ``a_k . x + t <= b_k`` for every row (the full-dimensional radius) and
    a free copy ``a_k . x`` of each; for row ``i`` its copy becomes the equality
    ``a_i . x = b_i`` and row ``i`` and its coincident rows are freed, then restored: only
    bounds change, so every LP starts from the last basis. Its optimum ``s`` (the largest ``t`` such that a point of the hyperplane lies ``t``
    inside every other row) is positive exactly when the facet's inradius ``t`` is, and
    ``t >= s`` (``sqrt(1 - (a_k . a_i)^2) <= 1``): above ``eps`` it decides; at or below
    ``eps`` but positive the inradius LP of the module docstring is solved.
    """

    def __init__(self, A, b, t_cap=None):
        self.A = np.ascontiguousarray(A, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.t_cap = math.inf if t_cap is None else float(t_cap)
        self._status = status_table()
        self.solves = 0
        m, n = self.A.shape
        inf = self._inf = math.inf  # HiGHS reads bounds beyond 1e20 as infinite
        h = self._h = new_highs()
        for k, v in HIGHS_BOUND_LP_OPTIONS.items():
            h.setOptionValue(k, v)
        h.addVars(n, np.full(n, -inf), np.full(n, inf))
        h.addVars(1, np.array([-inf]), np.array([self.t_cap]))
        h.changeColCost(n, -1.0)
        M = np.column_stack([self.A, np.ones(m)])
        h.addRows(m, np.full(m, -inf), self.b, m * (n + 1), np.arange(0, m * (n + 1), n + 1, dtype=np.int32),
                  np.tile(np.arange(n + 1, dtype=np.int32), m), M.ravel())
        # the rows again without t, free until one of them is the equality of a facet LP
        h.addRows(m, np.full(m, -inf), np.full(m, inf), m * n, np.arange(0, m * n, n, dtype=np.int32),
                  np.tile(np.arange(n, dtype=np.int32), m), self.A.ravel())

    def _run(self, what):
        h = self._h
        self.solves += 1
        h.run()
        status = self._status.get(h.getModelStatus(), Status.ERROR)
        if status is Status.ERROR:  # one retry from scratch, as the region test does; never read as empty
            h.clearSolver()
            self.solves += 1
            h.run()
            status = self._status.get(h.getModelStatus(), Status.ERROR)
        if status not in (Status.OPTIMAL, Status.INFEASIBLE):
            raise SolverError(f"HiGHS returned {h.getModelStatus()} on {what} (status {status.value})")
        return status

    def radius(self, i, same, eps):
        """``(t, point)``: a lower bound on the inradius of row `i`'s face, exact when at most
        `eps`, and the centre of a ball of the hyperplane of that radius inside the face
        (``-inf`` and None when the hyperplane misses the polyhedron's interior); `same`:
        the rows coinciding with row `i` (left out)."""
        h, inf = self._h, self._inf
        A, b = self.A, self.b
        m, n = A.shape
        free = np.union1d(np.asarray(same, dtype=np.int32), [i]).astype(np.int32)
        h.changeRowsBounds(len(free), free, np.full(len(free), -inf), np.full(len(free), inf))
        h.changeRowBounds(m + i, b[i], b[i])
        try:
            status = self._run("a facet LP")
            col = np.array(h.getSolution().col_value) if status is Status.OPTIMAL else None
        finally:
            h.changeRowBounds(m + i, -inf, inf)
            h.changeRowsBounds(len(free), free, np.full(len(free), -inf), b[free])
        if col is None:
            return -math.inf, None
        x, s = col[:n], float(col[n])
        if s > max(eps, HONEST_CHECK_BELOW):
            return s, x - (A[i] @ x - b[i]) * A[i]
        if s <= -HONEST_CHECK_BELOW:
            return s, None  # far from touching: no point of the hyperplane is inside the others
        return self._inradius(i, free, x)

    def _inradius(self, i, free, x0):
        """The inradius LP of the module docstring (a fresh model)."""
        A, b = self.A, self.b
        m, n = A.shape
        inf = self._inf
        c = _projected_norms(A, i)
        c[free] = 0.0
        upper = b.copy()
        upper[free] = inf
        lower = np.full(m, -inf)
        lower[i], upper[i] = b[i], b[i]
        h = new_highs()
        for k, v in HIGHS_BOUND_LP_OPTIONS.items():
            h.setOptionValue(k, v)
        h.addVars(n, np.full(n, -inf), np.full(n, inf))
        h.addVars(1, np.array([-inf]), np.array([self.t_cap]))
        h.changeColCost(n, -1.0)
        h.addRows(m, lower, upper, m * (n + 1), np.arange(0, m * (n + 1), n + 1, dtype=np.int32),
                  np.tile(np.arange(n + 1, dtype=np.int32), m), np.column_stack([A, c]).ravel())
        self._h, saved = h, self._h
        try:
            status = self._run("a facet's inradius LP")
        finally:
            self._h = saved
        if status is Status.INFEASIBLE:
            return -math.inf, None
        col = np.array(h.getSolution().col_value)
        x, t = col[:n], float(col[n])
        if t < HONEST_CHECK_BELOW:
            t = facet_radius(A, b, i, free, x, self.t_cap)
        return t, x - (A[i] @ x - b[i]) * A[i]
