"""The `polyregions` command, run in-process through cli.main."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main
from polyregions.model.io import save_network


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
    counts = json.loads(capsys.readouterr().out)  # one document: the list of both counts
    assert len(counts) == 2 and all(c["complete"] and c["count"] >= 1 for c in counts)


def test_enumerate_writes_regions(tmp_path, rng, capsys):
    net, path = _one_layer(tmp_path, rng, 2, 4)
    out = tmp_path / "regions.npz"
    assert main(["enumerate", path, "--whole", "-o", str(out), "--eps", "1e-7"]) == 0
    patterns, points, _ = pr.io.load_regions(out)
    assert len(patterns) == sum(math.comb(4, i) for i in range(3))
    assert np.array_equal(net.pattern(points), np.unpackbits(patterns, axis=1, count=4).astype(bool))


def _one_line_error(capsys, argv, *fragments):
    """`argv` fails with exit code 2 and one line on stderr (no traceback) holding every fragment."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("polyregions: error: ") and "\n" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    return err


def test_errors_are_reported_not_raised(tmp_path, rng, capsys):
    _, path = _one_layer(tmp_path, rng, 2, 3)
    _one_line_error(capsys, ["count", path, "--ball", "0,0", "-1", "--workers", "1"], "radius")
    _one_line_error(capsys, ["count", path, "--box", "0,0,0", "1"], "LO has 3 values", "takes 2 inputs")
    _one_line_error(capsys, ["count", path, "--box", "missing.npy", "1"], "LO file 'missing.npy' cannot be read")
    _one_line_error(capsys, ["count", path, "--ball", "0", "abc"], "R must be a number", "'abc'")
    _one_line_error(capsys, ["count", path, "--box", "0,x", "1"], "LO must be a number", "'0,x'")
    _one_line_error(capsys, ["count"], "give a network file NET, or --example")


def test_example_refuses_a_domain_or_network(tmp_path, rng, capsys):
    _, path = _one_layer(tmp_path, rng)
    _one_line_error(capsys, ["count", "--example", "--box", "0", "1"], "--example", "--box")
    _one_line_error(capsys, ["count", path, "--example"], "--example", "NET")


@pytest.mark.parametrize("chunk", ["0", "-3"])
def test_enumerate_refuses_a_chunk_below_one(tmp_path, rng, capsys, chunk):
    _, path = _one_layer(tmp_path, rng)
    out = tmp_path / "regions.npz"
    _one_line_error(capsys, ["enumerate", path, "-o", str(out), "--chunk", chunk], "`chunk` must be a positive integer")
    assert not out.exists()


def _write(path, data):
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return str(path)


def test_bad_network_files_are_one_line_errors(tmp_path, capsys):
    good = tmp_path / "good.npz"
    np.savez(good, W0=np.eye(2), b0=np.zeros(2))
    whole = good.read_bytes()
    cases = [
        (_write(tmp_path / "empty.json", ""), "not a readable JSON network file"),
        (_write(tmp_path / "cut.json", '{"input_shape": 2, "layers": [{"type": "dense", "weight": [[1'),
         "not a readable JSON network file"),
        (_write(tmp_path / "list.json", "[1, 2]"), "must be an object"),
        (_write(tmp_path / "nobias.json", '{"input_shape": 2, "layers": [{"type": "dense", "weight": [[1, 0]]}]}'),
         "has no field 'bias'"),
        (_write(tmp_path / "empty.npz", b""), "is not a .npz archive"),
        (_write(tmp_path / "cut.npz", whole[: len(whole) // 2]), "is not a .npz archive"),
        (_write(tmp_path / "text.npz", "W0 = 1"), "is not a .npz archive"),
        (str(tmp_path), "is a directory"),
    ]
    (tmp_path / "dir.npz").mkdir()
    cases.append((str(tmp_path / "dir.npz"), "is a directory"))
    np.savez(tmp_path / "gap.npz", W0=np.eye(2), b0=np.zeros(2), W2=np.eye(2), b2=np.zeros(2))
    cases.append((str(tmp_path / "gap.npz"), "no layer 1"))
    pool = {"input_shape": [1, 2, 2], "layers": [{"type": "avgpool2d", "kernel": [0, 0]}, {"type": "flatten"},
                                                 {"type": "dense", "weight": [[1.0]], "bias": [0.0]}]}
    cases.append((_write(tmp_path / "pool.json", json.dumps(pool)), "`layers[0].kernel` must be a positive integer"))
    for path, fragment in cases:
        _one_line_error(capsys, ["count", path, "--workers", "1"], fragment)


# ---------------------------------------------------------------- domains against the geometry
def _lines(tmp_path, seed=3, n=5):
    """Generic lines, saved as a one-layer network."""
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n, 2)), 0.5 * rng.normal(size=n)
    path = tmp_path / "lines.npz"
    save_network(pr.Network.from_dense([W], [b]), path)
    return W, b, str(path)


_DOMAINS = [
    (["--box", "-0.5,-0.2", "1,1.3"], ("box", [-0.5, -0.2], [1.0, 1.3])),
    (["--box", "-1.5", "0.4"], ("box", [-1.5, -1.5], [0.4, 0.4])),
    (["--ball", "-0.5,0.2", "1", "--p", "1"], ("ball", [-0.5, 0.2], 1.0, 1)),
    (["--ball", "-0.5,0.2", "1", "--p", "2"], ("ball", [-0.5, 0.2], 1.0, 2)),
    (["--ball", "-0.5,0.2", "1", "--p", "inf"], ("ball", [-0.5, 0.2], 1.0, math.inf)),
    (["--ball", "0.3,-0.4", "0.8"], ("ball", [0.3, -0.4], 0.8, 2)),  # p defaults to 2
]


@pytest.mark.parametrize("options, domain", _DOMAINS)
def test_count_domains_against_the_geometry(tmp_path, capsys, line_arrangement_count, options, domain):
    """1 + (lines meeting the domain) + (crossings inside it), computed here from the geometry."""
    W, b, path = _lines(tmp_path)
    expected, margin = line_arrangement_count(W, b, domain)
    assert margin > 1e-3  # far from any degenerate position
    assert main(["count", path, *options, "--json", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["complete"] and out["count"] == expected


@pytest.mark.parametrize("options, domain", [_DOMAINS[0], _DOMAINS[2], _DOMAINS[4]])
def test_count_milp_against_the_geometry(tmp_path, capsys, line_arrangement_count, options, domain):
    W, b, path = _lines(tmp_path)
    expected, _ = line_arrangement_count(W, b, domain)
    assert main(["count", path, *options, "--method", "milp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["count"] == expected


def test_max_regions_stops_the_count(tmp_path, capsys, line_arrangement_count):
    W, b, path = _lines(tmp_path)
    expected, _ = line_arrangement_count(W, b, _DOMAINS[0][1])
    assert main(["count", path, *_DOMAINS[0][0], "--max-regions", "3", "--json", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert expected > 3 and out["count"] == 3 and not out["complete"] and out["stopped"] == "max_regions"


def test_milp_export_writes_the_model_of_the_domain(tmp_path, capsys):
    W, b, path = _lines(tmp_path)
    model = tmp_path / "model.lp"
    assert main(["milp-export", path, "--box", "-0.5,-0.2", "1,1.3", "-o", str(model)]) == 0
    assert f"wrote {model}" in capsys.readouterr().out
    text = model.read_text()
    binaries = text.split("Binaries")[1].split("End")[0].split()
    assert len(binaries) == len(W)  # one binary per neuron: the pattern
    bounds = {line.split("<=")[1].strip(): line for line in text.split("Bounds")[1].splitlines() if "x_" in line}
    assert bounds["x_0"].split() == ["-0.5", "<=", "x_0", "<=", "1"]
    assert bounds["x_1"].split() == ["-0.2", "<=", "x_1", "<=", "1.3"]


# stdout belongs to the command: one JSON document, no solver banner


def run_outside_repo(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "polyregions.cli.main", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("domain", [["--whole"], ["--ball", "0", "1"]])
def test_json_output_is_one_document(tmp_path, domain):
    """In a fresh process (where HiGHS would print its banner at its first model) `count` and
    `bounds` print one JSON document and nothing else; `--example --json` is checked in
    test_example_runs, and a fresh process's HiGHS models in tests/solvers/test_highs.py."""
    from polyregions.model.io import save_network

    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -0.5]])
    save_network(net, tmp_path / "net.npz")
    out = run_outside_repo(tmp_path, "count", "net.npz", *domain, "--json", "--quiet", "--workers", "1")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["count"] >= 1
    out = run_outside_repo(tmp_path, "bounds", "net.npz", *domain, "--json")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)


def test_milp_cli_prints_the_margin_qualifier_and_refuses_checkpoints(tmp_path, capsys):
    net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -0.5]])
    save_network(net, tmp_path / "net.npz")
    path = str(tmp_path / "net.npz")
    assert main(["count", path, "--box", "-1", "1", "--method", "milp", "--quiet"]) == 0
    assert "no region of margin >= margin_tol = 1e-06 was missed" in capsys.readouterr().out
    assert main(["count", path, "--box", "-1", "1", "--method", "milp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["margin_tol"] == 1e-6
    assert main(["count", path, "--box", "-1", "1", "--method", "milp", "--checkpoint", str(tmp_path / "c")]) == 2
    assert "`checkpoint`" in capsys.readouterr().err


# ---------------------------------------------------------------- bad output paths and files: one line, exit 2
@pytest.mark.parametrize("argv, fragment", [
    (["enumerate", "{net}", "-o", "{tmp}/missing/regions.npz"], "-o"),
    (["enumerate", "{net}", "-o", "{tmp}"], "-o"),
    (["milp-export", "{net}", "-o", "{tmp}/missing/model.lp"], "-o"),
    (["milp-export", "{net}", "-o", "{tmp}/folder.lp"], "-o"),
    (["count", "{net}", "--certify", "--certificate", "{tmp}/missing/c.jsonl"], "--certificate"),
    (["count", "{net}", "--checkpoint", "{tmp}/missing/run.ckpt", "--workers", "1"], "--checkpoint"),
    (["tightness", "--arch", "fc:2:2", "--seeds", "1", "--domain", "box:1", "--out", "{tmp}/missing/t"], "--out"),
    (["tightness", "--arch", "fc:2:2", "--seeds", "1", "--domain", "box:1", "--markdown", "{tmp}/missing/t.md"],
     "--markdown"),
    (["tightness", "--arch", "fc:2:2", "--seeds", "1", "--domain", "box:1", "--markdown", "{tmp}/folder.lp"],
     "--markdown"),
    (["count", "{net}", "--box", "{tmp}/corrupt.npy", "1"], "LO"),
    (["count", "{net}", "--line", "{tmp}/corrupt.npy", "1"], "A"),
    (["count", "{net}", "--line", "{tmp}/missing.npy", "1"], "A"),
    (["count", "{net}", "--line", "{tmp}/text.npy", "1"], "A"),
    (["count", "{net}", "--plane", "0", "1,0", "{tmp}/nan.npy"], "X3"),
])
def test_bad_paths_and_files_are_one_line_errors(tmp_path, rng, capsys, argv, fragment):
    _, net = _one_layer(tmp_path, rng)
    (tmp_path / "folder.lp").mkdir()
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    np.save(tmp_path / "nan.npy", np.array([np.nan, 1.0]))
    argv = [a.format(net=net, tmp=tmp_path) for a in argv]
    err = _one_line_error(capsys, argv, fragment)
    assert not (tmp_path / "missing").exists()
    assert "Traceback" not in err


def test_the_scheduler_timeout_reaches_dask(tmp_path, rng, capsys, monkeypatch):
    """With a stand-in for dask.distributed (installed or not): the client gets --scheduler-timeout,
    and its connection error is one line naming --scheduler."""
    import types

    seen = {}

    class Client:
        def __init__(self, address, timeout):
            seen.update(address=address, timeout=timeout)
            raise OSError(f"Timed out trying to connect to {address} after {timeout} s")

    monkeypatch.setitem(sys.modules, "dask", types.ModuleType("dask"))
    monkeypatch.setitem(sys.modules, "dask.distributed", types.SimpleNamespace(Client=Client))
    _, net = _one_layer(tmp_path, rng)
    _one_line_error(capsys, ["count", net, "--scheduler", "tcp://10.0.0.1:8786", "--scheduler-timeout", "2"],
                    "--scheduler 'tcp://10.0.0.1:8786' cannot be reached within 2 s")
    assert seen == {"address": "tcp://10.0.0.1:8786", "timeout": 2.0}


def test_an_unreachable_scheduler_fails_fast(tmp_path, rng, capsys):
    pytest.importorskip("dask.distributed")
    import time

    _, net = _one_layer(tmp_path, rng)
    t0 = time.perf_counter()
    _one_line_error(capsys, ["count", net, "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "0.5",
                             "--quiet"], "--scheduler", "tcp://127.0.0.1:9", "within 0.5 s")
    assert time.perf_counter() - t0 < 20  # dask's own connect timeout is 30 s
    _one_line_error(capsys, ["count", net, "--scheduler", "nonsense://x", "--scheduler-timeout", "0.5", "--quiet"],
                    "--scheduler")
    _one_line_error(capsys, ["count", net, "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "0"],
                    "--scheduler-timeout")


# ---------------------------------------------------------------- --json is JSON
def _strict_json(text):
    """Parse `text` as JSON proper: Infinity and NaN are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_of_a_count_with_no_region_is_valid_json(tmp_path, rng, capsys):
    """An eps larger than the box holds no region: min_radius has no value (null, not Infinity)."""
    _, net = _one_layer(tmp_path, rng)
    assert main(["count", net, "--box", "-1", "1", "--eps", "5", "--json", "--workers", "1"]) == 0
    doc = _strict_json(capsys.readouterr().out)
    assert doc["count"] == 0 and doc["stats"]["min_radius"] is None
    assert main(["bounds", net, "--box", "-1", "1", "--eps", "5", "--exact", "--json"]) == 0
    doc = _strict_json(capsys.readouterr().out)
    assert doc["exact"]["count"] == 0 and doc["exact"]["stats"]["min_radius"] is None
    assert main(["tightness", "--arch", "fc:2:2", "--seeds", "1", "--domain", "box:1", "--eps", "5", "--json",
                 "--quiet", "--out", str(tmp_path / "t")]) == 0
    _strict_json(capsys.readouterr().out)
    _strict_json((tmp_path / "t.json").read_text())


def test_pieces_with_json_is_refused_before_anything_is_printed(tmp_path, rng, capsys):
    _, net = _one_layer(tmp_path, rng)
    assert main(["count", net, "--pieces", "--json", "--workers", "1"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "--pieces" in out.err and "--json" in out.err


def test_the_kernels_compilation_is_announced_once_on_stderr(tmp_path):
    """On an empty kernel cache the command says on stderr what it compiles (and the count's
    time is printed as usual on stdout); a second run loads the cache and says nothing; with
    --quiet, on another empty cache, it compiles and says nothing."""
    import os

    rng = np.random.default_rng(0)
    net = pr.Network.from_dense([rng.normal(size=(6, 4)), rng.normal(size=(6, 6))], [rng.normal(size=6)] * 2)
    save_network(net, tmp_path / "net.npz")
    runs = [subprocess.run([sys.executable, "-m", "polyregions.cli.main", "count", "net.npz", "--ball", "0", "1",
                            *extra], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / cache)))
            for extra, cache in (([], "cache"), ([], "cache"), (["--quiet"], "other cache"))]
    assert [r.returncode for r in runs] == [0, 0, 0]
    first, second, quiet = (r.stderr for r in runs)
    assert "compiling the L2-ball projection kernels once, about" in first and "cached afterwards" in first
    assert "compiling" not in second and "compiling" not in quiet
    assert all("time    :" in r.stdout and "compiling" not in r.stdout for r in runs)
