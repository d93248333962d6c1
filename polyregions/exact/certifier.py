"""Certified counting: the floating-point search, audited decision by decision in exact arithmetic.

:func:`polyregions.exact.certified_count.count_certified` runs the search of
:mod:`polyregions.search.engine` with an :class:`Auditor` attached. The search reports every branch it drops (a neuron fixed at
layer entry by the constant-row test, the far-hyperplane filter or the prefilter; a
hyperplane that does not cut a node; a child thinner than ``eps``) and every leaf:

* a leaf is counted when a point of its float witness ball, read as the exact dyadic rational
  it is, lies in the open region of the leaf's pattern inside the open domain (checked for
  :data:`LEAF_BATCH` leaves at once by :meth:`ExactNetwork.points_in_regions`: a float64
  forward pass with a proven rounding bound, :mod:`polyregions.exact.point_filter`, and the
  exact forward pass in integers for every point it does not prove);
* a dropped branch gets a transposition certificate for the strict system of its partial
  pattern with the domain's rows (:mod:`polyregions.exact.exact_lp`). In a box, the float
  search's own solver hands over the multipliers that made it drop the branch
  (:meth:`~polyregions.solvers.base.LPBackend.farkas`): rounded to a few significant bits
  and applied to the exact integer rows, they are a certificate when the box's support
  function test holds exactly (:meth:`Auditor.hint`). Otherwise a floating-point dual LP
  names the rows of a certificate, the exact simplex on those rows alone produces it, and
  when that fails the exact simplex on the whole system decides;
* whatever the float search got wrong (a leaf whose witness fails, a dropped branch that
  is not empty: a sliver thinner than ``eps``) is searched again exactly, neuron by
  neuron, with the exact simplex alone.

So the certified count is the number of patterns whose open region inside the open
domain is non-empty (SPEC sections 2 and 6), with no tolerance. Every region and every
certificate is streamed to a file that the standalone :func:`polyregions.exact.checker.check`
re-checks with integers alone (``docs/certificates.md``).
"""

from __future__ import annotations

import math
import time
from operator import mul
from fractions import Fraction
from math import lcm

import numpy as np

from .exact_lp import TimeLimitReached, decide_strict, integer_multipliers, kernel_vector, project, solve_square
from ..errors import SolverError
from .checker import below_support
from .exact_net import ExactNetwork
from .spec import exact_point
from ..solvers.registry import certificate_hints

__all__ = ["Auditor", "BALL_HALVINGS", "BOX_LP_FROM_DIM", "HINT_NNLS_RESIDUAL", "HINT_SUPPORT_RTOL", "HINT_VALUE_TOL",
           "DENSE_SUM_UP_TO", "LEAF_BATCH", "REUSE_KEYS", "REUSE_PER_KEY", "ROUNDINGS", "RegionLimitReached", "bits_text"]

#: A floating-point dual LP whose optimum exceeds this names no certificate (its rows are
#: then not tried on their own; the exact simplex decides the whole system).
HINT_VALUE_TOL = 1e-7
#: A non-negative least-squares hint with a larger residual is not used (the LP hint is tried).
HINT_NNLS_RESIDUAL = 1e-9
#: Certificates of dropped branches kept for reuse: per (layer prefix, neuron, bit), and keys in all.
REUSE_PER_KEY = 8
REUSE_KEYS = 20000
#: Points tried between the projection of an L2 ball's centre and an interior point of the node.
BALL_HALVINGS = 60
#: From this input dimension on, a box's hint is the LP with its support function
#: (:func:`polyregions.solvers.scipy_lp.box_transposition_lp`, a few ms whatever the dimension)
#: instead of non-negative least squares over the 2 n explicit box rows (tens of us in 4
#: dimensions, seconds in 784).
BOX_LP_FROM_DIM = 16
#: Multipliers below this fraction of the largest are left out of the hinted support.
HINT_SUPPORT_RTOL = 1e-9
#: How the solver's multipliers are tried as a certificate: ``(support rtol, significant bits)``,
#: the multipliers below ``rtol`` times the largest left out and each of the others cut to
#: that many bits (small integers, a compact certificate), then all of them as the exact
#: dyadic rationals they are.
ROUNDINGS = ((HINT_SUPPORT_RTOL, 24), (0.0, 53))
#: Leaves decided together (:meth:`Auditor.flush`: one floating-point filter pass for all).
LEAF_BATCH = 256
#: Up to this input dimension combinations of rows are summed column by column in Python;
#: beyond it through numpy object arrays (one C loop over the Python integers).
DENSE_SUM_UP_TO = 32


def transposition_nnls(A, b):
    """The non-negative least-squares hint of the backend that declares "certificates"
    (:func:`polyregions.solvers.registry.certificate_hints`)."""
    return certificate_hints().transposition_nnls(A, b)


def transposition_lp(A, b):
    """The LP hint of the backend that declares "certificates"."""
    return certificate_hints().transposition_lp(A, b)


def box_transposition_lp(A, b, lo, hi):
    """The box LP hint of the backend that declares "certificates"."""
    return certificate_hints().box_transposition_lp(A, b, lo, hi)


class RegionLimitReached(Exception):
    """The certified count reached its ``max_regions``."""


_BIT_TEXT = bytes.maketrans(b"\x00\x01", b"01")


def bits_text(bits):
    """The pattern `bits` (0/1 values) as the text ``"0110..."``."""
    return bytes(bits).translate(_BIT_TEXT).decode()


def integer_weights(weights, significant):
    """Positive integers proportional to the positive floats `weights`, each within a relative
    ``2^(1 - significant)`` (``significant <= 53``; 53 keeps every float exactly)."""
    parts = [math.frexp(w) for w in weights]
    low = min(e for _, e in parts)
    scale = float(1 << significant)
    return [int(m * scale) << (e - low) for m, e in parts]


def short_point(x, rho):
    """``(X, 2^k)``: the float point `x` rounded to the grid ``2^-k Z^n`` with ``2^-k sqrt(n) <= rho / 2``
    (inside the ball of radius `rho` around `x`: small integers for a region's point), or
    ``(None, None)`` when `rho` is not a positive finite radius."""
    if not (0.0 < rho < math.inf) or not x:
        return None, None
    k = max(0, math.ceil(math.log2(2.0 * math.sqrt(len(x)) / rho)))
    if k > 1000:
        return None, None
    return [round(math.ldexp(v, k)) for v in x], 1 << k


def _float_hint(F):
    """``(row indices, multipliers)`` of a floating-point transposition certificate for the unit
    rows ``F = [a | b]`` (None: none found).

    First non-negative least squares (:func:`polyregions.solvers.scipy_lp.transposition_nnls`,
    certificates with ``b^T y < 0``), then the LP
    :func:`polyregions.solvers.scipy_lp.transposition_lp` (which also finds those with
    ``b^T y = 0``, as at exact coincidences).
    """
    F = np.array(F)
    Af, bf = F[:, :-1], F[:, -1]
    y, residual = transposition_nnls(Af, bf)
    if residual > HINT_NNLS_RESIDUAL:
        found = transposition_lp(Af, bf)
        if found is None or found[1] > HINT_VALUE_TOL:
            return None
        y = found[0]
    return np.flatnonzero(y > HINT_SUPPORT_RTOL * y.max()).tolist(), y


def _inverse_norm(row):
    """About ``1 / |row|`` for an integer row of any size (no float overflow)."""
    shift = max(max(abs(v) for v in row).bit_length() - 60, 0)
    norm = math.sqrt(sum(float(v >> shift) ** 2 for v in row))
    return math.ldexp(1.0 / norm, -shift) if norm > 0 else 0.0


class Auditor:
    """Certifies the decisions of one search (see the module docstring); attach it as ``search.audit``.

    ``count``: regions certified so far; ``float_count``: leaves the float search found;
    ``undecided``: ``[(prefix, why)]``; ``exact_lps`` / ``hint_lps``: solver runs.
    """

    def __init__(self, exact: ExactNetwork, writer, first_id: int = 0, reuse=None):
        self.exact = exact
        self.writer = writer
        self.count = 0
        self.float_count = 0
        self.undecided = []
        self.exact_lps = 0
        self.hint_lps = 0
        self.solver_errors = 0
        #: ``time.perf_counter()`` after which exact computations stop (TimeLimitReached); regions to stop at
        self.deadline = None
        self.max_regions = None
        #: certificates kept for reuse (layer entries', dropped branches'): maybe an earlier auditor's (same file)
        self.reuse = reuse if reuse is not None else ({}, {})
        self._shared, self._reusable = self.reuse  # _reusable: (bits, position, bit) -> [(support, id)]
        self._next_id = first_id  # ids of shared certificates: disjoint ranges when tasks run in parallel
        self._leaves = []  # leaves waiting for flush(): (bits, witness, short point, its denominator)
        self._hints = {}  # (position, bit) -> (the solver's nonzero multipliers, their rows' positions)
        if exact.box_rows is not None:  # the box's bounds as floats, for the hint LP
            self._box_float = ([float(v) for v in exact.box_rows[0][1]], [float(v) for v in exact.box_rows[1][1]])

    # ------------------------------------------------------------ exact decisions
    def _decide(self, bits, extra=()):
        """Decide the partial pattern `bits` (plus the rows ``extra`` = ``[(position, bit)]``).

        Returns ``(y, point)``: a checked certificate ``{row key: multiplier}`` or an exact
        interior point (of the lifted space for an L1 ball).
        """
        A, b, keys, F = self.exact.rows(bits, None, extra)
        y = self._certificate(A, b, keys, F, len(bits) - 1 if not extra else extra[-1][0])
        if y is not None:
            return y, None
        if self.exact.ball is not None:
            return self._decide_in_ball(A, b, keys, F)
        self.exact_lps += 1
        res = decide_strict(A, b, self.deadline)
        if res.empty:
            return self._checked({keys[i]: y for i, y in enumerate(res.multipliers) if y}, A, b, keys), None
        return None, res.point

    def _decide_in_ball(self, A, b, keys, F):
        """The L2 ball ``|x - c| < r``: a projection certificate, or a point of the node in the ball.

        With the rows ``S`` of the least-distance hint, ``y_S`` solves ``A_S A_S^T y = A_S c - b_S``
        exactly (then ``c - A_S^T y`` is the projection of ``c`` on the node's closure when ``S``
        is its active set); it certifies emptiness when ``y >= 0`` and
        ``y^T (A c - b) >= r |A^T y|`` (squared). Otherwise the exact simplex gives a point ``q``
        of the open polyhedron, and the points ``p + (q - p) / 2^k`` between the projection
        ``p`` and ``q`` are tried; failing all that the node is left undecided.
        """
        c, r = self.exact.ball
        support, projection = None, None
        if A:
            Fa = np.array(F)
            cf = np.array([float(v) for v in c])
            y, _ = transposition_nnls(Fa[:, :-1], Fa[:, -1] - Fa[:, :-1] @ cf)
            support = np.flatnonzero(y > HINT_SUPPORT_RTOL * max(y.max(), 1e-300)).tolist()
        if support:
            AS = [[Fraction(v) for v in A[i]] for i in support]
            gap = [sum(a * ck for a, ck in zip(row, c)) - b[i] for row, i in zip(AS, support)]
            gram = [[sum(u * v for u, v in zip(r1, r2)) for r2 in AS] for r1 in AS]
            ys = solve_square(gram, gap)
            if ys is not None:
                normal = [sum(yi * row[k] for yi, row in zip(ys, AS)) for k in range(len(c))]
                projection = [ck - nk for ck, nk in zip(c, normal)]
                s = sum(yi * g for yi, g in zip(ys, gap))
                if min(ys) >= 0 and any(ys) and s >= 0 and s * s >= r * r * sum(v * v for v in normal):
                    y = integer_multipliers(ys)
                    cert = self._checked_ball({keys[i]: v for i, v in zip(support, y) if v}, A, b, keys)
                    return cert, None
        self.exact_lps += 1
        res = decide_strict(A, b, self.deadline)
        if res.empty:
            return self._checked({keys[i]: y for i, y in enumerate(res.multipliers) if y}, A, b, keys), None
        q = res.point
        candidates = [q] if projection is None else [q] + [
            [pk + (qk - pk) / 2 ** k for pk, qk in zip(projection, q)] for k in range(1, BALL_HALVINGS + 1)]
        for x in candidates:
            inside = sum((xk - ck) ** 2 for xk, ck in zip(x, c)) < r * r
            if inside and all(sum(a * xk for a, xk in zip(row, x)) < rhs for row, rhs in zip(A, b)):
                return None, x
        z, lam = project(A, b, c, q, self.deadline)  # exact: the node's closest point to the centre
        if sum((zk - ck) ** 2 for zk, ck in zip(z, c)) >= r * r:
            y = integer_multipliers(list(lam.values()))
            return self._checked_ball({keys[i]: v for i, v in zip(lam, y) if v}, A, b, keys), None
        k = 1
        while True:  # z + (q - z) / 2^k: strictly inside the node; inside the ball once k is large enough
            x = [zk + (qk - zk) / 2 ** k for zk, qk in zip(z, q)]
            if sum((xk - ck) ** 2 for xk, ck in zip(x, c)) < r * r:
                return None, x
            k += 1
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise TimeLimitReached("the time limit passed inside the exact projection")

    def _checked_ball(self, y, A, b, keys):
        """`y` after the exact check of the projection certificate, rescaled to the canonical rows."""
        c, r = self.exact.ball
        index = {k: i for i, k in enumerate(keys)}
        normal = [Fraction(0)] * len(c)
        s = Fraction(0)
        for k, v in y.items():
            row, rhs = A[index[k]], b[index[k]]
            normal = [t + v * a for t, a in zip(normal, row)]
            s += v * (sum(a * ck for a, ck in zip(row, c)) - rhs)
        if not y or min(y.values()) < 0 or s < 0 or s * s < r * r * sum(t * t for t in normal):
            raise ArithmeticError("an L2-ball certificate failed its exact check")
        return self._kept(y)

    def _certificate(self, A, b, keys, F, newest):
        """A checked certificate from the box alone or from a floating-point hint's support, or None."""
        if self.exact.box_rows is not None and newest in keys:
            i = keys.index(newest)
            y = self._box_certificate(A[i], b[i], newest)
            if y is not None:
                return y
        if not A:
            return None
        self.hint_lps += 1
        if self.exact.kind == "box" and self.exact.dim >= BOX_LP_FROM_DIM:  # no explicit box rows in the hint
            found = self._box_hint(A, b, keys, F)
            if found is not None:
                return found
        try:
            support, yf = _float_hint(F) or (None, None)
        except SolverError:  # no hint: the exact simplex decides
            support = None
        if not support:
            return None
        if self.exact.kind == "box":  # small exact multipliers first: the neuron rows' null space
            found = self._box_kernel(A, b, keys, support)
            if found is not None:
                return found
        if self.exact.kind in ("box", "l1", "l2"):  # the hint's own multipliers, read exactly
            found = self._rounded_hint(A, b, keys, support, yf)
            if found is not None:
                return found
        y = kernel_vector([A[i] for i in support])
        if y is not None:
            if sum(y) < 0:
                y = [-v for v in y]
            if min(y) >= 0 and sum(v * b[i] for v, i in zip(y, support)) <= 0:
                return self._checked({keys[i]: v for i, v in zip(support, y) if v}, A, b, keys)
        self.exact_lps += 1
        res = decide_strict([A[i] for i in support], [b[i] for i in support], self.deadline)
        if res.empty:
            return self._checked({keys[i]: y for i, y in zip(support, res.multipliers) if y}, A, b, keys)
        return None

    def _box_hint(self, A, b, keys, F):
        """A certificate from :func:`polyregions.solvers.scipy_lp.box_transposition_lp` on the neuron rows."""
        rows = [i for i, k in enumerate(keys) if not isinstance(k, str)]
        if not rows:
            return None
        Fr = np.array([F[i] for i in rows])
        try:
            y, value = box_transposition_lp(Fr[:, :-1], Fr[:, -1], *self._box_float)
        except SolverError:
            return None
        if value > HINT_VALUE_TOL:
            return None
        yf = np.zeros(len(keys))
        yf[rows] = y
        support = [i for i in rows if yf[i] > HINT_SUPPORT_RTOL * max(y.max(), 1e-300)]
        return self._rounded_hint(A, b, keys, support, yf) if support else None

    def _rounded_hint(self, A, b, keys, support, yf):
        """The float multipliers of the neuron rows, scaled to the integer rows and read as the exact
        rationals they are: a certificate when the support-function test holds exactly (a box or a
        ball bounds ``v . x`` for any ``v``, so no exact cancellation is needed), else None."""
        rows = [i for i in support if not isinstance(keys[i], str)]
        weights = [Fraction(float(yf[i]) * _inverse_norm(A[i])) for i in rows]
        if not rows or not any(weights):
            return None
        den = lcm(*(w.denominator for w in weights))
        y = [int(w * den) for w in weights]
        n = self.exact.dim
        v = [sum(yi * A[i][k] for yi, i in zip(y, rows)) for k in range(n)]
        s = sum(yi * b[i] for yi, i in zip(y, rows))
        if not below_support(self.exact.kind, self.exact.domain_data, v, s):
            return None
        return {"y": {keys[i]: yi for yi, i in zip(y, rows) if yi}}

    def _box_kernel(self, A, b, keys, support):
        """In a box, a certificate on the hint's neuron rows alone: the box rows of the support
        fix their coordinates, so ``y`` spans the left kernel of the neuron rows restricted to the
        other coordinates; the checker's support-function test then decides (None: it fails)."""
        n = self.exact.dim
        rows = [i for i in support if not isinstance(keys[i], str)]
        bound = {int(keys[i][1:]) // 2 for i in support if isinstance(keys[i], str)}
        free = [k for k in range(n) if k not in bound]
        if not rows:
            return None
        y = kernel_vector([[A[i][k] for k in free] for i in rows]) if free else [1] * len(rows)
        if y is None:
            return None
        if sum(y) < 0:
            y = [-v for v in y]
        if min(y) < 0 or not any(y):
            return None
        v = [sum(yi * A[i][k] for yi, i in zip(y, rows)) for k in range(n)]
        s = sum(yi * b[i] for yi, i in zip(y, rows))
        if not below_support(self.exact.kind, self.exact.domain_data, v, s):
            return None
        return {"y": {keys[i]: yi for yi, i in zip(y, rows) if yi}}

    def _box_certificate(self, a, rhs, key):
        """A certificate from the row ``a . x < rhs`` and the domain's bounding box alone
        (interval arithmetic: ``a . x >= sum_k min(a_k lo_k, a_k hi_k) >= rhs`` on the box)."""
        if not below_support("box", self.exact.domain_data, a[: self.exact.dim], rhs):  # the checker's own test
            return None
        return {"y": {key: 1}}

    def _checked(self, y, A, b, keys):
        """`y` after the exact check ``y >= 0, y != 0, y^T A = 0, y^T b <= 0`` (else ArithmeticError),
        rescaled to the canonical rows (``z_j`` and the domain's own rows)."""
        index = {k: i for i, k in enumerate(keys)}
        total = [0] * len(A[0])
        rhs = 0
        for k, v in y.items():
            row = A[index[k]]
            total = [t + v * a for t, a in zip(total, row)]
            rhs += v * b[index[k]]
        if not y or any(v < 0 for v in y.values()) or any(total) or rhs > 0:
            raise ArithmeticError("a transposition certificate failed its exact check")
        return self._kept(y)

    def _kept(self, y):
        """The certificate as written: the multipliers of the neuron rows (and of a polytope's rows);
        a box's or an L1 ball's rows are implied by the checker's support function (weak duality)."""
        kept = {k: v for k, v in y.items() if v and k in self.exact.certificate_keys([k])}
        if not kept:
            raise ArithmeticError("a certificate uses the domain's rows alone")
        return {"y": kept}

    def explore(self, prefix, decided=None):
        """Search the subtree of `prefix` exactly (every node decided by the exact simplex;
        `decided`: the decision of `prefix` itself when already taken); True when `prefix`
        itself is certified empty."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TimeLimitReached("the time limit passed inside the exact search")
        try:
            y, point = decided if decided is not None else self._decide(prefix)
        except ArithmeticError as err:
            self.undecided.append((bits_text(prefix), str(err)))
            return False
        if y is not None:
            self.writer.empty(prefix, cert=y)
            return True
        if len(prefix) == self.exact.n_bits:
            X, den = exact_point((list(point) + [Fraction(0)] * self.exact.dim)[: self.exact.dim])  # no rows: any
            if not self.exact.integer_point_in_region(prefix, X, den):
                self.undecided.append((bits_text(prefix), "the exact interior point failed its check"))
                return False
            self._counted(prefix, X, den)
            return False
        for bit in (0, 1):
            self.explore(list(prefix) + [bit])
        return False

    def _counted(self, bits, X, den):
        self.writer.region(bits, X, den)
        self.count += 1
        if self.max_regions is not None and self.count >= self.max_regions:
            raise RegionLimitReached

    # ------------------------------------------------------------ the solver's multipliers
    def hint(self, key, depth, solver, positions):
        """The search's `solver` found the child `key` = ``(position, bit)`` of the current node
        empty with optimum `depth`; its multipliers (:meth:`~polyregions.solvers.base.LPBackend.farkas`:
        one per pushed row, the node's rows at the pattern `positions` and then the child's
        own row) are kept until the child is certified at this node."""
        multipliers = solver.farkas() if depth < 0 and self.exact.kind == "box" else None
        if multipliers is None:
            self._hints.pop(key, None)
            return
        multipliers = np.asarray(multipliers, dtype=float)
        support = multipliers.nonzero()[0]  # a NaN too: _from_hint refuses it
        last = len(positions)
        self._hints[key] = (multipliers[support].tolist(),
                            [positions[k] if k < last else key[0] for k in support.tolist()])

    def _from_hint(self, bits, p, bit):
        """A checked certificate for the partial pattern `bits` with position `p` in state `bit`
        from the solver's multipliers (:meth:`hint`), or None.

        The float multiplier ``lam_i`` of the unit row ``a_i / |a_i|`` becomes ``lam_i / |a_i|``
        on the exact integer row ``a_i``, cut to a few significant bits (:data:`ROUNDINGS`): the
        combination ``v . x < s`` of the strict rows needs no exact cancellation in a box, only
        ``s <= min over the box of v . x``, which is tested exactly (the checker's own test).
        """
        found = self._hints.pop((p, bit), None)
        if found is None:
            return None
        lam, positions = found  # the nonzero multipliers and the pattern positions of their rows
        if not lam or not math.isfinite(sum(lam)):  # a NaN or an infinite multiplier: no hint
            return None
        top = max(lam)
        if top <= 0:  # no positive multiplier (a certificate needs one)
            return None
        exact = self.exact
        for rtol, significant in ROUNDINGS:
            floor = rtol * top
            support = [k for k, w in enumerate(lam) if w > floor]
            keys = [positions[k] for k in support]
            if min(keys) < 0:
                return None
            rows = exact.fixed_rows(bits, [(q, bits[q] if q != p else bit) for q in keys])
            if rows is None or not all(norm > 0 for _, _, norm in rows):
                return None
            y = integer_weights([lam[k] / norm for k, (_, _, norm) in zip(support, rows)], significant)
            if exact.dim <= DENSE_SUM_UP_TO:
                v = [sum(map(mul, y, column)) for column in zip(*(a for a, _, _ in rows))]
            else:
                v = np.array(y, dtype=object).dot(np.array([a for a, _, _ in rows], dtype=object)).tolist()
            s = sum(map(mul, y, (rhs for _, rhs, _ in rows)))
            if below_support("box", exact.domain_data, v, s):
                return {"y": dict(zip(keys, y))}
        return None

    def _box_row(self, bits, p, bit):
        """A certificate from the row of position `p` in state `bit` and the box alone, or None."""
        if self.exact.kind != "box":
            return None
        row = self.exact.neuron_row(bits, p, bit)
        return None if row is None else self._box_certificate(row[0], row[1], p)

    # ------------------------------------------------------------ hooks called by the search
    def entered(self, l, bits, fixed):
        """Layer `l` entered with pattern `bits`; neurons with ``fixed[j] >= 0`` will not branch:
        certify once that the opposite state is empty on the whole node."""
        off = self.exact.offsets[l]
        certs = {}
        bits = list(bits)
        text = bits_text(bits)
        for j, f in enumerate(fixed):
            if f < 0:
                continue
            p = off + j
            y = self._from_hint(bits, p, 1 - f) or self._box_row(bits, p, 1 - f)
            if y is None:
                try:
                    y, _ = self._decide(bits, extra=[(p, 1 - f)])
                except ArithmeticError:
                    y = None
            if y is None:
                continue  # decided again at every node that skips it
            cid = self._next_id
            self._next_id += 1
            self.writer.shared(cid, f"{text}{'*' * (p - off)}{1 - f}", y)
            certs[p, 1 - f] = cid
        self._shared[l] = (tuple(bits), certs)
        self._hints.clear()

    def entries(self):
        """``{layer: (earlier layers' bits, {(position, dropped bit): certificate id})}`` of the current entries."""
        return dict(self._shared)

    def seed(self, entries):
        """Use another auditor's :meth:`entries` (same count and file) for the neurons a resumed search skips."""
        self._shared.update(entries)

    def skipped(self, bits, bit):
        """The search appends a fixed neuron after `bits`: the child with `bit` is dropped."""
        p = len(bits)
        l, _ = self.exact.layer_of(p)
        key, certs = self._shared.get(l, (None, {}))
        cid = certs.get((p, bit)) if key == tuple(bits[: self.exact.offsets[l]]) else None
        if cid is not None:
            self.writer.empty(bits_text(bits) + "01"[bit], ref=cid)
        else:
            self.pruned(bits, bit)

    def pruned(self, bits, bit):
        """The child ``bits + [bit]`` is dropped by the search: certify it empty or search it exactly.

        A certificate is shared: its assignment fixes only the earlier layers and the rows
        it uses, so later nodes of the same layer that agree there reuse it.
        """
        p = len(bits)
        l, _ = self.exact.layer_of(p)
        off = self.exact.offsets[l]
        key = (tuple(bits[:off]), p, bit)
        for support, cid in self._reusable.get(key, ()):
            if all(bits[q] == v for q, v in support):
                self._hints.pop((p, bit), None)
                self.writer.empty(list(bits) + [bit], ref=cid)
                return
        prefix = list(bits) + [bit]
        cert = self._from_hint(prefix, p, bit)
        if cert is None:
            try:
                decided = self._decide(prefix)
            except ArithmeticError as err:
                decided = err
            if isinstance(decided, ArithmeticError) or decided[0] is None:
                self.explore(prefix, None if isinstance(decided, ArithmeticError) else decided)
                return
            cert = decided[0]
        rows = [k for k in cert["y"] if not isinstance(k, str)]
        support = [(q, bits[q]) for q in rows if off <= q < p]
        local = ["*"] * (p - off) + ["01"[bit]]  # the assignment: earlier layers, the support, the child
        for q, v in support:
            local[q - off] = "01"[v]
        cid = self._next_id
        self._next_id += 1
        self.writer.shared(cid, bits_text(bits[:off]) + "".join(local), cert)
        self.writer.empty(prefix, ref=cid)
        if len(self._reusable) > REUSE_KEYS:
            self._reusable.clear()
        self._reusable.setdefault(key, []).insert(0, (support, cid))
        del self._reusable[key][REUSE_PER_KEY:]

    def leaf(self, bits, x, rho=0.0):
        """The search counts the pattern `bits` with the float witness `x`, the centre of a ball
        of radius `rho` in the region: the leaf waits with :data:`LEAF_BATCH` others for
        :meth:`flush` (call it when the search stops)."""
        self.float_count += 1
        x = np.asarray(x, dtype=float).tolist()
        self._leaves.append((bits, x, *short_point(x, rho)))
        if len(self._leaves) >= LEAF_BATCH:
            self.flush()

    def flush(self):
        """Decide the waiting leaves: a short point of each witness ball (:func:`short_point`) is
        checked exactly (all at once, :meth:`ExactNetwork.points_in_regions`), else the witness
        itself as the exact rational it is; else the leaf is searched again exactly."""
        leaves, self._leaves = self._leaves, []
        short = [(bits, X, den) for bits, _, X, den in leaves if X is not None]
        found = iter(self.exact.points_in_regions(short))
        for bits, x, X, den in leaves:
            if X is None or not next(found):
                X, den = exact_point(x)
                if not self.exact.integer_point_in_region(bits, X, den):
                    self.explore(list(bits))
                    continue
            self._counted(bits, X, den)
