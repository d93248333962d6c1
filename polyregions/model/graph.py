"""The framework-neutral part of reading a model: a graph of operations assembled into layer
records, and the check of a converted network against the framework's forward pass.

The adapters (:mod:`polyregions.model.torch_import` for PyTorch,
:mod:`polyregions.model.onnx_import` for ONNX) read a model into a graph of :class:`GraphOp`
(single-input operations and additions); :func:`assemble` turns it into the records of the
JSON structure of :mod:`polyregions.model.io`:

* an addition ``u + body(u)`` of a value and a value computed from it becomes a
  ``residual`` record with the body's layers (an activation after the sum is the next
  record);
* a per-unit affine map (a batch normalisation in eval mode, a bias addition) folds into the
  Linear or Conv2d layer right before it;
* an activation right after a linear Linear or Conv2d layer becomes that layer's
  ``negative_slope``.

Every conversion is checked before it is returned (:func:`check_forward`): the network's
output and the framework's forward pass must agree within ``rtol * max(1, max |y|)`` on
``CHECK_SAMPLES`` standard normal inputs scaled by each of ``CHECK_SCALES`` (so that units
which switch on only far from the origin are on somewhere) and on the caller's own
``check_points``, with ``TORCH_RTOL`` when both sides run in float64 and ``FLOAT32_RTOL``
for a float32 graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import finite_array
from ..errors import InvalidInputError, UnsupportedError

__all__ = ["CHECK_SAMPLES", "CHECK_SCALES", "FLOAT32_RTOL", "GraphOp", "TORCH_RTOL", "assemble", "check_forward",
           "check_points_array", "import_extra"]

#: Random inputs, per scale, on which every conversion is compared with the framework's forward pass.
CHECK_SAMPLES = 64
#: The standard deviations of those inputs: a unit that is off on every N(0, 1) sample (a large
#: negative bias) is on somewhere at a larger scale, and a small one probes near the origin.
CHECK_SCALES = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3)
#: Agreement required when both sides run in float64 (a PyTorch module, a float64 graph), relative to max(1, max |y|).
TORCH_RTOL = 1e-9
#: Agreement required when the reference runs in float32 (an ONNX graph in onnxruntime).
FLOAT32_RTOL = 1e-4


def import_extra(module: str, extra: str):
    """Import `module`, or raise :class:`UnsupportedError` naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnsupportedError(f"{module} is not installed: pip install 'polyregions[{extra}]'") from None


@dataclass
class GraphOp:
    """One operation of a model graph: the record it lowers to (None: the identity), or an addition.

    ``path`` names the operation in the model (``features.3``) for error messages."""

    path: str
    inputs: list
    record: dict | None = None
    add: bool = False
    fold: dict | None = field(default=None)  # a per-unit affine map folded into the previous layer


def _ancestors(ops, value):
    seen, stack = set(), [value]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in ops:
            stack.extend(ops[v].inputs)
    return seen


def _chain(ops, value, stop):
    """The records computing `value` from `stop`, in order."""
    out = []
    while value != stop:
        if value not in ops:
            raise UnsupportedError(f"the model computes `{out[-1][0] if out else value}` from a value other than "
                                   "its input (only chains with residual additions are supported)")
        op = ops[value]
        if op.add:
            p, q = op.inputs
            if p in _ancestors(ops, q):
                skip, body = p, q
            elif q in _ancestors(ops, p):
                skip, body = q, p
            else:
                raise UnsupportedError(f"`{op.path}` (add) adds two values neither of which is computed from the "
                                       "other: only residual additions u + body(u) are supported")
            inner = _chain(ops, body, skip)
            if not inner:
                raise UnsupportedError(f"`{op.path}` (add) adds a value to itself")
            out.append((op.path, {"type": "residual", "body": [r for _, r in inner]}))
            value = skip
            continue
        if op.fold is not None:
            out.append((op.path, dict(op.fold, type="fold")))
        elif op.record is not None and op.record["type"] == "sequence":
            out.extend((op.path, rec) for rec in reversed(op.record["records"]))
        elif op.record is not None:
            out.append((op.path, op.record))
        value = op.inputs[0]
    out.reverse()
    return _simplify(out)


def _simplify(pairs):
    """Fold per-unit affine maps and activations into the linear layer before them."""
    done = []
    for path, rec in pairs:
        prev = done[-1][1] if done else None
        linear_prev = (prev is not None and prev["type"] in ("dense", "conv2d")
                       and prev.get("negative_slope", 0.0) == 1.0)
        if rec["type"] == "fold":
            if not linear_prev:
                raise UnsupportedError(f"`{path}` ({rec['what']}) must follow a Linear or Conv2d layer directly: "
                                       "polyregions folds it into that layer")
            scale, shift = np.asarray(rec["scale"], float), np.asarray(rec["shift"], float)
            W = np.asarray(prev["weight"], float)
            if scale.shape[0] not in (1, W.shape[0]) or shift.shape[0] not in (1, W.shape[0]):
                raise UnsupportedError(f"`{path}` ({rec['what']}) has {max(scale.shape[0], shift.shape[0])} "
                                       f"channels but the layer before it has {W.shape[0]}")
            folded = dict(prev, weight=W * scale.reshape((-1,) + (1,) * (W.ndim - 1)),
                          bias=np.asarray(prev["bias"], float) * scale + shift)
            done[-1] = (done[-1][0], folded)
        elif rec["type"] == "activation" and linear_prev:
            done[-1] = (done[-1][0], dict(prev, negative_slope=rec["negative_slope"]))
        else:
            done.append((path, rec))
    return done


def assemble(ops: dict, output, input_value) -> list:
    """The layer records computing `output` from `input_value` in the graph `ops` (value -> GraphOp)."""
    return [rec for _, rec in _chain(ops, output, input_value)]


def check_points_array(points, input_shape) -> np.ndarray:
    """The caller's `check_points` as an array of shape (N, *input_shape), N >= 1, or raise naming it."""
    x = finite_array(points, "check_points")
    n = int(np.prod(input_shape))
    if x.ndim == 2 and x.shape[1] == n and x.shape[0] >= 1:
        return x.reshape((x.shape[0],) + tuple(input_shape))
    if x.ndim == len(input_shape) + 1 and x.shape[1:] == tuple(input_shape) and x.shape[0] >= 1:
        return x
    raise InvalidInputError(f"`check_points` must have shape (N, {n}) or (N, {', '.join(map(str, input_shape))}) "
                            f"with N >= 1, got {x.shape}")


def check_forward(net, reference, input_shape, rtol: float, source: str, dtype=np.float64,
                  check_points=None) -> float:
    """Compare ``net.forward`` with `reference` (inputs of shape (N, *input_shape) -> outputs) on
    ``CHECK_SAMPLES`` seeded standard normal inputs at each scale of ``CHECK_SCALES`` and on
    `check_points`; raise :class:`UnsupportedError` when, within one of these groups,
    ``max |difference| > rtol * max(1, max |reference|)`` (or either side is not finite).
    Returns the largest difference."""
    shape = tuple(input_shape)
    rng = np.random.default_rng(0)
    groups = [(f"standard normal inputs times {s:g}", s * rng.standard_normal((CHECK_SAMPLES,) + shape))
              for s in CHECK_SCALES]
    if check_points is not None:
        groups.append(("`check_points`", check_points_array(check_points, shape)))
    worst = 0.0
    for what, x in groups:
        x = np.asarray(x).astype(dtype)
        n = len(x)
        expected = np.asarray(reference(x), dtype=np.float64).reshape(n, -1)
        got = net.forward(x.reshape(n, -1).astype(np.float64)).reshape(n, -1)
        if got.shape != expected.shape:
            raise UnsupportedError(f"{source}: the converted network has {got.shape[1]} outputs but the model has "
                                   f"{expected.shape[1]}")
        err = float(np.max(np.abs(got - expected)))
        if not err <= rtol * max(1.0, float(np.max(np.abs(expected)))):  # NaN fails too
            raise UnsupportedError(f"{source}: the converted network differs from the model's forward pass by "
                                   f"{err:.3g} on {what} (tolerance {rtol:g} relative): an operation was not "
                                   "converted faithfully")
        worst = max(worst, err)
    return worst
