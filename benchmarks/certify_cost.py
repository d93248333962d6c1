"""The cost of a certified count against the float count, in one process and one command:

    python benchmarks/certify_cost.py [--net D:W1,W2] [--seed S] [--repeat K] [--certificate FILE]

Counts the seeded He-initialised net (benchmarks/nets.py; default d=4 [16, 16], 26,634
regions in [-1, 1]^4) with the default float search (eps = 1e-9) and with
``certify=True`` after a warm-up count of a small net (compile caches warm), and prints
both times (each the fastest of --repeat interleaved runs), their ratio, the two counts and the certificate work (hint LPs, exact
simplex runs). With --certificate the certificate is written and re-checked by
``polyregions.exact.checker.check`` (timed separately).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402
from polyregions.exact.checker import check  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="4:16,16", help="D:W1,W2,... (default 4:16,16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--certificate", default=None, help="write the certificate here and check it")
    p.add_argument("--repeat", type=int, default=2, help="runs of each count, interleaved; the fastest is kept")
    args = p.parse_args(argv)
    d, widths = args.net.split(":")
    d, widths = int(d), [int(w) for w in widths.split(",")]
    net, dom = he_net(d, widths, args.seed), unit_box(d)
    pr.count_regions(he_net(2, [4, 4]), unit_box(2))  # warm-up
    pr.count_regions(he_net(2, [4, 4]), unit_box(2), certify=True)
    t_float, t_cert = [], []
    for _ in range(args.repeat):  # interleaved, the fastest of each kept: the machine's load varies
        t = time.perf_counter()
        flt = pr.count_regions(net, dom)
        t_float.append(time.perf_counter() - t)
        t = time.perf_counter()
        cert = pr.count_regions(net, dom, certify=True, certificate=args.certificate)
        t_cert.append(time.perf_counter() - t)
    t_float, t_cert = min(t_float), min(t_cert)
    print(f"machine   : {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print(f"net       : d={d} {widths} seed {args.seed} in [-1, 1]^{d}")
    print(f"float     : {flt.count:,} regions in {t_float:.2f} s")
    print(f"certified : {cert.count:,} regions in {t_cert:.2f} s (certified={cert.certified}, "
          f"undecided={len(cert.undecided)}, float count in the same run {cert.float_count:,})")
    print(f"work      : {cert.hint_lps:,} hint LPs, {cert.exact_lps:,} exact simplex runs")
    print(f"ratio     : certified / float = {t_cert / t_float:.1f}x")
    if args.certificate:
        path = os.path.join(tempfile.mkdtemp(), "net.npz")
        pr.io.save_network(net, path)
        t = time.perf_counter()
        rep = check(args.certificate, path)
        print(f"check     : {rep.count:,} regions, {rep.empty:,} empty branches, complete={rep.complete}, "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
