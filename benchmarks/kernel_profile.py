"""Where a count's time goes inside the compiled kernels, by a sampling profiler (Linux ``perf``).

cProfile sees a compiled search as one call; ``perf`` samples the machine code, but numba writes
no symbol map for kernels loaded from its cache. This script runs warm counts of one case and then
writes ``/tmp/perf-<pid>.map`` (the address and name of every kernel of the package that the process
loaded), which ``perf report`` reads to name the samples:

    perf record -F 4000 -o /tmp/run.data python benchmarks/kernel_profile.py 784 --counts 30
    perf report -i /tmp/run.data --no-children --sort sym | head -30

Cases (benchmarks/nets.py, eps = 1e-7): ``784`` the MLP [32, 32] in the L-inf ball 0.01 around
``image_point()``; ``d8`` the He MLP d=8 [6, 6] in [-1, 1]^8. A kernel that another kernel calls is
often compiled into its caller (LLVM inlines it): its samples then count as the caller's. The map
gives each kernel the addresses up to the next one, so a symbol's share is approximate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import polyregions as pr  # noqa: E402
from nets import he_net, image_point, load_search_kernel, unit_box  # noqa: E402


def write_perf_map(path=None) -> int:
    """Write the perf map of every compiled kernel of the package loaded in this process; returns
    how many kernels it names."""
    from numba.core.registry import CPUDispatcher

    results, seen = [], set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("polyregions") or module is None:
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, CPUDispatcher) and id(obj) not in seen:
                seen.add(id(obj))
                results.extend(obj.overloads.values())
    names = {c.fndesc.llvm_func_name: c.fndesc.qualname for c in results}
    addresses = {}
    for c in results:
        for mangled, qualname in names.items():
            try:
                address = c.library.get_pointer_to_function(mangled)
            except Exception:  # a symbol this library does not hold
                continue
            if address:
                addresses[address] = qualname
    items = sorted(addresses.items())
    with open(path or f"/tmp/perf-{os.getpid()}.map", "w") as out:
        for k, (address, qualname) in enumerate(items):
            size = items[k + 1][0] - address if k + 1 < len(items) else 4096
            out.write(f"{address:x} {min(size, 1 << 20):x} {qualname}\n")
    return len(items)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=["784", "d8"])
    parser.add_argument("--counts", type=int, default=30, help="warm counts to sample (default 30)")
    args = parser.parse_args(argv)
    if args.case == "784":
        net, domain = he_net(784, [32, 32]), pr.Ball(image_point(), 0.01, p="inf")
    else:
        net, domain = he_net(8, [6, 6]), unit_box(8)
    load_search_kernel()  # the compiled search loaded, as after a user's first long count
    for _ in range(3):  # warm-up
        pr.count_regions(net, domain, eps=1e-7)
    start = time.perf_counter()
    for _ in range(args.counts):
        result = pr.count_regions(net, domain, eps=1e-7)
    seconds = (time.perf_counter() - start) / args.counts
    named = write_perf_map()
    print(f"{args.case}: {result.count} regions, {seconds:.4f} s per warm count; perf map of {named} kernels written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
