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


def test_local_complexity_block_runs(tmp_path, monkeypatch):
    """The block of "Local complexity at dataset scale" runs as written (in a scratch folder)."""
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "local_counts(" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    table = namespace["table"]
    assert len(table) == 3 * 10 * 2 and table.complete
    assert any(tmp_path.glob("local.*"))
