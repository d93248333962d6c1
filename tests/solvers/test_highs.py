"""HiGHS backend specifics (the shared behaviour is in test_conformance.py)."""

import numpy as np
import pytest

import polyregions as pr
import polyregions.solvers.highs as highs
from polyregions.solvers import make_backend
from polyregions.solvers import region_problem


def unit(*a):
    a = np.array(a, float)
    return a / np.linalg.norm(a)


def test_witness_pulled_back_to_the_anchor_on_the_optimal_face(monkeypatch):
    """With the drift limit at 0 every kept witness is re-centred: the nearest point of the
    optimal face (radius 1, the cap) to an anchor inside it is the anchor itself."""
    monkeypatch.setattr(highs, "ANCHOR_DRIFT", 0.0)
    lp = make_backend("highs", region_problem(pr.Whole(2), 1e-7))
    lp.push(unit(1, 0), 0.0)  # x1 <= 0: the optimal face is x1 <= -1
    anchor = np.array([-5.0, 300.0])
    res = lp.test(anchor)
    assert lp.recentred == 1
    assert res.keep and res.radius == pytest.approx(1.0, rel=1e-6)
    assert np.allclose(res.point, anchor, atol=1e-6)
    # the model is restored: the next test is an ordinary one
    lp.push(unit(-1, 0), 10.0)  # x1 >= -10
    res2 = lp.test(None)
    assert res2.keep and res2.radius == pytest.approx(1.0)


def test_qp_failure_falls_back_to_the_socp(monkeypatch):
    """A QP the solver cannot answer is decided by the SOCP, never read as empty."""
    lp = make_backend("highs", region_problem(pr.Ball([0.0, 0.0], 1.0), 1e-7))
    monkeypatch.setattr(lp, "_run", lambda: highs.Status.ERROR)
    lp.push(unit(1, 0), 0.5)  # x1 <= 0.5 leaves most of the disc
    res = lp.test()
    assert res.keep and lp.qp_fallbacks >= 1
    lp.pop()
    lp.push(unit(1, 0), -1.5)  # x1 <= -1.5 misses the disc
    assert not lp.test().keep


def test_unreadable_status_raises(monkeypatch):
    lp = make_backend("highs", region_problem(pr.Box([0.0], [1.0]), 1e-7))
    monkeypatch.setattr(lp, "_run", lambda: highs.Status.LIMIT)
    with pytest.raises(pr.SolverError):
        lp.test()


def test_one_status_table_where_every_limit_is_a_limit():
    """The table read by the backend, the MIP driver and the support LPs: limits (memory and
    objective bound included) are LIMIT, never INFEASIBLE; unknown statuses are errors."""
    import highspy

    from polyregions.solvers.base import Status
    from polyregions.solvers.highs import status_table

    M = highspy.HighsModelStatus
    table = status_table()
    assert table[M.kOptimal] is Status.OPTIMAL and table[M.kInfeasible] is Status.INFEASIBLE
    assert table[M.kUnbounded] is Status.UNBOUNDED
    for limit in (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt, M.kMemoryLimit,
                  M.kObjectiveBound, M.kObjectiveTarget):
        assert table[limit] is Status.LIMIT
    for error in (M.kUnboundedOrInfeasible, M.kSolveError, M.kModelError, M.kNotset, M.kUnknown):
        assert table.get(error, Status.ERROR) is Status.ERROR


def test_polytope_support_is_padded_outwards_and_infinite_when_unbounded():
    """max x + y over the triangle x, y >= 0, x + y <= 1 is 1; over the half-plane x <= 1, y free
    it is unbounded."""
    from polyregions.solvers.highs import PolytopeSupport

    sup = PolytopeSupport(np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.0]), 1e-7)
    v = sup(np.array([1.0, 1.0]))
    assert 1.0 <= v <= 1.0 + 3e-7
    half = PolytopeSupport(np.array([[1.0, 0.0]]), np.array([1.0]), 1e-7)
    assert half(np.array([0.0, 1.0])) == float("inf")
