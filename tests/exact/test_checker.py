"""The independent checker (polyregions.exact.checker.check) accepts honest certificates and
rejects every kind of tampering: a wrong point, a wrong multiplier, a missing or a
doubled branch, a certificate for another network."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polyregions as pr
from polyregions.exact.checker import check
from polyregions.errors import CertificateError


@pytest.fixture
def written(tmp_path):
    rng = np.random.default_rng(7)
    net = pr.Network.from_dense([rng.normal(size=(5, 2)), rng.normal(size=(3, 5))],
                                [rng.normal(size=5), rng.normal(size=3)])
    path, cert = tmp_path / "net.npz", tmp_path / "cert.jsonl"
    pr.io.save_network(net, path)
    res = pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), certify=True, certificate=cert)
    lines = [json.loads(line) for line in cert.read_text().splitlines()]
    return res, path, cert, lines


def rewrite(cert, lines):
    cert.write_text("".join(json.dumps(rec) + "\n" for rec in lines))


def test_honest_certificate_passes(written):
    res, path, cert, lines = written
    report = check(cert, path)
    assert report.complete and report.count == res.count == report.claimed
    assert report.empty == sum(1 for rec in lines if "empty" in rec)


def test_a_point_outside_its_region_fails(written):
    _, path, cert, lines = written
    rec = next(r for r in lines if "region" in r)
    rec["num"] = [-v for v in rec["num"]]  # the mirror image lies in another region or outside
    other = next(r for r in lines if "region" in r and r is not rec)
    rec["num"], rec["den"] = other["num"], other["den"]
    rewrite(cert, lines)
    with pytest.raises(CertificateError, match="line"):
        check(cert, path)


def test_a_wrong_multiplier_fails(written):
    _, path, cert, lines = written
    rec = next(r for r in lines if "y" in r and len(r["y"]) > 1)
    key = next(iter(rec["y"]))
    rec["y"][key] += 1
    rewrite(cert, lines)
    with pytest.raises(CertificateError, match="does not prove emptiness"):
        check(cert, path)


def test_a_missing_branch_leaves_the_count_incomplete(written):
    _, path, cert, lines = written
    k = next(i for i, r in enumerate(lines) if "empty" in r)
    del lines[k]
    rewrite(cert, lines)
    assert not check(cert, path).complete


def test_a_doubled_region_fails(written):
    _, path, cert, lines = written
    rec = next(r for r in lines if "region" in r)
    lines.insert(1, dict(rec))
    rewrite(cert, lines)
    with pytest.raises(CertificateError, match="covered twice"):
        check(cert, path)


def test_another_network_is_refused(written, tmp_path):
    _, _, cert, _ = written
    other = tmp_path / "other.npz"
    pr.io.save_network(pr.Network.from_dense([np.eye(2)], [np.zeros(2)]), other)
    with pytest.raises(CertificateError, match="another network"):
        check(cert, other)
