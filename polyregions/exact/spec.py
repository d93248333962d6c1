"""A network and a domain as the exact data a certificate holds (``polyregions-certificate`` versions 2 and 3).

A layer ``z = W h + b`` with rational entries is written over its least common denominator
``D``: ``W = Wn / D``, ``b = bn / D`` with integer ``Wn, bn`` (so ``gcd(D, Wn, bn) = 1``: one
spelling per network). A float64 is the dyadic rational it is; a layer built from
:class:`fractions.Fraction` values (or ``"p/q"`` strings, :mod:`polyregions.model.rational`) is
taken as written. A domain is its open set: a box ``lo < x < hi`` (an L-inf ball too), an L1 or
L2 ball ``|x - c|_p < r``, a polytope ``A x < b`` (one integer row in lowest terms per facet)
or the whole space; numbers over one common denominator. Integers are written as
hexadecimal strings, so no decimal digit limit applies. The standalone checker
(:mod:`polyregions.exact.checker`) validates these specs and compares them by fingerprint.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm

import numpy as np

from ..errors import UnsupportedError
from ..model.network import Dense
from .checker import FORMAT, MAGIC, SHIFT_MAX, TEXT_VERSION, VERSION, check, fingerprint

__all__ = ["FORMAT", "MAGIC", "SHIFT_MAX", "TEXT_VERSION", "VERSION", "check_certificate", "describe_domain", "domain_spec", "exact_layers", "exact_point",
           "fingerprint",
           "hex_int", "network_spec", "report_lines", "rounded_layers"]


def exact_point(x):
    """``(numerators, D)``: the floats (or rationals) `x` as integers over one positive denominator."""
    ratios = [v.as_integer_ratio() if isinstance(v, float) else Fraction(v).as_integer_ratio() for v in x]
    den = lcm(*(d for _, d in ratios)) if ratios else 1
    return [n * (den // d) for n, d in ratios], den


def hex_int(v: int) -> str:
    """The integer `v` as the format's hexadecimal string (``-`` sign, lower case, no prefix)."""
    v = int(v)
    return "-" + format(-v, "x") if v < 0 else format(v, "x")


def _over_common_denominator(values):
    """``(D, [numerators])``: the rationals `values` over their least common denominator."""
    values = [Fraction(v) for v in values]
    den = lcm(*(v.denominator for v in values)) if values else 1
    return den, [int(v * den) for v in values]


def _fraction(v) -> Fraction:
    if isinstance(v, Fraction):
        return v
    return Fraction(int(v)) if isinstance(v, (int, np.integer)) else Fraction(float(v))


def exact_layers(net):
    """The hidden layers of `net` as ``[(W, b)]`` of Fractions: rational Dense layers as written,
    float64 layers as the dyadic rationals they are."""
    exact = [getattr(layer, "exact", None) for layer in net.layers]
    if any(e is not None for e in exact):
        plain = all(isinstance(layer, Dense) and layer.negative_slope == 0.0 for layer in net.layers)
        if not plain:
            raise UnsupportedError("`net`: rational weights are supported in networks of ReLU Dense layers only")
        return [(e[0], e[1]) if e is not None else
                ([[_fraction(v) for v in row] for row in layer.weight], [_fraction(v) for v in layer.bias])
                for e, layer in zip(exact, net.layers)]
    return [([[_fraction(v) for v in row] for row in np.asarray(W).tolist()], [_fraction(v) for v in np.asarray(b)])
            for W, b in net.hidden]


def rounded_layers(net) -> int:
    """How many rational Dense layers of `net` differ from their float64 rounding (what the float search uses)."""
    out = 0
    for layer in net.layers:
        exact = getattr(layer, "exact", None)
        if exact is not None:
            W, b = exact
            if any(Fraction(float(v)) != v for row in W for v in row) or any(Fraction(float(v)) != v for v in b):
                out += 1
    return out


def network_spec(net) -> dict:
    """The certificate's ``network`` object for `net` (see the module docstring)."""
    layers = []
    for W, b in exact_layers(net):
        den, nums = _over_common_denominator([v for row in W for v in row] + list(b))
        k = len(W[0]) if W else 0
        rows = [nums[j * k:(j + 1) * k] for j in range(len(W))]
        layers.append({"den": hex_int(den), "weight": [[hex_int(v) for v in row] for row in rows],
                       "bias": [hex_int(v) for v in nums[len(W) * k:]]})
    activation = "relu" if net.is_relu else "other (" + ", ".join(
        sorted({"max pooling" if st.pool else "residual" if np.any(st.slopes == 1.0) else
                f"leaky relu {float(np.max(st.slopes)):g}" for st in net.stages if not st.is_relu})) + ")"
    return {"input_dim": int(net.input_dim), "activation": activation, "layers": layers}


def domain_spec(domain) -> dict:
    """The certificate's ``domain`` object for `domain` (see the module docstring), from the domain's
    own exact form (:meth:`~polyregions.domains.base.Domain.exact_spec`; a slice has none)."""
    exact = domain.exact_spec()
    n = domain.dim
    if exact["kind"] in ("l1", "l2"):
        den, nums = _over_common_denominator(list(exact["center"]) + [exact["radius"]])
        return {"kind": exact["kind"], "den": hex_int(den), "center": [hex_int(v) for v in nums[:n]],
                "radius": hex_int(nums[n])}
    if exact["kind"] == "whole":
        return {"kind": "whole"}
    A, b = exact["A"], exact["b"]
    lo, hi = [None] * n, [None] * n
    for row, rhs in zip(A, b):
        nz = [k for k, v in enumerate(row) if v]
        if len(nz) != 1:
            break
        k = nz[0]
        bound = Fraction(rhs) / Fraction(row[k])
        side = hi if row[k] > 0 else lo
        side[k] = bound if side[k] is None else (min(side[k], bound) if row[k] > 0 else max(side[k], bound))
    else:
        if all(v is not None for v in lo + hi):
            den, nums = _over_common_denominator(lo + hi)
            return {"kind": "box", "den": hex_int(den), "lo": [hex_int(v) for v in nums[:n]],
                    "hi": [hex_int(v) for v in nums[n:]]}
    out_A, out_b = [], []
    for row, rhs in zip(A, b):
        _, nums = _over_common_denominator(list(row) + [rhs])
        g = gcd(*nums) or 1
        out_A.append([hex_int(v // g) for v in nums[:-1]])
        out_b.append(hex_int(nums[-1] // g))
    return {"kind": "polytope", "A": out_A, "b": out_b}


def check_certificate(certificate, net=None, domain=None, *, workers: int = 1):
    """:func:`polyregions.exact.checker.check` with a :class:`~polyregions.model.network.Network`
    and a domain: the certificate must be about exactly them (their specs' fingerprints)."""
    return check(certificate, None if net is None else network_spec(net),
                 None if domain is None else domain_spec(domain), workers=workers)


def describe_domain(spec, show=8) -> str:
    """A domain spec in words, its numbers as exact fractions (the first `show` coordinates)."""
    def vec(values):
        parts = [str(Fraction(int(v, 16), int(spec["den"], 16))) for v in values[:show]]
        return "[" + ", ".join(parts) + (f", ... ({len(values)} in all)" if len(values) > show else "") + "]"
    kind = spec["kind"]
    if kind == "whole":
        return "the whole space"
    if kind == "polytope":
        return f"the open polytope A x < b of {len(spec['b'])} rows"
    if kind == "box":
        return f"the open box lo < x < hi, lo = {vec(spec['lo'])}, hi = {vec(spec['hi'])}"
    return f"the open {kind.upper()} ball |x - c| < r, c = {vec(spec['center'])}, r = {vec([spec['radius']])[1:-1]}"


def report_lines(result) -> list:
    """What ``polyregions check`` prints for a :class:`~polyregions.exact.checker.CheckResult`."""
    widths = [len(layer["weight"]) for layer in result.network["layers"]]
    return [f"network : {result.network['input_dim']} inputs, ReLU widths {widths}, "
            f"sha256 {result.network_fingerprint}",
            f"domain  : {describe_domain(result.domain)}, sha256 {result.domain_fingerprint}",
            f"empty   : {result.empty:,} branches certified empty",
            f"verdict : exact: the network has {result.count:,} regions in the domain"]
