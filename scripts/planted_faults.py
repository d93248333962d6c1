"""Plant known faults in a copy of the source and check that the tests catch every one.

    python scripts/planted_faults.py            # every fault (a few minutes)
    python scripts/planted_faults.py --list     # the faults and the tests that must catch them
    python scripts/planted_faults.py --only eps-witness-side --only l2-deep-qp-radius
    python scripts/planted_faults.py --check    # every fault still applies to the source

Each fault replaces one exact snippet of one file (the snippet must occur exactly once, so
a fault that no longer applies is reported as stale rather than silently skipped). The
tracked files are copied to a temporary folder, ``polyregions/solvers`` is linked to
``solvers/`` there (the mapping the installed package has), and the listed tests run
against the copy (``PYTHONPATH`` puts it before any installed polyregions). A fault is
caught when pytest reports failing tests (exit status 1). The unmodified copy must pass
the same tests first. Run it before merging a change to the search, a solver or a bound.
A fault in a compiled kernel is compiled in: the kernel cache is keyed on every kernel source
(``polyregions/solvers/jit.py``), so a caller in another file never keeps the unplanted callee.
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

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from fault_list import FAULTS  # noqa: E402  (the fault definitions, beside this script)


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
    parser.add_argument("--check", action="store_true", help="only check that every fault still applies (no tests)")
    args = parser.parse_args(argv)
    faults = [f for f in FAULTS if not args.only or f.name in args.only]
    unknown = set(args.only) - {f.name for f in FAULTS}
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    if args.list:
        for f in faults:
            print(f"{f.name:26s} {f.path}: {f.why}\n{'':26s} caught by {' '.join(f.tests)}")
        return 0
    if args.check:
        stale = [f.name for f in faults if [(ROOT / f.path).read_text().count(find) for find, _ in f.edits]
                 != [1] * len(f.edits)]
        print(f"stale: {', '.join(stale)}" if stale else f"all {len(faults)} faults apply")
        return 1 if stale else 0
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
            hits = [original.count(find) for find, _ in f.edits]
            if hits != [1] * len(f.edits):
                print(f"{f.name:26s} STALE: its snippets occur {hits} times in {f.path}", flush=True)
                missed.append(f.name)
                continue
            planted = original
            for find, replace in f.edits:
                planted = planted.replace(find, replace)
            target.write_text(planted)
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
