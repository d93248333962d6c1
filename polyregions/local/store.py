"""The checkpoint of a study: its finished counts, saved as they complete, read back by a rerun.

The file is a NumPy ``.npz`` archive read without pickle: a format version, the study's
fingerprint (:func:`polyregions.local.studies.study_key`: networks, points or segments, radii,
p, eps), and one array per field of the finished counts (:class:`polyregions.batch.CountRecord`:
its number, count, completeness, stop reason, seconds, time limit, statistics and the study's
own columns). Writes are atomic (a temporary file renamed over the old one). Every field is
checked on reading (type, length, range); a file written for another study is refused with
one line naming the `checkpoint` argument.

A rerun skips every count the file holds that is complete, or that stopped at a time limit at
least as long as the rerun's (a count cut shorter than the rerun allows runs again).
"""

from __future__ import annotations

import math
import os
import re
import zipfile

import numpy as np

from ..batch import CountRecord
from ..errors import InvalidInputError
from ..result import Stats
from ..search.checkpoint import checkpoint_path, write_atomically

__all__ = ["FORMAT_VERSION", "StudyCheckpoint"]

#: Version of the study checkpoint format.
FORMAT_VERSION = 1
#: The fields of a finished count, with their kinds ("i" integer, "f" float, "b" bool, "U" text).
FIELDS = {"task": "i", "count": "i", "complete": "b", "stopped": "U", "seconds": "f", "limit": "f",
          "lp_solves": "i", "nodes": "i", "near_eps": "i", "min_radius": "f", "min_kept_depth": "f"}
_REASON = re.compile(r"[a-z_]{0,32}")


class StudyCheckpoint:
    """Saves the finished counts of `study` to `path` (does nothing when `path` is None).

    ``extra``: the study's own columns and their kinds (``{"distance": "f", "zhu_C": "i"}``).
    """

    def __init__(self, path, study, extra: dict):
        self.path = checkpoint_path(path)
        self.study, self.extra = study, dict(extra)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def resume_hint(self, done: int) -> str:
        return (f"the {done:,} finished counts are saved in {self.path!r}: run the same study again with "
                f"checkpoint={self.path!r} (the CLI's --checkpoint {self.path}) to count only the rest")

    # ------------------------------------------------------------------ writing
    def save(self, count, records, stats) -> None:
        if self.path is None:
            return
        records = sorted(records, key=lambda r: r.task)
        arrays = {"version": np.array(FORMAT_VERSION), "study": np.array(self.study.key)}
        arrays.update(_columns(records, self.extra))
        write_atomically(self.path, lambda f: np.savez(f, **arrays))

    # ------------------------------------------------------------------ reading
    def load(self, time_limit) -> dict:
        """The finished counts a rerun keeps, ``{number: CountRecord}`` (empty when there is no file
        yet): complete ones, and those stopped at a limit at least `time_limit` (None: none)."""
        if self.path is None or not os.path.exists(self.path):
            return {}
        path = self.path
        try:
            with np.load(path, allow_pickle=False) as f:
                data = {name: f[name] for name in f.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InvalidInputError(f"`checkpoint` {path!r} is not a study checkpoint polyregions reads ({exc})") \
                from None
        version = data.get("version")
        if version is None or version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
            raise InvalidInputError(f"`checkpoint` {path!r} is not a study checkpoint of format {FORMAT_VERSION}")
        study = data.get("study")
        if study is None or study.shape != () or study.dtype.kind != "U" or str(study) != self.study.key:
            raise InvalidInputError(f"`checkpoint` {path!r} was written for another study (its networks, points, "
                                    f"segments, radii, p, eps or bounds differ): give a new file")
        records = _records(data, {**FIELDS, **self.extra}, self.study, path)
        limit = math.inf if time_limit is None else time_limit
        return {r.task: r for r in records if r.complete or (r.limit if r.limit is not None else math.inf) >= limit}


def _columns(records, extra) -> dict:
    cols = {"task": [r.task for r in records], "count": [r.count for r in records],
            "complete": [r.complete for r in records], "stopped": [r.stopped or "" for r in records],
            "seconds": [r.seconds for r in records],
            "limit": [math.inf if r.limit is None else r.limit for r in records]}
    for name in ("lp_solves", "nodes", "near_eps", "min_radius", "min_kept_depth"):
        cols[name] = [getattr(r.stats, name) for r in records]
    for name in extra:
        cols[name] = [r.extra[name] for r in records]
    dtypes = {"i": np.int64, "f": np.float64, "b": np.bool_, "U": str}
    kinds = {**FIELDS, **extra}
    return {name: np.array(values, dtype=dtypes[kinds[name]]) for name, values in cols.items()}


def _records(data, kinds, study, path) -> list:
    """The records in the arrays `data`, every field checked."""
    def bad(what):
        return InvalidInputError(f"`checkpoint` {path!r} is damaged: {what}")

    n = None
    for name, kind in kinds.items():
        a = data.get(name)
        if a is None:
            raise bad(f"no field {name!r}")
        if a.ndim != 1 or (n is not None and len(a) != n):
            raise bad(f"field {name!r} has shape {a.shape}")
        n = len(a)
        ok = {"i": "iu", "f": "f", "b": "b", "U": "U"}[kind]
        if a.dtype.kind not in ok:
            raise bad(f"field {name!r} holds {a.dtype} values")
    task = data["task"]
    if n and (task.min() < 0 or task.max() >= study.size or len(np.unique(task)) != n):
        raise bad("count numbers out of range or repeated")
    for name in ("count", "lp_solves", "nodes", "near_eps"):
        if n and data[name].min() < 0:
            raise bad(f"negative {name}")
    seconds, limit = data["seconds"], data["limit"]
    if not (np.all(np.isfinite(seconds)) and np.all(seconds >= 0)):
        raise bad("seconds not finite and non-negative")
    if not np.all(limit > 0):
        raise bad("time limits not positive")
    for name in ("min_radius", "min_kept_depth"):
        if np.any(np.isnan(data[name])) or np.any(data[name] < 0):
            raise bad(f"{name} not a non-negative number")
    if not all(_REASON.fullmatch(s) for s in data["stopped"]):
        raise bad("a stop reason that is not a word")
    if np.any(data["complete"] & (data["stopped"] != "")):
        raise bad("a complete count with a stop reason")
    extra = [name for name in kinds if name not in FIELDS]
    records = []
    for m in range(n):
        stats = Stats(lp_solves=int(data["lp_solves"][m]), nodes=int(data["nodes"][m]),
                      near_eps=int(data["near_eps"][m]), min_radius=float(data["min_radius"][m]),
                      min_kept_depth=float(data["min_kept_depth"][m]), seconds=float(seconds[m]), eps=study.eps)
        values = {name: data[name][m].item() for name in extra}
        records.append(CountRecord(int(task[m]), int(data["count"][m]), bool(data["complete"][m]),
                                   str(data["stopped"][m]) or None, float(seconds[m]), stats, values,
                                   None if math.isinf(limit[m]) else float(limit[m])))
    return records
