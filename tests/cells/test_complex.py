"""Tests of polyregions.cells.complex: the polyhedral complex against closed forms (f-vectors
counted by hand), the search (cells), closed-form domain volumes, Euler's relation and dense
sampling (every sampled point's pattern is a cell's, and each cell's centre has its pattern)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import InvalidInputError, UnsupportedError

EPS = 1e-9


def _net(rng, d, widths, output=None):
    Ws, bs, n = [], [], d
    for w in widths:
        Ws.append(rng.normal(size=(w, n)))
        bs.append(rng.normal(size=w))
        n = w
    out = None if output is None else (rng.normal(size=(output, n)), rng.normal(size=output))
    return pr.Network.from_dense(Ws, bs, output=out)


def _volume_of(domain):
    """The domain's length, area or volume by closed forms written here."""
    if isinstance(domain, pr.Line):
        return float(np.linalg.norm(domain.b - domain.a))
    if isinstance(domain, (pr.Plane, pr.Volume)):
        U = domain.U
        return math.sqrt(np.linalg.det(U.T @ U)) * float(np.prod(domain.hi - domain.lo))
    if isinstance(domain, pr.Box):
        return float(np.prod(domain.hi - domain.lo))
    if isinstance(domain, pr.Ball) and domain.p == 1:
        return (2 * domain.radius) ** domain.dim / math.factorial(domain.dim)
    if isinstance(domain, pr.Ball):
        return (2 * domain.radius) ** domain.dim
    raise AssertionError(domain)


def _check_tiling(net, domain, cx, rng, samples=2000):
    """Euler's relation, volumes, facets in two cells, the search's count, sampled patterns."""
    assert cx.euler_characteristic == 1
    assert cx.gaps == 0 and cx.overlaps == 0
    assert math.isclose(cx.total_volume, _volume_of(domain), rel_tol=1e-9)
    assert math.isclose(cx.domain_volume, _volume_of(domain), rel_tol=1e-9)
    assert cx.sign_conflicts == 0
    assert cx.max_vertex_spread < 1e-10
    assert cx.num_cells == pr.count_regions(net, domain, method="dfs", eps=EPS).count
    patterns = {np.packbits(b).tobytes() for b in cx.bits}
    x = domain.sample(samples, rng)
    sampled = {p.tobytes() for p in np.packbits(net.pattern(x), axis=1)}
    assert sampled <= patterns
    # the centre of each cell's vertices lies inside it: its pattern is the cell's
    centres = np.array([cx.points[v].mean(axis=0) for v in cx.faces[cx.dim].vertices])
    assert np.array_equal(net.pattern(cx.to_input(centres)), cx.bits)


# ---------------------------------------------------------------------------------------------
# closed forms

@pytest.mark.parametrize("rows, biases, box, f_vector", [
    ([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], 2, (9, 12, 4)),          # a square cut in four
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 0, 0], 2, (9, 14, 6)),  # three concurrent lines, one through corners
    ([[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]], [0, 0, 0], 2, (11, 16, 6)),  # three concurrent lines, six crossings
    ([[1.0, 0.0], [1.0, 0.0]], [0.0, 0.0], 2, (6, 7, 2)),           # one line twice: one edge, two cells
    ([[1.0, 1.0]], [-2.0], 2, (4, 4, 1)),                           # a line touching a corner only
    (np.eye(3).tolist(), [0, 0, 0], 3, (27, 54, 36, 8)),             # a cube cut in eight
    ([[1.0], [1.0], [-1.0]], [0.5, -0.5, 0.0], 1, (5, 4)),          # three breakpoints, one met twice
])
def test_closed_form_f_vectors(rows, biases, box, f_vector):
    net = pr.Network.from_dense([np.array(rows, float)], [np.array(biases, float)])
    cx = pr.polyhedral_complex(net, pr.Box(-np.ones(box), np.ones(box)))
    assert cx.f_vector == f_vector
    assert cx.euler_characteristic == 1


def test_degenerate_deep_net_by_hand():
    """x twice, y; then relu(x), 2 relu(x) - relu(y), relu(y): a second-layer neuron zero on a
    half-plane, coincident first-layer neurons. Five cells, ten vertices, fourteen edges."""
    net = pr.Network.from_dense([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[1, 0, 0], [1, 1, -1], [0, 0, 1]]],
                                [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    cx = pr.polyhedral_complex(net, pr.Box([-1, -1], [1, 1]))
    assert cx.f_vector == (10, 14, 5)
    cells = {tuple(cx.bits[c].astype(int)): cx.cell(c) for c in range(cx.num_cells)}
    # the cell x < 0, y < 0 (every neuron off): its facet on x = 0 is made by neurons 0 and 1
    makers = sorted(tuple(f[1].tolist()) for f in cells[(0, 0, 0, 0, 0, 0)].facets if len(f[1]))
    assert makers == [(0, 1), (2,)]
    # across x = 0 at y > 0 the neighbour's facet is also made by relu(x) (neuron 3), zero on the left
    makers = sorted(tuple(f[1].tolist()) for f in cells[(1, 1, 1, 1, 0, 1)].facets if len(f[1]))
    assert makers == [(0, 1, 3), (4,)]
    assert math.isclose(sum(c.volume for c in cells.values()), 4.0)


# ---------------------------------------------------------------------------------------------
# random networks: every check at once

@pytest.mark.parametrize("seed", [0, 1])
def test_two_dimensional_domains(seed):
    rng = np.random.default_rng(seed)
    net = _net(rng, 2, [10, 10])
    for domain in (pr.Box([-1.0, -0.5], [1.5, 1.0]), pr.Ball([0.1, -0.2], 1.3, p=1), pr.Ball([0.0, 0.0], 1.0, p=np.inf)):
        _check_tiling(net, domain, pr.polyhedral_complex(net, domain), rng)


def test_plane_and_line_through_a_wider_net(rng):
    net = _net(rng, 6, [12, 12])
    x = rng.normal(size=(3, 6))
    plane = pr.Plane.through(*x)
    _check_tiling(net, plane, pr.polyhedral_complex(net, plane), rng)
    line = pr.Line(x[0], x[1])
    cx = pr.polyhedral_complex(net, line)
    _check_tiling(net, line, cx, rng)
    assert cx.f_vector[0] == cx.f_vector[1] + 1


def test_polytope_domain(rng):
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -3.0]])
    b = np.array([1.0, 1.0, 1.0, 2.0])
    domain = pr.Polytope(A, b)
    net = _net(rng, 2, [8, 8])
    cx = pr.polyhedral_complex(net, domain)
    assert cx.euler_characteristic == 1 and cx.gaps == 0
    # the triangle (1, 1), (-2, 1), (1, -2) with its corner (1, -2) cut off by x - 3y <= 2, which meets
    # x = 1 at y = -1/3 and x + y = -1 at (-1/4, -3/4): its area by the shoelace formula
    cut = np.array([[1.0, 1.0], [-2.0, 1.0], [-0.25, -0.75], [1.0, -1.0 / 3.0]])
    area = 0.5 * abs(sum(cut[i, 0] * cut[i - 1, 1] - cut[i - 1, 0] * cut[i, 1] for i in range(4)))
    assert math.isclose(cx.total_volume, area, rel_tol=1e-12)
    assert cx.num_cells == pr.count_regions(net, domain, method="dfs").count


@pytest.mark.parametrize("make", [
    lambda rng: pr.Box(-np.ones(3), np.ones(3)),
    lambda rng: pr.Ball(np.zeros(3), 1.2, p=1),
    lambda rng: pr.Volume.through(*rng.normal(size=(4, 5))),
])
def test_three_dimensional_domains(make, rng):
    domain = make(rng)
    net = _net(rng, domain.dim, [8, 8])
    _check_tiling(net, domain, pr.polyhedral_complex(net, domain), rng)


def test_integer_net_with_coincident_hyperplanes_in_3d():
    rng = np.random.default_rng(5)
    W1 = rng.integers(-1, 2, size=(6, 3)).astype(float)
    W1[3] = W1[0]  # a repeated plane
    net = pr.Network.from_dense([W1, rng.integers(-1, 2, size=(5, 6)).astype(float)],
                                [rng.integers(-1, 2, size=6).astype(float), rng.integers(-1, 2, size=5).astype(float)])
    domain = pr.Box(-np.ones(3), np.ones(3))
    cx = pr.polyhedral_complex(net, domain)
    _check_tiling(net, domain, cx, rng)


def test_dual_graph_against_the_facet_makers(rng):
    """Two cells are adjacent exactly when they share a facet; a neuron whose state differs
    between them vanishes on that facet (it is continuous), so it makes the facet on the side
    where it is on."""
    net = _net(rng, 2, [8, 8])
    cx = pr.polyhedral_complex(net, pr.Box([-1, -1], [1, 1]))
    g = cx.dual_graph()
    assert g.number_of_nodes() == cx.num_cells
    assert g.number_of_edges() == sum(1 for cells in cx.faces[1].cells if len(cells) == 2)
    for a, b, data in g.edges(data=True):
        flipped = set(data["neurons"])
        assert flipped == set(np.flatnonzero(cx.bits[a] != cx.bits[b]).tolist()) and flipped
        makers = set()
        for c in (a, b):
            makers |= {int(j) for f, neurons, _ in cx.cell(c).facets if f == data["face"] for j in neurons}
        assert flipped <= makers <= set(cx.faces[1].neurons(data["face"]).tolist())


# ---------------------------------------------------------------------------------------------
# bad input

def test_bad_input():
    net4 = pr.Network.from_dense([np.eye(4)], [np.zeros(4)])
    with pytest.raises(UnsupportedError, match="4 dimensions"):
        pr.polyhedral_complex(net4, pr.Box(-np.ones(4), np.ones(4)))
    net2 = pr.Network.from_dense([np.eye(2)], [np.zeros(2)])
    with pytest.raises(UnsupportedError, match="L2"):
        pr.polyhedral_complex(net2, pr.Ball([0.0, 0.0], 1.0))
    with pytest.raises(UnsupportedError, match="unbounded"):
        pr.polyhedral_complex(net2, pr.Plane([0, 0], [1, 0], [0, 1]))
    with pytest.raises(InvalidInputError, match="eps"):
        pr.polyhedral_complex(net2, pr.Box([-1, -1], [1, 1]), eps=-1.0)
    with pytest.raises(InvalidInputError, match="dimension 3"):
        pr.polyhedral_complex(net2, pr.Box(-np.ones(3), np.ones(3)))


def test_docstring_example():
    import doctest

    import polyregions.cells.complex as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
