r"""Seeded random networks named by an architecture string: reproducible families for the studies.

:class:`Arch` and :func:`parse_arch` are the architecture syntax below (``str(arch)`` writes it
back); :func:`seeded_network` and :func:`seeded_center` draw a network of an architecture,
and a ball's centre, from a seed. The networks that attain bounds from the literature are
in :mod:`polyregions.studies.constructions`.

Architecture syntax (ARCH)
--------------------------
``fc:N0:W1,W2,...``
    A fully connected ReLU network with input dimension ``N0`` and hidden widths
    ``W1, W2, ...``; for example ``fc:2:4,4``.
``conv:D0xHxW:D1,F1xF2,S[;D2,F1xF2,S...]``
    Convolutional ReLU layers without padding on an input of shape ``(D0, H, W)``
    (channels first): layer ``l`` has ``D_l`` filters of shape ``(D_{l-1}, F1, F2)`` and
    stride ``S``; layers are separated by ``;`` (quote the argument in a shell). For
    example ``conv:1x3x3:2,2x2,1`` (two 2x2 filters on a 3x3 image) and
    ``conv:1x1x6:3,1x3,2`` (a 1-D input of length 6). A layer's output grid is
    ``floor((n - F)/S) + 1`` along each axis and must not be empty.

Seeded networks
---------------
For the integer list ``arch.ints`` of an architecture (``fc:2:4,4`` gives
``(2, 4, 4)``; ``conv:1x3x3:2,2x2,1`` gives ``(1, 3, 3, 2, 2, 2, 1)``), seed ``k`` draws
from ``numpy.random.default_rng([k, *arch.ints])``, layer by layer, weights
:math:`N(0, 2/\text{fan\_in})` (He initialisation; the fan-in of a convolution is
:math:`D_{l-1} F_1 F_2`), then biases :math:`N(0, 1)`. Biases of unit variance keep
the hyperplanes of a one-layer network generic and spread out (with zero biases every
hyperplane would pass through the origin), which is what the one-layer studies of
generic parameters need.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, UnsupportedError
from ..model.network import Conv2d, Network

__all__ = ["Arch", "ARCH_SYNTAX", "parse_arch", "seeded_network", "seeded_center"]

#: The architecture syntax, as error messages quote it.
ARCH_SYNTAX = "fc:N0:W1,W2,... or conv:D0xHxW:D1,F1xF2,S[;D2,F1xF2,S...]"


@dataclass(frozen=True)
class Arch:
    """An architecture of seeded networks (see the module docstring for the syntax).

    Attributes
    ----------
    kind : {"fc", "conv"}
    input_shape : tuple of int
        ``(n0,)`` for ``fc``; ``(d0, h, w)`` for ``conv``.
    layers : tuple
        ``fc``: the hidden widths; ``conv``: ``((d, (f1, f2), s), ...)``.
    """

    kind: str
    input_shape: tuple
    layers: tuple

    def __str__(self):
        if self.kind == "fc":
            return f"fc:{self.input_shape[0]}:" + ",".join(str(w) for w in self.layers)
        d0, h, w = self.input_shape
        return f"conv:{d0}x{h}x{w}:" + ";".join(f"{d},{f1}x{f2},{s}" for d, (f1, f2), s in self.layers)

    @property
    def ints(self) -> tuple:
        """The architecture's integers in the order they are written (the seed's suffix)."""
        if self.kind == "fc":
            return (self.input_shape[0], *self.layers)
        out = list(self.input_shape)
        for d, (f1, f2), s in self.layers:
            out += [d, f1, f2, s]
        return tuple(out)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    @property
    def depth(self) -> int:
        return len(self.layers)

    def grids(self) -> list:
        """``conv``: the spatial sizes ``[(h, w), (n_1^(1), n_1^(2)), ...]`` of every layer."""
        if self.kind != "conv":
            raise UnsupportedError("`arch` is fully connected: it has no grids")
        sizes = [self.input_shape[1:]]
        for _, (f1, f2), s in self.layers:
            a, b = sizes[-1]
            sizes.append(((a - f1) // s + 1, (b - f2) // s + 1))
        return sizes


def _arch_error(text, why):
    return InvalidInputError(f"`arch` {text!r} {why}; the syntax is {ARCH_SYNTAX}")


def _positive(token, text, what):
    if not re.fullmatch(r"[0-9]+", token):
        raise _arch_error(text, f"has {what} {token!r}, not a positive integer")
    v = int(token)
    if v < 1:
        raise _arch_error(text, f"has {what} {token!r}, not a positive integer")
    return v


def parse_arch(text) -> Arch:
    """Parse an architecture string (``fc:N0:W1,W2,...`` or ``conv:D0xHxW:D1,F1xF2,S[;...]``).

    Spaces are ignored. ``str(parse_arch(s)) == s`` for a string written without spaces.

    Raises
    ------
    InvalidInputError
        Naming `arch`, the offending part and the syntax.

    Examples
    --------
    >>> parse_arch("fc:2:4,4")
    Arch(kind='fc', input_shape=(2,), layers=(4, 4))
    >>> a = parse_arch("conv:1x3x3:2,2x2,1")
    >>> a.input_shape, a.layers, str(a)
    ((1, 3, 3), ((2, (2, 2), 1),), 'conv:1x3x3:2,2x2,1')
    """
    if isinstance(text, Arch):
        return text
    if not isinstance(text, str):
        raise InvalidInputError(f"`arch` must be a string ({ARCH_SYNTAX}), got {text!r}")
    s = re.sub(r"\s+", "", text)
    parts = s.split(":")
    if len(parts) != 3 or parts[0] not in ("fc", "conv"):
        raise _arch_error(text, "must have three ':'-separated parts starting with 'fc' or 'conv'")
    kind, head, body = parts
    if not body:
        raise _arch_error(text, "has no layers")
    if kind == "fc":
        n0 = _positive(head, text, "input dimension")
        widths = tuple(_positive(t, text, "width") for t in body.split(","))
        return Arch("fc", (n0,), widths)
    dims = head.split("x")
    if len(dims) != 3:
        raise _arch_error(text, f"has input shape {head!r}; write it D0xHxW, e.g. 1x3x3")
    shape = tuple(_positive(t, text, "input size") for t in dims)
    layers = []
    grid = shape[1:]
    for k, item in enumerate(body.split(";"), start=1):
        fields = item.split(",")
        if len(fields) != 3:
            raise _arch_error(text, f"has layer {k} {item!r}; write it D,F1xF2,S, e.g. 2,2x2,1")
        d = _positive(fields[0], text, f"layer {k} filters")
        fs = fields[1].split("x")
        if len(fs) != 2:
            raise _arch_error(text, f"has layer {k} kernel {fields[1]!r}; write it F1xF2, e.g. 2x2")
        f1, f2 = (_positive(t, text, f"layer {k} kernel size") for t in fs)
        st = _positive(fields[2], text, f"layer {k} stride")
        if f1 > grid[0] or f2 > grid[1]:
            raise _arch_error(text, f"has layer {k} with a {f1}x{f2} kernel on a {grid[0]}x{grid[1]} grid, "
                                    "so its output is empty")
        grid = ((grid[0] - f1) // st + 1, (grid[1] - f2) // st + 1)
        layers.append((d, (f1, f2), st))
    return Arch("conv", shape, tuple(layers))


def _draw(arch, seed):
    """The seeded network of `arch` and the generator after its parameters."""
    arch = parse_arch(arch)
    seed = operator.index(seed)
    if seed < 0:
        raise InvalidInputError(f"`seed` must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng([seed, *arch.ints])
    if arch.kind == "fc":
        weights, biases, n_in = [], [], arch.input_shape[0]
        for n in arch.layers:
            weights.append(rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n, n_in)))
            biases.append(rng.normal(0.0, 1.0, size=n))
            n_in = n
        return Network.from_dense(weights, biases), rng
    layers, d_in = [], arch.input_shape[0]
    for d, (f1, f2), s in arch.layers:
        weight = rng.normal(0.0, math.sqrt(2.0 / (d_in * f1 * f2)), size=(d, d_in, f1, f2))
        bias = rng.normal(0.0, 1.0, size=d)
        layers.append(Conv2d(weight, bias, stride=s))
        d_in = d
    return Network(layers, input_shape=arch.input_shape), rng


def seeded_network(arch, seed) -> Network:
    r"""The network of `arch` drawn with seed `seed`: weights :math:`N(0, 2/\text{fan\_in})`, biases :math:`N(0, 1)`.

    The generator is ``numpy.random.default_rng([seed, *arch.ints])``; per layer the
    weights are drawn first (shape ``(out, in)``, or ``(d_out, d_in, f1, f2)``), then the
    biases.

    >>> seeded_network("fc:2:4,4", 0).widths
    (4, 4)
    >>> seeded_network("conv:1x3x3:2,2x2,1", 0).widths
    (8,)
    """
    return _draw(arch, seed)[0]


def seeded_center(arch, seed) -> np.ndarray:
    """The centre of ``ball:R:random`` for seed `seed`: :math:`N(0, I_n)`, drawn after the network's parameters."""
    net, rng = _draw(arch, seed)
    return rng.standard_normal(net.input_dim)
