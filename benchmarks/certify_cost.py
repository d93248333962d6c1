"""The cost of certified counts and of checking their certificates, side by side in one run:

    python benchmarks/certify_cost.py [--limit S] [--workers K] [--cases d4,digits,mlp784] [--suffix .cert]

Cases (after warm-up counts, compile caches warm and the compiled search's kernel loaded; eps 1e-9
as the CLI's default):

* ``d4``: the seeded He net d=4 [16, 16] in [-1, 1]^4 (benchmarks/nets.py; 26,634 regions);
* ``digits``: the embedded digits MLP 64-8-8-10 in the box of half-width 0.1 around its test
  image (``polyregions count --example``; 72 regions);
* ``mlp784``: the 784-input He MLP [32, 32] in the L-inf ball of radius 0.01 around
  ``image_point()`` (755 regions).

Per case: the plain count (one process and --workers processes), the certified count with
its certificate written (--workers processes; with --detail also without a file, and the
audited Python search's, the compiled path turned off), and the check of the certificate by the
standalone checker (one process and --workers processes); wall seconds, the ratios to the
plain counts, and the CPU seconds of this process (the workers' are not in it). --limit stops a certified count
(its time_limit) and the case is then reported as not finished. The machine's load average is
printed first: on a shared machine the ratios, measured in one run, are what to compare.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, image_point, load_search_kernel, unit_box  # noqa: E402
from polyregions.exact.checker import check  # noqa: E402


def cases(names):
    from polyregions.cli.main import EXAMPLE_FILE

    out = []
    if "d4" in names:
        out.append(("d=4 [16,16] in [-1,1]^4", he_net(4, [16, 16]), unit_box(4)))
    if "digits" in names:
        digits = pr.io.load_network(EXAMPLE_FILE)
        x0 = np.load(EXAMPLE_FILE)["x0"]
        out.append(("digits 64-8-8, box 0.1", digits, pr.Box(x0 - 0.1, x0 + 0.1)))
    if "mlp784" in names:
        out.append(("MLP 784 [32,32], L-inf 0.01", he_net(784, [32, 32]), pr.Ball(image_point(), 0.01, p=math.inf)))
    return out


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def detail(net, dom, path, t1, args):
    """The certified count without a file, and the audited Python search's (compiled path off), side by side."""
    from polyregions.exact import certified_count

    fast = certified_count.fast_applies
    for name, applies in (("compiled", fast), ("audited", lambda *a: False)):
        certified_count.fast_applies = applies
        try:
            nofile, t_n = timed(lambda: pr.count_regions(net, dom, certify=True, time_limit=args.limit,
                                                         workers=args.workers))
            withfile, t_w = timed(lambda: pr.count_regions(net, dom, certify=True, certificate=path,
                                                           time_limit=args.limit, workers=args.workers))
        finally:
            certified_count.fast_applies = fast
        print(f"  {name:9s} : {nofile.count:,} regions in {t_n:.2f} s without a file ({t_n / t1:.1f}x plain), "
              f"{t_w:.2f} s with it ({t_w / t1:.1f}x); certified={nofile.certified and withfile.certified}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=float, default=1800.0, help="time limit of each certified count (s)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cases", default="d4,digits,mlp784")
    p.add_argument("--suffix", default=".cert", help="the certificate's suffix: .cert (format 3, binary), .jsonl.gz "
                   "or .jsonl (format 2, JSON lines)")
    p.add_argument("--detail", action="store_true",
                   help="also the certified count without a certificate file, and the audited Python search's "
                        "(the compiled path turned off) with and without one")
    args = p.parse_args(argv)
    print(f"machine : {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} (1 min) at the start")
    pr.count_regions(he_net(2, [4, 4]), unit_box(2))  # warm-up
    pr.count_regions(he_net(2, [4, 4]), unit_box(2), certify=True)
    load_search_kernel()  # the compiled search's kernel compiled (once) and loaded, as after a long count
    folder = tempfile.mkdtemp()
    for name, net, dom in cases(args.cases.split(",")):
        plain, t1 = timed(lambda: pr.count_regions(net, dom))
        plain2, t2 = timed(lambda: pr.count_regions(net, dom, workers=args.workers))
        path = os.path.join(folder, "cert" + args.suffix)
        cert, tc = timed(lambda: pr.count_regions(net, dom, certify=True, certificate=path, time_limit=args.limit,
                                                  workers=args.workers))
        print(f"\n{name}")
        print(f"  plain     : {plain.count:,} regions in {t1:.2f} s (1 process); {plain2.count:,} in {t2:.2f} s "
              f"({args.workers} processes)")
        print(f"  certified : {cert.count:,} regions in {tc:.2f} s ({args.workers} processes) = {tc / t1:.1f}x plain "
              f"(1 process), {tc / t2:.1f}x plain ({args.workers} processes), "
              f"complete={cert.complete}, certified={cert.certified}, float count {cert.float_count:,}; "
              f"certificate {os.path.getsize(path) / 1e6:.2f} MB ({args.suffix})")
        if args.detail:
            detail(net, dom, path, t1, args)
        if not cert.certified:
            continue
        rep, tk1 = timed(lambda: check(path))
        rep2, tk2 = timed(lambda: check(path, workers=args.workers))
        print(f"  check     : {rep.count:,} regions, {rep.empty:,} empty branches: {tk1:.2f} s = {tk1 / t1:.1f}x plain "
              f"(1 process); {tk2:.2f} s = {tk2 / t1:.1f}x ({args.workers} processes)")
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
