"""The exact 1-D / 2-D algorithm (polyregions.cells.planar) against regioncam and the search, one command:

    python benchmarks/bench_planar.py [--repeat N] [--lines N] [--no-dfs] [--no-lines]
                                      [--profile FILE [--profile-net NET] [--profile-counts N]]

1. Every 2-D benchmark net in [-1, 1]^2: the seeded He-initialised d=2 [8, 8], [16, 16, 16] and
   [64, 64, 64] (benchmarks/nets.py, seed 0) and nets of Berzins' shapes 2,4x32, 2,2x50 and
   2,2x100 trained briefly on a 2-D signed distance (benchmarks/train_sdf.py ``--dim 2``, kept in
   benchmarks/data/). Timed in this process, one call as a user makes it, each tool given its
   objects built once outside the timing:

   * polyregions: ``polyregions.count_regions(net, box, method="planar", eps=1e-9)`` on a
     ``Network`` and a ``Box`` made beforehand (the network's weights validated, lowered and made
     read-only when it was built). Kept between calls, as for any user's repeated counts: the
     network's preparation (its layers flattened and absolute values, for the small-count kernel,
     ``polyregions.cells.planar_small``; the planar algorithm's absolute weights; its size
     bounds), made on its first count, and the box's frame and polygon, kept while the box's
     numbers stay the same; no count or cell is kept. Inside the timing: the arguments' checks,
     the choice of method, and the count: for a small net (at most 16 neurons a layer, 128 in
     all: d=2 [8, 8], [16, 16, 16]) one compiled call that checks the size bounds on the box,
     makes the first layer in the box's frame and the polygon's edges, splits the cells layer
     by layer with the next layers' maps, and finds the statistics; for the others the domain's
     frame and polygon, the first layer in the frame, the cells layer by layer in batches
     (BLAS products between them) under the counting driver; then the result with its
     statistics (count, smallest inradius, near-eps decisions; float64).
   * polyregions, new box: the same with ``polyregions.Box([-1, -1], [1, 1])`` made inside the
     timing (its checks, its frame and polygon made anew at every call).
   * regioncam 0.5.2 (Rust, float32; ``pip install regioncam``, optional): its float32 weights
     (transposed) are prepared beforehand; inside the timing: ``Regioncam(size=1.0)`` (the
     square), ``linear``/``relu`` per layer (its regions' maps from the weights) and ``num_faces``.

   CPU seconds of this process per call: the first call of each tool is left out (it loads the
   compiled kernels), the second sizes a timing to repeat the call for about 0.1 s, the tools
   alternate, and the best of --repeat timings is kept; the ratios polyregions / regioncam, with
   the box made beforehand and made in the timing (below 1: polyregions is faster). The counts at eps 1e-9 are printed beside regioncam's (regioncam
   has no threshold: a region thinner than eps is not counted by polyregions). The search (DFS)
   on d=2 [64, 64, 64] once, for scale.
2. 1-D: the regions along 1,000 segments through the 784-input MLP [256, 256, 256]
   (benchmarks/nets.py's construction, seed 0), each between two points drawn by
   ``rng = numpy.random.default_rng(1); a, b = rng.uniform(0, 1, (2, 784))`` in turn;
   total CPU seconds and regions.

``--profile FILE``: instead, cProfile of 1,000 (``--profile-counts``) repeated counts of one 2-D net (``--profile-net``,
default d=2 [16, 16, 16]; "8x8" profiles the fixed cost of a count on the tiny d=2 [8, 8]) written
to FILE (the top 25 entries by own time, then by cumulative time).

In a plain process (no thread variables): the package holds BLAS to one thread while it counts,
but for a 2-D count whose every matrix product OpenBLAS runs on one thread anyway (d=2 [8, 8]).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402
from run import machine  # noqa: E402
from train_sdf import discs_net  # noqa: E402

EPS = 1e-9
#: Seconds each timing lasts at least (the call repeated).
TIMING_SECONDS = 0.1


def nets_2d():
    """``[(name, net)]``: every 2-D benchmark net (module docstring)."""
    out = [(f"he 2,{'x'.join(map(str, w))}", he_net(2, w, seed=0)) for w in ([8, 8], [16, 16, 16], [64, 64, 64])]
    out += [(f"discs 2,{len(w)}x{w[0]}", discs_net(w)) for w in ([32] * 4, [50] * 2, [100] * 2)]
    return out


def _per_call(fn, calls):
    t0 = time.process_time()
    for _ in range(calls):
        out = fn()
    return (time.process_time() - t0) / calls, out


def _side_by_side(fns, repeat):
    """Best CPU seconds per call of each function in `fns` (alternating), and each one's last result."""
    calls = []
    for fn in fns:
        _per_call(fn, 1)  # warm-up: the first call loads (or compiles) the compiled kernels
        t, _ = _per_call(fn, 1)  # the size of a timing
        calls.append(max(1, math.ceil(TIMING_SECONDS / max(t, 1e-6))))
    best, outs = [np.inf] * len(fns), [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t, outs[i] = _per_call(fn, calls[i])
            best[i] = min(best[i], t)
    return best, outs


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
    box = unit_box(2)
    have_rc = importlib.util.find_spec("regioncam") is not None
    print(f"\n1. 2-D nets in [-1, 1]^2, one core, CPU seconds per call (best of {repeat}; eps {EPS:g})"
          + ("" if have_rc else "; regioncam not installed (pip install regioncam)"))
    header = (f"{'net':<18}{'regions':>9}{'regioncam':>11}{'polyregions s':>15}{'new box s':>11}{'regioncam s':>13}"
              f"{'ratio':>8}{'new box':>9}")
    print(header)
    print("-" * len(header))
    for name, net in nets_2d():
        fns = [lambda net=net: pr.count_regions(net, box, method="planar", eps=EPS),
               lambda net=net: pr.count_regions(net, pr.Box([-1.0, -1.0], [1.0, 1.0]), method="planar", eps=EPS)]
        if have_rc:
            fns.append(_regioncam(net))
        times, outs = _side_by_side(fns, repeat)
        res = outs[0]
        assert outs[1].count == res.count
        rc_count = f"{outs[2]:,}" if have_rc else "-"
        rc_time = f"{times[2]:.6f}" if have_rc else "-"
        ratios = [f"{t / times[2]:.2f}x" if have_rc else "-" for t in times[:2]]
        print(f"{name:<18}{res.count:>9,}{rc_count:>11}{times[0]:>15.6f}{times[1]:>11.6f}{rc_time:>13}{ratios[0]:>8}"
              f"{ratios[1]:>9}   (thinnest inradius {res.stats.min_radius:.2g}; {res.stats.near_eps} near eps)")
    if dfs:
        net = he_net(2, [64, 64, 64], seed=0)
        t0 = time.process_time()
        d = pr.count_regions(net, box, method="dfs", eps=EPS)
        print(f"search (dfs) on he 2,64x64x64: {d.count:,} regions  {time.process_time() - t0:.3f} s   "
              f"({d.stats.lp_solves:,} LPs)")


#: The nets ``--profile-net`` names: He-initialised d=2 nets of benchmarks/nets.py, seed 0.
PROFILE_NETS = {"8x8": [8, 8], "16x16x16": [16, 16, 16], "64x64x64": [64, 64, 64]}


def profile(path, counts=1000, widths=(16, 16, 16)):
    """cProfile of `counts` repeated counts of the seeded d=2 net of these `widths` (module
    docstring) into `path`."""
    import cProfile
    import io
    import pstats

    net, box = he_net(2, list(widths), seed=0), unit_box(2)
    res = pr.count_regions(net, box, method="planar", eps=EPS)  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(counts):
        pr.count_regions(net, box, method="planar", eps=EPS)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with open(path, "w") as f:
        name = "x".join(map(str, widths))
        f.write(f"# {counts:,} counts of d=2 [{', '.join(map(str, widths))}] ({res.count:,} regions), planar; "
                f"{machine()}; load average {load}\n"
                f"# python benchmarks/bench_planar.py --profile {path} --profile-net {name} --profile-counts {counts}\n")
        f.write(out.getvalue())
    print(f"profile written to {path}")


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
    p.add_argument("--no-lines", action="store_true", help="skip part 2")
    p.add_argument("--profile", metavar="FILE", default=None, help="only profile 1,000 counts of one 2-D net")
    p.add_argument("--profile-net", choices=sorted(PROFILE_NETS), default="16x16x16",
                   help="the net --profile counts (default 16x16x16)")
    p.add_argument("--profile-counts", type=int, default=1000, help="the counts --profile makes (default 1,000)")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.lines < 1 or args.profile_counts < 1:
        p.error("--repeat, --lines and --profile-counts must be positive")
    if args.profile is not None:
        profile(args.profile, counts=args.profile_counts, widths=PROFILE_NETS[args.profile_net])
        return
    print(f"machine: {machine()}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    plane(args.repeat, not args.no_dfs)
    if not args.no_lines:
        lines(args.lines)


if __name__ == "__main__":
    main()
