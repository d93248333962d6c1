"""The table of a study's counts: NumPy columns, a pandas DataFrame, Parquet or CSV files, summaries.

:class:`CountTable` holds one row per count, in long format, as NumPy arrays (``table["count"]``):

* around points (:func:`polyregions.local_counts`): ``net`` (the network's number), ``step`` (its
  training step, or its number), ``point``, ``label`` (when labels were given), ``radius``,
  ``count``, ``complete``, ``stopped``, ``seconds``, ``min_radius`` (the thinnest counted region
  holds a Euclidean ball this large), ``near_eps`` (decisions within a factor 10 of eps),
  ``lp_solves``, ``nodes``, ``distance`` (from the point to the nearest region boundary),
  ``zhu_C``, ``zhu_bound`` (:math:`2^C`), ``arrangement_bound``;
* along segments (:func:`polyregions.line_counts`): ``net``, ``step``, ``line``, ``label``,
  ``count``, ``complete``, ``stopped``, ``seconds``, ``min_radius``, ``near_eps``, ``lp_solves``,
  ``nodes``, ``length``, ``per_length`` (regions per unit of input-space length).

A count with ``complete`` False stopped at its time limit: ``count`` is a lower bound, and every
summary says how many such counts it holds. :meth:`CountTable.save` writes Parquet (through
pyarrow, an optional extra) or CSV (the standard library; a first comment line holds the
metadata, ``pandas.read_csv(path, comment="#")`` reads it); :meth:`CountTable.load` reads either
back and checks every column (type, length, range). pandas is needed only for
:meth:`CountTable.to_pandas`.
"""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from ..errors import InvalidInputError, UnsupportedError

__all__ = ["BALL_COLUMNS", "CountTable", "LINE_COLUMNS", "SUMMARY_FIELDS", "TABLE_FORMAT"]

#: The name and version the files carry.
TABLE_FORMAT = ("polyregions-counts", 1)
_COMMON = {"count": "i", "complete": "b", "stopped": "U", "seconds": "f", "min_radius": "f", "near_eps": "i",
           "lp_solves": "i", "nodes": "i"}
#: Column kinds ("i" integer, "f" float, "b" bool, "U" text, "L" label: integer or text) in order.
BALL_COLUMNS = {"net": "i", "step": "f", "point": "i", "label": "L", "radius": "f", **_COMMON, "distance": "f",
                "zhu_C": "i", "zhu_bound": "f", "arrangement_bound": "f"}
LINE_COLUMNS = {"net": "i", "step": "f", "line": "i", "label": "L", **_COMMON, "length": "f", "per_length": "f"}
_SCHEMAS = {"ball": BALL_COLUMNS, "line": LINE_COLUMNS}
#: The fields of a summary row (besides the groups).
SUMMARY_FIELDS = ("n", "incomplete", "mean", "std", "min", "q25", "median", "q75", "max")


def _bad(path, what):
    return InvalidInputError(f"table file {path!r}: {what}")


class CountTable:
    """The counts of a study, one row per count (see the module docstring for the columns).

    ``kind``: "ball" or "line"; ``meta``: the study's settings (``p`` and ``eps`` for balls,
    ``eps`` for segments, ``study``: its fingerprint).
    """

    def __init__(self, kind: str, columns: dict, meta: dict):
        if kind not in _SCHEMAS:
            raise InvalidInputError(f"`kind` must be 'ball' or 'line', got {kind!r}")
        self.kind, self.meta = kind, dict(meta)
        schema = _SCHEMAS[kind]
        self.columns = {name: np.asarray(columns[name]) for name in schema if name in columns}
        missing = [name for name in schema if name not in columns and name != "label"]
        if missing:
            raise InvalidInputError(f"a {kind} table needs the columns {missing}")

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.columns["count"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name) -> bool:
        return name in self.columns

    @property
    def names(self) -> list:
        return list(self.columns)

    @property
    def complete(self) -> bool:
        """True when every count is exact (none stopped at its time limit)."""
        return bool(np.all(self.columns["complete"]))

    def __repr__(self):
        return (f"CountTable({self.kind}, {len(self):,} counts, {int(np.sum(~self.columns['complete'])):,} "
                f"incomplete, columns {self.names})")

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` in long format (one row per count)."""
        try:
            import pandas as pd
        except ImportError:
            raise UnsupportedError("to_pandas needs pandas: pip install 'polyregions[local]'") from None
        df = pd.DataFrame({name: col for name, col in self.columns.items()})
        df.attrs.update(self.meta)
        return df

    # ------------------------------------------------------------------ summaries
    def summary(self, by: str | None = "label", *, value: str | None = None) -> np.ndarray:
        """Statistics of `value` per group: a NumPy structured array, one row per group.

        Parameters
        ----------
        by : {"label", "net", "step", None}
            Group by label, by network (checkpoint), by training step, or not at all; tables of
            balls are also grouped by radius.
        value : str, optional
            The column summarised (default ``count`` for balls, ``per_length`` for segments).

        Returns
        -------
        numpy structured array
            Fields: the group columns, then ``n``, ``incomplete`` (counts stopped at their limit:
            when it is not 0, the statistics are of lower bounds), ``mean``, ``std``, ``min``,
            ``q25``, ``median``, ``q75``, ``max``. ``pandas.DataFrame(summary)`` makes it a frame.
        """
        if by is not None and by not in ("label", "net", "step"):
            raise InvalidInputError(f"`by` must be 'label', 'net', 'step' or None, got {by!r}")
        if by == "label" and "label" not in self.columns:
            raise InvalidInputError("`by` 'label': the table has no labels (give labels= to the count)")
        value = value or ("count" if self.kind == "ball" else "per_length")
        if value not in self.columns or self.columns[value].dtype.kind not in "iuf":
            raise InvalidInputError(f"`value` must be a numeric column of the table, got {value!r}")
        groups = ([by] if by else []) + (["radius"] if self.kind == "ball" else [])
        keys = [self.columns[g] for g in groups]
        rows = []
        order = sorted(set(zip(*keys))) if keys else [()]
        for group in order:
            mask = np.ones(len(self), bool)
            for col, v in zip(keys, group):
                mask &= col == v
            x = self.columns[value][mask].astype(np.float64)
            q = np.quantile(x, [0.25, 0.5, 0.75]) if len(x) else [math.nan] * 3
            rows.append(tuple(group) + (len(x), int(np.sum(~self.columns["complete"][mask])), x.mean(),
                                        x.std(), x.min(), q[0], q[1], q[2], x.max()))
        dtype = [(g, self.columns[g].dtype) for g in groups] + [("n", np.int64), ("incomplete", np.int64)] + \
                [(f, np.float64) for f in SUMMARY_FIELDS[2:]]
        return np.array(rows, dtype=dtype)

    # ------------------------------------------------------------------ files
    def save(self, path) -> str:
        """Write the table to `path` and return the name written: ``.parquet`` (needs pyarrow) or
        ``.csv`` by its suffix; without either suffix, Parquet when pyarrow is installed, else CSV
        (the suffix is added)."""
        path = os.fspath(path)
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in (".parquet", ".csv"):
            path += ".parquet" if _pyarrow() is not None else ".csv"
            suffix = os.path.splitext(path)[1]
        if suffix == ".parquet":
            pa = _pyarrow()
            if pa is None:
                raise UnsupportedError(f"{path!r}: Parquet needs pyarrow (pip install 'polyregions[local]'); "
                                       "save as .csv instead")
            import pyarrow.parquet as pq

            table = pa.table({name: col for name, col in self.columns.items()})
            table = table.replace_schema_metadata({b"polyregions": json.dumps(self._header()).encode()})
            pq.write_table(table, path)
            return path
        with open(path, "w", newline="") as f:
            f.write("# " + json.dumps(self._header()) + "\n")
            writer = csv.writer(f)
            writer.writerow(self.names)
            cols = [self.columns[n] for n in self.names]
            for row in zip(*cols):
                writer.writerow([_cell(v) for v in row])
        return path

    def _header(self) -> dict:
        return {"format": TABLE_FORMAT[0], "version": TABLE_FORMAT[1], "kind": self.kind,
                "meta": {k: _json_value(v) for k, v in self.meta.items()}}

    @classmethod
    def load(cls, path) -> "CountTable":
        """Read a table written by :meth:`save` (Parquet or CSV), every column checked."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise InvalidInputError(f"table file {path!r} does not exist")
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"PAR1":
            header, raw = _read_parquet(path)
        else:
            header, raw = _read_csv(path)
        if not isinstance(header, dict) or header.get("format") != TABLE_FORMAT[0] \
                or header.get("version") != TABLE_FORMAT[1] or header.get("kind") not in _SCHEMAS \
                or not isinstance(header.get("meta"), dict):
            raise _bad(path, f"not a {TABLE_FORMAT[0]} table of version {TABLE_FORMAT[1]}")
        kind = header["kind"]
        columns = _checked(path, _SCHEMAS[kind], raw)
        meta = {k: _from_json_value(v) for k, v in header["meta"].items()}
        return cls(kind, columns, meta)


def _pyarrow():
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow


def _cell(v):
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v.item() if isinstance(v, np.generic) else v)


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # "inf", "nan"
    return v.item() if isinstance(v, np.generic) else v


def _from_json_value(v):
    return float(v) if v in ("inf", "-inf", "nan") else v


def _read_parquet(path):
    pa = _pyarrow()
    if pa is None:
        raise UnsupportedError(f"table file {path!r} is Parquet: reading it needs pyarrow "
                               "(pip install 'polyregions[local]')")
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        header = json.loads((table.schema.metadata or {}).get(b"polyregions", b"null"))
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _bad(path, f"cannot be read as Parquet ({exc})") from None
    return header, {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _read_csv(path):
    try:
        with open(path, newline="") as f:
            first = f.readline()
            if not first.startswith("# "):
                raise _bad(path, "no metadata line (a table written by CountTable.save starts with '# {...}')")
            header = json.loads(first[2:])
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise _bad(path, f"cannot be read as a table ({exc})") from None
    if not rows:
        raise _bad(path, "no header row")
    names, body = rows[0], rows[1:]
    if any(len(r) != len(names) for r in body):
        raise _bad(path, "rows of different lengths")
    return header, {name: [r[i] for r in body] for i, name in enumerate(names)}


def _parse(path, name, kind, values) -> np.ndarray:
    """Column `name` of kind `kind` as a NumPy array (text cells parsed, arrays checked)."""
    values = list(values) if not isinstance(values, np.ndarray) else values
    try:
        if kind == "b":
            if isinstance(values, np.ndarray) and values.dtype.kind == "b":
                return values.astype(bool)
            if not all(v in ("True", "False") for v in values):
                raise ValueError("not True/False")
            return np.array([v == "True" for v in values], dtype=bool)
        if kind == "i":
            arr = np.array(values) if isinstance(values, np.ndarray) else np.array([int(v) for v in values],
                                                                                    dtype=np.int64)
            if arr.dtype.kind not in "iu":
                raise ValueError(f"{arr.dtype} values")
            return arr.astype(np.int64)
        if kind == "f":
            arr = np.array(values, dtype=np.float64) if isinstance(values, np.ndarray) and values.dtype.kind in "iuf" \
                else np.array([float(v) for v in values], dtype=np.float64)
            return arr
        if kind == "U":
            return np.array([str(v) for v in values], dtype=str) if len(values) else np.array([], dtype=str)
        # a label: integers when every cell is one, else text
        cells = [v.item() if isinstance(v, np.generic) else v for v in values]
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in cells):
            return np.array(cells, dtype=np.int64)
        text = [str(v) for v in cells]
        if all(t.lstrip("-").isdigit() for t in text) and text:
            return np.array([int(t) for t in text], dtype=np.int64)
        return np.array(text, dtype=str)
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"column {name!r} is not of kind {kind} ({exc})") from None


def _checked(path, schema, raw) -> dict:
    """The columns of `raw` in `schema`'s order, each parsed and checked (lengths and ranges)."""
    unknown = [n for n in raw if n not in schema]
    if unknown:
        raise _bad(path, f"unknown columns {unknown}")
    out = {}
    for name, kind in schema.items():
        if name not in raw:
            if name == "label":
                continue
            raise _bad(path, f"no column {name!r}")
        out[name] = _parse(path, name, kind, raw[name])
    n = len(out["count"])
    if any(len(c) != n for c in out.values()):
        raise _bad(path, "columns of different lengths")
    for name in ("net", "point", "line", "count", "near_eps", "lp_solves", "nodes"):
        if name in out and n and out[name].min() < 0:
            raise _bad(path, f"column {name!r} has negative values")
    for name in ("radius", "length"):
        if name in out and not np.all((out[name] > 0) & np.isfinite(out[name])):
            raise _bad(path, f"column {name!r} must hold positive finite numbers")
    if not np.all(np.isfinite(out["seconds"]) & (out["seconds"] >= 0)):
        raise _bad(path, "column 'seconds' must hold non-negative finite numbers")
    if np.any(out["complete"] & (out["stopped"] != "")):
        raise _bad(path, "a complete count with a stop reason")
    if np.any(np.isnan(out["min_radius"])) or np.any(out["min_radius"] < 0):
        raise _bad(path, "column 'min_radius' must hold non-negative numbers")
    return out
