"""The studies' results files: their schemas, checked field by field before anything reads them.

Each study saves its raw results as ``results/<study>.json`` (``studykit.save_results``) and its
verdicts as ``results/<study>_verdicts.json``; :func:`load` and :func:`load_verdicts` read them
back, and :func:`validate` checks a document against :data:`SCHEMAS` (type of every field, and
exactly the fields of each row).
"""

from __future__ import annotations

import json
import math
import pathlib

from polyregions.errors import InvalidInputError
from polyregions.studies import stats

#: Field types: "int", "float", "str", "bool", "number" (int or float), "int?" / "float?" / "bool?"
#: (or null), "list", "dict". Every row of a table must have exactly its fields.
SCHEMAS = {
    "zhu_local_bound": {
        "runs": {"depth": "str", "rate": "float", "seed": "int", "epoch": "int", "train_acc": "float",
                 "test_acc": "float"},
        "balls": {"depth": "str", "rate": "float", "seed": "int", "epoch": "int", "set": "str", "reading": "str",
                  "n": "int", "c0": "int", "zhu_mean": "float", "C_mean": "float", "exact_mean": "float?",
                  "one": "int?", "tight": "int?", "ours_mean": "float?", "complete": "bool?", "counted": "int?",
                  "seconds": "float?"},
        "distances": {"depth": "str", "rate": "float", "seed": "int", "epoch": "int", "set": "str", "mean": "float",
                      "median": "float"},
        "sample": {"depth": "str", "rate": "float", "seed": "int", "epoch": "int", "set": "str", "C": "int",
                   "zhu": "int", "ours": "int", "exact": "int?", "complete": "bool", "distance": "float",
                   "seconds": "float"},
        "sweep": {"depth": "str", "r": "float", "set": "str", "C": "int", "zhu": "int", "ours": "int", "exact": "int",
                  "complete": "bool"},
        "settings": "dict",
    },
    "hanin_rolnick_lines": {
        "lines": {"N": "int", "depth": "int", "seed": "int", "density": "float", "distance": "float", "lines": "int",
                  "points": "int"},
        "planes": {"N": "int", "depth": "int", "seed": "int", "density": "float", "planes": "int", "side": "float"},
        "plane_checks": {"N": "int", "depth": "int", "seed": "int", "planar": "int", "dfs": "int"},
        "training": {"N": "int", "depth": "int", "seed": "int", "epoch": "int", "density": "float", "distance": "float",
                     "train": "float", "test": "float"},
        "settings": "dict",
    },
    "xiong_cnn": {
        "theorem1": {"arch": "str", "R_N": "int", "counts": "list", "whitney": "list", "normals": "int", "rank": "int",
                     "matching": "int", "witness": "bool", "reason": "str"},
        "big": {"shape": "str", "filters": "int", "kernel": "str", "stride": "int", "R_N": "int", "independent": "int?",
                "witness": "bool", "reason": "str"},
        "asymptotics": {"shape": "str", "kernel": "str", "stride": "int", "coefficients": "list", "complete": "bool",
                        "units": "int", "nodes": "int", "decisions": "int", "seconds": "float", "next_level": "float?",
                        "time_limit": "float", "xiong": "list"},
        "theorem2": {"arch": "str", "upper": "int", "lower": "int?", "status": "str", "counts": "list", "params": "int"},
        "theorem3": {"input": "str", "L": "int", "d": "int", "params": "int", "deep_lower": "int?", "deep_upper": "int",
                     "shallow_filters": "int", "shallow_params": "int", "shallow_RN": "int"},
        "cnn_vs_fc": {"d1": "int", "cnn_params": "int", "cnn_count": "int", "fc_width": "int", "fc_params": "int",
                      "fc_count": "int"},
        "settings": "dict",
    },
}

SCHEMAS["fc_bounds"] = {
    "random": {"n0": "int", "widths": "list", "counts": "list", "montufar2017": "int", "serra2018": "int",
               "zaslavsky": "int?", "montufar2014": "int?"},
    "trained": {"data": "str", "n0": "int", "widths": "list", "seed": "int", "acc": "float", "box": "float",
                "montufar2017": "int", "serra2018": "int", "zaslavsky": "int?", "montufar2014": "int?", "start": "int",
                "trained": "int"},
    "construction": {"n0": "int", "widths": "list", "cube": "int", "whole": "int", "montufar2017": "int",
                     "serra2018": "int", "zaslavsky": "int?", "montufar2014": "int?"},
    "settings": "dict",
}

#: Tables whose rows hold lists of integers (checked element by element).
INT_LISTS = {("xiong_cnn", "theorem1"): ("counts", "whitney"), ("xiong_cnn", "asymptotics"): ("coefficients", "xiong"),
             ("xiong_cnn", "theorem2"): ("counts",), ("fc_bounds", "random"): ("widths", "counts"),
             ("fc_bounds", "trained"): ("widths",), ("fc_bounds", "construction"): ("widths",)}


def _check(value, kind, where):
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        if optional:
            return
        raise InvalidInputError(f"{where} must not be null")
    ok = {"int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "str": isinstance(value, str), "bool": isinstance(value, bool), "list": isinstance(value, list),
          "dict": isinstance(value, dict)}[kind]
    if not ok:
        raise InvalidInputError(f"{where} must be {kind}, got {value!r}"[:200])


def validate(document, study: str) -> None:
    """Check a results document field by field against :data:`SCHEMAS` (raises InvalidInputError)."""
    if not isinstance(document, dict) or sorted(document) != ["data", "size", "study"]:
        raise InvalidInputError(f"a results file must be an object with keys data, size, study")
    if document["study"] != study or study not in SCHEMAS:
        raise InvalidInputError(f"results of study {document.get('study')!r}, expected {study!r}")
    if document["size"] not in ("full", "small"):
        raise InvalidInputError(f"`size` must be 'full' or 'small', got {document['size']!r}")
    data, schema = document["data"], SCHEMAS[study]
    if not isinstance(data, dict) or sorted(data) != sorted(schema):
        raise InvalidInputError(f"`data` must have exactly the tables {sorted(schema)}, got "
                                f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    for name, fields in schema.items():
        if isinstance(fields, str):
            _check(data[name], fields, f"`data.{name}`")
            continue
        rows = data[name]
        _check(rows, "list", f"`data.{name}`")
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or sorted(row) != sorted(fields):
                raise InvalidInputError(f"`data.{name}[{i}]` must have exactly the fields {sorted(fields)}")
            for field, kind in fields.items():
                _check(row[field], kind, f"`data.{name}[{i}].{field}`")
            for field in INT_LISTS.get((study, name), ()):
                for k, v in enumerate(row[field]):
                    _check(v, "int", f"`data.{name}[{i}].{field}[{k}]`")


def load(path, study: str) -> dict:
    """Read and validate ``results/<study>.json``."""
    try:
        document = json.loads(pathlib.Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read the results of {study} from {path}: {exc}") from exc
    validate(document, study)
    return document


def load_verdicts(path) -> list:
    """Read a saved list of verdicts (``results/<study>_verdicts.json``), checking every field."""
    data = json.loads(pathlib.Path(path).read_text())
    if not isinstance(data, list):
        raise InvalidInputError(f"{path} must hold a list of verdicts")
    return [stats.Verdict.from_dict(v) for v in data]
