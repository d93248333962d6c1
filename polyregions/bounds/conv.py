r"""Closed forms for convolutional ReLU networks, Xiong et al. (ICML 2020).

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
from math import comb, prod

from ..errors import InvalidInputError, UnsupportedError
from .dense import _as_int

__all__ = [
    "receptive_fields",
    "xiong_one_layer",
    "xiong_K",
    "xiong_deep_lower",
    "xiong_deep_upper",
]


# --------------------------------------------------------------------------- validation


def _validate_input_shape(input_shape):
    """Return ``(d0, h, w)`` as positive Python ints."""
    message = "`input_shape` must be a triple (d0, h, w) of positive integers (channels first)"
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise InvalidInputError(f"{message}, got {input_shape!r}") from None
    if len(shape) != 3:
        raise InvalidInputError(f"{message}, got {input_shape!r}")
    out = []
    for v in shape:
        if isinstance(v, bool):
            raise InvalidInputError(f"{message}, got {input_shape!r}")
        try:
            v = operator.index(v)
        except TypeError:
            raise InvalidInputError(f"{message}, got {input_shape!r}") from None
        if v < 1:
            raise InvalidInputError(f"{message}, got {input_shape!r}")
        out.append(v)
    return tuple(out)


def _validate_pair(value, name):
    """Return ``value`` (an int or a pair of ints) as a pair of positive ints."""
    message = f"`{name}` must be a positive integer or a pair of positive integers"
    if isinstance(value, bool):
        raise InvalidInputError(f"{message}, got {value!r}")
    try:
        v = operator.index(value)
        pair = (v, v)
    except TypeError:
        try:
            pair = tuple(value)
        except TypeError:
            raise InvalidInputError(f"{message}, got {value!r}") from None
    if len(pair) != 2:
        raise InvalidInputError(f"{message}, got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, bool):
            raise InvalidInputError(f"{message}, got {value!r}")
        try:
            v = operator.index(v)
        except TypeError:
            raise InvalidInputError(f"{message}, got {value!r}") from None
        if v < 1:
            raise InvalidInputError(f"{message}, got {value!r}")
        out.append(v)
    return tuple(out)


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
    d0, h, w = _validate_input_shape(input_shape)
    f1, f2 = _validate_pair(kernel, "kernel")
    s = _as_int(stride, "stride", minimum=1)
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


_CACHE_LIMIT = 100_000  # cached transitions kept by one sweep


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
    usage vectors (tuples over ``before[p]``).
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
        self.frontier = max((len(b) for b in self.before), default=0)
        self._plans = [None] * npos
        self._cache = {}  # (plan, state) -> transition
        self._option_tables = {}  # plan -> {usage of the kinds of p -> options}

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
        return (len(before), tb, caps, keep_mask, asm, tmax)

    def step(self, p, state, tmax):
        """Transition at position ``p``: ``{t: next state}`` for the feasible ``t <= tmax``.

        The next state is over ``after[p]``. See :func:`xiong_one_layer` for
        why its minimal vectors are those of least total. Transitions are
        cached by the step's signature (which fully determines them), so
        the rows of positions in the interior share their work.
        """
        plan = self._plans[p]
        if plan is None or plan[-1] != tmax:
            plan = self._plans[p] = self._plan(p, tmax)
        key = (plan, state)
        out = self._cache.get(key)
        if out is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # bounded memory; only speed is lost
            out = self._cache[key] = _transition(plan, state, self._tables(plan))
        return out

    def _tables(self, plan):
        return self._option_tables.setdefault(plan, {})


def _options(plan, ut):
    """For the usages ``ut`` of the kinds of p: ``{t: set of y}`` (usage of the kept kinds)."""
    _, _, caps, keep_mask, _, tmax = plan
    out = defaultdict(set)
    ranges = [range(min(c - a, tmax) + 1) for c, a in zip(caps, ut)]
    for x in product(*ranges):
        t = sum(x)
        if t <= tmax:
            out[t].add(tuple(a + b for a, b, keep in zip(ut, x, keep_mask) if keep))
    return out


def _transition(plan, state, tables):
    _, tb, _, _, asm, _ = plan
    buckets = defaultdict(set)
    for u in state:
        ut = tuple(u[i] if i >= 0 else 0 for i in tb)
        options = tables.get(ut)
        if options is None:
            options = tables[ut] = _options(plan, ut)
        for t, ys in options.items():
            bucket = buckets[t]
            for y in ys:
                z = u + y
                bucket.add(tuple([z[i] for i in asm]))
    out = {}
    for t, vecs in buckets.items():
        least = min(map(sum, vecs))
        out[t] = frozenset(v for v in vecs if sum(v) == least)
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

    **Method (exact, no enumeration of K).** Terms with :math:`t_{ij} > d_1`
    vanish, so :math:`t_{ij} \le \min(d_1, |S_{ij}|)`. By Hall's theorem,
    :math:`t \in K` exactly when :math:`t_{ij}` copies of each position can
    be matched to distinct input units of their receptive fields. Units
    covered by the same set of positions ("kinds", with :math:`m_k` units
    each) are interchangeable, so :math:`t \in K` iff there is an integer
    flow :math:`x_{p,k} \ge 0` with :math:`\sum_k x_{p,k} = t_p` (over the
    kinds in :math:`S_p`) and :math:`\sum_p x_{p,k} \le m_k`.

    Positions are swept in row-major order. After the prefix
    :math:`t_1, \dots, t_{q-1}`, let :math:`U_q` be the set of usage vectors
    :math:`u_k = \sum_{p<q} x_{p,k}` of the prefix's flows. Whether a suffix
    :math:`t_q, \dots` completes the prefix depends only on whether some
    :math:`u \in U_q` leaves room for it; that is a down-closed property of
    :math:`u` restricted to the *frontier* kinds (touched both before and
    from :math:`q` on). So the state :math:`\sigma_q` = the minimal elements
    of :math:`U_q` restricted to the frontier decides every completion.
    :math:`\sigma_{q+1}` is a function of :math:`\sigma_q` and :math:`t_q`
    (a minimal new vector is a minimal old one plus some :math:`x_q`, then
    projected). The programme keeps, per state, the sum of
    :math:`\prod_{p<q} \binom{d_1}{t_p}` over the prefixes that reach it;
    each vector :math:`t` follows exactly one path, so it is counted once,
    and exactly when its path never meets an empty state, i.e. when
    :math:`t \in K`. Different matchings of the same :math:`t` are never
    counted twice, since :math:`t`, not the matching, is the unit of count.

    Matroid structure keeps the state small and cheap to canonicalise: the
    sets of units covered by the prefix's saturating matchings are the bases
    of a transversal matroid :math:`M` on the touched units, and the
    minimal restrictions to the frontier :math:`A` are the bases of the
    contraction :math:`M / Z` (:math:`Z` the touched units off the
    frontier). If :math:`B \cap Z` is not a basis of :math:`M|Z`, some
    :math:`z \in Z \setminus B` extends it, the circuit of :math:`B + z`
    meets :math:`B \cap A` in some :math:`a`, and :math:`B - a + z` has a
    smaller restriction. Hence the minimal vectors are exactly those of
    least total, which is how :meth:`_Kinds.step` finds them, and the
    number of states is at most the number of matroids on the frontier.

    **Cost**, measured on one core (``d0 = 1``, 2x2 filters, stride 1):
    a 5x5 input takes about 0.02 s with ``d1 = 2`` and 0.02 s with
    ``d1 = 4``; a 6x6 input about 0.05 s and 0.06 s; 8x8 with ``d1 = 4``
    about 0.4 s; 10x10 about 3 s. The frontier is about one row of input
    units, so the cost grows exponentially in the input width and linearly
    in its height; 1-D inputs and strides at least the kernel size are cheap
    at any length. Practical up to widths of about 10 with 2x2 kernels and
    ``d0 = 1``; larger ``d0`` or kernels enlarge the frontier.

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
    d1 = _as_int(filters, "filters", minimum=1)
    _validate_padding(padding)
    kinds = _sweep(d0, h, w, f1, f2, s)
    tmax = min(d1, kinds.size)
    layer = {frozenset({()}): 1}
    for p in range(len(kinds.positions)):
        nxt = defaultdict(int)
        for state, weight in layer.items():
            for t, new in kinds.step(p, state, tmax).items():
                nxt[new] += weight * comb(d1, t)
        layer = nxt
    return sum(layer.values())


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
    with the number of positions (a 3x3 input with 2x2 kernels already has
    hundreds of elements), so this is meant for tiny shapes and tests.

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
        for t, new in sorted(kinds.step(p, state, kinds.size).items()):
            prefix.append(t)
            yield from rec(p + 1, new)
            prefix.pop()

    return rec(0, frozenset({()}))


# --------------------------------------------------------------------------- Theorem 2


def _validate_layers(layers):
    """Return the layers as a list of ``(d, (f1, f2), s)`` with positive ints."""
    message = "`layers` must be a non-empty sequence of (filters, (f1, f2), stride) triples"
    if isinstance(layers, (str, bytes)):
        raise InvalidInputError(f"{message}, got {layers!r}")
    try:
        items = list(layers)
    except TypeError:
        raise InvalidInputError(f"{message}, got {layers!r}") from None
    if not items:
        raise InvalidInputError(f"{message}, got {layers!r}")
    out = []
    for item in items:
        try:
            d, f, s = item
        except (TypeError, ValueError):
            raise InvalidInputError(f"{message}, got {item!r}") from None
        try:
            d = _as_int(d, "layers", minimum=1)
            f = _validate_pair(f, "layers")
            s = _as_int(s, "layers", minimum=1)
        except InvalidInputError:
            raise InvalidInputError(f"{message} of positive integers, got {item!r}") from None
        out.append((d, f, s))
    return out


def _grid_sizes(h, w, layers):
    """Spatial sizes ``[(n_0^(1), n_0^(2)), ..., (n_L^(1), n_L^(2))]``; refuse an empty layer."""
    sizes = [(h, w)]
    for l, (_, (f1, f2), s) in enumerate(layers, start=1):
        a, b = sizes[-1]
        if f1 > a or f2 > b:
            raise InvalidInputError(
                f"`layers`: layer {l} has a {f1}x{f2} kernel on a {a}x{b} input, "
                "so its output is empty"
            )
        sizes.append((_out(a, f1, s), _out(b, f2, s)))
    return sizes


def xiong_deep_lower(input_shape, layers):
    r"""Lower bound on the maximal number of regions of an L-layer ReLU CNN, Xiong et al. (2020), Theorem 2 (i).

    With layers :math:`(d_l, (f_l^{(1)}, f_l^{(2)}), s_l)`, no padding,
    grids :math:`n_l^{(i)} = \lfloor (n_{l-1}^{(i)} - f_l^{(i)})/s_l \rfloor + 1`
    and :math:`d_l \ge d_0` for every :math:`l`:

    .. math::

        R_N \ge R_{N'} \prod_{l=1}^{L-1}
        \Bigl\lfloor \frac{d_l}{d_0} \Bigr\rfloor^{n_l^{(1)} n_l^{(2)} d_0},

    where :math:`N'` is the one-layer CNN on an input of shape
    :math:`(d_0, n_{L-1}^{(1)}, n_{L-1}^{(2)})` with the last layer's
    :math:`d_L` filters (of depth :math:`d_0`), kernel and stride, and
    :math:`R_{N'}` is :func:`xiong_one_layer`. For one layer it is
    :func:`xiong_one_layer`. Where :math:`R_{N'}` exceeds the true maximum
    of :math:`N'` (weight-sharing rank deficits, see
    :func:`xiong_one_layer`) this bound inherits the gap.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    layers : sequence of (int, tuple of int, int)
        ``[(d_1, (f1, f2), s_1), ..., (d_L, (f1, f2), s_L)]``.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If a shape is malformed or some layer's output is empty.
    UnsupportedError
        If some :math:`d_l < d_0`: the bound needs :math:`d_l \ge d_0`.

    Examples
    --------
    Two layers on a 1-D input of length 3 (kernel 1, so each layer keeps 3
    positions): :math:`R_{N'} = (1 + 2)^3` and the product is
    :math:`\lfloor 2/1 \rfloor^{3}`:

    >>> xiong_deep_lower((1, 1, 3), [(2, (1, 1), 1), (2, (1, 1), 1)])
    216
    """
    d0, h, w = _validate_input_shape(input_shape)
    layers = _validate_layers(layers)
    if any(d < d0 for d, _, _ in layers):
        raise UnsupportedError(
            f"`layers`: the lower bound of Xiong et al. (2020), Theorem 2, needs "
            f"d_l >= d0 = {d0} filters in every layer, got {[d for d, _, _ in layers]}"
        )
    sizes = _grid_sizes(h, w, layers)
    dL, fL, sL = layers[-1]
    head = xiong_one_layer((d0, *sizes[-2]), filters=dL, kernel=fL, stride=sL)
    factor = prod((d // d0) ** (a * b * d0) for (d, _, _), (a, b) in zip(layers[:-1], sizes[1:-1]))
    return head * factor


def xiong_deep_upper(input_shape, layers):
    r"""Upper bound on the number of regions of an L-layer ReLU CNN, Xiong et al. (2020), Theorem 2 (ii).

    With the notation of :func:`xiong_deep_lower`,

    .. math::

        R_N \le R_{N''} \prod_{l=2}^{L}
        \sum_{i=0}^{n_0^{(1)} n_0^{(2)} d_0} \binom{n_l^{(1)} n_l^{(2)} d_l}{i},

    where :math:`N''` is the first layer alone (:func:`xiong_one_layer`).
    Each later layer has :math:`n_l^{(1)} n_l^{(2)} d_l` neurons, which
    split each region of the layers before it, a subset of the input space
    of dimension :math:`n_0^{(1)} n_0^{(2)} d_0`, into at most the stated
    number of pieces. The argument does not use :math:`d_l \ge d_0`, so it
    is not required here. For one layer it is :func:`xiong_one_layer`.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    layers : sequence of (int, tuple of int, int)
        ``[(d_1, (f1, f2), s_1), ..., (d_L, (f1, f2), s_L)]``.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If a shape is malformed or some layer's output is empty.

    Examples
    --------
    A 1x1 kernel then a layer of 1 filter on a 1-D input of length 2:
    :math:`R_{N''} = (1 + 1)^2` and the second layer (2 neurons in
    dimension 2) gives :math:`\binom{2}{0} + \binom{2}{1} + \binom{2}{2} = 4`:

    >>> xiong_deep_upper((1, 1, 2), [(1, (1, 1), 1), (1, (1, 1), 1)])
    16
    """
    d0, h, w = _validate_input_shape(input_shape)
    layers = _validate_layers(layers)
    sizes = _grid_sizes(h, w, layers)
    d1, f1, s1 = layers[0]
    head = xiong_one_layer((d0, h, w), filters=d1, kernel=f1, stride=s1)
    dim = h * w * d0
    factor = 1
    for (d, _, _), (a, b) in zip(layers[1:], sizes[2:]):
        n = a * b * d
        factor *= sum(comb(n, i) for i in range(min(n, dim) + 1))
    return head * factor
