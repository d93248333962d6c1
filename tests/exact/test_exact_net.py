"""The exact integer rows of a network (polyregions.exact.exact_net) against a forward pass in
fractions written here: the rows are positive multiples of the exact pre-activations."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from polyregions.exact import exact_net
from polyregions.exact.exact_net import ExactNetwork


def exact_forward(net, x):
    """Pre-activations of every layer at the rational point `x`, in fractions."""
    h, out = list(x), []
    for W, b in net.hidden:
        z = [sum((Fraction(float(w)) * v for w, v in zip(row, h)), Fraction(0)) + Fraction(float(bj))
             for row, bj in zip(W, b)]
        out.append(z)
        h = [max(v, Fraction(0)) for v in z]
    return out


@pytest.mark.parametrize("flint_from", [None, 0])
def test_integer_product_is_the_exact_product(flint_from, monkeypatch):
    if flint_from is not None:
        if not exact_net.USE_FLINT:
            pytest.skip("python-flint is not installed")
        monkeypatch.setattr(exact_net, "FLINT_PRODUCT_FROM", flint_from)
    rng = np.random.default_rng(3)
    for m, k, n in [(3, 4, 5), (1, 1, 1), (2, 0, 3), (4, 3, 1)]:
        A = [[int(v) << int(s) for v, s in zip(rng.integers(-99, 99, size=k), rng.integers(0, 200, size=k))]
             for _ in range(m)]
        B = [[int(v) << int(s) for v, s in zip(rng.integers(-99, 99, size=n), rng.integers(0, 200, size=n))]
             for _ in range(k)]
        want = [[sum(A[i][t] * B[t][j] for t in range(k)) for j in range(n)] for i in range(m)]
        got = exact_net.integer_product(np.array(A, dtype=object).reshape(m, k),
                                        np.array(B, dtype=object).reshape(k, n))
        assert got.shape == (m, n) and got.tolist() == want and all(type(v) is int for row in got.tolist() for v in row)


@pytest.mark.parametrize("flint_from", [None, 0])
@pytest.mark.parametrize("seed", range(5))
def test_rows_are_positive_multiples_of_the_preactivations(seed, flint_from, monkeypatch):
    if flint_from is not None:  # every layer map through python-flint
        if not exact_net.USE_FLINT:
            pytest.skip("python-flint is not installed")
        monkeypatch.setattr(exact_net, "FLINT_PRODUCT_FROM", flint_from)
    rng = np.random.default_rng(seed)
    net = pr.Network.from_dense([rng.normal(size=(4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 3))],
                                [rng.normal(size=4), rng.normal(size=3), rng.normal(size=2)])
    exact = ExactNetwork(net, pr.Box(-np.ones(3), np.ones(3)))
    for _ in range(20):
        x = [Fraction(int(v), 64) for v in rng.integers(-63, 64, size=3)]
        zs = exact_forward(net, x)
        bits = [1 if v > 0 else 0 for z in zs for v in z]
        for l, z in enumerate(zs):
            G, c = exact.maps(bits, l)
            values = [sum((int(g) * v for g, v in zip(row, x)), Fraction(0)) + int(cj) for row, cj in zip(G, c)]
            ratios = {val / zj for val, zj in zip(values, z) if zj != 0}
            assert len(ratios) <= 1 and all(r > 0 for r in ratios)
        assert exact.point_in_region(bits, x) == all(v != 0 for z in zs for v in z)
        flipped = list(bits)
        flipped[0] ^= 1
        assert not exact.point_in_region(flipped, x)


def test_identically_zero_off_neuron_adds_no_row():
    # the second layer's neuron reads only the first neuron, with bias 0: off there, z == 0 identically
    net = pr.Network.from_dense([np.array([[1.0, 0.0]]), np.array([[1.0]])], [np.array([0.0]), np.array([0.0])])
    exact = ExactNetwork(net, pr.Whole(2))
    assert exact.neuron_row([0], 1, 0) is None
    assert exact.neuron_row([0], 1, 1) == ([0, 0], 0)  # on: 0 < 0, never satisfied
    assert exact.point_in_region([0, 0], [Fraction(-1), Fraction(0)])
    assert not exact.point_in_region([0, 1], [Fraction(-1), Fraction(0)])


@pytest.mark.parametrize("seed", range(4))
def test_point_in_region_agrees_with_fractions_with_and_without_the_float_filter(seed, monkeypatch):
    # the pattern of a point from the forward pass in fractions written here; the float sign filter
    # must never accept a wrong pattern, and points on a hyperplane (a zero pre-activation) go exact
    rng = np.random.default_rng(10 + seed)
    net = pr.Network.from_dense([rng.normal(size=(6, 2)), rng.normal(size=(5, 6)), rng.normal(size=(1, 5))],
                                [rng.normal(size=6), rng.normal(size=5), rng.normal(size=1)])
    exact = ExactNetwork(net, pr.Box(-np.ones(2), np.ones(2)))
    W0, b0 = net.hidden[0]
    kinds = {"filtered": 0, "exact": 0}
    def filtered(bits, X, den):
        return bool(exact.point_filter.passes([bits], [X], [den])[0])

    for k in range(60):
        X = [int(v) for v in rng.integers(-1023, 1024, size=2)]
        den = 1024
        if k % 3 == 0:  # on neuron 0's hyperplane: W0[0] . x + b0[0] = 0 with x_1 solved exactly
            x0 = Fraction(X[0], den)
            x1 = -(Fraction(float(W0[0, 0])) * x0 + Fraction(float(b0[0]))) / Fraction(float(W0[0, 1]))
            if not -1 < x1 < 1:
                continue
            den = math.lcm(x0.denominator, x1.denominator)
            X = [int(x0 * den), int(x1 * den)]
        x = [Fraction(v, den) for v in X]
        zs = exact_forward(net, x)
        bits = [1 if v > 0 else 0 for z in zs for v in z]
        truth = all(v != 0 for z in zs for v in z)  # a zero pre-activation of a real neuron is on no region
        assert exact.integer_point_in_region(bits, X, den) == truth
        certain = filtered(bits, X, den)
        assert not certain or truth
        kinds["filtered" if certain else "exact"] += 1
        flipped = list(bits)
        flipped[k % len(bits)] ^= 1
        assert not filtered(flipped, X, den)
        assert not exact.integer_point_in_region(flipped, X, den)
    assert kinds["filtered"] > 0


def test_point_in_region_at_the_filter_dimension_agrees_with_fractions():
    # from SIGN_FILTER_FROM_DIM inputs on the float filter runs first: every answer against fractions
    from polyregions.exact.exact_net import SIGN_FILTER_FROM_DIM

    n = SIGN_FILTER_FROM_DIM
    rng = np.random.default_rng(7)
    net = pr.Network.from_dense([rng.normal(size=(8, n)), rng.normal(size=(6, 8)), rng.normal(size=(1, 6))],
                                [rng.normal(size=8), rng.normal(size=6), rng.normal(size=1)])
    exact = ExactNetwork(net, pr.Box(-np.ones(n), np.ones(n)))
    for k in range(30):
        X = [int(v) for v in rng.integers(-255, 256, size=n)]
        zs = exact_forward(net, [Fraction(v, 256) for v in X])
        bits = [1 if v > 0 else 0 for z in zs for v in z]
        assert exact.integer_point_in_region(bits, X, 256)
        flipped = list(bits)
        flipped[k % len(bits)] ^= 1
        assert not exact.integer_point_in_region(flipped, X, 256)


@pytest.mark.parametrize("domain, inside", [
    (pr.Box(-np.ones(3), np.ones(3)), lambda x: all(-1 < v < 1 for v in x)),
    (pr.Ball(np.zeros(3), 1.0, p=1), lambda x: sum(abs(v) for v in x) < 1),
    (pr.Ball(np.zeros(3), 1.0, p=2), lambda x: sum(v * v for v in x) < 1),
    (pr.Whole(3), lambda x: True)], ids=["box", "l1", "l2", "whole"])
def test_many_points_at_once_agree_with_fractions(domain, inside):
    # points_in_regions (the float filter on all points, the exact pass for the rest) against the
    # forward pass in fractions and the domain's inequality written here: on-hyperplane points,
    # points outside the domain and wrong patterns included
    rng = np.random.default_rng(3)
    net = pr.Network.from_dense([rng.normal(size=(7, 3)), rng.normal(size=(5, 7))], [rng.normal(size=7),
                                                                                    rng.normal(size=5)])
    exact = ExactNetwork(net, domain)
    W0, b0 = net.hidden[0]
    points, truths = [], []
    for k in range(90):
        X, den = [int(v) for v in rng.integers(-700, 701, size=3)], 512  # some outside the unit balls
        if k % 4 == 0:  # on neuron 0's hyperplane, x_2 solved exactly
            x = [Fraction(X[0], den), Fraction(X[1], den)]
            x.append(-(sum(Fraction(float(w)) * v for w, v in zip(W0[0, :2], x)) + Fraction(float(b0[0])))
                     / Fraction(float(W0[0, 2])))
            den = math.lcm(*(v.denominator for v in x))
            X = [int(v * den) for v in x]
        x = [Fraction(v, den) for v in X]
        zs = exact_forward(net, x)
        bits = [1 if v > 0 else 0 for z in zs for v in z]
        truth = inside(x) and all(v != 0 for z in zs for v in z)
        flipped = list(bits)
        flipped[k % len(bits)] ^= 1
        points += [(bits, X, den), (flipped, X, den)]
        truths += [truth, False]
    assert exact.points_in_regions(points) == truths
    assert any(truths) and not all(truths[::2])
