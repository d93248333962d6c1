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
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fault:
    """Replace each `find` by its `replace` in `path`; the `tests` (pytest node ids) must fail."""

    name: str
    path: str
    edits: tuple  # ((find, replace), ...): each `find` must occur exactly once
    tests: tuple
    why: str


def fault(name, path, find, replace, tests, why, *more):
    """A fault of one edit (`more`: further (find, replace) pairs in the same file)."""
    return Fault(name, path, ((find, replace), *more), tuple(tests), why)


SEARCH = "polyregions/search/engine.py"
PLANAR = "polyregions/cells/planar.py"
POLYGON = "polyregions/cells/polygon.py"
PLANAR_SMALL = "polyregions/cells/planar_small.py"
PLANAR_KERNEL = "polyregions/cells/planar_kernel.py"
SLICES = "polyregions/domains/slices.py"
T_PLANAR = "tests/cells/test_planar.py::"
T_SLICES = "tests/domains/test_slices.py::"
T_MEASURE = "tests/cells/test_measure.py::"
T_SEARCH = ("tests/search/test_engine.py",)
COMPILED, T_COMPILED = "polyregions/search/compiled_kernels.py", "tests/search/test_compiled.py"
ENTRY = "polyregions/search/layer_entry.py"
T_RESOLUTION = "tests/search/test_engine_resolution.py"
T_SOLVERS = ("tests/solvers/test_conformance.py", "tests/search/test_engine.py")
CHECKER = "polyregions/exact/checker.py"
T_FAST = "tests/exact/test_fast_certify.py"
T_CHECKER = ("tests/exact/test_checker.py",)
T_TORCH, T_ONNX, T_IO = "tests/model/test_torch_import.py", "tests/model/test_onnx_import.py", "tests/model/test_io.py"

FAULTS = [
    fault("eps-witness-side", SEARCH, "            if r1 > eps:\n", "            if r1 > 0:\n", T_SEARCH,
          "keep the witness-side child when its half-ball radius is > 0 instead of > eps"),
    fault("eps-other-side-free", SEARCH, "        if not exact and (rho - delta) / 2 > eps:\n",
          "        if not exact and (rho - delta) / 2 > 0:\n", T_SEARCH,
          "keep the far side of a hyperplane through the witness ball without an eps check"),
    fault("row-norm-underflow", "polyregions/search/rows.py", "    return big * np.sqrt(np.einsum(\"ij,ij->i\", scaled, scaled))\n",
          "    return np.sqrt(np.einsum(\"ij,ij->i\", X, X))\n", T_SEARCH,
          "square the raw entries: rows below 1e-154 underflow and their neurons look constant"),
    fault("l2-deep-qp-radius", "solvers/highs.py", "            if radius > eps:\n                return TestResult(True, radius, x, radius)\n",
          "            if True:\n                return TestResult(True, radius, x, radius)\n", T_SOLVERS,
          "keep a node on the deep QP's point without checking its radius exceeds eps"),
    fault("l2-thin-node-depth", "solvers/highs.py", "        depth = eps if out is None else r - out[2]\n",
          "        depth = -math.inf if out is None else r - out[2]\n", T_SOLVERS,
          "report a thin non-empty node of the L2 ball as empty (its row is dropped, witnesses cross it)",
          ("            depth = depth if depth > 0 else eps  # non-empty, thinner than eps\n",
           "            depth = depth\n")),
    fault("projection-thin-node-depth", "solvers/projection_l2.py",
          "        if t_up <= 0:\n            return TestResult(False, -math.inf, None, -math.inf)\n",
          "        if True:\n            return TestResult(False, -math.inf, None, -math.inf)\n", T_SOLVERS,
          "the projection backend reports a thin non-empty node of the L2 ball as empty"),
    fault("highs-no-honest-check", "solvers/highs.py",
          "        if keep and t < HONEST_CHECK_BELOW:\n            A, b = self._rows()\n",
          "        if False:\n            A, b = self._rows()\n", T_SOLVERS,
          "trust HiGHS's LP optimum near eps without re-checking the witness"),
    fault("scipy-default-tolerance", "solvers/scipy_lp.py",
          'LINPROG_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}',
          "LINPROG_OPTIONS = {}", T_SOLVERS, "linprog's default tolerance 1e-7 decides near eps"),
    fault("scipy-l2-dishonest", "solvers/scipy_lp.py", "        if slack <= eps:\n", "        if False:\n", T_SOLVERS,
          "keep an L2 node on the cutting-plane LP's optimum, not on its point's slack",
          ("        radius = min(slack, r - dist)\n", "        radius = min(t, r - dist)\n")),
    fault("numba-no-band", "solvers/dense_kernels.py",
          "    if not (abs(t - eps) > band_eps and abs(t) > band0):  # NaN included\n", "    if False:\n",
          ("tests/solvers/test_numba_lp.py", *T_SOLVERS, T_COMPILED),
          "the compiled simplex decides near eps itself instead of handing over to HiGHS"),
    fault("compiled-eps-witness-side", COMPILED, "                if r1 > eps:\n", "                if r1 > 0:\n",
          (T_COMPILED,), "the compiled search keeps the witness-side child on a half-ball radius > 0, not > eps"),
    fault("compiled-eps-other-side-free", COMPILED, "                if not (rho - delta) / 2 > eps:\n",
          "                if not (rho - delta) / 2 > 0:\n", (T_COMPILED,),
          "the compiled search keeps the far side of a hyperplane through the witness ball without an eps check"),
    fault("compiled-box-strict", ENTRY, "            on = lo > -brt * size\n", "            on = lo > 0.0\n",
          (T_COMPILED,), "the compiled search's box test without the search's tolerance (a neuron vanishing on a "
          "face is branched on, node for node no longer the search)"),
    fault("search-constant-rounding-silent", "polyregions/search/engine.py",
          "            if abs(c[j]) <= ZERO_ROW_RTOL * cscale[j] and cscale[j] > 0.0:\n", "            if False:\n",
          (T_COMPILED + "::test_a_constant_within_rounding_of_zero_is_reported",),
          "a neuron constant on a node whose constant is zero within rounding is fixed off without a word"),
    fault("compiled-constant-rounding-silent", ENTRY,
          "            if abs(c[nv + i]) <= zrt * cscale[i] and cscale[i] > 0.0:\n", "            if False:\n",
          (T_COMPILED + "::test_a_constant_within_rounding_of_zero_is_reported",),
          "the compiled search fixes a constant within rounding of zero without a word"),
    fault("compiled-unsure-is-empty", "solvers/stack_kernels.py", "            return code, False, 0.0, 0.0\n",
          "            return DECIDED, False, 0.0, 0.0\n", (T_COMPILED,),
          "the compiled search reads a test the dense simplex was unsure of as empty (HiGHS never asked)"),
    fault("bounded-witness-upper-bounds", "solvers/bounded_kernels.py",
          "        if bhi[j] > 0.0 and hi[j] - z[j] < r:\n", "        if False:\n",
          ("tests/solvers/test_bounded_lp.py", *T_SOLVERS),
          "the fixed-margin witness radius ignores the upper bounds (a kernel that region_test, in another "
          "file, calls: caught only when the compiled cache sees the change)"),
    fault("bounded-zero-pivot", "solvers/bounded_kernels.py",
          "_COLUMN_RTOL * (1.0 + abs(a_q)) or abs(col[p]) <= PIVOT_TOL:\n",
          "_COLUMN_RTOL * (1.0 + abs(a_q)):\n", ("tests/solvers/test_bounded_kernels.py",),
          "the bounded simplex pivots on an entering column whose computed pivot is 0 (a division by zero)"),
    fault("bounded-ratio-prefix-half", "solvers/bounded_ratio.py",
          "    nl = _select(kcol, bmax, slacks, ns, rho, 0.5 * amax, cand, key)\n",
          "    nl = _select(kcol, bmax, slacks, ns, rho, 0.7 * amax, cand, key)\n",
          ("tests/solvers/test_bounded_ratio.py::test_the_ratio_test_takes_the_columns_the_full_pass_takes",),
          "the ratio test's first buckets miss candidates of bucket 1 (it flips and enters other columns than "
          "the full pass)"),
    fault("bounded-ratio-prefix-eighth", "solvers/bounded_ratio.py",
          "        nl = _select(kcol, bmax, slacks, ns, rho, 0.125 * amax, cand, key)\n",
          "        nl = _select(kcol, bmax, slacks, ns, rho, 0.2 * amax, cand, key)\n",
          ("tests/solvers/test_bounded_ratio.py::test_the_ratio_test_takes_the_columns_the_full_pass_takes",),
          "the ratio test's first six buckets miss part of bucket 4"),
    fault("bounded-ratio-block-skipped", "solvers/bounded_ratio.py",
          "        if bmax[b] > lim:\n", "        if bmax[b] > 2.0 * lim:\n",
          ("tests/solvers/test_bounded_ratio.py::test_the_ratio_test_takes_the_columns_the_full_pass_takes",),
          "the ratio test looks for candidates only in blocks whose largest key is twice the threshold"),
    fault("bounded-ratio-block-max-short", "solvers/bounded_ratio.py",
          "        for t in range(1, BLOCK):\n", "        for t in range(1, BLOCK - 1):\n",
          ("tests/solvers/test_bounded_ratio.py::test_the_columns_keys_are_the_eligible_pivots",),
          "a block's largest key leaves out its last column (its candidates can be missed)"),
    fault("bounded-pivot-row-drops-a-row", "solvers/bounded_kernels.py",
          "                out[j] += ya * R[a, j] + yb * R[b, j] + yc * R[c, j] + yd * R[d, j]\n",
          "                out[j] += ya * R[a, j] + yb * R[b, j] + yc * R[c, j]\n",
          ("tests/solvers/test_bounded_kernels.py::test_the_pivot_row_is_the_rows_combination",),
          "the pivot row leaves out every fourth row of the combination"),
    fault("bounded-bound-check-one-chain", "solvers/bounded_kernels.py",
          "    return max(max(w0, w1), max(w2, w3))\n", "    return max(w0, w1)\n",
          ("tests/solvers/test_bounded_kernels.py::test_the_bound_check_is_the_largest_violation",),
          "the simplex's bound check reads two of its four running maxima (a point outside its bounds passes)"),
    fault("cvxpy-dishonest-radius", "solvers/cvxpy_conic.py", "        if radius > self.eps:\n",
          "        if True:\n", ("tests/solvers/test_cvxpy_conic.py", *T_SOLVERS),
          "keep a node on Clarabel's optimum although its point holds no ball of radius eps"),
    fault("driver-max-regions", "polyregions/driver.py",
          "                if max_units is not None and count >= max_units:\n", "                if False:\n",
          ("tests/test_driver.py", "tests/search/test_parallel.py"), "the counting driver ignores max_regions"),
    fault("driver-saves-partial-units", "polyregions/driver.py",
          "            saver.save(count - uncommitted, items, stats)\n", "            saver.save(count, items, stats)\n",
          ("tests/test_driver.py",),
          "a checkpoint counts the regions of a subproblem it also keeps open (counted twice on resume)"),
    fault("batch-drops-subtree-regions", "polyregions/batch.py", "        record.count += regions\n",
          "        record.count += 0\n", ("tests/local/test_counts.py",),
          "the regions of a split count's subtrees are not added to its count"),
    fault("batch-split-limit-exact", "polyregions/batch.py", "            record.complete = record.stopped is None\n",
          "            record.complete = True\n", ("tests/local/test_counts.py",),
          "a split count stopped at its time limit is reported as exact"),
    fault("study-keeps-short-counts", "polyregions/local/store.py",
          "        return {r.task: r for r in records if r.complete or (r.limit if r.limit is not None else math.inf) "
          ">= limit}\n", "        return {r.task: r for r in records}\n", ("tests/local/test_counts.py",),
          "a rerun with a longer time limit keeps the counts an earlier run cut short"),
    fault("study-key-ignores-radii", "polyregions/local/studies.py",
          "        self.key = study_key(self.kind, self.nets, (points, radii), (p, eps, self.bounds))\n",
          "        self.key = study_key(self.kind, self.nets, (points,), (p, eps, self.bounds))\n",
          ("tests/local/test_counts.py",), "a checkpoint written for other radii is read as this study's"),
    fault("linf-bounds-shrunk", "polyregions/domains/convex.py",
          "            return self.center - self.radius, self.center + self.radius\n",
          "            return self.center - self.radius, self.center + self.radius / 2\n",
          ("tests/domains/test_convex.py", "tests/solvers/test_bounded_lp.py"),
          "an L-inf ball handed to the bounded backend as bounds tighter than its rows (regions near a face lost)"),
    fault("lazy-box-rows-sign", "solvers/base.py", '        object.__setattr__(self, "b", np.concatenate([hi, -lo]))\n',
          '        object.__setattr__(self, "b", np.concatenate([hi, lo]))\n', ("tests/solvers/test_bounded_lp.py",),
          "the rows of a box left to be built from its bounds are built with the lower bounds' sign lost"),
    fault("registry-serves-everything", "solvers/registry.py", "    if kind in cap.kinds:\n        return None\n",
          "    if True:\n        return None\n", ("tests/solvers/test_registry.py",),
          "the registry builds a backend for a domain its declaration does not list"),
    fault("auto-ignores-dimension", "solvers/registry.py",
          "                and (cap.auto_max_dim is None or problem.dim <= cap.auto_max_dim)\n", "",
          ("tests/solvers/test_registry.py",), "auto chooses the dense simplex at any input dimension"),
    fault("checkpoint-raw-unpickling", "polyregions/search/checkpoint.py", "        except UNPICKLING_ERRORS:\n",
          "        except ZeroDivisionError:\n", ("tests/search/test_checkpoint.py",),
          "a corrupt checkpoint raises the unpickler's own exception"),
    fault("zero-row-absolute", SEARCH, "        const = (norms <= ZERO_ROW_RTOL * scale) & split\n",
          "        const = (norms <= ZERO_ROW_RTOL) & split\n", ("tests/test_api_exact.py",),
          "an absolute zero-row test: a deep layer at weight scale 1e-6 looks constant"),
    fault("bounds-serra-reversed-widths", "polyregions/bounds/dense.py", "    return F(0, n0)\n",
          "    widths = widths[::-1]\n    return F(0, n0)\n", ("tests/bounds/test_dense.py",),
          "Serra's bound over the widths in reverse order"),
    fault("conv-output-size", "polyregions/model/conv.py",
          "    return (n + 2 * padding - f) // stride + 1\n", "    return (n + 2 * padding - f) // stride\n",
          ("tests/model/test_conv.py",), "one output position too few along each axis"),
    fault("conv-stride-offset", "polyregions/model/conv.py",
          "    r = i * stride + a - padding\n", "    r = i + a - padding\n",
          ("tests/model/test_conv.py",), "ignore the stride along rows"),
    fault("bounds-zaslavsky", "polyregions/bounds/dense.py",
          "    return sum(comb(n, i) for i in range(min(n, k) + 1))\n",
          "    return sum(comb(n, i) for i in range(min(n, k)))\n",
          ("tests/bounds/test_dense.py",), "drop the top term of sum_{i <= k} C(n, i)"),
    fault("cells3d-zero-neuron-on", "polyregions/cells/polyhedron.py",
          "                    bits[j] = 1 if nneg == 0 and npos > 0 else 0\n",
          "                    bits[j] = 1 if nneg == 0 else 0\n", ("tests/cells/test_cells3d.py",),
          "a neuron zero at every vertex of a 3-D cell (identically zero there) is called on"),
    fault("cells3d-keep-upper-bound", "polyregions/cells/polyhedron.py",
          "    if (vol - err) / area > near * eps:\n",
          "    if 3.0 * vol / area > eps:\n", ("tests/cells/test_cells3d.py",),
          "keep a 3-D cell on the upper bound 3 V / F of its inradius instead of a ball of radius eps"),
    fault("cells3d-cut-zero-vertex-one-side", "polyregions/cells/polyhedron_cut.py",
          "            keep_off = sa <= 0\n", "            keep_off = sa < 0\n", ("tests/cells/test_cells3d.py",),
          "a vertex on the cutting plane goes to the on part of a cut 3-D cell only, not to both"),
    fault("cells3d-cut-crossing-not-shared", "polyregions/cells/polyhedron_cut.py",
          "                q = xhead[_U(lo)]\n", "                q = -1\n", ("tests/cells/test_cells3d.py",),
          "a crossed edge of a cut 3-D cell gets a new vertex from each of its two faces (not one shared)"),
    fault("bounds-serra-index-set", "polyregions/bounds/dense.py",
          "        return sum(comb(n, j) * F(l + 1, min(c, n - j)) for j in range(min(c, n) + 1))\n",
          "        return sum(comb(n, j) * F(l + 1, min(c, n)) for j in range(min(c, n) + 1))\n",
          ("tests/bounds/test_dense.py",), "Serra's index set without the n_l - j_l term"),
    fault("checker-no-positive-multiplier", CHECKER, "        if not positive:\n", "        if False:\n", T_CHECKER,
          "the checker accepts all-zero multipliers (v = 0, s = 0 passes every inequality)"),
    fault("checker-skips-last-layer", CHECKER, "for l, (D, W, b) in enumerate(self.layers):",
          "for l, (D, W, b) in enumerate(self.layers[:-1]):", T_CHECKER,
          "the checker does not check a witness's last layer"),
    fault("checker-filter-drops-rounding", CHECKER,
          "bound = FILTER_FACTOR * ((Wf.shape[1] + 2) * 2.0 ** -53 * (np.abs(h) @ Wa.T + s * ba) + err @ Wa.T)",
          "bound = FILTER_FACTOR * (err @ Wa.T)", T_CHECKER,
          "the checker's float filter of region points drops the rounding error of the layer's own products and sums"),
    fault("checker-filter-drops-carried-error", CHECKER, " + s * ba) + err @ Wa.T)", " + s * ba))", T_CHECKER,
          "the checker's float filter of region points drops the error carried from the layer before"),
    fault("checker-coverage-overlap", CHECKER, "for i in np.flatnonzero(start != expected)[:1].tolist():",
          "for i in np.flatnonzero(start > expected)[:1].tolist():", T_CHECKER,
          "the checker's coverage of the pattern intervals misses overlaps (a region or empty prefix counted twice)"),
    fault("checker-negative-position", CHECKER, "if not 0 <= p < len(bits) or", "if not p < len(bits) or", T_CHECKER,
          "the checker takes a negative multiplier position of a bulk empty branch (Python reads another row)"),
    fault("checker-bits-beyond-prefix", CHECKER,
          '(bits[:, :N] * (np.arange(N) >= length[:, None])).any() and _fail(',
          '(bits[:, :N] * (np.arange(N) >= length[:, None])).any() and None and _fail(', T_CHECKER,
          "the checker reads a bulk empty branch's interval from bits beyond its prefix length"),
    fault("checker-ignores-shift", CHECKER, "map(int.__lshift__, val[s:t], shift[s:t])", "val[s:t]",
          T_CHECKER + ("tests/exact/test_certificate_writer.py",),
          "the checker ignores a bulk multiplier's power-of-two shift (reads val, not val * 2^shift)"),
    fault("checker-shift-misapplied", CHECKER, "map(int.__lshift__, val[s:t], shift[s:t])",
          "map(int.__mul__, val[s:t], shift[s:t])", T_CHECKER + ("tests/exact/test_certificate_writer.py",),
          "the checker multiplies a bulk multiplier by its shift instead of by 2^shift"),
    fault("writer-holds-caller-buffers", "polyregions/exact/certified_count.py",
          "self._bulk[tag].append(tuple(np.array(a, copy=True) for a in arrays))",
          "self._bulk[tag].append(arrays)",
          ("tests/exact/test_certificate_writer.py", "tests/exact/test_fast_certify.py"),
          "the certificate writer holds the caller's multiplier buffers (refilled before the block is written)"),
    fault("writer-bits-beyond-prefix", "polyregions/exact/certified_count.py", "            packed &= (0xFF00 >> ",
          "            packed |= 0 & (0xFF00 >> ", ("tests/exact/test_certificate_writer.py",),
          "the certificate writer keeps a caller's bits beyond a bulk empty branch's prefix"),
    fault("certified-from-complete", "polyregions/exact/certified_count.py",
          'certified=complete and not totals["undecided"],', "certified=complete,",
          ("tests/exact/test_certifier.py",), "a count with an undecided branch is reported certified"),
    fault("exact-net-bias-scale", "polyregions/exact/exact_net.py",
          "G, c = integer_product(Wb, Gp[on]), Wb.dot(cp[on]) + bi * self._scales[l]",
          "G, c = integer_product(Wb, Gp[on]), Wb.dot(cp[on]) + bi * self._scales[l + 1]",
          ("tests/exact/test_exact_net.py",),
          "a deeper layer's bias scaled by its own denominator too (the rows are no longer the pre-activations)"),
    fault("exact-net-flint-rounded-entries", "polyregions/exact/exact_net.py",
          "np.array([[int(v) for v in row] for row in product]",
          "np.array([[int(float(int(v))) for v in row] for row in product]",
          ("tests/exact/test_exact_net.py",),
          "the layer maps' product through python-flint read back through float64 (large integers rounded)"),
    fault("point-filter-no-carried-error", "polyregions/exact/point_filter.py",
          '\n                                              + np.einsum("ik,jk->ij", err, Wa))\n', ")\n",
          ("tests/exact/test_point_filter.py",),
          "the float filter of region points forgets the error a layer carries into the next (a wrong sign proven)"),
    # the compiled certified count (polyregions/exact/fast_*.py)
    fault("fast-support-no-bound", "polyregions/exact/fast_bounds.py", "    return margin >= BOUND_FACTOR * bound\n",
          "    return margin >= 0.0\n", (T_FAST,),
          "the compiled drop test accepts a float margin without its rounding error bound"),
    fault("fast-thin-dropped", "polyregions/exact/fast_kernels.py", "        _record_flag(bits, reg, fbits, flen, fwhy, p, bit, FLAG_THIN)\n",
          "        pass\n", (T_FAST,), "a branch thinner than eps but not proven empty is dropped without its exact decision"),
    fault("fast-flags-ignored", "polyregions/exact/fast_certify.py", "            self.auditor.explore(bits[:k].tolist())\n",
          "            pass\n", (T_FAST,), "the branches the compiled traversal flags are never decided exactly"),
    fault("fast-parked-here-skipped", "polyregions/exact/fast_certify.py", "                self._enter(*self.here.pop())\n",
          "                self.here.pop()\n", (T_FAST,),
          "the parked nodes a pool would not pay for are never certified in this process"),
    fault("fast-multiplier-shift-lost", "polyregions/exact/fast_certify.py", "self.out.eval[ptr[0]:ptr[ne]], self.out.eexp[ptr[0]:ptr[ne]])",
          "self.out.eval[ptr[0]:ptr[ne]])", (T_FAST,), "the bulk multipliers written without their power-of-two shifts"),
    fault("exact-lp-strict-optimum", "polyregions/exact/exact_lp.py", "    if value <= 0:\n", "    if value < 0:\n",
          ("tests/exact/test_exact_lp.py",),
          "the exact simplex misses certificates with y^T b = 0 (exact coincidences read as non-empty)"),
    # model import, network files and the command line
    fault("torch-add-alpha-ignored", "polyregions/model/torch_additions.py",
          '    alpha = float(node.kwargs.get("alpha", node.args[2] if len(node.args) > 2 else 1))\n',
          "    alpha = 1.0\n", (T_TORCH + "::test_add_and_sub_with_alpha_are_converted_exactly",),
          "torch.add(h, g, alpha=k) read as h + g"),
    fault("forward-check-unit-scale", "polyregions/model/graph.py",
          "CHECK_SCALES = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3)\n", "CHECK_SCALES = (1.0,)\n",
          (T_TORCH + "::test_the_forward_check_samples_far_from_the_origin",),
          "the forward check samples N(0, 1) only: a branch that is on only far out is never compared"),
    fault("torch-training-ignored", "polyregions/model/torch_import.py",
          "    if training:\n        name, m = training[0]\n", "    if False:\n        name, m = training[0]\n",
          (T_TORCH + "::test_training_mode_is_refused_only_where_it_changes_the_function",),
          "a BatchNorm in training mode is read with its running statistics"),
    fault("batchnorm-var-plus-eps", "polyregions/model/records.py",
          "    scale = (np.asarray(gamma, dtype=np.float64) if gamma is not None else 1.0) / np.sqrt(var + eps)\n",
          "    scale = (np.asarray(gamma, dtype=np.float64) if gamma is not None else 1.0) / (var + eps)\n",
          (T_ONNX + "::test_batch_normalization_after_gemm_and_conv",),
          "BatchNormalization divided by var + eps instead of its square root"),
    fault("onnx-pool-stride-kernel", "polyregions/model/onnx_import.py",
          '        stride = list(attrs.get("strides", [1] * len(kernel)))',
          '        stride = list(attrs.get("strides", kernel))', (T_ONNX + "::test_pooling_without_strides_has_stride_one",),
          "an ONNX pooling without strides takes the kernel as its stride (ONNX's default is 1)"),
    fault("onnx-matmul-untransposed", "polyregions/model/onnx_import.py",
          "        W = B.reshape(1, -1) if B.ndim == 1 else B.T", "        W = B.reshape(1, -1) if B.ndim == 1 else B",
          (T_ONNX + "::test_gemm_leaky_relu_and_a_residual_add",), "MatMul by a constant read as x @ B.T"),
    fault("io-composed-output-saved", "polyregions/model/io.py",
          "    if net.output_layer is not None:\n"
          '        spec["output"] = {"weight": store(net.output_layer[0]), "bias": store(net.output_layer[1])}\n',
          "    if net.output is not None:\n"
          '        spec["output"] = {"weight": store(net.output[0]), "bias": store(net.output[1])}\n',
          (T_IO + "::test_a_square_linear_tail_is_applied_once_after_loading",),
          "a file holds the output map composed with the linear tail, and the tail layers too"),
    fault("io-npz-drops-input-shape", "polyregions/model/io.py",
          "    return len(net.input_shape) == 1 and all(", "    return all(",
          (T_IO + "::test_a_dense_network_on_a_tensor_input_keeps_its_shape_in_npz",),
          "a Dense-only network on a (c, h, w) input saved as W0, b0, ... (its input shape lost)"),
    fault("record-stride-truncated", "polyregions/model/network.py",
          '            stride = int_at_least(layer.get("stride", 1), f"{where}.stride", 1)\n',
          '            stride = int(layer.get("stride", 1))\n', (T_IO + "::test_every_field_of_a_json_record_is_checked",),
          "a conv record's stride 2.5 read as 2"),
    fault("json-infinity", "polyregions/jsondoc.py", "        return None\n", "        return value\n",
          ("tests/cli/test_main.py::test_json_of_a_count_with_no_region_is_valid_json",),
          "--json writes min_radius = inf of a count without regions"),
]


#: Faults in lines, planes, the planar algorithm and what is measured on them.
SLICE_FAULTS = [
    fault("slice-rounding-rows", SLICES, "    G[zero] = 0.0\n", "",
          (T_SLICES + "test_a_neuron_identically_zero_on_a_plane_does_not_split_it",),
          "a neuron constant on a plane, composed in floating point, is searched as a hyperplane of rounding errors"),
    fault("slice-rounded-constants-unreported", SLICES,
          "        return int(np.count_nonzero(constant_on_slice(net, origin, Q)[3]))\n", "        return 0\n",
          (T_SLICES + "test_a_constant_decided_within_rounding_on_a_slice_is_reported",
           T_SLICES + "test_a_constant_zero_in_rationals_but_not_in_float_is_reported"),
          "a neuron constant on a slice whose constant is zero within rounding is fixed off without a word"),
    fault("cells-size-range-unchecked", "polyregions/cells/size_range.py",
          "    if size.max(initial=0.0) <= SIZE_LIMIT:  # False with a NaN (an infinite product with a zero)\n",
          "    if True:\n",
          ("tests/cells/test_size_range.py::test_large_weights_are_counted_by_the_search_and_exactly",),
          "a net whose sizes pass float32's range is counted by the cell algorithms, every tolerance infinite"),
    fault("slice-working-frame-at-origin", SLICES,
          "        x0, p0 = min(self._working_candidates(), key=lambda cand: float(np.abs(cand[0]).max()))\n",
          "        x0, p0 = self._working_candidates()[0]\n",
          (T_SLICES + "test_the_working_frame_starts_near_the_origin", T_PLANAR + "test_long_lines_keep_every_region"),
          "compute a slice from its first point (a segment's end 1e12 away): the regions near 0 drown in its rounding"),
    fault("slice-affine-map-frame", "polyregions/result.py", "            m = m - M @ self._p0\n", "            m = m\n",
          (T_SLICES + "test_slice_regions_report_input_and_slice_coordinates",),
          "a region's map in slice coordinates forgets that the working frame starts at p0"),
    fault("slice-layer-types", SLICES, '    require_relu(net, "lines, planes and the planar algorithm")\n',
          '    require_relu(net, "lines, planes and the planar algorithm")\n'
          '    if any(type(layer).__name__ in ("Activation", "Unflatten") for layer in net.layers):\n'
          '        raise UnsupportedError("`net`: Activation and Unflatten layers are not supported on slices")\n',
          (T_SLICES + "test_relu_networks_with_activation_and_unflatten_layers_count_on_slices",),
          "refuse plain ReLU networks on slices for the layers they were written with"),
    fault("plane-frame-swapped", SLICES, "        self.U = np.column_stack([self.u, self.v])\n",
          "        self.U = np.column_stack([self.v, self.u])\n",
          (T_SLICES + "test_plane_coordinates_are_its_own_arguments",),
          "a plane with u and v exchanged (planar and the search share the frame: only a reference built "
          "from the arguments sees it)"),
    fault("line-overflow-unchecked", SLICES,
          "        if not (np.all(np.isfinite(direction)) and math.isfinite(length)):\n", "        if False:\n",
          (T_SLICES + "test_slices_beyond_the_float_range_are_refused",),
          "accept a segment whose length overflows float64"),
    fault("planar-1d-extent-tolerance", PLANAR,
          "        z, size = y[:, None] * g1 + c1, np.abs(y)[:, None] * g1abs + c1abs\n",
          "        z, size = y[:, None] * g1 + c1, max(abs(y0), abs(y1)) * g1abs + c1abs + 0 * y[:, None]\n",
          (T_PLANAR + "test_long_lines_keep_every_region",),
          "the 1-D zero tolerance scales with the segment's length: regions lost on long lines"),
    fault("planar-crossing-interpolated", POLYGON, "    if abs(det) > CROSSING_SIN * gn:\n",
          "    if False:\n", (T_PLANAR + "test_large_planes_keep_every_region",),
          "new vertices interpolated along edges 1e16 long: regions lost on large planes"),
    fault("planar-1d-tolerance-silent", PLANAR,
          "        run.stats.near_eps += _tolerance_decisions(P, Z, i, j, tol, run.eps)\n",
          "        run.stats.near_eps += 0\n",
          (T_PLANAR + "test_decisions_of_the_rounding_tolerance_are_reported",),
          "a 1-D count where the rounding tolerance, not eps, dropped a region says nothing (near_eps 0)"),
    fault("planar-2d-tolerance-silent", POLYGON, "                        stats[0] += 1  # on the line by a tolerance coarser than eps\n",
          "                        stats[0] += 0\n", (T_PLANAR + "test_decisions_of_the_rounding_tolerance_are_reported",),
          "a 2-D count where the rounding tolerance, not eps, dropped a region says nothing (near_eps 0)"),
    fault("planar-1d-polytope-bounding-box", "polyregions/domains/base.py",
          "        if vertices.shape[1] == 1:\n            return float(vertices.min()), float(vertices.max())\n",
          "        if vertices.shape[1] == 1:\n            lo, hi = self.bounding_box()\n"
          "            return float(lo[0]), float(hi[0])\n",
          (T_PLANAR + "test_a_one_dimensional_polytope_is_its_interval_not_its_bounding_box",),
          "a 1-D polytope counted on its padded bounding box"),
    fault("planar-1d-length-not-half", PLANAR, "            keep = radius > eps\n", "            keep = length > eps\n",
          (T_PLANAR + "test_a_short_piece_counts_by_its_half_length",),
          "keep a 1-D piece by its length instead of its half-length"),
    fault("planar-1d-bits-no-tolerance", PLANAR, "            on[i[zero], j[zero]] = False\n", "            pass\n",
          (T_PLANAR + "test_a_neuron_zero_up_to_rounding_is_off_on_a_line",),
          "1-D pattern bits without their rounding tolerance: a neuron zero up to rounding is on"),
    fault("polygon-zero-neuron-on", POLYGON, "                    bits[j] = 1 if nneg == 0 and npos > 0 else 0\n",
          "                    bits[j] = 1 if nneg == 0 else 0\n",
          (T_PLANAR + "test_identically_zero_second_layer_neurons_do_not_split",),
          "a neuron identically zero on a polygon is reported on"),
    fault("polygon-resume-keeps-stats", POLYGON,
          "            nc, nv, stats[0], stats[1], k_end = nc0, nv0, near0, exact0, k\n",
          "            nc, nv, k_end = nc0, nv0, k\n",
          ("tests/cells/test_polygon.py::test_a_split_resumed_after_its_room_ran_out_is_the_same",),
          "a split resumed after its room ran out counts the decisions of the cell it stopped before twice"),
    fault("polygon-disc-shortcut-l1-unslacked", POLYGON,
          "                if (abs(zc) > (abs(g0) + abs(g1)) * NORM_SLACK * reach * (1.0 + DISC_SLACK) + tol_c\n",
          "                if (abs(zc) > max(abs(g0), abs(g1)) * reach + tol_c\n",
          ("tests/cells/test_planar.py",),
          "the disc short-cut bounds |g| by its largest entry (too small): neurons that cut a cell are decided unsplit"),
    fault("planar-small-size-range-unchecked", PLANAR_KERNEL,
          "        if not (s0 <= size_limit and s1 <= size_limit and sc <= size_limit):  # False with a NaN\n",
          "        if False:\n",
          ("tests/cells/test_size_range.py::test_large_weights_are_counted_by_the_search_and_exactly",),
          "a small 2-D count in one compiled call does not check the sizes: float32 tolerances infinite"),
    fault("planar-small-off-neurons-pass-on", PLANAR_KERNEL,
          "                    if bits[k, j]:  # an off neuron passes nothing on\n", "                    if True:\n",
          ("tests/cells/test_planar_small.py",),
          "a small 2-D count passes an off neuron's map on to the next layer"),
    fault("planar-small-domain-key-ignored", PLANAR_SMALL,
          "        prepared = _DOMAINS.get(fingerprint)\n", "        prepared = next(iter(_DOMAINS.values()), None)\n",
          ("tests/cells/test_planar_small.py::test_a_domain_changed_in_place_is_counted_anew",
           "tests/cells/test_planar_small.py::test_domains_made_anew_and_more_than_the_cache_holds_are_counted_right"),
          "a small 2-D count takes a prepared domain whatever its numbers: another box's polygon is counted"),
    fault("box-prefilter-exact-zero", SEARCH, "    on = lo > -BOX_RTOL * size\n", "    on = lo > 0\n",
          ("tests/search/test_engine.py::test_a_hyperplane_through_a_segment_end_is_no_sliver_at_large_coordinates",
           "tests/search/test_engine.py::test_the_box_prefilter_tolerance_is_named_and_relative"),
          "the bounding-box prefilter compares with 0: a one-ulp sliver at a segment's end counts",
          ("    off = (hi < BOX_RTOL * size) & ~on\n", "    off = (hi < 0) & ~on\n")),
    fault("far-rows-to-the-solver", SEARCH, "        return self.unbounded and not abs(b) < FAR_ROW_BOUND\n",
          "        return False\n", ("tests/search/test_engine.py::test_hyperplanes_far_from_the_origin_in_the_whole_space",),
          "on the whole space, a hyperplane 1e21 away goes to the solver (which reads the bound as infinite)"),
    fault("search-resolution-silent", SEARCH, "            if rho <= RESOLUTION_RTOL * np.abs(x).max(initial=0.0):\n",
          "            if False:\n", ("tests/search/test_engine.py::test_a_sliver_as_thin_as_its_coordinates_rounding_is_reported",
           "tests/search/test_engine.py::"
           "test_a_region_as_thin_as_its_coordinates_rounding_is_reported_without_a_near_empty_branch"),
          "the search counts a sliver as thin as its coordinates' rounding without a word"),
    fault("search-drop-resolution-silent", SEARCH,
          "                not res.keep and res.depth > eps - RESOLUTION_RTOL * scale):\n", "                False):\n",
          (T_RESOLUTION,),
          "the search drops a node whose depth is within its coordinates' rounding of eps without a word"),
    fault("root-identity-wrong-rows", SEARCH, "        G = op.copy() if root else op @ M\n",
          "        G = abs(op) if root else op @ M\n", ("tests/search/test_compiled.py",),
          "the root's identity input map skipped with |W| for W"),
    fault("compiled-root-identity-wrong-rows", ENTRY, "                    Gv[i, q] = Wv[i, q]\n",
          "                    Gv[i, q] = AWv[i, q]\n", (T_COMPILED,),
          "the compiled search skips the root's identity input map with |W| for W"),
    fault("compiled-root-identity-norms", ENTRY, "            rn[k] = 1.0\n", "            rn[k] = 1e13\n",
          (T_COMPILED,), "the compiled search takes the identity's rows for far longer than unit rows (every "
          "neuron of the first layer constant)"),
    fault("compiled-kept-rows-wrong-columns", ENTRY, "                        Wk[i, u] = Wv[i, k]\n",
          "                        Wk[i, u] = Wv[i, u]\n", (T_COMPILED,),
          "the compiled search's product without the rows of gain 0 takes W's first columns, not the kept rows'"),
    fault("compiled-row-norm-squared", ENTRY, "        return math.sqrt(s)\n    return row_norm(v)\n",
          "        return s\n    return row_norm(v)\n", (T_COMPILED,),
          "the compiled search's vectorised row norm returns the sum of squares (unit rows no longer unit)"),
    fault("compiled-witness-distance-stale", COMPILED,
          "                flt[F_DIST] = s  # (the witness's side reads it)\n", "", (T_COMPILED,),
          "the compiled search's witness side reads the distance of an earlier node's hyperplane"),
    fault("compiled-drop-resolution-silent", COMPILED,
          "            elif flt[F_ANS_KEEP] == 0.0 and depth > eps - flt[F_RES_RTOL] * max(\n",
          "            elif False and flt[F_ANS_KEEP] == 0.0 and depth > eps - flt[F_RES_RTOL] * max(\n", (T_RESOLUTION,),
          "the compiled search drops a node whose depth is within its coordinates' rounding of eps without a word"),
    fault("compiled-magnitude-never-computed", COMPILED, "    if big < 0.0:\n", "    if big < -1.0:\n",
          (T_COMPILED + "::test_the_kept_magnitude_is_the_current_witness", T_RESOLUTION), "the compiled search reads the witness's magnitude as its 'not known' mark (-1), never "
          "computing it: a drop within its coordinates' rounding of eps goes unreported"),
    fault("compiled-magnitude-stale", COMPILED, "            flt[F_XBIG] = -1.0  # a new witness: its magnitude not yet known\n",
          "", (T_COMPILED,), "the compiled search keeps the magnitude of an earlier witness's coordinates for a new one"),
    fault("single-region-dead-on", "polyregions/milp/milp.py",
          "    states = np.where(switching, 0, np.where(has_pos, 1, -1)).astype(np.int8)\n",
          "    states = np.where(switching, 0, np.where(has_neg, -1, 1)).astype(np.int8)\n",
          ("tests/milp/test_milp.py::test_single_region_reports_dead_neurons_off",),
          "single_region reports a neuron that is never negative nor positive (dead) as on"),
    fault("measure-leaky-as-relu", "polyregions/cells/measure.py",
          "            beta = np.where(z > 0, 1.0, stage.slopes)\n", "            beta = np.where(z > 0, 1.0, 0.0)\n",
          (T_MEASURE + "test_leaky_relu_distances_follow_the_negative_slope",),
          "boundary distances read every activation as ReLU"),
    fault("pieces-one-neuron-edges", "polyregions/cells/measure.py", "        for i, j in _shared_edges(regions):\n            join(i, j)\n",
          "        for i, j in _shared_edges(regions):\n"
          "            if np.count_nonzero(regions[i].bits != regions[j].bits) == 1:\n                join(i, j)\n",
          (T_MEASURE + "test_linear_pieces_merge_across_edges_where_several_neurons_switch",),
          "linear pieces joined only across edges where exactly one neuron switches"),
    fault("plot-decision-boundary-reversed", "polyregions/cells/plot.py",
          "                cell = _clip(cell, A[i] - A[k], c[k] - c[i])  # f_i <= f_k\n",
          "                cell = _clip(cell, A[k] - A[i], c[i] - c[k])  # f_i <= f_k\n",
          ("tests/cells/test_plot.py::test_plot_partition_draws_into_a_given_axes_with_decision_boundary",),
          "the decision boundary drawn where a class loses instead of where it wins"),
    fault("cli-plane-u-v-swapped", "polyregions/cli/slices.py",
          "        return Plane(origin, u, v, lo if lo.size > 1 else lo[0], hi if hi.size > 1 else hi[0])\n",
          "        return Plane(origin, v, u, lo if lo.size > 1 else lo[0], hi if hi.size > 1 else hi[0])\n",
          ("tests/cli/test_slices.py::test_count_on_a_line_and_planes",),
          "--plane ORIGIN U V LO HI builds the plane with U and V exchanged"),
]
FAULTS += SLICE_FAULTS


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
