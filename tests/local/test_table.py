"""CountTable: pandas, Parquet and CSV round trips (with and without pyarrow), checks on reading, summaries."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import InvalidInputError, UnsupportedError
from polyregions.local.table import CountTable


def _table(labels=True, kind="ball"):
    rng = np.random.default_rng(3)
    n = 12
    cols = {"net": np.repeat([0, 1], 6), "step": np.repeat([0.0, 100.0], 6), "count": rng.integers(1, 50, n),
            "complete": np.arange(n) != 4, "stopped": np.array(["" if i != 4 else "time_limit" for i in range(n)]),
            "seconds": rng.uniform(0, 1, n), "min_radius": rng.uniform(1e-6, 1e-2, n),
            "near_eps": rng.integers(0, 3, n), "lp_solves": rng.integers(0, 100, n), "nodes": rng.integers(1, 100, n)}
    if labels:
        cols["label"] = np.array(["cat", "dog", "cat"] * 4)
    if kind == "ball":
        cols.update(point=np.tile(np.repeat([0, 1, 2], 2), 2), radius=np.tile([0.01, 0.1], 6),
                    distance=rng.uniform(0, 1, n), zhu_C=np.full(n, -1), zhu_bound=np.full(n, np.nan),
                    arrangement_bound=np.full(n, np.inf))
        meta = {"p": math.inf, "eps": 1e-9, "study": "abc"}
    else:
        cols.update(line=np.tile(np.arange(6), 2), length=rng.uniform(0.5, 2, n))
        cols["per_length"] = cols["count"] / cols["length"]
        meta = {"eps": 1e-9, "study": "abc"}
    return CountTable(kind, cols, meta)


def _same(a, b):
    assert a.kind == b.kind and a.names == b.names and a.meta == b.meta
    for name in a.names:
        x, y = a[name], b[name]
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert x.tolist() == y.tolist(), name


@pytest.mark.parametrize("kind", ["ball", "line"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(tmp_path, suffix, kind):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    table = _table(kind=kind)
    path = table.save(tmp_path / f"t{suffix}")
    assert path.endswith(suffix)
    _same(table, CountTable.load(path))


def test_integer_labels_and_no_labels_round_trip_through_csv(tmp_path):
    table = _table(labels=False)
    _same(table, CountTable.load(table.save(tmp_path / "t.csv")))
    cols = dict(table.columns, label=np.arange(12) % 3)
    table = CountTable("ball", cols, table.meta)
    back = CountTable.load(table.save(tmp_path / "u.csv"))
    assert back["label"].dtype.kind == "i" and back["label"].tolist() == (np.arange(12) % 3).tolist()


def test_without_pyarrow_the_table_is_csv(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    table = _table()
    path = table.save(tmp_path / "t")
    assert path.endswith(".csv")
    _same(table, CountTable.load(path))
    with pytest.raises(UnsupportedError, match="Parquet needs pyarrow"):
        table.save(tmp_path / "t.parquet")


def test_pyarrow_without_a_suffix_writes_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    path = _table().save(tmp_path / "t")
    assert path.endswith(".parquet")
    with open(path, "rb") as f:
        assert f.read(4) == b"PAR1"


def test_pandas_long_format():
    pd = pytest.importorskip("pandas")
    df = _table().to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 12
    assert list(df.columns[:5]) == ["net", "step", "point", "label", "radius"]
    assert df.attrs["eps"] == 1e-9

def test_pandas_reads_the_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    table = _table()
    df = pd.read_csv(table.save(tmp_path / "t.csv"), comment="#")
    assert df["count"].tolist() == table["count"].tolist() and df["label"].tolist() == table["label"].tolist()


def test_summary_by_label_and_by_net():
    table = _table()
    s = table.summary("label")
    assert s.dtype.names[:2] == ("label", "radius")
    for row in s:
        mask = (table["label"] == row["label"]) & (table["radius"] == row["radius"])
        x = table["count"][mask]
        assert row["n"] == mask.sum() and row["mean"] == pytest.approx(x.mean())
        assert row["median"] == pytest.approx(np.median(x)) and row["max"] == x.max()
        assert row["incomplete"] == np.sum(~table["complete"][mask])
    assert sum(s["incomplete"]) == 1
    s = table.summary("net")
    assert s["net"].tolist() == [0, 0, 1, 1] and s["n"].tolist() == [3, 3, 3, 3]
    lines = _table(kind="line").summary("step")
    assert lines.dtype.names[0] == "step" and lines["mean"][0] == pytest.approx(
        _table(kind="line")["per_length"][:6].mean())
    with pytest.raises(InvalidInputError, match="`by`"):
        table.summary("colour")
    with pytest.raises(InvalidInputError, match="no labels"):
        _table(labels=False).summary("label")


@pytest.mark.parametrize("edit, match", [
    (lambda text: text.replace("polyregions-counts", "other"), "not a polyregions-counts table"),
    (lambda text: text.split("\n", 1)[1], "no metadata line"),
    (lambda text: text.replace("time_limit", "time_limit,extra"), "rows of different lengths"),
    (lambda text: text.replace("True", "yes", 1), "column 'complete'"),
    (lambda text: text.replace(",0.01,", ",-0.01,", 1), "column 'radius'"),
    (lambda text: text.replace("arrangement_bound", "bound"), "unknown columns"),
])
def test_a_damaged_csv_is_refused(tmp_path, edit, match):
    path = _table().save(tmp_path / "t.csv")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(edit(text))
    with pytest.raises(InvalidInputError, match=match):
        CountTable.load(path)


def test_a_parquet_file_of_another_kind_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    with pytest.raises(InvalidInputError, match="not a polyregions-counts table"):
        CountTable.load(path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        CountTable.load(tmp_path / "none.csv")


def test_a_table_from_local_counts_round_trips(tmp_path):
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0]]], [[0.0, 0.0]])
    table = pr.local_counts(net, [[0.0, 0.0], [1.0, 1.0]], [0.1, 2.0], labels=[3, 5], progress=False)
    _same(table, CountTable.load(table.save(tmp_path / "t.csv")))
