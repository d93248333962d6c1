r"""How tight are the closed-form bounds? Exact counts of seeded networks against every bound.

The functions here are plain, so that the command line (``polyregions bounds`` and
``polyregions tightness``) and the studies' notebooks share them:

- :func:`parse_arch` / :class:`Arch`: the architecture syntax below;
- :func:`parse_domain`: the domain syntax below;
- :func:`seeded_network` (and :func:`seeded_center`): reproducible random networks;
- :func:`network_bounds`: every closed-form bound that applies to a network (and a
  domain), or the reason it does not apply;
- :func:`normal_rank_deficit`: why a one-layer CNN can have fewer regions than
  Theorem 1 of Xiong et al. (2020) states;
- :func:`run_tightness`: exact counts over seeds against the bounds, one row per
  architecture; :func:`write_table`, :func:`format_table`, :func:`format_markdown`.

Architecture syntax (ARCH)
--------------------------
``fc:N0:W1,W2,...``
    A fully connected ReLU network with input dimension ``N0`` and hidden widths
    ``W1, W2, ...``; for example ``fc:2:4,4``.
``conv:D0xHxW:D1,F1xF2,S[;D2,F1xF2,S...]``
    Convolutional ReLU layers without padding on an input of shape ``(D0, H, W)``
    (channels first): layer ``l`` has ``D_l`` filters of shape ``(D_{l-1}, F1, F2)`` and
    stride ``S``; layers are separated by ``;`` (quote the argument in a shell). For
    example ``conv:1x3x3:2,2x2,1`` (two 2x2 filters on a 3x3 image) and
    ``conv:1x1x6:3,1x3,2`` (a 1-D input of length 6). A layer's output grid is
    ``floor((n - F)/S) + 1`` along each axis and must not be empty.

Domain syntax (DOMAIN)
----------------------
``whole``
    The whole input space.
``box:R``
    The box :math:`[-R, R]^n`.
``ball:R``
    The L2 ball of radius ``R`` around the origin.
``ball:R:random``
    The L2 ball of radius ``R`` around a centre drawn per seed from :math:`N(0, I_n)`
    (see :func:`seeded_center`).

Seeded networks
---------------
For the integer list ``arch.ints`` of an architecture (``fc:2:4,4`` gives
``(2, 4, 4)``; ``conv:1x3x3:2,2x2,1`` gives ``(1, 3, 3, 2, 2, 2, 1)``), seed ``k`` draws
from ``numpy.random.default_rng([k, *arch.ints])``, layer by layer, weights
:math:`N(0, 2/\text{fan\_in})` (He initialisation; the fan-in of a convolution is
:math:`D_{l-1} F_1 F_2`), then biases :math:`N(0, 1)`. Biases of unit variance keep
the hyperplanes of a one-layer network generic and spread out (with zero biases every
hyperplane would pass through the origin), which is what the one-layer studies of
generic parameters need.

Example
-------
>>> from polyregions.tightness import parse_arch, run_tightness
>>> rows = run_tightness(["fc:2:3"], seeds=2, domain="whole", bounds=["zaslavsky"])
>>> [(r["exact_min"], r["exact_max"], r["zaslavsky"]) for r in rows]
[(7, 7, 7)]
"""

from __future__ import annotations

import csv
import json
import logging
import math
import operator
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

import numpy as np

from . import bounds as _bounds
from .bounds.generic import _eliminate, _pivot, _primitive
from .conv import conv2d_matrix
from .domains import Ball, Box, Whole
from .enumerate import DEFAULT_EPS, count_regions
from .errors import InvalidInputError, SolverError, UnsupportedError
from .network import Conv2d, Dense, Network

__all__ = [
    "Arch",
    "DomainSpec",
    "NormalRankDeficit",
    "BOUND_NAMES",
    "parse_arch",
    "parse_domain",
    "seeded_network",
    "seeded_center",
    "architecture_of",
    "network_bounds",
    "normal_rank_deficit",
    "run_tightness",
    "write_table",
    "format_table",
    "format_markdown",
    "update_markdown",
]

#: Every bound :func:`network_bounds` knows, in the order it reports them.
BOUND_NAMES = (
    "zaslavsky",
    "montufar2017_upper",
    "serra2018_upper",
    "montufar2014_lower",
    "xiong_one_layer",
    "xiong_deep_lower",
    "xiong_deep_upper",
    "whitney_count",
    "zhu_local",
    "local_arrangement_bound",
)

#: The meaning of each bound's value, as printed next to it.
BOUND_KINDS = {
    "zaslavsky": "upper (one layer; exact for generic parameters in the whole space)",
    "montufar2017_upper": "upper",
    "serra2018_upper": "upper",
    "montufar2014_lower": "a lower bound on the maximum over parameters, not on this network",
    "xiong_one_layer": "upper (Theorem 1's R_N; the maximum only without rank deficits)",
    "xiong_deep_lower": "a lower bound on the maximum over parameters, not on this network",
    "xiong_deep_upper": "upper",
    "whitney_count": "exact in the whole space (one layer, any parameters); upper in any domain",
    "zhu_local": "upper on the regions meeting the ball (2**C)",
    "local_arrangement_bound": "upper on the regions meeting the ball (polyregions' own)",
}

log = logging.getLogger(__name__)

_SYNTAX = "fc:N0:W1,W2,... or conv:D0xHxW:D1,F1xF2,S[;D2,F1xF2,S...]"


# =========================================================================== architectures
@dataclass(frozen=True)
class Arch:
    """An architecture of seeded networks (see the module docstring for the syntax).

    Attributes
    ----------
    kind : {"fc", "conv"}
    input_shape : tuple of int
        ``(n0,)`` for ``fc``; ``(d0, h, w)`` for ``conv``.
    layers : tuple
        ``fc``: the hidden widths; ``conv``: ``((d, (f1, f2), s), ...)``.
    """

    kind: str
    input_shape: tuple
    layers: tuple

    def __str__(self):
        if self.kind == "fc":
            return f"fc:{self.input_shape[0]}:" + ",".join(str(w) for w in self.layers)
        d0, h, w = self.input_shape
        return f"conv:{d0}x{h}x{w}:" + ";".join(f"{d},{f1}x{f2},{s}" for d, (f1, f2), s in self.layers)

    @property
    def ints(self) -> tuple:
        """The architecture's integers in the order they are written (the seed's suffix)."""
        if self.kind == "fc":
            return (self.input_shape[0], *self.layers)
        out = list(self.input_shape)
        for d, (f1, f2), s in self.layers:
            out += [d, f1, f2, s]
        return tuple(out)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    @property
    def depth(self) -> int:
        return len(self.layers)

    def grids(self) -> list:
        """``conv``: the spatial sizes ``[(h, w), (n_1^(1), n_1^(2)), ...]`` of every layer."""
        if self.kind != "conv":
            raise UnsupportedError("`arch` is fully connected: it has no grids")
        sizes = [self.input_shape[1:]]
        for _, (f1, f2), s in self.layers:
            a, b = sizes[-1]
            sizes.append(((a - f1) // s + 1, (b - f2) // s + 1))
        return sizes


def _arch_error(text, why):
    return InvalidInputError(f"`arch` {text!r} {why}; the syntax is {_SYNTAX}")


def _positive(token, text, what):
    if not re.fullmatch(r"[0-9]+", token):
        raise _arch_error(text, f"has {what} {token!r}, not a positive integer")
    v = int(token)
    if v < 1:
        raise _arch_error(text, f"has {what} {token!r}, not a positive integer")
    return v


def parse_arch(text) -> Arch:
    """Parse an architecture string (``fc:N0:W1,W2,...`` or ``conv:D0xHxW:D1,F1xF2,S[;...]``).

    Spaces are ignored. ``str(parse_arch(s)) == s`` for a string written without spaces.

    Raises
    ------
    InvalidInputError
        Naming `arch`, the offending part and the syntax.

    Examples
    --------
    >>> parse_arch("fc:2:4,4")
    Arch(kind='fc', input_shape=(2,), layers=(4, 4))
    >>> a = parse_arch("conv:1x3x3:2,2x2,1")
    >>> a.input_shape, a.layers, str(a)
    ((1, 3, 3), ((2, (2, 2), 1),), 'conv:1x3x3:2,2x2,1')
    """
    if isinstance(text, Arch):
        return text
    if not isinstance(text, str):
        raise InvalidInputError(f"`arch` must be a string ({_SYNTAX}), got {text!r}")
    s = re.sub(r"\s+", "", text)
    parts = s.split(":")
    if len(parts) != 3 or parts[0] not in ("fc", "conv"):
        raise _arch_error(text, "must have three ':'-separated parts starting with 'fc' or 'conv'")
    kind, head, body = parts
    if not body:
        raise _arch_error(text, "has no layers")
    if kind == "fc":
        n0 = _positive(head, text, "input dimension")
        widths = tuple(_positive(t, text, "width") for t in body.split(","))
        return Arch("fc", (n0,), widths)
    dims = head.split("x")
    if len(dims) != 3:
        raise _arch_error(text, f"has input shape {head!r}; write it D0xHxW, e.g. 1x3x3")
    shape = tuple(_positive(t, text, "input size") for t in dims)
    layers = []
    grid = shape[1:]
    for k, item in enumerate(body.split(";"), start=1):
        fields = item.split(",")
        if len(fields) != 3:
            raise _arch_error(text, f"has layer {k} {item!r}; write it D,F1xF2,S, e.g. 2,2x2,1")
        d = _positive(fields[0], text, f"layer {k} filters")
        fs = fields[1].split("x")
        if len(fs) != 2:
            raise _arch_error(text, f"has layer {k} kernel {fields[1]!r}; write it F1xF2, e.g. 2x2")
        f1, f2 = (_positive(t, text, f"layer {k} kernel size") for t in fs)
        st = _positive(fields[2], text, f"layer {k} stride")
        if f1 > grid[0] or f2 > grid[1]:
            raise _arch_error(text, f"has layer {k} with a {f1}x{f2} kernel on a {grid[0]}x{grid[1]} grid, "
                                    "so its output is empty")
        grid = ((grid[0] - f1) // st + 1, (grid[1] - f2) // st + 1)
        layers.append((d, (f1, f2), st))
    return Arch("conv", shape, tuple(layers))


def _seed_list(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise InvalidInputError(f"`seeds` must be a positive integer or a list of seeds, got {seeds!r}")
        return list(range(int(seeds)))
    try:
        out = [operator.index(s) for s in seeds]
    except TypeError:
        raise InvalidInputError(f"`seeds` must be a positive integer or a list of seeds, got {seeds!r}") from None
    if not out or any(s < 0 for s in out):
        raise InvalidInputError(f"`seeds` must be a non-empty list of non-negative integers, got {seeds!r}")
    return out


def _draw(arch, seed):
    """The seeded network of `arch` and the generator after its parameters."""
    arch = parse_arch(arch)
    seed = operator.index(seed)
    if seed < 0:
        raise InvalidInputError(f"`seed` must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng([seed, *arch.ints])
    if arch.kind == "fc":
        weights, biases, n_in = [], [], arch.input_shape[0]
        for n in arch.layers:
            weights.append(rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n, n_in)))
            biases.append(rng.normal(0.0, 1.0, size=n))
            n_in = n
        return Network.from_dense(weights, biases), rng
    layers, d_in = [], arch.input_shape[0]
    for d, (f1, f2), s in arch.layers:
        weight = rng.normal(0.0, math.sqrt(2.0 / (d_in * f1 * f2)), size=(d, d_in, f1, f2))
        bias = rng.normal(0.0, 1.0, size=d)
        layers.append(Conv2d(weight, bias, stride=s))
        d_in = d
    return Network(layers, input_shape=arch.input_shape), rng


def seeded_network(arch, seed) -> Network:
    r"""The network of `arch` drawn with seed `seed`: weights :math:`N(0, 2/\text{fan\_in})`, biases :math:`N(0, 1)`.

    The generator is ``numpy.random.default_rng([seed, *arch.ints])``; per layer the
    weights are drawn first (shape ``(out, in)``, or ``(d_out, d_in, f1, f2)``), then the
    biases.

    >>> seeded_network("fc:2:4,4", 0).widths
    (4, 4)
    >>> seeded_network("conv:1x3x3:2,2x2,1", 0).widths
    (8,)
    """
    return _draw(arch, seed)[0]


def seeded_center(arch, seed) -> np.ndarray:
    """The centre of ``ball:R:random`` for seed `seed`: :math:`N(0, I_n)`, drawn after the network's parameters."""
    net, rng = _draw(arch, seed)
    return rng.standard_normal(net.input_dim)


# =========================================================================== domains
@dataclass(frozen=True)
class DomainSpec:
    """A parsed DOMAIN: ``kind`` in {"whole", "box", "ball"}, ``radius``, ``random_center``."""

    kind: str
    radius: float | None = None
    random_center: bool = False

    def __str__(self):
        if self.kind == "whole":
            return "whole"
        r = f"{self.radius:g}"
        return f"{self.kind}:{r}" + (":random" if self.random_center else "")

    def build(self, n, center=None):
        """The domain in dimension `n` (the ball's centre: `center`, default the origin)."""
        if self.kind == "whole":
            return Whole(n)
        if self.kind == "box":
            return Box(np.full(n, -self.radius), np.full(n, self.radius))
        return Ball(np.zeros(n) if center is None else center, self.radius, p=2)


def parse_domain(text) -> DomainSpec:
    """Parse ``whole``, ``box:R``, ``ball:R`` or ``ball:R:random``.

    >>> parse_domain("box:1.5")
    DomainSpec(kind='box', radius=1.5, random_center=False)
    """
    if isinstance(text, DomainSpec):
        return text
    if not isinstance(text, str):
        raise InvalidInputError(f"`domain` must be a string (whole, box:R, ball:R or ball:R:random), got {text!r}")
    s = text.strip().lower()
    if s == "whole":
        return DomainSpec("whole")
    parts = s.split(":")
    ok = len(parts) in (2, 3) and parts[0] in ("box", "ball")
    if ok and len(parts) == 3:
        ok = parts[0] == "ball" and parts[2] == "random"
    r = None
    if ok:
        try:
            r = float(parts[1])
        except ValueError:
            r = None
    if not ok or r is None or not math.isfinite(r) or r <= 0:
        raise InvalidInputError(
            f"`domain` must be whole, box:R, ball:R or ball:R:random with R a positive number, got {text!r}"
        )
    return DomainSpec(parts[0], r, len(parts) == 3)


# =========================================================================== bounds of a network
def architecture_of(net: Network) -> dict:
    """What the closed forms need to know about `net`, read from ``net.layers``.

    Returns a dict with ``kind`` ("dense", "conv" or "mixed"), ``n0``, ``widths`` (the
    lowered hidden widths), ``depth``, and for plain convolutional stacks ``input_shape``
    and ``layers`` as ``[(d, (f1, f2), s), ...]`` and ``padding`` (per layer);
    ``conv_reason`` says why the convolutional theorems do not apply, or is ``None``.
    """
    layers = list(net.layers)
    info = {"n0": net.input_dim, "widths": tuple(net.widths), "depth": len(net.hidden),
            "input_shape": tuple(net.input_shape), "layers": None, "conv_reason": None}
    if all(isinstance(layer, Dense) for layer in layers):
        info["kind"] = "dense"
        info["conv_reason"] = "not a convolutional network"
        return info
    if all(isinstance(layer, Conv2d) for layer in layers) and len(net.input_shape) == 3:
        info["kind"] = "conv"
        info["layers"] = [(int(layer.weight.shape[0]), (int(layer.weight.shape[2]), int(layer.weight.shape[3])),
                           int(layer.stride)) for layer in layers]
        info["padding"] = [int(layer.padding) for layer in layers]
        padded = [k for k, layer in enumerate(layers, start=1) if layer.padding]
        if padded:
            k = padded[0]
            info["conv_reason"] = (f"layer {k} has padding {layers[k - 1].padding}: Xiong et al.'s theorems "
                                   "assume no padding")
        return info
    info["kind"] = "mixed"
    other = next(type(layer).__name__ for layer in layers if not isinstance(layer, Conv2d))
    info["conv_reason"] = (f"the network has a {other} layer: Xiong et al.'s theorems cover plain "
                           "stacks of convolutions")
    return info


def _entry(name, value=None, reason=None, note=None):
    return {"name": name, "value": value, "kind": BOUND_KINDS[name], "reason": reason, "note": note}


def _call(name, fn, *args, **kw):
    try:
        return _entry(name, int(fn(*args, **kw)))
    except (UnsupportedError, InvalidInputError) as exc:
        return _entry(name, reason=str(exc))


def network_bounds(net: Network, domain=None, *, names=None, local_method: str = "symbolic",
                   whitney_limit: int = 300_000) -> list:
    """Every bound of ``BOUND_NAMES`` for `net` (in `domain`), or why it does not apply.

    The architecture is read from ``net.layers`` (:func:`architecture_of`).

    - Fully connected: ``zaslavsky`` (one hidden layer), ``montufar2017_upper``,
      ``serra2018_upper``, and ``montufar2014_lower``, a lower bound on the maximum over
      parameters of that architecture, *not* on this network.
    - Convolutional without padding: ``xiong_one_layer`` (one layer),
      ``xiong_deep_lower`` and ``xiong_deep_upper`` (several layers); the dense upper
      bounds also hold, with the lowered widths (a convolution is a dense layer whose
      weights are shared).
    - One hidden layer: ``whitney_count``, the exact count of the lowered layer in the
      whole space, computed when the largest possible count (Zaslavsky, or Theorem 1
      for a convolution) is at most `whitney_limit`.
    - An L2 ball (:class:`~polyregions.Ball` with ``p=2``): ``zhu_local`` (:math:`2^C`)
      and ``local_arrangement_bound`` (with `local_method`).

    Every global bound also bounds the count in any domain (a region meeting the domain
    is a region of the whole space).

    Returns
    -------
    list of dict
        ``{"name", "value" (int, or None when it does not apply), "kind", "reason"
        (why not, or None), "note"}``, in the order of ``BOUND_NAMES`` (restricted to
        `names` when given).
    """
    wanted = BOUND_NAMES if names is None else tuple(names)
    unknown = [n for n in wanted if n not in BOUND_NAMES]
    if unknown:
        raise InvalidInputError(f"`names` has unknown bounds {unknown}; known: {', '.join(BOUND_NAMES)}")
    info = architecture_of(net)
    n0, widths, depth = info["n0"], info["widths"], info["depth"]
    conv_ok = info["kind"] == "conv" and info["conv_reason"] is None
    lowered = None if info["kind"] == "dense" else f"as a dense network of the lowered widths {widths}"
    out = []
    for name in wanted:
        if name == "zaslavsky":
            if depth != 1:
                e = _entry(name, reason=f"one hidden layer only; this network has {depth}")
            else:
                e = _call(name, _bounds.zaslavsky, n0, widths[0])
                e["note"] = lowered
        elif name in ("montufar2017_upper", "serra2018_upper"):
            e = _call(name, getattr(_bounds, name), n0, widths)
            e["note"] = lowered
        elif name == "montufar2014_lower":
            if info["kind"] != "dense":
                e = _entry(name, reason="a bound for fully connected networks; weight sharing need not attain it")
            else:
                e = _call(name, _bounds.montufar2014_lower, n0, widths)
        elif name in ("xiong_one_layer", "xiong_deep_lower", "xiong_deep_upper"):
            if not conv_ok:
                e = _entry(name, reason=info["conv_reason"])
            elif name == "xiong_one_layer" and depth != 1:
                e = _entry(name, reason=f"one layer only; this network has {depth} (see xiong_deep_*)")
            elif name != "xiong_one_layer" and depth == 1:
                e = _entry(name, reason="for one layer this is xiong_one_layer")
            elif name == "xiong_one_layer":
                d, k, s = info["layers"][0]
                e = _call(name, _bounds.xiong_one_layer, info["input_shape"], filters=d, kernel=k, stride=s)
            else:
                e = _call(name, getattr(_bounds, name), info["input_shape"], info["layers"])
        elif name == "whitney_count":
            e = _whitney_entry(net, info, conv_ok, whitney_limit)
        else:  # local bounds
            if not (isinstance(domain, Ball) and domain.p == 2):
                e = _entry(name, reason="needs an L2 ball (--ball CENTER R --p 2)")
            elif name == "zhu_local":
                res = _bounds.zhu_local(net, domain.center, domain.radius)
                e = _entry(name, int(res.bound), note=f"C = {res.C}")
            else:
                res = _bounds.local_arrangement_bound(net, domain.center, domain.radius, method=local_method)
                e = _entry(name, int(res.bound), note=f"method {local_method}")
        out.append(e)
    return out


def _whitney_entry(net, info, conv_ok, limit):
    name = "whitney_count"
    if info["depth"] != 1:
        return _entry(name, reason=f"one hidden layer only; this network has {info['depth']}")
    W, b = net.hidden[0]
    if conv_ok:
        d, k, s = info["layers"][0]
        most = _bounds.xiong_one_layer(info["input_shape"], filters=d, kernel=k, stride=s)
    else:
        most = _bounds.zaslavsky(info["n0"], info["widths"][0])
    if most > limit:
        return _entry(name, reason=f"up to {most:,} regions, more than the limit {limit:,} for enumerating them")
    return _entry(name, int(_bounds.whitney_count(W, b)))


# =========================================================================== rank deficits (Theorem 1)
def _exact_rows(M):
    """Rows of a float matrix as primitive integer tuples (exact binary values)."""
    return [_primitive([Fraction(float(v)) for v in r]) for r in np.asarray(M, dtype=np.float64)]


def _reduce(q, basis):
    """Reduce the integer row ``q`` against ``basis``, a list of (pivot column, row)."""
    for c, r in basis:
        q = _eliminate(q, r, c)
    return q


def _exact_rank(rows) -> int:
    """Rank over the rationals of integer rows (fraction-free elimination)."""
    basis = []  # (pivot column, row)
    for q in rows:
        q = _reduce(q, basis)
        piv = _pivot(q, len(q))
        if piv >= 0:
            basis.append((piv, q))
    return len(basis)


def _first_circuit(rows, order):
    """The circuit met by a greedy pass over ``order`` (indices into the integer `rows`), or None.

    Rows are added in order while they stay independent; the first row ``e`` that
    depends on the kept ones ``I`` closes the unique circuit of ``I + e``: ``e`` and the
    kept rows with a non-zero coefficient in the dependency. The coefficients ride
    along as extra columns of the fraction-free elimination.
    """
    k = len(order)
    basis = []  # (pivot column, augmented row)
    n = len(rows[order[0]]) if order else 0
    for pos, idx in enumerate(order):
        q = _reduce(tuple(rows[idx]) + tuple(1 if t == pos else 0 for t in range(k)), basis)
        piv = _pivot(q, n)
        if piv < 0:
            return sorted(order[t] for t in range(k) if q[n + t])
        basis.append((piv, q))
    return None


def _max_matching(supports, n_cols):
    """Maximum bipartite matching of rows to columns of their supports (augmenting paths).

    Returns ``match_row`` (row -> column or -1).
    """
    match_col = [-1] * n_cols
    match_row = [-1] * len(supports)

    def augment(r, seen):
        for c in supports[r]:
            if c in seen:
                continue
            seen.add(c)
            if match_col[c] < 0 or augment(match_col[c], seen):
                match_col[c] = r
                match_row[r] = c
                return True
        return False

    for r in range(len(supports)):
        augment(r, set())
    return match_row


@dataclass(frozen=True)
class NormalRankDeficit:
    r"""Result of :func:`normal_rank_deficit`: the normals of one conv layer against Theorem 1.

    Attributes
    ----------
    normals : int
        The number of neurons, :math:`d_1 |I|`.
    rank : int
        The exact rank of the lowered normal matrix (all normals).
    matching : int
        The size of a maximum matching of the normals to distinct input units of their
        receptive fields: the rank of the transversal matroid whose independent sets
        :math:`R_N` counts.
    R_N : int
        Theorem 1's count (:func:`polyregions.bounds.xiong_one_layer`).
    independent : int or None
        The number of linearly independent subsets of the normals: the exact count of
        regions for these filters and generic biases in the whole space. From
        :func:`polyregions.bounds.independent_subsets` when ``R_N <= max_subsets``,
        from the closed form :math:`2^m - 2^{m - |C|}` when the normals have corank 1
        (their only circuit is :math:`C`), from :math:`2^m` at corank 0; else None.
    witness : tuple or None
        A circuit of the normals (a minimal linearly dependent set) that can be matched
        to distinct input units, as ``(filter, (i, j))`` pairs; it proves
        ``independent < R_N``. None when no such set was found.
    witness_from : str
        Where the witness was found: "the full normal matrix", or the block of output
        positions ("output rows i0..i1, columns j0..j1") whose normals, for some set of
        at least two filters, hold it.
    """

    normals: int
    rank: int
    matching: int
    R_N: int
    independent: int | None
    witness: tuple | None
    witness_from: str
    filters: int = field(default=0, repr=False)
    positions: int = field(default=0, repr=False)

    @property
    def deficit(self) -> int:
        """``matching - rank``: positive when the full normal matrix is itself a witness."""
        return self.matching - self.rank

    @property
    def reason(self) -> str:
        """One line: why the count is (or is not) below ``R_N``."""
        if self.witness is None:
            if self.independent is not None and self.independent < self.R_N:
                return "count < R_N, but no witness found by the block search"
            return "none: the normals' matroid is the transversal matroid" if self.independent == self.R_N \
                else "no witness found"
        k = len(self.witness)
        fil = ",".join(map(str, sorted({f for f, _ in self.witness})))
        pos = len({p for _, p in self.witness})
        circuit = f"circuit of {k} matchable normals (filters {{{fil}}}, {pos} positions), rank {k - 1}"
        if self.deficit > 0:
            return f"full matrix: rank {self.rank} < matching {self.matching}; {circuit}"
        return (f"{circuit}, in {self.witness_from}; full matrix: rank {self.rank} = "
                f"matching {self.matching}")


def normal_rank_deficit(input_shape, filters, kernel, stride=1, rng=None, *, weight=None,
                        max_subsets: int = 300_000) -> NormalRankDeficit:
    r"""Compare the lowered normals of a one-layer CNN with the transversal matroid of Theorem 1.

    :math:`R_N` (Xiong et al. 2020, Theorem 1) counts the sets of normals that can be
    matched to distinct input units of their receptive fields (Hall's condition): the
    independent sets of a transversal matroid :math:`T`. For generic biases the exact
    number of regions in the whole space is the number of *linearly* independent sets
    of normals, those of the row matroid :math:`M`. A linearly independent set has a
    non-zero maximal minor, hence a matching, so :math:`M \subseteq T` and
    ``count <= R_N``; the count is strictly smaller exactly when some set is matchable
    but linearly dependent. Such a set, shrunk to a circuit, is the *witness*
    returned here. A rank deficit of the full matrix (``rank < matching``) is one
    (the normals of a maximum matching are then dependent), but not the only kind:
    a 3x3 input with three 2x2 filters has full rank 9 = matching 9, yet the 8 normals
    of any two filters have rank 7.

    The witness search: the full matrix first; then blocks "a set of at least two
    filters at a rectangle of output positions", smallest first, screened in floating
    point and confirmed with exact rational ranks.

    Parameters
    ----------
    input_shape : (d0, h, w)
    filters : int
        :math:`d_1`.
    kernel : (f1, f2)
    stride : int
    rng : numpy.random.Generator, optional
        Draws the filters from :math:`N(0, 1)` when `weight` is not given (default
        ``default_rng(0)``).
    weight : array of shape (d1, d0, f1, f2), optional
        The filters themselves.
    max_subsets : int
        Count the independent subsets by enumeration only when :math:`R_N` (which
        bounds their number) is at most this.

    Examples
    --------
    >>> r = normal_rank_deficit((1, 3, 3), 2, (2, 2), 1)
    >>> r.normals, r.rank, r.matching, r.independent, r.R_N
    (8, 7, 8, 255, 256)
    """
    d0, h, w = (operator.index(v) for v in input_shape)
    d1 = operator.index(filters)
    f1, f2 = (kernel, kernel) if isinstance(kernel, (int, np.integer)) else tuple(kernel)
    s = operator.index(stride)
    R_N = _bounds.xiong_one_layer((d0, h, w), filters=d1, kernel=(f1, f2), stride=s)
    if weight is None:
        rng = np.random.default_rng(0) if rng is None else rng
        weight = rng.normal(size=(d1, d0, f1, f2))
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != (d1, d0, f1, f2):
        raise InvalidInputError(f"`weight` must have shape {(d1, d0, f1, f2)}, got {weight.shape}")
    W, _, (_, n1, n2) = conv2d_matrix(weight, np.zeros(d1), (d0, h, w), s, 0)
    fields = _bounds.receptive_fields((d0, h, w), (f1, f2), s)
    positions = [(i, j) for i in range(n1) for j in range(n2)]
    npos = len(positions)
    supports = [sorted(fields[positions[r % npos]]) for r in range(W.shape[0])]  # row = o * npos + p
    exact = _exact_rows(W)
    m = len(exact)
    rank = _exact_rank(exact)
    match = _max_matching(supports, d0 * h * w)
    matching = sum(c >= 0 for c in match)

    def matched_dependent(rows):
        """The matched part of `rows` when it is linearly dependent, else None."""
        mr = _max_matching([supports[r] for r in rows], d0 * h * w)
        matched = [r for r, c in zip(rows, mr) if c >= 0]
        if _exact_rank([exact[r] for r in matched]) < len(matched):
            return matched
        return None

    witness_rows, source = None, ""
    if rank < matching:
        witness_rows = [r for r in range(m) if match[r] >= 0]
        source = "the full normal matrix"
    else:
        windows = [(i0, j0, i1, j1) for i0 in range(n1) for i1 in range(i0, n1)
                   for j0 in range(n2) for j1 in range(j0, n2)]
        blocks = []
        for size in range(2, d1 + 1):
            for fs in combinations(range(d1), size):
                for (i0, j0, i1, j1) in windows:
                    ps = [i * n2 + j for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
                    blocks.append((len(fs) * len(ps), fs, (i0, j0, i1, j1), [o * npos + p for o in fs for p in ps]))
        blocks.sort(key=lambda b: b[0])
        for _, fs, (i0, j0, i1, j1), rows in blocks:
            sub = W[rows]
            float_rank = np.linalg.matrix_rank(sub)
            mr = _max_matching([supports[r] for r in rows], d0 * h * w)
            if float_rank >= sum(c >= 0 for c in mr):
                continue
            dep = matched_dependent(rows)
            if dep is not None:
                witness_rows = dep
                source = f"output rows {i0}..{i1}, columns {j0}..{j1}"
                break
    witness = None
    if witness_rows is not None:
        circuit = _first_circuit(exact, witness_rows)
        witness = tuple((r // npos, positions[r % npos]) for r in circuit)

    if R_N <= max_subsets:
        independent = int(_bounds.independent_subsets(W))
    elif rank == m:
        independent = 2 ** m
    elif rank == m - 1:
        # corank 1: exactly one circuit, the support of the left null vector
        circ = _first_circuit(exact, list(range(m)))
        independent = 2 ** m - 2 ** (m - len(circ))
    else:
        independent = None
    return NormalRankDeficit(normals=m, rank=rank, matching=matching, R_N=R_N, independent=independent,
                             witness=witness, witness_from=source, filters=d1, positions=npos)


# =========================================================================== the study
def _stat(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None, None
    return min(vals), sum(vals) / len(vals), max(vals)


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return float(Fraction(a) / Fraction(b)) if isinstance(a, int) and isinstance(b, int) else a / b


def run_tightness(archs, seeds, domain, *, eps: float = DEFAULT_EPS, time_limit: float | None = None,
                  bounds=None, rank_deficit: bool = False, workers: int = 1, local_method: str = "symbolic",
                  whitney_limit: int = 300_000, progress=None) -> list:
    """Exact counts of seeded networks against the applicable bounds, one row per architecture.

    For each architecture (:func:`parse_arch`) and seed (``seeds``: a number K for the
    seeds 0..K-1, or a list), the network :func:`seeded_network` is counted exactly with
    :func:`polyregions.count_regions` in the domain (:func:`parse_domain`; the centre of
    ``ball:R:random`` is :func:`seeded_center`), and every bound of
    :func:`network_bounds` (or those named in `bounds`) is computed for it.

    Parameters
    ----------
    eps, time_limit, workers :
        Passed to :func:`~polyregions.count_regions` (the limit is per count). An
        incomplete count is a lower bound; the row's ``complete`` is then False.
    rank_deficit : bool
        For one-layer convolutions, add the columns of :func:`normal_rank_deficit`
        computed with each seed's filters.
    progress : callable, optional
        Called as ``progress(arch, seed, result)`` after each count (``result`` is the
        :class:`~polyregions.RegionCount`, or the :class:`~polyregions.SolverError` of a
        count that failed: the seed then has ``count`` None, the row is incomplete and
        its ``notes`` give the error, and the other seeds and architectures still run).

    Returns
    -------
    list of dict
        One row per architecture: ``arch``, ``domain``, ``seeds``, ``exact_min``,
        ``exact_mean``, ``exact_max``, ``complete``, ``seconds``; for each applicable
        bound ``b``: ``b`` (its largest value over the seeds; global bounds do not
        depend on the seed), ``b/max`` (that value over ``exact_max``) and ``b/mean``
        (the mean of the bound over the mean exact count); with `rank_deficit`:
        ``normals``, ``rank``, ``matching``, ``independent``, ``rank_deficit`` (the
        reason text); ``notes`` (bounds that do not apply, and why) and ``per_seed``
        (the per-seed counts and bounds).
    """
    dom_spec = parse_domain(domain)
    seed_list = _seed_list(seeds)
    archs = [parse_arch(a) for a in ([archs] if isinstance(archs, (str, Arch)) else archs)]
    if not archs:
        raise InvalidInputError("`archs` must name at least one architecture")
    names = None if bounds is None else tuple(bounds)
    rows = []
    for arch in archs:
        per_seed, notes = [], {}
        t_arch = time.perf_counter()
        for seed in seed_list:
            net, rng = _draw(arch, seed)
            center = rng.standard_normal(net.input_dim) if dom_spec.random_center else None
            dom = dom_spec.build(net.input_dim, center)
            try:
                res = count_regions(net, dom, eps=eps, time_limit=time_limit, workers=workers)
                rec = {"seed": seed, "count": res.count, "complete": res.complete, "seconds": res.stats.seconds,
                       "min_radius": res.stats.min_radius, "bounds": {}}
            except SolverError as exc:  # keep the study going; the row says which seed failed
                log.warning("%s seed %d: the count failed: %s", arch, seed, exc)
                res = exc
                rec = {"seed": seed, "count": None, "complete": False, "error": str(exc), "bounds": {}}
                notes[f"seed {seed}"] = f"the count failed: {exc}"
            entries = network_bounds(net, dom, names=names, local_method=local_method, whitney_limit=whitney_limit)
            for e in entries:
                if e["value"] is None:
                    if names is not None:  # say why a requested bound is missing
                        notes[e["name"]] = e["reason"]
                else:
                    rec["bounds"][e["name"]] = e["value"]
            if rank_deficit:
                if arch.kind == "conv" and arch.depth == 1:
                    d, k, s = arch.layers[0]
                    rd = normal_rank_deficit(arch.input_shape, d, k, s, weight=net.layers[0].weight)
                    rec["rank_deficit"] = {"normals": rd.normals, "rank": rd.rank, "matching": rd.matching,
                                           "R_N": rd.R_N, "independent": rd.independent,
                                           "witness": [[f, list(p)] for f, p in rd.witness] if rd.witness else None,
                                           "reason": rd.reason}
                elif names is not None:
                    notes["rank_deficit"] = "one-layer convolutions only"
            if progress is not None:
                progress(arch, seed, res)  # a RegionCount, or the SolverError of a failed count
            per_seed.append(rec)
        counts = [r["count"] for r in per_seed]
        lo, mean, hi = _stat(counts)
        row = {"arch": str(arch), "domain": str(dom_spec), "seeds": len(seed_list),
               "exact_min": lo, "exact_mean": mean, "exact_max": hi,
               "complete": all(r["complete"] for r in per_seed),
               "seconds": round(time.perf_counter() - t_arch, 3)}
        for name in BOUND_NAMES:
            vals = [r["bounds"].get(name) for r in per_seed]
            if any(v is None for v in vals):
                if any(v is not None for v in vals):
                    notes[name] = "not computed for every seed"
                continue
            row[name] = max(vals)
            row[f"{name}/max"] = _ratio(max(vals), hi)
            row[f"{name}/mean"] = _ratio(sum(vals) / len(vals), mean)
        if rank_deficit and "rank_deficit" in per_seed[0]:
            rds = [r["rank_deficit"] for r in per_seed]
            for key in ("normals", "rank", "matching", "independent"):
                vals = sorted({rd[key] for rd in rds}, key=lambda v: (v is None, v))
                row[key] = vals[0] if len(vals) == 1 else "/".join(map(str, vals))
            reasons = {rd["reason"] for rd in rds}
            row["rank_deficit"] = rds[0]["reason"] if len(reasons) == 1 else " | ".join(sorted(reasons))
        row["notes"] = "; ".join(f"{k}: {v}" if k.startswith("seed ") else f"{k}: n/a ({v})"
                                 for k, v in notes.items())
        row["per_seed"] = per_seed
        rows.append(row)
    return rows


# =========================================================================== output
def _columns(rows):
    cols = ["arch", "domain", "seeds", "exact_min", "exact_mean", "exact_max", "complete", "seconds"]
    for name in BOUND_NAMES:
        if any(name in r for r in rows):
            cols += [name, f"{name}/max", f"{name}/mean"]
    for key in ("normals", "rank", "matching", "independent", "rank_deficit"):
        if any(key in r for r in rows):
            cols.append(key)
    cols.append("notes")
    return cols


def write_table(rows, prefix) -> tuple:
    """Write `rows` to ``PREFIX.csv`` (scalar columns) and ``PREFIX.json`` (everything); return the two paths."""
    prefix = str(prefix)
    cols = _columns(rows)
    csv_path, json_path = prefix + ".csv", prefix + ".json"
    with open(csv_path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        for r in rows:
            wr.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    with open(json_path, "w") as f:
        json.dump(rows, f, indent=1, default=_json_default)
        f.write("\n")
    return csv_path, json_path


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"cannot write {type(v).__name__} as JSON")


def _num(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


def _ratio_text(v, row=None):
    """A ratio; "<= x" when some count of the row stopped early (its denominator is a lower bound)."""
    if v is None:
        return "-"
    early = row is not None and any(not s["complete"] and s.get("count") is not None
                                    for s in row.get("per_seed", ()))
    return f"<= {v:.4g}" if early else f"{v:.4g}"


def _exact_text(r):
    text = f"{_num(r['exact_min'])} / {_num(r['exact_mean'])} / {_num(r['exact_max'])}"
    failed = sum(s.get("count") is None for s in r.get("per_seed", ()))
    if failed:
        return text + f" ({failed} of {r['seeds']} counts failed; see notes)"
    return text if r["complete"] else text + " (incomplete: lower bounds)"


def format_table(rows) -> str:
    """A readable terminal table: per architecture, the exact counts, then one line per bound."""
    head = ("arch", "domain", "seeds", "exact min / mean / max", "bound", "value", "bound/max", "bound/mean")
    lines = []
    for r in rows:
        first = [r["arch"], r["domain"], str(r["seeds"]), _exact_text(r)]
        blank = ["", "", "", ""]
        names = [n for n in BOUND_NAMES if n in r]
        if not names:
            lines.append(first + ["(none)", "", "", ""])
        for k, name in enumerate(names):
            lines.append((first if k == 0 else blank)
                         + [name, _num(r[name]), _ratio_text(r[f"{name}/max"], r),
                            _ratio_text(r[f"{name}/mean"], r)])
        if "rank_deficit" in r:
            lines.append(blank + ["independent subsets", _num(r.get("independent")), "", ""])
            lines.append(blank + ["rank / matching", f"{r.get('rank')} / {r.get('matching')} "
                                  f"of {r.get('normals')} normals", "", ""])
            lines.append(blank + ["rank deficit", str(r["rank_deficit"]), "", ""])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)] if lines else [len(h) for h in head]
    widths[5] = min(widths[5], 40)  # long reasons overflow instead of widening the value column

    def fmt(cells):
        out = []
        for k, (c, w) in enumerate(zip(cells, widths)):
            out.append(str(c).rjust(w) if k in (2, 6, 7) else str(c).ljust(w))
        return "  ".join(out).rstrip()

    text = [fmt(head), fmt(["-" * w for w in widths])] + [fmt(x) for x in lines]
    notes = [f"{r['arch']}: {r['notes']}" for r in rows if r.get("notes")]
    if any(n in r for r in rows for n in ("montufar2014_lower", "xiong_deep_lower")):
        text.append("montufar2014_lower, xiong_deep_lower: lower bounds on the maximum over parameters, "
                    "not on these networks")
    return "\n".join(text + notes)


def format_markdown(rows) -> str:
    """`rows` as one Markdown table, one line per architecture (exact counts, bounds and ratios, rank deficits).

    ``whitney_count`` gets no ratio column but a check: "= count" when it equals the
    exact count of every seed whose count is complete. A ratio is written "<= x" when
    some count stopped early (its exact count is then a lower bound). The rows' notes
    follow the table.
    """
    names = [n for n in BOUND_NAMES if any(n in r for r in rows)]
    head = ["ARCH", "seeds", "exact min / mean / max"]
    for n in names:
        head += [n, "per seed" if n == "whitney_count" else f"{n} / max exact"]
    rd = any("rank_deficit" in r for r in rows)
    if rd:
        head += ["independent subsets", "normals: rank / matching", "why count < R_N"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['arch']}`", str(r["seeds"]), _exact_text(r)]
        for n in names:
            if n == "whitney_count":
                agree = _whitney_agrees(r)
                check = "-" if agree is None else ("= count" if agree else "DIFFERS")
                cells += [_num(r.get(n)), check]
            else:
                cells += [_num(r.get(n)), _ratio_text(r.get(f"{n}/max"), r)]
        if rd:
            shape = f"{r['normals']}: {r['rank']} / {r['matching']}" if "normals" in r else "-"
            cells += [_num(r.get("independent")), shape, _md_reason(r)]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = [f"- `{r['arch']}`: {r['notes']}" for r in rows if r.get("notes")]
    if notes:
        out += ["", "Notes:", ""] + notes
    return "\n".join(out)


def _whitney_agrees(r):
    """True when whitney_count equals the count of every complete seed, None when nothing to compare."""
    pairs = [(s["bounds"].get("whitney_count"), s["count"]) for s in r.get("per_seed", ()) if s["complete"]]
    pairs = [(w, c) for w, c in pairs if w is not None]
    if not pairs or r["domain"] != "whole":
        return None
    return all(w == c for w, c in pairs)


def _md_reason(r):
    reason = r.get("rank_deficit")
    if reason is None:
        return "-"
    if str(reason).startswith("none"):
        return "-"
    return str(reason)



MARK_BEGIN = "<!-- polyregions tightness table: begin -->"
MARK_END = "<!-- polyregions tightness table: end -->"


def update_markdown(path, table: str) -> None:
    """Put `table` between the markers ``MARK_BEGIN`` and ``MARK_END`` of the Markdown file `path`.

    A missing file is created with the table alone (between the markers); an existing
    file without both markers is refused, so prose is never overwritten.
    """
    import os

    block = f"{MARK_BEGIN}\n{table}\n{MARK_END}"
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(block + "\n")
        return
    with open(path) as f:
        text = f.read()
    i, j = text.find(MARK_BEGIN), text.find(MARK_END)
    if i < 0 or j < i:
        raise InvalidInputError(
            f"`markdown` file {path!r} exists but has no {MARK_BEGIN!r} ... {MARK_END!r} block to replace"
        )
    with open(path, "w") as f:
        f.write(text[:i] + block + text[j + len(MARK_END):])
