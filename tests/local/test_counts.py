"""local_counts and line_counts: every count against an independent source or count_regions.

The independent sources: the exact rational reference counter (tests/exact_reference.py) on
tiny networks in L-inf, L2 and L1 balls, the exact rational sweep of one-input networks
(conftest's sweep_1d) on segments, and, on larger random networks, count_regions run on each
ball by itself (the same count one by one, without the many-count driver).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
import polyregions.batch as batch
import polyregions.driver as driver
import polyregions.search.parallel as parallel
from exact_reference import exact_count
from polyregions.errors import InvalidInputError


def _net(rng, n0, widths):
    weights, biases, fan = [], [], n0
    for n in widths:
        weights.append(rng.normal(size=(n, fan)))
        biases.append(rng.normal(scale=0.5, size=n))
        fan = n
    return pr.Network.from_dense(weights, biases), weights, biases


@pytest.fixture
def split_early(monkeypatch):
    """Split every count that runs past a millisecond, and hand subtrees back often."""
    monkeypatch.setattr(batch, "SPLIT_AFTER", 1e-3)
    monkeypatch.setattr(batch, "SUBTREE_BUDGET", 2e-3)
    monkeypatch.setattr(parallel, "TASK_BUDGET", 2e-3)


@pytest.mark.parametrize("p", [math.inf, 2, 1])
def test_tiny_networks_against_the_exact_reference(rng, p):
    """Three inputs (the search) and two inputs (the planar algorithm where p is not 2)."""
    for n0, widths in ((2, [4, 3]), (3, [3, 3])):
        net, weights, biases = _net(rng, n0, widths)
        points = rng.normal(scale=0.5, size=(2, n0))
        radii = [0.3, 1.5]
        table = pr.local_counts(net, points, radii, p=p, eps=1e-9, progress=False)
        expected = [exact_count(weights, biases, pr.Ball(x, r, p=p), eps=1e-9) for x in points for r in radii]
        assert table["count"].tolist() == expected
        assert table["complete"].all() and (table["stopped"] == "").all()
        assert table["point"].tolist() == [0, 0, 1, 1] and table["radius"].tolist() == radii * 2


def _random_study(rng):
    nets = [_net(rng, 5, [8, 6])[0] for _ in range(2)]
    points = rng.uniform(-1, 1, size=(4, 5))
    return nets, points, [0.2, 0.8]


def _one_by_one(nets, points, radii, p=math.inf):
    return [pr.count_regions(net, pr.Ball(x, r, p=p)).count for net in nets for x in points for r in radii]


def test_equals_count_regions_point_by_point_in_this_process(rng):
    nets, points, radii = _random_study(rng)
    table = pr.local_counts(nets, points, radii, steps=[10, 20], progress=False)
    assert table["count"].tolist() == _one_by_one(nets, points, radii)
    assert table["net"].tolist() == [0] * 8 + [1] * 8 and table["step"].tolist() == [10.0] * 8 + [20.0] * 8
    assert np.all(table["seconds"] > 0) and np.all(table["nodes"] > 0)
    assert np.all(table["min_radius"] >= 1e-9)


def test_equals_count_regions_with_two_workers_and_split_counts(rng, split_early, monkeypatch):
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    nets, points, radii = _random_study(rng)
    seen = []
    table = pr.local_counts(nets, points, radii, p=2, workers=2, progress=lambda done, st: seen.append(st.split))
    assert table["count"].tolist() == _one_by_one(nets, points, radii, p=2)
    assert table.complete
    assert max(seen) > 0  # counts were split into subtrees and shared


def test_dask_client(rng, split_early):
    distributed = pytest.importorskip("dask.distributed")
    nets, points, radii = _random_study(rng)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            table = pr.local_counts(nets, points[:2], radii, client=client, progress=False)
    assert table["count"].tolist() == _one_by_one(nets, points[:2], radii)


def test_a_count_stopped_at_its_limit_is_a_lower_bound_never_exact(rng):
    net = _net(rng, 4, [10, 10])[0]
    x = np.zeros((1, 4))
    full = pr.count_regions(net, pr.Ball(x[0], 2.0, p=math.inf)).count
    small = pr.count_regions(net, pr.Ball(x[0], 0.01, p=math.inf)).count
    for workers in (1, 2):
        table = pr.local_counts(net, x, [0.01, 2.0], time_limit_per_count=0.02, workers=workers, progress=False)
        assert not table["complete"][1] and table["stopped"][1] == "time_limit" and table["count"][1] < full
        # the small count finished (and is exact) unless the machine held it past the limit too
        assert table["count"][0] == small if table["complete"][0] else table["count"][0] <= small
        assert table.summary(None)["incomplete"].tolist() == [int(not table["complete"][0]), 1]


def test_a_split_count_stopped_at_its_limit(rng, split_early):
    net = _net(rng, 5, [12, 12])[0]
    x = np.zeros((1, 5))
    full = pr.count_regions(net, pr.Ball(x[0], 2.0, p=math.inf)).count
    # tens of thousands of regions: past SPLIT_AFTER (1 ms) the count is split, and its parts stop
    # at a limit well below the compiled search's time for the whole count (about 0.2 s)
    table = pr.local_counts(net, x, [2.0], time_limit_per_count=0.02, workers=2, progress=False)
    assert not table["complete"][0] and table["stopped"][0] == "time_limit" and table["count"][0] < full


def test_checkpoint_interrupted_and_resumed(rng, tmp_path, monkeypatch):
    """Ctrl-C (a KeyboardInterrupt from the progress callback after the 5th count) keeps the
    finished counts; the same call again counts only the rest, and the table is the same."""
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    nets, points, radii = _random_study(rng)
    path = tmp_path / "study.npz"

    def interrupt(done, stats):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pr.local_counts(nets, points, radii, checkpoint=path, progress=interrupt)
    seen = []
    table = pr.local_counts(nets, points, radii, checkpoint=path, progress=lambda done, st: seen.append(st.resumed))
    assert seen and set(seen) == {5}
    assert table["count"].tolist() == _one_by_one(nets, points, radii)
    again = []
    pr.local_counts(nets, points, radii, checkpoint=path, progress=lambda done, st: again.append(done))
    assert again == []  # every count was in the checkpoint: nothing ran


def test_checkpoint_interrupted_with_workers(rng, tmp_path, monkeypatch, split_early):
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    nets, points, radii = _random_study(rng)
    path = tmp_path / "study.npz"

    def interrupt(done, stats):
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pr.local_counts(nets, points, radii, checkpoint=path, workers=2, progress=interrupt)
    table = pr.local_counts(nets, points, radii, checkpoint=path, workers=2, progress=False)
    assert table["count"].tolist() == _one_by_one(nets, points, radii)


def test_a_checkpoint_of_another_study_is_refused(rng, tmp_path):
    nets, points, radii = _random_study(rng)
    path = tmp_path / "study.npz"
    pr.local_counts(nets[0], points, radii, checkpoint=path, progress=False)
    for kwargs in ({"radii": [0.3]}, {"p": 2}, {"eps": 1e-7}, {"points": points[:2]}, {"nets": nets[1]}):
        args = {"nets": nets[0], "points": points, "radii": radii, **kwargs}
        with pytest.raises(InvalidInputError, match="`checkpoint` .* another study"):
            pr.local_counts(args.pop("nets"), args.pop("points"), args.pop("radii"), checkpoint=path,
                            progress=False, **args)


def test_counts_cut_short_run_again_with_a_longer_limit(rng, tmp_path):
    net = _net(rng, 4, [10, 10])[0]
    x = np.zeros((1, 4))
    path = tmp_path / "study.npz"
    short = pr.local_counts(net, x, [2.0], time_limit_per_count=0.02, checkpoint=path, progress=False)
    assert not short["complete"][0]
    kept = pr.local_counts(net, x, [2.0], time_limit_per_count=0.01, checkpoint=path, progress=False)
    assert kept["count"][0] == short["count"][0]  # read back, not counted again
    full = pr.local_counts(net, x, [2.0], checkpoint=path, progress=False)
    assert full["complete"][0] and full["count"][0] == pr.count_regions(net, pr.Ball(x[0], 2.0, p=math.inf)).count


def test_boundary_distance_and_bounds(rng):
    """A ball inside the Euclidean ball of radius `distance` meets one region; the local bounds
    (computed in L2 balls only) are at least the count."""
    net = _net(rng, 3, [6, 5])[0]
    points = rng.normal(size=(6, 3))
    table = pr.local_counts(net, points, [1e-3, 0.5, 2.0], p=2, progress=False)
    inside = table["radius"] < table["distance"]
    assert inside.any() and np.all(table["count"][inside] == 1)
    assert np.all(table["zhu_C"] >= 0)
    assert np.all(table["count"] <= table["arrangement_bound"]) and np.all(table["arrangement_bound"] <= table["zhu_bound"])
    assert np.all(table["zhu_bound"] == 2.0 ** table["zhu_C"])
    linf = pr.local_counts(net, points, [0.5], progress=False)
    assert np.all(linf["zhu_C"] == -1) and np.all(np.isnan(linf["zhu_bound"]))
    none = pr.local_counts(net, points, [0.5], p=2, bounds=False, progress=False)
    assert np.all(none["zhu_C"] == -1) and np.all(np.isnan(none["arrangement_bound"]))


def test_images_labels_and_torch_modules(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    modules = [torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.ReLU(), torch.nn.Flatten(),
                                   torch.nn.Linear(8, 3), torch.nn.ReLU()).eval() for _ in range(2)]
    images = rng.uniform(0, 1, size=(3, 1, 3, 3))
    table = pr.local_counts(modules, images, [0.05], labels=["a", "b", "a"], progress=False)
    nets = [pr.Network.from_torch(m, input_shape=(1, 3, 3)) for m in modules]
    assert table["count"].tolist() == _one_by_one(nets, images.reshape(3, -1), [0.05])
    assert table["label"].tolist() == ["a", "b", "a"] * 2
    summary = table.summary("label")
    assert summary["label"].tolist() == ["a", "b"] and summary["n"].tolist() == [4, 2]


def test_lines_against_the_exact_sweep(rng, sweep_1d):
    weights = [rng.normal(size=(5, 1)), rng.normal(size=(4, 5))]
    biases = [rng.normal(size=5), rng.normal(size=4)]
    net = pr.Network.from_dense(weights, biases)
    starts = rng.uniform(-3, 0, size=(4, 1))
    ends = rng.uniform(0.5, 3, size=(4, 1))
    table = pr.line_counts(net, starts, ends, progress=False)
    expected = [len(sweep_1d(weights, biases, a[0], b[0])) for a, b in zip(starts, ends)]
    assert table["count"].tolist() == expected
    assert np.allclose(table["length"], (ends - starts)[:, 0])
    assert np.allclose(table["per_length"], np.array(expected) / (ends - starts)[:, 0])


def test_lines_equal_count_regions_with_workers(rng):
    nets = [_net(rng, 6, [10, 10])[0] for _ in range(2)]
    starts, ends = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    expected = [pr.count_regions(net, pr.Line(a, b)).count for net in nets for a, b in zip(starts, ends)]
    for workers in (1, 2):
        table = pr.line_counts(nets, starts, ends, labels=np.arange(5) % 2, workers=workers, progress=False)
        assert table["count"].tolist() == expected and table["line"].tolist() == list(range(5)) * 2


def test_progress_line_on_stderr(rng, capsys, monkeypatch):
    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    nets, points, radii = _random_study(rng)
    pr.local_counts(nets[0], points, radii)
    err = capsys.readouterr()
    assert err.out == ""
    assert "8/8 counts" in err.err and "/s" in err.err


@pytest.mark.parametrize("kwargs, match", [
    ({"points": np.zeros((3, 4))}, "`points` have 4 values each"),
    ({"points": np.full((2, 5), np.nan)}, "`points` contains NaN"),
    ({"points": np.zeros(5)}, "`points` must have shape"),
    ({"radii": [0.1, -0.2]}, "`radii` must be positive"),
    ({"radii": [np.nan]}, "`radii` contains NaN"),
    ({"p": 3}, "`p` must be 1, 2 or inf"),
    ({"eps": 0}, "`eps` must be a positive"),
    ({"labels": [1, 2]}, "`labels` must have one entry per point"),
    ({"labels": [0.5, 1, 2, 3]}, "`labels` must be integers or text"),
    ({"workers": 0}, "`workers` must be a positive integer"),
    ({"time_limit_per_count": -1}, "`time_limit_per_count` must be a positive"),
    ({"nets": []}, "`nets` must hold at least one network"),
    ({"nets": ["net"]}, "`nets` item 0 must be a Network"),
    ({"steps": [1, 2]}, "`steps` must have one entry per network"),
    ({"checkpoint": "/no/such/folder/x.npz"}, "`checkpoint` .* does not exist"),
])
def test_bad_input_names_the_argument(rng, kwargs, match):
    nets, points, radii = _random_study(rng)
    args = {"nets": nets[0], "points": points, "radii": radii, "progress": False, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        pr.local_counts(args.pop("nets"), args.pop("points"), args.pop("radii"), **args)


def test_bad_segments():
    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    with pytest.raises(InvalidInputError, match="segment 1 has length 0"):
        pr.line_counts(net, [[0.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]], progress=False)
    with pytest.raises(InvalidInputError, match="same shape"):
        pr.line_counts(net, [[0.0, 0.0]], [[1.0, 0.0], [2.0, 2.0]], progress=False)


def test_doctests():
    import doctest

    import polyregions.local.counts as counts

    result = doctest.testmod(counts, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
