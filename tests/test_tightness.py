"""polyregions.tightness and the `bounds` / `tightness` commands.

Oracles: the closed forms are written out here (Zaslavsky's count with math.comb), the
seeding recipe is reproduced from its documentation, and tiny one-layer counts come from
brute force over subsets of normals (numpy ranks); nothing asserted was produced by the
code under test.
"""

from __future__ import annotations

import csv
import json
import math
from itertools import combinations

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli import main
from polyregions.io import save_network
from polyregions.tightness import format_markdown, format_table, parse_domain, run_tightness, seeded_center, seeded_network


def _zaslavsky(n0, n1):
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


def _independent_subsets(W):
    """Linearly independent subsets of the rows of W (numpy ranks), the empty set included."""
    m = W.shape[0]
    return sum(1 for k in range(m + 1) for rows in combinations(range(m), k)
               if k == 0 or np.linalg.matrix_rank(W[list(rows)]) == k)


def test_parse_domain():
    assert str(parse_domain("whole")) == "whole"
    d = parse_domain("box:1.5")
    assert (d.kind, d.radius, d.random_center) == ("box", 1.5, False)
    d = parse_domain("ball:2:random")
    assert (d.kind, d.radius, d.random_center) == ("ball", 2.0, True)
    assert str(d) == "ball:2:random"
    box = parse_domain("box:2").build(3)
    np.testing.assert_array_equal(box.lo, [-2, -2, -2])
    np.testing.assert_array_equal(box.hi, [2, 2, 2])
    ball = parse_domain("ball:0.5").build(2)
    assert ball.p == 2 and ball.radius == 0.5
    np.testing.assert_array_equal(ball.center, [0, 0])
    for bad in ["box", "box:-1", "box:0", "ball:1:foo", "box:1:random", "sphere:1", "ball:x"]:
        with pytest.raises(pr.InvalidInputError, match="`domain` must be whole, box:R, ball:R or ball:R:random"):
            parse_domain(bad)


# =========================================================================== run_tightness
def test_run_tightness_one_layer_dense_is_zaslavsky():
    rows = run_tightness(["fc:2:3"], 2, "whole")
    assert len(rows) == 1
    r = rows[0]
    z = _zaslavsky(2, 3)  # 7: generic lines in the plane
    assert r["arch"] == "fc:2:3" and r["domain"] == "whole" and r["seeds"] == 2 and r["complete"]
    assert [s["count"] for s in r["per_seed"]] == [z, z]
    assert (r["exact_min"], r["exact_mean"], r["exact_max"]) == (z, z, z)
    assert r["zaslavsky"] == z
    assert r["montufar2017_upper"] == r["serra2018_upper"] == z  # one layer: the same number
    assert r["whitney_count"] == z
    for name in ("zaslavsky", "montufar2017_upper", "serra2018_upper", "montufar2014_lower", "whitney_count"):
        assert r[f"{name}/max"] == pytest.approx(r[name] / r["exact_max"])
        assert r[f"{name}/mean"] == pytest.approx(r[name] / r["exact_mean"])
    assert "xiong_one_layer" not in r and "zhu_local" not in r


def test_run_tightness_ratio_columns_are_consistent():
    rows = run_tightness(["fc:2:4,3", "conv:1x1x4:2,1x2,1"], [0, 3], "box:1")
    for r in rows:
        counts = [s["count"] for s in r["per_seed"]]
        assert [s["seed"] for s in r["per_seed"]] == [0, 3]
        assert (r["exact_min"], r["exact_max"]) == (min(counts), max(counts))
        assert r["exact_mean"] == pytest.approx(sum(counts) / 2)
        names = [k for k in r if k + "/max" in r]
        assert names
        for name in names:
            vals = [s["bounds"][name] for s in r["per_seed"]]
            assert r[name] == max(vals)
            assert r[f"{name}/max"] == pytest.approx(max(vals) / r["exact_max"])
            assert r[f"{name}/mean"] == pytest.approx(np.mean(vals) / r["exact_mean"])
    fc, conv = rows
    assert fc["serra2018_upper"] >= fc["exact_max"]
    assert "montufar2014_lower" in fc and "zaslavsky" not in fc
    assert "xiong_one_layer" in conv and conv["xiong_one_layer"] >= conv["exact_max"]


def test_run_tightness_ball_with_random_centres():
    rows = run_tightness("fc:2:3", 2, "ball:0.7:random", bounds=["zhu_local", "local_arrangement_bound", "zaslavsky"])
    r = rows[0]
    for s in r["per_seed"]:
        net = seeded_network("fc:2:3", s["seed"])
        c = seeded_center("fc:2:3", s["seed"])
        n = pr.count_regions(net, pr.Ball(c, 0.7)).count
        assert s["count"] == n
        assert s["bounds"]["zhu_local"] >= n and s["bounds"]["local_arrangement_bound"] >= n
    assert "serra2018_upper" not in r  # only the requested bounds


def test_run_tightness_rank_deficit_columns():
    rows = run_tightness(["conv:1x3x3:2,2x2,1", "conv:1x1x4:2,1x2,1"], 1, "whole", rank_deficit=True,
                         bounds=["xiong_one_layer"])
    deficit, plain = rows
    W = seeded_network("conv:1x3x3:2,2x2,1", 0).hidden[0][0]
    assert deficit["exact_max"] == _independent_subsets(W) == 2**8 - 1
    assert deficit["xiong_one_layer"] == 2**8
    assert (deficit["normals"], deficit["rank"], deficit["matching"]) == (8, 7, 8)
    assert deficit["independent"] == deficit["exact_max"]
    assert deficit["rank_deficit"].startswith("full matrix: rank 7 < matching 8")
    W = seeded_network("conv:1x1x4:2,1x2,1", 0).hidden[0][0]
    assert plain["exact_max"] == _independent_subsets(W) == plain["xiong_one_layer"]
    assert plain["rank_deficit"].startswith("none")
    md = format_markdown(rows)
    assert md.splitlines()[0].startswith("| ARCH |") and "`conv:1x3x3:2,2x2,1`" in md


def test_run_tightness_errors():
    with pytest.raises(pr.InvalidInputError, match="`arch`"):
        run_tightness(["fc:2"], 1, "whole")
    with pytest.raises(pr.InvalidInputError, match="`domain`"):
        run_tightness(["fc:2:3"], 1, "cube:1")
    with pytest.raises(pr.InvalidInputError, match="`seeds`"):
        run_tightness(["fc:2:3"], 0, "whole")
    with pytest.raises(pr.InvalidInputError, match="unknown bounds"):
        run_tightness(["fc:2:3"], 1, "whole", bounds=["nonsense"])


# =========================================================================== the CLI
def _bounds_json(capsys, argv):
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    return out, {e["name"]: e for e in out["bounds"]}


def test_cli_bounds_dense_one_layer(tmp_path, capsys):
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -2.0]]], [[0.1, -0.2, 0.3, 0.05]])
    path = tmp_path / "net.npz"
    save_network(net, path)
    out, by = _bounds_json(capsys, ["bounds", str(path), "--whole", "--exact", "--json"])
    z = _zaslavsky(2, 4)  # 11: four lines in general position
    assert out["exact"]["count"] == z
    assert by["zaslavsky"]["value"] == z and by["zaslavsky"]["bound/exact"] == pytest.approx(1.0)
    assert by["serra2018_upper"]["value"] == z
    assert by["whitney_count"]["value"] == z
    assert by["xiong_one_layer"]["value"] is None and "not a convolutional network" in by["xiong_one_layer"]["reason"]
    assert by["zhu_local"]["value"] is None and "L2 ball" in by["zhu_local"]["reason"]
    assert "not on this network" in by["montufar2014_lower"]["kind"]

    # the text table: one line per bound, n/a with a reason
    assert main(["bounds", str(path), "--whole", "--exact"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = {ln.split()[0]: ln for ln in lines if ln and ln.split()[0] in by}
    assert table["zaslavsky"].split()[1] == f"{z}"
    assert "n/a (not a convolutional network)" in table["xiong_one_layer"]
    assert "not on this network" in table["montufar2014_lower"]
    exact = next(ln for ln in lines if ln.startswith("exact (count_regions)"))
    assert exact.split()[2] == f"{z}"


def test_cli_bounds_ball_and_conv(tmp_path, capsys):
    net = seeded_network("fc:2:4,4", 0)
    path = tmp_path / "net.npz"
    save_network(net, path)
    out, by = _bounds_json(capsys, ["bounds", str(path), "--ball", "0.1,-0.2", "0.5", "--exact", "--json"])
    n = pr.count_regions(net, pr.Ball(np.array([0.1, -0.2]), 0.5)).count
    assert out["exact"]["count"] == n
    zhu = by["zhu_local"]
    assert zhu["value"] >= n and zhu["value"] == 2 ** int(zhu["note"].split("=")[1])
    assert by["local_arrangement_bound"]["value"] >= n
    assert by["zaslavsky"]["value"] is None  # two layers

    rng = np.random.default_rng(3)
    conv = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2))], input_shape=(1, 3, 3))
    cpath = tmp_path / "conv.json"
    save_network(conv, cpath)
    out, by = _bounds_json(capsys, ["bounds", str(cpath), "--whole", "--exact", "--json"])
    assert out["architecture"]["kind"] == "conv"
    assert out["exact"]["count"] == _independent_subsets(conv.hidden[0][0]) == 255
    assert by["xiong_one_layer"]["value"] == 256 and by["xiong_deep_upper"]["value"] is None

    padded = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), padding=1)],
                        input_shape=(1, 3, 3))
    ppath = tmp_path / "padded.json"
    save_network(padded, ppath)
    assert main(["bounds", str(ppath), "--whole"]) == 0
    text = capsys.readouterr().out
    xiong = next(ln for ln in text.splitlines() if ln.startswith("xiong_one_layer"))
    assert "n/a (layer 1 has padding 1" in xiong


def test_cli_tightness(tmp_path, capsys):
    prefix = tmp_path / "study"
    md = tmp_path / "table.md"
    argv = ["tightness", "--arch", "fc:2:3", "--arch", "conv:1x1x4:2,1x2,1", "--seeds", "2", "--domain", "whole",
            "--out", str(prefix), "--markdown", str(md), "--quiet", "--eps", "1e-7", "--time-limit", "60"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fc:2:3" in out and "conv:1x1x4:2,1x2,1" in out and "written" in out
    with open(f"{prefix}.csv") as f:
        table = list(csv.DictReader(f))
    z = _zaslavsky(2, 3)
    assert (int(table[0]["exact_min"]), int(table[0]["exact_max"]), int(table[0]["zaslavsky"])) == (z, z, z)
    loaded = json.load(open(f"{prefix}.json"))
    assert loaded[1]["arch"] == "conv:1x1x4:2,1x2,1"
    for s in loaded[1]["per_seed"]:  # generic biases: the independent subsets of the normals
        W = seeded_network("conv:1x1x4:2,1x2,1", s["seed"]).hidden[0][0]
        assert s["count"] == _independent_subsets(W)
    assert int(table[1]["exact_max"]) == max(s["count"] for s in loaded[1]["per_seed"])
    assert "<!-- polyregions tightness table: begin -->" in md.read_text()

    assert main(["tightness", "--arch", "fc:2:3", "--seeds", "1", "--domain", "whole", "--json", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["exact_max"] == z


def test_cli_tightness_reports_bad_arch(capsys):
    assert main(["tightness", "--arch", "fc:2", "--seeds", "1", "--domain", "whole", "--quiet"]) == 2
    assert "polyregions: error: `arch` 'fc:2'" in capsys.readouterr().err


def test_run_tightness_keeps_going_when_a_count_fails(monkeypatch):
    import polyregions.tightness as tightness

    real = tightness.count_regions

    def flaky(net, dom, **kw):
        if net.hidden[0][0][0, 0] == seeded_network("fc:2:3", 1).hidden[0][0][0, 0]:
            raise pr.SolverError("boom")
        return real(net, dom, **kw)

    monkeypatch.setattr(tightness, "count_regions", flaky)
    seen = []
    rows = run_tightness(["fc:2:3"], 3, "whole", bounds=["zaslavsky"],
                         progress=lambda arch, seed, res: seen.append((seed, type(res).__name__)))
    r = rows[0]
    z = _zaslavsky(2, 3)
    assert [s["count"] for s in r["per_seed"]] == [z, None, z]
    assert not r["complete"] and (r["exact_min"], r["exact_max"]) == (z, z)
    assert "seed 1: the count failed: boom" in r["notes"]
    assert seen == [(0, "RegionCount"), (1, "SolverError"), (2, "RegionCount")]
    assert "1 of 3 counts failed" in format_table(rows)


def test_names_the_studies_import_keep_working():
    import polyregions.tightness as tightness
    from polyregions import bounds, families, report

    assert tightness.parse_arch is families.parse_arch and tightness.Arch is families.Arch
    assert tightness.network_bounds is bounds.network_bounds and tightness.BOUND_NAMES is bounds.BOUND_NAMES
    assert tightness.normal_rank_deficit is bounds.normal_rank_deficit
    assert tightness.write_table is report.write_table and tightness.update_markdown is report.update_markdown
    for name in tightness.__all__:
        assert getattr(tightness, name) is not None


def test_doctests():
    import doctest

    import polyregions.tightness as tightness

    failures, tried = doctest.testmod(tightness, verbose=False)
    assert tried > 0 and failures == 0
