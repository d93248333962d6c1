"""Checkpoints of a count: the regions counted in finished subproblems and the unexplored frontier.

A checkpoint is a pickle (write it and read it on machines you trust) holding a format
version, a fingerprint of the network (weights and activations), domain, ``eps``, backend and pruning, the count,
the statistics and the list of open :class:`~polyregions.search.engine.Subproblem`. Writes
are atomic (a temporary file renamed over the old one), so a kill at any moment leaves
the previous checkpoint intact. Resuming finishes with exactly the count of an
uninterrupted run: a subproblem's regions are recorded only once it is finished.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import pickle

import numpy as np

from ..errors import InvalidInputError

#: Version of the checkpoint format; 2 since the subproblems live in :mod:`polyregions.search.engine`,
#: 3 since the fingerprint holds every stage's activation (negative slopes, pooling windows),
#: 4 since it holds the domain's own key.
FORMAT_VERSION = 4
#: What reading a damaged pickle can raise (a truncated or overwritten file, another pickle,
#: classes that moved).
UNPICKLING_ERRORS = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError,
                     TypeError, ValueError, MemoryError)


def temporary_path(path, pid: int) -> str:
    """The file a checkpoint is written to before it is renamed over `path`: ``.NAME.PID.tmp``
    beside it, so that a killed writer's leftover names its checkpoint and its process."""
    path = pathlib.Path(os.fspath(path))
    return str(path.with_name(f".{path.name}.{pid}.tmp"))


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's), or this platform cannot tell: keep its file
    return True


def remove_stale_temporaries(path) -> list:
    """Remove the temporary files of `path`'s checkpoint left by processes that no longer run;
    return their names."""
    path = pathlib.Path(os.fspath(path))
    removed = []
    prefix, suffix = f".{path.name}.", ".tmp"
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(prefix):-len(suffix)]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_is_running(int(pid)):
            try:
                tmp.unlink()
                removed.append(tmp.name)
            except FileNotFoundError:
                pass
    return removed

def hash_network(h, net) -> None:
    """Feed every stage's weights, bias, activation slopes and pooling of `net` to the hash `h`."""
    for stage in net.stages:
        for array in (stage.weight, stage.bias, stage.slopes):
            h.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        h.update(repr(("pool", stage.pool)).encode())


def fingerprint(net, domain, eps, backend, prune) -> str:
    """A hash of everything the count depends on: every stage's weights and activation (a
    LeakyReLU network never resumes the checkpoint of the ReLU network with its weights), the
    domain's key (:meth:`~polyregions.domains.base.Domain.key`: its type and every number that
    defines it), ``eps``, the backend and the pruning."""
    h = hashlib.sha256()
    hash_network(h, net)
    h.update(repr((eps, backend, bool(prune))).encode())
    for part in domain.key():
        if isinstance(part, np.ndarray):
            h.update(repr(("array", part.shape)).encode())
            h.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
        else:
            h.update(repr(("value", part)).encode())
    return h.hexdigest()


def check_writable(path) -> None:
    """Refuse, before any counting, a checkpoint file at `path` that could not be written."""
    if os.path.isdir(path):
        raise InvalidInputError(f"`checkpoint` {path!r} is a directory, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InvalidInputError(f"`checkpoint` {path!r}: the folder {folder!r} does not exist")
    probe = temporary_path(path, os.getpid())
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise InvalidInputError(f"`checkpoint` {path!r} cannot be written: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise InvalidInputError(f"`checkpoint` {path!r} exists and is not writable")


def checkpoint_path(path) -> str | None:
    """`path` as a string, once it is known to be writable (:func:`check_writable`) and the
    temporaries of dead writers beside it are removed (:func:`remove_stale_temporaries`); None
    for None (no checkpoint)."""
    if path is None:
        return None
    path = os.fspath(path)
    check_writable(path)
    remove_stale_temporaries(path)
    return path


def write_atomically(path: str, write) -> None:
    """Write the file `path` whole or not at all: ``write(f)`` fills a binary temporary file
    beside it (:func:`temporary_path`), which is flushed to disk and renamed over `path`. When
    anything fails (or the process is interrupted) before the rename, the temporary is removed
    and `path` stays as it was; a killed writer's leftover is removed by the next
    :func:`checkpoint_path`."""
    tmp = temporary_path(path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Checkpointer:
    """Saves checkpoints to `path` (does nothing when `path` is None)."""

    def __init__(self, path, net, domain, eps, backend, prune):
        self.path = checkpoint_path(path)
        self.key = fingerprint(net, domain, eps, backend, prune) if path is not None else None

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def save(self, count, queue, stats) -> None:
        if self.path is None:
            return
        state = {"version": FORMAT_VERSION, "key": self.key, "count": int(count), "queue": list(queue),
                 "stats": stats}
        write_atomically(self.path, lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def load(path, net, domain, eps, backend, prune):
        """Return ``(count, queue, stats)`` saved in `path`, after checking it belongs to this count."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise InvalidInputError(f"`resume` file {path!r} does not exist")
        if os.path.isdir(path):
            raise InvalidInputError(f"`resume` file {path!r} is a directory")
        try:
            with open(path, "rb") as f:
                state = pickle.load(f)
        except UNPICKLING_ERRORS:
            state = None  # corrupt, truncated, not a pickle, or holding classes this version no longer has
        except OSError as exc:
            raise InvalidInputError(f"`resume` file {path!r} cannot be read: {exc.strerror}") from None
        version = state.get("version") if isinstance(state, dict) else None
        if version != FORMAT_VERSION:
            found = (f"format {version}" if isinstance(version, int)
                     else "an unreadable format: corrupt, truncated or not a checkpoint")
            raise InvalidInputError(f"`resume` file {path!r} is not a checkpoint this version of polyregions reads "
                                    f"({found}, expected format {FORMAT_VERSION}): start the count again")
        if state.get("key") != fingerprint(net, domain, eps, backend, prune):
            raise InvalidInputError(
                f"`resume` file {path!r} was written for another network, domain, eps, backend or pruning")
        count, queue, stats = state.get("count"), state.get("queue"), state.get("stats")
        if not isinstance(count, int) or not isinstance(queue, list) or not hasattr(stats, "lp_solves"):
            raise InvalidInputError(f"`resume` file {path!r} is damaged (its count, frontier or statistics)")
        return count, list(queue), stats
