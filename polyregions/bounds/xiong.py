r"""Theorem 1 of Xiong et al. (ICML 2020): the regions of a one-layer convolutional ReLU network.

Shapes are channels first, as in PyTorch: an input of shape
``(d0, h, w)``, ``d1`` filters of shape ``(d0, f1, f2)``, stride ``s``, no
padding, so the output grid has :math:`n^{(1)} \times n^{(2)}` positions with
:math:`n^{(1)} = \lfloor (h - f_1)/s \rfloor + 1` and
:math:`n^{(2)} = \lfloor (w - f_2)/s \rfloor + 1`. Input units are flattened
in (channel, row, column) order, ``index = c*h*w + r*w + col``, and output
positions are taken in row-major order. A 1-D input is the case ``h = 1``
with kernels ``(1, f)``. Every count is an exact Python ``int``.

References
----------
.. [XHYLZS20] H. Xiong, L. Huang, M. Yu, L. Liu, F. Zhu and L. Shao, "On the
   number of linear regions of convolutional neural networks", ICML 2020
   (arXiv:2006.00978).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from itertools import product
from math import comb

from .._validate import int_at_least, positive_ints
from ..errors import InvalidInputError, UnsupportedError

__all__ = [
    "receptive_fields",
    "xiong_one_layer",
    "xiong_K",
]


# --------------------------------------------------------------------------- validation


def validate_input_shape(input_shape):
    """Return ``(d0, h, w)`` as positive Python ints."""
    return positive_ints(input_shape, "input_shape",
                         "a triple (d0, h, w) of positive integers (channels first)", length=3)


def validate_pair(value, name):
    """Return ``value`` (an int or a pair of ints) as a pair of positive ints."""
    return positive_ints(value, name, "a positive integer or a pair of positive integers",
                         length=2, scalar=True)


def _validate_padding(padding):
    """Accept only zero padding (an int or a pair); refuse anything else, naming `padding`."""
    try:
        values = (operator.index(padding),)
    except TypeError:
        try:
            values = tuple(operator.index(v) for v in padding)
        except TypeError:
            raise InvalidInputError(
                f"`padding` must be 0 (an integer or a pair of integers), got {padding!r}"
            ) from None
    if any(values):
        raise UnsupportedError(
            f"`padding` must be 0: Theorem 1 of Xiong et al. (2020) does not apply to "
            f"padded convolutions, got padding={padding!r}"
        )


def _validate_conv(input_shape, kernel, stride):
    """Validate a one-layer geometry; return ``(d0, h, w), (f1, f2), s``."""
    d0, h, w = validate_input_shape(input_shape)
    f1, f2 = validate_pair(kernel, "kernel")
    s = int_at_least(stride, "stride", 1)
    if f1 > h or f2 > w:
        raise InvalidInputError(
            f"`kernel` {(f1, f2)} does not fit in the input of height {h} and width {w}: "
            "the output would be empty"
        )
    return (d0, h, w), (f1, f2), s


# --------------------------------------------------------------------------- geometry


def _out(n, f, s):
    return (n - f) // s + 1


def receptive_fields(input_shape, kernel, stride=1):
    r"""Receptive field of every output position of a convolution without padding.

    The receptive field of the output position :math:`(i, j)` (0-based) is

    .. math::

        S_{ij} = \{(c, i s + a, j s + b) : 0 \le c < d_0,\ 0 \le a < f_1,\ 0 \le b < f_2\},

    returned as flat input indices ``c*h*w + r*w + col`` (channel, row, column).

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    kernel : int or tuple of int
        ``(f1, f2)``; an int means a square kernel.
    stride : int, optional
        Stride ``s`` (default 1), the same along both axes.

    Returns
    -------
    dict
        Maps each output position ``(i, j)``, in row-major order, to the
        frozenset of the flat indices of its receptive field.

    Examples
    --------
    >>> fields = receptive_fields((1, 2, 3), (2, 2))
    >>> sorted(fields[(0, 1)])
    [1, 2, 4, 5]
    """
    (d0, h, w), (f1, f2), s = _validate_conv(input_shape, kernel, stride)
    fields = {}
    for i in range(_out(h, f1, s)):
        for j in range(_out(w, f2, s)):
            fields[(i, j)] = frozenset(
                c * h * w + (i * s + a) * w + (j * s + b)
                for c in range(d0)
                for a in range(f1)
                for b in range(f2)
            )
    return fields


_CACHE_LIMIT = 200_000  # cached transitions kept by one sweep


class _Kinds:
    """Input units grouped into kinds, and the sweep over output positions.

    Two input units are of the same kind when the same output positions cover
    them. For a convolution the covering set of the unit (c, r, col) is the
    product of the output rows covering r and the output columns covering
    col, whatever c, so a kind is a pair (row cover, column cover).

    Attributes: ``cap[k]`` the number of units of kind k; ``touch[p]`` the
    kinds in the field of position p; ``size`` the size of every field; for
    the step at position p, ``before[p]`` the kinds of the state before it
    (touched by an earlier position and by p or a later one) and
    ``after[p]`` those of the state after it. A state is a frozenset of
    usage vectors (tuples over ``before[p]``), one per minimal profile (see
    :func:`xiong_one_layer`).
    """

    def __init__(self, d0, h, w, f1, f2, s):
        n1, n2 = _out(h, f1, s), _out(w, f2, s)
        self.positions = [(i, j) for i in range(n1) for j in range(n2)]
        self.size = d0 * f1 * f2
        rows = defaultdict(int)
        for r in range(h):
            cover = tuple(i for i in range(n1) if i * s <= r < i * s + f1)
            if cover:
                rows[cover] += 1
        cols = defaultdict(int)
        for col in range(w):
            cover = tuple(j for j in range(n2) if j * s <= col < j * s + f2)
            if cover:
                cols[cover] += 1
        kinds = []  # (first position, last position, positions covering it, number of units)
        for rc, rn in rows.items():
            for cc, cn in cols.items():
                cover = frozenset(i * n2 + j for i in rc for j in cc)
                kinds.append((min(cover), max(cover), cover, d0 * rn * cn))
        kinds.sort(key=lambda k: (k[0], k[1], sorted(k[2])))
        self.cap = [k[3] for k in kinds]
        npos, nk = len(self.positions), len(kinds)
        self.touch = [[k for k in range(nk) if p in kinds[k][2]] for p in range(npos)]
        self.before = [[k for k in range(nk) if kinds[k][0] < p <= kinds[k][1]] for p in range(npos)]
        self.after = [[k for k in range(nk) if kinds[k][0] <= p < kinds[k][1]] for p in range(npos)]
        self.last = [k[1] for k in kinds]
        self.frontier = max((len(b) for b in self.before), default=0)
        self._plans = [None] * npos
        self._codes = [None] * npos  # (code, its number) for each position
        self._code_numbers = {}  # code -> a small int, to keep cache keys cheap to hash
        self._cache = {}  # (plan, code number, state) -> transition
        self._option_tables = {}  # (plan, code number) -> {usage of the kinds of p -> options}
        self._states = {}  # (plan, code number, key) -> (key, state): one copy of each state

    def _plan(self, p, tmax):
        """The step at ``p`` as data: the signature that determines it, and its pieces.

        Writing a state vector ``u`` (over ``before[p]``) followed by ``y``,
        the new usage of the kinds of p that stay in the state, the next
        vector is ``z[asm]`` with ``z = u + y``.
        """
        before, after, touch = self.before[p], self.after[p], self.touch[p]
        where = {k: n for n, k in enumerate(before)}
        tb = tuple(where.get(k, -1) for k in touch)  # -1: a kind new at p (usage 0)
        kept = [k for k in touch if k in after]
        asm = tuple(
            len(before) + kept.index(k) if k in touch else where[k] for k in after
        )
        caps = tuple(self.cap[k] for k in touch)
        keep_mask = tuple(k in after for k in touch)
        # The capacities of every kind in the states, so that equal plans are
        # the same step for every vector, whichever position it came from.
        frame = (tuple(self.cap[k] for k in before), tuple(self.cap[k] for k in after))
        return (len(before), tb, caps, keep_mask, asm, frame, tmax)

    def _code(self, p):
        """How to pack the profile of a usage vector over ``after[p]`` into one int.

        The profile lists :math:`u(U)` for every :math:`U` in the family of
        the connected unions of the non-empty sets ``touch[q] & after[p]``,
        ``q > p`` (the frontier parts of the neighbourhoods of sets of later
        positions; other unions are disjoint unions of these). Field ``i`` of the packed int holds :math:`u(U_i)` in
        ``width`` bits, the top one a guard bit kept at 0, so that
        ``((a | guard) - b) & guard == guard`` says ``a >= b`` field by field.
        Returns ``(mult, weight, guard)``: the packed profile of ``u`` is
        ``sum(u[n] * mult[n])`` and its total ``sum(u[n] * weight[n])``.
        """
        after = self.after[p]
        where = {k: n for n, k in enumerate(after)}
        stars = set()
        for q in range(p + 1, max((self.last[k] for k in after), default=p) + 1):
            mask = 0
            for k in self.touch[q]:
                if k in where:
                    mask |= 1 << where[k]
            if mask:
                stars.add(mask)
        # Unions of stars that are connected (each star meets the union of the
        # others): any union of stars is the disjoint union of such pieces, so
        # its entry is a sum of theirs and adds nothing to the order.
        family = set(stars)
        frontier = list(stars)
        while frontier:
            grown = []
            for U in frontier:
                for star in stars:
                    if star & U and star | U != U and (star | U) not in family:
                        family.add(star | U)
                        grown.append(star | U)
            frontier = grown
        family = sorted(family)
        width = sum(self.cap[k] for k in after).bit_length() + 1
        mult = tuple(
            sum(1 << (width * i) for i, U in enumerate(family) if U >> n & 1) for n in range(len(after))
        )
        weight = tuple(sum(1 for U in family if U >> n & 1) for n in range(len(after)))
        guard = sum(1 << (width * i + width - 1) for i in range(len(family)))
        return mult, weight, guard

    def step(self, p, state, tmax):
        """Transition at position ``p``: ``{t: (key, next state)}`` for the feasible ``t <= tmax``.

        The next state is over ``after[p]``; ``key`` is the frozenset of its
        minimal packed profiles, which decides every completion (see
        :func:`xiong_one_layer`): prefixes with equal keys are merged.
        Transitions are cached by the step's signature (which fully
        determines them), so the rows of positions in the interior share
        their work.
        """
        plan = self._plans[p]
        if plan is None or plan[-1] != tmax:
            plan = self._plans[p] = self._plan(p, tmax)
        if self._codes[p] is None:
            code = self._code(p)
            self._codes[p] = (code, self._code_numbers.setdefault(code, len(self._code_numbers)))
        code, number = self._codes[p]
        key = (plan, number, state)
        out = self._cache.get(key)
        if out is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # bounded memory; only speed is lost
                self._states.clear()
            tables = self._option_tables.setdefault((plan, number), {})
            out = _transition(plan, code, state, tables)
            for t, (k, new) in out.items():
                out[t] = self._states.setdefault((plan, number, k), (k, new))
            self._cache[key] = out
        return out


def _options(plan, code, ut):
    """Moves at p from the usages ``ut`` of its kinds: ``{t: [(y, profile of y, total of y)]}``.

    ``y`` is the new usage of the kinds of p that stay in the state; its
    profile and total are its share of the next vector's packed profile.
    """
    n_before, _, caps, keep_mask, asm, _, tmax = plan
    mult, weight, _ = code
    ymult = [0] * sum(keep_mask)
    yweight = [0] * sum(keep_mask)
    for n, i in enumerate(asm):
        if i >= n_before:
            ymult[i - n_before], yweight[i - n_before] = mult[n], weight[n]
    found = defaultdict(set)
    ranges = [range(min(c - a, tmax) + 1) for c, a in zip(caps, ut)]
    for x in product(*ranges):
        t = sum(x)
        if t <= tmax:
            found[t].add(tuple(a + b for a, b, keep in zip(ut, x, keep_mask) if keep))
    return {
        t: [
            (y, sum(a * m for a, m in zip(y, ymult)), sum(a * c for a, c in zip(y, yweight)))
            for y in ys
        ]
        for t, ys in found.items()
    }


def _transition(plan, code, state, tables):
    """Next states at p: ``{t: (frozenset of minimal packed profiles, one vector for each)}``.

    A profile is linear in the usage vector, so the profile of a next vector
    is the share of the untouched coordinates of ``u`` plus that of ``y``.
    """
    n_before, tb, _, _, asm, _, _ = plan
    mult, weight, guard = code
    ushare = [(i, mult[n], weight[n]) for n, i in enumerate(asm) if i < n_before]
    best = defaultdict(dict)  # t -> {profile: (total, u, y)}
    for u in state:
        ut = tuple(u[i] if i >= 0 else 0 for i in tb)
        options = tables.get(ut)
        if options is None:
            options = tables[ut] = _options(plan, code, ut)
        pu = tu = 0
        for i, m, c in ushare:
            if u[i]:
                pu += u[i] * m
                tu += u[i] * c
        for t, moves in options.items():
            seen = best[t]
            for y, py, ty in moves:
                prof = pu + py
                if prof not in seen:
                    seen[prof] = (tu + ty, u, y)
    out = {}
    for t, seen in best.items():
        kept = []
        for prof, _ in sorted(seen.items(), key=lambda item: item[1][0]):
            high = prof | guard
            if not any((high - b) & guard == guard for b in kept):
                kept.append(prof)
        vecs = []
        for prof in kept:
            _, u, y = seen[prof]
            z = u + y
            vecs.append(tuple([z[i] for i in asm]))
        out[t] = (frozenset(kept), frozenset(vecs))
    return out


def _sweep(d0, h, w, f1, f2, s):
    """The sweep in the orientation (as given, or transposed) with the smaller frontier."""
    kinds = _Kinds(d0, h, w, f1, f2, s)
    if h != w or f1 != f2:
        other = _Kinds(d0, w, h, f2, f1, s)
        if other.frontier < kinds.frontier:
            return other
    return kinds


# --------------------------------------------------------------------------- Theorem 1


def xiong_one_layer(input_shape, filters, kernel, stride=1, padding=0):
    r"""Maximal (and expected) number of regions of a one-layer ReLU CNN, Xiong et al. (2020), Theorem 1.

    For an input of shape :math:`(d_0, h, w)`, :math:`d_1` filters of shape
    :math:`(d_0, f_1, f_2)`, stride :math:`s` and no padding, with output
    positions :math:`I` and receptive fields :math:`S_{ij}` (see
    :func:`receptive_fields`), Theorem 1 of [XHYLZS20]_ states

    .. math::

        R_N = \sum_{t \in K} \prod_{(i,j) \in I} \binom{d_1}{t_{ij}},
        \qquad
        K = \Bigl\{ t \in \mathbb{Z}_{\ge 0}^{I} :
        \sum_{(i,j) \in J} t_{ij} \le \Bigl|\bigcup_{(i,j) \in J} S_{ij}\Bigr|
        \ \ \forall J \subseteq I \Bigr\}.

    :math:`R_N` is always an upper bound on the number of regions; it is
    attained by generic parameters unless weight sharing forces linear
    dependencies among the neurons' normals (for example a 3x3 input with two
    2x2 filters at stride 1: 8 normals of rank 7). With padding the theorem
    does not apply, and ``padding`` other than 0 is refused.

    **Method (exact, no enumeration of K).** Terms with
    :math:`t_{ij} > d_1` vanish, so :math:`t_{ij} \le \min(d_1, |S_{ij}|)`.
    Input units covered by the same set of positions ("kinds", :math:`m_k`
    units each) are interchangeable. By Hall's theorem with capacities
    (max-flow min-cut), demands :math:`t_q` on a set :math:`Q` of positions
    can be met by distinct units of their fields, with :math:`r_k` units of
    kind :math:`k` available, iff

    .. math:: \sum_{q \in J} t_q \le r(N(J)) \quad \text{for every } J \subseteq Q,
              \qquad N(J) = \bigcup_{q \in J} S_q;

    with :math:`r = m` this is the definition of :math:`K`.

    Positions are swept in row-major order :math:`p = 1, 2, \dots`. For a
    prefix :math:`t_1, \dots, t_p`, let :math:`A_p` be the set of usage
    vectors :math:`u` (units used, per kind) of the ways to meet the
    prefix's demands, restricted to the *frontier* :math:`F_p`: the kinds
    touched by the prefix and by a later position (kinds only the prefix
    touches no longer matter; kinds not yet touched are unused). By the
    condition above for the later positions with :math:`r = m - u`, a
    completion :math:`t_{p+1}, \dots` exists from :math:`u` iff
    :math:`t(J) \le |N(J)| - u(N(J) \cap F_p)` for all sets :math:`J` of later
    positions. This depends on :math:`u` only through its *profile*
    :math:`(u(U))_{U \in \mathcal{U}_p}`,
    :math:`\mathcal{U}_p = \{N(J) \cap F_p\}`, and monotonically: a profile
    smaller in every entry completes at least as much. So the set of
    minimal profiles of :math:`A_p` decides every completion; it is the
    state, and one usage vector per minimal profile is kept to compute the
    next states. By induction, the kept set has exactly the completions of
    the true :math:`A_p` (the next set, built from the kept vectors plus
    every way :math:`x` to meet :math:`t_{p+1}`, completes a suffix iff some
    kept vector completes :math:`t_{p+1}` followed by it).

    The programme keeps, per state, the sum of
    :math:`\prod_{q \le p} \binom{d_1}{t_q}` over the prefixes that reach it;
    prefixes with equal states have equal completions, so merging them is
    exact. Each vector :math:`t` follows one path, and is counted once,
    exactly when its path never meets an empty set, i.e. when
    :math:`t \in K`; different matchings of the same :math:`t` are never
    counted twice, since :math:`t`, not a matching, is the unit of count.
    The profiles make states small: for 3x3 kernels on a 5x5 input the
    minimal usage vectors alone can number 924 (all 6-subsets of a frontier
    of 12 units), the minimal profiles at most 8. Transitions are cached,
    so the interior rows, which repeat, cost little.

    **Cost**, measured (CPU time, one core, stride 1, ``d0 = 1`` unless
    said). With 2x2 kernels: a 5x5 input takes about 0.01 s with ``d1 = 2``
    and 0.02 s with ``d1 = 4``; 6x6 about 0.08 s and 0.14 s; 7x7 about
    1.0 s and 1.5 s; 8x8 about 15 s and 20 s (and 0.5 GB of memory); 5x5
    with ``d0 = 2``, ``d1 = 4``: 0.25 s. With 3x3 kernels and ``d1 = 4``:
    5x5 0.06 s, 6x6 1.6 s, 7x7 about 2 minutes (and 1 GB). A 1-D input of
    length 1000 (kernel 3, ``d1 = 4``) takes 0.25 s. The frontier is about
    :math:`f_1 - 1` rows
    of input units (the sweep runs along the longer side, so that the
    frontier spans the shorter one), and the number of states grows about
    fivefold with each unit of width: the cost is exponential in the
    width and linear in the height. 1-D inputs, and strides at least the
    kernel size, are cheap at any length. Practical up to about 8x8 inputs
    with 2x2 kernels and 6x6 with 3x3 kernels; a wider input can exhaust
    memory.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first; a 1-D input is ``(d0, 1, w)``.
    filters : int
        Number of filters :math:`d_1`.
    kernel : int or tuple of int
        ``(f1, f2)``; an int means a square kernel.
    stride : int, optional
        Stride, default 1.
    padding : int, optional
        Must be 0 (the default).

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If a shape is malformed or the kernel does not fit in the input.
    UnsupportedError
        If ``padding`` is not 0.

    See Also
    --------
    xiong_K : the set K itself, for tiny shapes.

    Examples
    --------
    A 1x1 kernel on a single-channel input: every position has its own unit,
    so :math:`R_N = (1 + d_1)^{hw}`:

    >>> xiong_one_layer((1, 2, 2), filters=3, kernel=(1, 1))
    256

    A kernel as large as the input is a fully connected layer,
    :math:`\sum_{i \le 4} \binom{5}{i} = 31`:

    >>> xiong_one_layer((1, 2, 2), filters=5, kernel=(2, 2))
    31
    """
    (d0, h, w), (f1, f2), s = _validate_conv(input_shape, kernel, stride)
    d1 = int_at_least(filters, "filters", 1)
    _validate_padding(padding)
    kinds = _sweep(d0, h, w, f1, f2, s)
    tmax = min(d1, kinds.size)
    binom = [comb(d1, t) for t in range(tmax + 1)]
    layer = {None: [1, frozenset({()})]}  # key -> [weight, state]
    for p in range(len(kinds.positions)):
        nxt = {}
        for weight, state in layer.values():
            for t, (key, new) in kinds.step(p, state, tmax).items():
                entry = nxt.get(key)
                if entry is None:
                    nxt[key] = [weight * binom[t], new]
                else:
                    entry[0] += weight * binom[t]
        layer = nxt
    return sum(weight for weight, _ in layer.values())


def xiong_K(input_shape, kernel, stride=1, padding=0):
    r"""The set K of Theorem 1 of Xiong et al. (2020), one tuple at a time (tiny shapes).

    Yields every :math:`t = (t_{ij})` with
    :math:`\sum_{(i,j) \in J} t_{ij} \le |\bigcup_{J} S_{ij}|` for all
    :math:`J \subseteq I` (see :func:`xiong_one_layer`), as a tuple over the
    output positions in row-major order, in lexicographic order. The set
    does not depend on the number of filters. It is produced by a
    depth-first search over the same sweep as :func:`xiong_one_layer`,
    which never extends an infeasible prefix, so the work is proportional to
    :math:`|K|` times the state size; :math:`|K|` itself grows exponentially
    with the number of positions (with 2x2 kernels, a 3x3 input gives 357
    elements, a 4x4 input 299,556), so this is meant for tiny shapes and tests.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    kernel : int or tuple of int
        ``(f1, f2)``.
    stride : int, optional
        Stride, default 1.
    padding : int, optional
        Must be 0.

    Yields
    ------
    tuple of int

    Examples
    --------
    Two positions of a 1-D input of length 3, kernel 2: each field has 2
    units and together they have 3, so :math:`t_1, t_2 \le 2` and
    :math:`t_1 + t_2 \le 3`:

    >>> list(xiong_K((1, 1, 3), (1, 2)))
    [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]
    """
    (d0, h, w), (f1, f2), s = _validate_conv(input_shape, kernel, stride)
    _validate_padding(padding)
    kinds = _Kinds(d0, h, w, f1, f2, s)
    return _walk_K(kinds)


def _walk_K(kinds):
    npos = len(kinds.positions)
    prefix = []

    def rec(p, state):
        if p == npos:
            yield tuple(prefix)
            return
        for t, (_, new) in sorted(kinds.step(p, state, kinds.size).items()):
            prefix.append(t)
            yield from rec(p + 1, new)
            prefix.pop()

    return rec(0, frozenset({()}))
