"""HiGHS as the referee of a compiled backend: the tests it is unsure about.

A compiled backend keeps its own stack of rows; :class:`HighsReferee` mirrors that stack
into a :class:`~polyregions.solvers.highs.HighsBackend` on the same problem lazily (only
when a test is handed over, popping and pushing only where the two stacks differ) and
returns HiGHS's answer. ``count`` and ``reasons`` say how many tests went there and why.
"""

from __future__ import annotations

from .base import RegionProblem, TestResult
from .highs import HighsBackend


class HighsReferee:
    """Lazily mirrored HiGHS model for the tests a compiled backend hands over."""

    def __init__(self, problem: RegionProblem):
        self.problem = problem
        self.count = 0
        self.reasons = {}
        self._highs = None
        self._ids = []  # ids of the rows the HiGHS model holds, bottom first

    @property
    def lp_solves(self) -> int:
        return self._highs.lp_solves if self._highs is not None else 0

    def decide(self, reason: str, ids: list, row) -> TestResult:
        """HiGHS's test of the stack whose rows have ids `ids` (bottom first); ``row(k)`` gives
        the ``k``-th row as ``(a, b)`` in input space."""
        self.count += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if self._highs is None:
            self._highs = HighsBackend(self.problem)
        h, theirs = self._highs, self._ids
        k = 0
        limit = min(len(ids), len(theirs))
        while k < limit and ids[k] == theirs[k]:
            k += 1
        while len(theirs) > k:
            h.pop()
            theirs.pop()
        for i in range(k, len(ids)):
            h.push(*row(i))
            theirs.append(ids[i])
        return h.test()
