"""An exact rational reference counter of activation regions, for tiny networks.

Written for the tests, independently of polyregions' search, solvers and tolerances:
every number is a :class:`fractions.Fraction` (a float argument is read as the exact
value of the double), every node is decided by an exact LP (a dense simplex tableau over
the rationals with Bland's rule), and the L2 ball is decided by an exact Euclidean
projection (active-set enumeration, exact in tiny dimensions).

What is counted: the patterns ``sigma`` for which
``{x in int D : pattern(x) = sigma}`` contains a Euclidean ball of radius larger than
``eps``; with ``eps = 0``, the patterns whose region has a non-empty interior. Neurons are
fixed layer by layer; a neuron whose pre-activation is identically constant on a node
(its row of the node's affine map is exactly zero) is on when the constant is positive
and off otherwise, and does not branch. Any other neuron branches into the half-spaces
``-g . x <= c`` (on) and ``g . x <= -c`` (off).

The node test. With the node's rows ``a_i . x <= b_i`` and the domain's rows,

    T = max t  s.t.  a_i . x + t w_i <= b_i,  t <= 1

where ``w_i = |a_i|`` makes ``T`` the radius of the largest ball inside the node (capped
at 1, as polyregions caps it in the whole space). ``eps = 0`` needs only the sign of
``T``, and any positive weights give the same sign: ``w_i = 1``, exactly. For ``eps > 0``
the norms are irrational: ``T`` is computed with rational lower and upper bounds of every
norm (within ``2**-NORM_BITS``), which bound the true ``T`` from both sides; a node whose
two bounds fall on different sides of ``eps`` raises :class:`Undecided`.

The L2 ball ``|x - c| < r``: a ball ``B(x, eps)`` lies in the node and the ball exactly
when ``a_i . x <= b_i - eps |a_i|`` and ``|x - c| <= r - eps``. The node is kept when the
strict system ``a_i . x < b_i - eps |a_i|`` is feasible (an LP as above) and the squared
distance from ``c`` to its closure is below ``(r - eps)**2`` (an exact projection).
An L1 ball is its ``2**n`` facets ``s . (x - c) <= r`` (``s`` a sign vector, ``|s| =
sqrt(n)``: exact, since the largest L1 norm over ``B(x, t)`` is ``|x - c|_1 + t sqrt(n)``).

Practical for up to about three inputs and ten neurons.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

__all__ = ["NORM_BITS", "Undecided", "compose_slice", "exact_domain", "exact_patterns", "exact_count",
           "exact_slice_patterns", "max_inball", "projection_distance2"]

#: Precision of the rational bounds of an irrational norm: ``2**-NORM_BITS``.
NORM_BITS = 200


class Undecided(ArithmeticError):
    """A node's inscribed radius lies within the norm bounds' precision of ``eps``."""


# ---------------------------------------------------------------------- rationals


def frac(v) -> Fraction:
    """`v` as an exact Fraction (a float is read as the exact value of the double)."""
    if isinstance(v, Fraction):
        return v
    if isinstance(v, str):
        return Fraction(v)
    if isinstance(v, int):
        return Fraction(v)
    return Fraction(float(v))


def frac_vector(v) -> list:
    return [frac(x) for x in v]


def frac_matrix(m) -> list:
    return [frac_vector(row) for row in m]


def sqrt_bounds(q: Fraction, bits: int = NORM_BITS) -> tuple:
    """Rationals ``lo <= sqrt(q) <= hi`` with ``hi - lo <= 2**-bits`` (``q >= 0``)."""
    if q < 0:
        raise ValueError("negative argument")
    scale = 1 << bits
    num, den = q.numerator, q.denominator
    # sqrt(num / den) = sqrt(num * den) / den
    s = math.isqrt(num * den * scale * scale)
    lo = Fraction(s, den * scale)
    hi = lo if s * s == num * den * scale * scale else Fraction(s + 1, den * scale)
    return lo, hi


def dot(a, b) -> Fraction:
    return sum((x * y for x, y in zip(a, b)), Fraction(0))


# ---------------------------------------------------------------------- the exact LP


def max_inball(rows, weights, cap=Fraction(1)) -> Fraction:
    """``max t  s.t.  a_i . x + t w_i <= b_i  (i over rows),  t <= cap``, exactly.

    ``rows``: ``[(a_i, b_i)]`` with Fraction entries; ``weights``: ``w_i >= 0``. ``x`` is
    free. The start ``x = 0, t = t0 = min(cap, min_i b_i / w_i)`` is feasible, so one
    phase of the simplex method (Bland's rule, which cannot cycle) from the slack basis
    finds the optimum; the cap keeps the problem bounded.
    """
    n = len(rows[0][0]) if rows else 0
    t0 = cap
    for (a, b), w in zip(rows, weights):
        if w > 0:
            t0 = min(t0, b / w)
        elif b < 0:
            return Fraction(-10**30)  # 0 <= b < 0 for a zero row: no point at all (never used by the counter)
    # variables: x+ (n), x- (n), s = t - t0 >= 0; then one slack per row (rows and the cap)
    m = len(rows) + 1
    nvar = 2 * n + 1
    lhs = [list(a) + [-v for v in a] + [w] for (a, _), w in zip(rows, weights)]
    lhs.append([Fraction(0)] * (2 * n) + [Fraction(1)])
    rhs = [b - t0 * w for (_, b), w in zip(rows, weights)] + [cap - t0]
    tab = [coef + [Fraction(int(k == i)) for k in range(m)] + [r] for i, (coef, r) in enumerate(zip(lhs, rhs))]
    ncol = nvar + m
    basis = [nvar + i for i in range(m)]
    # objective: maximise s; reduced costs of the row "z - s = 0"
    obj = [Fraction(0)] * ncol + [Fraction(0)]
    obj[2 * n] = Fraction(-1)
    while True:
        enter = next((j for j in range(ncol) if obj[j] < 0), None)  # Bland: smallest improving index
        if enter is None:
            break
        best, leave = None, None
        for i in range(m):
            coef = tab[i][enter]
            if coef > 0:
                ratio = tab[i][-1] / coef
                if best is None or ratio < best or (ratio == best and basis[i] < basis[leave]):
                    best, leave = ratio, i
        if leave is None:  # pragma: no cover - the cap row bounds s
            raise AssertionError("unbounded LP despite the cap")
        _pivot(tab, leave, enter)
        f = obj[enter]
        obj = [u - f * v for u, v in zip(obj, tab[leave])]
        basis[leave] = enter
    return t0 + obj[-1]


def _solve(matrix, rhs):
    """Solve the square rational system ``matrix y = rhs``; None when singular."""
    k = len(rhs)
    aug = [list(row) + [r] for row, r in zip(matrix, rhs)]
    for col in range(k):
        piv = next((i for i in range(col, k) if aug[i][col] != 0), None)
        if piv is None:
            return None
        aug[col], aug[piv] = aug[piv], aug[col]
        _pivot(aug, col, col)
    return [aug[i][k] for i in range(k)]


def _pivot(rows, r, col):
    """Gauss-Jordan step in place: scale row `r` to a 1 in column `col`, clear that column elsewhere."""
    p = rows[r][col]
    rows[r] = [v / p for v in rows[r]]
    for i in range(len(rows)):
        if i != r and rows[i][col] != 0:
            f = rows[i][col]
            rows[i] = [u - f * v for u, v in zip(rows[i], rows[r])]


def projection_distance2(rows, center) -> Fraction:
    """The squared Euclidean distance from `center` to the non-empty polyhedron ``{a_i . x <= b_i}``.

    Active-set enumeration: for every subset S of at most n rows with independent normals,
    the point ``x = c - A_S^T lam`` with ``A_S x = b_S`` is the projection exactly when
    ``lam >= 0`` and ``x`` satisfies every row (the KKT conditions, which some such S
    meets: a KKT multiplier with independent support always exists).
    """
    n = len(center)
    for size in range(0, min(n, len(rows)) + 1):
        for subset in itertools.combinations(range(len(rows)), size):
            A_S = [rows[i][0] for i in subset]
            gram = [[dot(a, b) for b in A_S] for a in A_S]
            lam = _solve(gram, [dot(a, center) - rows[i][1] for a, i in zip(A_S, subset)]) if size else []
            if lam is None or any(v < 0 for v in lam):
                continue
            x = [center[k] - sum((lam[s] * A_S[s][k] for s in range(size)), Fraction(0)) for k in range(n)]
            if all(dot(a, x) <= b for a, b in rows):
                return sum(((xk - ck) ** 2 for xk, ck in zip(x, center)), Fraction(0))
    raise ValueError("the polyhedron is empty")  # callers test non-emptiness first


# ---------------------------------------------------------------------- domains


def exact_domain(domain):
    """A polyregions domain (or a tuple) as ``(kind, data)`` with exact rationals.

    Tuples: ``("whole", n)``, ``("box", lo, hi)``, ``("ball", center, radius, p)`` with p in
    {1, 2, "inf"}, ``("polytope", A, b)``. A polyregions domain is read from its attributes.
    """
    if isinstance(domain, tuple):
        kind = domain[0]
    else:
        kind = type(domain).__name__.lower()
        if kind == "whole":
            domain = ("whole", domain.dim)
        elif kind == "box":
            domain = ("box", domain.lo, domain.hi)
        elif kind == "ball":
            domain = ("ball", domain.center, domain.radius, "inf" if math.isinf(domain.p) else int(domain.p))
        elif kind == "polytope":
            domain = ("polytope", domain.A, domain.b)
        else:
            raise ValueError(f"unknown domain {domain!r}")
    if kind == "whole":
        return ("whole", int(domain[1]), [])
    if kind == "box":
        lo, hi = frac_vector(domain[1]), frac_vector(domain[2])
        return ("box", len(lo), _box_rows(lo, hi))
    if kind == "polytope":
        A, b = frac_matrix(domain[1]), frac_vector(domain[2])
        return ("polytope", len(A[0]), list(zip(A, b)))
    if kind == "ball":
        c, r, p = frac_vector(domain[1]), frac(domain[2]), domain[3]
        n = len(c)
        if p in ("inf", math.inf):
            return ("box", n, _box_rows([v - r for v in c], [v + r for v in c]))
        if p == 1:
            rows = []
            for signs in itertools.product((-1, 1), repeat=n):
                s = [Fraction(v) for v in signs]
                rows.append((s, r + dot(s, c)))
            return ("l1", n, rows)
        if p == 2:
            return ("l2", n, [], c, r)
    raise ValueError(f"unknown domain {domain!r}")


def _box_rows(lo, hi):
    n = len(lo)
    rows = []
    for k in range(n):
        e = [Fraction(int(i == k)) for i in range(n)]
        rows.append((e, hi[k]))
        rows.append(([-v for v in e], -lo[k]))
    return rows


# ---------------------------------------------------------------------- the node test


def _norm2(a) -> Fraction:
    return dot(a, a)


def _weights(rows, eps, upper):
    """Row weights: 1 when eps == 0 (only the sign of T matters), else a bound of |a_i|."""
    if eps == 0:
        return [Fraction(1)] * len(rows)
    return [sqrt_bounds(_norm2(a))[1 if upper else 0] for a, _ in rows]


def _keeps(dom, node_rows, eps) -> bool:
    """Does the node (its rows and the domain) contain a ball of radius larger than eps?"""
    kind, n = dom[0], dom[1]
    if kind == "l2":
        return _keeps_l2(dom, node_rows, eps)
    rows = node_rows + dom[2]
    if not rows:
        return True  # the whole space: T = cap = 1 > eps
    if eps == 0:
        return max_inball(rows, _weights(rows, eps, True)) > 0
    low = max_inball(rows, _weights(rows, eps, True))  # larger weights: a smaller T
    if low > eps:
        return True
    high = max_inball(rows, _weights(rows, eps, False))
    if high <= eps:
        return False
    raise Undecided(f"inscribed radius within 2**-{NORM_BITS} of eps = {eps}")


def _keeps_l2(dom, node_rows, eps) -> bool:
    _, n, _, c, r = dom
    if r <= eps:
        return False
    if not node_rows:
        return True
    verdicts = []
    for upper in (True, False):  # inner (larger norms) and outer approximations of R_eps
        w = _weights(node_rows, eps, upper)
        shifted = [(a, b - eps * wi) for (a, b), wi in zip(node_rows, w)]
        # R_eps must have interior (strictly feasible): T > 0 with unit weights
        if max_inball(shifted, [Fraction(1)] * len(shifted)) <= 0:
            verdicts.append(False)
            continue
        verdicts.append(projection_distance2(shifted, c) < (r - eps) ** 2)
    inner, outer = verdicts
    if inner:
        return True
    if not outer:
        return False
    raise Undecided(f"L2 test within 2**-{NORM_BITS} of eps = {eps}")


# ---------------------------------------------------------------------- the counter


def exact_patterns(weights, biases, domain, eps=0) -> set:
    """The set of patterns (tuples of 0/1, layer by layer) of the ReLU network
    ``z^l = W^l h^{l-1} + b^l`` whose region in `domain` contains a ball of radius > `eps`."""
    layers = [(frac_matrix(W), frac_vector(b)) for W, b in zip(weights, biases)]
    if not layers:
        raise ValueError("no layers")
    dom = exact_domain(domain)
    n0 = dom[1]
    if any(len(row) != n0 for row in layers[0][0]):
        raise ValueError("the domain's dimension differs from the network's input")
    eps = frac(eps)
    if not _keeps(dom, [], eps):
        return set()
    identity = [[Fraction(int(i == k)) for k in range(n0)] for i in range(n0)]
    out = set()

    def enter(l, M, m, rows, bits):
        if l == len(layers):
            out.add(tuple(bits))
            return
        W, b = layers[l]
        G = [[dot(w, [M[i][k] for i in range(len(M))]) for k in range(n0)] for w in W]
        c = [dot(w, m) + bj for w, bj in zip(W, b)]
        branch(l, 0, G, c, rows, bits)

    def branch(l, j, G, c, rows, bits):
        if j == len(G):
            nl = len(G)
            beta = bits[len(bits) - nl:]
            M = [[g * beta[i] for g in G[i]] for i in range(nl)]
            m = [c[i] * beta[i] for i in range(nl)]
            enter(l + 1, M, m, rows, bits)
            return
        g, cj = G[j], c[j]
        if all(v == 0 for v in g):
            branch(l, j + 1, G, c, rows, bits + [1 if cj > 0 else 0])
            return
        for bit, row in ((1, ([-v for v in g], cj)), (0, (g, -cj))):
            child = rows + [row]
            if _keeps(dom, child, eps):
                branch(l, j + 1, G, c, child, bits + [bit])

    enter(0, identity, [Fraction(0)] * n0, [], [])
    return out


def exact_count(weights, biases, domain, eps=0) -> int:
    """The number of patterns of :func:`exact_patterns`."""
    return len(exact_patterns(weights, biases, domain, eps))


# ---------------------------------------------------------------------- slices


def compose_slice(weights, biases, origin, U):
    """The network on the slice ``x = origin + U p`` in its slice coordinates ``p``, exactly:
    ``(weights', biases')`` with ``W^1 U`` and ``W^1 origin + b^1`` first (``U`` of shape (n, k))."""
    W = frac_matrix(weights[0])
    origin = frac_vector(origin)
    cols = [frac_vector(col) for col in zip(*U)]
    first = [[dot(row, col) for col in cols] for row in W]
    shift = [dot(row, origin) + c for row, c in zip(W, frac_vector(biases[0]))]
    return [first] + [frac_matrix(w) for w in weights[1:]], [shift] + [frac_vector(b) for b in biases[1:]]


def exact_slice_patterns(weights, biases, origin, U, lo, hi, eps=0, metric=1) -> set:
    """The patterns of the network on the slice ``x = origin + U p``, ``lo <= p <= hi`` (or the
    whole slice when `lo` is None), whose region holds a ball of radius > `eps` in input units.

    The slice coordinates must be conformal: ``|U p| = metric |p|`` for every ``p`` (``U^T U =
    metric^2 I``, `metric` rational), so that radii in ``p`` are radii in input units divided by
    `metric`; with ``eps = 0`` any `U` of full column rank is fine.
    """
    Ws, bs = compose_slice(weights, biases, origin, U)
    k = len(U[0])
    domain = ("whole", k) if lo is None else ("box", list(lo), list(hi))
    return exact_patterns(Ws, bs, domain, frac(eps) / frac(metric))
