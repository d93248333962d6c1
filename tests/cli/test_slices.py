"""Tests of the command-line slice options (--line, --plane) of count and enumerate."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main
from polyregions.cli.slices import parse_vector
from polyregions.model.io import load_regions, save_network


@pytest.fixture
def net5(tmp_path):
    rng = np.random.default_rng(8)
    net = pr.Network.from_dense([rng.normal(size=(9, 5)), rng.normal(size=(9, 9))],
                                [rng.normal(size=9), rng.normal(size=9)])
    path = tmp_path / "net5.npz"
    save_network(net, str(path))
    return net, str(path)


def _count_json(args, capsys):
    assert main(["count", *args, "--json", "--workers", "1"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("method", ["auto", "dfs", "planar"])
def test_count_on_a_line_and_planes(net5, tmp_path, capsys, method):
    net, path = net5
    a = tmp_path / "a.npy"
    np.save(a, np.linspace(-1, 1, 5))
    out = _count_json([path, "--line", str(a), "0.5", "--method", method], capsys)
    assert out["count"] == pr.count_regions(net, pr.Line(np.linspace(-1, 1, 5), np.full(5, 0.5)),
                                            method="dfs").count
    e1, e2 = "1,0,0,0,0", "0,1,0,0,0"
    out = _count_json([path, "--plane", "0", e1, e2, "--margin", "0.5", "--method", method], capsys)
    plane = pr.Plane.through(np.zeros(5), np.eye(5)[0], np.eye(5)[1], margin=0.5)
    assert out["count"] == pr.count_regions(net, plane, method="dfs").count
    assert "Plane" in out["domain"]
    out = _count_json([path, "--plane", "0", e1, e2, "-1", "1,2", "--method", method], capsys)
    assert out["count"] == pr.count_regions(net, pr.Plane(np.zeros(5), np.eye(5)[0], np.eye(5)[1], [-1, -1], [1, 2]),
                                            method="dfs").count


def test_enumerate_on_a_plane_writes_input_points(net5, tmp_path, capsys):
    net, path = net5
    out = tmp_path / "regions.npz"
    assert main(["enumerate", path, "--plane", "0", "1,0,0,0,0", "0,1,0,0,0", "-o", str(out)]) == 0
    patterns, points, radii = load_regions(out)
    assert points.shape[1] == 5 and np.allclose(points[:, 2:], 0)
    assert (np.packbits(net.pattern(points), axis=1) == patterns).all()


@pytest.mark.parametrize("args, message", [
    (["--line", "0"], "expected 2 arguments"),
    (["--line", "0", "0"], "`b` must differ from `a`"),
    (["--plane", "0", "1", "1"], "must not be collinear"),
    (["--plane", "0", "1,0,0,0,0", "2,0,0,0,0", "-1", "1"], "`u` and `v` must not be parallel"),
    (["--plane", "0", "1,0,0,0,0", "0,1,0,0,0", "1", "-1"], "`lo` must be < `hi`"),
    (["--line", "x", "1"], "A must be a number, numbers separated by commas"),
    (["--line", "0", "1", "--box", "0", "1"], "not allowed with argument"),
])
def test_bad_slice_options_exit_2_without_traceback(net5, capsys, args, message):
    _, path = net5
    with pytest.raises(SystemExit) as exc:
        code = main(["count", path, *args, "--quiet"])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_parse_vector():
    assert parse_vector("2", 3, "A").tolist() == [2.0, 2.0, 2.0]
    assert parse_vector("1,2", None, "LO").tolist() == [1.0, 2.0]
    with pytest.raises(pr.InvalidInputError, match="missing.npy"):
        parse_vector("missing.npy", 3, "A")


def test_count_reports_linear_pieces(tmp_path, capsys):
    rng = np.random.default_rng(9)
    W1, b1 = rng.normal(size=(6, 2)), rng.normal(size=6)
    Wo = np.zeros((1, 6))
    Wo[0, :2] = 1.0  # the output reads two neurons: the pieces are their regions
    net = pr.Network.from_dense([W1], [b1], output=(Wo, np.zeros(1)))
    path = tmp_path / "net.npz"
    save_network(net, str(path))
    assert main(["count", str(path), "--pieces", "--quiet", "--workers", "1", "--box", "-3", "3"]) == 0
    out = capsys.readouterr().out
    box = pr.Box([-3, -3], [3, 3])
    regions = pr.count_regions(net, box, method="dfs").count
    pieces = pr.count_regions(pr.Network.from_dense([W1[:2]], [b1[:2]]), box, method="dfs").count
    assert f"pieces  : {pieces:,} linear pieces" in out and f"among {regions:,} regions" in out
    assert main(["count", str(path), "--pieces", "--json"]) == 2
    assert "cannot be combined with --json" in capsys.readouterr().err


# ---------------------------------------------------------------- plot: bad inputs are one-line errors
@pytest.fixture
def net2(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "net2.npz"
    save_network(pr.Network.from_dense([rng.normal(size=(4, 2))], [rng.normal(size=4)]), str(path))
    return str(path)


@pytest.mark.parametrize("args, fragment", [
    (["-o", "{tmp}/missing/p.png"], "-o"),
    (["-o", "{tmp}/folder.png"], "-o"),
    (["-o", "{tmp}/p.png", "--size", "100000x100000"], "--size"),
    (["-o", "{tmp}/p.png", "--points", "{tmp}/missing.npy"], "--points"),
    (["-o", "{tmp}/p.png", "--points", "{tmp}/corrupt.npy"], "--points"),
    (["-o", "{tmp}/p.png", "--points", "{tmp}/points3.npy"], "--points"),
    (["-o", "{tmp}/p.png", "--points", "{tmp}/points.npy", "--labels", "{tmp}/labels4.npy"], "--labels"),
    (["-o", "{tmp}/p.png", "--labels", "{tmp}/labels4.npy"], "--labels"),
    (["-o", "{tmp}/p.png", "--line", "{tmp}/corrupt.npy", "1"], "A"),
])
def test_plot_bad_inputs_exit_2_with_one_line(net2, tmp_path, capsys, args, fragment):
    pytest.importorskip("matplotlib")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "corrupt.npy").write_bytes(b"not a numpy file")
    np.save(tmp_path / "points.npy", np.zeros((5, 2)))
    np.save(tmp_path / "points3.npy", np.zeros((5, 3)))
    np.save(tmp_path / "labels4.npy", np.zeros(4))
    argv = ["plot", net2, *[a.format(tmp=tmp_path) for a in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("polyregions: error: ") and "\n" not in err and fragment in err
    assert not (tmp_path / "missing").exists() and not (tmp_path / "p.png").exists()
