"""The certified count, in one process or split over several, and its certificate file.

:func:`count_certified` runs the search of :mod:`polyregions.search.engine` with an
:class:`~polyregions.exact.certifier.Auditor` attached (every dropped branch and every leaf
decided exactly). With ``workers > 1`` the search tree is split as the float search splits
it (:mod:`polyregions.search.parallel`): each task searches one subproblem for at most
``TASK_BUDGET`` seconds with its own auditor, writes its records to a part file and hands
back the children it has not entered; the parts are joined behind one header at the end.
Every pattern lies below exactly one task's subproblem, so the parts together cover the
patterns exactly once, as the checker verifies. A task's certificate ids lie in its own
range (``task << ID_BITS``). The certificate format is ``docs/certificates.md``.
"""

from __future__ import annotations

import concurrent.futures as cf
import gzip
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time

import numpy as np

from .certifier import Auditor, RegionLimitReached, bits_text
from ..errors import SolverError
from .exact_lp import TimeLimitReached
from .exact_net import ExactNetwork
from ..result import CertifiedCount, Stats
from ..search.engine import RegionSearch
from .spec import FORMAT, VERSION, exact_point, hex_int
from ..solvers.base import TestResult

__all__ = ["CertificateWriter", "ID_BITS", "LOCAL_START", "TASK_BUDGET", "count_certified"]

#: Seconds a parallel task searches before it hands back its open children.
TASK_BUDGET = 0.5
#: Certificate ids of task ``k`` are ``k << ID_BITS`` onwards (task 0: this process).
ID_BITS = 32
#: Seconds the certified count searches in this process before it starts ``workers`` processes.
LOCAL_START = 0.3


def _multipliers(y):
    """The multipliers as the JSON object text ``{"key":"hex",...}`` (keys are positions or ``d<k>``)."""
    return "{" + ",".join(f'"{k}":"{hex_int(v)}"' for k, v in y.items()) + "}"


class CertificateWriter:
    """Streams the certificate of a count to `path` (format ``polyregions-certificate`` version 2,
    ``docs/certificates.md``) as JSON lines, gzip-compressed when `path` ends in ``.gz``;
    nothing is kept in memory. ``header=False``: the records only (a part of a parallel count).

    Lines: the header (format, version, the exact network and domain of
    :mod:`polyregions.exact.spec`), then ``{"region": bits, "den": D, "point": [...]}`` (the
    interior point ``point / D``), ``{"empty": prefix, "y": {row: multiplier}}``,
    ``{"cert": id, "assign": "01*1..", "y": {...}}`` (a certificate shared by the partial
    patterns that agree with its assignment, ``*`` = free) and ``{"empty": prefix, "ref": id}``,
    and the trailer ``{"count": N, "undecided": K}``. Rows are named by the pattern position
    (or ``"d<k>"``, row k of a polytope domain); integers are hexadecimal strings.
    """

    def __init__(self, path, exact: ExactNetwork, header: bool = True):
        self.file = None
        if path is not None:
            path = os.fspath(path)
            self.file = gzip.open(path, "wt", compresslevel=6) if path.endswith(".gz") else open(path, "w")
            if header:
                self._line({"format": FORMAT, "version": VERSION, "network": exact.network_spec,
                            "domain": exact.domain_spec})

    def _line(self, obj):
        self.file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def region(self, bits, x):
        if self.file is not None:
            nums, den = exact_point([float(v) if isinstance(v, np.floating) else v for v in x])
            point = ",".join(f'"{hex_int(v)}"' for v in nums)
            self.file.write(f'{{"region":"{bits_text(bits)}","den":"{hex_int(den)}","point":[{point}]}}\n')

    def empty(self, prefix, cert=None, ref=None):
        if self.file is not None:
            tail = f'"ref":{int(ref)}' if ref is not None else f'"y":{_multipliers(cert["y"])}'
            self.file.write(f'{{"empty":"{bits_text(prefix)}",{tail}}}\n')

    def shared(self, cid, assign, cert):
        if self.file is not None:
            assign = "".join("*" if a is None else str(a) for a in assign)
            self.file.write(f'{{"cert":{int(cid)},"assign":"{assign}","y":{_multipliers(cert["y"])}}}\n')

    def append(self, part_path):
        """Copy the records of a part file here."""
        if self.file is not None:
            with open(part_path) as part:
                shutil.copyfileobj(part, self.file)

    def close(self, trailer=None):
        if self.file is not None:
            if trailer is not None:
                self._line(trailer)
            self.file.close()
            self.file = None


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


def _setup(net, domain, eps, backend, prune):
    exact = ExactNetwork(net, domain)
    search = RegionSearch(net, domain, eps, backend, prune)
    failures = _Failures()
    search.lp.test = failures.wrap(search.lp.test)
    return exact, search, failures


def count_certified(net, domain, *, eps, backend, prune, max_regions=None, time_limit=None, progress=None,
                    certificate=None, workers: int = 1) -> CertifiedCount:
    """The certified count of `net`'s regions in `domain` (see the module docstring).

    `time_limit` and `max_regions` hold inside the exact computations too; a solver failure
    of the float search hands the branch to the exact decision instead of stopping the count.
    Returns a :class:`CertifiedCount`: ``count`` (exact when ``certified``), ``float_count``
    (the float search's count at `eps`), ``undecided`` (``[(prefix, why)]``, never guessed)
    and ``certificate`` (the file written, if any).
    """
    t0 = time.perf_counter()
    exact, search, failures = _setup(net, domain, eps, backend, prune)
    writer = CertificateWriter(certificate, exact)
    auditor = Auditor(exact, writer)
    search.audit = auditor
    stats = search.stats
    deadline = None if time_limit is None else t0 + time_limit
    search.deadline = auditor.deadline = deadline
    auditor.max_regions = max_regions
    stopped, failed, totals = None, True, None
    try:
        root = search.root()
        if root is None:
            auditor.explore([])
        else:
            if workers > 1:  # search here first: small counts finish before a pool would have started
                search.deadline = t0 + LOCAL_START if deadline is None else min(t0 + LOCAL_START, deadline)
            next_report = t0 + 0.5
            for x, rho, _, _ in search.run(root):
                auditor.leaf(list(search.bits), x)
                stats.min_radius = min(stats.min_radius, rho)
                if progress is not None and time.perf_counter() >= next_report:
                    stats.seconds = time.perf_counter() - t0
                    progress(auditor.count, stats)
                    next_report = time.perf_counter() + 0.5
            if search.frontier and workers > 1 and (deadline is None or time.perf_counter() < deadline):
                limit = None if max_regions is None else max_regions - auditor.count
                totals, stopped = _drive((net, domain, eps, backend, prune), search.frontier, writer, workers,
                                         deadline, limit, progress, stats, t0, certificate)
            elif search.frontier:
                stopped = "time_limit"
                stats.pending = len(search.frontier)
        failed = False
    except TimeLimitReached:
        stopped, failed = "time_limit", False
    except RegionLimitReached:
        stopped, failed = "max_regions", False
    finally:
        count, float_count, undecided = auditor.count, auditor.float_count, list(auditor.undecided)
        exact_lps, hint_lps = auditor.exact_lps, auditor.hint_lps
        if totals is not None:
            count += totals["count"]
            float_count += totals["float_count"]
            undecided += totals["undecided"]
            exact_lps += totals["exact_lps"]
            hint_lps += totals["hint_lps"]
        stats.seconds = time.perf_counter() - t0
        stats.lp_solves += search.lp.lp_solves
        complete = stopped is None and not failed
        writer.close({"count": count, "undecided": len(undecided) + (0 if complete else 1)})
    return CertifiedCount(count, stats, complete=complete, stopped=stopped, certified=complete and not undecided,
                          undecided=undecided, float_count=float_count,
                          certificate=None if certificate is None else str(certificate), exact_lps=exact_lps,
                          hint_lps=hint_lps)


# ---------------------------------------------------------------------- parallel tasks
_TASK_STATE = {}


def _task(payload, sub, task_id, part_path, deadline, limit):
    """Search the subproblem `sub` with a fresh auditor for ``TASK_BUDGET`` seconds; its records go to
    `part_path`. Returns the counts, the undecided branches, the open children and the statistics."""
    key = payload[-1]
    if _TASK_STATE.get("key") != key:
        _TASK_STATE.clear()
        _TASK_STATE.update(key=key, setup=_setup(*payload[:-1]))
    exact, search, failures = _TASK_STATE["setup"]
    writer = CertificateWriter(part_path, exact, header=False)
    auditor = Auditor(exact, writer, first_id=task_id << ID_BITS)
    auditor.deadline, auditor.max_regions = deadline, limit
    search.audit, search.frontier, search.stats = auditor, [], Stats(eps=search.eps)
    solves0 = search.lp.lp_solves
    search.deadline = time.perf_counter() + TASK_BUDGET
    if deadline is not None:
        search.deadline = min(search.deadline, deadline)
    stopped = None
    try:
        for x, rho, _, _ in search.run(sub):
            auditor.leaf(list(search.bits), x)
            search.stats.min_radius = min(search.stats.min_radius, rho)
    except TimeLimitReached:
        stopped = "time_limit"
    except RegionLimitReached:
        stopped = "max_regions"
    finally:
        writer.close()
    search.stats.lp_solves = search.lp.lp_solves - solves0
    frontier, search.frontier = search.frontier, []
    return {"count": auditor.count, "float_count": auditor.float_count, "undecided": list(auditor.undecided),
            "exact_lps": auditor.exact_lps, "hint_lps": auditor.hint_lps, "stats": search.stats,
            "frontier": frontier, "stopped": stopped}


def _drive(problem, queue, writer, workers, deadline, max_regions, progress, stats, t0, certificate):
    """Certify the subproblems of `queue` with `workers` processes; their parts are appended to `writer`."""
    folder = tempfile.mkdtemp(prefix="polyregions-cert-", dir=None if certificate is None else
                              os.path.dirname(os.path.abspath(os.fspath(certificate))))
    payload = (*problem, f"{os.getpid()}-{time.time_ns()}")
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    totals = {"count": 0, "float_count": 0, "undecided": [], "exact_lps": 0, "hint_lps": 0}
    queue, in_flight, parts, stopped, next_id = list(queue), {}, [], None, 1
    next_report = t0 + 0.5
    try:
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            while queue or in_flight:
                while queue and stopped is None and len(in_flight) < 2 * workers:
                    part = None if certificate is None else os.path.join(folder, f"part-{next_id:08d}.jsonl")
                    limit = None if max_regions is None else max_regions - totals["count"]
                    fut = pool.submit(_task, payload, queue.pop(0), next_id, part, deadline, limit)
                    in_flight[fut] = part
                    next_id += 1
                done, _ = cf.wait(list(in_flight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    res = fut.result()
                    parts.append(in_flight.pop(fut))
                    for k in ("count", "float_count", "undecided", "exact_lps", "hint_lps"):
                        totals[k] += res[k]
                    _merge(stats, res["stats"])
                    queue.extend(res["frontier"])
                    stopped = stopped or res["stopped"]
                if stopped is None and max_regions is not None and totals["count"] >= max_regions:
                    stopped = "max_regions"
                if stopped is None and deadline is not None and time.perf_counter() > deadline and queue:
                    stopped = "time_limit"
                if progress is not None and time.perf_counter() >= next_report:
                    stats.seconds = time.perf_counter() - t0
                    progress(totals["count"], stats)
                    next_report = time.perf_counter() + 0.5
        if stopped is None and queue:
            stopped = "time_limit"
        stats.pending = len(queue)
        for part in sorted(p for p in parts if p is not None):
            writer.append(part)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return totals, stopped


def _merge(total: Stats, part: Stats):
    total.lp_solves += part.lp_solves
    total.nodes += part.nodes
    total.near_eps += part.near_eps
    total.min_radius = min(total.min_radius, part.min_radius)
    total.min_kept_depth = min(total.min_kept_depth, part.min_kept_depth)
