"""Other region counters, run on the benchmark nets for a side-by-side comparison.

These tools are optional and benchmark-only: they are not dependencies of polyregions.
Install them with

    pip install relucent==1.0.0 regioncam==0.5.2

relucent pulls in gurobipy (pip installs it with Gurobi's built-in size-limited license,
enough for these small LPs), networkx, plotly, scipy and tqdm; it does not need torch here,
since the nets are handed to it as its own numpy network (``relucent.model.ReLUNetwork``).
regioncam ships a compiled wheel and needs only numpy.

- ``relucent_count(net, d, time_limit) -> (count, seconds, complete)``: relucent's
  ``Complex.bfs`` in its cube mode on [-1, 1]^d (one worker process, Gurobi on one thread).
- ``regioncam_count(net, time_limit) -> (count, seconds)``: regioncam's partition of the
  square [-1, 1]^2 (2-D inputs only; regioncam computes in float32).
- ``affinitree_count(net, lo, hi, time_limit) -> (count, seconds, complete)``: affinitree 0.23's
  decision tree of the net on the box [lo, hi] (``pip install affinitree==0.23.*``; used by
  ``benchmarks/highdim.py``).

Each runs the tool in a child process that is killed at ``time_limit``, so a slow or hung
run cannot stall the benchmark, and returns ``None`` (after printing a one-line reason)
when the tool is not installed or fails. The returned tuples also carry ``cpu_seconds``
(CPU time of the child and its worker processes), which is steadier than wall-clock time
on a busy machine.

    python benchmarks/other_tools.py [--limit SECONDS] [--check] [--repeat N]

compares both tools with polyregions (one worker, eps = 1e-7) on the nets below and prints
a table. All three count activation regions (cells of one activation pattern, each convex,
so regions and patterns coincide). polyregions counts a region when it holds a ball of
radius eps; relucent decides emptiness with its own float64 tolerances, and regioncam splits
faces in float32 with no threshold. Thus a sliver thinner than eps can be counted by the
others and not by polyregions: d=2 [64, 64, 64] has one, with an inscribed radius of 8e-9
(14,012 regions at eps = 1e-7, 14,013 at eps = 1e-9, as regioncam counts).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

__all__ = ["affinitree_count", "relucent_count", "regioncam_count"]

EPS = 1e-7


class Timed(tuple):
    """A result tuple that also carries ``cpu_seconds`` (``None`` if it could not be read)."""

    cpu_seconds: float | None = None

    def __new__(cls, values, cpu_seconds=None):
        obj = super().__new__(cls, values)
        obj.cpu_seconds = cpu_seconds
        return obj


def _layers(net):
    return [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64).reshape(-1)) for W, b in net.hidden]


# The child's helper: CPU seconds of this process and its (live or reaped) children.
_CPU = r"""
import os, time
def _child_cpu():
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as f:
                for pid in f.read().split():
                    try:
                        with open(f"/proc/{pid}/stat") as g:
                            fields = g.read().rsplit(")", 1)[1].split()
                        total += (int(fields[11]) + int(fields[12])) / tick
                    except (OSError, IndexError, ValueError):
                        pass
    except OSError:
        pass
    t = os.times()
    return total + t.children_user + t.children_system
def cpu_now():
    return time.process_time() + _child_cpu()
"""

_RELUCENT_CHILD = _CPU + r"""
import json, sys, threading
import numpy as np
path, time_limit, cube_mode, verify = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
data = np.load(path)
n_layers = int(data["n"])
import relucent
import relucent._internal.gurobi as rg
from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork

# One Gurobi thread in every environment relucent creates (the one-core comparison).
_configure = rg._configure_cached_gurobi_env
rg._configure_cached_gurobi_env = lambda env, num_threads: _configure(env, 1)

layers = []
for i in range(n_layers):
    layers += [LinearLayer(weight=data[f"W{i}"], bias=data[f"b{i}"].reshape(1, -1)), ReLULayer()]
d = int(data["W0"].shape[1])
rnet = ReLUNetwork(layers, input_shape=(d,))
out = {}
cx = None
def run():
    global cx
    try:
        cx = relucent.Complex(rnet)
        res = cx.bfs(nworkers=1, cube_radius=1.0, cube_mode=cube_mode, verify=verify, verbose=0)
        out.update(count=len(cx), complete=bool(res.complete), verified=bool(res.verified))
    except BaseException as e:  # reported to the parent
        out.update(error=f"{type(e).__name__}: {e}".splitlines()[0][:300])
c0, t0 = cpu_now(), time.perf_counter()
th = threading.Thread(target=run, daemon=True)
th.start()
th.join(time_limit)
wall, cpu = time.perf_counter() - t0, cpu_now() - c0
if th.is_alive():
    out = dict(count=len(cx) if cx is not None else 0, complete=False, timeout=True)
out.update(seconds=wall, cpu=cpu)
print("RESULT " + json.dumps(out), flush=True)
os._exit(0)
"""

_REGIONCAM_CHILD = _CPU + r"""
import json, sys
import numpy as np
data = np.load(sys.argv[1])
n_layers = int(data["n"])
import regioncam
Ws = [np.ascontiguousarray(data[f"W{i}"].T, dtype=np.float32) for i in range(n_layers)]
bs = [np.ascontiguousarray(data[f"b{i}"], dtype=np.float32) for i in range(n_layers)]
c0, t0 = cpu_now(), time.perf_counter()
rc = regioncam.Regioncam(size=1.0)  # the square [-1, 1]^2
for W, b in zip(Ws, bs):
    rc.linear(W, b)  # x @ W + b, W of shape (in, out)
    rc.relu()
count = rc.num_faces
wall, cpu = time.perf_counter() - t0, cpu_now() - c0
print("RESULT " + json.dumps(dict(count=int(count), seconds=wall, cpu=cpu)), flush=True)
"""


def _run_child(script, net, args, time_limit, tool, slack=60.0, extra=None, on_timeout=None):
    """Run `script` on the net's layers (and the `extra` arrays) in a fresh process group; the
    parsed RESULT dict, `on_timeout` when it had to be killed, or None."""
    fd, path = tempfile.mkstemp(suffix=".npz")
    os.close(fd)
    layers = _layers(net)
    arrays = {"n": np.array(len(layers)), **(extra or {})}
    for i, (W, b) in enumerate(layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    np.savez(path, **arrays)
    proc = subprocess.Popen([sys.executable, "-c", script, path, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    timed_out = False
    try:
        # `slack`: imports and start-up on a busy machine (and, for relucent, its own stop).
        stdout, stderr = proc.communicate(timeout=time_limit + slack)
    except subprocess.TimeoutExpired:
        timed_out = True
        stdout, stderr = "", f"no answer within {time_limit:.0f} s (+{slack:.0f} s for start-up)"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child and any worker processes it left
        except ProcessLookupError:
            pass
        proc.wait()
        os.unlink(path)
    if on_timeout is not None and timed_out:
        return on_timeout
    line = next((ln for ln in stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        print(f"{tool}: failed to run ({last[:200]})")
        return None
    out = json.loads(line[len("RESULT "):])
    if "error" in out:
        print(f"{tool}: failed ({out['error']})")
        return None
    return out


_AFFINITREE_CHILD = _CPU + r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
path = sys.argv[1]
data = np.load(path)
from affinitree import AffFunc, AffTree, Architecture, Polytope, builder
lo, hi = data["lo"], data["hi"]
d = lo.size
arch = Architecture(d)
for i in range(int(data["n"])):
    arch.linear(AffFunc.from_mats(data[f"W{i}"], data[f"b{i}"]))
    arch.relu()
pre = AffTree.from_poly(Polytope.hyperrectangle(d, list(zip(lo.tolist(), hi.tolist()))), AffFunc.identity(d))
c0, t0 = cpu_now(), time.perf_counter()
try:
    out = dict(count=int(builder.from_layers(arch, pre).num_terminals()), complete=True)
except BaseException as e:  # reported to the parent
    out = dict(error=f"{type(e).__name__}: {e}".splitlines()[0][:300])
out.update(seconds=time.perf_counter() - t0, cpu=cpu_now() - c0)
print("RESULT " + json.dumps(out), flush=True)
"""


def affinitree_count(net, lo, hi, time_limit):
    """Count the activation patterns of `net` on the box ``[lo, hi]`` with affinitree 0.23:
    ``builder.from_layers`` with a hyperrectangle precondition, the count is the tree's
    terminals. affinitree keeps closed-feasible patterns (three lines through a point give
    8, not 6); on generic nets the counts agree with polyregions'. Returns
    ``(count, seconds, complete)`` (``count`` 0 and ``complete`` False when stopped at
    `time_limit`: the tree is built whole), or None when affinitree is missing or fails."""
    if _missing("affinitree", "affinitree", "affinitree==0.23.*"):
        return None
    extra = {"lo": np.asarray(lo, dtype=np.float64), "hi": np.asarray(hi, dtype=np.float64)}
    # the tree is built in one call, which cannot be interrupted: the process is killed at the limit
    stopped = dict(count=0, complete=False, seconds=float(time_limit))
    out = _run_child(_AFFINITREE_CHILD, net, [], time_limit, "affinitree", slack=5.0, extra=extra, on_timeout=stopped)
    if out is None:
        return None
    return Timed((int(out["count"]), float(out["seconds"]), bool(out["complete"])), out.get("cpu"))


def _missing(module, tool, install):
    if importlib.util.find_spec(module) is None:
        print(f"{tool}: not installed (pip install {install})")
        return True
    return False


def relucent_count(net, d, time_limit, *, cube_mode="intersect", verify=True):
    """Count the regions of `net` in [-1, 1]^d with relucent 1.0.0; ``(count, seconds, complete)``.

    ``Complex.bfs(cube_radius=1, cube_mode="intersect", nworkers=1)``: a breadth-first walk over
    the cells that meet the cube, from the cell of the origin, crossing the certified facets of
    each cell; with ``verify`` (relucent's default) the complex is then certified complete.
    ``"clipped"`` also clips each kept cell's halfspaces to the cube (one more LP per cell).
    `seconds` is the wall-clock time of that call; when `time_limit` stops it, `count` is the
    number of cells found so far and `complete` is False. ``None`` if relucent is missing or fails.
    """
    if _missing("relucent", "relucent", "relucent==1.0.0") or _missing("gurobipy", "relucent", "gurobipy"):
        return None
    if len(net.hidden) == 0 or np.asarray(net.hidden[0][0]).shape[1] != d:
        print(f"relucent: the net's input dimension is not {d}")
        return None
    out = _run_child(_RELUCENT_CHILD, net, [time_limit, cube_mode, int(verify)], time_limit, "relucent")
    if out is None:
        return None
    return Timed((int(out["count"]), float(out["seconds"]), bool(out["complete"])), out.get("cpu"))


def regioncam_count(net, time_limit):
    """Count the regions of a 2-D-input `net` in [-1, 1]^2 with regioncam 0.5.2; ``(count, seconds)``.

    ``Regioncam(size=1)`` (the square [-1, 1]^2), then ``linear(W.T, b)`` and ``relu()`` per
    hidden layer in float32; the count is ``num_faces``. `seconds` is the time of those calls
    (imports excluded). ``None`` if regioncam is missing, the input is not 2-D, or the run
    fails or exceeds `time_limit` (regioncam cannot report a partial count).
    """
    if _missing("regioncam", "regioncam", "regioncam==0.5.2"):
        return None
    if len(net.hidden) == 0 or np.asarray(net.hidden[0][0]).shape[1] != 2:
        print("regioncam: only 2-D inputs are supported")
        return None
    out = _run_child(_REGIONCAM_CHILD, net, [], time_limit, "regioncam", slack=20.0)
    if out is None:
        return None
    if out["seconds"] > time_limit:
        print(f"regioncam: exceeded the time limit ({out['seconds']:.1f} s > {time_limit:.0f} s)")
        return None
    return Timed((int(out["count"]), float(out["seconds"])), out.get("cpu"))


# ---------------------------------------------------------------------------------------------
# Side-by-side comparison

RELUCENT_NETS = [(4, [8, 8]), (8, [6, 6])]
REGIONCAM_NETS = [(2, [64, 64, 64]), (2, [16, 16, 16])]
CHECK_NETS = {"relucent": [(2, [8, 8]), (4, [8, 8])], "regioncam": [(2, [8, 8])]}


def _polyregions(net, d, time_limit):
    import polyregions as pr

    box = pr.Box(-np.ones(d), np.ones(d))
    c0 = time.process_time()
    res = pr.count_regions(net, box, eps=EPS, time_limit=time_limit)
    return res.count, res.stats.seconds, res.complete, time.process_time() - c0


def main(argv=None):
    import argparse

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from nets import he_net

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=75.0, help="seconds per run (each tool)")
    ap.add_argument("--check", action="store_true", help="only check the counts on the small nets")
    ap.add_argument("--repeat", type=int, default=1, help="runs per net and tool; the fastest is shown")
    ap.add_argument("--cube-mode", default="intersect", choices=["intersect", "clipped"])
    args = ap.parse_args(argv)

    import polyregions as pr

    pr.count_regions(he_net(2, [4]), pr.Box(-np.ones(2), np.ones(2)), eps=EPS)  # warm-up
    runs = []
    if args.check:
        runs += [("relucent", d, w) for d, w in CHECK_NETS["relucent"]]
        runs += [("regioncam", d, w) for d, w in CHECK_NETS["regioncam"]]
    else:
        runs += [("relucent", d, w) for d, w in RELUCENT_NETS]
        runs += [("regioncam", d, w) for d, w in REGIONCAM_NETS]
    header = (f"{'net':<18}{'tool':<11}{'regions':>10}{'seconds':>10}{'cpu s':>9}"
              f"{'polyregions':>13}{'seconds':>10}{'cpu s':>9}{'ratio':>8}{'cpu ratio':>11}")
    print(header)
    print("-" * len(header))
    for tool, d, widths in runs:
        net = he_net(d, widths)
        best_o = best_p = None
        for _ in range(args.repeat):
            # Interleave the two, so that both see the same load on a shared machine.
            if tool == "relucent":
                o = relucent_count(net, d, args.limit, cube_mode=args.cube_mode)
                o = None if o is None else (o[0], o[1], o[2], o.cpu_seconds)
            else:
                o = regioncam_count(net, args.limit)
                o = None if o is None else (o[0], o[1], True, o.cpu_seconds)
            p = _polyregions(net, d, args.limit)
            if o is not None and (best_o is None or o[1] < best_o[1]):
                best_o = o
            if best_p is None or p[1] < best_p[1]:
                best_p = p
        name = f"d={d} {widths}"
        p_count, p_sec, p_done, p_cpu = best_p
        if best_o is None:
            print(f"{name:<18}{tool:<11}{'-':>10}{'-':>10}{'-':>9}{p_count:>12,}{'' if p_done else '+':1}"
                  f"{p_sec:>10.3f}{p_cpu:>9.3f}")
            continue
        o_count, o_sec, o_done, o_cpu = best_o
        o_cpu_s = f"{o_cpu:>9.3f}" if o_cpu is not None else f"{'-':>9}"
        ratio = o_sec / p_sec if o_done else float("nan")
        cpu_ratio = o_cpu / p_cpu if (o_done and o_cpu is not None) else float("nan")
        print(f"{name:<18}{tool:<11}{o_count:>9,}{'' if o_done else '+':1}{o_sec:>10.3f}{o_cpu_s}"
              f"{p_count:>12,}{'' if p_done else '+':1}{p_sec:>10.3f}{p_cpu:>9.3f}"
              f"{ratio:>8.2f}{cpu_ratio:>11.2f}"
              + ("" if o_done else f"  ({tool} stopped at {args.limit:.0f} s: > {o_sec / p_sec:.0f}x)"))
        if o_done and p_done and o_count != p_count:
            # polyregions counts the regions that hold a ball of radius eps; a thinner sliver
            # (which a tool without such a threshold keeps) shows up at a smaller eps.
            fine = pr.count_regions(net, pr.Box(-np.ones(d), np.ones(d)), eps=1e-9, time_limit=args.limit)
            print(f"  !! {tool} counts {o_count:,}, polyregions {p_count:,} at eps={EPS:g}"
                  f" and {fine.count:,}{'' if fine.complete else '+'} at eps=1e-9")
    print("ratio = tool seconds / polyregions seconds (wall clock; 'cpu' = CPU time incl. worker processes);"
          " '+': stopped at --limit (a lower bound).")


if __name__ == "__main__":
    main()
