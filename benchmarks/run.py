"""Benchmarks: polyregions against the plain baseline, in one process.

    python benchmarks/run.py [--quick] [--baseline-limit SECONDS]

Nets: seeded He-initialised MLPs in [-1, 1]^d (benchmarks/nets.py), eps = 1e-7. For each:
the count, seconds, LP solves per region, regions per second, and the ratio of regions per
second to the plain baseline (benchmarks/baseline.py), measured in the same run (the
baseline is time-limited on large nets: its rate is taken over the part it finished).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from baseline import baseline_count  # noqa: E402
from nets import he_net, unit_box  # noqa: E402

NETS = [(4, [8, 8]), (8, [6, 6]), (2, [16, 16, 16]), (4, [16, 16]), (8, [16, 16])]
QUICK = [(4, [8, 8]), (8, [6, 6])]
EPS = 1e-7


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown cpu"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the two small nets")
    ap.add_argument("--baseline-limit", type=float, default=60.0, help="seconds per net for the baseline")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds per net for polyregions")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    # warm-up (imports, caches)
    pr.count_regions(he_net(2, [4]), unit_box(2), eps=EPS)
    header = f"{'net':<16}{'regions':>10}{'seconds':>10}{'LPs/region':>12}{'regions/s':>11}{'baseline/s':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for d, widths in QUICK if args.quick else NETS:
        net, box = he_net(d, widths), unit_box(d)
        res = pr.count_regions(net, box, eps=EPS, time_limit=args.limit)
        rate = res.count / res.stats.seconds
        b_count, b_lps, b_sec, b_done = baseline_count(net, box.lo, box.hi, eps=EPS, time_limit=args.baseline_limit)
        b_rate = b_count / b_sec if b_sec > 0 else float("nan")
        if b_done and b_count != res.count and res.complete:
            print(f"  !! count mismatch with the baseline: {b_count} != {res.count}")
        mark = "" if res.complete else "+"
        name = f"d={d} {widths}"
        print(f"{name:<16}{res.count:>9,}{mark:1}{res.stats.seconds:>10.2f}{res.stats.lp_solves / max(res.count, 1):>12.2f}"
              f"{rate:>11,.0f}{b_rate:>12,.1f}{rate / b_rate:>8.1f}" + ("" if b_done else "  (baseline time-limited)"))
    print("'+': stopped at --limit (a lower bound).")


if __name__ == "__main__":
    main()
