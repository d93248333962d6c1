"""PuLP models of the margin MILP (polyregions.solvers.pulp_milp): export, read-back, counting.

Oracles: HiGHS reading the exported files itself, PuLP's CBC solving what it reads back,
and the depth-first search for the counts.
"""

from __future__ import annotations

import math

import pytest

import polyregions as pr
from polyregions.milp.milp import LinearModel, count_regions_milp, export_model, max_margin_pattern
from polyregions.solvers.base import Status

pulp = pytest.importorskip("pulp")
from polyregions.solvers.pulp_milp import PULP_STATUS, PulpDriver, build_problem, make_solver  # noqa: E402


def _net(rng, widths=(4, 3)):
    weights, biases, fan = [], [], 2
    for n in widths:
        weights.append(rng.normal(size=(n, fan)) * math.sqrt(2.0 / fan))
        biases.append(0.3 * rng.normal(size=n))
        fan = n
    return pr.Network.from_dense(weights, biases)


DOMAINS = {
    "box": pr.Box([-1.0, -1.0], [1.0, 1.0]),
    "ballinf": pr.Ball([0.1, 0.0], 0.8, p=math.inf),
    "ball1": pr.Ball([0.1, 0.0], 0.8, p=1),
    "triangle": pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("name", list(DOMAINS))
def test_export_round_trip(name, rng, tmp_path):
    import highspy

    net = _net(rng)
    dom = DOMAINS[name]
    _, _, margin = max_margin_pattern(net, dom)  # highspy on the in-memory model
    lp_path, mps_path = tmp_path / "m.lp", tmp_path / "m.mps"
    export_model(net, dom, lp_path)
    export_model(net, dom, mps_path)
    # HiGHS reads both files on its own
    for path in (lp_path, mps_path):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.readModel(str(path))
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        assert h.getInfo().objective_function_value == pytest.approx(margin, abs=1e-7)
    # PuLP reads the MPS back; its CBC finds the same optimum
    _, prob = pulp.LpProblem.fromMPS(str(mps_path), sense=pulp.LpMaximize)
    prob.solve(make_solver("cbc"))
    assert pulp.LpStatus[prob.status] == "Optimal"
    assert pulp.value(prob.objective) == pytest.approx(margin, abs=1e-6)
    names = {v.name for v in prob.variables()}
    assert {"t", "x_0", "x_1", "z_1_0", "z_2_0"} <= names


def test_l2_ball_export_is_an_outer_approximation(rng, tmp_path):
    net = _net(rng)
    ball = pr.Ball([0.1, 0.0], 0.8, p=2)
    _, _, margin = max_margin_pattern(net, ball)
    prob = export_model(net, ball, tmp_path / "m.lp", l2_outer=True)
    prob.solve(make_solver("highs"))
    assert pulp.value(prob.objective) >= margin - 1e-7  # a relaxation: never below the ball's optimum


@pytest.mark.parametrize("solver", ["cbc", "pulp-highs"])
def test_counting_with_pulp_solvers(solver, rng):
    net = _net(rng, widths=(3, 3))
    for dom in (DOMAINS["box"], DOMAINS["ball1"]):
        ref = pr.count_regions(net, dom).count
        res = count_regions_milp(net, dom, solver=solver)
        assert res.complete and res.count == ref


def test_status_table_and_an_infeasible_model():
    assert PULP_STATUS[(1, 1)] is Status.OPTIMAL
    assert PULP_STATUS[(1, 2)] is Status.LIMIT  # an incumbent at a limit is not an optimum
    assert PULP_STATUS[(0, 0)] is Status.LIMIT
    assert PULP_STATUS.get((-3, 0), Status.ERROR) is Status.ERROR
    m = LinearModel()
    x = m.add_col(0.0, 1.0, "x", integer=True)
    m.add_row([x], [1.0], 2.0, math.inf, "too_big")  # x >= 2 with x <= 1
    for solver in ("cbc", "highs"):
        sol = PulpDriver(m, solver=solver).minimize({x: 1.0})
        assert sol.status is Status.INFEASIBLE and sol.x is None


def test_build_problem_and_solver_names():
    m = LinearModel()
    x = m.add_col(-math.inf, 3.0, "x")
    y = m.add_col(0.0, math.inf, "y", integer=True)
    m.add_row([x, y], [1.0, 1.0], -math.inf, 2.5, "cap")
    m.objective, m.sense = {x: 1.0, y: 1.0}, "max"
    prob = build_problem(m)
    prob.solve(make_solver("cbc"))
    assert pulp.value(prob.objective) == pytest.approx(2.5)
    with pytest.raises(pr.InvalidInputError, match="`solver` must be 'cbc' or 'highs'"):
        make_solver("glpk")
