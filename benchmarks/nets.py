"""Seeded He-initialised benchmark networks (the construction every benchmark uses).

Weights ~ N(0, 2 / fan_in), biases ~ N(0, 0.1^2), drawn layer by layer (W then b) with
``rng = numpy.random.default_rng([seed, d, *widths])``; the domain is the box [-1, 1]^d.
The CNN (``he_cnn``) follows the same rule with ``fan_in = d_in f1 f2`` for its convolutions
and ``rng = numpy.random.default_rng([seed, 1, 28, 28])``; the high-dimensional domains sit
around ``image_point()``, ``numpy.random.default_rng(7).uniform(0, 1, 784)``.
"""

from __future__ import annotations

import numpy as np

import polyregions as pr


#: Standard deviation of every bias (the weights' is sqrt(2 / fan_in)).
HE_BIAS_SD = 0.1


def he_net(d: int, widths, seed: int = 0) -> pr.Network:
    """The seeded He-normal ReLU network with input dimension `d` and hidden `widths`."""
    rng = np.random.default_rng([seed, d, *widths])
    weights, biases, fan_in = [], [], d
    for n in widths:
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(n, fan_in)))
        biases.append(rng.normal(0.0, HE_BIAS_SD, size=(n,)))
        fan_in = n
    return pr.Network.from_dense(weights, biases)


def unit_box(d: int) -> pr.Box:
    return pr.Box(-np.ones(d), np.ones(d))


def he_cnn(seed: int = 0) -> pr.Network:
    """1x28x28 input; Conv2d 1->4, 3x3, stride 2; Conv2d 4->4, 3x3, stride 2; Dense 16 (no padding)."""
    rng = np.random.default_rng([seed, 1, 28, 28])
    w1 = rng.normal(0.0, np.sqrt(2.0 / 9), size=(4, 1, 3, 3))
    b1 = rng.normal(0.0, HE_BIAS_SD, size=4)
    w2 = rng.normal(0.0, np.sqrt(2.0 / 36), size=(4, 4, 3, 3))
    b2 = rng.normal(0.0, HE_BIAS_SD, size=4)
    w3 = rng.normal(0.0, np.sqrt(2.0 / 144), size=(16, 144))
    b3 = rng.normal(0.0, HE_BIAS_SD, size=16)
    return pr.Network([pr.Conv2d(w1, b1, stride=2), pr.Conv2d(w2, b2, stride=2), pr.Flatten(), pr.Dense(w3, b3)],
                      input_shape=(1, 28, 28))


def image_point() -> np.ndarray:
    """The centre of the high-dimensional domains: 784 uniform values in [0, 1] (seed 7)."""
    return np.random.default_rng(7).uniform(0.0, 1.0, 784)


def load_search_kernel() -> None:
    """Bring this process to where a user's process is after its first long count: the compiled
    search's kernel (dense simplex of low dimension) in the cache and loaded. A count that runs past
    ``polyregions.search.compiled.SWITCH_CACHED`` seconds loads a cached kernel; when the cache lacks
    it (a fresh install, or changed kernel sources), a count that has run ``COMPILE_AFTER`` seconds
    in Python compiles it once, so that first count is given that long."""
    from polyregions.search.compiled import COMPILE_AFTER, kernel_cached

    if not kernel_cached("numba"):
        pr.count_regions(he_net(8, [16, 16]), unit_box(8), eps=1e-9, time_limit=COMPILE_AFTER + 2.0)
    pr.count_regions(he_net(4, [16, 16]), unit_box(4), eps=1e-9)
