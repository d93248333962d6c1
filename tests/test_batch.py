"""Many counts as one work of the counting driver (polyregions.batch): what is sent to workers, a
dying worker, progress figures. The counts themselves are tested in tests/local/test_counts.py."""

from __future__ import annotations

import math
import os
import pickle

import numpy as np
import pytest

import polyregions as pr
import polyregions.batch as batch
from polyregions.batch import BatchStats, BatchWork
from polyregions.driver import drive
from polyregions.local.studies import BallStudy


def _study(rng, n0=784, points=6):
    net = pr.Network.from_dense([rng.normal(size=(8, n0)) / np.sqrt(n0), rng.normal(size=(4, 8))],
                                [rng.normal(size=8), rng.normal(size=4)])
    return BallStudy([net], rng.uniform(0, 1, size=(points, n0)), np.array([1e-3]), math.inf, 1e-9, False)


def test_the_study_goes_to_each_worker_once_not_with_every_task(rng, monkeypatch):
    """The tasks sent to a local pool name the study by its key: a few hundred bytes, while the
    study (a 784-input network and its points) is tens of kilobytes."""
    study = _study(rng)
    sizes = []
    submit = batch.cf.ProcessPoolExecutor.submit

    def recording(self, fn, *args):
        sizes.append(len(pickle.dumps(args)))
        return submit(self, fn, *args)

    monkeypatch.setattr(batch.cf.ProcessPoolExecutor, "submit", recording)
    work = BatchWork(study, range(study.size), workers=2)
    drive(work)
    assert len(work.results) == study.size and all(r.complete for r in work.results.values())
    assert len(pickle.dumps(study)) > 50_000 and sizes and max(sizes) < 1_000


def test_counts_go_out_in_chunks_once_their_time_is_known(rng, monkeypatch):
    study = _study(rng, n0=3, points=200)
    chunks = []
    submit = batch.cf.ProcessPoolExecutor.submit

    def recording(self, fn, *args):
        if fn is batch.run_chunk:
            chunks.append(len(args[1]))
        return submit(self, fn, *args)

    monkeypatch.setattr(batch.cf.ProcessPoolExecutor, "submit", recording)
    work = BatchWork(study, range(study.size), workers=2)
    drive(work)
    assert sum(chunks) == 200 and max(chunks) > 1 and len(work.results) == 200


def _die(*args):
    os._exit(3)


def test_a_dying_worker_keeps_the_finished_counts_and_says_how_to_go_on(rng, tmp_path, monkeypatch):
    points = rng.uniform(-1, 1, size=(4, 3))
    net = pr.Network.from_dense([rng.normal(size=(6, 3))], [rng.normal(size=6)])
    path = tmp_path / "study.npz"
    monkeypatch.setattr(batch, "run_chunk", _die)
    with pytest.raises(pr.PolyRegionsError, match="run the same study again") as info:
        pr.local_counts(net, points, [0.5], workers=2, checkpoint=path, progress=False)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    table = pr.local_counts(net, points, [0.5], workers=2, checkpoint=path, progress=False)
    assert table["count"].tolist() == [pr.count_regions(net, pr.Ball(x, 0.5, p=math.inf)).count for x in points]


def test_progress_figures():
    stats = BatchStats(total=100, done=30, resumed=10, seconds=4.0)
    assert stats.rate == 5.0 and stats.remaining_seconds == 14.0
    assert BatchStats(total=3).remaining_seconds == math.inf


def _blas_threads():
    from threadpoolctl import threadpool_info

    return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})


def test_a_count_of_a_study_runs_on_one_blas_thread_and_restores_the_callers(rng, monkeypatch):
    """As in count_regions (tests/search/test_blas.py): count_task on its own (a worker's task)
    and local_counts as a whole hold BLAS to one thread and give the caller's setting back."""
    from threadpoolctl import threadpool_limits

    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl controls")
    study = _study(rng, n0=4, points=2)  # 4 inputs: the search, run by the driver in count_task
    batch.count_task(study, 0, None)  # the libraries a count loads are loaded
    seen = []
    search_drive = batch.drive

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return search_drive(*args, **kwargs)

    monkeypatch.setattr(batch, "drive", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != [2]:
            pytest.skip("this BLAS does not take a thread count")
        batch.count_task(study, 1, None)
        pr.local_counts(study.nets[0], study.points, [1e-3], progress=False)
        assert _blas_threads() == [2]
    assert seen == [[1]] * 3
