"""Tests of polyregions.cells.polygon: inradii against closed forms, and one split by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyregions.cells.polygon import ZERO_RTOL, areas, inradii, live_maps, min_inradius, split_cells


def _lines(verts):
    edges = np.roll(verts, -1, axis=0) - verts
    normals = np.column_stack([edges[:, 1], -edges[:, 0]]) / np.linalg.norm(edges, axis=1)[:, None]
    return np.column_stack([normals, np.einsum("ij,ij->i", normals, verts)])


@pytest.mark.parametrize("verts, radius, centre", [
    ([[0, 0], [4, 0], [4, 1], [0, 1]], 0.5, None),                            # a rectangle: half its width
    ([[0, 0], [3, 0], [0, 4]], 1.0, [1.0, 1.0]),                              # 3-4-5 triangle: (a + b - c) / 2
    ([[math.cos(a), math.sin(a)] for a in np.linspace(0, 2 * math.pi, 7)[:-1]], math.cos(math.pi / 6), [0, 0]),
    ([[0, 0], [1, 0], [1 + 1e-7, 0.5], [1, 1], [0, 1]], 0.5, None),          # a nearly straight vertex
])
def test_inradius_closed_forms(verts, radius, centre):
    verts = np.array(verts, float)
    start = np.array([0, len(verts)], np.int64)
    r, c = inradii(start, _lines(verts), verts)
    assert r[0] == pytest.approx(radius, rel=1e-12)
    if centre is not None:
        assert np.allclose(c[0], centre, atol=1e-12)


def _split_square(g, c0):
    verts = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    A = np.array([g[0], g[1], c0], float).reshape(1, 3, 1)
    return split_cells(np.array([0, 4], np.int64), verts, _lines(verts), -1 - np.arange(4, dtype=np.int64),
                       A, np.abs(A).astype(np.float32), 0, 1e-9, 10.0, ZERO_RTOL)


def test_a_diagonal_through_two_vertices_makes_two_triangles():
    start, verts, lines, labels, parent, bits, stats = _split_square([1.0, -1.0], 0.0)
    assert parent.tolist() == [0, 0] and sorted(bits[:, 0].tolist()) == [0, 1]
    assert np.diff(start).tolist() == [3, 3]  # no vertex added next to the corners
    assert areas(start, verts) == pytest.approx([2.0, 2.0])
    assert set(labels.tolist()) >= {0}


def test_a_line_along_an_edge_or_through_a_corner_does_not_split():
    for g, c0, on in [([1.0, 0.0], -1.0, 0), ([1.0, 1.0], -2.0, 0), ([1.0, 1.0], 2.0, 1)]:
        start, verts, _, _, parent, bits, _ = _split_square(g, c0)
        assert parent.tolist() == [0] and bits[:, 0].tolist() == [on] and len(verts) == 4


def test_a_sliver_thinner_than_eps_is_dropped_and_counted_near_eps():
    # x = 1 - 3e-9 cuts off a strip of inradius 1.5e-9 (kept), x = 1 - 1e-9 one of 5e-10 (dropped);
    # both within 10x of eps = 1e-9
    start, verts, _, _, parent, bits, stats = _split_square([1.0, 0.0], -(1 - 3e-9))
    assert len(parent) == 2 and stats[0] == 1
    start, verts, _, _, parent, bits, stats = _split_square([1.0, 0.0], -(1 - 1e-9))
    assert len(parent) == 1 and bits[0, 0] == 0 and stats[0] == 1


def _layer(seed, n, cells=None, eps=1e-9):
    """A layer of `n` random lines on the square, or on the cells of a first such layer."""
    rng = np.random.default_rng(seed)
    verts = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    start, lines, labels = np.array([0, 4], np.int64), _lines(verts), -1 - np.arange(4, dtype=np.int64)
    if cells is not None:
        start, verts, lines, labels = cells[:4]
    A = rng.normal(size=(start.size - 1, 3, n))
    return start, verts, lines, labels, A, np.abs(A).astype(np.float32), 0, eps, 10.0, ZERO_RTOL


@pytest.mark.parametrize("n, reason", [(12, 2), (40, 1)])  # the outputs run out; the scratch
def test_a_split_resumed_after_its_room_ran_out_is_the_same(monkeypatch, n, reason):
    """The kernel stops before a cell whose nested splits outgrow its scratch, or whose pieces
    outgrow its outputs, and is called again from there: the joined result is the one of a
    single call (whose pieces tile every cell: areas against the shoelace of the input)."""
    from polyregions.cells import polygon

    first = split_cells(*_layer(0, 12))
    args = _layer(1, n, first, eps=1e-3)  # some cells within 10x of eps: their decisions are counted
    whole = split_cells(*args)
    assert whole[6][0] > 0 and whole[6][1] > 0
    stops = []
    kernel = polygon.split_cells_kernel

    def spy(*a):
        out = kernel(*a)
        stops.append((out[-1], a[-2]))  # why it stopped, with how many output cells
        return out

    monkeypatch.setattr(polygon, "split_cells_kernel", spy)
    monkeypatch.setattr(polygon, "SCRATCH_ROWS_PER_NEURON", 0)  # 64 rows of scratch
    monkeypatch.setattr(polygon, "output_room", lambda cells, n, vertices: (4, 16))
    resumed = split_cells(*args)
    assert reason in [why for why, _ in stops] and stops[-1][0] == 0
    assert stops[-1][1] > 4  # a cell's pieces outgrew the outputs, which were given more room
    for a, b in zip(whole, resumed):
        assert np.array_equal(a, b)
    fine = split_cells(*_layer(1, n, first))  # eps 1e-9: no piece is dropped
    cell_area = areas(first[0], first[1])
    assert np.allclose(np.bincount(fine[4], weights=areas(fine[0], fine[1]), minlength=len(cell_area)),
                       cell_area, rtol=1e-12, atol=1e-15)


def _random_polygons(rng, count):
    """``(start, verts, lines)`` of `count` random convex polygons (3 to 9 vertices on circles of
    random centres and radii)."""
    starts, verts = [0], []
    for _ in range(count):
        m = int(rng.integers(3, 10))
        angles = np.sort(rng.uniform(0, 2 * math.pi, m))
        verts.append(rng.normal(size=2) + rng.uniform(1e-4, 3) * np.column_stack([np.cos(angles), np.sin(angles)]))
        starts.append(starts[-1] + m)
    verts = np.vstack(verts)
    lines = np.vstack([_lines(verts[a:b]) for a, b in zip(starts[:-1], starts[1:])])
    return np.array(starts, np.int64), verts, lines


@pytest.mark.parametrize("count", [1, 2, 40])
def test_the_smallest_inradius_is_the_least_of_every_cells_inradius(count):
    start, verts, lines = _random_polygons(np.random.default_rng(count), count)
    assert min_inradius(start, lines, verts) == inradii(start, lines, verts)[0].min()


def test_the_smallest_inradius_of_no_cells_is_inf():
    assert min_inradius(np.zeros(1, np.int64), np.zeros((0, 3)), np.zeros((0, 2))) == math.inf


def test_the_live_maps_are_the_parents_maps_with_the_off_neurons_zeroed():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3, 4))
    S = np.abs(rng.normal(size=(5, 3, 4))).astype(np.float32)
    parent = np.array([4, 0, 0, 2, 3, 1], np.int64)
    bits = rng.integers(0, 2, size=(6, 4)).astype(np.uint8)
    Ap, Sp = live_maps(A, S, parent, bits, 1, 5)
    assert Sp.dtype == np.float32
    for i, k in enumerate(range(1, 5)):
        for j in range(4):
            expect = A[parent[k], :, j] if bits[k, j] else np.zeros(3)
            assert np.array_equal(Ap[i, :, j], expect)
            assert np.array_equal(Sp[i, :, j], S[parent[k], :, j] if bits[k, j] else np.zeros(3))
