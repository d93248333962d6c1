"""Study checkpoints: written atomically, every field checked on reading, another study refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import InvalidInputError


@pytest.fixture
def study(tmp_path):
    rng = np.random.default_rng(4)
    net = pr.Network.from_dense([rng.normal(size=(5, 3))], [rng.normal(size=5)])
    points = rng.uniform(-1, 1, size=(3, 3))
    path = tmp_path / "c.npz"
    table = pr.local_counts(net, points, [0.2, 0.9], checkpoint=path, progress=False)
    return net, points, path, table


def _rewrite(path, **changes):
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    data.update(changes)
    for k, v in list(data.items()):
        if v is None:
            del data[k]
    np.savez(path, **data)


def test_the_file_holds_every_finished_count(study):
    net, points, path, table = study
    with np.load(path) as f:
        assert f["task"].tolist() == list(range(6)) and f["count"].tolist() == table["count"].tolist()
    assert not list(path.parent.glob(".c.npz.*.tmp"))


@pytest.mark.parametrize("changes, match", [
    ({"version": np.array(7)}, "not a study checkpoint of format 1"),
    ({"count": np.array([1, 2, -3, 4, 5, 6])}, "negative count"),
    ({"task": np.array([0, 1, 2, 3, 4, 4])}, "out of range or repeated"),
    ({"task": np.array([0, 1, 2, 3, 4, 99])}, "out of range or repeated"),
    ({"seconds": np.full(6, np.nan)}, "seconds"),
    ({"complete": np.ones(5, bool)}, "field 'complete' has shape"),
    ({"nodes": None}, "no field 'nodes'"),
    ({"distance": np.array(["a"] * 6)}, "field 'distance' holds"),
    ({"stopped": np.array(["time limit!"] * 6)}, "stop reason"),
])
def test_a_damaged_checkpoint_is_refused(study, changes, match):
    net, points, path, _ = study
    _rewrite(path, **changes)
    with pytest.raises(InvalidInputError, match=f"`checkpoint` .*{match}"):
        pr.local_counts(net, points, [0.2, 0.9], checkpoint=path, progress=False)


def test_not_an_archive(study):
    net, points, path, _ = study
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="`checkpoint` .* is not a study checkpoint"):
        pr.local_counts(net, points, [0.2, 0.9], checkpoint=path, progress=False)


def test_a_rerun_reads_the_counts_back(study):
    net, points, path, table = study
    _rewrite(path, count=np.array(table["count"]) + 1000)  # marks: counts read back, not counted again
    again = pr.local_counts(net, points, [0.2, 0.9], checkpoint=path, progress=False)
    assert again["count"].tolist() == (table["count"] + 1000).tolist()
    expected = [pr.count_regions(net, pr.Ball(x, r, p=math.inf)).count for x in points for r in (0.2, 0.9)]
    assert table["count"].tolist() == expected


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(study, monkeypatch):
    """A write interrupted before its rename (here the flush to disk fails) leaves the file as it
    was, and its temporary file is removed."""
    import os

    from polyregions.batch import CountRecord
    from polyregions.local.store import StudyCheckpoint
    from polyregions.local.studies import BallStudy

    net, points, path, table = study
    before = path.read_bytes()
    ckpt = StudyCheckpoint(path, BallStudy([net], points, np.array([0.2]), math.inf, 1e-9, False), {})

    def failing(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(1, [CountRecord(0, 1, True, None, 0.1, pr.Stats())], None)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".c.npz.*.tmp")) and sorted(p.name for p in path.parent.iterdir()) == ["c.npz"]
