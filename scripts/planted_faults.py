"""Plant known faults in a copy of the source and check that the tests catch every one.

    python scripts/planted_faults.py            # every fault (a few minutes)
    python scripts/planted_faults.py --list     # the faults and the tests that must catch them
    python scripts/planted_faults.py --only eps-witness-side --only l2-deep-qp

Each fault replaces one exact snippet of one file (the snippet must occur exactly once, so
a fault that no longer applies is reported as stale rather than silently skipped). The
tracked files are copied to a temporary folder, ``polyregions/solvers`` is linked to
``solvers/`` there (the mapping the installed package has), and the listed tests run
against the copy (``PYTHONPATH`` puts it before any installed polyregions). A fault is
caught when pytest reports failing tests (exit status 1). The unmodified copy must pass
the same tests first. Run it before merging a change to the search, a solver or a bound.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fault:
    """Replace `find` by `replace` in `path`; the `tests` (pytest node ids) must fail."""

    name: str
    path: str
    find: str
    replace: str
    tests: tuple
    why: str


FAULTS = [
    Fault("eps-witness-side", "polyregions/enumerate.py",
          "            if r1 > eps:\n", "            if r1 > 0:\n",
          ("tests/test_enumerate.py",),
          "keep the witness-side child when its half-ball radius is > 0 instead of > eps"),
    Fault("eps-other-side-free", "polyregions/enumerate.py",
          "        if (rho - delta) / 2 > eps:\n", "        if (rho - delta) / 2 > 0:\n",
          ("tests/test_enumerate.py",),
          "keep the far side of a hyperplane through the witness ball without an eps check"),
    Fault("zero-row-underflow", "polyregions/enumerate.py",
          "    norms = np.sqrt(np.einsum(\"ij,ij->i\", G, G))\n",
          "    norms = np.sqrt(np.einsum(\"ij,ij->i\", G, G)) * 0 + np.linalg.norm(G, axis=1) * (np.abs(G).max(axis=1) > 1e-150)\n",
          ("tests/test_enumerate.py",),
          "take rows with tiny weights as constant"),
    Fault("highs-lp-keep-at-zero", "solvers/highs.py",
          "        keep = t > self.eps\n", "        keep = t > 0\n",
          ("tests/test_enumerate.py", "tests/solvers/test_conformance.py"),
          "the HiGHS Chebyshev LP keeps nodes thinner than eps"),
    Fault("highs-no-honest-check", "solvers/highs.py",
          "        if keep and t < HONEST_CHECK_BELOW:\n            A, b = self._rows()\n",
          "        if False:\n            A, b = self._rows()\n",
          ("tests/test_enumerate.py", "tests/solvers/test_conformance.py"),
          "trust HiGHS's optimum near eps without re-checking the witness"),
    Fault("scipy-no-honest-check", "solvers/scipy_lp.py",
          "        if keep and t < HONEST_CHECK_BELOW:", "        if False:",
          ("tests/test_enumerate.py", "tests/solvers/test_conformance.py"),
          "trust linprog's optimum near eps without re-checking the witness"),
    Fault("numba-no-band", "solvers/numba_lp.py",
          "            if abs(t - eps) > self._band_eps and abs(t) > self._band0:",
          "            if True:",
          ("tests/solvers/test_numba_lp.py", "tests/solvers/test_conformance.py", "tests/test_enumerate.py"),
          "the compiled simplex decides near eps itself instead of handing over to HiGHS"),
    Fault("cvxpy-dishonest-radius", "solvers/cvxpy_conic.py",
          "        return TestResult(True, self._honest_radius(x, t), x, t)",
          "        return TestResult(True, t, x, t)",
          ("tests/solvers/test_cvxpy_conic.py", "tests/solvers/test_conformance.py", "tests/test_enumerate.py"),
          "report the solver's radius instead of the witness's checked radius"),
    Fault("conv-output-size", "polyregions/conv.py",
          "    return (n + 2 * padding - f) // stride + 1\n", "    return (n + 2 * padding - f) // stride\n",
          ("tests/test_conv.py",),
          "one output position too few along each axis"),
    Fault("conv-stride-offset", "polyregions/conv.py",
          "                r = i * stride + a - padding\n", "                r = i + a - padding\n",
          ("tests/test_conv.py",),
          "ignore the stride along rows"),
    Fault("bounds-zaslavsky", "polyregions/bounds/dense.py",
          "    return sum(comb(n, i) for i in range(min(n, k) + 1))\n",
          "    return sum(comb(n, i) for i in range(min(n, k)))\n",
          ("tests/bounds/test_dense.py",),
          "drop the top term of sum_{i <= k} C(n, i)"),
    Fault("bounds-serra-min", "polyregions/bounds/dense.py",
          "        return sum(comb(n, j) * F(l + 1, min(c, n - j)) for j in range(min(c, n) + 1))\n",
          "        return sum(comb(n, j) * F(l + 1, min(c, n)) for j in range(min(c, n) + 1))\n",
          ("tests/bounds/test_dense.py",),
          "Serra's index set without the n_l - j_l term"),
]


def tracked_files(root: pathlib.Path) -> list:
    out = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True)
    return [p for p in out.stdout.splitlines() if p]


def make_copy(root: pathlib.Path, dest: pathlib.Path) -> None:
    for rel in tracked_files(root):
        src = root / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    link = dest / "polyregions" / "solvers"
    if not link.exists():
        link.symlink_to(pathlib.Path("..") / "solvers", target_is_directory=True)


def run_tests(copy: pathlib.Path, tests, timeout: float) -> tuple:
    env = dict(os.environ, PYTHONPATH=str(copy) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0, ""
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
    return proc.returncode, time.perf_counter() - t0, tail[0]


def check_imports_the_copy(copy: pathlib.Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(copy))
    code = "import polyregions, polyregions.solvers.base as b; print(polyregions.__file__); print(b.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True, check=True)
    for line in out.stdout.split():
        if not pathlib.Path(line).resolve().is_relative_to(copy.resolve()):
            raise SystemExit(f"the copy is not what Python imports: {line}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    parser.add_argument("--only", action="append", default=[], help="run only this fault (repeatable)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per pytest run (default 900)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of the unmodified copy")
    args = parser.parse_args(argv)
    faults = [f for f in FAULTS if not args.only or f.name in args.only]
    unknown = set(args.only) - {f.name for f in FAULTS}
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    if args.list:
        for f in faults:
            print(f"{f.name:26s} {f.path}: {f.why}\n{'':26s} caught by {' '.join(f.tests)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="polyregions-faults-") as tmp:
        copy = pathlib.Path(tmp) / "src"
        make_copy(ROOT, copy)
        check_imports_the_copy(copy)
        if not args.no_baseline:
            tests = sorted({t for f in faults for t in f.tests})
            rc, secs, tail = run_tests(copy, tests, args.timeout)
            print(f"baseline (no fault): exit {rc} in {secs:.0f} s: {tail}", flush=True)
            if rc != 0:
                print("the unmodified copy fails its tests: fix that first")
                return 2
        missed = []
        for f in faults:
            target = copy / f.path
            original = target.read_text()
            hits = original.count(f.find)
            if hits != 1:
                print(f"{f.name:26s} STALE: the snippet occurs {hits} times in {f.path}", flush=True)
                missed.append(f.name)
                continue
            target.write_text(original.replace(f.find, f.replace))
            try:
                rc, secs, tail = run_tests(copy, f.tests, args.timeout)
            finally:
                target.write_text(original)
            caught = rc == 1
            print(f"{f.name:26s} {'caught' if caught else 'MISSED'} (exit {rc}, {secs:.0f} s): {tail}", flush=True)
            if not caught:
                missed.append(f.name)
    if missed:
        print(f"{len(missed)} of {len(faults)} faults not caught: {', '.join(missed)}")
        return 1
    print(f"all {len(faults)} faults caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
