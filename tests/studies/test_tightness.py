"""polyregions.studies.tightness and the `bounds` / `tightness` commands.

Oracles: the closed forms are written out here (Zaslavsky's count with math.comb), the
seeding recipe is reproduced from its documentation, and tiny one-layer counts come from
brute force over subsets of normals (numpy ranks); nothing asserted was produced by the
code under test.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from itertools import combinations

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main
from polyregions.model.io import save_network
from polyregions.studies.tightness import format_markdown, format_table, parse_domain, run_tightness, seeded_center, seeded_network


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


def _serra_brute(n0, widths):
    """Serra et al.'s bound by enumerating its index set J: every j with 0 <= j_l <= n_l, kept when it obeys J's rule."""
    total = 0
    for j in itertools.product(*(range(n + 1) for n in widths)):
        if all(j[l] <= min([n0, widths[l]] + [widths[k] - j[k] for k in range(l)]) for l in range(len(widths))):
            total += math.prod(math.comb(n, jl) for n, jl in zip(widths, j))
    return total


def _montufar2017(n0, widths):
    return math.prod(_zaslavsky(min([n0, *widths[:l]]), n) for l, n in enumerate(widths))


def _montufar2014(n0, widths):
    return math.prod((n // n0) ** n0 for n in widths[:-1]) * _zaslavsky(n0, widths[-1])


def test_serra_brute_force_tells_the_order_of_the_widths():
    assert _serra_brute(2, (4, 3)) == 77 and _serra_brute(2, (3, 4)) == 59
    assert _serra_brute(2, (3, 3)) == 40  # the paper's example, by hand in bounds/dense.py


def _hidden(net):
    return [W for W, _ in net.hidden], [b for _, b in net.hidden]


def test_run_tightness_multi_layer_against_independent_sources(sweep_1d):
    """Counts: an exact 1-D sweep (one input) and the MILP (another method); bounds: written out here."""
    rows = run_tightness(["fc:1:4,3", "fc:2:4,3"], [0, 3], "box:1")
    one, two = rows
    for r in rows:
        assert [s["seed"] for s in r["per_seed"]] == [0, 3] and r["complete"]
    for s in one["per_seed"]:
        assert s["count"] == len(sweep_1d(*_hidden(seeded_network("fc:1:4,3", s["seed"])), -1, 1))
    for s in two["per_seed"]:
        milp = pr.count_regions(seeded_network("fc:2:4,3", s["seed"]), pr.Box([-1, -1], [1, 1]), method="milp")
        assert s["count"] == milp.count
    for r, n0 in ((one, 1), (two, 2)):
        counts = [s["count"] for s in r["per_seed"]]
        assert (r["exact_min"], r["exact_max"]) == (min(counts), max(counts))
        assert r["exact_mean"] == pytest.approx(sum(counts) / 2)
        assert r["serra2018_upper"] == _serra_brute(n0, (4, 3))
        assert r["montufar2017_upper"] == _montufar2017(n0, (4, 3))
        assert r["montufar2014_lower"] == _montufar2014(n0, (4, 3))
        for name in ("serra2018_upper", "montufar2017_upper"):
            assert r[f"{name}/max"] == pytest.approx(r[name] / max(counts))
            assert r[f"{name}/mean"] == pytest.approx(r[name] / np.mean(counts))
        assert "zaslavsky" not in r


def test_run_tightness_conv_row(sweep_1d):
    (conv,) = run_tightness(["conv:1x1x4:2,1x2,1"], [0, 3], "box:1")
    for s in conv["per_seed"]:  # a one-layer CNN in a box: the MILP, another method
        net = seeded_network("conv:1x1x4:2,1x2,1", s["seed"])
        assert s["count"] == pr.count_regions(net, pr.Box(-np.ones(4), np.ones(4)), method="milp").count
    # Theorem 1 written out: positions {0,1}, {1,2}, {2,3}; t <= 2 each, pairs <= 3, all three <= 4
    R = sum(math.prod(math.comb(2, x) for x in t) for t in itertools.product(range(3), repeat=3)
            if t[0] + t[1] <= 3 and t[1] + t[2] <= 3 and sum(t) <= 4 and t[0] + t[2] <= 4)
    assert conv["xiong_one_layer"] == R >= conv["exact_max"]


def test_run_tightness_local_bounds_per_seed(line_arrangement_count):
    """Counts from the geometry of the seed's lines and ball; ratios: each seed's bound over its own count."""
    rows = run_tightness("fc:2:3", 3, "ball:0.7:random", bounds=["zhu_local", "local_arrangement_bound", "zaslavsky"])
    r = rows[0]
    ratios = {"zhu_local": [], "local_arrangement_bound": []}
    for s in r["per_seed"]:
        (W, b), c = seeded_network("fc:2:3", s["seed"]).hidden[0], seeded_center("fc:2:3", s["seed"])
        n, margin = line_arrangement_count(W, b, ("ball", c, 0.7, 2))
        assert margin > 1e-4 and s["count"] == n
        for name in ratios:
            assert s["bounds"][name] >= n
            ratios[name].append(s["bounds"][name] / n)
    for name, qs in ratios.items():
        assert r[f"{name}/seed_median"] == pytest.approx(sorted(qs)[1])
        assert r[f"{name}/seed_max"] == pytest.approx(max(qs))
        assert r[name] == max(s["bounds"][name] for s in r["per_seed"])
        assert f"{name}/max" not in r and f"{name}/mean" not in r
    assert "serra2018_upper" not in r  # only the requested bounds


def test_run_tightness_says_when_no_lower_bound_is_proven():
    rows = run_tightness(["conv:1x5x5:3,2x2,1;3,2x2,1", "conv:1x4x4:2,2x2,1;2,2x2,1"], 1, "box:1", time_limit=0.5)
    unproven, deficit = rows
    assert "xiong_deep_lower" not in unproven
    assert "xiong_deep_lower: n/a (no lower bound is proven" in unproven["notes"]
    assert deficit["xiong_deep_lower"] == 255 * 2**9  # N' (3x3 input, two 2x2 filters) has at most 2^8 - 1
    assert "the paper's 131,072 is not a proven bound" in deficit["notes"]
    text = format_table(rows)
    assert "no lower bound is proven" in text and "131,072 is not a proven bound" in text


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


def test_cli_bounds_ball_and_conv(tmp_path, capsys, sweep_1d):
    net = seeded_network("fc:1:4,4", 0)
    path = tmp_path / "net.npz"
    save_network(net, path)
    out, by = _bounds_json(capsys, ["bounds", str(path), "--ball", "-0.1", "1.5", "--exact", "--json"])
    n = len(sweep_1d(*_hidden(net), -1.6, 1.4))  # the 1-D ball is the interval (c - r, c + r)
    assert out["exact"]["count"] == n and n >= 5
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


def test_cli_bounds_deep_conv_lower_bound_only_with_a_proof(tmp_path, capsys):
    deficit = tmp_path / "deficit.json"
    save_network(seeded_network("conv:1x4x4:2,2x2,1;2,2x2,1", 0), deficit)
    _, by = _bounds_json(capsys, ["bounds", str(deficit), "--whole", "--json"])
    lower = by["xiong_deep_lower"]
    assert lower["value"] == 255 * 2**9 and not lower["unproven"]
    assert "N' has 255 regions, not Theorem 1's R_N' = 256" in lower["note"]
    assert main(["bounds", str(deficit), "--whole"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("xiong_deep_lower"))
    assert "130,560" in line and "131,072 is not a proven bound" in line

    unproven = tmp_path / "unproven.json"
    save_network(seeded_network("conv:1x5x5:3,2x2,1;3,2x2,1", 0), unproven)
    _, by = _bounds_json(capsys, ["bounds", str(unproven), "--whole", "--json"])
    assert by["xiong_deep_lower"]["value"] is None and by["xiong_deep_lower"]["unproven"]
    assert main(["bounds", str(unproven), "--whole"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("xiong_deep_lower"))
    assert "n/a (no lower bound is proven: Theorem 2 (i) needs N' to attain R_N' = 109,178,314" in line


def test_cli_bounds_exact_shows_the_count_progress(tmp_path, capsys, monkeypatch):
    """The exact count of `bounds --exact` gets the progress line of `count` (on a terminal)."""
    import polyregions.cli.main as cli

    path = tmp_path / "net.npz"
    save_network(seeded_network("fc:2:3", 0), path)
    real = cli.count_regions

    def reporting(net, dom, **kw):
        res = real(net, dom, **kw)
        kw["progress"](123_456, res.stats)  # what the search calls about twice a second
        return res

    monkeypatch.setattr(cli, "count_regions", reporting)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["bounds", str(path), "--whole", "--exact"]) == 0
    err = capsys.readouterr().err
    assert "123,456 regions" in err and "LPs" in err


def test_cli_tightness(tmp_path, capsys):
    prefix = tmp_path / "study"
    md = tmp_path / "table.md"
    argv = ["tightness", "--arch", "fc:2:3", "--arch", "conv:1x1x4:2,1x2,1", "--seeds", "2", "--domain", "whole",
            "--out", str(prefix), "--markdown", str(md), "--quiet", "--eps", "1e-7", "--time-limit", "60"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fc:2:3" in out and "conv:1x1x4:2,1x2,1" in out and "written" in out
    with open(f"{prefix}.csv") as f:
        table = [t for t in csv.DictReader(f) if t["seed"] == "all"]  # the per-seed rows follow each summary
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
    import polyregions.studies.tightness as tightness

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
    import polyregions.studies.tightness as tightness
    from polyregions import bounds
    from polyregions.studies import families, report

    assert tightness.parse_arch is families.parse_arch and tightness.Arch is families.Arch
    assert tightness.network_bounds is bounds.network_bounds and tightness.BOUND_NAMES is bounds.BOUND_NAMES
    assert tightness.normal_rank_deficit is bounds.normal_rank_deficit
    assert tightness.write_table is report.write_table and tightness.update_markdown is report.update_markdown
    for name in tightness.__all__:
        assert getattr(tightness, name) is not None


def test_doctests():
    import doctest

    import polyregions.studies.tightness as tightness

    failures, tried = doctest.testmod(tightness, verbose=False)
    assert tried > 0 and failures == 0
