"""Tests of polyregions.cells.cells3d: the exact 3-D algorithm against closed forms, the search,
certified counts (exact rational arithmetic) and dense sampling; every cell's geometry checked
(closed outward-oriented surfaces, faces on the zero sets that label them, volumes that tile
the domain)."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

import polyregions as pr
from polyregions.cells import cells3d
from polyregions.cells.cells3d import domain_rows, domain_volume, polyhedral_cells

from exact_reference import exact_count

EPS = 1e-9
CUBE = pr.Box([-1, -1, -1], [1, 1, 1])


def _integer_net(rng, widths, low=-2, high=3, n0=3):
    """Small integer weights and biases: planes through vertices, along edges and holding faces,
    several planes through one point, dead neurons and zero pre-activations are common."""
    Ws, bs, n = [], [], n0
    for w in widths:
        Ws.append(rng.integers(low, high, size=(w, n)).astype(float))
        bs.append(rng.integers(low, high, size=w).astype(float))
        n = w
    return pr.Network.from_dense(Ws, bs)


def _patterns(regions):
    return {r.pattern.tobytes() for r in regions}


def _pre_activations(net, x):
    """Every hidden neuron's pre-activation at the inputs `x` (N, n0), layer by layer."""
    out, h = [], x
    for W, b in net.hidden:
        z = h @ W.T + b
        out.append(z)
        h = np.maximum(z, 0.0)
    return np.concatenate(out, axis=1)


def _check_cells(net, domain, cells):
    """Every cell's surface is closed and oriented outward, each face lies on the zero set of
    the neuron or the domain row that labels it, the pattern holds at the cell's centroid, and
    the volumes sum to the domain's (a tiling: they are disjoint by their patterns)."""
    A, b = domain_rows(domain)
    to_input = domain.to_input if isinstance(domain, pr.Volume) else (lambda p: p)
    total = 0.0
    for cell in cells:
        V = cell.vertices
        edges = {(int(f[i]), int(f[(i + 1) % len(f)])) for f in cell.faces for i in range(len(f))}
        assert sum(len(f) for f in cell.faces) == len(edges)  # no directed edge twice
        assert all((v, u) in edges for u, v in edges)  # closed: each edge once each way
        centroid = V.mean(axis=0)
        x_faces = []
        for f, label in zip(cell.faces, cell.face_labels):
            P = V[f]
            normal = sum(np.cross(P[i] - P[0], P[i + 1] - P[0]) for i in range(1, len(f) - 1))
            assert normal @ (P.mean(axis=0) - centroid) > 0  # counter-clockwise seen from outside
            if label < 0:
                r = -label - 1
                assert np.allclose(P @ A[r], b[r], atol=1e-9)
            else:
                x_faces.append((to_input(P), label))
        for X, label in x_faces:
            z = _pre_activations(net, np.atleast_2d(X))[:, label]
            assert np.allclose(z, 0.0, atol=1e-8)
        assert np.array_equal(net.pattern(to_input(centroid[None]))[0], cell.bits)
        assert cell.volume > 0
        total += cell.volume
    assert total == pytest.approx(domain_volume(domain), rel=1e-9)
    return total


def _against_search(net, domain, eps=EPS):
    ours = list(pr.enumerate_regions(net, domain, method="cells3d", eps=eps))
    theirs = list(pr.enumerate_regions(net, domain, method="dfs", eps=eps))
    assert len(ours) == len(theirs) and _patterns(ours) == _patterns(theirs)
    return ours


# ---------------------------------------------------------------------------------------------
# closed forms for the degenerate cases

def _central_general_position(n, d=3):
    """Regions of n hyperplanes through one point of R^d, normals in general position:
    2 * sum_{i < d} C(n - 1, i)."""
    from math import comb
    return 2 * sum(comb(n - 1, i) for i in range(d))


@pytest.mark.parametrize("method", ["cells3d", "dfs"])
@pytest.mark.parametrize("rows, biases, expected", [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [0, 0, 0], 8),                        # three planes through the centre
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], [0, 0, 0, 0], _central_general_position(4)),
    ([[1, 2, 0], [0, 1, 3], [2, 0, 1], [1, -1, 1], [3, 1, -2]], [0] * 5, _central_general_position(5)),
    ([[1, 0, 0], [0, 1, 0], [1, 1, 0]], [0, 0, 0], 6),                        # three planes through one line
    ([[1, 1, 1]], [-3], 1),                                                   # through the corner (1, 1, 1) only
    ([[1, 1, 0]], [-2], 1),                                                   # along the edge x = y = 1
    ([[1, 0, 0]], [-1], 1),                                                   # holding the face x = 1
    ([[1, 0, 0], [1, 0, 0]], [0, 0], 2),                                      # the same plane twice
    ([[1, 0, 0], [-1, 0, 0]], [0, 0], 2),                                     # opposite orientations
    ([[0, 0, 0], [1, 0, 0]], [0, 0], 2),                                      # a zero row is off everywhere
    ([[1, 1, 0], [1, -1, 0]], [-1, -1], 3),                                   # two planes meeting on the edge x = 1, y = 0
    ([[1, 1, 1], [1, 1, 1]], [-1, 1], 3),                                     # parallel planes, each through three corners
])
def test_degenerate_first_layer_closed_forms(rows, biases, expected, method):
    net = pr.Network.from_dense([np.array(rows, float)], [np.array(biases, float)])
    assert pr.count_regions(net, CUBE, method=method).count == expected
    if method == "cells3d":
        _check_cells(net, CUBE, list(polyhedral_cells(net, CUBE, EPS)))


def test_identically_zero_second_layer_neurons_do_not_split():
    # z = relu(x) - relu(x) is identically 0; z' = relu(x) has only a dead input on x < 0
    W1 = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    W2 = np.array([[1.0, -1.0, 0, 0], [1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    net = pr.Network.from_dense([W1, W2], [np.zeros(4), np.zeros(3)])
    regions = _against_search(net, CUBE)
    assert len(regions) == 8 and not any(r.bits[4] for r in regions)  # the octants, z never on
    _check_cells(net, CUBE, list(polyhedral_cells(net, CUBE, EPS)))


def test_a_neuron_zero_up_to_rounding_is_off():
    # relu(0.1 x) + relu(0.2 x) - relu(0.3 x): slope 5.6e-17 on x > 0, zero up to rounding
    W1 = np.array([[0.1, 0, 0], [0.2, 0, 0], [0.3, 0, 0]])
    net = pr.Network.from_dense([W1, np.array([[1.0, 1.0, -1.0]])], [np.zeros(3), np.zeros(1)])
    regions = _against_search(net, CUBE)
    assert len(regions) == 2 and not any(r.bits[3] for r in regions)


def test_a_tiny_box_far_from_the_origin_says_its_tolerance_is_coarser_than_eps():
    # a box of half-width 1e-8 at 1e4: the two planes cut corners off it (3 regions, certified in
    # exact arithmetic on the float64 network), but the zero tolerance (ZERO_RTOL times the
    # terms' size, 1e12 here) is coarser than eps: the count must say so in near_eps
    s, c = 1e-8, np.array([-1e4 + 1e-8, -1e4 - 1e-8, -1e4])
    W = np.array([[1.0, -1.0, 1.0], [0.0, 1.0, -2.0]]) / s
    net = pr.Network.from_dense([W], [np.array([-2.0, -1.0]) - W @ c])
    box = pr.Box(c - s, c + s)
    certified = pr.count_regions(net, box, certify=True)
    assert certified.certified and certified.count == 3
    res = pr.count_regions(net, box, method="cells3d")
    assert res.count == certified.count or res.stats.near_eps > 0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("half", [1.0, 50.0, 1000.0])
@pytest.mark.parametrize("gap", [1e-7, 1e-11])
def test_a_needle_along_three_nearly_concurrent_planes_is_judged_by_its_inradius(seed, half, gap):
    # the planes x = 0, y = 0 and x + y = gap (rotated) bound a prism of inradius gap / (2 + sqrt 2)
    # as long as the box: 29 eps (counted) or 0.003 eps (not), 7 or 6 regions in exact arithmetic.
    # Its volume (gap^2 / 2 times its length) is below the rounding of the divergence-theorem sum
    # (about 1e-16 times the length cubed): a volume-based decision alone kept or dropped it at random
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
    W, b = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]) @ Q.T, np.array([0.0, 0.0, -gap])
    box = pr.Box(-half * np.ones(3), half * np.ones(3))
    truth = exact_count([W.tolist()], [b.tolist()], box, eps=EPS)
    assert truth == (7 if gap > EPS else 6)
    res = pr.count_regions(pr.Network.from_dense([W], [b]), box, method="cells3d", eps=EPS)
    assert res.count == truth or res.stats.near_eps > 0


# ---------------------------------------------------------------------------------------------
# against the search and certified counts

@pytest.mark.parametrize("seed", range(4))
def test_random_nets_agree_with_the_search(seed, random_dense_net):
    net = random_dense_net(np.random.default_rng(seed), 3, [7, 6, 5])
    domain = pr.Box([-1, -0.5, -1], [1.5, 1, 0.5])
    _against_search(net, domain)
    _check_cells(net, domain, list(polyhedral_cells(net, domain, EPS)))


@pytest.mark.parametrize("seed", range(6))
def test_integer_nets_with_coincident_planes_agree_with_certified_counts(seed):
    rng = np.random.default_rng(500 + seed)
    net = _integer_net(rng, [6, 5], -1, 2) if seed % 2 else _integer_net(rng, [5, 4, 3])
    domain = [pr.Box([-2, -2, -2], [2, 2, 2]),
              pr.Polytope([[1, 1, 0], [1, -1, 0], [-1, 1, 0], [-1, -1, 0], [0, 0, 1], [0, 0, -1]],
                          [2, 2, 2, 2, 1, 1])][seed % 2]
    certified = pr.count_regions(net, domain, certify=True)
    assert certified.certified
    ours = _against_search(net, domain)
    assert len(ours) == certified.count
    _check_cells(net, domain, list(polyhedral_cells(net, domain, EPS)))


@pytest.mark.parametrize("domain", [
    pr.Ball([0.2, -0.1, 0.3], 1.3, p=1),
    pr.Ball([0.2, -0.1, 0.0], 0.9, p=np.inf),
    pr.Polytope([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]], [1, 1, 1, 1]),  # a simplex
    pr.Polytope([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], [1, 1, 1], [2, 2, 2]],
                [1, 1, 1, 1, 1, 1, 2, 5]),  # a cube cut at a corner, one redundant row
])
def test_other_3d_domains_agree_with_the_search(domain, random_dense_net):
    net = random_dense_net(np.random.default_rng(7), 3, [8, 8])
    _against_search(net, domain)
    _check_cells(net, domain, list(polyhedral_cells(net, domain, EPS)))


@pytest.mark.parametrize("seed", range(3))
def test_volumes_through_wider_nets_agree_with_the_search(seed, random_dense_net):
    rng = np.random.default_rng(40 + seed)
    net = random_dense_net(rng, 6, [9, 8])
    volume = pr.Volume(rng.normal(size=6), *rng.normal(size=(3, 6)), [-1, -0.5, 0], [1, 0.5, 0.7])
    ours = _against_search(net, volume)
    net_y, domain_y = volume.search_problem(net)
    assert pr.count_regions(net_y, domain_y, method="dfs").count == len(ours)
    for region in ours:  # the point, on the volume, has the pattern; coords are (s, t, w)
        assert np.allclose(volume.to_input(region.coords), region.point)
        assert np.array_equal(net.pattern(region.point[None])[0], region.bits)
    _check_cells(net, volume, list(polyhedral_cells(net, volume, EPS)))


def test_volume_through_an_integer_net_where_planes_meet():
    rng = np.random.default_rng(77)
    net = _integer_net(rng, [6, 5], n0=4)
    volume = pr.Volume([0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], -1, 1)
    _against_search(net, volume)
    _check_cells(net, volume, list(polyhedral_cells(net, volume, EPS)))


@pytest.mark.parametrize("eps", [1e-12, 1e-3, 2e-2])
def test_thin_regions_follow_the_same_eps_rule(eps, random_dense_net):
    net = random_dense_net(np.random.default_rng(11), 3, [10, 10, 10])
    ours = _against_search(net, CUBE, eps)
    res = pr.count_regions(net, CUBE, method="cells3d", eps=eps)
    assert res.count == len(ours) and res.stats.min_radius > eps
    assert res.stats.min_radius == pytest.approx(min(r.radius for r in ours))


def test_dense_sampling_finds_no_pattern_outside_the_enumeration(random_dense_net):
    net = random_dense_net(np.random.default_rng(3), 3, [12, 12])
    found = {r.pattern.tobytes() for r in pr.enumerate_regions(net, CUBE, method="cells3d", eps=1e-12)}
    x = np.random.default_rng(4).uniform(-1, 1, size=(20000, 3))
    sampled = {np.packbits(p).tobytes() for p in net.pattern(x)}
    assert sampled <= found


def test_regions_carry_an_inscribed_ball_and_the_affine_map(random_dense_net):
    net = random_dense_net(np.random.default_rng(5), 3, [6, 6], output_dim=2)
    for region in pr.enumerate_regions(net, CUBE, method="cells3d"):
        rng = np.random.default_rng(0)
        d = rng.normal(size=(50, 3))
        pts = region.point + 0.999 * region.radius * d / np.linalg.norm(d, axis=1, keepdims=True)
        assert np.all(net.pattern(pts) == region.bits) and np.all(np.abs(pts) < 1)
        A, c = region.affine_map()
        assert np.allclose(pts @ A.T + c, net.forward(pts))


# ---------------------------------------------------------------------------------------------
# the method choice, the count's stops, bad input

def test_auto_is_the_3d_algorithm_on_3d_domains(random_dense_net):
    from polyregions.api import choose_method
    net = random_dense_net(np.random.default_rng(1), 3, [5])
    assert choose_method("auto", CUBE) == "cells3d"
    assert choose_method("auto", pr.Volume.through(*np.eye(4))) == "cells3d"
    assert choose_method("auto", pr.Ball(np.zeros(3), 1.0)) == "dfs"
    assert choose_method("auto", CUBE, needs_search=True) == "dfs"
    res = pr.count_regions(net, CUBE)
    assert res.stats.lp_solves == 0 and res.count == pr.count_regions(net, CUBE, method="dfs").count


def test_max_regions_and_time_limit(random_dense_net):
    net = random_dense_net(np.random.default_rng(2), 3, [10, 10])
    full = pr.count_regions(net, CUBE, method="cells3d")
    part = pr.count_regions(net, CUBE, method="cells3d", max_regions=5)
    assert (part.count, part.complete, part.stopped) == (5, False, "max_regions") and full.count > 5
    zero = pr.count_regions(net, CUBE, method="cells3d", max_regions=0)
    assert (zero.count, zero.complete) == (0, False)


def test_the_arena_grows_without_changing_the_cells(random_dense_net, monkeypatch):
    net = random_dense_net(np.random.default_rng(9), 3, [12, 12])
    cells = list(polyhedral_cells(net, CUBE, EPS))
    monkeypatch.setattr(cells3d, "ARENA_ROOM", 4)  # every cell overflows at first
    again = list(polyhedral_cells(net, CUBE, EPS))
    assert len(again) == len(cells)
    for a, b in zip(cells, again):
        assert np.array_equal(a.bits, b.bits) and np.array_equal(a.vertices, b.vertices) and a.volume == b.volume


def test_weights_in_either_memory_order_compile_one_version_of_the_next_maps(random_dense_net):
    """The next layer's maps are computed by one compiled version whatever the weights' memory
    order (a read-only array, as the network holds its weights, is another type to numba than
    a writable copy: it would compile at count time)."""
    from polyregions.cells import polyhedron
    net = random_dense_net(np.random.default_rng(11), 3, [8, 8, 8])
    fortran = pr.Network.from_dense([np.asfortranarray(W) for W, _ in net.hidden], [b for _, b in net.hidden])
    assert not fortran.hidden[1][0].flags.c_contiguous and not fortran.hidden[1][0].flags.writeable
    first = pr.count_regions(net, CUBE, method="cells3d", eps=EPS)
    again = pr.count_regions(fortran, CUBE, method="cells3d", eps=EPS)
    assert again.count == first.count
    assert len(polyhedron.next_maps.overloads) == 1


def test_output_chunks_and_grown_buffers_leave_the_cells_unchanged(random_dense_net, monkeypatch):
    net = random_dense_net(np.random.default_rng(9), 3, [12, 12])
    cells = list(polyhedral_cells(net, CUBE, EPS))
    count = pr.count_regions(net, CUBE, method="cells3d", eps=EPS)
    spy = []
    kernel = cells3d.split_cells

    def chunked(*args, **kwargs):
        out = kernel(*args, **{**kwargs, "chunk": 1})  # a chunk per cell; a cell with many children grows the buffers
        spy.append(len(out[0]))
        return out

    monkeypatch.setattr(cells3d, "split_cells", chunked)
    again = list(polyhedral_cells(net, CUBE, EPS))
    assert max(spy) > 1  # several chunks were made
    assert len(again) == len(cells) == count.count
    for a, b in zip(cells, again):
        assert np.array_equal(a.bits, b.bits) and np.array_equal(a.vertices, b.vertices) and a.volume == b.volume
    assert pr.count_regions(net, CUBE, method="cells3d", eps=EPS).count == count.count


@pytest.mark.parametrize("domain, match", [
    (pr.Box(-np.ones(4), np.ones(4)), "the domain has 4 dimensions"),
    (pr.Box(-np.ones(2), np.ones(2)), "the domain has 2 dimensions"),
    (pr.Ball(np.zeros(3), 1.0), "an L2 ball is not a polyhedron"),
    (pr.Volume(np.zeros(4), *np.eye(4)[:3]), "the unbounded volume has no polyhedron"),
    (pr.Plane(np.zeros(4), *np.eye(4)[:2], -1, 1), "the domain is a 2-D slice"),
    (pr.Polytope([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]], [1, 1, 1]), "Polytope is not a bounded polyhedral domain"),
    (pr.Whole(3), "Whole is not a bounded polyhedral domain"),
])
def test_domains_the_3d_algorithm_refuses(domain, match):
    net = pr.Network.from_dense([np.ones((2, domain.dim))], [np.zeros(2)])
    with pytest.raises(pr.UnsupportedError, match="`method` 'cells3d' cannot serve this domain: " + match):
        pr.count_regions(net, domain, method="cells3d")
    with pytest.raises(pr.UnsupportedError, match=match):
        list(polyhedral_cells(net, domain, EPS))


def test_domain_rows_name_the_faces():
    ball = pr.Ball([0.5, 0, 0], 2.0, p=1)
    A, b = domain_rows(ball)  # unit normals, in the sign vectors' product order
    assert A.shape == (8, 3) and np.allclose(A * np.sqrt(3), list(product((1.0, -1.0), repeat=3)))
    assert np.allclose(b, A @ ball.center + 2.0 / np.sqrt(3))
    assert domain_volume(ball) == pytest.approx(4 / 3 * 2.0 ** 3)
    volume = pr.Volume([0, 0, 0], [2, 0, 0], [1, 1, 0], [0, 0, 3], [0, 0, 0], [1, 2, 1])
    assert domain_volume(volume) == pytest.approx(2 * 1 * 3 * 2)  # |det U| times the box's volume


def test_polyhedral_cells_checks_its_arguments():
    net = pr.Network.from_dense([np.ones((2, 3))], [np.zeros(2)])
    with pytest.raises(pr.InvalidInputError, match="`eps`"):
        list(polyhedral_cells(net, CUBE, -1.0))
    with pytest.raises(pr.InvalidInputError, match="`domain`"):
        list(polyhedral_cells(net, [[-1, 1]] * 3, EPS))
    with pytest.raises(pr.InvalidInputError):
        list(polyhedral_cells(net, pr.Box(-np.ones(2), np.ones(2)), EPS))  # the net takes 3 inputs


def test_a_2d_count_leaves_the_3d_kernels_uncompiled(tmp_path):
    import subprocess
    import sys
    code = ("import numpy as np, polyregions as pr\n"
            "from polyregions.cells import polyhedron, polyhedron_measure\n"
            "net = pr.Network.from_dense([np.ones((2, 2))], [np.zeros(2)])\n"
            "pr.count_regions(net, pr.Box([-1, -1], [1, 1]))\n"
            "kernels = (polyhedron._split_cells, polyhedron_measure.inradii, polyhedron_measure.volumes)\n"
            "print(sum(len(k.signatures) for k in kernels))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path)  # outside the repository: import the installed package
    assert out.stdout.strip() == "0"
