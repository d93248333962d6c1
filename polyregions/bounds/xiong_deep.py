r"""Theorem 2 of Xiong et al. (ICML 2020): bounds for convolutional ReLU networks of several layers.

Layers are ``(d_l, (f_l^(1), f_l^(2)), s_l)``: :math:`d_l` filters of shape
:math:`(d_{l-1}, f_l^{(1)}, f_l^{(2)})`, stride :math:`s_l`, no padding, on an input
of shape ``(d0, h, w)`` (channels first); the grids are
:math:`n_l^{(i)} = \lfloor (n_{l-1}^{(i)} - f_l^{(i)})/s_l \rfloor + 1`.

- :func:`xiong_deep_upper`: Theorem 2 (ii), an upper bound on the number of regions.
- :func:`xiong_deep_lower`: Theorem 2 (i), a lower bound on the *maximum* over
  parameters, built on the one-layer network :math:`N'` of the last layer. Theorem 1's
  :math:`R_{N'}` is not always attained (weight sharing can force dependent normals,
  :mod:`.rank_deficit`), so the bound is returned with :math:`N'`'s count certified
  for explicit parameters (:func:`xiong_deep_lower_certificate`), or not at all
  (:class:`~polyregions.errors.UnprovenBoundError`).

References
----------
.. [XHYLZS20] H. Xiong, L. Huang, M. Yu, L. Liu, F. Zhu and L. Shao, "On the
   number of linear regions of convolutional neural networks", ICML 2020
   (arXiv:2006.00978).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb, prod

import numpy as np

from .._validate import int_at_least
from ..model.conv import conv2d_matrix, conv_output_size
from ..errors import InvalidInputError, UnprovenBoundError, UnsupportedError
from .generic import whitney_count
from .rational import exact_rank, exact_rows
from .xiong import validate_input_shape, validate_pair, xiong_one_layer

__all__ = ["xiong_deep_lower", "xiong_deep_lower_certificate", "DeepLowerBound", "xiong_deep_upper",
           "HEAD_COUNT_LIMIT"]

#: The largest Theorem 1 count R_{N'} for which :func:`xiong_deep_lower_certificate`
#: counts the regions of N' exactly (Whitney's formula; measured on one core: 64,664 regions in 0.7 s,
#: 243,651 in 4.2 s).
HEAD_COUNT_LIMIT = 300_000


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
            d = int_at_least(d, "layers", 1)
            f = validate_pair(f, "layers")
            s = int_at_least(s, "layers", 1)
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
        sizes.append((conv_output_size(a, f1, s, 0), conv_output_size(b, f2, s, 0)))
    return sizes


@dataclass(frozen=True)
class DeepLowerBound:
    r"""Result of :func:`xiong_deep_lower_certificate`: Theorem 2 (i)'s construction, with :math:`N'` certified.

    Attributes
    ----------
    bound : int
        ``head * factor``: a proven lower bound on the maximal number of regions of
        the network.
    head : int
        The exact number of regions (in its whole input space) of :math:`N'` with the
        parameters ``head_weight``, ``head_bias``.
    head_R_N : int
        Theorem 1's :math:`R_{N'}` (:func:`~polyregions.bounds.xiong_one_layer`);
        ``head <= head_R_N``, with equality exactly when Xiong et al.'s value is proven.
    factor : int
        :math:`\prod_{l=1}^{L-1} \lfloor d_l / d_0 \rfloor^{n_l^{(1)} n_l^{(2)} d_0}`.
    how : str
        How ``head`` was established.
    head_weight, head_bias : numpy.ndarray
        The parameters of :math:`N'` (filters of shape ``(d_L, d0, f1, f2)``, one bias
        per filter) whose count is ``head``.
    """

    bound: int
    head: int
    head_R_N: int
    factor: int
    how: str
    head_weight: np.ndarray
    head_bias: np.ndarray

    @property
    def attains_theorem(self) -> bool:
        """True when :math:`N'` attains :math:`R_{N'}`, so ``bound`` is Xiong et al.'s value."""
        return self.head == self.head_R_N


@lru_cache(maxsize=256)
def _certified_head(d0, h, w, d, f1, f2, s, limit):
    """(count, how, weight, bias) for the one-layer CNN N', or raise UnprovenBoundError."""
    R = xiong_one_layer((d0, h, w), filters=d, kernel=(f1, f2), stride=s)
    rng = np.random.default_rng([0, d0, h, w, d, f1, f2, s])
    weight = rng.normal(size=(d, d0, f1, f2))
    bias = rng.normal(size=d)
    W, b, _ = conv2d_matrix(weight, bias, (d0, h, w), s, 0)
    m = W.shape[0]
    shape = f"N' ({d} filters {f1}x{f2}, stride {s}, on a {d0}x{h}x{w} input)"
    if exact_rank(exact_rows(W)) == m:
        how = (f"the {m} normals of {shape} are linearly independent (exact rank), so all 2**{m} "
               "sign patterns are regions")
        return 2 ** m, how, weight, bias
    if R > limit:
        raise UnprovenBoundError(
            f"no lower bound is proven: Theorem 2 (i) needs N' to attain R_N' = {R:,}, but the {m} normals "
            f"of {shape} are linearly dependent (weight sharing may force fewer regions than R_N'), and "
            f"counting its regions exactly would exceed the limit of {limit:,}"
        )
    count = whitney_count(W, b)
    how = f"{shape} with seeded N(0, 1) parameters has exactly {count:,} regions (Whitney's formula, exact)"
    if count < R:
        how += f", below Theorem 1's R_N' = {R:,} (linearly dependent normals)"
    return count, how, weight, bias


def xiong_deep_lower_certificate(input_shape, layers, *, head_count_limit: int = HEAD_COUNT_LIMIT) -> DeepLowerBound:
    r"""Theorem 2 (i) of Xiong et al. (2020), carried out with a certified count of :math:`N'`.

    **Statement.** Let :math:`d_l \ge d_0` for every layer and let :math:`N'` be the
    one-layer CNN on an input of shape :math:`(d_0, n_{L-1}^{(1)}, n_{L-1}^{(2)})` with the
    last layer's :math:`d_L` filters (of depth :math:`d_0`), kernel and stride. If
    :math:`N'` has :math:`r` regions for some parameters, the maximal number of regions
    of :math:`N` satisfies

    .. math::

        R_N \ge r \prod_{l=1}^{L-1} p_l^{\,n_l^{(1)} n_l^{(2)} d_0},
        \qquad p_l = \lfloor d_l / d_0 \rfloor .

    Xiong et al. state it with :math:`r = R_{N'}` (their Theorem 1), which holds only
    where :math:`N'` attains :math:`R_{N'}`; where weight sharing forces dependent
    normals (for example a 3x3 input with two 2x2 filters: 255 regions at most,
    :math:`R_{N'} = 256`) that product is not a proven bound.

    **Proof** (the construction of the theorem, with :math:`N'` arbitrary). Inputs lie in
    the open cube :math:`(0, 1)^{n_0}`, :math:`t^{(0)} = x`. In layer :math:`l < L`, for
    each input channel :math:`c < d_0` use :math:`p_l` filters :math:`(c, k)`,
    :math:`k = 1..p_l`, whose kernel is zero except at offset :math:`(0, 0)`, with bias
    :math:`-(k - 1)`, so that neuron :math:`(c, k)` at position :math:`(i, j)` computes
    :math:`\max(0,\ p_l u - (k - 1))` with
    :math:`u = t^{(l-1)}_{c,\, i s_l,\, j s_l}`; the :math:`d_l - d_0 p_l` other filters
    are zero with bias :math:`-1` (off everywhere). The alternating sum
    :math:`t^{(l)}_{c,i,j} = \sum_k \gamma_k h_{(c,k),i,j}` with :math:`\gamma_1 = 1`,
    :math:`\gamma_k = 2(-1)^{k-1}` is the zig-zag :math:`g_{p_l}(u)`, which maps each
    interval :math:`((k-1)/p_l, k/p_l)` affinely onto :math:`(0, 1)`; the next layer's
    kernel weights absorb the :math:`\gamma_k` (a weight on channel :math:`c` becomes
    :math:`\gamma_k` times it on channel :math:`(c, k)`), and so does layer :math:`L`,
    which holds :math:`N'`'s filters and biases acting on :math:`t^{(L-1)}`. A unit of
    layer :math:`l` reads one unit of layer :math:`l-1`, and distinct positions
    :math:`(i, j)` read distinct positions :math:`(i s_l, j s_l)`, so each coordinate
    of :math:`x` feeds at most one chain of folded units, and along its chain each
    fold splits its current interval into :math:`p_l` open pieces on which the
    folding neurons have distinct patterns. Choosing one piece for every folded unit
    (:math:`\prod_l p_l^{n_l^{(1)} n_l^{(2)} d_0}` choices) gives an open box of
    :math:`x` on which every :math:`t^{(L-1)}` coordinate is an affine bijection of its
    own input coordinate onto :math:`(0, 1)`: an affine map of the box onto the open
    cube. Scale :math:`N'` into that cube: with its hyperplanes
    :math:`V_j \cdot y + \beta_j = 0` and a point of each of its :math:`r` regions in
    the ball :math:`\|y\| < \rho`, substitute :math:`y = (t - q)/\tau` with
    :math:`q = (\tfrac12, \dots)` and :math:`\tau \rho < \tfrac12`; the new bias
    :math:`\tau\beta_j - V_j \cdot q = \tau \beta_o - \tfrac12 \sum V_o` depends on
    the filter :math:`o` only (no padding: every receptive field is full), so the
    scaled layer is again a convolution, with the same sign patterns, and all
    :math:`r` regions meet the cube. Each (box, region of :math:`N'`) pair is then a
    non-empty open set with its own pattern, which proves the bound.

    **The certificate for** :math:`r`. :math:`N'` gets seeded :math:`N(0, 1)`
    parameters (``numpy.random.default_rng([0, d0, n1, n2, d_L, f1, f2, s_L])``). If
    its :math:`m` lowered normals are linearly independent (exact rational rank),
    every set of its hyperplanes meets and :math:`r = 2^m = R_{N'}`. Otherwise, when
    :math:`R_{N'} \le` `head_count_limit`, :math:`r` is its exact count by Whitney's
    formula (:func:`~polyregions.bounds.whitney_count`, exact rationals, shared
    biases included): :math:`R_{N'}` where :math:`N'` attains it, less on a deficit
    shape (almost surely :math:`N'`'s true maximum). Otherwise no bound is proven.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    layers : sequence of (int, tuple of int, int)
        ``[(d_1, (f1, f2), s_1), ..., (d_L, (f1, f2), s_L)]``.
    head_count_limit : int
        Count :math:`N'`'s regions only when :math:`R_{N'}` is at most this.

    Returns
    -------
    DeepLowerBound

    Raises
    ------
    InvalidInputError
        If a shape is malformed or some layer's output is empty.
    UnsupportedError
        If some :math:`d_l < d_0`: the construction needs :math:`d_l \ge d_0`.
    UnprovenBoundError
        If :math:`N'`'s normals are dependent and :math:`R_{N'}` exceeds
        `head_count_limit`: no lower bound is proven (the message says why).

    Examples
    --------
    Two 2x2 filters on a 3x3 input: the 8 normals have rank 7, so :math:`N'` has 255
    regions, not :math:`R_{N'} = 256`:

    >>> c = xiong_deep_lower_certificate((1, 3, 3), [(2, (2, 2), 1)])
    >>> c.bound, c.head_R_N, c.attains_theorem
    (255, 256, False)
    """
    d0, h, w = validate_input_shape(input_shape)
    layers = _validate_layers(layers)
    limit = int_at_least(head_count_limit, "head_count_limit", 0)
    if any(d < d0 for d, _, _ in layers):
        raise UnsupportedError(
            f"`layers`: the lower bound of Xiong et al. (2020), Theorem 2, needs "
            f"d_l >= d0 = {d0} filters in every layer, got {[d for d, _, _ in layers]}"
        )
    sizes = _grid_sizes(h, w, layers)
    dL, (f1, f2), sL = layers[-1]
    a, b = sizes[-2]
    R = xiong_one_layer((d0, a, b), filters=dL, kernel=(f1, f2), stride=sL)
    head, how, weight, bias = _certified_head(d0, a, b, dL, f1, f2, sL, limit)
    factor = prod((d // d0) ** (n1 * n2 * d0) for (d, _, _), (n1, n2) in zip(layers[:-1], sizes[1:-1]))
    return DeepLowerBound(bound=head * factor, head=head, head_R_N=R, factor=factor, how=how,
                          head_weight=weight.copy(), head_bias=bias.copy())  # the cache keeps its own


def xiong_deep_lower(input_shape, layers, *, head_count_limit: int = HEAD_COUNT_LIMIT) -> int:
    r"""A proven lower bound on the maximal number of regions of an L-layer ReLU CNN, Xiong et al. (2020), Theorem 2 (i).

    .. math::

        R_N \ge r \prod_{l=1}^{L-1}
        \Bigl\lfloor \frac{d_l}{d_0} \Bigr\rfloor^{n_l^{(1)} n_l^{(2)} d_0},

    where :math:`r` is the certified number of regions of :math:`N'`, the one-layer CNN
    on an input of shape :math:`(d_0, n_{L-1}^{(1)}, n_{L-1}^{(2)})` with the last
    layer's filters: Xiong et al.'s :math:`R_{N'}` (Theorem 1) wherever :math:`N'`
    attains it, and :math:`N'`'s exact count for explicit parameters on the shapes
    where weight sharing keeps it below :math:`R_{N'}` (where the paper's product is
    not a bound). The statement, its proof and the certificate are in
    :func:`xiong_deep_lower_certificate`; this returns its ``bound``. For one layer
    the factor is 1.

    Parameters
    ----------
    input_shape : tuple of int
        ``(d0, h, w)``, channels first.
    layers : sequence of (int, tuple of int, int)
        ``[(d_1, (f1, f2), s_1), ..., (d_L, (f1, f2), s_L)]``.
    head_count_limit : int
        See :func:`xiong_deep_lower_certificate`.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If a shape is malformed or some layer's output is empty.
    UnsupportedError
        If some :math:`d_l < d_0`: the bound needs :math:`d_l \ge d_0`.
    UnprovenBoundError
        When no lower bound is proven (see :func:`xiong_deep_lower_certificate`).

    Examples
    --------
    Two layers on a 1-D input of length 3 (kernel 1, so each layer keeps 3
    positions): :math:`r = R_{N'} = (1 + 2)^3` and the product is
    :math:`\lfloor 2/1 \rfloor^{3}`:

    >>> xiong_deep_lower((1, 1, 3), [(2, (1, 1), 1), (2, (1, 1), 1)])
    216
    """
    return xiong_deep_lower_certificate(input_shape, layers, head_count_limit=head_count_limit).bound


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
    d0, h, w = validate_input_shape(input_shape)
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
