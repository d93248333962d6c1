"""polyregions.studies.report: the study's tables (CSV / JSON files, terminal text, Markdown)."""

from __future__ import annotations

import csv
import json

import pytest

import polyregions as pr
from polyregions.studies.report import format_markdown, format_table, update_markdown, write_table


def _rows():
    """Two architectures written by hand: a global bound, a local one (per seed) and a failed seed."""
    seeds = [{"seed": 0, "count": 4, "complete": True, "seconds": 0.1, "min_radius": 0.2,
              "bounds": {"serra2018_upper": 7, "zhu_local": 8}},
             {"seed": 1, "count": 2, "complete": True, "seconds": 0.1, "min_radius": 0.3,
              "bounds": {"serra2018_upper": 7, "zhu_local": 16}}]
    a = {"arch": "fc:2:3", "domain": "ball:1:random", "seeds": 2, "exact_min": 2, "exact_mean": 3.0,
         "exact_max": 4, "complete": True, "seconds": 0.2, "serra2018_upper": 7, "serra2018_upper/max": 7 / 4,
         "serra2018_upper/mean": 7 / 3, "zhu_local": 16, "zhu_local/seed_median": 5.0, "zhu_local/seed_max": 8.0,
         "notes": "", "per_seed": seeds}
    failed = [{"seed": 0, "count": None, "complete": False, "error": "boom", "bounds": {}}]
    b = {"arch": "fc:2:2,2", "domain": "ball:1:random", "seeds": 1, "exact_min": None, "exact_mean": None,
         "exact_max": None, "complete": False, "seconds": 0.0, "notes": "seed 0: the count failed: boom",
         "per_seed": failed}
    return [a, b]


def test_write_table_keeps_a_row_per_seed(tmp_path):
    rows = _rows()
    csv_path, json_path = write_table(rows, tmp_path / "t")
    with open(csv_path) as f:
        table = list(csv.DictReader(f))
    assert [(t["arch"], t["seed"]) for t in table] == [("fc:2:3", "all"), ("fc:2:3", "0"), ("fc:2:3", "1"),
                                                      ("fc:2:2,2", "all"), ("fc:2:2,2", "0")]
    summary, s0, s1 = table[:3]
    assert (summary["exact_max"], summary["serra2018_upper"], summary["zhu_local"]) == ("4", "7", "16")
    assert float(summary["zhu_local/seed_median"]) == 5.0 and float(summary["zhu_local/seed_max"]) == 8.0
    assert "zhu_local/max" not in summary  # a local bound has per-seed ratios only
    assert (s0["count"], s0["zhu_local"], float(s0["zhu_local/count"])) == ("4", "8", 2.0)
    assert (s1["count"], s1["zhu_local"], float(s1["zhu_local/count"])) == ("2", "16", 8.0)
    assert float(s1["serra2018_upper/count"]) == 3.5 and s1["exact_max"] == ""
    assert table[4]["count"] == "" and table[4]["notes"] == "boom"
    loaded = json.load(open(json_path))
    assert loaded[0]["per_seed"][1]["bounds"] == {"serra2018_upper": 7, "zhu_local": 16}


def test_format_table_and_markdown():
    rows = _rows()
    text = format_table(rows)
    lines = text.splitlines()
    zhu = next(ln for ln in lines if "zhu_local (per seed)" in ln)
    assert zhu.split()[-3:] == ["16", "5", "8"]
    serra = next(ln for ln in lines if "serra2018_upper" in ln)
    assert serra.split()[-2:] == ["1.75", "2.333"]
    assert "median and the max over the seeds of bound / count" in text
    assert "1 of 1 counts failed" in text
    md = format_markdown(rows)
    assert "| zhu_local (max over seeds) | bound / count per seed: median, max |" in md
    assert "| 16 | 5, 8 |" in md


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


def test_write_table_writes_numpy_values_as_numbers_and_non_finite_ones_as_null(tmp_path):
    import json

    import numpy as np

    rows = _rows()
    rows[0].update(exact_max=np.int64(4), seconds=np.float32(0.5), min_radius=np.inf,
                   per_seed=[{**s, "bounds": {k: np.int64(v) for k, v in s["bounds"].items()}}
                             for s in rows[0]["per_seed"]], extra=np.array([1, 2]))
    _, json_path = write_table(rows, tmp_path / "t")
    with open(json_path) as f:
        text = f.read()
    saved = json.loads(text)
    assert "Infinity" not in text and "NaN" not in text
    assert saved[0]["exact_max"] == 4 and saved[0]["seconds"] == 0.5 and saved[0]["min_radius"] is None
    assert saved[0]["extra"] == [1, 2] and saved[0]["per_seed"][0]["bounds"]["zhu_local"] == 8
