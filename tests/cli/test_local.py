"""The local and plot-local commands: the table they write, the summary, one-line errors with exit code 2."""

from __future__ import annotations

import json
import math
import re
import sys

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.local import network_files
from polyregions.cli.main import main
from polyregions.local.table import CountTable


@pytest.fixture
def study(tmp_path):
    rng = np.random.default_rng(5)
    nets = []
    for step in (3, 20, 100):
        net = pr.Network.from_dense([rng.normal(size=(6, 4)), rng.normal(size=(5, 6))],
                                    [rng.normal(size=6), rng.normal(size=5)])
        pr.io.save_network(net, tmp_path / f"ckpt_step{step}.npz")
        nets.append(net)
    points = rng.uniform(-1, 1, size=(5, 4))
    labels = np.array([0, 1, 0, 1, 1])
    np.save(tmp_path / "X.npy", points)
    np.save(tmp_path / "y.npy", labels)
    return tmp_path, nets, points, labels


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_networks_by_glob_in_natural_order_with_their_steps(study):
    folder, *_ = study
    files, steps = network_files(str(folder / "ckpt_step*.npz"))
    assert [f.rsplit("/", 1)[1] for f in files] == ["ckpt_step3.npz", "ckpt_step20.npz", "ckpt_step100.npz"]
    assert steps == [3.0, 20.0, 100.0]


def test_local_writes_the_table_and_a_summary(study, capsys):
    folder, nets, points, labels = study
    out_path = folder / "t.csv"
    code, out, err = _run(capsys, "local", folder / "ckpt_step*.npz", "--points", folder / "X.npy", "--labels",
                          folder / "y.npy", "--radius", "0.1", "0.5", "-o", out_path, "--workers", "1")
    assert code == 0, err
    table = CountTable.load(out_path)
    expected = [pr.count_regions(net, pr.Ball(x, r, p=math.inf)).count for net in nets for x in points
                for r in (0.1, 0.5)]
    assert table["count"].tolist() == expected
    assert sorted(set(table["step"].tolist())) == [3.0, 20.0, 100.0]
    assert table["label"].tolist() == np.repeat(labels, 2).tolist() * 3
    assert "30 in" in out and "all exact" in out and "mean per label at radius 0.5" in out


def test_json_and_parquet(study, capsys):
    pytest.importorskip("pyarrow")
    folder, nets, points, _ = study
    code, out, _ = _run(capsys, "local", folder / "ckpt_step3.npz", "--points", folder / "X.npy", "--radius", "0.2",
                        "--p", "2", "-o", folder / "t.parquet", "--json", "--workers", "2")
    assert code == 0
    doc = json.loads(out)
    assert doc["counts"] == 5 and doc["incomplete"] == 0 and doc["p"] == 2
    table = CountTable.load(doc["table"])
    assert table["count"].tolist() == [pr.count_regions(nets[0], pr.Ball(x, 0.2)).count for x in points]
    assert doc["by_radius"][0]["mean"] == pytest.approx(np.mean(table["count"]))


def test_progress_line_on_a_terminal(study, capsys, monkeypatch):
    import polyregions.driver as driver

    monkeypatch.setattr(driver, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    folder, *_ = study
    code, _, err = _run(capsys, "local", folder / "ckpt_step3.npz", "--points", folder / "X.npy", "--radius", "0.2",
                        "-o", folder / "t.csv", "--workers", "1")
    assert code == 0 and "/5 counts" in err and "/s" in err


def test_a_checkpoint_of_another_study(study, capsys):
    folder, *_ = study
    common = ["--points", folder / "X.npy", "-o", folder / "t.csv", "--checkpoint", folder / "c.npz", "--workers", "1"]
    assert _run(capsys, "local", folder / "ckpt_step3.npz", "--radius", "0.2", *common)[0] == 0
    code, out, err = _run(capsys, "local", folder / "ckpt_step3.npz", "--radius", "0.3", *common)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--checkpoint" in err and "another study" in err


@pytest.mark.parametrize("change, match", [
    ({"--points": "bad_dim.npy"}, r"--points has shape \(5, 3\)"),
    ({"--points": "nan.npy"}, "--points file .* contains NaN"),
    ({"--radius": ["-0.1"]}, "--radius must be positive"),
    ({"--p": "3"}, "--p must be 1, 2 or inf"),
    ({"--labels": "short.npy"}, "--labels has shape"),
    ({"-o": "t.txt"}, "-o .* must end in .parquet or .csv"),
    ({"net": "none*.npz"}, "NET_OR_GLOB .* matches no file"),
    ({"--time-limit-per-count": "-1"}, "--time-limit-per-count must be a positive"),
])
def test_bad_input_is_one_line_naming_the_option(study, capsys, change, match):
    folder, *_ = study
    np.save(folder / "bad_dim.npy", np.zeros((5, 3)))
    np.save(folder / "nan.npy", np.full((5, 4), np.nan))
    np.save(folder / "short.npy", np.zeros(2))
    args = {"net": folder / "ckpt_step3.npz", "--points": "X.npy", "--radius": ["0.1"], "-o": "t.csv"}
    args.update(change)
    argv = ["local", args["net"] if change.get("net") is None else folder / change["net"]]
    for option in ("--points", "--labels"):
        if option in args:
            argv += [option, folder / args[option]]
    argv += ["--radius", *args["--radius"], "-o", folder / args["-o"]]
    for option in ("--p", "--time-limit-per-count"):
        if option in args:
            argv += [option, args[option]]
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(match, err), err


def test_plot_local(study, capsys):
    pytest.importorskip("matplotlib")
    folder, *_ = study
    _run(capsys, "local", folder / "ckpt_step*.npz", "--points", folder / "X.npy", "--labels", folder / "y.npy",
         "--radius", "0.1", "0.5", "-o", folder / "t.csv", "--workers", "1")
    code, out, _ = _run(capsys, "plot-local", folder / "t.csv", "-o", folder / "p.png", "--radius", "0.1")
    assert code == 0 and (folder / "p.png").stat().st_size > 10_000
    code, _, err = _run(capsys, "plot-local", folder / "t.csv", "-o", folder / "p.png", "--radius", "0.3")
    assert code == 2 and "--radius 0.3 is not a radius of the table" in err
    code, _, err = _run(capsys, "plot-local", folder / "t.csv", "-o", folder / "p.txt")
    assert code == 2 and "-o" in err
