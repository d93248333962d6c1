"""Tests of polyregions.cells.plot3d: the pictures hold the cells' colours (region_color of their
patterns) and the level set's, and bad requests are refused."""

from __future__ import annotations

import numpy as np
import pytest

import polyregions as pr
from polyregions.cells.plot import region_color
from polyregions.errors import InvalidInputError, UnsupportedError

matplotlib = pytest.importorskip("matplotlib")


def _net(rng, d=3, output=True):
    return pr.Network.from_dense([rng.normal(size=(6, d)), rng.normal(size=(6, 6))], [rng.normal(size=6)] * 2,
                                 output=(rng.normal(size=(1, 6)), np.array([0.3])) if output else None)


def _face_colours(fig):
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    ax = fig.axes[0]
    coll = [c for c in ax.collections if isinstance(c, Poly3DCollection)]
    assert len(coll) == 1
    return {tuple(np.round(c[:3], 6)) for c in coll[0].get_facecolor()}


def test_surface_and_inside_use_the_pattern_colours(rng):
    net = _net(rng)
    box = pr.Box(-np.ones(3), np.ones(3))
    cx = pr.polyhedral_complex(net, box)
    colours = {tuple(np.round(region_color(np.packbits(b)), 6)) for b in cx.bits}
    inside = _face_colours(pr.plot_cells3d(net, box, complex=cx, surface=False))
    assert inside == colours  # every cell drawn, in its own colour
    surface = _face_colours(pr.plot_cells3d(net, box, complex=cx))
    touching = {tuple(np.round(region_color(np.packbits(cx.bits[cells[0]])), 6))
                for f, cells in enumerate(cx.faces[2].cells) if cx.faces[2].rows[f].any()}
    assert surface == touching and surface <= colours


def test_level_set_picture_and_volume(rng, tmp_path):
    net = _net(rng, d=5)
    volume = pr.Volume.through(*rng.normal(size=(4, 5)))
    fig = pr.plot_level_set(net, volume)
    fig.savefig(tmp_path / "level.png")
    assert (tmp_path / "level.png").stat().st_size > 0
    assert fig.axes[0].get_xlabel() == "s"


def test_bad_requests(rng):
    net = _net(rng, d=2)
    with pytest.raises(UnsupportedError, match="plot_partition"):
        pr.plot_cells3d(net, pr.Box([-1, -1], [1, 1]))
    net3 = _net(rng)
    box = pr.Box(-np.ones(3), np.ones(3))
    with pytest.raises(InvalidInputError, match="shrink"):
        pr.plot_cells3d(net3, box, surface=False, shrink=1.5)
    from matplotlib.figure import Figure

    flat_ax = Figure().add_subplot()
    with pytest.raises(InvalidInputError, match="3-D Axes"):
        pr.plot_cells3d(net3, box, ax=flat_ax)
    with pytest.raises(InvalidInputError, match="scalar output"):
        pr.plot_level_set(_net(rng, output=False), box)
