"""HiGHS as the referee of a compiled backend: the tests it is unsure about.

A compiled backend keeps its own stack of rows; :class:`HighsReferee` mirrors that stack
into a :class:`~polyregions.solvers.highs.HighsBackend` on the same problem lazily (only
when a test is handed over, popping and pushing only where the two stacks differ) and
returns HiGHS's answer. ``count`` and ``reasons`` say how many tests went there and why.
:class:`RefereedStack` is the stack bookkeeping the compiled backends share.
"""

from __future__ import annotations

from ..errors import SolverError
from .base import RegionProblem, TestResult
from .highs import ROW_BOUND_LIMIT, HighsBackend


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


class RefereedStack:
    """Levels, row ids and counters of a compiled backend whose unsure tests go to HiGHS.

    A subclass stores its rows itself: ``push`` calls :meth:`_check_bound`, stores the row
    at level ``self._level + 1`` and calls :meth:`_entered`; ``_row_in_x(k)`` returns the
    ``k``-th pushed row as ``(a, b)``; ``_fallback(reason)`` hands the current node to HiGHS.
    """

    def __init__(self, problem: RegionProblem):
        self.problem = problem
        self._level = 0
        self._ids = []  # row ids of the pushed rows (for mirroring into HiGHS)
        self._next_id = 0
        self._solves = 0
        self._referee = HighsReferee(problem)

    @staticmethod
    def _check_bound(b):
        if not abs(b) < ROW_BOUND_LIMIT:
            raise SolverError(f"a row bound of {b:.3g} is beyond what the solvers take as finite")

    def _entered(self, level):
        self._level = level
        self._ids.append(self._next_id)
        self._next_id += 1

    def pop(self):
        if self._level == 0:
            raise SolverError("pop() without a pushed row")
        self._level -= 1
        self._ids.pop()

    def farkas(self):
        """No multipliers unless the subclass keeps them (see :meth:`~polyregions.solvers.base.LPBackend.farkas`)."""
        return None

    def _row_in_x(self, k):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ for a compiled search
    # A compiled search (:mod:`polyregions.search.compiled`) pushes, pops and tests on the
    # backend's arrays itself; these keep the levels, row ids and counters in step with it.
    def stack_ids(self) -> tuple:
        """The ids of the pushed rows (bottom first) and the next id to give."""
        return list(self._ids), self._next_id

    def adopt_stack(self, ids, next_id: int, solves: int = 0) -> None:
        """Take the stack a compiled search left: rows with ids `ids` pushed, `next_id` the next
        id, `solves` more solver runs."""
        self._ids = [int(i) for i in ids]
        self._level = len(self._ids)
        self._next_id = int(next_id)
        self._solves += int(solves)

    def pushed_row(self, k: int) -> tuple:
        """The ``k``-th pushed row (bottom first) as ``(a, b)`` in input space."""
        return self._row_in_x(k)

    def referee(self, reason: str) -> TestResult:
        """HiGHS's test of the current stack (the compiled search was unsure: `reason`)."""
        return self._fallback(reason)

    def _fallback(self, reason):
        return self._referee.decide(reason, self._ids, self._row_in_x)

    @property
    def lp_solves(self):
        """Solver runs: the compiled ones and HiGHS's."""
        return self._solves + self._referee.lp_solves

    @property
    def fallbacks(self):
        """Tests decided by HiGHS."""
        return self._referee.count

    @property
    def fallback_reasons(self):
        """Why they went there: ``{reason: count}``."""
        return self._referee.reasons
