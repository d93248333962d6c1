"""A network and a domain as exact integer data: the strict systems of partial patterns.

Layer ``l`` is ``W^l = Wi^l / D_l``, ``b^l = bi^l / D_l`` with integer ``Wi^l, bi^l`` over the
least common denominator ``D_l`` (a power of 2 for float64 weights; any positive integer for
rational ones: :mod:`polyregions.exact.spec`). For a pattern ``beta`` of the layers before
``l`` the pre-activations of layer ``l`` are, up to the positive factor
``S_l = D_1 ... D_l``, the integer affine map

    S_l z^l = G_l x + c_l,   G_1 = Wi^1,  c_1 = bi^1,
    G_l = Wi^l diag(beta^{l-1}) G_{l-1},   c_l = Wi^l diag(beta^{l-1}) c_{l-1} + bi^l S_{l-1}

(SPEC section 2). A fixed neuron adds the strict row ``-(G x + c) < 0`` when on and
``G x + c < 0`` when off, except that an off neuron whose row and constant are exactly 0 is
identically zero on the node and adds nothing. The domain's interior adds strict rows too
(its closure's rows are equivalent for deciding emptiness, since a pattern's strict set
is open). An L2 ball adds no rows (see :mod:`polyregions.exact.certifier`). An L1 ball is lifted: ``x - c < u``,
``c - x < u``, ``sum u < r`` in ``(x, u)``. Rows are integer, so certificates are integers too.
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import lcm
from operator import mul

import numpy as np

from .checker import validate_domain, validate_network
from .point_filter import SIGN_FILTER_FACTOR, PointFilter
from .spec import domain_spec, exact_point, network_spec


try:  # exact integer matrix products in C (the extra "exact"); numpy object arrays are the fallback
    import flint
except ImportError:  # pragma: no cover - depends on the environment
    flint = None

__all__ = ["ExactNetwork", "FLINT_PRODUCT_FROM", "SIGN_FILTER_FACTOR", "SIGN_FILTER_FROM_DIM", "USE_FLINT",
           "integer_product", "integer_row"]

#: Use python-flint's ``fmpz_mat`` for the layers' integer maps when it is installed ...
USE_FLINT = flint is not None
#: ... for products of at least this many multiplications (below it the conversions to and from
#: flint cost more than numpy's object arrays save).
FLINT_PRODUCT_FROM = 50000

#: From this input dimension on the sign filter (:mod:`polyregions.exact.point_filter`) runs first
#: on a single point (below it the exact forward pass in Python integers costs less than numpy's
#: per-call overhead); many points at once (:meth:`ExactNetwork.points_in_regions`) go through the
#: filter in any dimension.
SIGN_FILTER_FROM_DIM = 32


def integer_row(values):
    """The rationals `values` scaled by a positive integer to integers (a list of ints)."""
    fr = [Fraction(v) for v in values]
    den = lcm(*(f.denominator for f in fr)) if fr else 1
    return [int(f * den) for f in fr]


def integer_product(A, B):
    """The exact product ``A B`` of two object arrays of Python integers (an object array of ints):
    through python-flint's ``fmpz_mat`` for large products when it is installed (:data:`USE_FLINT`,
    :data:`FLINT_PRODUCT_FROM`), else numpy's object arrays."""
    (m, k), n = A.shape, B.shape[1]
    if USE_FLINT and k and m * k * n >= FLINT_PRODUCT_FROM:  # (no empty product: flint cannot shape it)
        product = (flint.fmpz_mat(A.tolist()) * flint.fmpz_mat(B.tolist())).tolist()
        return np.array([[int(v) for v in row] for row in product], dtype=object).reshape(m, n)
    return A.dot(B)


def _row_norms(G):
    """Floating-point Euclidean norms of the rows of the integer matrix `G` (no overflow however
    large its integers)."""
    try:
        Gf = np.array(G, dtype=float).reshape(len(G), -1)
        if np.all(np.abs(Gf) < 1e150):
            return np.sqrt(np.einsum("ij,ij->i", Gf, Gf))
    except OverflowError:
        pass
    out = []
    for row in G:
        top = max((abs(int(v)) for v in row), default=0).bit_length()
        shift = max(top - 64, 0)
        out.append(math.ldexp(math.sqrt(sum(float(int(v) >> shift) ** 2 for v in row)), shift))
    return np.array(out)


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


class ExactNetwork:
    """The exact integer affine maps of `net`'s layers per partial pattern, and the domain's rows.

    Built from the certificate's specs (:mod:`polyregions.exact.spec`), so its rows are the
    checker's rows, integer for integer. ``offsets[l]``: the position of layer ``l``'s first
    neuron in a pattern; ``layer_of(p)``: ``(l, j)`` of position ``p``; ``maps(bits, l)``:
    ``(G_l, c_l)`` (object arrays) for the pattern ``bits`` of the layers before ``l`` (cached);
    ``neuron_row(bits, p, bit)``: one fixed neuron's strict row (``fixed_rows``: several, with
    the float norms of their ``a``); ``rows(bits)``: the strict system of a partial pattern with the domain's rows, as
    integer lists ``(A, b, keys)``, ``keys`` naming each row (a position, or ``"d<k>"``).
    ``kind``: the domain's kind; a certificate keeps the multipliers of the neuron rows (and
    of a polytope's rows): the checker bounds a box or a ball by its support function.
    """

    def __init__(self, net, domain, cache_size: int = 4096):
        self.network_spec, self.domain_spec = network_spec(net), domain_spec(domain)
        self.dim, layers = validate_network(self.network_spec)
        self.kind, self.domain_data = validate_domain(self.domain_spec, self.dim)
        self.layers = [(np.array(W, dtype=object), np.array(b, dtype=object), den) for den, W, b in layers]
        self.int_layers = [(W, b, den) for den, W, b in layers]
        self.widths = [len(b) for _, b, _ in self.layers]
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)]).astype(int).tolist()
        self.n_bits = self.offsets[-1]
        if self.kind in ("l1", "l2"):
            den, center, radius = self.domain_data
            self.center, self.radius = [Fraction(c, den) for c in center], Fraction(radius, den)
        #: ``(center, radius)`` of an L2 ball (it has no rows: its certificates are of their own kind)
        self.ball = (self.center, self.radius) if self.kind == "l2" else None
        self.lift = self.dim if self.kind == "l1" else 0
        self.domain_A, self.domain_b = self._domain_rows()
        self.box_rows = self._box_rows()
        self._domain_keys = [f"d{k}" for k in range(len(self.domain_b))]
        self._domain_unit = _unit_rows(list(zip(self.domain_A, self.domain_b)))
        self._cache = {}
        self._cache_size = cache_size
        self._layer_index = [(l, j) for l, w in enumerate(self.widths) for j in range(w)]
        self.point_filter = PointFilter(self.int_layers)
        self._scales = [1]
        for _, _, den in self.layers:
            self._scales.append(self._scales[-1] * den)

    def _domain_rows(self):
        """The domain's strict integer rows (``d<k>``): a polytope's own, a box's ``den x_k < hi_k`` and
        ``-den x_k < -lo_k``; an L1 ball lifted to ``(x, u)``: ``den x_k - den u_k < c_k``,
        ``-den x_k - den u_k < -c_k``, ``den sum u < r``; none for the L2 ball and the whole space."""
        kind, n = self.kind, self.dim
        if kind in ("whole", "l2"):
            return [], []
        if kind == "polytope":
            return [list(row) for row in self.domain_data[0]], list(self.domain_data[1])
        out_A, out_b = [], []
        if kind == "box":
            den, lo, hi = self.domain_data
            for k in range(n):
                for sign, bound in ((1, hi[k]), (-1, -lo[k])):
                    row = [0] * n
                    row[k] = sign * den
                    out_A.append(row)
                    out_b.append(bound)
            return out_A, out_b
        den, c, r = self.domain_data
        for k in range(n):
            for sign in (1, -1):
                row = [0] * (2 * n)
                row[k], row[n + k] = sign * den, -den
                out_A.append(row)
                out_b.append(sign * c[k])
        out_A.append([0] * n + [den] * n)
        out_b.append(r)
        return out_A, out_b

    def _box_rows(self):
        """For a box: ``((lo keys, lo, lo coefficients), (hi keys, hi, hi coefficients))`` with the
        integer rows ``-l_k x_k < L_k`` (``lo_k = -L_k / l_k``) and ``h_k x_k < H_k``
        (``hi_k = H_k / h_k``); else None."""
        if self.kind != "box":
            return None
        n = self.dim
        den, lo, hi = self.domain_data
        return ((tuple(f"d{2 * k + 1}" for k in range(n)), tuple(Fraction(v, den) for v in lo), (den,) * n),
                (tuple(f"d{2 * k}" for k in range(n)), tuple(Fraction(v, den) for v in hi), (den,) * n))

    def certificate_keys(self, keys):
        """The keys a written certificate keeps: neuron positions, and a polytope's rows."""
        return [k for k in keys if not isinstance(k, str) or self.kind == "polytope"]

    def layer_of(self, p):
        return self._layer_index[p]

    def maps(self, bits, l):
        """``(G_l, c_l)`` for the first ``offsets[l]`` bits of `bits` (object arrays of ints)."""
        return self._layer(bits, l)[:2]

    def _layer(self, bits, l):
        """``[G_l, c_l, on rows, off rows, row norms, on unit rows, off unit rows, G_l and c_l as
        lists]`` for the pattern ``bits[:offsets[l]]`` (cached; the unit
        rows are filled in by :meth:`rows`, when asked for)."""
        key = tuple(bits[: self.offsets[l]])
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if l == 0:
            Wi, bi, _ = self.layers[0]
            G, c = Wi, bi
        else:
            Gp, cp = self._layer(bits, l - 1)[:2]
            on = np.flatnonzero(bits[self.offsets[l - 1]: self.offsets[l]])  # the off neurons' columns are 0
            Wi, bi, _ = self.layers[l]
            Wb = Wi[:, on]
            G, c = integer_product(Wb, Gp[on]), Wb.dot(cp[on]) + bi * self._scales[l]
        pad = [0] * self.lift
        Gl, cl = G.tolist(), c.tolist()
        on = [([-v for v in g] + pad, cj) for g, cj in zip(Gl, cl)]
        off = [None if cj == 0 and not any(g) else (g + pad, -cj) for g, cj in zip(Gl, cl)]
        out = [G, c, on, off, _row_norms(G).tolist(), None, None, Gl, cl]
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = out
        return out

    def neuron_row(self, bits, p, bit):
        """The strict row ``(a, b)`` of position `p` with state `bit` (None: identically zero, off)."""
        l, j = self._layer_index[p]
        layer = self._layer(bits, l)
        return layer[2][j] if bit else layer[3][j]

    def fixed_rows(self, bits, items):
        """For each ``(position, state)`` of `items` (positions of `bits`, or of the layer that
        `bits` completes the earlier layers of): ``(a, b, norm)``, the strict row and the
        floating-point norm of its ``a``; None when one of them is identically zero (off)."""
        out, here, index = [], {}, self._layer_index
        for p, bit in items:
            l, j = index[p]
            layer = here.get(l)
            if layer is None:
                layer = here[l] = self._layer(bits, l)
            row = layer[2][j] if bit else layer[3][j]
            if row is None:
                return None
            out.append((row[0], row[1], layer[4][j]))
        return out

    def rows(self, bits, positions=None, extra=()):
        """The strict system of the partial pattern `bits` (all its positions, or `positions`),
        the rows ``extra`` = ``[(position, bit)]`` first, and the domain's rows:
        ``(A, b, keys, F)`` with integer ``A, b``, ``keys`` naming each row (a position or
        ``"d<k>"``) and ``F`` the floating-point unit rows ``[a | b] / |a|``."""
        A, b, keys, F = [], [], [], []
        chosen = [(p, bit) for p, bit in extra]
        chosen += [(p, bits[p]) for p in (range(len(bits)) if positions is None else positions)]
        here = {}  # the layers' maps, looked up once per layer
        for p, bit in chosen:
            l, j = self._layer_index[p]
            layer = here.get(l)
            if layer is None:
                layer = here[l] = self._layer(bits, l)
                if layer[5] is None:
                    layer[5], layer[6] = _unit_rows(layer[2]), _unit_rows(layer[3])
            row = layer[2][j] if bit else layer[3][j]
            if row is not None:
                A.append(row[0])
                b.append(row[1])
                keys.append(p)
                F.append(layer[5][j] if bit else layer[6][j])
        A += self.domain_A
        b += self.domain_b
        keys += self._domain_keys
        F += self._domain_unit
        return A, b, keys, F

    def point_in_region(self, bits, x) -> bool:
        """Whether the rational point `x` lies in the open region of the full pattern `bits`
        inside the open domain (exact)."""
        return self.integer_point_in_region(bits, *exact_point([float(v) if isinstance(v, np.floating) else v
                                                                 for v in x]))

    def points_in_regions(self, points) -> list:
        """:meth:`integer_point_in_region` of many ``(bits, X, den)`` at once: the domain tested with
        integers, then the proven float filter of :mod:`polyregions.exact.point_filter` on all of
        them in one pass, and the exact forward pass for those it does not prove."""
        inside = [self._in_domain([Fraction(v, den) for v in X] if self.kind in ("l1", "l2") else None, X, den)
                  for _, X, den in points]
        chosen = [p for p, ok in zip(points, inside) if ok]
        proven = iter(self.point_filter.passes([b for b, _, _ in chosen], [X for _, X, _ in chosen],
                                               [d for _, _, d in chosen]).tolist())
        return [ok and (next(proven) or self.integer_point_in_region(bits, X, den))
                for (bits, X, den), ok in zip(points, inside)]

    def integer_point_in_region(self, bits, X, den) -> bool:
        """:meth:`point_in_region` of the point ``X / den`` (integers, ``den > 0``)."""
        x = [Fraction(v, den) for v in X] if self.kind in ("l1", "l2") else None
        if not self._in_domain(x, X, den):
            return False
        if self.dim >= SIGN_FILTER_FROM_DIM and self.point_filter.passes([bits], [X], [den])[0]:
            return True
        h, scale = X, den  # the exact forward pass with the pattern's states, in integers: h = scale * h^l
        for l, (W, b, D) in enumerate(self.int_layers):
            off = self.offsets[l]
            if 0 < l and self.dim < self.widths[l - 1]:  # through the layer's map: G_l X + c_l den = D scale z^l
                layer = self._layer(bits, l)
                u = [sum(map(mul, row, X)) + cj * den for row, cj in zip(layer[7], layer[8])]
            else:
                u = [sum(map(mul, row, h)) + bj * scale for row, bj in zip(W, b)]  # = D scale z^l
            states = bits[off: off + len(u)]
            if len(states) != len(u):
                raise ValueError(f"bits: {len(bits)} states for a network of {self.n_bits} neurons")
            for j, (uj, on) in enumerate(zip(u, states)):
                if (uj <= 0) if on else (uj >= 0 and (uj > 0 or not self._identically_zero(bits, l, j))):
                    return False
            h = [uj if on else 0 for uj, on in zip(u, states)]
            scale *= D
        return True

    def _identically_zero(self, bits, l, j):
        G, c = self.maps(bits, l)
        return c[j] == 0 and not any(G[j])

    def _in_domain(self, x, X, den):
        """Whether ``x = X / den`` lies in the open domain (integer rows; an L1 ball by its norm)."""
        if self.kind == "whole":
            return True
        if self.kind == "box":
            dden, lo, hi = self.domain_data
            return all(l * den < dden * v < h * den for v, l, h in zip(X, lo, hi))
        if self.kind == "polytope":
            return all(sum(a * v for a, v in zip(row, X)) < rhs * den for row, rhs in zip(self.domain_A, self.domain_b))
        if self.kind == "l2":
            return sum((v - c) ** 2 for v, c in zip(x, self.center)) < self.radius ** 2
        return sum(abs(v - c) for v, c in zip(x, self.center)) < self.radius
