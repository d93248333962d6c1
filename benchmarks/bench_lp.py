"""Microbenchmark: cost of one child LP (push a row, test, pop), numba backend vs HiGHS.

    python benchmarks/bench_lp.py [--children 2000] [--repeat 5]
    python benchmarks/bench_lp.py --e2e [--limit 20] [--repeat 3]

A node is the box [-1, 1]^d plus random rows ``a . x <= a . c + r`` (``a`` unit, ``r`` in
[0.1, 0.6], so the node keeps an interior around ``c``); it is tested once (its basis is
optimal, as in the search). Each child pushes a random row ``a . x <= a . w - s h`` (``w``
the node's witness, ``h`` the node's median reach from ``w`` along a row's normal, ``s``
uniform in [-0.2, 2]: about half the children are empty), tests and pops; the two
backends are first checked to agree on every child. The time per child: per run, the
median over batches of 50 children of the mean per child; then the minimum over
``--repeat`` runs (the machine may be shared: a median and a minimum are the least
disturbed).
Total rows = the box's 2d rows + the node's rows + the child's row.

``--e2e``: ``count_regions(net, box, eps=1e-7, backend=...)`` with both backends on the
benchmark nets (benchmarks/nets.py), each stopped at ``--limit`` seconds; regions per
second is the best of ``--repeat`` runs; complete counts must be equal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import polyregions as pr
from polyregions.solvers import make_backend, region_problem

EPS = 1e-7
E2E_NETS = [(4, [8, 8]), (8, [6, 6]), (4, [16, 16]), (8, [16, 16])]
CASES = [(2, 10), (2, 20), (2, 40), (4, 10), (4, 20), (4, 40), (8, 20), (8, 40)]


def make_rows(rng, d, k, c):
    A = rng.normal(size=(k, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    return A, A @ c + rng.uniform(0.1, 0.6, size=k)


def support(A, b, u):
    """min of u . x over {A x <= b} (setup only)."""
    from scipy.optimize import linprog

    return linprog(u, A_ub=A, b_ub=b, bounds=[(None, None)] * A.shape[1], method="highs").fun


def time_children(backend, node_A, node_b, child_A, child_b, batch=50):
    """Median over batches of `batch` children of the mean time per child (robust to the
    millisecond pauses of a shared machine)."""
    for a, b in zip(node_A, node_b):
        backend.push(a, float(b))
    backend.test()
    clock, times = time.perf_counter, []
    for s in range(0, len(child_A) - batch + 1, batch):
        t0 = clock()
        for a, b in zip(child_A[s : s + batch], child_b[s : s + batch]):
            backend.push(a, b)
            backend.test()
            backend.pop()
        times.append((clock() - t0) / batch)
    for _ in range(len(node_A)):
        backend.pop()
    return float(np.median(times))


def end_to_end(limit, repeat):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from nets import he_net, unit_box

    from polyregions.solvers import registry

    made = []
    factory = registry.backend_factory

    def keeping_numba(name):  # to read the numba backend's counters
        build = factory(name)
        return (lambda problem: made.append(build(problem)) or made[-1]) if name == "numba" else build

    registry.backend_factory = keeping_numba
    try:
        pr.count_regions(he_net(2, [4]), unit_box(2), eps=EPS, backend="numba", method="dfs")  # warm-up
        header = (f"{'net':<14}{'backend':>8}{'regions':>10}{'seconds':>9}{'regions/s':>11}{'LPs/region':>11}"
                  f"{'pivots/LP':>10}{'fallbacks':>10}")
        print(header)
        print("-" * len(header))
        for d, widths in E2E_NETS:
            net, box = he_net(d, widths), unit_box(d)
            counts = {}
            for name in ("numba", "highs"):
                best = None
                for _ in range(repeat):
                    made.clear()
                    res = pr.count_regions(net, box, eps=EPS, backend=name, time_limit=limit)
                    rate = res.count / res.stats.seconds
                    if best is None or rate > best[0]:
                        best = (rate, res, made[0] if made else None)
                rate, res, lp = best
                counts[name] = res
                extra = f"{lp.pivots / max(lp._solves, 1):>10.2f}{lp.fallbacks:>10}" if lp is not None else ""
                mark = "" if res.complete else "+"
                print(f"{f'd={d} {widths}':<14}{name:>8}{res.count:>9,}{mark:1}{res.stats.seconds:>9.2f}{rate:>11,.0f}"
                      f"{res.stats.lp_solves / max(res.count, 1):>11.2f}" + extra, flush=True)
            a, b = counts["numba"], counts["highs"]
            if a.complete and b.complete and a.count != b.count:
                print(f"  !! count mismatch: numba {a.count} != highs {b.count}")
            if a.complete and b.complete:
                print(f"  speed-up {b.stats.seconds / a.stats.seconds:.1f}x, counts equal: {a.count == b.count}")
    finally:
        registry.backend_factory = factory
    print("'+': stopped at --limit (a lower bound); regions/s is then over the part counted.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--children", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=None, help="runs per case, best taken (default 5; 3 with --e2e)")
    ap.add_argument("--e2e", action="store_true", help="end-to-end count_regions on the benchmark nets instead")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per count with --e2e")
    args = ap.parse_args(argv)
    if args.e2e:
        end_to_end(args.limit, args.repeat or 3)
        return
    args.repeat = args.repeat or 5
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    warm = make_backend("numba", region_problem(pr.Box(-np.ones(2), np.ones(2)), EPS))
    warm.push(np.array([1.0, 0.0]), 0.0)
    warm.test()
    print(f"numba kernels ready in {time.perf_counter() - t0:.2f} s (compiled or loaded from the cache)")
    header = (f"{'d':>3}{'rows':>6}{'numba us':>10}{'highs us':>10}{'ratio':>8}{'pivots/LP':>11}{'fallbacks':>10}"
              f"{'kept':>6}")
    print(header)
    print("-" * len(header))
    for d, total in CASES:
        k = total - 2 * d - 1
        if k < 0:
            continue
        box = pr.Box(-np.ones(d), np.ones(d))
        problem = region_problem(box, EPS)
        c = rng.uniform(-0.3, 0.3, size=d)
        node_A, node_b = make_rows(rng, d, k, c)
        hb = make_backend("highs", problem)
        for a, b in zip(node_A, node_b):
            hb.push(a, float(b))
        w = hb.test().point
        child_A = rng.normal(size=(args.children, d))
        child_A /= np.linalg.norm(child_A, axis=1, keepdims=True)
        # offsets from above the witness to beyond the node's far side
        A_all, b_all = np.vstack([node_A, problem.A]), np.concatenate([node_b, problem.b])
        reach = np.array([a @ w - support(A_all, b_all, a) for a in child_A[:100]])
        child_b = child_A @ w - rng.uniform(-0.2, 2.0, size=args.children) * np.median(reach)
        child_b = [float(v) for v in child_b]
        nb = make_backend("numba", problem)
        for a, b in zip(node_A, node_b):
            nb.push(a, float(b))
        nb.test()
        kept = 0
        for a, b in zip(child_A, child_b):  # agreement on every child, before timing
            nb.push(a, b)
            hb.push(a, b)
            r1, r2 = nb.test(), hb.test()
            nb.pop()
            hb.pop()
            if r1.keep != r2.keep or abs(r1.depth - r2.depth) > 1e-9:
                print(f"  !! disagreement at d={d}: numba {r1.depth!r}, highs {r2.depth!r}")
            kept += r1.keep
        for _ in range(k):
            hb.pop()
            nb.pop()
        nb.pivots, nb._solves = 0, 0
        t_nb = min(time_children(nb, node_A, node_b, child_A, child_b) for _ in range(args.repeat))
        piv = nb.pivots / max(nb._solves, 1)
        t_hs = min(time_children(hb, node_A, node_b, child_A, child_b) for _ in range(args.repeat))
        print(f"{d:>3}{total:>6}{t_nb * 1e6:>10.1f}{t_hs * 1e6:>10.1f}{t_hs / t_nb:>8.1f}{piv:>11.2f}"
              f"{nb.fallbacks:>10}{kept / args.children:>6.2f}")


if __name__ == "__main__":
    main()
