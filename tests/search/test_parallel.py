"""Parallel search: the count does not depend on the number of workers (local processes, Dask)."""

import json
import math
import os

import numpy as np
import pytest

import polyregions as pr
import polyregions.search.parallel as parallel


#: Resume rounds a test allows before it fails.
MAX_ROUNDS = 200


def _generic_layer(rng, n0, n1):
    return pr.Network.from_dense([rng.normal(size=(n1, n0))], [rng.normal(size=n1)])


def _zaslavsky(n0, n1):
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


@pytest.fixture
def split_early(monkeypatch):
    """Start workers at once and split often, so that even small counts go through the pool."""
    monkeypatch.setattr(parallel, "LOCAL_START", 0.0)
    monkeypatch.setattr(parallel, "TASK_BUDGET", 0.01)
    monkeypatch.setattr(parallel, "SPREAD_BUDGET", 0.001)


def test_two_processes_whole_space(rng, split_early):
    net = _generic_layer(rng, 3, 14)
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2)
    assert res.complete and res.count == _zaslavsky(3, 14)
    assert res.stats.pending == 0 and res.stats.lp_solves > 0


def test_two_processes_deep_net_matches_sampling_and_one_process(rng, random_dense_net, split_early):
    """Every sampled pattern is found, and one and two processes find the same patterns' number."""
    net = random_dense_net(rng, 2, (6, 6, 4))
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    par = pr.count_regions(net, box, eps=1e-7, workers=2)
    seq = pr.count_regions(net, box, eps=1e-7, workers=1)
    x = np.random.default_rng(3).uniform(-1, 1, size=(100_000, 2))
    sampled = len({row.tobytes() for row in net.pattern(x)})
    assert par.count == seq.count >= sampled


def test_time_limit_then_resume_in_parallel(tmp_path, rng, split_early):
    net = _generic_layer(rng, 3, 24)
    path = tmp_path / "run.ckpt"
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2, time_limit=0.3, checkpoint=path)
    for _ in range(MAX_ROUNDS):  # every round finishes some subproblems
        if res.complete:
            break
        res = pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2, time_limit=0.5, checkpoint=path, resume=path)
    assert res.complete and res.count == _zaslavsky(3, 24)


def test_dask_local_cluster_gives_the_same_count(rng, split_early):
    distributed = pytest.importorskip("dask.distributed")
    net = _generic_layer(rng, 3, 12)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = pr.count_regions(net, pr.Whole(3), eps=1e-7, client=client)
    assert res.complete and res.count == _zaslavsky(3, 12)


def test_bad_workers():
    net = pr.Network.from_dense([[[1.0]]], [[0.0]])
    with pytest.raises(pr.InvalidInputError, match="workers"):
        pr.count_regions(net, pr.Box([-1.0], [1.0]), workers=0)


def test_max_regions_with_workers(split_early):
    rng = np.random.default_rng(5)
    net = pr.Network.from_dense([rng.normal(size=(12, 3))], [rng.normal(size=12)])
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2, max_regions=10)
    assert res.count == 10 and not res.complete and res.stopped == "max_regions"


def _die(*args):
    """A pool initializer that kills its worker process."""
    os._exit(3)


def test_dying_worker_saves_the_checkpoint_and_says_how_to_resume(tmp_path, monkeypatch, split_early):
    rng = np.random.default_rng(5)
    net = pr.Network.from_dense([rng.normal(size=(12, 3))], [rng.normal(size=12)])
    path = tmp_path / "run.ckpt"
    monkeypatch.setattr(parallel, "_init_pool", _die)
    with pytest.raises(pr.PolyRegionsError, match="resume") as info:
        pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2, checkpoint=path)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, resume=path)
    assert res.complete and res.count == sum(math.comb(12, i) for i in range(4))


def test_dying_worker_from_the_command_line(tmp_path, monkeypatch, split_early, capsys):
    """The command exits with status 2 and a one-line message naming --resume; resuming from
    the command line finishes with Zaslavsky's count."""
    from polyregions.cli.main import main
    from polyregions.model.io import save_network

    rng = np.random.default_rng(5)
    save_network(pr.Network.from_dense([rng.normal(size=(12, 3))], [rng.normal(size=12)]), tmp_path / "net.npz")
    ckpt = str(tmp_path / "run.ckpt")
    argv = ["count", str(tmp_path / "net.npz"), "--whole", "--eps", "1e-7", "--quiet", "--json"]
    monkeypatch.setattr(parallel, "_init_pool", _die)
    assert main(argv + ["--workers", "2", "--checkpoint", ckpt]) == 2
    err = capsys.readouterr().err
    assert f"--resume {ckpt}" in err and "Traceback" not in err and err.count("\n") == 1
    monkeypatch.undo()
    assert main(argv + ["--workers", "1", "--resume", ckpt]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == sum(math.comb(12, i) for i in range(4))
