"""ReLU networks as a frozen list of affine layers.

A network with L hidden layers computes, with ``h^0 = x``,

    z^l = W^l h^{l-1} + b^l,   h^l = max(z^l, 0),   l = 1..L,

and optionally a final linear output ``y = W_out h^L + b_out`` that does not change the
regions. Convolutions, average pooling and flattening are lowered to affine maps
(:mod:`polyregions.conv`, kept sparse for convolutions); pooling and flattening are linear
and fold into the next map.

The pattern of ``x``: neuron ``j`` is on when ``z_j(x) > 0`` and off otherwise. Bits are
ordered layer by layer, and within a layer in its flattened (channel, row, column) order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import finite_array, int_at_least, positive_int
from .conv import avgpool2d_matrix, conv2d_matrix
from .errors import InvalidInputError, UnsupportedError

__all__ = ["Dense", "Conv2d", "AvgPool2d", "Flatten", "Network"]


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected layer ``z = weight @ h + bias``, weight of shape (out, in); ReLU follows."""

    weight: np.ndarray
    bias: np.ndarray

    def __post_init__(self):
        W = finite_array(self.weight, "weight", ndim=2)
        b = finite_array(self.bias, "bias", ndim=1)
        if b.shape[0] != W.shape[0]:
            raise InvalidInputError(f"`bias` has length {b.shape[0]} but `weight` has {W.shape[0]} rows")
        object.__setattr__(self, "weight", W)
        object.__setattr__(self, "bias", b)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution, weight of shape (d_out, d_in, f1, f2), channels first; ReLU follows."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        W = finite_array(self.weight, "weight", ndim=4)
        b = finite_array(self.bias, "bias", ndim=1)
        if b.shape[0] != W.shape[0]:
            raise InvalidInputError(f"`bias` has length {b.shape[0]} but `weight` has {W.shape[0]} filters")
        positive_int(self.stride, "stride")
        int_at_least(self.padding, "padding", 0)
        object.__setattr__(self, "weight", W)
        object.__setattr__(self, "bias", b)


@dataclass(frozen=True)
class AvgPool2d:
    """2-D average pooling (linear, no ReLU), no padding; stride (an int or a pair) defaults to the kernel.

    Pooling folds into the next affine layer; trailing pooling becomes the output map."""

    kernel: tuple
    stride: int | tuple | None = None


@dataclass(frozen=True)
class Flatten:
    """Flattening in (channel, row, column) order (the identity on the flat vector)."""


@dataclass(frozen=True, eq=False)
class Network:
    """A ReLU network lowered to dense affine layers.

    Parameters
    ----------
    layers : list of Dense, Conv2d, AvgPool2d, Flatten
        ReLU follows every Dense and Conv2d layer; pooling and flattening fold into the next one.
    input_shape : int or (c, h, w), optional
        Needed when the first layer is a convolution; otherwise read from the first Dense layer.
    output : (W, b) or Dense, optional
        A final linear layer (no ReLU); it does not change the regions.

    Attributes
    ----------
    hidden : tuple of (W, b)
        The lowered hidden layers, ``W`` of shape ``(n_l, n_{l-1})``.
    sparse_hidden : tuple
        Per hidden layer, its ``W`` as a ``scipy.sparse.csr_array`` when it comes from a
        convolution (at most ``d_in f1 f2`` entries per row), else None: the search multiplies
        with it instead of the dense copy.
    widths : tuple of int
        ``(n_1, ..., n_L)``.
    input_dim : int
        ``n_0``.
    """

    layers: tuple
    input_shape: tuple | None = None
    output: tuple | None = None
    hidden: tuple = field(init=False, repr=False)
    sparse_hidden: tuple = field(init=False, repr=False)
    layer_shapes: tuple = field(init=False, repr=False)

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise InvalidInputError("`layers` must contain at least one Dense or Conv2d layer")
        shape = self.input_shape
        for k, layer in enumerate(layers):
            if not isinstance(layer, (Dense, Conv2d, AvgPool2d, Flatten)):
                raise UnsupportedError(f"`layers[{k}]` has unsupported type {type(layer).__name__}")
        if shape is None:
            first = layers[0]
            if not isinstance(first, Dense):
                raise InvalidInputError("`input_shape` is required when the first layer is not Dense")
            shape = (first.weight.shape[1],)
        elif isinstance(shape, (int, np.integer)):
            shape = (positive_int(shape, "input_shape"),)
        else:
            shape = tuple(int(s) for s in shape)
            if len(shape) not in (1, 3) or any(s < 1 for s in shape):
                raise InvalidInputError(f"`input_shape` must be n or (c, h, w) with positive entries, got {shape}")
        input_shape = shape
        pending = None  # linear map folded into the next affine layer
        hidden, shapes, sparse = [], [], []
        for k, layer in enumerate(layers):
            n_in = int(np.prod(shape))
            if isinstance(layer, Dense):
                W, b = layer.weight, layer.bias
                if W.shape[1] != (pending.shape[0] if pending is not None else n_in):
                    raise InvalidInputError(
                        f"`layers[{k}]` (Dense) expects {W.shape[1]} inputs but receives {n_in}"
                    )
                shape = (W.shape[0],)
            elif isinstance(layer, Conv2d):
                if len(shape) != 3:
                    raise InvalidInputError(f"`layers[{k}]` (Conv2d) needs a (c, h, w) input, got shape {shape}")
                W, b, shape = conv2d_matrix(layer.weight, layer.bias, shape, layer.stride, layer.padding, sparse=True)
            elif isinstance(layer, AvgPool2d):
                if len(shape) != 3:
                    raise InvalidInputError(f"`layers[{k}]` (AvgPool2d) needs a (c, h, w) input, got shape {shape}")
                P, shape = avgpool2d_matrix(shape, tuple(layer.kernel), layer.stride, sparse=True)
                pending = P if pending is None else P @ pending
                continue
            elif isinstance(layer, Flatten):
                shape = (int(np.prod(shape)),)
                continue
            else:
                raise UnsupportedError(f"`layers[{k}]` has unsupported type {type(layer).__name__}")
            if pending is not None:
                W = W @ pending
                pending = None
            if not isinstance(W, np.ndarray):  # a convolution's (or pooling's) sparse map
                sparse.append(W)
                W = W.toarray()
            else:
                sparse.append(None)
            hidden.append((np.asarray(W, dtype=np.float64), b))
            shapes.append(shape)
        if not hidden:
            raise InvalidInputError("`layers` must contain at least one Dense or Conv2d layer")
        out = self.output
        if out is not None:
            if isinstance(out, Dense):
                Wo, bo = out.weight, out.bias
            else:
                try:
                    Wo, bo = out
                except (TypeError, ValueError):
                    raise InvalidInputError("`output` must be a pair (W, b) or a Dense layer") from None
                Wo = finite_array(Wo, "output weight", ndim=2)
                bo = finite_array(bo, "output bias", ndim=1)
            n_last = hidden[-1][0].shape[0]
            if pending is not None:
                Wo = np.asarray(Wo @ pending) if Wo.shape[1] == pending.shape[0] else Wo
            if Wo.shape[1] != n_last or bo.shape[0] != Wo.shape[0]:
                raise InvalidInputError(
                    f"`output` must map {n_last} units: got W of shape {Wo.shape} and b of length {bo.shape[0]}"
                )
            out = (Wo, bo)
        elif pending is not None:
            # trailing pooling: linear, it changes no region; it is the network's output map
            out = (pending.toarray(), np.zeros(pending.shape[0]))
        for W, b in hidden:
            W.setflags(write=False)
            b.setflags(write=False)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", input_shape)
        object.__setattr__(self, "output", out)
        object.__setattr__(self, "hidden", tuple(hidden))
        object.__setattr__(self, "sparse_hidden", tuple(sparse))
        object.__setattr__(self, "layer_shapes", tuple(shapes))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dense(cls, weights, biases, output=None) -> "Network":
        """Fully connected ReLU network; ``weights[l]`` of shape ``(n_l, n_{l-1})``."""
        weights, biases = list(weights), list(biases)
        if len(weights) != len(biases) or not weights:
            raise InvalidInputError(
                f"`weights` and `biases` must be non-empty lists of equal length, got {len(weights)} and {len(biases)}"
            )
        layers = []
        for l, (W, b) in enumerate(zip(weights, biases)):
            W = finite_array(W, f"weights[{l}]", ndim=2)
            b = finite_array(b, f"biases[{l}]", ndim=1)
            if b.shape[0] != W.shape[0]:
                raise InvalidInputError(f"`biases[{l}]` has length {b.shape[0]} but `weights[{l}]` has {W.shape[0]} rows")
            layers.append(Dense(W, b))
        for l in range(1, len(layers)):
            if layers[l].weight.shape[1] != layers[l - 1].weight.shape[0]:
                raise InvalidInputError(
                    f"`weights[{l}]` has {layers[l].weight.shape[1]} columns but layer {l - 1} has "
                    f"{layers[l - 1].weight.shape[0]} neurons"
                )
        return cls(layers, output=output)

    # ------------------------------------------------------------------ shape facts
    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def widths(self) -> tuple:
        return tuple(W.shape[0] for W, _ in self.hidden)

    @property
    def num_neurons(self) -> int:
        return sum(self.widths)

    # ------------------------------------------------------------------ evaluation
    def _as_batch(self, x):
        x = np.asarray(x, dtype=np.float64)
        single = x.ndim == 1 or (x.ndim == len(self.input_shape) and x.shape == tuple(self.input_shape) and x.ndim > 1)
        if single:
            x = x.reshape(1, -1)
        else:
            x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_dim:
            raise InvalidInputError(f"`x` must have {self.input_dim} input values per point, got {x.shape[1]}")
        return x, single

    def preactivations(self, x) -> list:
        """Pre-activations ``z^1, ..., z^L`` at the points ``x`` (one array of shape (N, n_l) per layer)."""
        h, single = self._as_batch(x)
        zs = []
        for W, b in self.hidden:
            z = h @ W.T + b
            zs.append(z[0] if single else z)
            h = np.maximum(z, 0.0)
        return zs

    def forward(self, x) -> np.ndarray:
        """Network output at ``x`` (the last hidden layer when there is no output layer)."""
        h, single = self._as_batch(x)
        for W, b in self.hidden:
            h = np.maximum(h @ W.T + b, 0.0)
        if self.output is not None:
            h = h @ self.output[0].T + self.output[1]
        return h[0] if single else h

    def pattern(self, x) -> np.ndarray:
        """Activation pattern at ``x``: booleans, True where ``z_j(x) > 0``, layer by layer."""
        zs = self.preactivations(x)
        return np.concatenate([z > 0 for z in zs], axis=-1)

    def __repr__(self):
        return f"Network(input_shape={self.input_shape}, widths={self.widths}, output={'yes' if self.output else 'no'})"
