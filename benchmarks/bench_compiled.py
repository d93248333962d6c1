"""The compiled search against the Python search and the plain scipy DFS, side by side in one run:

    python benchmarks/bench_compiled.py [--limit S] [--cnn-limit S] [--baseline-limit S] [--repeat N] [--profile DIR]

Per case, in this order, in one plain process (no thread variables: the package holds BLAS to
one thread while it counts), after a warm-up count of each kind (compile caches warm):

* ``compiled``: ``count_regions(..., method="dfs")`` as a user calls it (the compiled search is
  chosen once its kernel is compiled, :mod:`polyregions.search.compiled`);
* ``python``: the same call with the compiled search switched off (the Python search of
  :mod:`polyregions.search.engine` with the same compiled LP backend);
* ``scipy``: the plain baseline (benchmarks/baseline.py: one ``scipy.optimize.linprog`` per
  child), boxes only, stopped at --baseline-limit (its rate over the part it finished).

Each figure is the best of --repeat runs: wall seconds, CPU seconds, regions per wall second,
and the ratios of regions per second. A count stopped at --limit is marked '+' (its rate is
over the part it found); counts that finish must agree (a mismatch is printed as '!!').
With --profile DIR, cProfile's top entries of one low-dimensional and one 784-input count, by
each search, are written to DIR (``profile_<case>_<search>.txt``).

Nets: benchmarks/nets.py (seeded He-initialised MLPs in [-1, 1]^d; the 784-input MLP [32, 32]
and the 1x28x28 CNN ``he_cnn`` (two stride-2 3x3 convolutions 1->4->4 and a dense layer of 16,
836 neurons) in the L-inf ball 0.01 around ``image_point()``), eps = 1e-7. The CNN's counts run
once each, stopped at --cnn-limit (60 s: the rate over the first minute when it does not finish).
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import io
import os
import pstats
import sys
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from baseline import baseline_count  # noqa: E402
from nets import he_cnn, he_net, image_point, unit_box  # noqa: E402
from run import machine  # noqa: E402

from polyregions.search import compiled  # noqa: E402

EPS = 1e-7
LOW = [(4, [8, 8]), (8, [6, 6]), (4, [16, 16]), (8, [16, 16])]
PROFILED = ("d=8 [6, 6]", "784 [32, 32] Linf 0.01")
CNN = "CNN 1x28x28 Linf 0.01"


def cases():
    """(name, net, domain, baseline box or None) of every case."""
    out = [(f"d={d} {w}", he_net(d, w), unit_box(d), True) for d, w in LOW]
    out.append(("784 [32, 32] Linf 0.01", he_net(784, [32, 32]), pr.Ball(image_point(), 0.01, p="inf"), False))
    out.append((CNN, he_cnn(), pr.Ball(image_point(), 0.01, p="inf"), False))
    return out


@contextlib.contextmanager
def python_search():
    """The Python search for every count in the block."""
    with mock.patch.object(compiled, "compiled_supported", lambda net, lp: False):
        yield


def timed(net, domain, limit, use_python):
    """``(count, complete, wall, cpu)`` of one count."""
    ctx = python_search() if use_python else contextlib.nullcontext()
    with ctx:
        w0, c0 = time.perf_counter(), time.process_time()
        res = pr.count_regions(net, domain, eps=EPS, method="dfs", time_limit=limit)
        return res.count, res.complete, time.perf_counter() - w0, time.process_time() - c0


def best(net, domain, limit, use_python, repeat):
    runs = [timed(net, domain, limit, use_python) for _ in range(repeat)]
    return max(runs, key=lambda r: r[0] / r[2])


def profile(net, domain, limit, use_python, path, top=25):
    ctx = python_search() if use_python else contextlib.nullcontext()
    prof = cProfile.Profile()
    with ctx:
        prof.enable()
        res = pr.count_regions(net, domain, eps=EPS, method="dfs", time_limit=limit)
        prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    with open(path, "w") as f:
        f.write(f"# {res.count:,} regions{'' if res.complete else ' (time-limited)'}, "
                f"{'Python' if use_python else 'compiled'} search; {machine()}; load average "
                f"{os.getloadavg()[0]:.2f}\n")
        f.write(f"# python benchmarks/bench_compiled.py --profile {os.path.dirname(path)}\n")
        f.write(out.getvalue())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per count of polyregions")
    ap.add_argument("--cnn-limit", type=float, default=60.0, help="seconds per count of the CNN (run once)")
    ap.add_argument("--baseline-limit", type=float, default=30.0, help="seconds per count of the scipy DFS")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (the best is shown)")
    ap.add_argument("--profile", metavar="DIR", help="write cProfile's top entries of two counts to DIR")
    ap.add_argument("--only", help="only the cases whose name contains this")
    args = ap.parse_args(argv)
    if args.limit <= 0 or args.cnn_limit <= 0 or args.baseline_limit <= 0 or args.repeat < 1:
        ap.error("--limit, --cnn-limit and --baseline-limit must be > 0, --repeat >= 1")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
    chosen = [c for c in cases() if args.only is None or args.only in c[0]]
    for _, net, domain, _ in chosen:  # warm-up: imports, compile caches, the search kernel of each backend
        pr.count_regions(net, domain, eps=EPS, method="dfs", max_regions=50)
        search = compiled.make_search(net, domain, EPS, "auto", True, compiled=True)
        next(iter(search.counts(search.root(), 1)), None)
    header = (f"{'case':<24}{'regions':>11}{'compiled s':>11}{'cpu s':>8}{'regions/s':>11}{'python s':>10}"
              f"{'cpu s':>8}{'regions/s':>11}{'scipy/s':>9}{'vs python':>10}{'(cpu)':>7}{'vs scipy':>9}")
    print(header)
    print("-" * len(header))
    for name, net, domain, has_box in chosen:
        limit, repeat = (args.cnn_limit, 1) if name == CNN else (args.limit, args.repeat)
        co = best(net, domain, limit, False, repeat)
        py = best(net, domain, limit, True, repeat)
        rate_co, rate_py = co[0] / co[2], py[0] / py[2]
        b_rate, b_note = float("nan"), ""
        if has_box:
            b_count, _, b_sec, b_done = baseline_count(net, domain.lo, domain.hi, eps=EPS,
                                                       time_limit=args.baseline_limit)
            b_rate = b_count / b_sec
            b_note = "" if b_done else " (scipy time-limited)"
            if b_done and co[1] and b_count != co[0]:
                print(f"  !! count mismatch with the scipy DFS: {b_count} != {co[0]}")
        if co[1] and py[1] and co[0] != py[0]:
            print(f"  !! count mismatch between the searches: {co[0]} != {py[0]}")
        mark = "" if co[1] else "+"
        cpu_ratio = (co[0] / max(co[3], 1e-9)) / (py[0] / max(py[3], 1e-9))
        print(f"{name:<24}{co[0]:>10,}{mark:1}{co[2]:>11.3f}{co[3]:>8.3f}{rate_co:>11,.0f}{py[2]:>10.3f}"
              f"{py[3]:>8.3f}{rate_py:>11,.0f}{b_rate:>9,.1f}{rate_co / rate_py:>9.1f}x{cpu_ratio:>6.1f}x"
              f"{rate_co / b_rate:>8.0f}x{b_note}")
    print("'+': stopped at --limit (rates over the regions found); regions/s and 'vs' per wall second, "
          "'(cpu)' per CPU second; best of "
          f"{args.repeat} (the CNN: one run each); load average {os.getloadavg()[0]:.2f} at the end")
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        for name, net, domain, _ in chosen:
            if name in PROFILED:
                slug = name.split(" Linf")[0].replace("=", "").replace(" ", "").replace("[", "_").replace(
                    "]", "").replace(",", "x")
                for use_python, label in ((True, "python"), (False, "compiled")):
                    profile(net, domain, args.limit, use_python,
                            os.path.join(args.profile, f"profile_{slug}_{label}.txt"))
        print(f"profiles written to {args.profile}")


if __name__ == "__main__":
    main()
