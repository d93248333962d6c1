"""The first command of a fresh install: ``polyregions count --example`` on an empty kernel cache.

    python benchmarks/first_run.py [--repeat N] [--against ROOT] [--workers N] [--each]

Each repetition makes a new, empty cache folder (``NUMBA_CACHE_DIR``; a fresh install's
kernel cache is as empty) and runs ``polyregions count --example`` twice in fresh processes:
the first run compiles the kernels the two counts use, the second loads them. Printed per run:
wall and CPU seconds of the whole command (the process and its workers), the times the command
printed for its two counts, and what it said on stderr. With ``--against ROOT`` (an import root
of another version: a folder holding its ``polyregions`` package with ``solvers`` inside, as
``scripts/planted_faults.py`` lays out a copy) the same runs of that version are interleaved, so
both share the machine's load; the ratio is of the medians. With ``--each``, instead, the
first count of each kind on an empty cache, one fresh process per count (CPU seconds of the
process, and the count's own time as ``stats.seconds`` reports it): an L2 ball (the projection
kernels), a box in 8 and in 64 dimensions with the backend chosen (a short count on an empty
cache runs on HiGHS and compiles nothing, where the version has that) and named (the dense and
the bounded-variable simplex compile), a 2-D box (the polygon kernels) and a 3-D box (the
polyhedron kernels; skipped where the version has no 3-D method). Run it in a plain process;
the machine's load average is printed before and after (on a shared machine, compare ratios).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def run_example(root, cache, workers):
    """One ``polyregions count --example`` in a fresh process: (wall s, printed times, stderr lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = cache
    if root is not None:
        env["PYTHONPATH"] = root
    cmd = [sys.executable, "-m", "polyregions.cli.main", "count", "--example"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"polyregions count --example failed ({root or 'this version'}):\n{err}")
    printed = [float(t) for t in re.findall(r"^time\s*:\s*([0-9.]+) s", out, re.M)]
    return wall, printed, [ln for ln in err.splitlines() if ln.strip()]


# one count of each kind, a net [4, 4] (at most 256 regions): the time is the kernels' compilation
EACH = {
    "L2 ball, 6 inputs": "pr.Ball(np.zeros(6), 1.0), 6, 'auto', 'auto'",
    "box, 8 inputs": "pr.Box(-np.ones(8), np.ones(8)), 8, 'auto', 'auto'",
    "box, 8, numba": "pr.Box(-np.ones(8), np.ones(8)), 8, 'dfs', 'numba'",
    "box, 64 inputs": "pr.Box(-np.ones(64), np.ones(64)), 64, 'auto', 'auto'",
    "box, 64, bounded": "pr.Box(-np.ones(64), np.ones(64)), 64, 'dfs', 'bounded'",
    "2-D box (planar)": "pr.Box(-np.ones(2), np.ones(2)), 2, 'planar', 'auto'",
    "3-D box": "pr.Box(-np.ones(3), np.ones(3)), 3, 'auto', 'auto'",
}
EACH_CODE = """
import numpy as np
import polyregions as pr
domain, d, method, backend = {case}
rng = np.random.default_rng(0)
net = pr.Network.from_dense([rng.normal(size=(4, d)), rng.normal(size=(4, 4))], [rng.normal(size=4)] * 2)
res = pr.count_regions(net, domain, method=method, backend=backend, workers=1)
print(res.count, res.stats.seconds)
"""


def run_each(root, cache, case):
    """One small count in a fresh process: (cpu s, count, its stats.seconds), or None where the
    version cannot count it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = cache
    if root is not None:
        env["PYTHONPATH"] = root
    before = os.times()
    proc = subprocess.run([sys.executable, "-c", EACH_CODE.format(case=case)], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True)
    cpu = cpu_of_children(before)
    if proc.returncode != 0:
        print(f"    ({(proc.stderr.strip().splitlines() or ['no output'])[-1]})")
        return None
    count, seconds = proc.stdout.split()[-2:]
    return cpu, int(count), float(seconds)


def each(versions, repeat):
    rows = {}
    for rep in range(repeat):
        for name, case in EACH.items():
            for version, root in versions:
                with tempfile.TemporaryDirectory(prefix="polyregions-first-run-") as cache:
                    out = run_each(root, cache, case)
                rows.setdefault((name, version), []).append(out)
                shown = "cannot count it" if out is None else f"cpu {out[0]:6.2f} s, {out[1]:,} regions, " \
                                                              f"printed time {out[2]:.3f} s"
                print(f"[{rep + 1}] {name:20s} {version:8s} {shown}", flush=True)
    print(f"\n{'first count':<22}" + "".join(f"{v + ' median cpu':>22}" for v, _ in versions)
          + ("   against / this" if len(versions) > 1 else ""))
    for name in EACH:
        meds = []
        for version, _ in versions:
            got = [r[0] for r in rows[(name, version)] if r is not None]
            meds.append(statistics.median(got) if got else None)
        cells = "".join(f"{m:>22.2f}" if m is not None else f"{'-':>22}" for m in meds)
        ratio = f"{meds[1] / meds[0]:>17.2f}x" if len(meds) > 1 and None not in meds else ""
        print(f"{name:<22}{cells}{ratio}")


def cpu_of_children(before):
    """CPU seconds (user + system) of the children reaped since `before`."""
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="fresh caches per version (default 3)")
    ap.add_argument("--against", default=None, metavar="ROOT", help="another version's import root, interleaved")
    ap.add_argument("--workers", type=int, default=None, help="--workers for the command (default: its own)")
    ap.add_argument("--each", action="store_true", help="the first count of each kind instead (see above)")
    args = ap.parse_args(argv)
    versions = [("this", None)] + ([("against", os.path.abspath(args.against))] if args.against else [])
    print(f"load average before: {loadavg()}")
    if args.each:
        each(versions, args.repeat)
        print(f"load average after: {loadavg()}")
        return
    results = {(name, run): [] for name, _ in versions for run in ("first", "second")}
    for rep in range(args.repeat):
        for name, root in versions:
            with tempfile.TemporaryDirectory(prefix="polyregions-first-run-") as cache:
                for run in ("first", "second"):
                    before = os.times()
                    wall, printed, said = run_example(root, cache, args.workers)
                    cpu = cpu_of_children(before)
                    results[(name, run)].append((wall, cpu))
                    shown = ", ".join(f"{t:.3f}" for t in printed)
                    print(f"[{rep + 1}] {name:8s} {run:6s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
                          f"printed times: {shown} s")
                    for line in said:
                        print(f"{'':17s}stderr: {line}")
    print(f"load average after: {loadavg()}")
    print(f"\n{'version':<10}{'run':<8}{'median wall':>13}{'median cpu':>12}{'best wall':>11}{'best cpu':>10}")
    for (name, run), rows in results.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        print(f"{name:<10}{run:<8}{statistics.median(walls):>13.2f}{statistics.median(cpus):>12.2f}"
              f"{min(walls):>11.2f}{min(cpus):>10.2f}")
    if args.against:
        for run in ("first", "second"):
            a = [statistics.median(x[i] for x in results[("this", run)]) for i in (0, 1)]
            b = [statistics.median(x[i] for x in results[("against", run)]) for i in (0, 1)]
            print(f"{run} run, against / this (median): wall {b[0] / a[0]:.2f}x, cpu {b[1] / a[1]:.2f}x")


if __name__ == "__main__":
    main()
