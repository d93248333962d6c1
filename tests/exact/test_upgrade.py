"""A version 2 certificate rewritten as version 3 (polyregions.exact.upgrade): the checker's count of the
result is the exact rational reference's (tests/exact_reference.py), with the records in bulk blocks."""

from __future__ import annotations

import json

import exact_reference
import numpy as np

import polyregions as pr
from polyregions.exact.checker import MAGIC, check
from polyregions.exact.upgrade import bulk_arrays, upgrade


def test_an_upgraded_certificate_keeps_the_exact_count(tmp_path):
    rng = np.random.default_rng(11)
    weights = [rng.integers(-3, 4, size=(4, 2)).astype(float), rng.integers(-3, 4, size=(3, 4)).astype(float)]
    biases = [rng.integers(-2, 3, size=4) / 2, rng.integers(-2, 3, size=3) / 2]
    net, dom = pr.Network.from_dense(weights, biases), pr.Box([-1.0, -1.0], [1.0, 1.0])
    source, target = tmp_path / "c.jsonl.gz", tmp_path / "c.cert"
    assert pr.count_regions(net, dom, certify=True, certificate=source).certified
    moved = upgrade(source, target)
    truth = exact_reference.exact_count(weights, biases, dom, eps=0)
    assert target.read_bytes().startswith(MAGIC) and moved >= truth  # every region's point is a float64
    assert check(target).count == check(source).count == truth
    assert check(target).empty == check(source).empty


def test_multipliers_beyond_int64_stay_records(tmp_path):
    header = {"network": {"input_dim": 1, "layers": [{"bias": ["0", "0"]}]}}
    big, small = format(3 << 70, "x"), format(6, "x")
    records = [{"empty": "01", "y": {"1": big, "0": "1"}},            # 3 * 2^70 and 1: no common factor to take out
               {"empty": "11", "y": {"1": big, "0": format(1 << 70, "x")}},  # over 2^70: 3 and 1
               {"empty": "10", "y": {"1": small, "0": "0"}},          # the zero multiplier dropped
               {"region": "00", "den": "3", "point": ["1"]},          # 1/3 is no float64
               {"count": 1, "undecided": 0}]
    (regions, empties, others) = bulk_arrays(header, json.loads(json.dumps(records)))
    assert len(regions[0]) == 0 and [r.get("empty", r.get("region")) for r in others[:2]] == ["01", "00"]
    bits, length, ptr, pos, val = empties
    assert bits.tolist() == [[1, 1], [1, 0]] and length.tolist() == [2, 2] and ptr.tolist() == [0, 2, 3]
    assert pos.tolist() == [1, 0, 1] and val.tolist() == [3, 1, 1]
