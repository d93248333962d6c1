"""The generic count of a one-layer CNN as a polynomial in the number of filters.

Independent sources: the exact rational count of independent subsets of seeded real filters
(:func:`polyregions.bounds.independent_subsets` through ``normal_rank_deficit``, fractions and
integer elimination, no modular arithmetic), exact enumeration of regions for the smallest
shape, and Theorem 1's closed form (``xiong_one_layer``) at numbers of filters beyond the
ones the coefficients were read from.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import polyregions as pr
import polyregions.bounds.filter_polynomial as filter_polynomial
from polyregions.bounds import normal_rank_deficit, xiong_one_layer
from polyregions.bounds.filter_polynomial import generic_count_polynomial, xiong_coefficients
from polyregions.errors import InvalidInputError

SHAPES = [((1, 1, 5), (1, 2), 1), ((2, 1, 5), (1, 2), 1), ((1, 1, 6), (1, 3), 1), ((1, 3, 3), (2, 2), 1),
          ((1, 4, 4), (2, 2), 2), ((1, 3, 4), (2, 2), 1), ((2, 3, 3), (2, 2), 1)]


@pytest.mark.parametrize("shape, kernel, stride", SHAPES)
def test_count_equals_exact_independent_subsets(shape, kernel, stride):
    poly = generic_count_polynomial(shape, kernel, stride, time_limit=3)
    assert poly.max_filters >= 2
    for d1 in range(1, min(poly.max_filters, 3) + 1):
        if xiong_one_layer(shape, filters=d1, kernel=kernel, stride=stride) > 60_000:
            continue  # the exact rational enumeration would be slow
        exact = normal_rank_deficit(shape, d1, kernel, stride, rng=np.random.default_rng(d1)).independent
        assert poly.count(d1) == exact, (shape, d1)


def test_count_equals_enumerated_regions():
    poly = generic_count_polynomial((1, 3, 3), (2, 2), 1)
    rng = np.random.default_rng(3)
    for d1 in (1, 2):
        net = pr.Network([pr.Conv2d(rng.normal(size=(d1, 1, 2, 2)), rng.normal(size=d1))], input_shape=(1, 3, 3))
        assert pr.count_regions(net, pr.Whole(9)).count == poly.count(d1)  # 16 and 255


@pytest.mark.parametrize("shape, kernel, stride", SHAPES)
def test_xiong_coefficients_reproduce_theorem_1_beyond_the_fitted_range(shape, kernel, stride):
    coef = xiong_coefficients(shape, kernel, stride)
    units = len(coef) - 1
    for d1 in (units + 1, units + 5):
        assert sum(math.comb(d1, j) * e for j, e in enumerate(coef)) == \
            xiong_one_layer(shape, filters=d1, kernel=kernel, stride=stride)


def test_leading_coefficients_agree_on_a_complete_shape():
    """docs/theorem1.md, Theorem F: sets using every filter once are independent iff matchable."""
    poly = generic_count_polynomial((1, 3, 3), (2, 2), 1)
    coef = xiong_coefficients((1, 3, 3), (2, 2), 1)
    assert poly.complete and poly.units == 9 and len(poly.coefficients) == len(coef) == 10
    assert poly.coefficients[-1] == coef[-1]
    assert poly.coefficients[2] < coef[2]  # the deficit: 255 < 256 at two filters
    assert [poly.count(d) for d in (2, 3)] == [255, 3998]


def test_no_deficit_in_one_dimension():
    poly = generic_count_polynomial((1, 1, 6), (1, 3), 1)
    assert poly.complete and poly.coefficients == xiong_coefficients((1, 1, 6), (1, 3), 1)


def test_a_stopped_search_says_so():
    poly = generic_count_polynomial((1, 4, 4), (2, 2), 1, time_limit=0.5)
    assert not poly.complete
    assert poly.count(poly.max_filters) >= 1
    with pytest.raises(InvalidInputError, match="beyond the levels"):
        poly.count(poly.max_filters + 1)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="kernel within the input"):
        generic_count_polynomial((1, 2, 2), (3, 3))
    with pytest.raises(InvalidInputError, match="time_limit"):
        generic_count_polynomial((1, 3, 3), (2, 2), time_limit=0)
    with pytest.raises(InvalidInputError, match="non-negative"):
        generic_count_polynomial((1, 3, 3), (2, 2)).count(-1)


def test_doctests():
    assert doctest.testmod(filter_polynomial).failed == 0


def test_fields_that_keep_disagreeing_are_an_error_not_a_count(monkeypatch):
    """Modulo 2 every filter drawn from {1} is the same vector: that field finds dependencies the other does not."""
    monkeypatch.setattr(filter_polynomial, "PRIMES", (2 ** 31 - 1, 2))
    with pytest.raises(pr.PolyRegionsError, match="disagreed on 3 draws"):
        generic_count_polynomial((1, 3, 3), (2, 2), 1, time_limit=5)
