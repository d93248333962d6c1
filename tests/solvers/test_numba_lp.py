"""Tests of the compiled dual-simplex backend (polyregions.solvers.numba_lp).

The reference is the HiGHS backend on the same problem, driven through the same
push / pop / test sequence: the keep decisions must be equal and the optimal radii equal
to 1e-9. Witnesses are checked directly against the rows (the LP's optimal face may hold
many centres, so the points themselves are not compared).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import make_backend
from polyregions.solvers import dense_kernels, numba_lp
from polyregions.solvers.numba_lp import NumbaBackend
from polyregions.solvers import region_problem

EPS = 1e-7


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def random_polytope(rng, d, m):
    """A bounded polytope with `m` random rows around the origin, without coordinate rows
    (the backend then starts from artificial box rows)."""
    while True:
        A = rng.normal(size=(m, d))
        P = pr.Polytope(A, rng.uniform(0.5, 1.5, size=m))
        if P.bounded:
            return P


def domains(rng):
    yield "box-2", pr.Box([-1.0, -2.0], [1.0, 0.5])
    yield "box-4", pr.Box(-np.ones(4), np.linspace(0.5, 2.0, 4))
    yield "box-8", pr.Box(-np.ones(8), np.ones(8))
    yield "linf-3", pr.Ball([0.5, -1.0, 2.0], 0.75, p=math.inf)
    yield "polytope-2", random_polytope(rng, 2, 7)
    yield "polytope-4", random_polytope(rng, 4, 12)
    yield "polytope-8", random_polytope(rng, 8, 24)
    # a polytope with coordinate rows on some sides only (artificial rows for the others)
    yield "simplex-3", pr.Polytope(np.vstack([-np.eye(3), np.ones((1, 3))]), np.array([1.0, 1.0, 1.0, 1.0]))


DOMAINS = dict(domains(np.random.default_rng(7)))


def rows_of(backend, domain):
    """The domain's rows and the backend's pushed rows, as (A, b)."""
    p = region_problem(domain, EPS)
    k = backend._level
    A = np.vstack([p.A, backend._R[backend._mD: backend._mD + k, : backend.n]])
    b = np.concatenate([p.b, backend._bv[backend._mD: backend._mD + k]])
    return A, b


def assert_witness(res, A, b):
    """The ball B(point, radius) lies inside every row (and the decision is honest)."""
    assert res.point is not None and res.radius > EPS
    slack = (b - A @ res.point) / np.linalg.norm(A, axis=1)
    assert slack.min() >= res.radius - 1e-12


def assert_same(r1, r2):
    assert r1.keep == r2.keep
    assert r1.depth == pytest.approx(r2.depth, rel=0, abs=1e-9)
    if r1.keep:
        assert r1.radius == pytest.approx(r2.radius, rel=0, abs=1e-9)
    else:
        assert r1.point is None


def random_walk(domain, rng, steps, *, check=None):
    """Drive NumbaBackend and HighsBackend through the same random walk, shaped like the
    search: descend on rows that keep the node's witness inside (testing the node or not),
    test children (push a row that may cut the node or miss it, test, pop), and backtrack."""
    p = region_problem(domain, EPS)
    nb, hb = make_backend("numba", p), make_backend("highs", p)
    d = domain.dim
    scale = domain.diameter / 4

    def both():
        r1, r2 = nb.test(), hb.test()
        assert_same(r1, r2)
        if r1.keep:
            assert_witness(r1, *rows_of(nb, domain))
        if check is not None:
            check(nb)
        return r2

    witness = [both().point]
    for _ in range(steps):
        u = rng.uniform()
        a = unit(rng.normal(size=d))
        x = witness[-1]
        if len(witness) > 1 and (u < 0.25 or len(witness) > 40):
            nb.pop()
            hb.pop()
            witness.pop()
        elif u < 0.7 or x is None:
            b = float(a @ (x if x is not None else domain.center_point()) + rng.uniform(-1.0, 0.3) * scale)
            nb.push(a, b)
            hb.push(a, b)
            both()
            nb.pop()
            hb.pop()
        else:
            b = float(a @ x + rng.uniform(0.0, 0.5) * scale)
            nb.push(a, b)
            hb.push(a, b)
            witness.append(both().point if u < 0.85 else x)
    return nb


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(DOMAINS))
def test_random_walks_agree_with_highs(name, seed):
    rng = np.random.default_rng([seed, list(DOMAINS).index(name)])
    nb = random_walk(DOMAINS[name], rng, 300)
    assert nb.pivots > nb.lp_solves  # the walk exercises the simplex, not only warm starts
    assert nb.fallbacks == sum(nb.fallback_reasons.values())


def test_sibling_tests_as_in_the_search(rng):
    """Deep nodes with many sibling children (push, test, pop): each agrees with HiGHS."""
    domain = DOMAINS["box-4"]
    p = region_problem(domain, EPS)
    nb, hb = make_backend("numba", p), make_backend("highs", p)
    x = domain.center_point()
    for level in range(25):
        for _ in range(6):
            a = unit(rng.normal(size=4))
            b = float(a @ x + rng.uniform(-0.6, 0.3))
            nb.push(a, b)
            hb.push(a, b)
            assert_same(nb.test(), hb.test())
            nb.pop()
            hb.pop()
        # descend on a row that keeps x inside
        a = unit(rng.normal(size=4))
        b = float(a @ x + rng.uniform(0.05, 0.4))
        nb.push(a, b)
        hb.push(a, b)
    assert nb.fallbacks == 0


def test_push_pop_restores_the_state(rng):
    domain = DOMAINS["box-8"]
    nb = make_backend("numba", region_problem(domain, EPS))
    rows = [(unit(rng.normal(size=8)), float(rng.uniform(0.1, 0.5))) for _ in range(10)]
    answers = [nb.test()]
    for a, b in rows:
        nb.push(a, b)
        answers.append(nb.test())
    for k in range(len(rows), 0, -1):
        # a detour below level k, then back
        for _ in range(3):
            nb.push(unit(rng.normal(size=8)), float(rng.uniform(-0.5, 0.5)))
            nb.test()
        for _ in range(3):
            nb.pop()
        again = nb.test()
        assert again.keep == answers[k].keep
        assert again.depth == pytest.approx(answers[k].depth, abs=1e-12)
        nb.pop()
    assert nb.test().depth == pytest.approx(answers[0].depth, abs=1e-12)
    with pytest.raises(pr.SolverError, match="pop"):
        nb.pop()


def test_the_stack_grows(rng):
    """More rows than the initial capacity (the arrays double)."""
    domain = DOMAINS["box-2"]
    p = region_problem(domain, EPS)
    nb, hb = make_backend("numba", p), make_backend("highs", p)
    n = 3 * numba_lp.INITIAL_LEVELS
    x = domain.center_point()
    for i in range(n):
        a = unit(rng.normal(size=2))
        b = float(a @ x + rng.uniform(0.2, 1.0))
        nb.push(a, b)
        hb.push(a, b)
        if i % 17 == 0:
            assert_same(nb.test(), hb.test())
    assert_same(nb.test(), hb.test())
    for _ in range(n):
        nb.pop()
        hb.pop()
    assert_same(nb.test(), hb.test())


@pytest.mark.parametrize("name", ["box-4", "polytope-4"])
def test_forced_fallback_agrees_with_highs(name, monkeypatch):
    """With no pivot allowed every test needing one goes to HiGHS (mirrored rows)."""
    monkeypatch.setattr(numba_lp, "MAX_PIVOTS", 0)
    rng = np.random.default_rng(3)
    nb = random_walk(DOMAINS[name], rng, 150)
    assert nb.fallbacks > 0
    assert nb.fallback_reasons.get("iteration limit", 0) > 0
    assert nb.lp_solves >= nb._solves + nb.fallbacks


def test_fallback_alternating_with_compiled_answers(monkeypatch):
    """Fallbacks every few tests: the mirror resynchronises after pops and pushes."""
    rng = np.random.default_rng(11)
    domain = DOMAINS["polytope-2"]
    calls = {"n": 0}
    real = numba_lp.chebyshev_test

    def flaky(*args):
        calls["n"] += 1
        status, t, radius, piv = real(*args)
        return (dense_kernels.SINGULAR if calls["n"] % 3 == 0 else status), t, radius, piv

    monkeypatch.setattr(numba_lp, "chebyshev_test", flaky)
    nb = random_walk(domain, rng, 200)
    assert nb.fallback_reasons.get("singular basis", 0) > 30


@pytest.mark.parametrize("setting", [("REFACTOR_EVERY", 1), ("BLAND_AFTER", 0), ("REFACTOR_EVERY", 3)])
def test_refactorisation_and_blands_rule(setting, monkeypatch):
    monkeypatch.setattr(numba_lp, *setting)
    rng = np.random.default_rng(5)
    for name in ("box-8", "polytope-4"):
        random_walk(DOMAINS[name], rng, 120)


def test_a_fallback_failure_is_an_error_not_empty(monkeypatch):
    from polyregions.solvers.highs import HighsBackend

    def broken(self, anchor=None):
        raise pr.SolverError("HiGHS returned kSolveError")

    monkeypatch.setattr(numba_lp, "MAX_PIVOTS", 0)
    monkeypatch.setattr(HighsBackend, "test", broken)
    nb = make_backend("numba", region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS))
    nb.push(unit([1.0, 1.0]), 0.0)
    with pytest.raises(pr.SolverError):
        nb.test()


@pytest.mark.parametrize("width, reason", [(2 * EPS, "near"), (2 * EPS * (1 + 1e-9), "near"), (0.0, "near")])
def test_decisions_near_a_threshold_go_to_highs(width, reason):
    """The strip 0 <= x1 <= width: Chebyshev radius width/2, at eps (or 0)."""
    p = region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS)
    nb, hb = make_backend("numba", p), make_backend("highs", p)
    for be in (nb, hb):
        be.push(unit([1.0, 0.0]), width)
        be.push(unit([-1.0, 0.0]), 0.0)
    r1, r2 = nb.test(), hb.test()
    assert nb.fallbacks == 1
    assert any(reason in k for k in nb.fallback_reasons)
    assert (r1.keep, r1.depth) == (r2.keep, r2.depth)


def test_clear_decisions_stay_compiled():
    p = region_problem(pr.Box([-1.0, -1.0], [1.0, 1.0]), EPS)
    nb = make_backend("numba", p)
    nb.push(unit([1.0, 0.0]), 1e-6)  # radius 5e-7 > eps: kept, not near
    nb.push(unit([-1.0, 0.0]), 0.0)
    res = nb.test()
    assert res.keep and res.depth == pytest.approx(5e-7, rel=1e-9)
    nb.pop()
    nb.pop()
    nb.push(unit([1.0, 0.0]), -1.5)  # misses the box: depth -0.25
    res = nb.test()
    assert not res.keep and res.depth == pytest.approx(-0.25, rel=1e-12)
    assert nb.fallbacks == 0


def test_artificial_rows_in_use_go_to_highs(monkeypatch):
    """Artificial box rows that cut the domain (forced here) must never decide a test."""
    tight = lambda A, b: (np.full(A.shape[1], -0.2), np.full(A.shape[1], 0.2))  # noqa: E731
    domain = pr.Polytope([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], [1.0, 0.0, 0.0])
    p = dataclasses.replace(region_problem(domain, EPS), box=tight(domain.A, domain.b))
    orig_init = NumbaBackend.__init__

    def shrink(self, problem):
        orig_init(self, problem)
        # move the artificial rows inside the triangle: -0.05 <= x_k - t, x_k + t <= 0.15
        for i in range(self._art_lo, self._art_hi):
            k = int(np.flatnonzero(self._R[i, : self.n])[0])
            self._bv[i] = 0.15 if self._R[i, k] > 0 else -0.05
        self._reset_root()

    monkeypatch.setattr(NumbaBackend, "__init__", shrink)
    nb, hb = NumbaBackend(p), make_backend("highs", p)
    assert nb._art_hi > nb._art_lo
    r1, r2 = nb.test(), hb.test()
    assert_same(r1, r2)
    assert r1.depth == pytest.approx(1 - 1 / math.sqrt(2), rel=1e-9)
    assert nb.fallback_reasons.get("artificial row in use", 0) == 1


def test_interface():
    nb = make_backend("numba", region_problem(pr.Box([0.0], [1.0]), EPS))
    assert isinstance(nb, NumbaBackend)
    assert nb.name == "numba" and nb.capabilities.features == frozenset({"lp", "compiled_stack"})
    assert nb.lp_solves == 0
    res = nb.test()
    assert res.keep and res.radius == pytest.approx(0.5) and res.point == pytest.approx([0.5])
    assert nb.lp_solves == 1
    with pytest.raises(pr.SolverError, match="finite"):
        nb.push(np.array([1.0]), 1e300)


@pytest.mark.parametrize("domain", [
    pr.Box([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]),
    pr.Ball([0.2, -0.1, 0.3], 1.5, p=math.inf),
    pr.Polytope(np.vstack([-np.eye(3), np.ones((1, 3))]), np.array([1.0, 1.0, 1.0, 1.0])),
], ids=["box", "linf", "simplex"])
def test_counts_equal_highs(domain, rng, random_dense_net):
    for widths in ([6], [5, 5], [4, 4, 4]):
        net = random_dense_net(rng, 3, widths)
        a = pr.count_regions(net, domain, eps=EPS, backend="numba")
        b = pr.count_regions(net, domain, eps=EPS, backend="highs")
        assert a.count == b.count
        assert a.stats.nodes == b.stats.nodes  # same decisions, same search


def test_enumerated_regions_equal_highs(rng, random_dense_net):
    net = random_dense_net(rng, 4, [6, 6])
    box = pr.Box(-np.ones(4), np.ones(4))
    r1 = list(pr.enumerate_regions(net, box, eps=EPS, backend="numba"))
    r2 = list(pr.enumerate_regions(net, box, eps=EPS, backend="highs"))
    assert [r.bits.tolist() for r in r1] == [r.bits.tolist() for r in r2]
    for r in r1:
        assert r.radius > EPS and box.contains(r.point)[0]


def test_a_failed_root_solve_restarts_from_the_first_basis(monkeypatch):
    """The root of a polytope needs pivots: with none allowed it falls back, and the root's
    state is rebuilt, so later compiled tests are right."""
    p = region_problem(DOMAINS["polytope-4"], EPS)
    nb, hb = make_backend("numba", p), make_backend("highs", p)
    monkeypatch.setattr(numba_lp, "MAX_PIVOTS", 0)
    assert_same(nb.test(), hb.test())
    assert nb.fallbacks == 1 and nb._meta[0, 1] == 1
    monkeypatch.setattr(numba_lp, "MAX_PIVOTS", 500)
    a = unit([1.0, -1.0, 0.5, 0.0])
    nb.push(a, 0.1)
    hb.push(a, 0.1)
    assert_same(nb.test(), hb.test())
    nb.pop()
    hb.pop()
    assert_same(nb.test(), hb.test())
    assert nb.fallbacks == 1
