"""Shared drivers of the solver tests: a walk shaped like the search, checked step by step."""

from __future__ import annotations

import numpy as np
import pytest


def _walk(backend, reference, domain, rng, steps, scale, check):
    """Drive `backend` and `reference` through the same pushes, sibling tests and pops: a
    test of a row that may cut the node or miss it (then popped), or a descent on a row that
    keeps the witness inside; ``check(res, ref, rows)`` compares every pair of answers."""
    stack, witness = [], [domain.center_point()]
    for _ in range(steps):
        u = rng.uniform()
        a = rng.normal(size=domain.dim)
        a /= np.linalg.norm(a)
        x = witness[-1]
        if stack and (u < 0.25 or len(stack) > 30):
            backend.pop()
            reference.pop()
            stack.pop()
            witness.pop()
            continue
        deep = u >= 0.7
        b = float(a @ x + (rng.uniform(0.0, 0.5) if deep else rng.uniform(-1.0, 0.3)) * scale)
        backend.push(a, b)
        reference.push(a, b)
        res = backend.test(x)
        check(res, reference.test(), stack + [(a, b)])
        if deep and res.keep:
            stack.append((a, b))
            witness.append(res.point)
        else:
            backend.pop()
            reference.pop()
    return backend


@pytest.fixture
def search_walk():
    """``search_walk(backend, reference, domain, rng, steps, scale, check)``: see :func:`_walk`."""
    return _walk
