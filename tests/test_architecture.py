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
    assert not {t for t in graph["polyregions.domains.convex"] if t.startswith("polyregions.solvers")} - {
        "polyregions.solvers.scipy_lp"}


@pytest.mark.parametrize("name", ["polyregions.search.engine", "polyregions.api", "polyregions.search.parallel",
                                  "polyregions.search.checkpoint", "polyregions.milp.milp", "polyregions.milp.encoding",
                                  "polyregions.milp.propagate", "polyregions.domains.convex", "polyregions._validate",
                                  "polyregions.result", "polyregions.model.network", "polyregions.bounds.local",
                                  "polyregions.solvers.base", "polyregions.solvers.registry",
                                  "polyregions.solvers.highs", "polyregions.solvers.scipy_lp",
                                  "polyregions.solvers.numba_lp", "polyregions.solvers.pulp_milp",
                                  "polyregions.solvers.cvxpy_conic"])
def test_module_size(name):
    path, _ = MODULES[name]
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_each_solver_library_is_called_from_one_module():
    """highspy is imported only by solvers/highs.py, scipy.optimize only by solvers/scipy_lp.py, numba
    only by solvers/jit.py (every kernel caches where a change of any kernel source is seen)."""
    homes = {"highspy": "polyregions.solvers.highs", "scipy.optimize": "polyregions.solvers.scipy_lp",
             "numba": "polyregions.solvers.jit"}
    for name in MODULES:
        for target, _, line in _imports(name):
            for library, home in homes.items():
                if target == library or target.startswith(library + "."):
                    assert name == home, f"{name} imports {library} (line {line}); its calls belong in {home}"
