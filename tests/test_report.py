"""polyregions.report: the study's tables (CSV / JSON files, terminal text, Markdown)."""

from __future__ import annotations

import csv
import json

import pytest

import polyregions as pr
from polyregions.report import format_table, update_markdown, write_table
from polyregions.tightness import run_tightness


def test_write_table_and_format_table(tmp_path):
    rows = run_tightness(["fc:2:3", "fc:2:2,2"], 2, "box:1")
    csv_path, json_path = write_table(rows, tmp_path / "t")
    with open(csv_path) as f:
        table = list(csv.DictReader(f))
    assert [t["arch"] for t in table] == ["fc:2:3", "fc:2:2,2"]
    for t, r in zip(table, rows):
        assert int(t["exact_max"]) == r["exact_max"]
        assert int(t["serra2018_upper"]) == r["serra2018_upper"]
        assert float(t["serra2018_upper/mean"]) == pytest.approx(r["serra2018_upper/mean"])
    assert table[1]["zaslavsky"] == ""  # two layers: n/a
    loaded = json.load(open(json_path))
    assert [x["exact_min"] for x in loaded] == [r["exact_min"] for r in rows]
    assert len(loaded[0]["per_seed"]) == 2
    text = format_table(rows)
    assert "fc:2:3" in text and "serra2018_upper" in text and "bound/max" in text
    assert "lower bounds on the maximum over parameters" in text


def test_update_markdown(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n<!-- polyregions tightness table: begin -->\nold\n"
                   "<!-- polyregions tightness table: end -->\n\nmore prose\n")
    update_markdown(str(doc), "| a |\n|---|")
    text = doc.read_text()
    assert "old" not in text and "| a |" in text and text.startswith("# Title") and text.endswith("more prose\n")
    bare = tmp_path / "bare.md"
    bare.write_text("prose only\n")
    with pytest.raises(pr.InvalidInputError, match="has no"):
        update_markdown(str(bare), "| a |")
    assert bare.read_text() == "prose only\n"
