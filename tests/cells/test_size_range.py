"""Networks whose sizes pass the cell algorithms' float32 rounding bounds are counted by the search.

The planar algorithm and cells3d carry the sizes of the terms summed in float32; past its range
every tolerance is infinite. Before :mod:`polyregions.cells.size_range`, a 2-D net with weights
1e20 in two layers counted 15 regions by "auto" (the planar algorithm) where the exact count is
larger. The counts here are held against the exact rational reference.
"""

import numpy as np
import pytest

import polyregions as pr
from polyregions.cells.size_range import size_range_reason
from polyregions.errors import UnsupportedError
from tests.exact_reference import exact_count


def _scaled_net(rng, d, scales):
    """A ReLU net with `d` inputs and two hidden layers of 5, layer k's weights and biases scaled by
    ``scales[k]`` and its biases by the scales before it too (the same regions at every scale)."""
    W1, b1 = rng.normal(size=(5, d)), 0.5 * rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 5)), rng.normal(size=5)
    s1, s2 = scales
    return [s1 * W1, s2 * W2], [s1 * b1, s1 * s2 * b2]


@pytest.mark.parametrize("scales", [(1.0, 1e20), (1e20, 1e20), (1e5, 1e36), (1e30, 1e30)])
@pytest.mark.parametrize("d", [2, 3])
def test_large_weights_are_counted_by_the_search_and_exactly(scales, d):
    rng = np.random.default_rng([7, d, int(np.log10(scales[0])), int(np.log10(scales[1]))])
    weights, biases = _scaled_net(rng, d, scales)
    net, box = pr.Network.from_dense(weights, biases), pr.Box(-np.ones(d), np.ones(d))
    exact = exact_count(weights, biases, box)
    assert pr.count_regions(net, box).count == exact
    method = "planar" if d == 2 else "cells3d"
    if scales[0] * scales[1] >= 1e40:  # sizes near 1e40 at least, past float32's 3.4e38
        assert size_range_reason(net, box) is not None
    if size_range_reason(net, box) is not None:
        with pytest.raises(UnsupportedError, match="float32 rounding bounds"):
            pr.count_regions(net, box, method=method)
    else:
        assert pr.count_regions(net, box, method=method).count == exact


def test_ordinary_nets_keep_the_cell_algorithms():
    rng = np.random.default_rng(3)
    weights, biases = _scaled_net(rng, 2, (1.0, 1.0))
    net = pr.Network.from_dense(weights, biases)
    assert size_range_reason(net, pr.Box([-1e6, -1e6], [1e6, 1e6])) is None


def test_a_line_far_out_is_refused_by_the_planar_algorithm():
    """Its first layer's sizes overflow float64 (|W| |origin| + |b| = inf), where the planar
    algorithm once counted 1 region of the 2 on the line, flagged only as near eps."""
    net = pr.Network.from_dense([np.array([[1.0, 0.0]])], [np.array([-1.2e308])])
    line = pr.Line([1e308, 0.25], [1.7e308, 0.25])
    reason = size_range_reason(net, line)
    assert reason is not None and "layer 1" in reason
    with pytest.raises(UnsupportedError, match="method 'dfs' counts in float64"):
        pr.count_regions(net, line, method="planar")
