"""Tests of the 3-D side of ``polyregions plot`` (polyregions.cli.volume)."""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main
from polyregions.model.io import save_network

pytest.importorskip("matplotlib")


@pytest.fixture
def net3(rng, tmp_path):
    net = pr.Network.from_dense([rng.normal(size=(6, 3)), rng.normal(size=(6, 6))], [rng.normal(size=6)] * 2,
                                output=(rng.normal(size=(1, 6)), np.array([0.2])))
    path = tmp_path / "net3.npz"
    save_network(net, str(path))
    return str(path), net


def test_plot_a_box_a_level_set_and_its_mesh(net3, tmp_path, capsys):
    import trimesh

    path, net = net3
    png = tmp_path / "cells.png"
    assert main(["plot", path, "-o", str(png), "--size", "300x300"]) == 0
    cx = pr.polyhedral_complex(net, pr.Box(-np.ones(3), np.ones(3)))
    assert f"{cx.num_cells:,} cells" in capsys.readouterr().out and png.stat().st_size > 0
    mesh = tmp_path / "surface.ply"
    assert main(["plot", path, "-o", str(png), "--level-set", "--mesh", str(mesh), "--size", "300x300"]) == 0
    assert len(trimesh.load(str(mesh), force="mesh").faces) == len(pr.level_set(net, pr.Box(-np.ones(3), np.ones(3))).faces)


def test_plot_a_volume_inside(rng, tmp_path, capsys):
    net = pr.Network.from_dense([rng.normal(size=(6, 5))], [rng.normal(size=6)])
    path = tmp_path / "net5.npz"
    save_network(net, str(path))
    png = tmp_path / "v.png"
    args = ["plot", str(path), "--volume", "0", "1,0,0,0,0", "0,1,0,0,0", "0,0,1,0,0", "--inside", "-o", str(png)]
    assert main(args) == 0
    assert "Volume(" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--mesh", "a.ply"], "give --level-set too"),
    (["--level-set", "--mesh", "a.txt"], ".ply, .obj"),
])
def test_bad_options_exit_2(net3, tmp_path, capsys, extra, message):
    path, _ = net3
    assert main(["plot", path, "-o", str(tmp_path / "x.png"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
