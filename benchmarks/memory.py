"""Memory growth of a count: a 10^4-region run against a 10^6-region run, in one process.

    python benchmarks/memory.py [--large 1000000]

Counting keeps only the open subproblems, never the regions, so the resident memory a run
adds should not grow with its count. After a warm-up count of the large size (compile
caches, imports, and the HiGHS model that the compiled backend builds lazily the first
time it hands a near-eps decision over: about 6 MiB, once per process), the peak resident
set size is sampled (a background thread reads /proc/self/statm) during a
count stopped at 10^4 regions and during one stopped at 10^6 regions, on the seeded
d=8 [16, 16] net in [-1, 1]^8; the script prints both growths and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_growth(fn):
    """Run `fn` and return (its result, peak RSS during it minus RSS before it)."""
    base = rss()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out = fn()
    finally:
        done.set()
        th.join()
    peak[0] = max(peak[0], rss())
    return out, peak[0] - base


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    net, box = he_net(8, [16, 16]), unit_box(8)
    pr.count_regions(net, box, eps=1e-7, max_regions=args.large)  # warm-up
    small, g_small = peak_growth(lambda: pr.count_regions(net, box, eps=1e-7, max_regions=args.small))
    large, g_large = peak_growth(lambda: pr.count_regions(net, box, eps=1e-7, max_regions=args.large))
    mib = 1 / 2**20
    print(f"{small.count:>10,} regions: peak RSS growth {g_small * mib:8.2f} MiB ({small.stats.seconds:.1f} s)")
    print(f"{large.count:>10,} regions: peak RSS growth {g_large * mib:8.2f} MiB ({large.stats.seconds:.1f} s)")
    ratio = g_large / g_small if g_small > 0 else float("inf")
    print(f"ratio: {ratio:.2f} (growth of less than one page counts as 0)" if g_small > 0 else
          f"the small run grew by {g_small} bytes; the large one by {g_large * mib:.2f} MiB")


if __name__ == "__main__":
    main()
