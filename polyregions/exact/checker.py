"""An independent checker of certified counts: exact arithmetic with :mod:`fractions` only.

``check(certificate_file, network_file)`` re-derives everything it needs from the
network file (read with :func:`polyregions.model.io.load_network`; numpy only holds the
weights, each read as the exact rational a float64 is) and from the certificate's header
(the exact domain), and checks every line of the certificate written by
``count_regions(..., certify=True, certificate=...)`` (format in
:class:`polyregions.exact.certifier.CertificateWriter`):

* a region ``bits`` with the rational point ``x``: ``x`` is strictly inside the domain
  (rows ``A x < b``; an L1 ball by ``sum |x - c| < r``), and layer by layer every on
  neuron has ``z_j(x) > 0`` and every off neuron ``z_j(x) < 0`` or an identically zero
  affine map ``z_j`` on the region (its row and constant after the pattern's
  substitution both exactly 0);
* an empty partial pattern with multipliers ``y``: ``y >= 0``, ``y != 0``, and over the
  strict rows it names (a fixed neuron: ``-z_j < 0`` on, ``z_j < 0`` off, never an
  identically zero off neuron; domain row ``k``) ``sum y_i a_i = 0`` and
  ``sum y_i b_i <= 0`` (Motzkin's transposition theorem: the strict system is empty);
  a shared certificate holds for every partial pattern that agrees with its assignment;
  in an L2 ball ``|x - c| < r`` a certificate marked ``ball`` instead needs ``y >= 0``,
  ``y != 0`` and ``y^T (A c - b) >= r |A^T y|`` (checked squared, with ``y^T (A c - b) >= 0``):
  the half-space ``y^T A x < y^T b`` implied by the rows misses the open ball;
* coverage: the patterns of the regions and the empty prefixes form a complete prefix
  code (no one a prefix of another, and ``sum 2^-length = 1``), so every pattern is
  counted once or lies in a certified empty branch: the count is exact.

Domain rows, in order: the header's ``A x < b`` rows; none for the L2 ball; for an L1 ball, in ``(x, u)``,
``x_k - u_k < c_k`` and ``-x_k - u_k < -c_k`` for each ``k``, then ``sum_k u_k < r``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction

from ..errors import CertificateError
from ..model.io import load_network

__all__ = ["CheckResult", "check"]

FORMAT = "polyregions-certificate/1"


@dataclass
class CheckResult:
    """``count``: regions whose point was checked; ``empty``: checked empty branches;
    ``complete``: the regions and empty branches cover every pattern (the count is then
    exact); ``domain``: the exact domain of the header; ``claimed``: the trailer's count."""

    count: int
    empty: int
    complete: bool
    domain: dict
    claimed: int | None


class _Checker:
    def __init__(self, net, header):
        self.W = [[[Fraction(float(v)) for v in row] for row in W] for W, _ in net.hidden]
        self.b = [[Fraction(float(v)) for v in b] for _, b in net.hidden]
        self.widths = [len(b) for b in self.b]
        self.n = net.input_dim
        if header.get("format") != FORMAT:
            raise CertificateError(f"`certificate_file` is not a {FORMAT} file")
        if header.get("widths") != self.widths or header.get("input_dim") != self.n:
            raise CertificateError("`certificate_file` was written for another network (widths or input dimension differ)")
        self.offsets = [0]
        for w in self.widths:
            self.offsets.append(self.offsets[-1] + w)
        self.N = self.offsets[-1]
        self.domain = header["domain"]
        self._build_domain()
        self._maps = {}

    def _build_domain(self):
        d, n = self.domain, self.n
        kind = d.get("kind")
        self.lift = 0
        if kind == "whole":
            self.rows = []
        elif kind == "rows":
            self.rows = [([Fraction(v) for v in a], Fraction(r)) for a, r in zip(d["A"], d["b"])]
        elif kind == "l2":
            self.center, self.radius = [Fraction(v) for v in d["center"]], Fraction(d["radius"])
            self.rows = []
        elif kind == "l1":
            self.lift = n
            c, r = [Fraction(v) for v in d["center"]], Fraction(d["radius"])
            self.center, self.radius = c, r
            self.rows = []
            for k in range(n):
                for sign in (1, -1):
                    a = [Fraction(0)] * (2 * n)
                    a[k], a[n + k] = Fraction(sign), Fraction(-1)
                    self.rows.append((a, sign * c[k]))
            self.rows.append(([Fraction(0)] * n + [Fraction(1)] * n, r))
        else:
            raise CertificateError(f"`certificate_file` has an unknown domain kind {kind!r}")

    def layer_of(self, p):
        for l in range(len(self.widths)):
            if p < self.offsets[l + 1]:
                return l, p - self.offsets[l]
        raise CertificateError(f"row {p} is beyond the network's {self.N} neurons")

    def maps(self, bits, l):
        """``(G, c)``: layer `l`'s pre-activations ``z = G x + c`` under the bits of earlier layers."""
        key = bits[: self.offsets[l]]
        if key in self._maps:
            return self._maps[key]
        if l == 0:
            out = (self.W[0], self.b[0])
        else:
            G, c = self.maps(bits, l - 1)
            beta = [ch == "1" for ch in bits[self.offsets[l - 1]: self.offsets[l]]]
            Gh = [row if on else [Fraction(0)] * self.n for row, on in zip(G, beta)]
            ch = [v if on else Fraction(0) for v, on in zip(c, beta)]
            W, b = self.W[l], self.b[l]
            out = ([[sum((W[i][k] * Gh[k][q] for k in range(len(Gh))), Fraction(0)) for q in range(self.n)]
                    for i in range(len(W))],
                   [sum((W[i][k] * ch[k] for k in range(len(ch))), Fraction(0)) + b[i] for i in range(len(W))])
        if len(self._maps) > 4096:
            self._maps.clear()
        self._maps[key] = out
        return out

    def neuron_row(self, bits, p):
        l, j = self.layer_of(p)
        if self.offsets[l] > len(bits) or p >= len(bits) or "*" in bits[: self.offsets[l]] or bits[p] == "*":
            raise CertificateError(f"row {p} is not fixed by the partial pattern {bits!r}")
        G, c = self.maps(bits, l)
        pad = [Fraction(0)] * self.lift
        if bits[p] == "1":
            return [-v for v in G[j]] + pad, c[j]
        if c[j] == 0 and not any(G[j]):
            raise CertificateError(f"row {p} is identically zero on {bits!r}: it is not a constraint")
        return list(G[j]) + pad, -c[j]

    def check_multipliers(self, bits, y, ball=False):
        total = [Fraction(0)] * (self.n + self.lift)
        rhs = Fraction(0)
        gap = Fraction(0)  # y^T (A c - b), for the L2 ball's projection form
        positive = False
        for key, v in y.items():
            v = Fraction(v)
            if v < 0:
                raise CertificateError(f"negative multiplier on row {key} of {bits!r}")
            positive |= v > 0
            if key.startswith("d"):
                a, r = self.rows[int(key[1:])]
            else:
                a, r = self.neuron_row(bits, int(key))
            total = [t + v * ai for t, ai in zip(total, a)]
            rhs += v * r
            if ball:
                gap += v * (sum(ai * ci for ai, ci in zip(a, self.center)) - r)
        if ball:
            if self.domain["kind"] != "l2":
                raise CertificateError(f"an L2-ball certificate for {bits!r} in a {self.domain['kind']} domain")
            proves = positive and gap >= 0 and gap * gap >= self.radius ** 2 * sum(t * t for t in total)
        else:
            proves = positive and not any(total) and rhs <= 0
        if not proves:
            raise CertificateError(f"the certificate of {bits!r} does not prove emptiness")

    def check_region(self, bits, x):
        if len(bits) != self.N:
            raise CertificateError(f"region {bits!r} is not a full pattern of {self.N} bits")
        kind = self.domain["kind"]
        if kind == "rows" and not all(sum(ai * xi for ai, xi in zip(a, x)) < r for a, r in self.rows):
            raise CertificateError(f"the point of region {bits} is not inside the domain")
        if kind == "l1" and not sum(abs(xi - ci) for xi, ci in zip(x, self.center)) < self.radius:
            raise CertificateError(f"the point of region {bits} is not inside the L1 ball")
        if kind == "l2" and not sum((xi - ci) ** 2 for xi, ci in zip(x, self.center)) < self.radius ** 2:
            raise CertificateError(f"the point of region {bits} is not inside the L2 ball")
        h = x
        for l in range(len(self.widths)):
            W, b = self.W[l], self.b[l]
            z = [sum((wi * hi for wi, hi in zip(row, h)), Fraction(0)) + bi for row, bi in zip(W, b)]
            for j, zj in enumerate(z):
                on = bits[self.offsets[l] + j] == "1"
                ok = zj > 0 if on else zj < 0
                if not ok and not on and zj == 0:
                    G, c = self.maps(bits, l)
                    ok = c[j] == 0 and not any(G[j])
                if not ok:
                    raise CertificateError(f"neuron {self.offsets[l] + j} of region {bits} has the wrong state")
            h = [zj if bits[self.offsets[l] + j] == "1" else Fraction(0) for j, zj in enumerate(z)]


def check(certificate_file, network_file) -> CheckResult:
    """Check the certificate of a certified count exactly (see the module docstring).

    Raises
    ------
    CertificateError
        Naming the first line that fails, or the coverage that fails.
    """
    net = load_network(network_file)
    shared = {}
    prefixes = []
    count = empty = 0
    claimed = None
    with open(certificate_file) as f:
        header = json.loads(f.readline() or "{}")
        checker = _Checker(net, header)
        for lineno, line in enumerate(f, start=2):
            rec = json.loads(line)
            try:
                if "region" in rec:
                    den = Fraction(rec["den"])
                    x = [Fraction(v) / den for v in rec["num"]]
                    checker.check_region(rec["region"], x)
                    prefixes.append(rec["region"])
                    count += 1
                elif "cert" in rec:
                    checker.check_multipliers(rec["assign"], rec["y"], rec.get("ball", False))
                    shared[rec["cert"]] = rec["assign"]
                elif "empty" in rec:
                    bits = rec["empty"]
                    if len(bits) > checker.N or set(bits) - {"0", "1"}:
                        raise CertificateError(f"{bits!r} is not a partial pattern of {checker.N} bits")
                    if "ref" in rec:
                        assign = shared[rec["ref"]]
                        if any(a != "*" and (i >= len(bits) or bits[i] != a) for i, a in enumerate(assign)):
                            raise CertificateError(f"{bits!r} does not extend the assignment of certificate {rec['ref']}")
                    else:
                        checker.check_multipliers(bits, rec["y"], rec.get("ball", False))
                    prefixes.append(bits)
                    empty += 1
                elif "count" in rec:
                    claimed = rec["count"]
            except (KeyError, ValueError, TypeError) as err:
                raise CertificateError(f"line {lineno} of `certificate_file` is malformed: {err!r}") from None
            except CertificateError as err:
                raise CertificateError(f"line {lineno}: {err}") from None
    prefixes.sort()
    for a, b in zip(prefixes, prefixes[1:]):
        if b.startswith(a):
            raise CertificateError(f"pattern {a!r} is covered twice (also by {b!r})")
    N = checker.N
    complete = sum(1 << (N - len(p)) for p in prefixes) == 1 << N
    if claimed is not None and claimed != count:
        raise CertificateError(f"the certificate claims {claimed} regions but holds {count}")
    return CheckResult(count, empty, complete, checker.domain, claimed)
