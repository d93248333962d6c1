"""The certified count of a ReLU MLP in a box, compiled: events as arrays, checks in batches.

:func:`fast_applies` says when it serves a count: a box (or an L-inf ball) in at most
:data:`FAST_MAX_DIM` dimensions, a network whose integer layers are exact in float64 (float64
weights: every denominator a power of 2) and whose maps stay far from float64's range. Then
:class:`FastCertifiedWork` runs the compiled traversal of :mod:`polyregions.exact.fast_kernels`
on the dense simplex's stack (:mod:`polyregions.solvers.numba_lp`) and handles its records in
chunks:

* leaves: a short point of each witness ball (as :func:`polyregions.exact.certifier.short_point`)
  is proven inside the open box (bounds rounded inwards) and inside its region by the proven
  float filter (:meth:`polyregions.exact.point_filter.PointFilter.passes_arrays`), all at once,
  and written in bulk (``CertificateWriter.regions``); a leaf that fails goes to the
  :class:`~polyregions.exact.certifier.Auditor` (the exact point, else the exact search);
* drops certified in the kernel are written in bulk (``CertificateWriter.empties``), each multiplier
  as the kernel's mantissa and power-of-two shift;
* flagged branches are decided exactly, one by one, by the auditor (``Auditor.explore``).

Every pattern lies below exactly one leaf, drop or flagged branch (the traversal's tree is a
prefix code), so the certificate covers the patterns as :mod:`polyregions.exact.checker` requires.

With ``workers > 1`` the traversal runs here alone for ``LOCAL_START`` seconds, then parks the
nodes it meets at :func:`split_depth`. When it is done, the parked nodes go to a pool of worker
processes (in chunks, each a part file), unless their estimated work (the time so far per node
this process entered at that depth, times the parked nodes) is below :data:`POOL_MIN_WORK`: then
this process certifies them itself, one after another (a pool would cost more than it saves).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import time
from fractions import Fraction

import numpy as np

from .certifier import Auditor
from . import fast_kernels as fk
from .exact_lp import TimeLimitReached
from ..result import Stats
from ..search.engine import RegionSearch
from ..search.parallel import LOCAL_START, WAIT
from ..solvers.stack_kernels import S_LEVEL

__all__ = ["CHUNKS_PER_WORKER", "FAST_MAX_DIM", "FIRST_BUDGET", "FastCertifiedWork", "LEAF_CAPACITY", "POOL_MIN_WORK",
           "TEST_BUDGET", "fast_applies", "split_depth"]

#: Input dimensions the fast path serves (the dense simplex of low dimension).
FAST_MAX_DIM = 12
#: Records one kernel call holds before Python drains them: leaves (drops and flags scale with it).
LEAF_CAPACITY = 1 << 14
#: Region tests per kernel call (between two looks at the deadline): the first call's, growing
#: 4-fold per call up to the last.
FIRST_BUDGET, TEST_BUDGET = 256, 1 << 15
#: Chunks of parked nodes per worker process (each chunk one task and one part file).
CHUNKS_PER_WORKER = 4
#: Parked nodes whose estimated work (seconds) is below this are certified in this process: a pool
#: of processes (their start, each worker's setup, the part files joined) costs about half of it.
POOL_MIN_WORK = 0.2
#: The float64 image of every map must stay below this (far from overflow).
_RANGE = 2.0 ** 900
_EXACT_BELOW = 2.0 ** 53


def _layers(exact):
    """The point filter's float64 integer layers when every map stays within range, else None."""
    pf = exact.point_filter
    if not pf.usable:
        return None
    big, scale = 1.0, 1.0  # bounds of |G|, |c| and of s_{l-1}
    for Wf, Wa, bf, ba, den in pf.layers:
        big = Wa.shape[1] * float(Wa.max(initial=0.0)) * big + float(ba.max(initial=0.0)) * scale + 1.0
        scale *= den
        if not (big < _RANGE and scale < _RANGE):
            return None
    return pf.layers


def split_depth(n_bits: int) -> int:
    """The depth at which a parallel count parks its nodes for the worker processes."""
    return max(1, min(n_bits - 1, n_bits // 4))


def fast_applies(exact, backend) -> bool:
    """Whether the compiled certified count serves `exact` (an ExactNetwork) with `backend`."""
    return (backend in ("auto", "numba") and exact.kind == "box" and exact.dim <= FAST_MAX_DIM
            and _layers(exact) is not None)


def _float_box(exact):
    """``(outer lo, outer hi, inner lo, inner hi)``: floats around and inside the exact box."""
    den, lo, hi = exact.domain_data
    out = []
    for values, down in ((lo, True), (hi, False), (lo, False), (hi, True)):
        row = []
        for v in values:
            q = Fraction(v, den)
            f = float(q)
            if down and Fraction(f) > q:
                f = math.nextafter(f, -math.inf)
            elif not down and Fraction(f) < q:
                f = math.nextafter(f, math.inf)
            row.append(f)
        out.append(np.array(row))
    return out


class FastCertifiedWork:
    """The compiled certified count as work for the counting driver (:mod:`polyregions.driver`);
    units are certified regions. Not resumable: a deadline stops it (``stopped="time_limit"``)."""

    def __init__(self, net, domain, eps, prune, exact, writer, workers: int = 1, first_id: int = 0):
        self.exact, self.writer = exact, writer
        self.auditor = Auditor(exact, writer, first_id=first_id)
        self.problem, self.workers = (net, domain, eps, prune), workers
        self.parked, self.pool, self.in_flight = [], None, {}
        self.here = None  # the parked nodes certified in this process (when a pool would not pay), last first
        self.task_count, self.task_float, self.task_undecided = 0, 0, []
        self.started = 0.0
        self.stats = Stats(eps=eps)
        self.done, self.stopped = False, None
        self.count, self.float_count, self.tests = 0, 0, 0
        search = RegionSearch(net, domain, eps, "numba", prune)
        self.lp = lp = search.lp
        layers = _layers(exact)
        n0 = exact.dim
        widths = [len(bf) for _, _, bf, _, _ in layers]
        N = sum(widths)
        lp.reserve(N + 2)
        self.n_bits = N
        olo, ohi, self.ilo, self.ihi = _float_box(exact)
        sprev, s = [], 1.0
        for *_, den in layers:
            sprev.append(s)
            s *= den
        self.net = fk.CertNet(
            np.array([n0, len(layers), N], dtype=np.int64), np.array(widths, dtype=np.int64),
            np.concatenate([[0], np.cumsum(widths)]).astype(np.int64),
            np.concatenate([[0], np.cumsum([Wf.size for Wf, *_ in layers])]).astype(np.int64),
            np.concatenate([Wf.ravel() for Wf, *_ in layers]), np.concatenate([bf for _, _, bf, _, _ in layers]),
            np.array(sprev), olo, ohi, np.maximum(np.abs(olo), np.abs(ohi)), np.array([float(eps)]),
            np.array([float(lp.compiled_stack().floats[2])]))  # D_BAND0: the simplex's band around 0
        G = np.zeros((N, n0))
        c = np.zeros(N)
        G[:widths[0]] = layers[0][0]
        c[:widths[0]] = layers[0][2]
        P = N + 1
        self.state = fk.CertState(
            np.zeros(fk.N_REG, dtype=np.int64), G, c, np.zeros((N, n0)), np.zeros(N), np.zeros(N, dtype=np.uint8),
            np.zeros(P, dtype=np.int64), np.zeros(P, dtype=np.int64), np.zeros((P, 2), dtype=np.int64),
            np.zeros((P, 2), dtype=np.int64), np.zeros((P, 2, n0)), np.zeros((P, 3)), np.zeros(P + 1, dtype=np.int64),
            np.zeros(n0), np.zeros(n0), np.zeros(n0), np.zeros(n0 + 1), np.zeros(n0 + 1, dtype=np.int64),
            np.zeros(2 * (n0 + 1)), np.zeros(n0 + 1, dtype=np.int64), np.full(N, -1, dtype=np.int64),
            np.zeros((N, n0 + 1), dtype=np.int64), np.zeros((N, n0 + 1)), np.zeros((N, n0 + 1), dtype=np.int64),
            np.zeros(N, dtype=np.int64))
        self.state.reg[fk.R_AT] = -1  # no depth's nodes counted (a parked node's traversal)
        E = 4 * LEAF_CAPACITY
        self.out = fk.CertOut(
            np.zeros((LEAF_CAPACITY, N), dtype=np.uint8), np.zeros((LEAF_CAPACITY, n0)), np.zeros(LEAF_CAPACITY),
            np.zeros((E, N), dtype=np.uint8), np.zeros(E, dtype=np.int64), np.zeros(E + 1, dtype=np.int64),
            np.zeros(E * (n0 + 1), dtype=np.int64), np.zeros(E * (n0 + 1), dtype=np.int64),
            np.zeros(E * (n0 + 1), dtype=np.int64),
            np.zeros((LEAF_CAPACITY, N), dtype=np.uint8), np.zeros(LEAF_CAPACITY, dtype=np.int64),
            np.zeros(LEAF_CAPACITY, dtype=np.int64), np.zeros((LEAF_CAPACITY, N), dtype=np.uint8),
            np.zeros((LEAF_CAPACITY, n0)), np.zeros(LEAF_CAPACITY))
        self.stack, self.budget = None, FIRST_BUDGET
        self.root = lp.test(domain.center_point())

    # ------------------------------------------------------------ the driver's interface
    def step(self, control):
        auditor = self.auditor
        auditor.deadline = control.deadline  # the driver stops the count at its max_regions
        try:
            if control.deadline is not None and time.perf_counter() >= control.deadline:
                self.stopped, self.done = "time_limit", True
                return
            if self.pool is not None:
                yield from self._collect(control.deadline)
                return
            if self.stack is None:
                if not self.root.keep:  # no ball of radius eps in the box: the exact search decides it all
                    auditor.explore([])
                    self.done = True
                    yield auditor.count
                    return
                self._start()
            status = yield from self._run(control.deadline, control.room)
            while status == "done" and (self.here or (self.parked and self.here is None and not self._pool_pays())):
                if self.here is None:  # from now on the parked nodes are certified here, one by one
                    self.here, self.parked = self.parked[::-1], []
                self._enter(*self.here.pop())
                status = yield from self._run(control.deadline, control.room)
            if status == "time_limit":
                self.stopped, self.done = status, True
            elif status == "done":
                if self.parked:
                    self._submit(control.deadline)
                else:
                    self.done = True
        except TimeLimitReached:
            self.stopped, self.done = "time_limit", True

    def _run(self, deadline, room=None):
        """Kernel calls until the traversal is done ("done"), the deadline ("time_limit") or the
        `room` of regions is used ("room"); yields the regions of each call."""
        auditor = self.auditor
        reg = self.state.reg
        while True:
            reg[fk.R_TESTS] = 0
            reg[fk.R_BUDGET] = self.budget
            ev = fk.certify_run(self.net, self.stack, self.state, self.out)
            self.budget = min(TEST_BUDGET, 4 * self.budget)
            self.tests += int(reg[fk.R_TESTS])
            before = self.count + auditor.count
            self._drain()
            yield self.count + auditor.count - before
            if ev == fk.EV_DONE:
                return "done"
            if ev == fk.EV_OVERFLOW:  # excluded by fast_applies's range bound
                raise ArithmeticError("a layer map left float64's range")
            now = time.perf_counter()
            if self.workers > 1 and self.here is None and reg[fk.R_SPLIT] < 0 and now >= self.started + LOCAL_START:
                reg[fk.R_SPLIT] = split_depth(self.n_bits)  # from now on, nodes at that depth go to the workers
            if deadline is not None and now >= deadline:
                return "time_limit"
            if room is not None and self.count + auditor.count >= room:
                return "room"

    def _start(self):
        st = self.state
        st.x[:] = self.root.point
        st.kr[0, 2] = float(self.root.radius)
        st.reg[fk.R_PC] = fk.PC_NODE
        st.reg[fk.R_SPLIT] = -1  # this process alone first: small counts finish before a pool would start
        st.reg[fk.R_AT] = split_depth(self.n_bits)  # its nodes entered here are counted (_pool_pays)
        self.stack = self.lp.compiled_stack()
        self.started = time.perf_counter()

    def _pool_pays(self):
        """Whether the parked nodes' estimated work exceeds ``POOL_MIN_WORK`` seconds: the time so
        far per node entered at the split depth, times the parked nodes."""
        seen = max(1, int(self.state.reg[fk.R_SEEN]))
        return len(self.parked) * (time.perf_counter() - self.started) > POOL_MIN_WORK * seen

    def _enter(self, bits, x, rho):
        """Start the traversal at a parked node (its prefix `bits`, witness `x`, radius `rho`)."""
        if self.stack is None:
            self.stack = self.lp.compiled_stack()
        self.stack.ints[S_LEVEL] = 0
        st = self.state
        p0 = len(bits)
        st.bits[:p0] = bits
        st.x[:] = x
        st.kr[p0, 2] = rho
        fk.certify_start(self.net, self.stack, st, p0)

    def run_parked(self, bits, x, rho, deadline):
        """Certify the subtree of a parked node (another process's): True when it finished."""
        self._enter(bits, x, rho)
        run = self._run(deadline)
        try:
            while True:
                next(run)
        except StopIteration as stop:
            return stop.value == "done"

    # ------------------------------------------------------------ parallel tasks
    def _submit(self, deadline):
        """The parked nodes to a pool of ``workers`` processes, in chunks (each a part file)."""
        from ..solvers.jit import types_of

        # compiled (or loaded) here first: forked workers inherit it instead of each loading it
        fk.certify_start.compile(types_of(self.net, self.stack, self.state, 0))
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        _TASK_STATE.clear()
        _TASK_STATE.update(problem=self.problem, exact=self.exact, writer=type(self.writer))
        self.pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx)
        parked, self.parked = self.parked, []
        chunks = min(len(parked), CHUNKS_PER_WORKER * self.workers)
        for k in range(chunks):
            part = self.writer.part_path(k + 1)
            fut = self.pool.submit(_fast_task, parked[k::chunks], k + 1, part, deadline)
            self.in_flight[fut] = part

    def _collect(self, deadline):
        done, _ = cf.wait(list(self.in_flight), timeout=WAIT, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            res = fut.result()
            part = self.in_flight.pop(fut)
            if part is not None:
                self.writer.parts.append(part)
            self.task_count += res["count"]
            self.task_float += res["float_count"]
            self.task_undecided += res["undecided"]
            self.tests += res["tests"]
            self.stopped = self.stopped or res["stopped"]
            yield res["count"]
        if not self.in_flight:
            self.done = True
            self.close()
        elif deadline is not None and time.perf_counter() >= deadline:
            self.stopped = "time_limit"

    def drain(self):
        """The tasks in flight when the time limit struck: their regions."""
        while self.in_flight:
            yield from self._collect(None)
        self.stopped = self.stopped or ("time_limit" if not self.done else None)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            _TASK_STATE.clear()

    def _drain(self):
        """Write and check the records of the last kernel call; reset the buffers."""
        out, reg = self.out, self.state.reg
        nl, ne, nv, nf, ns = (int(reg[k]) for k in (fk.R_NL, fk.R_NE, fk.R_NV, fk.R_NF, fk.R_NS))
        reg[fk.R_NL] = reg[fk.R_NE] = reg[fk.R_NV] = reg[fk.R_NF] = reg[fk.R_NS] = 0
        depth = int(reg[fk.R_SPLIT])
        self.parked += [(out.sbits[i, :depth].copy(), out.sx[i].copy(), float(out.sr[i])) for i in range(ns)]
        if ne and self.writer.file is not None:
            self._empties(ne, nv)
        if nl:
            self._leaves(out.lbits[:nl], out.lx[:nl], out.lr[:nl])
        for bits, k in zip(out.fbits[:nf], out.flen[:nf].tolist()):
            self.auditor.explore(bits[:k].tolist())
        self.stats.min_radius = min(self.stats.min_radius, float(out.lr[:nl].min(initial=math.inf)))

    def _empties(self, ne, nv):
        """The certified drops to the writer in bulk: multiplier ``eval * 2^eexp`` as its value and shift
        (``eexp <= MAX_SPREAD <= SHIFT_MAX``, so every one fits the ``shift`` array)."""
        ptr = self.out.eptr[:ne + 1]
        self.writer.empties(self.out.ebits[:ne], self.out.elen[:ne], ptr - ptr[0], self.out.epos[ptr[0]:ptr[ne]],
                            self.out.eval[ptr[0]:ptr[ne]], self.out.eexp[ptr[0]:ptr[ne]])

    def _leaves(self, bits, x, rho):
        """Prove the leaves' short points (module docstring); the others go to the auditor."""
        n = x.shape[1]
        self.float_count += len(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            k = np.ceil(np.log2(2.0 * math.sqrt(n) / rho))
            fine = np.isfinite(k) & (rho > 0) & (k < 900)
            k = np.where(fine, np.maximum(k, 0.0), 0.0)
            X = np.round(np.ldexp(x, k.astype(np.int64)[:, None]))
            fine &= np.all(np.abs(X) < _EXACT_BELOW, axis=1)
            scale = np.ldexp(1.0, k.astype(np.int64))
            points = X / scale[:, None]  # exact: an integer below 2^53 over a power of 2
            fine &= np.all((points > self.ilo) & (points < self.ihi), axis=1)
        good = np.zeros(len(x), dtype=bool)
        idx = np.flatnonzero(fine)
        good[idx] = self.exact.point_filter.passes_arrays(bits[idx].astype(bool), X[idx], scale[idx])
        if good.any():
            if self.writer.file is not None:
                self.writer.regions(bits[good], points[good])
            self.count += int(good.sum())
        bad = np.flatnonzero(~good)
        if bad.size:
            for i in bad.tolist():
                self.auditor.leaf(bits[i].tolist(), x[i], float(rho[i]))
            self.auditor.float_count -= bad.size  # counted above
            self.auditor.flush()

    @property
    def totals(self) -> dict:
        """This process's counts and the returned tasks' together."""
        a = self.auditor
        return {"count": self.count + a.count + self.task_count,
                "float_count": self.float_count + a.float_count + self.task_float,
                "undecided": list(a.undecided) + self.task_undecided, "exact_lps": a.exact_lps, "hint_lps": a.hint_lps}

    def open_work(self):
        return 0, []

    def refresh_stats(self):
        self.stats.lp_solves = self.tests
        self.stats.nodes = self.tests


# ---------------------------------------------------------------------- parallel tasks
_TASK_STATE = {}


def _fast_task(chunk, task_id, part, deadline):
    """Certify the parked nodes `chunk` in a worker process (forked with ``_TASK_STATE``); its
    records go to the part file `part`. Returns its counts, undecided branches and tests."""
    net, domain, eps, prune = _TASK_STATE["problem"]
    exact = _TASK_STATE["exact"]
    writer = _TASK_STATE["writer"](part, exact, header=False)
    work = FastCertifiedWork(net, domain, eps, prune, exact, writer, first_id=task_id << 32)
    work.auditor.deadline = deadline
    stopped = None
    try:
        for bits, x, rho in chunk:
            if not work.run_parked(bits, x, rho, deadline):
                stopped = "time_limit"
                break
    except TimeLimitReached:
        stopped = "time_limit"
    finally:
        writer.close()
    out = work.totals
    out.update(stopped=stopped, tests=work.tests)
    return out
