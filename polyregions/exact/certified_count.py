"""The certified count, in one process or split over several, and its certificate file.

:func:`count_certified` runs the search of :mod:`polyregions.search.engine` with an
:class:`~polyregions.exact.certifier.Auditor` attached (every dropped branch and every leaf
decided exactly). With ``workers > 1`` the search tree is split as the float search splits
it (:mod:`polyregions.search.parallel`): each task searches one subproblem for at most
``TASK_BUDGET`` seconds with its own auditor, writes its records to a part file and hands
back the children it has not entered; the parts are joined behind one header at the end.
Every pattern lies below exactly one task's subproblem, so the parts together cover the
patterns exactly once, as the checker verifies. A task's certificate ids lie in its own
range (``task << ID_BITS``); a worker's later tasks refer to the certificates its earlier tasks
wrote (records may come in any order, and every finished task's part is joined). The
certificate format is ``docs/certificates.md``.
"""

from __future__ import annotations

import concurrent.futures as cf
import gzip
import io
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
import zlib

import numpy as np

from .certifier import Auditor, RegionLimitReached, bits_text
from ..driver import drive
from ..errors import SolverError, UnsupportedError
from .exact_lp import TimeLimitReached
from .exact_net import ExactNetwork
from .fast_certify import FastCertifiedWork, fast_applies
from ..result import CertifiedCount, Stats
from ..search.engine import RegionSearch
from ..search.parallel import LOCAL_START, TASK_BUDGET, WAIT  # the float search's split, unchanged
from .spec import FORMAT, MAGIC, SHIFT_MAX, TEXT_VERSION, VERSION, exact_point, hex_int
from ..solvers.base import TestResult

__all__ = ["COMPRESS_LEVEL", "CertificateWriter", "CertifiedWork", "ID_BITS", "USE_ISAL", "count_certified"]

#: Certificate ids of task ``k`` are ``k << ID_BITS`` onwards (task 0: this process).
ID_BITS = 32
#: zlib level of gzip certificates and of version 3's blocks (1: fastest; the records are highly repetitive).
COMPRESS_LEVEL = 1

try:  # ISA-L's deflate (the extra "fast"): zlib streams several times faster than zlib's level 1, ~12% larger
    from isal.isal_zlib import compress as _isal_compress
except ImportError:  # pragma: no cover - depends on the environment
    _isal_compress = None

#: Compress version 3's blocks with ISA-L when it is installed (any zlib reads its streams), else with zlib.
USE_ISAL = _isal_compress is not None


def _block(tag, payload):
    """A block of a version 3 certificate: its 4-byte tag, the size of its zlib stream (uint64, little-endian),
    the zlib stream of `payload` (``COMPRESS_LEVEL``; ISA-L's deflate when ``USE_ISAL``)."""
    data = _isal_compress(payload, COMPRESS_LEVEL) if USE_ISAL else zlib.compress(payload, COMPRESS_LEVEL)
    return tag + len(data).to_bytes(8, "little") + data


def _multipliers(y):
    """The multipliers as the JSON object text ``{"key":"hex",...}`` (keys are positions or ``d<k>``)."""
    return "{" + ",".join(f'"{k}":"{int(v):x}"' for k, v in y.items()) + "}"  # format's "x": hex_int's spelling


class CertificateWriter:
    """Streams the certificate of a count to `path` (``docs/certificates.md``): format
    ``polyregions-certificate`` version 3 (a binary container, ``MAGIC``) unless `path` ends in
    ``.jsonl`` or ``.gz``: then version 2 (JSON lines, gzip-compressed for ``.gz``). Records are
    written in blocks (``BLOCK`` lines; bulk blocks of up to ``ROWS`` rows) and nothing else is
    kept in memory. ``header=False``: the records only (a part of a parallel count).

    Per record (both versions, as JSON lines; a version 3 file holds them in ``json`` blocks):
    ``{"region": bits, "den": D, "point": [...]}`` (the interior point ``point / D``),
    ``{"empty": prefix, "y": {row: multiplier}}``, ``{"cert": id, "assign": "01*1..", "y": {...}}``
    (a certificate shared by the partial patterns that agree with its assignment, ``*`` = free),
    ``{"empty": prefix, "ref": id}`` and the trailer ``{"count": N, "undecided": K}``; rows are
    named by the pattern position (or ``"d<k>"``, row k of a polytope domain), integers are
    hexadecimal strings. In bulk (:meth:`regions`, :meth:`empties`): arrays, in ``regs`` and
    ``empt`` blocks of version 3 (one record per row in version 2).

    The ``parts`` of a parallel count (files of writers with ``header=False`` and the same
    format, in ``folder``) are copied byte for byte behind this writer's records when it
    closes (version 3 is a sequence of blocks; a gzip certificate a sequence of gzip members,
    whose concatenation RFC 1952 reads as one stream), and ``folder`` is removed.
    """

    BLOCK = 4096
    ROWS = 1 << 13

    def __init__(self, path, exact: ExactNetwork, header: bool = True):
        self.file = None
        self.path = None if path is None else os.fspath(path)
        self.text = self.path is not None and self.path.endswith((".jsonl", ".gz"))
        self.gz = self.text and self.path.endswith(".gz")
        self.n, self.N = exact.dim, exact.n_bits
        self._block, self._bulk, self._rows, self._shifted = [], {b"regs": [], b"empt": []}, 0, False
        self.parts, self.folder = [], None
        if self.path is not None:
            self.file = gzip.open(self.path, "wb", compresslevel=COMPRESS_LEVEL) if self.gz else open(self.path, "wb")
            spec = {"format": FORMAT, "version": TEXT_VERSION if self.text else VERSION,
                    "network": exact.network_spec, "domain": exact.domain_spec}
            if header and self.text:
                self._line(spec)
            elif header:
                self.file.write(MAGIC + VERSION.to_bytes(4, "little") + _block(b"head", json.dumps(spec).encode()))

    def _line(self, obj):
        self._block.append(json.dumps(obj, separators=(",", ":")))

    def _add(self, line):
        block = self._block
        block.append(line)
        if len(block) >= self.BLOCK:
            self.flush()

    def flush(self):
        """Write the records held so far."""
        if self._block:
            text = ("\n".join(self._block) + "\n").encode()
            self.file.write(text if self.text else _block(b"json", text))
            self._block = []
        for tag, chunks in self._bulk.items():
            if chunks:
                arrays = [np.concatenate(a) for a in zip(*chunks)]
                if tag == b"empt":  # the multipliers' row pointers, chunk after chunk; shifts if any were given
                    sizes = np.concatenate([np.diff(c[2]) for c in chunks])
                    arrays[2] = np.concatenate([[0], np.cumsum(sizes)])
                    arrays = arrays if self._shifted else arrays[:5]
                self._write_bulk(tag, arrays)
                chunks.clear()
        self._rows, self._shifted = 0, False

    def _write_bulk(self, tag, arrays):
        """Bulk blocks of at most ``ROWS`` rows each (one task each of a check over several processes)."""
        for i in range(0, len(arrays[0]), self.ROWS):
            j = i + self.ROWS
            if tag == b"empt":  # bits, length, ptr, then the per-multiplier arrays: pos, val (and shift)
                ptr = arrays[2][i: j + 1]
                part = (arrays[0][i:j], arrays[1][i:j], ptr - ptr[0], *(a[ptr[0]: ptr[-1]] for a in arrays[3:]))
            else:
                part = tuple(a[i:j] for a in arrays)
            out = io.BytesIO()
            for a in part:
                np.lib.format.write_array(out, np.ascontiguousarray(a), allow_pickle=False)
            self.file.write(_block(tag, out.getvalue()))

    def _hold(self, tag, arrays):
        """Keep a bulk chunk until ``ROWS`` rows are held. Copies: the block is written later, and
        a caller's arrays (the compiled path's output buffers) are refilled meanwhile."""
        self._bulk[tag].append(tuple(np.array(a, copy=True) for a in arrays))
        self._rows += len(arrays[0])
        if self._rows >= self.ROWS:
            self.flush()

    def region(self, bits, nums, den):
        """The region of `bits` with its point ``nums / den`` (integers)."""
        if self.file is not None:
            point = ",".join(f'"{int(v):x}"' for v in nums)
            self._add(f'{{"region":"{bits_text(bits)}","den":"{hex_int(den)}","point":[{point}]}}')

    def empty(self, prefix, cert=None, ref=None):
        """The empty branch `prefix` (0/1 values, or their text ``"0110.."``) by `cert` or certificate `ref`."""
        if self.file is not None:
            tail = f'"ref":{int(ref)}' if ref is not None else f'"y":{_multipliers(cert["y"])}'
            self._add(f'{{"empty":"{prefix if isinstance(prefix, str) else bits_text(prefix)}",{tail}}}')

    def regions(self, bits, points):
        """Regions in bulk: row ``r`` of `bits` (``(R, N)``, 0/1) has a region holding row ``r`` of
        `points` (``(R, n)`` float64, each float the exact dyadic rational it is)."""
        bits, points = np.asarray(bits, dtype=np.uint8), np.asarray(points, dtype=np.float64)
        if (bits.ndim != 2 or points.ndim != 2 or len(bits) != len(points) or not np.isfinite(points).all()
                or bits.shape[1] != self.N or points.shape[1] != self.n or (bits > 1).any()):
            raise ValueError(f"regions: bits (R, {self.N}) of 0/1 and finite points (R, {self.n}) with the same R")
        if self.file is None or not len(bits):
            return
        if not self.text:
            return self._hold(b"regs", (np.packbits(bits, axis=1), points))
        for b, x in zip(bits, points.tolist()):
            self.region(b, *exact_point(x))

    def empties(self, prefix_bits, prefix_len, y_ptr, y_pos, y_val, y_shift=None):
        """Empty branches in bulk: branch ``e`` is the prefix ``prefix_bits[e, :prefix_len[e]]``
        (``(E, N)`` 0/1), proven empty by the multipliers ``y_val[i] * 2**y_shift[i]`` for
        ``y_ptr[e] <= i < y_ptr[e + 1]`` (``y_val`` positive int64, ``y_shift`` integers in
        ``[0, SHIFT_MAX]``, all 0 when None) of the pattern positions ``y_pos[i]`` (each fixed in
        the prefix): compressed sparse rows, ``len(y_ptr) = E + 1``. With `y_shift` given, a
        version 3 block holds the ``shift`` array."""
        prefix_bits = np.asarray(prefix_bits, dtype=np.uint8)
        prefix_len, y_ptr = np.asarray(prefix_len, dtype=np.int64), np.asarray(y_ptr, dtype=np.int64)
        y_pos, y_val = np.asarray(y_pos, dtype=np.int64), np.asarray(y_val, dtype=np.int64)
        shift = np.zeros(len(y_val), np.int64) if y_shift is None else np.asarray(y_shift)
        E = len(prefix_len)
        if (prefix_bits.ndim != 2 or prefix_bits.shape != (E, self.N) or len(y_ptr) != E + 1 or y_ptr[0] != 0
                or (np.diff(y_ptr) < 1).any() or len(y_pos) != y_ptr[-1] or len(y_val) != y_ptr[-1]
                or (prefix_len < 0).any() or (prefix_len > self.N).any() or (y_val < 1).any() or (prefix_bits > 1).any()
                or (y_pos < 0).any() or (y_pos >= np.repeat(prefix_len, np.diff(y_ptr))).any()
                or shift.shape != y_val.shape or shift.dtype.kind not in "iu" or (shift < 0).any()
                or (shift > SHIFT_MAX).any()):
            raise ValueError(f"empties: malformed prefixes or multipliers (shifts in [0, {SHIFT_MAX}])")
        if self.file is None or not E:
            return
        if not self.text:
            packed = np.packbits(prefix_bits, axis=1)
            # nothing beyond a prefix: packed byte j keeps its first min(8, max(0, length - 8 j)) bits
            packed &= (0xFF00 >> np.clip(prefix_len[:, None] - 8 * np.arange(packed.shape[1]), 0, 8)).astype(np.uint8)
            self._shifted |= y_shift is not None
            return self._hold(b"empt", (packed, prefix_len.astype("<i4"), y_ptr, y_pos.astype("<i4"), y_val,
                                        shift.astype("<u2")))
        ptr, pos = y_ptr.tolist(), y_pos.tolist()
        val = [v << k for v, k in zip(y_val.tolist(), shift.tolist())]
        for e, k in enumerate(prefix_len.tolist()):
            s, t = ptr[e], ptr[e + 1]
            self.empty(prefix_bits[e, :k], {"y": dict(zip(pos[s:t], val[s:t]))})

    def shared(self, cid, assign, cert):
        """The certificate `cert` with id `cid` for the assignment `assign` (0, 1 or None per position,
        or its text ``"01*1.."``)."""
        if self.file is not None:
            if not isinstance(assign, str):
                assign = "".join("*" if a is None else str(a) for a in assign)
            self._add(f'{{"cert":{int(cid)},"assign":"{assign}","y":{_multipliers(cert["y"])}}}')

    def part_path(self, task_id):
        """Where the records of parallel task `task_id` go (None: no file), in ``folder``."""
        if self.path is None:
            return None
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="polyregions-cert-", dir=os.path.dirname(os.path.abspath(self.path)))
        suffix = (".jsonl.gz" if self.gz else ".jsonl") if self.text else ".part"
        return os.path.join(self.folder, f"part-{task_id:08d}{suffix}")

    def close(self, trailer=None):
        """Finish the file: this writer's records, the finished ``parts`` byte for byte, the `trailer`."""
        try:
            if self.file is None:
                return
            self.flush()
            self.file.close()
            self.file = None
            if self.parts or trailer is not None:
                with open(self.path, "ab") as out:
                    for part in sorted(self.parts):
                        with open(part, "rb") as f:
                            shutil.copyfileobj(f, out, 1 << 20)
                    if trailer is not None:
                        line = (json.dumps(trailer, separators=(",", ":")) + "\n").encode()
                        out.write((gzip.compress(line) if self.gz else line) if self.text else _block(b"json", line))
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder = None


class _Failures:
    """Counts the backend's SolverErrors; the region test reads each as "drop the branch"."""

    def __init__(self):
        self.count = 0

    def wrap(self, test):
        def wrapped(anchor):
            try:
                return test(anchor)
            except SolverError:  # the auditor decides the dropped branch exactly
                self.count += 1
                return TestResult(False, -math.inf, None, -math.inf)
        return wrapped


def _setup(net, domain, eps, backend, prune, exact=None):
    exact = ExactNetwork(net, domain) if exact is None else exact
    search = RegionSearch(net, domain, eps, backend, prune)
    failures = _Failures()
    search.lp.test = failures.wrap(search.lp.test)
    return exact, search, failures


def count_certified(net, domain, *, eps, backend, prune, max_regions=None, time_limit=None, progress=None,
                    certificate=None, workers: int = 1) -> CertifiedCount:
    """The certified count of `net`'s regions in `domain` (see the module docstring), run by the
    counting driver (:mod:`polyregions.driver`) as a :class:`CertifiedWork`, or, for a ReLU MLP in
    a low-dimensional box (:func:`polyregions.exact.fast_certify.fast_applies`), as the compiled
    :class:`~polyregions.exact.fast_certify.FastCertifiedWork`.

    `time_limit` and `max_regions` hold inside the exact computations too; a solver failure
    of the float search hands the branch to the exact decision instead of stopping the count.
    Returns a :class:`CertifiedCount`: ``count`` (exact when ``certified``), ``float_count``
    (the float search's count at `eps`), ``undecided`` (``[(prefix, why)]``, never guessed)
    and ``certificate`` (the file written, if any).

    Raises
    ------
    UnsupportedError
        For a network that is not plain ReLU (its regions are then not the strict systems of
        :mod:`polyregions.exact.exact_net`), or a domain without an exact form (a slice: its
        composed network is computed in floating point).
    """
    if not net.is_relu:
        raise UnsupportedError("`net`: `certify=True` supports plain ReLU networks (no LeakyReLU, max pooling "
                               "or residual carry)")
    t0 = time.perf_counter()
    exact = ExactNetwork(net, domain)  # the domain's exact form (a slice refuses)
    writer = CertificateWriter(certificate, exact)
    if fast_applies(exact, backend):  # a ReLU MLP in a low-dimensional box: the compiled path
        work = FastCertifiedWork(net, domain, eps, prune, exact, writer, workers)
    else:
        _, search, _ = _setup(net, domain, eps, backend, prune, exact=exact)
        work = CertifiedWork(search, Auditor(exact, writer), writer, (net, domain, eps, backend, prune), workers,
                             certificate)
    res = None
    try:
        res = drive(work, max_units=max_regions, time_limit=time_limit, progress=progress, start=t0)
    finally:
        complete = res is not None and res.complete
        totals = work.totals
        writer.close({"count": totals["count"], "undecided": len(totals["undecided"]) + (0 if complete else 1)})
    return CertifiedCount(res.count, res.stats, complete=complete, stopped=res.stopped,
                          certified=complete and not totals["undecided"], undecided=totals["undecided"],
                          float_count=totals["float_count"], certificate=None if certificate is None else str(certificate),
                          exact_lps=totals["exact_lps"], hint_lps=totals["hint_lps"])


class CertifiedWork:
    """The audited search as work for the counting driver (:mod:`polyregions.driver`).

    Its first step searches from the root in this process with `auditor` (every leaf and every
    dropped branch decided exactly); with ``workers > 1`` only for ``LOCAL_START`` seconds, after
    which each step hands subproblems to a pool of processes (:func:`_task`, each with its own
    auditor and part file) and waits up to ``WAIT`` seconds for one to return. The units
    are certified regions. Not resumable: ``stopped`` is "time_limit" when the deadline left
    part of the tree open (or stopped an exact computation). The parts' records are joined behind
    this process's when the writer closes.
    """

    def __init__(self, search, auditor, writer, problem, workers, certificate):
        self.search, self.auditor, self.writer = search, auditor, writer
        search.audit = auditor
        self.stats = search.stats
        self.problem, self.workers, self.certificate = problem, workers, certificate
        self.task_totals = {"count": 0, "float_count": 0, "undecided": [], "exact_lps": 0, "hint_lps": 0}
        self.queue, self.in_flight = None, {}
        self.pool = None
        self.next_id, self.task_solves, self.stopped = 1, 0, None
        self.done = False

    @property
    def totals(self) -> dict:
        """This process's auditor and the returned tasks together: ``count``, ``float_count``,
        ``undecided``, ``exact_lps``, ``hint_lps``."""
        a, t = self.auditor, self.task_totals
        return {"count": a.count + t["count"], "float_count": a.float_count + t["float_count"],
                "undecided": list(a.undecided) + t["undecided"], "exact_lps": a.exact_lps + t["exact_lps"],
                "hint_lps": a.hint_lps + t["hint_lps"]}

    def step(self, control):
        if self.queue is None:
            yield from self._local(control)
        elif self.queue or self.in_flight:
            yield from self._collect(control, submit=True)
        if not self.queue and not self.in_flight:
            self.done = True

    def _local(self, control):
        """The root and the search below it in this process (``LOCAL_START`` seconds with workers)."""
        search, auditor = self.search, self.auditor
        t0 = time.perf_counter()
        deadline = control.deadline
        auditor.deadline = deadline
        auditor.max_regions = None if control.room is None else auditor.count + control.room
        search.deadline = deadline
        if self.workers > 1:  # search here first: small counts finish before a pool would have started
            search.deadline = t0 + LOCAL_START if deadline is None else min(t0 + LOCAL_START, deadline)
        self.queue = []
        seen = auditor.count  # the auditor also counts inside dropped branches it searches again
        try:
            root = search.root()
            if root is None:
                auditor.explore([])
            else:
                for x, rho, _, _ in search.run(root):
                    auditor.leaf(list(search.bits), x, rho)
                    self.stats.min_radius = min(self.stats.min_radius, rho)
                    yield auditor.count - seen
                    seen = auditor.count
                auditor.flush()
                entries = auditor.entries()  # the layer entries' certificates, for the tasks below them
                self.queue = [(sub, entries) for sub in search.frontier]
                search.frontier = []
                if self.queue and (self.workers <= 1 or (deadline is not None and time.perf_counter() >= deadline)):
                    self.stopped, self.done = "time_limit", True
        except TimeLimitReached:
            self.stopped, self.done = "time_limit", True
        except RegionLimitReached:
            pass  # the count reached max_regions: the driver stops there
        yield auditor.count - seen

    def _start(self):
        self.payload = (*self.problem, f"{os.getpid()}-{time.time_ns()}")
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        # forked workers start from this process's exact network (its layer maps computed) and certificates
        _TASK_STATE.clear()
        _TASK_STATE.update(key=self.payload[-1], exact=self.auditor.exact, reuse=self.auditor.reuse)
        self.pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx)

    def _collect(self, control, *, submit):
        if self.pool is None:
            self._start()
        queue, in_flight = self.queue, self.in_flight
        while submit and queue and self.stopped is None and len(in_flight) < 2 * self.workers:
            part = self.writer.part_path(self.next_id)
            fut = self.pool.submit(_task, self.payload, *queue.pop(0), self.next_id, part, control.deadline,
                                   control.room)
            in_flight[fut] = part
            self.next_id += 1
        if not in_flight:
            return
        done, _ = cf.wait(list(in_flight), timeout=WAIT, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            res = fut.result()
            part = in_flight.pop(fut)
            if part is not None:
                self.writer.parts.append(part)
            for k in ("count", "float_count", "undecided", "exact_lps", "hint_lps"):
                self.task_totals[k] += res[k]
            self.task_solves += res["stats"].lp_solves
            res["stats"].lp_solves = 0
            _merge(self.stats, res["stats"])
            queue.extend(res["frontier"])
            self.stopped = self.stopped or res["stopped"]
            yield res["count"]
        if self.stopped is not None and not in_flight:
            self.done = True

    def drain(self):
        """The tasks in flight when the time limit struck: their regions, no new task."""
        while self.in_flight:
            yield from self._collect(None, submit=False)
        if self.stopped is None and self.queue:
            self.stopped = "time_limit"

    def open_work(self):
        return 0, []

    def refresh_stats(self):
        self.stats.lp_solves = self.search.lp.lp_solves + self.task_solves
        self.stats.pending = len(self.queue or []) + len(self.in_flight)

    def close(self):
        """Shut the pool down (the writer joins the parts' records behind its own when it closes)."""
        if self.pool is not None:
            for fut in self.in_flight:
                fut.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            _TASK_STATE.clear()


# ---------------------------------------------------------------------- parallel tasks
_TASK_STATE = {}


def _task(payload, sub, entries, task_id, part_path, deadline, limit):
    """Search the subproblem `sub` with a fresh auditor for ``TASK_BUDGET`` seconds; its records go to
    `part_path`; `entries`: the certificates of the layer entries above `sub` (written by the task
    or the process that left `sub` open). Returns the counts, the undecided branches, the open
    children (each with the entries above it) and the statistics."""
    key = payload[-1]
    if _TASK_STATE.get("key") != key:
        _TASK_STATE.clear()
        _TASK_STATE["key"] = key
    if "setup" not in _TASK_STATE:
        _TASK_STATE["setup"] = _setup(*payload[:-1], exact=_TASK_STATE.get("exact"))
    exact, search, failures = _TASK_STATE["setup"]
    writer = CertificateWriter(part_path, exact, header=False)
    # the certificates of this process's earlier tasks of the count stay usable (their parts join the same file)
    auditor = Auditor(exact, writer, first_id=task_id << ID_BITS, reuse=_TASK_STATE.get("reuse"))
    _TASK_STATE["reuse"] = auditor.reuse
    auditor.seed(entries)
    auditor.deadline, auditor.max_regions = deadline, limit
    search.audit, search.frontier, search.stats = auditor, [], Stats(eps=search.eps)
    solves0 = search.lp.lp_solves
    search.deadline = time.perf_counter() + TASK_BUDGET
    if deadline is not None:
        search.deadline = min(search.deadline, deadline)
    stopped = None
    try:
        for x, rho, _, _ in search.run(sub):
            auditor.leaf(list(search.bits), x, rho)
            search.stats.min_radius = min(search.stats.min_radius, rho)
        auditor.flush()
    except TimeLimitReached:
        stopped = "time_limit"
    except RegionLimitReached:
        stopped = "max_regions"
    finally:
        writer.close()
    search.stats.lp_solves = search.lp.lp_solves - solves0
    frontier, search.frontier = [(f, auditor.entries()) for f in search.frontier], []
    return {"count": auditor.count, "float_count": auditor.float_count, "undecided": list(auditor.undecided),
            "exact_lps": auditor.exact_lps, "hint_lps": auditor.hint_lps, "stats": search.stats,
            "frontier": frontier, "stopped": stopped}


def _merge(total: Stats, part: Stats):
    total.lp_solves += part.lp_solves
    total.nodes += part.nodes
    total.near_eps += part.near_eps
    total.min_radius = min(total.min_radius, part.min_radius)
    total.min_kept_depth = min(total.min_kept_depth, part.min_kept_depth)
