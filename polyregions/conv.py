"""Lowering of convolution, average pooling and flattening to dense affine maps.

Tensors are channels first, ``(c, h, w)``, and flattened in (channel, row, column)
order: unit ``(c, r, q)`` has flat index ``c*h*w + r*w + q``.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError


def conv_output_size(n: int, f: int, stride: int, padding: int) -> int:
    """Output length ``floor((n + 2p - f) / s) + 1`` of a convolution along one axis."""
    return (n + 2 * padding - f) // stride + 1


def conv2d_matrix(weight: np.ndarray, bias: np.ndarray, input_shape, stride: int = 1, padding: int = 0):
    """Affine map ``z = W x + b`` of a 2-D convolution (cross-correlation, as in PyTorch).

    ``z[o, i, j] = bias[o] + sum_{c, a, b} weight[o, c, a, b] * xpad[c, i*s + a, j*s + b]``,
    where ``xpad`` is ``x`` with `padding` zeros on each side.

    Returns ``(W, b, (d_out, h_out, w_out))`` with ``W`` of shape ``(d_out*h_out*w_out, c*h*w)``.
    """
    d_out, d_in, f1, f2 = weight.shape
    c, h, w = input_shape
    if d_in != c:
        raise InvalidInputError(f"`weight` has {d_in} input channels but the input has {c}")
    h_out = conv_output_size(h, f1, stride, padding)
    w_out = conv_output_size(w, f2, stride, padding)
    if h_out < 1 or w_out < 1:
        raise InvalidInputError(
            f"`weight` of spatial size {(f1, f2)} does not fit the input {(h, w)} with padding {padding}"
        )
    W = np.zeros((d_out, h_out, w_out, c, h, w))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(f1):
                r = i * stride + a - padding
                if not 0 <= r < h:
                    continue
                for b in range(f2):
                    q = j * stride + b - padding
                    if 0 <= q < w:
                        W[:, i, j, :, r, q] = weight[:, :, a, b]
    bias_full = np.repeat(np.asarray(bias, dtype=np.float64), h_out * w_out)
    return W.reshape(d_out * h_out * w_out, c * h * w), bias_full, (d_out, h_out, w_out)


def avgpool2d_matrix(input_shape, kernel, stride=None):
    """Linear map of a 2-D average pooling (no padding; `stride` an int or a pair, default the kernel);
    returns ``(P, (c, h_out, w_out))``."""
    c, h, w = input_shape
    k1, k2 = kernel
    if stride is None:
        s1, s2 = k1, k2
    elif isinstance(stride, (tuple, list)):
        s1, s2 = stride
    else:
        s1 = s2 = stride
    h_out = conv_output_size(h, k1, s1, 0)
    w_out = conv_output_size(w, k2, s2, 0)
    if h_out < 1 or w_out < 1:
        raise InvalidInputError(f"`kernel` {kernel} does not fit the input {(h, w)}")
    P = np.zeros((c, h_out, w_out, c, h, w))
    for ch in range(c):
        for i in range(h_out):
            for j in range(w_out):
                P[ch, i, j, ch, i * s1 : i * s1 + k1, j * s2 : j * s2 + k2] = 1.0 / (k1 * k2)
    return P.reshape(c * h_out * w_out, c * h * w), (c, h_out, w_out)
