"""Tests of polyregions.cells.plot and the ``plot`` command: files of the requested size and format,
region colours that match enumerate_regions, stable across runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import polyregions as pr
from polyregions.cli.main import main
from polyregions.model.io import save_network
from polyregions.cells.plot import region_color

matplotlib = pytest.importorskip("matplotlib")


def _pixels(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].astype(float) / 255.0


@pytest.mark.parametrize("domain_kind", ["plane", "box"])
def test_region_colours_match_enumerated_regions(domain_kind, rng, random_dense_net):
    n0 = 5 if domain_kind == "plane" else 2
    net = random_dense_net(rng, n0, [6, 6])
    domain = pr.Plane.through(*rng.normal(size=(3, n0))) if domain_kind == "plane" else pr.Box([-1, -1], [1, 1])
    fig = pr.plot_partition(net, domain, figsize=(5, 5), dpi=100)
    ax = fig.axes[0]
    img = _pixels(fig)
    height = img.shape[0]
    checked = 0
    for r in pr.enumerate_regions(net, domain):
        # only regions whose inradius disc spans several pixels in both directions
        verts = r.vertices
        px = ax.transData.transform(np.vstack([r.coords, verts]))
        scale = np.linalg.norm(ax.transData.transform(r.coords + [1e-3, 0]) - px[0]) / 1e-3
        scale = min(scale, np.linalg.norm(ax.transData.transform(r.coords + [0, 1e-3]) - px[0]) / 1e-3)
        radius_in_slice = r.radius / np.linalg.norm(domain.frame()[2], 2) if domain_kind == "plane" else r.radius
        if radius_in_slice * scale < 4:
            continue
        col, row = px[0]
        got = img[int(round(height - row)), int(round(col))]
        assert np.allclose(got, region_color(r.pattern), atol=2.5 / 255)
        checked += 1
    assert checked >= 5


def test_colours_are_stable_across_processes(tmp_path):
    code = ("import numpy as np; from polyregions.cells.plot import region_color; "
            "print(region_color(np.packbits([1, 0, 1, 1, 0, 0, 1, 0, 1])))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=tmp_path,  # outside the repository: import the installed package
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1
    assert outs.pop().strip() == str(region_color(np.packbits([1, 0, 1, 1, 0, 0, 1, 0, 1])))


def test_plot_partition_draws_into_a_given_axes_with_decision_boundary(rng, random_dense_net):
    from matplotlib.figure import Figure

    net = random_dense_net(rng, 3, [8, 8], output_dim=3)
    plane = pr.Plane.through(*rng.normal(size=(3, 3)))
    fig = Figure()
    ax = fig.add_subplot()
    out = pr.plot_partition(net, plane, ax=ax, decision_boundary=True, points=rng.normal(size=(5, 3)),
                            labels=[0, 1, 2, 0, 1])
    assert out is fig
    lines = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    assert lines and len(lines[0].get_segments()) > 0
    # every boundary segment separates two classes: at its midpoint the two top logits tie
    for seg in lines[0].get_segments()[:20]:
        x = plane.to_input((seg[0] + seg[1]) / 2)
        top = np.sort(net.forward(x))[-2:]
        assert top[1] - top[0] <= 1e-6 * (1 + abs(top[1]))


def test_line_plot_marks_the_breakpoints(rng, random_dense_net):
    net = random_dense_net(rng, 4, [5, 5], output_dim=2)
    line = pr.Line(rng.normal(size=4), rng.normal(size=4))
    fig = pr.plot_partition(net, line, layer=1)
    ax = fig.axes[0]
    regions = list(pr.enumerate_regions(net, line))
    ends = {round(float(v), 12) for r in regions for v in r.vertices[:, 0]}
    marked = {round(float(ln.get_xdata()[0]), 12) for ln in ax.lines if len(ln.get_xdata()) == 2
              and ln.get_xdata()[0] == ln.get_xdata()[1]}
    assert ends <= marked


def test_missing_matplotlib_is_a_clear_error(monkeypatch, rng, random_dense_net):
    net = random_dense_net(rng, 2, [3])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(pr.UnsupportedError, match=r"pip install 'polyregions\[plot\]'"):
        pr.plot_partition(net, pr.Box([-1, -1], [1, 1]))


def test_plot_refuses_what_planar_cannot_draw(rng, random_dense_net):
    net = random_dense_net(rng, 2, [3])
    with pytest.raises(pr.UnsupportedError, match="L2 disc"):
        pr.plot_partition(net, pr.Ball([0, 0], 1.0))
    with pytest.raises(pr.InvalidInputError, match="`layer` applies to lines only"):
        pr.plot_partition(net, pr.Box([-1, -1], [1, 1]), layer=0)
    with pytest.raises(pr.InvalidInputError, match="output layer"):
        pr.plot_partition(net, pr.Box([-1, -1], [1, 1]), decision_boundary=True)


@pytest.fixture
def net_file(tmp_path):
    rng = np.random.default_rng(3)
    net = pr.Network.from_dense([rng.normal(size=(8, 4)), rng.normal(size=(8, 8))],
                                [rng.normal(size=8), rng.normal(size=8)],
                                output=(rng.normal(size=(3, 8)), np.zeros(3)))
    path = tmp_path / "net.npz"
    save_network(net, str(path))
    return str(path)


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_cli_plot_writes_the_requested_size_and_format(fmt, net_file, tmp_path, capsys):
    out = tmp_path / f"partition.{fmt}"
    rc = main(["plot", net_file, "--plane", "0", "1,0,0,0", "0,1,0,0", "-o", str(out), "--size", "640x480",
               "--decision-boundary"])
    assert rc == 0 and out.stat().st_size > 1000
    if fmt == "png":
        assert _png_size(out) == (640, 480)
    elif fmt == "svg":
        text = out.read_text()
        assert re.search(r'width="460\.8pt" height="345\.6pt"', text)  # 6.4 x 4.8 inches at 72 pt
        assert text.count("<path") > 10
    else:
        data = out.read_bytes()
        assert data.startswith(b"%PDF") and re.search(rb"/MediaBox \[ *0 0 460\.8 345\.6 *\]", data)


def test_cli_plot_line_and_errors(net_file, tmp_path, capsys):
    out = tmp_path / "line.png"
    assert main(["plot", net_file, "--line", "0", "1", "-o", str(out), "--size", "300x200", "--layer", "0"]) == 0
    assert _png_size(out) == (300, 200)
    assert main(["plot", net_file, "-o", str(tmp_path / "x.gif")]) == 2
    assert "-o must end in .png, .svg or .pdf" in capsys.readouterr().err
    assert main(["plot", net_file, "-o", str(out)]) == 2  # 4 inputs and no slice
    assert "4 dimensions" in capsys.readouterr().err
    assert main(["plot", net_file, "--plane", "0", "1", "-o", str(out)]) == 2
    assert "--plane takes X1 X2 X3 or ORIGIN U V LO HI" in capsys.readouterr().err
    assert main(["plot", net_file, "--line", "0", "1,2", "-o", str(out)]) == 2
    assert "B has 2 values" in capsys.readouterr().err
    assert main(["plot", net_file, "--line", "0", "1", "-o", str(out), "--size", "big"]) == 2
    assert "--size must be WxH" in capsys.readouterr().err


@pytest.mark.parametrize("kw, match", [
    (dict(eps=-1.0), "`eps` must be a positive"),
    (dict(dpi=0), "`dpi` must be a positive"),
    (dict(figsize=(4, -1)), "`figsize` must be a positive"),
    (dict(figsize=4), "`figsize` must be a pair"),
    (dict(figsize=(1, 2, 3)), "`figsize` must be a pair"),
])
def test_plot_partition_bad_arguments(kw, match, rng, random_dense_net):
    net = random_dense_net(rng, 2, [3])
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.plot_partition(net, pr.Box([-1, -1], [1, 1]), **kw)
