"""This checkout against another one, on the low-dimensional nets, interleaved in one run.

    python benchmarks/against.py PATH [--limit S] [--repeat N]

PATH is a directory holding another version of the package laid out for import
(``PATH/polyregions`` with ``PATH/polyregions/solvers``; for a git revision:
``git archive REV | tar -x -C SRC``, then copy ``SRC/polyregions`` to ``PATH`` and
``SRC/solvers`` to ``PATH/polyregions/solvers``). Each measurement runs in a fresh child
process (one core, after a warm-up count), alternating between the two versions, so both
see the same load on a shared machine; the table shows regions per CPU second, best of
--repeat. Nets: d=4 [16, 16] (complete) and d=8 [16, 16] (the first --limit seconds), eps 1e-7,
the default backend, [-1, 1]^d (benchmarks/nets.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = [(4, [16, 16]), (8, [16, 16])]

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import polyregions as pr
from nets import he_net, unit_box
d, widths, limit = int(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4])
net, box = he_net(d, widths), unit_box(d)
pr.count_regions(net, box, eps=1e-7, max_regions=2000)
c0 = time.process_time()
res = pr.count_regions(net, box, eps=1e-7, time_limit=limit)
cpu = time.process_time() - c0
print("RESULT " + json.dumps(dict(count=res.count, complete=res.complete, cpu=cpu, where=pr.__file__)))
"""


def measure(root, d, widths, limit):
    env = dict(os.environ)  # as a user runs it: the package holds BLAS to one thread itself
    if root is not None:
        env["PYTHONPATH"] = root
    out = subprocess.run([sys.executable, "-c", _CHILD, HERE, str(d), json.dumps(widths), str(limit)],
                         capture_output=True, text=True, env=env, cwd=root or os.getcwd(), check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", help="the other version's import root")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per count")
    ap.add_argument("--repeat", type=int, default=2, help="runs per net and version; the best rate is shown")
    args = ap.parse_args(argv)
    print(f"{'net':<14}{'this: regions/cpu-s':>22}{'other: regions/cpu-s':>22}{'ratio':>8}")
    for d, widths in NETS:
        best = {"this": 0.0, "other": 0.0}
        counts = {}
        for _ in range(args.repeat):
            for label, root in (("this", None), ("other", os.path.abspath(args.path))):
                r = measure(root, d, widths, args.limit)
                best[label] = max(best[label], r["count"] / r["cpu"])
                counts[label] = (r["count"], r["complete"], r["where"])
        print(f"d={d} {widths}".ljust(14) + f"{best['this']:>22,.0f}{best['other']:>22,.0f}"
              f"{best['this'] / best['other']:>8.2f}")
        if counts["this"][1] and counts["other"][1] and counts["this"][0] != counts["other"][0]:
            print(f"  !! count mismatch: {counts['this'][0]} != {counts['other'][0]}")
    print("this:", counts["this"][2], " other:", counts["other"][2])


if __name__ == "__main__":
    main()
