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
    assert {p.stem for p in PATHS} >= {"xiong_cnn", "zhu_local_bound", "fc_bounds"}


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = studies.execute(path, full=FULL, figures=tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert list(tmp_path.glob("*.png")), "the notebook saved no figure"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_notebook_is_executed_and_clean(path):
    """Committed executed in order, with no volatile metadata left by the run."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for key in studies.VOLATILE_NOTEBOOK_KEYS:
        assert key not in nb.metadata
    for cell in nb.cells:
        for key in studies.VOLATILE_CELL_KEYS:
            assert key not in cell.metadata
