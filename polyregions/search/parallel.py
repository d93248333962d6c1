"""Parallel search: the tree is split into subproblems, searched by local processes or by Dask.

:class:`ParallelWork` is the search as work for the counting driver (:mod:`polyregions.driver`)
on several processes. The master keeps a queue of open
:class:`~polyregions.search.engine.Subproblem`. It first searches by itself for
``LOCAL_START`` seconds (small counts finish before a pool would have started); then each
task searches one subproblem for at most a time budget, and when the budget runs out the
worker hands back every child it has not entered (dynamic re-splitting), so large subtrees
are shared out while they are searched. Every node is decided once, by one worker, from
the rows and witness it carries: the count does not depend on the number of workers. A
subproblem's regions are added when its task returns, so checkpoints (the queue plus the
subproblems in flight, and the count of returned tasks) never lose or double work. While the
search's compiled backend is not compiled, the tasks search on HiGHS; the compiled backend is
built once, in this process, when the count has run
:data:`~polyregions.search.compiled.COMPILE_AFTER` seconds, and the later tasks search on it.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time

from .blas import one_blas_thread
from .checkpoint import fingerprint
from ..driver import ResumableFailure
from ..result import Stats
from . import compiled
from .compiled import make_search
from .steps import SearchWork

__all__ = ["LOCAL_START", "ParallelWork", "SPREAD_BUDGET", "TASK_BUDGET", "WAIT", "close_pool", "open_pool",
           "run_task"]

#: Seconds a task searches before handing back its open children.
TASK_BUDGET = 0.5
#: Budget while the queue is shorter than the number of workers (spread work quickly).
SPREAD_BUDGET = 0.02
#: Seconds the master searches by itself before starting workers.
LOCAL_START = 0.3
#: Seconds the master waits for a task to return before handing control back to the driver.
WAIT = 0.5

_WORKER_SEARCH = {}


def _search_for(payload, key):
    search = _WORKER_SEARCH.get(key)
    if search is None:
        _WORKER_SEARCH.clear()
        search = _WORKER_SEARCH[key] = make_search(*payload)
    return search


def _init_pool(payload, key):
    _search_for(payload, key)


@one_blas_thread()
def run_task(payload, key, sub, budget, limit=None):
    """Search `sub` for `budget` seconds, or until `limit` regions are found; return
    ``(regions, stats, open subproblems)`` (a task stopped by `limit` leaves its subtree
    unfinished: its result only serves a count that stops at ``max_regions``)."""
    search = _search_for(payload, key)
    search.stats = Stats(eps=search.eps)
    solves0 = search.lp_solves
    search.frontier = []
    search.deadline = time.perf_counter() + budget
    count = 0
    t0 = time.perf_counter()
    for found in search.counts(sub, limit):
        count += found
        if limit is not None and count >= limit:
            break
    stats = search.stats
    stats.lp_solves = search.lp_solves - solves0
    stats.seconds = time.perf_counter() - t0
    frontier, search.frontier = search.frontier, []
    return count, stats, frontier


def open_pool(workers, client, shared, initializer, initargs):
    """``(executor, remote)``: where tasks go. With a Dask `client`, its executor, and `shared`
    broadcast to every worker once (`remote`, the future the tasks name instead of `shared`);
    else a pool of `workers` local processes, each running ``initializer(*initargs)`` once at its
    start (`remote` None: the tasks name what the initialiser installed)."""
    if client is not None:
        return client.get_executor(pure=False), client.scatter(shared, broadcast=True)
    # fork where the platform has it: no main-module guard needed in scripts and notebooks;
    # the workers build their own solver models after the fork
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer, initargs=initargs), None


def close_pool(executor, futures, client) -> None:
    """Cancel the `futures` not started and, for a local pool (no Dask `client`, whose workers
    stay), shut its processes down once the running tasks end."""
    for fut in futures:
        fut.cancel()
    if client is None:
        executor.shutdown(wait=True, cancel_futures=True)


class ParallelWork:
    """The search over `queue` with `workers` processes (or the Dask `client`'s workers).

    Its first steps search in this process (a :class:`~polyregions.search.steps.SearchWork` on
    the same queue) until ``LOCAL_START`` seconds have passed; each later step hands tasks to
    the pool and waits up to ``WAIT`` seconds for one to return. The units of a task count
    when it returns.
    """

    def __init__(self, search, queue, *, workers, client=None):
        self.search = search
        self.stats = search.stats
        self.queue = queue
        self.workers, self.client = workers, client
        self.local = SearchWork(search, queue)
        self.local_end = None
        self.in_flight = {}
        self.worker_solves = 0
        self.executor = None
        self.started = None
        self.payload = self.key = None  # what the tasks search with (_backend_for_tasks)

    @property
    def done(self) -> bool:
        return self.local.done and not self.in_flight

    def step(self, control):
        if self.local_end is None:
            self.started = time.perf_counter()
            self.local_end = self.started + LOCAL_START
        if self.executor is None and time.perf_counter() < self.local_end:
            # search here first: small counts finish before a pool would have started
            deadline = self.local_end if control.deadline is None else min(self.local_end, control.deadline)
            yield from self.local.step(type(control)(deadline, control.room))
            self.search.deadline = None
            return
        if self.executor is None:
            self._start()
        yield from self._collect(control, submit=True)

    def drain(self):
        """Wait for the tasks in flight (no new ones) and yield their regions."""
        while self.in_flight:
            yield from self._collect(None, submit=False)

    def _backend_for_tasks(self) -> bool:
        """Set the backend the next tasks search on (``payload``, ``key``): the one this process's
        search is on. While that is the starting backend (HiGHS: the compiled backend's kernels
        are not compiled), the compiled backend is built here, once, when the count has run
        :data:`~polyregions.search.compiled.COMPILE_AFTER` seconds, or at once for a cluster's
        workers; the workers then load it from the kernel cache (forked after it was built, they
        inherit it): no worker compiles. Returns whether the backend changed."""
        search = self.search
        if search.lp.name != search.target and (
                self.client is not None or time.perf_counter() - self.started >= compiled.COMPILE_AFTER):
            search.adopt_target()
        if self.payload is not None and self.payload[3] == search.lp.name:
            return False
        self.payload = (search.net, search.domain, search.eps, search.lp.name, search.prune)
        self.key = fingerprint(search.net, search.domain, search.eps, search.lp.name, search.prune)
        return True

    def _start(self):
        self._backend_for_tasks()
        if self.client is not None:
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or self.workers)
        self.executor, remote = open_pool(self.workers, self.client, self.payload, _init_pool,
                                          (self.payload, self.key))
        self.task_payload = remote if remote is not None else self.payload

    def _collect(self, control, *, submit):
        queue, in_flight = self.queue, self.in_flight
        if submit and self.client is None and self._backend_for_tasks():
            self.task_payload = self.payload
        try:
            while submit and queue and len(in_flight) < 2 * self.workers:
                sub = queue.pop(0)  # the oldest: shallowest, largest subtrees go out first
                budget = SPREAD_BUDGET if len(queue) < self.workers else TASK_BUDGET
                if control.deadline is not None:
                    budget = max(0.0, min(budget, control.deadline - time.perf_counter()))
                try:
                    fut = self.executor.submit(run_task, self.task_payload, self.key, sub, budget, control.room)
                except cf.process.BrokenProcessPool:
                    queue.insert(0, sub)
                    raise
                in_flight[fut] = sub
            if not in_flight:
                return
            done, _ = cf.wait(list(in_flight), timeout=WAIT, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                n, part, frontier = fut.result()  # a dead worker raises BrokenProcessPool here
                in_flight.pop(fut)
                self.worker_solves += part.lp_solves
                self.stats.merge(part)
                queue.extend(frontier)
                yield n
        except cf.process.BrokenProcessPool as exc:
            raise ResumableFailure(f"a worker process died ({exc})") from None

    def open_work(self):
        uncommitted, items = self.local.open_work()
        return uncommitted, items + list(self.in_flight.values())

    def refresh_stats(self):
        self.local.refresh_stats()
        self.stats.lp_solves += self.worker_solves
        self.stats.pending += len(self.in_flight)

    def close(self):
        if self.executor is not None:
            close_pool(self.executor, self.in_flight, self.client)
            self.executor = None
