"""Exceptions raised by polyregions, under one root class."""


class PolyRegionsError(Exception):
    """Root of every error polyregions raises on purpose."""


class InvalidInputError(PolyRegionsError, ValueError):
    """An argument has the wrong shape, type or value; the message names it."""


class UnsupportedError(PolyRegionsError, ValueError):
    """A request that is mathematically meaningless or not supported (an unknown layer, a bound outside its theorem)."""


class SolverError(PolyRegionsError, RuntimeError):
    """A solver failed, hit a limit or returned a status that cannot be read as an answer.

    A solver failure is never read as "empty": it is raised as this error.
    """
