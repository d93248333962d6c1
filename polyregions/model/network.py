"""ReLU networks as a frozen list of affine layers.

A network with L hidden layers computes, with ``h^0 = x``,

    z^l = W^l h^{l-1} + b^l,   h^l = max(z^l, 0),   l = 1..L,

and optionally a final linear output ``y = W_out h^L + b_out`` that does not change the
regions. Convolutions, average pooling and flattening are lowered to affine maps
(:mod:`polyregions.model.conv`, kept sparse for convolutions); pooling and flattening are linear
and fold into the next map.

The pattern of ``x``: neuron ``j`` is on when ``z_j(x) > 0`` and off otherwise. Bits are
ordered layer by layer, and within a layer in its flattened (channel, row, column) order.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from .._validate import finite_array, finite_number, input_shape_tuple, int_at_least, positive_int, positive_ints
from .conv import avgpool2d_matrix, conv2d_matrix
from ..errors import InvalidInputError, PolyRegionsError, UnsupportedError
from .lowering import StageBuilder
from .rational import exact_record, split_exact

__all__ = ["Activation", "AvgPool2d", "Conv2d", "Dense", "Flatten", "MaxPool2d", "Network", "Residual", "Unflatten",
           "array_field", "layer_from_record", "layer_to_record", "lower_layer", "require_relu"]


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected layer ``z = weight @ h + bias``, weight of shape (out, in).

    The activation ``max(z, 0) + negative_slope * min(z, 0)`` follows: ReLU by default,
    LeakyReLU for a slope in (0, 1) (any other slope, negative ones included, is allowed),
    none for ``negative_slope = 1`` (linear: it folds into the next one). Rationals stay in ``exact`` (:mod:`.rational`)."""

    weight: np.ndarray
    bias: np.ndarray
    negative_slope: float = 0.0
    exact: tuple | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "negative_slope", finite_number(self.negative_slope, "negative_slope"))
        exact, weight, bias = split_exact(self.weight, self.bias)
        object.__setattr__(self, "exact", exact)
        W = finite_array(weight, "weight", ndim=2)
        b = finite_array(bias, "bias", ndim=1)
        if b.shape[0] != W.shape[0]:
            raise InvalidInputError(f"`bias` has length {b.shape[0]} but `weight` has {W.shape[0]} rows")
        object.__setattr__(self, "weight", W)
        object.__setattr__(self, "bias", b)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution, weight of shape (d_out, d_in, f1, f2), channels first.

    The activation of slope `negative_slope` follows, as for :class:`Dense` (ReLU by default)."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0
    negative_slope: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "negative_slope", finite_number(self.negative_slope, "negative_slope"))
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


@dataclass(frozen=True)
class Unflatten:
    """Read the flat vector as a tensor of shape `shape` = (c, h, w) (the identity on the flat vector)."""

    shape: tuple

    def __post_init__(self):
        shape = positive_ints(self.shape, "shape", "a (c, h, w) triple of positive integers", length=3)
        object.__setattr__(self, "shape", tuple(shape))


@dataclass(frozen=True)
class Activation:
    """The elementwise activation ``max(z, 0) + negative_slope * min(z, 0)`` of the current value.

    ReLU by default; LeakyReLU for another slope (negative slopes allowed); slope 1 is
    the identity. Use it after a linear layer or a :class:`Residual` sum."""

    negative_slope: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "negative_slope", finite_number(self.negative_slope, "negative_slope"))


@dataclass(frozen=True)
class MaxPool2d:
    """2-D max pooling, no padding; `kernel` and `stride` are ints or pairs, the stride defaults to the kernel.

    A region fixes the argmax of every window (see :mod:`polyregions.model.lowering`)."""

    kernel: int | tuple
    stride: int | tuple | None = None

    def __post_init__(self):
        kernel = positive_ints(self.kernel, "kernel", "a positive integer or a pair of them", length=2, scalar=True)
        stride = kernel if self.stride is None else positive_ints(
            self.stride, "stride", "a positive integer or a pair of them", length=2, scalar=True)
        object.__setattr__(self, "kernel", tuple(kernel))
        object.__setattr__(self, "stride", tuple(stride))


@dataclass(frozen=True, eq=False)
class Residual:
    """A residual block ``u -> u + body(u)``; `body` is a list of layers that keeps the shape of ``u``.

    No activation follows the sum: an :class:`Activation` after the block applies one."""

    body: tuple

    def __post_init__(self):
        body = tuple(self.body)
        if not body:
            raise InvalidInputError("`body` of a Residual must contain at least one layer")
        for k, layer in enumerate(body):
            if not isinstance(layer, LAYER_TYPES):
                raise UnsupportedError(f"`body[{k}]` has unsupported type {type(layer).__name__}")
        object.__setattr__(self, "body", body)


LAYER_TYPES = (Dense, Conv2d, AvgPool2d, Flatten, Unflatten, Activation, MaxPool2d, Residual)


def lower_layer(builder: StageBuilder, layer, where: str) -> None:
    """Lower one layer onto `builder`; `where` names the layer in error messages."""
    shape = builder.shape
    if isinstance(layer, Dense):
        W = layer.weight
        if W.shape[1] != builder.size:
            raise InvalidInputError(f"{where} (Dense) expects {W.shape[1]} inputs but receives {builder.size}")
        builder.linear(W, layer.bias, (W.shape[0],))
        builder.activate(layer.negative_slope)
    elif isinstance(layer, Conv2d):
        if len(shape) != 3:
            raise InvalidInputError(f"{where} (Conv2d) needs a (c, h, w) input, got shape {shape}")
        W, b, out_shape = conv2d_matrix(layer.weight, layer.bias, shape, layer.stride, layer.padding)
        builder.linear(W, b, out_shape)
        builder.activate(layer.negative_slope)
    elif isinstance(layer, AvgPool2d):
        if len(shape) != 3:
            raise InvalidInputError(f"{where} (AvgPool2d) needs a (c, h, w) input, got shape {shape}")
        P, out_shape = avgpool2d_matrix(shape, tuple(layer.kernel), layer.stride)
        builder.linear(P, None, out_shape)
    elif isinstance(layer, Flatten):
        builder.shape = (builder.size,)
    elif isinstance(layer, Unflatten):
        if int(np.prod(layer.shape)) != builder.size:
            raise InvalidInputError(f"{where} (Unflatten) to {layer.shape} receives {builder.size} values")
        builder.shape = layer.shape
    elif isinstance(layer, Activation):
        builder.activate(layer.negative_slope)
    elif isinstance(layer, MaxPool2d):
        builder.maxpool(layer.kernel, layer.stride, where)
    elif isinstance(layer, Residual):
        builder.open_residual()
        for k, inner in enumerate(layer.body):
            lower_layer(builder, inner, f"{where}.body[{k}]")
        builder.close_residual(where)
    else:
        raise UnsupportedError(f"{where} has unsupported type {type(layer).__name__}")


def _adapter(name: str):
    """The model adapter `name` (``torch_import``, ``onnx_import``), imported on first use. The
    adapters import the network type and do all the work; the network names them only here, by
    module path, as the lazy entry points :meth:`Network.from_torch` and :meth:`Network.from_onnx`."""
    return importlib.import_module(f"{__package__}.{name}")


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
        A final linear layer (no ReLU) after the layers (after their linear tail, when the
        layers end with linear maps); it does not change the regions.

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
    output : (W, b) or None
        The whole linear map from the last stage's output to the network's output: the
        layers' linear tail (layers after the last activation) composed with `output`.
    output_layer : (W, b) or None
        `output` as given (what a network file records beside the layers).
    """

    layers: tuple
    input_shape: tuple | None = None
    output: tuple | None = None
    hidden: tuple = field(init=False, repr=False)
    stages: tuple = field(init=False, repr=False)
    sparse_hidden: tuple = field(init=False, repr=False)
    layer_shapes: tuple = field(init=False, repr=False)
    output_layer: tuple | None = field(init=False, repr=False)

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise InvalidInputError("`layers` must contain at least one Dense or Conv2d layer")
        shape = self.input_shape
        for k, layer in enumerate(layers):
            if not isinstance(layer, LAYER_TYPES):
                raise UnsupportedError(f"`layers[{k}]` has unsupported type {type(layer).__name__}")
        if shape is None:
            first = layers[0]
            if not isinstance(first, Dense):
                raise InvalidInputError("`input_shape` is required when the first layer is not Dense")
            shape = (first.weight.shape[1],)
        else:
            shape = input_shape_tuple(shape)
        if int(np.prod(shape)) == 0:
            raise InvalidInputError(f"`layers[0]` takes 0 inputs (input shape {shape}): a network needs at least one input")
        builder = StageBuilder(shape)
        for k, layer in enumerate(layers):
            lower_layer(builder, layer, f"`layers[{k}]`")
        if not builder.stages:
            raise InvalidInputError("`layers` must contain at least one activation (a Dense or Conv2d layer "
                                    "with a slope other than 1, or an Activation or MaxPool2d layer)")
        out = self.output
        pending = builder.output_map()
        n_last = builder.stages[-1].width
        given = None
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
            if bo.shape[0] != Wo.shape[0]:
                raise InvalidInputError(f"`output` has W of shape {Wo.shape} but b of length {bo.shape[0]}")
            given = (Wo, bo)
            if pending is not None:  # the output layer follows the layers' linear tail: compose them
                if Wo.shape[1] != pending[0].shape[0]:
                    raise InvalidInputError(f"`output` must map the {pending[0].shape[0]} values of the layers' "
                                            f"linear tail: got W of shape {Wo.shape}")
                Wo, bo = Wo @ pending[0], Wo @ pending[1] + bo
            if Wo.shape[1] != n_last:
                raise InvalidInputError(f"`output` must map {n_last} units: got W of shape {Wo.shape}")
            out = (Wo, bo)
        elif pending is not None:
            # a linear tail (pooling, a linear layer, a residual sum): it changes no region
            out = pending
        stages = tuple(builder.stages)
        for stage in stages:
            for array in (stage.weight, stage.bias, stage.slopes):
                array.setflags(write=False)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "output", out)
        object.__setattr__(self, "output_layer", given)
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "hidden", tuple((st.weight, st.bias) for st in stages))
        object.__setattr__(self, "sparse_hidden", tuple(sparse_operator(st.weight) for st in stages))
        object.__setattr__(self, "layer_shapes", tuple(builder.shapes))

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
            exact, Wf, bf = split_exact(W, b, f"weights[{l}]", f"biases[{l}]")
            Wf, bf = finite_array(Wf, f"weights[{l}]", ndim=2), finite_array(bf, f"biases[{l}]", ndim=1)
            if bf.shape[0] != Wf.shape[0]:
                raise InvalidInputError(f"`biases[{l}]` has length {bf.shape[0]} but `weights[{l}]` has {Wf.shape[0]} rows")
            layers.append(Dense(W, b) if exact else Dense(Wf, bf))
        for l in range(1, len(layers)):
            if layers[l].weight.shape[1] != layers[l - 1].weight.shape[0]:
                raise InvalidInputError(
                    f"`weights[{l}]` has {layers[l].weight.shape[1]} columns but layer {l - 1} has "
                    f"{layers[l - 1].weight.shape[0]} neurons"
                )
        return cls(layers, output=output)

    @classmethod
    def from_records(cls, records, input_shape, *, source: str) -> "Network":
        """The network of a list of layer records (:mod:`polyregions.model.io`); errors name `source`."""
        try:
            layers = [layer_from_record(rec, f"layers[{k}]") for k, rec in enumerate(records)]
            return cls(layers, input_shape=input_shape)
        except PolyRegionsError as exc:
            raise type(exc)(f"{source}: {exc}") from None

    @classmethod
    def from_torch(cls, module, input_shape, *, check_points=None) -> "Network":
        """The network of a PyTorch module in eval mode (needs the extra ``torch``): the work of
        :func:`polyregions.model.torch_import.network_from_torch`.

        Parameters
        ----------
        module : torch.nn.Module
            An ``nn.Sequential`` (nested too) of Linear, Conv2d, ReLU, LeakyReLU, Flatten,
            Unflatten, AvgPool2d, MaxPool2d (no padding, no ceil mode), BatchNorm1d/2d
            (folded into the Linear or Conv2d layer before), Dropout and Identity, or a
            module whose ``forward`` torch.fx traces into those and residual additions. A
            convolution with zero padding, equal strides, no dilation and one group is a
            :class:`Conv2d`; any other (dilation, groups, reflect / replicate / circular
            padding) and a padded or ceil-mode average pooling are read as their exact
            matrix (``Flatten``, a linear ``Dense``, ``Unflatten``).
        input_shape : int or (c, h, w)
            One input without the batch dimension.
        check_points : array of shape (N, n) or (N, *input_shape), optional
            Inputs of your own on which the network must agree with the module too (the
            inputs the network will be studied on), besides the random ones of
            :func:`polyregions.model.graph.check_forward`.

        Raises
        ------
        UnsupportedError
            For an unsupported operation (named with its path in the model), a BatchNorm or
            Dropout module in training mode, or when the network differs from the module's
            forward pass on random inputs at several scales or on `check_points` by more than
            ``polyregions.model.graph.TORCH_RTOL`` (float64).
        InvalidInputError
            For an `input_shape` that is not positive integers or does not fit the model,
            or malformed `check_points`.
        """
        return _adapter("torch_import").network_from_torch(module, input_shape, check_points=check_points)

    @classmethod
    def from_onnx(cls, path, *, check_points=None) -> "Network":
        """The network of an ONNX file (needs the extra ``onnx``): Gemm, MatMul and Add, Conv,
        Relu, LeakyRelu, Flatten, Reshape to a vector, AveragePool, MaxPool,
        BatchNormalization (folded), Identity, Dropout and residual Add, operations on
        constants evaluated; checked as :meth:`from_torch` (`check_points` too) against
        onnxruntime's forward pass, or without onnxruntime against onnx's reference
        evaluator (``polyregions.model.graph.FLOAT32_RTOL`` for float32 graphs): the work of
        :func:`polyregions.model.onnx_import.network_from_onnx`."""
        return _adapter("onnx_import").network_from_onnx(path, check_points=check_points)

    # ------------------------------------------------------------------ shape facts
    @functools.cached_property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def widths(self) -> tuple:
        return tuple(W.shape[0] for W, _ in self.hidden)

    @property
    def num_neurons(self) -> int:
        """The length of a pattern: one bit per ReLU or LeakyReLU neuron and per pooling candidate
        (the lowered hidden widths summed, for a ReLU network)."""
        return sum(stage.n_bits for stage in self.stages)

    @functools.cached_property
    def is_relu(self) -> bool:
        """True when every stage is plain ReLU (no LeakyReLU, max pooling or residual carry); found
        once (the network is immutable)."""
        return all(stage.is_relu for stage in self.stages)

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
        """Pre-activations ``z^1, ..., z^L`` at the points ``x`` (one array of shape (N, n_l) per stage)."""
        h, single = self._as_batch(x)
        zs = []
        for stage in self.stages:
            z = h @ stage.weight.T + stage.bias
            zs.append(z[0] if single else z)
            h = stage.activate(z)
        return zs

    def forward(self, x) -> np.ndarray:
        """Network output at ``x`` (the last stage's output when there is no output layer)."""
        h, single = self._as_batch(x)
        for stage in self.stages:
            h = stage.activate(h @ stage.weight.T + stage.bias)
        if self.output is not None:
            h = h @ self.output[0].T + self.output[1]
        return h[0] if single else h

    def pattern(self, x) -> np.ndarray:
        """Activation pattern at ``x``, stage by stage: True where ``z_j(x) > 0`` for ReLU and
        LeakyReLU neurons, and per pooling window a one-hot of the argmax (lowest index on ties)."""
        h, single = self._as_batch(x)
        parts = []
        for stage in self.stages:
            z = h @ stage.weight.T + stage.bias
            parts.append(stage.bits(z))
            h = stage.activate(z)
        bits = np.concatenate(parts, axis=1)
        return bits[0] if single else bits

    def __repr__(self):
        return f"Network(input_shape={self.input_shape}, widths={self.widths}, output={'yes' if self.output else 'no'})"


#: A stage's map is also kept sparse (for the search) when at most this fraction of its entries is non-zero.
SPARSE_DENSITY = 0.25


def sparse_operator(W: np.ndarray):
    """`W` as a CSR matrix when it is sparse enough (convolutions, pooling, carries), else None."""
    if W.size == 0 or np.count_nonzero(W) > SPARSE_DENSITY * W.size:
        return None
    return scipy.sparse.csr_matrix(W)


def require_relu(net, what: str) -> None:
    """Raise :class:`UnsupportedError` unless `net` is a plain ReLU network; `what` names the method."""
    if not net.is_relu:
        kinds = sorted({"max pooling" if st.pool else ("residual" if np.any(st.slopes == 1.0) else "LeakyReLU")
                        for st in net.stages if not st.is_relu})
        raise UnsupportedError(f"`net` has {', '.join(kinds)} layers: {what} supports ReLU networks only "
                               "(count their regions with the search, method='dfs')")


def _pool_sizes(layer, where):
    """The kernel and stride of a pooling record as pairs of positive integers, naming the field."""
    what = "a positive integer or a pair of them"
    where = where.strip("`")
    kernel = positive_ints(layer.get("kernel"), f"{where}.kernel", what, length=2, scalar=True)
    stride = layer.get("stride")
    if stride is not None:
        stride = positive_ints(stride, f"{where}.stride", what, length=2, scalar=True)
    return kernel, stride


#: The fields of each layer record (besides "type").
RECORD_FIELDS = {"dense": ("weight", "bias", "negative_slope"),
                 "conv2d": ("weight", "bias", "stride", "padding", "negative_slope"),
                 "avgpool2d": ("kernel", "stride"), "maxpool2d": ("kernel", "stride"), "flatten": (),
                 "unflatten": ("shape",), "activation": ("negative_slope",), "residual": ("body",)}


def array_field(value, arrays, where: str):
    """An array field of a record; with `arrays` (a .npz file's members), ``{"array": name}`` is that member."""
    if isinstance(value, dict) and arrays is not None:
        if list(value) != ["array"] or not isinstance(value["array"], str) or value["array"] not in arrays:
            raise InvalidInputError(f"`{where}` refers to a missing array {value.get('array')!r}")
        return arrays[value["array"]]
    return value


def _real(value, where: str) -> float:
    """A JSON number (not a bool, not a string) as a finite float, or raise naming `where`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"`{where}` must be a number, got {value!r:.40}")
    return finite_number(value, where)


def layer_from_record(layer: dict, where: str, arrays=None):
    """The layer of a record of the JSON structure of :mod:`polyregions.model.io` (arrays may be arrays);
    `arrays` resolves ``{"array": name}`` references (.npz); `where` names the record in errors.

    Every field is checked: its name (an unknown field is refused, so a misspelt one is not
    silently replaced by its default), its type (integers are JSON integers, not 2.5 or true)
    and its range."""
    if not isinstance(layer, dict):
        raise InvalidInputError(f"{where} must be an object with a \"type\", got {layer!r:.60}")
    kind = layer.get("type")
    if not isinstance(kind, str) or kind.lower() not in RECORD_FIELDS:
        raise UnsupportedError(f"`{where}` has unsupported type {kind!r}")
    kind = kind.lower()
    unknown = sorted(str(k) for k in layer if k != "type" and k not in RECORD_FIELDS[kind])
    if unknown:
        raise InvalidInputError(f"{where} ({kind}) has unknown field(s) {', '.join(map(repr, unknown))}; it takes "
                                f"{', '.join(RECORD_FIELDS[kind]) or 'none'}")

    def value(key):
        return array_field(layer[key], arrays, f"{where}.{key}")

    slope = _real(layer.get("negative_slope", 0.0), f"{where}.negative_slope")
    try:
        if kind == "dense":
            return Dense(value("weight"), value("bias"), slope)
        if kind == "conv2d":
            stride = int_at_least(layer.get("stride", 1), f"{where}.stride", 1)
            padding = int_at_least(layer.get("padding", 0), f"{where}.padding", 0)
            return Conv2d(value("weight"), value("bias"), stride, padding, slope)
        if kind == "avgpool2d":
            return AvgPool2d(*_pool_sizes(layer, where))
        if kind == "maxpool2d":
            return MaxPool2d(*_pool_sizes(layer, where))
        if kind == "flatten":
            return Flatten()
        if kind == "unflatten":
            return Unflatten(positive_ints(layer["shape"], f"{where}.shape", "a (c, h, w) triple of positive integers",
                                           length=3))
        if kind == "activation":
            return Activation(slope)
        body = layer["body"]
        if not isinstance(body, list):
            raise InvalidInputError(f"{where} (residual) must have a list \"body\"")
        return Residual([layer_from_record(inner, f"{where}.body[{k}]", arrays) for k, inner in enumerate(body)])
    except KeyError as exc:
        raise InvalidInputError(f"{where} ({kind}) has no field {exc}") from None
    except PolyRegionsError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where} ({kind}) is malformed: {exc}") from None


def layer_to_record(layer, store):
    """The record of one layer in the JSON structure of :mod:`polyregions.model.io`; `store(array)` returns what stands for an array in the record."""
    if isinstance(layer, Dense):
        if layer.exact is not None:
            return exact_record(layer)
        return {"type": "dense", "weight": store(layer.weight), "bias": store(layer.bias),
                "negative_slope": layer.negative_slope}
    if isinstance(layer, Conv2d):
        return {"type": "conv2d", "weight": store(layer.weight), "bias": store(layer.bias),
                "stride": layer.stride, "padding": layer.padding, "negative_slope": layer.negative_slope}
    if isinstance(layer, AvgPool2d):
        stride = layer.stride
        if stride is not None:
            stride = list(stride) if isinstance(stride, (tuple, list)) else [stride, stride]
        return {"type": "avgpool2d", "kernel": list(layer.kernel), "stride": stride}
    if isinstance(layer, MaxPool2d):
        return {"type": "maxpool2d", "kernel": list(layer.kernel), "stride": list(layer.stride)}
    if isinstance(layer, Flatten):
        return {"type": "flatten"}
    if isinstance(layer, Unflatten):
        return {"type": "unflatten", "shape": list(layer.shape)}
    if isinstance(layer, Activation):
        return {"type": "activation", "negative_slope": layer.negative_slope}
    if isinstance(layer, Residual):
        return {"type": "residual", "body": [layer_to_record(inner, store) for inner in layer.body]}
    raise UnsupportedError(f"layer type {type(layer).__name__} has no file format")
