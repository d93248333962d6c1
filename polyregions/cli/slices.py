"""Command-line options for lines and planes, and the ``polyregions plot`` command.

    --line A B                      the segment from A to B
    --plane X1 X2 X3 [--margin M]   the plane through three inputs, (s, t) in [-M, 1 + M]^2
    --plane ORIGIN U V LO HI        origin + s U + t V, (s, t) in [LO, HI] (numbers or "s,t" pairs)

    polyregions plot NET [--plane ... | --line A B | --volume X1 X2 X3 X4 | --box LO HI] -o partition.png|svg|pdf
                         [--size WxH] [--dpi D] [--decision-boundary] [--points X.npy [--labels Y.npy]]
                         [--layer L] [--no-edges] [--eps EPS]

A, B, X1, ... are comma-separated numbers, one number (the same in every coordinate) or a
``.npy`` file (argparse reads a value such as ``-1,2`` as an option: give a list that starts
with a minus sign as a ``.npy`` file, or as ``" -1,2"`` with a leading space). Without a slice, ``plot`` draws 1-D and 2-D networks in the box (default
[-1, 1]^n); volumes and 3-D networks in 3-D (:mod:`polyregions.cli.volume`).
"""

from __future__ import annotations

import os

from ..domains.convex import Box
from ..domains.slices import Line, Plane
from ..errors import InvalidInputError
from .args import output_path, parse_vector, read_npy
from .volume import add_volume_options, is_volume, plot_volume, volume_from_args

__all__ = ["add_plot_command", "add_slice_options", "cmd_plot", "parse_vector", "pieces_line", "slice_from_args"]

PICTURE_FORMATS = ("png", "svg", "pdf")
#: The largest picture ``--size`` draws: pixels in all (an RGBA canvas of 100 MB) and along each side
#: (matplotlib's raster backend stops below 2**16).
MAX_PICTURE_PIXELS = 25_000_000
MAX_PICTURE_SIDE = 2 ** 16 - 1


def add_slice_options(group, parser) -> None:
    """Add ``--line`` and ``--plane`` to a mutually exclusive domain `group`, ``--margin`` to `parser`."""
    group.add_argument("--line", nargs=2, metavar=("A", "B"), help="the segment from A to B")
    group.add_argument("--plane", nargs="+", metavar="X",
                       help="X1 X2 X3: the plane through three inputs; or ORIGIN U V LO HI: origin + s U + t V, "
                            "(s, t) in [LO, HI]")
    parser.add_argument("--margin", type=float, default=0.25,
                        help="--plane X1 X2 X3: (s, t) in [-M, 1 + M]^2 (default 0.25)")


def slice_from_args(args, n: int):
    """The Line or Plane asked for by `args`, or None."""
    if getattr(args, "line", None):
        return Line(parse_vector(args.line[0], n, "A"), parse_vector(args.line[1], n, "B"))
    plane = getattr(args, "plane", None)
    if not plane:
        return None
    if len(plane) == 3:
        x1, x2, x3 = (parse_vector(t, n, f"X{k + 1}") for k, t in enumerate(plane))
        return Plane.through(x1, x2, x3, margin=args.margin)
    if len(plane) == 5:
        origin, u, v = (parse_vector(t, n, name) for t, name in zip(plane, ("ORIGIN", "U", "V")))
        lo, hi = (parse_vector(t, None, name) for t, name in zip(plane[3:], ("LO", "HI")))
        return Plane(origin, u, v, lo if lo.size > 1 else lo[0], hi if hi.size > 1 else hi[0])
    raise InvalidInputError(f"--plane takes X1 X2 X3 or ORIGIN U V LO HI, got {len(plane)} values")


def pieces_line(args, net, domain) -> str | None:
    """With ``--pieces``: the linear pieces beside the region count (one line of text), else None."""
    if not getattr(args, "pieces", False):
        return None
    if args.json:
        raise InvalidInputError("--pieces prints a line of text: it cannot be combined with --json")
    from ..cells.measure import PIECE_RTOL, count_pieces

    regions, pieces = count_pieces(net, domain, eps=args.eps)
    return (f"pieces  : {pieces:,} linear pieces (adjacent regions with one affine map, relative tolerance "
            f"{PIECE_RTOL:g}) among {regions:,} regions")


def add_plot_command(sub) -> None:
    """The ``plot`` sub-command."""
    p = sub.add_parser("plot", help="draw the regions of a network on a plane or along a line",
                       description="Draw the activation regions of NET on a plane (each region a colour "
                                   "hashed from its pattern) or the network along a line, with breakpoints.")
    p.add_argument("net", help="network file (.npz or .json)")
    g = p.add_mutually_exclusive_group()
    add_slice_options(g, p)
    g.add_argument("--box", nargs=2, metavar=("LO", "HI"), help="1-D, 2-D and 3-D networks: the box LO <= x <= HI "
                                                                "(default -1 1)")
    add_volume_options(g, p)
    p.add_argument("-o", "--output", required=True, help="picture file: .png, .svg or .pdf")
    p.add_argument("--size", default="800x800", metavar="WxH", help="size in pixels (default 800x800)")
    p.add_argument("--dpi", type=float, default=100.0, help="dots per inch (default 100)")
    p.add_argument("--decision-boundary", action="store_true", help="draw where the argmax of the output changes")
    p.add_argument("--points", default=None, metavar="X.npy", help="input points (N, n) to draw")
    p.add_argument("--labels", default=None, metavar="Y.npy", help="their labels (colours)")
    p.add_argument("--layer", type=int, default=None, help="lines: plot this hidden layer's pre-activations")
    p.add_argument("--no-edges", action="store_true", help="do not outline the regions")
    p.add_argument("--eps", type=float, default=1e-9, help="draw regions holding a disc of this radius")
    p.set_defaults(func=cmd_plot)


def _size(text):
    try:
        w, h = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise InvalidInputError(f"--size must be WxH in pixels, got {text!r}") from None
    if w < 1 or h < 1:
        raise InvalidInputError(f"--size must be positive, got {text!r}")
    if max(w, h) > MAX_PICTURE_SIDE or w * h > MAX_PICTURE_PIXELS:
        raise InvalidInputError(f"--size {text!r} is too large: at most {MAX_PICTURE_SIDE} pixels a side and "
                                f"{MAX_PICTURE_PIXELS:,} in all")
    return w, h


def _points_and_labels(args, n: int):
    """The ``--points`` (N, n) and ``--labels`` (N,) of ``plot``, checked, or None."""
    if args.labels is not None and args.points is None:
        raise InvalidInputError("--labels colours the --points: give --points too")
    if args.points is None:
        return None, None
    points = read_npy(args.points, "--points")
    points = points.reshape(1, -1) if points.ndim == 1 else points
    if points.ndim != 2 or points.shape[1] != n:
        raise InvalidInputError(f"--points must hold an array of shape (N, {n}) (the network takes {n} inputs), "
                                f"got {points.shape}")
    if args.labels is None:
        return points, None
    labels = read_npy(args.labels, "--labels")
    if labels.shape != (len(points),):
        raise InvalidInputError(f"--labels must hold one number per point, shape ({len(points)},), got {labels.shape}")
    return points, labels


def cmd_plot(args) -> int:
    from ..model.io import load_network
    from ..cells.plot import plot_partition

    ext = os.path.splitext(args.output)[1].lower().lstrip(".")
    if ext not in PICTURE_FORMATS:
        raise InvalidInputError(f"-o must end in .png, .svg or .pdf, got {args.output!r}")
    output_path(args.output, "-o")
    w, h = _size(args.size)
    if not args.dpi > 0:
        raise InvalidInputError(f"--dpi must be positive, got {args.dpi}")
    net = load_network(args.net)
    n = net.input_dim
    domain = slice_from_args(args, n) or volume_from_args(args, n)
    if domain is None:
        lo, hi = args.box if args.box is not None else ("-1", "1")
        domain = Box(parse_vector(lo, n, "LO"), parse_vector(hi, n, "HI"))
    points, labels = _points_and_labels(args, n)
    note = ""
    if is_volume(domain):
        fig, note = plot_volume(args, net, domain, (w / args.dpi, h / args.dpi), args.dpi)
        note = f"; {note}"
    else:
        fig = plot_partition(net, domain, eps=args.eps, edges=not args.no_edges,
                             decision_boundary=args.decision_boundary, points=points, labels=labels,
                             layer=args.layer, figsize=(w / args.dpi, h / args.dpi), dpi=args.dpi)
    fig.savefig(args.output, dpi=args.dpi, format=ext)
    print(f"wrote {args.output} ({w}x{h} pixels at {args.dpi:g} dpi): {domain}{note}")
    return 0
