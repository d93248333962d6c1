"""The rank-deficit analysis of one-layer CNNs (its grid of shapes against brute force is in test_theorem1.py)."""

from __future__ import annotations

import doctest
import itertools

import pytest

import polyregions.bounds.rank_deficit as rank_deficit
from polyregions.bounds.rank_deficit import max_matching, normal_rank_deficit


def _brute_matching(supports):
    """The largest k such that some k rows take distinct columns (every injective choice tried)."""
    best = 0
    for choice in itertools.product(*[list(s) + [None] for s in supports]):
        used = [c for c in choice if c is not None]
        if len(used) == len(set(used)):
            best = max(best, len(used))
    return best


@pytest.mark.parametrize("supports, n_cols", [
    ([[0, 1], [0], [0]], 2), ([[0, 1, 2], [1], [1, 2], [0]], 3), ([[], [0], [0]], 1), ([[0], [1], [2]], 3),
])
def test_max_matching_is_maximum_and_valid(supports, n_cols):
    match = max_matching(supports, n_cols)
    used = [c for c in match if c >= 0]
    assert len(used) == len(set(used)) and all(c in supports[r] for r, c in enumerate(match) if c >= 0)
    assert len(used) == _brute_matching(supports)


def test_weight_shape_is_checked():
    import numpy as np

    import polyregions as pr

    with pytest.raises(pr.InvalidInputError, match="`weight` must have shape"):
        normal_rank_deficit((1, 3, 3), 2, (2, 2), 1, weight=np.zeros((2, 1, 3, 3)))


def test_doctests():
    failures, tried = doctest.testmod(rank_deficit, verbose=False)
    assert tried > 0 and failures == 0
