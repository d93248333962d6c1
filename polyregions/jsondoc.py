"""JSON documents that are JSON: values JSON cannot hold written as null.

JSON has no infinity and no NaN (``json.dumps`` would write the non-standard ``Infinity``,
which strict parsers refuse). A result's ``min_radius`` is infinite when a count has no
region, a ratio is NaN when its denominator is 0: both are written as ``null``. NumPy
scalars and arrays become numbers and lists.
"""

from __future__ import annotations

import json
import math

import numpy as np

__all__ = ["dumps", "json_ready"]


def json_ready(value):
    """`value` with every non-finite float replaced by None and NumPy values made Python values."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value, **kwargs) -> str:
    """``json.dumps`` of :func:`json_ready` (`value`), refusing any NaN or infinity left (objects
    JSON does not know are written as their ``str``)."""
    kwargs.setdefault("default", str)
    return json.dumps(json_ready(value), allow_nan=False, **kwargs)
