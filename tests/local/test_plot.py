"""plot_local: the panels a table supports, stable colours, errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import InvalidInputError
from polyregions.local.plot import label_color

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(2)
    nets = [pr.Network.from_dense([rng.normal(size=(5, 2))], [rng.normal(size=5)]) for _ in range(2)]
    points = rng.uniform(-1, 1, size=(6, 2))
    many = pr.local_counts(nets, points, [0.1, 0.5], labels=[0, 1, 0, 1, 2, 2], progress=False)
    one = pr.local_counts(nets[0], points, [0.5], progress=False)
    lines = pr.line_counts(nets, points[:3], points[3:], progress=False)
    return many, one, lines


def test_panels_by_what_the_table_holds(tables):
    many, one, lines = tables
    assert len(pr.plot_local(many).axes) == 3  # labels, radius, training step
    assert len(pr.plot_local(one).axes) == 1  # one radius, one network: the distribution only
    assert len(pr.plot_local(lines).axes) == 2  # per length by label, along training


def test_each_label_keeps_its_colour(tables):
    many, _, _ = tables
    fig = pr.plot_local(many, radius=0.1)
    boxes = [p.get_facecolor()[:3] for p in fig.axes[0].patches]
    assert [tuple(np.round(c, 6)) for c in boxes] == [tuple(np.round(label_color(v), 6)) for v in ("0", "1", "2")]
    assert label_color(np.int64(3)) == label_color(3) == label_color("3")


def test_errors(tables):
    many, _, _ = tables
    with pytest.raises(InvalidInputError, match="`radius` 0.3 is not a radius of the table"):
        pr.plot_local(many, radius=0.3)
    with pytest.raises(InvalidInputError, match="`table` must be a CountTable"):
        pr.plot_local({"count": [1]})
