"""BLAS threads inside counting: the package's one thread against BLAS's own default, one command:

    python benchmarks/blas_threads.py [--repeat N] [--no-load]

Run it in a plain process (no OMP_/OPENBLAS_/MKL_NUM_THREADS: the script refuses them), as a
user's process runs. Cases (eps = 1e-7, nets of benchmarks/nets.py, seed 0): the 784-input
MLP [32, 32] in the L-inf ball of radius 0.01 around ``image_point()``, and d=8 [6, 6] in
[-1, 1]^8. Each case is counted, in this process and interleaved, with the package's setting
(``polyregions.search.blas.BLAS_THREADS = 1``) and with BLAS left at its default
(``BLAS_THREADS = None``: as many threads as cores), --repeat times each, first on the machine as
it is and then with one busy process started by this script (a second process loading the other
core, as when workers fill the cores or on any shared machine). Printed: best and median CPU and
wall seconds per setting and the ratio of the medians (default / one thread).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, image_point, unit_box  # noqa: E402
from polyregions.search import blas  # noqa: E402
from run import machine  # noqa: E402

EPS = 1e-7


def cases():
    return [("MLP 784 [32,32], L-inf r=0.01", he_net(784, [32, 32]), pr.Ball(image_point(), 0.01, p=math.inf)),
            ("d=8 [6,6], [-1,1]^8", he_net(8, [6, 6]), unit_box(8))]


def timed(net, dom, threads):
    blas.BLAS_THREADS = threads
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        res = pr.count_regions(net, dom, eps=EPS, workers=1)
        return res.count, time.process_time() - c0, time.perf_counter() - t0
    finally:
        blas.BLAS_THREADS = 1


def measure(repeat, label):
    print(f"\n{label}")
    header = (f"{'case':<32}{'regions':>8}{'setting':>14}{'best cpu':>10}{'median cpu':>12}{'best wall':>11}"
              f"{'median wall':>13}{'ratio (median cpu)':>20}")
    print(header)
    print("-" * len(header))
    for name, net, dom in cases():
        timed(net, dom, 1)  # warm-up: the kernels load
        runs = {1: [], None: []}
        counts = set()
        for _ in range(repeat):
            for threads in (1, None):
                n, cpu, wall = timed(net, dom, threads)
                counts.add(n)
                runs[threads].append((cpu, wall))
        assert len(counts) == 1, counts  # the setting never changes the count
        n = counts.pop()
        med = {t: statistics.median(c for c, _ in r) for t, r in runs.items()}
        for threads, setting in ((1, "one thread"), (None, "BLAS default")):
            r = runs[threads]
            ratio = f"{med[None] / med[1]:.2f}" if threads is None else ""
            print(f"{name:<32}{n:>8,}{setting:>14}{min(c for c, _ in r):>10.3f}"
                  f"{statistics.median(c for c, _ in r):>12.3f}{min(w for _, w in r):>11.3f}"
                  f"{statistics.median(w for _, w in r):>13.3f}{ratio:>20}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="runs per setting and case (interleaved)")
    ap.add_argument("--no-load", action="store_true", help="skip the run with a busy second process")
    args = ap.parse_args(argv)
    given = [v for v in THREAD_VARIABLES if v in os.environ]
    if given:
        sys.exit(f"run this in a plain process: unset {', '.join(given)}")
    info = [(i["internal_api"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"machine: {machine()}; BLAS libraries (default threads): {info}")
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}")
    measure(args.repeat, "The machine as it is")
    if not args.no_load:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            measure(args.repeat, "With one busy process started by this script (loading a second core)")
        finally:
            busy.kill()
            busy.wait()
    with open("/proc/loadavg") as f:
        print(f"\nload average after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
