"""Closed-form counts and bounds for fully connected ReLU networks.

A network with input dimension ``n0`` and hidden widths ``widths = [n_1, ..., n_L]``.
Every function returns an exact Python ``int`` (binomials from :func:`math.comb`,
no floating point anywhere).

References
----------
.. [Z75] T. Zaslavsky, "Facing up to arrangements: face-count formulas for
   partitions of space by hyperplanes", Memoirs of the AMS 154, 1975.
.. [PMB13] R. Pascanu, G. Montufar and Y. Bengio, "On the number of response
   regions of deep feed forward networks with piece-wise linear activations",
   arXiv:1312.6098, 2013.
.. [MPCB14] G. Montufar, R. Pascanu, K. Cho and Y. Bengio, "On the number of
   linear regions of deep neural networks", NeurIPS 2014.
.. [M17] G. Montufar, "Notes on the number of linear regions of deep neural
   networks", SampTA 2017.
.. [STR18] T. Serra, C. Tjandraatmadja and S. Ramalingam, "Bounding and
   counting linear regions of deep neural networks", ICML 2018.
"""

from __future__ import annotations

from functools import lru_cache
from math import comb, prod

from .._validate import int_at_least, positive_int_sequence
from ..errors import UnsupportedError

__all__ = ["zaslavsky", "montufar2014_lower", "montufar2017_upper", "serra2018_upper"]


def check_montufar2014_widths(n0, widths, what):
    """Validate ``n0`` and ``widths`` for Montufar et al. (2014), whose `what` needs every ``n_l >= n0``.

    Returns ``(n0, widths)`` as positive ints; raises :class:`~polyregions.errors.UnsupportedError`
    naming `widths` when some ``n_l < n0``. :func:`polyregions.montufar2014_network` shares it.
    """
    n0 = int_at_least(n0, "n0", 1)
    widths = positive_int_sequence(widths, "widths")
    if any(n < n0 for n in widths):
        raise UnsupportedError(
            f"`widths`: the {what} of Montufar et al. (2014) needs n_l >= n0 = {n0} "
            f"for every layer, got {widths}"
        )
    return n0, widths


def _sum_binomials(n, k):
    r"""Return :math:`\sum_{i=0}^{k} \binom{n}{i}` (terms with ``i > n`` vanish)."""
    return sum(comb(n, i) for i in range(min(n, k) + 1))


def zaslavsky(n0, n1):
    r"""Number of regions of ``n1`` hyperplanes in general position in :math:`\mathbb{R}^{n_0}`.

    This is the number of linear regions of a one-hidden-layer ReLU network
    with input dimension :math:`n_0` and :math:`n_1` neurons, for generic
    weights and biases, over the whole input space ([Z75]_, [PMB13]_):

    .. math:: R(n_0, n_1) = \sum_{i=0}^{n_0} \binom{n_1}{i}.

    When :math:`n_1 \le n_0` this is :math:`2^{n_1}`. Inside a box (or any
    convex domain) the count is at most this; with degenerate parameters it
    can be smaller (see :func:`polyregions.bounds.whitney_count`).

    Parameters
    ----------
    n0 : int
        Input dimension, ``>= 1``.
    n1 : int
        Number of neurons (hyperplanes), ``>= 0``.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If ``n0`` is not a positive integer or ``n1`` not a non-negative one.

    Examples
    --------
    Three lines in general position cut the plane into 7 regions:

    >>> zaslavsky(2, 3)
    7
    """
    n0 = int_at_least(n0, "n0", 1)
    n1 = int_at_least(n1, "n1", 0)
    return _sum_binomials(n1, n0)


def montufar2014_lower(n0, widths):
    r"""Lower bound on the maximal number of regions, Montufar et al. (2014).

    For input dimension :math:`n_0` and widths :math:`n_l \ge n_0`
    (:math:`l = 1, \dots, L`), [MPCB14]_ (Theorem 4) construct parameters
    with at least

    .. math::

        \Bigl(\prod_{l=1}^{L-1} \Bigl\lfloor \frac{n_l}{n_0} \Bigr\rfloor^{n_0}\Bigr)
        \sum_{i=0}^{n_0} \binom{n_L}{i}

    linear regions. This bounds the *maximum over parameters*; it holds for
    their explicit construction, not for random networks. For one layer it
    equals :func:`zaslavsky`.

    Parameters
    ----------
    n0 : int
        Input dimension, ``>= 1``.
    widths : sequence of int
        Hidden widths :math:`n_1, \dots, n_L`, each ``>= n0``.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If ``n0`` or ``widths`` is malformed.
    UnsupportedError
        If some :math:`n_l < n_0`: the bound needs :math:`n_l \ge n_0`.

    Examples
    --------
    Two layers of width 4 and 3 on a 2-D input:
    :math:`\lfloor 4/2 \rfloor^2 (1 + 3 + 3) = 28`.

    >>> montufar2014_lower(2, [4, 3])
    28
    """
    n0, widths = check_montufar2014_widths(n0, widths, "bound")
    head = prod((n // n0) ** n0 for n in widths[:-1])
    return head * _sum_binomials(widths[-1], n0)


def montufar2017_upper(n0, widths):
    r"""Upper bound on the number of regions, Montufar (2017).

    From [M17]_:

    .. math::

        \prod_{l=1}^{L} \sum_{i=0}^{m_l} \binom{n_l}{i},
        \qquad m_l = \min(n_0, n_1, \dots, n_{l-1}).

    (Adding :math:`n_l` to the minimum, as some statements do, changes
    nothing, since :math:`\binom{n_l}{i} = 0` for :math:`i > n_l`.) For one
    layer it equals :func:`zaslavsky`.

    Parameters
    ----------
    n0 : int
        Input dimension, ``>= 1``.
    widths : sequence of int
        Hidden widths :math:`n_1, \dots, n_L`, positive.

    Returns
    -------
    int

    Examples
    --------
    :math:`m_1 = m_2 = 2`, so the bound is :math:`7 \cdot 7`:

    >>> montufar2017_upper(2, [3, 3])
    49
    """
    n0 = int_at_least(n0, "n0", 1)
    widths = positive_int_sequence(widths, "widths")
    total = 1
    m = n0
    for n in widths:
        total *= _sum_binomials(n, m)
        m = min(m, n)
    return total


def serra2018_upper(n0, widths):
    r"""Upper bound on the number of regions, Serra, Tjandraatmadja & Ramalingam (2018).

    Theorem 1 of [STR18]_:

    .. math::

        \sum_{(j_1, \dots, j_L) \in J} \prod_{l=1}^{L} \binom{n_l}{j_l},
        \qquad
        J = \{ j \in \mathbb{Z}^L : 0 \le j_l \le
        \min(n_0, n_1 - j_1, \dots, n_{l-1} - j_{l-1}, n_l) \ \forall l \}.

    It never exceeds :func:`montufar2017_upper` and equals :func:`zaslavsky`
    for one layer.

    The set :math:`J` is not enumerated: the constraint on :math:`j_l` only
    depends on the running minimum
    :math:`c_l = \min(n_0, n_1 - j_1, \dots, n_{l-1} - j_{l-1})`, with
    :math:`c_1 = n_0` and :math:`c_{l+1} = \min(c_l, n_l - j_l)`. So with
    :math:`F(L+1, c) = 1` and

    .. math::

        F(l, c) = \sum_{j=0}^{\min(c, n_l)} \binom{n_l}{j}\, F(l+1, \min(c, n_l - j)),

    the bound is :math:`F(1, n_0)`, computed with memoisation in
    :math:`O(L\, n_0 \max_l n_l)` big-integer operations.

    Parameters
    ----------
    n0 : int
        Input dimension, ``>= 1``.
    widths : sequence of int
        Hidden widths :math:`n_1, \dots, n_L`, positive.

    Returns
    -------
    int

    Examples
    --------
    For widths (3, 3) on a 2-D input: :math:`j_1 = 0` gives
    :math:`1 \cdot 7`, :math:`j_1 = 1` gives :math:`3 \cdot 7` and
    :math:`j_1 = 2` gives :math:`3 \cdot (1 + 3)`, in all 40 (Montufar's bound is 49):

    >>> serra2018_upper(2, [3, 3])
    40
    """
    n0 = int_at_least(n0, "n0", 1)
    widths = tuple(positive_int_sequence(widths, "widths"))
    L = len(widths)

    @lru_cache(maxsize=None)
    def F(l, c):
        if l == L:
            return 1
        n = widths[l]
        return sum(comb(n, j) * F(l + 1, min(c, n - j)) for j in range(min(c, n) + 1))

    # Fill the table from the last layer up, so that the recursion stays shallow.
    for l in range(L - 1, 0, -1):
        for c in range(n0 + 1):
            F(l, c)
    return F(0, n0)
