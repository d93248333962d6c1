"""Certified counting: the floating-point search, audited decision by decision in exact arithmetic.

:func:`count_certified` runs the search of :mod:`polyregions.search.engine` with an
:class:`Auditor` attached. The search reports every branch it drops (a neuron fixed at
layer entry by the constant-row test, the far-hyperplane filter or the prefilter; a
hyperplane that does not cut a node; a child thinner than ``eps``) and every leaf:

* a leaf is counted when its float witness, read as the exact dyadic rational it is,
  lies in the open region of the leaf's pattern inside the open domain (checked with
  integers, :meth:`ExactNetwork.point_in_region`);
* a dropped branch gets a transposition certificate for the strict system of its partial
  pattern with the domain's rows (:mod:`polyregions.exact.exact_lp`): a floating-point dual LP
  names the rows of a certificate, the exact simplex on those rows alone produces it, and
  when that fails the exact simplex on the whole system decides;
* whatever the float search got wrong (a leaf whose witness fails, a dropped branch that
  is not empty: a sliver thinner than ``eps``) is searched again exactly, neuron by
  neuron, with the exact simplex alone.

So the certified count is the number of patterns whose open region inside the open
domain is non-empty (SPEC sections 2 and 6), with no tolerance. Every region and every
certificate is streamed to a JSON-lines file that :func:`polyregions.exact.checker.check`
re-checks with :mod:`fractions` alone.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from math import lcm

import numpy as np

from .exact_lp import decide_strict, integer_multipliers, kernel_vector, solve_square
from ..driver import drive
from ..errors import SolverError, UnsupportedError
from .exact_net import ExactNetwork
from ..result import CertifiedCount
from ..search.engine import RegionSearch
from ..solvers.registry import certificate_hints

__all__ = ["Auditor", "BALL_HALVINGS", "CERTIFICATE_FORMAT", "CertificateWriter", "CertifiedWork", "HINT_NNLS_RESIDUAL",
           "HINT_SUPPORT_RTOL", "HINT_VALUE_TOL", "REUSE_KEYS", "REUSE_PER_KEY", "count_certified"]

#: The first line of a certificate file names its format.
CERTIFICATE_FORMAT = "polyregions-certificate/1"
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
#: Multipliers below this fraction of the largest are left out of the hinted support.
HINT_SUPPORT_RTOL = 1e-9


def _bits_text(bits):
    return "".join("1" if b else "0" for b in bits)


def _fraction_text(v):
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


class CertificateWriter:
    """Streams the certificate of a count to `path` as JSON lines (nothing is kept in memory).

    Lines: a header (format, input dimension, widths, the exact domain, eps), then
    ``{"region": bits, "den": D, "num": [...]}`` (the interior point ``num / D``),
    ``{"empty": prefix, "y": {row: multiplier}}`` (a certificate for one partial pattern;
    with ``"ball": true`` the L2 ball's projection form ``y^T (A c - b) >= r |A^T y|``),
    ``{"cert": id, "assign": "01*1..", "y": {...}}`` (a certificate shared by several
    partial patterns, ``*`` = free) and ``{"empty": prefix, "ref": id}``, and a trailer
    with the count. Rows are named by the pattern position or ``"d<k>"`` (domain row k).
    """

    def __init__(self, path, exact: ExactNetwork, eps: float):
        self.file = open(path, "w") if path is not None else None
        if self.file is not None:
            spec = {k: ([[_fraction_text(v) for v in r] for r in val] if k == "A" else
                        [_fraction_text(v) for v in val] if k in ("b", "center") else
                        _fraction_text(val) if k == "radius" else val) for k, val in exact.spec.items()}
            self._line({"format": CERTIFICATE_FORMAT, "input_dim": exact.dim, "widths": exact.widths,
                        "domain": spec, "eps": eps})

    def _line(self, obj):
        self.file.write(json.dumps(obj, separators=(",", ":")))
        self.file.write("\n")

    def region(self, bits, x):
        if self.file is not None:
            x = [Fraction(v) for v in x]
            den = math.lcm(*(v.denominator for v in x))
            self._line({"region": _bits_text(bits), "den": den, "num": [int(v * den) for v in x]})

    def empty(self, prefix, cert=None, ref=None):
        if self.file is not None:
            self._line({"empty": _bits_text(prefix), **({"ref": ref} if ref is not None else cert)})

    def shared(self, cid, assign, cert):
        if self.file is not None:
            self._line({"cert": cid, "assign": "".join("*" if a is None else str(a) for a in assign), **cert})

    def close(self, trailer):
        if self.file is not None:
            self._line(trailer)
            self.file.close()
            self.file = None


def _float_hint(F):
    """Row indices of a floating-point transposition certificate for the unit rows ``F = [a | b]``
    (None: none found).

    The hints of the backend that declares "certificates"
    (:func:`polyregions.solvers.registry.certificate_hints`): first non-negative least squares
    (:func:`polyregions.solvers.scipy_lp.transposition_nnls`,
    certificates with ``b^T y < 0``), then the LP
    :func:`polyregions.solvers.scipy_lp.transposition_lp` (which also finds those with
    ``b^T y = 0``, as at exact coincidences).
    """
    F = np.array(F)
    Af, bf = F[:, :-1], F[:, -1]
    transposition_nnls, transposition_lp = certificate_hints()
    y, residual = transposition_nnls(Af, bf)
    if residual > HINT_NNLS_RESIDUAL:
        found = transposition_lp(Af, bf)
        if found is None or found[1] > HINT_VALUE_TOL:
            return None
        y = found[0]
    return np.flatnonzero(y > HINT_SUPPORT_RTOL * y.max()).tolist()


class Auditor:
    """Certifies the decisions of one search (see the module docstring); attach it as ``search.audit``.

    ``count``: regions certified so far; ``float_count``: leaves the float search found;
    ``undecided``: ``[(prefix, why)]``; ``exact_lps`` / ``hint_lps``: solver runs.
    """

    def __init__(self, exact: ExactNetwork, writer: CertificateWriter):
        self.exact = exact
        self.writer = writer
        self.count = 0
        self.float_count = 0
        self.undecided = []
        self.exact_lps = 0
        self.hint_lps = 0
        self._shared = {}
        self._next_id = 0
        self._path, self._noncut = [], []  # the search's current path, and which of its rows are implied
        self._reusable = {}  # (earlier layers' bits, position, dropped bit) -> [(support, certificate id)]
        if exact.box_rows is not None:  # the box as integers over one denominator
            (_, lo, _), (_, hi, _) = exact.box_rows
            den = lcm(*(v.denominator for v in lo + hi))
            self._box_ints = (den, [int(v * den) for v in lo], [int(v * den) for v in hi])

    # ------------------------------------------------------------ exact decisions
    def _decide(self, bits, extra=()):
        """Decide the partial pattern `bits` (plus the rows ``extra`` = ``[(position, bit)]``).

        Returns ``(y, point)``: a checked certificate ``{row key: multiplier}`` or an exact
        interior point (of the lifted space for an L1 ball). The rows of neurons already
        certified not to cut the node are left out first (they are implied by the others).
        """
        lean = self._lean_positions(bits)
        if lean is not None:
            y = self._certificate(*self.exact.rows(bits, lean, extra), len(bits) - 1 if not extra else extra[-1][0])
            if y is not None:
                return y, None
        A, b, keys, F = self.exact.rows(bits, None, extra)
        y = self._certificate(A, b, keys, F, len(bits) - 1 if not extra else extra[-1][0])
        if y is not None:
            return y, None
        if self.exact.ball is not None:
            return self._decide_in_ball(A, b, keys, F)
        self.exact_lps += 1
        res = decide_strict(A, b)
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
            y, _ = certificate_hints()[0](Fa[:, :-1], Fa[:, -1] - Fa[:, :-1] @ cf)
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
        res = decide_strict(A, b)
        if res.empty:
            return self._checked({keys[i]: y for i, y in enumerate(res.multipliers) if y}, A, b, keys), None
        q = res.point
        candidates = [q] if projection is None else [q] + [
            [pk + (qk - pk) / 2 ** k for pk, qk in zip(projection, q)] for k in range(1, BALL_HALVINGS + 1)]
        for x in candidates:
            inside = sum((xk - ck) ** 2 for xk, ck in zip(x, c)) < r * r
            if inside and all(sum(a * xk for a, xk in zip(row, x)) < rhs for row, rhs in zip(A, b)):
                return None, x
        raise ArithmeticError("L2 ball: neither a projection certificate nor a point inside was found")

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
        return {"y": {str(k): v * self.exact.row_scale(k) for k, v in y.items()}, "ball": True}

    def _certificate(self, A, b, keys, F, newest):
        """A checked certificate from the box alone or from a floating-point hint's support, or None."""
        if self.exact.box_rows is not None and newest in keys:
            i = keys.index(newest)
            y = self._box_certificate(A[i], b[i], newest)
            if y is not None:
                return self._checked(y, A, b, keys)
        if not A:
            return None
        self.hint_lps += 1
        try:
            support = _float_hint(F)
        except SolverError:  # no hint: the exact simplex decides
            support = None
        if not support:
            return None
        y = kernel_vector([A[i] for i in support])
        if y is not None:
            if sum(y) < 0:
                y = [-v for v in y]
            if min(y) >= 0 and sum(v * b[i] for v, i in zip(y, support)) <= 0:
                return self._checked({keys[i]: v for i, v in zip(support, y) if v}, A, b, keys)
        self.exact_lps += 1
        res = decide_strict([A[i] for i in support], [b[i] for i in support])
        if res.empty:
            return self._checked({keys[i]: y for i, y in zip(support, res.multipliers) if y}, A, b, keys)
        return None

    def _lean_positions(self, bits):
        """The positions of `bits` whose rows are not known to be implied (None: all are needed)."""
        path, noncut = self._path, self._noncut
        d = 0
        limit = min(len(bits), len(path))
        while d < limit and bits[d] == path[d]:
            d += 1
        skip = [i for i in range(d) if noncut[i]]
        if not skip:
            return None
        skip = set(skip)
        return [i for i in range(len(bits)) if i not in skip]

    def _note_noncut(self, bits, dropped):
        """The child ``bits + [dropped]`` is certified empty: the row of position ``len(bits)`` is
        implied on the kept child ``bits + [1 - dropped]`` and all below it."""
        path, noncut = self._path, self._noncut
        d = 0
        limit = min(len(bits), len(path))
        while d < limit and bits[d] == path[d]:
            d += 1
        del path[d:], noncut[d:]
        path.extend(bits[d:])
        noncut.extend([False] * (len(bits) - d))
        path.append(1 - dropped)
        noncut.append(True)

    def _box_certificate(self, a, rhs, key):
        """A certificate from the row ``a . x < rhs`` and the domain's bounding box alone
        (interval arithmetic: ``a . x >= sum_k min(a_k lo_k, a_k hi_k) >= rhs`` on the box)."""
        (lo_keys, lo, lo_scale), (hi_keys, hi, hi_scale) = self.exact.box_rows
        den, lo_num, hi_num = self._box_ints
        n = self.exact.dim
        if sum(ak * (lo_num[k] if ak > 0 else hi_num[k]) for k, ak in enumerate(a[:n])) < rhs * den:
            return None
        y = {key: Fraction(1)}
        for k, ak in enumerate(a[:n]):
            if ak > 0:  # a_k x_k >= a_k lo_k: the row -l_k x_k < L_k with multiplier a_k / l_k
                y[lo_keys[k]] = Fraction(ak, lo_scale[k])
            elif ak < 0:
                y[hi_keys[k]] = Fraction(-ak, hi_scale[k])
        common = lcm(*(v.denominator for v in y.values()))
        return {k: int(v * common) for k, v in y.items()}

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
        return {"y": {str(k): v * self.exact.row_scale(k) for k, v in y.items()}}

    def explore(self, prefix, decided=None):
        """Search the subtree of `prefix` exactly (every node decided by the exact simplex;
        `decided`: the decision of `prefix` itself when already taken); True when `prefix`
        itself is certified empty."""
        try:
            y, point = decided if decided is not None else self._decide(prefix)
        except ArithmeticError as err:
            self.undecided.append((_bits_text(prefix), str(err)))
            return False
        if y is not None:
            self.writer.empty(prefix, cert=y)
            return True
        if len(prefix) == self.exact.n_bits:
            x = (list(point) + [Fraction(0)] * self.exact.dim)[: self.exact.dim]  # no rows at all: any point
            if not self.exact.point_in_region(prefix, x):
                self.undecided.append((_bits_text(prefix), "the exact interior point failed its check"))
                return False
            self.writer.region(prefix, x)
            self.count += 1
            return False
        for bit in (0, 1):
            self.explore(list(prefix) + [bit])
        return False

    # ------------------------------------------------------------ hooks called by the search
    def entered(self, l, bits, fixed):
        """Layer `l` entered with pattern `bits`; neurons with ``fixed[j] >= 0`` will not branch:
        certify once that the opposite state is empty on the whole node."""
        off = self.exact.offsets[l]
        certs = {}
        for j, f in enumerate(fixed):
            if f < 0:
                continue
            p = off + j
            try:
                y, _ = self._decide(list(bits), extra=[(p, 1 - f)])
            except ArithmeticError:
                y = None
            if y is None:
                continue  # decided again at every node that skips it
            cid = self._next_id
            self._next_id += 1
            assign = list(bits) + [None] * (p - off) + [1 - f]
            self.writer.shared(cid, assign, y)
            certs[p] = cid
        self._shared[l] = (tuple(bits), certs)

    def skipped(self, bits, bit):
        """The search appends a fixed neuron after `bits`: the child with `bit` is dropped."""
        p = len(bits)
        l, _ = self.exact.layer_of(p)
        key, certs = self._shared.get(l, (None, {}))
        cid = certs.get(p) if key == tuple(bits[: self.exact.offsets[l]]) else None
        if cid is not None:
            self.writer.empty(list(bits) + [bit], ref=cid)
            self._note_noncut(bits, bit)
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
                self.writer.empty(list(bits) + [bit], ref=cid)
                self._note_noncut(bits, bit)
                return
        prefix = list(bits) + [bit]
        try:
            decided = self._decide(prefix)
        except ArithmeticError as err:
            decided = err
        if isinstance(decided, ArithmeticError) or decided[0] is None:
            self.explore(prefix, None if isinstance(decided, ArithmeticError) else decided)
            return
        cert = decided[0]
        rows = [int(k) for k in cert["y"] if not k.startswith("d")]
        support = [(q, bits[q]) for q in rows if off <= q < p]
        assign = list(bits[:off]) + [None] * (p - off) + [bit]
        for q, v in support:
            assign[q] = v
        cid = self._next_id
        self._next_id += 1
        self.writer.shared(cid, assign, cert)
        self.writer.empty(prefix, ref=cid)
        if len(self._reusable) > REUSE_KEYS:
            self._reusable.clear()
        self._reusable.setdefault(key, []).insert(0, (support, cid))
        del self._reusable[key][REUSE_PER_KEY:]
        self._note_noncut(bits, bit)

    def leaf(self, bits, x):
        """The search counts the pattern `bits` with the float witness `x`."""
        self.float_count += 1
        if self.exact.point_in_region(bits, x):
            self.writer.region(bits, x)
            self.count += 1
        else:
            self.explore(list(bits))


def count_certified(net, domain, *, eps, backend, prune, max_regions=None, time_limit=None, progress=None,
                    certificate=None) -> CertifiedCount:
    """The certified count of `net`'s regions in `domain` (see the module docstring).

    Returns a :class:`CertifiedCount`: ``count`` (exact when ``certified``), ``float_count``
    (the float search's count at `eps`), ``undecided`` (``[(prefix, why)]``, never guessed)
    and ``certificate`` (the file written, if any).

    Raises
    ------
    UnsupportedError
        For a network that is not plain ReLU (its regions are then not the strict systems of
        :mod:`polyregions.exact.exact_net`), or a domain without an exact form (a slice: its
        composed network is computed in floating point).
    """
    if not net.is_relu:
        raise UnsupportedError("`net`: `certify=True` supports plain ReLU networks (no LeakyReLU, max pooling "
                               "or residual carry)")
    exact = ExactNetwork(net, domain)  # the domain's exact form (a slice has none and refuses)
    search = RegionSearch(net, domain, eps, backend, prune)
    writer = CertificateWriter(certificate, exact, eps)
    auditor = Auditor(exact, writer)
    search.audit = auditor
    work = CertifiedWork(search, auditor)
    res = None
    try:
        res = drive(work, max_units=max_regions, time_limit=time_limit, progress=progress)
    finally:
        complete = res is not None and res.complete
        certified = complete and not auditor.undecided
        writer.close({"count": auditor.count, "float_count": auditor.float_count, "complete": complete,
                      "certified": certified, "undecided": [list(u) for u in auditor.undecided]})
    return CertifiedCount(res.count, res.stats, complete=complete, stopped=res.stopped, certified=certified,
                          undecided=list(auditor.undecided), float_count=auditor.float_count,
                          certificate=None if certificate is None else str(certificate),
                          exact_lps=auditor.exact_lps, hint_lps=auditor.hint_lps)


class CertifiedWork:
    """The audited search as work for the counting driver (:mod:`polyregions.driver`): one step
    searches from the root and yields the regions the auditor certifies at each leaf (those it
    finds again exactly included). Not resumable: ``stopped`` is "time_limit" when the deadline
    left part of the tree open."""

    def __init__(self, search, auditor):
        self.search, self.auditor = search, auditor
        self.stats = search.stats
        self.done = False
        self.stopped = None

    def step(self, control):
        search, auditor, stats = self.search, self.auditor, self.stats
        search.deadline = control.deadline
        seen = 0  # the auditor also counts inside dropped branches it searches again, between leaves
        root = search.root()
        if root is None:
            auditor.explore([])
        else:
            for x, rho, _, _ in search.run(root):
                auditor.leaf(list(search.bits), x)
                stats.min_radius = min(stats.min_radius, rho)
                yield auditor.count - seen
                seen = auditor.count
            if search.frontier:
                self.stopped = "time_limit"
        yield auditor.count - seen
        self.done = True

    def open_work(self):
        return 0, []

    def refresh_stats(self):
        self.stats.lp_solves = self.search.lp.lp_solves
        self.stats.pending = len(self.search.frontier)
