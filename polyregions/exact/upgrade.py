"""A version 2 certificate (JSON lines) rewritten as version 3 (the binary container).

Regions whose point is a vector of float64 (dyadic rationals exact in float64) and empty
branches whose multipliers name neuron positions and fit in int64 (an explicit ``y``, or the
``y`` of the shared certificate a reference names: its positions are fixed in the prefix with
the same values) go to bulk blocks (:meth:`CertificateWriter.regions`,
:meth:`CertificateWriter.empties`); every other record is copied as a record. Nothing is
trusted: the result is checked by the checker like any certificate.
"""

from __future__ import annotations

import gzip
import json
from collections import namedtuple
from fractions import Fraction
from math import gcd

import numpy as np

from .certified_count import CertificateWriter

__all__ = ["upgrade", "v2_records"]

_Specs = namedtuple("_Specs", "network_spec domain_spec dim n_bits")
_INT64 = 1 << 63


def v2_records(path):
    """``(header, records)``: the parsed lines of a version 2 certificate (plain or gzip)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rt", encoding="utf-8") if gz else open(path, encoding="utf-8")) as f:
        records = [json.loads(line) for line in f]
    return records[0], records[1:]


def _bulk_y(y):
    """``(positions, values)`` of multipliers that fit a bulk block, else None: the positive ones, over
    their greatest common divisor (a positive multiple of a certificate is one)."""
    pairs = [(k, int(v, 16)) for k, v in y.items() if int(v, 16)]
    g = gcd(*(v for _, v in pairs)) or 1
    if not pairs or not all(k.isdigit() and v // g < _INT64 for k, v in pairs):
        return None
    return [int(k) for k, _ in pairs], [v // g for _, v in pairs]


def _point(den, point):
    """The point ``point / den`` as float64 when each coordinate is exact there, else None."""
    q = int(den, 16)
    exact = [Fraction(int(p, 16), q) for p in point]
    floats = [float(v) for v in exact]
    return floats if all(Fraction(f) == v for f, v in zip(floats, exact)) else None


def bulk_arrays(header, records):
    """The records split into ``(regions, empties, others)``: ``regions = (bits, points)`` and
    ``empties = (prefix_bits, prefix_len, y_ptr, y_pos, y_val)`` as :meth:`CertificateWriter.regions`
    and :meth:`CertificateWriter.empties` take them, ``others`` the records left as they are (a
    shared certificate only while a reference left as a record names it)."""
    N = sum(len(layer["bias"]) for layer in header["network"]["layers"])
    certs = {r["cert"]: _bulk_y(r["y"]) for r in records if "cert" in r}
    r_bits, r_points, e_bits, e_len, ptr, pos, val, others = [], [], [], [], [0], [], [], []
    for rec in records:
        point = _point(rec["den"], rec["point"]) if "region" in rec else None
        y = _bulk_y(rec["y"]) if "y" in rec and "empty" in rec else certs.get(rec.get("ref"))
        bits = rec.get("region", rec.get("empty"))
        if point is not None:
            r_bits.append([int(c) for c in bits])
            r_points.append(point)
        elif "empty" in rec and y is not None:
            e_bits.append([int(c) for c in bits] + [0] * (N - len(bits)))
            e_len.append(len(bits))
            pos.extend(y[0]), val.extend(y[1]), ptr.append(len(pos))
        else:
            others.append(rec)
    kept = {rec["ref"] for rec in others if "ref" in rec}
    others = [rec for rec in others if "cert" not in rec or rec["cert"] in kept]  # the certificates still named
    n = header["network"]["input_dim"]
    regions = (np.array(r_bits, dtype=np.uint8).reshape(-1, N), np.array(r_points, dtype=float).reshape(-1, n))
    empties = (np.array(e_bits, dtype=np.uint8).reshape(-1, N), np.array(e_len, dtype=np.int64),
               np.array(ptr, dtype=np.int64), np.array(pos, dtype=np.int64), np.array(val, dtype=np.int64))
    return regions, empties, others


def upgrade(source, target):
    """Rewrite the version 2 certificate `source` as `target` (version 3 unless its name ends in
    ``.jsonl`` or ``.gz``); returns the number of records moved to bulk blocks."""
    header, records = v2_records(source)
    regions, empties, others = bulk_arrays(header, records)
    N = sum(len(layer["bias"]) for layer in header["network"]["layers"])
    writer = CertificateWriter(target, _Specs(header["network"], header["domain"], header["network"]["input_dim"], N))
    trailer = None
    try:
        writer.regions(*regions)
        writer.empties(*empties)
        for rec in others:
            if "count" in rec:
                trailer = rec
            elif "region" in rec:
                writer.region([int(b) for b in rec["region"]], [int(v, 16) for v in rec["point"]],
                              int(rec["den"], 16))
            elif "cert" in rec:
                writer.shared(rec["cert"], rec["assign"], {"y": {k: int(v, 16) for k, v in rec["y"].items()}})
            else:
                writer.empty(rec["empty"], cert=rec.get("y") and {"y": {k: int(v, 16) for k, v in rec["y"].items()}},
                             ref=rec.get("ref"))
    finally:
        writer.close(trailer)
    return len(regions[0]) + len(empties[1])
