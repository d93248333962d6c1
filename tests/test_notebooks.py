"""The studies in notebooks/ run top to bottom; their theorems are asserted inside them.

Each notebook is executed by nbclient in a fresh kernel of this interpreter (through
``scripts/notebooks.py``), at the small size unless ``POLYREGIONS_FULL=1``. A cell that
raises, an assertion of a theorem among them, fails the test. Figures and results go to a
temporary folder, so the committed ones are left alone. At the small size every verdict must
be "not resolved at this size"; the committed full-size verdicts must be the ones the
committed results give (recomputed here from ``notebooks/results/*.json``, not by re-running
the studies).
"""

import importlib.util
import json
import os
import pathlib
import sys

import nbformat
import pytest

from polyregions.errors import InvalidInputError
from polyregions.studies.stats import NOT_RESOLVED, WORDS

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("studies_runner", ROOT / "scripts" / "notebooks.py")
studies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(studies)
sys.path.insert(0, str(ROOT / "notebooks"))  # the verdict rules import their sibling results_files
_spec = importlib.util.spec_from_file_location("study_verdicts", ROOT / "notebooks" / "verdicts.py")
rules = importlib.util.module_from_spec(_spec)
sys.modules["study_verdicts"] = rules
_spec.loader.exec_module(rules)

FULL = os.environ.get("POLYREGIONS_FULL") == "1"
PATHS = studies.notebook_paths()
RESULTS = ROOT / "notebooks" / "results"


def verdict_lines(nb):
    """The verdict paragraphs a notebook displayed (Markdown outputs starting with **Verdict**)."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown", "")
            found += [line for line in text.split("\n") if line.startswith("**Verdict**")]
    return found


def test_there_are_studies():
    assert {p.stem for p in PATHS} >= {"xiong_cnn", "zhu_local_bound", "fc_bounds", "hanin_rolnick_lines"}


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = studies.execute(path, full=FULL, figures=tmp_path)  # raises CellExecutionError if a cell raises
    assert list(tmp_path.glob("*.png")) and list(tmp_path.glob("*.svg")), "the notebook saved no figure"
    saved = rules.load_verdicts(tmp_path / f"{path.stem}_verdicts.json")
    shown = verdict_lines(nb)
    assert saved and shown == [v.sentence() for v in saved]
    if not FULL:  # the small size decides nothing
        assert {v.word for v in saved} == {NOT_RESOLVED}
        assert all(f"**{NOT_RESOLVED}**" in line for line in shown)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_verdicts_are_what_the_committed_results_give(path):
    """Every committed verdict is recomputed from the committed raw results, and is what the notebook shows."""
    document = rules.load(RESULTS / f"{path.stem}.json", path.stem)
    assert document["size"] == "full"
    recomputed = rules.STUDIES[path.stem](document)
    committed = rules.load_verdicts(RESULTS / f"{path.stem}_verdicts.json")
    assert recomputed == committed
    assert all(v.word in WORDS for v in committed)
    assert verdict_lines(nbformat.read(str(path), as_version=4)) == [v.sentence() for v in committed]


def test_readme_states_the_committed_verdicts():
    """The README's table of verdicts says, claim by claim, the words the notebooks say."""
    readme = (ROOT / "README.md").read_text()
    for path in PATHS:
        for v in rules.load_verdicts(RESULTS / f"{path.stem}_verdicts.json"):
            claim = v.claim.replace("|", "\\|")  # a table cell escapes its pipes
            assert f"| `{path.stem}` | {claim} | {v.word} |" in readme, (path.stem, v.claim, v.word)


def test_committed_figures_are_300_dpi_png_with_svg():
    from PIL import Image

    figures = ROOT / "notebooks" / "figures"
    pngs, svgs = {p.stem for p in figures.glob("*.png")}, {p.stem for p in figures.glob("*.svg")}
    assert pngs and pngs == svgs
    for name in pngs:
        dpi = Image.open(figures / f"{name}.png").info.get("dpi")
        assert dpi is not None and round(dpi[0]) == round(dpi[1]) == 300, (name, dpi)


def test_results_files_are_checked_field_by_field(tmp_path):
    document = json.loads((RESULTS / "fc_bounds.json").read_text())
    rules.validate(document, "fc_bounds")
    broken = json.loads(json.dumps(document))
    broken["data"]["random"][0]["counts"][0] = "many"
    (tmp_path / "a.json").write_text(json.dumps(broken))
    with pytest.raises(InvalidInputError, match=r"counts\[0\]"):
        rules.load(tmp_path / "a.json", "fc_bounds")
    broken = json.loads(json.dumps(document))
    del broken["data"]["trained"][0]["seed"]
    (tmp_path / "b.json").write_text(json.dumps(broken))
    with pytest.raises(InvalidInputError, match="exactly the fields"):
        rules.load(tmp_path / "b.json", "fc_bounds")
    (tmp_path / "c.json").write_text(json.dumps(dict(document, size="huge")))
    with pytest.raises(InvalidInputError, match="size"):
        rules.load(tmp_path / "c.json", "fc_bounds")
    with pytest.raises(InvalidInputError, match="study"):
        rules.validate(document, "zhu_local_bound")


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
