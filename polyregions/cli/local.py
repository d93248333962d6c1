"""The ``local`` and ``plot-local`` commands: exact local complexity around data points, as a table.

    polyregions local NET_OR_GLOB --points X.npy [--labels y.npy] --radius R [R ...] [--p inf|2|1]
                      -o table.parquet|table.csv [--eps E] [--workers N] [--scheduler ADDRESS]
                      [--checkpoint FILE] [--checkpoint-every S] [--time-limit-per-count S]
                      [--no-bounds] [--json] [--quiet]
    polyregions plot-local TABLE -o picture.png|svg|pdf [--radius R]

NET_OR_GLOB is one network file or a pattern (``ckpt/step_*.npz``, quoted) matching several,
taken in natural order (``step_2`` before ``step_10``); their training steps are the last number
in each file name when every name has one, else 0, 1, .... While counting, a line on stderr says
the counts done / total, the rate and the time left; at the end the command prints a summary
per radius (and per label) and writes the table. Every argument is checked before any counting;
an error is one line naming the option, with exit code 2.
"""

from __future__ import annotations

import glob
import math
import os
import re
import sys
import time

import numpy as np

from ..errors import InvalidInputError, UnsupportedError
from ..jsondoc import dumps
from ..model.io import load_network
from .args import dask_client, output_path, read_npy

__all__ = ["add_local_commands", "cmd_local", "cmd_plot_local", "network_files"]

#: Library argument names and the options that give them, for the messages of the library's checks.
OPTION_OF = {"`points`": "--points", "`radii`": "--radius", "`labels`": "--labels", "`p`": "--p",
             "`eps`": "--eps", "`workers`": "--workers", "`time_limit_per_count`": "--time-limit-per-count",
             "`checkpoint`": "--checkpoint", "`checkpoint_every`": "--checkpoint-every", "`radius`": "--radius",
             "`nets`": "NET_OR_GLOB"}


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def network_files(pattern: str) -> tuple:
    """``(files, steps)`` for NET_OR_GLOB: the files in natural order and their training steps."""
    if any(ch in pattern for ch in "*?["):
        files = sorted((f for f in glob.glob(pattern) if os.path.isfile(f)), key=_natural)
        if not files:
            raise InvalidInputError(f"NET_OR_GLOB {pattern!r} matches no file")
    else:
        files = [pattern]
    numbers = [re.findall(r"\d+", os.path.splitext(os.path.basename(f))[0]) for f in files]
    steps = [float(n[-1]) for n in numbers] if len(files) > 1 and all(numbers) else list(map(float, range(len(files))))
    if len(set(steps)) != len(steps):
        steps = list(map(float, range(len(files))))
    return files, steps


def _table_path(path):
    output_path(path, "-o")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidInputError(f"-o {path!r} must end in .parquet or .csv")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UnsupportedError(f"-o {path!r}: Parquet needs pyarrow (pip install 'polyregions[local]'); "
                                   "give a .csv name instead") from None
    return path


def _norm(text):
    if text not in ("1", "2", "inf", "Inf"):
        raise InvalidInputError(f"--p must be 1, 2 or inf, got {text!r}")
    return math.inf if text.lower() == "inf" else int(text)


class _Status:
    """The progress line on stderr, refreshed in place (only on a terminal)."""

    def __init__(self, enabled):
        from ..local.counts import format_progress

        self.enabled, self.format, self.shown = enabled and sys.stderr.isatty(), format_progress, False

    def __call__(self, done, stats):
        if self.enabled:
            sys.stderr.write("\r" + self.format(stats) + " ")
            sys.stderr.flush()
            self.shown = True

    def close(self):
        if self.shown:
            sys.stderr.write("\r" + " " * 78 + "\r")
            sys.stderr.flush()


def _library_error(exc):
    """The library's message with its argument names replaced by the command's options."""
    text = str(exc)
    for name, option in OPTION_OF.items():
        text = text.replace(name, option)
    return type(exc)(text)


def _inputs(args):
    """Everything the command reads, checked: ``(nets, steps, files, points, labels, radii, p)``."""
    files, steps = network_files(args.net)
    p = _norm(args.p)
    radii = np.array(args.radius, dtype=float)
    if not np.all(np.isfinite(radii)) or np.any(radii <= 0):
        raise InvalidInputError(f"--radius must be positive numbers, got {' '.join(args.radius_text)}")
    points = read_npy(args.points, "--points")
    labels = read_npy(args.labels, "--labels") if args.labels else None
    nets = [load_network(f, trust_pickle=args.trust_pickle) for f in files]
    n0 = nets[0].input_dim
    for f, net in zip(files, nets):
        if net.input_dim != n0:
            raise InvalidInputError(f"NET_OR_GLOB: {f!r} takes {net.input_dim} inputs, {files[0]!r} takes {n0}")
    if points.ndim < 2 or int(np.prod(points.shape[1:])) != n0:
        raise InvalidInputError(f"--points has shape {points.shape}: the network takes {n0} inputs, so give an "
                                f"array of shape (N, {n0}) or (N, *{tuple(nets[0].input_shape)})")
    if labels is not None and (labels.ndim != 1 or len(labels) != len(points)):
        raise InvalidInputError(f"--labels has shape {labels.shape}: give one label per point ({len(points)})")
    return nets, steps, files, points, labels, radii, p


def _summary_rows(table):
    rows = []
    for row in table.summary(None):
        rows.append({"radius": float(row["radius"]), "counts": int(row["n"]), "incomplete": int(row["incomplete"]),
                     "mean": float(row["mean"]), "median": float(row["median"]), "max": float(row["max"])})
    return rows


def cmd_local(args) -> int:
    from ..local.counts import local_counts

    args.radius_text = [str(r) for r in args.radius]
    _table_path(args.output)
    if args.checkpoint is not None:
        output_path(args.checkpoint, "--checkpoint")
    nets, steps, files, points, labels, radii, p = _inputs(args)
    client = dask_client(args)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    status = _Status(not args.quiet and not args.json)
    t0 = time.perf_counter()
    try:
        table = local_counts(nets, points, radii, p=p, eps=args.eps, labels=labels, steps=steps,
                             bounds=not args.no_bounds, time_limit_per_count=args.time_limit_per_count,
                             workers=workers, client=client, checkpoint=args.checkpoint,
                             checkpoint_every=args.checkpoint_every, progress=status)
    except InvalidInputError as exc:
        raise _library_error(exc) from None
    except KeyboardInterrupt:
        status.close()
        if args.checkpoint:
            print(f"\npolyregions: interrupted; the finished counts are saved in {args.checkpoint}: run the same "
                  f"command again to count only the rest", file=sys.stderr)
        raise
    status.close()
    seconds = time.perf_counter() - t0
    written = table.save(args.output)
    incomplete = int(np.sum(~table["complete"]))
    if args.json:
        doc = {"networks": files, "steps": steps, "points": len(points), "radii": radii.tolist(),
               "p": "inf" if p == math.inf else p, "eps": args.eps, "counts": len(table), "incomplete": incomplete, "seconds": seconds,
               "workers": workers, "table": written, "by_radius": _summary_rows(table)}
        if labels is not None:
            doc["by_label"] = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in
                                zip(row.dtype.names, row)} for row in table.summary("label")]
        print(dumps(doc))
        return 0
    where = f"{workers} worker{'s' * (workers != 1)}" if client is None else "a Dask cluster"
    print(f"networks : {len(files)} ({files[0]}{' ...' if len(files) > 1 else ''})")
    print(f"points   : {len(points):,}" + ("" if labels is None else f" ({len(np.unique(labels))} labels)"))
    print(f"balls    : L{'-inf' if p == math.inf else p}, radii {', '.join(f'{r:g}' for r in radii)}, "
          f"eps {args.eps:g}")
    print(f"counts   : {len(table):,} in {seconds:.1f} s ({len(table) / max(seconds, 1e-9):,.1f}/s, {where}); "
          + (f"{incomplete:,} incomplete (stopped at --time-limit-per-count: lower bounds)" if incomplete
             else "all exact"))
    print(f"{'radius':>10} {'mean':>10} {'median':>8} {'max':>8} {'incomplete':>11}")
    for row in _summary_rows(table):
        print(f"{row['radius']:>10g} {row['mean']:>10.2f} {row['median']:>8g} {row['max']:>8g} "
              f"{row['incomplete']:>11,}")
    if labels is not None:
        largest = radii.max()
        by = [row for row in table.summary("label") if row["radius"] == largest]
        print(f"mean per label at radius {largest:g}: " +
              ", ".join(f"{row['label']}: {row['mean']:.1f}" for row in by))
    print(f"table    : {written} (polyregions.CountTable.load, or pandas)")
    return 0


def cmd_plot_local(args) -> int:
    from ..local.plot import plot_local
    from ..local.table import CountTable
    from .slices import PICTURE_FORMATS

    output_path(args.output, "-o")
    suffix = os.path.splitext(args.output)[1].lstrip(".").lower()
    if suffix not in PICTURE_FORMATS:
        raise InvalidInputError(f"-o {args.output!r} must end in one of .{', .'.join(PICTURE_FORMATS)}")
    table = CountTable.load(args.table)
    try:
        fig = plot_local(table, radius=args.radius)
    except InvalidInputError as exc:
        raise _library_error(exc) from None
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output} ({len(table):,} counts)")
    return 0


def add_local_commands(sub, net_argument, scheduler_timeout) -> None:
    """Add ``local`` and ``plot-local`` to the subcommands `sub`."""
    from ..search.engine import DEFAULT_EPS

    p = sub.add_parser("local", help="exact local complexity: regions in balls around data points, as a table")
    net_argument(p)
    p.add_argument("--points", required=True, metavar="X.npy", help="the centres, shape (N, n) or (N, *input_shape)")
    p.add_argument("--labels", default=None, metavar="Y.npy", help="a label per point (integers)")
    p.add_argument("--radius", required=True, nargs="+", type=float, metavar="R", help="one or more radii")
    p.add_argument("--p", default="inf", help="the norm of the balls: inf (default), 2 or 1")
    p.add_argument("-o", "--output", required=True, metavar="TABLE", help="the table: .parquet (pyarrow) or .csv")
    p.add_argument("--eps", type=float, default=DEFAULT_EPS,
                   help=f"count regions holding a ball of this radius (default {DEFAULT_EPS:g})")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler to count on")
    p.add_argument("--scheduler-timeout", type=float, default=scheduler_timeout, metavar="S",
                   help=f"seconds to wait for the scheduler to answer (default {scheduler_timeout:g})")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="save finished counts here; the same command again counts only the rest")
    p.add_argument("--checkpoint-every", type=float, default=10.0, metavar="S",
                   help="seconds between two saves (default 10)")
    p.add_argument("--time-limit-per-count", type=float, default=None, metavar="S",
                   help="stop each count after S seconds (it is then a lower bound, marked incomplete)")
    p.add_argument("--no-bounds", action="store_true", help="skip the local bounds (L2 balls)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_local)

    p = sub.add_parser("plot-local", help="pictures of a local complexity table: by label, radius and step")
    p.add_argument("table", help="a table written by `polyregions local` (.parquet or .csv)")
    p.add_argument("-o", "--output", required=True, help="the picture (.png, .svg or .pdf)")
    p.add_argument("--radius", type=float, default=None, help="the radius of the distribution panel (default: "
                   "the largest)")
    p.add_argument("--dpi", type=float, default=100.0, help="dots per inch (default 100)")
    p.set_defaults(func=cmd_plot_local)
