"""The compiled kernels' cache: keyed on every kernel source, in one place, compiled only when used.

The stale-cache test plants a change in a callee kernel (another file than its caller's) in a
copy of the package and checks, in fresh processes, that the caller runs the changed code:
numba's own cache keeps the caller's compiled copy of the callee until the caller's file changes.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import polyregions
import polyregions.solvers
from polyregions.solvers import jit

PACKAGE = pathlib.Path(polyregions.__file__).resolve().parent
SOLVERS = pathlib.Path(polyregions.solvers.__file__).resolve().parent


def _copy_package(dest: pathlib.Path) -> pathlib.Path:
    """The imported package copied to `dest` as installed (``solvers/`` inside), file times kept."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PACKAGE, dest / "polyregions", ignore=ignore, symlinks=False)
    target = dest / "polyregions" / "solvers"
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    shutil.copytree(SOLVERS, target, ignore=ignore)
    return dest


def _run(code: str, copy: pathlib.Path | None, env_extra=None) -> str:
    """Run `code` in a fresh process: on the `copy` (numba's settings cleared), else on the
    package under test."""
    env = dict(os.environ)
    if copy is not None:
        env = {k: v for k, v in env.items() if not k.startswith("NUMBA_")}
        env["PYTHONPATH"] = str(copy)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", code], cwd=copy or PACKAGE.parent, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


# region_test (bounded_decide.py) calls slacks_radius (bounded_kernels.py), which LLVM inlines
# into it: numba's own cache would keep running the old slacks_radius. Without an anchor a kept
# node's radius is slacks_radius at the witness (the largest of a few candidates).
WALK = """
import numpy as np
import polyregions as pr
from polyregions.solvers import bounded_lp, jit, region_problem
assert bounded_lp.__file__.startswith({copy!r}), bounded_lp.__file__
backend = bounded_lp.BoundedDualBackend(region_problem(pr.Box(-np.ones(3), np.ones(3)), 1e-7))
rng = np.random.default_rng(1)
radii = []
for _ in range(6):
    backend.push(rng.normal(size=3), 0.2)
    res = backend.test()
    assert res.keep
    radii.append(res.radius)
print(jit.cache_directory())
print(" ".join(repr(r) for r in radii))
"""
CALLEE = ("            r = hi[j] - z[j]\n    return r\n", "            r = hi[j] - z[j]\n    return r + 1.0\n")


def test_a_change_in_a_callee_kernel_reaches_its_caller(tmp_path):
    copy = _copy_package(tmp_path / "copy")
    code = WALK.format(copy=str(copy))
    directory, before = _run(code, copy).splitlines()
    callee = copy / "polyregions" / "solvers" / "bounded_kernels.py"
    stamp = callee.stat()
    text = callee.read_text()
    assert text.count(CALLEE[0]) == 1
    callee.write_text(text.replace(*CALLEE))
    os.utime(callee, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # the old time: only the content changed
    directory2, after = _run(code, copy).splitlines()
    assert directory2 != directory  # a new cache directory for the new sources
    before, after = np.array(before.split(), float), np.array(after.split(), float)
    assert np.all(after == before + 1.0), (before, after)  # the caller runs the planted callee


def test_every_kernel_caches_in_the_keyed_directory():
    from polyregions.solvers import bounded_decide, bounded_kernels, dense_kernels, projection_kernels

    directory = jit.cache_directory()
    assert directory is not None and directory.endswith(jit.sources_key())
    for module in (bounded_decide, bounded_kernels, dense_kernels, projection_kernels):
        kernels = [v for v in vars(module).values() if hasattr(v, "stats") and v.__module__ == module.__name__]
        assert kernels
        for disp in kernels:
            assert disp.stats.cache_path.startswith(directory + os.sep), (disp, disp.stats.cache_path)


def test_a_kernel_outside_the_listed_modules_is_refused():
    def stray(x):
        return x

    stray.__module__ = "polyregions.somewhere_else"
    with pytest.raises(RuntimeError, match="KERNEL_MODULES"):
        jit.kernel("f8(f8)")(stray)


@pytest.mark.parametrize("refcounts, nrt", [(True, None), (False, False), ("always", True)])
def test_reference_counting_is_left_to_numba_turned_off_or_kept_in_callees(monkeypatch, refcounts, nrt):
    """numba passes a caller's ``_nrt`` down to callees that do not set it: "always" sets it."""
    seen = []
    monkeypatch.setattr(jit, "_jit", lambda func, options: seen.append(dict(options)) or func)

    def inner(x):
        return x

    inner.__module__ = "polyregions.solvers.jit"
    jit.kernel(internal=True, refcounts=refcounts)(inner)
    assert seen[0].get("_nrt") is nrt


def test_the_listed_modules_are_the_modules_that_define_kernels():
    """Every module using :func:`kernel` is listed (its source keys the cache), every listed
    module exists, and a kernel module imports from the package only kernel modules (the
    globals a kernel reads come from sources the key covers)."""
    users = set()
    for folder, package in ((PACKAGE, "polyregions"), (SOLVERS, "polyregions.solvers")):
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("").parts
            if package == "polyregions" and rel[0] == "solvers":
                continue
            name = ".".join((package, *rel))
            tree = ast.parse(path.read_text())
            imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
            if any(n.module and n.module.endswith("jit") and "kernel" in [a.name for a in n.names] for n in imports):
                users.add(name)
                for n in imports:
                    if n.level:
                        base = name.split(".")[: -n.level]
                        target = ".".join(base + ([n.module] if n.module else []))
                        assert target in jit.KERNEL_MODULES, f"{name} imports {target}, not a kernel module"
    assert users == set(jit.KERNEL_MODULES) - {"polyregions.solvers.jit"}
    for module in jit.KERNEL_MODULES:
        assert pathlib.Path(jit._source_path(module)).is_file(), module


LAZY = """
import sys
import numpy as np
import polyregions as pr
import polyregions.cli.main
import polyregions.api
eager = ("polyregions.solvers.linalg_kernels", "polyregions.solvers.dense_kernels",
         "polyregions.solvers.bounded_kernels", "polyregions.solvers.bounded_decide",
         "polyregions.solvers.projection_kernels")
print([m for m in eager if m in sys.modules])
net = pr.Network.from_dense([np.eye(4)], [np.zeros(4)])  # 4 inputs: the dense simplex
assert pr.count_regions(net, pr.Box(-np.ones(4), np.ones(4)), workers=1).count == 16
print([m for m in eager if m in sys.modules])
from polyregions.cells import polygon, polyhedron
print(len(polygon.split_cells_kernel.signatures) + len(polyhedron._split_cells.signatures))
from polyregions.search import compiled_kernels
print(len(compiled_kernels.run_search.signatures))  # a short search never compiles the search kernel
"""


def test_a_count_compiles_only_the_kernels_it_uses(tmp_path):
    """On an empty cache a short count compiles nothing (it runs on HiGHS: the dense simplex's
    kernels are not compiled); once they are in the cache (a forced backend compiled them), the
    same count loads the dense simplex's kernels and nothing else."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    imported, after, planar, search_kernel = _run(LAZY, None, env).splitlines()
    assert imported == "[]"  # importing the API and the command compiles nothing
    assert after == "[]"
    assert planar == "0" and search_kernel == "0"
    _run("import polyregions.solvers.registry as r; r.backend_factory('numba')", None, env)
    imported, after, planar, search_kernel = _run(LAZY, None, env).splitlines()
    assert imported == "[]"
    assert after == "['polyregions.solvers.linalg_kernels', 'polyregions.solvers.dense_kernels']"
    assert planar == "0" and search_kernel == "0"


def test_the_cache_marker_holds_while_the_sources_stamps_hold(tmp_path, monkeypatch):
    """A group marked after its modules were imported reads as cached until a source's stamp
    (modification time, size) changes, as numba's own index does; a group whose modules are not
    imported is not marked; an unreadable marker reads as not cached."""
    source = tmp_path / "kernels.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(jit, "cache_directory", lambda: str(tmp_path))
    monkeypatch.setattr(jit, "_source_path", lambda module: str(source))
    modules = ("polyregions.solvers.jit",)  # imported: its (planted) source is `source`
    assert not jit.kernels_cached("group", modules)
    jit.mark_cached("group", ("polyregions.solvers.not_imported",))
    assert not (tmp_path / "group.compiled").exists()
    jit.mark_cached("group", modules)
    assert jit.kernels_cached("group", modules)
    assert not jit.kernels_cached("other", modules)
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not jit.kernels_cached("group", modules)
    jit.mark_cached("group", modules)
    assert jit.kernels_cached("group", modules)
    source.write_text("x = 22\n")  # another size
    assert not jit.kernels_cached("group", modules)
    (tmp_path / "group.compiled").write_bytes(b"\xff\xfe")
    assert not jit.kernels_cached("group", modules)
    monkeypatch.setattr(jit, "cache_directory", lambda: None)  # no writable place: nothing is cached
    jit.mark_cached("group", modules)
    assert not jit.kernels_cached("group", modules)


FIRST_TIME = """
import time
import numpy as np
import polyregions as pr
from polyregions.solvers import jit
rng = np.random.default_rng(0)
net = pr.Network.from_dense([rng.normal(size=(8, 6)), rng.normal(size=(8, 8))], [rng.normal(size=8)] * 2)
for domain, method in ((pr.Ball(np.zeros(6), 1.0), "dfs"), (pr.Box(-np.ones(2), np.ones(2)), "planar")):
    if method == "planar":
        net = pr.Network.from_dense([rng.normal(size=(8, 2)), rng.normal(size=(8, 8))], [rng.normal(size=8)] * 2)
    c0, t0 = jit.compile_seconds(), time.perf_counter()
    res = pr.count_regions(net, domain, method=method, workers=1)
    print(time.perf_counter() - t0, jit.compile_seconds() - c0, res.stats.seconds)
"""


def test_a_counts_time_leaves_out_the_kernels_compilation_and_loading(tmp_path):
    """In a fresh cache the kernels compile during the call; in a new process on the filled
    cache they load from it (still inside numba's compiler, and no longer announced); either
    way the count's time is what is left."""
    copy = _copy_package(tmp_path / "copy")
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code = "import logging\nlogging.basicConfig(level=logging.INFO)\n" + FIRST_TIME
    for run in ("compiles", "loads"):
        proc = subprocess.run([sys.executable, "-c", code], cwd=copy,
                              env={k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")} | env
                              | {"PYTHONPATH": str(copy)}, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert ("compiling the polygon kernels once" in proc.stderr) == (run == "compiles"), proc.stderr
        for line in proc.stdout.split("\n")[:-1]:
            wall, compiling, seconds = map(float, line.split())
            assert compiling > (0.2 if run == "compiles" else 0.0), (run, line)  # loading: any time at all
            assert seconds <= wall - compiling + 0.05, (run, line)


def test_the_compile_clock_counts_the_calling_threads_compilations_only():
    """A compilation in another thread does not shorten a count running in this one."""
    import threading

    import numba

    seen = {}

    def compile_elsewhere():
        before = jit.compile_seconds()
        numba.njit(lambda x: x * 3.0 + 1.0)(2.0)  # a new function: compiled here, never cached
        seen["thread"] = jit.compile_seconds() - before

    before = jit.compile_seconds()
    worker = threading.Thread(target=compile_elsewhere)
    worker.start()
    worker.join()
    assert seen["thread"] > 0.0
    assert jit.compile_seconds() == before
    numba.njit(lambda x: x * 5.0 - 1.0)(2.0)
    assert jit.compile_seconds() > before
