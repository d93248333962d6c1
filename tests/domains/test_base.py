"""A new polyhedral domain is one class: a regular hexagon, defined here by its vertices.

It subclasses :class:`polyregions.domains.base.PolyhedralDomain` (no existing domain) and
gives only its dimension, its rows and what it knows from its vertices; every algorithm
(the search, the MILP, the planar algorithm, the certified count) counts in it through the
questions of :class:`~polyregions.domains.base.Domain`, and each count is checked against the
exact rational reference (tests/exact_reference.py) on the same rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr
from exact_reference import exact_patterns
from polyregions.domains.base import Domain, PolyhedralDomain

EPS = 1e-9


class Hexagon(PolyhedralDomain):
    """The regular hexagon with the given centre and circumradius, from its vertices."""

    def __init__(self, center, radius, angle=0.0):
        self.center = np.asarray(center, dtype=float)
        self.dim = 2
        t = angle + np.arange(6) * math.pi / 3
        self.vertices = self.center + radius * np.column_stack([np.cos(t), np.sin(t)])  # counter-clockwise
        edges = np.roll(self.vertices, -1, axis=0) - self.vertices
        normals = np.column_stack([edges[:, 1], -edges[:, 0]])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        self.A, self.b = normals, np.einsum("ij,ij->i", normals, self.vertices)

    def rows(self):
        return self.A, self.b

    def bounding_box(self):
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def polygon(self):
        return self.vertices.copy()


def hexagon_patterns(net_weights, net_biases, hexagon):
    """The exact reference's patterns of the network on the hexagon's rows (floats read exactly)."""
    return exact_patterns(net_weights, net_biases, ("polytope", hexagon.A, hexagon.b), eps=EPS)


@pytest.fixture
def case():
    rng = np.random.default_rng(7)
    weights = [rng.normal(size=(5, 2)), rng.normal(size=(3, 5))]
    biases = [rng.normal(size=5) * 0.5, rng.normal(size=3) * 0.5]
    hexagon = Hexagon([0.2, -0.1], 1.5, angle=0.1)
    return pr.Network.from_dense(weights, biases), hexagon, hexagon_patterns(weights, biases, hexagon)


def _patterns(regions):
    return {tuple(int(v) for v in r.bits) for r in regions}


def test_the_reference_is_not_trivial(case):
    _, _, expected = case
    assert len(expected) >= 8


@pytest.mark.parametrize("method", ["dfs", "planar"])
def test_search_and_planar_find_the_reference_patterns(case, method):
    net, hexagon, expected = case
    assert _patterns(pr.enumerate_regions(net, hexagon, eps=EPS, method=method)) == expected
    res = pr.count_regions(net, hexagon, eps=EPS, method=method)
    assert res.complete and res.count == len(expected)


@pytest.mark.parametrize("backend", ["highs", "numba", "bounded", "scipy"])
def test_every_polyhedral_backend_counts_in_it(case, backend):
    net, hexagon, expected = case
    assert pr.count_regions(net, hexagon, eps=EPS, method="dfs", backend=backend).count == len(expected)


def test_the_milp_counts_in_it(case):
    net, hexagon, expected = case
    res = pr.count_regions(net, hexagon, eps=EPS, method="milp")
    assert res.complete and res.count == len(expected)


def test_the_certified_count_counts_in_it(case):
    net, hexagon, expected = case
    res = pr.count_regions(net, hexagon, certify=True)
    assert res.certified and res.count == len(expected)


def test_planar_is_chosen_for_it(case):
    net, hexagon, _ = case
    assert hexagon.polyhedron_reason() is None
    assert pr.count_regions(net, hexagon, eps=EPS).stats.lp_solves == 0  # no LP: the planar algorithm


def test_its_derived_answers(case):
    _, hexagon, _ = case
    c = hexagon.center
    # the support of a regular hexagon of circumradius 1.5 in a vertex direction is 1.5
    u = hexagon.vertices[0] - c
    assert hexagon.support(u / np.linalg.norm(u)) == pytest.approx(c @ u / np.linalg.norm(u) + 1.5, rel=1e-6)
    lo, hi = hexagon.affine_range(np.eye(2), np.zeros(2))
    np.testing.assert_allclose(lo, hexagon.vertices.min(axis=0), atol=1e-6)
    np.testing.assert_allclose(hi, hexagon.vertices.max(axis=0), atol=1e-6)
    assert hexagon.contains(hexagon.center_point())[0]
    assert hexagon.bounded and hexagon.diameter == pytest.approx(np.linalg.norm(np.ptp(hexagon.vertices, axis=0)))
    # the default polygon from the rows is the hexagon's own
    verts = PolyhedralDomain.polygon(hexagon)
    assert len(verts) == 6
    assert {tuple(np.round(v, 9)) for v in verts} == {tuple(np.round(v, 9)) for v in hexagon.vertices}
    assert hexagon.exact_spec()["kind"] == "rows"


def test_exact_rows_are_the_floats_read_exactly():
    from fractions import Fraction

    from polyregions.domains.base import exact_rows_spec

    A = np.array([[0.1, 0.0, -0.0], [1e-300, -3.5, 2.0 ** 60]])
    spec = exact_rows_spec(3, A, np.array([0.3, -1.0]))
    assert spec["A"] == [[Fraction(0.1), 0, 0], [Fraction(1e-300), Fraction(-7, 2), 2 ** 60]]
    assert spec["b"] == [Fraction(0.3), -1] and all(type(v) is Fraction for row in spec["A"] for v in row)
    with pytest.raises(ValueError):
        exact_rows_spec(3, np.array([[math.nan, 0.0, 0.0]]), np.array([1.0]))


def test_two_hexagons_have_different_keys():
    from polyregions.search.checkpoint import fingerprint

    net = pr.Network.from_dense([[[1.0, 0.0]]], [[0.0]])
    a, b = Hexagon([0.0, 0.0], 1.0), Hexagon([0.0, 0.0], 1.0, angle=0.2)
    assert fingerprint(net, a, EPS, "auto", True) != fingerprint(net, b, EPS, "auto", True)
    assert fingerprint(net, a, EPS, "auto", True) == fingerprint(net, Hexagon([0.0, 0.0], 1.0), EPS, "auto", True)


def test_a_domain_that_answers_nothing_fails_loudly():
    """A new kind of domain that forgets a question raises NotImplementedError naming it."""

    class Blob(Domain):
        dim = 2

    with pytest.raises(NotImplementedError, match=r"Blob does not answer rows\(\)"):
        Blob().rows()
    with pytest.raises(NotImplementedError, match="support"):
        Blob().support(np.eye(2))
    with pytest.raises(NotImplementedError, match="key"):
        Blob().key()


def test_the_frame_dimension_is_the_frames_column_count():
    """``frame_dim()`` (which the cell algorithms' refusals read without building a frame) is
    the number of columns of ``frame()``'s ``Q`` for every kind of domain: boxes, balls, polytopes,
    the whole space, lines, planes and volumes through the input space."""
    rng = np.random.default_rng(4)
    domains = [
        pr.Box(-np.ones(5), np.ones(5)), pr.Ball(np.zeros(784), 0.1, p=np.inf), pr.Ball(np.zeros(3), 1.0),
        pr.Ball(np.zeros(2), 1.0, p=1), pr.Whole(4),
        pr.Polytope(np.vstack([np.eye(3), -np.eye(3)]), np.ones(6)),
        pr.Line(rng.normal(size=6), rng.normal(size=6)),
        pr.Plane(np.zeros(7), rng.normal(size=7), rng.normal(size=7), -np.ones(2), np.ones(2)),
        pr.Volume(np.zeros(5), *rng.normal(size=(3, 5)), -np.ones(3), np.ones(3)),
    ]
    for domain in domains:
        assert domain.frame_dim() == domain.frame()[1].shape[1], type(domain).__name__
