"""Bounds on the pre-activations of a ReLU network over a domain.

For every hidden neuron ``j`` of layer ``l`` the functions here return numbers
``lower_j <= z^l_j(x) <= upper_j`` valid for every ``x`` in the domain ``D``. They decide
which neurons are *stable* on ``D`` (never change sign there, so they never split a
region and need no binary variable in a MILP) and give the big-M constants of the
MILP encoding (:mod:`polyregions.milp.milp`).

Four methods, from cheap and loose to expensive and exact:

``"interval"``
    Interval arithmetic. The first layer uses the support function of ``D``, which the
    domain answers (:meth:`~polyregions.domains.base.Domain.support`):
    ``max_{x in D} w . x = w . c + r |w|_q`` for a ball ``|x - c|_p <= r`` with ``q`` the
    dual norm (``1/p + 1/q = 1``), ``w . m + |w| . s`` for a box with centre ``m`` and
    half-widths ``s``, one LP per row for a polytope (padded outwards). Later
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
import time

import numpy as np

from .._validate import net_and_domain, positive_number
from ..domains.base import Domain
from .encoding import L2_SEED_MAX_DIM, BigMEncoding, optimize
from ..errors import InvalidInputError, SolverError, UnsupportedError
from ..model.network import Network, require_relu
from ..solvers.base import Status
from ..solvers.registry import make_mip_driver

__all__ = ["L2_CUTS_PER_BOUND", "METHODS", "NeuronBounds", "back_substitution", "compute_bounds", "neuron_bounds",
           "relaxation", "resolve_bounds", "stability", "support", "tighten_bounds"]

#: The available bound methods, from the loosest and cheapest to the exact.
METHODS = ("interval", "symbolic", "lp", "milp")
#: Relative and absolute outward padding of a bound computed by a solver.
SOLVER_PAD = 1e-7
#: Tangent cuts per neuron when tightening bounds over an L2 ball (the bound is valid at every round).
L2_CUTS_PER_BOUND = 40


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
def _validate_neuron_bounds(net, domain, method, time_limit):
    """Check the arguments of :func:`neuron_bounds`; return `method` and `time_limit`."""
    net_and_domain(net, domain)
    require_relu(net, "neuron_bounds")
    if method not in METHODS:
        raise InvalidInputError(f"`method` must be one of {list(METHODS)}, got {method!r}")
    if method in ("lp", "milp") and not domain.bounded:
        raise UnsupportedError(f"`domain` must be bounded for method={method!r} (got {domain!r})")
    return method, None if time_limit is None else positive_number(time_limit, "time_limit")


# ---------------------------------------------------------------------- support functions
def support(domain: Domain, a) -> np.ndarray:
    """The support function ``max_{x in D} a . x`` of the domain (row-wise for a matrix): the
    domain's own :meth:`~polyregions.domains.base.Domain.support`.

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
    return domain.support(a)


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


def _interval(net, domain):
    bounds = []
    W, b = net.hidden[0]
    bounds.append(domain.affine_range(W, b))
    lo, up = bounds[0]
    for W, b in net.hidden[1:]:
        hl, hu = np.maximum(lo, 0.0), np.maximum(up, 0.0)
        lo, up = _affine_interval(W, b, hl, hu)
        bounds.append((lo, up))
    return bounds


# ---------------------------------------------------------------------- symbolic (back-substitution)
def relaxation(lo, up):
    """Slopes and offsets ``(su, tu, sl, tl)`` of the linear bounds
    ``sl z + tl <= relu(z) <= su z + tu`` on ``[lo, up]`` (elementwise).

    On (``lo >= 0``): ``relu(z) = z``; off (``up <= 0``): 0; unstable (``lo < 0 < up``): the
    triangle ``alpha z <= relu(z) <= up (z - lo) / (up - lo)`` with ``alpha = 1`` when
    ``up > -lo``, else 0 (valid for any ``alpha`` in [0, 1]).
    """
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


def back_substitution(net: Network, domain: Domain, l: int, relax: list):
    """Bounds ``(lower, upper)`` of the pre-activations of hidden layer `l` (0-based, ``l >= 1``)
    by back-substitution: ``+-z^l = +-(W^l h^{l-1} + b^l)`` with each ``h^k`` replaced by
    the upper or lower line of its relaxation ``relax[k]`` (as from :func:`relaxation`),
    chosen by the sign of its coefficient, down to ``x``; the resulting affine function of
    ``x`` is maximised over `domain` exactly (:func:`support`).
    """
    layers = net.hidden
    W, b = layers[l]
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
        ups.append(const + domain.support(Lam))
    return -ups[1], ups[0]


def _symbolic(net, domain, interval):
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
            lo_s, up_s = back_substitution(net, domain, l, relax)
            pad_u = 1e-12 * (1.0 + np.abs(up_s))
            pad_l = 1e-12 * (1.0 + np.abs(lo_s))
            ilo, iup = _affine_interval(W, b, np.maximum(bounds[-1][0], 0.0), np.maximum(bounds[-1][1], 0.0))
            lo = np.maximum(lo_s - pad_l, np.maximum(ilo, interval[l][0]))
            up = np.minimum(up_s + pad_u, np.minimum(iup, interval[l][1]))
        bounds.append((lo, up))
        relax.append(relaxation(lo, up))
    return bounds


# ---------------------------------------------------------------------- LP / MILP tightening
def tighten_bounds(net: Network, domain: Domain, start, *, integer: bool, time_limit: float | None = None) -> list:
    """Tighten the bounds `start` neuron by neuron: ``min`` and ``max`` of each ``z_j`` over the
    big-M encoding of the earlier layers (:mod:`polyregions.milp.encoding`), layer by layer.

    With ``integer=False`` the binaries are relaxed to ``[0, 1]`` (one LP per bound, the
    ``"lp"`` method); with ``integer=True`` they stay integral (one MILP per bound, the
    ``"milp"`` method: the exact range up to the solver's tolerances). Every bound comes
    from the solver's dual bound, padded outwards by ``SOLVER_PAD (1 + |v|)``, and is
    intersected with `start`, so the result is sound and never looser than `start`. A
    solve stopped by `time_limit` (seconds per solve) without a bound keeps the start
    bound. An L2 ball enters through tangent planes (at most ``L2_CUTS_PER_BOUND`` per
    bound, each round's optimum still a valid bound).

    Parameters
    ----------
    net : Network
    domain : Box, Ball or Polytope
        Bounded.
    start : list of (lower, upper)
        Sound bounds per hidden layer (for instance the symbolic ones).
    integer : bool
    time_limit : float, optional

    Returns
    -------
    list of (lower, upper)
    """
    enc = BigMEncoding(net, domain, integer=integer)
    if enc.outer and domain.dim <= L2_SEED_MAX_DIM:
        enc.add_l2_outer()
    driver = make_mip_driver(enc.m, "highs", mip=integer)
    out = []
    for l, (W, b) in enumerate(net.hidden):
        z = enc.add_affine(W, b)
        lo0, up0 = (np.asarray(v, float) for v in start[l])
        lo, up = lo0.copy(), up0.copy()
        for j in range(z.size):
            enc.m.set_bounds(z[j], lo0[j], up0[j])
        for j in range(z.size):
            if lo[j] == up[j]:
                continue
            for sign in (1.0, -1.0):  # sign +1: min z_j; -1: max z_j
                deadline = None if time_limit is None else time.perf_counter() + time_limit
                sol, _ = optimize(driver, enc, {int(z[j]): sign}, deadline=deadline,
                                   max_cuts=L2_CUTS_PER_BOUND)
                bound = sol.bound
                if sol.status is Status.INFEASIBLE:  # pragma: no cover - the domain is non-empty
                    raise SolverError("the big-M encoding is infeasible on a non-empty domain")
                if not math.isfinite(bound):
                    continue  # a limit without a bound: keep the start bound (still sound)
                v = sign * bound
                pad = SOLVER_PAD * (1.0 + abs(v))
                if sign > 0:
                    lo[j] = max(lo[j], v - pad)
                else:
                    up[j] = min(up[j], v + pad)
            if lo[j] > up[j]:  # only from solver tolerances on an (almost) constant neuron: keep the hull
                lo[j], up[j] = up[j], lo[j]
        enc.add_relu(lo, up)
        out.append((lo, up))
    return out


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
    >>> from polyregions.milp.propagate import neuron_bounds
    >>> net = pr.Network.from_dense([[[1.0, 1.0]]], [[0.0]])
    >>> (lo, up), = neuron_bounds(net, pr.Ball([0, 0], 1.0, p=2))
    >>> bool(np.isclose(up[0], np.sqrt(2)) and np.isclose(lo[0], -np.sqrt(2)))
    True
    """
    method, time_limit = _validate_neuron_bounds(net, domain, method, time_limit)
    return compute_bounds(net, domain, method, time_limit)


def compute_bounds(net: Network, domain: Domain, method: str, time_limit: float | None = None) -> NeuronBounds:
    """:func:`neuron_bounds` on arguments already checked (a plain ReLU network, a domain of its
    input dimension, bounded for "lp" and "milp")."""
    result = _interval(net, domain)
    if method != "interval":
        result = _symbolic(net, domain, result)
    if method in ("lp", "milp"):
        result = tighten_bounds(net, domain, result, integer=False)
        if method == "milp":
            result = tighten_bounds(net, domain, result, integer=True, time_limit=time_limit)
    out = NeuronBounds((np.asarray(lo, float).copy(), np.asarray(up, float).copy()) for lo, up in result)
    out.method = method
    return out


def resolve_bounds(net: Network, domain: Domain, bounds, time_limit: float | None = None) -> NeuronBounds:
    """`bounds` as :class:`NeuronBounds` for a checked network and domain (the MILP's): a method
    name is computed by :func:`compute_bounds`;
    a list of ``(lower, upper)`` pairs (one per hidden layer, finite, ``lower <= upper``) is
    checked and taken as given (it must be valid on `domain`)."""
    if isinstance(bounds, str):
        if bounds not in METHODS:
            raise InvalidInputError(
                f"`bounds` must be one of {list(METHODS)} or a list of (lower, upper), got {bounds!r}"
            )
        return compute_bounds(net, domain, bounds, time_limit)
    try:
        pairs = [(np.asarray(lo, float), np.asarray(up, float)) for lo, up in bounds]
    except (TypeError, ValueError):
        raise InvalidInputError("`bounds` must be a method name or a list of (lower, upper) pairs") from None
    shapes_ok = all(lo.shape == (n,) and up.shape == (n,) for (lo, up), n in zip(pairs, net.widths))
    if len(pairs) != len(net.widths) or not shapes_ok:
        raise InvalidInputError(f"`bounds` must hold one (lower, upper) pair per hidden layer, of lengths {net.widths}")
    if any(np.any(~np.isfinite(lo)) or np.any(~np.isfinite(up)) or np.any(lo > up) for lo, up in pairs):
        raise InvalidInputError("`bounds` must be finite with lower <= upper")
    out = NeuronBounds(pairs)
    out.method = "given"
    return out
