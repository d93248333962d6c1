"""Exact enumeration and counting of activation regions by depth-first search.

The public pair :func:`enumerate_regions` (a generator) and :func:`count_regions` (a
counter). A count hands its method's work to the one counting driver
(:func:`polyregions.driver.drive`: limits, progress reports, checkpoints). A pattern is counted when its region contains a Euclidean ball of radius
``eps`` inside the domain. The tolerances ``DEFAULT_EPS``, ``ZERO_ROW_RTOL`` and
``NEAR_EPS_FACTOR`` are defined in :mod:`polyregions.search.engine` and :mod:`polyregions.result`
and importable from here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Iterator

import numpy as np

from ._validate import int_at_least, net_and_domain, positive_number
from .exact.certified_count import count_certified
from .exact.spec import rounded_layers
from .search.checkpoint import Checkpointer
from .domains.base import Domain
from .errors import InvalidInputError, UnsupportedError
from .milp.milp import check_milp, count_milp
from .model.network import Network
from .search.blas import one_blas_thread, one_blas_thread_while_iterating
from .search.parallel import ParallelWork
from .search.steps import SearchWork
from .driver import drive
from .cells.cells3d import count_cells3d, enumerate_cells3d
from .cells.cells3d import unsupported_reason as cells3d_unsupported
from .cells.planar import count_planar, enumerate_planar, one_blas_thread_anyway, unsupported_reason
from .cells.planar_small import count_small_planar
from .result import NEAR_EPS_FACTOR, Region, RegionCount
from .search.compiled import make_search
from .search.engine import DEFAULT_EPS, ZERO_ROW_RTOL
from .domains.slices import check_layers, lift_regions

__all__ = ["CELL_METHODS", "DEFAULT_EPS", "METHODS", "NEAR_EPS_FACTOR", "ZERO_ROW_RTOL", "choose_method",
           "count_regions", "enumerate_regions"]

logger = logging.getLogger("polyregions")

#: The methods of ``count_regions`` (``enumerate_regions`` takes all but "milp").
METHODS = ("auto", "dfs", "planar", "cells3d", "milp")
#: The cell algorithms "auto" prefers to the search, with why each cannot serve a domain (None: it can).
CELL_METHODS = {"planar": unsupported_reason, "cells3d": cells3d_unsupported}


def choose_method(method, domain, *, needs_search=False, allowed=METHODS, net=None) -> str:
    """The method that serves `domain`: "auto" is a cell algorithm ("planar" in one or two
    dimensions, "cells3d" in three) where the domain is a bounded polyhedron in its frame
    (:meth:`~polyregions.domains.base.Domain.polyhedron_reason`) and the search's own features
    (`needs_search`: a solver backend, a checkpoint, resume, a cluster, a network that is not
    plain ReLU, a certificate) are not asked for and, `net` given, its sizes on the domain are
    within the cell algorithm's rounding bounds, else "dfs"; a forced cell algorithm that cannot
    serve `domain` raises UnsupportedError; "milp" is only ever chosen by name."""
    if not isinstance(method, str) or method not in allowed:
        raise InvalidInputError(f"`method` must be one of {', '.join(map(repr, allowed))}, got {method!r}")
    if method == "auto":
        if needs_search:
            return "dfs"
        served = [name for name, reason in CELL_METHODS.items() if name in allowed and reason(domain, net) is None]
        return served[0] if served else "dfs"
    if method in CELL_METHODS:
        reason = CELL_METHODS[method](domain, net)
        if reason is not None:
            raise UnsupportedError(f"`method` {method!r} cannot serve this domain: {reason}")
    return method


def _validate_enumerate(net, domain, eps, backend):
    """Check the arguments of :func:`enumerate_regions`; return `eps` as a float."""
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")
    return eps


def _validate_count(net, domain, eps, backend, max_regions, time_limit, checkpoint_every, workers):
    """Check the arguments of :func:`count_regions` (every method); return them normalised. Nothing
    below checks them again: the methods trust their arguments."""
    eps = _validate_enumerate(net, domain, eps, backend)
    if max_regions is not None:
        max_regions = int_at_least(max_regions, "max_regions", 0)
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    checkpoint_every = positive_number(checkpoint_every, "checkpoint_every")
    workers = int_at_least(workers, "workers", 1)
    return eps, max_regions, time_limit, checkpoint_every, workers


def _check_certify(certify, certificate, workers, client, checkpoint, resume):
    """Refuse the options a certified count does not take (it runs on this machine, start to end);
    the certifier itself refuses the networks and domains it cannot certify."""
    if not certify:
        raise InvalidInputError("`certificate` needs `certify=True`")
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
    backend : str
        The solver for the region test: "auto" (default) or a backend of
        :data:`polyregions.solvers.registry.BACKENDS`. "auto" chooses from the backends'
        declared capabilities (:func:`polyregions.solvers.registry.choose_backend`);
        :func:`polyregions.solvers.registry.describe_backends` says what each serves.
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
                           allowed=("auto", "dfs", "planar", "cells3d"), net=net)
    if method in CELL_METHODS:
        check_layers(net)  # the domain was checked when the method was chosen
        return (enumerate_planar if method == "planar" else enumerate_cells3d)(net, domain, eps=eps)
    net_s, domain_s = domain.search_problem(net)
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
        Called as ``progress(count, stats)`` every ``polyregions.driver.PROGRESS_EVERY``
        seconds (0.5) at most, whatever the method.
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
    eps, max_regions, time_limit, checkpoint_every, workers = _validate_count(
        net, domain, eps, backend, max_regions, time_limit, checkpoint_every, workers)
    if progress is not None and not callable(progress):
        raise InvalidInputError(f"`progress` must be None or a callable progress(count, stats), not {progress!r}")
    certifying = certify or certificate is not None
    if (method in ("auto", "planar") and backend == "auto" and max_regions is None and time_limit is None
            and progress is None and workers == 1 and client is None and checkpoint is None and resume is None
            and not certifying and net.is_relu):
        small = count_small_planar(net, domain, eps)  # a small 2-D count in one compiled call (None: not served)
        if small is not None:
            _warn_rounded(net)
            return small
    method = choose_method(method, domain, needs_search=certifying or backend != "auto" or not net.is_relu
                           or checkpoint is not None
                           or resume is not None or client is not None, net=net)
    if certifying and method != "dfs":
        raise UnsupportedError(f"`certify=True` certifies the search (method 'dfs'), not method {method!r}")
    # BLAS is held to one thread while counting (polyregions.search.blas), but for a planar count
    # whose every matrix product BLAS runs on one thread anyway
    one_thread = method == "planar" and one_blas_thread_anyway(net, domain)
    with contextlib.nullcontext() if one_thread else one_blas_thread():
        return _count(net, domain, method, eps=eps, backend=backend, prune=prune, max_regions=max_regions,
                      time_limit=time_limit, progress=progress, workers=workers, client=client, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every, resume=resume, certify=certify, certificate=certificate)


def _warn_rounded(net):
    """Warn that a float count counts the float64 rounding of `net`'s rational layers, if it has any."""
    rounded = rounded_layers(net)
    if rounded:
        logger.warning("`net` has %d rational layer(s) that float64 rounds: the search counts their float64 "
                       "rounding (certify=True counts the network as written)", rounded)


def _count(net, domain, method, *, eps, backend, prune, max_regions, time_limit, progress, workers, client, checkpoint,
           checkpoint_every, resume, certify, certificate):
    """The count of :func:`count_regions` by `method`, its arguments checked."""
    certifying = certify or certificate is not None
    if method == "milp":
        search_only = {"workers": workers != 1, "client": client is not None, "checkpoint": checkpoint is not None,
                       "resume": resume is not None}
        for name, given in search_only.items():
            if given:
                raise InvalidInputError(f"`{name}` is not supported with method='milp' (the MILP count runs in "
                                        "one process and keeps no checkpoint)")
        rounding = domain.rounding_decisions(net)
        net, domain = domain.search_problem(net)
        check_milp(net, domain)
        named = {} if backend == "auto" else {"backend": backend}  # "auto": the MILP's own region test
        res = count_milp(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, progress=progress,
                         **named)
        res.stats.near_eps += rounding
        return res
    if not certifying:
        _warn_rounded(net)
    if certifying:
        _check_certify(certify, certificate, workers, client, checkpoint, resume)
        return count_certified(net, domain, eps=eps, backend=backend, prune=prune, max_regions=max_regions,
                               time_limit=time_limit, progress=progress, certificate=certificate, workers=workers)
    if method in CELL_METHODS:
        check_layers(net)  # the domain was checked when the method was chosen
        count = count_planar if method == "planar" else count_cells3d
        return count(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, progress=progress)
    ckpt = Checkpointer(checkpoint, net, domain, eps, backend, prune)
    net_s, domain_s = domain.search_problem(net)
    search = make_search(net_s, domain_s, eps, backend, prune)
    t0 = time.perf_counter()
    if resume is not None:
        count, queue, saved = Checkpointer.load(resume, net, domain, eps, backend, prune)
        search.stats = saved
        search.stats.lp_solves_before = saved.lp_solves
    else:
        search.stats.near_eps += domain.rounding_decisions(net)
        root = search.root() if max_regions != 0 else None
        count, queue = 0, ([root] if root is not None else [])
    if (workers > 1 or client is not None) and queue:
        work = ParallelWork(search, queue, workers=workers, client=client)
    else:
        work = SearchWork(search, queue)
    return drive(work, count=count, max_units=max_regions, time_limit=time_limit, progress=progress, saver=ckpt,
                 save_every=checkpoint_every, start=t0)
