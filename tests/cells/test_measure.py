"""Tests of polyregions.cells.measure: boundary distances, regions per length, linear pieces."""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from exact_reference import exact_count, exact_slice_patterns


def test_one_layer_distances_are_the_distances_to_the_hyperplanes(rng, random_dense_net):
    net = random_dense_net(rng, 4, [7])
    W, b = net.hidden[0]
    x = rng.normal(size=(10, 4))
    full, along = pr.boundary_distances(net, x)
    closed = np.min(np.abs(x @ W.T + b) / np.linalg.norm(W, axis=1), axis=1)
    assert np.allclose(full, closed) and along is None


def test_distances_reach_exactly_the_nearest_boundary(rng, random_dense_net):
    """Inside the distance every sampled point keeps the pattern; a little beyond it, along
    the nearest constraint's normal, the pattern changes."""
    net = random_dense_net(rng, 3, [6, 6, 5])
    x = rng.normal(size=(6, 3))
    full, _ = pr.boundary_distances(net, x)
    for xi, d in zip(x, full):
        dirs = rng.normal(size=(400, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        inside = net.pattern(xi + 0.999 * d * dirs)
        assert (inside == net.pattern(xi)).all()
        # the nearest hyperplane of the region: step across it along its normal
        h, J, best = xi, None, (np.inf, None, None)
        for l, (W, c) in enumerate(net.hidden):
            z = W @ h + c
            G = W if l == 0 else W @ J
            norms = np.linalg.norm(G, axis=1)
            k = int(np.argmin(np.abs(z) / norms))
            if abs(z[k]) / norms[k] < best[0]:
                best = (abs(z[k]) / norms[k], -np.sign(z[k]) * G[k] / norms[k], None)
            h, J = np.maximum(z, 0), G * (z > 0)[:, None]
        assert best[0] == pytest.approx(d)
        assert not (net.pattern(xi + 1.001 * d * best[1]) == net.pattern(xi)).all()


def test_distances_along_a_slice(rng, random_dense_net):
    net = random_dense_net(rng, 5, [8, 8])
    line = pr.Line(rng.normal(size=5), rng.normal(size=5))
    regions = list(pr.enumerate_regions(net, line))
    points = np.array([r.point for r in regions])
    full, along = pr.boundary_distances(net, points, line)
    # along the line, a region's midpoint is half its length from its ends (inner regions)
    for r, d in zip(regions, along):
        if r.vertices[0, 0] > 0 and r.vertices[1, 0] < 1:
            assert d == pytest.approx(r.size / 2, rel=1e-7)
    assert np.all(full <= along * (1 + 1e-12))


def test_regions_per_length(rng, random_dense_net):
    line = pr.Line([0.0, 0.0], [3.0, 4.0])
    assert pr.regions_per_length(10, line) == pytest.approx(2.0)
    with pytest.raises(pr.InvalidInputError, match="`line` must be"):
        pr.regions_per_length(10, pr.Box([0], [1]))


def test_linear_pieces_merge_regions_the_output_ignores():
    """Output weights zero on some neurons: the network's pieces are the regions of the
    neurons it reads (counted separately by the search on that smaller network)."""
    rng = np.random.default_rng(5)
    W1, b1 = rng.normal(size=(8, 2)), rng.normal(size=8)
    Wo = rng.normal(size=(2, 8))
    Wo[:, 3:] = 0.0
    net = pr.Network.from_dense([W1], [b1], output=(Wo, np.zeros(2)))
    box = pr.Box([-2, -2], [2, 2])
    regions = list(pr.enumerate_regions(net, box, method="planar"))
    pieces = pr.linear_pieces(regions)
    read = pr.Network.from_dense([W1[:3]], [b1[:3]])
    assert pieces.max() + 1 == pr.count_regions(read, box, method="dfs").count
    assert len(regions) == pr.count_regions(net, box, method="dfs").count > pieces.max() + 1
    for k in range(pieces.max() + 1):  # one affine map per piece
        maps = [regions[i].slice_affine_map() for i in np.flatnonzero(pieces == k)]
        assert all(np.allclose(A, maps[0][0]) and np.allclose(c, maps[0][1]) for A, c in maps)


def test_linear_pieces_on_a_line():
    # breakpoints at x = 0, 0.5 and 0.25; the output reads relu(x) only
    net = pr.Network.from_dense([np.array([[1.0], [1.0], [-1.0]])], [np.array([0.0, -0.5, 0.25])],
                                output=(np.array([[1.0, 0.0, 0.0]]), np.zeros(1)))
    regions = list(pr.enumerate_regions(net, pr.Line([-1.0], [1.0])))
    assert len(regions) == 4
    pieces = pr.linear_pieces(regions)
    assert pieces.max() + 1 == 2  # the output bends only at x = 0


def test_linear_pieces_need_polygons(rng, random_dense_net):
    net = random_dense_net(rng, 2, [3])
    regions = list(pr.enumerate_regions(net, pr.Ball([0, 0], 1.0)))
    with pytest.raises(pr.InvalidInputError, match="method='planar'"):
        pr.linear_pieces(regions)


@pytest.mark.parametrize("points, match", [
    (np.zeros((2, 3)), "shape"),
    (np.array([[np.nan, 0.0]]), "finite"),
])
def test_boundary_distances_bad_input(points, match, rng, random_dense_net):
    net = random_dense_net(rng, 2, [3])
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.boundary_distances(net, points)


def test_pieces_arguments_are_checked(rng, random_dense_net):
    from polyregions.cells.measure import count_pieces

    net = random_dense_net(rng, 2, [3])
    regions = list(pr.enumerate_regions(net, pr.Box([-1, -1], [1, 1])))
    with pytest.raises(pr.InvalidInputError, match="`rtol` must be a positive"):
        pr.linear_pieces(regions, rtol=0)
    with pytest.raises(pr.InvalidInputError, match="`eps` must be a positive"):
        count_pieces(net, pr.Box([-1, -1], [1, 1]), eps=-1)
    with pytest.raises(pr.InvalidInputError, match="`domain` has dimension 3"):
        count_pieces(net, pr.Box(-np.ones(3), np.ones(3)), eps=1e-9)


def test_leaky_relu_distances_follow_the_negative_slope():
    """x -> LeakyReLU_0.5(x) -> z2 = h + 1: at x = -1.5, h = -0.75 and z2 = 0.25 with slope 0.5, so
    the pattern changes at x = -2, 0.5 away (z1 = x vanishes 1.5 away). Read as ReLU, h = 0 and
    z2 would be the constant 1."""
    net = pr.Network([pr.Dense([[1.0]], [0.0], negative_slope=0.5), pr.Dense([[1.0]], [1.0])])
    full, _ = pr.boundary_distances(net, [[-1.5]])
    assert full[0] == pytest.approx(0.5)
    assert (net.pattern([[-1.5 - 0.499]]) == net.pattern([[-1.5]])).all()
    assert not (net.pattern([[-1.5 - 0.501]]) == net.pattern([[-1.5]])).all()


@pytest.mark.parametrize("layers", [
    lambda rng: [pr.Dense(rng.normal(size=(6, 2)), rng.normal(size=6), negative_slope=0.5),
                 pr.Dense(rng.normal(size=(5, 6)), rng.normal(size=5), negative_slope=-0.3)],
    lambda rng: [pr.Dense(rng.normal(size=(8, 2)), rng.normal(size=8), negative_slope=1.0), pr.Unflatten((2, 2, 2)),
                 pr.MaxPool2d(2), pr.Flatten(), pr.Dense(rng.normal(size=(4, 2)), rng.normal(size=4))],
    lambda rng: [pr.Dense(rng.normal(size=(2, 2)), rng.normal(size=2)),
                 pr.Residual([pr.Dense(rng.normal(size=(2, 2)), rng.normal(size=2), negative_slope=0.2),
                              pr.Dense(rng.normal(size=(2, 2)), rng.normal(size=2), negative_slope=1.0)]),
                 pr.Activation(0.1)],
])
def test_distances_reach_the_nearest_pattern_change_in_every_kind_of_stage(layers):
    """LeakyReLU (positive and negative slopes), max pooling and residual carries: inside the
    distance every point on a circle keeps the pattern (the network's own forward pass); just
    beyond it some point on the circle does not (2,000 directions: the arc outside the region
    at radius 1.001 d is about 0.09 rad wide)."""
    rng = np.random.default_rng(41)
    net = pr.Network(layers(rng), input_shape=2)
    ang = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    circle = np.column_stack([np.cos(ang), np.sin(ang)])
    x = rng.normal(size=(8, 2))
    full, _ = pr.boundary_distances(net, x)
    for xi, d in zip(x, full):
        p = net.pattern(xi)
        assert np.isfinite(d)
        assert (net.pattern(xi + 0.999 * d * circle) == p).all()
        assert not (net.pattern(xi + 1.001 * d * circle) == p).all(axis=1).all()


@pytest.mark.parametrize("twin", [1.0, -1.0])
def test_linear_pieces_merge_across_edges_where_several_neurons_switch(twin):
    """Neurons 0 and 1 share the line z = x + y - 0.5 (z_1 = twin * z_0) and the output reads
    relu(z_0) - relu(z_1): 0 for twin = 1, z_0 for twin = -1, so the function does not bend
    there although two bits switch across it. The other two neurons bend the output: the
    pieces are the regions of those two alone in the box (the exact reference)."""
    W = [[1, 1], [twin, twin], [1, -2], [2, 1]]
    b = [-0.5, -0.5 * twin, 0.25, -1]
    Wo = np.array([[1.0, -1.0, 0.7, -1.3]])
    net = pr.Network.from_dense([np.array(W, float)], [np.array(b)], output=(Wo, np.zeros(1)))
    box = pr.Box([-2, -2], [2, 2])
    regions = list(pr.enumerate_regions(net, box, method="planar"))
    assert len(regions) == exact_count([W], [b], ("box", [-2, -2], [2, 2]))
    pieces = pr.linear_pieces(regions)
    assert pieces.max() + 1 == exact_count([W[2:]], [b[2:]], ("box", [-2, -2], [2, 2]))
    line = pr.Line([-2.0, -1.5], [2.0, 1.0])
    on_line = list(pr.enumerate_regions(net, line, method="planar"))
    truth = exact_slice_patterns([W[2:]], [b[2:]], [-2, -1.5], [[4], [2.5]], [0], [1])
    assert pr.linear_pieces(on_line).max() + 1 == len(truth)
