"""Exceptions raised by polyregions, under one root class."""


class PolyRegionsError(Exception):
    """Root of every error polyregions raises on purpose."""


class InvalidInputError(PolyRegionsError, ValueError):
    """An argument has the wrong shape, type or value; the message names it."""


class UnsupportedError(PolyRegionsError, ValueError):
    """A request that is mathematically meaningless or not supported (an unknown layer, a bound outside its theorem)."""


class UnprovenBoundError(UnsupportedError):
    """No bound is returned because none is proven for this request.

    Raised where a closed form's hypothesis fails or cannot be verified for the given
    shape (for example Theorem 2 (i) of Xiong et al. when the last layer's one-layer
    network need not attain Theorem 1's count); the message says why. A subclass of
    :class:`UnsupportedError`, so callers that report unsupported bounds as "n/a" also
    report these, with the reason.
    """


class SolverError(PolyRegionsError, RuntimeError):
    """A solver failed, hit a limit or returned a status that cannot be read as an answer.

    A solver failure is never read as "empty": it is raised as this error.
    """


# A certificate that fails its exact check (the message names the line). It is the standalone
# checker's own class (polyregions.exact.checker imports nothing of the package), so it is a
# ValueError but not a PolyRegionsError; the command line reports it as one.
from .exact.checker import CertificateError  # noqa: E402,F401
