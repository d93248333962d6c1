"""Lowering of convolution, average pooling and flattening to affine maps.

Tensors are channels first, ``(c, h, w)``, and flattened in (channel, row, column)
order: unit ``(c, r, q)`` has flat index ``c*h*w + r*w + q``. The maps are built as sparse
matrices (a convolution's row has at most ``d_in f1 f2`` entries, a pooling row ``k1 k2``)
from index arithmetic, and returned dense unless ``sparse=True``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError


def conv_output_size(n: int, f: int, stride: int, padding: int) -> int:
    """Output length ``floor((n + 2p - f) / s) + 1`` of a convolution along one axis."""
    return (n + 2 * padding - f) // stride + 1


def conv2d_matrix(weight: np.ndarray, bias: np.ndarray, input_shape, stride: int = 1, padding: int = 0, *,
                  sparse: bool = False):
    """Affine map ``z = W x + b`` of a 2-D convolution (cross-correlation, as in PyTorch).

    ``z[o, i, j] = bias[o] + sum_{c, a, b} weight[o, c, a, b] * xpad[c, i*s + a, j*s + b]``,
    where ``xpad`` is ``x`` with `padding` zeros on each side.

    Returns ``(W, b, (d_out, h_out, w_out))`` with ``W`` of shape ``(d_out*h_out*w_out, c*h*w)``,
    a ``scipy.sparse.csr_array`` when `sparse` is true.
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
    # every (output unit, filter tap) pair at once: o, i, j, ch, a, b broadcast against each other
    o, i, j, ch, a, b = np.ix_(np.arange(d_out), np.arange(h_out), np.arange(w_out), np.arange(c), np.arange(f1),
                               np.arange(f2))
    r = i * stride + a - padding
    q = j * stride + b - padding
    shape6 = (d_out, h_out, w_out, c, f1, f2)
    rows = np.broadcast_to((o * h_out + i) * w_out + j, shape6)
    cols = np.broadcast_to((ch * h + r) * w + q, shape6)
    vals = np.broadcast_to(weight[o, ch, a, b], shape6)
    inside = np.broadcast_to((r >= 0) & (r < h) & (q >= 0) & (q < w), shape6)
    W = _matrix(rows[inside], cols[inside], vals[inside], (d_out * h_out * w_out, c * h * w), sparse)
    bias_full = np.repeat(np.asarray(bias, dtype=np.float64), h_out * w_out)
    return W, bias_full, (d_out, h_out, w_out)


def avgpool2d_matrix(input_shape, kernel, stride=None, *, sparse: bool = False):
    """Linear map of a 2-D average pooling (no padding; `stride` an int or a pair, default the kernel);
    returns ``(P, (c, h_out, w_out))``, ``P`` a ``scipy.sparse.csr_array`` when `sparse` is true."""
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
    ch, i, j, a, b = np.ix_(np.arange(c), np.arange(h_out), np.arange(w_out), np.arange(k1), np.arange(k2))
    shape5 = (c, h_out, w_out, k1, k2)
    rows = np.broadcast_to((ch * h_out + i) * w_out + j, shape5).ravel()
    cols = np.broadcast_to((ch * h + i * s1 + a) * w + j * s2 + b, shape5).ravel()
    P = _matrix(rows, cols, np.full(rows.size, 1.0 / (k1 * k2)), (c * h_out * w_out, c * h * w), sparse)
    return P, (c, h_out, w_out)


def _matrix(rows, cols, vals, shape, sparse):
    """The matrix with entries ``vals`` at ``(rows, cols)`` (duplicates summed), CSR or dense."""
    from scipy.sparse import csr_array

    M = csr_array((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=shape)
    M.sum_duplicates()
    return M if sparse else M.toarray()
