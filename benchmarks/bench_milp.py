"""MILP counting (no-good cuts) against the depth-first search, on the seeded benchmark nets.

Run from the repository root::

    python benchmarks/bench_milp.py                 # d=2 [8,8], d=3 [6,6], d=4 [8,8]
    python benchmarks/bench_milp.py --quick         # the first two only
    python benchmarks/bench_milp.py --time-limit 120

For each net (``benchmarks/nets.py``: He-normal weights, box [-1, 1]^d) it prints the
count by the search and by the MILP (they must agree when the MILP finishes), the
seconds per region of each (wall clock and CPU), and the ratio MILP / search. The MILP
is expected to be far slower: every region costs one MILP solved from scratch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402

from polyregions.milp.milp import count_regions_milp  # noqa: E402

NETS = [(2, (8, 8)), (3, (6, 6)), (4, (8, 8))]


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the two smallest nets")
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds per MILP count (default 900)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strategy", choices=("first", "max"), default="first")
    args = ap.parse_args(argv)

    nets = NETS[:2] if args.quick else NETS
    header = (f"{'net':<12}{'DFS count':>10}{'MILP count':>12}  {'DFS s/reg':>10}{'MILP s/reg':>11}"
              f"{'ratio':>8}  {'MILP CPU s/reg':>15}{'CPU ratio':>10}  status")
    print(header)
    print("-" * len(header))
    failed = False
    warm = he_net(2, [3], args.seed)  # first calls pay for imports and solver start-up: not timed
    pr.count_regions(warm, unit_box(2), method="dfs")
    count_regions_milp(warm, unit_box(2))
    for d, widths in nets:
        net, box = he_net(d, list(widths), args.seed), unit_box(d)
        dfs, dfs_wall, dfs_cpu = _timed(lambda: pr.count_regions(net, box, method="dfs"))
        milp, milp_wall, milp_cpu = _timed(
            lambda: count_regions_milp(net, box, time_limit=args.time_limit, strategy=args.strategy))
        n_dfs, n_milp = dfs.count, max(milp.count, 1)
        spr_dfs, spr_milp = dfs_wall / n_dfs, milp_wall / n_milp
        cpu_dfs, cpu_milp = dfs_cpu / n_dfs, milp_cpu / n_milp
        if milp.complete:
            status = "agree" if milp.count == dfs.count else "DISAGREE"
            failed |= milp.count != dfs.count
        else:
            status = f"MILP stopped ({milp.stopped}) after {milp.count} regions"
        name = f"d={d} {list(widths)}".replace(" ", "")
        print(f"{name:<12}{dfs.count:>10}{milp.count:>12}  {spr_dfs:>10.2e}{spr_milp:>11.3f}"
              f"{spr_milp / spr_dfs:>8.0f}  {cpu_milp:>15.3f}{cpu_milp / max(cpu_dfs, 1e-12):>10.0f}  {status}",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
