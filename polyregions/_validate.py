"""Input validation at the public boundary: normalise to float64 and name the argument."""

from __future__ import annotations

import math
import operator

import numpy as np

from .errors import InvalidInputError


def finite_array(value, name: str, *, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """Return `value` as a finite float64 array, or raise naming `name`."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"`{name}` must be an array of numbers ({exc})") from None
    if raw.dtype.kind == "c":
        raise InvalidInputError(f"`{name}` must be real, got complex values")
    try:
        arr = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"`{name}` must be an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInputError(f"`{name}` must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise InvalidInputError(f"`{name}` must have shape {tuple(shape)}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"`{name}` contains NaN or inf")
    return arr


def positive_number(value, name: str) -> float:
    """Return `value` as a positive finite float, or raise naming `name`."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"`{name}` must be a positive finite number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise InvalidInputError(f"`{name}` must be a positive finite number, got {value!r}")
    return x


def figure_size(value) -> tuple:
    """``figsize``: a pair of positive numbers (inches)."""
    try:
        size = tuple(positive_number(v, "figsize") for v in value)
    except TypeError:
        raise InvalidInputError(f"`figsize` must be a pair of positive numbers (inches), got {value!r}") from None
    if len(size) != 2:
        raise InvalidInputError(f"`figsize` must be a pair of positive numbers (inches), got {value!r}")
    return size


def finite_number(value, name: str) -> float:
    """Return `value` as a finite float, or raise naming `name`."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"`{name}` must be a finite number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidInputError(f"`{name}` must be a finite number, got {value!r}")
    return x


def positive_int(value, name: str) -> int:
    """Return `value` as a positive int, or raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def _index(value) -> int | None:
    """`value` as a Python int (anything with ``__index__`` except a bool), or None."""
    if isinstance(value, bool):
        return None  # True/False are not counts
    try:
        return operator.index(value)
    except TypeError:
        return None


def int_at_least(value, name: str, minimum: int) -> int:
    """Return `value` as a Python int ``>= minimum``, or raise naming `name`.

    Unlike :func:`positive_int`, anything with ``__index__`` is accepted (bools are not).
    """
    out = _index(value)
    if out is None or out < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise InvalidInputError(f"`{name}` must be {kind}, got {value!r}")
    return out


def positive_ints(value, name: str, what: str, *, length: int | None = None, scalar: bool = False) -> tuple:
    """Return the items of `value` as a tuple of positive Python ints, or raise naming `name`.

    `length` is the required number of items (None: any number but zero). With `scalar`,
    a single integer stands for `length` equal items. The error reads
    ``"`name` must be <what>, got <value>"``.
    """
    def error():
        return InvalidInputError(f"`{name}` must be {what}, got {value!r}")

    v = _index(value) if scalar else None
    if v is not None:
        items = (v,) * length
    elif isinstance(value, (str, bytes)):
        raise error()
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise error() from None
    if (len(items) != length) if length is not None else not items:
        raise error()
    out = tuple(_index(x) for x in items)
    if any(x is None or x < 1 for x in out):
        raise error()
    return out


def input_shape_tuple(value) -> tuple:
    """An input shape ``n``, ``(n,)`` or ``(c, h, w)`` of positive integers as a tuple, or raise naming it."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    length = len(value) if isinstance(value, (list, tuple)) else 1
    what = "a positive integer n, or (n,) or (c, h, w) of positive integers"
    if length not in (1, 3):
        raise InvalidInputError(f"`input_shape` must be {what}, got {value!r}")
    return positive_ints(value, "input_shape", what, length=length, scalar=True)


def positive_int_sequence(value, name: str) -> list:
    """Return `value` as a non-empty list of positive Python ints, or raise naming `name`."""
    return list(positive_ints(value, name, "a non-empty sequence of positive integers"))


def net_and_domain(net, domain) -> None:
    """Check that `net` is a network and `domain` a domain of its input dimension.

    By what they offer (this module sits below both types): a network has ``hidden``
    layers and an ``input_dim``; a domain has a ``dim``, its ``rows()`` and ``contains``.
    """
    if not (hasattr(net, "hidden") and hasattr(net, "input_dim")):
        raise InvalidInputError(f"`net` must be a polyregions.Network, got {type(net).__name__}")
    if not all(hasattr(domain, name) for name in ("dim", "rows", "contains", "bounded")):
        raise InvalidInputError(
            f"`domain` must be a polyregions domain (Box, Ball, Polytope, Whole), got {type(domain).__name__}")
    if domain.dim != net.input_dim:
        raise InvalidInputError(f"`domain` has dimension {domain.dim} but the network takes {net.input_dim} inputs")
