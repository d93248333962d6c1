"""Checkpoints: a run killed mid-way resumes to exactly the full count."""

import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import polyregions as pr
from polyregions.model.io import save_network


def _zaslavsky(n0, n1):
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


def _generic_layer(seed, n0, n1):
    rng = np.random.default_rng(seed)
    return pr.Network.from_dense([rng.normal(size=(n1, n0))], [rng.normal(size=n1)])


class StepClock:
    """A clock that advances `step` seconds at every reading: time limits and checkpoint
    intervals become numbers of clock readings, the same on every machine."""

    def __init__(self, step=1e-3):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


#: Resume rounds a test allows before it fails (every round makes progress).
MAX_ROUNDS = 100


def test_time_limit_and_resume_sequential(tmp_path, monkeypatch):
    """On a clock that advances 1 ms per reading, a 0.2 s limit stops the count after a few
    hundred readings; rounds of 0.3 s resume it to Zaslavsky's count."""
    monkeypatch.setattr(time, "perf_counter", StepClock())
    net = _generic_layer(0, 3, 20)
    path = tmp_path / "run.ckpt"
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, time_limit=0.2, checkpoint=path)
    assert not res.complete and res.stopped == "time_limit" and res.stats.pending > 0
    for _ in range(MAX_ROUNDS):
        if res.complete:
            break
        res = pr.count_regions(net, pr.Whole(3), eps=1e-7, time_limit=0.3, checkpoint=path, resume=path)
    assert res.complete and res.count == _zaslavsky(3, 20)


def test_resume_refuses_another_network(tmp_path):
    path = tmp_path / "run.ckpt"
    pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, checkpoint=path)
    with pytest.raises(pr.InvalidInputError, match="resume"):
        pr.count_regions(_generic_layer(1, 2, 5), pr.Whole(2), eps=1e-7, resume=path)
    with pytest.raises(pr.InvalidInputError, match="resume"):
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=tmp_path / "nothing")


#: Pairs of different domains of one type and dimension (each differs from the first in one number).
DIFFERENT_DOMAINS = [
    (pr.Box([0.0, 0.0], [1.0, 1.0]), pr.Box([0.0, 0.0], [1.0, 2.0])),
    (pr.Ball([0.0, 0.0], 1.0), pr.Ball([0.0, 0.0], 1.5)),
    (pr.Ball([0.0, 0.0], 1.0, p=1), pr.Ball([0.0, 0.0], 1.0, p=2)),
    (pr.Ball([0.0, 0.0], 1.0, p=1), pr.Ball([0.0, 0.5], 1.0, p=1)),
    (pr.Polytope([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 1.0]),
     pr.Polytope([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 2.0])),
    (pr.Line([0.0, 0.0], [1.0, 1.0]), pr.Line([0.0, 0.0], [1.0, 2.0])),
    (pr.Plane([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], -1.0, 1.0),
     pr.Plane([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], -1.0, 2.0)),
    (pr.Plane([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
     pr.Plane([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0])),
]


@pytest.mark.parametrize("first, second", DIFFERENT_DOMAINS, ids=lambda d: type(d).__name__)
def test_different_domains_of_one_type_have_different_fingerprints(first, second):
    from polyregions.search.checkpoint import fingerprint

    net = pr.Network.from_dense([[[1.0] * first.dim]], [[0.0]])
    assert fingerprint(net, first, 1e-7, "auto", True) != fingerprint(net, second, 1e-7, "auto", True)
    assert fingerprint(net, first, 1e-7, "auto", True) == fingerprint(net, first, 1e-7, "auto", True)


#: Runs the CLI, writes half of its second checkpoint, touches a marker file and waits to
#: be killed: a kill in the middle of a checkpoint write, at the same point on every machine.
KILL_AT_SECOND_SAVE = """
import pickle, sys, time
marker, argv = sys.argv[1], sys.argv[2:]
real_dump, saves = pickle.dump, [0]

def dump(obj, f, *args, **kw):
    saves[0] += 1
    if saves[0] == 2:
        data = pickle.dumps(obj, *args, **kw)
        f.write(data[: len(data) // 2])
        f.flush()
        open(marker, "w").close()
        time.sleep(600)
    real_dump(obj, f, *args, **kw)

pickle.dump = dump
from polyregions.cli.main import main
sys.exit(main(argv))
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_resumes_to_the_exact_count(tmp_path, workers):
    """Kill -9 the CLI while it writes its second checkpoint: the first one is intact, the
    resumed count is Zaslavsky's, and the half-written temporary file of the dead process
    is removed by the run that resumes."""
    from polyregions.search.checkpoint import temporary_path

    n0, n1 = 3, 28
    net = _generic_layer(7, n0, n1)
    netfile, ckpt, marker = tmp_path / "net.npz", tmp_path / "run.ckpt", tmp_path / "writing"
    save_network(net, netfile)
    argv = ["count", str(netfile), "--whole", "--eps", "1e-7", "--quiet", "--workers", str(workers),
            "--checkpoint", str(ckpt), "--checkpoint-every", "0.001"]
    # run outside the repository: `python -m` puts the working directory on sys.path, and the
    # source folder is not the installed package (its solvers/ is mapped at install time)
    proc = subprocess.Popen([sys.executable, "-c", KILL_AT_SECOND_SAVE, str(marker), *argv], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), proc.stderr.read().decode(errors="replace")[-2000:] if proc.poll() is not None else ""
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    partial = pathlib.Path(temporary_path(ckpt, proc.pid))
    assert ckpt.exists() and partial.exists()
    res = pr.count_regions(net, pr.Whole(n0), eps=1e-7, workers=workers, resume=ckpt, checkpoint=ckpt)
    assert res.complete and res.count == _zaslavsky(n0, n1)
    assert not partial.exists()


@pytest.mark.parametrize("content", [
    {"version": 1, "key": "", "count": 0, "queue": [], "stats": None},  # the previous format
    "not a dict",
])
def test_resume_refuses_a_checkpoint_of_another_format(tmp_path, content):
    import pickle

    from polyregions.search.checkpoint import FORMAT_VERSION

    path = tmp_path / "old.ckpt"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(pr.InvalidInputError, match=rf"`resume` file .*expected format {FORMAT_VERSION}") as info:
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=path)
    assert "\n" not in str(info.value)


def test_resume_refuses_a_checkpoint_holding_classes_that_moved(tmp_path):
    """A pickle naming a class this version does not have is refused in one line, not a traceback."""
    path = tmp_path / "moved.ckpt"
    # protocol-0 pickle of a global polyregions.api.NoSuchSubproblem
    path.write_bytes(b"cpolyregions.api\nNoSuchSubproblem\np0\n.")
    with pytest.raises(pr.InvalidInputError, match="an unreadable format"):
        pr.count_regions(_generic_layer(0, 2, 5), pr.Whole(2), eps=1e-7, resume=path)


@pytest.mark.parametrize("content", [b"", b"\x80\x05garbage", None])
def test_corrupt_or_truncated_checkpoint_is_refused(tmp_path, content):
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    path = tmp_path / "run.ckpt"
    if content is None:  # a real checkpoint cut in half
        pr.count_regions(net, pr.Whole(2), eps=1e-7, checkpoint=path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(pr.InvalidInputError, match="`resume`"):
        pr.count_regions(net, pr.Whole(2), eps=1e-7, resume=path)


def test_unwritable_checkpoint_is_refused_before_counting(tmp_path):
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    with pytest.raises(pr.InvalidInputError, match="`checkpoint`"):
        pr.count_regions(net, pr.Whole(2), eps=1e-7, checkpoint=tmp_path / "missing" / "run.ckpt")
    with pytest.raises(pr.InvalidInputError, match="`checkpoint`"):
        pr.count_regions(net, pr.Whole(2), eps=1e-7, checkpoint=tmp_path)  # a directory


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_checkpoints_of_dead_processes_are_removed(tmp_path):
    from polyregions.search.checkpoint import temporary_path

    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    path = tmp_path / "run.ckpt"
    stale = pathlib.Path(temporary_path(path, _dead_pid()))
    alive = pathlib.Path(temporary_path(path, os.getppid()))
    other = tmp_path / ".other.ckpt.1.tmp"
    for f in (stale, alive, other):
        f.write_bytes(b"partial")
    assert stale.name.startswith(".run.ckpt.")
    pr.count_regions(net, pr.Whole(2), eps=1e-7, checkpoint=path)
    assert not stale.exists() and alive.exists() and other.exists()
    assert path.exists()


def test_a_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    """A save interrupted before its rename (here the flush to disk fails) leaves the checkpoint as
    it was, and its temporary file is removed."""
    from polyregions.search.checkpoint import Checkpointer

    net, domain = _generic_layer(0, 2, 5), pr.Whole(2)
    path = tmp_path / "run.ckpt"
    ckpt = Checkpointer(path, net, domain, 1e-7, "auto", True)
    ckpt.save(3, [], pr.Stats())
    before = path.read_bytes()

    def failing(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(5, [], pr.Stats())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]
