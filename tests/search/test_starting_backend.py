"""A search begins on HiGHS while its compiled backend's kernels are not compiled, and moves to it.

Every count asserted here comes from an independent source: the exact rational reference
(tests/exact_reference.py) on small random networks (weights in multiples of 1/8) in boxes,
L-inf and L1 balls and polytopes, or the count of the same search with the backend forced
(compiled from the first node). "Not compiled" is simulated: the registry reads a backend's
kernels as ready only once this test process has built that backend since the test began (as a
fresh install does on an empty kernel cache).
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest

import polyregions as pr
import polyregions.search.parallel as parallel
from polyregions.driver import drive
from polyregions.search import compiled
from polyregions.search.compiled import CompiledSearch, make_search
from polyregions.search.engine import DEFAULT_EPS
from polyregions.solvers import registry

KINDS = ["box", "inf", "l1", "polytope"]


@pytest.fixture
def not_compiled(monkeypatch):
    """Kernels read as ready only for backends built since the test began; the process has run no
    search on a starting backend yet. Returns the list of backends built, in order."""
    built = []
    factory = registry.backend_factory

    def tracking(name):
        built.append(name)
        return factory(name)

    monkeypatch.setattr(registry, "backend_factory", tracking)
    monkeypatch.setattr(registry, "kernels_ready",
                        lambda name: not registry.BACKENDS[name].kernels or name in built)
    monkeypatch.setattr(compiled, "_STARTED", {})
    return built


def random_case(rng, kind):
    """A random net (1-3 inputs, one or two layers of 1-5 neurons, weights in multiples of 1/8)
    and a random domain of `kind` (coordinates in multiples of 1/8)."""
    n0 = int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(1, 6, size=int(rng.integers(1, 3)))]
    fans = [n0] + widths[:-1]
    weights = [np.round(rng.normal(size=(w, f)) * 8) / 8 for w, f in zip(widths, fans)]
    biases = [np.round(rng.normal(size=w) * 4) / 8 for w in widths]
    eighths = lambda v: np.round(np.asarray(v) * 8) / 8  # noqa: E731
    center = eighths(rng.uniform(-1, 1, n0))
    if kind == "box":
        domain = pr.Box(center - eighths(rng.uniform(0.25, 1.5, n0)), center + eighths(rng.uniform(0.25, 1.5, n0)))
    elif kind in ("inf", "l1"):
        domain = pr.Ball(center, float(eighths(rng.uniform(0.5, 2.0))), p="inf" if kind == "inf" else 1)
    else:
        cuts = eighths(rng.normal(size=(2, n0)))
        A = np.vstack([np.eye(n0), -np.eye(n0), cuts])
        domain = pr.Polytope(A, np.concatenate([center + 1.0, 1.0 - center, cuts @ center + 0.5]))
    return pr.Network.from_dense(weights, biases), weights, biases, domain


def patterns(search):
    root = search.root()
    pats = [] if root is None else [tuple(search.bits) for _ in search.run(root)]
    assert len(pats) == len(set(pats)), "a pattern was reached twice"
    return set(pats)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("moves", [False, True])
def test_the_regions_are_exact_on_highs_and_across_the_move(monkeypatch, not_compiled, kind, moves):
    """Random nets: the search that stays on HiGHS and the one that moves to the compiled backend
    at its first clean point (the root decided on HiGHS, the rest compiled) both find exactly the
    rational reference's regions, and the count of the backend forced from the first node."""
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 1e-9 if moves else 1e9)
    rng = np.random.default_rng([11, KINDS.index(kind)])
    moved = 0
    for _ in range(6):
        net, weights, biases, domain = random_case(rng, kind)
        expected = ref.exact_patterns(weights, biases, domain, eps=DEFAULT_EPS)
        not_compiled.clear()
        compiled._STARTED.clear()
        search = make_search(net, domain, DEFAULT_EPS, "auto", True)
        target = search.target
        assert target in ("numba", "bounded") and type(search) is CompiledSearch
        assert search.lp.name == "highs"
        assert patterns(search) == expected, (kind, moves, [w.shape for w in weights])
        moved += search.lp.name == target  # a search that never parks a child (one node) stays
        assert search.lp.name == "highs" or moves
        assert (search.retired_solves > 0) == (search.lp.name == target)
        assert search.lp_solves == search.retired_solves + search.lp.lp_solves
        forced = make_search(net, domain, DEFAULT_EPS, target, True, compiled=True)
        assert sum(forced.counts(forced.root())) == len(expected)
    assert moved >= (3 if moves else 0)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_count_that_moves_in_its_middle_counts_as_the_forced_backend(monkeypatch, not_compiled, rng,
                                                                       random_dense_net, workers):
    """count_regions on a 21-input box ("auto": the fixed-margin test), starting on HiGHS and
    moving once it has run a few milliseconds, in one process or two: the count of the same
    search with the backend forced from the first node, every solver run counted."""
    net = random_dense_net(rng, 21, [10, 8])
    box = pr.Box(-np.ones(21), np.ones(21))
    forced = pr.count_regions(net, box, eps=1e-7, backend="bounded", workers=1)
    assert forced.complete and forced.count > 50
    not_compiled.clear()
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.005)
    monkeypatch.setattr(parallel, "LOCAL_START", 0.02)
    res = pr.count_regions(net, box, eps=1e-7, workers=workers)
    assert res.complete and res.count == forced.count
    assert not_compiled[:2] == ["highs", "bounded"]  # began on HiGHS, then built the compiled backend once
    assert not_compiled.count("bounded") == 1
    assert res.stats.lp_solves >= res.stats.nodes > 0


def test_a_named_backend_is_used_from_the_first_node(not_compiled):
    """A backend named explicitly (the CLI's --backend) is built at once, compiled or not; so is
    the backend of a search the compiled kernel does not serve (a pooling network) and of the
    Python search asked for (compiled=False), and the eager compiled search (compiled=True)."""
    box = pr.Box(-np.ones(3), np.ones(3))
    net = pr.Network.from_dense([np.eye(3)], [np.zeros(3)])
    assert make_search(net, box, DEFAULT_EPS, "bounded", True).lp.name == "bounded"
    assert make_search(net, box, DEFAULT_EPS, "auto", True, compiled=False).lp.name == "numba"
    assert make_search(net, box, DEFAULT_EPS, "auto", True, compiled=True).lp.name == "numba"
    assert "highs" not in not_compiled
    rng = np.random.default_rng(0)
    layers = [pr.Dense(rng.normal(size=(4, 2)), rng.normal(size=4)), pr.Unflatten((1, 2, 2)), pr.MaxPool2d((2, 2)),
              pr.Flatten(), pr.Dense(rng.normal(size=(3, 1)), rng.normal(size=3))]
    search = make_search(pr.Network(layers, input_shape=2), pr.Box(-np.ones(2), np.ones(2)), DEFAULT_EPS, "auto",
                         True)
    assert type(search) is not CompiledSearch and search.lp.name == "numba"


def test_short_counts_add_up_to_the_move(monkeypatch, not_compiled, rng, random_dense_net):
    """The time a process's searches ran on HiGHS adds up: once it reaches COMPILE_AFTER, the next
    search moves at its first clean point, however short it is."""
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.5)
    net = random_dense_net(rng, 3, [5, 4])
    box = pr.Box(-np.ones(3), np.ones(3))
    first = make_search(net, box, DEFAULT_EPS, "auto", True)
    n_first = sum(first.counts(first.root()))
    assert first.lp.name == "highs" and 0 < compiled._STARTED["numba"] < 0.5
    compiled._STARTED["numba"] = 0.5  # as after more short counts
    second = make_search(net, box, DEFAULT_EPS, "auto", True)
    assert sum(second.counts(second.root())) == n_first
    assert second.lp.name == "numba"


@pytest.mark.parametrize("after", [0.0, 0.05, 1e9])
def test_parallel_workers_search_on_the_backend_built_here(monkeypatch, not_compiled, rng, random_dense_net, after):
    """The parallel search's workers search on HiGHS while the count is younger than COMPILE_AFTER
    (never compiling), and on the compiled backend once this process has built it, once (forked
    before, the workers load it from the kernel cache): the count is the forced backend's
    whenever the move happens (at the pool's start, in the middle of the count, never)."""
    monkeypatch.setattr(parallel, "LOCAL_START", 0.0)
    monkeypatch.setattr(parallel, "TASK_BUDGET", 0.01)
    monkeypatch.setattr(parallel, "SPREAD_BUDGET", 0.001)
    monkeypatch.setattr(compiled, "COMPILE_AFTER", after)
    net = random_dense_net(rng, 4, [8, 8])
    box = pr.Box(-np.ones(4), np.ones(4))
    expected = make_search(net, box, DEFAULT_EPS, "numba", True, compiled=True)
    count = sum(expected.counts(expected.root()))
    not_compiled.clear()
    search = make_search(net, box, DEFAULT_EPS, "auto", True)
    assert search.lp.name == "highs"
    work = parallel.ParallelWork(search, [search.root()], workers=2)
    names = []
    chosen = work._backend_for_tasks

    def recording():
        changed = chosen()
        if changed:
            names.append(work.payload[3])
        return changed

    monkeypatch.setattr(work, "_backend_for_tasks", recording)
    res = drive(work)
    assert res.complete and res.count == count > 100
    if after == 0.0:
        assert names == ["numba"] and not_compiled == ["highs", "numba"]
    elif after == 0.05:
        assert names == ["highs", "numba"] and not_compiled == ["highs", "numba"]
    else:
        assert names == ["highs"] and not_compiled == ["highs"]
