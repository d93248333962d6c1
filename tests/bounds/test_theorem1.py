"""Theorem 1 of Xiong et al. (2020) against exact counts of one-layer CNNs in the whole space.

For random filters and biases (a density, so generic), the tests check, shape by shape:

- the exact count (``count_regions`` in the whole space) never exceeds Theorem 1's R_N;
- it equals both exact one-layer oracles of the lowered layer, Whitney's formula
  (``whitney_count``) and the number of linearly independent subsets of the normals
  (``independent_subsets``, valid for generic biases);
- written out here by brute force over all subsets of normals, independently of the
  library: R_N is the number of sets of normals that can be matched to distinct input
  units of their receptive fields (Hall's condition), and the count is the number of
  linearly independent sets (numpy ranks);
- every shape with count < R_N is explained: some set of normals has a rank below the
  size of its maximum matching into the input units (a matchable but dependent set).
  With two filters on a 3x3 input the full normal matrix is such a set (8 normals of
  rank 7: sum_ij b_ij (a at offset ij) = a * b = sum_ij a_ij (b at offset ij)); with three filters the full
  matrix has rank 9 = matching 9, and the deficit sits in the 8 normals of any two
  filters.

Receptive fields and matchings are computed here from the geometry, not with
polyregions' helpers.
"""

from __future__ import annotations

import csv
import json
import math
import os
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

import polyregions as pr
from polyregions.bounds import independent_subsets, normal_rank_deficit, whitney_count, xiong_one_layer
from polyregions.studies.families import parse_arch, seeded_network
from polyregions.studies.report import MARK_BEGIN, MARK_END, format_markdown

# --------------------------------------------------------------------------- the grid
# (input_shape without d0, kernel): 1-D inputs (h = 1) and a 2-D 3x3 input
_GEOMETRIES = [((1, 5), (1, 2)), ((1, 6), (1, 3)), ((3, 3), (2, 2))]
_FAST = {  # an unmarked subset: both deficit shapes, 1-D, stride 2, d0 = 2
    ((1, 3, 3), (2, 2), 1, 2),
    ((1, 3, 3), (2, 2), 1, 3),
    ((1, 1, 5), (1, 2), 1, 2),
    ((2, 1, 5), (1, 2), 2, 3),
    ((2, 3, 3), (2, 2), 1, 2),
}


def _grid():
    out = []
    for d0 in (1, 2):
        for (h, w), k in _GEOMETRIES:
            for s in (1, 2):
                for d1 in (1, 2, 3):
                    shape = ((d0, h, w), k, s, d1)
                    marks = () if shape in _FAST else (pytest.mark.slow,)
                    out.append(pytest.param(*shape, marks=marks, id=f"{d0}x{h}x{w}-k{k[0]}x{k[1]}-s{s}-d{d1}"))
    return out


# --------------------------------------------------------------------------- independent helpers
def _fields(input_shape, kernel, stride):
    """Receptive field (flat input indices, (c, r, q) -> c*h*w + r*w + q) of each normal, row order (o, i, j)."""
    d0, h, w = input_shape
    f1, f2 = kernel
    n1, n2 = (h - f1) // stride + 1, (w - f2) // stride + 1
    per_position = []
    for i in range(n1):
        for j in range(n2):
            per_position.append(sorted(c * h * w + (i * stride + a) * w + (j * stride + b)
                                       for c in range(d0) for a in range(f1) for b in range(f2)))
    return per_position, n1 * n2


def _matching_size(rows, fields):
    """Maximum matching of `rows` to distinct units of their fields (Kuhn's augmenting paths)."""
    owner = {}

    def augment(r, seen):
        for u in fields[r]:
            if u not in seen:
                seen.add(u)
                if u not in owner or augment(owner[u], seen):
                    owner[u] = r
                    return True
        return False

    return sum(augment(r, set()) for r in rows)


def _random_layer(input_shape, kernel, stride, d1, seed):
    rng = np.random.default_rng([seed, *input_shape, *kernel, stride, d1])
    weight = rng.normal(size=(d1, input_shape[0], *kernel))
    bias = rng.normal(size=d1)
    net = pr.Network([pr.Conv2d(weight, bias, stride=stride)], input_shape=input_shape)
    return net, weight


def _brute_force(W, fields):
    """(#matchable subsets, #linearly independent subsets, a smallest matchable dependent subset)."""
    m = W.shape[0]
    matchable = independent = 0
    witness = None
    for size in range(m + 1):
        for rows in combinations(range(m), size):
            if _matching_size(rows, fields) < size:
                continue
            matchable += 1
            if size == 0 or np.linalg.matrix_rank(W[list(rows)]) == size:
                independent += 1
            elif witness is None:
                witness = rows
    return matchable, independent, witness


def _check_lowering(W, input_shape, kernel, stride, d1):
    """The lowered rows are supported in their receptive fields (row order (filter, i, j))."""
    per_position, npos = _fields(input_shape, kernel, stride)
    assert W.shape == (d1 * npos, math.prod(input_shape))
    fields = [per_position[r % npos] for r in range(W.shape[0])]
    for r in range(W.shape[0]):
        assert set(np.flatnonzero(W[r])) <= set(fields[r])
    return fields, npos


# --------------------------------------------------------------------------- the grid test
@pytest.mark.parametrize("input_shape, kernel, stride, d1", _grid())
def test_theorem1_against_exact_counts(input_shape, kernel, stride, d1):
    net, weight = _random_layer(input_shape, kernel, stride, d1, seed=0)
    W, b = net.hidden[0]
    fields, npos = _check_lowering(W, input_shape, kernel, stride, d1)
    res = pr.count_regions(net, pr.Whole(net.input_dim), eps=1e-7)
    assert res.complete
    count = res.count
    R_N = xiong_one_layer(input_shape, filters=d1, kernel=kernel, stride=stride)

    # Theorem 1 is an upper bound; the exact one-layer oracles agree with the enumerator
    assert count <= R_N
    assert count == whitney_count(W, b)
    assert count == independent_subsets(W)

    # brute force: R_N counts the matchable sets, the count the independent ones
    matchable, independent, witness = _brute_force(W, fields)
    assert matchable == R_N
    assert independent == count

    # every deficit is explained by a matchable set of normals of lower rank
    if count < R_N:
        assert witness is not None
        rows = list(witness)
        assert np.linalg.matrix_rank(W[rows]) < _matching_size(rows, fields) == len(rows)
        # a * b = b * a: the normals of two filters at the 2x2 block of positions are dependent
        pair = [o * npos + p for o in (0, 1) for p in range(npos)]
        assert np.linalg.matrix_rank(W[pair]) < _matching_size(pair, fields)
        if d1 == 2:  # here the full normal matrix itself is deficient
            assert np.linalg.matrix_rank(W) < _matching_size(range(W.shape[0]), fields)
    else:
        assert witness is None

    # normal_rank_deficit reports the same facts, with a checked witness
    rd = normal_rank_deficit(input_shape, d1, kernel, stride, weight=weight)
    assert rd.normals == W.shape[0]
    assert rd.rank == np.linalg.matrix_rank(W)
    assert rd.matching == _matching_size(range(W.shape[0]), fields)
    assert rd.R_N == matchable
    assert rd.independent == independent
    if count < R_N:
        n2 = (input_shape[2] - kernel[1]) // stride + 1
        rows = [o * npos + i * n2 + j for o, (i, j) in rd.witness]
        k = len(rows)
        assert _matching_size(rows, fields) == k  # matchable
        assert np.linalg.matrix_rank(W[rows]) == k - 1  # dependent ...
        for r in rows:  # ... and minimal: a circuit
            rest = [q for q in rows if q != r]
            assert np.linalg.matrix_rank(W[rest]) == k - 1
    else:
        assert rd.witness is None


def test_deficit_of_two_filters_on_3x3_is_the_convolution_identity():
    """sum_ij b_ij (a at offset ij) = a * b = sum_ij a_ij (b at offset ij): a null vector written out."""
    net, weight = _random_layer((1, 3, 3), (2, 2), 1, 2, seed=1)
    W, _ = net.hidden[0]
    a, b = weight[0, 0], weight[1, 0]
    # rows 0..3: filter a at positions (0,0), (0,1), (1,0), (1,1); rows 4..7: filter b
    y = np.concatenate([b.ravel(), -a.ravel()])
    np.testing.assert_allclose(y @ W, 0.0, atol=1e-12)
    assert np.linalg.matrix_rank(W) == 7
    count = pr.count_regions(net, pr.Whole(9), eps=1e-7).count
    assert count == 2**8 - 1  # every subset but the full (unique) circuit is independent
    assert xiong_one_layer((1, 3, 3), filters=2, kernel=(2, 2), stride=1) == 2**8


@pytest.mark.slow
def test_two_channel_4x4_with_three_filters_has_a_deficit():
    """d0 = 2: 27 normals of rank 26 on 32 input units, all matchable, so count = 2^27 - 2^(27 - |C|) < R_N."""
    input_shape, kernel, d1 = (2, 4, 4), (2, 2), 3
    _, weight = _random_layer(input_shape, kernel, 1, d1, seed=0)
    W = pr.Network([pr.Conv2d(weight, np.zeros(d1))], input_shape=input_shape).hidden[0][0]
    fields, _ = _check_lowering(W, input_shape, kernel, 1, d1)
    m = W.shape[0]
    assert m == 27
    assert np.linalg.matrix_rank(W) == 26
    assert _matching_size(range(m), fields) == 27
    # the unique circuit is the support of the left null vector
    u, sv, vt = np.linalg.svd(W)
    assert sv[-1] < 1e-10 * sv[0] and sv[-2] > 1e-6 * sv[0]
    y = u[:, -1]
    support = int(np.sum(np.abs(y) > 1e-8 * np.abs(y).max()))
    expected = 2**m - 2 ** (m - support)
    rd = normal_rank_deficit(input_shape, d1, kernel, 1, weight=weight)
    assert (rd.rank, rd.matching) == (26, 27)
    assert rd.independent == expected
    assert rd.R_N == xiong_one_layer(input_shape, filters=d1, kernel=kernel, stride=1) == 2**27
    assert rd.independent < rd.R_N
    assert len(rd.witness) == support


# --------------------------------------------------------------------------- the published table
_DOCS = Path(__file__).resolve().parents[2] / "docs"


def _published():
    with open(_DOCS / "theorem1.json") as f:
        return json.load(f)


def _archs_of_the_documented_command():
    """The 48 architectures of the command in docs/theorem1.md, its brace expansion written out."""
    out = []
    for h, w, k in ((1, 5, "1x2"), (1, 6, "1x3"), (3, 3, "2x2"), (4, 4, "2x2")):
        for d0 in (1, 2):
            for d1 in (1, 2, 3):
                for s in (1, 2):
                    out.append(f"conv:{d0}x{h}x{w}:{d1},{k},{s}")
    return out


def test_published_table_is_the_documented_grid_and_its_own_markdown():
    rows = _published()
    assert [r["arch"] for r in rows] == _archs_of_the_documented_command()
    md = (_DOCS / "theorem1.md").read_text()
    block = md[md.index(MARK_BEGIN) + len(MARK_BEGIN):md.index(MARK_END)].strip()
    assert block == format_markdown(rows)  # the Markdown table is the JSON's, not a stale copy
    with open(_DOCS / "theorem1.csv") as f:
        table = [t for t in csv.DictReader(f) if t.get("seed", "all") == "all"]
    assert [t["arch"] for t in table] == [r["arch"] for r in rows]
    for t, r in zip(table, rows):
        for key in ("exact_min", "exact_max", "xiong_one_layer", "independent"):
            assert t[key] == ("" if r.get(key) is None else str(r[key]))
        counts = [s["count"] for s in r["per_seed"] if s["count"] is not None]
        assert (r["exact_min"], r["exact_max"]) == (min(counts), max(counts))


_FULL = os.environ.get("POLYREGIONS_FULL") == "1"


def _published_rows(small):
    for r in _published():
        if (r["xiong_one_layer"] <= 5_000) == small:
            yield pytest.param(r, id=r["arch"], marks=() if small else (pytest.mark.slow,))


def _check_published_row(r, brute_R):
    arch = parse_arch(r["arch"])
    (d1, kernel, stride), = arch.layers
    d0, h, w = arch.input_shape
    R = xiong_one_layer(arch.input_shape, filters=d1, kernel=kernel, stride=stride)
    assert r["xiong_one_layer"] == R
    n1, n2 = (h - kernel[0]) // stride + 1, (w - kernel[1]) // stride + 1
    if (min(d1, d0 * kernel[0] * kernel[1]) + 1) ** (n1 * n2) <= 5_000:  # K small enough to try every t
        assert R == brute_R(d0, h, w, d1, *kernel, stride)
    for s in r["per_seed"]:
        W, b = seeded_network(arch, s["seed"]).hidden[0]
        # enumerating ~260,000 independent subsets takes 15 s a seed: only with POLYREGIONS_FULL=1
        independent = independent_subsets(W) if R <= 5_000 or (R <= 300_000 and _FULL) else None
        if s["complete"]:  # Whitney's formula: the exact count for these very parameters
            assert s["count"] == whitney_count(W, b)
        elif s["count"] is not None:  # a count that stopped early is a lower bound
            assert s["count"] <= (independent if independent is not None else R)
        rd = s["rank_deficit"]
        assert rd["R_N"] == R and rd["normals"] == W.shape[0] and rd["rank"] == np.linalg.matrix_rank(W)
        if independent is not None:
            assert rd["independent"] == independent
        if rd["reason"].startswith("none"):
            assert rd["independent"] == R
        else:  # a deficit: the witness is a matchable circuit
            assert rd["independent"] is None or rd["independent"] < R
            fields, npos = _check_lowering(W, arch.input_shape, kernel, stride, d1)
            rows = [o * npos + i * n2 + j for o, (i, j) in rd["witness"]]
            assert _matching_size(rows, fields) == len(rows) == np.linalg.matrix_rank(W[rows]) + 1


@pytest.mark.parametrize("r", list(_published_rows(small=True)))
def test_published_row_against_recomputation(r, brute_R):
    _check_published_row(r, brute_R)


@pytest.mark.parametrize("r", list(_published_rows(small=False)))
def test_published_large_row_against_recomputation(r, brute_R):
    _check_published_row(r, brute_R)
