"""Values given on the command line: vectors, ``.npy`` files and output paths, checked before any work.

Every check raises :class:`~polyregions.errors.InvalidInputError` naming the option, which
the command prints as one line (exit code 2).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import InvalidInputError, UnsupportedError

__all__ = ["SCHEDULER_TIMEOUT", "dask_client", "output_path", "parse_vector", "read_npy"]


def read_npy(path: str, name: str) -> np.ndarray:
    """The numeric array in the ``.npy`` file `path` as float64 (finite), or raise naming `name`."""
    if not os.path.isfile(path):
        reason = "it is a folder" if os.path.isdir(path) else "no such file"
        raise InvalidInputError(f"{name} file {path!r} cannot be read: {reason}")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InvalidInputError(f"{name} file {path!r} cannot be read as a .npy array: {exc}") from None
    if not isinstance(array, np.ndarray):  # np.load reads .npz archives too
        raise InvalidInputError(f"{name} file {path!r} cannot be read as a .npy array: it is an archive")
    if array.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} file {path!r} holds {array.dtype} values, not numbers")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} file {path!r} contains NaN or inf")
    return array


def parse_vector(text: str, n: int | None, name: str) -> np.ndarray:
    """A vector from the command line: comma-separated numbers, one number (repeated to length
    `n`) or a ``.npy`` file; raise InvalidInputError naming `name` otherwise."""
    text = text.strip()  # a leading space protects a list starting with a minus sign from argparse
    if text.endswith(".npy"):
        values = read_npy(text, name).ravel()
    else:
        try:
            values = np.array([float(t) for t in text.split(",")])
        except ValueError:
            raise InvalidInputError(f"{name} must be a number, numbers separated by commas or a .npy file, "
                                    f"got {text!r}") from None
    if n is not None and values.size == 1:
        values = np.full(n, values[0])
    if n is not None and values.size != n:
        raise InvalidInputError(f"{name} has {values.size} values but the network takes {n} inputs")
    return values


def output_path(path: str, option: str) -> str:
    """`path` if a file can be written there (not a folder, in a folder that exists), else raise naming `option`."""
    if os.path.isdir(path):
        raise InvalidInputError(f"{option} {path!r} is a folder: give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InvalidInputError(f"{option} {path!r}: the folder {folder!r} does not exist")
    return path


#: Seconds to wait for a Dask scheduler to answer before ``--scheduler`` fails, unless
#: ``--scheduler-timeout`` says otherwise (Dask's own default is 30).
SCHEDULER_TIMEOUT = 10.0


def dask_client(args):
    """The Dask client of ``--scheduler`` (None without it), or a one-line error naming the option."""
    if not args.scheduler:
        return None
    try:
        from dask.distributed import Client
    except ImportError:
        raise UnsupportedError("--scheduler needs dask.distributed: pip install 'polyregions[dask]'") from None
    timeout = args.scheduler_timeout
    if not (math.isfinite(timeout) and timeout > 0):
        raise InvalidInputError(f"--scheduler-timeout must be a positive number of seconds, got {timeout}")
    try:
        return Client(args.scheduler, timeout=timeout)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address, ...
        raise InvalidInputError(f"--scheduler {args.scheduler!r} cannot be reached within {timeout:g} s: "
                                f"{exc}") from None
