"""The ``polyregions`` command.

    polyregions count NET [--box LO HI | --ball CENTER R [--p 2] | --whole] [--json]
                          [--workers N] [--scheduler ADDRESS [--scheduler-timeout S]] [--checkpoint FILE]
                          [--resume FILE]
                          [--time-limit S] [--quiet] [--certify [--certificate FILE]]
    polyregions check CERTIFICATE [NET [--box LO HI | --ball CENTER R [--p 2] | --whole]] [--workers K]
    polyregions count --example
    polyregions enumerate NET [domain] -o regions.npz
    polyregions milp-export NET [domain] -o model.mps|model.lp
    polyregions bounds NET [domain] [--exact] [--json]
    polyregions tightness --arch ARCH [--arch ...] --seeds K --domain DOMAIN [--out PREFIX]
    polyregions plot NET [--plane ... | --line A B] -o partition.png|svg|pdf   (see cli_slices)
    polyregions local NET_OR_GLOB --points X.npy --radius R [R ...] -o table.parquet   (see cli.local)
    polyregions plot-local TABLE -o picture.png

NET is a ``.npz`` or ``.json`` network file (see :mod:`polyregions.model.io`), an ONNX file
(``.onnx``) or a ``torch.export`` program (``.pt2``); a pickled PyTorch module (``.pt``)
only with ``--trust-pickle``. LO, HI and CENTER
are a number (the same in every coordinate), comma-separated numbers, or a ``.npy`` file.
Without a domain option the box [-1, 1]^n is used; ``--line A B`` and ``--plane ...``
count on a segment or a plane (:mod:`polyregions.cli.slices`).

Every option is checked before the work starts (:mod:`polyregions.cli.args`: output files
in a folder that exists, readable numeric ``.npy`` files); an error is one line naming the
option, with exit code 2. ``--json`` prints one JSON document, with ``null`` where a value
has no finite number (``min_radius`` of a count without regions).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time

import numpy as np

from .args import SCHEDULER_TIMEOUT, dask_client, output_path, parse_vector
from .local import add_local_commands
from .slices import add_plot_command, add_slice_options, pieces_line, slice_from_args
from ..domains.convex import Ball, Box, Whole
from ..api import DEFAULT_EPS, count_regions
from ..errors import CertificateError, InvalidInputError, PolyRegionsError, UnsupportedError
from ..model.io import load_network
from ..exact.spec import rounded_layers
from ..jsondoc import dumps
from ..result import CertifiedCount
from ..solvers.registry import backend_names

EXAMPLE_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "digits_mlp.npz")


def _domain(args, n: int):
    sliced = slice_from_args(args, n)  # only count and enumerate have --line / --plane
    if sliced is not None:
        return sliced
    if args.whole:
        return Whole(n)
    if args.ball is not None:
        center = parse_vector(args.ball[0], n, "CENTER")
        p = math.inf if args.p in ("inf", "Inf") else int(args.p)
        try:
            radius = float(args.ball[1])
        except ValueError:
            raise InvalidInputError(f"R must be a number, got {args.ball[1]!r}") from None
        return Ball(center, radius, p=p)
    lo, hi = args.box if args.box is not None else ("-1", "1")
    return Box(parse_vector(lo, n, "LO"), parse_vector(hi, n, "HI"))


_NUMBER_LIST = re.compile(r"-[0-9.]+(e[-+]?[0-9]+)?(,-?[0-9.]+(e[-+]?[0-9]+)?)*", re.IGNORECASE)


def _mark_negative_lists(argv):
    """Let a number or comma list starting with a minus sign (``--box -0.5,-0.5 1,1``, ``-1e-3``) be a value.

    argparse takes a token that starts with '-' for an option unless it is one negative
    number; a token holding a space is always a value, so such lists get a leading
    space (:func:`_vector` strips it).
    """
    return [" " + a if _NUMBER_LIST.fullmatch(a) else a for a in argv]


class _Progress:
    """One status line on stderr, refreshed in place (only on a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, count, stats):
        if self.enabled:
            dt = time.perf_counter() - self.t0
            sys.stderr.write(f"\r{count:,} regions  {count / max(dt, 1e-9):,.0f}/s  {stats.pending:,} open  "
                             f"{stats.lp_solves:,} LPs  {dt:,.1f} s ")
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\r" + " " * 70 + "\r")


def _count_document(label, dom, res):
    return {"network": label, "domain": repr(dom), **res.as_dict()}


def _print_count(label, net, dom, res, as_json):
    if as_json:
        print(dumps(_count_document(label, dom, res)))
        return
    st = res.stats
    margin_tol = getattr(st, "margin_tol", None)  # a MILP count: complete up to its margin tolerance
    if not res.complete:
        note = f"  (incomplete: stopped by {res.stopped}; a lower bound)"
    elif margin_tol is not None:
        note = f"  (complete: no region of margin >= margin_tol = {margin_tol:g} was missed)"
    else:
        note = ""
    print(f"network : {label} {net}")
    if rounded_layers(net):
        print(f"weights : {rounded_layers(net)} rational layer(s): "
              + ("counted as written (certified)" if isinstance(res, CertifiedCount)
                 else "the float search counts their float64 rounding (--certify counts them as written)"))
    print(f"domain  : {dom}")
    print(f"regions : {res.count:,}{note}")
    print(f"time    : {st.seconds:.3f} s  ({res.count / max(st.seconds, 1e-9):,.0f} regions/s)")
    per = st.lp_solves / res.count if res.count else float("nan")
    print(f"LPs     : {st.lp_solves:,} ({per:.2f} per region), nodes {st.nodes:,}")
    print(f"eps     : {st.eps:g}; thinnest counted region holds a ball of radius {st.min_radius:.3g}; "
          f"{st.near_eps} decisions within 10x of eps")
    if isinstance(res, CertifiedCount):
        _print_certified(res)


def _print_certified(res):
    """The certified count next to the float search's count, and what is left undecided."""
    verdict = "yes: every region and every dropped branch has an exactly checked certificate" if res.certified \
        else "NO (see undecided)" if res.complete else "no: the count stopped early"
    print(f"certified: {verdict}")
    same = "same" if res.float_count == res.count else f"differs by {res.count - res.float_count:+,}"
    print(f"exact vs float: {res.count:,} (exact, no eps) | {res.float_count:,} (float search, eps {res.stats.eps:g})"
          f"  -> {same}")
    print(f"exact LPs: {res.exact_lps:,}; hint LPs: {res.hint_lps:,}")
    for prefix, why in res.undecided[:20]:
        print(f"undecided: {prefix or '(root)'}: {why}")
    if len(res.undecided) > 20:
        print(f"undecided: ... {len(res.undecided) - 20:,} more")
    if res.certificate:
        print(f"certificate: {res.certificate} (check: polyregions check {res.certificate} NET)")


def cmd_count(args) -> int:
    if args.pieces and args.json:
        raise InvalidInputError("--pieces prints a line of text: it cannot be combined with --json")
    for option, path in (("--checkpoint", args.checkpoint), ("--certificate", args.certificate)):
        if path is not None:
            output_path(path, option)
    progress = _Progress(not args.quiet and not args.json)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    kw = dict(eps=args.eps, backend=args.backend, max_regions=args.max_regions, time_limit=args.time_limit,
              progress=progress, workers=workers, client=dask_client(args), checkpoint=args.checkpoint,
              checkpoint_every=args.checkpoint_every, resume=args.resume, method=args.method)
    if args.certify or args.certificate:
        kw.update(certify=args.certify, certificate=args.certificate)
    if args.method == "milp":  # one process, no checkpoint: options given for those are refused
        kw = dict(eps=args.eps, backend=args.backend, max_regions=args.max_regions, time_limit=args.time_limit,
                  method="milp", workers=args.workers or 1, client=kw["client"], checkpoint=args.checkpoint,
                  resume=args.resume, certify=args.certify)
    if args.example:
        given = [opt for opt, v in (("NET", args.net), ("--box", args.box), ("--ball", args.ball),
                                    ("--whole", args.whole), ("--checkpoint", args.checkpoint),
                                    ("--resume", args.resume)) if v]
        if given:
            raise InvalidInputError(f"--example counts its own network in its own two domains; "
                                    f"it cannot be combined with {', '.join(given)}")
        net = load_network(EXAMPLE_FILE)
        x0 = np.load(EXAMPLE_FILE)["x0"]
        jobs = [("example: 8x8 digits MLP 64-8-8-10, L2 ball of radius 1 around a test image", Ball(x0, 1.0)),
                ("example: same network, box of half-width 0.1 around the image", Box(x0 - 0.1, x0 + 0.1))]
        documents = []
        for label, dom in jobs:
            res = count_regions(net, dom, **kw)
            progress.close()
            if args.json:
                documents.append(_count_document(label, dom, res))
            else:
                _print_count(label, net, dom, res, False)
                print()
        if args.json:  # one document: the list of both counts
            print(dumps(documents))
        return 0
    if args.net is None:
        raise InvalidInputError("give a network file NET, or --example")
    net = load_network(args.net, trust_pickle=args.trust_pickle)
    dom = _domain(args, net.input_dim)
    if args.resume and args.checkpoint is None:
        kw["checkpoint"] = args.resume  # keep saving where we resumed from
    try:
        res = count_regions(net, dom, **kw)
    except KeyboardInterrupt:
        progress.close()
        if kw["checkpoint"]:
            print(f"\npolyregions: interrupted; the counted work is saved: resume with --resume {kw['checkpoint']}",
                  file=sys.stderr)
        raise
    progress.close()
    _print_count(args.net, net, dom, res, args.json)
    pieces = pieces_line(args, net, dom)
    if pieces is not None:
        print(pieces)
    if not res.complete and kw["checkpoint"] and res.stopped == "time_limit" and not args.json:
        print(f"resume  : polyregions count {args.net} ... --resume {kw['checkpoint']}")
    return 0


def cmd_check(args) -> int:
    """Check a certificate exactly; with NET (and a domain option) it must be about them. Exit 0
    when it proves its count; a certificate that does not is an error (exit 2)."""
    from ..exact.checker import check
    from ..exact.spec import domain_spec, network_spec, report_lines

    net_spec = dom_spec = None
    if args.net is not None:
        net = load_network(args.net, trust_pickle=args.trust_pickle)
        net_spec = network_spec(net)
        if args.box is not None or args.ball is not None or args.whole:
            dom_spec = domain_spec(_domain(args, net.input_dim))
    elif args.box is not None or args.ball is not None or args.whole:
        raise InvalidInputError("a domain option needs the network file NET (its input dimension)")
    res = check(args.certificate, net_spec, dom_spec, workers=args.workers)
    print("\n".join(report_lines(res)))
    given = [what for what, spec in (("network", net_spec), ("domain", dom_spec)) if spec is not None]
    print(f"match   : {' and '.join(given) + ' as given' if given else 'nothing given to match (the certificate alone)'}")
    return 0


def cmd_enumerate(args) -> int:
    from ..api import enumerate_regions
    from ..model.io import write_regions

    output_path(args.output, "-o")
    net = load_network(args.net, trust_pickle=args.trust_pickle)
    dom = _domain(args, net.input_dim)
    t0 = time.perf_counter()
    n = write_regions(args.output, enumerate_regions(net, dom, eps=args.eps, backend=args.backend), chunk=args.chunk)
    print(f"{n:,} regions written to {args.output} in {time.perf_counter() - t0:.2f} s "
          f"(bit-packed patterns, points, radii; read them with polyregions.model.io.load_regions)")
    return 0


def cmd_bounds(args) -> int:
    """Every applicable closed-form bound for NET (and the exact count with --exact), side by side."""
    from ..bounds.applicable import architecture_of, network_bounds
    from ..studies.report import format_bounds

    net = load_network(args.net, trust_pickle=args.trust_pickle)
    dom = _domain(args, net.input_dim)
    info = architecture_of(net)
    entries = network_bounds(net, dom, local_method=args.local_method)
    res = None
    if args.exact:
        progress = _Progress(not args.json)
        res = count_regions(net, dom, eps=args.eps, backend=args.backend, time_limit=args.time_limit,
                            workers=args.workers, progress=progress)
        progress.close()
        for e in entries:
            e["bound/exact"] = (e["value"] / res.count) if e["value"] is not None and res.count else None
    if args.json:
        out = {"network": args.net, "domain": repr(dom), "architecture": info, "bounds": entries,
               "exact": None if res is None else res.as_dict()}
        print(dumps(out))
        return 0
    print(f"network : {args.net} {net}")
    print(f"domain  : {dom}")
    print(format_bounds(info, entries, res))
    return 0


def cmd_tightness(args) -> int:
    """Exact counts of seeded networks against every applicable bound (see polyregions.studies.tightness)."""
    from ..studies.report import format_markdown, format_table, update_markdown, write_table
    from ..studies.tightness import run_tightness

    if args.out:
        for suffix in (".csv", ".json"):
            output_path(args.out + suffix, "--out")
    if args.markdown:
        output_path(args.markdown, "--markdown")
    names = [n.strip() for n in args.bounds.split(",") if n.strip()] if args.bounds else None

    def progress(arch, seed, res):
        if isinstance(res, Exception):
            print(f"{arch} seed {seed}: the count failed: {res}", file=sys.stderr, flush=True)
        elif not args.quiet:
            more = "" if res.complete else f" (incomplete: {res.stopped})"
            print(f"{arch} seed {seed}: {res.count:,} regions in {res.stats.seconds:.2f} s{more}",
                  file=sys.stderr, flush=True)

    rows = run_tightness(args.arch, args.seeds, args.domain, eps=args.eps, time_limit=args.time_limit,
                         bounds=names, rank_deficit=args.rank_deficit, workers=args.workers, progress=progress)
    if args.json:
        print(dumps([{k: v for k, v in r.items() if k != "per_seed"} for r in rows]))
    else:
        print(format_table(rows))
    if args.out:
        csv_path, json_path = write_table(rows, args.out)
        if not args.json:
            print(f"written : {csv_path}, {json_path}")
    if args.markdown:
        update_markdown(args.markdown, format_markdown(rows))
        if not args.json:
            print(f"written : {args.markdown} (the table between its markers)")
    return 0


def cmd_milp_export(args) -> int:
    from ..milp.milp import export_model

    output_path(args.output, "-o")
    net = load_network(args.net, trust_pickle=args.trust_pickle)
    dom = _domain(args, net.input_dim)
    prob = export_model(net, dom, args.output, bounds=args.bounds, margin_cap=args.margin_cap, l2_outer=args.l2_outer)
    print(f"wrote {args.output}: {len(prob.variables())} variables, {prob.numConstraints()} constraints "
          f"(maximise the margin t of a pattern's pre-activations; big-M from {args.bounds} bounds)")
    return 0


def _domain_options(p, slices=False):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--box", nargs=2, metavar=("LO", "HI"), help="the box LO <= x <= HI (default: -1 1)")
    g.add_argument("--ball", nargs=2, metavar=("CENTER", "R"), help="the ball |x - CENTER|_p <= R")
    g.add_argument("--whole", action="store_true", help="the whole input space")
    if slices:
        add_slice_options(g, p)
    p.add_argument("--p", default="2", choices=["1", "2", "inf"], help="norm of --ball (default 2)")
    p.add_argument("--eps", type=float, default=DEFAULT_EPS, help=f"count regions holding a ball of this radius (default {DEFAULT_EPS:g})")
    p.add_argument("--backend", default="auto", metavar="NAME",
                   help="solver backend of the region test: " + ", ".join(backend_names())
                        + " (default auto: chosen by the domain from the backends' declared capabilities)")


def _net_argument(p, nargs=None) -> None:
    """The NET argument and the flag that allows pickled PyTorch modules."""
    p.add_argument("net", nargs=nargs, help="network file (.npz, .json, .onnx, .pt2; .pt with --trust-pickle)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a pickled torch module (.pt, .pth): unpickling runs code from the file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyregions", description="Exact linear regions of ReLU networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("count", help="count the activation regions of a network in a domain")
    _net_argument(p, nargs="?")
    p.add_argument("--example", action="store_true", help="run the embedded example (a digits MLP)")
    _domain_options(p, slices=True)
    p.add_argument("--max-regions", type=int, default=None, help="stop after this many regions")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds (resumable with --checkpoint)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler to search on (e.g. tcp://host:8786)")
    p.add_argument("--scheduler-timeout", type=float, default=SCHEDULER_TIMEOUT, metavar="S",
                   help=f"seconds to wait for the scheduler to answer (default {SCHEDULER_TIMEOUT:g})")
    p.add_argument("--checkpoint", default=None, metavar="FILE", help="save the open frontier and the count here")
    p.add_argument("--checkpoint-every", type=float, default=60.0, metavar="S", help="seconds between checkpoints (default 60)")
    p.add_argument("--resume", default=None, metavar="FILE", help="finish the count saved in this checkpoint")
    p.add_argument("--method", default="auto", choices=["auto", "dfs", "planar", "cells3d", "milp"],
                   help="auto (default: planar on lines, planes and 1-D / 2-D domains, cells3d on 3-D domains, "
                        "else dfs), the exact search (dfs), the exact 1-D / 2-D algorithm (planar), the exact "
                        "3-D algorithm (cells3d) or the independent MILP count (bounded domains, far slower)")
    p.add_argument("--certify", action="store_true", help="decide every pattern in exact arithmetic, without eps, "
                   "and show the float count beside it")
    p.add_argument("--certificate", default=None, metavar="FILE", help="with --certify: write every region's point "
                   "and every emptiness certificate to FILE (format 3, binary, e.g. run.cert; JSON lines, format 2, "
                   "when FILE ends in .jsonl or .jsonl.gz)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--pieces", action="store_true", help="lines, planes, 1-D / 2-D domains: also the linear pieces")
    p.set_defaults(func=cmd_count)

    p = sub.add_parser("check", help="check a certificate written by count --certify (exact rational arithmetic)")
    p.add_argument("certificate", help="certificate file (format 3, binary; or format 2, JSON lines, plain or gzip)")
    _net_argument(p, nargs="?")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--box", nargs=2, metavar=("LO", "HI"), help="the certificate must be about the box LO <= x <= HI")
    g.add_argument("--ball", nargs=2, metavar=("CENTER", "R"), help="... about the ball |x - CENTER|_p <= R")
    g.add_argument("--whole", action="store_true", help="... about the whole input space")
    p.add_argument("--p", default="2", choices=["1", "2", "inf"], help="norm of --ball (default 2)")
    p.add_argument("--workers", type=int, default=1, help="processes checking the records (default 1)")
    p.set_defaults(func=cmd_check, line=None, plane=None)

    p = sub.add_parser("enumerate", help="write every region (pattern, point, radius) to a .npz file, in chunks")
    _net_argument(p)
    _domain_options(p, slices=True)
    p.add_argument("-o", "--output", required=True, help="output file (.npz)")
    p.add_argument("--chunk", type=int, default=65536, help="regions per chunk, a positive integer (default 65536)")
    p.set_defaults(func=cmd_enumerate)

    p = sub.add_parser("milp-export", help="write the big-M margin MILP of a network over a domain (.lp or .mps)")
    _net_argument(p)
    _domain_options(p)
    p.add_argument("-o", "--output", required=True, help="output file (.lp or .mps)")
    p.add_argument("--bounds", default="lp", choices=["interval", "symbolic", "lp", "milp"],
                   help="how the big-M values are computed (default lp)")
    p.add_argument("--margin-cap", type=float, default=1.0, help="upper bound on the margin t (default 1)")
    p.add_argument("--l2-outer", action="store_true", help="export an L2 ball as a polyhedral outer approximation")
    p.set_defaults(func=cmd_milp_export)

    p = sub.add_parser("bounds", help="every applicable closed-form bound for a network, side by side",
                       description="Print every closed-form bound that applies to NET: for fully connected "
                                   "networks zaslavsky (one layer), montufar2017_upper, serra2018_upper and "
                                   "montufar2014_lower (a lower bound on the maximum over parameters, not on "
                                   "this network); for convolutions without padding xiong_one_layer, or "
                                   "xiong_deep_lower / xiong_deep_upper; whitney_count for one hidden layer; "
                                   "for an L2 ball zhu_local (2**C) and local_arrangement_bound. A bound that "
                                   "does not apply is printed as n/a (reason). With --exact, also the exact "
                                   "count and each bound / exact.")
    _net_argument(p)
    _domain_options(p)
    p.add_argument("--exact", action="store_true", help="also count the regions exactly and print bound / exact")
    p.add_argument("--time-limit", type=float, default=None, help="stop the exact count after this many seconds")
    p.add_argument("--workers", type=int, default=1, help="processes for the exact count (default 1)")
    p.add_argument("--local-method", default="symbolic", choices=["interval", "symbolic", "lp"],
                   help="stability bounds of local_arrangement_bound (default symbolic)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bounds)

    p = sub.add_parser("tightness", help="exact counts of seeded networks against every applicable bound",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Count the regions of seeded random networks exactly and compare them "
                                   "with every applicable bound: per architecture the exact count (min, mean, "
                                   "max over the seeds), each bound, bound / max exact and bound / mean exact.",
                       epilog="ARCH:\n"
                              "  fc:N0:W1,W2,...\n"
                              "      fully connected: input dimension N0, hidden widths W1, W2, ... (e.g. fc:2:4,4)\n"
                              "  conv:D0xHxW:D1,F1xF2,S[;D2,F1xF2,S...]\n"
                              "      convolutions without padding on a D0xHxW input (channels first): D_l filters\n"
                              "      F1xF2 and stride S per layer, layers separated by ';' (quote the argument);\n"
                              "      e.g. conv:1x3x3:2,2x2,1, or the 1-D input conv:1x1x6:3,1x3,1\n"
                              "DOMAIN:\n"
                              "  whole          the whole input space\n"
                              "  box:R          the box [-R, R]^n\n"
                              "  ball:R         the L2 ball of radius R around the origin\n"
                              "  ball:R:random  the L2 ball of radius R around a centre drawn per seed from N(0, I)\n"
                              "SEEDS:\n"
                              "  seed k draws from numpy.random.default_rng([k, *ARCH's integers]), layer by layer:\n"
                              "  weights N(0, 2/fan_in), then biases N(0, 1); the ball's random centre comes next.")
    p.add_argument("--arch", action="extend", nargs="+", required=True, metavar="ARCH",
                   help="one or more architectures (the option may be repeated); syntax below")
    p.add_argument("--seeds", type=int, required=True, metavar="K", help="count the seeds 0..K-1")
    p.add_argument("--domain", required=True, metavar="DOMAIN", help="whole, box:R, ball:R or ball:R:random")
    p.add_argument("--out", default=None, metavar="PREFIX", help="write PREFIX.csv and PREFIX.json")
    p.add_argument("--markdown", default=None, metavar="FILE",
                   help="write the Markdown table into FILE, between its tightness-table markers")
    p.add_argument("--bounds", default=None, metavar="NAMES",
                   help="comma-separated bounds to compute (default: all that apply)")
    p.add_argument("--rank-deficit", action="store_true",
                   help="one-layer convolutions: add the normals' rank, maximum matching, independent "
                        "subsets and the reason for count < R_N")
    p.add_argument("--eps", type=float, default=DEFAULT_EPS,
                   help=f"count regions holding a ball of this radius (default {DEFAULT_EPS:g})")
    p.add_argument("--time-limit", type=float, default=None, help="stop each count after this many seconds")
    p.add_argument("--workers", type=int, default=1, help="processes per count (default 1)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_tightness)
    add_plot_command(sub)
    add_local_commands(sub, _net_argument, SCHEDULER_TIMEOUT)
    return parser


class _StderrHandler(logging.Handler):
    """Log records as ``polyregions: message`` lines on the current ``sys.stderr``."""

    def emit(self, record):
        try:
            sys.stderr.write(f"polyregions: {self.format(record)}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 (logging's own convention: never raise from a handler)
            self.handleError(record)


def _announce_compilation(enabled: bool) -> None:
    """Say on stderr when the compiled kernels are built (once; they are cached afterwards),
    so a first run's wait is not mistaken for the count's time."""
    logger = logging.getLogger("polyregions.kernels")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    if enabled:
        logger.addHandler(_StderrHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv=None) -> int:
    args = build_parser().parse_args(_mark_negative_lists(sys.argv[1:] if argv is None else argv))
    _announce_compilation(not getattr(args, "quiet", False))
    try:
        return args.func(args)
    except (PolyRegionsError, CertificateError) as exc:
        print(f"polyregions: error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line
        return 2
    except OSError as exc:  # a file that cannot be written or read after the checks (permissions, a full disk)
        where = f"{exc.filename!r}: " if exc.filename else ""
        print(f"polyregions: error: {where}{' '.join(str(exc.strerror or exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\npolyregions: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
