"""The exact integer rows of a network (polyregions.exact.exact_net) against a forward pass in
fractions written here: the rows are positive multiples of the exact pre-activations."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from polyregions.exact.exact_net import ExactNetwork


def exact_forward(net, x):
    """Pre-activations of every layer at the rational point `x`, in fractions."""
    h, out = list(x), []
    for W, b in net.hidden:
        z = [sum((Fraction(float(w)) * v for w, v in zip(row, h)), Fraction(0)) + Fraction(float(bj))
             for row, bj in zip(W, b)]
        out.append(z)
        h = [max(v, Fraction(0)) for v in z]
    return out


@pytest.mark.parametrize("seed", range(5))
def test_rows_are_positive_multiples_of_the_preactivations(seed):
    rng = np.random.default_rng(seed)
    net = pr.Network.from_dense([rng.normal(size=(4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 3))],
                                [rng.normal(size=4), rng.normal(size=3), rng.normal(size=2)])
    exact = ExactNetwork(net, pr.Box(-np.ones(3), np.ones(3)))
    for _ in range(20):
        x = [Fraction(int(v), 64) for v in rng.integers(-63, 64, size=3)]
        zs = exact_forward(net, x)
        bits = [1 if v > 0 else 0 for z in zs for v in z]
        for l, z in enumerate(zs):
            G, c = exact.maps(bits, l)
            values = [sum((int(g) * v for g, v in zip(row, x)), Fraction(0)) + int(cj) for row, cj in zip(G, c)]
            ratios = {val / zj for val, zj in zip(values, z) if zj != 0}
            assert len(ratios) <= 1 and all(r > 0 for r in ratios)
        assert exact.point_in_region(bits, x) == all(v != 0 for z in zs for v in z)
        flipped = list(bits)
        flipped[0] ^= 1
        assert not exact.point_in_region(flipped, x)


def test_identically_zero_off_neuron_adds_no_row():
    # the second layer's neuron reads only the first neuron, with bias 0: off there, z == 0 identically
    net = pr.Network.from_dense([np.array([[1.0, 0.0]]), np.array([[1.0]])], [np.array([0.0]), np.array([0.0])])
    exact = ExactNetwork(net, pr.Whole(2))
    assert exact.neuron_row([0], 1, 0) is None
    assert exact.neuron_row([0], 1, 1) == ([0, 0], 0)  # on: 0 < 0, never satisfied
    assert exact.point_in_region([0, 0], [Fraction(-1), Fraction(0)])
    assert not exact.point_in_region([0, 1], [Fraction(-1), Fraction(0)])
