"""Solver backends for the region test, imported as ``polyregions.solvers``.

Backends know nothing of networks: they see a :class:`RegionProblem` (the domain's
constraints) and a stack of half-spaces ``a . x <= b`` pushed and popped by the search.
:mod:`~polyregions.solvers.base` holds the interface, :mod:`~polyregions.solvers.registry`
which backend serves which problem.
"""

from .base import LPBackend, RegionProblem, Status, TestResult
from .registry import BACKENDS, make_backend, region_problem

__all__ = ["BACKENDS", "LPBackend", "RegionProblem", "Status", "TestResult", "make_backend", "region_problem"]
