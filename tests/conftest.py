"""Shared ground truth for the tests of the exact core.

Everything here is independent of the enumerator: random networks are only built (their
counts come from a reference written in the test that uses them), and the formulas are
written out from the literature. Nothing in this file calls ``count_regions`` or
``enumerate_regions``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr


def _random_dense_net(rng, n0, widths, *, output_dim=None, bias_scale=1.0):
    """A fully connected ReLU network with standard Gaussian weights and biases.

    ``widths`` are the hidden widths ``n_1, ..., n_L``; ``output_dim`` adds a final linear
    layer with that many outputs. Parameters drawn from a density are generic with
    probability one, so no two hyperplanes coincide and no neuron is identically zero.
    """
    weights, biases = [], []
    n_in = n0
    for n in widths:
        weights.append(rng.normal(size=(n, n_in)))
        biases.append(bias_scale * rng.normal(size=n))
        n_in = n
    output = None
    if output_dim is not None:
        output = (rng.normal(size=(output_dim, n_in)), rng.normal(size=output_dim))
    return pr.Network.from_dense(weights, biases, output=output)


def _zaslavsky(n0, n1):
    """Regions of ``n1`` hyperplanes in general position in ``R^n0``: ``sum_{i<=n0} C(n1, i)``."""
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


def _numpy_pattern(weights, biases, x):
    """Activation pattern of the points ``x`` (shape (N, n0)) by plain numpy, layer by layer."""
    h = np.atleast_2d(np.asarray(x, dtype=float))
    bits = []
    for W, b in zip(weights, biases):
        z = h @ np.asarray(W, float).T + np.asarray(b, float)
        bits.append(z > 0)
        h = np.maximum(z, 0.0)
    return np.concatenate(bits, axis=1)


@pytest.fixture
def rng():
    """A seeded generator: every test sees the same numbers on every run."""
    return np.random.default_rng(20240611)


@pytest.fixture
def random_dense_net():
    """``random_dense_net(rng, n0, widths, output_dim=None)``: a Gaussian ReLU network."""
    return _random_dense_net


@pytest.fixture
def zaslavsky():
    """``zaslavsky(n0, n1)``: the one-layer count in general position (Zaslavsky's theorem)."""
    return _zaslavsky


@pytest.fixture
def numpy_pattern():
    """``numpy_pattern(weights, biases, x)``: patterns computed without polyregions."""
    return _numpy_pattern


def _unit_simplex_triangle():
    """The triangle ``x >= 0, y >= 0, x + y <= 1``."""
    return pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])


@pytest.fixture
def triangle():
    """The triangle ``x >= 0, y >= 0, x + y <= 1`` (inradius ``1 - 1/sqrt(2)``)."""
    return _unit_simplex_triangle()
