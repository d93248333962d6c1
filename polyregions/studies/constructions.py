r"""Networks from the literature that attain region-count bounds.

:func:`montufar2014_network` builds the explicit construction of Montufar, Pascanu,
Cho & Bengio (2014) [MPCB14]_, which has at least

.. math::

    \Bigl(\prod_{l=1}^{L-1} \Bigl\lfloor \frac{n_l}{n_0} \Bigr\rfloor^{n_0}\Bigr)
    \sum_{i=0}^{n_0} \binom{n_L}{i}

activation regions (:func:`polyregions.bounds.dense.montufar2014_lower`).

References
----------
.. [MPCB14] G. Montufar, R. Pascanu, K. Cho and Y. Bengio, "On the number of linear
   regions of deep neural networks", NeurIPS 2014.
"""

from __future__ import annotations

import numpy as np

from ..bounds.dense import check_montufar2014_widths
from ..model.network import Network

__all__ = ["montufar2014_network"]


def _fold_coefficients(p):
    """Coefficients ``c_i`` of the fold ``g(t) = sum_i c_i max(0, p t - (i - 1))``: 1, -2, 2, -2, ..."""
    c = np.full(p, 2.0)
    c[1::2] = -2.0
    c[0] = 1.0
    return c


def _last_layer_hyperplanes(n0, n):
    r"""Normals ``w_j`` (rows) and offsets ``d_j`` of ``n`` hyperplanes ``w_j . t = d_j``.

    ``w_j = (1, tau_j, ..., tau_j^{n0-1})`` and ``w_j . (t - q) = eps tau_j^{n0}``, with
    ``q = (1/2, ..., 1/2)``, distinct ``tau_j`` in ``(-1/2, 1/2)`` and
    ``eps = 0.4 (2/3)^{n0}``; see :func:`montufar2014_network`.
    """
    tau = (np.arange(n) + 1.0) / (n + 1.0) - 0.5
    eps = 0.4 * (2.0 / 3.0) ** n0
    normals = tau[:, None] ** np.arange(n0)[None, :]
    q = np.full(n0, 0.5)
    offsets = normals @ q + eps * tau**n0
    return normals, offsets


def montufar2014_network(n0, widths) -> Network:
    r"""The network of Montufar, Pascanu, Cho & Bengio (2014) that attains their lower bound.

    Input dimension :math:`n_0`, hidden widths :math:`n_1, \dots, n_L` with
    :math:`n_l \ge n_0`. The network has at least

    .. math::

        \Bigl(\prod_{l=1}^{L-1} p_l^{\,n_0}\Bigr) \sum_{i=0}^{n_0} \binom{n_L}{i},
        \qquad p_l = \lfloor n_l / n_0 \rfloor,

    activation regions, all meeting the open unit cube :math:`(0, 1)^{n_0}` ([MPCB14]_,
    Theorem 4, with the construction of their section 4).

    **Folding layers** :math:`l = 1, \dots, L-1`. The :math:`n_l` neurons are split into
    :math:`n_0` groups of :math:`p = p_l` neurons, group :math:`k` acting on the
    :math:`k`-th *folded coordinate* :math:`t_k` of the previous layer (the input
    :math:`x_k` for :math:`l = 1`). Neuron :math:`i = 1..p` of group :math:`k` computes

    .. math:: h_{k,i} = \max(0,\ p\, t_k - (i - 1)),

    and the layer's folded coordinates are the alternating sums

    .. math::

        t'_k = g_p(t_k) = \sum_{i=1}^{p} c_i h_{k,i}, \qquad
        c_1 = 1,\ c_i = 2(-1)^{i-1}\ (i \ge 2).

    With :math:`s = p t`, :math:`g_p` is :math:`s` on :math:`[0, 1]`, :math:`2 - s` on
    :math:`[1, 2]`, :math:`s - 2` on :math:`[2, 3]`, ...: it maps each of the :math:`p`
    intervals :math:`[(i-1)/p, i/p]` affinely onto :math:`[0, 1]` (the "zig-zag" of
    [MPCB14]_, rescaled so that :math:`h_1 = \max(0, p t)` has coefficient 1). The sums
    are folded into the next layer's weights: the next layer's neuron :math:`(k, i)` has
    weight :math:`p_{l+1} c_{i'}` on neuron :math:`(k, i')` of this layer and bias
    :math:`-(i-1)`; for :math:`l = 1` its weight on :math:`x_k` is :math:`p_1`. The
    :math:`n_l - n_0 p_l` leftover neurons get zero weights and bias :math:`-1`: they are
    off everywhere (pre-activation :math:`-1 < 0`) and split nothing, and the next layer
    gives them zero weight.

    On each of the :math:`\prod_{l<L} p_l^{n_0}` open *cells* (products of nested
    intervals) the map :math:`x \mapsto t^{(L-1)}` is an affine bijection onto the open
    cube :math:`(0, 1)^{n_0}`, and the patterns of the folding layers differ between
    cells (neuron :math:`(k, i)` is on exactly when :math:`t_k > (i-1)/p`, so the
    pattern of a layer gives the interval index of each coordinate).

    **Last layer** :math:`L`: :math:`n_L` hyperplanes in general position in the folded
    cube, :math:`w_j \cdot (t - q) = \varepsilon \tau_j^{n_0}` with
    :math:`w_j = (1, \tau_j, \dots, \tau_j^{n_0-1})`, :math:`q = (\tfrac12, \dots, \tfrac12)`,
    :math:`\tau_j = (j + 1)/(n_L + 1) - \tfrac12` (distinct, in :math:`(-\tfrac12, \tfrac12)`)
    and :math:`\varepsilon = 0.4\,(2/3)^{n_0}`. Any :math:`n_0` normals form a
    Vandermonde matrix and any :math:`n_0 + 1` augmented rows
    :math:`(w_j, \varepsilon\tau_j^{n_0})` too, so the arrangement is in general
    position. The vertex of a set :math:`S` of :math:`n_0` hyperplanes is
    :math:`t = q + y` with :math:`\sum_m y_m \tau^m = \varepsilon\tau^{n_0}` on
    :math:`S`, i.e. :math:`y_m = -\varepsilon\,[\tau^m] \prod_{s \in S}(\tau - \tau_s)`, so
    :math:`|y_m| \le \varepsilon \binom{n_0}{m} 2^{m - n_0} \le \varepsilon (3/2)^{n_0} = 0.4`:
    every vertex lies in the open cube. Every region of a general-position arrangement
    with :math:`n_L \ge n_0` is a pointed polyhedron, whose closure contains a vertex,
    so all :math:`\sum_{i \le n_0} \binom{n_L}{i}` regions meet the open cube (for
    :math:`n_L < n_0` the hyperplanes share a point within :math:`0.4` of :math:`q`, by
    the same argument with :math:`\tau^{n_0 - n_L} \prod_{s}(\tau - \tau_s)`, and all
    :math:`2^{n_L}` regions meet the cube). The last layer's weights are
    :math:`w_{jk} c_{i'}` on neuron :math:`(k, i')` of layer :math:`L-1` (on :math:`x_k`
    when :math:`L = 1`) and its bias is :math:`-w_j \cdot q - \varepsilon\tau_j^{n_0}`.

    Each (cell, last-layer region) pair is a distinct pattern with non-empty interior,
    which gives the bound. The network has more regions outside the unit cube, so its
    count in the whole space may exceed the bound.

    Parameters
    ----------
    n0 : int
        Input dimension, ``>= 1``.
    widths : sequence of int
        Hidden widths :math:`n_1, \dots, n_L`, each ``>= n0``.

    Returns
    -------
    Network
        Dense, with ``len(widths)`` hidden layers and no output layer.

    Raises
    ------
    InvalidInputError
        If `n0` or `widths` is malformed.
    UnsupportedError
        If some :math:`n_l < n_0`.

    Examples
    --------
    One input, widths (3, 3): each fold maps 3 intervals onto [0, 1], and the last layer's
    3 points cut each into 4 pieces, so at least :math:`3 \cdot 4 = 12` regions:

    >>> import polyregions as pr
    >>> net = montufar2014_network(1, [3, 3])
    >>> pr.count_regions(net, pr.Box([-0.5], [1.5])).count >= 12
    True
    """
    n0, widths = check_montufar2014_widths(n0, widths, "construction")
    L = len(widths)
    weights, biases = [], []
    prev_dim = n0
    # columns of the previous layer that carry folded coordinate k, with their coefficients
    fold_cols = [np.array([k]) for k in range(n0)]
    fold_coef = [np.array([1.0]) for _ in range(n0)]
    for l, n in enumerate(widths):
        W = np.zeros((n, prev_dim))
        b = np.zeros(n)
        if l < L - 1:
            p = n // n0
            c = _fold_coefficients(p)
            new_cols, new_coef = [], []
            for k in range(n0):
                rows = k * p + np.arange(p)
                for i in range(p):  # neuron (k, i+1): max(0, p t_k - i)
                    W[rows[i], fold_cols[k]] = p * fold_coef[k]
                    b[rows[i]] = -float(i)
                new_cols.append(rows)
                new_coef.append(c)
            b[n0 * p:] = -1.0  # leftover neurons: dead
            fold_cols, fold_coef = new_cols, new_coef
        else:
            normals, offsets = _last_layer_hyperplanes(n0, n)
            for k in range(n0):
                W[:, fold_cols[k]] = normals[:, k:k + 1] * fold_coef[k][None, :]
            b[:] = -offsets
        weights.append(W)
        biases.append(b)
        prev_dim = n
    return Network.from_dense(weights, biases)
