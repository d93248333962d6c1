"""The certificate writer alone, both formats side by side in one run, on d=4's records:

    python benchmarks/certificate_writer.py [--repeat K]

The seeded He net d=4 [16, 16] in [-1, 1]^4 (benchmarks/nets.py; 26,634 regions, 155,783 empty
branches) is certified once (2 processes, format 2); its regions and empty branches become the
arrays :meth:`CertificateWriter.regions` and :meth:`CertificateWriter.empties` take (a
reference resolved to its shared certificate's positions). Its multipliers reach about 2^90,
beyond int64: for this timing they are shifted right until they fit (the file then proves
nothing; the check of real certificates is timed by ``certify_cost.py``). Each format writes the
same arrays: format 3 (``.cert``, bulk blocks) and format 2 (``.jsonl.gz`` and ``.jsonl``, one
record per line); the best of --repeat runs, its ratio to format 3, and the file's size.

Then the check of both formats, on a net whose every record fits a bulk block (d=4 [16, 16],
seeded integer weights in [-3, 3], half-integer biases, in [-1, 1]^4): its format 2 certificate
and the same certificate rewritten as format 3 (:func:`polyregions.exact.upgrade.upgrade`: every
region and every empty branch in bulk blocks, a reference replaced by its certificate's
multipliers), their sizes and the best of --repeat checks on 1 and 2 processes. The machine's
load average is printed: on a shared machine the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import polyregions as pr  # noqa: E402
from nets import he_net, unit_box  # noqa: E402
from polyregions.exact.certified_count import CertificateWriter  # noqa: E402
from polyregions.exact.exact_net import ExactNetwork  # noqa: E402
from polyregions.exact.checker import check  # noqa: E402
from polyregions.exact.upgrade import upgrade, v2_records  # noqa: E402


def d4_arrays(folder):
    """The d=4 certificate's regions ``(bits, points)`` and empty branches ``(bits, length, ptr, pos, val)``."""
    net, dom = he_net(4, [16, 16]), unit_box(4)
    path = os.path.join(folder, "d4.jsonl.gz")
    pr.count_regions(net, dom, certify=True, certificate=path, workers=2)
    header, records = v2_records(path)
    N = sum(len(layer["bias"]) for layer in header["network"]["layers"])
    certs = {r["cert"]: r["y"] for r in records if "cert" in r}
    regions = [r for r in records if "region" in r]
    bits = np.array([[int(c) for c in r["region"]] for r in regions], dtype=np.uint8)
    points = np.array([[int(p, 16) / int(r["den"], 16) for p in r["point"]] for r in regions])
    e_bits, length, ptr, pos, val = [], [], [0], [], []
    for r in records:
        if "empty" in r:
            y = {k: int(v, 16) for k, v in (r["y"] if "y" in r else certs[r["ref"]]).items() if int(v, 16)}
            e_bits.append([int(c) for c in r["empty"]] + [0] * (N - len(r["empty"])))
            length.append(len(r["empty"]))
            pos += [int(k) for k in y]
            val += [max(1, v >> max(0, v.bit_length() - 62)) for v in y.values()]
            ptr.append(len(pos))
    empties = (np.array(e_bits, dtype=np.uint8), np.array(length), np.array(ptr), np.array(pos), np.array(val))
    return ExactNetwork(net, dom), (bits, points), empties


def write(path, exact, regions, empties):
    writer = CertificateWriter(path, exact)
    writer.regions(*regions)
    writer.empties(*empties)
    writer.close({"count": len(regions[0]), "undecided": 0})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the start")
    folder = tempfile.mkdtemp()
    exact, regions, empties = d4_arrays(folder)
    print(f"d=4 [16,16]: {len(regions[0]):,} regions, {len(empties[1]):,} empty branches, "
          f"{len(empties[3]):,} multipliers")
    best = {}
    for suffix in (".cert", ".jsonl.gz", ".jsonl"):
        path = os.path.join(folder, "w" + suffix)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            write(path, exact, regions, empties)
            times.append(time.perf_counter() - t)
        best[suffix] = min(times)
        print(f"  {suffix:9s}: {best[suffix]:.3f} s (best of {args.repeat}) = {best[suffix] / best['.cert']:.1f}x "
              f"format 3; {os.path.getsize(path) / 1e6:.2f} MB")
    rng = np.random.default_rng(5)
    weights = [rng.integers(-3, 4, size=(16, 4)).astype(float), rng.integers(-3, 4, size=(16, 16)).astype(float)]
    biases = [rng.integers(-4, 5, size=16) / 2, rng.integers(-8, 9, size=16) / 2]
    text, binary = os.path.join(folder, "int.jsonl.gz"), os.path.join(folder, "int.cert")
    pr.count_regions(pr.Network.from_dense(weights, biases), unit_box(4), certify=True, certificate=text, workers=2)
    moved = upgrade(text, binary)
    print(f"integer d=4 [16,16]: {moved:,} records in bulk blocks")
    times = {}
    for _ in range(args.repeat):  # interleaved: the load changes alike for both
        for path, workers in itertools.product((text, binary), (1, 2)):
            times.setdefault((path, workers), []).append(timed_check(path, workers))
    for path in (text, binary):
        print(f"  check {os.path.basename(path):13s}: {check(path).count:,} regions, "
              f"{os.path.getsize(path) / 1e6:.2f} MB; {min(times[path, 1]):.2f} s (1 process), "
              f"{min(times[path, 2]):.2f} s (2 processes)")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")


def timed_check(path, workers):
    t = time.perf_counter()
    check(path, workers=workers)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
