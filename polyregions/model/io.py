"""Loading and saving networks.

Formats
-------
``.npz``
    Fully connected ReLU networks: arrays ``W0, b0, W1, b1, ...`` (hidden ReLU layers, ``W`` of
    shape (out, in), numbered from 0 without gaps) and optionally ``W_out, b_out`` (the
    linear output layer, both or neither). Other arrays are ignored. Any other network:
    a string member ``network`` holding the JSON structure below, in which every array is
    ``{"array": name}``, the name of another member of the file.
``.json``
    Any network: ``{"input_shape": [c, h, w] or n, "layers": [...], "output": {...}}`` where
    each layer is one of ``{"type": "dense", "weight": [[...]], "bias": [...]}``,
    ``{"type": "conv2d", "weight": [d_out][d_in][f1][f2], "bias": [...], "stride": 1, "padding": 0}``,
    ``{"type": "avgpool2d", "kernel": [k1, k2], "stride": k1}`` (positive sizes; the stride
    defaults to the kernel), ``{"type": "maxpool2d", "kernel": [k1, k2], "stride": [s1, s2]}``,
    ``{"type": "flatten"}``, ``{"type": "unflatten", "shape": [c, h, w]}``,
    ``{"type": "activation", "negative_slope": 0.0}`` and
    ``{"type": "residual", "body": [...]}`` (a list of layers). A dense record's numbers may be
    ``"p/q"`` strings: the layer is then rational and kept exactly
    (:mod:`polyregions.model.rational`; a ``.npz`` keeps them in its ``network`` member). Dense and conv2d records take
    an optional ``"negative_slope"``: 0 (the default) is ReLU, 1 no activation, another
    value LeakyReLU; every layer's activation is thus recorded in the file;
    ``"output"`` (optional) is ``{"weight": [[...]], "bias": [...]}``.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np

from .._validate import int_at_least
from .graph import import_extra
from .onnx_import import network_from_onnx
from .torch_import import network_from_export, network_from_torch
from ..errors import InvalidInputError, PolyRegionsError, UnsupportedError
from .network import Dense, Network, array_field, layer_from_record, layer_to_record

__all__ = ["NPZ_NETWORK_KEY", "load_network", "load_regions", "save_network", "write_regions"]

#: The member of a ``.npz`` file that holds the JSON layer list of a network with other layers than ReLU Dense.
NPZ_NETWORK_KEY = "network"


def load_network(path, *, trust_pickle: bool = False, check_points=None) -> Network:
    """Read a network from a ``.npz`` or ``.json`` file (see the module docstring), an ONNX
    file (``.onnx``, extra ``onnx``), a program saved with ``torch.export.save`` (``.pt2``)
    or, only with ``trust_pickle=True``, a pickled ``torch.nn.Module`` (``.pt``, ``.pth``;
    unpickling runs code from the file: load only files you trust) whose input shape is
    read from its first layer (extra ``torch``). Models are checked as in
    :meth:`Network.from_torch` and :meth:`Network.from_onnx`, on `check_points` too (inputs of
    your own, shape (N, n); ignored for ``.npz`` and ``.json``, which hold the network itself).

    Raises
    ------
    InvalidInputError
        Naming the file, when it is missing, a directory, unreadable, corrupt or
        truncated, or does not hold a network in the documented layout.
    UnsupportedError
        For a layer type the format does not know.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidInputError(f"`path` {path!r} does not exist")
    if os.path.isdir(path):
        raise InvalidInputError(f"`path` {path!r} is a directory, not a network file")
    if path.endswith(".npz"):
        return _load_npz(path)
    if path.endswith(".json"):
        try:
            with open(path) as f:
                spec = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"`path` {path!r} is not a readable JSON network file: {exc}") from None
        return network_from_dict(spec, source=f"`{path}`")
    if path.endswith(".onnx"):
        return network_from_onnx(path, check_points=check_points)
    if path.endswith(".pt2"):
        return network_from_export(path, check_points=check_points)
    if path.endswith((".pt", ".pth")):
        if not trust_pickle:
            raise UnsupportedError(f"`path` {path!r} is a pickle, which runs code when loaded: save the model with "
                                   "torch.export (.pt2) or ONNX, or pass trust_pickle=True (--trust-pickle) for a "
                                   "file you trust")
        return _load_pickled_module(path, check_points)
    raise InvalidInputError(f"`path` must end in .npz, .json, .onnx, .pt2 (or .pt with trust_pickle), got {path!r}")


def _load_pickled_module(path, check_points) -> Network:
    torch = import_extra("torch", "torch")
    try:
        module = torch.load(path, weights_only=False)
    except Exception as exc:  # unpickling raises anything
        raise InvalidInputError(f"`path` {path!r} is not a readable pickled module: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise InvalidInputError(f"`path` {path!r} holds a {type(module).__name__}, not a torch.nn.Module")
    first = next((m for m in module.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))), None)
    if not isinstance(first, torch.nn.Linear):
        raise UnsupportedError(f"`path` {path!r}: the input shape of a pickled module is read from a first Linear "
                               "layer; for a convolutional model save it with torch.export (.pt2), which records it")
    return network_from_torch(module, first.in_features, check_points=check_points)


_LAYER_KEY = re.compile(r"[Wb](\d+)")


def _load_npz(path) -> Network:
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(f"`path` {path!r} is not a .npz archive (empty, truncated or another format)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(f"`path` {path!r} is not a readable .npz network file: {exc}") from None
    if NPZ_NETWORK_KEY in arrays:
        try:
            spec = json.loads(str(arrays[NPZ_NETWORK_KEY]))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"`{path}` has a malformed {NPZ_NETWORK_KEY!r} member: {exc}") from None
        return network_from_dict(spec, source=f"`{path}`", arrays=arrays)
    numbers = sorted({int(m.group(1)) for k in arrays if (m := _LAYER_KEY.fullmatch(k))})
    if not numbers:
        raise InvalidInputError(f"`{path}` holds no hidden layer (expected arrays W0, b0, ...)")
    if numbers != list(range(len(numbers))):
        missing = next(k for k in range(len(numbers) + 1) if k not in numbers)
        raise InvalidInputError(f"`{path}` has hidden layers {numbers} but no layer {missing}: "
                                "layers must be numbered W0, b0, W1, b1, ... without gaps")
    for l in numbers:
        for key in (f"W{l}", f"b{l}"):
            if key not in arrays:
                raise InvalidInputError(f"`{path}` has {'W' if key[0] == 'b' else 'b'}{l} but no {key}")
    if ("W_out" in arrays) != ("b_out" in arrays):
        raise InvalidInputError(f"`{path}` must hold both W_out and b_out, or neither")
    output = (arrays["W_out"], arrays["b_out"]) if "W_out" in arrays else None
    return Network.from_dense([arrays[f"W{l}"] for l in numbers], [arrays[f"b{l}"] for l in numbers],
                              output=output)


#: The fields of a network's JSON structure.
SPEC_FIELDS = ("input_shape", "layers", "output")


def network_from_dict(spec: dict, *, source: str = "`spec`", arrays=None) -> Network:
    """Build a network from the JSON structure described in the module docstring.

    A malformed structure (a missing or unknown field, a value of the wrong type or out of
    range) raises :class:`~polyregions.errors.InvalidInputError` naming `source` and the field.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("layers", []), list):
        raise InvalidInputError(f"{source} must be an object with a list \"layers\" (see polyregions.model.io)")
    unknown = sorted(str(k) for k in spec if k not in SPEC_FIELDS)
    if unknown:
        raise InvalidInputError(f"{source} has unknown field(s) {', '.join(map(repr, unknown))}; a network has "
                                f"{', '.join(SPEC_FIELDS)}")
    try:
        output = spec.get("output")
        if output is not None:
            if not isinstance(output, dict) or sorted(output) != ["bias", "weight"]:
                raise InvalidInputError("\"output\" must be an object with exactly \"weight\" and \"bias\"")
            output = tuple(array_field(output[key], arrays, f"output.{key}") for key in ("weight", "bias"))
        layers = [layer_from_record(layer, f"layers[{k}]", arrays) for k, layer in enumerate(spec.get("layers", []))]
        return Network(layers, input_shape=spec.get("input_shape"), output=output)
    except PolyRegionsError as exc:
        raise type(exc)(f"{source}: {exc}") from None


def network_to_dict(net: Network, store=None) -> dict:
    """The JSON structure of `net`: its layers and its output layer as given (not the output map
    composed with the layers' linear tail, which the layers already hold); arrays as nested
    lists unless `store` maps them."""
    store = store or (lambda array: np.asarray(array).tolist())
    layers = [layer_to_record(layer, store) for layer in net.layers]
    spec = {"input_shape": list(net.input_shape), "layers": layers}
    if net.output_layer is not None:
        spec["output"] = {"weight": store(net.output_layer[0]), "bias": store(net.output_layer[1])}
    return spec


def _is_plain_dense(net) -> bool:
    """Whether the W0, b0, ... layout holds `net`: ReLU Dense float layers on a flat input."""
    return len(net.input_shape) == 1 and all(isinstance(layer, Dense) and layer.negative_slope == 0.0
                                             and layer.exact is None for layer in net.layers)


def save_network(net: Network, path) -> None:
    """Write `net` to ``.json`` or ``.npz`` (any network; see the module docstring for the layouts)."""
    path = os.fspath(path)
    if path.endswith(".json"):
        with open(path, "w") as f:
            json.dump(network_to_dict(net), f)
    elif path.endswith(".npz"):
        arrays = {}
        if _is_plain_dense(net):
            for l, (W, b) in enumerate(net.hidden):
                arrays[f"W{l}"], arrays[f"b{l}"] = W, b
            if net.output_layer is not None:
                arrays["W_out"], arrays["b_out"] = net.output_layer
        else:
            def store(array):
                name = f"array{len(arrays)}"
                arrays[name] = np.asarray(array, dtype=np.float64)
                return {"array": name}
            arrays[NPZ_NETWORK_KEY] = np.array(json.dumps(network_to_dict(net, store)))
        np.savez(path, **arrays)
    else:
        raise InvalidInputError(f"`path` must end in .npz or .json, got {path!r}")


# ---------------------------------------------------------------------- regions on disk
def write_regions(path, regions, *, chunk: int = 65536) -> int:
    """Stream `regions` (an iterable of :class:`~polyregions.result.Region`) to a ``.npz`` file.

    Written in chunks, so memory stays flat whatever the count: the file holds, per chunk
    ``k``, the members ``patterns_k`` (bit-packed uint8, one row per region), ``points_k``
    (float64) and ``radii_k`` (float64). :func:`load_regions` joins them. Returns the count.
    """
    path = os.fspath(path)
    chunk = int_at_least(chunk, "chunk", 1)
    if not path.endswith(".npz"):
        raise InvalidInputError(f"`path` must end in .npz, got {path!r}")
    count, k = 0, 0
    buf_p, buf_x, buf_r = [], [], []

    def flush(zf):
        nonlocal k
        for name, arr in (("patterns", np.array(buf_p, dtype=np.uint8)), ("points", np.array(buf_x)),
                          ("radii", np.array(buf_r))):
            with zf.open(f"{name}_{k:06d}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
        k += 1
        buf_p.clear(), buf_x.clear(), buf_r.clear()

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for region in regions:
            buf_p.append(region.pattern)
            buf_x.append(region.point)
            buf_r.append(region.radius)
            count += 1
            if len(buf_p) >= chunk:
                flush(zf)
        if buf_p or k == 0:
            flush(zf)
    return count


def load_regions(path):
    """Read a file of :func:`write_regions`: ``(patterns, points, radii)`` as arrays."""
    with np.load(os.fspath(path)) as data:
        names = sorted(data.files)
        join = lambda prefix: [data[n] for n in names if n.startswith(prefix)]  # noqa: E731
        patterns = [p for p in join("patterns_") if p.size]
        points = [p for p in join("points_") if p.size]
        radii = join("radii_")
        if not patterns:
            return np.zeros((0, 0), np.uint8), np.zeros((0, 0)), np.zeros(0)
        return np.concatenate(patterns), np.concatenate(points), np.concatenate(radii)
