"""Compiled kernels: one decorator, and an on-disk cache that no source change leaves stale.

numba's own cache (``cache=True``) checks the stamp (modification time and size) of the file
that defines a function, and nothing else. A kernel that calls a kernel of another file keeps
in its cache the callee as it was compiled: change only the callee's file and the caller runs
the old code. So every kernel of polyregions is compiled by :func:`kernel`, which caches it in
a directory named by a hash of the sources of all kernel modules (:data:`KERNEL_MODULES`, this
file included) and of numba's version: a change to any of them, an upgrade of polyregions or of
numba, starts from an empty directory. The directory is ``polyregions-<hash>`` under
``NUMBA_CACHE_DIR`` when that is set, else ``kernels-<hash>`` in the package's ``__pycache__``
(or, when that is read-only, in the user's cache folder); older ones are removed
(:data:`KEEP_OLD_DIRS`).

A kernel with a signature compiles, or loads from the cache, when its module is imported, for
exactly that signature (no specialisation per literal argument or array layout); the modules of
such kernels are imported only by the solver that uses them, so a count compiles only what it
uses. An ``internal`` kernel (called only by other kernels) gets no Python wrapper. The first
compilation of each group of kernels is announced on the ``polyregions.kernels`` logger (INFO;
the command shows it on stderr), and :func:`compile_seconds` adds up the time the calling thread
has spent in numba's compiler, compiling or loading from the cache (a count's time leaves it out).

Whether a group of kernels is in the cache is known without importing them (importing compiles
what is missing): :func:`mark_cached` leaves a marker in the cache directory once their modules
are imported, recording the stamp (modification time and size) of each module's source, and
:func:`kernels_cached` reads it back, a few ``stat`` calls. numba keeps a compiled kernel exactly
as long as that stamp holds (and the directory's name keeps the sources' contents), so a marker
whose stamps hold says the group loads from the cache; numba compiles anew only when the cache
was made on another CPU.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time

import numba
from numba.core import event
from numba.core.dispatcher import Dispatcher

__all__ = ["B1", "B2", "F1", "F2", "F3", "I1", "I2", "KEEP_OLD_DIRS", "KERNEL_MODULES", "cache_directory",
           "compile_seconds", "kernel", "kernel_overload", "kernels_cached", "mark_cached", "sources_key", "types_of"]

log = logging.getLogger("polyregions.kernels")

#: The modules that define kernels, with the name their compilation is announced under and
#: roughly how many seconds of one core it takes (measured on the shared 2-core machine the
#: benchmarks ran on, ``benchmarks/first_run.py``); modules without a name compile silently.
#: Their sources (and this file's) key the cache: a kernel defined elsewhere is refused.
KERNEL_MODULES = {
    "polyregions.solvers.jit": (None, 0.0),
    "polyregions.solvers.linalg_kernels": (None, 0.3),
    "polyregions.solvers.dense_kernels": ("the dense simplex kernels", 2.0),
    "polyregions.solvers.bounded_ratio": ("the bounded-variable simplex kernels", 1.0),
    "polyregions.solvers.bounded_kernels": ("the bounded-variable simplex kernels", 2.5),
    "polyregions.solvers.bounded_decide": ("the bounded-variable simplex kernels", 2.0),
    "polyregions.solvers.projection_kernels": ("the L2-ball projection kernels", 1.2),
    "polyregions.solvers.stack_kernels": (None, 0.0),
    "polyregions.search.layer_entry": ("the search kernel", 1.5),
    "polyregions.search.compiled_kernels": ("the search kernel", 4.5),
    "polyregions.exact.fast_bounds": ("the certifying traversal kernel", 1.0),
    "polyregions.exact.fast_kernels": ("the certifying traversal kernel", 4.0),
    "polyregions.cells.polygon": ("the polygon kernels", 4.5),
    "polyregions.cells.planar_kernel": ("the polygon kernels", 3.0),
    "polyregions.cells.polyhedron_measure": ("the polyhedron kernels", 2.5),
    "polyregions.cells.polyhedron": ("the polyhedron kernels", 7.5),
    "polyregions.cells.polyhedron_cut": ("the polyhedron kernels", 2.0),
    "polyregions.cells.sign_kernels": (None, 0.5),
    "polyregions.bounds.filter_kernels": (None, 1.0),
}
#: Cache directories of other sources kept besides the current one (the most recently used);
#: one used within the last hour is never removed (a process may still be saving into it).
KEEP_OLD_DIRS = 2
_RECENT = 3600.0

#: Signature shorthands: C-contiguous float64, int64 and bool arrays of one, two and three dimensions.
F1, F2, F3 = "f8[::1]", "f8[:, ::1]", "f8[:, :, ::1]"
I1, I2 = "i8[::1]", "i8[:, ::1]"
B1, B2 = "b1[::1]", "b1[:, ::1]"

_LOCK = threading.RLock()


def _source_path(module: str) -> str:
    """The file of kernel module `module` (``polyregions.solvers`` may live outside ``polyregions``)."""
    parts = module.split(".")
    if parts[:2] == ["polyregions", "solvers"]:
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), *parts[2:]) + ".py"
    root = os.path.dirname(os.path.abspath(sys.modules["polyregions"].__file__))
    return os.path.join(root, *parts[1:]) + ".py"


@functools.lru_cache(maxsize=None)
def sources_key() -> str | None:
    """A hash of numba's version and of the source of every kernel module (hex, 16 digits);
    None when a source cannot be read (then nothing is cached)."""
    h = hashlib.sha256(f"numba {numba.__version__}\n".encode())
    for module in sorted(KERNEL_MODULES):
        try:
            with open(_source_path(module), "rb") as f:
                data = f.read()
        except OSError:
            return None
        h.update(f"{module} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()[:16]


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def _prune(parent: str, prefix: str, current: str) -> None:
    """Remove the cache directories of other sources in `parent` but the :data:`KEEP_OLD_DIRS`
    most recently used (and any used within the last hour)."""
    try:
        old = [e for e in os.scandir(parent) if e.name.startswith(prefix) and e.is_dir() and e.path != current]
        old.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    except OSError:
        return
    now = time.time()
    for entry in old[KEEP_OLD_DIRS:]:
        try:
            if now - entry.stat().st_mtime > _RECENT:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


@functools.lru_cache(maxsize=None)
def cache_directory() -> str | None:
    """The directory the kernels cache into (created), or None when no place is writable."""
    key = sources_key()
    if key is None:
        log.warning("the kernels' sources cannot be read: they compile anew in every process")
        return None
    user_dir = numba.config.CACHE_DIR
    if user_dir:
        places = [(user_dir, "polyregions-")]
    else:
        package = os.path.dirname(os.path.abspath(sys.modules["polyregions"].__file__))
        user_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        places = [(os.path.join(package, "__pycache__"), "kernels-"),
                  (os.path.join(user_cache, "polyregions"), "kernels-")]
    for parent, prefix in places:
        path = os.path.join(parent, prefix + key)
        if _writable(path):
            try:
                os.utime(path)  # the most recently used
            except OSError:
                pass
            _prune(parent, prefix, path)
            return path
    log.warning("no writable folder for the compiled kernels: they compile anew in every process")
    return None


# ---------------------------------------------------------------------- what the cache holds
def _stamps(modules) -> str:
    """One line per module of `modules` (full names, of :data:`KERNEL_MODULES`): its name and
    its source's stamp as numba reads it (modification time, size)."""
    lines = []
    for module in sorted(modules):
        st = os.stat(_source_path(module))
        lines.append(f"{module} {st.st_mtime_ns} {st.st_size}")
    return "\n".join(lines) + "\n"


def _marker(group: str) -> str | None:
    directory = cache_directory()
    return None if directory is None else os.path.join(directory, f"{group}.compiled")


def kernels_cached(group: str, modules) -> bool:
    """Whether the kernels of `modules` (full names, of :data:`KERNEL_MODULES`) load from the
    cache: :func:`mark_cached` marked them under `group` and their sources' stamps still hold."""
    path = _marker(group)
    if path is None:
        return False
    try:
        with open(path) as f:
            return f.read() == _stamps(modules)
    except (OSError, UnicodeDecodeError):
        return False


def mark_cached(group: str, modules) -> None:
    """Record that the kernels of `modules`, imported in this process, are in the cache (under
    `group`; read by :func:`kernels_cached`). Nothing is recorded where nothing is cached."""
    path = _marker(group)
    if path is None or not all(m in sys.modules for m in modules) or kernels_cached(group, modules):
        return
    try:
        stamps = _stamps(modules)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(stamps)
        os.replace(tmp, path)  # atomic: a reader sees the whole marker or none
    except OSError:
        pass


# ---------------------------------------------------------------------- compile time and messages
class _CompileClock(event.Listener):
    """Adds up, thread by thread, the time spent in numba's compiler (``numba:compiler_lock``:
    compiling, loading from the cache, starting the compiler, waiting for another thread's
    compilation) and announces the first compilation of each group of polyregions kernels
    (``numba:compile``: cache misses only)."""

    def __init__(self):
        self.announced = set()
        self._local = threading.local()

    @property
    def seconds(self) -> float:
        return getattr(self._local, "seconds", 0.0)

    def on_start(self, ev):
        if ev.kind == "numba:compile":
            self._announce(ev)
            return
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.t0 = time.perf_counter()
        self._local.depth = depth + 1

    def on_end(self, ev):
        if ev.kind == "numba:compile":
            return
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            return
        self._local.depth = depth - 1
        if depth == 1:
            self._local.seconds = self.seconds + time.perf_counter() - self._local.t0

    def _announce(self, ev):
        disp = (ev.data or {}).get("dispatcher")
        module = getattr(getattr(disp, "py_func", None), "__module__", None)
        name = KERNEL_MODULES[module][0] if module in KERNEL_MODULES else None
        if name is not None and name not in self.announced:
            self.announced.add(name)
            seconds = sum(s for n, s in KERNEL_MODULES.values() if n == name)
            log.info("compiling %s once, about %.0f s; cached afterwards", name, max(1.0, seconds))


_CLOCK = _CompileClock()
event.register("numba:compile", _CLOCK)
event.register("numba:compiler_lock", _CLOCK)


def compile_seconds() -> float:
    """Seconds the calling thread has spent in numba's compiler so far: compiling kernels, loading
    them from the cache, starting the compiler, waiting for another thread to finish compiling (a
    count's time leaves them out; any numba function this thread compiles, the caller's own too,
    counts here; compilations in other threads do not)."""
    return _CLOCK.seconds


# ---------------------------------------------------------------------- the decorator
def _jit(func, options):
    """``numba.njit(**options)(func)`` caching into :func:`cache_directory`."""
    directory = cache_directory()
    if directory is None:
        return numba.njit(**options)(func)
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = directory
    try:
        disp = numba.njit(cache=True, **options)(func)
    finally:
        numba.config.CACHE_DIR = saved
    where = getattr(getattr(disp, "stats", None), "cache_path", None)
    if where is not None and not os.path.abspath(where).startswith(directory + os.sep):
        # numba chose another place (a change in numba): a cache there could be stale; compile anew
        from numba.core.caching import NullCache

        log.warning("numba caches %s in %s, not in %s: compiling it without a cache", func.__qualname__, where,
                    directory)
        disp._cache = NullCache()
    return disp


def kernel(signature=None, *, internal: bool = False, fastmath=False, inline: str = "never", refcounts=True):
    """Compile the decorated function with numba in nopython mode, cached (module docstring).

    Parameters
    ----------
    signature : str, optional
        numba signature (for example ``"f8(f8[:, ::1], i8)"``): the kernel compiles (or loads)
        at import for exactly these types; arrays of another layout or type are refused.
        Without one, it compiles on first call for the types it is called with.
    internal : bool
        Called only from other kernels: no Python wrapper (and it cannot be called from Python).
    fastmath : bool or set
        numba's ``fastmath`` option.
    inline : {"never", "always"}
        numba's ``inline`` option: "always" copies the kernel's body into every kernel that calls
        it (before numba's own passes), so no call passes its arrays, and none counts references
        to them on every call.
    refcounts : bool or "always"
        False compiles the kernel without numba's reference counting (numba's ``_nrt`` option):
        no atomic count on each binding of an array, also where a kernel inlined into it takes
        its arrays. Such a kernel allocates no array (the kernels it calls may: they count their
        own); the arrays it is given are alive in its caller throughout.
        "always": with reference counting also where it is compiled as the callee of a kernel
        without (numba otherwise passes the caller's choice down): the way for such a kernel to
        call one that needs it.
    """

    def decorate(func):
        if func.__module__ not in KERNEL_MODULES:
            raise RuntimeError(f"{func.__module__}.{func.__qualname__} is a kernel outside KERNEL_MODULES: add its "
                               f"module there, or a change to it would not refresh the compiled cache")
        options = {"fastmath": fastmath, "no_cfunc_wrapper": True, "inline": inline}  # kernels are never passed as C callbacks
        if internal:
            options["no_cpython_wrapper"] = True
        if not refcounts:
            options["_nrt"] = False
        elif refcounts == "always":
            options["_nrt"] = True
        with _LOCK:
            disp = _jit(func, options)
            if signature is not None and isinstance(disp, Dispatcher):
                disp.compile(signature)
                disp.disable_compile()
        return disp

    return decorate


def kernel_overload(stub):
    """Give the pure-Python `stub` compiled implementations, chosen by argument type (numba's
    ``overload``; the decorated function returns the implementation for the types it is given,
    or None). Like an internal :func:`kernel`, they are called only from kernels."""
    if stub.__module__ not in KERNEL_MODULES:
        raise RuntimeError(f"{stub.__module__}.{stub.__qualname__} is overloaded outside KERNEL_MODULES")
    from numba.extending import overload

    return overload(stub, jit_options={"no_cpython_wrapper": True})


def types_of(*values) -> tuple:
    """numba's types of `values`: the signature a kernel without one compiles for (``.compile``)."""
    return tuple(numba.typeof(v) for v in values)
