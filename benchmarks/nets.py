"""Seeded He-initialised benchmark networks (the construction every benchmark uses).

Weights ~ N(0, 2 / fan_in), biases ~ N(0, 0.1^2), drawn layer by layer (W then b) with
``rng = numpy.random.default_rng([seed, d, *widths])``; the domain is the box [-1, 1]^d.
"""

from __future__ import annotations

import numpy as np

import polyregions as pr


def he_net(d: int, widths, seed: int = 0) -> pr.Network:
    """The seeded He-normal ReLU network with input dimension `d` and hidden `widths`."""
    rng = np.random.default_rng([seed, d, *widths])
    weights, biases, fan_in = [], [], d
    for n in widths:
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(n, fan_in)))
        biases.append(rng.normal(0.0, 0.1, size=(n,)))
        fan_in = n
    return pr.Network.from_dense(weights, biases)


def unit_box(d: int) -> pr.Box:
    return pr.Box(-np.ones(d), np.ones(d))
