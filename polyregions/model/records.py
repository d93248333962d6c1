"""Layer records that the model importers build from framework operations.

The PyTorch and ONNX readers (:mod:`polyregions.model.torch_import`,
:mod:`polyregions.model.onnx_import`) turn operations into records of the JSON structure of
:mod:`polyregions.model.io`. The records here are framework-neutral:

* :func:`elementwise_affine_record`: ``y = scale * x + shift`` on a value of known shape
  (a constant added to a tensor, the ``alpha`` of ``torch.add``), as a linear layer
  (``negative_slope`` 1) that folds into the next affine map when the network is lowered:
  a Dense layer ``scale I`` on a vector; on a ``(c, h, w)`` tensor a 1x1 convolution when the
  shift is constant per channel, else ``flatten -> Dense -> unflatten``;
* :func:`batchnorm_fold`: batch normalisation in inference,
  ``y = (x - mean) / sqrt(var + eps) * gamma + beta``, as the per-unit scale and shift that
  fold into the layer before, with the running variance checked;
* :func:`fixed_batch`: a reference forward pass for a model exported for one batch size.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, UnsupportedError

__all__ = ["batchnorm_fold", "elementwise_affine_record", "fixed_batch"]


def elementwise_affine_record(scale: float, shift, shape, path: str) -> dict:
    """The record of ``y = scale * x + shift`` on a value of shape `shape` (without the batch).

    `shift` is a number or an array that broadcasts to ``(1, *shape)`` (it must not vary
    over the batch). `path` names the operation in errors.
    """
    shape = tuple(int(s) for s in shape)
    try:
        full = np.broadcast_to(np.asarray(shift, dtype=np.float64), (1,) + shape)[0]
    except ValueError:
        raise UnsupportedError(f"`{path}` adds a constant of shape {np.shape(shift)} to a value of shape "
                               f"(batch, {', '.join(map(str, shape))})") from None
    scale = float(scale)
    if len(shape) == 1:
        return {"type": "dense", "weight": scale * np.eye(shape[0]), "bias": full.copy(), "negative_slope": 1.0}
    if len(shape) != 3:
        raise UnsupportedError(f"`{path}` acts on a value of shape (batch, {', '.join(map(str, shape))}): only "
                               "vectors and (c, h, w) tensors are supported")
    per_channel = full.reshape(shape[0], -1)
    if np.all(per_channel == per_channel[:, :1]):
        weight = (scale * np.eye(shape[0]))[:, :, None, None]
        return {"type": "conv2d", "weight": weight, "bias": per_channel[:, 0].copy(), "stride": 1, "padding": 0,
                "negative_slope": 1.0}
    n = int(np.prod(shape))
    return {"type": "sequence", "records": [
        {"type": "flatten"}, {"type": "dense", "weight": scale * np.eye(n), "bias": full.reshape(-1).copy(),
                              "negative_slope": 1.0},
        {"type": "unflatten", "shape": list(shape)}]}


def batchnorm_fold(gamma, beta, mean, var, eps, path: str, what: str) -> dict:
    """The fold record of a batch normalisation in inference:
    ``scale = gamma / sqrt(var + eps)``, ``shift = beta - mean * scale`` (gamma 1 and beta 0 when None).

    Raises
    ------
    InvalidInputError
        Naming `path` and `what`, when the running variance is negative or not finite, or
        ``var + eps`` is not positive (a division by zero in the framework too).
    """
    var = np.asarray(var, dtype=np.float64)
    eps = float(eps)
    if not np.all(np.isfinite(var)) or np.any(var < 0):
        bad = var[~np.isfinite(var) | (var < 0)]
        raise InvalidInputError(f"`{path}` ({what}) has a running_var entry {bad.reshape(-1)[0]:g}: a variance "
                                "is finite and non-negative")
    if not np.all(var + eps > 0):
        raise InvalidInputError(f"`{path}` ({what}) has running_var + eps = 0 (eps {eps:g}): it divides by zero")
    scale = (np.asarray(gamma, dtype=np.float64) if gamma is not None else 1.0) / np.sqrt(var + eps)
    shift = (np.asarray(beta, dtype=np.float64) if beta is not None else 0.0) - np.asarray(mean, np.float64) * scale
    return {"what": what, "scale": np.atleast_1d(scale), "shift": np.atleast_1d(shift)}


def fixed_batch(run, batch: int | None):
    """`run` (a batch of inputs -> outputs) for a model that takes exactly `batch` inputs at once:
    the inputs in chunks of `batch`, the last one padded with zeros. None: `run` itself."""
    if not batch:
        return run

    def chunked(x):
        x = np.asarray(x)
        out = []
        for start in range(0, len(x), batch):
            part = x[start:start + batch]
            padded = np.concatenate([part, np.zeros((batch - len(part),) + part.shape[1:], dtype=part.dtype)])
            out.append(np.asarray(run(padded))[:len(part)])
        return np.concatenate(out)

    return chunked
