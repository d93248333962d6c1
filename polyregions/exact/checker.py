"""A standalone checker of certified region counts (``polyregions-certificate`` versions 2 and 3), in Python's standard
library and numpy alone (``python checker.py CERTIFICATE [--workers K]``): exact integer arithmetic or float bounds
with a proof; ``docs/certificates.md`` gives the formats and the theorem behind each check."""

import argparse
import contextlib
import gzip
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import re
import sys
import zlib
from collections import namedtuple
from operator import mul

import numpy as np

__all__ = ["FORMAT", "MAGIC", "SHIFT_MAX", "TEXT_VERSION", "VERSION", "CertificateError", "CheckResult",
           "below_support", "check", "fingerprint", "main", "validate_domain", "validate_network"]

FORMAT, VERSION, TEXT_VERSION = "polyregions-certificate", 3, 2  # versions: the binary container, the JSON lines
MAGIC = b"\x89PRCERT\n"  # a version 3 certificate's first 8 bytes (then its version, uint32 little-endian; its blocks)
BATCH = 2000  # records checked per task when the check runs over several processes (a bulk block is one task)
FILTER_FACTOR = 8.0  # a float pre-activation's sign is proven beyond this many times its error bound (> its rounding)
SHIFT_MAX = (1 << 14) - 1  # a bulk multiplier is val * 2^shift with 0 <= shift <= SHIFT_MAX (the shift array: <u2)
_HEX = re.compile(r"-?(0|[1-9a-f][0-9a-f]*)\Z")
_BITS, _ASSIGN = re.compile(r"[01]*\Z"), re.compile(r"[01*]*\Z")
_POSITION, _DOMAIN_ROW = re.compile(r"(0|[1-9][0-9]{0,9})\Z"), re.compile(r"d(0|[1-9][0-9]{0,9})\Z")
_MASK = (str.maketrans("01*", "110"), str.maketrans("*", "0"))  # an assignment's fixed positions, its values
_DOMAIN_KEYS = {"box": {"kind", "den", "lo", "hi"}, "l1": {"kind", "den", "center", "radius"},
                "l2": {"kind", "den", "center", "radius"}, "polytope": {"kind", "A", "b"}, "whole": {"kind"}}
_RECORD_KINDS = {frozenset(k.split()): name for k, name in [("region den point", "region"), ("empty y", "empty"),
                 ("empty ref", "ref"), ("cert assign y", "cert"), ("count undecided", "end")]}
#: Bulk arrays: name, dtype, shape (R rows, W = ceil(N / 8) packed bytes, P multipliers; empt's shift: optional)
_ARRAYS = {b"regs": [("bits", "|u1", "RW"), ("points", "<f8", "Rn")], b"empt": [("bits", "|u1", "RW"), ("length", "<i4",
           "R"), ("ptr", "<i8", "+"), ("pos", "<i4", "P"), ("val", "<i8", "P"), ("shift", "<u2", "P")]}

class CertificateError(ValueError):
    """The certificate is malformed or does not prove its count; the message is one line."""
def _fail(message):
    raise CertificateError(message)

def _integer(value, what, low=None, kind=str):  # a hexadecimal string (no prefix, no leading zero), or a JSON int
    if type(value) is not kind or kind is str and not _HEX.match(value):
        _fail(f"{what} must be a {'hexadecimal integer string' if kind is str else 'JSON integer'}, got "
              f"{str(value)[:40]!r}")
    number = int(value, 16) if kind is str else value
    return number if low is None or number >= low else _fail(f"{what} must be at least {low}, got {number}")

def _integers(values, length, what):  # a list of `length` hexadecimal integers (length None: one or more entries)
    if type(values) is not list or (len(values) != length if length is not None else not values):
        _fail(f"{what} must be a list of {length if length is not None else 'one or more'} entries")
    return values if length is None else [_integer(v, f"{what}[{k}]") for k, v in enumerate(values)]

def _keys(obj, expected, what):
    type(obj) is dict and set(obj) == set(expected) or _fail(f"{what} must have exactly the keys {sorted(expected)}, "
                                                             f"got {sorted(obj) if type(obj) is dict else type(obj)}")

def _floats(ints):  # the integers in float64, NaN for each one not exact there
    return [float(v) if abs(v) < 1 << 1000 and float(v) == v else math.nan for v in ints]

def _lowest_terms(numbers, what):  # one spelling per network and domain: their fingerprints are unique
    math.gcd(*numbers) == 1 or _fail(f"{what} is not in lowest terms (its integers share a factor)")

def validate_network(spec):
    """``(input_dim, [(D, Wn, bn), ...])`` of a network spec, every field checked."""
    _keys(spec, {"input_dim", "activation", "layers"}, "network")
    n, layers = _integer(spec["input_dim"], "network.input_dim", 1, int), []
    if spec["activation"] != "relu":
        _fail(f"network.activation is {str(spec['activation'])[:40]!r}: this checker knows 'relu' only")
    for l, layer in enumerate(_integers(spec["layers"], None, "network.layers")):
        fan_in, at = len(layers[-1][1]) if layers else n, f"network.layers[{l}]"
        _keys(layer, {"den", "weight", "bias"}, at)
        W = [_integers(r, fan_in, f"{at}.weight[{j}]") for j, r in enumerate(_integers(layer["weight"], None, at))]
        den, b = _integer(layer["den"], f"{at}.den", 1), _integers(layer["bias"], len(W), f"{at}.bias")
        _lowest_terms([den, *b, *(v for row in W for v in row)], at)
        layers.append((den, W, b))
    return n, layers

def validate_domain(spec, n):
    """The domain spec as ``(kind, data)`` with integers, every field checked (dimension `n`)."""
    kind = spec.get("kind") if type(spec) is dict else None
    kind in _DOMAIN_KEYS or _fail(f"domain.kind must be one of {sorted(_DOMAIN_KEYS)}, got {str(kind)[:40]!r}")
    _keys(spec, _DOMAIN_KEYS[kind], "domain")
    if kind == "whole":
        return kind, None
    if kind == "polytope":
        A = [_integers(row, n, f"domain.A[{k}]") for k, row in enumerate(_integers(spec["A"], None, "domain.A"))]
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
        return _DECODER.decode(text.decode())
    except ValueError as exc:  # UnicodeDecodeError too
        _fail(f"{what}: {str(exc).splitlines()[0][:80]}")

def _blocks(data):  # the (tag, payload) blocks of a version 3 file: tag (4 bytes), size (uint64 LE), zlib stream
    at = len(MAGIC) + 4
    while at < len(data):
        tag, size, at, unzip = data[at: at + 4], int.from_bytes(data[at + 4: at + 12], "little"), at + 12, None
        if tag not in (b"head", b"json", *_ARRAYS) or at + size > len(data):
            _fail(f"the block at byte {at - 12} has an unknown tag {tag!r} or is truncated")
        with contextlib.suppress(zlib.error):
            payload = (unzip := zlib.decompressobj()).decompress(data[at: at + size])
        unzip and unzip.eof and not unzip.unused_data or _fail(f"the block at byte {at - 12} is no whole zlib stream")
        yield tag, payload
        at += size

def _bulk(tag, payload, N, n):  # a bulk block's arrays, every field checked, the bits unpacked to (R, N)
    f, dims, out = io.BytesIO(payload), {"W": (N + 7) // 8, "n": n}, []
    try:
        while len(out) < len(_ARRAYS[tag]) and (len(out) < 5 or f.tell() < len(payload)):  # empt: shift optional
            out.append(np.lib.format.read_array(f, allow_pickle=False))
    except (ValueError, OSError, EOFError) as exc:
        _fail(f"the arrays of a {tag.decode()} block cannot be read: {str(exc)[:80]}")
    for (name, dtype, shape), a in zip(_ARRAYS[tag], out):
        dims.update({"R": len(out[0]), "+": len(out[0]) + 1})
        want = tuple(dims.get(s, -1) for s in shape)
        if a.dtype != np.dtype(dtype) or a.shape != want:
            _fail(f"the {tag.decode()} array {name} must be {dtype} of shape {want}, got {a.dtype} {a.shape}")
        dims["P"] = int(a[-1]) if name == "ptr" else dims.get("P")
    f.read(1) and _fail(f"the {tag.decode()} block holds more than its arrays")
    bits = np.unpackbits(out[0], axis=1)
    bits[:, N:].any() and _fail(f"a {tag.decode()} pattern has bits set beyond its {N} positions")
    if tag == b"regs":
        return [bits[:, :N], out[1]] if np.isfinite(out[1]).all() else _fail("a region's point is not finite")
    _, length, ptr, pos, val, shift = out if len(out) == 6 else [*out, np.zeros(len(out[4]), "<u2")]
    if ((length < 0) | (length > N)).any() or (np.diff(ptr) < 1).any() or (val < 1).any() or (shift > SHIFT_MAX).any():
        _fail(f"an empty branch has a prefix length outside [0, N], no multiplier, one below 1 or shift > {SHIFT_MAX}")
    (bits[:, :N] * (np.arange(N) >= length[:, None])).any() and _fail("an empty branch has bits beyond its prefix")
    return [bits[:, :N], length, ptr, pos, val, shift]

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
        self.N, self._cache = self.offsets[-1], [(None, None)] * len(self.layers)
        self.layer_of = [l for l, (_, W, _) in enumerate(self.layers) for _ in W]
        exact = [(_floats([v for row in W for v in row]), _floats(b)) for _, W, b in self.layers]
        self.floats = None if np.isnan([v for W, b in exact for v in W + b]).any() else [  # (W, |W|, b, |b|)
            (W, np.abs(W), b, np.abs(b)) for W, b in ((np.reshape(W, (len(b), -1)), np.array(b)) for W, b in exact)]
        self.weights = np.array([1 << (self.N - 1 - k) for k in range(self.N)], np.int64 if self.N < 62 else object)
    def maps(self, bits, l):  # ``(G_l, c_l)`` under the bits of the layers before ``l`` (the last one per layer kept).
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
        """The strict row ``(a, rhs)`` named `key`: a fixed position (an int or its decimal text), or ``d<k>``."""
        if type(key) is str and self.kind == "polytope" and _DOMAIN_ROW.match(key):
            k = int(key[1:]) if int(key[1:]) < len(self.domain[0]) else _fail(f"domain row {key!r} does not exist")
            return self.domain[0][k], self.domain[1][k]
        p = key if type(key) is int else int(key) if _POSITION.match(key) else _fail(
            f"key {key[:40]!r} is neither a neuron nor a domain row")
        if not 0 <= p < len(bits) or bits[p] == "*" or "*" in bits[: self.offsets[self.layer_of[p]]]:
            _fail(f"position {p} is not fixed by {bits!r}, with every earlier layer")
        g, cj = (m[p - self.offsets[self.layer_of[p]]] for m in self.maps(bits, self.layer_of[p]))
        if bits[p] == "1":
            return [-v for v in g], cj
        (cj == 0 and not any(g)) and _fail(f"row {p} is identically zero on {bits!r}: it is no constraint")
        return g, -cj
    def check_empty(self, bits, pairs):
        """The multipliers ``[(row key, y_i)]`` prove the partial pattern `bits` empty (``docs/certificates.md``)."""
        v, s, positive = [0] * self.n, 0, False
        for key, m in pairs:
            a, rhs = self.row(bits, key)
            if m:
                v, s, positive = [vi + m * ai for vi, ai in zip(v, a)], s + m * rhs, True
        if not positive:
            _fail(f"the multipliers of {bits!r} are all zero")
        below_support(self.kind, self.domain, v, s) or _fail(f"the certificate of {bits!r} does not prove emptiness")
    def inside(self, num, den):  # Whether ``num / den`` lies in the open domain.
        kind, dom = self.kind, self.domain
        if kind in ("whole", "polytope"):
            return kind == "whole" or all(sum(map(mul, a, num)) < rhs * den for a, rhs in zip(*dom))
        if kind == "box":
            return all(lo * den < dom[0] * x < hi * den for x, lo, hi in zip(num, dom[1], dom[2]))
        diff, r = [dom[0] * x - c * den for x, c in zip(num, dom[1])], dom[2] * den  # (x - c) den_domain den
        return sum(abs(t) for t in diff) < r if kind == "l1" else sum(t * t for t in diff) < r * r
    def proven(self, points):
        """Per region ``(line, bits, q, X)``: float64 proves that ``X / q`` has the pattern (the integer pass, every
        input exact in float64: ``fl(u^l)`` within ``E^l`` of ``u^l``, ``docs/certificates.md``; ``F = FILTER_FACTOR``:
        proven when ``fl(u) > F E`` on every on neuron, ``< -F E`` off)."""
        B, L = len(points), len(self.layers)
        flat = np.reshape(_floats([v for _, _, q, X in points for v in (*X, *(q * s for s in self.scales[:L]))]),
                          (B, self.n + L))
        h, scale, good = flat[:, : self.n], flat[:, self.n:], np.full(B, self.floats is not None)
        err = np.zeros_like(h)
        beta = np.frombuffer("".join(p[1] for p in points).encode(), dtype=np.uint8).reshape(B, self.N) == ord("1")
        with np.errstate(over="ignore", invalid="ignore"):
            for l, (Wf, Wa, bf, ba) in enumerate(self.floats or []):
                s, on = scale[:, l, None], beta[:, self.offsets[l]: self.offsets[l + 1]]
                u = h @ Wf.T + s * bf
                bound = FILTER_FACTOR * ((Wf.shape[1] + 2) * 2.0 ** -53 * (np.abs(h) @ Wa.T + s * ba) + err @ Wa.T)
                good &= np.all(np.where(on, u > bound, u < -bound) & np.isfinite(bound), axis=1)
                h, err = np.where(on, u, 0.0), np.where(on, bound, 0.0)
        return good
    def check_region(self, bits, den, num):  # The point ``num / den`` has the pattern `bits` (the exact forward pass).
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
    def record(self, rec, out):  # Check one record (a parsed line) and note what coverage needs in `out`.
        kind = (_RECORD_KINDS.get(frozenset(rec)) if type(rec) is dict else None) or _fail(
            "the record's keys are not those of a region, an empty branch, a certificate or the trailer")
        if kind == "end":
            return out["ends"].append((out["line"], _integer(rec["count"], "count", 0, int),
                                       _integer(rec["undecided"], "undecided", 0, int)))
        bits = rec["assign" if kind == "cert" else "region" if kind == "region" else "empty"]
        if type(bits) is not str or len(bits) > self.N or not (_ASSIGN if kind == "cert" else _BITS).match(bits):
            _fail(f"pattern {str(bits)[:40]!r} is not a string of 0, 1{', *' * (kind == 'cert')} of at most {self.N}")
        if kind in ("cert", "empty"):
            y = rec["y"] if type(rec["y"]) is dict else _fail(f"the multipliers of {bits!r} are no object")
            self.check_empty(bits, [(k, _integer(m, f"multiplier {k[:20]!r} of {bits!r}", 0)) for k, m in y.items()])
        if kind == "cert":
            last = max(bits.rfind("0"), bits.rfind("1")) + 1  # a ref must agree with its fixed positions: as integers
            mask, value = (int(bits[:last].translate(t) or "0", 2) for t in _MASK)
            return out["certs"].append((_integer(rec["cert"], "cert", 0, int), (bits, last, mask, value)))
        if kind == "region":
            len(bits) == self.N or _fail(f"region {bits!r} has {len(bits)} bits, not {self.N}")
            out["points"].append((out["line"], bits, _integer(rec["den"], "the point's denominator", 1),
                                  _integers(rec["point"], self.n, "point")))
        elif kind == "ref":
            out["refs"].append((bits, _integer(rec["ref"], "ref", 0, int), out["line"]))
        out["leaves"].append((int(bits or "0", 2) << (self.N - len(bits)), len(bits), out["line"]))
    def bulk(self, tag, base, beta, *arrays, out):  # a bulk block's regions or empty branches, rows from `base`
        texts = (beta + 48).view(f"S{self.N}").ravel().astype(f"U{self.N}").tolist()
        lengths = arrays[0] if tag == b"empt" else np.full(len(beta), self.N)
        ptr, pos, val, shift = (a.tolist() for a in arrays[1:]) if tag == b"empt" else (None,) * 4
        for r, (bits, x) in enumerate(zip(texts, arrays[0].tolist())):
            out["line"] = base + r
            if tag == b"regs":
                ratios = [v.as_integer_ratio() for v in x]
                den = max(d for _, d in ratios)  # their least common multiple: powers of two
                out["points"].append((out["line"], bits, den, [v * (den // d) for v, d in ratios]))
            else:
                s, t = ptr[r], ptr[r + 1]
                self.check_empty(bits[:x], zip(pos[s:t], map(int.__lshift__, val[s:t], shift[s:t])))  # val 2^shift
        out["bulk"].append((beta.astype(self.weights.dtype) @ self.weights, lengths, base + np.arange(len(beta))))

_WORKER = {}  # the process's checker and the word naming a record ("line" or "record")

def _check_task(task):  # check one task (text records, or a bulk block): what coverage needs, per record kind
    out = {"leaves": [], "bulk": [], "certs": [], "refs": [], "ends": [], "points": [], "line": task[1]}
    checker = _WORKER["checker"]
    try:
        for out["line"], text in task[2] if task[0] == "text" else ():  # text records, or a bulk block
            checker.record(_parsed(text), out)
        task[0] == "text" or checker.bulk(*task, out=out)
        for (out["line"], bits, den, num), good in zip(out["points"], checker.proven(out["points"])):
            checker.inside(num, den) or _fail(f"the point of region {bits} is not inside the domain")
            good or checker.check_region(bits, den, num)  # the float filter, else the exact forward pass
    except CertificateError as exc:
        _fail(f"{_WORKER['unit']} {out['line']}: {exc}")
    out["bulk"].append(np.array(out["leaves"], dtype=checker.weights.dtype).reshape(-1, 3).T)  # start, length, where
    last = task[2][-1][0] if task[0] == "text" else task[1] + len(task[2]) - 1
    return {**out, "points": None, "leaves": None, "regions": len(out["points"]), "line": last}
def _init_worker(network, domain, unit="line"):
    _WORKER.update(checker=_Checker(network, domain), unit=unit)

def _tasks(blocks, N, n, record):  # the tasks of the blocks after the header; records numbered from record + 1
    for tag, payload in blocks:
        tag == b"head" and _fail(f"record {record}: a second header block")
        lines = payload.split(b"\n") if tag == b"json" else _bulk(tag, payload, N, n)
        if tag == b"json":
            lines.pop() == b"" or _fail(f"record {record + len(lines)}: a block of records must end in a newline")
            yield from (("text", record + 1, list(enumerate(lines[i: i + BATCH], start=record + 1 + i)))
                        for i in range(0, len(lines), BATCH))
        else:
            yield (tag, record + 1, *lines)
        record += len(lines if tag == b"json" else lines[0])

def _open(path):  # (header, version, the (tag, payload) blocks after the header; a text file's lines: one json block)
    try:
        with open(path, "rb") as f:
            data = f.read()
        data = gzip.GzipFile(fileobj=io.BytesIO(data)).read() if data[:2] == b"\x1f\x8b" else data  # its members
    except (OSError, EOFError, zlib.error) as exc:
        _fail(f"`certificate` {str(path)!r} cannot be read: {type(exc).__name__}: {exc}")
    if data[: len(MAGIC)] != MAGIC:
        head, _, rest = data.partition(b"\n") if data else _fail(f"`certificate` {str(path)!r} is empty")
        return _parsed(head, "line 1 is not a JSON certificate header"), TEXT_VERSION, iter([(b"json", rest)])
    tag, head = next(blocks := _blocks(data), (None, b""))
    tag == b"head" or _fail("the first block of a binary certificate must be its header")
    return _parsed(head, "the header block is not JSON"), int.from_bytes(data[8:12], "little"), blocks

def _coverage(N, parts, unit):  # every pattern lies in exactly one region or empty prefix (sorted intervals)
    start, length, where = (np.concatenate([np.zeros(0, np.int64), *(b[k] for p in parts for b in p["bulk"])])
                            for k in range(3))
    order = np.argsort(start, kind="stable")
    start, length, where = start[order], length[order], where[order]
    size = np.left_shift(np.ones(len(start), dtype=start.dtype), N - length)
    expected = np.concatenate([np.zeros(1, start.dtype), (start + size)[:-1]])
    for i in np.flatnonzero(start != expected)[:1].tolist():
        what = "covers patterns already covered" if start[i] < expected[i] else "leaves a gap before it"
        _fail(f"{unit} {where[i]}: the pattern prefix of length {length[i]} {what} (coverage fails)")
    if not len(start) or start[-1] != (1 << N) - size[-1]:
        _fail("the regions and empty branches do not cover every pattern (coverage fails at the end)")
    return len(start)

CheckResult = namedtuple("CheckResult", "count empty network domain network_fingerprint domain_fingerprint")

def check(certificate, network=None, domain=None, *, workers=1) -> CheckResult:
    """Check a certificate exactly: its :class:`CheckResult`, or :class:`CertificateError`. `network` and `domain`
    (specs as ``polyregions.exact.spec`` writes them), when given, must be the header's; `workers` processes."""
    header, version, blocks = _open(certificate)
    _keys(header, {"format", "version", "network", "domain"}, "the header")
    if header["format"] != FORMAT or header["version"] != version or version not in (VERSION, TEXT_VERSION):
        _fail(f"the header is not {FORMAT} version {TEXT_VERSION} (text) or {VERSION} (binary)")
    net_spec, dom_spec, unit = header["network"], header["domain"], "line" if version == TEXT_VERSION else "record"
    _init_worker(net_spec, dom_spec, unit)  # validates both
    for given, held, what in ((network, net_spec, "network"), (domain, dom_spec, "domain")):
        given is None or fingerprint(given) == fingerprint(held) or _fail(
            f"the certificate is about another {what} (sha256 {fingerprint(held)[:16]}..., "
            f"given {fingerprint(given)[:16]}...)")
    N, ctx = _WORKER["checker"].N, multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    tasks = _tasks(blocks, N, _WORKER["checker"].n, 1 if version == TEXT_VERSION else 0)  # line 1: the header
    with ctx.Pool(workers, _init_worker, (net_spec, dom_spec, unit)) if workers > 1 else contextlib.nullcontext() as p:
        parts = list((p.imap if p else map)(_check_task, tasks))
    ends = [end for p in parts for end in p["ends"]]
    if len(ends) != 1 or ends[0][0] != max((p["line"] for p in parts), default=1):
        _fail("the certificate must end with exactly one trailer {count, undecided} (truncated?)")
    ends[0][2] and _fail(f"the certifier left {ends[0][2]} branches undecided: the certificate proves no count")
    certs = dict(c for p in parts for c in p["certs"])
    len(certs) == sum(len(p["certs"]) for p in parts) or _fail("a certificate id is defined twice")
    for bits, cid, lineno in (ref for p in parts for ref in p["refs"]):
        assign, last, mask, value = certs[cid] if cid in certs else _fail(f"{unit} {lineno}: no certificate {cid}")
        if len(bits) < last or (int(bits[:last] or "0", 2) ^ value) & mask:
            _fail(f"{unit} {lineno}: {bits!r} does not extend the assignment {assign!r} of certificate {cid}")
    leaves, count = _coverage(N, parts, unit), sum(p["regions"] for p in parts)
    ends[0][1] == count or _fail(f"the trailer claims {ends[0][1]} regions but the certificate proves {count}")
    return CheckResult(count, leaves - count, net_spec, dom_spec, fingerprint(net_spec), fingerprint(dom_spec))

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
