"""Tests of the Line and Plane domains and of polyregions.domains.slices (frames, composed networks, lifted regions)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from exact_reference import exact_slice_patterns

import polyregions as pr
from polyregions.search.checkpoint import fingerprint
from polyregions.domains.slices import composed_search_problem, pattern_map, working_frame


@pytest.mark.parametrize("make, match", [
    (lambda: pr.Line([0, 0], [0, 0]), "`b` must differ from `a`"),
    (lambda: pr.Line([0, 0], [1, 0, 0]), "`b` has length 3"),
    (lambda: pr.Line([0, np.nan], [1, 0]), "`a` contains NaN or inf"),
    (lambda: pr.Line([0, 0], [1, np.inf]), "`b` contains NaN or inf"),
    (lambda: pr.Line([0, 1j], [1, 0]), "`a` must be real"),
    (lambda: pr.Line([[0, 0]], [1, 0]), "`a` must be 1-dimensional"),
    (lambda: pr.Line([], []), "`a` must not be empty"),
    (lambda: pr.Plane([0, 0], [1, 0], [2, 0], -1, 1), "`u` and `v` must not be parallel"),
    (lambda: pr.Plane([0, 0], [0, 0], [0, 1], -1, 1), "`u` must not be the zero vector"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 0], -1, 1), "`v` must not be the zero vector"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], 1, 1), "`lo` must be < `hi`"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], [0, 2], [1, 1]), "`lo` must be < `hi` \\(coordinate 1"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], -1, None), "`lo` and `hi` must be given together"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], [0, 0, 0], 1), "`lo` must be a number or a pair"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], np.nan, 1), "`lo` contains NaN or inf"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, 1], -1, 1j), "`hi` must be real"),
    (lambda: pr.Plane([0, 0], [1, 0, 0], [0, 1], -1, 1), "`u` has length 3"),
    (lambda: pr.Plane([0], [1], [1], -1, 1), "`origin` must have at least 2 coordinates"),
    (lambda: pr.Plane([0, 0], [1, 0], [0, np.inf], -1, 1), "`v` contains NaN or inf"),
    (lambda: pr.Plane.through([0, 0], [1, 1], [2, 2]), "must not be collinear"),
    (lambda: pr.Plane.through([0], [1], [2]), "must not be collinear"),
    (lambda: pr.Plane.through([0, 0], [0, 0], [2, 2]), "`x2` must differ from `x1`"),
    (lambda: pr.Plane.through([0, 0], [1, 0], [0, 0]), "`x3` must differ from `x1`"),
    (lambda: pr.Plane.through([0, 0], [1, 0], [0, 1], margin=-0.5), "`margin` must be a finite number > -0.5"),
    (lambda: pr.Plane.through([0, 0], [1, 0], [0, 1], margin=np.inf), "`margin` must be a finite number > -0.5"),
    (lambda: pr.Plane.through([0, 0], [1, 0], [0, 1], margin="1"), "`margin` must be a finite number > -0.5"),
    (lambda: pr.Plane.through([0, 0], [1, 0], [0, 1, 2]), "`x3` has length 3"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], -1, 1), "`u`, `v` and `r` must be linearly independent"),
    (lambda: pr.Volume([0, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0], [0, 0, 1, 0], -1, 1), "must be linearly independent"),
    (lambda: pr.Volume([0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 1], -1, 1), "`u` must not be the zero vector"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], -1, 1), "`r` must not be the zero vector"),
    (lambda: pr.Volume([0, 0], [1, 0], [0, 1], [1, 1], -1, 1), "`origin` must have at least 3 coordinates"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0], 1), "`lo` must be a number or 3 numbers"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 0], 1), "`lo` must be < `hi` \\(coordinate 1"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], -1, None), "`lo` and `hi` must be given together"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, np.nan], -1, 1), "`r` contains NaN or inf"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1, 0], -1, 1), "`r` has length 4"),
    (lambda: pr.Volume([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], -1, 1j), "`hi` must be real"),
    (lambda: pr.Volume.through([0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]), "must not lie in one plane"),
    (lambda: pr.Volume.through([0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 1]), "`x2` must differ from `x1`"),
    (lambda: pr.Volume.through([0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], margin=-1), "`margin` must be a finite"),
    (lambda: pr.Volume.through([0, 0], [1, 0], [0, 1], [1, 1]), "must not lie in one plane"),
])
def test_slice_bad_input(make, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        make()


def test_line_frame_and_coordinates():
    line = pr.Line([1.0, 2.0, 2.0], [1.0, 5.0, 6.0])
    origin, Q, R = line.frame()
    assert line.length == pytest.approx(5.0)
    assert np.allclose(Q[:, 0], [0.0, 0.6, 0.8]) and R[0, 0] == pytest.approx(5.0)
    assert np.allclose(line.to_input([[0.5]]), [[1.0, 3.5, 4.0]])
    assert np.allclose(line.to_slice([[1.0, 3.5, 4.0]]), [[0.5]])
    assert line.contains([[1.0, 3.5, 4.0], [1.0, 2.0, 2.0], [1.0, 3.5, 4.1]]).tolist() == [True, False, False]


def test_plane_frame_is_orthonormal_and_keeps_orientation(rng):
    plane = pr.Plane(rng.normal(size=5), rng.normal(size=5), rng.normal(size=5), [-1, 0], [2, 3])
    origin, Q, R = plane.frame()
    assert np.allclose(Q.T @ Q, np.eye(2)) and np.linalg.det(R) > 0
    assert np.allclose(Q @ R, plane.U)
    p = rng.uniform([-1, 0], [2, 3], size=(10, 2))
    assert np.allclose(plane.to_slice(plane.to_input(p)), p)
    assert plane.contains(plane.sample(50, rng)).all()
    # the parallelogram in orthonormal coordinates holds exactly R (s, t) for (s, t) in the rectangle
    dom = plane.slice_domain()
    assert dom.contains(p @ R.T).all() and not dom.contains(np.array([[-1.1, 0.5]]) @ R.T).any()


def test_plane_through_three_points():
    plane = pr.Plane.through([0, 0, 1], [2, 0, 1], [0, 3, 1], margin=0.5)
    assert np.allclose(plane.u, [2, 0, 0]) and np.allclose(plane.v, [0, 3, 0])
    assert plane.lo.tolist() == [-0.5, -0.5] and plane.hi.tolist() == [1.5, 1.5]


def test_unbounded_plane_is_searched_in_the_whole_plane():
    plane = pr.Plane([0, 0, 0], [1, 0, 0], [0, 1, 0])
    assert not plane.bounded and isinstance(plane.slice_domain(), pr.Whole)
    net = pr.Network.from_dense([[[1.0, 0.0, 5.0], [0.0, 1.0, -2.0], [1.0, 1.0, 0.0]]], [[0.0, 0.0, -1.0]])
    # three lines in general position in the plane z = 0: 1 + 3 + 3 = 7 regions (Zaslavsky)
    assert pr.count_regions(net, plane).count == 7
    with pytest.raises(pr.UnsupportedError, match="unbounded plane"):
        pr.count_regions(net, plane, method="planar")


def test_composed_network_agrees_with_the_network_on_the_slice(rng, random_dense_net):
    """The search's problem in the working frame: at ``y = R (p - p0)`` the composed network is the
    network at the plane's point ``p``, and the composed domain holds exactly those ``y``."""
    net = random_dense_net(rng, 6, [5, 4], output_dim=2)
    plane = pr.Plane.through(*rng.normal(size=(3, 6)))
    net_y, dom_y = composed_search_problem(net, plane)
    _, _, R, p0 = working_frame(plane)
    p = rng.uniform(plane.lo, plane.hi, size=(20, 2))
    y = (p - p0) @ R.T
    assert np.allclose(net_y.forward(y), net.forward(plane.to_input(p)))
    assert (net_y.pattern(y) == net.pattern(plane.to_input(p))).all()
    assert dom_y.contains(y).all() and not dom_y.contains((np.array([[plane.hi[0] + 0.1, 0.5]]) - p0) @ R.T).any()


def test_the_working_frame_starts_near_the_origin():
    """A segment from -s d to s d is computed from its midpoint 0, one from 0 to s d from 0; a
    plane from its origin or its rectangle's centre, whichever is nearer the origin."""
    d = np.array([1.0, 2.0, 2.0])
    origin, _, _, p0 = working_frame(pr.Line(-1e12 * d, 1e12 * d))
    assert np.array_equal(origin, np.zeros(3)) and p0.tolist() == [0.5]
    origin, _, _, p0 = working_frame(pr.Line(1e12 * d, np.zeros(3)))
    assert np.array_equal(origin, np.zeros(3)) and p0.tolist() == [1.0]
    origin, _, _, p0 = working_frame(pr.Plane([1e9, 0, 0], [1, 0, 0], [0, 1, 0], [-1e9 - 1, -1], [-1e9 + 1, 1]))
    assert np.allclose(origin, 0) and p0.tolist() == [-1e9, 0.0]


def test_pattern_map_is_the_network_on_its_region(rng, random_dense_net):
    net = random_dense_net(rng, 3, [6, 5])
    x = rng.normal(size=3)
    M, m = pattern_map(net.hidden, net.pattern(x))
    assert np.allclose(M @ x + m, net.forward(x))


@pytest.mark.parametrize("method", ["planar", "dfs"])
def test_slice_regions_report_input_and_slice_coordinates(rng, random_dense_net, method):
    """On a plane centred on its origin, on one whose rectangle lies far from its origin (computed
    from the rectangle's centre) and on a segment (computed from its midpoint): points, slice
    coordinates and both affine maps agree with the network's forward pass."""
    net = random_dense_net(rng, 5, [6, 6], output_dim=3)
    u, v = rng.normal(size=5), rng.normal(size=5)
    far = 50 * (u + v)
    domains = [pr.Plane(rng.normal(size=5), u, v, -1, 1), pr.Plane(far, u, v, [-51, -51.5], [-49, -49]),
               pr.Line(-far, far)]
    assert working_frame(domains[1])[3].tolist() == [-50, -50.25] and working_frame(domains[2])[3].tolist() == [0.5]
    for domain in domains:
        regions = list(pr.enumerate_regions(net, domain, method=method))
        assert regions
        for r in regions:
            assert np.allclose(domain.to_input(r.coords), r.point)
            assert (net.pattern(r.point) == r.bits).all()
            A, c = r.affine_map()
            As, cs = r.slice_affine_map()
            assert np.allclose(A @ r.point + c, net.forward(r.point))
            assert np.allclose(As @ r.coords + cs, net.forward(r.point))


@pytest.mark.parametrize("domain", [
    pr.Plane([1.0, -0.5], [1.0, 0.0], [0.0, 1.0], -2, 2),  # a plane of a 2-D input space, away from the origin
    pr.Plane([0.5, 0.3], [0.6, 0.8], [-1.0, 0.4], -1, 1),  # turned and sheared
    pr.Box([-1.0, 0.5], [1.0, 2.0]),
], ids=["offset-plane", "turned-plane", "box"])
def test_regions_of_two_dimensional_inputs_report_the_map_in_input_coordinates(rng, random_dense_net, domain):
    """The planar algorithm's maps are computed in the frame's coordinates y; in a two-dimensional
    input space ``affine_map()`` is the map in x, whatever the frame (the network's own forward
    pass at the region's point is the reference)."""
    net = random_dense_net(rng, 2, [5, 4], output_dim=2)
    regions = list(pr.enumerate_regions(net, domain, method="planar"))
    assert len(regions) > 3
    for r in regions:
        A, c = r.affine_map()
        assert np.allclose(A @ r.point + c, net.forward(r.point))


def test_checkpoint_fingerprint_names_every_slice_parameter(rng, random_dense_net):
    net = random_dense_net(rng, 3, [4])
    base = dict(origin=np.zeros(3), u=np.eye(3)[0], v=np.eye(3)[1], lo=-1.0, hi=1.0)
    keys = {fingerprint(net, pr.Plane(**base), 1e-9, "auto", True)}
    for name, value in [("origin", np.ones(3)), ("u", np.eye(3)[2]), ("v", np.eye(3)[2] + np.eye(3)[1]),
                        ("lo", -2.0), ("hi", 2.0)]:
        keys.add(fingerprint(net, pr.Plane(**{**base, name: value}), 1e-9, "auto", True))
    keys.add(fingerprint(net, pr.Line(np.zeros(3), np.ones(3)), 1e-9, "auto", True))
    keys.add(fingerprint(net, pr.Line(np.zeros(3), 2 * np.ones(3)), 1e-9, "auto", True))
    keys.add(fingerprint(net, pr.Line(np.ones(3), 2 * np.ones(3)), 1e-9, "auto", True))
    assert len(keys) == 9


def test_slice_checkpoint_resumes_to_the_uninterrupted_count(rng, random_dense_net, tmp_path):
    net = random_dense_net(rng, 4, [8, 8])
    plane = pr.Plane.through(*rng.normal(size=(3, 4)))
    full = pr.count_regions(net, plane, method="dfs").count
    ckpt = tmp_path / "plane.ckpt"
    part = pr.count_regions(net, plane, method="dfs", checkpoint=ckpt, max_regions=5)
    assert part.count == 5
    pr.count_regions(net, plane, checkpoint=ckpt, time_limit=1e-6)
    resumed = pr.count_regions(net, plane, resume=ckpt)
    assert resumed.count == full == pr.count_regions(net, plane, method="planar").count
    other = pr.Plane.through(*rng.normal(size=(3, 4)))
    with pytest.raises(pr.InvalidInputError, match="another network, domain"):
        pr.count_regions(net, other, resume=ckpt)


def test_readme_slice_example_runs():
    """The README's lines-and-planes example runs as written."""
    import pathlib
    import re

    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S) if "pr.Plane" in b]
    assert blocks
    pytest.importorskip("matplotlib")
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    assert len(namespace["regions"]) == pr.count_regions(namespace["net"], namespace["plane"], method="dfs").count


def test_slices_through_the_parallel_search_and_the_milp(rng, random_dense_net):
    net = random_dense_net(rng, 4, [6, 6])
    plane = pr.Plane.through(*rng.normal(size=(3, 4)))
    planar = pr.count_regions(net, plane, method="planar").count
    assert pr.count_regions(net, plane, method="dfs", workers=2).count == planar
    assert pr.count_regions(net, plane, method="milp").count == planar


def test_non_relu_networks_are_refused_on_slices(rng, random_dense_net):
    net = pr.Network([pr.Dense(rng.normal(size=(4, 3)), rng.normal(size=4), negative_slope=0.1)])
    plane = pr.Plane.through(*rng.normal(size=(3, 3)))
    for method in ("planar", "dfs"):
        with pytest.raises(pr.UnsupportedError, match="LeakyReLU"):
            pr.count_regions(net, plane, method=method)


# ---------------------------------------------------------------------------------------------
# slices against the exact rational reference (frames built here, from the arguments)

def _slice_patterns(net, domain, method):
    return {tuple(int(v) for v in r.bits) for r in pr.enumerate_regions(net, domain, method=method)}


def test_a_neuron_identically_zero_on_a_plane_does_not_split_it():
    """z_1 = -2 x + 2 y + 2 z + 2 vanishes on the whole plane (1, -2, 2) + s (1, 2, -1) + t (1, 0, 1),
    where z_2 = x - y - 2 = 1 - s + t: 2 regions. Composed in floating point, z_1 is a row of
    rounding errors, not a hyperplane. The exact reference composes the slice in rationals."""
    W, b = [[-2, 2, 2], [1, -1, 0]], [2, -2]
    net = pr.Network.from_dense([np.array(W, float)], [np.array(b, float)])
    origin, u, v = [1, -2, 2], [1, 2, -1], [1, 0, 1]
    U = [[ui, vi] for ui, vi in zip(u, v)]
    truth = exact_slice_patterns([W], [b], origin, U, None, None)
    assert len(truth) == 2
    assert _slice_patterns(net, pr.Plane(origin, u, v), "dfs") == truth
    assert pr.count_regions(net, pr.Plane(origin, u, v)).count == 2
    bounded = pr.Plane(origin, u, v, [-3, -2], [2, 4])
    truth = exact_slice_patterns([W], [b], origin, U, [-3, -2], [2, 4])
    for method in ("dfs", "planar"):
        assert _slice_patterns(net, bounded, method) == truth


# A first-layer neuron constant on the slice: z = 10 x_last - 1 with x_last = 0.1 (the double) is
# 10 * 0.1 - 1 = 5.55e-17 > 0 in rationals (on) but 0 in float64 (off). The bit is decided within
# rounding, so the count must say so (near_eps); the same slice at x_last = 0.2 (z = 1) decides nothing.
def _constant_on_slice(k, level):
    """A k-dimensional box slice of R^(k+1) at ``x_{k+1} = level``, a network with one neuron per
    slice axis (``x_i - 0.5``) and the neuron ``10 x_{k+1} - 1``, and the exact patterns."""
    n = k + 1
    W = np.diag([1.0] * k + [10.0])
    b = np.array([-0.5] * k + [-1.0])
    origin = [0.0] * k + [level]
    U = [[float(i == j) for j in range(k)] for i in range(n)]
    dirs = [np.array(col) for col in zip(*U)]
    domain = pr.Line(origin, np.array(origin) + dirs[0]) if k == 1 else \
        (pr.Plane if k == 2 else pr.Volume)(origin, *dirs, 0, 1)
    truth = exact_slice_patterns([W.tolist()], [b.tolist()], origin, U, [0] * k, [1] * k)
    return pr.Network.from_dense([W], [b]), domain, truth


@pytest.mark.parametrize("k, methods", [(1, ("dfs", "planar", "milp")), (2, ("dfs", "planar", "milp")),
                                        (3, ("dfs", "cells3d"))])
def test_a_constant_decided_within_rounding_on_a_slice_is_reported(k, methods):
    net, domain, truth = _constant_on_slice(k, 0.1)
    assert len(truth) == 2 ** k and all(p[-1] == 1 for p in truth)  # in rationals the neuron is on
    plain_net, plain_domain, plain_truth = _constant_on_slice(k, 0.2)
    for method in methods:
        res = pr.count_regions(net, domain, method=method)
        assert res.count == len(truth)
        assert res.stats.near_eps >= 1, method  # float64 does not decide the last neuron's bit
        plain = pr.count_regions(plain_net, plain_domain, method=method)
        assert plain.count == len(plain_truth) and plain.stats.near_eps == 0, method
    if k < 3:
        assert {p[:-1] for p in _slice_patterns(net, domain, "dfs")} == {p[:-1] for p in truth}


def test_a_constant_decided_within_rounding_is_reported_by_parallel_and_many_counts():
    """The same neuron through the parallel search and through a study's count of an unbounded
    plane (the search, not the planar algorithm); the exact reference counts the whole plane."""
    from polyregions.batch import count_task

    net, plane, truth = _constant_on_slice(2, 0.1)
    res = pr.count_regions(net, plane, method="dfs", workers=2)
    assert res.count == len(truth) and res.stats.near_eps >= 1
    whole = pr.Plane(plane.origin, plane.u, plane.v)
    W, b = net.hidden[0]
    assert len(exact_slice_patterns([W.tolist()], [b.tolist()], plane.origin.tolist(), plane.U.tolist(), None,
                                    None)) == 4

    class OnePlane:
        key, size, eps = "one plane", 1, 1e-9

        def problem(self, k):
            return net, whole

        def measure(self, k, net, domain, result):
            return {}

    record, _ = count_task(OnePlane(), 0, None)
    assert record.count == 4 and record.stats.near_eps >= 1


def test_a_resumed_count_reports_a_constant_decided_within_rounding_once(tmp_path):
    net, plane, truth = _constant_on_slice(2, 0.1)
    full = pr.count_regions(net, plane, method="dfs")
    ckpt = tmp_path / "plane.ckpt"
    part = pr.count_regions(net, plane, method="dfs", checkpoint=ckpt, time_limit=1e-6)
    assert part.count < full.count and not part.complete and ckpt.exists()
    resumed = pr.count_regions(net, plane, resume=ckpt)
    assert resumed.count == full.count == len(truth)
    assert resumed.stats.near_eps == full.stats.near_eps >= 1


def test_a_constant_zero_in_rationals_but_not_in_float_is_reported():
    """z_2 = x_2 + x_3 + x_4 + x_5 on the line through (0, t, 1, -1, -t), t = 2^-60, along x_1: 0 in
    rationals (off), -8.7e-19 in float64 (the 1 absorbs t). Off both ways, but within rounding."""
    t = 2.0 ** -60
    W, b = [[1.0, 0, 0, 0, 0], [0, 1.0, 1.0, 1.0, 1.0]], [-0.5, 0.0]
    origin = [0.0, t, 1.0, -1.0, -t]
    net = pr.Network.from_dense([np.array(W)], [np.array(b)])
    line = pr.Line(origin, [1.0] + origin[1:])
    truth = exact_slice_patterns([W], [b], origin, [[1.0], [0], [0], [0], [0]], [0], [1])
    assert truth == {(0, 0), (1, 0)}
    assert float((np.array(W) @ np.array(origin) + b)[1]) != 0.0  # the reproducer still rounds
    for method in ("dfs", "planar", "milp"):
        res = pr.count_regions(net, line, method=method)
        assert res.count == len(truth) and res.stats.near_eps >= 1, method
    assert _slice_patterns(net, line, "dfs") == truth


def test_plane_coordinates_are_its_own_arguments():
    """A plane's rectangle is s u + t v with (s, t) in [lo, hi]: the patterns found on it are the
    exact reference's for the frame [u v] written here (an asymmetric rectangle, so that a frame
    with u and v exchanged, or a wrong origin, finds other patterns)."""
    rng = np.random.default_rng(31)
    W1, b1 = rng.integers(-2, 3, size=(5, 3)), rng.integers(-2, 3, size=5)
    W2, b2 = rng.integers(-2, 3, size=(4, 5)), rng.integers(-2, 3, size=4)
    net = pr.Network.from_dense([W1.astype(float), W2.astype(float)], [b1.astype(float), b2.astype(float)])
    origin, u, v, lo, hi = [1, 0, -1], [1, 1, 0], [0, 1, 2], [-3, -0.5], [0.5, 2]
    truth = exact_slice_patterns([W1.tolist(), W2.tolist()], [b1.tolist(), b2.tolist()], origin,
                                 [[a, c] for a, c in zip(u, v)], lo, hi)
    plane = pr.Plane(origin, u, v, lo, hi)
    assert len(truth) > 4
    for method in ("planar", "dfs"):
        assert _slice_patterns(net, plane, method) == truth
    for r in pr.enumerate_regions(net, plane):  # every region's point lies at its coordinates
        s, t = r.coords
        assert np.allclose(r.point, np.array(origin) + s * np.array(u) + t * np.array(v))
        assert lo[0] < s < hi[0] and lo[1] < t < hi[1]


@pytest.mark.parametrize("make, match", [
    (lambda: pr.Line(-1e308 * np.ones(3), 1e308 * np.ones(3)), "`b`"),
    (lambda: pr.Line([-1.7e308, 0.0], [1.7e308, 0.0]), "`b`"),
    (lambda: pr.Plane([0.0, 0.0], [1e308, 0.0], [0.0, 1.0], -10, 10), "`u`"),
    (lambda: pr.Plane([0.0, 0.0], [1.0, 0.0], [0.0, 1e308], -1e10, 1e10), "`v`"),
    (lambda: pr.Plane([0.0, 0.0], [1.0, 0.0], [0.0, 1.0], -1.7e308, 1.7e308), "`hi`"),
    (lambda: pr.Volume([0.0] * 3, [1.5e308, 1.5e308, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], -1, 1), "`u`"),
    (lambda: pr.Volume([0.0] * 3, [1e200, 0, 0], [0, 1e200, 0], [0, 0, 1e200], -1e200, 1e200), "`u`"),
    (lambda: pr.Volume([0.0] * 3, [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], -1e308, 1e308), "`hi`"),
])
def test_slices_beyond_the_float_range_are_refused(make, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning on the way
        with pytest.raises(pr.InvalidInputError, match=match) as err:
            make()
    assert "\n" not in str(err.value) and "overflow" in str(err.value)


def test_relu_networks_with_activation_and_unflatten_layers_count_on_slices():
    """ReLU twice (Dense then Activation) and an Unflatten/Flatten pair are plain ReLU networks:
    on a plane their patterns are those of the dense network [W1, I, W2] written out here (the
    second ReLU reads the first one's output: its neuron j is on exactly where neuron j is)."""
    rng = np.random.default_rng(32)
    W1, b1 = rng.integers(-2, 3, size=(4, 3)), rng.integers(-2, 3, size=4)
    W2, b2 = rng.integers(-2, 3, size=(3, 4)), rng.integers(-2, 3, size=3)
    fl = [W1.astype(float), b1.astype(float)], [W2.astype(float), b2.astype(float)]
    relu_relu = pr.Network([pr.Dense(*fl[0]), pr.Activation(), pr.Dense(*fl[1])])
    unflatten = pr.Network([pr.Dense(*fl[0]), pr.Unflatten((1, 2, 2)), pr.Flatten(), pr.Dense(*fl[1])])
    origin, u, v, lo, hi = [0, 1, 0], [1, 0, 1], [0, 1, -1], -2, 2
    U = [[a, c] for a, c in zip(u, v)]
    twice = exact_slice_patterns([W1.tolist(), np.eye(4, dtype=int).tolist(), W2.tolist()],
                                 [b1.tolist(), [0] * 4, b2.tolist()], origin, U, [lo, lo], [hi, hi])
    once = exact_slice_patterns([W1.tolist(), W2.tolist()], [b1.tolist(), b2.tolist()], origin, U, [lo, lo], [hi, hi])
    plane = pr.Plane(origin, u, v, lo, hi)
    line = pr.Line(plane.to_input([lo, lo]), plane.to_input([hi, 0.5]))
    for method in ("planar", "dfs"):
        assert _slice_patterns(relu_relu, plane, method) == twice
        assert _slice_patterns(unflatten, plane, method) == once
        assert pr.count_regions(relu_relu, line, method=method).count == pr.count_regions(
            pr.Network.from_dense(*zip(*fl)), line, method="dfs").count


def test_volume_frame_coordinates_and_search_domain(rng):
    vol = pr.Volume(rng.normal(size=5), *rng.normal(size=(3, 5)), [-1, 0, 0.5], [2, 3, 1])
    origin, Q, R = vol.frame()
    assert np.allclose(Q.T @ Q, np.eye(3)) and np.linalg.det(R) > 0 and np.allclose(Q @ R, vol.U)
    p = rng.uniform(vol.lo, vol.hi, size=(20, 3))
    assert np.allclose(vol.to_slice(vol.to_input(p)), p)
    assert vol.contains(vol.to_input(p)).all()
    assert not vol.contains(vol.to_input(vol.hi + 0.1)).any()
    domain_y = vol.slice_domain()  # the parallelepiped in orthonormal coordinates
    assert domain_y.contains(p @ R.T).all() and not domain_y.contains((vol.hi + 0.1) @ R.T).any()
    corners = vol.to_input(vol.corners())
    assert vol.diameter == pytest.approx(max(np.linalg.norm(a - b) for a in corners for b in corners))
    through = pr.Volume.through(*np.eye(4), margin=0)
    assert np.allclose(through.to_input([[1, 0, 0], [1, 1, 1]]), [[0, 1, 0, 0], [-2, 1, 1, 1]])
    assert repr(through).startswith("Volume(")
    assert isinstance(pr.Volume(np.zeros(3), *np.eye(3)).slice_domain(), pr.Whole)


def test_volume_checkpoint_fingerprint_sees_every_direction():
    a = pr.Volume(np.zeros(4), *np.eye(4)[:3], -1, 1)
    b = pr.Volume(np.zeros(4), *np.eye(4)[:2], np.eye(4)[3], -1, 1)
    net = pr.Network.from_dense([np.ones((2, 4))], [np.zeros(2)])
    assert fingerprint(net, a, 1e-9, "auto", True) != fingerprint(net, b, 1e-9, "auto", True)


def test_unbounded_volumes_are_searched_in_their_whole_space():
    """The volume spanned by e1, e2, e3 through the origin of R^3 is R^3 itself: the exact
    reference's count of the whole space, found by the search in the volume's own coordinates."""
    W, b = [[1, 0, 1], [0, 1, -1], [1, 1, 0], [1, -1, 2]], [0, 1, -1, 0.5]
    net = pr.Network.from_dense([np.array(W, float)], [np.array(b, float)])
    truth = exact_slice_patterns([W], [b], [0, 0, 0], np.eye(3, dtype=int).tolist(), None, None)
    assert _slice_patterns(net, pr.Volume(np.zeros(3), *np.eye(3)), "dfs") == truth
