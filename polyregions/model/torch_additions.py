"""Additions and subtractions in torch.fx and torch.export graphs, read exactly.

``torch.add(a, b, alpha=k)`` is ``a + k b``, ``torch.sub(a, b, alpha=k)`` is ``a - k b`` and
``rsub(a, b, alpha=k)`` is ``b - k a`` (``operator.add``, ``x.add_``, ``aten.add.Tensor`` and
the like alike). With one operand a constant (a number, a buffer, a parameter) the operation
is the elementwise affine map ``y = c x + shift`` of the other
(:func:`polyregions.model.records.elementwise_affine_record`). Of two computed values, one
must be computed from the other, the skip ``s`` of a residual addition:
``c_s s + c_t t = c_s (s + (c_t / c_s) t)``, a residual sum between two scalings (none where a
coefficient is 1), or ``c_t t`` alone when ``c_s = 0``.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from .records import elementwise_affine_record

__all__ = ["addition_kind", "addition_ops"]

_ADDITIONS = {"add": "add", "iadd": "add", "sub": "sub", "isub": "sub", "rsub": "rsub"}


def addition_kind(node):
    """"add", "sub" or "rsub" for an addition or subtraction of a traced or exported graph, else None."""
    if node.op == "call_method":
        name = node.target
    elif node.op == "call_function":
        text = str(node.target)
        name = text.split(".")[1] if text.startswith("aten.") else getattr(node.target, "__name__", "")
    else:
        return None
    return _ADDITIONS.get(name.rstrip("_"))


def _value_shape(node):
    """The shape of a graph value without its batch dimension (torch.fx ShapeProp or torch.export meta)."""
    meta = node.meta.get("tensor_meta") or node.meta.get("val")
    if meta is None:
        raise UnsupportedError(f"`{node.name}` has no recorded shape")
    return tuple(int(s) for s in meta.shape[1:])


def _depends_on(node, other) -> bool:
    """Whether the graph value `node` is computed from `other`."""
    seen, stack = set(), [node]
    while stack:
        v = stack.pop()
        if v is other:
            return True
        if v not in seen:
            seen.add(v)
            stack.extend(v.all_input_nodes)
    return False


def addition_ops(node, kind: str, constant) -> dict:
    """The operations computing ``y = c_a a + c_b b`` at `node` (``add``: ``a + alpha b``; ``sub``:
    ``a - alpha b``; ``rsub``: ``b - alpha a``), as ``{value name: GraphOp fields}``.

    `constant(arg)` is an argument's value as an array, or None for a value computed by the
    graph. New intermediate values are named ``<node>.body`` and ``<node>.sum``.
    """
    a = node.args[0]
    b = node.args[1] if len(node.args) > 1 else node.kwargs["other"]
    alpha = float(node.kwargs.get("alpha", node.args[2] if len(node.args) > 2 else 1))
    ca, cb = {"add": (1.0, alpha), "sub": (1.0, -alpha), "rsub": (-alpha, 1.0)}[kind]
    va, vb = constant(a), constant(b)
    name = path = node.name

    def affine(value, scale, shift=0.0):
        return dict(path=path, inputs=[value], record=elementwise_affine_record(scale, shift, _value_shape(node), path))

    if va is not None and vb is not None:
        raise UnsupportedError(f"`{path}` ({kind}) adds two constants: only additions to the input's values are "
                               "supported")
    if vb is not None:
        return {name: affine(a.name, ca, cb * vb)}
    if va is not None:
        return {name: affine(b.name, cb, ca * va)}
    if (ca, cb) == (1.0, 1.0) or not (_depends_on(b, a) or _depends_on(a, b)):
        return {name: dict(path=path, inputs=[a.name, b.name], add=True)}  # the assembler refuses a non-residual sum
    (s, cs), (t, ct) = ((a, ca), (b, cb)) if _depends_on(b, a) else ((b, cb), (a, ca))
    if cs == 0:
        return {name: affine(t.name, ct)}
    ops, body, total = {}, t.name, name if cs == 1 else f"{name}.sum"
    if ct != cs:
        body = f"{name}.body"
        ops[body] = affine(t.name, ct / cs)
    ops[total] = dict(path=path, inputs=[s.name, body], add=True)
    if cs != 1:
        ops[name] = affine(total, cs)
    return ops
