"""The search step of a max-pooling stage: branch over the argmax of every pooling window.

On entering a pooling stage its candidates are affine on the node, ``z = G x + c``, in
groups of ``k`` (one group per window, :mod:`polyregions.model.lowering`). Window by window the
node splits into the children ``{x : z_j(x) <= z_i(x) for every candidate j}``, one per
candidate ``i``, each tested with the same region test as a ReLU split (a ball of radius
``eps`` in the node with the ``k - 1`` rows added).

Ties: candidates whose difference is constant on the node (up to ``ZERO_ROW_RTOL``, as a
constant pre-activation in the search) are compared by that constant. Candidates that are
identically equal on the node (for instance all zero after a ReLU) form one class, which
does not split: its lowest index is the argmax recorded, exactly as
:meth:`polyregions.Network.pattern` records the first maximum. A candidate strictly below
another by a constant is never the argmax.

The pattern stores a window's choice as ``k`` bits with exactly the argmax set; region
files and checkpoints hold these bits like any other, so a subproblem parked inside a
pooling stage resumes at the window of its ``neuron`` (``window * k``).
"""

from __future__ import annotations

import numpy as np

from .rows import row_norms

__all__ = ["PoolingStep", "window_children"]


def window_children(Gw, cw, tol, domain=None):
    """The candidate classes of one window and, per class representative, its rows.

    Parameters
    ----------
    Gw, cw : ndarray
        The ``k`` candidates ``Gw @ x + cw`` of the window on the node.
    tol : float
        Relative tolerance for a constant difference (``ZERO_ROW_RTOL``).
    domain : Domain, optional
        A candidate below another on the domain's whole bounding box is excluded without a
        solver call (:meth:`~polyregions.domains.base.Domain.box_range`).

    Returns
    -------
    list of (int, list of (a, b))
        Per representative ``i`` that a constant difference does not exclude, the
        half-spaces ``a . x <= b`` (unit ``a``) of ``z_j <= z_i`` for the non-constant ``j``.
    """
    k = Gw.shape[0]
    norms = row_norms(Gw)
    out = []
    rep_of = list(range(k))
    for i in range(k):
        if rep_of[i] != i:
            continue
        rows = []
        excluded = False
        for j in range(k):
            if j == i:
                continue
            D, d = Gw[j] - Gw[i], cw[j] - cw[i]
            nD = float(np.sqrt(D @ D))
            if nD <= tol * (norms[i] + norms[j]):
                if abs(d) <= tol * (abs(cw[i]) + abs(cw[j])):
                    if j > i:
                        rep_of[j] = i  # identically equal: one class, the lowest index recorded
                    continue
                if d > 0:
                    excluded = True  # z_j exceeds z_i by a constant on the whole node
                continue
            box_range = domain.box_range(D[None], np.array([d])) if domain is not None else None
            if box_range is not None and box_range[0][0] > 0:
                excluded = True  # z_j > z_i on the whole domain
                continue
            rows.append((D / nD, -d / nD))
        if not excluded:
            out.append((i, rows))
    return out


class PoolingStep:
    """The search's step over a max-pooling stage: a collaborator of
    :class:`polyregions.search.engine.RegionSearch`, which it calls back for the rest.

    It reads the search's pattern (``bits``), statistics and deadline, and asks it to push and
    pop rows (``push``, ``pop``), to test a node with rows added (``test_rows``), to park an
    open child (``park``) and to enter the next stage (``enter_layer``).
    """

    def __init__(self, search):
        self.search = search

    def enter(self, l, M, m, x, rho):
        """Enter pooling stage `l` with ``h^{l-1} = M x + m``: its candidates, window by window."""
        W, b = self.search.layers[l]
        G = W @ M
        c = W @ m + b
        yield from self.branch(l, 0, G, c, x, rho)

    def _window_candidates(self, rows_by_rep, x, rho):
        """Test each representative's child; return the kept ones as (i, rows, point, radius)."""
        kept, cut = [], False
        for i, rows in rows_by_rep:
            if not rows:
                kept.append((i, rows, x, rho))
                continue
            if all(float(a @ x) - b <= -rho for a, b in rows):  # the witness ball lies inside
                kept.append((i, rows, x, rho))
                continue
            res = self.search.test_rows(rows, x)
            if res.keep:
                kept.append((i, rows, res.point, res.radius))
            elif res.depth > 0:
                cut = True  # a sliver too thin to count still cuts the node
        if len(kept) == 1 and not cut:
            i, _, x1, r1 = kept[0]
            kept = [(i, [], x1, r1)]  # the window does not split the node: no rows to add
        return kept

    def branch(self, l, w, G, c, x, rho):
        """Branch over the argmax of window `w` of stage `l` (candidates ``G x + c``) and below."""
        search = self.search
        stage = search.net.stages[l]
        k = stage.pool
        bits = search.bits
        if w * k == stage.width:
            beta = stage.gains(bits[len(bits) - stage.width:])
            yield from search.enter_layer(l + 1, beta[:, None] * G, beta * c, x, rho)
            return
        span = slice(w * k, (w + 1) * k)
        children = self._window_candidates(window_children(G[span], c[span], search.zero_row_rtol, search.domain),
                                           x, rho)
        here = len(bits)
        fixed = np.full(G.shape[0], -1, np.int8)
        for n, (i, rows, x1, r1) in enumerate(children):
            if search.splitting():
                for i2, rows2, x2, r2 in children[n:]:
                    search.park(l, (w + 1) * k, G, c, fixed, bits[:here] + _onehot(i2, k), rows2, x2, r2)
                break
            search.stats.nodes += 1
            bits.extend(_onehot(i, k))
            for a, b in rows:
                search.push(a, b)
            try:
                yield from self.branch(l, w + 1, G, c, x1, r1)
            finally:
                for _ in rows:
                    search.pop()
            del bits[here:]


def _onehot(i, k):
    return [1 if t == i else 0 for t in range(k)]
