"""Exact enumeration of activation regions by depth-first search (SPEC section 5).

Neurons are fixed one at a time, layer by layer. On entering layer ``l`` the
pre-activations are affine in ``x`` on the current node, ``z = G x + c``. Every node
carries an interior witness ``x`` with a radius ``rho`` (the ball ``B(x, rho)`` lies in the
node and the domain). For the next neuron, with ``delta`` the witness's distance to its
hyperplane:

* the child on the witness's side contains a ball of radius ``(rho + min(delta, rho)) / 2``;
  when that exceeds ``eps`` it is kept without a solver call (the witness moves there);
* the other side is tested by the backend (a Chebyshev LP, or the L2-ball QP); when it is
  empty the hyperplane does not cut the node, no row is added and the node is unchanged;
* a neuron whose pre-activation is constant on the node (zero row, up to
  ``ZERO_ROW_RTOL``) does not branch: it is on when the constant is positive, else off;
* at layer entry each neuron of the layer is tested once (the prefilter): one that does
  not cut the layer's first node is fixed for the whole subtree.

A pattern is counted when its region contains a Euclidean ball of radius ``eps``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ._validate import net_and_domain, positive_number
from .domains import Domain
from .errors import InvalidInputError
from .network import Network
from .result import Region, RegionCount, Stats
from .solvers.base import TestResult, make_backend

__all__ = ["DEFAULT_EPS", "ZERO_ROW_RTOL", "count_regions", "enumerate_regions"]

#: Default tolerance: a counted region contains a Euclidean ball of this radius (input units).
DEFAULT_EPS = 1e-9
#: A pre-activation is constant on a node when its row's norm is at most this fraction of
#: the norm it would have without cancellation (``sum_k |W_jk| |M_k|``).
ZERO_ROW_RTOL = 1e-12
#: A decision is reported as near ``eps`` when the solver's optimum lies in [eps/10, 10 eps].
NEAR_EPS_FACTOR = 10.0


def _validate(net, domain, eps, backend):
    net_and_domain(net, domain)
    eps = positive_number(eps, "eps")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")
    return eps


@dataclass
class Subproblem:
    """An unexplored node of the search tree, enough to resume the search there.

    ``neuron == -1``: the search enters hidden layer ``layer`` with ``h^{l-1} = G x + c``;
    otherwise it continues inside ``layer`` at ``neuron``, with the layer's pre-activations
    ``z = G x + c`` and ``fixed`` (per neuron: -1 branch, 0 off, 1 on). ``bits``: the pattern
    so far; ``rows_A x <= rows_b``: the node's rows; ``x``, ``rho``: its witness ball.
    """

    layer: int
    neuron: int
    bits: np.ndarray
    rows_A: np.ndarray
    rows_b: np.ndarray
    G: np.ndarray
    c: np.ndarray
    fixed: np.ndarray | None
    x: np.ndarray
    rho: float


def _normalise(G, c):
    """Unit-normal rows ``Gh x + ch`` of ``G x + c`` and the mask of constant rows."""
    norms = np.sqrt(np.einsum("ij,ij->i", G, G))
    safe = np.where(norms > 0, norms, 1.0)
    return G / safe[:, None], c / safe, norms


class _Search:
    """The depth-first search over the patterns of `net` in `domain`, resumable at any node.

    ``run(sub)`` yields the leaves below a subproblem. When ``deadline`` passes (or ``split``
    is set), the search stops descending: every child not yet entered, along the whole
    current path, is appended to ``frontier`` as a :class:`Subproblem`, and ``run`` returns.
    """

    def __init__(self, net: Network, domain: Domain, eps: float, backend: str, prune: bool):
        self.net = net
        self.domain = domain
        self.eps = eps
        self.prune = prune
        self.lp = make_backend(backend, domain.region_problem(eps))
        self.layers = net.hidden
        self.bits = []
        self.rows = []  # the node's rows, as pushed to the backend
        self.stats = Stats(eps=eps)
        self.frontier = []
        self.split = False
        self.deadline = None

    # ------------------------------------------------------------------ solver calls
    def _push(self, a, b):
        self.lp.push(a, b)
        self.rows.append((a, b))

    def _pop(self):
        self.lp.pop()
        self.rows.pop()

    def _test_side(self, a, b, anchor):
        """Test the node with the half-space ``a . x <= b`` added."""
        lp = self.lp
        lp.push(a, b)
        try:
            res = lp.test(anchor)
        finally:
            lp.pop()
        self._record(res)
        return res

    def _record(self, res):
        eps = self.eps
        if eps / NEAR_EPS_FACTOR <= res.depth <= eps * NEAR_EPS_FACTOR:
            self.stats.near_eps += 1
        if res.keep and res.depth < self.stats.min_kept_depth:
            self.stats.min_kept_depth = res.depth

    # ------------------------------------------------------------------ subproblems
    def root(self) -> Subproblem | None:
        """The whole domain as a subproblem (None when it holds no ball of radius eps)."""
        res = self.lp.test(self.domain.center_point())
        self._record(res)
        self.stats.nodes += 1
        if not res.keep:
            return None
        n0 = self.net.input_dim
        return Subproblem(0, -1, np.zeros(0, np.uint8), np.zeros((0, n0)), np.zeros(0),
                          np.eye(n0), np.zeros(n0), None, res.point, float(res.radius))

    def _load(self, sub: Subproblem):
        while self.rows:
            self._pop()
        for a, b in zip(sub.rows_A, sub.rows_b):
            self._push(a, float(b))
        self.bits = [int(v) for v in sub.bits]

    def _park(self, l, j, G, c, fixed, bits, row, x, rho):
        """Append the child (bits, row) of the current node to the frontier."""
        rows = self.rows + ([row] if row is not None else [])
        n0 = self.net.input_dim
        self.frontier.append(Subproblem(
            l, j, np.array(bits, np.uint8),
            np.array([a for a, _ in rows]).reshape(-1, n0), np.array([b for _, b in rows], dtype=float),
            G, c, np.array(fixed, np.int8), np.asarray(x, float), float(rho)))

    def run(self, sub: Subproblem) -> Iterator[tuple]:
        """Yield ``(x, rho, M, m)`` per region below `sub`; ``self.bits`` holds its pattern meanwhile."""
        self._load(sub)
        self.split = False
        if sub.neuron < 0:
            yield from self._enter_layer(sub.layer, sub.G, sub.c, sub.x, sub.rho)
        else:
            Gh, ch, _ = _normalise(sub.G, sub.c)
            yield from self._branch(sub.layer, sub.neuron, sub.G, sub.c, Gh, ch, [int(v) for v in sub.fixed],
                                    sub.x, sub.rho)

    # ------------------------------------------------------------------ the search
    def _enter_layer(self, l, M, m, x, rho):
        if l == len(self.layers):
            yield x, rho, M, m
            return
        W, b = self.layers[l]
        G = W @ M
        c = W @ m + b
        Gh, ch, norms = _normalise(G, c)
        absW = np.abs(W)
        scale = absW @ np.sqrt(np.einsum("ij,ij->i", M, M))
        const = norms <= ZERO_ROW_RTOL * scale
        cscale = absW @ np.abs(m) + np.abs(b)
        fixed = [-1] * W.shape[0]
        for j in np.flatnonzero(const):
            fixed[j] = 1 if c[j] > ZERO_ROW_RTOL * cscale[j] else 0
        s_all = Gh @ x + ch
        far = np.abs(s_all) >= self.domain.diameter  # the hyperplane misses the domain
        for j in np.flatnonzero(far & ~const):
            fixed[j] = 1 if s_all[j] > 0 else 0
        if self.prune:
            for j in np.flatnonzero(~const & ~far):
                side = s_all[j] > 0
                if abs(s_all[j]) >= rho:  # the witness ball lies on one side: is the other side empty?
                    res = self._test_side(Gh[j] if side else -Gh[j], -ch[j] if side else ch[j], x)  # the other side
                    if not res.keep and res.depth <= 0:
                        fixed[j] = 1 if side else 0
        yield from self._branch(l, 0, G, c, Gh, ch, fixed, x, rho)

    def _branch(self, l, j, G, c, Gh, ch, fixed, x, rho):
        bits = self.bits
        start = len(bits)
        n = len(fixed)
        while j < n and fixed[j] >= 0:
            bits.append(fixed[j])
            j += 1
        if j == n:
            beta = np.array(bits[len(bits) - n :], dtype=np.float64)
            yield from self._enter_layer(l + 1, beta[:, None] * G, beta * c, x, rho)
            del bits[start:]
            return
        eps, stats = self.eps, self.stats
        here = len(bits)  # the pattern up to (not including) neuron j
        g, cj = Gh[j], ch[j]
        s = float(g @ x + cj)  # signed distance of the witness to the hyperplane
        side = s > 0
        a_wit, b_wit = (-g, cj) if side else (g, -cj)  # the witness's side as a_wit . x <= b_wit
        delta = abs(s)
        if (rho - delta) / 2 > eps:
            # the hyperplane cuts the witness ball deep enough: the cap on the other side
            # holds a ball of radius (rho - delta) / 2, centred (rho + delta) / 2 from x
            other = TestResult(True, (rho - delta) / 2, x + ((rho + delta) / 2) * a_wit, (rho - delta) / 2)
            if other.depth <= eps * NEAR_EPS_FACTOR:
                self._record(other)
        else:
            other = self._test_side(-a_wit, -b_wit, x)
        cuts = other.keep or other.depth > 0  # the hyperplane meets the node's interior
        children = []
        if not cuts:
            children.append((side, None, x, rho))  # the node itself: no row, same witness
        else:
            if delta >= rho:
                x1, r1 = x, rho
            else:
                r1 = (rho + delta) / 2
                x1 = x - ((rho - delta) / 2) * a_wit  # away from the hyperplane, into the witness's side
            if r1 > eps:
                if r1 <= eps * NEAR_EPS_FACTOR:  # kept on a certified radius within 10x of eps
                    self._record(TestResult(True, r1, x1, r1))
                children.append((side, (a_wit, b_wit), x1, r1))
            else:
                res = self._test_side(a_wit, b_wit, x)
                if res.keep:
                    children.append((side, (a_wit, b_wit), res.point, res.radius))
            if other.keep:
                children.append((not side, (-a_wit, -b_wit), other.point, other.radius))
        for k, (bit, row, x1, r1) in enumerate(children):
            if not self.split and self.deadline is not None and time.perf_counter() > self.deadline:
                self.split = True
            if self.split:  # hand the children not yet entered to the frontier
                for bit2, row2, x2, r2 in children[k:]:
                    self._park(l, j + 1, G, c, fixed, bits[:here] + [1 if bit2 else 0], row2, x2, r2)
                break
            stats.nodes += 1
            bits.append(1 if bit else 0)
            if row is not None:
                self._push(*row)
            try:
                yield from self._branch(l, j + 1, G, c, Gh, ch, fixed, x1, r1)
            finally:
                if row is not None:
                    self._pop()
            del bits[here:]
        del bits[start:]


def _check_backend_capability(search: _Search, domain):
    from .domains import Ball

    if isinstance(domain, Ball) and domain.p == 2 and "qp" not in search.lp.capabilities:
        raise InvalidInputError(f"`backend` {search.lp.name!r} cannot test regions in an L2 ball")


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
    method : {"auto", "dfs", "planar"}
        "planar": the exact 1-D / 2-D algorithm (:mod:`polyregions.planar`; lines, bounded
        planes, 1-D / 2-D inputs in boxes, bounded polytopes, L1 / L-inf balls); "dfs": the
        search; "auto" (default): planar where it applies and no solver `backend` is named.

    Yields
    ------
    Region
        With its bit-packed pattern, an interior point and the radius of a ball around it
        inside the region, and ``affine_map()``; on lines, planes and 1-D / 2-D domains a
        :class:`~polyregions.slicing.SliceRegion` (slice coordinates, polygon, area).

    Examples
    --------
    Two lines through the origin cut the plane into 4 regions:

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> sum(1 for _ in pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1])))
    4
    """
    from .planar import choose_method, enumerate_planar
    from .slicing import lift_regions, search_problem

    eps = _validate(net, domain, eps, backend)
    if choose_method(method, domain, needs_search=backend != "auto", allowed=("auto", "dfs", "planar")) == "planar":
        return enumerate_planar(net, domain, eps=eps)
    net_s, domain_s = search_problem(net, domain)
    search = _Search(net_s, domain_s, eps, backend, prune)
    _check_backend_capability(search, domain_s)
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
                  checkpoint=None, checkpoint_every: float = 60.0, resume=None) -> RegionCount:
    """Count the activation regions of `net` inside `domain` exactly (see :func:`enumerate_regions`).

    Parameters
    ----------
    method : {"auto", "dfs", "planar", "milp"}
        The exact depth-first search, the exact 1-D / 2-D algorithm (:mod:`polyregions.planar`),
        or the independent MILP count (:func:`polyregions.milp.count_regions_milp`; bounded
        domains only). "auto" (default): planar where it applies and nothing of the search is
        asked for (a solver `backend`, a checkpoint, resume, a cluster; planar runs in one
        process and ignores `workers`), else the search.
    max_regions : int, optional
        Stop after this many regions; the result is then marked incomplete.
    time_limit : float, optional
        Stop after this many seconds; the result is marked incomplete, and with
        `checkpoint` the unexplored part is saved so that `resume` finishes the count.
    progress : callable, optional
        Called as ``progress(count, stats)`` about twice a second.
    workers : int
        Processes to search with (default 1); the tree is split into subproblems.
    client : dask.distributed.Client, optional
        Search on a Dask cluster instead of local processes.
    checkpoint : path, optional
        Save the unexplored frontier and the count so far there every `checkpoint_every`
        seconds (atomic writes), when stopped by `time_limit`, and on Ctrl-C.
    resume : path, optional
        Continue the count saved in this checkpoint (same network, domain, eps and backend).

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
    from .planar import choose_method, count_planar
    from .slicing import search_problem

    _validate(net, domain, eps, backend)
    method = choose_method(method, domain, needs_search=backend != "auto" or checkpoint is not None
                           or resume is not None or client is not None)
    if method == "milp":
        from .milp import count_regions_milp

        net, domain = search_problem(net, domain)
        return count_regions_milp(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit,
                                  backend="highs" if backend in ("auto", "numba") else backend, progress=progress)
    eps = _validate(net, domain, eps, backend)
    if max_regions is not None and (isinstance(max_regions, bool) or not isinstance(max_regions, (int, np.integer)) or max_regions < 0):
        raise InvalidInputError(f"`max_regions` must be a non-negative integer, got {max_regions!r}")
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    checkpoint_every = positive_number(checkpoint_every, "checkpoint_every")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InvalidInputError(f"`workers` must be a positive integer, got {workers!r}")
    from .checkpoint import Checkpointer

    if method == "planar":
        return count_planar(net, domain, eps=eps, max_regions=max_regions, time_limit=time_limit, progress=progress)
    ckpt = Checkpointer(checkpoint, net, domain, eps, backend, prune)
    net_s, domain_s = search_problem(net, domain)
    search = _Search(net_s, domain_s, eps, backend, prune)
    _check_backend_capability(search, domain_s)
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
        from .parallel import drive_parallel

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
    next_report = t0 + 0.5
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
            for _, rho, _, _ in search.run(sub):
                count += 1
                if rho < stats.min_radius:
                    stats.min_radius = rho
                if max_regions is not None and count >= max_regions:
                    stopped = "max_regions"
                    break
                if progress is not None:
                    now = time.perf_counter()
                    if now >= next_report:
                        snapshot(now)
                        stats.pending += 1  # the subproblem being searched
                        progress(count, stats)
                        next_report = now + 0.5
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
