"""High-dimensional benchmarks: image-sized inputs, one core, one command, in a plain process
(no thread variables: the package holds BLAS to one thread while it counts).

    python benchmarks/highdim.py [--limit S] [--highs-limit S] [--others-limit S] [--samples N] [--backend NAME]

Cases (eps = 1e-7; nets from benchmarks/nets.py, centre ``image_point()`` unless said):

* the 784-input He-initialised MLP [32, 32] (seed 0) in the L-inf ball of radius 0.01 and
  in the L2 ball of radius 0.1;
* the embedded digits MLP 64-8-8-10 around its test image (the README's first command):
  L2 ball of radius 1 and box of half-width 0.1 (the CLI's eps, 1e-9);
* the 1x28x28 CNN of nets.he_cnn in the L-inf ball of radius 0.001 (complete) and of
  radius 0.01 (regions per second over --limit seconds).

Per case: the count with the default backend after a warm-up in the same process, its
seconds (wall and CPU), regions per second (per CPU second too: the machine may be shared),
solver runs per region and CPU seconds per solver run. Then the checks:

* HiGHS (``backend="highs"``) on the same case, stopped at --highs-limit: when both finish,
  the counts must be equal;
* sampling: --samples uniform points of the domain; every sampled pattern must be among the
  enumerated ones (complete counts only);
* affinitree 0.23 on the box domains (L-inf balls, the digits box), stopped at --others-limit
  (benchmarks/other_tools.py; skipped when it is not installed).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_cnn, he_net, image_point  # noqa: E402
from run import machine  # noqa: E402

EPS = 1e-7


def cases(limit):
    """(name, net, domain, eps, time limit) of every case."""
    from polyregions.cli.main import EXAMPLE_FILE
    from polyregions.model.io import load_network

    mlp, cnn, c = he_net(784, [32, 32]), he_cnn(), image_point()
    digits = load_network(EXAMPLE_FILE)
    x0 = np.load(EXAMPLE_FILE)["x0"]
    return [
        ("MLP 784 [32,32], L-inf r=0.01", mlp, pr.Ball(c, 0.01, p=math.inf), EPS, None),
        ("MLP 784 [32,32], L2 r=0.1", mlp, pr.Ball(c, 0.1), EPS, None),
        ("digits 64-8-8, L2 r=1", digits, pr.Ball(x0, 1.0), 1e-9, None),
        ("digits 64-8-8, box 0.1", digits, pr.Box(x0 - 0.1, x0 + 0.1), 1e-9, None),
        ("CNN 1x28x28, L-inf r=0.001", cnn, pr.Ball(c, 0.001, p=math.inf), EPS, None),
        ("CNN 1x28x28, L-inf r=0.01", cnn, pr.Ball(c, 0.01, p=math.inf), EPS, limit),
    ]


def timed_count(net, dom, eps, backend, time_limit):
    c0, t0 = time.process_time(), time.perf_counter()
    res = pr.count_regions(net, dom, eps=eps, backend=backend, time_limit=time_limit)
    return res, time.perf_counter() - t0, time.process_time() - c0


def sampled_patterns_enumerated(net, dom, eps, backend, samples, rng):
    """Whether every pattern of `samples` uniform points of `dom` is among the enumerated ones."""
    found = {bytes(r.pattern) for r in pr.enumerate_regions(net, dom, eps=eps, backend=backend)}
    x = dom.sample(samples, rng)
    pats = np.packbits(net.pattern(x), axis=1)
    seen = {bytes(p) for p in pats}
    return len(seen - found), len(seen)


def box_of(dom):
    if isinstance(dom, pr.Box):
        return dom.lo, dom.hi
    if isinstance(dom, pr.Ball) and dom.p == math.inf:
        return dom.center - dom.radius, dom.center + dom.radius
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=60.0, help="seconds for the windowed case (and a cap on the others)")
    ap.add_argument("--highs-limit", type=float, default=60.0, help="seconds per case for the HiGHS cross-check (0: skip)")
    ap.add_argument("--others-limit", type=float, default=60.0, help="seconds per case for affinitree (0: skip)")
    ap.add_argument("--samples", type=int, default=100_000, help="points sampled per complete case (0: skip)")
    ap.add_argument("--backend", default="auto", help="the backend measured (default: auto)")
    ap.add_argument("--only", default=None, help="run only the cases whose name contains this text")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    rng = np.random.default_rng(0)
    header = (f"{'case':<30}{'regions':>9}{'wall s':>8}{'cpu s':>8}{'regions/s':>11}{'reg/cpu-s':>11}"
              f"{'LPs/reg':>9}{'cpu s/LP':>10}")
    print(header)
    print("-" * len(header))
    checks = []
    for name, net, dom, eps, window in cases(args.limit):
        if args.only and args.only not in name:
            continue
        pr.count_regions(net, dom, eps=eps, backend=args.backend, max_regions=20)  # warm-up
        res, wall, cpu = timed_count(net, dom, eps, args.backend, window or args.limit)
        lps = res.stats.lp_solves
        mark = "" if res.complete else "+"
        print(f"{name:<30}{res.count:>8,}{mark:1}{wall:>8.3f}{cpu:>8.3f}{res.count / wall:>11,.0f}"
              f"{res.count / max(cpu, 1e-9):>11,.0f}{lps / max(res.count, 1):>9.2f}{cpu / max(lps, 1):>10.2e}",
              flush=True)
        checks.append((name, net, dom, eps, res, window))
    print("'+': stopped at the time limit (a lower bound). LPs: solver runs (region tests) of the search.\n")
    for name, net, dom, eps, res, window in checks:
        line = [f"{name:<30}"]
        if args.highs_limit > 0:
            hi, hwall, _ = timed_count(net, dom, eps, "highs", args.highs_limit)
            line.append(f"HiGHS {hi.count:,}{'' if hi.complete else '+'} in {hwall:.1f} s")
            if hi.complete and res.complete:
                line.append("same count" if hi.count == res.count else f"!! COUNT MISMATCH {hi.count} != {res.count}")
        if args.samples > 0 and res.complete:
            missing, seen = sampled_patterns_enumerated(net, dom, eps, args.backend, args.samples, rng)
            line.append(f"sampling: {seen} patterns seen, {missing} not enumerated" + ("" if missing == 0 else " !!"))
        box = box_of(dom)
        if args.others_limit > 0 and box is not None and window is None:
            from other_tools import affinitree_count

            out = affinitree_count(net, box[0], box[1], args.others_limit)
            if out is not None:
                count, seconds, complete = out
                line.append(f"affinitree {count:,} in {seconds:.1f} s" if complete
                            else f"affinitree stopped at {seconds:.0f} s")
        print("   ".join(line), flush=True)


if __name__ == "__main__":
    main()
