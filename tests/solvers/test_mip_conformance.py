"""One conformance suite for every MIP driver (``make_mip_driver``): HiGHS and PuLP's CBC and HiGHS.

Each driver solves the same small models, built as a solver-neutral ``LinearModel``, whose
optima are worked out by hand in each test. What a driver may do differently is listed
in ``EXCEPTIONS`` and nowhere else.
"""

from __future__ import annotations

import math

import pytest

import polyregions as pr
from polyregions.solvers.base import LinearModel, Status
from polyregions.solvers.base import MIP_DRIVERS
from polyregions.solvers.registry import MIP_SOLVERS, make_mip_driver

pytest.importorskip("pulp")

DRIVERS = list(MIP_SOLVERS)

#: Driver-specific behaviour, read from the declared features: the only places where drivers
#: may differ ("cutoff_search": stops at the first solution below a cutoff, unproven; the
#: others solve to optimality).
EXCEPTIONS = {"cutoff_search": {name for name, cap in MIP_DRIVERS.items() if "cutoff_search" in cap.features}}

TOL = 1e-7


def knapsack(mip=True):
    """max 5a + 4b + 3c  s.t.  2a + 3b + c <= 5, a, b, c in {0, 1}.

    By hand: {a, b} weighs 5 and is worth 9, {a, c} 8, {b, c} 7, {a, b, c} weighs 6 (too
    heavy): the optimum is 9 at (1, 1, 0). The LP relaxation fills by value per weight,
    c (3), a (2.5), then b (4/3) up to 2/3: 3 + 5 + 8/3 = 32/3.
    """
    m = LinearModel()
    cols = [m.add_col(0.0, 1.0, name, integer=True) for name in "abc"]
    m.add_row(cols, [2.0, 3.0, 1.0], -math.inf, 5.0, "weight")
    return m, cols, {cols[0]: -5.0, cols[1]: -4.0, cols[2]: -3.0}


@pytest.mark.parametrize("name", DRIVERS)
def test_lp_optimum(name):
    """max x + y  s.t.  x + 2y <= 4, 3x + y <= 6, x, y >= 0: the vertex (1.6, 1.2), value 2.8."""
    m = LinearModel()
    x, y = m.add_col(0.0, math.inf, "x"), m.add_col(0.0, math.inf, "y")
    m.add_row([x, y], [1.0, 2.0], -math.inf, 4.0, "r1")
    m.add_row([x, y], [3.0, 1.0], -math.inf, 6.0, "r2")
    sol = make_mip_driver(m, name, mip=False).minimize({x: -1.0, y: -1.0})
    assert sol.status is Status.OPTIMAL
    assert sol.value == pytest.approx(-2.8, abs=TOL)
    assert sol.x[x] == pytest.approx(1.6, abs=TOL) and sol.x[y] == pytest.approx(1.2, abs=TOL)


@pytest.mark.parametrize("name", DRIVERS)
def test_mip_optimum_and_its_bound(name):
    m, cols, cost = knapsack()
    driver = make_mip_driver(m, name, mip=True)
    sol = driver.minimize(cost)
    assert sol.status is Status.OPTIMAL and sol.proven
    assert sol.value == pytest.approx(-9.0, abs=TOL)
    assert [round(sol.x[c]) for c in cols] == [1, 1, 0]
    assert sol.bound <= sol.value + TOL and sol.bound == pytest.approx(-9.0, abs=1e-6)
    assert driver.solves == 1


@pytest.mark.parametrize("name", DRIVERS)
def test_lp_relaxation(name):
    m, _, cost = knapsack()
    sol = make_mip_driver(m, name, mip=False).minimize(cost)
    assert sol.status is Status.OPTIMAL
    assert sol.value == pytest.approx(-32.0 / 3.0, abs=TOL)


@pytest.mark.parametrize("name", DRIVERS)
def test_rows_and_bounds_added_between_solves_are_seen(name):
    """After a + b <= 1 the best is {a, c} = 8; after also fixing a = 0, {b, c} = 7."""
    m, cols, cost = knapsack()
    driver = make_mip_driver(m, name, mip=True)
    assert driver.minimize(cost).value == pytest.approx(-9.0, abs=TOL)
    m.add_row(cols[:2], [1.0, 1.0], -math.inf, 1.0, "not_both")
    assert driver.minimize(cost).value == pytest.approx(-8.0, abs=TOL)
    m.set_bounds(cols[0], 0.0, 0.0)
    sol = driver.minimize(cost)
    assert sol.value == pytest.approx(-7.0, abs=TOL)
    assert [round(sol.x[c]) for c in cols] == [0, 1, 1]
    assert driver.solves == 3


@pytest.mark.parametrize("name", DRIVERS)
def test_infeasible(name):
    m = LinearModel()
    x = m.add_col(0.0, 1.0, "x", integer=True)
    m.add_row([x], [1.0], 2.0, math.inf, "too_big")  # x >= 2 with x <= 1
    sol = make_mip_driver(m, name, mip=True).minimize({x: 1.0})
    assert sol.status is Status.INFEASIBLE and sol.x is None


@pytest.mark.parametrize("name", DRIVERS)
def test_cutoff(name):
    """Only {a, b} (value 9) beats the cutoff -8.5: every driver returns it; a cutoff search
    says it has not proven optimality."""
    m, cols, cost = knapsack()
    sol = make_mip_driver(m, name, mip=True).minimize(cost, cutoff=-8.5)
    assert sol.status is Status.OPTIMAL and sol.value == pytest.approx(-9.0, abs=TOL)
    assert sol.proven is (name not in EXCEPTIONS["cutoff_search"])


@pytest.mark.parametrize("name", DRIVERS)
def test_cutoff_without_a_better_solution(name):
    """Nothing beats -9.5: a cutoff search reports INFEASIBLE unproven (the caller confirms it by a
    full solve); a full solve returns the optimum 9, which is above the cutoff."""
    m, _, cost = knapsack()
    sol = make_mip_driver(m, name, mip=True).minimize(cost, cutoff=-9.5)
    if name in EXCEPTIONS["cutoff_search"]:
        assert sol.status is Status.INFEASIBLE and not sol.proven
    else:
        assert sol.status is Status.OPTIMAL and sol.value == pytest.approx(-9.0, abs=TOL)


def test_unknown_driver():
    with pytest.raises(pr.InvalidInputError, match="`solver` must be one of"):
        make_mip_driver(LinearModel(), "gurobi", mip=True)
