"""Bounds on the pre-activations of a ReLU network over a domain.

For every hidden neuron ``j`` of layer ``l`` the functions here return numbers
``lower_j <= z^l_j(x) <= upper_j`` valid for every ``x`` in the domain ``D``. They decide
which neurons are *stable* on ``D`` (never change sign there, so they never split a
region and need no binary variable in a MILP) and give the big-M constants of the
MILP encoding (:mod:`polyregions.milp`).

Four methods, from cheap and loose to expensive and exact:

``"interval"``
    Interval arithmetic. The first layer uses the exact support function of ``D``:
    ``max_{x in D} w . x = w . c + r |w|_q`` for a ball ``|x - c|_p <= r`` with ``q`` the
    dual norm (``1/p + 1/q = 1``), ``w . m + |w| . s`` for a box with centre ``m`` and
    half-widths ``s``, and the bounding box of a polytope (one LP per coordinate). Later
    layers: with ``h = max(z, 0)`` elementwise,
    ``upper(z^l) = W^+ upper(h) + W^- lower(h) + b`` and symmetrically for ``lower``.
``"symbolic"``
    Linear relaxation with back-substitution (DeepPoly / CROWN style). An unstable neuron
    (``l < 0 < u``) is enclosed by the triangle relaxation
    ``alpha z <= h <= u (z - l) / (u - l)`` with ``alpha = 1`` when ``u > -l`` else ``0``;
    a stable one is exact (``h = z`` or ``h = 0``). The bound of ``z^l_j`` is obtained by
    substituting the relaxations backwards down to ``x`` (choosing the upper or lower
    relaxation by the sign of each coefficient) and maximising the resulting affine
    function of ``x`` over ``D`` exactly (support function, or one LP for a polytope).
    Every layer's result is intersected with the interval bound, so it is never looser.
``"lp"``
    Per neuron, ``min`` and ``max`` of ``z_j`` by LP over ``D`` and the LP relaxation of
    the big-M encoding of the earlier layers (built with their already tightened bounds),
    layer by layer. Intersected with the symbolic bounds (never looser than them, hence
    never looser than interval). An L2 ball enters through tangent-plane cuts (an outer
    approximation, so the bounds stay valid).
``"milp"``
    The same with the binaries kept integral, starting from the LP bounds: the exact
    range of every neuron (up to the MIP's tolerances, padded outwards). For small
    networks.

All four are sound: the returned interval contains ``z_j(x)`` for every ``x`` in ``D``.
Bounds obtained from a solver are widened by a small tolerance (``SOLVER_PAD``) so that
solver tolerances cannot make them unsound.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import net_and_domain
from .domains import Ball, Box, Domain, Polytope, Whole
from .errors import InvalidInputError, SolverError, UnsupportedError
from .network import Network

__all__ = ["METHODS", "NeuronBounds", "neuron_bounds", "stability", "support"]

#: The available bound methods, from the loosest and cheapest to the exact.
METHODS = ("interval", "symbolic", "lp", "milp")
#: Relative and absolute outward padding of a bound computed by a solver.
SOLVER_PAD = 1e-7


class NeuronBounds(list):
    """Per-layer pre-activation bounds: a list of ``(lower, upper)`` arrays.

    It is a plain list of pairs (one pair of float arrays of length ``n_l`` per hidden
    layer), with a few derived attributes.

    Attributes
    ----------
    method : str
        The method that produced the bounds.
    stable_on, stable_off : ndarray of bool
        Flat masks in pattern order (layer by layer): neurons with ``lower > 0`` are on
        on the whole domain; neurons with ``upper <= 0`` are off on the whole domain. A
        neuron with ``lower == 0`` is not stable: it may be identically zero (off) on part
        of the domain and positive (on) elsewhere.
    """

    method: str = ""

    @property
    def stable_on(self) -> np.ndarray:
        return np.concatenate([lo > 0 for lo, _ in self])

    @property
    def stable_off(self) -> np.ndarray:
        return np.concatenate([up <= 0 for _, up in self])

    @property
    def stable(self) -> np.ndarray:
        """Flat mask of the neurons whose state is constant on the domain."""
        return self.stable_on | self.stable_off

    @property
    def num_unstable(self) -> int:
        return int(np.count_nonzero(~self.stable))


def stability(bounds) -> list:
    """Per-layer int8 arrays: ``+1`` stably on, ``-1`` stably off, ``0`` unstable.

    Parameters
    ----------
    bounds : list of (lower, upper)
        As returned by :func:`neuron_bounds`.
    """
    out = []
    for lo, up in bounds:
        s = np.zeros(len(lo), dtype=np.int8)
        s[lo > 0] = 1
        s[up <= 0] = -1
        out.append(s)
    return out


# ---------------------------------------------------------------------- validation
def _validate_method(method):
    if method not in METHODS:
        raise InvalidInputError(f"`method` must be one of {list(METHODS)}, got {method!r}")
    return method


# ---------------------------------------------------------------------- support functions
class _PolytopeSupport:
    """``max a . x`` over ``A x <= b`` by a persistent HiGHS LP (changing only the cost)."""

    def __init__(self, A, b):
        import highspy

        self._hs = highspy
        n = A.shape[1]
        self.n = n
        h = self._h = highspy.Highs()
        for k, v in {"output_flag": False, "threads": 1, "presolve": "off",
                     "primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}.items():
            h.setOptionValue(k, v)
        inf = highspy.kHighsInf
        h.addVars(n, np.full(n, -inf), np.full(n, inf))
        for i in range(A.shape[0]):
            idx = np.flatnonzero(A[i]).astype(np.int32)
            h.addRow(-inf, float(b[i]), idx.size, idx, A[i, idx])
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.solves = 0

    def __call__(self, a) -> float:
        a = np.asarray(a, float)
        if not np.any(a):
            return 0.0
        h, M = self._h, self._hs.HighsModelStatus
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), a)
        self.solves += 1
        h.run()
        st = h.getModelStatus()
        if st == M.kOptimal:
            x = np.array(h.getSolution().col_value)
            v = float(a @ x)
            return v + SOLVER_PAD * (1.0 + abs(v))
        if st == M.kUnbounded:
            return math.inf
        # an infeasible polytope cannot occur (Polytope checks its interior); anything else is an error
        raise SolverError(f"HiGHS returned {st} while maximising over the polytope")


def _support_rows(domain, G, cache=None):
    """``max_{x in D} G_i . x`` for every row ``G_i`` (``+inf`` when unbounded)."""
    G = np.atleast_2d(np.asarray(G, float))
    zero = ~np.any(G != 0, axis=1)
    if isinstance(domain, Box):
        mid, half = (domain.lo + domain.hi) / 2, (domain.hi - domain.lo) / 2
        out = G @ mid + np.abs(G) @ half
    elif isinstance(domain, Ball):
        c, r = domain.center, domain.radius
        q = {1: np.inf, 2: 2, math.inf: 1}[domain.p]
        out = G @ c + r * np.linalg.norm(G, ord=q, axis=1)
    elif isinstance(domain, Whole):
        out = np.full(G.shape[0], math.inf)
    elif isinstance(domain, Polytope):
        sup = cache.get("poly") if cache is not None else None
        if sup is None:
            sup = _PolytopeSupport(domain.A, domain.b)
            if cache is not None:
                cache["poly"] = sup
        out = np.array([sup(g) for g in G])
    else:  # pragma: no cover - every Domain subclass is listed above
        raise UnsupportedError(f"`domain` of type {type(domain).__name__} has no support function")
    out = np.where(zero, 0.0, out)
    return out


def support(domain: Domain, a) -> np.ndarray:
    """The support function ``max_{x in D} a . x`` of the domain (row-wise for a matrix).

    Parameters
    ----------
    domain : Box, Ball, Polytope or Whole
    a : array of shape (n,) or (m, n)

    Returns
    -------
    float or ndarray
        ``+inf`` where the maximum is unbounded. For ``Ball(c, r, p)``:
        ``a . c + r |a|_q`` with ``1/p + 1/q = 1``.
    """
    a = np.asarray(a, float)
    out = _support_rows(domain, a)
    return float(out[0]) if a.ndim == 1 else out


def domain_box(domain: Domain, cache=None):
    """The bounding box ``(lo, hi)`` of the domain (infinite entries where unbounded)."""
    n = domain.dim
    eye = np.eye(n)
    hi = _support_rows(domain, eye, cache)
    lo = -_support_rows(domain, -eye, cache)
    return lo, hi


# ---------------------------------------------------------------------- interval arithmetic
def _affine_interval(W, b, lo, hi):
    """Bounds of ``W h + b`` for ``lo <= h <= hi`` (infinite entries allowed, ``0 * inf = 0``)."""
    Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
    with np.errstate(invalid="ignore"):
        if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            return Wn @ hi + Wp @ lo + b, Wp @ hi + Wn @ lo + b

        def mm(M, v):
            P = M * v[None, :]
            P[M == 0] = 0.0
            return P.sum(axis=1)

        return mm(Wn, hi) + mm(Wp, lo) + b, mm(Wp, hi) + mm(Wn, lo) + b


def _interval(net, domain, cache):
    bounds = []
    W, b = net.hidden[0]
    up = b + _support_rows(domain, W, cache)
    lo = b - _support_rows(domain, -W, cache)
    bounds.append((lo, up))
    for W, b in net.hidden[1:]:
        hl, hu = np.maximum(lo, 0.0), np.maximum(up, 0.0)
        lo, up = _affine_interval(W, b, hl, hu)
        bounds.append((lo, up))
    return bounds


# ---------------------------------------------------------------------- symbolic (back-substitution)
def _relaxation(lo, up):
    """Slopes and offsets of the linear bounds ``sl z + tl <= relu(z) <= su z + tu`` on [lo, up]."""
    n = lo.size
    su, tu, sl, tl = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    on = lo >= 0
    su[on] = sl[on] = 1.0
    unst = (lo < 0) & (up > 0)
    l, u = lo[unst], up[unst]
    su[unst] = u / (u - l)
    tu[unst] = -u * l / (u - l)
    sl[unst] = (u > -l).astype(float)
    return su, tu, sl, tl


def _symbolic(net, domain, cache, interval):
    if not np.all(np.isfinite(np.concatenate([np.concatenate(p) for p in interval[:1]]))):
        # an unbounded domain: the relaxation needs finite bounds; the interval result stands
        return [tuple(p) for p in interval]
    layers = net.hidden
    bounds = []
    relax = []
    for l, (W, b) in enumerate(layers):
        if l == 0:
            lo, up = interval[0]
        else:
            # upper bound of +-W h^{l-1} + b by back-substitution
            ups = []
            for sign in (1.0, -1.0):
                Lam = sign * W
                const = sign * b
                for k in range(l - 1, -1, -1):
                    su, tu, sl, tl = relax[k]
                    Lp, Ln = np.maximum(Lam, 0.0), np.minimum(Lam, 0.0)
                    const = const + Lp @ tu + Ln @ tl
                    Lam = Lp * su[None, :] + Ln * sl[None, :]
                    Wk, bk = layers[k]
                    const = const + Lam @ bk
                    Lam = Lam @ Wk
                ups.append(const + _support_rows(domain, Lam, cache))
            up_s, lo_s = ups[0], -ups[1]
            pad_u = 1e-12 * (1.0 + np.abs(up_s))
            pad_l = 1e-12 * (1.0 + np.abs(lo_s))
            ilo, iup = _affine_interval(W, b, np.maximum(bounds[-1][0], 0.0), np.maximum(bounds[-1][1], 0.0))
            lo = np.maximum(lo_s - pad_l, np.maximum(ilo, interval[l][0]))
            up = np.minimum(up_s + pad_u, np.minimum(iup, interval[l][1]))
        bounds.append((lo, up))
        relax.append(_relaxation(lo, up))
    return bounds


# ---------------------------------------------------------------------- public entry point
def neuron_bounds(net: Network, domain: Domain, method: str = "interval", *,
                  time_limit: float | None = None) -> NeuronBounds:
    """Bounds on every hidden pre-activation of `net` over `domain`.

    Parameters
    ----------
    net : Network
    domain : Box, Ball, Polytope or Whole
        Of dimension ``net.input_dim``. ``"lp"`` and ``"milp"`` need a bounded domain.
    method : {"interval", "symbolic", "lp", "milp"}
        See the module documentation. Each method is at least as tight as the previous
        one (``"lp"`` and ``"milp"`` are intersected with the symbolic bounds).
    time_limit : float, optional
        For ``"milp"``: seconds allowed per MILP; a neuron whose MILP hits the limit keeps
        its LP bound (still sound).

    Returns
    -------
    NeuronBounds
        A list with one pair ``(lower, upper)`` of float arrays per hidden layer, such that
        ``lower_j <= z_j(x) <= upper_j`` for every ``x`` in `domain`; attributes
        ``stable_on``, ``stable_off``, ``stable`` (flat masks in pattern order).

    Examples
    --------
    One neuron ``z = x_1 + x_2`` over the Euclidean unit ball: ``|z| <= sqrt(2)``.

    >>> import numpy as np, polyregions as pr
    >>> from polyregions.propagate import neuron_bounds
    >>> net = pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]])
    >>> (lo, up), = neuron_bounds(net, pr.Ball([0, 0], 1.0, p=2))
    >>> bool(np.isclose(up[0], np.sqrt(2)) and np.isclose(lo[0], -np.sqrt(2)))
    True
    """
    net_and_domain(net, domain)
    method = _validate_method(method)
    if time_limit is not None:
        from ._validate import positive_number

        time_limit = positive_number(time_limit, "time_limit")
    cache = {}
    result = _interval(net, domain, cache)
    if method != "interval":
        result = _symbolic(net, domain, cache, result)
    if method in ("lp", "milp"):
        if not domain.bounded:
            raise UnsupportedError(f"`domain` must be bounded for method={method!r} (got {domain!r})")
        from .milp import _tighten_bounds

        result = _tighten_bounds(net, domain, result, integer=False)
        if method == "milp":
            result = _tighten_bounds(net, domain, result, integer=True, time_limit=time_limit)
    out = NeuronBounds((np.asarray(lo, float).copy(), np.asarray(up, float).copy()) for lo, up in result)
    out.method = method
    return out
