"""``polyregions count --certify`` and ``polyregions check`` (the certified side of the CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main


def _strip(tmp_path):
    path = str(tmp_path / "strip.npz")
    pr.io.save_network(pr.Network.from_dense([np.array([[1.0, 0.0], [-1.0, 0.0]])], [np.array([0.0, 1e-9])]), path)
    return path


@pytest.mark.parametrize("name", ["c.jsonl", "c.cert"])  # format 2 (JSON lines), format 3 (binary)
def test_count_certify_shows_exact_and_float_side_by_side(tmp_path, capsys, name):
    # two parallel lines 1e-9 apart: 3 regions, the float search at eps = 1e-9 sees 2
    path, cert = _strip(tmp_path), str(tmp_path / name)
    assert main(["count", path, "--box", "-1", "1", "--quiet", "--certify", "--certificate", cert]) == 0
    out = capsys.readouterr().out
    assert "regions : 3" in out and "certified: yes" in out
    assert "3 (exact, no eps) | 2 (float search" in out and "differs by +1" in out
    assert main(["check", cert, path]) == 0
    assert "exact: the network has 3 regions" in capsys.readouterr().out


def test_count_certify_json(tmp_path, capsys):
    path = _strip(tmp_path)
    assert main(["count", path, "--whole", "--json", "--certify"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3 and out["certified"] and out["float_count"] == 2 and out["undecided"] == []


def test_certify_refusals_are_one_line_errors(tmp_path, capsys):
    path = _strip(tmp_path)
    assert main(["count", path, "--certify", "--checkpoint", str(tmp_path / "c.json"), "--quiet"]) == 2
    assert "`checkpoint` is not supported" in capsys.readouterr().err


def test_check_reports_a_tampered_certificate(tmp_path, capsys):
    path, cert = _strip(tmp_path), tmp_path / "c.jsonl"
    assert main(["count", path, "--quiet", "--certify", "--certificate", str(cert)]) == 0
    lines = cert.read_text().splitlines()
    cert.write_text("\n".join(line for line in lines if '"empty"' not in line) + "\n")
    assert main(["check", str(cert), path]) == 2
    err = capsys.readouterr().err
    assert "coverage fails" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_check_ties_the_count_to_the_network_and_domain_given(tmp_path, capsys):
    path, cert = _strip(tmp_path), str(tmp_path / "c.jsonl")
    assert main(["count", path, "--box", "-1", "1", "--quiet", "--certify", "--certificate", cert]) == 0
    capsys.readouterr()
    assert main(["check", cert, path, "--box", "-1", "1"]) == 0
    out = capsys.readouterr().out
    assert "has 3 regions" in out and "lo = [-1, -1], hi = [1, 1]" in out and "network and domain as given" in out
    assert main(["check", cert]) == 0 and "the certificate alone" in capsys.readouterr().out
    assert main(["check", cert, path, "--box", "-1", "2"]) == 2
    assert "another domain" in capsys.readouterr().err
    leaky = str(tmp_path / "leaky.json")
    W, b = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 1e-9])
    pr.io.save_network(pr.Network([pr.Dense(W, b, negative_slope=0.5)]), leaky)
    assert main(["check", cert, leaky]) == 2
    assert "another network" in capsys.readouterr().err
    missing = str(tmp_path / "missing.jsonl")
    assert main(["check", missing]) == 2 and "cannot be read" in capsys.readouterr().err
