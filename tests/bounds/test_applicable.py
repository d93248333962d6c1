"""Which bounds apply to a network: the dispatcher against the closed forms written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.bounds.applicable import BOUND_NAMES, architecture_of, network_bounds


def _by_name(entries):
    return {e["name"]: e for e in entries}


def test_dense_two_layers():
    rng = np.random.default_rng(0)
    net = pr.Network.from_dense([rng.normal(size=(3, 2)), rng.normal(size=(3, 3))], [np.zeros(3), np.zeros(3)])
    info = architecture_of(net)
    assert (info["kind"], info["n0"], info["widths"], info["depth"]) == ("dense", 2, (3, 3), 2)
    by = _by_name(network_bounds(net))
    assert list(by) == list(BOUND_NAMES)
    z = sum(math.comb(3, i) for i in range(3))  # 7 per layer
    assert by["montufar2017_upper"]["value"] == z * z
    # Serra: j1 <= min(n0, n1) = 2; j1 = 0 -> 1 * 7, j1 = 1 -> 3 * 7, j1 = 2 -> 3 * (1 + 3) (j2 <= 3 - 2)
    assert by["serra2018_upper"]["value"] == 7 + 21 + 12
    assert by["zaslavsky"]["value"] is None and "one hidden layer" in by["zaslavsky"]["reason"]
    assert by["xiong_one_layer"]["value"] is None
    assert "needs an L2 ball" in by["zhu_local"]["reason"]


def test_conv_layers_and_padding():
    rng = np.random.default_rng(1)
    conv = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 1, 1)), rng.normal(size=2))], input_shape=(1, 1, 3))
    by = _by_name(network_bounds(conv, names=["xiong_one_layer", "whitney_count"]))
    assert by["xiong_one_layer"]["value"] == 3**3  # a 1x1 kernel: (1 + d1) per position
    padded = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), np.zeros(2), padding=1)], input_shape=(1, 2, 2))
    assert "padding" in architecture_of(padded)["conv_reason"]
    with pytest.raises(pr.InvalidInputError, match="unknown bounds"):
        network_bounds(conv, names=["nonsense"])
