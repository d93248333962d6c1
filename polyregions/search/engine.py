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
  ``ZERO_ROW_RTOL``) does not branch: it is on when the constant is positive, else off
  (a constant within ``ZERO_ROW_RTOL`` of zero, of terms not all zero, counts in ``near_eps``:
  float64 cannot tell its sign);
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

from .pooling import PoolingStep
from .rows import ZERO_ROW_RTOL, identity, row_norms, unit_rows
from ..result import NEAR_EPS_FACTOR, Stats
from ..solvers.base import TestResult
from ..solvers.registry import far_margin, make_backend, region_problem, resolve_backend, starting_backend

__all__ = ["BOX_RTOL", "DEFAULT_EPS", "FAR_ROW_BOUND", "RESOLUTION_RTOL", "RegionSearch", "Subproblem", "ZERO_ROW_RTOL",
           "box_signs", "pattern_rows", "region_test", "row_norms", "unit_rows"]

#: Default tolerance: a counted region contains a Euclidean ball of this radius (input units).
DEFAULT_EPS = 1e-9
#: The bounding-box prefilter (:func:`box_signs`) fixes a neuron whose pre-activation keeps one
#: sign over the domain's bounding box up to this fraction of the size of the terms summed,
#: ``|G| (|mid| + half) + |c|``: a hyperplane that meets the box only that close to its
#: boundary lies there by rounding (a neuron vanishing exactly on a face, composed with a
#: slice's frame, lands one ulp inside). Such a decision is counted in ``stats.near_eps``.
BOX_RTOL = 1e-12
#: The resolution of coordinates, relative to their magnitude: floating point places
#: hyperplanes only to about ``1e-16`` times the coordinates (one composed with a slice's
#: frame, or two that coincide in exact arithmetic, may leave or hide a sliver of a few ulps).
#: With ``R`` this fraction of the largest coordinate at hand, counted in ``stats.near_eps``:
#: a counted region whose witness radius is at most ``R``, and a node dropped with a depth
#: above ``eps - R`` (the node's largest coordinate: its witness's, or the tested row's offset),
#: whose true depth may exceed ``eps`` however far ``eps`` lies below ``R``.
RESOLUTION_RTOL = 1e-12
#: On an unbounded domain, a hyperplane farther than this from the origin (a unit row
#: ``a . x <= b`` with ``|b|`` above it) is no solver row: no LP resolves it together with
#: hyperplanes near the origin (HiGHS reads bounds beyond 1e20 as infinite). A node with such
#: rows is decided in the limit of their distance (:meth:`RegionSearch._test_far`), and every
#: such decision is counted in ``stats.near_eps``: floats do not resolve both scales at once.
FAR_ROW_BOUND = 1e15
#: ``fixed`` value of a linear neuron (a residual carry): it passes ``z`` and has no pattern bit.
LINEAR = 2



@dataclass
class Subproblem:
    """An unexplored node of the search tree, enough to resume the search there.

    ``neuron == -1``: the search enters hidden layer ``layer`` with ``h^{l-1} = G x + c``;
    otherwise it continues inside ``layer`` at ``neuron``, with the layer's pre-activations
    ``z = G x + c`` and ``fixed`` (per neuron: -1 branch, 0 off, 1 on). ``bits``: the pattern
    so far; ``rows_A x <= rows_b``: the node's rows (``positions``: the pattern position of each,
    for an auditor); ``x``, ``rho``: its witness ball.
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
    #: the pattern position of each of ``rows_A``'s rows (None: not known)
    positions: np.ndarray | None = None


class RegionSearch:
    """The depth-first search over the patterns of `net` in `domain`, resumable at any node.

    Elementwise stages (ReLU, LeakyReLU: an off neuron passes ``alpha z``, so the next
    stage reads ``beta * z`` with ``beta`` 1 or ``alpha``; linear carries pass ``z``) split
    neuron by neuron; pooling stages split window by window (its collaborator ``pooling``, a
    :class:`~polyregions.search.pooling.PoolingStep`, which calls back ``push``, ``pop``,
    ``test_rows``, ``park``, ``splitting`` and ``enter_layer``).

    ``run(sub)`` yields the leaves below a subproblem. When ``deadline`` passes (or ``split``
    is set), the search stops descending: every child not yet entered, along the whole
    current path, is appended to ``frontier`` as a :class:`Subproblem`, and ``run`` returns.

    The backend: ``target`` names the one the search runs on (`backend`, "auto" resolved by the
    registry, which refuses what it cannot serve); ``lp`` is the one it runs on now. With `lazy`
    and `backend` "auto", ``lp`` begins as the registry's
    :func:`~polyregions.solvers.registry.starting_backend` (HiGHS while the target's kernels are
    not compiled), and :meth:`adopt_target` builds the target at a clean point. The count does
    not depend on the backend: each decides the region test of the exact Chebyshev radius (near
    a threshold, HiGHS decides).
    """

    zero_row_rtol = ZERO_ROW_RTOL

    def __init__(self, net, domain, eps: float, backend: str, prune: bool, *, lazy: bool = False):
        self.net = net
        self.domain = domain
        self.eps = eps
        self.prune = prune
        self.problem = region_problem(domain, eps)
        self.target = resolve_backend(backend, self.problem)
        start = starting_backend(self.target, self.problem) if lazy and backend == "auto" else self.target
        self.lp = make_backend(start, self.problem)
        self.retired_solves = 0  # solver runs of the backends the search began on
        self.layers = net.hidden
        # the domain's bounding box as (mid, half): a neuron of one sign on it needs no solver call
        self.domain_box = domain.box()
        # a hyperplane farther than this from a witness misses the domain
        self.diameter = domain.diameter
        # the operator each layer is applied with: its sparse copy (convolutions) or W itself
        self.operators = [W if Ws is None else Ws for (W, _), Ws in zip(net.hidden, net.sparse_hidden)]
        self.bits = []
        self.rows = []  # the node's rows (far ones, on an unbounded domain, are not pushed to the backend)
        self.row_positions = []  # per row: its pattern position (-1: not known)
        self.far = []  # per row: True when it is far (FAR_ROW_BOUND)
        self.n_far = 0
        self.unbounded = self.domain_box is None
        self.stats = Stats(eps=eps)
        self.frontier = []
        self.split = False
        self.deadline = None
        #: An observer of dropped branches (:class:`polyregions.exact.certifier.Auditor`), or None.
        self.audit = None
        self.pooling = PoolingStep(self)

    # ------------------------------------------------------------------ the backend
    @property
    def lp_solves(self) -> int:
        """Solver runs of the search so far, on every backend it has run on."""
        return self.retired_solves + self.lp.lp_solves

    def adopt_target(self):
        """Move to the backend ``target`` names if the search began on another (compiling its
        kernels now, unless they are in the cache). Only between two subproblems: the node's rows
        are removed (the next subproblem loads its own)."""
        if self.lp.name == self.target:
            return
        while self.rows:
            self.pop()
        self.retired_solves += self.lp.lp_solves
        self.lp = make_backend(self.target, self.problem)

    # ------------------------------------------------------------------ solver calls
    def _is_far(self, b):
        return self.unbounded and not abs(b) < FAR_ROW_BOUND

    def push(self, a, b, position=-1):
        """Add the row ``a . x <= b`` to the node (the backend's stack, unless it is far, and the
        search's); `position`: its pattern position, for an auditor (-1: not known)."""
        far = self._is_far(b)
        if not far:
            self.lp.push(a, b)
        self.rows.append((a, b))
        self.row_positions.append(position)
        self.far.append(far)
        self.n_far += far

    def pop(self):
        """Remove the node's last row."""
        if self.far.pop():
            self.n_far -= 1
        else:
            self.lp.pop()
        self.rows.pop()
        self.row_positions.pop()

    def _test_side(self, a, b, anchor, key=None):
        """Test the node with the half-space ``a . x <= b`` added; `key` = ``(position, bit)``: the
        child that half-space is, whose dropping an auditor hears of (with the backend, which holds
        the multipliers that decided it, and the positions of the node's rows)."""
        if self.n_far or self._is_far(b):
            res = self._test_far(a, b, anchor)
        else:
            lp = self.lp
            lp.push(a, b)
            try:
                res = lp.test(anchor)
                if key is not None and self.audit is not None and not res.keep:
                    self.audit.hint(key, res.depth, lp, self.row_positions)
            finally:
                lp.pop()
        self.record(res, magnitude(anchor, [b]))
        return res

    def test_rows(self, rows, anchor):
        """Test the node with the rows ``a . x <= b`` of `rows` added (and record the decision)."""
        if self.n_far or any(self._is_far(b) for _, b in rows):
            for a, b in rows[:-1]:
                self.push(a, b)
            try:
                res = self._test_far(*rows[-1], anchor)
            finally:
                for _ in rows[:-1]:
                    self.pop()
        else:
            res = region_test(self.lp, rows, anchor)
        self.record(res, magnitude(anchor, [b for _, b in rows]))
        return res

    def _test_far(self, a, b, anchor):
        """The test of a node with far rows (:data:`FAR_ROW_BOUND`), in the limit of their distance.

        With ``N`` the near rows (and the domain's) and ``F`` the far ones, scaled by their
        largest distance ``w``, the node holds a ball of radius ``r`` exactly when ``N`` does
        and, far out, a direction ``y`` of ``N``'s recession cone reaches ``F``: then
        ``B(v + w y, r)`` lies in the node for ``B(v, r)`` in ``N`` (up to ``|v| / w``: the
        witness ``v + w y``, far out, is checked against the far rows). Exact when the two
        scales are apart (a far neuron that later layers mix with near ones is not): the
        decision counts in ``stats.near_eps``.
        """
        rows = self.rows + [(a, b)]
        far = self.far + [self._is_far(b)]
        lp = self.lp
        if not far[-1]:
            lp.push(a, b)
        try:
            res = lp.test(anchor if anchor is not None and np.abs(anchor).max() < FAR_ROW_BOUND else None)
        finally:
            if not far[-1]:
                lp.pop()
        if not res.keep:
            return res
        A_dom, _ = self.domain.rows()
        A_near = np.vstack([A_dom] + [r[0][None] for r, f in zip(rows, far) if not f])
        A_far = np.array([r[0] for r, f in zip(rows, far) if f])
        b_far = np.array([r[1] for r, f in zip(rows, far) if f])
        w = float(np.abs(b_far).max())
        margin, y = far_margin(A_near, A_far, b_far / w)
        self.stats.near_eps += 1  # decided in the limit, not at the resolution of floats
        if not margin > 0:
            return TestResult(False, -np.inf, None, -np.inf)
        x = res.point + w * y
        if np.any(A_far @ x + res.radius > b_far):  # the margin did not cover |v|: no witness
            return TestResult(False, -np.inf, None, -np.inf)
        return TestResult(True, res.depth, x, res.radius)

    def record(self, res, scale=0.0):
        """Count a test's decision in the statistics (near eps, smallest kept depth, recentring);
        `scale`: the magnitude of the tested node's coordinates (:func:`magnitude`): a node dropped
        with a depth above ``eps - RESOLUTION_RTOL * scale`` is near eps too."""
        eps = self.eps
        if res.recentre_failed:
            self.stats.recentre_failures += 1
        if eps / NEAR_EPS_FACTOR <= res.depth <= eps * NEAR_EPS_FACTOR or (
                not res.keep and res.depth > eps - RESOLUTION_RTOL * scale):
            self.stats.near_eps += 1
        if res.keep and res.depth < self.stats.min_kept_depth:
            self.stats.min_kept_depth = res.depth

    # ------------------------------------------------------------------ subproblems
    def root(self) -> Subproblem | None:
        """The whole domain as a subproblem (None when it holds no ball of radius eps)."""
        centre = self.domain.center_point()
        res = self.lp.test(centre)
        self.record(res, magnitude(centre, []))
        self.stats.nodes += 1
        if not res.keep:
            return None
        n0 = self.net.input_dim
        return Subproblem(0, -1, np.zeros(0, np.uint8), np.zeros((0, n0)), np.zeros(0),
                          identity(n0), np.zeros(n0), None, res.point, float(res.radius))

    def _load(self, sub: Subproblem):
        while self.rows:
            self.pop()
        positions = [-1] * len(sub.rows_b) if sub.positions is None else [int(p) for p in sub.positions]
        for a, b, p in zip(sub.rows_A, sub.rows_b, positions):
            self.push(a, float(b), p)
        self.bits = [int(v) for v in sub.bits]

    def splitting(self) -> bool:
        """Whether the search hands its open children to the frontier now (``split`` set, or the
        deadline passed)."""
        if not self.split and self.deadline is not None and time.perf_counter() > self.deadline:
            self.split = True
        return self.split

    def park(self, l, j, G, c, fixed, bits, rows, x, rho, positions=None):
        """Append the child of the current node with pattern `bits` and the extra `rows` to the
        frontier, to resume inside stage `l` at neuron `j` (`positions`: the pattern position of
        each extra row, None: not known)."""
        rows = list(rows)
        positions = self.row_positions + ([-1] * len(rows) if positions is None else list(positions))
        rows = self.rows + rows
        n0 = self.net.input_dim
        self.frontier.append(Subproblem(
            l, j, np.array(bits, np.uint8),
            np.array([a for a, _ in rows]).reshape(-1, n0), np.array([b for _, b in rows], dtype=float),
            G, c, np.array(fixed, np.int8), np.asarray(x, float), float(rho), np.array(positions, np.int64)))

    def run(self, sub: Subproblem) -> Iterator[tuple]:
        """Yield ``(x, rho, M, m)`` per region below `sub`; ``self.bits`` holds its pattern meanwhile."""
        self._load(sub)
        self.split = False
        if sub.neuron < 0:
            yield from self.enter_layer(sub.layer, sub.G, sub.c, sub.x, sub.rho)
        elif self.net.stages[sub.layer].pool:
            yield from self.pooling.branch(sub.layer, sub.neuron // self.net.stages[sub.layer].pool, sub.G, sub.c,
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
    def enter_layer(self, l, M, m, x, rho):
        """Yield the leaves below the node entering stage `l` with ``h^{l-1} = M x + m``."""
        if l == len(self.layers):
            if rho <= RESOLUTION_RTOL * np.abs(x).max(initial=0.0):
                self.stats.near_eps += 1  # a region as thin as the rounding of its coordinates
            yield x, rho, M, m
            return
        stage = self.net.stages[l]
        if stage.pool:
            yield from self.pooling.enter(l, M, m, x, rho)
            return
        W, b = self.layers[l]
        op = self.operators[l]
        n0 = self.net.input_dim
        root = M is identity(n0) and isinstance(op, np.ndarray)  # W @ I is W exactly (rows.identity)
        G = op.copy() if root else op @ M
        c = op @ m + b
        Gh, ch, norms = unit_rows(G, c)
        absW = abs(op)
        scale = absW @ (np.ones(n0) if root else row_norms(M))
        split = stage.split
        const = (norms <= ZERO_ROW_RTOL * scale) & split
        cscale = absW @ np.abs(m) + np.abs(b)
        fixed = [-1 if s else LINEAR for s in split]
        for j in np.flatnonzero(const):
            fixed[j] = 1 if c[j] > ZERO_ROW_RTOL * cscale[j] else 0
            if abs(c[j]) <= ZERO_ROW_RTOL * cscale[j] and cscale[j] > 0.0:
                self.stats.near_eps += 1  # a constant within rounding of zero: its bit is rounding's choice
        # the witness's distances (G x / |G|: one division per row; |G x| / |G| <= |x|, no overflow)
        s_all = (G @ x) / np.where(norms > 0, norms, 1.0) + ch
        far = (np.abs(s_all) >= self.diameter) & split  # the hyperplane misses the domain
        for j in np.flatnonzero(far & ~const):
            fixed[j] = 1 if s_all[j] > 0 else 0
        if self.domain_box is not None:  # one sign over the domain's bounding box
            on, off, near = box_signs(G, c, self.domain_box)
            boxed = (on | off) & split & ~const & ~far
            for j in np.flatnonzero(boxed):
                fixed[j] = 1 if on[j] else 0
            self.stats.near_eps += int(np.count_nonzero(near & boxed))
            far |= boxed
        if self.prune:
            for j in np.flatnonzero(split & ~const & ~far):
                if self.deadline is not None and time.perf_counter() > self.deadline:
                    break  # the prefilter only saves work: stop it, the branching parks the rest
                side = s_all[j] > 0
                if abs(s_all[j]) >= rho:  # the witness ball lies on one side: is the other side empty?
                    res = self._test_side(Gh[j] if side else -Gh[j], -ch[j] if side else ch[j], x,  # the other side
                                          (len(self.bits) + j, 0 if side else 1))
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
            yield from self.enter_layer(l + 1, beta[:, None] * G, beta * c, x, rho)
            del bits[start:]
            return
        eps, stats = self.eps, self.stats
        here = len(bits)  # the pattern up to (not including) neuron j
        g, cj = Gh[j], ch[j]
        s = float(g @ x + cj)  # signed distance of the witness to the hyperplane
        side = s > 0
        a_wit, b_wit = (-g, cj) if side else (g, -cj)  # the witness's side as a_wit . x <= b_wit
        delta = abs(s)
        exact = self.n_far > 0  # far rows: the witness may lie far out, where s has lost its digits
        if not exact and (rho - delta) / 2 > eps:
            # the hyperplane cuts the witness ball deep enough: the cap on the other side
            # holds a ball of radius (rho - delta) / 2, centred (rho + delta) / 2 from x
            other = TestResult(True, (rho - delta) / 2, x + ((rho + delta) / 2) * a_wit, (rho - delta) / 2)
            if other.depth <= eps * NEAR_EPS_FACTOR:
                self.record(other)
        else:
            other = self._test_side(-a_wit, -b_wit, x, (here, 0 if side else 1))
        cuts = other.keep or other.depth > 0  # the hyperplane meets the node's interior
        children = []
        if not cuts:
            children.append((side, None, x, rho))  # the node itself: no row, same witness
        else:
            if exact:
                x1, r1 = x, 0.0  # no shortcut: the solver decides the witness's side too
            elif delta >= rho:
                x1, r1 = x, rho
            else:
                r1 = (rho + delta) / 2
                x1 = x - ((rho - delta) / 2) * a_wit  # away from the hyperplane, into the witness's side
            if r1 > eps:
                if r1 <= eps * NEAR_EPS_FACTOR:  # kept on a certified radius within 10x of eps
                    self.record(TestResult(True, r1, x1, r1))
                children.append((side, (a_wit, b_wit), x1, r1))
            else:
                res = self._test_side(a_wit, b_wit, x, (here, 1 if side else 0))
                if res.keep:
                    children.append((side, (a_wit, b_wit), res.point, res.radius))
            if other.keep:
                children.append((not side, (-a_wit, -b_wit), other.point, other.radius))
        if self.audit is not None:
            for dropped in {False, True} - {bit for bit, *_ in children}:
                self.audit.pruned(bits, 1 if dropped else 0)
        for k, (bit, row, x1, r1) in enumerate(children):
            if self.splitting():  # hand the children not yet entered to the frontier
                for bit2, row2, x2, r2 in children[k:]:
                    self.park(l, j + 1, G, c, fixed, bits[:here] + [1 if bit2 else 0], [] if row2 is None else [row2],
                              x2, r2, [] if row2 is None else [here])
                break
            stats.nodes += 1
            bits.append(1 if bit else 0)
            if row is not None:
                self.push(*row, here)
            try:
                yield from self._branch(l, j + 1, G, c, Gh, ch, fixed, x1, r1)
            finally:
                if row is not None:
                    self.pop()
            del bits[here:]
        del bits[start:]


def magnitude(anchor, offsets) -> float:
    """The magnitude of a tested node's coordinates, as :data:`RESOLUTION_RTOL` reads it: the
    largest of the anchor's coordinates (the node's witness; none: 0) and of the tested unit
    rows' offsets ``|b|`` (their hyperplanes' distances to the origin)."""
    big = max((abs(float(b)) for b in offsets), default=0.0)
    return big if anchor is None else max(big, float(np.abs(anchor).max(initial=0.0)))


def box_signs(G, c, box):
    """``(on, off, near)``: masks of the rows of ``G x + c`` that keep one sign over the box
    ``box = (mid, half)`` up to :data:`BOX_RTOL` times the size of their terms (positive: `on`,
    negative: `off`), and of those among them whose range crosses 0 (by less than that)."""
    mid, half = box
    centre = G @ mid + c
    spread, reach = (np.abs(G) @ np.column_stack([half, np.abs(mid) + half])).T  # one product for both
    lo, hi = centre - spread, centre + spread  # the range over the box
    size = reach + np.abs(c)
    on = lo > -BOX_RTOL * size
    off = (hi < BOX_RTOL * size) & ~on
    near = (on & (lo < 0)) | (off & (hi > 0))
    return on, off, near


def pattern_rows(net, bits, domain=None):
    """The half-spaces ``a . x <= b`` (unit ``a``) of the region of pattern `bits`.

    Returns ``None`` when a neuron that is constant on the region contradicts its bit
    (the pattern has no region). Constant neurons (zero rows, as in the search) add no row.
    With `domain`, a neuron of one sign over its bounding box
    (:meth:`~polyregions.domains.base.Domain.box`, :func:`box_signs`) adds no row when the sign agrees with its bit and empties the pattern when it does not,
    as in the search: its hyperplane misses the domain (it may lie arbitrarily far away,
    beyond what a solver takes as a finite bound).
    """
    bits = np.asarray(bits, dtype=bool)
    box = domain.box() if domain is not None else None
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
        on, off, _ = box_signs(G, c, box) if box is not None else (None, None, None)
        for j in range(W.shape[0]):
            if norms[j] <= ZERO_ROW_RTOL * scale[j]:
                if (c[j] > ZERO_ROW_RTOL * cscale[j]) != beta[j]:
                    return None
                continue
            if on is not None and (on[j] or off[j]):
                if on[j] != beta[j]:
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
