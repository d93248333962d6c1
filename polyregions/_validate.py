"""Input validation at the public boundary: normalise to float64 and name the argument."""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError


def finite_array(value, name: str, *, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """Return `value` as a finite float64 array, or raise naming `name`."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"`{name}` must be an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInputError(f"`{name}` must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise InvalidInputError(f"`{name}` must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"`{name}` contains NaN or inf")
    return arr


def positive_number(value, name: str) -> float:
    """Return `value` as a positive finite float, or raise naming `name`."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"`{name}` must be a positive finite number, got {value!r}") from None
    if not np.isfinite(x) or x <= 0:
        raise InvalidInputError(f"`{name}` must be a positive finite number, got {value!r}")
    return x


def positive_int(value, name: str) -> int:
    """Return `value` as a positive int, or raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)
