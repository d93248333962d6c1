"""The polyhedral complex, facets, adjacency and Qhull geometry: cost beside counting, one process.

    python benchmarks/bench_complex.py [--regions 20] [--max-dim 8] [--only complex|adjacency|qhull]

1. ``polyhedral_complex`` against ``count_regions`` (its own cells: planar in 2-D, cells3d in
   3-D) on the seeded He nets of ``benchmarks/nets.py``, each after a warm-up, best of 3:
   seconds and the ratio.
2. ``adjacency`` (the search, then the facet LPs of every region) against ``count_regions(...,
   method="dfs")``: seconds, LP runs per region.
3. ``region_polytope`` (Qhull) per input dimension on He nets [16, 16]: seconds and vertices per
   region over the first ``--regions`` regions, and Qhull failures (why ``QHULL_MAX_DIM`` is where it is).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import polyregions as pr
from nets import he_net, unit_box


def _best(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def complex_vs_count():
    print("complex against count (best of 3, seconds)")
    for d, widths in ((2, [64, 64, 64]), (2, [32, 32, 32, 32]), (3, [16, 16, 16]), (3, [32, 32])):
        net, box = he_net(d, widths), unit_box(d)
        pr.polyhedral_complex(net, box)  # warm-up (compiled kernels)
        t_count, res = _best(lambda: pr.count_regions(net, box))
        t_cx, cx = _best(lambda: pr.polyhedral_complex(net, box))
        print(f"  d={d} {widths}: {res.count:,} cells, f-vector {cx.f_vector}, Euler {cx.euler_characteristic}; "
              f"count {t_count:.3f} s, complex {t_cx:.3f} s ({t_cx / t_count:.1f}x)")


def adjacency_vs_search():
    print("adjacency against the search (one run each, seconds)")
    for d, widths in ((2, [16, 16]), (4, [8, 8]), (8, [6, 6])):
        net, box = he_net(d, widths), unit_box(d)
        pr.count_regions(net, box, method="dfs")
        t0 = time.perf_counter()
        count = pr.count_regions(net, box, method="dfs").count
        t_count = time.perf_counter() - t0
        t0 = time.perf_counter()
        graph = pr.adjacency(net, box)
        t_adj = time.perf_counter() - t0
        degrees = np.array([k for _, k in graph.degree()])
        print(f"  d={d} {widths}: {count:,} regions, {graph.number_of_edges():,} adjacencies (mean degree "
              f"{degrees.mean():.2f}); search {t_count:.3f} s, adjacency {t_adj:.2f} s ({t_adj / t_count:.0f}x, "
              f"{1e3 * t_adj / count:.1f} ms per region)")


def qhull_by_dimension(regions, max_dim):
    print(f"Qhull vertices and volume per region (first {regions} regions of he_net(d, [16, 16]))")
    for d in range(2, max_dim + 1):
        net, box = he_net(d, [16, 16]), unit_box(d)
        found = []
        for r in pr.enumerate_regions(net, box):
            found.append(r)
            if len(found) == regions:
                break
        times, verts, failures = [], [], 0
        for r in found:
            t0 = time.perf_counter()
            try:
                from polyregions.cells.geometry import region_polytope  # past QHULL_MAX_DIM as well
                import polyregions.cells.geometry as geometry

                saved, geometry.QHULL_MAX_DIM = geometry.QHULL_MAX_DIM, max_dim
                try:
                    poly = region_polytope(net, box, r)
                finally:
                    geometry.QHULL_MAX_DIM = saved
                verts.append(len(poly.vertices))
            except pr.UnsupportedError:
                failures += 1
            times.append(time.perf_counter() - t0)
        print(f"  d={d}: {np.mean(times):.4f} s per region (max {np.max(times):.3f}), "
              f"{np.mean(verts) if verts else float('nan'):.1f} vertices, {failures} Qhull failures")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--max-dim", type=int, default=8)
    parser.add_argument("--only", choices=["complex", "adjacency", "qhull"], default=None, help="one part only")
    args = parser.parse_args()
    if args.only in (None, "complex"):
        complex_vs_count()
    if args.only in (None, "adjacency"):
        adjacency_vs_search()
    if args.only in (None, "qhull"):
        qhull_by_dimension(args.regions, args.max_dim)


if __name__ == "__main__":
    main()
