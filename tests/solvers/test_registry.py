"""The registry reads the declared capabilities: "auto", every refusal, the lists of backends.

Every (backend, domain) pair is served or refused with the registry's one message; "auto"
follows the declarations; the command line lists what the registry declares.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.solvers import registry
from polyregions.solvers.base import MIP_DRIVERS, PROBLEM_KINDS, REGION_BACKENDS, RegionProblem
from polyregions.solvers.registry import (BACKENDS, backend_names, choose_backend, make_backend, refusal,
                                          region_problem)

#: One domain of each kind, with its kind worked out by hand.
DOMAINS = {
    "polyhedral": [pr.Box([-1.0, -1.0], [1.0, 1.0]), pr.Ball([0.0, 0.0], 1.0, p=math.inf),
                   pr.Polytope([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 1.0])],
    "l1": [pr.Ball([0.0, 0.0], 1.0, p=1)],
    "l2": [pr.Ball([0.0, 0.0], 1.0, p=2)],
    "unbounded": [pr.Whole(2), pr.Polytope([[1.0, 0.0]], [1.0])],
}
PAIRS = [(name, kind, domain) for name in BACKENDS for kind, domains in DOMAINS.items() for domain in domains]


def test_every_kind_has_a_domain_and_a_server():
    assert set(DOMAINS) == set(PROBLEM_KINDS)
    for kind, domains in DOMAINS.items():
        assert all(region_problem(d, 1e-7).kind == kind for d in domains)
        assert registry.serving(kind)


@pytest.mark.parametrize("name, kind, domain", PAIRS, ids=[f"{n}-{k}-{type(d).__name__}" for n, k, d in PAIRS])
def test_each_backend_serves_or_refuses_each_domain(name, kind, domain):
    """Served: the backend is built and finds the domain's interior; else refused, before it is
    built, with the registry's message (one format: names the backend, the kind, the others)."""
    if any(not registry._installed(m) for m in BACKENDS[name].requires):
        pytest.skip(f"{name} needs {BACKENDS[name].requires}")
    problem = region_problem(domain, 1e-7)
    if kind in BACKENDS[name].kinds:
        assert refusal(name, kind) is None
        res = make_backend(name, problem).test(domain.center_point())
        assert res.keep and res.radius > 1e-7
    else:
        message = refusal(name, kind)
        assert message.startswith(f"`backend` {name!r} does not serve {PROBLEM_KINDS[kind]}: it serves ")
        assert all(repr(other) in message for other in registry.serving(kind))
        with pytest.raises(pr.InvalidInputError) as info:
            make_backend(name, problem)
        assert str(info.value) == message


def test_a_refused_backend_is_refused_by_the_search_and_the_milp_with_the_same_message():
    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    ball = pr.Ball([0.0, 0.0], 1.0)
    for call in (lambda: pr.count_regions(net, ball, backend="numba"),
                 lambda: pr.count_regions(net, ball, backend="numba", method="milp")):
        with pytest.raises(pr.InvalidInputError) as info:
            call()
        assert str(info.value) == refusal("numba", "l2")


def _problem(kind, dim):
    c, A, b = np.zeros(dim), np.vstack([np.eye(dim), -np.eye(dim)]), np.ones(2 * dim)
    return {"polyhedral": RegionProblem(dim, A, b, 1e-7),
            "l1": RegionProblem(dim, A[:0], b[:0], 1e-7, l1_ball=(c, 1.0)),
            "l2": RegionProblem(dim, A[:0], b[:0], 1e-7, l2_ball=(c, 1.0)),
            "unbounded": RegionProblem(dim, A[:0], b[:0], 1e-7, t_cap=1.0)}[kind]


@pytest.mark.parametrize("kind", list(PROBLEM_KINDS))
@pytest.mark.parametrize("dim", [2, 20, 21, 200])
def test_auto_is_the_lowest_ranked_declared_server(kind, dim):
    """What "auto" builds, worked out from the declarations independently of choose_backend."""
    ranked = sorted((cap.auto_rank, name) for name, cap in REGION_BACKENDS.items()
                    if cap.auto_rank is not None and kind in cap.kinds
                    and (cap.auto_max_dim is None or dim <= cap.auto_max_dim))
    assert choose_backend(_problem(kind, dim)) == ranked[0][1]


def test_auto_follows_the_documented_policy():
    assert choose_backend(_problem("polyhedral", 4)) == "numba"
    assert choose_backend(_problem("polyhedral", 64)) == "bounded"
    assert choose_backend(_problem("l1", 4)) == "bounded"
    assert choose_backend(_problem("l2", 4)) == "projection"
    assert choose_backend(_problem("unbounded", 4)) == "highs"


def test_auto_without_numba_is_highs(monkeypatch):
    real = registry._installed
    monkeypatch.setattr(registry, "_installed", lambda m: m != "numba" and real(m))
    for kind in PROBLEM_KINDS:
        assert choose_backend(_problem(kind, 4)) == "highs"


def test_unknown_names_are_refused():
    with pytest.raises(pr.InvalidInputError, match=r"`backend` must be one of \['auto', "):
        make_backend("gurobi", _problem("polyhedral", 2))
    with pytest.raises(pr.InvalidInputError, match="`solver` must be one of"):
        registry.make_mip_driver(None, "gurobi", mip=True)


def test_every_declaration_names_a_class_with_its_name():
    for name, cap in REGION_BACKENDS.items():
        if all(registry._installed(m) for m in cap.requires):
            factory = registry.backend_factory(name)
            assert factory.func.name == name and factory.func.capabilities is cap
    assert set(registry.MIP_SOLVERS) == set(MIP_DRIVERS)


def test_the_command_line_lists_the_registry_s_backends():
    from polyregions.cli.main import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["count"].format_help()
    for name in backend_names():
        assert name in text
    described = registry.describe_backends()
    assert all(f"{name}: " in described for name in backend_names())


def test_the_docs_list_the_registry_s_backends():
    """docs/architecture.md's backend table names every declared backend with the kinds it serves;
    the README names every backend."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    text = (root / "docs" / "architecture.md").read_text()
    table = text[text.index("| backend | serves |"):].split("\n\n")[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z-]+)` \| ([^|]+) \|", table, re.M)}
    assert set(rows) == set(BACKENDS)
    words = {"polyhedral": "polyhedral", "l1": "L1", "l2": "L2", "unbounded": "every domain"}
    for name, cap in BACKENDS.items():
        if cap.kinds == set(PROBLEM_KINDS):
            assert rows[name].strip() == "every domain"
        else:
            assert all(words[k] in rows[name] for k in cap.kinds), name
    readme = (root / "README.md").read_text()
    assert all(f"`{name}`" in readme or f'"{name}"' in readme for name in BACKENDS)


# ---------------------------------------------------------------------------------------------
# where a search begins while a backend's kernels are not compiled

def test_a_backend_whose_kernels_are_not_ready_starts_on_highs(monkeypatch):
    """While the compiled backends' kernels are neither imported nor cached, a search for one
    begins on HiGHS (the only installed backend "auto" may choose that declares no kernels);
    a backend without kernels, or whose kernels are ready, begins on itself."""
    monkeypatch.setattr(registry, "kernels_ready", lambda name: not REGION_BACKENDS[name].kernels)
    for kind, dim, name in (("polyhedral", 4, "numba"), ("polyhedral", 64, "bounded"), ("l1", 4, "bounded"),
                            ("l2", 4, "projection")):
        assert registry.starting_backend(name, _problem(kind, dim)) == "highs"
    for name in ("highs", "scipy"):
        assert registry.starting_backend(name, _problem("polyhedral", 4)) == name
    monkeypatch.setattr(registry, "kernels_ready", lambda name: True)
    assert registry.starting_backend("bounded", _problem("polyhedral", 64)) == "bounded"


def test_without_highs_a_search_starts_on_its_own_backend(monkeypatch):
    real = registry._installed
    monkeypatch.setattr(registry, "_installed", lambda m: m != "highspy" and real(m))
    monkeypatch.setattr(registry, "kernels_ready", lambda name: False)
    assert registry.starting_backend("bounded", _problem("polyhedral", 64)) == "bounded"


def test_kernels_are_ready_once_imported_and_none_are_needed_without_kernels():
    for name, cap in REGION_BACKENDS.items():
        if not cap.kernels:
            assert registry.kernels_ready(name)
    registry.backend_factory("numba")  # imports (compiles or loads) its kernels
    assert registry.kernels_ready("numba")


DECLARED = """
import sys
from polyregions.solvers import jit, registry
before = set(sys.modules)
registry.backend_factory({name!r})
print(sorted(m.rsplit(".", 1)[1] for m in jit.KERNEL_MODULES if m in sys.modules and m not in before
             and m != "polyregions.solvers.jit"))
"""


@pytest.mark.parametrize("name", list(REGION_BACKENDS))
def test_each_backend_declares_the_kernels_its_import_compiles(name, tmp_path):
    """In a fresh process, building a backend's class imports exactly the kernel modules it
    declares (what the kernel cache must hold before it builds without compiling), and it hands
    its stack to the compiled search exactly when it declares so."""
    import os
    import subprocess
    import sys

    cap = REGION_BACKENDS[name]
    if not all(registry._installed(m) for m in cap.requires):
        pytest.skip(f"{name} is not installed")
    proc = subprocess.run([sys.executable, "-c", DECLARED.format(name=name)], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ), cwd=tmp_path)  # the installed package, not ./polyregions
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[-2] == repr(sorted(cap.kernels))
    cls = registry.backend_factory(name).func
    assert hasattr(cls, "compiled_stack") == ("compiled_stack" in cap.features)
