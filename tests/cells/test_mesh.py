"""Tests of polyregions.cells.mesh: level sets against closed forms (the L1 sphere's area and
enclosed volume, the diamond's perimeter), against the network (the output vanishes at every
vertex) and against their own topology (shared edges, boundaries only on the domain's surface)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import InvalidInputError, UnsupportedError


def _l1_norm_net(d, radius):
    """f(x) = |x|_1 - radius: the level set f = 0 is the L1 sphere."""
    W = np.vstack([np.eye(d), -np.eye(d)])
    return pr.Network.from_dense([W], [np.zeros(2 * d)], output=(np.ones((1, 2 * d)), np.array([-radius])))


def test_octahedron_closed_forms():
    r = 0.7
    mesh = pr.level_set(_l1_norm_net(3, r), pr.Box(-np.ones(3), np.ones(3)))
    tm = mesh.to_trimesh()
    assert tm.is_watertight and tm.is_winding_consistent
    assert math.isclose(tm.area, 4 * math.sqrt(3) * r * r, rel_tol=1e-12)  # eight equilateral triangles of side r sqrt 2
    assert math.isclose(tm.volume, 4 / 3 * r**3, rel_tol=1e-12)             # positive: the faces point outwards
    assert len(mesh.vertices) == 6 and len(mesh.faces) == 8


def test_level_other_than_zero_a_level_on_a_face_and_a_flat_cell():
    net = _l1_norm_net(3, 0.0)
    mesh = pr.level_set(net, pr.Box(-np.ones(3), np.ones(3)), level=0.5)
    assert math.isclose(mesh.to_trimesh().volume, 4 / 3 * 0.5**3, rel_tol=1e-12)
    # f = relu(x_0) - relu(-x_0) = x_0: the level set is the complex's face x_0 = 0, produced by both
    # of its cells and kept once: the square [-1, 1]^2, two triangles
    box = pr.Box(-np.ones(3), np.ones(3))
    face = pr.Network.from_dense([[[1.0, 0, 0], [-1.0, 0, 0]]], [[0.0, 0.0]], output=(np.array([[1.0, -1.0]]), np.zeros(1)))
    mesh = pr.level_set(face, box)
    assert len(mesh.faces) == 2 and math.isclose(mesh.to_trimesh().area, 4.0, rel_tol=1e-12)
    assert np.all(mesh.vertices[:, 0] == 0.0) and len(mesh.flat_cells) == 0
    # f = relu(x_0): identically 0 on the cell x_0 < 0, which is reported, not meshed; the face
    # x_0 = 0 it shares with the other cell is that cell's level set
    half = pr.Network.from_dense([[[1.0, 0, 0]]], [[0.0]], output=(np.array([[1.0]]), np.zeros(1)))
    mesh = pr.level_set(half, box)
    assert len(mesh.flat_cells) == 1 and len(mesh.faces) == 2 and np.all(mesh.vertices[mesh.faces, 0] == 0.0)


def test_diamond_in_2d():
    r = 0.6
    mesh = pr.level_set(_l1_norm_net(2, r), pr.Box([-1, -1], [1, 1]))
    assert mesh.faces.shape[1] == 2
    length = sum(np.linalg.norm(mesh.vertices[a] - mesh.vertices[b]) for a, b in mesh.faces)
    assert math.isclose(length, 4 * math.sqrt(2) * r, rel_tol=1e-12)
    _, counts = np.unique(mesh.faces, return_counts=True)
    assert np.all(counts == 2)  # a closed polygon
    # oriented: the outward normal (dy, -dx) of every segment points away from the origin
    for a, b in mesh.faces:
        p, q = mesh.vertices[a], mesh.vertices[b]
        assert np.array([q[1] - p[1], p[0] - q[0]]) @ (p + q) > 0


def test_random_net_surface(rng):
    net = pr.Network.from_dense([rng.normal(size=(10, 3)), rng.normal(size=(10, 10))],
                                [rng.normal(size=10), rng.normal(size=10)],
                                output=(rng.normal(size=(1, 10)), np.array([0.2])))
    box = pr.Box(-np.ones(3), np.ones(3))
    mesh = pr.level_set(net, box)
    assert len(mesh.faces)
    assert np.max(np.abs(net.forward(mesh.vertices))) < 1e-12
    tm = mesh.to_trimesh()
    assert tm.is_winding_consistent
    edges, counts = np.unique(np.sort(tm.edges, axis=1), axis=0, return_counts=True)
    assert np.all(counts <= 2)
    ends = mesh.vertices[edges[counts == 1]]  # the surface's boundary lies on the box's
    assert np.all(np.any(np.isclose(np.abs(ends), 1.0, rtol=0, atol=1e-12), axis=2))
    # each triangle lies in its cell: its centre has the cell's pattern or lies on the cell's boundary
    cx = pr.polyhedral_complex(net, box)
    assert len(mesh.cells) == len(mesh.faces) and mesh.cells.max() < cx.num_cells


def test_write_and_read_back(tmp_path, rng):
    import trimesh

    mesh = pr.level_set(_l1_norm_net(3, 0.5), pr.Box(-np.ones(3), np.ones(3)))
    for suffix in ("ply", "obj", "stl"):
        path = tmp_path / f"surface.{suffix}"
        mesh.write(path)
        back = trimesh.load(str(path), force="mesh")
        assert math.isclose(back.area, mesh.to_trimesh().area, rel_tol=1e-6)
    with pytest.raises(InvalidInputError, match="path"):
        mesh.write(tmp_path / "surface.txt")


def test_bad_input(rng):
    box = pr.Box(-np.ones(3), np.ones(3))
    two = pr.Network.from_dense([rng.normal(size=(4, 3))], [rng.normal(size=4)], output=(rng.normal(size=(2, 4)), np.zeros(2)))
    with pytest.raises(InvalidInputError, match="scalar output"):
        pr.level_set(two, box)
    none = pr.Network.from_dense([rng.normal(size=(4, 3))], [rng.normal(size=4)])
    with pytest.raises(InvalidInputError, match="no output layer"):
        pr.level_set(none, box)
    with pytest.raises(UnsupportedError, match="one-dimensional"):
        pr.level_set(_l1_norm_net(1, 0.5), pr.Box([-1.0], [1.0]))
    with pytest.raises(InvalidInputError, match="level"):
        pr.level_set(_l1_norm_net(3, 0.5), box, level=float("nan"))
    with pytest.raises(UnsupportedError, match="segments"):
        pr.level_set(_l1_norm_net(2, 0.5), pr.Box([-1, -1], [1, 1])).to_trimesh()


def test_trained_torus_sdf_is_a_closed_surface_of_genus_one():
    """The torus signed distance net of benchmarks/train_sdf.py ([16, 16, 16], trained): its exact
    level set is one watertight surface with Euler characteristic 0 (a torus), whose enclosed
    volume is near the torus's 2 pi^2 R r^2 (the net's fit, not the mesh, limits the agreement)."""
    import pathlib

    from polyregions.model.io import load_network

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "torus_16x16x16.npz"
    if not path.exists():
        pytest.skip("the trained torus net is not in this checkout")
    net = load_network(str(path))
    box = pr.Box(-np.ones(3), np.ones(3))
    cx = pr.polyhedral_complex(net, box)
    assert cx.euler_characteristic == 1 and math.isclose(cx.total_volume, 8.0, rel_tol=1e-12)
    tm = pr.level_set(net, box, complex=cx).to_trimesh()
    assert tm.is_watertight and tm.is_winding_consistent and tm.euler_number == 0
    assert len(tm.split(only_watertight=False)) == 1
    assert abs(tm.volume / (2 * math.pi**2 * 0.5 * 0.2**2) - 1) < 0.1
