"""Lowering of a layer list to a chain of piecewise-linear stages.

A lowered network is a chain of stages. Stage ``l`` computes its pre-activations from the
previous stage's output, ``z^l = W^l h^{l-1} + b^l`` (``h^0 = x``), and applies one of two
activations:

* elementwise, with a per-neuron negative slope ``alpha_j``: ``h_j = z_j`` when ``z_j > 0``,
  else ``alpha_j z_j``. ``alpha_j = 0`` is ReLU, ``0 < alpha_j < 1`` (or any other value
  but 1, negative slopes included) is LeakyReLU, and ``alpha_j = 1`` is the identity: a
  *linear* neuron that never splits and has no pattern bit;
* max pooling, on groups of ``k`` consecutive pre-activations (the candidates of one
  pooling window): ``h`` keeps the argmax candidate of every group and zeroes the others;
  the sum over each group (the pooled value) folds into the next stage's ``W``.

Linear maps (flattening, average pooling, a linear layer, the sum of a residual block)
fold into the next stage, and the linear tail becomes the network's output map. A
residual block ``u + body(u)`` carries ``u`` through the stages of its body as linear
neurons appended to each stage, so the stage after the addition reads
``z = W_body h + b_body + u``: the skip adds the earlier affine map to its pre-activations.

The pattern of a point ``x``: one bit per non-linear elementwise neuron (``z_j > 0``) and,
per pooling window, one bit per candidate with exactly the argmax set (ties go to the
lowest index), stage by stage in the order of the neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conv import conv_output_size
from ..errors import InvalidInputError, UnsupportedError

__all__ = ["Stage", "StageBuilder", "maxpool2d_gather"]


@dataclass(frozen=True, eq=False)
class Stage:
    """One lowered stage: ``z = weight @ h + bias`` and its activation.

    Parameters
    ----------
    weight, bias : ndarray
        The affine map from the previous stage's output (or the input).
    slopes : ndarray
        Per neuron, the slope of the elementwise activation on ``z <= 0`` (0 for ReLU,
        1 for a linear neuron); ignored for pooling stages.
    pool : int
        0 for an elementwise stage; ``k >= 1`` when the neurons are pooling candidates in
        groups of ``k`` (one group per window).
    """

    weight: np.ndarray
    bias: np.ndarray
    slopes: np.ndarray
    pool: int = 0

    @property
    def width(self) -> int:
        return self.weight.shape[0]

    @property
    def split(self) -> np.ndarray:
        """Mask of the neurons that have pattern bits (all of them in a pooling stage)."""
        if self.pool:
            return np.ones(self.width, dtype=bool)
        return self.slopes != 1.0

    @property
    def n_bits(self) -> int:
        return int(np.count_nonzero(self.split))

    @property
    def is_relu(self) -> bool:
        return not self.pool and not np.any(self.slopes)

    def bits(self, z: np.ndarray) -> np.ndarray:
        """Pattern bits of the pre-activations `z` (shape (N, width))."""
        if not self.pool:
            return (z > 0)[:, self.split]
        groups = z.reshape(z.shape[0], -1, self.pool)
        onehot = np.zeros(groups.shape, dtype=bool)
        np.put_along_axis(onehot, np.argmax(groups, axis=2)[:, :, None], True, axis=2)  # first max wins
        return onehot.reshape(z.shape)

    def gains(self, bits: np.ndarray) -> np.ndarray:
        """The diagonal ``beta`` with ``h = beta * z`` on the region of this stage's `bits`."""
        bits = np.asarray(bits, dtype=bool)
        if self.pool:
            return bits.astype(np.float64)
        beta = np.ones(self.width)
        beta[self.split] = np.where(bits, 1.0, self.slopes[self.split])
        return beta

    def activate(self, z: np.ndarray) -> np.ndarray:
        """The stage's output at the pre-activations `z` (shape (N, width))."""
        if self.pool:
            return z * self.bits(z)
        return np.where(z > 0, z, self.slopes * z)


def maxpool2d_gather(input_shape, kernel, stride):
    """The 0/1 matrix that lists, window by window, the candidates of a 2-D max pooling.

    Windows are ordered (channel, row, column); the ``k1*k2`` candidates of a window in
    row-major order. Returns ``(P, (c, h_out, w_out), k)`` with ``P`` of shape
    ``(c*h_out*w_out*k, c*h*w)``.
    """
    c, h, w = input_shape
    k1, k2 = kernel
    s1, s2 = stride
    h_out, w_out = conv_output_size(h, k1, s1, 0), conv_output_size(w, k2, s2, 0)
    if h_out < 1 or w_out < 1:
        raise InvalidInputError(f"`kernel` {tuple(kernel)} does not fit the input {(h, w)}")
    k = k1 * k2
    rows = []
    for ch in range(c):
        for i in range(h_out):
            for j in range(w_out):
                for a in range(k1):
                    for b in range(k2):
                        rows.append(ch * h * w + (i * s1 + a) * w + (j * s2 + b))
    P = np.zeros((len(rows), c * h * w))
    P[np.arange(len(rows)), rows] = 1.0
    return P, (c, h_out, w_out), k


class StageBuilder:
    """Collects stages while the layers of a network are lowered one after another.

    The current value is ``A h + a`` with ``h`` the last stage's output (``A`` is None for
    the identity); ``carries`` holds the inputs of the residual blocks still open, as
    affine maps of ``h`` too.
    """

    def __init__(self, input_shape):
        self.shape = tuple(input_shape)
        self.n_out = int(np.prod(self.shape))  # the size of h
        self.A = None
        self.a = np.zeros(self.n_out)
        self.carries = []
        self.stages = []
        self.shapes = []

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def _matrix(self):
        return np.eye(self.n_out) if self.A is None else self.A

    def linear(self, P, q, shape) -> None:
        """Compose the current value with ``v -> P v + q`` of output shape `shape`."""
        self.A = P if self.A is None else P @ self.A
        self.a = P @ self.a + (0.0 if q is None else q)
        self.shape = tuple(shape)

    def activate(self, slope: float) -> None:
        """Apply the elementwise activation of negative slope `slope` (1: nothing to do)."""
        slope = float(slope)
        if slope == 1.0:
            return
        self._emit(self._matrix(), self.a, np.full(self.size, slope), 0)

    def maxpool(self, kernel, stride, where: str) -> None:
        if self.carries:
            raise UnsupportedError(f"{where} (MaxPool2d) inside a Residual body is not supported")
        if len(self.shape) != 3:
            raise InvalidInputError(f"{where} (MaxPool2d) needs a (c, h, w) input, got shape {self.shape}")
        P, shape, k = maxpool2d_gather(self.shape, kernel, stride)
        W, b = P @ self._matrix(), P @ self.a
        self.shape = shape
        self._emit(W, b, np.zeros(W.shape[0]), k)
        n = W.shape[0]
        self.A = np.kron(np.eye(n // k), np.ones((1, k)))  # the pooled value: the sum over each group
        self.a = np.zeros(n // k)

    def _emit(self, W, b, slopes, pool) -> None:
        blocks = [(W, b, slopes)] + [(C, c, np.ones(C.shape[0])) for C, c, _ in self.carries]
        W_all = np.vstack([blk[0] for blk in blocks])
        b_all = np.concatenate([blk[1] for blk in blocks])
        self.stages.append(Stage(W_all, b_all, np.concatenate([blk[2] for blk in blocks]), pool))
        self.shapes.append(self.shape if not self.carries else (W_all.shape[0],))
        n_all = W_all.shape[0]
        offset = 0
        for idx, (Wk, _, _) in enumerate(blocks):
            n_k = Wk.shape[0]
            S = np.zeros((n_k, n_all))
            S[:, offset:offset + n_k] = np.eye(n_k)
            if idx == 0:
                self.A, self.a = (S if len(blocks) > 1 else None), np.zeros(n_k)
            else:
                self.carries[idx - 1] = (S, np.zeros(n_k), self.carries[idx - 1][2])
            offset += n_k
        self.n_out = n_all

    def open_residual(self) -> None:
        """Start a residual block: its input (the current value) is carried until :meth:`close_residual`."""
        self.carries.append((self._matrix().copy(), self.a.copy(), self.shape))

    def close_residual(self, where: str) -> None:
        C, c, shape = self.carries.pop()
        if self.shape != shape:
            raise InvalidInputError(f"{where} (Residual) body maps shape {shape} to {self.shape}: "
                                    "the skip needs the same shape")
        self.A = self._matrix() + C
        self.a = self.a + c

    def output_map(self):
        """The pending linear tail ``(A, a)``, or None when the network ends with a stage."""
        if self.A is None:
            return None
        return self.A, self.a
