"""A version 2 certificate rewritten as version 3 (polyregions.exact.upgrade): the checker's count of the
result is the exact rational reference's (tests/exact_reference.py), with the records in bulk blocks."""

from __future__ import annotations

import json

import exact_reference
import numpy as np

import polyregions as pr
from polyregions.exact.checker import MAGIC, SHIFT_MAX, check
from polyregions.exact.upgrade import bulk_arrays, upgrade, v2_records


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


def test_an_upgrade_with_wide_multipliers_keeps_the_count_in_bulk(tmp_path):
    """Float weights of two layers: multipliers of one branch spread over many bits (the layers'
    denominators), so the upgrade needs shifts; the upgraded file holds no per-record empty branch
    with multipliers and checks to the exact reference's count."""
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(5, 2)), rng.normal(size=(4, 5))]
    biases = [rng.normal(size=5) * 0.3, rng.normal(size=4) * 0.3]
    net, dom = pr.Network.from_dense(weights, biases), pr.Box([-1.0, -1.0], [1.0, 1.0])
    source, target = tmp_path / "c.jsonl", tmp_path / "c.cert"
    assert pr.count_regions(net, dom, certify=True, certificate=source).certified
    header, records = v2_records(source)
    wide = [r for r in records if "y" in r and "empty" in r and max(int(v, 16) for v in r["y"].values()) >= 1 << 63]
    upgrade(source, target)
    _, empties, others = bulk_arrays(header, records)
    assert wide and empties[5].max() > 0 and not any("empty" in r and "y" in r for r in others)
    assert check(target).count == check(source).count == exact_reference.exact_count(weights, biases, dom, eps=0)


def test_multipliers_go_to_bulk_as_odd_values_and_shifts_unless_beyond_int64_or_shift_max(tmp_path):
    header = {"network": {"input_dim": 1, "layers": [{"bias": ["0", "0"]}]}}
    odd_wide, big = format((1 << 70) + 1, "x"), format(3 << 70, "x")
    records = [{"empty": "01", "y": {"1": odd_wide, "0": "1"}},       # an odd value beyond int64: a record
               {"empty": "00", "y": {"1": format(1 << (SHIFT_MAX + 1), "x"), "0": "1"}},  # a shift too large
               {"empty": "11", "y": {"1": big, "0": format(1 << 70, "x")}},  # over 2^70: 3 and 1
               {"empty": "10", "y": {"1": big, "0": "0"}},            # the zero multiplier dropped
               {"region": "00", "den": "3", "point": ["1"]},          # 1/3 is no float64
               {"count": 1, "undecided": 0}]
    (regions, empties, others) = bulk_arrays(header, json.loads(json.dumps(records)))
    assert len(regions[0]) == 0 and [r.get("empty", r.get("region")) for r in others[:3]] == ["01", "00", "00"]
    bits, length, ptr, pos, val, shift = empties
    assert bits.tolist() == [[1, 1], [1, 0]] and length.tolist() == [2, 2] and ptr.tolist() == [0, 2, 3]
    assert pos.tolist() == [1, 0, 1] and val.tolist() == [3, 1, 1] and shift.tolist() == [0, 0, 0]
    # 3 * 2^70 beside 1 (no common factor): the value 3 and the shift 70
    (_, empties, _) = bulk_arrays(header, [{"empty": "11", "y": {"1": big, "0": "1"}}])
    assert empties[4].tolist() == [3, 1] and empties[5].tolist() == [70, 0]
