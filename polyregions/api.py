"""Exact enumeration and counting of activation regions by depth-first search.

The public pair :func:`enumerate_regions` (a generator) and :func:`count_regions` (a
counter), and the sequential driver that runs the search of
:mod:`polyregions.search.engine` over a queue of subproblems with limits, progress reports and
checkpoints. A pattern is counted when its region contains a Euclidean ball of radius
``eps`` inside the domain. The tolerances ``DEFAULT_EPS``, ``ZERO_ROW_RTOL`` and
``NEAR_EPS_FACTOR`` are defined in :mod:`polyregions.search.engine` and importable from here.
"""

from __future__ import annotations

import logging
import time
from typing import Iterator

import numpy as np

from ._validate import int_at_least, net_and_domain, positive_number
from .exact.certified_count import count_certified
from .exact.spec import rounded_layers
from .search.checkpoint import Checkpointer
from .domains.convex import Domain, Slice
from .errors import InvalidInputError, UnsupportedError
from .milp.milp import count_regions_milp
from .model.network import Network
from .search.blas import one_blas_thread, one_blas_thread_while_iterating
from .search.parallel import PROGRESS_EVERY, drive_parallel
from .cells.cells3d import count_cells3d, enumerate_cells3d
from .cells.planar import choose_method, count_planar, enumerate_planar
from .result import Region, RegionCount
from .search.compiled import make_search
from .search.engine import DEFAULT_EPS, NEAR_EPS_FACTOR, ZERO_ROW_RTOL
from .domains.slices import lift_regions, search_problem

__all__ = ["DEFAULT_EPS", "NEAR_EPS_FACTOR", "ZERO_ROW_RTOL", "count_regions", "enumerate_regions"]

logger = logging.getLogger("polyregions")

def _validate_enumerate(net, domain, eps, backend):
    """Check the arguments of :func:`enumerate_regions`; return `eps` as a float."""
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")
    return eps


def _validate_count(net, domain, eps, backend, max_regions, time_limit, checkpoint_every, workers):
    """Check the arguments of :func:`count_regions` (method "dfs"); return them normalised."""
    eps = _validate_enumerate(net, domain, eps, backend)
    if max_regions is not None:
        max_regions = int_at_least(max_regions, "max_regions", 0)
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    checkpoint_every = positive_number(checkpoint_every, "checkpoint_every")
    workers = int_at_least(workers, "workers", 1)
    return eps, max_regions, time_limit, checkpoint_every, workers


def _check_certify(certify, certificate, workers, client, checkpoint, resume, net, domain):
    """Refuse what a certified count does not support (it runs in one process, start to end,
    in the network's own input space, on plain ReLU networks)."""
    if not certify:
        raise InvalidInputError("`certificate` needs `certify=True`")
    if not net.is_relu:
        raise UnsupportedError("`net`: `certify=True` supports plain ReLU networks (no LeakyReLU, max pooling "
                               "or residual carry)")
    if isinstance(domain, Slice):
        raise UnsupportedError("`domain`: a slice is not supported with `certify=True` (its composed network "
                               "is computed in floating point; certify the full input space instead)")
    for name, value in (("client", client is not None), ("checkpoint", checkpoint is not None),
                        ("resume", resume is not None)):
        if value:
            raise UnsupportedError(f"`{name}` is not supported with `certify=True` (a certified count runs "
                                   f"on this machine, from start to end; `workers` split it over processes)")


@one_blas_thread_while_iterating
def enumerate_regions(net: Network, domain: Domain, *, eps: float = DEFAULT_EPS, backend: str = "auto",
                      prune: bool = True, method: str = "auto") -> Iterator[Region]:
    """Yield every activation region of `net` inside `domain`.

    Parameters
    ----------
    net : Network
    domain : Box, Ball, Polytope or Whole
        Of dimension ``net.input_dim``.
    eps : float
        A region is counted when it contains a Euclidean ball of radius `eps` (input units).
    backend : {"auto", "numba", "highs", "scipy", "cvxpy"}
        The solver for the region test. "auto" (default): the compiled dual simplex on
        bounded polyhedral domains, HiGHS otherwise (L1 and L2 balls, unbounded domains).
    prune : bool
        Use the layer-entry prefilter (the count does not depend on it).
    method : {"auto", "dfs", "planar", "cells3d"}
        "planar": the exact 1-D / 2-D algorithm (:mod:`polyregions.cells.planar`; lines, bounded
        planes, 1-D / 2-D inputs in boxes, bounded polytopes, L1 / L-inf balls); "cells3d": the
        exact 3-D algorithm (:mod:`polyregions.cells.cells3d`; bounded volumes, 3-D inputs in
        boxes, bounded polytopes, L1 / L-inf balls); "dfs": the search; "auto" (default):
        planar or cells3d where one applies and no solver `backend` is named.

    Yields
    ------
    Region
        With its bit-packed pattern, an interior point and the radius of a ball around it
        inside the region, and ``affine_map()``; on lines, planes and 1-D / 2-D domains a
        :class:`~polyregions.domains.slices.SliceRegion` (slice coordinates, polygon, area).

    Examples
    --------
    Two lines through the origin cut the plane into 4 regions:

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> sum(1 for _ in pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1])))
    4
    """
    eps = _validate_enumerate(net, domain, eps, backend)
    method = choose_method(method, domain, needs_search=backend != "auto" or not net.is_relu,
                           allowed=("auto", "dfs", "planar", "cells3d"))
    if method == "planar":
        return enumerate_planar(net, domain, eps=eps)
    if method == "cells3d":
        return enumerate_cells3d(net, domain, eps=eps)
    net_s, domain_s = search_problem(net, domain)
    search = make_search(net_s, domain_s, eps, backend, prune)
    regions = _regions(search, net_s)  # validated now, searched lazily
    return regions if domain_s is domain else lift_regions(regions, net, domain, net_s.hidden)


def _regions(search, net):
    n_bits = net.num_neurons
    root = search.root()
    if root is None:
        return
    for x, rho, M, m in search.run(root):
        if rho < search.stats.min_radius:
            search.stats.min_radius = rho
        yield Region(np.packbits(np.array(search.bits, dtype=bool)), n_bits, x.copy(), float(rho),
                     (M, m), net.output)


@one_blas_thread()
def count_regions(net: Network, domain: Domain, *, eps: float = DEFAULT_EPS, backend: str = "auto",
                  method: str = "auto", prune: bool = True, max_regions: int | None = None,
                  time_limit: float | None = None, progress=None, workers: int = 1, client=None,
                  checkpoint=None, checkpoint_every: float = 60.0, resume=None, certify: bool = False,
                  certificate=None) -> RegionCount:
    """Count the activation regions of `net` inside `domain` exactly (see :func:`enumerate_regions`).

    Parameters
    ----------
    method : {"auto", "dfs", "planar", "cells3d", "milp"}
        The exact depth-first search, the exact 1-D / 2-D algorithm (:mod:`polyregions.cells.planar`),
        the exact 3-D algorithm (:mod:`polyregions.cells.cells3d`), or the independent MILP count
        (:func:`polyregions.milp.milp.count_regions_milp`; bounded domains only). "auto" (default):
        planar or cells3d where one applies and nothing of the search is asked for (a solver
        `backend`, a checkpoint, resume, a cluster; planar and cells3d run in one process and
        ignore `workers`), else the search. The MILP runs in one process
        and keeps no checkpoint: with it, `workers`, `client`, `checkpoint` and `resume` are
        refused; its ``complete=True`` means no region of margin >= ``stats.margin_tol`` was missed.
    max_regions : int, optional
        Stop after this many regions; the result is then marked incomplete.
    time_limit : float, optional
        Stop after this many seconds; the result is marked incomplete, and with
        `checkpoint` the unexplored part is saved so that `resume` finishes the count.
    progress : callable, optional
        Called as ``progress(count, stats)`` every ``polyregions.search.parallel.PROGRESS_EVERY``
        seconds (0.5) at most.
    workers : int
        Processes to search with (default 1); the tree is split into subproblems.
    client : dask.distributed.Client, optional
        Search on a Dask cluster instead of local processes.
    checkpoint : path, optional
        Save the unexplored frontier and the count so far there every `checkpoint_every`
        seconds (atomic writes), when stopped by `time_limit`, and on Ctrl-C.
    resume : path, optional
        Continue the count saved in this checkpoint (same network, domain, eps and backend).
    certify : bool
        Decide every pattern exactly, without `eps` (:mod:`polyregions.exact.certifier`): a
        pattern counts when its open region inside the open domain is non-empty. Returns a
        :class:`~polyregions.result.CertifiedCount` (``certified``, ``undecided``,
        ``float_count``). `workers` processes split the tree
        (:mod:`polyregions.exact.certified_count`); `client`, `checkpoint` and `resume` are refused.
    certificate : path, optional
        With `certify`, stream every region's rational point and every emptiness
        certificate there (JSON lines; :func:`polyregions.exact.checker.check` re-checks it).

    Returns
    -------
    RegionCount
        ``count`` and ``stats`` (LP solves, nodes, seconds, smallest radius, near-eps decisions).

    Examples
    --------
    One hidden layer of 3 neurons in general position in the plane: 1 + 3 + 3 = 7 regions.

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -1.0]])
    >>> pr.count_regions(net, pr.Whole(2)).count
    7
    """
    _validate_enumerate(net, domain, eps, backend)
    certifying = certify or certificate is not None
    method = choose_method(method, domain, needs_search=certifying or backend != "auto" or not net.is_relu
                           or checkpoint is not None
                           or resume is not None or client is not None)
    if certifying and method != "dfs":
        raise UnsupportedError(f"`certify=True` certifies the search (method 'dfs'), not method {method!r}")
    if method == "milp":
        search_only = {"workers": workers != 1, "client": client is not None, "checkpoint": checkpoint is not None,
                       "resume": resume is not None}
        for name, given in search_only.items():
            if given:
                raise InvalidInputError(f"`{name}` is not supported with method='milp' (the MILP count runs in "
                                        "one process and keeps no checkpoint)")
        net, domain = search_problem(net, domain)
        return count_regions_milp(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit,
                                  backend="highs" if backend in ("auto", "numba") else backend, progress=progress)
    eps, max_regions, time_limit, checkpoint_every, workers = _validate_count(
        net, domain, eps, backend, max_regions, time_limit, checkpoint_every, workers)
    if not certifying and rounded_layers(net):
        logger.warning("`net` has %d rational layer(s) that float64 rounds: the search counts their float64 "
                       "rounding (certify=True counts the network as written)", rounded_layers(net))
    if certifying:
        _check_certify(certify, certificate, workers, client, checkpoint, resume, net, domain)
        return count_certified(net, domain, eps=eps, backend=backend, prune=prune, max_regions=max_regions,
                               time_limit=time_limit, progress=progress, certificate=certificate, workers=workers)
    if method == "planar":
        return count_planar(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, progress=progress)
    if method == "cells3d":
        return count_cells3d(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, progress=progress)
    ckpt = Checkpointer(checkpoint, net, domain, eps, backend, prune)
    net_s, domain_s = search_problem(net, domain)
    search = make_search(net_s, domain_s, eps, backend, prune)
    if max_regions == 0:
        return RegionCount(0, search.stats, complete=False, stopped="max_regions")
    t0 = time.perf_counter()
    if resume is not None:
        count, queue, saved = Checkpointer.load(resume, net, domain, eps, backend, prune)
        search.stats = saved
        search.stats.lp_solves_before = saved.lp_solves
    else:
        root = search.root()
        count, queue = 0, ([root] if root is not None else [])
    if (workers > 1 or client is not None) and queue:
        return drive_parallel(search, queue, count, t0=t0, workers=workers, client=client, max_regions=max_regions,
                              time_limit=time_limit, progress=progress, ckpt=ckpt, checkpoint_every=checkpoint_every)
    return _drive_sequential(search, queue, count, t0=t0, max_regions=max_regions, time_limit=time_limit,
                             progress=progress, ckpt=ckpt, checkpoint_every=checkpoint_every)


def _drive_sequential(search, queue, count, *, t0, max_regions, time_limit, progress, ckpt, checkpoint_every):
    """Process the subproblems of `queue` one by one (last in, first out) in this process."""
    stats = search.stats
    base_seconds = stats.seconds
    end = t0 + time_limit if time_limit is not None else None
    next_save = t0 + checkpoint_every if ckpt.enabled else None
    next_report = t0 + PROGRESS_EVERY
    stopped = None
    committed = count  # regions of finished subproblems (what a checkpoint may record)
    sub = None

    def snapshot(now):
        stats.seconds = base_seconds + now - t0
        stats.lp_solves = search.lp.lp_solves + stats.lp_solves_before
        stats.pending = len(queue)

    try:
        while queue:
            sub = queue.pop()
            search.deadline = min((t for t in (end, next_save) if t is not None), default=None)
            for found in search.counts(sub, None if max_regions is None else max_regions - count):
                count += found
                if max_regions is not None and count >= max_regions:
                    stopped = "max_regions"
                    break
                if progress is not None:
                    now = time.perf_counter()
                    if now >= next_report:
                        snapshot(now)
                        stats.pending += 1  # the subproblem being searched
                        progress(count, stats)
                        next_report = now + PROGRESS_EVERY
            if stopped:
                break
            queue.extend(search.frontier)
            search.frontier = []
            committed, sub = count, None
            now = time.perf_counter()
            if end is not None and now >= end and queue:
                stopped = "time_limit"
                break
            if next_save is not None and now >= next_save:
                snapshot(now)
                ckpt.save(committed, queue, stats)
                next_save = now + checkpoint_every
    except KeyboardInterrupt:
        if sub is not None:
            queue.append(sub)  # its partial count is dropped: it restarts on resume
        snapshot(time.perf_counter())
        ckpt.save(committed, queue, stats)
        raise
    snapshot(time.perf_counter())
    if stopped != "max_regions":
        ckpt.save(count, queue, stats)
    return RegionCount(count, stats, complete=stopped is None, stopped=stopped)
