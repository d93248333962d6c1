"""Tests of polyregions.cells.facets and polyregions.cells.geometry: facets against a brute force
in exact rationals written here (every vertex of the region from every d rows, a row being a
facet when the vertices on it span d - 1 dimensions), patterns across facets against the exact
forward pass a small step beyond each facet, the adjacency graph against the planar polygons'
(the complex's dual graph), and Qhull's volumes against the domain's."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from polyregions.cells.geometry import QHULL_MAX_DIM
from polyregions.errors import InvalidInputError, UnsupportedError


def _integer_net(rng, d, widths):
    Ws, bs, n = [], [], d
    for w in widths:
        Ws.append(rng.integers(-2, 3, size=(w, n)))
        bs.append(rng.integers(-2, 3, size=w))
        n = w
    return Ws, bs, pr.Network.from_dense([W.astype(float) for W in Ws], [b.astype(float) for b in bs])


def _exact_rows(Ws, bs, bits, d, box):
    """The region's rows ``a . x <= c`` in integers: ``(a, c, label)``; ``label`` a neuron
    index or ``-1 - r`` for the box row ``r`` (``Box.rows()`` order)."""
    rows, offset = [], 0
    G, c = np.eye(d, dtype=object), np.zeros(d, dtype=object)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        G = W.astype(object) @ G
        c = W.astype(object) @ c + b.astype(object)
        beta = bits[offset : offset + len(b)]
        for j in range(len(b)):
            if any(G[j]):
                sign = -1 if beta[j] else 1
                rows.append(([sign * v for v in G[j]], -sign * c[j], offset + j))
        G = G * np.array(beta, dtype=object)[:, None]
        c = c * np.array(beta, dtype=object)
        offset += len(b)
    lo, hi = box
    for r in range(2 * d):
        k, up = r % d, r < d
        a = [0] * d
        a[k] = 1 if up else -1
        rows.append((a, hi if up else -lo, -1 - r))
    return rows


def _solve(M, v):
    """``M x = v`` in Fractions (None when singular)."""
    n = len(v)
    A = [[Fraction(x) for x in row] + [Fraction(y)] for row, y in zip(M, v)]
    for col in range(n):
        piv = next((r for r in range(col, n) if A[r][col] != 0), None)
        if piv is None:
            return None
        A[col], A[piv] = A[piv], A[col]
        for r in range(n):
            if r != col and A[r][col] != 0:
                f = A[r][col] / A[col][col]
                A[r] = [x - f * y for x, y in zip(A[r], A[col])]
    return tuple(A[i][n] / A[i][i] for i in range(n))


def _rank(vectors):
    M = [list(v) for v in vectors]
    rank, cols = 0, len(M[0]) if M else 0
    for col in range(cols):
        piv = next((r for r in range(rank, len(M)) if M[r][col] != 0), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        for r in range(len(M)):
            if r != rank and M[r][col] != 0:
                f = M[r][col] / M[rank][col]
                M[r] = [x - f * y for x, y in zip(M[r], M[rank])]
        rank += 1
    return rank


def _brute_facets(rows, d):
    """``{frozenset of labels}``: the groups of rows holding one facet (exact)."""
    verts = set()
    for subset in itertools.combinations(range(len(rows)), d):
        x = _solve([rows[i][0] for i in subset], [rows[i][1] for i in subset])
        if x is not None and all(sum(a * v for a, v in zip(row, x)) <= c for row, c, _ in rows):
            verts.add(x)
    facets = {}
    for row, c, label in rows:
        on = frozenset(v for v in verts if sum(a * x for a, x in zip(row, v)) == c)
        if len(on) >= d and _rank([[x - y for x, y in zip(v, next(iter(on)))] for v in on]) == d - 1:
            facets.setdefault(on, set()).add(label)
    return {frozenset(labels): on for on, labels in facets.items()}


def _exact_pattern(Ws, bs, x):
    h, bits = list(x), []
    for W, b in zip(Ws, bs):
        z = [sum(int(w) * v for w, v in zip(row, h)) + int(c) for row, c in zip(W, b)]
        bits.extend(v > 0 for v in z)
        h = [max(v, 0) for v in z]
    return np.array(bits)


@pytest.mark.parametrize("d, widths, seed", [(2, [4, 3], 0), (2, [3, 3], 3), (3, [4, 3], 1)])
def test_facets_and_neighbours_against_exact_brute_force(d, widths, seed):
    rng = np.random.default_rng(seed)
    Ws, bs, net = _integer_net(rng, d, widths)
    box = pr.Box(-np.ones(d), np.ones(d))
    regions = list(pr.enumerate_regions(net, box, method="dfs"))
    assert regions
    for region in regions:
        rows = _exact_rows(Ws, bs, region.bits, d, (-1, 1))
        expected = _brute_facets(rows, d)
        facets = pr.region_facets(net, box, region)
        got = {frozenset(f.neurons) | frozenset(-1 - r for r in f.domain_rows): f for f in facets}
        assert set(got) == set(expected)
        for labels, f in got.items():
            if f.neighbour is None:
                assert any(k < 0 for k in labels)
                continue
            on = expected[labels]
            centre = tuple(sum(v[i] for v in on) / len(on) for i in range(d))
            row = next(r for r in rows if r[2] in labels)[0]
            for step in (Fraction(1, 10**6), Fraction(1, 10**9)):
                beyond = [x + step * a for x, a in zip(centre, row)]
                across = np.unpackbits(f.neighbour, count=region.n_bits).astype(bool)
                assert np.array_equal(_exact_pattern(Ws, bs, beyond), across)


def test_degenerate_neighbours_by_hand():
    """Crossing x = 0 from the all-off quadrant x < 0, y < 0 switches on the two coincident
    neurons x and relu(x) and 2 relu(x) - relu(y): four bits flip at once."""
    net = pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[1, 0, 0], [1, 1, -1], [0, 0, 1]]],
                                [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    box = pr.Box([-1, -1], [1, 1])
    facets = pr.region_facets(net, box, np.zeros(6, dtype=bool))
    across = {f.neurons: tuple(np.unpackbits(f.neighbour, count=6)) for f in facets if f.neighbour is not None}
    assert across == {(0, 1): (1, 1, 0, 1, 1, 0), (2,): (0, 0, 1, 0, 0, 1)}
    assert sorted(f.domain_rows for f in facets if f.neighbour is None) == [(2,), (3,)]


def _edges(graph):
    return {frozenset((graph.nodes[a]["pattern"], graph.nodes[b]["pattern"])) for a, b in graph.edges}


@pytest.mark.parametrize("seed", [0, 1])
def test_adjacency_equals_the_planar_reading(seed):
    rng = np.random.default_rng(seed)
    net = pr.Network.from_dense([rng.normal(size=(8, 2)), rng.normal(size=(8, 8))],
                                [rng.normal(size=8), rng.normal(size=8)])
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    graph = pr.adjacency(net, box)
    dual = pr.polyhedral_complex(net, box).dual_graph()
    assert graph.graph["missing"] == 0
    assert graph.number_of_nodes() == dual.number_of_nodes()
    assert _edges(graph) == _edges(dual)


def test_adjacency_of_an_integer_net_equals_the_planar_reading():
    rng = np.random.default_rng(11)
    _, _, net = _integer_net(rng, 2, [5, 4])
    box = pr.Box([-1.0, -1.0], [1.0, 1.0])
    assert _edges(pr.adjacency(net, box)) == _edges(pr.polyhedral_complex(net, box).dual_graph())


def test_four_dimensions_neighbours_by_sampling_and_volumes_by_qhull(rng):
    """In 4-D: every pattern across a facet is the forward pattern a small step beyond it, the
    graph is symmetric with nothing missing, and the regions' Qhull volumes fill the box."""
    net = pr.Network.from_dense([rng.normal(size=(6, 4)), rng.normal(size=(5, 6))],
                                [rng.normal(size=6), rng.normal(size=5)])
    box = pr.Box(-np.ones(4), np.ones(4))
    regions = list(pr.enumerate_regions(net, box))
    total = 0.0
    for region in regions:
        for f in pr.region_facets(net, box, region):
            if f.neighbour is not None and f.radius > 1e-4:
                across = net.pattern((f.point + 1e-7 * f.normal)[None])[0]
                assert np.array_equal(across, np.unpackbits(f.neighbour, count=region.n_bits).astype(bool))
        poly = pr.region_polytope(net, box, region)
        assert np.array_equal(net.pattern(poly.vertices.mean(axis=0)[None])[0], region.bits)
        total += poly.volume
    assert math.isclose(total, 16.0, rel_tol=1e-9)
    graph = pr.adjacency(net, box)
    assert graph.graph["missing"] == 0 and graph.number_of_nodes() == len(regions)


def test_qhull_against_the_complex_in_2d_and_3d(rng):
    for d in (2, 3):
        net = pr.Network.from_dense([rng.normal(size=(6, d)), rng.normal(size=(5, 6))],
                                    [rng.normal(size=6), rng.normal(size=5)])
        box = pr.Box(-np.ones(d), np.ones(d))
        cx = pr.polyhedral_complex(net, box)
        volume = {np.packbits(cx.bits[c]).tobytes(): cx.volumes[c] for c in range(cx.num_cells)}
        for region in pr.enumerate_regions(net, box, method="dfs"):
            poly = pr.region_polytope(net, box, region)
            assert math.isclose(poly.volume, volume[region.pattern.tobytes()], rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("d, k", [(2, 3), (3, 5), (4, 6)])
def test_hyperplane_arrangement_in_the_whole_space(d, k):
    """k generic hyperplanes in R^d: sum_{i <= d} C(k, i) regions; adjacent pairs are the facets
    of the arrangement, each hyperplane cut by the other k - 1 (generic in it) into
    sum_{i <= d - 1} C(k - 1, i) pieces (unbounded regions: the radii are capped, not the facets)."""
    rng = np.random.default_rng(d)
    net = pr.Network.from_dense([rng.normal(size=(k, d))], [rng.normal(size=k)])
    graph = pr.adjacency(net, pr.Whole(d))
    assert graph.number_of_nodes() == sum(math.comb(k, i) for i in range(d + 1))
    assert graph.number_of_edges() == k * sum(math.comb(k - 1, i) for i in range(d))
    assert graph.graph["missing"] == 0


def test_facets_on_slices(rng):
    net = pr.Network.from_dense([rng.normal(size=(8, 5)), rng.normal(size=(6, 8))],
                                [rng.normal(size=8), rng.normal(size=6)])
    plane = pr.Plane.through(*rng.normal(size=(3, 5)))
    graph = pr.adjacency(net, plane)
    assert _edges(graph) == _edges(pr.polyhedral_complex(net, plane).dual_graph())
    line = pr.Line(*rng.normal(size=(2, 5)))
    graph = pr.adjacency(net, line)
    assert graph.number_of_edges() == graph.number_of_nodes() - 1  # a path


def test_bad_input(rng):
    net = pr.Network.from_dense([rng.normal(size=(4, 2))], [rng.normal(size=4)])
    box = pr.Box([-1, -1], [1, 1])
    with pytest.raises(UnsupportedError, match="L2 ball"):
        pr.region_facets(net, pr.Ball([0.0, 0.0], 1.0), np.zeros(4, dtype=bool))
    with pytest.raises(InvalidInputError, match="4 pattern bits"):
        pr.region_facets(net, box, np.zeros(3, dtype=bool))
    with pytest.raises(InvalidInputError, match="eps"):
        pr.region_facets(net, box, np.zeros(4, dtype=bool), eps=0.0)
    wide = pr.Network.from_dense([rng.normal(size=(3, QHULL_MAX_DIM + 1))], [rng.normal(size=3)])
    big = pr.Box(-np.ones(QHULL_MAX_DIM + 1), np.ones(QHULL_MAX_DIM + 1))
    region = next(iter(pr.enumerate_regions(wide, big)))
    with pytest.raises(UnsupportedError, match=f"up to {QHULL_MAX_DIM} dimensions"):
        pr.region_polytope(wide, big, region)
    with pytest.raises(UnsupportedError, match="unbounded"):
        pr.region_polytope(net, pr.Whole(2), next(iter(pr.enumerate_regions(net, pr.Whole(2)))))
    with pytest.raises(InvalidInputError, match="Region"):
        pr.region_polytope(net, box, np.zeros(4, dtype=bool))
