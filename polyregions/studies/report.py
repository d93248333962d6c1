"""The tables of the bounds and tightness studies: terminal text, CSV / JSON files, Markdown.

The command line prints with these functions (``polyregions bounds`` and
``polyregions tightness``); the notebooks and docs (``docs/theorem1.md``) use them too.
They only format what :func:`polyregions.bounds.applicable.network_bounds` and
:func:`polyregions.studies.tightness.run_tightness` computed.
"""

from __future__ import annotations

import csv
import json
import math
import os

from ..bounds.applicable import BOUND_NAMES, LOCAL_BOUND_NAMES
from ..errors import InvalidInputError
from ..jsondoc import json_ready

__all__ = ["write_table", "format_table", "format_markdown", "update_markdown", "format_bounds",
           "MARK_BEGIN", "MARK_END"]


def _ratio_columns(name):
    """The summary ratios of a bound: per-seed median and max for a local bound, else over max and mean."""
    if name in LOCAL_BOUND_NAMES:
        return [f"{name}/seed_median", f"{name}/seed_max"]
    return [f"{name}/max", f"{name}/mean"]


def _columns(rows):
    cols = ["arch", "domain", "seed", "seeds", "exact_min", "exact_mean", "exact_max", "count", "complete",
            "seconds", "min_radius"]
    for name in BOUND_NAMES:
        if any(name in r for r in rows):
            cols += [name, *_ratio_columns(name), f"{name}/count"]
    for key in ("normals", "rank", "matching", "independent", "rank_deficit"):
        if any(key in r for r in rows):
            cols.append(key)
    cols.append("notes")
    return cols


def _seed_rows(row):
    """One CSV row per seed of `row`: its count, its bounds and each bound over its count."""
    for s in row.get("per_seed", ()):
        out = {"arch": row["arch"], "domain": row["domain"], "seed": s["seed"], "count": s["count"],
               "complete": s["complete"], "seconds": s.get("seconds"), "min_radius": s.get("min_radius"),
               "notes": s.get("error")}
        for name, value in s["bounds"].items():
            out[name] = value
            out[f"{name}/count"] = value / s["count"] if s["count"] else None
        rd = s.get("rank_deficit")
        if rd:
            out.update({k: rd[k] for k in ("normals", "rank", "matching", "independent")}, rank_deficit=rd["reason"])
        yield out


def write_table(rows, prefix) -> tuple:
    """Write `rows` to ``PREFIX.csv`` and ``PREFIX.json`` (everything); return the two paths.

    The CSV holds, per architecture, its summary row (``seed`` = "all") followed by one
    row per seed (``seed`` = the seed: its ``count``, ``complete``, ``seconds``,
    ``min_radius``, every bound for that seed and ``bound/count``).
    """
    prefix = str(prefix)
    cols = _columns(rows)
    csv_path, json_path = prefix + ".csv", prefix + ".json"
    with open(csv_path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        for r in rows:
            for out in ({**r, "seed": "all"}, *_seed_rows(r)):
                wr.writerow({k: ("" if out.get(k) is None else out.get(k)) for k in cols})
    with open(json_path, "w") as f:
        json.dump(json_ready(rows), f, indent=1, allow_nan=False)  # inf, NaN: null; NumPy values: numbers
        f.write("\n")
    return csv_path, json_path


def _num(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


def _ratio_text(v, row=None):
    """A ratio; "<= x" when some count of the row stopped early (its denominator is a lower bound)."""
    if v is None:
        return "-"
    early = row is not None and any(not s["complete"] and s.get("count") is not None
                                    for s in row.get("per_seed", ()))
    return f"<= {v:.4g}" if early else f"{v:.4g}"


def _exact_text(r):
    text = f"{_num(r['exact_min'])} / {_num(r['exact_mean'])} / {_num(r['exact_max'])}"
    failed = sum(s.get("count") is None for s in r.get("per_seed", ()))
    if failed:
        return text + f" ({failed} of {r['seeds']} counts failed; see notes)"
    return text if r["complete"] else text + " (incomplete: lower bounds)"


def format_table(rows) -> str:
    """A readable terminal table: per architecture, the exact counts, then one line per bound."""
    head = ("arch", "domain", "seeds", "exact min / mean / max", "bound", "value", "bound/max", "bound/mean")
    lines = []
    for r in rows:
        first = [r["arch"], r["domain"], str(r["seeds"]), _exact_text(r)]
        blank = ["", "", "", ""]
        names = [n for n in BOUND_NAMES if n in r]
        if not names:
            lines.append(first + ["(none)", "", "", ""])
        for k, name in enumerate(names):
            label = f"{name} (per seed)" if name in LOCAL_BOUND_NAMES else name
            lines.append((first if k == 0 else blank)
                         + [label, _num(r[name]), *(_ratio_text(r.get(c), r) for c in _ratio_columns(name))])
        if "rank_deficit" in r:
            lines.append(blank + ["independent subsets", _num(r.get("independent")), "", ""])
            lines.append(blank + ["rank / matching", f"{r.get('rank')} / {r.get('matching')} "
                                  f"of {r.get('normals')} normals", "", ""])
            lines.append(blank + ["rank deficit", str(r["rank_deficit"]), "", ""])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)] if lines else [len(h) for h in head]
    widths[5] = min(widths[5], 40)  # long reasons overflow instead of widening the value column

    def fmt(cells):
        out = []
        for k, (c, w) in enumerate(zip(cells, widths)):
            out.append(str(c).rjust(w) if k in (2, 6, 7) else str(c).ljust(w))
        return "  ".join(out).rstrip()

    text = [fmt(head), fmt(["-" * w for w in widths])] + [fmt(x) for x in lines]
    notes = [f"{r['arch']}: {r['notes']}" for r in rows if r.get("notes")]
    if any(n in r for r in rows for n in LOCAL_BOUND_NAMES):
        text.append("(per seed): a local bound depends on the seed's network and ball; its value is the largest "
                    "over the seeds, its ratios are the median and the max over the seeds of bound / count")
    if any(n in r for r in rows for n in ("montufar2014_lower", "xiong_deep_lower")):
        text.append("montufar2014_lower, xiong_deep_lower: lower bounds on the maximum over parameters, "
                    "not on these networks")
    return "\n".join(text + notes)


def format_markdown(rows) -> str:
    """`rows` as one Markdown table, one line per architecture (exact counts, bounds and ratios, rank deficits).

    ``whitney_count`` gets no ratio column but a check: "= count" when it equals the
    exact count of every seed whose count is complete. A ratio is written "<= x" when
    some count stopped early (its exact count is then a lower bound). The rows' notes
    follow the table.
    """
    names = [n for n in BOUND_NAMES if any(n in r for r in rows)]
    head = ["ARCH", "seeds", "exact min / mean / max"]
    for n in names:
        if n == "whitney_count":
            head += [n, "per seed"]
        elif n in LOCAL_BOUND_NAMES:
            head += [f"{n} (max over seeds)", "bound / count per seed: median, max"]
        else:
            head += [n, f"{n} / max exact"]
    rd = any("rank_deficit" in r for r in rows)
    if rd:
        head += ["independent subsets", "normals: rank / matching", "why count < R_N"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['arch']}`", str(r["seeds"]), _exact_text(r)]
        for n in names:
            if n == "whitney_count":
                agree = _whitney_agrees(r)
                check = "-" if agree is None else ("= count" if agree else "DIFFERS")
                cells += [_num(r.get(n)), check]
            elif n in LOCAL_BOUND_NAMES:
                cells += [_num(r.get(n)), ", ".join(_ratio_text(r.get(c), r) for c in _ratio_columns(n))]
            else:
                cells += [_num(r.get(n)), _ratio_text(r.get(f"{n}/max"), r)]
        if rd:
            shape = f"{r['normals']}: {r['rank']} / {r['matching']}" if "normals" in r else "-"
            cells += [_num(r.get("independent")), shape, _md_reason(r)]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = [f"- `{r['arch']}`: {r['notes']}" for r in rows if r.get("notes")]
    if notes:
        out += ["", "Notes:", ""] + notes
    return "\n".join(out)


def _whitney_agrees(r):
    """True when whitney_count equals the count of every complete seed, None when nothing to compare."""
    pairs = [(s["bounds"].get("whitney_count"), s["count"]) for s in r.get("per_seed", ()) if s["complete"]]
    pairs = [(w, c) for w, c in pairs if w is not None]
    if not pairs or r["domain"] != "whole":
        return None
    return all(w == c for w, c in pairs)


def _md_reason(r):
    reason = r.get("rank_deficit")
    if reason is None:
        return "-"
    if str(reason).startswith("none"):
        return "-"
    return str(reason)



MARK_BEGIN = "<!-- polyregions tightness table: begin -->"
MARK_END = "<!-- polyregions tightness table: end -->"


def update_markdown(path, table: str) -> None:
    """Put `table` between the markers ``MARK_BEGIN`` and ``MARK_END`` of the Markdown file `path`.

    A missing file is created with the table alone (between the markers); an existing
    file without both markers is refused, so prose is never overwritten.
    """
    block = f"{MARK_BEGIN}\n{table}\n{MARK_END}"
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(block + "\n")
        return
    with open(path) as f:
        text = f.read()
    i, j = text.find(MARK_BEGIN), text.find(MARK_END)
    if i < 0 or j < i:
        raise InvalidInputError(
            f"`markdown` file {path!r} exists but has no {MARK_BEGIN!r} ... {MARK_END!r} block to replace"
        )
    with open(path, "w") as f:
        f.write(text[:i] + block + text[j + len(MARK_END):])


def _bound_value(value) -> str:
    if value is None:
        return "n/a"
    if value >= 10**15:
        return f"{value:.4e}".replace("e+", "e") + f" (2**{math.log2(value):.2f})"
    return f"{value:,}"


def _architecture_text(info) -> str:
    if info["kind"] != "conv":
        return f"{info['kind']}, n0 = {info['n0']}"
    return "conv, input " + "x".join(map(str, info["input_shape"])) + ", layers " + "; ".join(
        f"{d} filters {f1}x{f2} stride {s}" + (f" padding {pad}" if pad else "")
        for (d, (f1, f2), s), pad in zip(info["layers"], info["padding"]))


def format_bounds(info, entries, exact=None) -> str:
    """The table of ``polyregions bounds``: one line per bound (value, bound / exact, meaning), n/a with its reason.

    `info` is :func:`~polyregions.bounds.applicable.architecture_of`'s dict, `entries`
    :func:`~polyregions.bounds.applicable.network_bounds`'s list (with ``"bound/exact"``
    when `exact`, a :class:`~polyregions.RegionCount`, is given).
    """
    lines = [f"arch    : {_architecture_text(info)}; lowered widths {info['widths']}"]
    rows = [("bound", "value", "bound/exact" if exact is not None else "", "meaning")]
    for e in entries:
        if e["value"] is None:
            rows.append((e["name"], f"n/a ({e['reason']})", "", ""))
            continue
        ratio = "" if e.get("bound/exact") is None else f"{e['bound/exact']:.4g}"
        meaning = e["kind"] + (f"; {e['note']}" if e["note"] else "")
        rows.append((e["name"], _bound_value(e["value"]), ratio, meaning))
    if exact is not None:
        state = "complete" if exact.complete else f"incomplete (stopped by {exact.stopped}): a lower bound"
        rows.append(("exact (count_regions)", f"{exact.count:,}", "1" if exact.count else "", state))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows if not r[1].startswith("n/a"))
    w2 = max(len(r[2]) for r in rows)
    for name, value, ratio, meaning in rows:
        if value.startswith("n/a"):
            lines.append(f"{name:<{w0}}  {value}")
        else:
            lines.append(f"{name:<{w0}}  {value:>{w1}}  {ratio:>{w2}}  {meaning}".rstrip())
    return "\n".join(lines)
