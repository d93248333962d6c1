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

import math
import time
from typing import Iterator

import numpy as np

from ._validate import positive_number
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


class _Stop(Exception):
    pass


def _validate(net, domain, eps, backend):
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregions.Network, got {type(net).__name__}")
    if not isinstance(domain, Domain):
        raise InvalidInputError(f"`domain` must be a polyregions domain (Box, Ball, Polytope, Whole), got {type(domain).__name__}")
    if domain.dim != net.input_dim:
        raise InvalidInputError(f"`domain` has dimension {domain.dim} but the network takes {net.input_dim} inputs")
    eps = positive_number(eps, "eps")
    if not isinstance(backend, str):
        raise InvalidInputError(f"`backend` must be a backend name, got {backend!r}")
    return eps


class _Search:
    """One depth-first search over the patterns of `net` in `domain`."""

    def __init__(self, net: Network, domain: Domain, eps: float, backend: str, prune: bool, keep_maps: bool):
        self.net = net
        self.domain = domain
        self.eps = eps
        self.prune = prune
        self.keep_maps = keep_maps
        self.lp = make_backend(backend, domain.region_problem(eps))
        self.layers = net.hidden
        self.bits = []
        self.stats = Stats(eps=eps)

    # ------------------------------------------------------------------ solver calls
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

    # ------------------------------------------------------------------ the search
    def leaves(self) -> Iterator[tuple]:
        """Yield ``(x, rho, M, m)`` per region; ``self.bits`` holds its pattern meanwhile."""
        root = self.lp.test(self.domain.center_point())
        self._record(root)
        self.stats.nodes += 1
        if not root.keep:
            return
        n0 = self.net.input_dim
        yield from self._enter_layer(0, np.eye(n0), np.zeros(n0), root.point, root.radius)

    def _enter_layer(self, l, M, m, x, rho):
        if l == len(self.layers):
            yield x, rho, M, m
            return
        W, b = self.layers[l]
        G = W @ M
        c = W @ m + b
        norms = np.sqrt(np.einsum("ij,ij->i", G, G))
        absW = np.abs(W)
        scale = absW @ np.sqrt(np.einsum("ij,ij->i", M, M))
        const = norms <= ZERO_ROW_RTOL * scale
        cscale = absW @ np.abs(m) + np.abs(b)
        safe = np.where(const, 1.0, norms)
        Gh = G / safe[:, None]
        ch = c / safe
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
        eps, lp, stats = self.eps, self.lp, self.stats
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
                children.append((side, (a_wit, b_wit), x1, r1))
            else:
                lp.push(a_wit, b_wit)
                try:
                    res = lp.test(x)
                finally:
                    lp.pop()
                self._record(res)
                if res.keep:
                    children.append((side, (a_wit, b_wit), res.point, res.radius))
            if other.keep:
                children.append((not side, (-a_wit, -b_wit), other.point, other.radius))
        for bit, row, x1, r1 in children:
            stats.nodes += 1
            bits.append(1 if bit else 0)
            if row is not None:
                lp.push(*row)
            try:
                yield from self._branch(l, j + 1, G, c, Gh, ch, fixed, x1, r1)
            finally:
                if row is not None:
                    lp.pop()
            del bits[here:]
        del bits[start:]


def _check_backend_capability(search: _Search, domain):
    from .domains import Ball

    if isinstance(domain, Ball) and domain.p == 2 and "qp" not in search.lp.capabilities:
        raise InvalidInputError(f"`backend` {search.lp.name!r} cannot test regions in an L2 ball")


def enumerate_regions(net: Network, domain: Domain, *, eps: float = DEFAULT_EPS, backend: str = "highs",
                      prune: bool = True) -> Iterator[Region]:
    """Yield every activation region of `net` inside `domain`.

    Parameters
    ----------
    net : Network
    domain : Box, Ball, Polytope or Whole
        Of dimension ``net.input_dim``.
    eps : float
        A region is counted when it contains a Euclidean ball of radius `eps` (input units).
    backend : {"highs", "scipy", "cvxpy"}
        The solver for the region test.
    prune : bool
        Use the layer-entry prefilter (the count does not depend on it).

    Yields
    ------
    Region
        With its bit-packed pattern, an interior point and the radius of a ball around it
        inside the region, and ``affine_map()``.

    Examples
    --------
    Two lines through the origin cut the plane into 4 regions:

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    >>> sum(1 for _ in pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1])))
    4
    """
    eps = _validate(net, domain, eps, backend)
    search = _Search(net, domain, eps, backend, prune, keep_maps=True)
    _check_backend_capability(search, domain)
    n_bits = net.num_neurons
    for x, rho, M, m in search.leaves():
        if rho < search.stats.min_radius:
            search.stats.min_radius = rho
        yield Region(np.packbits(np.array(search.bits, dtype=bool)), n_bits, x.copy(), float(rho),
                     (M, m), net.output)


def count_regions(net: Network, domain: Domain, *, eps: float = DEFAULT_EPS, backend: str = "highs",
                  prune: bool = True, max_regions: int | None = None, time_limit: float | None = None,
                  progress=None) -> RegionCount:
    """Count the activation regions of `net` inside `domain` exactly (see :func:`enumerate_regions`).

    Parameters
    ----------
    max_regions : int, optional
        Stop after this many regions; the result is then marked incomplete.
    time_limit : float, optional
        Stop after this many seconds; the result is then marked incomplete.
    progress : callable, optional
        Called as ``progress(count, stats)`` about twice a second.

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
    eps = _validate(net, domain, eps, backend)
    if max_regions is not None and (isinstance(max_regions, bool) or not isinstance(max_regions, (int, np.integer)) or max_regions < 0):
        raise InvalidInputError(f"`max_regions` must be a non-negative integer, got {max_regions!r}")
    if time_limit is not None:
        time_limit = positive_number(time_limit, "time_limit")
    search = _Search(net, domain, eps, backend, prune, keep_maps=False)
    _check_backend_capability(search, domain)
    t0 = time.perf_counter()
    count, stopped = 0, None
    next_report = t0 + 0.5
    stats = search.stats
    for _, rho, _, _ in search.leaves():
        count += 1
        if rho < stats.min_radius:
            stats.min_radius = rho
        if max_regions is not None and count >= max_regions:
            stopped = "max_regions"
            break
        if time_limit is not None or progress is not None:
            now = time.perf_counter()
            if time_limit is not None and now - t0 >= time_limit:
                stopped = "time_limit"
                break
            if progress is not None and now >= next_report:
                stats.seconds = now - t0
                stats.lp_solves = search.lp.lp_solves
                progress(count, stats)
                next_report = now + 0.5
    stats.seconds = time.perf_counter() - t0
    stats.lp_solves = search.lp.lp_solves
    return RegionCount(count, stats, complete=stopped is None, stopped=stopped)
