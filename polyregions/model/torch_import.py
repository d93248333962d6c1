"""The PyTorch adapter: a module read as layer records, and the network it is.

:func:`network_from_torch` (and :meth:`polyregions.Network.from_torch`, its entry point on the
network type) traces a module with ``torch.fx`` (``nn.Sequential``, nested or not, and
modules whose ``forward`` traces into the supported operations and additions), reads the
trace as a graph of :class:`~polyregions.model.graph.GraphOp` (:func:`torch_records`),
assembles it into records of the JSON structure of :mod:`polyregions.model.io`
(:func:`polyregions.model.graph.assemble`), builds the :class:`~polyregions.model.network.Network`
and checks it against the module's forward pass (:func:`polyregions.model.graph.check_forward`,
``TORCH_RTOL``, both in float64). A batch normalisation in eval mode
(``y = (x - mean) / sqrt(var + eps) * gamma + beta``) and a bias addition fold into the layer
before them; Dropout and Identity are dropped; a PyTorch convolution outside
:class:`polyregions.Conv2d` (dilation, groups, a padding mode other than zeros, unequal
strides or padding) and a padded or ceil-mode average pooling are linear maps: they are read
as their matrix, one column per basis input.

Additions ``torch.add(a, b, alpha=k)`` (``a + k b``), ``torch.sub`` and ``rsub`` are read
exactly: a scaled operand is a linear layer ``k I`` (:mod:`polyregions.model.records`), and a
constant or buffer added to a value is a linear layer with that bias.

The adapter imports the model; the model names it only in its lazy entry point. torch is
imported only when a PyTorch model is read (the optional extra ``torch``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import numpy as np

from .._validate import input_shape_tuple
from ..errors import InvalidInputError, UnsupportedError
from .graph import TORCH_RTOL, GraphOp, assemble, check_forward, import_extra
from .network import Network
from .records import batchnorm_fold, fixed_batch
from .torch_additions import addition_kind, addition_ops

__all__ = ["exported_records", "network_from_export", "network_from_torch", "torch_records"]


def network_from_torch(module, input_shape, *, check_points=None) -> Network:
    """The network of a PyTorch module in eval mode (:meth:`polyregions.Network.from_torch`, which
    documents the arguments), checked against the module's forward pass."""
    shape = input_shape_tuple(input_shape)
    records, reference = torch_records(module, shape)
    source = f"`module` ({type(module).__name__})"
    net = Network.from_records(records, shape, source=source)
    try:
        check_forward(net, reference, net.input_shape, TORCH_RTOL, source, check_points=check_points)
    except UnsupportedError as exc:
        if any(m.training for m in module.modules()):
            raise UnsupportedError(f"{exc}; the module is in training mode: call module.eval() if its "
                                   "forward depends on it") from None
        raise
    return net


def network_from_export(path, *, check_points=None) -> Network:
    """The network of a program saved with ``torch.export.save`` (``.pt2``), checked against the
    program's forward pass."""
    records, shape, reference = exported_records(path)
    net = Network.from_records(records, shape, source=f"`{path}`")
    check_forward(net, reference, net.input_shape, TORCH_RTOL, f"`{path}`", check_points=check_points)
    return net


def _pair(v):
    """An int or a sequence of one or two ints as a pair."""
    if isinstance(v, (tuple, list)):
        return (v[0], v[0]) if len(v) == 1 else tuple(v)
    return (v, v)


def _torch_module_record(m, path, nn):
    """The GraphOp fields of one leaf module of a traced PyTorch model."""
    name = type(m).__name__
    if isinstance(m, nn.Linear):
        b = m.bias.detach().numpy() if m.bias is not None else np.zeros(m.out_features)
        return {"record": {"type": "dense", "weight": m.weight.detach().numpy(), "bias": b, "negative_slope": 1.0}}
    if isinstance(m, nn.Conv2d):
        stride, padding = _pair(m.stride), m.padding
        refuse = []
        if m.padding_mode != "zeros":
            refuse.append(f"padding_mode={m.padding_mode!r}")
        if isinstance(padding, str) or len(set(_pair(padding))) != 1:
            refuse.append(f"padding={padding!r} (only equal zero padding on all sides)")
        if len(set(stride)) != 1:
            refuse.append(f"stride={stride} (only equal strides)")
        if _pair(m.dilation) != (1, 1):
            refuse.append(f"dilation={m.dilation}")
        if m.groups != 1:
            refuse.append(f"groups={m.groups}")
        if refuse:
            return {"linear_module": True}
        b = m.bias.detach().numpy() if m.bias is not None else np.zeros(m.out_channels)
        return {"record": {"type": "conv2d", "weight": m.weight.detach().numpy(), "bias": b, "stride": stride[0],
                           "padding": _pair(padding)[0], "negative_slope": 1.0}}
    if isinstance(m, nn.LeakyReLU):
        return {"record": {"type": "activation", "negative_slope": float(m.negative_slope)}}
    if isinstance(m, nn.ReLU):
        return {"record": {"type": "activation", "negative_slope": 0.0}}
    if isinstance(m, nn.Unflatten) and m.dim == 1 and len(m.unflattened_size) == 3:
        return {"record": {"type": "unflatten", "shape": list(m.unflattened_size)}}
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise UnsupportedError(f"`{path}` (Flatten) has start_dim={m.start_dim}, end_dim={m.end_dim}: "
                                   "only start_dim=1, end_dim=-1 is supported")
        return {"record": {"type": "flatten"}}
    if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
        kind = "avgpool2d" if isinstance(m, nn.AvgPool2d) else "maxpool2d"
        refuse = [f"{k}={getattr(m, k)!r}" for k, ok in (("padding", 0), ("ceil_mode", False), ("dilation", 1),
                                                            ("return_indices", False), ("divisor_override", None))
                  if hasattr(m, k) and _pair(getattr(m, k)) != _pair(ok)]
        if refuse and isinstance(m, nn.AvgPool2d):
            return {"linear_module": True}
        if refuse:
            raise UnsupportedError(f"`{path}` ({name}) has {', '.join(refuse)}: not supported")
        stride = m.stride if m.stride is not None else m.kernel_size
        return {"record": {"type": kind, "kernel": list(_pair(m.kernel_size)), "stride": list(_pair(stride))}}
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if m.running_mean is None:
            raise UnsupportedError(f"`{path}` ({name}) has no running statistics (track_running_stats=False)")
        gamma, beta = (m.weight.detach().numpy(), m.bias.detach().numpy()) if m.affine else (None, None)
        return {"fold": batchnorm_fold(gamma, beta, m.running_mean.numpy(), m.running_var.numpy(), m.eps, path, name)}
    if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)):
        return {}
    raise UnsupportedError(f"`{path}` ({name}) is not supported: polyregions reads Linear, Conv2d, ReLU, LeakyReLU, "
                           "Flatten, AvgPool2d, MaxPool2d, BatchNorm1d/2d, Dropout, Identity and additions")


def _linear_module_record(m, node, torch):
    """A linear module outside the layer types (a dilated, grouped or reflect-padded convolution, a
    padded average pooling) as its exact matrix, read column by column from the module in float64:
    ``flatten -> dense -> unflatten`` records, the dense layer ``W x + m(0)``."""
    in_shape = tuple(node.args[0].meta["tensor_meta"].shape[1:])
    out_shape = tuple(node.meta["tensor_meta"].shape[1:])
    n = int(np.prod(in_shape))
    with torch.no_grad():
        basis = torch.eye(n, dtype=torch.float64).reshape((n,) + in_shape)
        offset = m(torch.zeros((1,) + in_shape, dtype=torch.float64)).reshape(1, -1)
        W = (m(basis).reshape(n, -1) - offset).T.numpy()
    return {"type": "sequence", "records": [
        {"type": "flatten"}, {"type": "dense", "weight": W, "bias": offset[0].numpy(), "negative_slope": 1.0},
        {"type": "unflatten", "shape": list(out_shape)}]}


def _torch_function_record(node, torch):
    """The GraphOp fields of a function or method call of a traced PyTorch model (None: not understood)."""
    F = torch.nn.functional
    target = node.target
    kwargs = node.kwargs
    if target in (torch.relu, F.relu) or target == "relu":
        return {"record": {"type": "activation", "negative_slope": 0.0}}
    if target is F.leaky_relu:
        slope = kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
        return {"record": {"type": "activation", "negative_slope": float(slope)}}
    if target in (torch.flatten, "flatten"):
        start = kwargs.get("start_dim", node.args[1] if len(node.args) > 1 else 0)
        end = kwargs.get("end_dim", node.args[2] if len(node.args) > 2 else -1)
        if start == 1 and end == -1:
            return {"record": {"type": "flatten"}}
        return None
    if target in ("view", "reshape", torch.reshape):
        shape = node.meta.get("tensor_meta")
        return {"record": {"type": "flatten"}} if shape is not None and len(shape.shape) == 2 else None
    if target is F.dropout and kwargs.get("training", node.args[2] if len(node.args) > 2 else True):
        raise UnsupportedError(f"`{node.name}` (dropout) is called with training=True: it drops random units; "
                               "call module.eval() first (or pass training=self.training)")
    if target in (F.dropout, "contiguous"):
        return {}
    return None


def _train_dependent(nn):
    """The module types that compute another function in training mode (batch statistics, random drops)."""
    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
            nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def torch_records(module, input_shape):
    """Trace `module` and read it as layer records.

    Returns ``(records, reference)``: the records of :mod:`polyregions.model.io` and the model's
    forward pass in float64 (a function of a NumPy batch), in the mode the module is in.

    The module is traced in eval mode; one in training mode is refused only where a module
    that computes another function in training (BatchNorm, Dropout) is in training mode, and
    after every operation is known to be supported (an unsupported one is named first).

    Raises
    ------
    UnsupportedError
        For a module in training mode as above, a module torch.fx cannot trace, or an
        operation outside the supported set (naming it and its path in the model).
    """
    torch = import_extra("torch", "torch")
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise InvalidInputError(f"`module` must be a torch.nn.Module, got {type(module).__name__}")
    model = copy.deepcopy(module).double()
    modes = {name: m.training for name, m in model.named_modules()}
    training = [(name, m) for name, m in model.named_modules() if m.training and isinstance(m, _train_dependent(nn))]
    model.eval()
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception as exc:  # torch.fx raises many types for untraceable Python
        raise UnsupportedError(f"`module` ({type(module).__name__}) cannot be traced by torch.fx: {exc}") from None
    example = torch.zeros((1,) + tuple(input_shape), dtype=torch.float64)
    try:
        with torch.no_grad():
            model(example)  # a shape mismatch raises here, before ShapeProp prints its traceback
    except Exception as exc:  # a shape mismatch inside the model
        raise InvalidInputError(f"`input_shape` {tuple(input_shape)} does not fit the model: {exc}") from None
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints a traceback before it raises
            ShapeProp(traced).propagate(example)
    except Exception as exc:  # the module ran, its trace did not: an operation torch.fx recorded differently
        raise UnsupportedError(f"`module` ({type(module).__name__}): its torch.fx trace fails on an input of shape "
                               f"{tuple(input_shape)}: {exc}") from None

    def constant(arg):
        if isinstance(arg, (int, float)) and not isinstance(arg, bool):
            return np.asarray(float(arg))
        if getattr(arg, "op", None) == "get_attr":
            return functools.reduce(getattr, arg.target.split("."), traced).detach().double().numpy()
        if hasattr(arg, "name"):
            return None
        raise UnsupportedError(f"`module` adds {type(arg).__name__} {arg!r:.40}: only tensors and numbers are supported")

    ops, input_value, output = {}, None, None
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            if input_value is not None:
                raise UnsupportedError("`module` takes more than one input")
            input_value = node.name
            continue
        if node.op == "output":
            output = node.args[0].name if hasattr(node.args[0], "name") else None
            continue
        if node.op == "get_attr" or (node.op == "call_method" and node.target == "size"):
            continue  # constants; a use on the main path is refused below
        kind = addition_kind(node)
        if kind is not None:
            ops.update({name: GraphOp(**fields) for name, fields in addition_ops(node, kind, constant).items()})
            continue
        args = [a.name for a in node.args if hasattr(a, "name") and a.op not in ("get_attr",)
                and not (a.op == "call_method" and a.target == "size")]
        if node.op == "call_module":
            sub = traced.get_submodule(node.target)
            fields = _torch_module_record(sub, node.target, nn)
            path = node.target
            if fields.pop("linear_module", False):
                fields = {"record": _linear_module_record(sub, node, torch)}
        else:
            fields = _torch_function_record(node, torch)
            path = node.name
            if fields is None:
                raise UnsupportedError(f"`{path}` ({node.target if isinstance(node.target, str) else getattr(node.target, '__name__', node.target)}) "
                                       "is not supported")
        if len(args) != 1:
            raise UnsupportedError(f"`{path}` takes {len(args)} tensor inputs where 1 is supported "
                                   "(multi-input operations other than additions are not)")
        ops[node.name] = GraphOp(path, args, **fields)
    if training:
        name, m = training[0]
        raise UnsupportedError(f"`module` is in training mode (at `{name or type(module).__name__}` "
                               f"({type(m).__name__}), which computes another function there); call module.eval() "
                               "first")
    if output is None:
        raise UnsupportedError("`module` does not return a single tensor")
    records = assemble(ops, output, input_value)
    for name, m in model.named_modules():
        m.training = modes[name]  # the reference runs in the caller's mode

    def reference(x):
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()

    return records, reference


# ---------------------------------------------------------------------- torch.export programs
def _aten_fields(node, const, path):
    """The GraphOp fields of one ATen call of an exported program (`const` reads a parameter)."""
    name = str(node.target).split(".")[1] if str(node.target).startswith("aten.") else str(node.target)
    args = list(node.args) + [None] * 9

    def arg(i, key, default):
        return node.kwargs.get(key, args[i] if args[i] is not None else default)

    if name == "linear":
        W = const(args[1])
        b = const(args[2]) if args[2] is not None else np.zeros(W.shape[0])
        return {"record": {"type": "dense", "weight": W, "bias": b, "negative_slope": 1.0}}
    if name == "conv2d":
        W = const(args[1])
        b = const(args[2]) if args[2] is not None else np.zeros(W.shape[0])
        stride, padding = _pair(arg(3, "stride", [1])), _pair(arg(4, "padding", [0]))
        dilation, groups = _pair(arg(5, "dilation", [1])), arg(6, "groups", 1)
        if len(set(stride)) != 1 or len(set(padding)) != 1 or dilation != (1, 1) or groups != 1:
            raise UnsupportedError(f"`{path}` (conv2d) has stride={stride}, padding={padding}, dilation={dilation}, "
                                   f"groups={groups}: only equal strides and zero padding, no dilation, one group")
        return {"record": {"type": "conv2d", "weight": W, "bias": b, "stride": int(stride[0]),
                           "padding": int(padding[0]), "negative_slope": 1.0}}
    if name in ("batch_norm", "_native_batch_norm_legit_no_training"):
        gamma, beta, mean, var = (const(a) if a is not None else None for a in args[1:5])
        eps = args[7] if name == "batch_norm" else args[6]
        return {"fold": batchnorm_fold(gamma, beta, mean, var, eps, path, "BatchNorm")}
    if name in ("relu", "relu_"):
        return {"record": {"type": "activation", "negative_slope": 0.0}}
    if name in ("leaky_relu", "leaky_relu_"):
        return {"record": {"type": "activation", "negative_slope": float(arg(1, "negative_slope", 0.01))}}
    if name in ("max_pool2d", "avg_pool2d"):
        kernel = _pair(args[1])
        stride = _pair(args[2]) if args[2] else kernel
        extra = {"padding": _pair(arg(3, "padding", 0)), "ceil_mode": arg(5 if name == "max_pool2d" else 4,
                                                                          "ceil_mode", False)}
        if name == "max_pool2d":
            extra["dilation"] = _pair(arg(4, "dilation", 1))
        if extra["padding"] != (0, 0) or extra["ceil_mode"] or extra.get("dilation", (1, 1)) != (1, 1):
            raise UnsupportedError(f"`{path}` ({name}) has {extra}: only no padding, no dilation, no ceil mode")
        kind = "maxpool2d" if name == "max_pool2d" else "avgpool2d"
        return {"record": {"type": kind, "kernel": list(kernel), "stride": list(stride)}}
    if name == "flatten":
        if (arg(1, "start_dim", 0), arg(2, "end_dim", -1)) == (1, -1):
            return {"record": {"type": "flatten"}}
    if name in ("view", "reshape") and len(args[1]) == 2:
        return {"record": {"type": "flatten"}}
    if name in ("dropout", "clone", "contiguous", "alias", "detach"):
        return {}
    raise UnsupportedError(f"`{path}` ({node.target}) is not supported in an exported program")


def exported_records(path):
    """Read a program saved with ``torch.export.save`` (``.pt2``) as layer records.

    Returns ``(records, input_shape, reference)`` as :func:`torch_records`, the input
    shape read from the program's example input (without its batch dimension).
    """
    torch = import_extra("torch", "torch")
    try:
        program = torch.export.load(path)
    except Exception as exc:  # zip, pickle and schema errors alike
        raise InvalidInputError(f"`path` {path!r} is not a readable torch.export program: {exc}") from None
    module = program.module()
    graph = module.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise UnsupportedError(f"`{path}` takes {len(placeholders)} inputs: one is supported")
    meta = placeholders[0].meta.get("val")
    if meta is None or len(meta.shape) < 2:
        raise UnsupportedError(f"`{path}` has no example input of shape (batch, ...)")
    shape = tuple(int(s) for s in meta.shape[1:])
    values = {}
    for node in graph.nodes:
        if node.op == "get_attr":
            values[node.name] = functools.reduce(getattr, node.target.split("."), module)

    def const(a):
        if not hasattr(a, "name") or a.name not in values:
            raise UnsupportedError(f"`{path}` uses a computed value where a parameter is expected")
        return values[a.name].detach().double().numpy()

    def constant(a):
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            return np.asarray(float(a))
        return const(a) if hasattr(a, "name") and a.name in values else None

    ops, output = {}, None
    for node in graph.nodes:
        if node.op in ("placeholder", "get_attr") or (node.op == "call_module" and node.target == "_guards_fn"):
            continue
        if node.op == "output":
            result = node.args[0]
            result = result[0] if isinstance(result, (tuple, list)) and len(result) == 1 else result
            output = result.name if hasattr(result, "name") else None
            continue
        if node.op != "call_function":
            raise UnsupportedError(f"`{node.name}` ({node.op} {node.target}) is not supported in an exported program")
        kind = addition_kind(node)
        if kind is not None:
            ops.update({name: GraphOp(**fields) for name, fields in addition_ops(node, kind, constant).items()})
            continue
        fields = _aten_fields(node, const, node.name)
        inputs = [a.name for a in node.args if hasattr(a, "name") and a.name not in values]
        ops[node.name] = GraphOp(node.name, inputs[:2] if fields.get("add") else inputs[:1], **fields)
    if output is None:
        raise UnsupportedError(f"`{path}` does not return a single tensor")
    records = assemble(ops, output, placeholders[0].name)
    model = module.double()
    batch = meta.shape[0] if isinstance(meta.shape[0], int) else None  # a program exported for one batch size

    def run(x):
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()

    return records, shape, fixed_batch(run, batch)
