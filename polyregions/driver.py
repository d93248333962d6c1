"""The one counting loop: stop conditions, progress, checkpoint cadence and the result's statistics.

Every counting method (the sequential search, the parallel search, the planar algorithm, the
MILP, the certified search) is a :class:`Work`: it knows how to advance by one step and what
is left open. :func:`drive` runs any work to its end or to a limit, and owns everything a
count does besides its steps:

* **stop conditions**: ``max_units`` (the count stops there: ``stopped="max_regions"``),
  ``time_limit`` (``stopped="time_limit"``, the open work kept for a checkpoint), Ctrl-C
  (a checkpoint is saved, then :class:`KeyboardInterrupt` propagates), a failure the work
  declares resumable (:class:`ResumableFailure`: a checkpoint is saved, and the error says
  how to resume), and a reason of the work's own (``work.stopped``, e.g. "degenerate");
* **progress**: ``progress(count, stats)`` at most every :data:`PROGRESS_EVERY` seconds;
* **checkpoints**: every ``save_every`` seconds, when a time limit stops the count, and on
  Ctrl-C, through a ``saver`` (:class:`polyregions.search.checkpoint.Checkpointer`);
* **statistics**: ``stats.seconds`` (wall time, added to what a resumed count had, less the time
  spent compiling or loading compiled kernels meanwhile: :func:`polyregions.solvers.jit.compile_seconds`), and the
  work's own counters brought up to date (:meth:`Work.refresh_stats`) before every report,
  every checkpoint and the result.

The work interface
------------------
A work is any object with these members (a :class:`typing.Protocol`, :class:`Work`):

``stats``
    Its :class:`~polyregions.result.Stats` (or a subclass), updated by the work itself
    (nodes, solver calls, smallest radius, near-eps decisions).
``step(control) -> iterator of int``
    Advance by one step: yield the number of units newly counted (any number of times,
    0 allowed: a chance to report progress), and return when the step is over or when
    ``control.deadline`` (a :func:`time.perf_counter` value, or None) has passed, leaving
    the rest open. ``control.room`` is how many units the count may still take (None: no
    limit); a step may stop early when it is reached (the driver stops the count there).
    Between two steps the work is at a clean point.
``done``
    True when nothing is left open (the count is complete unless the work says otherwise).
``open_work() -> (uncommitted, items)``
    For a checkpoint, at any moment (also from inside a step, on Ctrl-C): ``items``, what a
    resumed count needs to finish (opaque to the driver: the search's open subproblems),
    and ``uncommitted``, the units counted so far whose work is also in ``items`` (they are
    left out of the saved count, so that nothing is counted twice on resume).
``refresh_stats()``
    Bring ``stats`` up to date (solver calls, pending work).
``drain() -> iterator of int``, optional
    When a time limit stops the count: finish what is in flight (tasks already handed to
    workers) and yield their units; its open work is then in ``open_work()``.
``close()``, optional
    Release resources (process pools); called once, at the end, whatever happened.
``stopped``, optional
    A reason of the work's own to call the count incomplete (None: none).

Building on it
--------------
:func:`drive` keeps no global state and holds nothing between calls, so it runs inside a
worker process as well as in the caller's. A many-count driver (local complexity: one
count around each of thousands of data points, each with its own time limit, spread over
processes or Dask, finished counts checkpointed) is a :class:`Work` whose units are whole
counts: each of its steps hands counts to workers (each worker calls ``count_regions(...,
time_limit=per_count)``, which runs :func:`drive` on that count) and yields the number of
counts that came back; ``open_work()`` returns the finished results and the points not yet
counted, which its saver writes; ``drain()`` collects the counts in flight when the overall
time limit strikes. The stop conditions, progress reports and checkpoint cadence are then
this module's, unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Protocol

from .errors import PolyRegionsError
from .result import RegionCount, Stats
from .solvers.jit import compile_seconds

__all__ = ["Control", "PROGRESS_EVERY", "ResumableFailure", "Work", "drive"]

#: Seconds between two calls of a count's ``progress`` callback, for every method.
PROGRESS_EVERY = 0.5


@dataclass
class Control:
    """What the driver tells a running step.

    ``deadline``: the :func:`time.perf_counter` value at which the step must hand control back
    (the time limit or the next checkpoint, whichever comes first; None: none); ``room``: how
    many units the count may still take (None: no limit).
    """

    deadline: float | None = None
    room: int | None = None


class ResumableFailure(PolyRegionsError):
    """Raised by a step that cannot go on (a worker process died) while its open work is intact:
    the driver saves a checkpoint and re-raises the error with how to resume."""


class Work(Protocol):
    """What :func:`drive` needs of a counting method (the module docstring details each member)."""

    stats: Stats

    def step(self, control: Control) -> Iterator[int]: ...

    @property
    def done(self) -> bool: ...

    def open_work(self) -> tuple: ...

    def refresh_stats(self) -> None: ...


def _nothing():
    return iter(())


def _close(work):
    close = getattr(work, "close", None)
    if close is not None:
        close()


def drive(work, *, count: int = 0, max_units: int | None = None, time_limit: float | None = None, progress=None,
          saver=None, save_every: float | None = None, start: float | None = None) -> RegionCount:
    """Run `work` to its end or to a limit, and return the count.

    Parameters
    ----------
    work : Work
    count : int
        Units already counted (a resumed count's saved total).
    max_units : int, optional
        Stop when the count reaches this (the result holds exactly ``max_units``; no checkpoint
        is written: a step stopped there may have left its subtree unfinished).
    time_limit : float, optional
        Seconds from `start`; then the open work is kept (and saved) and the result is
        incomplete.
    progress : callable, optional
        ``progress(count, stats)``, at most every :data:`PROGRESS_EVERY` seconds.
    saver : optional
        ``saver.save(count, items, stats)`` writes a checkpoint (``saver.enabled`` and
        ``saver.path`` say whether and where); None: no checkpoint.
    save_every : float, optional
        Seconds between two checkpoints (with `saver`).
    start : float, optional
        The :func:`time.perf_counter` value the count started at (default: now).

    Returns
    -------
    RegionCount
        ``complete`` when the work finished with no reason of its own to doubt it; ``stopped``
        says why not ("max_regions", "time_limit" or the work's reason).
    """
    stats = work.stats
    t0 = time.perf_counter() if start is None else start
    base_seconds = stats.seconds
    compiling0 = compile_seconds()  # the kernels' one-time compilation is not the count's time
    end = None if time_limit is None else t0 + time_limit
    saving = saver is not None and saver.enabled
    next_save = t0 + save_every if saving and save_every is not None else None
    next_report = t0 + PROGRESS_EVERY
    control = Control()
    stopped = None

    def snapshot():
        work.refresh_stats()
        stats.seconds = base_seconds + time.perf_counter() - t0 - (compile_seconds() - compiling0)

    def save():
        if saving:
            uncommitted, items = work.open_work()
            saver.save(count - uncommitted, items, stats)

    if max_units == 0:
        snapshot()
        _close(work)
        return RegionCount(0, stats, complete=False, stopped="max_regions")
    try:
        while not work.done:
            control.deadline = min((t for t in (end, next_save) if t is not None), default=None)
            control.room = None if max_units is None else max_units - count
            for units in work.step(control):
                count += units
                if max_units is not None and count >= max_units:
                    stopped = "max_regions"
                    break
                if progress is not None:
                    now = time.perf_counter()
                    if now >= next_report:
                        snapshot()
                        progress(count, stats)
                        next_report = now + PROGRESS_EVERY
            if stopped is not None:
                break
            now = time.perf_counter()
            if end is not None and now >= end and not work.done:
                stopped = "time_limit"
                for units in getattr(work, "drain", _nothing)():
                    count += units
                break
            if next_save is not None and now >= next_save:
                snapshot()
                save()
                next_save = now + save_every
        if stopped is None:
            stopped = getattr(work, "stopped", None)
    except KeyboardInterrupt:
        snapshot()
        save()
        raise
    except ResumableFailure as exc:
        snapshot()
        save()
        if saving:
            how = (f"the count so far ({count - work.open_work()[0]:,} regions) and its open work are saved in "
                   f"{saver.path!r}: resume with resume={saver.path!r} (the CLI's --resume {saver.path})")
        else:
            how = "no checkpoint was kept, so the count must start again (pass checkpoint=... to keep one)"
        raise PolyRegionsError(f"{exc}; {how}") from None
    finally:
        _close(work)
    snapshot()
    if stopped == "max_regions":
        return RegionCount(max_units, stats, complete=False, stopped=stopped)
    save()
    return RegionCount(count, stats, complete=stopped is None, stopped=stopped)
