"""Reproducers of wrong answers and raw errors, waiting to be moved into the mirrored test modules."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import polyregions as pr
import polyregions.parallel as parallel
from polyregions.enumerate import DEFAULT_EPS


def _load_reference():
    path = pathlib.Path(__file__).with_name("exact_reference.py")
    spec = importlib.util.spec_from_file_location("polyregions_tests_exact_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

# three lines bounding a right triangle with legs 3e-9 (inradius 8.8e-10) near (.31, -.17)
TRIANGLE_W = [[[1, 0], [0, 1], [1, 1]]]
TRIANGLE_B = [[-.31, .17, -(.14 + 3e-9)]]


def triangle_net(offset=3e-9):
    return pr.Network.from_dense(TRIANGLE_W, [[-.31, .17, -(.14 + offset)]])


# ---------------------------------------------------------------- enumerate: honest L2 test


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
def test_thin_triangle_in_a_small_l2_ball_is_not_counted(backend):
    """The triangle's inradius 8.8e-10 is below the default eps = 1e-9: 6 regions, not 7
    (the exact reference decides every pattern at eps in rationals)."""
    ball = pr.Ball([.3100001, -.1699999], 1e-6)
    expected = ref.exact_count(TRIANGLE_W, TRIANGLE_B, ball, eps=DEFAULT_EPS)
    assert expected == 6
    res = pr.count_regions(triangle_net(), ball, backend=backend)
    assert res.count == expected
    assert res.stats.min_radius > DEFAULT_EPS


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
def test_tiny_l2_ball_around_the_thin_triangle(backend):
    """In a ball of radius 3e-8 three lines make at most 7 regions; the reference says how many
    hold a ball of radius eps."""
    ball = pr.Ball([.310000003, -.169999997], 3e-8)
    expected = ref.exact_count(TRIANGLE_W, TRIANGLE_B, ball, eps=DEFAULT_EPS)
    res = pr.count_regions(triangle_net(), ball, backend=backend)
    assert res.count == expected <= 7


@pytest.mark.parametrize("backend", ["highs", "scipy", "numba", "cvxpy"])
def test_tiny_box_around_a_thinner_triangle(backend):
    box = pr.Box([.31 - 9e-8, -.17 - 9e-8], [.31 + 1.1e-7, -.17 + 1.1e-7])
    expected = ref.exact_count(TRIANGLE_W, [[-.31, .17, -(.14 + 1e-9)]], box, eps=DEFAULT_EPS)
    assert expected == 6
    assert pr.count_regions(triangle_net(1e-9), box, backend=backend).count == expected


# ---------------------------------------------------------------- enumerate: tiny weights


@pytest.mark.parametrize("tiny", [1e-165, 1e-200, 1e-300])
def test_tiny_weights_still_cut(tiny):
    """z = (tiny x, y): the lines x = 0 and y = 0 cut the box into 4 quadrants."""
    net = pr.Network.from_dense([[[tiny, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    assert pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0])).count == 4
    assert pr.count_regions(net, pr.Whole(2)).count == 4


def test_tiny_second_layer_weights_still_cut():
    """Layer 2: z = 1e-170 (h1 - h2) with h = relu(x), relu(-x) ... = 1e-170 x: splits at 0."""
    net = pr.Network.from_dense([[[1.0], [-1.0]], [[1e-170, -1e-170]]], [[0.0, 0.0], [0.0]])
    # x < 0: h = (0, -x), z2 = 1e-170 x < 0 (off); x > 0: h = (x, 0), z2 > 0 (on)
    pats = {tuple(int(v) for v in r.bits) for r in pr.enumerate_regions(net, pr.Box([-1.0], [1.0]))}
    assert pats == {(0, 1, 0), (1, 0, 1)}


# ---------------------------------------------------------------- enumerate: extra regions near eps


def strip_halves(width):
    """One input: breakpoints 0, width / 2 and width. In [-1, 1] there are 4 pieces: two wide
    ones and two of width width / 2 (half-width width / 4)."""
    return pr.Network.from_dense([[[1.0], [1.0], [1.0]]], [[0.0, -width / 2, -width]])


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "numba", "cvxpy"])
@pytest.mark.parametrize("factor, expected", [(0.75, 2), (1.5, 4)])
def test_strip_split_in_half_near_eps_in_an_interval(backend, factor, expected):
    """A strip of width 4 factor eps split in half: each half holds balls of radius factor eps
    at most, so it counts iff factor > 1: 2 + 2 = 4 pieces, or the 2 wide ones."""
    eps = 1e-7
    net = strip_halves(4 * factor * eps)
    res = pr.count_regions(net, pr.Box([-1.0], [1.0]), eps=eps, backend=backend)
    assert res.count == expected
    assert res.stats.min_radius > eps


@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
@pytest.mark.parametrize("factor, expected", [(0.75, 2), (1.5, 4)])
def test_strip_split_in_half_near_eps_in_an_l2_ball(backend, factor, expected):
    """The same strip (now in the plane, lines x = 0, w/2, w) inside the unit disc: the two
    thin halves are long slabs of half-width w/4 = factor eps."""
    eps = 1e-7
    w = 4 * factor * eps
    net = pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]], [[0.0, -w / 2, -w]])
    res = pr.count_regions(net, pr.Ball([0.0, 0.0], 1.0), eps=eps, backend=backend)
    assert res.count == expected
    assert res.stats.min_radius > eps


def grid_net(s):
    """Lines x = 0, x = s, y = 0, y = s: a 3 x 3 grid of cells in the box; the middle row and
    column have width s."""
    return pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]], [[0.0, -s, 0.0, -s]])


def assert_honest_radii(net, domain, regions, eps):
    """Every counted region's ball B(point, radius) lies between its hyperplanes and in the
    domain, and radius > eps (a one-layer net: distances computed here with numpy)."""
    (W, b), = net.hidden
    for r in regions:
        x = r.point
        dist = np.abs(W @ x + b) / np.linalg.norm(W, axis=1)
        assert r.radius > eps
        assert np.all(dist >= r.radius * (1 - 1e-9))
        assert np.array_equal(r.bits, (W @ x + b) > 0)
        if isinstance(domain, pr.Box):
            assert np.all(np.minimum(x - domain.lo, domain.hi - x) >= r.radius * (1 - 1e-9))
        else:
            assert np.linalg.norm(x - domain.center) + r.radius <= domain.radius * (1 + 1e-12)


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "cvxpy"])
@pytest.mark.parametrize("domain", ["box", "ball"])
@pytest.mark.parametrize("factor, expected", [(0.6, 4), (0.95, 4), (1.05, 9), (1.6, 9)])
def test_grid_cells_near_eps(backend, domain, factor, expected):
    """The grid's thin cells (the middle row, the middle column, the centre square) all have
    inradius s / 2 = factor eps: they count iff factor > 1, so 9 cells or the 4 wide ones."""
    eps = 1e-7
    net = grid_net(2 * factor * eps)
    dom = pr.Box([-1.0, -1.0], [1.0, 1.0]) if domain == "box" else pr.Ball([0.0, 0.0], 1.0)
    if backend == "auto" and domain == "ball":
        backend = "highs"
    regions = list(pr.enumerate_regions(net, dom, eps=eps, backend=backend))
    assert len(regions) == expected
    assert_honest_radii(net, dom, regions, eps)


# ---------------------------------------------------------------- milp: margins and options


def test_milp_reports_its_margin_tolerance_and_what_complete_means():
    """Lines x = 0 and x = 1e-6 in [-1, 1]: the middle piece has margin 5e-7, below the default
    margin_tol = 1e-6, so the MILP does not reach it; with margin_tol = 1e-8 it does (3 pieces,
    a 1-D breakpoint count)."""
    from polyregions.milp import DEFAULT_MARGIN_TOL

    net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -1e-6]])
    box = pr.Box([-1.0], [1.0])
    res = pr.count_regions(net, box, method="milp")
    assert res.stats.margin_tol == DEFAULT_MARGIN_TOL
    assert res.as_dict()["stats"]["margin_tol"] == DEFAULT_MARGIN_TOL
    assert "margin_tol" in repr(res)
    from polyregions.milp import count_regions_milp

    fine = count_regions_milp(net, box, margin_tol=1e-8)
    assert fine.count == 3 and fine.complete


@pytest.mark.parametrize("kwargs, name", [({"workers": 2}, "workers"), ({"checkpoint": "x.ckpt"}, "checkpoint"),
                                           ({"resume": "x.ckpt"}, "resume"),
                                           ({"client": object()}, "client")])
def test_milp_refuses_search_options(kwargs, name, tmp_path):
    net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -0.5]])
    with pytest.raises(pr.InvalidInputError, match=f"`{name}`"):
        pr.count_regions(net, pr.Box([-1.0], [1.0]), method="milp", **kwargs)


# ---------------------------------------------------------------- parallel


def test_max_regions_with_workers(split_early):
    rng = np.random.default_rng(5)
    net = pr.Network.from_dense([rng.normal(size=(12, 3))], [rng.normal(size=12)])
    res = pr.count_regions(net, pr.Whole(3), eps=1e-7, workers=2, max_regions=10)
    assert res.count == 10 and not res.complete and res.stopped == "max_regions"


@pytest.fixture
def split_early(monkeypatch):
    monkeypatch.setattr(parallel, "LOCAL_START", 0.0)
    monkeypatch.setattr(parallel, "TASK_BUDGET", 0.01)
    monkeypatch.setattr(parallel, "SPREAD_BUDGET", 0.001)


def _die(*args):
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


# ---------------------------------------------------------------- checkpoint files


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
    from polyregions.checkpoint import temporary_path

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


# ---------------------------------------------------------------- backends


def test_cvxpy_backend_refuses_unbounded_domains():
    """benchmarks/nets.py's d=3 [8, 8] He-normal net (seed 0) in R^3 made Clarabel stop at its
    iteration limit: the backend refuses unbounded domains up front, with a one-line error."""
    rng = np.random.default_rng([0, 3, 8, 8])
    weights, biases, fan_in = [], [], 3
    for n in (8, 8):
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(n, fan_in)))
        biases.append(rng.normal(0.0, 0.1, size=(n,)))
        fan_in = n
    net = pr.Network.from_dense(weights, biases)
    for domain in (pr.Whole(3), pr.Polytope([[1.0, 0.0, 0.0]], [1.0])):
        with pytest.raises(pr.InvalidInputError, match="`backend` 'cvxpy'"):
            pr.count_regions(net, domain, backend="cvxpy")


# ---------------------------------------------------------------- validation


def test_complex_weights_are_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(pr.InvalidInputError, match="weight"):
            pr.Network.from_dense([np.array([[1 + 1j, 0.0]])], [np.zeros(1)])
        with pytest.raises(pr.InvalidInputError, match="bias"):
            pr.Dense(np.ones((1, 2)), np.array([1j]))
        with pytest.raises(pr.InvalidInputError, match="center"):
            pr.Ball(np.array([0.0, 1j]), 1.0)


def test_zero_inputs_are_refused():
    with pytest.raises(pr.InvalidInputError, match="input"):
        pr.Network.from_dense([np.zeros((3, 0))], [np.zeros(3)])


@pytest.mark.parametrize("p", [True, False, 1.5, "2", None])
def test_ball_p_must_be_one_two_or_inf(p):
    with pytest.raises(pr.InvalidInputError, match="`p`"):
        pr.Ball([0.0, 0.0], 1.0, p=p)


# ---------------------------------------------------------------- stdout belongs to the CLI


def run_outside_repo(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "polyregions.cli", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("domain", [["--whole"], ["--ball", "0", "1"], ["--ball", "0", "1", "--p", "1"]])
def test_json_output_is_one_document(tmp_path, domain):
    from polyregions.io import save_network

    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -0.5]])
    save_network(net, tmp_path / "net.npz")
    out = run_outside_repo(tmp_path, "count", "net.npz", *domain, "--json", "--quiet", "--workers", "1")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["count"] >= 1
    out = run_outside_repo(tmp_path, "bounds", "net.npz", *domain, "--json")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)


def test_example_json_is_one_document(tmp_path):
    out = run_outside_repo(tmp_path, "count", "--example", "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)
