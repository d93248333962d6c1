"""The shape of the package: imports flow one way and private names stay in their module.

Every module of ``polyregions`` (with ``solvers/`` as ``polyregions.solvers``) is parsed
with :mod:`ast`; every import counts, including those inside functions. The graph of
imports among the package's modules must have no cycle, and no module may import a
private name (``_x``) from another module of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Where each package's source lives (the distribution maps solvers/ to polyregions.solvers).
PACKAGE_DIRS = {"polyregions": ROOT / "polyregions", "polyregions.solvers": ROOT / "solvers"}
#: Modules whose private imports are still being moved to public names (checked as soon as
#: they import none).
PRIVATE_IMPORT_PENDING = {"polyregions.studies.tightness", "polyregions.studies.constructions"}
#: Modules held to the line limit.
MAX_LINES = 600


def _modules():
    """``{dotted name: (path, is_package)}`` for every module of the package."""
    out = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = list(rel.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([package, *parts])
            if name.startswith("polyregions.solvers.") and package == "polyregions":
                continue
            out[name] = (path, is_package)
    return out


MODULES = _modules()


def _imports(name):
    """``[(target module, imported names, line)]`` for every import in module `name`."""
    path, is_package = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            found.append((target, [n for n in names if f"{target}.{n}" not in MODULES], node.lineno))
            found.extend((sub, [], node.lineno) for sub in submodules)
    return found


def _graph():
    graph = {}
    for name in MODULES:
        graph[name] = {target for target, _, _ in _imports(name) if target in MODULES and target != name}
    return graph


def _cycle(graph):
    """One cycle of `graph` as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_every_module_is_found():
    for name in ("polyregions.search.engine", "polyregions.api", "polyregions.milp.encoding", "polyregions.milp.milp",
                 "polyregions.solvers.registry", "polyregions.solvers.highs", "polyregions.bounds.local"):
        assert name in MODULES


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle():
    """Package ``__init__`` files re-export their modules; a module importing its own package's
    ``__init__`` would close a loop through it, so those edges count too."""
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_imported_from_another_module(name):
    bad = [f"{target}.{n} (line {line})" for target, names, line in _imports(name)
           if target in MODULES for n in names if n.startswith("_") and not n.startswith("__")]
    if bad and name in PRIVATE_IMPORT_PENDING:
        pytest.skip(f"private imports being replaced by public names: {', '.join(bad)}")
    assert not bad, f"{name} imports private names: {', '.join(bad)}"


def test_the_algorithm_does_not_reach_back_into_the_public_api():
    """The engine, the encoding and the solvers never import the modules that use them."""
    graph = _graph()
    assert "polyregions.api" not in graph["polyregions.search.parallel"]
    assert "polyregions.api" not in graph["polyregions.milp.milp"]
    assert "polyregions.milp.milp" not in graph["polyregions.milp.propagate"]
    for name in MODULES:
        if name.startswith("polyregions.solvers"):
            outside = {t for t in graph[name] if not t.startswith("polyregions.solvers") and t != "polyregions.errors"}
            assert not outside, f"{name} imports {sorted(outside)}"
    for name in ("polyregions.domains.base", "polyregions.domains.convex", "polyregions.domains.slices"):
        assert not {t for t in graph[name] if t.startswith("polyregions.solvers")} - {"polyregions.solvers.registry"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    path, _ = MODULES[name]
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_algorithms_reach_solvers_only_through_the_registry():
    """Outside polyregions.solvers, only the registry, the interface module, the kernel decorator
    (solvers/jit.py: compiled kernels and their compile time, no solver) and the stack kernels
    (solvers/stack_kernels.py: push, pop and test on a compiled backend's arrays, which the
    compiled search's kernel calls; no solver chosen there) are imported; inside, no backend
    imports the registry (it reads their declarations, they never read it)."""
    allowed = {"polyregions.solvers", "polyregions.solvers.registry", "polyregions.solvers.base",
               "polyregions.solvers.jit", "polyregions.solvers.stack_kernels"}
    for name in MODULES:
        for target, _, line in _imports(name):
            if not target.startswith("polyregions.solvers"):
                continue
            if name.startswith("polyregions.solvers"):
                assert target != "polyregions.solvers.registry" or name == "polyregions.solvers", \
                    f"{name} imports the registry (line {line})"
            else:
                assert target in allowed, f"{name} imports {target} (line {line}): go through the registry"


def test_each_solver_library_is_called_from_one_module():
    """highspy is imported only by solvers/highs.py, scipy.optimize only by solvers/scipy_lp.py, cvxpy
    only by solvers/cvxpy_conic.py, pulp only by solvers/pulp_milp.py, numba only by solvers/jit.py
    (every kernel caches where a change of any kernel source is seen)."""
    homes = {"highspy": "polyregions.solvers.highs", "scipy.optimize": "polyregions.solvers.scipy_lp",
             "cvxpy": "polyregions.solvers.cvxpy_conic", "pulp": "polyregions.solvers.pulp_milp",
             "numba": "polyregions.solvers.jit"}
    for name in MODULES:
        for target, _, line in _imports(name):
            for library, home in homes.items():
                if target == library or target.startswith(library + "."):
                    assert name == home, f"{name} imports {library} (line {line}); its calls belong in {home}"


#: The concrete domains whose type no algorithm may test: each domain answers for itself.
CONCRETE_DOMAINS = {"Box", "Ball", "Polytope", "Whole"}
#: Where a type test of a concrete domain is in its place: the domains themselves, and the
#: command line that builds them from its options.
DOMAIN_TYPE_TESTS_ALLOWED = ("polyregions.domains.", "polyregions.cli.")


def _domain_type_tests(name):
    """``[(line, type)]`` for every ``isinstance(x, T)`` / ``isinstance(x, (T, ...))`` in module
    `name` with ``T`` a concrete domain (by name, or as ``module.T``)."""
    path, _ = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass") \
                and len(node.args) == 2:
            spec = node.args[1]
            for t in (spec.elts if isinstance(spec, ast.Tuple) else [spec]):
                tname = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
                if tname in CONCRETE_DOMAINS:
                    found.append((node.lineno, tname))
    return found


def test_the_type_test_finder_finds_type_tests(tmp_path, monkeypatch):
    sample = tmp_path / "sample.py"
    sample.write_text("import polyregions as pr\n"
                      "def f(d):\n    return isinstance(d, pr.Ball) or isinstance(d, (Box, int))\n")
    monkeypatch.setitem(MODULES, "sample", (sample, False))
    assert _domain_type_tests("sample") == [(3, "Ball"), (3, "Box")]


def test_no_algorithm_tests_the_type_of_a_domain():
    """The domains answer the algorithms' geometric questions (polyregions.domains.base), so no
    module outside the domains and the command line asks ``isinstance(domain, Box)``."""
    bad = [f"{name}:{line} ({t})" for name in sorted(MODULES) if not name.startswith(DOMAIN_TYPE_TESTS_ALLOWED)
           for line, t in _domain_type_tests(name)]
    assert not bad, "type tests of concrete domains outside polyregions.domains: " + ", ".join(bad)


def test_the_adapters_import_the_model_not_the_reverse():
    """The torch and ONNX adapters build the network (they import it and the neutral graph
    assembler); the network imports neither (its ``from_torch`` / ``from_onnx`` entry points name
    them by module path only, on first use), and the ONNX adapter does not go through the torch one."""
    graph = _graph()
    for adapter in ("polyregions.model.torch_import", "polyregions.model.onnx_import"):
        assert {"polyregions.model.network", "polyregions.model.graph"} <= graph[adapter]
        assert adapter not in graph["polyregions.model.network"]
    assert "polyregions.model.torch_import" not in graph["polyregions.model.onnx_import"]
    assert not {t for t in graph["polyregions.model.graph"] if t.startswith("polyregions.model.")}
