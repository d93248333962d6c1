r"""Exact local complexity at dataset scale: counts around thousands of points, along segments,
across training checkpoints, in parallel, as a table.

:func:`local_counts` counts the activation regions of every network in the ball of every radius
around every point; :func:`line_counts` counts them along segments. Both hand the study's counts
to the counting driver as one work (:class:`polyregions.batch.BatchWork`: one count per unit,
each with its own time limit, spread over processes or a Dask cluster, a large count split into
subtrees), with a checkpoint of the finished counts (:mod:`polyregions.local.store`), and return a
:class:`~polyregions.local.table.CountTable`. Each count is the count ``count_regions(net,
domain, eps=eps)`` returns (the same method, the same number; a count stopped at its time limit
is a lower bound, marked incomplete).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .._validate import finite_array, int_at_least, positive_number
from ..batch import BatchWork
from ..driver import drive
from ..errors import InvalidInputError
from ..model.network import Network
from ..search.blas import one_blas_thread
from ..search.engine import DEFAULT_EPS
from .store import StudyCheckpoint
from .studies import NO_BOUND, BallStudy, LineStudy
from .table import CountTable

__all__ = ["format_progress", "line_counts", "local_counts"]


# ---------------------------------------------------------------------------------------------
# validation

def _torch_module(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _networks(nets, shape) -> list:
    """`nets` (a Network, a torch module, or a sequence of them) as a list of Networks; torch
    modules are read with ``Network.from_torch(module, input_shape=shape)``."""
    items = [nets] if isinstance(nets, Network) or _torch_module(nets) else nets
    try:
        items = list(items)
    except TypeError:
        raise InvalidInputError(f"`nets` must be a Network, a torch module or a sequence of them, "
                                f"got {type(nets).__name__}") from None
    if not items:
        raise InvalidInputError("`nets` must hold at least one network")
    out = []
    for i, net in enumerate(items):
        if _torch_module(net):
            net = Network.from_torch(net, input_shape=shape if len(shape) != 1 else shape[0])
        if not isinstance(net, Network):
            raise InvalidInputError(f"`nets` item {i} must be a Network or a torch module, got {type(net).__name__}")
        out.append(net)
    dims = {net.input_dim for net in out}
    if len(dims) != 1:
        raise InvalidInputError(f"`nets` take different numbers of inputs: {sorted(dims)}")
    return out


def _points(points, name) -> np.ndarray:
    x = finite_array(points, name)
    if x.ndim < 2 or x.shape[0] == 0 or 0 in x.shape:
        raise InvalidInputError(f"`{name}` must have shape (N, n) or (N, *input_shape) with N >= 1, got {x.shape}")
    return x


def _flat(x, nets, name) -> np.ndarray:
    n0 = nets[0].input_dim
    flat = x.reshape(len(x), -1)
    if flat.shape[1] != n0:
        raise InvalidInputError(f"`{name}` have {flat.shape[1]} values each (shape {x.shape[1:]}) but the "
                                f"network takes {n0} inputs")
    return flat


def _labels(labels, n) -> np.ndarray | None:
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidInputError(f"`labels` must have one entry per point ({n}), got shape {arr.shape}")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InvalidInputError("`labels` must be integers or text, got non-integer numbers")
        return arr.astype(np.int64)
    if arr.dtype.kind in "UO":
        return np.array([str(v) for v in arr], dtype=str)
    raise InvalidInputError(f"`labels` must be integers or text, got {arr.dtype} values")


def _steps(steps, k) -> np.ndarray:
    if steps is None:
        return np.arange(k, dtype=np.float64)
    arr = finite_array(steps, "steps", ndim=1)
    if len(arr) != k:
        raise InvalidInputError(f"`steps` must have one entry per network ({k}), got {len(arr)}")
    return arr


def _options(eps, time_limit_per_count, workers, checkpoint_every, progress):
    eps = positive_number(eps, "eps")
    if time_limit_per_count is not None:
        time_limit_per_count = positive_number(time_limit_per_count, "time_limit_per_count")
    workers = int_at_least(workers, "workers", 1)
    checkpoint_every = positive_number(checkpoint_every, "checkpoint_every")
    if not (isinstance(progress, bool) or callable(progress)):
        raise InvalidInputError(f"`progress` must be True, False or a callable, got {progress!r}")
    return eps, time_limit_per_count, workers, checkpoint_every


def _norm(p):
    if isinstance(p, (bool, np.bool_)) or p not in (1, 2, math.inf, "inf"):
        raise InvalidInputError(f"`p` must be 1, 2 or inf, got {p!r}")
    return math.inf if p in (math.inf, "inf") else int(p)


# ---------------------------------------------------------------------------------------------
# progress

def format_progress(stats) -> str:
    """``"120/1,350 counts  85.3/s  about 15 s left"`` (and how many were split or stopped)."""
    left = stats.remaining_seconds
    when = "" if not math.isfinite(left) else f"  about {left:,.0f} s left" if left >= 1 else "  under 1 s left"
    more = "".join(f"  {v:,} {k}" for k, v in (("split", stats.split), ("incomplete", stats.incomplete)) if v)
    return f"{stats.done:,}/{stats.total:,} counts  {stats.rate:,.1f}/s{when}{more}"


class _Line:
    """progress=True: one status line on stderr, refreshed in place, closed with a newline."""

    def __init__(self):
        self.shown = False

    def __call__(self, done, stats):
        sys.stderr.write("\r" + format_progress(stats) + " ")
        sys.stderr.flush()
        self.shown = True

    def close(self, stats):
        if self.shown:
            sys.stderr.write("\r" + format_progress(stats) + "\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# the run

def _run(study, extra, *, time_limit_per_count, workers, client, checkpoint, checkpoint_every, progress):
    """Every count of `study` not already in `checkpoint`: ``{number: CountRecord}``."""
    store = StudyCheckpoint(checkpoint, study, extra)
    finished = store.load(time_limit_per_count)
    todo = [k for k in range(study.size) if k not in finished]
    work = BatchWork(study, todo, time_limit_per_count=time_limit_per_count, workers=workers, client=client,
                     finished=finished)
    line = _Line() if progress is True else None
    report = line if line is not None else (progress or None)
    try:
        with one_blas_thread():  # held once for the whole study (each count would hold it too)
            drive(work, count=len(finished), progress=report, saver=store, save_every=checkpoint_every)
    finally:
        if line is not None:
            line.close(work.stats)
    return work.results


def _base_columns(study, records, nets_steps, labels, index_name):
    """The columns every table has, from the records in count order."""
    index = [study.index(r.task) for r in records]
    net = np.array([ix[0] for ix in index], dtype=np.int64)
    item = np.array([ix[1] for ix in index], dtype=np.int64)
    cols = {"net": net, "step": nets_steps[net], index_name: item}
    if labels is not None:
        cols["label"] = labels[item]
    cols.update(count=np.array([r.count for r in records], dtype=np.int64),
                complete=np.array([r.complete for r in records], dtype=bool),
                stopped=np.array([r.stopped or "" for r in records], dtype=str),
                seconds=np.array([r.seconds for r in records], dtype=np.float64),
                min_radius=np.array([r.stats.min_radius for r in records], dtype=np.float64),
                near_eps=np.array([r.stats.near_eps for r in records], dtype=np.int64),
                lp_solves=np.array([r.stats.lp_solves for r in records], dtype=np.int64),
                nodes=np.array([r.stats.nodes for r in records], dtype=np.int64))
    return cols, index


def local_counts(nets, points, radii, *, p=math.inf, eps: float = DEFAULT_EPS, labels=None, steps=None,
                 bounds: bool = True, time_limit_per_count: float | None = None, workers: int = 1, client=None,
                 checkpoint=None, checkpoint_every: float = 10.0, progress=True) -> CountTable:
    r"""Count the activation regions in a ball around every point, for every radius and network.

    Local complexity studies count regions in small L-inf balls around images (a change of at
    most `r` in every pixel), so ``p=inf`` is the default; ``p=2`` and ``p=1`` are the Euclidean
    and L1 balls. Each count is exactly ``count_regions(net, Ball(point, r, p), eps=eps)``.

    Parameters
    ----------
    nets : Network, torch module, or a sequence of them
        One network, or several (checkpoints along training). A torch module is read with
        ``Network.from_torch(module, input_shape=points.shape[1:])``.
    points : array of shape (N, n) or (N, *input_shape)
        The centres (images may keep their shape).
    radii : float or sequence of floats
        Positive radii, in input units.
    p : {inf, 2, 1}
        The norm of the balls (default inf).
    eps : float
        A region counts when it holds a Euclidean ball of radius `eps` (as in ``count_regions``).
    labels : array of shape (N,), optional
        A label per point (integers or text): a table column, and the groups of summaries and pictures.
    steps : array of shape (len(nets),), optional
        The training step of each network (default 0, 1, ...).
    bounds : bool
        Also compute, in L2 balls of ReLU networks, Zhu, Lin & Tang's :math:`C` and :math:`2^C` and
        polyregions' local arrangement bound (``polyregions.bounds.local``) beside the count.
    time_limit_per_count : float, optional
        Seconds each count may take (summed over its pieces when it is split); a count stopped
        there is a lower bound, ``complete`` False, ``stopped`` "time_limit".
    workers : int
        Processes (default 1: this process). The study's networks and points go to each worker
        once; counts go out in chunks, and a count still running after
        ``polyregions.batch.SPLIT_AFTER`` seconds is split into subtrees shared by all workers.
    client : dask.distributed.Client, optional
        Count on a Dask cluster instead (the study is broadcast to its workers once).
    checkpoint : path, optional
        Save the finished counts there (every `checkpoint_every` seconds, at the end and on
        Ctrl-C); run the same call again to count only the rest. A file written for another
        study (networks, points, radii, p, eps, bounds) is refused.
    checkpoint_every : float
        Seconds between two saves (default 10).
    progress : bool or callable
        True (default): a status line on stderr (counts done / total, rate, time left); a
        callable: ``progress(done, stats)`` with a :class:`polyregions.batch.BatchStats`, every
        ``polyregions.driver.PROGRESS_EVERY`` seconds at most; False: nothing.

    Returns
    -------
    CountTable
        One row per (network, point, radius), in that order: ``count``, ``complete``,
        ``seconds``, ``min_radius`` and ``near_eps`` (the thinnest counted region and the
        decisions near eps), ``distance`` (point to nearest region boundary; NaN for networks
        other than plain ReLU), ``zhu_C`` / ``zhu_bound`` / ``arrangement_bound`` (-1 / NaN
        where they do not apply), and the study's columns (see :mod:`polyregions.local.table`).

    Examples
    --------
    One hidden layer of two neurons whose lines cross at the origin: a small L-inf ball around
    the origin meets 4 regions, one around (1, 1) a single region.

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> table = pr.local_counts(net, [[0.0, 0.0], [1.0, 1.0]], 0.1, progress=False)
    >>> table["count"].tolist()
    [4, 1]
    """
    x = _points(points, "points")
    nets = _networks(nets, x.shape[1:])
    flat = _flat(x, nets, "points")
    r = finite_array(radii, "radii").reshape(-1)
    if r.size == 0 or np.any(r <= 0):
        raise InvalidInputError(f"`radii` must be positive numbers, got {np.asarray(radii).tolist()}")
    p = _norm(p)
    labels = _labels(labels, len(flat))
    steps = _steps(steps, len(nets))
    eps, time_limit_per_count, workers, checkpoint_every = _options(eps, time_limit_per_count, workers,
                                                                    checkpoint_every, progress)
    study = BallStudy(nets, flat, r, p, eps, bounds)
    extra = {"distance": "f", "zhu_C": "i", "zhu_bound": "f", "arrangement_bound": "f"}
    results = _run(study, extra, time_limit_per_count=time_limit_per_count, workers=workers, client=client,
                   checkpoint=checkpoint, checkpoint_every=checkpoint_every, progress=progress)
    records = [results[k] for k in range(study.size)]
    cols, index = _base_columns(study, records, steps, labels, "point")
    cols["radius"] = r[np.array([ix[2] for ix in index], dtype=np.int64)]
    for name, kind in extra.items():
        cols[name] = np.array([rec.extra.get(name, NO_BOUND if kind == "i" else math.nan) for rec in records],
                              dtype=np.int64 if kind == "i" else np.float64)
    return CountTable("ball", cols, {"p": float(p), "eps": eps, "study": study.key})


def line_counts(nets, starts, ends, *, eps: float = DEFAULT_EPS, labels=None, steps=None,
                time_limit_per_count: float | None = None, workers: int = 1, client=None, checkpoint=None,
                checkpoint_every: float = 10.0, progress=True) -> CountTable:
    """Count the activation regions along the segments from ``starts[j]`` to ``ends[j]``.

    Each count is ``count_regions(net, Line(starts[j], ends[j]), eps=eps)``: the exact planar
    algorithm on ReLU networks (the search on others). The segments go to the workers in
    chunks (batches of about ``polyregions.batch.CHUNK_SECONDS`` of counting), as the counts of
    :func:`local_counts` do, with the same options.

    Parameters
    ----------
    nets : Network, torch module, or a sequence of them
    starts, ends : arrays of shape (L, n) or (L, *input_shape)
        The segments' ends (no segment of length 0).
    eps, labels, steps, time_limit_per_count, workers, client, checkpoint, checkpoint_every, progress
        As for :func:`local_counts` (`labels`: one per segment).

    Returns
    -------
    CountTable
        One row per (network, segment): ``count``, ``complete``, ``length`` (input units),
        ``per_length`` (regions per unit length: Gamba et al.'s and Hanin & Rolnick's
        measurement), ``seconds``, ``min_radius`` (half the shortest counted piece), ``near_eps``.

    Examples
    --------
    Two neurons with kinks at 0 and 1 along a segment crossing both: 3 regions on a length 4.

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0], [1.0]]], [[0.0, -1.0]])
    >>> table = pr.line_counts(net, [[-2.0]], [[2.0]], progress=False)
    >>> table["count"].tolist(), table["per_length"].tolist()
    ([3], [0.75])
    """
    a = _points(starts, "starts")
    nets = _networks(nets, a.shape[1:])
    a = _flat(a, nets, "starts")
    b = _flat(_points(ends, "ends"), nets, "ends")
    if a.shape != b.shape:
        raise InvalidInputError(f"`starts` and `ends` must have the same shape, got {a.shape} and {b.shape}")
    same = np.flatnonzero(np.all(a == b, axis=1))
    if same.size:
        raise InvalidInputError(f"`ends` must differ from `starts`: segment {int(same[0])} has length 0")
    labels = _labels(labels, len(a))
    steps = _steps(steps, len(nets))
    eps, time_limit_per_count, workers, checkpoint_every = _options(eps, time_limit_per_count, workers,
                                                                    checkpoint_every, progress)
    study = LineStudy(nets, a, b, eps)
    results = _run(study, {"length": "f"}, time_limit_per_count=time_limit_per_count, workers=workers,
                   client=client, checkpoint=checkpoint, checkpoint_every=checkpoint_every, progress=progress)
    records = [results[k] for k in range(study.size)]
    cols, _ = _base_columns(study, records, steps, labels, "line")
    cols["length"] = np.array([rec.extra["length"] for rec in records], dtype=np.float64)
    cols["per_length"] = cols["count"] / cols["length"]
    return CountTable("line", cols, {"eps": eps, "study": study.key})
