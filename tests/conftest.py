"""Shared ground truth for the tests of the exact core.

Everything here is independent of the enumerator: random networks are only built (their
counts come from a reference written in the test that uses them), and the formulas are
written out from the literature. Nothing in this file calls ``count_regions`` or
``enumerate_regions``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyregions as pr


def _random_dense_net(rng, n0, widths, *, output_dim=None, bias_scale=1.0):
    """A fully connected ReLU network with standard Gaussian weights and biases.

    ``widths`` are the hidden widths ``n_1, ..., n_L``; ``output_dim`` adds a final linear
    layer with that many outputs. Parameters drawn from a density are generic with
    probability one, so no two hyperplanes coincide and no neuron is identically zero.
    """
    weights, biases = [], []
    n_in = n0
    for n in widths:
        weights.append(rng.normal(size=(n, n_in)))
        biases.append(bias_scale * rng.normal(size=n))
        n_in = n
    output = None
    if output_dim is not None:
        output = (rng.normal(size=(output_dim, n_in)), rng.normal(size=output_dim))
    return pr.Network.from_dense(weights, biases, output=output)


def _zaslavsky(n0, n1):
    """Regions of ``n1`` hyperplanes in general position in ``R^n0``: ``sum_{i<=n0} C(n1, i)``."""
    return sum(math.comb(n1, i) for i in range(min(n0, n1) + 1))


def _numpy_pattern(weights, biases, x):
    """Activation pattern of the points ``x`` (shape (N, n0)) by plain numpy, layer by layer."""
    h = np.atleast_2d(np.asarray(x, dtype=float))
    bits = []
    for W, b in zip(weights, biases):
        z = h @ np.asarray(W, float).T + np.asarray(b, float)
        bits.append(z > 0)
        h = np.maximum(z, 0.0)
    return np.concatenate(bits, axis=1)


@pytest.fixture
def rng():
    """A seeded generator: every test sees the same numbers on every run."""
    return np.random.default_rng(20240611)


@pytest.fixture
def random_dense_net():
    """``random_dense_net(rng, n0, widths, output_dim=None)``: a Gaussian ReLU network."""
    return _random_dense_net


@pytest.fixture
def zaslavsky():
    """``zaslavsky(n0, n1)``: the one-layer count in general position (Zaslavsky's theorem)."""
    return _zaslavsky


@pytest.fixture
def numpy_pattern():
    """``numpy_pattern(weights, biases, x)``: patterns computed without polyregions."""
    return _numpy_pattern


def _unit_simplex_triangle():
    """The triangle ``x >= 0, y >= 0, x + y <= 1``."""
    return pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])


@pytest.fixture
def triangle():
    """The triangle ``x >= 0, y >= 0, x + y <= 1`` (inradius ``1 - 1/sqrt(2)``)."""
    return _unit_simplex_triangle()


def _line_arrangement_count(W, b, domain):
    """Regions of generic lines ``W x + b = 0`` in a convex plane domain, from the geometry.

    ``domain`` is ``("box", lo, hi)`` or ``("ball", center, radius, p)`` with p in 1, 2,
    inf. For lines in general position (no two parallel, no three through one point)
    a convex domain is cut into ``1 + (lines meeting its interior) + (crossings inside
    its interior)`` regions: each chord adds one region plus one per crossing with an
    earlier chord. Returns ``(count, margin)``: ``margin`` is the smallest distance of a
    crossing from the boundary (in the domain's norm) and of a line from missing or
    touching the domain, so a test can insist the configuration is far from degenerate.
    """
    W, b = np.asarray(W, float), np.asarray(b, float)
    if domain[0] == "box":
        lo, hi = (np.asarray(v, float) for v in domain[1:])

        def extent(w, c):  # min and max of w . x + c over the box
            return c + np.minimum(w * lo, w * hi).sum(), c + np.maximum(w * lo, w * hi).sum()

        def slack(x):  # > 0 inside the interior
            return float(min(np.min(x - lo), np.min(hi - x)))
    else:
        center, radius, p = np.asarray(domain[1], float), float(domain[2]), domain[3]
        q = {1: np.inf, 2: 2, np.inf: 1}[p]

        def extent(w, c):
            mid, half = w @ center + c, radius * np.linalg.norm(w, q)
            return mid - half, mid + half

        def slack(x):
            return radius - float(np.linalg.norm(x - center, p))
    count, margins = 1, []
    for w, c in zip(W, b):
        low, high = extent(w, c)
        margins += [abs(low), abs(high)]
        count += low < 0 < high
    for j in range(len(W)):
        for k in range(j + 1, len(W)):
            x = np.linalg.solve(W[[j, k]], -b[[j, k]])
            s = slack(x)
            margins.append(abs(s))
            count += s > 0
    return count, min(margins)


@pytest.fixture
def line_arrangement_count():
    """``line_arrangement_count(W, b, domain)``: regions of generic lines in a box or a ball, from the geometry."""
    return _line_arrangement_count


def _sweep_1d(weights, biases, lo, hi):
    """The patterns of a network with one input on ``(lo, hi)``, by an exact sweep in rationals.

    Layer by layer, every interval on which the earlier layers' patterns are constant
    has an affine pre-activation per neuron; its zero (exact, from two rational points)
    splits the interval. The patterns at the midpoints of the final intervals are the
    regions (a pattern seen on two intervals is one pattern). Returns the set of
    patterns as tuples of bools.
    """
    from fractions import Fraction

    Ws = [[[Fraction(float(v)) for v in row] for row in np.asarray(W, float)] for W in weights]
    bs = [[Fraction(float(v)) for v in np.asarray(c, float)] for c in biases]

    def pre(x, depth):
        h = [x]
        for W, c in zip(Ws[:depth], bs[:depth]):
            h = [max(sum(w * v for w, v in zip(row, h)) + cj, Fraction(0)) for row, cj in zip(W, c)]
        return [sum(w * v for w, v in zip(row, h)) + cj for row, cj in zip(Ws[depth], bs[depth])]

    cuts = {Fraction(float(lo)), Fraction(float(hi))}
    for depth in range(len(Ws)):
        edges = sorted(cuts)
        for a, e in zip(edges, edges[1:]):
            x1, x2 = a + (e - a) / 3, a + 2 * (e - a) / 3  # affine between them on (a, e)
            for z1, z2 in zip(pre(x1, depth), pre(x2, depth)):
                if z1 != z2:
                    root = x1 - z1 * (x2 - x1) / (z2 - z1)
                    if a < root < e:
                        cuts.add(root)
    edges = sorted(cuts)
    patterns = set()
    for a, e in zip(edges, edges[1:]):
        mid = (a + e) / 2
        patterns.add(tuple(z > 0 for depth in range(len(Ws)) for z in pre(mid, depth)))
    return patterns


@pytest.fixture
def sweep_1d():
    """``sweep_1d(weights, biases, lo, hi)``: the patterns of a one-input network on an interval, exactly."""
    return _sweep_1d
