"""Certified counts (polyregions.exact.certifier) against independent exact sources.

Sources: closed forms for lines in the plane (Zaslavsky: 1 + n + C(n, 2) regions for n lines
in general position in the whole plane; 6 for three concurrent lines; 3 for two parallel
lines), Whitney's formula (``bounds.generic.whitney_count``, exact one-layer oracle in the
whole space), and a brute-force exact enumeration of every pattern by Fourier-Motzkin
elimination (tests/brute_force_exact.py). Every certificate written is re-checked by the
independent checker :func:`polyregions.exact.checker.check`.
"""

from __future__ import annotations

import json

import exact_reference
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyregions as pr
from polyregions.bounds.generic import whitney_count
from polyregions.exact.spec import check_certificate

from brute_force_exact import domain_rows, exact_patterns

#: A triangle with legs 2^-41: area 2^-83, about 1.03e-25.
TINY = 2.0 ** -41


def certified(net, dom, tmp_path, name="cert.jsonl", **kw):
    """The certified count, after its certificate passed the independent checker."""
    cert = tmp_path / name
    res = pr.count_regions(net, dom, certify=True, certificate=cert, **kw)
    report = check_certificate(cert, net, dom)
    assert report.count == res.count
    return res


def lines(rows, biases):
    return pr.Network.from_dense([np.array(rows, float)], [np.array(biases, float)])


BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])


@pytest.mark.parametrize("dom", [BOX, pr.Whole(2), pr.Ball([0.0, 0.0], 1.0, p=1), pr.Ball([0.0, 0.0], 1.0, p=np.inf)])
def test_strip_of_width_1e9_is_counted(dom, tmp_path):
    # x > 0 and x < 1e-9: two parallel lines, 3 regions (the strip between them among them)
    res = certified(lines([[1.0, 0.0], [-1.0, 0.0]], [0.0, 1e-9]), dom, tmp_path)
    assert res.count == 3 and res.certified and res.undecided == []
    assert res.float_count == 2  # the float search at eps = 1e-9 misses the strip


@pytest.mark.parametrize("dom", [BOX, pr.Whole(2)])
def test_triangle_of_area_1e25_is_counted(dom, tmp_path):
    # x > 0, y > 0, x + y < TINY: three lines in general position, 7 regions (Zaslavsky)
    net = lines([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [0.0, 0.0, TINY])
    res = certified(net, dom, tmp_path)
    assert res.count == 7 and res.certified and res.undecided == []
    assert res.float_count < res.count


@pytest.mark.parametrize("offset, expected", [(1e-12, 7), (0.0, 6), (2.0 ** -40, 7)])
def test_three_lines_nearly_and_exactly_concurrent(offset, expected, tmp_path):
    # x = 0, y = 0 and x + y = offset: concurrent when offset == 0 (6 regions), else 7
    net = lines([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, -offset])
    res = certified(net, BOX, tmp_path)
    assert res.count == expected and res.certified
    W, b = net.hidden[0]
    assert certified(net, pr.Whole(2), tmp_path).count == whitney_count(W, b) == expected


def test_dyadic_coincidences_in_the_whole_space_match_whitney(tmp_path):
    # four lines through two common points, and a repeated line, with dyadic coefficients
    W = [[1.0, 0.5], [0.25, -1.0], [1.25, -0.5], [1.0, 0.5], [-0.75, 0.125]]
    b = [0.5, -0.25, 0.25, 0.5, 0.0625]
    net = lines(W, b)
    res = certified(net, pr.Whole(2), tmp_path)
    assert res.count == whitney_count(np.array(W), np.array(b)) and res.certified


def _integer_net(data, n0, widths):
    weights, biases, fan_in = [], [], n0
    ints = st.integers(-2, 2)
    for n in widths:
        weights.append(np.array(data.draw(st.lists(st.lists(ints, min_size=fan_in, max_size=fan_in),
                                                   min_size=n, max_size=n)), float))
        biases.append(np.array(data.draw(st.lists(ints, min_size=n, max_size=n)), float))
        fan_in = n
    return weights, biases


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), widths=st.sampled_from([(3,), (4,), (2, 2), (3, 2), (2, 3)]),
       whole=st.booleans())
def test_integer_networks_match_the_brute_force_reference(data, widths, whole, tmp_path):
    weights, biases = _integer_net(data, 2, widths)
    net = pr.Network.from_dense(weights, biases)
    if whole:
        dom, rows = pr.Whole(2), domain_rows("whole", 2)
    else:
        dom, rows = pr.Box([-1.0, -2.0], [2.0, 1.0]), domain_rows("box", 2, ([-1, -2], [2, 1]))
    expected = exact_patterns(weights, biases, rows)
    res = certified(net, dom, tmp_path)
    assert res.certified and res.undecided == []
    assert res.count == len(expected)


def test_refuses_what_it_cannot_certify(tmp_path):
    net = lines([[1.0, 0.0]], [0.0])
    with pytest.raises(pr.UnsupportedError, match="checkpoint"):
        pr.count_regions(net, BOX, certify=True, checkpoint=tmp_path / "c.json")
    with pytest.raises(pr.UnsupportedError, match="resume"):
        pr.count_regions(net, BOX, certify=True, resume=tmp_path / "c.json")
    with pytest.raises(pr.UnsupportedError, match="slice"):
        pr.count_regions(net, pr.Line([-1.0, -1.0], [1.0, 1.0]), certify=True)
    with pytest.raises(pr.UnsupportedError, match="planar"):
        pr.count_regions(net, BOX, certify=True, method="planar")
    leaky = pr.Network([pr.Dense(np.array([[1.0, 0.0]]), np.array([0.0]), negative_slope=0.1)])
    with pytest.raises(pr.UnsupportedError, match="ReLU"):
        pr.count_regions(leaky, BOX, certify=True)
    with pytest.raises(pr.UnsupportedError, match="milp"):
        pr.count_regions(net, BOX, certify=True, method="milp")
    with pytest.raises(pr.InvalidInputError, match="certificate"):
        pr.count_regions(net, BOX, certificate=tmp_path / "c.jsonl")


def test_a_generic_net_keeps_the_float_count_and_samples_agree(tmp_path):
    rng = np.random.default_rng(3)
    net = pr.Network.from_dense([rng.normal(size=(6, 2)), rng.normal(size=(5, 6))],
                                [rng.normal(size=6), rng.normal(size=5)])
    res = certified(net, BOX, tmp_path)
    assert res.certified and res.count == res.float_count
    seen = {tuple(p) for p in net.pattern(BOX.sample(20000, rng)).astype(int)}
    W1, b1 = net.hidden[0]
    expected = exact_patterns([net.hidden[0][0], net.hidden[1][0]], [b1, net.hidden[1][1]],
                              domain_rows("box", 2, ([-1, -1], [1, 1])))
    assert seen <= expected and len(expected) == res.count


DISC = pr.Ball([0.0, 0.0], 1.0)


@pytest.mark.parametrize("rows, biases, expected", [
    ([[1.0, 0.0]], [-1.0], 1),  # the tangent x = 1 does not cut the open disc
    ([[1.0, 0.0]], [-(1 - 2.0 ** -40)], 2),  # x = 1 - 2^-40 cuts off a cap of height 2^-40
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [-1.0, 0.0, -1.0], 3),  # through (1, 0): the tangent adds nothing
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0], 6),  # three lines through the centre
])
def test_l2_disc_against_the_geometry(rows, biases, expected, tmp_path):
    res = certified(lines(rows, biases), DISC, tmp_path)
    assert res.count == expected and res.certified and res.undecided == []


def test_l2_ball_sampled_patterns_are_all_certified(tmp_path):
    rng = np.random.default_rng(11)
    net = pr.Network.from_dense([rng.normal(size=(6, 3)), rng.normal(size=(4, 6))],
                                [rng.normal(size=6), rng.normal(size=4)])
    ball = pr.Ball([0.1, -0.2, 0.0], 1.5)
    res = certified(net, ball, tmp_path)
    assert res.certified
    listed = {rec["region"] for rec in map(json.loads, (tmp_path / "cert.jsonl").read_text().splitlines())
              if "region" in rec}
    seen = {"".join(map(str, p)) for p in net.pattern(ball.sample(20000, rng)).astype(int)}
    assert seen <= listed and len(listed) == res.count


TRIANGLE = pr.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])  # x > 0, y > 0, x + y < 1


@pytest.mark.parametrize("rows, biases, expected", [
    ([[1.0, -1.0]], [0.0], 2),  # x = y through the vertex (0, 0) splits the triangle
    ([[1.0, 0.0]], [-1.0], 1),  # x = 1 meets the closed triangle only at its vertex (1, 0)
    ([[1.0, 0.0], [0.0, 1.0]], [-0.5, -0.5], 3),  # x = 1/2 and y = 1/2 meet on the hypotenuse
])
def test_polytope_domain_against_the_geometry(rows, biases, expected, tmp_path):
    res = certified(lines(rows, biases), TRIANGLE, tmp_path)
    assert res.count == expected and res.certified


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), widths=st.sampled_from([(3,), (4,), (2, 2), (3, 2)]),
       dom=st.sampled_from([pr.Box([-1.0, -1.0], [1.0, 2.0]), pr.Whole(2), pr.Ball([0.0, 0.5], 1.5, p=1),
                            pr.Ball([0.5, 0.0], 1.25, p=2), pr.Ball([0.0, 0.0], 1.0, p=np.inf)]))
def test_integer_networks_match_the_exact_rational_reference(data, widths, dom, tmp_path):
    # the shared exact rational reference (tests/exact_reference.py) at eps = 0: the same definition
    weights, biases = _integer_net(data, 2, widths)
    res = certified(pr.Network.from_dense(weights, biases), dom, tmp_path)
    assert res.certified and res.undecided == []
    assert res.count == exact_reference.exact_count(weights, biases, dom, eps=0)


def test_an_undecided_branch_leaves_the_count_uncertified(monkeypatch):
    # one leaf's witness fails and its exact decision fails too: the count completes, not certified
    from polyregions.exact import certified_count, certifier, exact_net

    decide, inside = certifier.Auditor._decide, exact_net.ExactNetwork.integer_point_in_region

    def failing(self, bits, extra=()):
        if list(bits) == [0, 0]:
            raise ArithmeticError("planted failure")
        return decide(self, bits, extra)

    monkeypatch.setattr(certifier.Auditor, "_decide", failing)
    monkeypatch.setattr(certified_count, "fast_applies", lambda *args: False)  # the audited Python search
    monkeypatch.setattr(exact_net.ExactNetwork, "integer_point_in_region",
                        lambda self, bits, X, den: list(bits) != [0, 0] and inside(self, bits, X, den))
    monkeypatch.setattr(exact_net.ExactNetwork, "points_in_regions",
                        lambda self, points: [self.integer_point_in_region(*point) for point in points])
    res = pr.count_regions(lines([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]), BOX, certify=True)
    assert res.complete and res.undecided and not res.certified


def test_a_solver_error_in_the_float_search_falls_back_to_exact_decisions(monkeypatch, tmp_path):
    # the backend fails on every other region test: the dropped branches are decided exactly
    from polyregions.errors import SolverError
    from polyregions.search import engine

    make = engine.make_backend
    calls = [0]

    def flaky(*args, **kw):
        lp = make(*args, **kw)
        test = lp.test

        def sometimes(anchor):
            calls[0] += 1
            if calls[0] % 2 == 0:
                raise SolverError("planted solver failure")
            return test(anchor)
        lp.test = sometimes
        return lp

    monkeypatch.setattr(engine, "make_backend", flaky)
    weights, biases = [np.array([[1.0, 2.0], [-1.0, 1.0], [0.5, -1.0]]), np.array([[1.0, -1.0, 1.0], [2.0, 1.0, 0.0]])], \
        [np.array([0.1, -0.2, 0.3]), np.array([0.0, -0.5])]
    net = pr.Network.from_dense(weights, biases)
    res = certified(net, BOX, tmp_path)
    assert res.certified and res.count == exact_reference.exact_count(weights, biases, BOX, eps=0)


def test_an_l2_node_is_decided_by_the_exact_projection(monkeypatch, tmp_path):
    # without the least-distance hint's certificate and the halving points, the exact projection decides
    from polyregions.exact import certifier

    monkeypatch.setattr(certifier, "BALL_HALVINGS", 0)
    monkeypatch.setattr(certifier, "transposition_nnls", lambda A, b: (np.zeros(A.shape[0]), 1.0))
    rows, biases = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [-(1 - 2.0 ** -40), 0.3, -1.2]
    res = certified(lines(rows, biases), DISC, tmp_path)
    assert res.certified and res.count == exact_reference.exact_count([np.array(rows)], [np.array(biases)], DISC, eps=0)


@pytest.mark.parametrize("dom, name", [(BOX, "cert.jsonl"), (BOX, "cert.jsonl.gz"),
                                       (pr.Ball([0.0, 0.0], 1.5), "cert.jsonl")])
def test_parallel_certification_matches_the_reference_and_checks(dom, name, tmp_path, monkeypatch):
    # tiny tasks so that the tree is split many times over two processes (a gzip certificate:
    # the parts are joined as gzip members)
    from polyregions.exact import certified_count

    monkeypatch.setattr(certified_count, "TASK_BUDGET", 0.005)
    monkeypatch.setattr(certified_count, "LOCAL_START", 0.0)
    rng = np.random.default_rng(4)
    weights = [rng.integers(-3, 4, size=(6, 2)).astype(float), rng.integers(-3, 4, size=(5, 6)).astype(float)]
    biases = [rng.integers(-2, 3, size=6) / 2, rng.integers(-2, 3, size=5) / 2]
    net = pr.Network.from_dense(weights, biases)
    res = certified(net, dom, tmp_path, name, workers=2)
    assert res.certified and res.count == exact_reference.exact_count(weights, biases, dom, eps=0)


def test_later_tasks_of_a_worker_reuse_earlier_certificates_and_the_file_checks(tmp_path, monkeypatch):
    # three layers with small integer weights (coincident and concurrent hyperplanes), the tree split
    # into many tiny tasks: a worker's later tasks refer to certificates its earlier tasks wrote
    from polyregions.exact import certified_count

    monkeypatch.setattr(certified_count, "TASK_BUDGET", 0.002)
    monkeypatch.setattr(certified_count, "LOCAL_START", 0.0)
    rng = np.random.default_rng(11)
    weights = [rng.integers(-2, 3, size=(5, 2)).astype(float), rng.integers(-2, 3, size=(4, 5)).astype(float),
               rng.integers(-2, 3, size=(3, 4)).astype(float)]
    biases = [rng.integers(-2, 3, size=5) / 2, rng.integers(-2, 3, size=4) / 2, rng.integers(-2, 3, size=3) / 2]
    net = pr.Network.from_dense(weights, biases)
    res = certified(net, BOX, tmp_path, "cert.jsonl", workers=2)
    assert res.certified and res.count == exact_reference.exact_count(weights, biases, BOX, eps=0)
    assert check_certificate(tmp_path / "cert.jsonl", net, BOX, workers=2).count == res.count


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_max_regions_stops_a_certified_count_exactly_there(limit, monkeypatch):
    # leaves are decided in batches (4 here): a limit inside the first batch, at its end and inside
    # the second still stops at exactly `limit` regions; that the net has more than 7 regions
    # comes from the distinct patterns of a grid's points (a forward pass written here)
    from polyregions.exact import certifier

    monkeypatch.setattr(certifier, "LEAF_BATCH", 4)
    rng = np.random.default_rng(5)
    weights, biases = [rng.normal(size=(6, 2))], [rng.normal(size=6)]
    grid = np.stack(np.meshgrid(np.linspace(-3.9, 3.9, 300), np.linspace(-3.9, 3.9, 300)), -1).reshape(-1, 2)
    assert len(np.unique(grid @ weights[0].T + biases[0] > 0, axis=0)) > 7
    res = pr.count_regions(pr.Network.from_dense(weights, biases), pr.Box([-4.0, -4.0], [4.0, 4.0]), certify=True,
                           max_regions=limit)
    assert res.count == limit and res.stopped == "max_regions" and not res.certified
