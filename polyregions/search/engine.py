"""The depth-first search engine behind :func:`polyregions.count_regions`, resumable at any node.

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

A pattern is counted when its region contains a Euclidean ball of radius ``eps``: the
region ``{x in D : pattern(x) = p}`` has an interior point ``x`` with ``B(x, eps)`` inside
both the region's closure and the domain ``D``. The open subtrees are
:class:`Subproblem` records, so a search can stop at any moment, hand its frontier to
other processes (:mod:`polyregions.search.parallel`) or to a checkpoint
(:mod:`polyregions.search.checkpoint`), and resume there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import InvalidInputError
from .pooling import WindowBranching, affine_range
from .rows import row_norms, unit_rows
from ..result import Stats
from ..solvers.base import TestResult
from ..solvers.registry import make_backend, region_problem

__all__ = ["DEFAULT_EPS", "NEAR_EPS_FACTOR", "RegionSearch", "Subproblem", "ZERO_ROW_RTOL", "pattern_rows",
           "region_test", "row_norms", "unit_rows"]

#: Default tolerance: a counted region contains a Euclidean ball of this radius (input units).
DEFAULT_EPS = 1e-9
#: A pre-activation is constant on a node when its row's norm is at most this fraction of
#: the norm it would have without cancellation (``sum_k |W_jk| |M_k|``).
ZERO_ROW_RTOL = 1e-12
#: A decision is reported as near ``eps`` when the solver's optimum lies in [eps/10, 10 eps].
NEAR_EPS_FACTOR = 10.0
#: ``fixed`` value of a linear neuron (a residual carry): it passes ``z`` and has no pattern bit.
LINEAR = 2



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


class RegionSearch(WindowBranching):
    """The depth-first search over the patterns of `net` in `domain`, resumable at any node.

    Elementwise stages (ReLU, LeakyReLU: an off neuron passes ``alpha z``, so the next
    stage reads ``beta * z`` with ``beta`` 1 or ``alpha``; linear carries pass ``z``) split
    neuron by neuron; pooling stages split window by window (:mod:`polyregions.search.pooling`).

    ``run(sub)`` yields the leaves below a subproblem. When ``deadline`` passes (or ``split``
    is set), the search stops descending: every child not yet entered, along the whole
    current path, is appended to ``frontier`` as a :class:`Subproblem`, and ``run`` returns.
    """

    zero_row_rtol = ZERO_ROW_RTOL
    subproblem_type = Subproblem

    def __init__(self, net, domain, eps: float, backend: str, prune: bool):
        self.net = net
        self.domain = domain
        self.eps = eps
        self.prune = prune
        self.lp = make_backend(backend, region_problem(domain, eps))
        if getattr(domain, "norm", None) == 2 and "qp" not in self.lp.capabilities:
            raise InvalidInputError(f"`backend` {self.lp.name!r} cannot test regions in an L2 ball")
        self.layers = net.hidden
        # the domain's bounding box as (mid, half): a neuron of one sign on it needs no solver call
        self.domain_box = domain_box(domain)
        # the operator each layer is applied with: its sparse copy (convolutions) or W itself
        self.operators = [W if Ws is None else Ws for (W, _), Ws in zip(net.hidden, net.sparse_hidden)]
        self.bits = []
        self.rows = []  # the node's rows, as pushed to the backend
        self.stats = Stats(eps=eps)
        self.frontier = []
        self.split = False
        self.deadline = None
        #: An observer of dropped branches (:class:`polyregions.exact.certifier.Auditor`), or None.
        self.audit = None

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
        if res.recentre_failed:
            self.stats.recentre_failures += 1
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
        elif self.net.stages[sub.layer].pool:
            yield from self._branch_windows(sub.layer, sub.neuron // self.net.stages[sub.layer].pool, sub.G, sub.c,
                                            sub.x, sub.rho)
        else:
            Gh, ch, _ = unit_rows(sub.G, sub.c)
            yield from self._branch(sub.layer, sub.neuron, sub.G, sub.c, Gh, ch, [int(v) for v in sub.fixed],
                                    sub.x, sub.rho)

    def counts(self, sub: Subproblem, room: int | None = None) -> Iterator[int]:
        """Yield the numbers of regions found below `sub` (here one at a time; ``stats.min_radius``
        kept up to date); with `room`, stop once that many are found."""
        found = 0
        for _, rho, _, _ in self.run(sub):
            if rho < self.stats.min_radius:
                self.stats.min_radius = rho
            found += 1
            yield 1
            if room is not None and found >= room:
                return

    # ------------------------------------------------------------------ the search
    def _enter_layer(self, l, M, m, x, rho):
        if l == len(self.layers):
            yield x, rho, M, m
            return
        stage = self.net.stages[l]
        if stage.pool:
            yield from self._enter_pool(l, M, m, x, rho)
            return
        W, b = self.layers[l]
        op = self.operators[l]
        G = op @ M
        c = op @ m + b
        Gh, ch, norms = unit_rows(G, c)
        absW = abs(op)
        scale = absW @ row_norms(M)
        split = stage.split
        const = (norms <= ZERO_ROW_RTOL * scale) & split
        cscale = absW @ np.abs(m) + np.abs(b)
        fixed = [-1 if s else LINEAR for s in split]
        for j in np.flatnonzero(const):
            fixed[j] = 1 if c[j] > ZERO_ROW_RTOL * cscale[j] else 0
        s_all = Gh @ x + ch
        far = (np.abs(s_all) >= self.domain.diameter) & split  # the hyperplane misses the domain
        box_range = affine_range(G, c, self.domain_box)
        if box_range is not None:
            far |= ((box_range[0] > 0) | (box_range[1] < 0)) & split
        for j in np.flatnonzero(far & ~const):
            fixed[j] = 1 if s_all[j] > 0 else 0
        if self.prune:
            for j in np.flatnonzero(split & ~const & ~far):
                if self.deadline is not None and time.perf_counter() > self.deadline:
                    break  # the prefilter only saves work: stop it, the branching parks the rest
                side = s_all[j] > 0
                if abs(s_all[j]) >= rho:  # the witness ball lies on one side: is the other side empty?
                    res = self._test_side(Gh[j] if side else -Gh[j], -ch[j] if side else ch[j], x)  # the other side
                    if not res.keep and res.depth <= 0:
                        fixed[j] = 1 if side else 0
        if self.audit is not None:
            self.audit.entered(l, self.bits, fixed)
        yield from self._branch(l, 0, G, c, Gh, ch, fixed, x, rho)

    def _branch(self, l, j, G, c, Gh, ch, fixed, x, rho):
        bits = self.bits
        start = len(bits)
        n = len(fixed)
        while j < n and fixed[j] >= 0:
            if fixed[j] != LINEAR:
                if self.audit is not None:
                    self.audit.skipped(bits, 1 - fixed[j])
                bits.append(fixed[j])
            j += 1
        if j == n:
            stage = self.net.stages[l]
            beta = stage.gains(bits[len(bits) - stage.n_bits:])
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
        if self.audit is not None:
            for dropped in {False, True} - {bit for bit, *_ in children}:
                self.audit.pruned(bits, 1 if dropped else 0)
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


def domain_box(domain):
    """The domain's bounding box as ``(mid, half)``, or None when it is unbounded."""
    lo, hi = domain.bounding_box()
    if not np.all(np.isfinite(lo) & np.isfinite(hi)):
        return None
    return (lo + hi) / 2, (hi - lo) / 2


def pattern_rows(net, bits, box=None):
    """The half-spaces ``a . x <= b`` (unit ``a``) of the region of pattern `bits`.

    Returns ``None`` when a neuron that is constant on the region contradicts its bit
    (the pattern has no region). Constant neurons (zero rows, as in the search) add no row.
    With ``box = (mid, half)`` (:func:`domain_box`), a neuron of one sign over the whole box
    adds no row when the sign agrees with its bit and empties the pattern when it does not,
    as in the search: its hyperplane misses the domain (it may lie arbitrarily far away,
    beyond what a solver takes as a finite bound).
    """
    bits = np.asarray(bits, dtype=bool)
    n0 = net.input_dim
    M, m = np.eye(n0), np.zeros(n0)
    rows = []
    k = 0
    for W, b in net.hidden:
        G = W @ M
        c = W @ m + b
        norms = row_norms(G)
        absW = np.abs(W)
        scale = absW @ row_norms(M)
        cscale = absW @ np.abs(m) + np.abs(b)
        beta = bits[k:k + W.shape[0]]
        box_range = affine_range(G, c, box)
        for j in range(W.shape[0]):
            if norms[j] <= ZERO_ROW_RTOL * scale[j]:
                if (c[j] > ZERO_ROW_RTOL * cscale[j]) != beta[j]:
                    return None
                continue
            if box_range is not None and (box_range[0][j] > 0 or box_range[1][j] < 0):
                if (box_range[0][j] > 0) != beta[j]:
                    return None
                continue
            g, cj = G[j] / norms[j], c[j] / norms[j]
            rows.append((-g, cj) if beta[j] else (g, -cj))
        M = beta[:, None] * G
        m = beta * c
        k += W.shape[0]
    return rows


def region_test(tester, rows, anchor):
    """The backend `tester`'s region test of the node ``{a . x <= b for (a, b) in rows}``
    (within its domain); the rows are pushed for the test and popped afterwards."""
    for a, b in rows:
        tester.push(a, b)
    try:
        return tester.test(anchor)
    finally:
        for _ in rows:
            tester.pop()
