"""Exact rational networks (Fractions, "p/q" strings) counted as written by certify=True.

Independent sources: n distinct lines through one point cut the plane into 2n regions;
Whitney's formula (bounds.generic.whitney_count) on the rows scaled to integers (the same
hyperplanes); the exact rational reference (tests/exact_reference.py) on an integer copy.
"""

from __future__ import annotations

import logging
from fractions import Fraction as F
from math import lcm

import exact_reference
import numpy as np
import pytest

import polyregions as pr
from polyregions.bounds.generic import whitney_count
from polyregions.exact.spec import check_certificate, rounded_layers
from polyregions.model.conv import conv2d_matrix

POINT = (F(1, 3), F(2, 7))
NORMALS = [(1, 0), (0, 1), (1, 1), (1, -1)]


def concurrent_lines():
    W = [[F(a), F(c)] for a, c in NORMALS]
    b = [-(a * POINT[0] + c * POINT[1]) for a, c in NORMALS]
    return pr.Network.from_dense([W], [b])


@pytest.mark.parametrize("dom", [pr.Whole(2), pr.Box([-1.0, -1.0], [1.0, 1.0]), pr.Ball([0.0, 0.0], 1.0)])
def test_four_lines_through_a_rational_point_certify_as_8(dom, tmp_path):
    net = concurrent_lines()
    assert rounded_layers(net) == 1  # 1/3 and 2/7 are not dyadic
    res = pr.count_regions(net, dom, certify=True, certificate=tmp_path / "c.jsonl")
    assert res.certified and res.count == 2 * len(NORMALS)
    assert check_certificate(tmp_path / "c.jsonl", net, dom).count == 8


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_rational_layers_survive_a_file_round_trip(suffix, tmp_path):
    net = concurrent_lines()
    path = tmp_path / f"net{suffix}"
    pr.io.save_network(net, path)
    back = pr.io.load_network(path)
    assert back.layers[0].exact == net.layers[0].exact
    assert pr.count_regions(back, pr.Whole(2), certify=True).count == 8


def test_strings_and_errors():
    net = pr.Network.from_dense([[["1/3", "2"], ["-5/7", "0.1"]]], [["1/9", "0"]])
    assert net.layers[0].exact[0][1][1] == F(1, 10)
    with pytest.raises(pr.InvalidInputError, match="weight"):
        pr.Network.from_dense([[["1/0", "2"]]], [["0"]])
    with pytest.raises(pr.InvalidInputError, match="weight"):
        pr.Network.from_dense([[["x", "2"]]], [["0"]])


@pytest.mark.parametrize("huge", ["1" + "0" * 400, F(10**400), 10**400, "-1" + "0" * 309 + "/3"],
                         ids=["string", "fraction", "int", "negative"])
@pytest.mark.parametrize("where", ["weight", "bias"])
def test_a_rational_beyond_float64_is_refused_by_name(huge, where):
    W, b = [["1", "2"]], ["0"]
    if where == "weight":
        W[0][0] = huge
    else:
        b[0] = huge
    with pytest.raises(pr.InvalidInputError, match="float64") as info:
        pr.Network.from_dense([W], [b])
    assert "\n" not in str(info.value)


def test_the_float_search_says_it_counts_the_rounding(caplog):
    with caplog.at_level(logging.WARNING, logger="polyregions"):
        pr.count_regions(concurrent_lines(), pr.Whole(2))
    assert "float64" in caplog.text


def test_a_fraction_network_counts_as_its_scaled_integer_copy():
    rng = np.random.default_rng(5)
    W1 = [[F(int(v), 3) for v in row] for row in rng.integers(-4, 5, size=(4, 2))]
    b1 = [F(int(v), 7) for v in rng.integers(-4, 5, size=4)]
    W2 = [[F(int(v), 5) for v in row] for row in rng.integers(-4, 5, size=(3, 4))]
    b2 = [F(int(v), 11) for v in rng.integers(-4, 5, size=3)]
    # scale layer 1 by q1 = 21 (so h^1 scales by 21), layer 2 by q2 = 55 and its bias by q1 q2: same regions
    q1, q2 = 21, 55
    iW1 = [[int(v * q1) for v in row] for row in W1]
    ib1 = [int(v * q1) for v in b1]
    iW2 = [[int(v * q2) for v in row] for row in W2]
    ib2 = [int(v * q1 * q2) for v in b2]
    assert all(F(v) == w * q2 for row, wrow in zip(iW2, W2) for v, w in zip(row, wrow))
    dom = pr.Box([-1.0, -1.0], [1.0, 1.0])
    rational = pr.count_regions(pr.Network.from_dense([W1, W2], [b1, b2]), dom, certify=True)
    integer = pr.count_regions(pr.Network.from_dense([np.array(iW1, float), np.array(iW2, float)],
                                                     [np.array(ib1, float), np.array(ib2, float)]), dom, certify=True)
    assert rational.certified and integer.certified
    assert rational.count == integer.count == exact_reference.exact_count(
        [np.array(iW1, float), np.array(iW2, float)], [np.array(ib1, float), np.array(ib2, float)], dom, eps=0)


def test_a_theorem1_witness_with_rational_biases_certifies_at_whitneys_count():
    # a 1x3x3 input, two 2x2 filters, stride 1: 8 normals of rank 7 for every choice of weights
    rng = np.random.default_rng(2)
    weight = rng.integers(-3, 4, size=(2, 1, 2, 2)).astype(float)
    W, _, _ = conv2d_matrix(weight, np.zeros(2), (1, 3, 3), 1, 0)
    W = np.asarray(W.todense() if hasattr(W, "todense") else W)
    b = [F(int(k), 97) + F(1, 3) for k in rng.integers(-50, 50, size=W.shape[0])]
    net = pr.Network.from_dense([[[F(int(v)) for v in row] for row in W]], [b])
    res = pr.count_regions(net, pr.Whole(9), certify=True)
    den = lcm(*(v.denominator for v in b))
    assert res.certified and res.count == whitney_count(W * den, np.array([float(v * den) for v in b]))


def test_the_command_line_says_which_network_it_counts(tmp_path, capsys):
    from polyregions.cli.main import main

    path = str(tmp_path / "lines.json")
    pr.io.save_network(concurrent_lines(), path)
    assert main(["count", path, "--whole", "--quiet", "--workers", "1"]) == 0
    assert "the float search counts their float64 rounding" in capsys.readouterr().out
    assert main(["count", path, "--whole", "--quiet", "--certify"]) == 0
    out = capsys.readouterr().out
    assert "counted as written" in out and "regions : 8" in out
