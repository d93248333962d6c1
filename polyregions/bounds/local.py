r"""Bounds on the number of linear regions that meet an L2 ball.

Two bounds on the number of activation regions (the sets of inputs sharing one on/off
pattern of the hidden neurons, ``z > 0`` on) of a ReLU network that
meet the closed Euclidean ball :math:`B_r(x^*) = \{x : \|x - x^*\|_2 \le r\}`:

- :func:`zhu_local`: Algorithm 1 of Zhu, Lin & Tang [ZLT]_, kept exactly as published
  (its bound :math:`2^C` is what the studies test);
- :func:`local_arrangement_bound`: a tighter bound of polyregions' own (not from the
  literature): sound per-neuron stability over the ball, then a Montufar-style product
  of hyperplane-arrangement counts over the *unstable* neurons only.

Both read the lowered hidden layers ``net.hidden``, so dense and convolutional networks
are treated alike; the linear output layer, if any, does not change the regions.

References
----------
.. [ZLT] R. Zhu, B. Lin and H. Tang, "Bounding the number of linear regions in local
   area for neural networks with ReLU activations", arXiv:2007.06803, 2020.
.. [M17] G. Montufar, "Notes on the number of linear regions of deep neural networks",
   SampTA 2017.
.. [NS04] A. Neumaier and O. Shcherbina, "Safe bounds in linear and mixed-integer
   linear programming", Mathematical Programming 99, 283-296, 2004.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from .._validate import finite_array, int_at_least, positive_number
from ..domains.convex import Ball
from ..errors import InvalidInputError
from ..model.network import Network, require_relu
from ..milp.propagate import back_substitution, relaxation
from ..solvers.registry import solve_lp

__all__ = ["ZhuLocal", "zhu_local", "LocalArrangementBound", "local_arrangement_bound"]

_METHODS = ("interval", "symbolic", "lp")


# ---------------------------------------------------------------------------- validation
def _validate_local(net, center, radius):
    """Return ``(net, center as a flat float64 array, radius as float)`` or raise naming the argument."""
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregions.Network, got {type(net).__name__}")
    require_relu(net, "zhu_local and local_arrangement_bound")
    c = finite_array(center, "center")
    n0 = net.input_dim
    if not (c.ndim == 1 and c.shape[0] == n0) and c.shape != tuple(net.input_shape):
        raise InvalidInputError(
            f"`center` must have {n0} entries (shape ({n0},) or {tuple(net.input_shape)}), got shape {c.shape}"
        )
    r = positive_number(radius, "radius")
    return c.reshape(-1), r


def _validate_arrangement(net, center, radius, method, max_cuts):
    """Check the arguments of :func:`local_arrangement_bound`; return ``(center, radius, max_cuts)``."""
    c, r = _validate_local(net, center, radius)
    if method not in _METHODS:
        raise InvalidInputError(f"`method` must be one of {_METHODS}, got {method!r}")
    if method == "lp":
        max_cuts = int_at_least(max_cuts, "max_cuts", 0)
    return c, r, max_cuts


def _frozen(a, dtype=None):
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


# ---------------------------------------------------------------------------- Zhu, Lin & Tang
@dataclass(frozen=True, eq=False)
class ZhuLocal:
    r"""Result of :func:`zhu_local` (Algorithm 1 of Zhu, Lin & Tang).

    Every per-layer field is a tuple with one entry per hidden layer ``l = 1..L``.

    Attributes
    ----------
    P : tuple of int arrays
        ``P_j = 0`` when the neuron's output is one affine function of ``x`` on the whole
        ball (its exact map ``L_j``), 1 when it may change.
    S : tuple of int arrays
        ``S_j = 0`` when the neuron's sign is the same on the whole ball as at the center,
        1 when it may change.
    U : tuple of float arrays
        ``U_j`` bounds ``|h_j(x) - h_j(x^*)|`` (the post-activation) on the ball.
    L : tuple of lists
        ``L[l][j]``: the linear part (a vector of length ``n_0``) of the exact map of the
        neuron's output on the ball, ``None`` where ``P_j = 1`` (zeros for neurons off on
        the whole ball).
    A : tuple of float arrays
        The pre-activations ``z_j(x^*)`` at the center.
    delta : tuple of float arrays
        The bound of the paper's Lemma 1, ``|z_j(x) - z_j(x^*)| <= delta_j`` on the ball
        (``U_j`` before the case analysis).
    C : int
        The number of hidden neurons with ``S_j = 1``.
    bound : int
        :math:`2^C`, an upper bound on the number of regions that meet the ball.
    center, radius :
        The ball.
    """

    P: tuple
    S: tuple
    U: tuple
    L: tuple
    A: tuple
    delta: tuple
    C: int
    bound: int
    center: np.ndarray
    radius: float


def zhu_local(net, center, radius) -> ZhuLocal:
    r"""Zhu, Lin & Tang's local bound: at most :math:`2^C` regions meet an L2 ball.

    Algorithm 1 of [ZLT]_, as published. For every neuron ``j`` of layer ``l`` it computes
    flags ``P_j`` (1 = its affine map in ``x`` may differ on the ball from the one at
    :math:`x^*`), ``S_j`` (1 = its sign may differ), a radius ``U_j`` bounding
    :math:`|h_j(x) - h_j(x^*)|` on :math:`B_r(x^*)` and, when ``P_j = 0``, the linear
    part ``L_j`` of its exact affine map. The inputs start with ``P_i = 0``,
    ``L_i = e_i`` (unit vectors) and ``U_i = 0``. For layer ``l`` with weights ``W``
    (``W_ji`` from neuron ``i`` of layer ``l-1`` to neuron ``j``; the paper's
    :math:`M_{ij}`) and pre-activation :math:`A_j = z_j(x^*)` at the center:

    .. math::

        U = \sum_{i : P_i = 1} |W_{ji}|\, U_i, \qquad
        \ell = \sum_{i : P_i = 0} W_{ji} L_i, \qquad
        U_j = r \|\ell\|_2 + U,

    (Lemma 1: :math:`|z_j(x) - A_j| \le U_j` on the ball), then

    - :math:`A_j < 0` and :math:`U_j + A_j < 0`: off on the whole ball,
      ``U_j, P_j, S_j = 0, 0, 0`` and ``L_j = 0``;
    - :math:`A_j < 0` otherwise: ``U_j <- U_j + A_j`` (as :math:`h_j \le A_j + U_j`),
      ``P_j = S_j = 1``;
    - :math:`A_j \ge 0` and :math:`U_j < A_j`: on on the whole ball; when
      :math:`U = 0` the map is exact, ``P_j = S_j = 0`` and :math:`L_j = \ell`; otherwise
      ``P_j = 1, S_j = 0``;
    - :math:`A_j \ge 0` and :math:`U_j \ge A_j`: ``P_j = S_j = 1``.

    With :math:`C` the number of hidden neurons with ``S_j = 1``, every neuron with
    ``S_j = 0`` has one fixed state on the ball, so at most :math:`2^C` patterns (regions)
    meet it; when :math:`C = 0` the ball lies in one region.

    The comparisons are the published ones, in floating point, without margins. The
    bound can be loose: it ignores the arrangement structure and the correlations between
    neurons; see :func:`local_arrangement_bound` for a tighter bound.

    Notes
    -----
    The paper numbers the input as layer 1 (:math:`X^1 = x`), so its :math:`M^k` maps
    :math:`h^{k-1}` to :math:`z^k` and equals :math:`(W^k)^T` in polyregions' numbering;
    the implementation uses ``W`` directly, as written above. The paper's
    Algorithm 1 returns only ``P, S, U``; the update of ``L`` (0 for a neuron off on the
    whole ball, :math:`\ell` for an exact on neuron) is the one its proof of
    Proposition 1 uses. That proof says that :math:`U = 0` implies ``P_i = 0`` for every
    input with :math:`W_{ji} \ne 0`; this fails when a neuron has ``P_i = 1`` and
    ``U_i = 0`` (for example :math:`A_i = 0` with :math:`U_i = 0`, or
    :math:`A_i + U_i = 0` in the second case), but such a neuron's output is constant on
    the ball, so :math:`\ell` remains its exact map and the algorithm stays sound.

    Parameters
    ----------
    net : Network
        Dense or convolutional (convolutions are lowered to dense maps).
    center : array_like
        :math:`x^*`, of length ``net.input_dim`` (or of shape ``net.input_shape``).
    radius : float
        :math:`r > 0`, finite.

    Returns
    -------
    ZhuLocal
        With ``P``, ``S``, ``U``, ``L`` per layer, ``C`` and ``bound = 2**C`` (a Python int).

    Raises
    ------
    InvalidInputError
        If `center` has the wrong shape or is not finite, or `radius` is not a positive
        finite number.

    Examples
    --------
    One input, neurons ``x + 1`` (on on the ball) and ``-2x + 0.5`` (changes sign at
    ``x = 0.25``), ball of radius 0.5 around 0:

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0], [-2.0]]], [[1.0, 0.5]])
    >>> res = zhu_local(net, [0.0], 0.5)
    >>> res.S[0].tolist(), res.C, res.bound
    ([0, 1], 1, 2)
    """
    c, r = _validate_local(net, center, radius)
    return _zhu(net, c, r)


def _zhu(net, c, r) -> ZhuLocal:
    """:func:`zhu_local` on a checked network, centre (flat float64) and radius."""
    n0 = net.input_dim
    A_layers = net.preactivations(c)
    P_prev = np.zeros(n0, dtype=np.int64)
    U_prev = np.zeros(n0)
    L_prev = np.eye(n0)  # rows: the exact maps of the previous layer (zero rows where P = 1)
    Ps, Ss, Us, Ls, As, Ds = [], [], [], [], [], []
    for (W, _b), A in zip(net.hidden, A_layers):
        A = np.asarray(A, dtype=np.float64)
        n = W.shape[0]
        exact = P_prev == 0
        U_in = np.abs(W[:, ~exact]) @ U_prev[~exact]  # the paper's U
        lvec = W[:, exact] @ L_prev[exact]  # the paper's L, one row per neuron
        Uj = r * np.sqrt(np.einsum("ij,ij->i", lvec, lvec)) + U_in
        P = np.ones(n, dtype=np.int64)
        S = np.ones(n, dtype=np.int64)
        U = Uj.copy()
        L_next = np.zeros((n, n0))
        neg = A < 0
        off = neg & (Uj + A < 0)  # off on the whole ball: exact map 0
        P[off], S[off], U[off] = 0, 0, 0.0
        may_wake = neg & ~off
        U[may_wake] = Uj[may_wake] + A[may_wake]
        on = ~neg & (Uj < A)  # on on the whole ball
        on_exact = on & (U_in == 0)
        P[on_exact], S[on_exact] = 0, 0
        L_next[on_exact] = lvec[on_exact]
        S[on & ~on_exact] = 0  # P stays 1
        Ps.append(_frozen(P))
        Ss.append(_frozen(S))
        Us.append(_frozen(U))
        As.append(_frozen(A))
        Ds.append(_frozen(Uj))
        Ls.append([_frozen(L_next[j]) if P[j] == 0 else None for j in range(n)])
        P_prev, U_prev, L_prev = P, U, L_next
    C = int(sum(int(S.sum()) for S in Ss))
    return ZhuLocal(
        P=tuple(Ps), S=tuple(Ss), U=tuple(Us), L=tuple(Ls), A=tuple(As), delta=tuple(Ds),
        C=C, bound=2**C, center=_frozen(c), radius=r,
    )


# ---------------------------------------------------------------------------- our bound
@dataclass(frozen=True, eq=False)
class LocalArrangementBound:
    r"""Result of :func:`local_arrangement_bound` (a bound of polyregions' own).

    Attributes
    ----------
    lower, upper : tuple of float arrays
        Per hidden layer, sound bounds :math:`l_j \le z_j(x) \le u_j` on the ball.
    unstable : tuple of int arrays
        1 where the neuron's sign may change on the ball (0: one state on the whole ball).
    k : tuple of int
        The number of unstable neurons per layer, :math:`k_l`.
    stable_on : tuple of int
        The number of neurons on on the whole ball per layer, :math:`s_l`.
    dims : tuple of int
        :math:`m_l = \min(n_0, \min_{i<l} (s_i + k_i))`.
    factors : tuple of int
        :math:`\sum_{i=0}^{m_l} \binom{k_l}{i}`.
    bound : int
        The bound, :math:`\min(\prod_l \text{factors}_l, 2^{\sum_l k_l})`.
    zhu : ZhuLocal
        Zhu, Lin & Tang's result on the same ball (``bound <= zhu.bound``).
    method : str
        The stability test used.
    """

    lower: tuple
    upper: tuple
    unstable: tuple
    k: tuple
    stable_on: tuple
    dims: tuple
    factors: tuple
    bound: int
    zhu: ZhuLocal
    method: str


class _LPTightener:
    """LP bounds on pre-activations over the triangle relaxation and an outer polytope of the ball.

    Variables ``y = (x, h^1, ..., h^{l-1})``. The ball is replaced by the box
    ``c - r <= x <= c + r`` and tangent cuts ``d . (x - c) <= r`` (``|d| = 1``), all
    supersets of the ball; cuts are added where the LP's optimum leaves the ball. Every
    reported value is a rigorous bound on the LP (hence on the ball) from weak duality
    with the solver's multipliers ([NS04]_): for ``min g . y`` subject to
    ``G y <= q``, ``E y = f``, ``lo <= y <= hi`` and any ``lam >= 0``, ``mu``,

        g . y >= sum_k min(s_k lo_k, s_k hi_k) - lam . q + mu . f,   s = g + G^T lam - E^T mu,

    so the solver's tolerances never make a bound unsound.
    """

    def __init__(self, net, ball, max_cuts):
        self.net, self.ball, self.max_cuts = net, ball, max_cuts
        self.c, self.r = ball.center, ball.radius
        self.cuts = []  # tangent planes (d, level): d . x <= level = d . c + r, |d| = 1
        self.n0 = net.input_dim

    def bounds(self, l, lowers, uppers, which):
        """LP bounds on the pre-activations ``which`` of hidden layer ``l`` (0-based; others: infinite)."""
        net, c, r, n0 = self.net, self.c, self.r, self.n0
        widths = [W.shape[0] for W, _ in net.hidden[:l]]
        offsets = np.concatenate([[n0], n0 + np.cumsum(widths)]).astype(int)  # start of h^k
        nv = int(offsets[-1])
        lo = np.empty(nv)
        hi = np.empty(nv)
        lo[:n0], hi[:n0] = c - r, c + r
        G_rows, q, E_rows, f = [], [], [], []
        for k in range(l):
            W, b = net.hidden[k]
            src = slice(0, n0) if k == 0 else slice(int(offsets[k - 1]), int(offsets[k]))
            dst = int(offsets[k])
            lk, uk = lowers[k], uppers[k]
            for i in range(W.shape[0]):
                zrow = np.zeros(nv)
                zrow[src] = W[i]
                v = dst + i
                lo[v], hi[v] = max(lk[i], 0.0), max(uk[i], 0.0)
                if uk[i] <= 0:  # off: h = 0
                    lo[v] = hi[v] = 0.0
                elif lk[i] > 0:  # on: h = z
                    row = zrow.copy()
                    row[v] -= 1.0
                    E_rows.append(row)
                    f.append(-b[i])
                else:  # triangle: h >= z, h <= u (z - l) / (u - l)
                    row = zrow.copy()
                    row[v] -= 1.0
                    G_rows.append(row)
                    q.append(-b[i])
                    s = uk[i] / (uk[i] - lk[i])
                    row = -s * zrow
                    row[v] += 1.0
                    G_rows.append(row)
                    q.append(s * (b[i] - lk[i]))
        W, b = net.hidden[l]
        src = slice(0, n0) if l == 0 else slice(int(offsets[l - 1]), int(offsets[l]))
        n = W.shape[0]
        out_lo = np.full(n, -np.inf)
        out_hi = np.full(n, np.inf)
        for j in np.flatnonzero(which):
            g = np.zeros(nv)
            g[src] = W[j]
            for sign in (1.0, -1.0):  # minimise sign * z_j
                val = self._solve(sign * g, G_rows, q, E_rows, f, lo, hi)
                if sign > 0:
                    out_lo[j] = val + b[j]
                else:
                    out_hi[j] = -val + b[j]
        return out_lo, out_hi

    def _solve(self, g, G_rows, q, E_rows, f, lo, hi):
        n0, c, r = self.n0, self.c, self.r
        best = -np.inf
        for _ in range(self.max_cuts + 1):
            G = list(G_rows)
            qq = list(q)
            for d, level in self.cuts:
                row = np.zeros(g.size)
                row[:n0] = d
                G.append(row)
                qq.append(level)
            A_ub = np.array(G) if G else None
            b_ub = np.array(qq) if G else None
            A_eq = np.array(E_rows) if E_rows else None
            b_eq = np.array(f) if E_rows else None
            _, res = solve_lp(g, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=list(zip(lo, hi)),
                              what="the LP relaxation of local_arrangement_bound")
            lam = np.maximum(-res.ineqlin.marginals, 0.0) if G else np.zeros(0)
            mu = res.eqlin.marginals if E_rows else np.zeros(0)
            s = g.copy()
            if G:
                s += A_ub.T @ lam
            if E_rows:
                s -= A_eq.T @ mu
            safe = np.minimum(s * lo, s * hi).sum() - (lam @ b_ub if G else 0.0) + (mu @ b_eq if E_rows else 0.0)
            best = max(best, safe)
            x = res.x[:n0]
            dist = np.linalg.norm(x - c)
            if dist <= r * (1 + 1e-9):
                break
            self.cuts.append(self.ball.outer_cut(x))
        return best


def local_arrangement_bound(net, center, radius, *, method: str = "symbolic",
                            max_cuts: int = 8) -> LocalArrangementBound:
    r"""A local bound of polyregions' own: arrangements of the unstable neurons in a ball.

    This bound is ours (not from the literature). It bounds the number of activation
    regions that meet the closed ball :math:`B = B_r(x^*)` by

    .. math::

        N(B) \;\le\; \min\Bigl(\prod_{l=1}^{L} \sum_{i=0}^{m_l} \binom{k_l}{i},\;
        2^{k_1 + \dots + k_L}\Bigr) \;\le\; 2^C,
        \qquad m_l = \min\bigl(n_0, \min_{i<l} (s_i + k_i)\bigr),

    where :math:`k_l` is the number of neurons of layer :math:`l` whose sign may change
    on :math:`B` (*unstable*), :math:`s_l` the number that are on on the whole ball and
    :math:`C` the count of :func:`zhu_local`.

    **Stability.** Sound bounds :math:`l_j \le z_j(x) \le u_j` on :math:`B` are computed
    layer by layer; a neuron is *off* on the ball when :math:`u_j \le 0` (the pattern
    rule calls :math:`z_j \le 0` off), *on* when :math:`l_j > 0`, unstable otherwise.

    - the first layer is exact: :math:`z_j = w_j \cdot x + b_j` ranges over
      :math:`w_j \cdot x^* + b_j \pm r \|w_j\|_2`;
    - ``method="interval"``: interval arithmetic on later layers,
      :math:`h \in [\underline h, \overline h] = [\max(l, 0), \max(u, 0)]`,
      :math:`z' \in [W^+ \underline h + W^- \overline h + b,\
      W^+ \overline h + W^- \underline h + b]`;
    - ``method="symbolic"`` (default): the interval bounds, intersected with the bounds
      of back-substitution (:func:`polyregions.milp.propagate.back_substitution`): every ReLU
      of an earlier layer is replaced by its linear relaxation (off: 0; on: ``h = z``;
      unstable: :math:`\alpha z \le h \le \frac{u}{u - l}(z - l)` with
      :math:`\alpha \in \{0, 1\}`, valid since :math:`h \ge \alpha z` for
      :math:`\alpha \in [0, 1]` and :math:`h \le u (z - l)/(u - l)` on :math:`[l, u]`),
      the upper or lower line chosen by the sign of its coefficient, down to an affine
      function :math:`a \cdot x + a_0` of the input, which is concretized exactly over the
      ball by Cauchy-Schwarz, :math:`\max_B a \cdot x + a_0 = a \cdot x^* + a_0 + r\|a\|_2`;
    - ``method="lp"``: the symbolic bounds, then for every neuron still unstable from the
      second layer on, an LP over the triangle relaxation of the earlier layers and a
      polyhedral *outer* approximation of the ball (the box :math:`|x - x^*|_\infty \le r`
      and tangent cuts :math:`d \cdot (x - x^*) \le r`, added up to `max_cuts` times where
      the optimum leaves the ball). The LP's values are made rigorous by weak duality
      with the solver's multipliers, so solver tolerances cannot make them unsound. (An LP
      over the ball's bounding box alone is also sound, as the box contains the ball, just
      looser; an LP over any polytope *inside* the ball would not be.)

    In every method each interval is intersected with Zhu, Lin & Tang's Lemma 1 interval
    :math:`A_j \pm \delta_j` (sound by their Proposition 1); hence every neuron with
    Zhu's :math:`S_j = 0` (:math:`A_j - \delta_j > 0` or :math:`A_j + \delta_j < 0`) is
    stable here too, and the set of unstable neurons is contained in Zhu's
    :math:`S = 1` set (this is also enforced explicitly).

    **Counting (proof).** A region meeting :math:`B` is determined by its pattern, and
    stable neurons have the same bit in every such pattern, so it suffices to count the
    sign vectors of the unstable neurons. Let :math:`N_l` be the number of patterns of
    layers :math:`1..l` realised on non-empty open subsets of :math:`\operatorname{int} B`
    (:math:`N_0 = 1`); :math:`N_L` is the number of regions meeting :math:`B`. Fix a
    pattern of layers :math:`1..l-1` and let :math:`R` be the set of points of
    :math:`\operatorname{int} B` where it holds. On :math:`R`,
    :math:`h^{l-1}(x) = \varphi(x)` for the affine map
    :math:`\varphi = D_{l-1}(W^{l-1}(\cdots D_1(W^1 x + b^1)\cdots) + b^{l-1})`, with
    :math:`D_i` the diagonal 0/1 matrix of the pattern (off neurons, :math:`z \le 0`,
    output 0). Its image :math:`E = \varphi(\mathbb{R}^{n_0})` is an affine space of
    dimension at most :math:`\min(n_0, \operatorname{rank} D_1, \dots,
    \operatorname{rank} D_{l-1}) \le m_l`, since :math:`\operatorname{rank} D_i \le s_i + k_i`
    (neurons off on the whole ball are off in every pattern). The unstable
    pre-activations of layer :math:`l` are :math:`g_j \circ \varphi` on :math:`R`, with
    :math:`g_j` affine on :math:`E`; the non-constant ones define at most :math:`k_l`
    hyperplanes of :math:`E`. Let a pattern of layers :math:`1..l` extending the fixed one
    hold on a non-empty open set :math:`O \subseteq R`. An affine surjection is open, so
    :math:`\varphi(O)` is relatively open in :math:`E` and contains a point off every
    hyperplane :math:`\{g_j = 0\}`; there the unstable bits are strict signs (:math:`z > 0`
    on, :math:`z < 0` off; constant :math:`g_j` have one sign on :math:`E`), so the point
    lies in an open cell of the arrangement whose sign vector gives the bits. Distinct
    patterns thus give distinct cells, and an arrangement of at most :math:`k_l`
    hyperplanes in dimension :math:`m_l` has at most :math:`\sum_{i=0}^{m_l}
    \binom{k_l}{i}` cells (Zaslavsky; general position is the maximum). Hence
    :math:`N_l \le N_{l-1} \sum_{i=0}^{m_l} \binom{k_l}{i}`, and the product follows.
    Each factor is at most :math:`2^{k_l}`, so the product is at most
    :math:`2^{\sum k_l} \le 2^C`, since the unstable neurons are among Zhu's :math:`S = 1`
    neurons. (The minimum with :math:`2^{\sum k_l}` is kept for clarity; it never binds.)

    The interval and symbolic bounds are computed in floating point; they are sound up
    to rounding (of the order of the unit roundoff times the magnitudes involved).

    Parameters
    ----------
    net : Network
        Dense or convolutional (convolutions are lowered to dense maps).
    center : array_like
        :math:`x^*`, of length ``net.input_dim`` (or of shape ``net.input_shape``).
    radius : float
        :math:`r > 0`, finite.
    method : {"symbolic", "interval", "lp"}, keyword-only
        The stability test (see above). ``"lp"`` is the tightest and the slowest.
    max_cuts : int, keyword-only
        For ``method="lp"``: tangent cuts added per LP (each re-solve only tightens).

    Returns
    -------
    LocalArrangementBound
        ``bound`` (a Python int), the per-layer intervals, unstable flags and counts, and
        Zhu's result for comparison.

    Raises
    ------
    InvalidInputError
        If `center` has the wrong shape or is not finite, `radius` is not a positive
        finite number, or `method` is unknown.
    SolverError
        If an LP of ``method="lp"`` fails.

    Examples
    --------
    Three lines in general position, :math:`x = 0`, :math:`y = 0`, :math:`x + y = 1/2`,
    all of whose vertices lie in the unit ball around the origin: Zhu's bound is
    :math:`2^3 = 8`, the arrangement count :math:`1 + 3 + 3 = 7` (exact here):

    >>> import polyregions as pr
    >>> net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -0.5]])
    >>> res = local_arrangement_bound(net, [0.0, 0.0], 1.0)
    >>> res.zhu.bound, res.bound
    (8, 7)
    """
    c, r, max_cuts = _validate_arrangement(net, center, radius, method, max_cuts)
    zhu = _zhu(net, c, r)
    n0 = net.input_dim
    ball = Ball(c, r, p=2)
    lp = _LPTightener(net, ball, max_cuts) if method == "lp" else None
    lowers, uppers, unstables, ons = [], [], [], []
    relax = []  # the ReLU relaxation of every layer so far, for back-substitution
    box_lo, box_hi = None, None  # interval bounds on h: box_lo <= h(x) <= box_hi
    for l, (W, b) in enumerate(net.hidden):
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        if l == 0:
            lo, up = ball.affine_range(W, b)  # W c + b -+ r |W_j|_2
        else:
            lo = Wp @ box_lo + Wn @ box_hi + b
            up = Wp @ box_hi + Wn @ box_lo + b
            if method != "interval":
                sym_lo, sym_up = back_substitution(net, ball, l, relax)
                lo = np.maximum(lo, sym_lo)
                up = np.minimum(up, sym_up)
        # Zhu's Lemma 1: |z_j(x) - A_j| <= delta_j on the ball
        A, delta = zhu.A[l], zhu.delta[l]
        lo = np.maximum(lo, A - delta)
        up = np.minimum(up, A + delta)
        if lp is not None and l >= 1:
            undecided = (lo <= 0) & (up > 0) & (zhu.S[l] == 1)
            if np.any(undecided):
                lp_lo, lp_hi = lp.bounds(l, lowers, uppers, undecided)
                lo = np.where(undecided, np.maximum(lo, lp_lo), lo)
                up = np.where(undecided, np.minimum(up, lp_hi), up)
        # Zhu's S = 0 neurons are stable here too (already implied by the intersection
        # above; enforced so that it cannot depend on rounding)
        zhu_fixed = zhu.S[l] == 0
        off = (up <= 0) | (zhu_fixed & (A < 0))
        on = ((lo > 0) | (zhu_fixed & (A >= 0))) & ~off
        unst = ~on & ~off
        lowers.append(_frozen(lo))
        uppers.append(_frozen(up))
        unstables.append(_frozen(unst.astype(np.int64)))
        ons.append(int(on.sum()))
        # the ReLU's relaxation, for the next layer: off neurons output 0, on ones z itself
        box_lo = np.where(off, 0.0, np.maximum(lo, 0.0))
        box_hi = np.where(off, 0.0, np.maximum(up, 0.0))
        if method != "interval":
            relax.append(relaxation(np.where(off, -1.0, np.where(on, np.maximum(lo, 0.0), lo)),
                                    np.where(off, 0.0, up)))
    ks = tuple(int(u.sum()) for u in unstables)
    ons = tuple(ons)
    dims, factors = [], []
    m = n0
    for k, s in zip(ks, ons):
        dims.append(m)
        factors.append(sum(comb(k, i) for i in range(min(m, k) + 1)))
        m = min(m, s + k)
    total = 1
    for f in factors:
        total *= f
    bound = min(total, 2 ** sum(ks))
    return LocalArrangementBound(
        lower=tuple(lowers), upper=tuple(uppers), unstable=tuple(unstables), k=ks, stable_on=ons,
        dims=tuple(dims), factors=tuple(factors), bound=int(bound), zhu=zhu, method=method,
    )
