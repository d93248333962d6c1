"""Loading and saving networks.

Formats
-------
``.npz``
    Fully connected networks: arrays ``W0, b0, W1, b1, ...`` (hidden ReLU layers, ``W`` of
    shape (out, in), numbered from 0 without gaps) and optionally ``W_out, b_out`` (the
    linear output layer, both or neither). Other arrays are ignored.
``.json``
    Any network: ``{"input_shape": [c, h, w] or n, "layers": [...], "output": {...}}`` where
    each layer is one of ``{"type": "dense", "weight": [[...]], "bias": [...]}``,
    ``{"type": "conv2d", "weight": [d_out][d_in][f1][f2], "bias": [...], "stride": 1, "padding": 0}``,
    ``{"type": "avgpool2d", "kernel": [k1, k2], "stride": k1}`` (positive sizes; the stride
    defaults to the kernel), ``{"type": "flatten"}``;
    ``"output"`` (optional) is ``{"weight": [[...]], "bias": [...]}``.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np

from ._validate import int_at_least, positive_ints
from .errors import InvalidInputError, PolyRegionsError, UnsupportedError
from .network import AvgPool2d, Conv2d, Dense, Flatten, Network

__all__ = ["load_network", "load_regions", "save_network", "write_regions"]


def load_network(path) -> Network:
    """Read a network from a ``.npz`` or ``.json`` file (see the module docstring).

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
    raise InvalidInputError(f"`path` must end in .npz or .json, got {path!r}")


_LAYER_KEY = re.compile(r"[Wb](\d+)")


def _load_npz(path) -> Network:
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(f"`path` {path!r} is not a .npz archive (empty, truncated or another format)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(f"`path` {path!r} is not a readable .npz network file: {exc}") from None
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


def _pool_sizes(layer, k):
    """The kernel and stride of an ``avgpool2d`` record as pairs of positive integers, naming the field."""
    what = "a positive integer or a pair of them"
    kernel = positive_ints(layer.get("kernel"), f"layers[{k}].kernel", what, length=2, scalar=True)
    stride = layer.get("stride")
    if stride is not None:
        stride = positive_ints(stride, f"layers[{k}].stride", what, length=2, scalar=True)
    return kernel, stride


def network_from_dict(spec: dict, *, source: str = "`spec`") -> Network:
    """Build a network from the JSON structure described in the module docstring.

    A malformed structure (a missing field, a value of the wrong type) raises
    :class:`~polyregions.errors.InvalidInputError` naming `source` and the layer.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("layers", []), list):
        raise InvalidInputError(f"{source} must be an object with a list \"layers\" (see polyregions.io)")
    layers = []
    for k, layer in enumerate(spec.get("layers", [])):
        where = f"{source}: layers[{k}]"
        if not isinstance(layer, dict):
            raise InvalidInputError(f"{where} must be an object with a \"type\", got {layer!r:.60}")
        kind = str(layer.get("type", "")).lower()
        try:
            if kind == "dense":
                layers.append(Dense(layer["weight"], layer["bias"]))
            elif kind == "conv2d":
                layers.append(Conv2d(layer["weight"], layer["bias"], int(layer.get("stride", 1)),
                                     int(layer.get("padding", 0))))
            elif kind == "avgpool2d":
                layers.append(AvgPool2d(*_pool_sizes(layer, k)))
            elif kind == "flatten":
                layers.append(Flatten())
            else:
                raise UnsupportedError(f"`layers[{k}]` has unsupported type {layer.get('type')!r}")
        except KeyError as exc:
            raise InvalidInputError(f"{where} ({kind}) has no field {exc}") from None
        except PolyRegionsError as exc:
            raise type(exc)(f"{source}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{where} ({kind}) is malformed: {exc}") from None
    output = spec.get("output")
    if output is not None:
        try:
            output = (output["weight"], output["bias"])
        except (KeyError, TypeError):
            raise InvalidInputError(f"{source}: \"output\" must be an object with \"weight\" and \"bias\"") from None
    shape = spec.get("input_shape")
    return Network(layers, input_shape=shape, output=output)


def network_to_dict(net: Network) -> dict:
    """The JSON structure of `net` (its original layers)."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            layers.append({"type": "dense", "weight": layer.weight.tolist(), "bias": layer.bias.tolist()})
        elif isinstance(layer, Conv2d):
            layers.append({"type": "conv2d", "weight": layer.weight.tolist(), "bias": layer.bias.tolist(),
                           "stride": layer.stride, "padding": layer.padding})
        elif isinstance(layer, AvgPool2d):
            layers.append({"type": "avgpool2d", "kernel": list(layer.kernel), "stride": layer.stride})
        elif isinstance(layer, Flatten):
            layers.append({"type": "flatten"})
    spec = {"input_shape": list(net.input_shape), "layers": layers}
    if net.output is not None:
        spec["output"] = {"weight": net.output[0].tolist(), "bias": net.output[1].tolist()}
    return spec


def save_network(net: Network, path) -> None:
    """Write `net` to ``.json`` (any network) or ``.npz`` (fully connected networks)."""
    path = os.fspath(path)
    if path.endswith(".json"):
        with open(path, "w") as f:
            json.dump(network_to_dict(net), f)
    elif path.endswith(".npz"):
        if not all(isinstance(layer, Dense) for layer in net.layers):
            raise UnsupportedError("`net` has non-dense layers: save it as .json")
        arrays = {}
        for l, (W, b) in enumerate(net.hidden):
            arrays[f"W{l}"], arrays[f"b{l}"] = W, b
        if net.output is not None:
            arrays["W_out"], arrays["b_out"] = net.output
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
