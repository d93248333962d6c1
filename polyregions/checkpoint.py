"""Checkpoints of a count: the regions counted in finished subproblems and the unexplored frontier.

A checkpoint is a pickle (write it and read it on machines you trust) holding a format
version, a fingerprint of the network, domain, ``eps``, backend and pruning, the count,
the statistics and the list of open :class:`~polyregions.search.Subproblem`. Writes
are atomic (a temporary file renamed over the old one), so a kill at any moment leaves
the previous checkpoint intact. Resuming finishes with exactly the count of an
uninterrupted run: a subproblem's regions are recorded only once it is finished.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile

import numpy as np

from .errors import InvalidInputError

#: Version of the checkpoint format; 2 since the subproblems live in :mod:`polyregions.search`.
FORMAT_VERSION = 2


def fingerprint(net, domain, eps, backend, prune) -> str:
    """A hash of everything the count depends on."""
    h = hashlib.sha256()
    for W, b in net.hidden:
        h.update(np.ascontiguousarray(W).tobytes())
        h.update(np.ascontiguousarray(b).tobytes())
    h.update(repr((type(domain).__name__, domain.dim, eps, backend, bool(prune))).encode())
    for name in ("lo", "hi", "center", "radius", "p", "A", "b", "a", "origin", "u", "v"):
        v = getattr(domain, name, None)
        if v is not None:
            h.update(np.asarray(v, dtype=float).tobytes())
    return h.hexdigest()


class Checkpointer:
    """Saves checkpoints to `path` (does nothing when `path` is None)."""

    def __init__(self, path, net, domain, eps, backend, prune):
        self.path = os.fspath(path) if path is not None else None
        self.key = fingerprint(net, domain, eps, backend, prune) if path is not None else None

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def save(self, count, queue, stats) -> None:
        if self.path is None:
            return
        state = {"version": FORMAT_VERSION, "key": self.key, "count": int(count), "queue": list(queue),
                 "stats": stats}
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @staticmethod
    def load(path, net, domain, eps, backend, prune):
        """Return ``(count, queue, stats)`` saved in `path`, after checking it belongs to this count."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise InvalidInputError(f"`resume` file {path!r} does not exist")
        try:
            with open(path, "rb") as f:
                state = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError):
            state = None  # not a pickle, or one holding classes this version no longer has
        version = state.get("version") if isinstance(state, dict) else None
        if version != FORMAT_VERSION:
            found = f"format {version}" if isinstance(version, int) else "an unreadable format"
            raise InvalidInputError(f"`resume` file {path!r} is not a checkpoint this version of polyregions reads "
                                    f"({found}, expected format {FORMAT_VERSION}): start the count again")
        if state["key"] != fingerprint(net, domain, eps, backend, prune):
            raise InvalidInputError(
                f"`resume` file {path!r} was written for another network, domain, eps, backend or pruning")
        return state["count"], list(state["queue"]), state["stats"]
