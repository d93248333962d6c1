"""Property tests of the search against the exact rational reference (tests/exact_reference.py).

Tiny networks with small integer weights and biases are drawn by hypothesis; their
patterns in a box, an L1, L2 or L-inf ball, or the whole space are computed exactly in
rationals and compared with the enumerated patterns at every scale ``10**k``,
``k = -6..6``: layer ``l``'s weights are multiplied by ``10**k`` and its biases by
``10**(k l)``, so layer ``l``'s pre-activations are multiplied by ``10**(k l)`` and the
regions do not change. The reference decides at the search's own ``eps``. The search
(``method="dfs"``) is checked everywhere, the planar algorithm on the domains it serves.
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyregions as pr
from polyregions.cells.planar import unsupported_reason
from polyregions.search.engine import DEFAULT_EPS

SCALES = range(-6, 7)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])

small_int = st.integers(-3, 3)


@st.composite
def tiny_nets(draw, max_inputs=2):
    """``(weights, biases)``: 1-2 hidden layers of width 1-3 over 1-`max_inputs` inputs."""
    n0 = draw(st.integers(1, max_inputs))
    depth = draw(st.integers(1, 2))
    weights, biases, n_in = [], [], n0
    for _ in range(depth):
        n = draw(st.integers(1, 3))
        weights.append([[draw(small_int) for _ in range(n_in)] for _ in range(n)])
        biases.append([draw(small_int) for _ in range(n)])
        n_in = n
    return weights, biases


def scaled_network(weights, biases, k):
    """Layer l (from 1) with weights times 10**k and biases times 10**(k l), in floating point."""
    return pr.Network.from_dense([np.asarray(W, float) * 10.0**k for W in weights],
                                 [np.asarray(b, float) * 10.0 ** (k * (l + 1)) for l, b in enumerate(biases)])


def enumerated(net, domain, **kw):
    pats = [tuple(int(v) for v in r.bits) for r in pr.enumerate_regions(net, domain, **kw)]
    assert len(set(pats)) == len(pats), "a pattern was enumerated twice"
    return set(pats)


def check_every_scale(weights, biases, domain, exact_domain):
    """The search, and the planar algorithm where it serves `domain`, find the reference's
    patterns at every scale."""
    expected = ref.exact_patterns(weights, biases, exact_domain, eps=DEFAULT_EPS)
    methods = ["dfs"] + (["planar"] if unsupported_reason(domain) is None else [])
    for k in SCALES:
        net = scaled_network(weights, biases, k)
        for method in methods:
            got = enumerated(net, domain, method=method)
            assert got == expected, f"{method}, scale 10**{k}: missing {expected - got}, extra {got - expected}"


@st.composite
def nets_in_boxes(draw):
    weights, biases = draw(tiny_nets())
    n0 = len(weights[0][0])
    lo = [draw(st.integers(-3, 2)) for _ in range(n0)]
    hi = [lo[i] + draw(st.integers(1, 3)) for i in range(n0)]
    return weights, biases, lo, hi


@st.composite
def nets_in_balls(draw, p):
    weights, biases = draw(tiny_nets())
    n0 = len(weights[0][0])
    center = [draw(st.integers(-2, 2)) for _ in range(n0)]
    radius = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    return weights, biases, center, radius


@PROPERTY_SETTINGS
@given(nets_in_boxes())
def test_box_patterns_are_exact_at_every_scale(case):
    weights, biases, lo, hi = case
    check_every_scale(weights, biases, pr.Box(lo, hi), ("box", lo, hi))


@pytest.mark.parametrize("p", [1, 2, "inf"])
def test_ball_patterns_are_exact_at_every_scale(p):
    @PROPERTY_SETTINGS
    @given(nets_in_balls(p))
    def check(case):
        weights, biases, center, radius = case
        check_every_scale(weights, biases, pr.Ball(center, radius, p=p), ("ball", center, radius, p))

    check()


@PROPERTY_SETTINGS
@given(tiny_nets())
def test_whole_space_patterns_are_exact_at_every_scale(case):
    weights, biases = case
    n0 = len(weights[0][0])
    check_every_scale(weights, biases, pr.Whole(n0), ("whole", n0))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(nets_in_boxes(), st.sampled_from(["highs", "scipy", "numba"]))
def test_box_patterns_are_exact_on_every_polyhedral_backend(case, backend):
    weights, biases, lo, hi = case
    expected = ref.exact_patterns(weights, biases, ("box", lo, hi), eps=DEFAULT_EPS)
    for k in (-6, 0, 6):
        assert enumerated(scaled_network(weights, biases, k), pr.Box(lo, hi), backend=backend, method="dfs") == expected
