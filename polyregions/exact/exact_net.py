"""A network and a domain as exact integer data: the strict systems of partial patterns.

Every float64 is a dyadic rational, so layer ``l`` is ``W^l = Wi^l / 2^e_l``,
``b^l = bi^l / 2^e_l`` with integer ``Wi^l, bi^l``. For a pattern ``beta`` of the layers
before ``l`` the pre-activations of layer ``l`` are, up to the positive factor
``S_l = 2^(e_1 + ... + e_l)``, the integer affine map

    S_l z^l = G_l x + c_l,   G_1 = Wi^1,  c_1 = bi^1,
    G_l = Wi^l diag(beta^{l-1}) G_{l-1},   c_l = Wi^l diag(beta^{l-1}) c_{l-1} + bi^l S_{l-1}

(SPEC section 2). A fixed neuron adds the strict row ``-(G x + c) < 0`` when on and
``G x + c < 0`` when off, except that an off neuron whose row and constant are exactly 0 is
identically zero on the node and adds nothing. The domain's interior adds strict rows too
(its closure's rows are equivalent for deciding emptiness, since a pattern's strict set
is open). An L2 ball adds no rows (see :mod:`polyregions.exact.certifier`). An L1 ball is lifted: ``x - c < u``, ``c - x < u``, ``sum u < r`` in ``(x, u)``.
Rows are integer (each scaled by a positive integer), so certificates are integers too.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

import numpy as np


__all__ = ["ExactNetwork", "integer_row"]


def integer_row(values):
    """The rationals `values` scaled by a positive integer to integers (a list of ints)."""
    fr = [Fraction(v) for v in values]
    den = lcm(*(f.denominator for f in fr)) if fr else 1
    return [int(f * den) for f in fr]


def _row_scale(row, ints):
    """The positive integer ``s`` with ``ints = s * row`` (``row`` not all zero)."""
    k = next(i for i, v in enumerate(row) if v != 0)
    return int(Fraction(ints[k]) / Fraction(row[k]))


def _unit_rows(rows):
    """Floating-point ``[a | b] / |a|`` of the integer rows (``[0 | sign b]`` for a zero ``a``; None kept)."""
    out = []
    for row in rows:
        if row is None:
            out.append(None)
            continue
        a, b = row
        top = max(max(abs(v) for v in a), abs(b)).bit_length()
        shift = 1 << max(top - 64, 0)  # no float overflow however large the integers
        v = np.array([x / shift for x in a] + [b / shift])
        norm = np.linalg.norm(v[:-1])
        out.append(v / norm if norm > 0 else np.sign(v))
    return out


def _dyadic_layer(W, b):
    """``(Wi, bi, e)`` with ``W = Wi / 2^e`` and ``b = bi / 2^e`` exactly (object arrays of ints)."""
    vals = [Fraction(float(v)) for v in np.concatenate([W.ravel(), b.ravel()])]
    den = lcm(*(v.denominator for v in vals)) if vals else 1
    Wi = np.array([int(Fraction(float(v)) * den) for v in W.ravel()], dtype=object).reshape(W.shape)
    bi = np.array([int(Fraction(float(v)) * den) for v in b.ravel()], dtype=object)
    return Wi, bi, den


class ExactNetwork:
    """The exact integer affine maps of `net`'s layers per partial pattern, and the domain's rows.

    ``offsets[l]``: the position of layer ``l``'s first neuron in a pattern;
    ``layer_of(p)``: ``(l, j)`` of position ``p``; ``maps(bits, l)``: ``(G_l, c_l)`` (object
    arrays) for the pattern ``bits`` of the layers before ``l`` (cached);
    ``rows(bits)``: the strict system of a partial pattern with the domain's rows, as
    integer lists ``(A, b, keys)``, ``keys`` naming each row (a position, or ``"d<k>"``).
    """

    def __init__(self, net, domain, cache_size: int = 4096):
        self.layers = [_dyadic_layer(np.asarray(W, float), np.asarray(b, float)) for W, b in net.hidden]
        self.widths = [W.shape[0] for W, _ in net.hidden]
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)]).astype(int).tolist()
        self.n_bits = self.offsets[-1]
        self.dim = net.input_dim
        self.spec = domain.exact_spec()  # rows, an L1 or L2 ball, or the whole space, as rationals
        #: ``(center, radius)`` of an L2 ball (it has no rows: its certificates are of their own kind)
        self.ball = (self.spec["center"], self.spec["radius"]) if self.spec["kind"] == "l2" else None
        self.lift = self.dim if self.spec["kind"] == "l1" else 0
        self.domain_scale = []
        self.domain_A, self.domain_b = self._domain_rows()
        self.box_rows = self._box_rows()
        self._domain_keys = [f"d{k}" for k in range(len(self.domain_b))]
        self._domain_unit = _unit_rows(list(zip(self.domain_A, self.domain_b)))
        self._cache = {}
        self._cache_size = cache_size
        self._layer_index = [(l, j) for l, w in enumerate(self.widths) for j in range(w)]
        self._scales = [1]
        for _, _, den in self.layers:
            self._scales.append(self._scales[-1] * den)

    def _domain_rows(self):
        spec, n = self.spec, self.dim
        if spec["kind"] in ("whole", "l2"):
            return [], []
        if spec["kind"] == "rows":
            out_A, out_b = [], []
            for row, rhs in zip(spec["A"], spec["b"]):
                ints = integer_row(list(row) + [rhs])
                out_A.append(ints[:-1])
                out_b.append(ints[-1])
                self.domain_scale.append(_row_scale(list(row) + [rhs], ints))
            return out_A, out_b
        c, r = spec["center"], spec["radius"]  # l1: x_k - u_k < c_k, -x_k - u_k < -c_k, sum u < r
        out_A, out_b = [], []
        for k in range(n):
            for sign in (1, -1):
                row = [0] * (2 * n)
                row[k], row[n + k] = sign, -1
                ints = integer_row(row + [sign * c[k]])
                out_A.append(ints[:-1])
                out_b.append(ints[-1])
                self.domain_scale.append(_row_scale(row + [sign * c[k]], ints))
        ints = integer_row([0] * n + [1] * n + [r])
        out_A.append(ints[:-1])
        out_b.append(ints[-1])
        self.domain_scale.append(_row_scale([0] * n + [1] * n + [r], ints))
        return out_A, out_b

    def _box_rows(self):
        """For a box (every domain row bounds one coordinate): ``((lo keys, lo, lo coefficients),
        (hi keys, hi, hi coefficients))`` with the integer rows ``-l_k x_k < L_k`` (``lo_k = -L_k / l_k``)
        and ``h_k x_k < H_k`` (``hi_k = H_k / h_k``); else None."""
        n = self.dim
        lo, hi = [None] * n, [None] * n
        for i, (a, rhs) in enumerate(zip(self.domain_A, self.domain_b)):
            nz = [k for k, v in enumerate(a) if v != 0]
            if len(nz) != 1 or nz[0] >= n:
                return None
            k = nz[0]
            if a[k] > 0:
                hi[k] = (f"d{i}", Fraction(rhs, a[k]), a[k])
            else:
                lo[k] = (f"d{i}", Fraction(rhs, a[k]), -a[k])
        if any(v is None for v in lo + hi):
            return None
        return tuple((tuple(e[0] for e in side), tuple(e[1] for e in side), tuple(e[2] for e in side))
                     for side in (lo, hi))

    def row_scale(self, key):
        """The positive integer by which the row named `key` (a position, or ``"d<k>"``) is the
        integer multiple of its canonical form: ``z_j`` itself, or the domain's row ``k``."""
        if isinstance(key, str):
            return self.domain_scale[int(key[1:])]
        l, _ = self.layer_of(key)
        return self._scales[l + 1]

    def layer_of(self, p):
        return self._layer_index[p]

    def maps(self, bits, l):
        """``(G_l, c_l)`` for the first ``offsets[l]`` bits of `bits` (object arrays of ints)."""
        return self._layer(bits, l)[:2]

    def _layer(self, bits, l):
        """``(G_l, c_l, on rows, off rows)`` for the pattern ``bits[:offsets[l]]`` (cached)."""
        key = tuple(bits[: self.offsets[l]])
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if l == 0:
            Wi, bi, _ = self.layers[0]
            G, c = Wi, bi
        else:
            Gp, cp = self._layer(bits, l - 1)[:2]
            beta = np.array(bits[self.offsets[l - 1]: self.offsets[l]], dtype=object)
            Wi, bi, _ = self.layers[l]
            Wb = Wi * beta[None, :]
            G, c = Wb.dot(Gp), Wb.dot(cp) + bi * self._scales[l]
        pad = [0] * self.lift
        on = [([-int(v) for v in g] + pad, int(cj)) for g, cj in zip(G, c)]
        off = [None if cj == 0 and not any(g) else ([int(v) for v in g] + pad, -int(cj)) for g, cj in zip(G, c)]
        out = (G, c, on, off, _unit_rows(on), _unit_rows(off))
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = out
        return out

    def neuron_row(self, bits, p, bit):
        """The strict row ``(a, b)`` of position `p` with state `bit` (None: identically zero, off)."""
        l, j = self._layer_index[p]
        layer = self._layer(bits, l)
        return layer[2][j] if bit else layer[3][j]

    def rows(self, bits, positions=None, extra=()):
        """The strict system of the partial pattern `bits` (all its positions, or `positions`),
        the rows ``extra`` = ``[(position, bit)]`` first, and the domain's rows:
        ``(A, b, keys, F)`` with integer ``A, b``, ``keys`` naming each row (a position or
        ``"d<k>"``) and ``F`` the floating-point unit rows ``[a | b] / |a|``."""
        A, b, keys, F = [], [], [], []
        chosen = [(p, bit) for p, bit in extra]
        chosen += [(p, bits[p]) for p in (range(len(bits)) if positions is None else positions)]
        for p, bit in chosen:
            l, j = self._layer_index[p]
            layer = self._layer(bits, l)
            row = layer[2][j] if bit else layer[3][j]
            if row is not None:
                A.append(row[0])
                b.append(row[1])
                keys.append(p)
                F.append(layer[4][j] if bit else layer[5][j])
        A += self.domain_A
        b += self.domain_b
        keys += self._domain_keys
        F += self._domain_unit
        return A, b, keys, F

    def point_in_region(self, bits, x) -> bool:
        """Whether the rational point `x` lies in the open region of the full pattern `bits`
        inside the open domain (exact)."""
        x = [Fraction(v) for v in x]
        den = lcm(*(v.denominator for v in x))
        X = np.array([int(v * den) for v in x], dtype=object)
        if not self._in_domain(x, X, den):
            return False
        for l in range(len(self.widths)):
            G, c = self.maps(bits, l)
            z = G.dot(X) + c * den
            for j, zj in enumerate(z):
                on = bits[self.offsets[l] + j]
                if on and not zj > 0:
                    return False
                if not on and zj > 0:
                    return False
                if not on and zj == 0 and (c[j] != 0 or any(G[j])):
                    return False
        return True

    def _in_domain(self, x, X, den):
        """Whether ``x = X / den`` lies in the open domain (integer rows; an L1 ball by its norm)."""
        kind = self.spec["kind"]
        if kind == "whole":
            return True
        if kind == "rows":
            return all(sum(a * v for a, v in zip(row, X)) < rhs * den for row, rhs in zip(self.domain_A, self.domain_b))
        if kind == "l2":
            return sum((v - c) ** 2 for v, c in zip(x, self.spec["center"])) < self.spec["radius"] ** 2
        return sum(abs(v - c) for v, c in zip(x, self.spec["center"])) < self.spec["radius"]
