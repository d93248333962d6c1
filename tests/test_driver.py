"""The one counting loop (polyregions.driver): its stop conditions, progress, checkpoints and statistics.

A toy work counts known units (every number asserted is fixed by the toy's construction), on a
clock that advances a fixed step at every reading, so that time limits and checkpoint
intervals are numbers of readings, the same on every machine. The last tests check that every
counting method of ``count_regions`` reports progress and stops at a time limit through it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import polyregions as pr
import polyregions.driver as driver
from polyregions.driver import ResumableFailure, drive
from polyregions.result import Stats


class StepClock:
    def __init__(self, step=1e-3):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


class Toy:
    """`units` items, each a step of `per_step` units (one yield per unit), each unit one clock
    reading; open work: the items not finished, the current one with its units uncommitted."""

    def __init__(self, items, per_step=3, fail_at=None, interrupt_at=None):
        self.items = list(range(items))
        self.per_step = per_step
        self.stats = Stats()
        self.current = None
        self.partial = 0
        self.fail_at, self.interrupt_at = fail_at, interrupt_at
        self.closed = 0
        self.yielded = 0
        self.deadlines = []

    @property
    def done(self):
        return not self.items and self.current is None

    def step(self, control):
        self.deadlines.append(control.deadline)
        self.current, self.partial = self.items.pop(), 0
        for _ in range(self.per_step):
            time.perf_counter()
            self.yielded += 1
            if self.yielded == self.fail_at:
                raise ResumableFailure("a worker process died (toy)")
            if self.yielded == self.interrupt_at:
                raise KeyboardInterrupt
            self.partial += 1
            yield 1
        self.current, self.partial = None, 0

    def open_work(self):
        return self.partial, self.items + ([self.current] if self.current is not None else [])

    def refresh_stats(self):
        self.stats.pending = len(self.open_work()[1])

    def close(self):
        self.closed += 1


class Saver:
    enabled = True
    path = "toy.ckpt"

    def __init__(self):
        self.saves = []

    def save(self, count, items, stats):
        self.saves.append((count, list(items)))


@pytest.fixture
def clock(monkeypatch):
    c = StepClock()
    monkeypatch.setattr(time, "perf_counter", c)
    return c


def test_runs_to_the_end(clock):
    work, saver = Toy(5), Saver()
    res = drive(work, saver=saver, save_every=1e9)
    assert res.complete and res.stopped is None and res.count == 15
    assert saver.saves == [(15, [])]  # the finished count is saved, with nothing open
    assert work.closed == 1 and res.stats.seconds > 0


def test_a_resumed_count_adds_to_the_saved_one(clock):
    work = Toy(2)
    work.stats.seconds = 100.0
    res = drive(work, count=40)
    assert res.count == 46 and res.stats.seconds > 100.0


@pytest.mark.parametrize("limit", [1, 4, 15])
def test_max_units_stops_exactly_there_without_a_checkpoint(clock, limit):
    work, saver = Toy(5), Saver()
    res = drive(work, max_units=limit, saver=saver, save_every=1e9)
    assert res.count == limit and res.stopped == "max_regions" and not res.complete
    assert saver.saves == [] and work.closed == 1


def test_max_units_zero_runs_nothing(clock):
    work = Toy(5)
    res = drive(work, max_units=0)
    assert res.count == 0 and res.stopped == "max_regions" and work.yielded == 0 and work.closed == 1


def test_time_limit_keeps_the_open_work(clock):
    """Every unit reads the clock once (1 ms): a 7.5 ms limit lets the steps run past it, the step
    in progress finishes (this toy ignores deadlines), and the open items are saved."""
    work, saver = Toy(10), Saver()
    res = drive(work, time_limit=7.5e-3, saver=saver, save_every=1e9)
    assert res.stopped == "time_limit" and not res.complete
    assert res.count % 3 == 0 and 0 < res.count < 30
    assert saver.saves[-1] == (res.count, list(range(10 - res.count // 3)))
    assert res.stats.pending == 10 - res.count // 3
    assert work.deadlines[0] == pytest.approx(clock.step + 7.5e-3)


def test_checkpoints_at_their_cadence_with_only_committed_units(clock):
    work, saver = Toy(6), Saver()
    drive(work, saver=saver, save_every=5e-3)
    # the deadline handed to each step is the next checkpoint; every save holds whole items only
    assert all(count % 3 == 0 for count, _ in saver.saves)
    assert len(saver.saves) >= 3 and saver.saves[-1] == (18, [])
    assert all(count + 3 * len(items) == 18 for count, items in saver.saves)


def test_ctrl_c_saves_the_committed_count_and_the_item_in_progress(clock):
    work, saver = Toy(4, interrupt_at=8), Saver()
    with pytest.raises(KeyboardInterrupt):
        drive(work, saver=saver, save_every=1e9)
    # 7 units yielded: items 3 and 2 finished (6), item 1 in progress (1 uncommitted)
    assert saver.saves == [(6, [0, 1])] and work.closed == 1


def test_a_resumable_failure_is_saved_and_says_how_to_resume(clock):
    work, saver = Toy(4, fail_at=5), Saver()
    with pytest.raises(pr.PolyRegionsError, match=r"a worker process died \(toy\); .*resume='toy.ckpt'"):
        drive(work, saver=saver, save_every=1e9)
    assert saver.saves == [(3, [0, 1, 2])]
    with pytest.raises(pr.PolyRegionsError, match="no checkpoint was kept"):
        drive(Toy(4, fail_at=5))


def test_progress_at_most_every_period(clock, monkeypatch):
    calls = []
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 4e-3)
    drive(Toy(10), progress=lambda c, s: calls.append((clock.now, c, s.pending)))
    times = [t for t, _, _ in calls]
    assert len(calls) >= 3 and all(b - a >= 4e-3 - 1e-12 for a, b in zip(times, times[1:]))
    assert [c for _, c, _ in calls] == sorted(c for _, c, _ in calls)
    assert all(pending >= 1 for _, _, pending in calls)  # the item in progress is open


def test_the_work_s_own_reason_marks_the_count_incomplete(clock):
    work = Toy(2)
    work.stopped = "degenerate"
    res = drive(work)
    assert res.count == 6 and not res.complete and res.stopped == "degenerate"


def test_drain_collects_the_units_in_flight_at_a_time_limit(clock):
    work = Toy(10)
    work.drain = lambda: iter([5, 7])
    res = drive(work, time_limit=2e-3)
    assert res.stopped == "time_limit" and res.count == 3 + 12


# ---------------------------------------------------------------------- every method goes through it

NET = pr.Network.from_dense([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])],
                            [np.array([0.0, 0.1, -0.3, 0.2])])
BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])
METHODS = [dict(method="dfs"), dict(method="planar"), dict(method="milp"), dict(method="dfs", certify=True),
           dict(method="dfs", certify=True, workers=2),
           dict(method="dfs", workers=2)]


@pytest.mark.parametrize("kw", METHODS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_every_method_reports_progress_through_the_driver(kw, monkeypatch):
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    calls = []
    res = pr.count_regions(NET, BOX, progress=lambda c, s: calls.append(c), **kw)
    assert res.complete and calls and calls[-1] <= res.count
    assert calls == sorted(calls)


@pytest.mark.parametrize("kw", METHODS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_every_method_stops_at_a_time_limit_through_the_driver(kw):
    res = pr.count_regions(NET, BOX, time_limit=1e-9, **kw)
    assert res.stopped == "time_limit" and not res.complete
