"""The linprog helpers of polyregions.solvers.scipy_lp (the backend itself is in test_conformance.py)."""

import math

import numpy as np
import pytest

from polyregions.errors import SolverError
from polyregions.solvers.base import Status
from polyregions.solvers.scipy_lp import BOX_PAD, bounding_box, interior_ball, l2_tangent_cut, solve_lp

TRIANGLE = (np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.0]))


def test_bounding_box_of_a_triangle_is_padded_outwards():
    """x, y >= 0, x + y <= 1: the box [0, 1]^2, widened by BOX_PAD (1 + |v|)."""
    A, b = TRIANGLE
    lo, hi = bounding_box(A / np.linalg.norm(A, axis=1)[:, None], b / np.linalg.norm(A, axis=1))
    assert np.all(lo <= 0.0) and np.all(lo >= -2 * BOX_PAD)
    assert np.all(hi >= 1.0) and np.all(hi <= 1.0 + 3 * BOX_PAD)


def test_bounding_box_of_a_half_plane_is_infinite_where_unbounded():
    lo, hi = bounding_box(np.array([[1.0, 0.0]]), np.array([1.0]))
    assert hi[0] == pytest.approx(1.0, abs=3 * BOX_PAD)
    assert lo[0] == -math.inf and lo[1] == -math.inf and hi[1] == math.inf


def test_interior_ball():
    """The triangle's inradius is 1 - 1/sqrt(2), centred at (r, r). For the empty set
    x <= 0, x >= 1 the largest t with x + t <= 0 and -x + t <= -1 is -1/2 (at x = 1/2)."""
    A, b = TRIANGLE
    n = np.linalg.norm(A, axis=1)
    x, t = interior_ball(A / n[:, None], b / n, cap=1.0)
    r = 1 - 1 / math.sqrt(2)
    assert t == pytest.approx(r, rel=1e-9)
    np.testing.assert_allclose(x, [r, r], rtol=1e-7)
    x, t = interior_ball(np.array([[1.0], [-1.0]]), np.array([0.0, -1.0]), cap=1.0)
    assert t == pytest.approx(-0.5, abs=1e-9)


def test_solve_lp_raises_on_what_it_does_not_accept():
    """max x with x free is unbounded: an error unless UNBOUNDED is accepted."""
    with pytest.raises(SolverError, match="on the test LP"):
        solve_lp([-1.0], bounds=[(None, None)], what="the test LP")
    status, _ = solve_lp([-1.0], bounds=[(None, None)], accept=(Status.UNBOUNDED,))
    assert status is Status.UNBOUNDED


def test_tangent_cut():
    """The tangent plane of the unit ball around (1, 0) towards (4, 4): u = (0.6, 0.8), level u.c + 1."""
    u, level = l2_tangent_cut(np.array([1.0, 0.0]), 1.0, np.array([4.0, 4.0]))
    np.testing.assert_allclose(u, [0.6, 0.8])
    assert level == pytest.approx(1.6)
