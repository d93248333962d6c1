"""The studies in notebooks/ run top to bottom; their theorems are asserted inside them.

Each notebook is executed by nbclient in a fresh kernel of this interpreter (through
``scripts/notebooks.py``), at the small size unless ``POLYREGIONS_FULL=1``. A cell that
raises, an assertion of a theorem among them, fails the test. Figures go to a temporary
folder, so the committed ones are left alone.
"""

import importlib.util
import os
import pathlib

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("studies_runner", ROOT / "scripts" / "notebooks.py")
studies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(studies)

FULL = os.environ.get("POLYREGIONS_FULL") == "1"
PATHS = studies.notebook_paths()


def test_there_are_studies():
    assert {p.stem for p in PATHS} >= {"xiong_cnn", "zhu_local_bound", "fc_bounds", "hanin_rolnick_lines"}


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    studies.execute(path, full=FULL, figures=tmp_path)  # raises CellExecutionError if a cell raises
    assert list(tmp_path.glob("*.png")), "the notebook saved no figure"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_notebook_is_executed_and_clean(path):
    """Committed executed in order at the full size, with no volatile metadata left by the run."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    first = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
    assert first.strip() == "size: full", f"{path.name} was committed at another size: {first!r}"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    for key in studies.VOLATILE_NOTEBOOK_KEYS:
        assert key not in nb.metadata
    for cell in nb.cells:
        for key in studies.VOLATILE_CELL_KEYS:
            assert key not in cell.metadata


def test_a_failing_cell_fails_the_run(tmp_path):
    """The harness reports a raising cell (an assertion of a theorem, say) as a failure."""
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "failing.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nassert os.environ['POLYREGIONS_FULL'] == '0'"),
                                       new_code_cell("assert 1 + 1 == 3, 'a theorem fails'")]), str(path))
    with pytest.raises(CellExecutionError, match="a theorem fails"):
        studies.execute(path, full=False, figures=tmp_path)
