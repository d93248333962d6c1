"""Tests of the search's resolution rule: at large coordinates, an "empty" decision whose depth
lies within the coordinates' rounding (``RESOLUTION_RTOL`` times their magnitude) of ``eps`` is
counted in ``stats.near_eps``, in the Python search and in the compiled one alike.

Every count is checked against the exact rational reference (tests/exact_reference.py), which
composes the slice with the network in rationals: a count that differs from it must say
``near_eps > 0``.
"""

from __future__ import annotations

import exact_reference as ref
import numpy as np
import pytest

import polyregions as pr
from polyregions.search.compiled import make_search
from polyregions.search.engine import RegionSearch

#: Two neurons vanish on the segment about 1.3e-9 apart near 2.2e7 (less than a float step
#: there): the exact reference keeps the sliver between them (5 regions at eps = 1e-12).
SLIVER_W = [[-2, 1, -2], [1, -2, -2], [1, -3, 0], [0, 2, -1]]
SLIVER_B = [37465899.60204537, 104914718.88572705, 67442353.96584487, -14983908.138836287]
SLIVER_A, SLIVER_END = [-3000.0, -2000.0, 0.0], [-3000.0, 50329648.0, 67108864.0]
SLIVER_EPS = 1e-12


def dense(weights, biases):
    return pr.Network.from_dense([np.array(w, float) for w in weights], [np.array(b, float) for b in biases])


def exact_line(weights, biases, a, end, eps):
    """The exact patterns on the segment from `a` to `end` (``|end - a|`` must be an integer)."""
    d = [e - s for s, e in zip(a, end)]
    metric = round(float(np.linalg.norm(d)))
    assert sum(int(v) ** 2 for v in d) == metric ** 2
    return ref.exact_slice_patterns(weights, biases, a, [[v] for v in d], [0], [1], eps=eps, metric=metric)


def test_the_reproducer_is_a_sliver_of_the_exact_reference():
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    assert len(truth) == 5


@pytest.mark.parametrize("backend", ["auto", "highs", "scipy", "numba", "bounded"])
def test_a_sliver_below_one_float_step_is_counted_or_reported(backend):
    """The search cannot see the sliver (its two hyperplanes round to one point); the count must
    be the exact reference's, or say near_eps > 0."""
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    res = pr.count_regions(dense([SLIVER_W], [SLIVER_B]), pr.Line(SLIVER_A, SLIVER_END), eps=SLIVER_EPS,
                           method="dfs", backend=backend)
    assert res.count == len(truth) or res.stats.near_eps > 0


@pytest.mark.parametrize("backend", ["numba", "bounded"])
def test_the_compiled_search_reports_the_sliver_as_the_python_search(backend):
    """Both searches on the composed segment: the same regions, nodes and near-eps decisions, and a
    count that is the exact reference's or says near_eps > 0."""
    truth = exact_line([SLIVER_W], [SLIVER_B], SLIVER_A, SLIVER_END, SLIVER_EPS)
    net_y, dom_y = pr.Line(SLIVER_A, SLIVER_END).search_problem(dense([SLIVER_W], [SLIVER_B]))
    results = []
    for compiled in (False, True):
        search = make_search(net_y, dom_y, SLIVER_EPS, backend, True, compiled=compiled)
        assert isinstance(search, RegionSearch)
        root = search.root()
        pats = [tuple(search.bits) for _ in search.run(root)]
        results.append((pats, search.stats.nodes, search.stats.near_eps))
    assert results[0] == results[1]
    pats, _, near = results[0]
    assert len(pats) == len(truth) or near > 0


# ====================================================================== a seeded sweep against the exact reference

#: Integer directions of integer length (a segment's metric must be rational for the reference).
LINE_DIRECTIONS = [(0, 3, 4), (1, 2, 2), (2, 3, 6), (3, 0, 4)]
#: Orthogonal integer pairs of equal integer length (a conformal frame for the plane's reference).
PLANE_FRAMES = [((1, 2, 2), (2, 1, -2)), ((2, -2, 1), (1, 2, 2)), ((3, 0, 4), (0, 5, 0))]


def sweep_case(seed, kind):
    """A one-layer net with small integer weights whose hyperplanes pass within 1e-10..1e-7 of one
    point of a domain at coordinates 1e6..1e8 (some elsewhere), and eps in 1e-12..1e-9:
    ``(net, domain, eps, exact patterns, (net_y, domain_y): what the search runs on)``."""
    rng = np.random.default_rng(seed)
    eps = 10 ** rng.uniform(-12, -9)
    n = 2 if kind == "box" else 3
    W = rng.integers(-3, 4, size=(int(rng.integers(3, 6)), n))
    W[np.all(W == 0, axis=1), 0] = 1
    if kind == "box":
        centre = rng.integers(-10**8, 10**8, size=n).astype(float)
        half = float(10 ** rng.integers(1, 5))
        frame = half * np.eye(n)
        origin = centre
        box = [-1] * n, [1] * n
    else:
        size = 2.0 ** int(round(rng.uniform(6, 8) * np.log2(10)) - 2)
        if kind == "line":
            frame = np.array(LINE_DIRECTIONS[rng.integers(len(LINE_DIRECTIONS))], float)[:, None] * size
        else:
            frame = np.array(PLANE_FRAMES[rng.integers(len(PLANE_FRAMES))], float).T * size
        origin = rng.integers(-3000, 3000, size=n) * float(10 ** rng.integers(0, 5))
        box = [0] * frame.shape[1], [1] * frame.shape[1]
    k = frame.shape[1]
    point = origin + frame @ rng.uniform(0.05, 0.95, size=k) * (0.45 if kind == "box" else 1.0)
    b = np.empty(len(W))
    for j in range(len(W)):
        if j < 2 or rng.random() < 0.4:  # through the point, up to a tiny offset
            b[j] = -W[j] @ point + rng.choice([-1, 1]) * 10 ** rng.uniform(-10, -7) * (1 + rng.integers(0, 3))
        else:
            b[j] = -W[j] @ (origin + frame @ rng.uniform(*box))
    net = dense([W], [b])
    if kind == "box":
        domain = pr.Box(origin - half, origin + half)
        truth = ref.exact_patterns([W.tolist()], [b.tolist()], ("box", domain.lo.tolist(), domain.hi.tolist()), eps=eps)
        return net, domain, eps, truth, (net, domain)
    metric = round(float(np.linalg.norm(frame[:, 0])))
    truth = ref.exact_slice_patterns([W.tolist()], [b.tolist()], origin.tolist(), frame.tolist(), *box, eps=eps,
                                     metric=metric)
    domain = pr.Line(origin, origin + frame[:, 0]) if kind == "line" else pr.Plane(origin, *frame.T, *box)
    return net, domain, eps, truth, domain.search_problem(net)


@pytest.mark.parametrize("kind, seeds", [("line", range(40, 100)), ("plane", range(30)), ("box", range(30))])
def test_every_wrong_count_at_large_coordinates_is_reported(kind, seeds):
    """Slivers of about one float step at coordinates 1e6..1e8 with eps far below that step: the
    count (count_regions, and the Python and the compiled search each) is the exact reference's,
    or says near_eps > 0."""
    for seed in seeds:
        net, domain, eps, truth, (net_y, domain_y) = sweep_case(seed, kind)
        res = pr.count_regions(net, domain, eps=eps, method="dfs")
        assert res.count == len(truth) or res.stats.near_eps > 0, (kind, seed)
        for compiled in (False, True):
            search = make_search(net_y, domain_y, eps, "numba", True, compiled=compiled)
            root = search.root()
            found = 0 if root is None else sum(1 for _ in search.run(root))
            assert found == len(truth) or search.stats.near_eps > 0, (kind, seed, compiled)
