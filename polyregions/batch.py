"""Many independent counts as one work for the counting driver: a queue of counts, each with its
own time limit, in this process, over local processes or on a Dask cluster.

A *study* (:class:`Study`: local complexity around data points, regions along segments) is a
numbered list of counts; count ``k`` is ``study.problem(k) = (network, domain)``. :class:`BatchWork`
is the study as a :class:`~polyregions.driver.Work` whose units are whole counts, so that
:func:`polyregions.driver.drive` gives it its stop conditions (Ctrl-C), progress reports and
checkpoint cadence; its ``open_work()`` holds the finished counts (:class:`CountRecord`), which
a study checkpoint saves.

Each count runs :func:`count_task`: the method ``count_regions`` would choose. A cell algorithm
(planar, 3-D) runs through ``count_regions`` itself; the search runs on the domain's search
problem, driven by :func:`~polyregions.driver.drive` with the count's own time limit. A count stopped at its
limit keeps what it counted, a lower bound, marked incomplete with ``stopped="time_limit"``.

* **In this process** (one worker, no client) the counts run one after another, each to its end
  or its time limit.
* **Over processes or Dask**, the study (its networks and points) goes to every worker once, in
  the pool's initialiser or as one broadcast Dask object; a task names the counts it runs by their
  numbers. Counts go out in chunks sized to about :data:`CHUNK_SECONDS` (the mean time of the
  counts finished so far), so that short counts do not pay a round trip each. A search count
  still open after :data:`SPLIT_AFTER` seconds hands back its open subtrees
  (:class:`~polyregions.search.engine.Subproblem`), which are then searched as separate tasks
  (:func:`polyregions.search.parallel.run_task`, each splitting again when its budget runs out),
  so a large count is shared by every worker instead of holding one. Its regions are added as
  its subtree tasks return; it is finished when none is left, and its time limit applies to
  the seconds of all its tasks together.

The count does not depend on where or in how many pieces it ran: every node of a search is
decided once, from the rows and witness its subproblem carries.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from .api import choose_method, count_regions
from .driver import ResumableFailure, drive
from .result import Stats
from .search.blas import one_blas_thread
from .search.engine import RegionSearch
from .search.parallel import close_pool, open_pool, run_task
from .search.steps import SearchWork

__all__ = ["BatchStats", "BatchWork", "CHUNK_SECONDS", "CountRecord", "MAX_CHUNK", "SPLIT_AFTER", "Study",
           "SUBTREE_BUDGET", "WAIT", "count_task", "run_chunk", "run_subtree"]

#: Seconds a count runs in one task before its open subtrees are shared out among the workers.
SPLIT_AFTER = 1.0
#: Seconds of counting a task of fresh counts aims at (from the mean time of the counts so far).
CHUNK_SECONDS = 0.25
#: The most counts in one task.
MAX_CHUNK = 256
#: Seconds a subtree task of a split count searches before handing back its open children.
SUBTREE_BUDGET = 0.5
#: Seconds the master waits for a task to return before handing control back to the driver.
WAIT = 0.25


class Study(Protocol):
    """What :class:`BatchWork` needs of a study: ``key`` (a string naming the study: networks,
    points, domains, eps), ``size`` (the number of counts), ``eps``, ``problem(k)`` (the network
    and domain of count ``k``) and ``measure(k, net, domain, result)`` (the study's own columns
    for count ``k``: a dict of numbers, computed where the count ran)."""

    key: str
    size: int
    eps: float

    def problem(self, k: int) -> tuple: ...

    def measure(self, k: int, net, domain, result) -> dict: ...


@dataclass
class CountRecord:
    """One finished count of a study.

    ``count``: the regions counted (exact when ``complete``, else a lower bound, and ``stopped``
    says why: "time_limit" or the method's own reason); ``seconds``: the seconds of every task
    of the count, summed; ``stats``: its statistics (smallest radius, near-eps decisions, solver
    runs, nodes); ``extra``: the study's own columns; ``limit``: the time limit it ran under
    (None: none).
    """

    task: int
    count: int
    complete: bool
    stopped: str | None
    seconds: float
    stats: Stats
    extra: dict = field(default_factory=dict)
    limit: float | None = None


@dataclass
class BatchStats:
    """Progress of a study: ``total`` counts, ``done`` (finished, including those of an earlier run
    read from a checkpoint), ``resumed`` (those), ``running`` (counts started and not finished),
    ``split`` (counts shared out as subtrees), ``incomplete`` (finished counts stopped at their
    limit), ``seconds`` (wall time of this run)."""

    total: int = 0
    done: int = 0
    resumed: int = 0
    running: int = 0
    split: int = 0
    incomplete: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Counts finished per second in this run."""
        return (self.done - self.resumed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def remaining_seconds(self) -> float:
        """The time left at this run's rate (inf before the first count)."""
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else float("inf")


def _searched(net, domain, eps):
    """The search of `net` in `domain` as ``count_regions`` runs it (its search problem: the domain
    itself, or a slice's composed network), with its root subproblem, and the moment the count
    started (the root's test included, as in ``count_regions``)."""
    net_s, domain_s = domain.search_problem(net)
    search = RegionSearch(net_s, domain_s, eps, "auto", True)
    search.stats.near_eps += domain.rounding_decisions(net)
    start = time.perf_counter()
    root = search.root()
    return search, [root] if root is not None else [], start


def _uses_cells(net, domain) -> bool:
    """Whether ``count_regions`` counts `net` in `domain` with a cell algorithm (the planar or the 3-D
    one: one process, not resumable) rather than the search."""
    return choose_method("auto", domain, needs_search=not net.is_relu, net=net) != "dfs"


@one_blas_thread()
def count_task(study, k: int, time_limit: float | None, split_after: float | None = None):
    """Count ``k`` of `study` in this process: ``(record, open subproblems)``.

    The count runs to its end or to `time_limit` (then its record is incomplete, a lower bound,
    with ``stopped="time_limit"``), and the open subproblems are empty. With `split_after`
    (below `time_limit`), a search count still open after that many seconds stops there and
    returns its open subproblems, to be searched by other tasks; its record is then the part
    counted so far (``complete`` False, ``stopped`` None). The cell algorithms (planar, 3-D) are
    not resumable: they run to their end or to `time_limit`. BLAS runs on one thread meanwhile,
    as in ``count_regions`` (:mod:`polyregions.search.blas`).
    """
    net, domain = study.problem(k)
    left = []
    if _uses_cells(net, domain):
        res = count_regions(net, domain, eps=study.eps, time_limit=time_limit)
    else:
        splitting = split_after is not None and (time_limit is None or split_after < time_limit)
        search, queue, start = _searched(net, domain, study.eps)
        work = SearchWork(search, queue)
        res = drive(work, time_limit=split_after if splitting else time_limit, start=start)
        if splitting and res.stopped == "time_limit":
            left = work.open_work()[1]
    record = CountRecord(k, res.count, res.complete, None if left else res.stopped, res.stats.seconds, res.stats,
                         study.measure(k, net, domain, res), time_limit)
    return record, left


# ---------------------------------------------------------------------------------------------
# worker side: the study arrives once per worker

_WORKER_STUDY = {}


def _install(study):
    _WORKER_STUDY.clear()
    _WORKER_STUDY[study.key] = study


def _study(ref):
    """The worker's study: `ref` is its key (a local pool, installed by the initialiser) or the
    study itself (Dask resolves the broadcast object), kept for the next tasks."""
    if isinstance(ref, str):
        return _WORKER_STUDY[ref]
    if ref.key not in _WORKER_STUDY:
        _install(ref)
    return _WORKER_STUDY[ref.key]


def run_chunk(ref, tasks, time_limit, split_after):
    """A task of fresh counts: :func:`count_task` for each of `tasks`; the list of its results."""
    study = _study(ref)
    return [count_task(study, k, time_limit, split_after) for k in tasks]


def run_subtree(ref, k, sub, budget):
    """A task of a split count: search the subproblem `sub` of count ``k`` for `budget` seconds
    (:func:`polyregions.search.parallel.run_task`); ``(regions, stats, open subproblems)``."""
    study = _study(ref)
    net, domain = study.problem(k)
    net_s, domain_s = domain.search_problem(net)
    return run_task((net_s, domain_s, study.eps, "auto", True), (study.key, k), sub, budget)


def _executor(workers, client, study):
    """The executor and the reference to `study` its tasks carry: Dask's broadcast copy, or the key
    of the copy each local process installed (:func:`~polyregions.search.parallel.open_pool`)."""
    executor, remote = open_pool(workers, client, study, _install, (study,))
    return executor, remote if remote is not None else study.key


# ---------------------------------------------------------------------------------------------
# the master

@dataclass
class _Split:
    """A count shared out as subtrees: its record so far, its subtrees waiting and in flight."""

    record: CountRecord
    waiting: int = 0
    in_flight: int = 0


class BatchWork:
    """The counts `todo` (numbers of counts of `study`) as work for the driver.

    ``results`` holds the finished :class:`CountRecord` (with those of `finished`, read from a
    checkpoint); each step yields 1 per count that finishes.
    """

    def __init__(self, study, todo, *, time_limit_per_count=None, workers=1, client=None, finished=None):
        self.study = study
        self.todo = deque(todo)
        self.limit = time_limit_per_count
        self.workers, self.client = workers, client
        self.results = dict(finished or {})
        self.stats = BatchStats(total=study.size, done=len(self.results), resumed=len(self.results))
        self.stats.incomplete = sum(not r.complete for r in self.results.values())
        self.running = None  # the count running in this process
        self.splits = {}  # count -> _Split
        self.subtrees = deque()  # (count, subproblem) of split counts, waiting
        self.in_flight = {}  # future -> ("chunk", counts) or ("subtree", count)
        self.executor = self.ref = None
        self.mean_seconds = None

    @property
    def local(self) -> bool:
        return self.workers <= 1 and self.client is None

    @property
    def done(self) -> bool:
        return not self.todo and not self.splits and not self.in_flight and self.running is None

    def step(self, control):
        if self.local:
            yield from self._step_here(control)
        else:
            yield from self._step_pool(control)

    def _finish(self, record):
        self.results[record.task] = record
        self.stats.done += 1
        self.stats.incomplete += not record.complete
        return 1

    def _step_here(self, control):
        while self.todo:
            self.running = k = self.todo.popleft()
            record, _ = count_task(self.study, k, self.limit)
            self.running = None
            yield self._finish(record)
            if control.deadline is not None and time.perf_counter() >= control.deadline:
                return

    # ------------------------------------------------------------------ processes or Dask
    def _chunk(self):
        """The next counts to send: about CHUNK_SECONDS of them, leaving work for every worker."""
        size = 1
        if self.mean_seconds is not None:
            size = int(CHUNK_SECONDS / max(self.mean_seconds, 1e-6))
        size = max(1, min(size, MAX_CHUNK, len(self.todo) // (2 * self.workers)))
        return [self.todo.popleft() for _ in range(min(size, len(self.todo)))]

    def _submit(self):
        while len(self.in_flight) < 2 * self.workers:
            if self.subtrees:
                k, sub = self.subtrees.popleft()
                split = self.splits[k]
                split.waiting -= 1
                budget = SUBTREE_BUDGET
                if self.limit is not None:
                    budget = max(1e-3, min(budget, self.limit - split.record.seconds))
                fut = self.executor.submit(run_subtree, self.ref, k, sub, budget)
                split.in_flight += 1
                self.in_flight[fut] = ("subtree", k)
            elif self.todo:
                tasks = self._chunk()
                split_after = SPLIT_AFTER if self.limit is None else min(SPLIT_AFTER, self.limit)
                fut = self.executor.submit(run_chunk, self.ref, tasks, self.limit, split_after)
                self.in_flight[fut] = ("chunk", tasks)
            else:
                break
        self.stats.running = len(self.splits) + sum(len(w) for kind, w in self.in_flight.values() if kind == "chunk")

    def _step_pool(self, control):
        if self.executor is None:
            if self.client is not None:
                self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or self.workers)
            self.executor, self.ref = _executor(self.workers, self.client, self.study)
        try:
            self._submit()
            if not self.in_flight:
                return
            timeout = WAIT if control.deadline is None else max(0.0, min(WAIT, control.deadline - time.perf_counter()))
            finished, _ = cf.wait(list(self.in_flight), timeout=timeout, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                result = fut.result()  # a dead worker raises BrokenProcessPool here
                kind, what = self.in_flight.pop(fut)
                if kind == "chunk":
                    for record, left in result:
                        yield from self._fresh(record, left)
                else:
                    yield from self._subtree(what, *result)
        except cf.process.BrokenProcessPool as exc:
            raise ResumableFailure(f"a worker process died ({exc})") from None

    def _fresh(self, record, left):
        """A count back from its first task: finished, or split into its open subtrees."""
        if left:
            self.splits[record.task] = _Split(record, waiting=len(left))
            self.subtrees.extend((record.task, sub) for sub in left)
            self.stats.split += 1
            return
        if record.complete:
            m = record.seconds
            self.mean_seconds = m if self.mean_seconds is None else 0.8 * self.mean_seconds + 0.2 * m
        yield self._finish(record)

    def _subtree(self, k, regions, part, left):
        """A subtree task of the split count `k` is back: its regions count, its open children wait."""
        split = self.splits[k]
        split.in_flight -= 1
        record = split.record
        record.count += regions
        record.seconds += part.seconds
        record.stats.lp_solves += part.lp_solves
        record.stats.merge(part)
        if record.stopped is None and self.limit is not None and record.seconds >= self.limit:
            record.stopped = "time_limit"  # a lower bound: the subtrees still waiting are dropped
            self.subtrees = deque(s for s in self.subtrees if s[0] != k)
            split.waiting = 0
        elif record.stopped is None:
            self.subtrees.extend((k, sub) for sub in left)
            split.waiting += len(left)
        if split.in_flight == 0 and split.waiting == 0:
            del self.splits[k]
            record.complete = record.stopped is None
            record.stats.seconds = record.seconds
            record.stats.pending = 0
            yield self._finish(record)

    # ------------------------------------------------------------------ the driver's interface
    def open_work(self):
        return 0, list(self.results.values())

    def refresh_stats(self):
        if self.local:
            self.stats.running = int(self.running is not None)

    def close(self):
        if self.executor is not None:
            close_pool(self.executor, self.in_flight, self.client)
            self.executor = None
