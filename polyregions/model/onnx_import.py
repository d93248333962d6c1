"""The ONNX adapter: a graph read as layer records, and the network it is (the optional extra ``onnx``).

:func:`network_from_onnx` (and :meth:`polyregions.Network.from_onnx`, its entry point on the
network type) reads the graph as :class:`~polyregions.model.graph.GraphOp` nodes, assembles
them (:func:`polyregions.model.graph.assemble`), builds the network and checks it
(:func:`polyregions.model.graph.check_forward`).

The operators read: Gemm, MatMul with a constant matrix (or vector), Add (of a constant: a
bias, folded into the linear layer before or else a linear layer of its own; of two computed
values: a residual addition), Conv
(zero padding equal on all sides, no dilation, one group), Relu, LeakyRelu, Flatten (axis
1), Reshape to ``(batch, n)``, AveragePool and MaxPool (no padding, no ceil mode; strides 1
where the node has none, as ONNX specifies), BatchNormalization (folded into the layer
before), Identity and Dropout. A node whose inputs are all constants (an ``Identity`` around
a weight, two initializers added into one bias) is evaluated once by onnx's reference
evaluator and becomes a constant. The graph must have one input of shape ``(batch, ...)``;
a graph exported for one batch size is run in chunks of that size.

The conversion is checked against onnxruntime's forward pass, or, when onnxruntime is not
installed, against ``onnx.reference.ReferenceEvaluator`` (onnx's own NumPy implementation of
every operator, written from the specification independently of polyregions). onnx and
onnxruntime are imported only here.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InvalidInputError, UnsupportedError
from .records import batchnorm_fold, elementwise_affine_record, fixed_batch
from .graph import FLOAT32_RTOL, TORCH_RTOL, GraphOp, assemble, check_forward, import_extra
from .network import Network

__all__ = ["network_from_onnx", "onnx_records"]


def network_from_onnx(path, *, check_points=None) -> Network:
    """The network of the ONNX file `path` (:meth:`polyregions.Network.from_onnx`), checked against
    the graph's forward pass."""
    records, shape, reference, rtol = onnx_records(path)
    net = Network.from_records(records, shape, source=f"`{path}`")
    check_forward(net, reference, net.input_shape, rtol, f"`{path}`", dtype=reference.dtype,
                  check_points=check_points)
    return net


def _attrs(node, onnx):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _const(consts, name, path):
    if name not in consts:
        raise UnsupportedError(f"`{path}` needs a constant input {name!r}, but it is computed by the graph")
    return consts[name]


def _channel_vector(v, path):
    """A bias or scale broadcast over (c,), (c, 1, 1) or (1, c, 1, 1) as a vector of length c."""
    v = np.asarray(v, dtype=np.float64)
    squeezed = v.reshape(-1) if v.ndim <= 1 else v.reshape(v.shape[1] if v.ndim == 4 else v.shape[0], -1)
    if squeezed.ndim == 2:
        if squeezed.shape[1] != 1:
            raise UnsupportedError(f"`{path}` adds a constant of shape {v.shape}: only per-channel biases fold")
        squeezed = squeezed[:, 0]
    return squeezed


def _node_fields(node, attrs, consts, path):
    op = node.op_type
    if op == "Gemm":
        if attrs.get("transA", 0):
            raise UnsupportedError(f"`{path}` (Gemm) has transA=1: not supported")
        B = _const(consts, node.input[1], path)
        B = B if attrs.get("transB", 0) else B.T  # now (out, in)
        W = attrs.get("alpha", 1.0) * B
        C = _const(consts, node.input[2], path) if len(node.input) > 2 and node.input[2] else np.zeros(W.shape[0])
        b = attrs.get("beta", 1.0) * np.broadcast_to(np.asarray(C, dtype=np.float64).reshape(-1), (W.shape[0],))
        return {"record": {"type": "dense", "weight": W, "bias": np.array(b), "negative_slope": 1.0}}
    if op == "MatMul":
        B = np.asarray(_const(consts, node.input[1], path), dtype=np.float64)
        if B.ndim not in (1, 2):
            raise UnsupportedError(f"`{path}` (MatMul) multiplies by a constant of shape {B.shape}: only a matrix "
                                   "or a vector is supported")
        W = B.reshape(1, -1) if B.ndim == 1 else B.T  # x @ v: one output (the batch's only axis)
        return {"record": {"type": "dense", "weight": W, "bias": np.zeros(W.shape[0]), "negative_slope": 1.0}}
    if op == "Add":
        known = [name in consts for name in node.input]
        if not any(known):
            return {"add": True}
        return {"constant_add": consts[node.input[known.index(True)]], "main": node.input[known.index(False)]}
    if op == "Conv":
        refuse = []
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        strides = list(attrs.get("strides", [1, 1]))
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            refuse.append(f"auto_pad={attrs['auto_pad']!r}")
        if len(set(pads)) != 1:
            refuse.append(f"pads={pads}")
        if len(set(strides)) != 1:
            refuse.append(f"strides={strides}")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            refuse.append(f"dilations={list(attrs['dilations'])}")
        if attrs.get("group", 1) != 1:
            refuse.append(f"group={attrs['group']}")
        if refuse:
            raise UnsupportedError(f"`{path}` (Conv) has {', '.join(refuse)}: not supported")
        W = _const(consts, node.input[1], path)
        b = _const(consts, node.input[2], path) if len(node.input) > 2 and node.input[2] else np.zeros(W.shape[0])
        return {"record": {"type": "conv2d", "weight": W, "bias": b, "stride": int(strides[0]), "padding": int(pads[0]),
                           "negative_slope": 1.0}}
    if op == "Relu":
        return {"record": {"type": "activation", "negative_slope": 0.0}}
    if op == "LeakyRelu":
        return {"record": {"type": "activation", "negative_slope": float(attrs.get("alpha", 0.01))}}
    if op == "Flatten":
        if attrs.get("axis", 1) != 1:
            raise UnsupportedError(f"`{path}` (Flatten) has axis={attrs['axis']}: only axis 1 is supported")
        return {"record": {"type": "flatten"}}
    if op == "Reshape":
        shape = _const(consts, node.input[1], path)
        if len(shape) != 2:
            raise UnsupportedError(f"`{path}` (Reshape) to {list(shape)}: only a reshape to (batch, n) is supported")
        return {"record": {"type": "flatten"}}
    if op in ("AveragePool", "MaxPool"):
        bad = {k: attrs[k] for k in ("pads", "ceil_mode", "dilations", "storage_order")
               if k in attrs and any(np.atleast_1d(attrs[k]) != (1 if k == "dilations" else 0))}
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            bad["auto_pad"] = attrs["auto_pad"]
        if len(node.output) > 1 and node.output[1]:
            bad["indices output"] = True
        if bad:
            raise UnsupportedError(f"`{path}` ({op}) has {bad}: not supported")
        kernel = list(attrs["kernel_shape"])
        stride = list(attrs.get("strides", [1] * len(kernel)))  # ONNX's default stride is 1, not the kernel
        kind = "avgpool2d" if op == "AveragePool" else "maxpool2d"
        return {"record": {"type": kind, "kernel": kernel, "stride": stride}}
    if op == "BatchNormalization":
        gamma, beta, mean, var = (_const(consts, name, path) for name in node.input[1:5])
        return {"fold": batchnorm_fold(gamma, beta, mean, var, attrs.get("epsilon", 1e-5), path, "BatchNormalization")}
    if op in ("Identity", "Dropout"):
        return {}
    raise UnsupportedError(f"`{path}` ({op}) is not supported")


def _constant_add(c, producer, shape, path):
    """The fields of ``x + c``: a bias folded into the linear layer computing x, if x is computed
    by one and c is per unit or channel; else a linear layer with bias c (x of shape `shape`)."""
    rec = producer.record if producer is not None else None
    if rec is not None and rec["type"] in ("dense", "conv2d") and rec.get("negative_slope") == 1.0:
        try:
            return {"fold": {"what": "Add", "scale": np.ones(1), "shift": _channel_vector(c, path)}}
        except UnsupportedError:
            pass  # a constant that varies within a channel: the linear layer below
    if shape is None or any(d < 1 for d in shape[1:]):
        raise UnsupportedError(f"`{path}` (Add) adds a constant to a value of unknown shape")
    return {"record": elementwise_affine_record(1.0, c, shape[1:], path)}


def _value_shapes(model, onnx):
    """The shape of every value onnx's shape inference knows (0 for a symbolic size)."""
    try:
        graph = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # inference fails on some legal graphs: then no shapes beyond those declared
        graph = model.graph
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(graph.value_info) + list(graph.input) + list(graph.output)}


def _as_constant(array):
    """An initializer or evaluated constant: floats as float64, other types as they are."""
    array = np.asarray(array)
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def _fold_constant(node, consts, reference, where):
    """Evaluate `node`, all of whose inputs are constants (or none), into `consts`."""
    try:
        values = reference.ReferenceEvaluator(node).run(None, {name: consts[name] for name in node.input if name})
    except Exception as exc:  # the reference evaluator raises many types for a malformed node
        raise UnsupportedError(f"`{where}` ({node.op_type}) on constants cannot be evaluated: {exc}") from None
    for name, value in zip(node.output, values):
        consts[name] = _as_constant(value)


def onnx_records(path):
    """Read the ONNX file `path` as layer records.

    Returns ``(records, input_shape, reference, rtol)``: ``reference`` is the graph's forward
    pass (onnxruntime, or onnx's reference evaluator when onnxruntime is not installed) with a
    ``dtype`` attribute (the graph's input type), and ``rtol`` the tolerance for it.
    """
    onnx = import_extra("onnx", "onnx")
    from onnx import reference as onnx_reference

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InvalidInputError(f"`path` {path!r} does not exist or is not a file")
    try:
        model = onnx.load(path)
    except Exception as exc:  # protobuf decode errors have no common base class
        raise InvalidInputError(f"`path` {path!r} is not a readable ONNX file: {exc}") from None
    graph = model.graph
    consts = {t.name: _as_constant(onnx.numpy_helper.to_array(t)) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UnsupportedError(f"`{path}` has {len(inputs)} inputs and {len(graph.output)} outputs: one of each is supported")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) < 2 or any(d < 1 for d in dims[1:]):
        raise UnsupportedError(f"`{path}` input {inputs[0].name!r} has shape {dims}: (batch, ...) with fixed sizes needed")
    ops, shapes = {}, _value_shapes(model, onnx)
    for k, node in enumerate(graph.node):
        where = node.name or f"node {k}"
        if all(name in consts for name in node.input if name):
            _fold_constant(node, consts, onnx_reference, where)
            continue
        fields = _node_fields(node, _attrs(node, onnx), consts, where)
        main = fields.pop("main", None)
        if "constant_add" in fields:
            fields = _constant_add(fields["constant_add"], ops.get(main), shapes.get(node.output[0]), where)
        args = [main] if main is not None else [name for name in node.input[:2 if fields.get("add") else 1]]
        ops[node.output[0]] = GraphOp(where, args, **fields)
    records = assemble(ops, graph.output[0].name, inputs[0].name)
    dtype = np.float64 if inputs[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE else np.float32
    rtol = TORCH_RTOL if dtype == np.float64 else FLOAT32_RTOL
    try:
        import onnxruntime
    except ImportError:
        evaluator = onnx_reference.ReferenceEvaluator(model)
        run = lambda x: evaluator.run(None, {inputs[0].name: x})[0]  # noqa: E731
    else:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        run = lambda x: session.run(None, {inputs[0].name: x})[0]  # noqa: E731
    batched = fixed_batch(run, dims[0] or None)  # dim_value 0: a symbolic batch size

    def reference(x):
        return batched(np.asarray(x, dtype=dtype))

    reference.dtype = dtype
    return records, tuple(dims[1:]), reference, rtol
