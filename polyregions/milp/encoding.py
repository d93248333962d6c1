"""The big-M encoding of a ReLU network over a bounded domain, and its solving with L2 cuts.

With pre-activation bounds ``l_j <= z_j <= u_j`` on the domain ``D``
(:func:`polyregions.milp.propagate.neuron_bounds`), the network is the set of
``(x, z, h, a)`` with ``x`` in ``D`` and, layer by layer,

.. math::

    z^l = W^l h^{l-1} + b^l, \\qquad h^0 = x,

and for every neuron ``j``:

* stably off (``u_j <= 0``): ``h_j = 0`` (no variable);
* stably on (``l_j > 0``): ``h_j = z_j`` (no variable);
* otherwise (``l_j <= 0 < u_j``): ``h_j >= 0``, ``h_j >= z_j``,
  ``h_j <= z_j - l_j (1 - a_j)``, ``h_j <= u_j a_j`` with ``a_j`` binary
  (``a_j = 1``: on, ``h_j = z_j``; ``a_j = 0``: off, ``h_j = 0``).

The domain adds its own rows (:meth:`~polyregions.domains.base.Domain.add_to_model`): a box
or an L-inf ball by the bounds of ``x``; an L1 ball lifted (``|x_k - c_k| <= s_k``,
``sum_k s_k <= r``); a polytope (any polyhedral domain) by its rows; the L2 ball ``|x - c| <= r``
by an outer approximation: its bounding box, the tangent planes ``u . (x - c) <= r`` at
``u = (+-e_i +- e_j) / sqrt 2`` (:meth:`~polyregions.domains.base.Domain.seed_cuts`), and a
tangent plane at every solution that leaves the ball (added lazily,
:meth:`~polyregions.domains.base.Domain.outer_cut`). Every optimum over the outer
approximation bounds the optimum over the ball from above, so stopping decisions stay
valid; every pattern is re-checked exactly.

The margin
----------
:meth:`BigMEncoding.add_margin` adds ``t`` in ``[0, t_cap]`` with ``z_j >= t`` for the
neurons with a binary that are on (``a_j = 1``) and ``z_j <= -t`` for those that are
off, through the big-M rows ``z_j - t >= -(t_cap - l_j)(1 - a_j)`` and
``z_j + t <= (u_j + t_cap) a_j``. A neuron of layer 2 or later with a (near) zero bias
is exempt where all its inputs are off (it is the constant ``b_j`` there): a continuous
``e_j <= 1 - a_i`` (for every input ``i``) switches the exemption on, and ``e_j`` ties
the bit to the constant's sign. :meth:`BigMEncoding.add_no_good` excludes one
assignment of the binaries.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import UnsupportedError
from ..solvers.base import LinearModel, MipSolution, Status

__all__ = ["BigMEncoding", "L2_RTOL", "L2_SEED_MAX_DIM", "MAX_L2_CUTS", "STRUCTURAL_BIAS", "build_encoding",
           "optimize"]

#: A solution is inside the L2 ball when ``|x - c| <= r (1 + L2_RTOL)``.
L2_RTOL = 1e-7
#: Tangent cuts allowed per decision before giving up (counting raises, bounds keep the outer bound).
MAX_L2_CUTS = 500
#: A neuron of layer >= 2 whose bias is below this fraction of ``t_cap`` in absolute value is
#: exempt from the margin where all its inputs are off (it is the constant ``b_j`` there).
STRUCTURAL_BIAS = 1e-3
#: Up to this input dimension, L2-ball models start from the tangent planes at +-e_k and +-e_i +- e_j.
L2_SEED_MAX_DIM = 8


class BigMEncoding:
    """The big-M encoding of a network over a bounded domain, built layer by layer."""

    def __init__(self, net, domain, *, integer: bool):
        """`domain` bounded (its public entry checked it)."""
        self.net, self.domain, self.integer = net, domain, integer
        m = self.m = LinearModel()
        n = net.input_dim
        lo, hi = domain.bounding_box()
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):  # pragma: no cover - bounded domains only
            raise UnsupportedError(f"`domain` {domain!r} has no finite bounding box")
        self.x = np.array([m.add_col(lo[k], hi[k], f"x_{k}") for k in range(n)], dtype=np.int32)
        domain.add_to_model(m, self.x)
        #: the model holds an outer approximation of the domain, refined by cuts (the L2 ball)
        self.outer = bool(domain.model_is_outer)
        self.l2_cuts = 0
        self.prev = list(self.x)  # column of each unit of the previous layer, -1 for a zero unit
        self.layers = []  # per layer: dict(z, h, a, lo, up, state)
        self.binaries = []  # (flat neuron index, a column)
        self.fixed = []  # (flat neuron index, bit)
        self._offset = 0
        self.t = None

    # ------------------------------------------------------------------ layers
    def add_affine(self, W, b):
        """Columns ``z`` (free) and rows ``z = W h_prev + b`` of the next layer."""
        m, l = self.m, len(self.layers) + 1
        prev = np.array(self.prev)
        live = prev >= 0
        z = np.array([m.add_col(-math.inf, math.inf, f"z_{l}_{j}") for j in range(W.shape[0])], dtype=np.int32)
        for j in range(W.shape[0]):
            idx = np.concatenate([[z[j]], prev[live]])
            val = np.concatenate([[1.0], -W[j, live]])
            m.add_row(idx, val, b[j], b[j], f"aff_{l}_{j}")
        self._z = z
        self._Wb = (np.asarray(W, float), np.asarray(b, float))
        return z

    def add_relu(self, lo, up):
        """Fix the bounds of the pending ``z`` and add the ReLUs (binaries for unstable neurons)."""
        m, l, z = self.m, len(self.layers) + 1, self._z
        W, b = self._Wb
        lo, up = np.array(lo, float), np.array(up, float)
        n = z.size
        h = np.full(n, -1, dtype=np.int64)
        a = np.full(n, -1, dtype=np.int64)
        state = np.zeros(n, dtype=np.int8)
        # inputs that are identically zero on the domain (stably off units of the previous layer)
        dead_in = self.layers[-1]["state"] == -1 if self.layers else np.zeros(W.shape[1], bool)
        for j in range(n):
            if not np.any((W[j] != 0) & ~dead_in):
                lo[j] = up[j] = b[j]  # constant on the domain: on when b_j > 0, else off
            m.set_bounds(z[j], lo[j], up[j])
            k = self._offset + j
            if up[j] <= 0:
                state[j] = -1
                self.fixed.append((k, 0))
            elif lo[j] > 0:
                state[j] = 1
                h[j] = z[j]
                self.fixed.append((k, 1))
            else:
                h[j] = m.add_col(0.0, up[j], f"h_{l}_{j}")
                a[j] = m.add_col(0.0, 1.0, f"a_{l}_{j}", integer=self.integer)
                m.add_row([z[j], h[j]], [1.0, -1.0], -math.inf, 0.0, f"rlz_{l}_{j}")
                m.add_row([h[j], z[j], a[j]], [1.0, -1.0, -lo[j]], -math.inf, -lo[j], f"rlo_{l}_{j}")
                m.add_row([h[j], a[j]], [1.0, -up[j]], -math.inf, 0.0, f"rup_{l}_{j}")
                self.binaries.append((k, int(a[j])))
        self.layers.append(dict(z=z, h=h, a=a, lo=lo, up=up, state=state, Wb=(W, b)))
        self.prev = list(h)
        self._offset += n

    def add_margin(self, cap):
        """The margin column ``t`` in ``[0, cap]`` and its big-M rows; objective ``max t``."""
        m = self.m
        self.t = t = m.add_col(0.0, cap, "t")
        for li, L in enumerate(self.layers, start=1):
            W, b = L["Wb"]
            P = self.layers[li - 2] if li >= 2 else None
            for j in np.flatnonzero(L["a"] >= 0):
                z, a, lo, up = int(L["z"][j]), int(L["a"][j]), L["lo"][j], L["up"][j]
                M_on, M_off = cap - lo, up + cap
                e = -1
                if P is not None and abs(b[j]) < STRUCTURAL_BIAS * cap:
                    supp = np.flatnonzero(W[j])
                    if not np.any(P["state"][supp] == 1):
                        # structurally constant where all its inputs are off: z_j = b_j there
                        ins = [int(P["a"][i]) for i in supp if P["a"][i] >= 0]
                        e = m.add_col(0.0, 1.0, f"e_{li}_{j}")
                        for i, ai in enumerate(ins):
                            m.add_row([e, ai], [1.0, 1.0], -math.inf, 1.0, f"ein_{li}_{j}_{i}")
                        if b[j] > 0:  # the constant's sign fixes the bit
                            m.add_row([e, a], [1.0, -1.0], -math.inf, 0.0, f"eon_{li}_{j}")
                        else:
                            m.add_row([e, a], [1.0, 1.0], -math.inf, 1.0, f"eoff_{li}_{j}")
                if e < 0:
                    m.add_row([z, t, a], [1.0, -1.0, -M_on], -M_on, math.inf, f"mon_{li}_{j}")
                    m.add_row([z, t, a], [1.0, 1.0, -M_off], -math.inf, 0.0, f"moff_{li}_{j}")
                else:
                    m.add_row([z, t, a, e], [1.0, -1.0, -M_on, M_on], -M_on, math.inf, f"mon_{li}_{j}")
                    m.add_row([z, t, a, e], [1.0, 1.0, -M_off, -M_off], -math.inf, 0.0, f"moff_{li}_{j}")
        m.objective = {t: 1.0}
        m.sense = "max"
        return t

    def add_l2_cut(self, x):
        """A row of the domain that ``x`` violates (the L2 ball's tangent plane in the direction of
        ``x - c``: ``u . x <= u . c + r``; :meth:`~polyregions.domains.base.Domain.outer_cut`)."""
        self._add_cut(*self.domain.outer_cut(x))

    def _add_cut(self, u, level):
        self.l2_cuts += 1
        self.m.add_row(self.x, u, -math.inf, level, f"l2cut_{self.l2_cuts}")

    def add_l2_outer(self):
        """The domain's seed cuts (the L2 ball: tangent planes at the directions +-e_i +- e_j; the
        bounds of ``x`` give those at +-e_k)."""
        for u, level in self.domain.seed_cuts():
            self._add_cut(u, level)

    def outside_l2(self, x) -> bool:
        """Whether ``x`` leaves the domain by more than ``L2_RTOL`` (only an outer model allows it)."""
        return self.outer and self.domain.outside(x, L2_RTOL)

    # ------------------------------------------------------------------ reading solutions
    def pattern(self, sol_x):
        """The pattern (bool array, pattern order) read from the binaries of a solution."""
        bits = np.zeros(self._offset, dtype=bool)
        for k, b in self.fixed:
            bits[k] = bool(b)
        for k, col in self.binaries:
            bits[k] = sol_x[col] > 0.5
        return bits

    def binary_values(self, bits):
        return np.array([bits[k] for k, _ in self.binaries], dtype=bool)

    def add_no_good(self, bits, name):
        """Exclude the binaries' assignment of `bits`: sum_{on}(1 - a) + sum_{off} a >= 1."""
        cols = np.array([col for _, col in self.binaries], dtype=np.int32)
        on = self.binary_values(bits)
        val = np.where(on, -1.0, 1.0)
        self.m.add_row(cols, val, 1.0 - on.sum(), math.inf, name)


def build_encoding(net, domain, bounds, *, integer, margin_cap=None) -> BigMEncoding:
    """The encoding of every hidden layer with the given `bounds` (and the margin when `margin_cap` is set)."""
    enc = BigMEncoding(net, domain, integer=integer)
    for (W, b), (lo, up) in zip(net.hidden, bounds):
        enc.add_affine(W, b)
        enc.add_relu(lo, up)
    if margin_cap is not None:
        enc.add_margin(margin_cap)
    return enc


def optimize(driver, enc, cost, *, deadline=None, settle_at=None, max_cuts=MAX_L2_CUTS, cutoff=None):
    """Minimise `cost` over the encoding `enc` with `driver`; on an L2 ball, add tangent cuts until the solution lies
    in the ball (within ``L2_RTOL``).

    The optimum over the outer approximation is a valid lower bound of the minimum over the
    ball at every round: when ``settle_at`` is given the loop also stops as soon as the
    value is at least ``settle_at``. Returns the last solution (``cuts_exhausted`` flags
    a loop that ran out of cuts). ``cutoff`` is passed to the driver (first solution below it).
    """
    cuts = 0
    while True:
        remaining = None
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return MipSolution(Status.LIMIT), False
        sol = driver.minimize(cost, remaining, cutoff)
        if sol.status is not Status.OPTIMAL or not enc.outer:
            return sol, False
        if settle_at is not None and sol.value >= settle_at:
            return sol, False
        x = sol.x[enc.x]
        if not enc.outside_l2(x):
            return sol, False
        if cuts >= max_cuts:
            return sol, True
        enc.add_l2_cut(x)
        cuts += 1
