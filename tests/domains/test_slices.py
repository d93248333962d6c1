"""Tests of the Line and Plane domains and of polyregions.domains.slices (frames, composed networks, lifted regions)."""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from polyregions.search.checkpoint import fingerprint
from polyregions.domains.slices import pattern_map


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
    net = random_dense_net(rng, 6, [5, 4], output_dim=2)
    plane = pr.Plane.through(*rng.normal(size=(3, 6)))
    net_y, dom_y = plane.search_problem(net)
    origin, Q, R = plane.frame()
    y = rng.normal(size=(20, 2))
    assert np.allclose(net_y.forward(y), net.forward(origin + y @ Q.T))
    assert (net_y.pattern(y) == net.pattern(origin + y @ Q.T)).all()


def test_pattern_map_is_the_network_on_its_region(rng, random_dense_net):
    net = random_dense_net(rng, 3, [6, 5])
    x = rng.normal(size=3)
    M, m = pattern_map(net.hidden, net.pattern(x))
    assert np.allclose(M @ x + m, net.forward(x))


@pytest.mark.parametrize("method", ["planar", "dfs"])
def test_slice_regions_report_input_and_slice_coordinates(rng, random_dense_net, method):
    net = random_dense_net(rng, 5, [6, 6], output_dim=3)
    plane = pr.Plane(rng.normal(size=5), rng.normal(size=5), rng.normal(size=5), -1, 1)
    regions = list(pr.enumerate_regions(net, plane, method=method))
    assert regions
    for r in regions:
        assert np.allclose(plane.to_input(r.coords), r.point)
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


def test_a_layer_type_slices_do_not_know_is_refused(rng, random_dense_net, monkeypatch):
    from polyregions.domains import slices as slicing

    net = random_dense_net(rng, 3, [4])
    monkeypatch.setattr(slicing, "SLICE_LAYERS", (pr.Conv2d,))  # as if Dense were a new kind of layer
    plane = pr.Plane.through(*rng.normal(size=(3, 3)))
    for method in ("planar", "dfs"):
        with pytest.raises(pr.UnsupportedError, match="layer 0 \\(Dense\\) is not supported"):
            pr.count_regions(net, plane, method=method)


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
