"""BLAS is held to one thread while a count or an enumeration runs, and restored afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import polyregions as pr
import polyregions.api as api
from polyregions.search import blas


def _blas_threads():
    return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads around the test (the caller's setting the package must restore)."""
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != [2]:
            pytest.skip("this BLAS does not take a thread count")
        yield


def _net():
    rng = np.random.default_rng(0)
    return pr.Network.from_dense([rng.normal(size=(6, 3)), rng.normal(size=(6, 6))], [rng.normal(size=6)] * 2)


def test_a_count_runs_on_one_blas_thread_and_restores_the_callers(monkeypatch, two_blas_threads):
    seen = []
    drive = api.drive

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return drive(*args, **kwargs)

    box = pr.Box(-np.ones(3), np.ones(3))
    pr.count_regions(_net(), box, method="dfs", workers=1)  # the libraries a count loads are loaded
    monkeypatch.setattr(api, "drive", spy)
    pr.count_regions(_net(), box, method="dfs", workers=1)
    assert seen == [[1]]
    assert _blas_threads() == [2]


def test_interleaved_enumerations_restore_the_callers_setting(two_blas_threads):
    box = pr.Box(-np.ones(3), np.ones(3))
    first = pr.enumerate_regions(_net(), box)
    second = pr.enumerate_regions(_net(), box)
    assert _blas_threads() == [2]  # nothing runs before the first region is asked for
    next(first)
    next(second)
    assert _blas_threads() == [1]
    n_first = 1 + sum(1 for _ in first)  # the first ends while the second is still open
    assert _blas_threads() == [1]
    n_second = 1 + sum(1 for _ in second)
    assert _blas_threads() == [2]
    assert n_first == n_second


def test_an_error_inside_a_count_restores_the_callers_setting(monkeypatch, two_blas_threads):
    def broken(*args, **kwargs):
        assert _blas_threads() == [1]
        raise pr.SolverError("broken on purpose")

    monkeypatch.setattr(api, "drive", broken)
    with pytest.raises(pr.SolverError):
        pr.count_regions(_net(), pr.Box(-np.ones(3), np.ones(3)), method="dfs", workers=1)
    assert _blas_threads() == [2]


def test_no_limit_when_switched_off(monkeypatch, two_blas_threads):
    monkeypatch.setattr(blas, "BLAS_THREADS", None)
    box = pr.Box(-np.ones(3), np.ones(3))
    regions = pr.enumerate_regions(_net(), box)
    next(regions)
    assert _blas_threads() == [2]


@pytest.mark.parametrize("widths, threads", [([8, 8], [2]), ([9, 8, 7], [1])])
def test_a_planar_count_holds_blas_only_where_a_product_could_use_more_threads(monkeypatch, two_blas_threads,
                                                                               widths, threads):
    from polyregions.cells import planar

    rng = np.random.default_rng(1)
    dims = [2] + widths
    net = pr.Network.from_dense([rng.normal(size=(b, a)) for a, b in zip(dims, dims[1:])],
                                [rng.normal(size=b) for b in dims[1:]])
    seen = []
    split_cells = planar.split_cells

    def spy(*args):
        seen.append(_blas_threads())
        return split_cells(*args)

    monkeypatch.setattr(planar, "split_cells", spy)
    # a time limit keeps the count in polyregions.cells.planar (a small count goes to planar_small,
    # one compiled call, once its kernel is compiled)
    pr.count_regions(net, pr.Box([-1, -1], [1, 1]), method="planar", time_limit=600.0)
    assert seen and all(s == threads for s in seen)
    assert _blas_threads() == [2]


def test_one_thread_products_follow_openblas_thresholds():
    assert blas.one_thread_product(64, 64, 64)  # m n k = 65536 * 4
    assert not blas.one_thread_product(64, 64, 65)
    assert blas.one_thread_product(2303, 4, 1) and blas.one_thread_product(1, 4, 2303)  # m n = 2304 * 4 - 4
    assert not blas.one_thread_product(2304, 4, 1)


def test_a_blas_other_than_openblas_is_held_whatever_the_size(monkeypatch):
    from types import SimpleNamespace

    from polyregions.cells import planar

    net = pr.Network.from_dense([np.eye(2)], [np.zeros(2)])
    box = pr.Box([-1, -1], [1, 1])
    assert planar.one_blas_thread_anyway(net, box)
    other = SimpleNamespace(lib_controllers=[SimpleNamespace(user_api="blas", internal_api="mkl")])
    monkeypatch.setattr(blas, "_blas_controller", lambda: other)
    assert not blas.only_openblas()
    assert not planar.one_blas_thread_anyway(net, box)
