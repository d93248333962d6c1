"""The cvxpy (Clarabel) backend: what the conformance suite does not cover.

The shared behaviour (Chebyshev radii, push/pop, the L2 ball, unbounded domains) is in
``test_conformance.py``; here: counts against the HiGHS and scipy backends and a
hand-counted degenerate arrangement, the status table, and failures raised as errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr

cp = pytest.importorskip("cvxpy")
from polyregions.solvers.base import Status  # noqa: E402
from polyregions.solvers.registry import make_backend  # noqa: E402
from polyregions.solvers.cvxpy_conic import CvxpyBackend, _status_table  # noqa: E402
from polyregions.solvers.registry import region_problem  # noqa: E402


def test_capabilities():
    lp = make_backend("cvxpy", region_problem(pr.Ball([0.0, 0.0], 1.0), 1e-9))
    assert isinstance(lp, CvxpyBackend)
    assert lp.name == "cvxpy"
    assert {"lp", "socp"} <= lp.capabilities.features and "l2" in lp.capabilities.kinds


@pytest.mark.parametrize("n0, widths", [(2, [4, 3]), (3, [3, 3])])
def test_counts_equal_the_other_backends(n0, widths, rng, random_dense_net):
    net = random_dense_net(rng, n0, widths, bias_scale=0.3)
    c = rng.uniform(-0.2, 0.2, size=n0)
    for dom in [pr.Box(-np.ones(n0), np.ones(n0)), pr.Ball(c, 0.8, p=2), pr.Ball(c, 0.9, p=1)]:
        ref = pr.count_regions(net, dom, backend="scipy" if isinstance(dom, pr.Ball) and dom.p == 2 else "highs")
        assert pr.count_regions(net, dom, backend="cvxpy").count == ref.count, dom


def test_degenerate_arrangement_in_an_l2_ball():
    """Three lines through the origin and a zero-bias second layer that does not split the six
    sectors (hand count: 6); the touching cells (radius 0) must be dropped."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]], [[1.0, 1.0, 0.0], [1.0, -1.0, 1.0],
                                                                          [0.0, 0.0, 1.0]]],
                                [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    for dom in [pr.Ball([0.0, 0.0], 1.0, p=2), pr.Ball([0.0, 0.0], 1.0, p=1), pr.Box([-1, -1], [1, 1])]:
        assert pr.count_regions(net, dom, backend="cvxpy").count == 6


def test_status_table():
    table = _status_table()
    assert table[cp.OPTIMAL] is Status.OPTIMAL
    for s in (cp.OPTIMAL_INACCURATE, cp.INFEASIBLE_INACCURATE, cp.UNBOUNDED_INACCURATE, cp.SOLVER_ERROR):
        assert table[s] is Status.ERROR
    assert table[cp.USER_LIMIT] is Status.LIMIT
    assert table.get("some new status", Status.ERROR) is Status.ERROR


def test_solver_failure_is_raised(monkeypatch):
    lp = make_backend("cvxpy", region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), 1e-9))

    def fail(self, *args, **kwargs):
        raise cp.error.SolverError("simulated failure")

    monkeypatch.setattr(cp.Problem, "solve", fail)
    with pytest.raises(pr.SolverError, match="simulated failure"):
        lp.test()


def test_inaccurate_answer_is_an_error_not_empty(monkeypatch):
    lp = make_backend("cvxpy", region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), 1e-9))
    calls = []

    def inaccurate(self, *args, **kwargs):
        calls.append(kwargs)
        self._status = cp.OPTIMAL_INACCURATE  # what cvxpy reports after an unreliable solve
        return math.nan

    monkeypatch.setattr(cp.Problem, "solve", inaccurate)
    monkeypatch.setattr(cp.Problem, "status", property(lambda self: self._status))
    with pytest.raises(pr.SolverError, match="optimal_inaccurate"):
        lp.test()
    assert len(calls) == 2  # re-solved once with the retry settings before giving up


def test_cvxpy_backend_refuses_unbounded_domains():
    """benchmarks/nets.py's d=3 [8, 8] He-normal net (seed 0) in R^3 made Clarabel stop at its
    iteration limit: the backend refuses unbounded domains up front, with a one-line error."""
    rng = np.random.default_rng([0, 3, 8, 8])
    weights, biases, fan_in = [], [], 3
    for n in (8, 8):
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(n, fan_in)))
        biases.append(rng.normal(0.0, 0.1, size=(n,)))
        fan_in = n
    net = pr.Network.from_dense(weights, biases)
    for domain in (pr.Whole(3), pr.Polytope([[1.0, 0.0, 0.0]], [1.0])):
        with pytest.raises(pr.InvalidInputError, match="`backend` 'cvxpy'"):
            pr.count_regions(net, domain, backend="cvxpy")
