"""The `polyregions` command, run in-process through cli.main."""

import json
import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli import main
from polyregions.io import save_network


def _one_layer(tmp_path, rng, n0=2, n1=5):
    net = pr.Network.from_dense([rng.normal(size=(n1, n0))], [rng.normal(size=n1)])
    path = tmp_path / "net.npz"
    save_network(net, path)
    return net, str(path)


def test_count_whole_json_matches_zaslavsky(tmp_path, rng, capsys):
    _, path = _one_layer(tmp_path, rng, 2, 5)
    assert main(["count", path, "--whole", "--json", "--workers", "1", "--eps", "1e-7"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == sum(math.comb(5, i) for i in range(3)) and out["complete"]


def test_count_box_and_ball_text(tmp_path, rng, capsys):
    """Every pattern that dense sampling finds is counted (a lower bound independent of the search)."""
    net, path = _one_layer(tmp_path, rng, 2, 6)
    assert main(["count", path, "--box", "-1", "1", "--quiet", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    count = int(text.split("regions :")[1].split()[0].replace(",", ""))
    x = np.random.default_rng(1).uniform(-1, 1, size=(200_000, 2))
    assert count >= len({row.tobytes() for row in net.pattern(x)})
    assert main(["count", path, "--ball", "0,0", "0.5", "--p", "inf", "--json", "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["complete"]


def test_example_runs(capsys):
    assert main(["count", "--example", "--json", "--workers", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2 and all(line["complete"] and line["count"] >= 1 for line in lines)


def test_enumerate_writes_regions(tmp_path, rng, capsys):
    net, path = _one_layer(tmp_path, rng, 2, 4)
    out = tmp_path / "regions.npz"
    assert main(["enumerate", path, "--whole", "-o", str(out), "--eps", "1e-7"]) == 0
    patterns, points, _ = pr.io.load_regions(out)
    assert len(patterns) == sum(math.comb(4, i) for i in range(3))
    assert np.array_equal(net.pattern(points), np.unpackbits(patterns, axis=1, count=4).astype(bool))


def test_errors_are_reported_not_raised(tmp_path, rng, capsys):
    _, path = _one_layer(tmp_path, rng, 2, 3)
    assert main(["count", path, "--ball", "0,0", "-1", "--workers", "1"]) == 2
    assert "radius" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["count", path, "--box", "0,0,0", "1"])  # three values for a 2-input network
