"""The search as work for the counting driver (:mod:`polyregions.driver`), in this process.

:class:`SearchWork` holds a queue of open :class:`~polyregions.search.engine.Subproblem` and
searches one of them per step (last in, first out), until the step's deadline parks the
rest of its subtree on the queue. Each counted region is one unit. A subproblem's regions
are committed when its step ends: a checkpoint taken in the middle of a step (Ctrl-C)
holds the subproblem itself, not its partial count, so that a resumed count finishes
with exactly the count of an uninterrupted run.
"""

from __future__ import annotations

__all__ = ["SearchWork"]


class SearchWork:
    """The sequential search over `queue` (a list of subproblems, the last searched first).

    ``search``: a :class:`~polyregions.search.engine.RegionSearch` (or its compiled loop,
    :mod:`polyregions.search.compiled`); its ``stats`` are the
    count's (a resumed count passes the saved ones, with ``lp_solves_before`` set).
    """

    def __init__(self, search, queue):
        self.search = search
        self.queue = queue
        self.stats = search.stats
        self.current = None  # the subproblem being searched
        self.partial = 0  # its regions so far (not committed)

    @property
    def done(self) -> bool:
        return not self.queue and self.current is None

    def step(self, control):
        search = self.search
        self.current = sub = self.queue.pop()
        self.partial = 0
        search.deadline = control.deadline
        for found in search.counts(sub, control.room):  # stats.min_radius kept by the search
            self.partial += found
            yield found
        self.queue.extend(search.frontier)
        search.frontier = []
        self.current, self.partial = None, 0

    def open_work(self):
        return self.partial, self.queue + ([self.current] if self.current is not None else [])

    def refresh_stats(self):
        self.stats.lp_solves = self.search.lp_solves + self.stats.lp_solves_before
        self.stats.pending = len(self.queue) + (self.current is not None)
