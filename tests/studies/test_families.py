"""polyregions.studies.families: the architecture syntax and the seeded networks.

Oracles: the seeding recipe is reproduced here from its documentation (numpy draws in the
documented order); the syntax from the module docstring.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import polyregions as pr
import polyregions.studies.families as families
from polyregions.studies.families import Arch, parse_arch, seeded_center, seeded_network


# =========================================================================== parse_arch
@pytest.mark.parametrize("text", [
    "fc:2:4,4", "fc:10:3", "fc:1:1,2,3", "conv:1x3x3:2,2x2,1", "conv:2x1x6:3,1x3,2",
    "conv:1x5x5:2,2x2,1;3,2x2,1", "conv:3x8x7:4,3x2,2;2,1x1,1",
])
def test_parse_arch_round_trips(text):
    arch = parse_arch(text)
    assert str(arch) == text
    assert parse_arch(str(arch)) == arch


def test_parse_arch_fields():
    assert parse_arch("fc:2:4,4") == Arch("fc", (2,), (4, 4))
    a = parse_arch("conv:1x5x5:2,2x2,1;3,3x2,2")
    assert a.kind == "conv" and a.input_shape == (1, 5, 5)
    assert a.layers == ((2, (2, 2), 1), (3, (3, 2), 2))
    assert a.ints == (1, 5, 5, 2, 2, 2, 1, 3, 3, 2, 2)
    assert a.grids() == [(5, 5), (4, 4), (1, 2)]  # floor((4-3)/2)+1, floor((4-2)/2)+1
    assert parse_arch(" fc : 2 : 4 , 4 ") == parse_arch("fc:2:4,4")
    assert parse_arch(a) is a


@pytest.mark.parametrize("text, match", [
    ("fc:2", "three ':'-separated parts"),
    ("mlp:2:3", "starting with 'fc' or 'conv'"),
    ("fc:2:", "has no layers"),
    ("fc:0:3", "input dimension '0', not a positive integer"),
    ("fc:2:3,-1", "width '-1', not a positive integer"),
    ("fc:2:3.5", "width '3.5'"),
    ("conv:1x3:2,2x2,1", "write it D0xHxW"),
    ("conv:1x3x3:2,2x2", "write it D,F1xF2,S"),
    ("conv:1x3x3:2,2,1", "write it F1xF2"),
    ("conv:1x3x3:2,4x4,1", "4x4 kernel on a 3x3 grid, so its output is empty"),
    ("conv:1x4x4:2,2x2,2;2,3x3,1", "layer 2 with a 3x3 kernel on a 2x2 grid"),
    ("conv:1x3x3:0,2x2,1", "layer 1 filters '0'"),
])
def test_parse_arch_errors(text, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        parse_arch(text)
    with pytest.raises(pr.InvalidInputError, match="the syntax is fc:N0:W1,W2"):
        parse_arch(text)


def test_parse_arch_refuses_non_strings():
    with pytest.raises(pr.InvalidInputError, match="`arch` must be a string"):
        parse_arch(3)


# =========================================================================== seeded networks
def test_seeded_network_follows_the_documented_recipe():
    net = seeded_network("fc:2:3,4", 5)
    rng = np.random.default_rng([5, 2, 3, 4])
    W1 = rng.normal(0, math.sqrt(2 / 2), size=(3, 2))
    b1 = rng.normal(0, 1, size=3)
    W2 = rng.normal(0, math.sqrt(2 / 3), size=(4, 3))
    b2 = rng.normal(0, 1, size=4)
    for (W, b), (V, c) in zip(net.hidden, [(W1, b1), (W2, b2)]):
        np.testing.assert_array_equal(W, V)
        np.testing.assert_array_equal(b, c)
    # the ball's random centre is the next draw
    np.testing.assert_array_equal(seeded_center("fc:2:3,4", 5), rng.standard_normal(2))

    conv = seeded_network("conv:2x4x4:3,2x2,1", 1)
    rng = np.random.default_rng([1, 2, 4, 4, 3, 2, 2, 1])
    weight = rng.normal(0, math.sqrt(2 / (2 * 2 * 2)), size=(3, 2, 2, 2))
    bias = rng.normal(0, 1, size=3)
    np.testing.assert_array_equal(conv.layers[0].weight, weight)
    np.testing.assert_array_equal(conv.layers[0].bias, bias)
    assert conv.layers[0].stride == 1 and conv.input_shape == (2, 4, 4)


def test_seeded_network_variances():
    net = seeded_network("fc:400:500", 0)
    W, b = net.hidden[0]
    assert W.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert b.std() == pytest.approx(1.0, rel=0.15)
    assert not np.array_equal(seeded_network("fc:2:3", 0).hidden[0][0], seeded_network("fc:2:3", 1).hidden[0][0])


def test_doctests():
    failures, tried = doctest.testmod(families, verbose=False)
    assert tried > 0 and failures == 0
