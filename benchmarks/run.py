"""Benchmarks, in one process and one command:

    python benchmarks/run.py [--quick] [--baseline-limit S] [--limit S] [--parallel-limit S] [--no-others]

1. One core: every net of NETS counted by polyregions (default backend, and HiGHS), and by
   the plain baseline (benchmarks/baseline.py: recursive DFS, one scipy linprog per child),
   measured in the same run; the ratio is of regions per second. The baseline is
   time-limited on large nets: its rate is taken over the part it finished.
2. All cores: the same count with 1 and with all worker processes (and a Dask LocalCluster
   with as many workers, when dask.distributed is installed), each stopped after
   --parallel-limit seconds; the ratio is of regions per second.
3. Other tools, when installed (benchmarks/other_tools.py): relucent 1.0.0 (cube mode) on
   d=4 [8, 8] and d=8 [6, 6], regioncam 0.5.2 on the 2-D nets.

Nets: seeded He-initialised MLPs in [-1, 1]^d (benchmarks/nets.py), eps = 1e-7. Every
timing follows warm-up counts in the same process (compile caches warm, the compiled search's
kernel loaded, as after a user's first count longer than a quarter of a second).
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
from nets import he_net, load_search_kernel, unit_box  # noqa: E402

NETS = [(4, [8, 8]), (8, [6, 6]), (2, [16, 16, 16]), (4, [16, 16]), (8, [16, 16])]
QUICK = [(4, [8, 8]), (8, [6, 6])]
PARALLEL_NET = (8, [16, 16])
EPS = 1e-7


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown cpu"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def _name(d, widths):
    return f"d={d} {widths}"


def one_core(nets, limit, baseline_limit):
    print("\n1. One core: polyregions against the plain baseline (regions per second)")
    header = (f"{'net':<16}{'regions':>11}{'seconds':>9}{'LPs/reg':>9}{'regions/s':>11}"
              f"{'HiGHS/s':>10}{'baseline/s':>12}{'ratio':>8}{'HiGHS ratio':>13}")
    print(header)
    print("-" * len(header))
    for d, widths in nets:
        net, box = he_net(d, widths), unit_box(d)
        res = pr.count_regions(net, box, eps=EPS, time_limit=limit, method="dfs")
        hi = pr.count_regions(net, box, eps=EPS, backend="highs", time_limit=min(limit, 30.0), method="dfs")
        rate, hi_rate = res.count / res.stats.seconds, hi.count / hi.stats.seconds
        b_count, _, b_sec, b_done = baseline_count(net, box.lo, box.hi, eps=EPS, time_limit=baseline_limit)
        b_rate = b_count / b_sec if b_sec > 0 else float("nan")
        if b_done and res.complete and b_count != res.count:
            print(f"  !! count mismatch with the baseline: {b_count} != {res.count}")
        if res.complete and hi.complete and hi.count != res.count:
            print(f"  !! count mismatch between backends: {hi.count} != {res.count}")
        mark = "" if res.complete else "+"
        print(f"{_name(d, widths):<16}{res.count:>10,}{mark:1}{res.stats.seconds:>9.2f}"
              f"{res.stats.lp_solves / max(res.count, 1):>9.2f}{rate:>11,.0f}{hi_rate:>10,.0f}{b_rate:>12,.1f}"
              f"{rate / b_rate:>8.0f}{hi_rate / b_rate:>13.1f}" + ("" if b_done else "  (baseline time-limited)"))
    print("'+': stopped at --limit (a lower bound); LPs/reg: solver runs per region.")


def all_cores(limit):
    d, widths = PARALLEL_NET
    net, box = he_net(d, widths), unit_box(d)
    cores = os.cpu_count() or 1
    print(f"\n2. All cores: {_name(d, widths)}, each run stopped after {limit:g} s")
    rows = []
    for workers in sorted({1, cores}):
        res = pr.count_regions(net, box, eps=EPS, workers=workers, time_limit=limit)
        rows.append((f"{workers} process{'es' if workers > 1 else ''}", res))
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("   (dask.distributed is not installed: no Dask run)")
    else:
        with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                pr.count_regions(net, box, eps=EPS, client=client, max_regions=1000)  # warm the workers
                res = pr.count_regions(net, box, eps=EPS, client=client, time_limit=limit)
        rows.append((f"Dask LocalCluster, {cores} workers", res))
    base = rows[0][1].count / rows[0][1].stats.seconds
    for label, res in rows:
        rate = res.count / res.stats.seconds
        print(f"   {label:<32}{res.count:>12,} regions{rate:>12,.0f} regions/s{rate / base:>7.2f}x")


def other_tools(limit):
    print("\n3. Other tools (when installed), one core, same nets, eps = 1e-7 for polyregions")
    from other_tools import regioncam_count, relucent_count

    for d, widths, tool in [(4, [8, 8], "relucent"), (8, [6, 6], "relucent"), (2, [16, 16, 16], "regioncam"),
                            (2, [64, 64, 64], "regioncam")]:
        net, box = he_net(d, widths), unit_box(d)
        ours = pr.count_regions(net, box, eps=EPS, time_limit=limit)
        out = relucent_count(net, d, limit) if tool == "relucent" else regioncam_count(net, limit)
        if out is None:
            continue
        count, seconds = out[0], out[1]
        print(f"   {_name(d, widths):<18}{tool:<10}{count:>9,} regions {seconds:>8.2f} s   polyregions "
              f"{ours.count:>9,} regions {ours.stats.seconds:>8.3f} s   {tool}/polyregions time "
              f"{seconds / ours.stats.seconds:>8.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the two small nets, no parallel or other tools")
    ap.add_argument("--baseline-limit", type=float, default=60.0, help="seconds per net for the baseline")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds per net for polyregions")
    ap.add_argument("--parallel-limit", type=float, default=30.0, help="seconds per parallel run")
    ap.add_argument("--no-others", action="store_true", help="skip the other tools")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    pr.count_regions(he_net(2, [4]), unit_box(2), eps=EPS, method="dfs")  # warm-up: imports and compile caches
    pr.count_regions(he_net(2, [4]), unit_box(2), eps=EPS, backend="highs", method="dfs")
    load_search_kernel()  # the compiled search's kernel compiled (once) and loaded, as after a long count
    one_core(QUICK if args.quick else NETS, args.limit, args.baseline_limit)
    if not args.quick:
        all_cores(args.parallel_limit)
        if not args.no_others:
            other_tools(75.0)


if __name__ == "__main__":
    main()
