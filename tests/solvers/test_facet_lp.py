"""Tests of polyregions.solvers.facet_lp: facet inradii against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyregions.solvers.facet_lp import FacetLP, facet_radius


def _unit(A, b):
    A, b = np.asarray(A, float), np.asarray(b, float)
    n = np.linalg.norm(A, axis=1)
    return A / n[:, None], b / n


def test_square_facets_and_a_redundant_row():
    A, b = _unit([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]], [1, 0, 1, 0, 3])
    lp = FacetLP(A, b)
    for i in range(4):
        t, y = lp.radius(i, [i], 1e-9)
        assert math.isclose(t, 0.5, rel_tol=1e-9)  # half an edge of the unit square
        assert math.isclose(A[i] @ y, b[i], abs_tol=1e-12)
    t, y = lp.radius(4, [4], 1e-9)
    assert t < 0 and y is None  # x + y = 3 misses the square


def test_thin_wedge_is_decided_by_the_inradius_lp():
    """0 <= y <= delta x, x <= 1: the facet y = 0 is the segment [0, 1] (inradius 1/2), but no
    point of it lies more than about delta inside the other rows: the full-dimensional radius is
    below eps and the inradius LP decides."""
    delta = 1e-6
    A, b = _unit([[0, -1], [-delta, 1], [1, 0]], [0, 0, 1])
    lp = FacetLP(A, b)
    t, y = lp.radius(0, [0], 1e-3)
    assert math.isclose(t, 0.5, rel_tol=1e-6) and lp.solves == 2  # the full-dimensional LP, then the inradius LP
    assert math.isclose(facet_radius(A, b, 0, [0], y), t, rel_tol=1e-6)


def test_coincident_rows_and_a_parallel_row_that_cuts_the_hyperplane_off():
    A, b = _unit([[1, 0], [-1, 0], [0, 1], [0, -1], [0, 2]], [1, 0, 1, 0, 2])
    t, _ = FacetLP(A, b).radius(2, [2, 4], 1e-9)  # y <= 1 twice: one facet of both
    assert math.isclose(t, 0.5, rel_tol=1e-9)
    A, b = _unit([[0, 1], [0, -1], [1, 0], [-1, 0], [0, 1]], [1, 0, 1, 0, 0.5])
    t, y = FacetLP(A, b).radius(0, [0], 1e-9)  # y = 1 lies outside y <= 0.5
    assert t < 0 and y is None


def test_capped_on_unbounded_domains():
    A, b = _unit([[0, 1]], [0])
    t, _ = FacetLP(A, b, t_cap=1.0).radius(0, [0], 1e-9)
    assert t == pytest.approx(1.0)
