"""Parallel search: the tree is split into subproblems, searched by local processes or by Dask.

The master keeps a queue of open :class:`~polyregions.search.engine.Subproblem`. Each task
searches one subproblem for at most a time budget; when the budget runs out, the worker
hands back every child it has not entered (dynamic re-splitting), so large subtrees are
shared out while they are searched. Every node is decided once, by one worker, from the
rows and witness it carries: the count does not depend on the number of workers. A
subproblem's regions are added when its task returns, so checkpoints (the queue plus
the subproblems in flight, and the count of returned tasks) never lose or double work.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time

from .blas import one_blas_thread
from .checkpoint import fingerprint
from ..errors import PolyRegionsError
from ..result import RegionCount, Stats
from .compiled import make_search

#: Seconds between two calls of a count's ``progress`` callback (both drivers).
PROGRESS_EVERY = 0.5
#: Seconds a task searches before handing back its open children.
TASK_BUDGET = 0.5
#: Budget while the queue is shorter than the number of workers (spread work quickly).
SPREAD_BUDGET = 0.02

#: Seconds the master searches by itself before starting workers.
LOCAL_START = 0.3

_WORKER_SEARCH = {}


def end_time(t0, time_limit):
    return None if time_limit is None else t0 + time_limit


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
    solves0 = search.lp.lp_solves
    search.frontier = []
    search.deadline = time.perf_counter() + budget
    count = 0
    t0 = time.perf_counter()
    for found in search.counts(sub, limit):
        count += found
        if limit is not None and count >= limit:
            break
    stats = search.stats
    stats.lp_solves = search.lp.lp_solves - solves0
    stats.seconds = time.perf_counter() - t0
    frontier, search.frontier = search.frontier, []
    return count, stats, frontier


def _merge(total: Stats, part: Stats):
    total.lp_solves += part.lp_solves
    total.nodes += part.nodes
    total.near_eps += part.near_eps
    total.recentre_failures += part.recentre_failures
    total.min_radius = min(total.min_radius, part.min_radius)
    total.min_kept_depth = min(total.min_kept_depth, part.min_kept_depth)


def _executor(workers, client, payload, key):
    if client is not None:
        return client.get_executor(pure=False), client.scatter(payload, broadcast=True)
    # fork where the platform has it: no main-module guard needed in scripts and notebooks;
    # the workers build their own solver models after the fork
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_pool, initargs=(payload, key)), None


def drive_parallel(search, queue, count, *, t0, workers, client, max_regions, time_limit, progress, ckpt,
                   checkpoint_every):
    """Count the subproblems of `queue` with `workers` processes (or the Dask `client`)."""
    stats = search.stats
    base_seconds = stats.seconds
    local_solves = search.lp.lp_solves  # the root test, done here
    payload = (search.net, search.domain, search.eps, search.lp.name, search.prune)
    key = fingerprint(search.net, search.domain, search.eps, search.lp.name, search.prune)
    # search here first: small counts finish before a pool would have started
    local_end = t0 + LOCAL_START if end_time(t0, time_limit) is None else min(t0 + LOCAL_START, end_time(t0, time_limit))
    reached = False  # max_regions reached: the count stops there, and no checkpoint is written
    while queue and time.perf_counter() < local_end and not reached:
        sub = queue.pop()
        search.frontier = []
        search.deadline = local_end
        for found in search.counts(sub, None if max_regions is None else max_regions - count):
            count += found
            if max_regions is not None and count >= max_regions:
                reached = True
                break
        queue.extend(search.frontier)
        search.frontier = []
    search.deadline = None
    local_solves = search.lp.lp_solves
    if not queue or reached:
        stats.seconds = base_seconds + time.perf_counter() - t0
        stats.lp_solves = stats.lp_solves_before + local_solves
        stats.pending = len(queue)
        if not reached:
            ckpt.save(count, queue, stats)
        return RegionCount(count, stats, complete=not reached, stopped="max_regions" if reached else None)
    if client is not None:
        workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
    executor, remote = _executor(workers, client, payload, key)
    task_payload = remote if remote is not None else payload
    in_flight = {}
    end = t0 + time_limit if time_limit is not None else None
    next_save = t0 + checkpoint_every if ckpt.enabled else None
    next_report = t0 + PROGRESS_EVERY
    stopped = None

    def snapshot():
        stats.seconds = base_seconds + time.perf_counter() - t0
        stats.lp_solves = stats.lp_solves_before + local_solves + worker_solves[0]
        stats.pending = len(queue) + len(in_flight)

    worker_solves = [0]
    try:
        while queue or in_flight:
            while queue and stopped is None and len(in_flight) < 2 * workers:
                sub = queue.pop(0)  # the oldest: shallowest, largest subtrees go out first
                budget = SPREAD_BUDGET if len(queue) < workers else TASK_BUDGET
                if end is not None:
                    budget = max(0.0, min(budget, end - time.perf_counter()))
                limit = None if max_regions is None else max_regions - count
                try:
                    fut = executor.submit(run_task, task_payload, key, sub, budget, limit)
                except cf.process.BrokenProcessPool:
                    queue.insert(0, sub)
                    raise
                in_flight[fut] = sub
            if not in_flight:
                break
            done, _ = cf.wait(list(in_flight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                n, part, frontier = fut.result()  # a dead worker raises BrokenProcessPool here
                in_flight.pop(fut)
                count += n
                worker_solves[0] += part.lp_solves
                part.lp_solves = 0
                _merge(stats, part)
                queue.extend(frontier)
            now = time.perf_counter()
            if stopped is None and max_regions is not None and count >= max_regions:
                stopped = "max_regions"
            if stopped is None and end is not None and now >= end and (queue or in_flight):
                stopped = "time_limit"
            if progress is not None and now >= next_report:
                snapshot()
                progress(count, stats)
                next_report = now + PROGRESS_EVERY
            if next_save is not None and now >= next_save:
                snapshot()
                ckpt.save(count, queue + list(in_flight.values()), stats)
                next_save = now + checkpoint_every
            if stopped is not None and not in_flight:
                break
    except KeyboardInterrupt:
        snapshot()
        ckpt.save(count, queue + list(in_flight.values()), stats)
        for fut in in_flight:
            fut.cancel()
        raise
    except cf.process.BrokenProcessPool as exc:
        raise _worker_died(exc, ckpt, count, queue + list(in_flight.values()), stats, snapshot) from None
    finally:
        if client is None:
            executor.shutdown(wait=True, cancel_futures=True)
    snapshot()
    if stopped == "max_regions":  # tasks stopped at their limit left subtrees unfinished: no checkpoint
        return RegionCount(min(count, max_regions), stats, complete=False, stopped=stopped)
    ckpt.save(count, queue, stats)
    return RegionCount(count, stats, complete=stopped is None and not queue, stopped=stopped)


def _worker_died(exc, ckpt, count, open_subproblems, stats, snapshot):
    """The error raised when a worker process dies: the checkpoint (when one is kept) is saved
    first, with the regions of the tasks that returned and every open subproblem."""
    snapshot()
    if ckpt.enabled:
        ckpt.save(count, open_subproblems, stats)
        how = (f"the count so far ({count:,} regions) and its open subproblems are saved in {ckpt.path!r}: "
               f"resume with resume={ckpt.path!r} (the CLI's --resume {ckpt.path})")
    else:
        how = "no checkpoint was kept, so the count must start again (pass checkpoint=... to keep one)"
    return PolyRegionsError(f"a worker process died ({exc}); {how}")
