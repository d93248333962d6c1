"""The exact 3-D algorithm (method "cells3d") against the search, side by side in one command:

    python benchmarks/bench_3d.py [--search-limit S] [--no-search-deep] [--quick]

1. Nets of Berzins' shapes (3 inputs; hidden [16] * 3 and [32] * 8) in [-1, 1]^3, eps 1e-9:
   seeded He-initialised (benchmarks/nets.py, seed 0) and trained on the signed distance of a
   torus (benchmarks/train_sdf.py; trained once and kept in benchmarks/data/). Each count runs
   in its own child process pinned to one core (``os.sched_setaffinity``; no thread variables
   are set), after a warm-up count of a small net by the same method (compile caches loaded; for
   the search also a count long enough to load its compiled kernel, as benchmarks/run.py does):
   regions, CPU seconds of the child, wall seconds, peak resident memory of the child (and
   what it held before the count). The search (method "dfs", one process) is stopped after
   --search-limit seconds; then its rate (regions per CPU second) is compared with cells3d's.
2. Growth with depth: the torus-trained [32] * 8 net cut after its first L hidden layers,
   L = 1..8, counted by cells3d (regions, cells made, CPU seconds, peak memory).
3. A reference, not measured here: Berzins (ICML 2023) builds the complex of his trained
   3,3x16 bunny net in 0.72 s on one CPU thread (his published figure).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, load_search_kernel, unit_box  # noqa: E402
from run import machine  # noqa: E402
from train_sdf import torus_net  # noqa: E402

EPS = 1e-9
BERZINS_CPU_SECONDS = 0.72  # his trained 3,3x16 net, one CPU thread (published)


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(conn, net, method, limit, core):
    """Count in this (forked) process, pinned to `core`; send the figures back."""
    try:
        if core is not None:
            os.sched_setaffinity(0, {core})
        pr.count_regions(he_net(3, [6, 6], 1), unit_box(3), method=method, eps=EPS)  # warm-up
        if method == "dfs":
            load_search_kernel()  # the compiled search's kernel compiled (once) and loaded, as after a long count
        before = _rss_mb()
        c0, w0 = time.process_time(), time.perf_counter()
        res = pr.count_regions(net, unit_box(3), method=method, eps=EPS, time_limit=limit)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        conn.send(dict(count=res.count, complete=res.complete, cpu=cpu, wall=wall, rss=_rss_mb(), before=before,
                       nodes=res.stats.nodes, min_radius=res.stats.min_radius, near_eps=res.stats.near_eps))
    except BaseException as exc:  # report, do not hang the parent
        conn.send(dict(error=f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def measure(net, method, limit=None, core=None):
    """The figures of one count in a fresh child process (fork: the parent's imports are shared)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, net, method, limit, core))
    proc.start()
    child.close()
    out = parent.recv()
    proc.join()
    if "error" in out:
        raise RuntimeError(f"{method}: {out['error']}")
    return out


def _row(name, method, m):
    done = "" if m["complete"] else " (stopped)"
    return (f"| {name} | {method} | {m['count']:,}{done} | {m['cpu']:.2f} | {m['wall']:.2f} | "
            f"{m['count'] / max(m['cpu'], 1e-9):,.0f} | {m['rss']:.0f} ({m['before']:.0f}) |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search-limit", type=float, default=1800.0, metavar="S",
                        help="stop the search after S seconds (default 1800); its rate is compared then")
    parser.add_argument("--no-search-deep", action="store_true", help="skip the search on the [32] * 8 nets")
    parser.add_argument("--quick", action="store_true", help="the [16] * 3 nets only, and depths 1..4")
    parser.add_argument("--core", type=int, default=0, help="the core the counts are pinned to (default 0)")
    args = parser.parse_args(argv)
    if args.search_limit <= 0:
        parser.error("--search-limit must be positive")
    if args.core not in os.sched_getaffinity(0):
        parser.error(f"--core {args.core} is not available to this process")
    print(machine())
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    nets = [("he 3,[16]*3", he_net(3, [16] * 3, 0)), ("torus 3,[16]*3", torus_net([16] * 3))]
    if not args.quick:
        nets += [("he 3,[32]*8", he_net(3, [32] * 8, 0)), ("torus 3,[32]*8", torus_net([32] * 8))]
    print("\n1. cells3d against the search, eps 1e-9, [-1, 1]^3, one core each (child processes, in turn)\n")
    print("| net | method | regions | CPU s | wall s | regions / CPU s | peak MB (before the count) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    ratios = []
    for name, net in nets:
        ours = measure(net, "cells3d", core=args.core)
        print(_row(name, "cells3d", ours), flush=True)
        if args.no_search_deep and "[32]*8" in name:
            continue
        theirs = measure(net, "dfs", limit=args.search_limit, core=args.core)
        print(_row(name, "dfs", theirs), flush=True)
        if theirs["complete"] and theirs["count"] != ours["count"]:
            print(f"| {name} | COUNTS DIFFER: cells3d {ours['count']} vs dfs {theirs['count']} | | | | | |")
        rate = (ours["count"] / ours["cpu"]) / max(theirs["count"] / theirs["cpu"], 1e-9)
        ratios.append((name, theirs["cpu"] / ours["cpu"] if theirs["complete"] else None, rate))
    print()
    for name, time_ratio, rate_ratio in ratios:
        if time_ratio is not None:
            print(f"{name}: cells3d {time_ratio:.1f}x faster than the search (CPU time, same count)")
        else:
            print(f"{name}: the search stopped at its limit; cells3d's rate {rate_ratio:.1f}x the search's")
    torus = torus_net([32] * 8)
    depths = range(1, 5) if args.quick else range(1, 9)
    print("\n2. growth with depth: the torus net [32]*8 cut after L hidden layers, cells3d, one core\n")
    print("| L | regions | cells made | CPU s | peak MB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for L in depths:
        cut = pr.Network.from_dense([W for W, _ in torus.hidden[:L]], [b for _, b in torus.hidden[:L]])
        m = measure(cut, "cells3d", core=args.core)
        print(f"| {L} | {m['count']:,} | {m['nodes']:,} | {m['cpu']:.2f} | {m['rss']:.0f} |", flush=True)
    print(f"\n3. reference (published, not measured here): Berzins' trained 3,3x16 bunny net, "
          f"{BERZINS_CPU_SECONDS} s on one CPU thread")
    print(f"load average after: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
