"""The many-count driver's cost on top of the single counts, and its scaling with workers.

    python benchmarks/bench_local.py [--cases digits,mlp784,cnn] [--points N] [--radii R [R ...]]
                                     [--time-limit-per-count S] [--repeat K]

For each case, in one process, side by side (a plain process: no thread variables set):

1. the single counts: ``count_regions`` on every (point, radius) in turn, after a warm-up count
   (compiled kernels loaded), their wall and CPU seconds summed;
2. ``local_counts(..., workers=1)``: the same counts through the many-count driver in this
   process; its overhead is its wall time over the summed single counts, minus 1;
3. ``local_counts(..., workers=2)``: two worker processes (started, and the study shipped to
   each, inside the timed call); its speed-up is the one-worker wall time over its own.

Beside them, the machine's own answer: a pure-Python loop run twice in this process and once in
each of two processes (``busy-loop speed-up``). On a machine shared with other jobs (and Linux's
per-session scheduling groups), two processes may get no more processor time than one; the
workers' speed-up is to be read against that figure, measured at the same moment.

Every count of 2. and 3. is checked against 1. (equal where both are complete; a count stopped at
the time limit is a lower bound in each and is not compared). With ``--repeat K`` the three run K
times in turn, every round is printed, and a last line gives the median of each ratio over the
rounds (the machine may be shared: the load average is printed before and after).

Cases (L-inf balls, eps 1e-9):

* ``digits``: the embedded digits MLP 64-8-8-10 around scikit-learn's digits test split (the
  split it was trained beside: ``train_test_split(X / 16, y, test_size=0.25, random_state=0)``,
  450 images), radii 0.01, 0.05, 0.1;
* ``mlp784``: the 784-input MLP [32, 32] of ``benchmarks/nets.py`` around 200 points
  ``numpy.random.default_rng(k).uniform(0, 1, 784)``, radii 0.001 and 0.01;
* ``cnn``: the digits CNN (``polyregions/data/digits_cnn.onnx``: convolution, max pooling, a
  residual block) around the first 100 images after its training set, radius 0.001.

``--points N`` takes the first N points of every case, ``--radii`` replaces its radii;
``--time-limit-per-count`` (default 5 s for mlp784 and cnn, none for digits; 0: none) bounds each
count in all three runs. A time limit is wall time: on a loaded machine the three runs stop their
counts at different places, and only the counts complete in both runs are compared.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net  # noqa: E402
from run import machine  # noqa: E402

EPS = 1e-9
DATA = os.path.join(os.path.dirname(os.path.abspath(pr.__file__)), "data")


def digits_case():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from polyregions.model.io import load_network

    X, y = load_digits(return_X_y=True)
    _, X_test, _, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    return load_network(os.path.join(DATA, "digits_mlp.npz")), X_test, [0.01, 0.05, 0.1], None


def mlp784_case():
    points = np.array([np.random.default_rng(k).uniform(0.0, 1.0, 784) for k in range(200)])
    return he_net(784, [32, 32]), points, [0.001, 0.01], 5.0


def cnn_case():
    from sklearn.datasets import load_digits

    images = (load_digits().images / 16.0)[1500:1600].reshape(100, -1)
    return pr.Network.from_onnx(os.path.join(DATA, "digits_cnn.onnx")), images, [0.001], 5.0


CASES = {"digits": digits_case, "mlp784": mlp784_case, "cnn": cnn_case}


def _spin(n):
    s = 0
    for i in range(n):
        s += i
    return s


def busy_loop_speedup(n=3_000_000):
    """Wall time of two loops in this process over two loops in two processes."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(2) as pool:
        pool.map(_spin, [1, 1])  # started
        t0 = time.perf_counter()
        _spin(n)
        _spin(n)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.map(_spin, [n, n])
        parallel = time.perf_counter() - t0
    return serial / parallel


def clocks():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    w0, c0 = clocks()
    out = fn()
    w1, c1 = clocks()
    return out, w1 - w0, c1 - c0


def singles(net, points, radii, limit):
    out = []
    for x in points:
        for r in radii:
            res = pr.count_regions(net, pr.Ball(x, r, p=math.inf), eps=EPS, time_limit=limit)
            out.append((res.count, res.complete))
    return out


def check(reference, table, what):
    mismatches = [k for k, ((c, done), c2, done2) in enumerate(zip(reference, table["count"], table["complete"]))
                  if done and done2 and c != c2]
    if mismatches:
        raise SystemExit(f"{what}: {len(mismatches)} counts differ from count_regions (first: count {mismatches[0]})")
    return sum(1 for (_, done), done2 in zip(reference, table["complete"]) if done and done2)


def run_case(name, n_points, radii_override, limit_override, repeat):
    net, points, radii, limit = CASES[name]()
    if n_points is not None:
        points = points[:n_points]
    if radii_override:
        radii = list(radii_override)
    if limit_override is not None:
        limit = limit_override if limit_override > 0 else None
    n = len(points) * len(radii)
    print(f"\n{name}: {net}, {len(points)} points x radii {radii} = {n} counts, L-inf, eps {EPS:g}, "
          f"time limit per count {limit if limit is not None else 'none'}")
    pr.count_regions(net, pr.Ball(points[0], radii[-1], p=math.inf), eps=EPS, time_limit=limit)  # warm-up
    header = f"{'round':>5} {'run':<24}{'wall s':>9}{'CPU s':>9}{'counts/s':>10}{'regions':>11}{'vs singles':>12}"
    print(header)
    print("-" * len(header))
    rounds = []
    for k in range(repeat):
        ref, w_single, c_single = timed(lambda: singles(net, points, radii, limit))
        regions = sum(c for c, _ in ref)
        print(f"{k + 1:>5} {'count_regions, summed':<24}{w_single:>9.2f}{c_single:>9.2f}{n / w_single:>10.1f}"
              f"{regions:>11,}{'1.000':>12}")
        one, w_one, c_one = timed(lambda: pr.local_counts(net, points, radii, eps=EPS, time_limit_per_count=limit,
                                                          bounds=False, progress=False))
        compared = check(ref, one, "local_counts, 1 worker")
        print(f"{k + 1:>5} {'local_counts, 1 worker':<24}{w_one:>9.2f}{c_one:>9.2f}{n / w_one:>10.1f}"
              f"{int(one['count'].sum()):>11,}{w_one / w_single:>12.3f}")
        two, w_two, c_two = timed(lambda: pr.local_counts(net, points, radii, eps=EPS, time_limit_per_count=limit,
                                                          bounds=False, workers=2, progress=False))
        check(ref, two, "local_counts, 2 workers")
        print(f"{k + 1:>5} {'local_counts, 2 workers':<24}{w_two:>9.2f}{c_two:>9.2f}{n / w_two:>10.1f}"
              f"{int(two['count'].sum()):>11,}{w_two / w_single:>12.3f}")
        incomplete = int(np.sum(~one["complete"])) + int(np.sum(~two["complete"]))
        machine_speedup = busy_loop_speedup()
        rounds.append((w_one / w_single - 1, c_one / c_single - 1, w_one / w_two, machine_speedup))
        print(f"      overhead of the driver, 1 worker: {100 * (w_one / w_single - 1):+.1f}% wall "
              f"({100 * (c_one / c_single - 1):+.1f}% CPU); 2 workers: {w_one / w_two:.2f}x the 1-worker wall "
              f"time ({w_single / w_two:.2f}x the summed singles); {compared:,} counts compared, "
              f"{incomplete} incomplete; busy-loop speed-up of two processes now: {machine_speedup:.2f}x")
    if repeat > 1:
        wall, cpu, two_workers, machine_two = np.median(np.array(rounds), axis=0)
        print(f"      median of {repeat} rounds: overhead of the driver, 1 worker: {100 * wall:+.1f}% wall "
              f"({100 * cpu:+.1f}% CPU); 2 workers: {two_workers:.2f}x the 1-worker wall time; busy-loop speed-up "
              f"of two processes: {machine_two:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="digits,mlp784,cnn", help="comma-separated: digits, mlp784, cnn")
    parser.add_argument("--points", type=int, default=None, help="the first N points of every case")
    parser.add_argument("--radii", type=float, nargs="+", default=None, help="the radii of every case")
    parser.add_argument("--time-limit-per-count", type=float, default=None,
                        help="seconds per count (all cases; 0: none)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three runs")
    args = parser.parse_args()
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} (1 min); busy-loop speed-up of two "
          f"processes: {busy_loop_speedup():.2f}x")
    for name in names:
        run_case(name, args.points, args.radii, args.time_limit_per_count, args.repeat)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
