"""Which closed-form bounds apply to a network (and a domain), and their values.

:func:`network_bounds` reads the architecture from the network's layers
(:func:`architecture_of`) and returns, for every bound of ``BOUND_NAMES``, its value or
the reason it does not apply: the dense bounds for any network (a convolution is a dense
layer whose weights are shared), Xiong et al.'s theorems for plain stacks of
convolutions without padding, the exact one-layer oracle for one hidden layer and the
local bounds for an L2 ball. ``polyregions bounds`` prints this list; the tightness
study (:mod:`polyregions.studies.tightness`) tabulates it over seeds.
"""

from __future__ import annotations

from ..errors import InvalidInputError, UnprovenBoundError, UnsupportedError
from ..model.network import Conv2d, Dense, Network, require_relu
from .dense import montufar2014_lower, montufar2017_upper, serra2018_upper, zaslavsky
from .generic import whitney_count
from .local import local_arrangement_bound, zhu_local
from .xiong import xiong_one_layer
from .xiong_deep import xiong_deep_lower_certificate, xiong_deep_upper

__all__ = ["BOUND_NAMES", "BOUND_KINDS", "LOCAL_BOUND_NAMES", "architecture_of", "network_bounds"]

#: Every bound :func:`network_bounds` knows, in the order it reports them.
BOUND_NAMES = (
    "zaslavsky",
    "montufar2017_upper",
    "serra2018_upper",
    "montufar2014_lower",
    "xiong_one_layer",
    "xiong_deep_lower",
    "xiong_deep_upper",
    "whitney_count",
    "zhu_local",
    "local_arrangement_bound",
)

#: The bounds that depend on the ball (and so on the seed's network and centre in a study).
LOCAL_BOUND_NAMES = ("zhu_local", "local_arrangement_bound")

#: The meaning of each bound's value, as printed next to it.
BOUND_KINDS = {
    "zaslavsky": "upper (one layer; exact for generic parameters in the whole space)",
    "montufar2017_upper": "upper",
    "serra2018_upper": "upper",
    "montufar2014_lower": "a lower bound on the maximum over parameters, not on this network",
    "xiong_one_layer": "upper (Theorem 1's R_N; the maximum only without rank deficits)",
    "xiong_deep_lower": "a lower bound on the maximum over parameters, not on this network",
    "xiong_deep_upper": "upper",
    "whitney_count": "exact in the whole space (one layer, any parameters); upper in any domain",
    "zhu_local": "upper on the regions meeting the ball (2**C)",
    "local_arrangement_bound": "upper on the regions meeting the ball (polyregions' own)",
}

_BY_NAME = {"montufar2017_upper": montufar2017_upper, "serra2018_upper": serra2018_upper,
            "xiong_deep_upper": xiong_deep_upper}


def architecture_of(net: Network) -> dict:
    """What the closed forms need to know about `net`, read from ``net.layers``.

    Returns a dict with ``kind`` ("dense", "conv" or "mixed"), ``n0``, ``widths`` (the
    lowered hidden widths), ``depth``, and for plain convolutional stacks ``input_shape``
    and ``layers`` as ``[(d, (f1, f2), s), ...]`` and ``padding`` (per layer);
    ``conv_reason`` says why the convolutional theorems do not apply, or is ``None``.
    """
    layers = list(net.layers)
    info = {"n0": net.input_dim, "widths": tuple(net.widths), "depth": len(net.hidden),
            "input_shape": tuple(net.input_shape), "layers": None, "conv_reason": None}
    if all(isinstance(layer, Dense) for layer in layers):
        info["kind"] = "dense"
        info["conv_reason"] = "not a convolutional network"
        return info
    if all(isinstance(layer, Conv2d) for layer in layers) and len(net.input_shape) == 3:
        info["kind"] = "conv"
        info["layers"] = [(int(layer.weight.shape[0]), (int(layer.weight.shape[2]), int(layer.weight.shape[3])),
                           int(layer.stride)) for layer in layers]
        info["padding"] = [int(layer.padding) for layer in layers]
        padded = [k for k, layer in enumerate(layers, start=1) if layer.padding]
        if padded:
            k = padded[0]
            info["conv_reason"] = (f"layer {k} has padding {layers[k - 1].padding}: Xiong et al.'s theorems "
                                   "assume no padding")
        return info
    info["kind"] = "mixed"
    other = next(type(layer).__name__ for layer in layers if not isinstance(layer, Conv2d))
    info["conv_reason"] = (f"the network has a {other} layer: Xiong et al.'s theorems cover plain "
                           "stacks of convolutions")
    return info


def _entry(name, value=None, reason=None, note=None, unproven=False):
    return {"name": name, "value": value, "kind": BOUND_KINDS[name], "reason": reason, "note": note,
            "unproven": unproven}


def _call(name, fn, *args, **kw):
    try:
        return _entry(name, int(fn(*args, **kw)))
    except UnprovenBoundError as exc:
        return _entry(name, reason=str(exc), unproven=True)
    except (UnsupportedError, InvalidInputError) as exc:
        return _entry(name, reason=str(exc))


def _deep_lower_entry(info):
    """Theorem 2 (i) with its certificate; the note says when N' falls short of Theorem 1's R_N'."""
    name = "xiong_deep_lower"
    try:
        cert = xiong_deep_lower_certificate(info["input_shape"], info["layers"])
    except UnprovenBoundError as exc:
        return _entry(name, reason=str(exc), unproven=True)
    except (UnsupportedError, InvalidInputError) as exc:
        return _entry(name, reason=str(exc))
    note = None
    if not cert.attains_theorem:
        note = (f"N' has {cert.head:,} regions, not Theorem 1's R_N' = {cert.head_R_N:,}: the paper's "
                f"{cert.head_R_N * cert.factor:,} is not a proven bound; this is {cert.head:,} x {cert.factor:,}")
    return _entry(name, cert.bound, note=note)


def network_bounds(net: Network, domain=None, *, names=None, local_method: str = "symbolic",
                   whitney_limit: int = 300_000) -> list:
    """Every bound of ``BOUND_NAMES`` for `net` (in `domain`), or why it does not apply.

    The architecture is read from ``net.layers`` (:func:`architecture_of`).

    - Fully connected: ``zaslavsky`` (one hidden layer), ``montufar2017_upper``,
      ``serra2018_upper``, and ``montufar2014_lower``, a lower bound on the maximum over
      parameters of that architecture, *not* on this network.
    - Convolutional without padding: ``xiong_one_layer`` (one layer),
      ``xiong_deep_lower`` and ``xiong_deep_upper`` (several layers); the dense upper
      bounds also hold, with the lowered widths (a convolution is a dense layer whose
      weights are shared).
    - One hidden layer: ``whitney_count``, the exact count of the lowered layer in the
      whole space, computed when the largest possible count (Zaslavsky, or Theorem 1
      for a convolution) is at most `whitney_limit`.
    - An L2 ball (:class:`~polyregions.Ball` with ``p=2``): ``zhu_local`` (:math:`2^C`)
      and ``local_arrangement_bound`` (with `local_method`).

    Every global bound also bounds the count in any domain (a region meeting the domain
    is a region of the whole space).

    Returns
    -------
    list of dict
        ``{"name", "value" (int, or None when it does not apply), "kind", "reason"
        (why not, or None), "note", "unproven"}``; ``unproven`` is True when the
        bound's theorem is meant for this network but no bound could be proven for it
        (:class:`~polyregions.errors.UnprovenBoundError`, the reason says why), in the order of ``BOUND_NAMES`` (restricted to
        `names` when given).
    """
    wanted = BOUND_NAMES if names is None else tuple(names)
    unknown = [n for n in wanted if n not in BOUND_NAMES]
    if unknown:
        raise InvalidInputError(f"`names` has unknown bounds {unknown}; known: {', '.join(BOUND_NAMES)}")
    require_relu(net, "network_bounds")
    info = architecture_of(net)
    n0, widths, depth = info["n0"], info["widths"], info["depth"]
    conv_ok = info["kind"] == "conv" and info["conv_reason"] is None
    lowered = None if info["kind"] == "dense" else f"as a dense network of the lowered widths {widths}"
    out = []
    for name in wanted:
        if name == "zaslavsky":
            if depth != 1:
                e = _entry(name, reason=f"one hidden layer only; this network has {depth}")
            else:
                e = _call(name, zaslavsky, n0, widths[0])
                e["note"] = lowered
        elif name in ("montufar2017_upper", "serra2018_upper"):
            e = _call(name, _BY_NAME[name], n0, widths)
            e["note"] = lowered
        elif name == "montufar2014_lower":
            if info["kind"] != "dense":
                e = _entry(name, reason="a bound for fully connected networks; weight sharing need not attain it")
            else:
                e = _call(name, montufar2014_lower, n0, widths)
        elif name in ("xiong_one_layer", "xiong_deep_lower", "xiong_deep_upper"):
            if not conv_ok:
                e = _entry(name, reason=info["conv_reason"])
            elif name == "xiong_one_layer" and depth != 1:
                e = _entry(name, reason=f"one layer only; this network has {depth} (see xiong_deep_*)")
            elif name != "xiong_one_layer" and depth == 1:
                e = _entry(name, reason="Theorem 2 is for several layers; for one layer see xiong_one_layer")
            elif name == "xiong_one_layer":
                d, k, s = info["layers"][0]
                e = _call(name, xiong_one_layer, info["input_shape"], filters=d, kernel=k, stride=s)
            else:
                e = _call(name, _BY_NAME[name], info["input_shape"], info["layers"]) if name in _BY_NAME \
                    else _deep_lower_entry(info)
        elif name == "whitney_count":
            e = _whitney_entry(net, info, conv_ok, whitney_limit)
        else:  # local bounds
            if domain is None or domain.norm != 2:
                e = _entry(name, reason="needs an L2 ball (--ball CENTER R --p 2)")
            elif name == "zhu_local":
                res = zhu_local(net, domain.center, domain.radius)
                e = _entry(name, int(res.bound), note=f"C = {res.C}")
            else:
                res = local_arrangement_bound(net, domain.center, domain.radius, method=local_method)
                e = _entry(name, int(res.bound), note=f"method {local_method}")
        out.append(e)
    return out


def _whitney_entry(net, info, conv_ok, limit):
    name = "whitney_count"
    if info["depth"] != 1:
        return _entry(name, reason=f"one hidden layer only; this network has {info['depth']}")
    W, b = net.hidden[0]
    if conv_ok:
        d, k, s = info["layers"][0]
        most = xiong_one_layer(info["input_shape"], filters=d, kernel=k, stride=s)
    else:
        most = zaslavsky(info["n0"], info["widths"][0])
    if most > limit:
        return _entry(name, reason=f"up to {most:,} regions, more than the limit {limit:,} for enumerating them")
    return _entry(name, int(whitney_count(W, b)))
