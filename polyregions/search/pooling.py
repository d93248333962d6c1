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

import time

import numpy as np

from .rows import row_norms

__all__ = ["WindowBranching", "window_children"]


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


class WindowBranching:
    """Mixed into :class:`polyregions.search.engine.RegionSearch`: the pooling stages of the search."""

    def _enter_pool(self, l, M, m, x, rho):
        W, b = self.layers[l]
        G = W @ M
        c = W @ m + b
        yield from self._branch_windows(l, 0, G, c, x, rho)

    def _test_rows(self, rows, anchor):
        lp = self.lp
        for a, b in rows:
            lp.push(a, b)
        try:
            res = lp.test(anchor)
        finally:
            for _ in rows:
                lp.pop()
        self._record(res)
        return res

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
            res = self._test_rows(rows, x)
            if res.keep:
                kept.append((i, rows, res.point, res.radius))
            elif res.depth > 0:
                cut = True  # a sliver too thin to count still cuts the node
        if len(kept) == 1 and not cut:
            i, _, x1, r1 = kept[0]
            kept = [(i, [], x1, r1)]  # the window does not split the node: no rows to add
        return kept

    def _branch_windows(self, l, w, G, c, x, rho):
        stage = self.net.stages[l]
        k = stage.pool
        bits = self.bits
        if w * k == stage.width:
            beta = stage.gains(bits[len(bits) - stage.width:])
            yield from self._enter_layer(l + 1, beta[:, None] * G, beta * c, x, rho)
            return
        span = slice(w * k, (w + 1) * k)
        tol = self.zero_row_rtol
        children = self._window_candidates(window_children(G[span], c[span], tol, self.domain), x, rho)
        here = len(bits)
        for n, (i, rows, x1, r1) in enumerate(children):
            if not self.split and self.deadline is not None and time.perf_counter() > self.deadline:
                self.split = True
            if self.split:
                for i2, rows2, x2, r2 in children[n:]:
                    self._park_window(l, (w + 1) * k, G, c, bits[:here] + _onehot(i2, k), rows2, x2, r2)
                break
            self.stats.nodes += 1
            bits.extend(_onehot(i, k))
            for a, b in rows:
                self._push(a, b)
            try:
                yield from self._branch_windows(l, w + 1, G, c, x1, r1)
            finally:
                for _ in rows:
                    self._pop()
            del bits[here:]

    def _park_window(self, l, neuron, G, c, bits, rows, x, rho):
        all_rows = self.rows + list(rows)
        n0 = self.net.input_dim
        self.frontier.append(self.subproblem_type(
            l, neuron, np.array(bits, np.uint8),
            np.array([a for a, _ in all_rows]).reshape(-1, n0), np.array([b for _, b in all_rows], dtype=float),
            G, c, np.full(G.shape[0], -1, np.int8), np.asarray(x, float), float(rho)))


def _onehot(i, k):
    return [1 if t == i else 0 for t in range(k)]
