"""A standalone checker of certified region counts (format ``polyregions-certificate`` version 2).

It imports Python's standard library and numpy alone: copy it anywhere and run ``python checker.py
CERTIFICATE [--workers K]``. ``docs/certificates.md`` gives the format and the theorem behind each
check: a region's rational point has its pattern inside the open domain; the multipliers ``y >= 0``
(some ``y_i > 0``) of an empty partial pattern give ``v = sum y_i a_i`` and ``s = sum y_i b_i`` with
``s <= min over the closed domain of v . x``; the regions and empty prefixes tile the ``2^N`` patterns
exactly once. Every decision is exact integer arithmetic or a float computation with a proven error bound.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import itertools
import json
import math
import multiprocessing
import re
import sys
from collections import namedtuple
from operator import mul

import numpy as np

__all__ = ["FORMAT", "VERSION", "CertificateError", "CheckResult", "below_support", "check", "fingerprint", "main",
           "validate_domain", "validate_network"]

FORMAT = "polyregions-certificate"
VERSION = 2
#: Records checked per task when the check runs over several processes.
BATCH = 2000
#: A float pre-activation proves its sign beyond this many times its error bound (more than the bound's own rounding).
FILTER_FACTOR = 8.0

_HEX = re.compile(r"-?(0|[1-9a-f][0-9a-f]*)\Z")
_BITS = re.compile(r"[01]*\Z")
_ASSIGN = re.compile(r"[01*]*\Z")
_POSITION = re.compile(r"(0|[1-9][0-9]{0,9})\Z")
_DOMAIN_ROW = re.compile(r"d(0|[1-9][0-9]{0,9})\Z")
_MASK = (str.maketrans("01*", "110"), str.maketrans("*", "0"))  # an assignment's fixed positions, its values
_DOMAIN_KEYS = {"box": {"kind", "den", "lo", "hi"}, "l1": {"kind", "den", "center", "radius"},
                "l2": {"kind", "den", "center", "radius"}, "polytope": {"kind", "A", "b"}, "whole": {"kind"}}
_RECORD_KINDS = {frozenset(k.split()): name for k, name in [("region den point", "region"), ("empty y", "empty"),
                 ("empty ref", "ref"), ("cert assign y", "cert"), ("count undecided", "end")]}


class CertificateError(ValueError):
    """The certificate is malformed or does not prove its count; the message is one line."""


def _fail(message):
    raise CertificateError(message)


def _integer(value, what, low=None):  # a hexadecimal integer string (no prefix, no leading zero) >= low
    if type(value) is not str or not _HEX.match(value):
        _fail(f"{what} must be a hexadecimal integer string, got {str(value)[:40]!r}")
    number = int(value, 16)
    return number if low is None or number >= low else _fail(f"{what} must be at least {low}, got {number}")


def _count(value, what, low=0):  # a JSON integer: a count, an id, a dimension
    return value if type(value) is int and value >= low else _fail(f"{what} must be a JSON integer >= {low}, "
                                                                   f"got {str(value)[:40]!r}")


def _list(value, what, length=None):
    if type(value) is not list or (len(value) != length if length is not None else not value):
        _fail(f"{what} must be a list of {length if length is not None else 'one or more'} entries")
    return value


def _integers(values, length, what):
    return [_integer(v, f"{what}[{k}]") for k, v in enumerate(_list(values, what, length))]


def _keys(obj, expected, what):
    if type(obj) is not dict or set(obj) != set(expected):
        _fail(f"{what} must have exactly the keys {sorted(expected)}, got "
              f"{sorted(obj) if type(obj) is dict else type(obj).__name__}")


def _floats(ints):  # the integers in float64 when every one is exact there, else None
    out = [float(v) if abs(v) < 1 << 1000 else math.nan for v in ints]
    return out if out == ints else None


def _lowest_terms(numbers, what):  # one spelling per network and domain: their fingerprints are unique
    if math.gcd(*numbers) != 1:
        _fail(f"{what} is not in lowest terms (its integers share a factor)")


def validate_network(spec):
    """``(input_dim, [(D, Wn, bn), ...])`` of a network spec, every field checked."""
    _keys(spec, {"input_dim", "activation", "layers"}, "network")
    n = _count(spec["input_dim"], "network.input_dim", 1)
    if spec["activation"] != "relu":
        _fail(f"network.activation is {str(spec['activation'])[:40]!r}: this checker knows 'relu' only")
    layers = []
    for l, layer in enumerate(_list(spec["layers"], "network.layers")):
        fan_in = len(layers[-1][1]) if layers else n
        where = f"network.layers[{l}]"
        _keys(layer, {"den", "weight", "bias"}, where)
        den = _integer(layer["den"], f"{where}.den", 1)
        W = [_integers(row, fan_in, f"{where}.weight[{j}]") for j, row in enumerate(_list(layer["weight"], where))]
        b = _integers(layer["bias"], len(W), f"{where}.bias")
        _lowest_terms([den, *b, *(v for row in W for v in row)], where)
        layers.append((den, W, b))
    return n, layers


def validate_domain(spec, n):
    """The domain spec as ``(kind, data)`` with integers, every field checked (dimension `n`)."""
    kind = spec.get("kind") if type(spec) is dict else None
    if kind not in _DOMAIN_KEYS:
        _fail(f"domain.kind must be one of {sorted(_DOMAIN_KEYS)}, got {str(kind)[:40]!r}")
    _keys(spec, _DOMAIN_KEYS[kind], "domain")
    if kind == "whole":
        return kind, None
    if kind == "polytope":
        A = [_integers(row, n, f"domain.A[{k}]") for k, row in enumerate(_list(spec["A"], "domain.A"))]
        b = _integers(spec["b"], len(A), "domain.b")
        [_lowest_terms([*row, rhs], f"domain row {k}") for k, (row, rhs) in enumerate(zip(A, b))]
        return kind, (A, b)
    den = _integer(spec["den"], "domain.den", 1)
    if kind == "box":
        lo, hi = _integers(spec["lo"], n, "domain.lo"), _integers(spec["hi"], n, "domain.hi")
        any(a >= c for a, c in zip(lo, hi)) and _fail("domain.lo must be below domain.hi in every coordinate")
    else:
        lo, hi = _integers(spec["center"], n, "domain.center"), _integer(spec["radius"], "domain.radius", 1)
    _lowest_terms([den, *lo, *(hi if kind == "box" else [hi])], "domain")
    return kind, (den, lo, hi)  # (den, center, radius) of a ball


def fingerprint(spec):
    """The SHA-256 of a spec's canonical JSON (sorted keys, no spaces), in hexadecimal."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


_DECODER = json.JSONDecoder(parse_int=lambda text: int(text) if len(text.lstrip("-")) <= 18 else _fail(
                                f"the JSON integer {text[:20]}... is too large"),
                            parse_constant=lambda name: _fail(f"{name} is not a number here"),
                            parse_float=lambda t: _fail(f"the number {t[:40]} is not allowed (no floats here)"))


def _parsed(text, what="the line is not valid JSON (truncated?)"):  # no NaN, infinity, float, nor huge JSON integer
    try:
        return _DECODER.decode(text)
    except ValueError as exc:
        _fail(f"{what}: {str(exc).splitlines()[0][:80]}")


def _lines(path):  # the certificate's lines, plain or gzip-compressed text
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rt", encoding="utf-8") if gz else open(path, encoding="utf-8")) as f:
            yield from f
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        _fail(f"`certificate` {str(path)!r} cannot be read as a text certificate: {type(exc).__name__}: {exc}")


def below_support(kind, dom, v, s):
    """Whether ``s <= min over the closed domain of v . x`` (the domain as :func:`validate_domain` gives it)."""
    if kind in ("whole", "polytope"):
        return not any(v) and s <= 0
    if kind == "box":
        return dom[0] * s <= sum(vk * (lo if vk > 0 else hi) for vk, lo, hi in zip(v, dom[1], dom[2]))
    gap = sum(map(mul, v, dom[1])) - dom[0] * s  # den (v . c - s)
    l1 = kind == "l1" and gap >= dom[2] * max(abs(vk) for vk in v)
    return l1 if kind == "l1" else gap >= 0 and gap * gap >= dom[2] * dom[2] * sum(vk * vk for vk in v)


class _Checker:
    """The checks of one certificate's records against its network and domain."""

    def __init__(self, network, domain):
        self.n, self.layers = validate_network(network)
        self.kind, self.domain = validate_domain(domain, self.n)
        self.offsets = [0, *itertools.accumulate(len(W) for _, W, _ in self.layers)]
        self.scales = [1, *itertools.accumulate((D for D, _, _ in self.layers), mul)]  # S_0 = 1, S_l = D_1 ... D_l
        self.N = self.offsets[-1]
        self.layer_of = [l for l, (_, W, _) in enumerate(self.layers) for _ in W]
        self._cache = [(None, None)] * len(self.layers)
        exact = [(_floats([v for row in W for v in row]), _floats(b)) for _, W, b in self.layers]
        self.floats = None if any(None in pair for pair in exact) else [  # (W, |W|, b, |b|) in float64
            (W, np.abs(W), b, np.abs(b)) for W, b in ((np.reshape(W, (len(b), -1)), np.array(b)) for W, b in exact)]

    def maps(self, bits, l):
        """``(G_l, c_l)`` under the bits of the layers before ``l`` (the last one per layer kept)."""
        key, (_, W, b) = bits[: self.offsets[l]], self.layers[l]
        if self._cache[l][0] == key:
            return self._cache[l][1]
        out = (W, b)
        if l > 0:
            Gp, cp = self.maps(bits, l - 1)
            on = [k for k, ch in enumerate(key[self.offsets[l - 1]:]) if ch == "1"]
            cols = list(zip(*[Gp[k] for k in on])) if on else [()] * self.n
            out = ([[sum(map(mul, [row[k] for k in on], col)) for col in cols] for row in W],
                   [sum(row[k] * cp[k] for k in on) + bj * self.scales[l] for row, bj in zip(W, b)])
        self._cache[l] = (key, out)
        return out

    def row(self, bits, key):
        """The strict row ``(a, rhs)`` named `key` (a fixed position, or ``d<k>`` of a polytope)."""
        if self.kind == "polytope" and _DOMAIN_ROW.match(key):
            k = int(key[1:]) if int(key[1:]) < len(self.domain[0]) else _fail(f"domain row {key!r} does not exist")
            return self.domain[0][k], self.domain[1][k]
        p = int(key) if _POSITION.match(key) else _fail(f"key {key[:40]!r} is neither a neuron nor a domain row")
        if p >= len(bits) or bits[p] == "*":
            _fail(f"row {p} is not fixed by {bits!r}")
        l = self.layer_of[p]
        if "*" in bits[: self.offsets[l]]:
            _fail(f"row {p} needs every earlier layer fixed in {bits!r}")
        g, cj = (m[p - self.offsets[l]] for m in self.maps(bits, l))
        if bits[p] == "1":
            return [-v for v in g], cj
        if cj == 0 and not any(g):
            _fail(f"row {p} is identically zero on {bits!r}: it is no constraint")
        return g, -cj

    def check_empty(self, bits, y):
        """`y` proves the partial pattern `bits` empty (see the module docstring)."""
        v, s, positive = [0] * self.n, 0, False
        for key, value in (y.items() if type(y) is dict else _fail(f"the multipliers of {bits!r} are no object")):
            m = _integer(value, f"multiplier {key[:20]!r} of {bits!r}", 0)
            a, rhs = self.row(bits, key)
            if m:
                v, s, positive = [vi + m * ai for vi, ai in zip(v, a)], s + m * rhs, True
        if not positive:
            _fail(f"the multipliers of {bits!r} are all zero")
        if not below_support(self.kind, self.domain, v, s):
            _fail(f"the certificate of {bits!r} does not prove emptiness")

    def inside(self, num, den):
        """Whether ``num / den`` lies in the open domain."""
        kind, dom = self.kind, self.domain
        if kind in ("whole", "polytope"):
            return kind == "whole" or all(sum(map(mul, a, num)) < rhs * den for a, rhs in zip(*dom))
        if kind == "box":
            return all(lo * den < dom[0] * x < hi * den for x, lo, hi in zip(num, dom[1], dom[2]))
        diff = [dom[0] * x - c * den for x, c in zip(num, dom[1])]  # (x - c) den_domain den
        r = dom[2] * den
        return sum(abs(t) for t in diff) < r if kind == "l1" else sum(t * t for t in diff) < r * r

    def proven(self, points):
        """Per region ``(line, bits, q, X)``: float64 proves that ``X / q`` has the pattern. The integer pass
        (``h^0 = X``, ``s_0 = q``; ``u^l = W^l h^{l-1} + b^l s_{l-1}`` has the sign of ``z^l``; ``h^l = u^l`` on
        the on neurons, else 0; ``s_l = D_l s_{l-1}``), every input exact in float64, obeys in the standard model
        (each operation exact times ``1 + d``, ``|d| <= u = 2^-53``; all exact values integers: no underflow;
        any order of summation, fused or not: Higham, *Accuracy and Stability*, 3.1; ``m`` the fan-in)
        ``|fl(u^l) - u^l| <= gamma_{m+1} (|W^l| |fl(h^{l-1})| + |b^l| s_{l-1}) + |W^l| E^{l-1} =: E^l``, ``E^0 = 0``,
        ``gamma_k = k u / (1 - k u) <= (k + 1) u``; proven: ``fl(u) > F E`` on, ``< -F E`` off (``FILTER_FACTOR``)."""
        B, L = len(points), len(self.layers)
        flat = _floats([v for _, _, q, X in points for v in (*X, *(q * s for s in self.scales[:L]))])
        if self.floats is None or flat is None or not B:  # then every point of the batch is checked exactly
            return np.zeros(B, dtype=bool)
        h, scale = np.reshape(flat, (B, -1))[:, : self.n], np.reshape(flat, (B, -1))[:, self.n:]
        err, good = np.zeros_like(h), np.ones(B, dtype=bool)
        beta = np.frombuffer("".join(p[1] for p in points).encode(), dtype=np.uint8).reshape(B, -1) == ord("1")
        with np.errstate(over="ignore", invalid="ignore"):
            for l, (Wf, Wa, bf, ba) in enumerate(self.floats):
                s, on = scale[:, l, None], beta[:, self.offsets[l]: self.offsets[l + 1]]
                u = h @ Wf.T + s * bf
                bound = FILTER_FACTOR * ((Wf.shape[1] + 2) * 2.0 ** -53 * (np.abs(h) @ Wa.T + s * ba) + err @ Wa.T)
                good &= np.all(np.where(on, u > bound, u < -bound) & np.isfinite(bound), axis=1)
                h, err = np.where(on, u, 0.0), np.where(on, bound, 0.0)
        return good

    def check_region(self, bits, den, num):
        """The point ``num / den`` has the pattern `bits` (the exact forward pass)."""
        h, scale = num, den  # h = scale * (the layer's input)
        for l, (D, W, b) in enumerate(self.layers):
            off = self.offsets[l]
            u = [sum(map(mul, row, h)) + bj * scale for row, bj in zip(W, b)]  # D * scale * z
            for j, uj in enumerate(u):
                on = bits[off + j] == "1"
                if not (uj > 0 if on else uj < 0 or uj == 0 and not any(self.maps(bits, l)[0][j])
                        and self.maps(bits, l)[1][j] == 0):  # z_j identically zero on the region: no constraint
                    _fail(f"neuron {off + j} of region {bits} has the wrong state at its point")
            h = [uj if bits[off + j] == "1" else 0 for j, uj in enumerate(u)]
            scale *= D

    def record(self, rec, out):
        """Check one record (a parsed line) and note what coverage needs in `out`."""
        kind = (_RECORD_KINDS.get(frozenset(rec)) if type(rec) is dict else None) or _fail(
            "the record's keys are not those of a region, an empty branch, a certificate or the trailer")
        if kind == "end":
            return out["ends"].append((out["line"], _count(rec["count"], "count"),
                                       _count(rec["undecided"], "undecided")))
        bits = rec["assign" if kind == "cert" else "region" if kind == "region" else "empty"]
        if type(bits) is not str or len(bits) > self.N or not (_ASSIGN if kind == "cert" else _BITS).match(bits):
            _fail(f"pattern {str(bits)[:40]!r} is not a string of 0, 1{', *' * (kind == 'cert')} of at most {self.N}")
        if kind == "cert":
            self.check_empty(bits, rec["y"])
            last = max(bits.rfind("0"), bits.rfind("1")) + 1  # a ref must agree with its fixed positions: as integers
            mask, value = (int(bits[:last].translate(t) or "0", 2) for t in _MASK)
            return out["certs"].append((_count(rec["cert"], "cert"), (bits, last, mask, value)))
        if kind == "region":
            den, num = _integer(rec["den"], "the point's denominator", 1), _integers(rec["point"], self.n, "point")
            if len(bits) != self.N or not self.inside(num, den):
                _fail(f"region {bits!r} has {len(bits)} bits, not {self.N}" if len(bits) != self.N else
                      f"the point of region {bits} is not inside the domain")
            out["points"].append((out["line"], bits, den, num))
        elif kind == "empty":
            self.check_empty(bits, rec["y"])
        else:
            out["refs"].append((bits, _count(rec["ref"], "ref"), out["line"]))
        out["leaves"].append((int(bits or "0", 2) << (self.N - len(bits)), len(bits), out["line"]))


_WORKER = {}  # the process's checker


def _check_batch(batch):  # check the records [(line number, text)]: what coverage needs, per record kind
    checker = _WORKER["checker"]
    out = {"leaves": [], "certs": [], "refs": [], "ends": [], "line": 0, "points": []}
    try:
        for out["line"], text in batch:
            checker.record(_parsed(text), out)
        for out["line"], bits, den, num in itertools.compress(out["points"], ~checker.proven(out["points"])):
            checker.check_region(bits, den, num)  # the regions the float filter does not prove
    except CertificateError as exc:
        _fail(f"line {out['line']}: {exc}")
    return {**out, "points": None, "regions": len(out["points"]), "line": batch[-1][0]}  # its last line


def _init_worker(network, domain):
    _WORKER["checker"] = _Checker(network, domain)


#: The exact count, the empty branches, the header's specs and their fingerprints.
CheckResult = namedtuple("CheckResult", "count empty network domain network_fingerprint domain_fingerprint")


def check(certificate, network=None, domain=None, *, workers=1) -> CheckResult:
    """Check a certificate exactly: its :class:`CheckResult`, or :class:`CertificateError`. `network` and
    `domain` (specs in the header's form, as ``polyregions.exact.spec`` writes them), when given, must be
    the header's. `workers` processes check the records in batches of ``BATCH``."""
    lines = _lines(certificate)
    header = _parsed(next(lines, None) or _fail(f"`certificate` {str(certificate)!r} is empty"),
                     "line 1 is not a JSON certificate header")
    _keys(header, {"format", "version", "network", "domain"}, "the header")
    if header["format"] != FORMAT or header["version"] != VERSION:
        _fail(f"the header is not {FORMAT} version {VERSION}")
    net_spec, dom_spec = header["network"], header["domain"]
    _init_worker(net_spec, dom_spec)  # validates both
    for given, held, what in ((network, net_spec, "network"), (domain, dom_spec, "domain")):
        if given is not None and fingerprint(given) != fingerprint(held):
            _fail(f"the certificate is about another {what} (sha256 {fingerprint(held)[:16]}..., "
                  f"given {fingerprint(given)[:16]}...)")
    numbered = enumerate(lines, start=2)
    batches = iter(lambda: list(itertools.islice(numbered, BATCH)), [])  # [(line number, text)] until the end
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, _init_worker, (net_spec, dom_spec)) if workers > 1 else contextlib.nullcontext() as pool:
        parts = list((pool.imap if pool else map)(_check_batch, batches))
    N = _WORKER["checker"].N
    ends = [end for p in parts for end in p["ends"]]
    if len(ends) != 1 or ends[0][0] != max((p["line"] for p in parts), default=1):
        _fail("the certificate must end with exactly one trailer {count, undecided} (truncated?)")
    if ends[0][2]:
        _fail(f"the certifier left {ends[0][2]} branches undecided: the certificate proves no count")
    certs = dict(c for p in parts for c in p["certs"])
    if len(certs) != sum(len(p["certs"]) for p in parts):
        _fail("a certificate id is defined twice")
    for bits, cid, lineno in (ref for p in parts for ref in p["refs"]):
        assign, last, mask, value = certs[cid] if cid in certs else _fail(f"line {lineno}: no certificate {cid}")
        if len(bits) < last or (int(bits[:last] or "0", 2) ^ value) & mask:
            _fail(f"line {lineno}: {bits!r} does not extend the assignment {assign!r} of certificate {cid}")
    count, leaves, position = sum(p["regions"] for p in parts), sorted(leaf for p in parts for leaf in p["leaves"]), 0
    for start, length, lineno in leaves:
        if start != position:
            what = "covers patterns already covered" if start < position else "leaves a gap before it"
            _fail(f"line {lineno}: the pattern prefix of length {length} {what} (coverage fails)")
        position += 1 << (N - length)
    if position != 1 << N:
        _fail("the regions and empty branches do not cover every pattern (coverage fails at the end)")
    if ends[0][1] != count:
        _fail(f"the trailer claims {ends[0][1]} regions but the certificate proves {count}")
    return CheckResult(count, len(leaves) - count, net_spec, dom_spec, fingerprint(net_spec), fingerprint(dom_spec))


def main(argv=None):
    """``python checker.py CERTIFICATE [--workers K]``: exit 0 with the verdict, 2 with the reason."""
    p = argparse.ArgumentParser(description="Check a polyregions certificate in exact arithmetic.")
    p.add_argument("certificate"), p.add_argument("--workers", type=int, default=1)
    try:
        r = check((args := p.parse_args(argv)).certificate, workers=max(1, args.workers))
        print(f"network : sha256 {r.network_fingerprint}\ndomain  : sha256 {r.domain_fingerprint} "
              f"{json.dumps(r.domain)}\nverdict : exact: the network has {r.count:,} regions in the domain")
    except CertificateError as exc:
        return print(f"check: error: {exc}", file=sys.stderr) or 2


if __name__ == "__main__":
    sys.exit(main())
