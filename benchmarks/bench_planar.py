"""The exact 1-D / 2-D algorithm (polyregions.cells.planar) against regioncam and the search, one command:

    python benchmarks/bench_planar.py [--repeat N] [--lines N] [--no-dfs]

1. d=2 [64, 64, 64] in [-1, 1]^2 (seed 0 of benchmarks/nets.py): planar (float64) and
   regioncam 0.5.2 (Rust, float32; ``pip install regioncam``, optional) in this process,
   best of --repeat runs each, CPU seconds of this process; the ratio planar / regioncam, the
   counts at eps 1e-9 and 1e-7, and where they differ the difference and polyregions'
   thinnest regions (a region thinner than eps is not counted; regioncam has no threshold). The search (DFS) on the same
   net once, for scale.
2. 1-D: the regions along 1,000 segments through the 784-input MLP [256, 256, 256]
   (benchmarks/nets.py's construction, seed 0), each between two points drawn by
   ``rng = numpy.random.default_rng(1); a, b = rng.uniform(0, 1, (2, 784))`` in turn;
   total CPU seconds and regions.

In a plain process (no thread variables): the package holds BLAS to one thread while it counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402
from run import machine  # noqa: E402

EPS = 1e-9


def _best(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _regioncam(net):
    import regioncam

    layers = [(np.ascontiguousarray(np.asarray(W).T, dtype=np.float32), np.asarray(b, dtype=np.float32))
              for W, b in net.hidden]

    def run():
        rc = regioncam.Regioncam(size=1.0)  # the square [-1, 1]^2
        for W, b in layers:
            rc.linear(W, b)  # x @ W + b
            rc.relu()
        return rc.num_faces

    return run


def plane(repeat, dfs):
    net, box = he_net(2, [64, 64, 64], seed=0), unit_box(2)
    print("\n1. d=2 [64, 64, 64] in [-1, 1]^2, one core, CPU seconds (best of %d)" % repeat)
    pr.count_regions(net, box, method="planar", eps=EPS)  # warm-up: compile caches
    t_planar, res = _best(lambda: pr.count_regions(net, box, method="planar", eps=EPS), repeat)
    print(f"polyregions planar : {res.count:>7,} regions  {t_planar:7.3f} s   (eps {EPS:g}; "
          f"thinnest region's inradius {res.stats.min_radius:.3g}; {res.stats.near_eps} decisions near eps)")
    if importlib.util.find_spec("regioncam") is None:
        print("regioncam          : not installed (pip install regioncam)")
    else:
        run = _regioncam(net)
        run()
        t_rc, count_rc = _best(run, repeat)
        print(f"regioncam 0.5.2    : {count_rc:>7,} regions  {t_rc:7.3f} s   (float32)")
        print(f"ratio planar / regioncam: {t_planar / t_rc:.2f}x the time")
        radii = None
        for eps in (EPS, 1e-7):
            count = pr.count_regions(net, box, method="planar", eps=eps).count
            if count == count_rc:
                print(f"eps {eps:g}: the same count as regioncam")
                continue
            if radii is None:
                radii = sorted(r.radius for r in pr.enumerate_regions(net, box, method="planar", eps=1e-15))
            print(f"eps {eps:g}: {count:,} regions, {count_rc - count:+d} for regioncam; polyregions' thinnest "
                  f"regions (at eps 1e-15) have inradii {', '.join(f'{r:.2g}' for r in radii[:4])}")
    if dfs:
        t0 = time.process_time()
        d = pr.count_regions(net, box, method="dfs", eps=EPS)
        print(f"polyregions dfs    : {d.count:>7,} regions  {time.process_time() - t0:7.3f} s   "
              f"({d.stats.lp_solves:,} LPs)")


def lines(n_lines):
    net = he_net(784, [256, 256, 256], seed=0)
    rng = np.random.default_rng(1)
    segments = [rng.uniform(0, 1, (2, 784)) for _ in range(n_lines)]
    print(f"\n2. 1-D: {n_lines:,} segments through the 784-input MLP [256, 256, 256], one core")
    pr.count_regions(net, pr.Line(*segments[0]), eps=EPS)  # warm-up
    t0, w0 = time.process_time(), time.perf_counter()
    counts = [pr.count_regions(net, pr.Line(a, b), eps=EPS).count for a, b in segments]
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    print(f"polyregions planar : {sum(counts):,} regions ({np.mean(counts):.1f} per segment, "
          f"{min(counts)}-{max(counts)})  {cpu:.2f} s CPU, {wall:.2f} s wall  ({1e3 * cpu / n_lines:.2f} ms per segment)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="runs per timing in part 1 (best kept)")
    p.add_argument("--lines", type=int, default=1000, help="segments in part 2")
    p.add_argument("--no-dfs", action="store_true", help="skip the search in part 1")
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    plane(args.repeat, not args.no_dfs)
    lines(args.lines)


if __name__ == "__main__":
    main()
