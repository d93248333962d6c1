r"""How tight are the closed-form bounds? Exact counts of seeded networks against every bound.

:func:`run_tightness` counts the regions of the seeded networks of one or more
architectures (:mod:`polyregions.studies.families`) exactly, in a domain given by the syntax
below, and sets every applicable bound (:mod:`polyregions.bounds.applicable`) beside
the counts, one row per architecture, with the per-seed counts and bounds kept.
:mod:`polyregions.studies.report` writes the rows as tables (terminal, CSV / JSON, Markdown);
``polyregions tightness`` does both.

The names the studies import from here keep working: :class:`Arch`, :func:`parse_arch`,
:func:`seeded_network`, :func:`seeded_center` (from :mod:`polyregions.studies.families`),
:func:`network_bounds`, :func:`architecture_of`, ``BOUND_NAMES``
(:mod:`polyregions.bounds.applicable`), :func:`normal_rank_deficit`,
:class:`NormalRankDeficit` (:mod:`polyregions.bounds.rank_deficit`), :func:`write_table`,
:func:`format_table`, :func:`format_markdown`, :func:`update_markdown`
(:mod:`polyregions.studies.report`).

Domain syntax (DOMAIN)
----------------------
``whole``
    The whole input space.
``box:R``
    The box :math:`[-R, R]^n`.
``ball:R``
    The L2 ball of radius ``R`` around the origin.
``ball:R:random``
    The L2 ball of radius ``R`` around a centre drawn per seed from :math:`N(0, I_n)`
    (see :func:`seeded_center`).

Example
-------
>>> from polyregions.studies.tightness import parse_arch, run_tightness
>>> rows = run_tightness(["fc:2:3"], seeds=2, domain="whole", bounds=["zaslavsky"])
>>> [(r["exact_min"], r["exact_max"], r["zaslavsky"]) for r in rows]
[(7, 7, 7)]
"""

from __future__ import annotations

import logging
import math
import operator
import statistics
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..bounds.applicable import BOUND_KINDS, BOUND_NAMES, LOCAL_BOUND_NAMES, architecture_of, network_bounds
from ..bounds.rank_deficit import NormalRankDeficit, normal_rank_deficit
from ..domains.convex import Ball, Box, Whole
from ..api import DEFAULT_EPS, count_regions
from ..errors import InvalidInputError, SolverError
from .families import Arch, parse_arch, seeded_center, seeded_network
from .report import MARK_BEGIN, MARK_END, format_markdown, format_table, update_markdown, write_table

__all__ = [
    "Arch",
    "DomainSpec",
    "NormalRankDeficit",
    "BOUND_NAMES",
    "BOUND_KINDS",
    "parse_arch",
    "parse_domain",
    "seeded_network",
    "seeded_center",
    "architecture_of",
    "network_bounds",
    "normal_rank_deficit",
    "run_tightness",
    "write_table",
    "format_table",
    "format_markdown",
    "update_markdown",
    "MARK_BEGIN",
    "MARK_END",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainSpec:
    """A parsed DOMAIN: ``kind`` in {"whole", "box", "ball"}, ``radius``, ``random_center``."""

    kind: str
    radius: float | None = None
    random_center: bool = False

    def __str__(self):
        if self.kind == "whole":
            return "whole"
        r = f"{self.radius:g}"
        return f"{self.kind}:{r}" + (":random" if self.random_center else "")

    def build(self, n, center=None):
        """The domain in dimension `n` (the ball's centre: `center`, default the origin)."""
        if self.kind == "whole":
            return Whole(n)
        if self.kind == "box":
            return Box(np.full(n, -self.radius), np.full(n, self.radius))
        return Ball(np.zeros(n) if center is None else center, self.radius, p=2)


def parse_domain(text) -> DomainSpec:
    """Parse ``whole``, ``box:R``, ``ball:R`` or ``ball:R:random``.

    >>> parse_domain("box:1.5")
    DomainSpec(kind='box', radius=1.5, random_center=False)
    """
    if isinstance(text, DomainSpec):
        return text
    if not isinstance(text, str):
        raise InvalidInputError(f"`domain` must be a string (whole, box:R, ball:R or ball:R:random), got {text!r}")
    s = text.strip().lower()
    if s == "whole":
        return DomainSpec("whole")
    parts = s.split(":")
    ok = len(parts) in (2, 3) and parts[0] in ("box", "ball")
    if ok and len(parts) == 3:
        ok = parts[0] == "ball" and parts[2] == "random"
    r = None
    if ok:
        try:
            r = float(parts[1])
        except ValueError:
            r = None
    if not ok or r is None or not math.isfinite(r) or r <= 0:
        raise InvalidInputError(
            f"`domain` must be whole, box:R, ball:R or ball:R:random with R a positive number, got {text!r}"
        )
    return DomainSpec(parts[0], r, len(parts) == 3)


def _seed_list(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise InvalidInputError(f"`seeds` must be a positive integer or a list of seeds, got {seeds!r}")
        return list(range(int(seeds)))
    try:
        out = [operator.index(s) for s in seeds]
    except TypeError:
        raise InvalidInputError(f"`seeds` must be a positive integer or a list of seeds, got {seeds!r}") from None
    if not out or any(s < 0 for s in out):
        raise InvalidInputError(f"`seeds` must be a non-empty list of non-negative integers, got {seeds!r}")
    return out


def _stat(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None, None
    return min(vals), sum(vals) / len(vals), max(vals)


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return float(Fraction(a) / Fraction(b)) if isinstance(a, int) and isinstance(b, int) else a / b


def run_tightness(archs, seeds, domain, *, eps: float = DEFAULT_EPS, time_limit: float | None = None,
                  bounds=None, rank_deficit: bool = False, workers: int = 1, local_method: str = "symbolic",
                  whitney_limit: int = 300_000, progress=None) -> list:
    """Exact counts of seeded networks against the applicable bounds, one row per architecture.

    For each architecture (:func:`parse_arch`) and seed (``seeds``: a number K for the
    seeds 0..K-1, or a list), the network :func:`seeded_network` is counted exactly with
    :func:`polyregions.count_regions` in the domain (:func:`parse_domain`; the centre of
    ``ball:R:random`` is :func:`seeded_center`), and every bound of
    :func:`network_bounds` (or those named in `bounds`) is computed for it.

    Parameters
    ----------
    eps, time_limit, workers :
        Passed to :func:`~polyregions.count_regions` (the limit is per count). An
        incomplete count is a lower bound; the row's ``complete`` is then False.
    rank_deficit : bool
        For one-layer convolutions, add the columns of :func:`normal_rank_deficit`
        computed with each seed's filters.
    progress : callable, optional
        Called as ``progress(arch, seed, result)`` after each count (``result`` is the
        :class:`~polyregions.RegionCount`, or the :class:`~polyregions.SolverError` of a
        count that failed: the seed then has ``count`` None, the row is incomplete and
        its ``notes`` give the error, and the other seeds and architectures still run).

    Returns
    -------
    list of dict
        One row per architecture: ``arch``, ``domain``, ``seeds``, ``exact_min``,
        ``exact_mean``, ``exact_max``, ``complete``, ``seconds``; for each applicable
        bound ``b``: ``b`` (its largest value over the seeds; global bounds do not
        depend on the seed), and for a global bound ``b/max`` (that value over
        ``exact_max``) and ``b/mean`` (the mean of the bound over the mean exact count),
        for a local bound (``LOCAL_BOUND_NAMES``: it depends on the seed's network and
        ball) ``b/seed_median`` and ``b/seed_max``, the median and the largest over the
        seeds of the seed's bound over the same seed's count; with `rank_deficit`:
        ``normals``, ``rank``, ``matching``, ``independent``, ``rank_deficit`` (the
        reason text); ``notes`` (bounds that do not apply or are not proven, and why)
        and ``per_seed`` (the per-seed counts and bounds, kept by
        :func:`~polyregions.studies.report.write_table` as one CSV row per seed).
    """
    dom_spec = parse_domain(domain)
    seed_list = _seed_list(seeds)
    archs = [parse_arch(a) for a in ([archs] if isinstance(archs, (str, Arch)) else archs)]
    if not archs:
        raise InvalidInputError("`archs` must name at least one architecture")
    names = None if bounds is None else tuple(bounds)
    rows = []
    for arch in archs:
        per_seed, notes = [], {}
        t_arch = time.perf_counter()
        for seed in seed_list:
            net = seeded_network(arch, seed)
            center = seeded_center(arch, seed) if dom_spec.random_center else None
            dom = dom_spec.build(net.input_dim, center)
            try:
                res = count_regions(net, dom, eps=eps, time_limit=time_limit, workers=workers)
                rec = {"seed": seed, "count": res.count, "complete": res.complete, "seconds": res.stats.seconds,
                       "min_radius": res.stats.min_radius, "bounds": {}}
            except SolverError as exc:  # keep the study going; the row says which seed failed
                log.warning("%s seed %d: the count failed: %s", arch, seed, exc)
                res = exc
                rec = {"seed": seed, "count": None, "complete": False, "error": str(exc), "bounds": {}}
                notes[f"seed {seed}"] = f"seed {seed}: the count failed: {exc}"
            entries = network_bounds(net, dom, names=names, local_method=local_method, whitney_limit=whitney_limit)
            for e in entries:
                if e["value"] is None:
                    if names is not None or e["unproven"]:  # say why a requested or unproven bound is missing
                        notes[e["name"]] = f"{e['name']}: n/a ({e['reason']})"
                else:
                    rec["bounds"][e["name"]] = e["value"]
                    if e["name"] == "xiong_deep_lower" and e["note"]:  # N' below Theorem 1's count
                        notes[e["name"]] = f"{e['name']}: {e['note']}"
            if rank_deficit:
                if arch.kind == "conv" and arch.depth == 1:
                    d, k, s = arch.layers[0]
                    rd = normal_rank_deficit(arch.input_shape, d, k, s, weight=net.layers[0].weight)
                    rec["rank_deficit"] = {"normals": rd.normals, "rank": rd.rank, "matching": rd.matching,
                                           "R_N": rd.R_N, "independent": rd.independent,
                                           "witness": [[f, list(p)] for f, p in rd.witness] if rd.witness else None,
                                           "reason": rd.reason}
                elif names is not None:
                    notes["rank_deficit"] = "rank_deficit: n/a (one-layer convolutions only)"
            if progress is not None:
                progress(arch, seed, res)  # a RegionCount, or the SolverError of a failed count
            per_seed.append(rec)
        counts = [r["count"] for r in per_seed]
        lo, mean, hi = _stat(counts)
        row = {"arch": str(arch), "domain": str(dom_spec), "seeds": len(seed_list),
               "exact_min": lo, "exact_mean": mean, "exact_max": hi,
               "complete": all(r["complete"] for r in per_seed),
               "seconds": round(time.perf_counter() - t_arch, 3)}
        for name in BOUND_NAMES:
            vals = [r["bounds"].get(name) for r in per_seed]
            if any(v is None for v in vals):
                if any(v is not None for v in vals):
                    notes[name] = f"{name}: n/a (not computed for every seed)"
                continue
            row[name] = max(vals)
            if name in LOCAL_BOUND_NAMES:  # each seed's bound over its own count
                ratios = [_ratio(r["bounds"][name], r["count"]) for r in per_seed]
                ratios = [q for q in ratios if q is not None]
                row[f"{name}/seed_median"] = statistics.median(ratios) if ratios else None
                row[f"{name}/seed_max"] = max(ratios) if ratios else None
            else:
                row[f"{name}/max"] = _ratio(max(vals), hi)
                row[f"{name}/mean"] = _ratio(sum(vals) / len(vals), mean)
        if rank_deficit and "rank_deficit" in per_seed[0]:
            rds = [r["rank_deficit"] for r in per_seed]
            for key in ("normals", "rank", "matching", "independent"):
                vals = sorted({rd[key] for rd in rds}, key=lambda v: (v is None, v))
                row[key] = vals[0] if len(vals) == 1 else "/".join(map(str, vals))
            reasons = {rd["reason"] for rd in rds}
            row["rank_deficit"] = rds[0]["reason"] if len(reasons) == 1 else " | ".join(sorted(reasons))
        row["notes"] = "; ".join(notes.values())
        row["per_seed"] = per_seed
        rows.append(row)
    return rows
