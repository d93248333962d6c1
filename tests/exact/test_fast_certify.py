"""The compiled certified count (polyregions.exact.fast_certify) against independent exact sources.

Sources: the brute-force exact enumeration of every pattern (tests/brute_force_exact.py) and the
exact rational reference (tests/exact_reference.py); every certificate is re-checked by the
standalone checker, and a corrupted one must be rejected.
"""

from __future__ import annotations

import json

import exact_reference
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyregions as pr
from polyregions.errors import CertificateError
from polyregions.exact import certified_count, fast_certify
from polyregions.exact.checker import check
from polyregions.exact.exact_net import ExactNetwork
from polyregions.exact.spec import check_certificate

from brute_force_exact import domain_rows, exact_patterns

BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])


@pytest.fixture
def fast_only(monkeypatch):
    """Counts that must take the compiled path: the Python certifier's work class refuses."""
    def refuse(*args, **kwargs):
        raise AssertionError("the audited Python search ran instead of the compiled path")

    monkeypatch.setattr(certified_count, "CertifiedWork", refuse)


def certified(net, dom, tmp_path, name="cert.jsonl"):
    cert = tmp_path / name
    res = pr.count_regions(net, dom, certify=True, certificate=cert)
    assert check_certificate(cert, net, dom).count == res.count
    return res, cert


def test_it_serves_float_mlps_in_low_dimensional_boxes_only():
    net = pr.Network.from_dense([np.ones((3, 2))], [np.zeros(3)])
    assert fast_certify.fast_applies(ExactNetwork(net, BOX), "auto")
    assert not fast_certify.fast_applies(ExactNetwork(net, BOX), "highs")  # a backend named: the audited search
    assert not fast_certify.fast_applies(ExactNetwork(net, pr.Ball([0.0, 0.0], 1.0)), "auto")  # L2 ball
    wide = pr.Network.from_dense([np.ones((3, 20))], [np.zeros(3)])
    assert not fast_certify.fast_applies(ExactNetwork(wide, pr.Box(-np.ones(20), np.ones(20))), "auto")


@pytest.mark.parametrize("rows, biases, expected", [
    ([[1.0, 0.0], [-1.0, 0.0]], [0.0, 1e-9], 3),  # a strip of width 1e-9 (thinner than eps)
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0], 6),  # three concurrent lines
    ([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [0.0, 0.0, 2.0 ** -41], 7),  # a triangle of area 1e-25
    ([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0]], [0.5, 1.0, -0.5], 2),  # coincident and opposite hyperplanes
])
def test_degenerate_lines_match_the_exact_reference(fast_only, rows, biases, expected, tmp_path):
    W, b = np.array(rows), np.array(biases)
    assert exact_reference.exact_count([W], [b], BOX, eps=0) == expected
    res, _ = certified(pr.Network.from_dense([W], [b]), BOX, tmp_path)
    assert res.count == expected and res.certified and res.undecided == []


def test_branches_thinner_than_a_large_eps_are_decided_exactly(fast_only, tmp_path):
    # a strip of width 0.01 and a triangle of legs 0.01 below eps = 0.02: the float traversal
    # drops them with a positive optimum (not proven empty); the exact path counts them
    W, b = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.0, 0.01, 0.5, -0.49])
    expected = exact_reference.exact_count([W], [b], BOX, eps=0)
    cert = tmp_path / "cert.jsonl"
    net = pr.Network.from_dense([W], [b])
    res = pr.count_regions(net, BOX, certify=True, certificate=cert, eps=0.02)
    assert check_certificate(cert, net, BOX).count == res.count == expected and res.certified
    assert res.float_count < expected


def test_identically_zero_and_constant_neurons(fast_only, tmp_path):
    # layer 2: a neuron with zero weights and bias (identically zero), one constant on, one
    # reading only a neuron that is off on part of the box
    W1, b1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]), np.array([0.0, 0.25, 0.0])
    W2 = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, -1.0, 1.0]])
    b2 = np.array([0.0, 1.0, -0.5, 0.0])
    expected = exact_reference.exact_count([W1, W2], [b1, b2], BOX, eps=0)
    res, _ = certified(pr.Network.from_dense([W1, W2], [b1, b2]), BOX, tmp_path)
    assert res.count == expected and res.certified


def _integer_net(data, n0, widths):
    weights, biases, fan_in = [], [], n0
    ints = st.integers(-2, 2)
    for n in widths:
        weights.append(np.array(data.draw(st.lists(st.lists(ints, min_size=fan_in, max_size=fan_in),
                                                   min_size=n, max_size=n)), float))
        biases.append(np.array(data.draw(st.lists(ints, min_size=n, max_size=n)), float) / 2)
        fan_in = n
    return weights, biases


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), widths=st.sampled_from([(3, 2), (2, 3), (3, 3), (2, 2, 2)]))
def test_degenerate_integer_networks_match_the_brute_force_reference(fast_only, data, widths, tmp_path):
    weights, biases = _integer_net(data, 2, widths)
    net = pr.Network.from_dense(weights, biases)
    dom = pr.Box([-1.0, -2.0], [2.0, 1.0])
    expected = exact_patterns(weights, biases, domain_rows("box", 2, ([-1, -2], [2, 1])))
    res, _ = certified(net, dom, tmp_path)
    assert res.certified and res.count == len(expected)


def test_a_generic_three_dimensional_net_matches_the_audited_search(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    weights = [rng.normal(size=(6, 3)), rng.normal(size=(5, 6))]
    biases = [rng.normal(size=6) * 0.3, rng.normal(size=5) * 0.3]
    net = pr.Network.from_dense(weights, biases)
    dom = pr.Box(-np.ones(3), np.ones(3))
    fast, _ = certified(net, dom, tmp_path, "fast.jsonl")
    monkeypatch.setattr(certified_count, "fast_applies", lambda *args: False)
    audited, _ = certified(net, dom, tmp_path, "audited.jsonl")
    assert fast.certified and audited.certified and fast.count == audited.count
    seen = {tuple(p) for p in net.pattern(dom.sample(20000, rng)).astype(int)}
    assert len(seen) <= fast.count


def _two_layer_net_in_a_cube(rng):
    """A 3-8-6 ReLU net of random weights (biases scaled by 0.3), as its arrays and as a network,
    and the cube [-1, 1]^3."""
    weights = [rng.normal(size=(8, 3)), rng.normal(size=(6, 8))]
    biases = [rng.normal(size=8) * 0.3, rng.normal(size=6) * 0.3]
    return weights, biases, pr.Network.from_dense(weights, biases), pr.Box(-np.ones(3), np.ones(3))


@pytest.mark.parametrize("gz", [False, True])
def test_two_processes_give_the_same_count_and_a_checked_certificate(fast_only, monkeypatch, tmp_path, gz):
    rng = np.random.default_rng(2)
    weights, biases, net, dom = _two_layer_net_in_a_cube(rng)
    one = pr.count_regions(net, dom, certify=True)
    monkeypatch.setattr(fast_certify, "LOCAL_START", 0.0)  # every node at the split depth to the workers
    monkeypatch.setattr(fast_certify, "POOL_MIN_WORK", 0.0)  # however little work they hold
    cert = tmp_path / ("cert.jsonl.gz" if gz else "cert.jsonl")
    pools = []
    real_pool = fast_certify.cf.ProcessPoolExecutor
    monkeypatch.setattr(fast_certify.cf, "ProcessPoolExecutor", lambda *a, **k: pools.append(1) or real_pool(*a, **k))
    two = pr.count_regions(net, dom, certify=True, certificate=cert, workers=2)
    assert pools and two.certified and two.count == one.count == check_certificate(cert, net, dom).count
    seen = {tuple(p) for p in net.pattern(dom.sample(20000, rng)).astype(int)}
    assert len(seen) <= two.count


@pytest.mark.parametrize("suffix", [".cert", ".jsonl"])
def test_parked_nodes_too_small_for_a_pool_are_certified_in_this_process(fast_only, monkeypatch, tmp_path, suffix):
    rng = np.random.default_rng(2)
    weights, biases, net, dom = _two_layer_net_in_a_cube(rng)
    monkeypatch.setattr(fast_certify, "LOCAL_START", 0.0)  # every node at the split depth parked,
    monkeypatch.setattr(fast_certify, "POOL_MIN_WORK", 1e9)  # and all of them certified here
    monkeypatch.setattr(fast_certify.cf, "ProcessPoolExecutor", None)  # no pool may start
    entered = []
    real_enter = fast_certify.FastCertifiedWork._enter
    monkeypatch.setattr(fast_certify.FastCertifiedWork, "_enter", lambda self, *a: entered.append(1) or real_enter(self, *a))
    cert = tmp_path / ("cert" + suffix)
    res = pr.count_regions(net, dom, certify=True, certificate=cert, workers=2)
    assert entered and res.certified
    # independent sources: the checker's exact count of the certificate, the exact rational reference
    assert res.count == check_certificate(cert, net, dom).count == exact_reference.exact_count(weights, biases, dom,
                                                                                             eps=0)


def test_the_checker_rejects_a_corrupted_fast_certificate(fast_only, tmp_path):
    rng = np.random.default_rng(11)
    net = pr.Network.from_dense([rng.normal(size=(6, 2)), rng.normal(size=(4, 6))],
                                [rng.normal(size=6) * 0.3, rng.normal(size=4) * 0.3])
    res, cert = certified(net, BOX, tmp_path)
    lines = cert.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    k = next(i for i, r in enumerate(records) if "empty" in r and len(r["y"]) > 1)
    rec = records[k]
    key = sorted(rec["y"])[0]
    rec["y"][key] = format(int(rec["y"][key], 16) << 40, "x")  # one multiplier 2^40 times too large
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines[:k] + [json.dumps(rec, separators=(",", ":"))] + lines[k + 1:]) + "\n")
    with pytest.raises(CertificateError):
        check(bad)
    r = next(i for i, r in enumerate(records) if "region" in r)
    bad.write_text("\n".join(lines[:r] + lines[r + 1:]) + "\n")  # a region left out
    with pytest.raises(CertificateError):
        check(bad)


def test_the_support_test_accepts_only_margins_beyond_their_error_bound():
    from polyregions.exact.fast_bounds import support_test

    # one row off (G x < -c) in [-1, 1]: empty exactly when c >= |G|; here G = 1
    G, EG = np.array([[1.0]]), np.zeros((1, 1))
    box = (np.array([-1.0]), np.array([1.0]), np.array([1.0]))
    rows, signs, y = np.array([0]), np.array([1.0]), np.array([1.0])

    def holds(c, ec):
        return support_test(G, np.array([c]), EG, np.array([ec]), rows, signs, y, 1, *box)

    assert holds(2.0, 0.0)  # a margin of 1
    assert not holds(1.0, 0.0)  # a zero margin is accepted only when no term can round (below)
    assert not holds(0.5, 0.0)  # not empty: the point x = -0.75 satisfies x < -0.5
    assert not holds(1.0, 1e-12)  # a zero margin whose c is known only to within 1e-12
    assert not holds(1.0 + 1e-12, 1e-12)  # a margin below the bound
    assert holds(1.0 + 1e-9, 1e-12)
    # an identically zero neuron on (0 < 0): v = 0 and s = 0 exactly
    assert support_test(np.zeros((1, 1)), np.zeros(1), EG, np.zeros(1), rows, np.array([-1.0]), y, 1, *box)
    # the on side (-G x < c) of a row whose G is within 1e-12 of 1: empty exactly when c <= -|G|
    assert not support_test(G, np.array([-1.0]), np.full((1, 1), 1e-12), np.zeros(1), rows, np.array([-1.0]), y, 1,
                            *box)


def test_a_certificate_written_over_many_kernel_calls_is_checked(fast_only, monkeypatch, tmp_path):
    # small buffers and budgets: the kernel returns after every few records and refills its output
    # arrays, while the format-3 writer holds the earlier ones until it writes a block
    monkeypatch.setattr(fast_certify, "LEAF_CAPACITY", 4)
    monkeypatch.setattr(fast_certify, "FIRST_BUDGET", 4)
    monkeypatch.setattr(fast_certify, "TEST_BUDGET", 8)
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(7, 3)), rng.normal(size=(5, 7))]
    biases = [rng.normal(size=7) * 0.3, rng.normal(size=5) * 0.3]
    net = pr.Network.from_dense(weights, biases)
    dom = pr.Box(-np.ones(3), np.ones(3))
    cert = tmp_path / "many.cert"
    res = pr.count_regions(net, dom, certify=True, certificate=cert)
    assert res.certified and check_certificate(cert, net, dom).count == res.count
    seen = {tuple(p) for p in net.pattern(dom.sample(20000, rng)).astype(int)}
    assert len(seen) <= res.count
