"""Checkpoints: a run killed mid-way resumes to exactly the full count."""

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import polyregions as pr
from polyregions.io import save_network


def _zaslavsky(n0, n1):
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


def _generic_layer(seed, n0, n1):
    rng = np.random.default_rng(seed)
    return pr.Network.from_dense([rng.normal(size=(n1, n0))], [rng.normal(size=n1)])


def test_time_limit_and_resume_sequential(tmp_path):
    net = _generic_layer(0, 3, 20)
    path = tmp_path / "run.ckpt"
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, time_limit=0.2, checkpoint=path)
    assert not res.complete and res.stopped == "time_limit" and res.stats.pending > 0
    rounds = 0
    while not res.complete:
        res = pr.count_regions(net, pr.Whole(3), eps=1e-7, time_limit=0.3, checkpoint=path, resume=path)
        rounds += 1
    assert res.count == _zaslavsky(3, 20)


def test_resume_refuses_another_network(tmp_path):
    path = tmp_path / "run.ckpt"
    pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, checkpoint=path)
    with pytest.raises(pr.InvalidInputError, match="resume"):
        pr.count_regions(_generic_layer(1, 2, 5), pr.Whole(2), eps=1e-7, resume=path)
    with pytest.raises(pr.InvalidInputError, match="resume"):
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=tmp_path / "nothing")


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_resumes_to_the_exact_count(tmp_path, workers):
    """Start the CLI, kill -9 it after a checkpoint was written, resume: the count is Zaslavsky's."""
    n0, n1 = 3, 28
    net = _generic_layer(7, n0, n1)
    netfile, ckpt = tmp_path / "net.npz", tmp_path / "run.ckpt"
    save_network(net, netfile)
    cmd = [sys.executable, "-m", "polyregions.cli", "count", str(netfile), "--whole", "--eps", "1e-7", "--quiet",
           "--workers", str(workers), "--checkpoint", str(ckpt), "--checkpoint-every", "0.2"]
    # run outside the repository: `python -m` puts the working directory on sys.path, and the
    # source folder is not the installed package (its solvers/ is mapped at install time)
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    assert ckpt.exists(), err.decode(errors="replace")[-2000:]
    res = pr.count_regions(net, pr.Whole(n0), eps=1e-7, workers=workers, resume=ckpt, checkpoint=ckpt)
    assert res.complete and res.count == _zaslavsky(n0, n1)
    assert killed, "the run finished before it could be killed: make the net larger"


@pytest.mark.parametrize("content", [
    {"version": 1, "key": "", "count": 0, "queue": [], "stats": None},  # the previous format
    "not a dict",
])
def test_resume_refuses_a_checkpoint_of_another_format(tmp_path, content):
    import pickle

    from polyregions.checkpoint import FORMAT_VERSION

    path = tmp_path / "old.ckpt"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(pr.InvalidInputError, match=rf"`resume` file .*expected format {FORMAT_VERSION}") as info:
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=path)
    assert "\n" not in str(info.value)


def test_resume_refuses_a_checkpoint_holding_classes_that_moved(tmp_path):
    """A pickle naming a class this version does not have is refused in one line, not a traceback."""
    path = tmp_path / "moved.ckpt"
    # protocol-0 pickle of a global polyregions.enumerate.NoSuchSubproblem
    path.write_bytes(b"cpolyregions.enumerate\nNoSuchSubproblem\np0\n.")
    with pytest.raises(pr.InvalidInputError, match="an unreadable format"):
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=path)
