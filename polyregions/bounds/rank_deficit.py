r"""Why a one-layer CNN can have fewer regions than Theorem 1 of Xiong et al. (2020) states.

Theorem 1's :math:`R_N` counts the sets of a convolution's neurons whose normals can be
matched to distinct input units of their receptive fields (Hall's condition): the
independent sets of a transversal matroid. For generic biases the exact number of
regions in the whole space is the number of *linearly* independent sets of normals.
Every linearly independent set is matchable (a non-zero maximal minor has a non-zero
term, which is a matching), so the count never exceeds :math:`R_N`; it is smaller
exactly when some matchable set of normals is linearly dependent. Weight sharing can
force such sets for every choice of weights: with one input channel and stride 1, the
normals of two filters :math:`a, b` placed at the offsets of a 2x2 block of positions
satisfy :math:`\sum_{ij} b_{ij}\,(a \text{ at offset } ij) = a * b =
\sum_{ij} a_{ij}\,(b \text{ at offset } ij)`, so these 8 normals have rank 7 although
their receptive fields cover 9 input units.

:func:`normal_rank_deficit` finds such a set (a *witness*, shrunk to a circuit) with
exact rational ranks (:mod:`.rational`) and maximum bipartite matchings (scipy's
Hopcroft-Karp, :func:`scipy.sparse.csgraph.maximum_bipartite_matching`).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from ..model.conv import conv2d_matrix
from ..errors import InvalidInputError
from .generic import independent_subsets
from .rational import exact_rank, exact_rows, first_circuit
from .xiong import receptive_fields, xiong_one_layer

__all__ = ["NormalRankDeficit", "normal_rank_deficit", "max_matching"]


def max_matching(supports, n_cols) -> list:
    """A maximum matching of rows to columns, row ``r`` allowed the columns ``supports[r]``.

    Returns, per row, its matched column or -1 (Hopcroft-Karp, through scipy).

    >>> match = max_matching([[0, 1], [0], [0]], 2)
    >>> sum(c >= 0 for c in match), match[0]
    (2, 1)
    """
    rows = [r for r, cols in enumerate(supports) for _ in cols]
    cols = [c for cs in supports for c in cs]
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(supports), n_cols))
    return [int(c) for c in maximum_bipartite_matching(graph, perm_type="column")]


@dataclass(frozen=True)
class NormalRankDeficit:
    r"""Result of :func:`normal_rank_deficit`: the normals of one conv layer against Theorem 1.

    Attributes
    ----------
    normals : int
        The number of neurons, :math:`d_1 |I|`.
    rank : int
        The exact rank of the lowered normal matrix (all normals).
    matching : int
        The size of a maximum matching of the normals to distinct input units of their
        receptive fields: the rank of the transversal matroid whose independent sets
        :math:`R_N` counts.
    R_N : int
        Theorem 1's count (:func:`polyregions.bounds.xiong_one_layer`).
    independent : int or None
        The number of linearly independent subsets of the normals: the exact count of
        regions for these filters and generic biases in the whole space. From
        :func:`polyregions.bounds.independent_subsets` when ``R_N <= max_subsets``,
        from the closed form :math:`2^m - 2^{m - |C|}` when the normals have corank 1
        (their only circuit is :math:`C`), from :math:`2^m` at corank 0; else None.
    witness : tuple or None
        A circuit of the normals (a minimal linearly dependent set) that can be matched
        to distinct input units, as ``(filter, (i, j))`` pairs; it proves
        ``independent < R_N``. None when no such set was found.
    witness_from : str
        Where the witness was found: "the full normal matrix", or the block of output
        positions ("output rows i0..i1, columns j0..j1") whose normals, for some set of
        at least two filters, hold it.
    """

    normals: int
    rank: int
    matching: int
    R_N: int
    independent: int | None
    witness: tuple | None
    witness_from: str
    filters: int = field(default=0, repr=False)
    positions: int = field(default=0, repr=False)

    @property
    def deficit(self) -> int:
        """``matching - rank``: positive when the full normal matrix is itself a witness."""
        return self.matching - self.rank

    @property
    def reason(self) -> str:
        """One line: why the count is (or is not) below ``R_N``."""
        if self.witness is None:
            if self.independent is not None and self.independent < self.R_N:
                return "count < R_N, but no witness found by the block search"
            return "none: the normals' matroid is the transversal matroid" if self.independent == self.R_N \
                else "no witness found"
        k = len(self.witness)
        fil = ",".join(map(str, sorted({f for f, _ in self.witness})))
        pos = len({p for _, p in self.witness})
        circuit = f"circuit of {k} matchable normals (filters {{{fil}}}, {pos} positions), rank {k - 1}"
        if self.deficit > 0:
            return f"full matrix: rank {self.rank} < matching {self.matching}; {circuit}"
        return (f"{circuit}, in {self.witness_from}; full matrix: rank {self.rank} = "
                f"matching {self.matching}")


def normal_rank_deficit(input_shape, filters, kernel, stride=1, rng=None, *, weight=None,
                        max_subsets: int = 300_000) -> NormalRankDeficit:
    r"""Compare the lowered normals of a one-layer CNN with the transversal matroid of Theorem 1.

    :math:`R_N` (Xiong et al. 2020, Theorem 1) counts the sets of normals that can be
    matched to distinct input units of their receptive fields (Hall's condition): the
    independent sets of a transversal matroid :math:`T`. For generic biases the exact
    number of regions in the whole space is the number of *linearly* independent sets
    of normals, those of the row matroid :math:`M`. A linearly independent set has a
    non-zero maximal minor, hence a matching, so :math:`M \subseteq T` and
    ``count <= R_N``; the count is strictly smaller exactly when some set is matchable
    but linearly dependent. Such a set, shrunk to a circuit, is the *witness*
    returned here. A rank deficit of the full matrix (``rank < matching``) is one
    (the normals of a maximum matching are then dependent), but not the only kind:
    a 3x3 input with three 2x2 filters has full rank 9 = matching 9, yet the 8 normals
    of any two filters have rank 7.

    The witness search: the full matrix first; then blocks "a set of at least two
    filters at a rectangle of output positions", smallest first, screened in floating
    point and confirmed with exact rational ranks.

    Parameters
    ----------
    input_shape : (d0, h, w)
    filters : int
        :math:`d_1`.
    kernel : (f1, f2)
    stride : int
    rng : numpy.random.Generator, optional
        Draws the filters from :math:`N(0, 1)` when `weight` is not given (default
        ``default_rng(0)``).
    weight : array of shape (d1, d0, f1, f2), optional
        The filters themselves.
    max_subsets : int
        Count the independent subsets by enumeration only when :math:`R_N` (which
        bounds their number) is at most this.

    Examples
    --------
    >>> r = normal_rank_deficit((1, 3, 3), 2, (2, 2), 1)
    >>> r.normals, r.rank, r.matching, r.independent, r.R_N
    (8, 7, 8, 255, 256)
    """
    d0, h, w = (operator.index(v) for v in input_shape)
    d1 = operator.index(filters)
    f1, f2 = (kernel, kernel) if isinstance(kernel, (int, np.integer)) else tuple(kernel)
    s = operator.index(stride)
    R_N = xiong_one_layer((d0, h, w), filters=d1, kernel=(f1, f2), stride=s)
    if weight is None:
        rng = np.random.default_rng(0) if rng is None else rng
        weight = rng.normal(size=(d1, d0, f1, f2))
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != (d1, d0, f1, f2):
        raise InvalidInputError(f"`weight` must have shape {(d1, d0, f1, f2)}, got {weight.shape}")
    W, _, (_, n1, n2) = conv2d_matrix(weight, np.zeros(d1), (d0, h, w), s, 0)
    fields = receptive_fields((d0, h, w), (f1, f2), s)
    positions = [(i, j) for i in range(n1) for j in range(n2)]
    npos = len(positions)
    supports = [sorted(fields[positions[r % npos]]) for r in range(W.shape[0])]  # row = o * npos + p
    exact = exact_rows(W)
    m = len(exact)
    rank = exact_rank(exact)
    match = max_matching(supports, d0 * h * w)
    matching = sum(c >= 0 for c in match)

    def matched_dependent(rows):
        """The matched part of `rows` when it is linearly dependent, else None."""
        mr = max_matching([supports[r] for r in rows], d0 * h * w)
        matched = [r for r, c in zip(rows, mr) if c >= 0]
        if exact_rank([exact[r] for r in matched]) < len(matched):
            return matched
        return None

    witness_rows, source = None, ""
    if rank < matching:
        witness_rows = [r for r in range(m) if match[r] >= 0]
        source = "the full normal matrix"
    else:
        windows = [(i0, j0, i1, j1) for i0 in range(n1) for i1 in range(i0, n1)
                   for j0 in range(n2) for j1 in range(j0, n2)]
        blocks = []
        for size in range(2, d1 + 1):
            for fs in combinations(range(d1), size):
                for (i0, j0, i1, j1) in windows:
                    ps = [i * n2 + j for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
                    blocks.append((len(fs) * len(ps), fs, (i0, j0, i1, j1), [o * npos + p for o in fs for p in ps]))
        blocks.sort(key=lambda b: b[0])
        for _, fs, (i0, j0, i1, j1), rows in blocks:
            sub = W[rows]
            float_rank = np.linalg.matrix_rank(sub)
            mr = max_matching([supports[r] for r in rows], d0 * h * w)
            if float_rank >= sum(c >= 0 for c in mr):
                continue
            dep = matched_dependent(rows)
            if dep is not None:
                witness_rows = dep
                source = f"output rows {i0}..{i1}, columns {j0}..{j1}"
                break
    witness = None
    if witness_rows is not None:
        circuit = first_circuit(exact, witness_rows)
        witness = tuple((r // npos, positions[r % npos]) for r in circuit)

    if R_N <= max_subsets:
        independent = int(independent_subsets(W))
    elif rank == m:
        independent = 2 ** m
    elif rank == m - 1:
        # corank 1: exactly one circuit, the support of the left null vector
        circ = first_circuit(exact, list(range(m)))
        independent = 2 ** m - 2 ** (m - len(circ))
    else:
        independent = None
    return NormalRankDeficit(normals=m, rank=rank, matching=matching, R_N=R_N, independent=independent,
                             witness=witness, witness_from=source, filters=d1, positions=npos)
