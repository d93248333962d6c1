"""Solver backends for the region test, imported as ``polyregions.solvers``.

Backends know nothing of networks: they see a :class:`RegionProblem` (the domain's
constraints) and a stack of half-spaces ``a . x <= b`` pushed and popped by the search.
"""

from .base import BACKENDS, LPBackend, RegionProblem, Status, TestResult, make_backend

__all__ = ["BACKENDS", "LPBackend", "RegionProblem", "Status", "TestResult", "make_backend"]
