"""The search with its inner loop compiled, node for node the search of :mod:`polyregions.search.engine`.

:class:`CompiledSearch` is a :class:`~polyregions.search.engine.RegionSearch` whose ``run`` and
``counts`` hand the traversal to :func:`polyregions.search.compiled_kernels.run_search`: the
depth-first loop, the witness shortcut, the layer-entry fixing (constant rows, far and box
tests, the prefilter) and the row stack run compiled, calling the compiled backend's LP without
coming back to Python per node. Python keeps what needs it:

* **HiGHS as referee**: a test the compiled solve is unsure of (near ``eps`` or ``0``, a failed
  solve) stops the kernel with the tested row pushed; HiGHS decides it on the same stack
  (``backend.referee``), the answer goes back, and the kernel resumes;
* **deadlines and splitting**: the kernel stops after a budget of nodes (adapted to about
  :data:`CALL_SECONDS` per call); when ``deadline`` has passed, or ``split`` is set, every
  child not yet entered along the current path becomes a
  :class:`~polyregions.search.engine.Subproblem` of ``frontier``, deepest first (as the
  Python search parks them), for the parallel driver and checkpoints;
* **enumeration**: each region stops the kernel, and its pattern, witness and affine map are
  read from the state. A count only counts (``counts``).

It serves the stages the kernel knows (ReLU, LeakyReLU, linear carries; no max pooling) on the
compiled backends that hand over their stack (``numba`` and ``bounded``), over bounded domains
(an unbounded one's far rows are decided in a limit, ``engine.FAR_ROW_BOUND``);
:func:`make_search` chooses it there and the Python search elsewhere.

Compilation is lazy: the kernel compiles for a backend the first time a search over it runs
longer than :data:`COMPILE_AFTER` seconds in Python (small counts never wait for it); once its
compilation is in the kernel cache, searches use it from their first node. The same holds for the
backend's own kernels: while they are not in the cache, :func:`make_search` begins the search on
a backend that compiles nothing (HiGHS: :func:`polyregions.solvers.registry.starting_backend`),
and the search moves to the compiled backend when the kernel takes over (a backend named
explicitly is used from the first node).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import scipy.sparse

from ..errors import SolverError
from ..solvers.base import ROW_BOUND_LIMIT
from ..solvers.registry import BACKENDS
from .engine import BOX_RTOL, NEAR_EPS_FACTOR, RESOLUTION_RTOL, ZERO_ROW_RTOL, RegionSearch, Subproblem
from .rows import identity, unit_rows

__all__ = ["CALL_SECONDS", "COMPILE_AFTER", "CompiledSearch", "SEARCH_KERNEL_MODULES", "SWITCH_CACHED",
           "compiled_supported", "kernel_cached", "kernel_modules", "make_search"]

log = logging.getLogger("polyregions.search")

#: Seconds a search runs in Python before it compiles the search kernel (when the kernel is not
#: yet in the cache): searches shorter than this never pay for the compilation ...
COMPILE_AFTER = 2.0
#: ... and before it loads the kernel from the cache (about half a second).
SWITCH_CACHED = 0.25
#: Wall seconds one call of the kernel aims at (its node budget adapts to it): how often a
#: search looks at its deadline and reports progress. Each call costs some 0.1 ms of Python and
#: argument handling (about 3% of a 784-input count at 5 ms per call).
CALL_SECONDS = 0.02
#: Node budget of the first call, and its bounds.
FIRST_BUDGET, MIN_BUDGET, MAX_BUDGET = 64, 8, 1 << 20

_READY = set()  # backends whose kernel is compiled (or loaded) in this process
_STARTED = {}  # per backend, seconds this process's searches for it ran on the starting backend


def compiled_supported(net, lp) -> bool:
    """Whether the compiled kernel serves `net` with the backend `lp` (a backend, or its name):
    elementwise stages only (ReLU, LeakyReLU, linear carries) and a backend that hands over its
    stack (the ``compiled_stack`` feature of its declaration)."""
    hands = "compiled_stack" in BACKENDS[lp].features if isinstance(lp, str) else hasattr(lp, "compiled_stack")
    return all(not stage.pool for stage in net.stages) and hands


#: The modules the search kernel is compiled from, besides its backend's kernel modules.
SEARCH_KERNEL_MODULES = ("polyregions.search.compiled_kernels", "polyregions.search.layer_entry",
                         "polyregions.solvers.stack_kernels")


def kernel_modules(name: str) -> tuple:
    """The modules whose sources the search kernel for backend `name` is compiled from: the
    search's (:data:`SEARCH_KERNEL_MODULES`) and the backend's kernel modules (its declaration)."""
    return SEARCH_KERNEL_MODULES + tuple(f"polyregions.solvers.{m}" for m in BACKENDS[name].kernels)


def kernel_cached(name: str) -> bool:
    """Whether the search kernel for backend `name` is compiled in this process or in the kernel
    cache: marked there when it was compiled, and none of its sources (:func:`kernel_modules`)
    changed since (:func:`polyregions.solvers.jit.kernels_cached`: a few ``stat`` calls)."""
    if name in _READY:
        return True
    from ..solvers.jit import kernels_cached

    return kernels_cached(f"search-{name}", kernel_modules(name))


def make_search(net, domain, eps, backend, prune, *, compiled=None):
    """The search for a count or an enumeration: a :class:`CompiledSearch` where the kernel serves
    the network and the backend, else a :class:`~polyregions.search.engine.RegionSearch`.
    ``compiled``: True or False forces the choice (False: the Python search)."""
    search = RegionSearch(net, domain, eps, backend, prune, lazy=compiled is None)
    # an unbounded domain keeps the Python search: its far rows are decided in a limit (engine._test_far)
    if compiled is False or search.domain_box is None or not compiled_supported(net, search.target):
        if compiled:
            raise ValueError("the compiled search does not serve this network or backend")
        search.adopt_target()  # only the compiled search moves from one backend to another
        return search
    return CompiledSearch.from_search(search, eager=bool(compiled))


def _csr(W, sparse):
    """``W`` in CSR form as the search applies it (the network's sparse copy, or ``W`` itself)."""
    A = sparse if sparse is not None else scipy.sparse.csr_matrix(W)
    A = scipy.sparse.csr_matrix(A)
    A.sort_indices()
    return A


def net_arrays(net, domain):
    """The network and the domain's bounding box as a :class:`~polyregions.search.compiled_kernels.NetArrays`."""
    from .compiled_kernels import NetArrays

    n0 = net.input_dim
    stages = net.stages
    widths = np.array([st.width for st in stages], dtype=np.int64)
    fanin = np.array([n0] + [st.width for st in stages[:-1]], dtype=np.int64)
    cum = lambda v: np.concatenate([[0], np.cumsum(v)]).astype(np.int64)  # noqa: E731
    # a dense layer's product is BLAS's (its CSR arrays are empty)
    ops = [scipy.sparse.csr_matrix(W.shape) if Ws is None else _csr(W, Ws)
           for (W, _), Ws in zip(net.hidden, net.sparse_hidden)]
    dense_ws = [np.ascontiguousarray(W, dtype=np.float64) if Ws is None else np.zeros(0)
                for (W, _), Ws in zip(net.hidden, net.sparse_hidden)]
    dense_sizes = [W.size for W in dense_ws]
    box = domain.box()  # (mid, half), or None when unbounded
    mid, half = box if box is not None else (np.zeros(n0), np.zeros(n0))
    return NetArrays(
        dims=np.array([n0, len(stages), box is not None], dtype=np.int64),
        widths=widths, fanin=fanin, goff=cum(widths * n0), noff=cum(widths), moff=cum(fanin * n0), foff=cum(fanin),
        indptr=np.concatenate([A.indptr for A in ops]).astype(np.int64), poff=cum(widths + 1),
        indices=np.concatenate([A.indices for A in ops]).astype(np.int64),
        data=np.concatenate([A.data for A in ops]).astype(np.float64), zoff=cum([A.nnz for A in ops]),
        bias=np.concatenate([b for _, b in net.hidden]).astype(np.float64),
        slopes=np.concatenate([st.slopes for st in stages]).astype(np.float64),
        split=np.concatenate([st.split for st in stages]).astype(np.bool_),
        nbits=np.array([st.n_bits for st in stages], dtype=np.int64),
        box_mid=np.ascontiguousarray(mid, dtype=np.float64),
        box_h2=np.ascontiguousarray(np.column_stack([half, np.abs(mid) + half]), dtype=np.float64),
        dense=np.array([Ws is None for Ws in net.sparse_hidden], dtype=np.int64), woff=cum(dense_sizes),
        wflat=np.concatenate([np.ravel(W) for W in dense_ws]).astype(np.float64),
        awflat=np.abs(np.concatenate([np.ravel(W) for W in dense_ws])).astype(np.float64))


def new_state(net, arrays, eps, diameter, prune):
    """A fresh :class:`~polyregions.search.compiled_kernels.SearchState` for `net`."""
    from . import compiled_kernels as ck

    n0 = net.input_dim
    frames = int(np.count_nonzero(arrays.split)) + 1
    flt = np.zeros(ck.N_FLT)
    flt[[ck.F_EPS, ck.F_DIAM, ck.F_NEAR, ck.F_ZERO_RTOL, ck.F_BOUND_LIMIT, ck.F_BOX_RTOL, ck.F_RES_RTOL]] = (
        eps, diameter, NEAR_EPS_FACTOR, ZERO_ROW_RTOL, ROW_BOUND_LIMIT, BOX_RTOL, RESOLUTION_RTOL)
    reg = np.zeros(ck.N_REG, dtype=np.int64)
    reg[ck.R_PRUNE] = 1 if prune else 0
    n_rows, n_in = int(arrays.goff[-1]), int(arrays.moff[-1])
    wide = int(arrays.widths.max())
    return ck.SearchState(
        reg=reg, flt=flt, cnt=np.zeros(3, dtype=np.int64), x=np.zeros(n0), ans_x=np.zeros(n0),
        bits=np.zeros(net.num_neurons + 1, dtype=np.int64), fr=np.zeros((frames, ck.N_FR), dtype=np.int64),
        fr_x=np.zeros((frames, 2, n0)), fr_r=np.zeros((frames, 3)), G=np.zeros(n_rows), c=np.zeros(int(arrays.noff[-1])),
        Gh=np.zeros(n_rows), ch=np.zeros(int(arrays.noff[-1])), fixed=np.zeros(int(arrays.noff[-1]), dtype=np.int64),
        M=np.zeros(n_in), m=np.zeros(int(arrays.foff[-1])), s_all=np.zeros(int(arrays.widths.max())),
        rn=np.zeros(int(arrays.fanin.max())), vec=np.zeros((5, int(arrays.widths.max()))),
        # (|G| for the box test; before it, a dense layer's columns of the rows of gain != 0)
        absG=np.zeros(wide * max(n0, wide)), sr=np.zeros((wide, 2)),
        grange=np.zeros((int(arrays.noff[-1]), 2), dtype=np.int64),
        mrange=np.zeros((int(arrays.foff[-1]), 2), dtype=np.int64), gnorm=np.full(int(arrays.noff[-1]), -1.0),
        gkappa=np.full(int(arrays.noff[-1]), -1.0))


def row_spans(A):
    """Per row of `A`, ``(lo, hi)``: its first non-zero column and one past its last (``(0, 0)``
    for a zero row), as the kernel keeps them (``SearchState.grange``)."""
    nonzero = np.asarray(A) != 0
    any_ = nonzero.any(axis=1)
    lo = np.where(any_, nonzero.argmax(axis=1), 0)
    hi = np.where(any_, A.shape[1] - nonzero[:, ::-1].argmax(axis=1), 0)
    return np.column_stack([lo, hi]).astype(np.int64)


class CompiledSearch(RegionSearch):
    """:class:`~polyregions.search.engine.RegionSearch` with the traversal compiled (module docstring)."""

    @classmethod
    def from_search(cls, search: RegionSearch, eager: bool = False) -> "CompiledSearch":
        """The compiled search over the same network, domain, backend and statistics as `search`;
        `eager`: compile the kernel now rather than after :data:`COMPILE_AFTER` seconds."""
        self = cls.__new__(cls)
        self.__dict__.update(search.__dict__)
        self.arrays = net_arrays(self.net, self.domain)
        self.state = new_state(self.net, self.arrays, self.eps, self.domain.diameter, self.prune)
        self.budget = FIRST_BUDGET
        self.python_seconds = 0.0  # spent in the Python search before the kernel took over
        self.eager = eager
        return self

    # ------------------------------------------------------------------ which loop
    def _wait(self) -> float:
        """Seconds of Python search left before the kernel takes over (at most 0: now). On the
        starting backend, the backend's kernels compile too: after :data:`COMPILE_AFTER` seconds
        of the process's searches on it (a run of short counts compiles once they add up)."""
        name = self.target
        if self.lp.name != name:
            return COMPILE_AFTER - _STARTED.get(name, 0.0)
        if self.eager or name in _READY:
            return 0.0
        return (SWITCH_CACHED if kernel_cached(name) else COMPILE_AFTER) - self.python_seconds

    def run(self, sub: Subproblem):
        """Yield ``(x, rho, M, m)`` per region below `sub` (``self.bits``: its pattern)."""
        yield from self._phased(sub, True, None)

    def counts(self, sub: Subproblem, room: int | None = None):
        """Yield the numbers of regions found below `sub`, in batches (``stats.min_radius`` kept
        up to date); with `room`, stop once that many are found."""
        yield from self._phased(sub, False, room)

    def _phased(self, sub, enumerate_regions, room):
        """The Python search until the kernel takes over (:meth:`_wait`), then the kernel on what
        the Python search parked; the caller's deadline and frontier as in the Python search."""
        wait = self._wait()
        if wait <= 0:
            self.adopt_target()
            yield from self._search(sub, enumerate_regions, room)
            return
        caller = self.deadline
        switch = time.perf_counter() + wait
        self.deadline = switch if caller is None else min(caller, switch)
        mark = len(self.frontier)
        found = 0
        t0 = time.perf_counter()
        try:
            for leaf in RegionSearch.run(self, sub):
                found += 1
                if enumerate_regions:
                    yield leaf
                else:
                    self.stats.min_radius = min(self.stats.min_radius, leaf[1])
                    yield 1
                if room is not None and found >= room:
                    return
        finally:
            spent = time.perf_counter() - t0
            self.python_seconds += spent
            if self.lp.name != self.target:
                _STARTED[self.target] = _STARTED.get(self.target, 0.0) + spent
            self.deadline = caller
        if not self.split or (caller is not None and time.perf_counter() > caller):
            return  # finished, or the caller's deadline: what is parked is the caller's
        parked = self.frontier[mark:]
        del self.frontier[mark:]
        if parked:
            self.adopt_target()
        while parked:
            if self.split and len(self.frontier) > mark:  # the caller's deadline struck in the kernel
                self.frontier.extend(parked)
                return
            for item in self._search(parked.pop(), enumerate_regions, None if room is None else room - found):
                found += 1 if enumerate_regions else item
                yield item
                if room is not None and found >= room:
                    self.frontier.extend(parked)
                    return

    # ------------------------------------------------------------------ the kernel's events
    def _start(self, sub):
        from . import compiled_kernels as ck
        from .layer_entry import GIVEN_IDENTITY, GIVEN_M

        st, a = self.state, self.arrays
        n0 = self.net.input_dim
        reg = st.reg
        reg[:] = 0
        reg[ck.R_PRUNE] = 1 if self.prune else 0
        st.flt[ck.F_RHO] = sub.rho
        st.flt[ck.F_MIN_RADIUS] = math.inf
        st.flt[ck.F_MIN_KEPT] = math.inf
        st.x[:] = sub.x
        st.flt[ck.F_XBIG] = -1.0  # its magnitude not yet known
        nb = len(sub.bits)
        st.bits[:nb] = sub.bits
        reg[ck.R_NBITS] = nb
        l = sub.layer
        reg[ck.R_L] = l
        if sub.neuron < 0:
            st.m[a.foff[l]:a.foff[l + 1]] = sub.c
            if sub.G is identity(n0) and a.dense[l]:  # the root: the layer's G is its W (rows.identity)
                reg[ck.R_GIVEN] = GIVEN_IDENTITY
            else:
                st.M[a.moff[l]:a.moff[l + 1]] = np.ascontiguousarray(sub.G, dtype=float).ravel()
                reg[ck.R_GIVEN] = GIVEN_M
            reg[ck.R_PC] = ck.PC_ENTER
        else:
            G = np.ascontiguousarray(sub.G, dtype=float)
            Gh, ch, _ = unit_rows(G, sub.c)
            st.G[a.goff[l]:a.goff[l + 1]] = G.ravel()
            st.c[a.noff[l]:a.noff[l + 1]] = sub.c
            st.Gh[a.goff[l]:a.goff[l + 1]] = np.ascontiguousarray(Gh).ravel()
            st.ch[a.noff[l]:a.noff[l + 1]] = ch
            st.fixed[a.noff[l]:a.noff[l + 1]] = sub.fixed
            st.grange[a.noff[l]:a.noff[l + 1]] = row_spans(G)
            st.gnorm[a.noff[l]:a.noff[l + 1]] = -1.0  # computed when needed
            st.gkappa[a.noff[l]:a.noff[l + 1]] = -1.0
            reg[ck.R_J] = sub.neuron
            reg[ck.R_PC] = ck.PC_DESCEND
        assert n0 == st.x.shape[0]

    def _call(self, ck, enumerate_regions, room, late=False):
        """One kernel call (`late`: the deadline has passed: one child, then the split); the
        counters merged into ``stats``. Returns the event."""
        st, lp, stats = self.state, self.lp, self.stats
        reg = st.reg
        reg[ck.R_ENUM] = 1 if enumerate_regions else 0
        reg[ck.R_ROOM] = -1 if room is None else room
        reg[ck.R_BUDGET] = 1 if late else self.budget
        st.cnt[:] = 0
        stack = lp.compiled_stack()
        t0 = time.perf_counter()
        try:
            ev = ck.run_search(self.arrays, stack, st)
        finally:
            lp.adopt_compiled(stack)
        elapsed = time.perf_counter() - t0
        if ev == ck.EV_BUDGET and not late:  # aim at CALL_SECONDS per call
            grow = CALL_SECONDS / max(elapsed, 1e-6)
            self.budget = int(min(MAX_BUDGET, max(MIN_BUDGET, self.budget * min(4.0, max(0.25, grow)))))
        stats.nodes += int(st.cnt[ck.C_NODES])
        stats.near_eps += int(st.cnt[ck.C_NEAR_EPS])
        stats.min_kept_depth = min(stats.min_kept_depth, float(st.flt[ck.F_MIN_KEPT]))
        stats.min_radius = min(stats.min_radius, float(st.flt[ck.F_MIN_RADIUS]))
        return ev

    def _referee(self, ck):
        """HiGHS (or the backend's own Python test) decides the test the kernel left pushed."""
        from ..solvers.stack_kernels import PYTHON_TEST, reason_name

        st = self.state
        code = int(st.reg[ck.R_CODE])
        res = self.lp.test(st.x.copy()) if code == PYTHON_TEST else self.lp.referee(reason_name(code))
        st.flt[ck.F_ANS_KEEP] = 1.0 if res.keep else 0.0
        st.flt[ck.F_ANS_RADIUS] = res.radius
        st.flt[ck.F_ANS_DEPTH] = res.depth
        if res.keep:
            st.ans_x[:] = res.point
        st.reg[ck.R_ANSWER] = 1

    def _leaf(self, ck):
        """The region the kernel stopped at: ``(x, rho, M, m)``, its pattern in ``self.bits``."""
        st, a = self.state, self.arrays
        n0 = self.net.input_dim
        last = len(self.layers) - 1
        stage = self.net.stages[last]
        nb = int(st.reg[ck.R_NBITS])
        self.bits = [int(v) for v in st.bits[:nb]]
        beta = stage.gains(np.array(self.bits[nb - stage.n_bits:], dtype=bool))
        G = st.G[a.goff[last]:a.goff[last + 1]].reshape(-1, n0)
        c = st.c[a.noff[last]:a.noff[last + 1]]
        return st.x.copy(), float(st.flt[ck.F_RHO]), beta[:, None] * G, beta * c

    def _park_frames(self, ck):
        """Every child not yet entered, deepest frame first, to the frontier (as the Python search parks)."""
        st, a, lp = self.state, self.arrays, self.lp
        n0 = self.net.input_dim
        level = lp.stack_ids()[0]
        rows = [lp.pushed_row(k) for k in range(len(level))]
        for f in range(int(st.reg[ck.R_TOP]) - 1, -1, -1):
            fr = st.fr[f]
            l, j = int(fr[ck.FR_L]), int(fr[ck.FR_J])
            if fr[ck.FR_K] >= fr[ck.FR_N]:
                continue
            G = st.G[a.goff[l]:a.goff[l + 1]].reshape(-1, n0).copy()
            c = st.c[a.noff[l]:a.noff[l + 1]].copy()
            fixed = st.fixed[a.noff[l]:a.noff[l + 1]].astype(np.int8)
            gh = st.Gh[a.goff[l] + j * n0:a.goff[l] + (j + 1) * n0]
            chj = float(st.ch[a.noff[l] + j])
            here = int(fr[ck.FR_HERE])
            below = rows[: int(fr[ck.FR_LEVEL])]
            for k in range(int(fr[ck.FR_K]), int(fr[ck.FR_N])):
                sign = int(fr[ck.FR_SIGN0 + k])
                child = below + ([(sign * gh, -sign * chj)] if sign else [])
                bits = np.append(st.bits[:here], fr[ck.FR_BIT0 + k]).astype(np.uint8)
                self.frontier.append(Subproblem(
                    l, j + 1, bits, np.array([r for r, _ in child], dtype=float).reshape(-1, n0),
                    np.array([b for _, b in child], dtype=float), G, c, fixed, st.fr_x[f, k].copy(),
                    float(st.fr_r[f, k])))
        st.reg[ck.R_TOP] = 0

    def _ensure_kernel(self, ck):
        name = self.lp.name
        if name in _READY:
            return
        from ..solvers.jit import compile_seconds, types_of

        before = compile_seconds()
        t0 = time.perf_counter()
        ck.run_search.compile(types_of(self.arrays, self.lp.compiled_stack(), self.state))
        if compile_seconds() > before:
            log.info("compiled the search kernel for backend %r in %.1f s", name, time.perf_counter() - t0)
        _READY.add(name)
        from ..solvers.jit import mark_cached

        mark_cached(f"search-{name}", kernel_modules(name))

    def _search(self, sub, enumerate_regions, room):
        """The compiled search below `sub`: yields regions (enumeration) or counts."""
        from . import compiled_kernels as ck

        self._load(sub)
        self.split = False
        if sub.neuron < 0 and sub.layer == len(self.layers):
            if not enumerate_regions:
                self.stats.min_radius = min(self.stats.min_radius, sub.rho)
            yield (sub.x, sub.rho, sub.G, sub.c) if enumerate_regions else 1
            return
        self._ensure_kernel(ck)
        base = len(sub.rows_A)
        self._start(sub)
        found = 0
        try:
            while True:
                left = None if room is None else room - found
                late = self.deadline is not None and time.perf_counter() > self.deadline
                ev = self._call(ck, enumerate_regions, left, late)
                count = int(self.state.cnt[ck.C_COUNT])
                found += count
                if ev == ck.EV_DONE:
                    if count and not enumerate_regions:
                        yield count
                    return
                if ev == ck.EV_LEAF:
                    yield self._leaf(ck)
                elif count:
                    yield count
                    if ev == ck.EV_ROOM:
                        return
                if ev == ck.EV_BUDGET or ev == ck.EV_LEAF:  # a clean point: the deadline may split here
                    if not self.split and self.deadline is not None and time.perf_counter() > self.deadline:
                        self.split = True
                    if self.split:
                        self._park_frames(ck)
                        return
                elif ev == ck.EV_REFEREE:
                    self._referee(ck)
                elif ev == ck.EV_GROW:
                    self.lp.reserve(len(self.lp.stack_ids()[0]) + 2)
                elif ev == ck.EV_BOUND:
                    raise SolverError(f"a row bound of {self.state.flt[ck.F_BAD_BOUND]:.3g} is beyond what the "
                                      f"solvers take as finite")
        finally:
            while len(self.lp.stack_ids()[0]) > base:
                self.lp.pop()
            self.state.reg[ck.R_TOP] = 0
