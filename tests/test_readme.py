"""The README's Python tour runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no Python block"
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    assert namespace["res"].complete and namespace["res"].count >= 1


def test_complex_section_runs(tmp_path, monkeypatch):
    """The polyhedral complex example: its adjacency graph (search and LPs) equals the dual graph
    of the planar polygons, the Euler characteristic is 1 and the areas fill the square."""
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "pr.adjacency(" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    graph, cx = namespace["graph"], namespace["cx"]
    dual = cx.dual_graph()
    edges = {frozenset((graph.nodes[a]["pattern"], graph.nodes[b]["pattern"])) for a, b in graph.edges}
    assert edges == {frozenset((dual.nodes[a]["pattern"], dual.nodes[b]["pattern"])) for a, b in dual.edges}
    assert cx.euler_characteristic == 1 and abs(cx.total_volume - 4.0) < 1e-12
    assert (tmp_path / "surface.ply").stat().st_size > 0
