"""Tests of polyregions.studies.constructions: Montufar et al. (2014)'s network attains their lower bound.

Ground truth: the bound's formula, written out here (and checked against
``polyregions.bounds.dense.montufar2014_lower`` when that is importable). Inside the open
unit cube the count is exactly the bound (every region there is a cell of the folds times
a region of the last layer's arrangement); in the whole space it can only be larger.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.studies import constructions
from polyregions.studies.constructions import montufar2014_network

CASES = [(1, [2, 2]), (1, [3, 3]), (1, [2, 2, 2]), (2, [4, 4]), (2, [4, 2]), (2, [6, 3]), (2, [5, 3]),
         (1, [3]), (2, [3]), (3, [6, 4])]


def _lower(n0, widths):
    """(prod_{l<L} floor(n_l / n0)^n0) * sum_{i<=n0} C(n_L, i)."""
    head = math.prod((n // n0) ** n0 for n in widths[:-1])
    return head * sum(math.comb(widths[-1], i) for i in range(n0 + 1))


def test_formula_matches_the_library_bound():
    try:
        from polyregions.bounds.dense import montufar2014_lower
    except ImportError:  # pragma: no cover - the closed forms live elsewhere
        pytest.skip("polyregions.bounds.dense.montufar2014_lower is not available")
    for n0, widths in CASES:
        assert montufar2014_lower(n0, widths) == _lower(n0, widths)


@pytest.mark.parametrize("n0, widths", CASES)
def test_attains_the_lower_bound(n0, widths):
    net = montufar2014_network(n0, widths)
    bound = _lower(n0, widths)
    cube = pr.count_regions(net, pr.Box(np.zeros(n0), np.ones(n0)), eps=1e-9).count
    assert cube == bound
    box = pr.count_regions(net, pr.Box(np.full(n0, -0.25), np.full(n0, 1.25)), eps=1e-9).count
    assert box >= bound
    whole = pr.count_regions(net, pr.Whole(n0), eps=1e-9).count
    assert whole >= box


def test_shapes_and_weights():
    net = montufar2014_network(2, [5, 3, 4])
    assert net.input_dim == 2 and net.widths == (5, 3, 4) and net.output is None
    (W1, b1), (W2, b2), (W3, b3) = net.hidden
    assert W1.shape == (5, 2) and W2.shape == (3, 5) and W3.shape == (4, 3)
    # layer 1: p = 2 per coordinate, h = max(0, 2 x_k - (i - 1)); neuron 4 is left over (dead)
    np.testing.assert_array_equal(W1, [[2, 0], [2, 0], [0, 2], [0, 2], [0, 0]])
    np.testing.assert_array_equal(b1, [0, -1, 0, -1, -1])
    # layer 2: p = 1, weight p * c_i' on the alternating sum (c = 1, -2); the dead neuron gets 0
    np.testing.assert_array_equal(W2, [[1, -2, 0, 0, 0], [0, 0, 1, -2, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(b2, [0, 0, -1])
    # last layer: no weight on the dead neuron of layer 2
    np.testing.assert_array_equal(W3[:, 2], 0)


def test_fold_maps_each_cell_onto_the_unit_interval():
    """One input, widths (3, 1): the folded coordinate sweeps [0, 1] three times on [0, 1]."""
    net = montufar2014_network(1, [3, 1])
    (W1, b1), _ = net.hidden
    c = np.array([1.0, -2.0, 2.0])
    t = np.linspace(0.0, 1.0, 601)
    h = np.maximum(t[:, None] * W1[:, 0] + b1, 0.0)
    g = h @ c
    assert g.min() >= -1e-12 and g.max() <= 1 + 1e-12
    np.testing.assert_allclose(g[[0, 200, 400, 600]], [0.0, 1.0, 0.0, 1.0], atol=1e-12)


def test_bad_input():
    with pytest.raises(pr.UnsupportedError, match="`widths`.*n_l >= n0"):
        montufar2014_network(3, [4, 2])
    with pytest.raises(pr.InvalidInputError, match="`n0` must be a positive integer"):
        montufar2014_network(0, [2])
    with pytest.raises(pr.InvalidInputError, match="`n0` must be a positive integer"):
        montufar2014_network(1.5, [2])
    with pytest.raises(pr.InvalidInputError, match="`widths` must be a non-empty sequence"):
        montufar2014_network(1, [])
    with pytest.raises(pr.InvalidInputError, match="`widths` must be a non-empty sequence"):
        montufar2014_network(1, [2, 0])
    with pytest.raises(pr.InvalidInputError, match="`widths` must be a non-empty sequence"):
        montufar2014_network(1, "22")


def test_doctests():
    failures, _ = doctest.testmod(constructions, verbose=False)
    assert failures == 0
