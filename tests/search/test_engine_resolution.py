"""Tests of the search's resolution rule: at large coordinates, an "empty" decision whose depth
lies within the coordinates' rounding (``RESOLUTION_RTOL`` times their magnitude) of ``eps`` is
counted in ``stats.near_eps``, in the Python search and in the compiled one alike.

Every count is checked against the exact rational reference (tests/exact_reference.py), which
composes the slice with the network in rationals: a count that differs from it must say
``near_eps > 0``.
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest

import polyregions as pr
from polyregions.search.compiled import make_search
from polyregions.search.engine import RegionSearch

#: Two neurons vanish on the segment about 1.3e-9 apart near 2.2e7 (less than a float step
#: there): the exact reference keeps the sliver between them (5 regions at eps = 1e-12).
SLIVER_W = [[-2, 1, -2], [1, -2, -2], [1, -3, 0], [0, 2, -1]]
SLIVER_B = [37465899.60204537, 104914718.88572705, 67442353.96584487, -14983908.138836287]
SLIVER_A, SLIVER_END = [-3000.0, -2000.0, 0.0], [-3000.0, 50329648.0, 67108864.0]
SLIVER_EPS = 1e-12


def dense(weights, biases):
    return pr.Network.from_dense([np.array(w, float) for w in weights], [np.array(b, float) for b in biases])


def exact_line(weights, biases, a, end, eps):
    """The exact patterns on the segment from `a` to `end` (``|end - a|`` must be an integer)."""
    d = [e - s for s, e in zip(a, end)]
    metric = round(float(np.linalg.norm(d)))
    assert sum(int(v) ** 2 for v in d) == metric ** 2
    return ref.exact_slice_patterns(weights, biases, a, [[v] for v in d], [0], [1], eps=eps, metric=metric)


def test_the_reproducer_is_a_sliver_of_the_exact_reference():
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    assert len(truth) == 5


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "numba", "bounded"])
def test_a_sliver_below_one_float_step_is_counted_or_reported(backend):
    """The search cannot see the sliver (its two hyperplanes round to one point); the count must
    be the exact reference's, or say near_eps > 0."""
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    res = pr.count_regions(dense([SLIVER_W], [SLIVER_B]), pr.Line(SLIVER_A, SLIVER_END), eps=SLIVER_EPS,
                           method="dfs", backend=backend)
    assert res.count == len(truth) or res.stats.near_eps > 0


@pytest.mark.parametrize("backend", ["numba", "bounded"])
def test_the_compiled_search_reports_the_sliver_as_the_python_search(backend):
    """Both searches on the composed segment: the same regions, nodes and near-eps decisions, and a
    count that is the exact reference's or says near_eps > 0."""
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    net_y, dom_y = pr.Line(SLIVER_A, SLIVER_END).search_problem(dense([SLIVER_W], [SLIVER_B]))
    results = []
    for compiled in (False, True):
        search = make_search(net_y, dom_y, SLIVER_EPS, backend, True, compiled=compiled)
        assert isinstance(search, RegionSearch)
        root = search.root()
        pats = [tuple(search.bits) for _ in search.run(root)]
        results.append((pats, search.stats.nodes, search.stats.near_eps))
    assert results[0] == results[1]
    pats, _, near = results[0]
    assert len(pats) == len(truth) or near > 0
