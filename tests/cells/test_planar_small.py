"""Tests of polyregions.cells.planar_small: a small 2-D count in one compiled call, against the
search, the exact rational reference and the planar algorithm's batched path."""

from __future__ import annotations

import logging
import math
from fractions import Fraction

import numpy as np
import pytest

import polyregions as pr
from exact_reference import exact_count
from polyregions.cells import planar, planar_small
from polyregions.cells.polygon import output_room

EPS = 1e-9


@pytest.fixture
def calls(monkeypatch):
    """The counts the one compiled call made (its kernel spied on)."""
    made = []
    kernel = planar_small.count_cells

    def spy(*args):
        out = kernel(*args)
        made.append(out)
        return out

    monkeypatch.setattr(planar_small, "count_cells", spy)
    return made


def _integer_net(rng, widths, low=-2, high=3):
    Ws, bs, n = [], [], 2
    for w in widths:
        Ws.append(rng.integers(low, high, size=(w, n)).astype(float))
        bs.append(rng.integers(low, high, size=w).astype(float))
        n = w
    return Ws, bs


def _same_as_batched(res, net, domain, eps=EPS):
    """`res` has the statistics of the planar algorithm's batched path (the same cells by the same
    decisions; the smallest inradius within the rounding of the maps' sums)."""
    ref = planar.count_planar(net, domain, eps=eps)
    assert (res.count, res.stats.near_eps, res.stats.nodes) == (ref.count, ref.stats.near_eps, ref.stats.nodes)
    assert res.stats.min_radius == pytest.approx(ref.stats.min_radius, rel=1e-6)
    assert res.stats.min_kept_depth == res.stats.min_radius and res.stats.lp_solves == 0
    assert res.complete and res.stopped is None and res.stats.eps == eps


@pytest.mark.parametrize("seed", range(4))
def test_small_counts_agree_with_the_search(seed, random_dense_net, calls):
    rng = np.random.default_rng(300 + seed)
    net = random_dense_net(rng, 2, [8, 7, 6])
    domains = [pr.Box([-1, -1], [1.5, 1]), pr.Ball([0.2, -0.1], 1.3, p=math.inf), pr.Ball([0, 0], 1.0, p=1),
               pr.Polytope([[-1, 0], [0, -1], [1, 1]], [1, 1, 1])]
    for domain in domains:
        res = pr.count_regions(net, domain, eps=EPS)
        assert res.count == pr.count_regions(net, domain, method="dfs", eps=EPS).count
        _same_as_batched(res, net, domain)
    assert len(calls) == len(domains)


@pytest.mark.parametrize("seed", range(3))
def test_small_counts_on_planes_agree_with_the_search(seed, random_dense_net, calls):
    rng = np.random.default_rng(400 + seed)
    net = random_dense_net(rng, 7, [10, 10])
    plane = pr.Plane(rng.normal(size=7), rng.normal(size=7), 3 * rng.normal(size=7), [-1, -0.5], [1, 0.5])
    res = pr.count_regions(net, plane, method="planar", eps=EPS)
    assert res.count == pr.count_regions(net, plane, method="dfs", eps=EPS).count
    _same_as_batched(res, net, plane)
    assert len(calls) == 1


@pytest.mark.parametrize("seed", range(6))
def test_integer_nets_with_degeneracies_match_the_exact_reference(seed, calls):
    """Coincident lines, lines through vertices and along edges, dead neurons."""
    Ws, bs = _integer_net(np.random.default_rng(500 + seed), [5, 4])
    net = pr.Network.from_dense([np.array(W) for W in Ws], [np.array(b) for b in bs])
    res = pr.count_regions(net, pr.Box([-2, -2], [2, 2]), eps=EPS)
    assert res.count == exact_count(Ws, bs, ("box", [-2, -2], [2, 2]), eps=EPS)
    _same_as_batched(res, net, pr.Box([-2, -2], [2, 2]))
    assert len(calls) == 1


def test_outputs_that_run_out_of_room_are_given_more(calls):
    """|x| and |y| first, then 16 lines tangent to the circle of radius 0.2 about (0.5, 0.5) at
    angles in [0, pi/2): every two meet inside the quadrant, so each quadrant holds
    1 + 16 + 120 = 137 regions (no three lines through a point), 548 in all: more than the first
    room the split gives its outputs (a closed form, and the search)."""
    theta = 0.01 + np.arange(16) * (np.pi / 2) / 16
    normals = np.column_stack([np.cos(theta), np.sin(theta)])
    first = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # x+, x-, y+, y-
    second = normals[:, [0, 0, 1, 1]]  # n . (|x|, |y|)
    net = pr.Network.from_dense([first, second], [np.zeros(4), -normals @ [0.5, 0.5] - 0.2])
    box = pr.Box([-1, -1], [1, 1])
    res = pr.count_regions(net, box, eps=EPS)
    assert res.count == 4 * 137 == pr.count_regions(net, box, method="dfs", eps=EPS).count
    assert res.count > output_room(4, 16, 16)[0]  # more cells than the first room held
    _same_as_batched(res, net, box)
    assert len(calls) == 1


def test_a_domain_changed_in_place_is_counted_anew(random_dense_net, calls):
    net = random_dense_net(np.random.default_rng(1), 2, [8, 8])
    box = pr.Box([-1, -1], [1, 1])
    whole = pr.count_regions(net, box).count
    box.hi[:] = [0.0, 0.0]  # a quarter of it
    quarter = pr.count_regions(net, box).count
    assert quarter == pr.count_regions(net, pr.Box([-1, -1], [0, 0]), method="dfs").count
    assert quarter < whole and len(calls) == 2


def test_domains_made_anew_and_more_than_the_cache_holds_are_counted_right(random_dense_net, calls):
    net = random_dense_net(np.random.default_rng(4), 2, [6, 6])
    tops = np.linspace(-0.5, 1.0, planar_small.DOMAIN_CACHE_SIZE + 6)
    expected = {t: pr.count_regions(net, pr.Box([-1, -1], [t, t]), method="dfs").count for t in tops[::7]}
    assert len(set(expected.values())) > 1  # the boxes differ in their counts
    for t in list(tops) + list(tops[::7]):  # each box made anew; the first ones again after the cache is full
        count = pr.count_regions(net, pr.Box([-1, -1], [t, t])).count
        if t in expected:
            assert count == expected[t]
    assert len(calls) == len(tops) + len(tops[::7])


def test_limits_wide_nets_and_the_search_take_their_own_paths(random_dense_net, calls):
    net = random_dense_net(np.random.default_rng(2), 2, [8, 8])
    box = pr.Box([-1, -1], [1, 1])
    count = pr.count_regions(net, box).count
    assert len(calls) == 1
    for options in ({"time_limit": 60.0}, {"max_regions": 10 ** 6}, {"progress": lambda count, stats: None},
                    {"method": "dfs"}, {"backend": "highs"}):
        assert pr.count_regions(net, box, **options).count == count
    wide = random_dense_net(np.random.default_rng(3), 2, [planar_small.SMALL_WIDTH + 1])
    assert pr.count_regions(wide, box).count == pr.count_regions(wide, box, method="dfs").count
    assert len(calls) == 1
    with pytest.raises(pr.UnsupportedError, match="'planar' cannot serve this domain"):
        pr.count_regions(net, pr.Whole(2), method="planar")
    assert pr.count_regions(net, pr.Whole(2)).count == pr.count_regions(net, pr.Whole(2), method="dfs").count
    assert len(calls) == 1


def test_rational_layers_are_still_reported(caplog):
    third = Fraction(1, 3)
    net = pr.Network.from_dense([[[third, 1], [1, -third]]], [[0, third]])
    with caplog.at_level(logging.WARNING, logger="polyregions"):
        res = pr.count_regions(net, pr.Box([-1, -1], [1, 1]))
    assert res.count == 4 and "rational layer" in caplog.text
