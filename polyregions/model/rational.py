"""Rational weights: a layer given as :class:`fractions.Fraction` values, Python integers or
``"p/q"`` strings is kept exactly beside its float64 rounding.

The search computes in float64, so it counts the regions of the rounded network (and says
so); ``count_regions(..., certify=True)`` counts the network as written
(:mod:`polyregions.exact.spec`). Files keep the exact values as ``"p/q"`` strings.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._validate import finite_array
from ..errors import InvalidInputError

__all__ = ["exact_record", "exact_values", "fraction_text", "split_exact"]


def _entry(v, name):
    if isinstance(v, (bool, np.bool_)):
        raise InvalidInputError(f"`{name}` holds a boolean, not a number")
    try:
        out = Fraction(v) if isinstance(v, (Fraction, int, np.integer, str)) else Fraction(float(v))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
        raise InvalidInputError(f"`{name}` holds {str(v)[:40]!r}, not a finite rational number ({exc})") from None
    return out


def exact_values(value, name: str, ndim: int):
    """`value` as nested lists of Fractions when it holds exact entries (Fractions, strings, or
    integers beyond float64), else None (float arrays are used as they are)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and not (
            value.dtype.kind in "iu" and np.any(np.abs(value) > 2 ** 53)):
        return None
    try:
        arr = np.asarray(value, dtype=object)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"`{name}` must be an array of numbers ({exc})") from None
    if arr.ndim != ndim:
        return None  # the float validation names the shape
    flat = arr.ravel().tolist()
    exact = any(isinstance(v, (Fraction, str)) or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                     and abs(int(v)) > 2 ** 53) for v in flat)
    if not exact:
        return None
    values = [_entry(v, name) for v in flat]
    if ndim == 1:
        return values
    k = arr.shape[1]
    return [values[j * k:(j + 1) * k] for j in range(arr.shape[0])]


def fraction_text(v: Fraction) -> str:
    """``"p/q"`` (or ``"p"``) for the file formats."""
    return str(v)


def split_exact(weight, bias, wname: str = "weight", bname: str = "bias"):
    """``(exact, weight, bias)``: ``exact = (W, b)`` lists of Fractions when the layer holds exact
    entries (else None), and the float64 values the search uses (the rounding of the exact ones)."""
    We, be = exact_values(weight, wname, 2), exact_values(bias, bname, 1)
    if We is None and be is None:
        return None, weight, bias
    We = We or [[Fraction(float(v)) for v in row] for row in finite_array(weight, wname, ndim=2)]
    be = be or [Fraction(float(v)) for v in finite_array(bias, bname, ndim=1)]
    return (We, be), [[_rounded(v, wname) for v in row] for row in We], [_rounded(v, bname) for v in be]


def _rounded(v: Fraction, name: str) -> float:
    """The float64 rounding of `v`; a value beyond float64's range is refused (the search computes in float64)."""
    try:
        return float(v)
    except OverflowError:
        raise InvalidInputError(f"`{name}` holds {str(v)[:40]!r}..., beyond the float64 range (about 1.8e308) "
                                "the search computes in") from None


def exact_record(layer) -> dict:
    """The file record of a rational Dense layer: its values as ``"p/q"`` strings, inline."""
    return {"type": "dense", "weight": [[fraction_text(v) for v in row] for row in layer.exact[0]],
            "bias": [fraction_text(v) for v in layer.exact[1]], "negative_slope": layer.negative_slope}
