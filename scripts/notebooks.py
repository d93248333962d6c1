"""Execute the studies in ``notebooks/`` with nbclient, and strip their volatile metadata.

Every notebook reads its size from the environment in its first code cell:
``POLYREGIONS_FULL=1`` runs the full study (minutes to half an hour per notebook),
anything else a small version (seconds) with the same code paths and the same assertions;
``POLYREGIONS_FIGURES`` is the folder its figures are saved to (default ``figures``,
relative to ``notebooks/``) and ``POLYREGIONS_RESULTS`` the folder of its raw results and
verdicts (default ``results``).

Regenerate the committed notebooks (executed at full size, figures in notebooks/figures/, raw
results and verdicts in notebooks/results/)::

    python scripts/notebooks.py --full --write                 # all of them
    python scripts/notebooks.py --full --write zhu_local_bound # one

Without ``--write`` the notebooks are executed and discarded (what the tests do, through
:func:`execute`). With ``--write`` each executed notebook replaces its file after
:func:`strip_volatile` removed what changes from run to run without meaning anything
(execution timestamps, kernel and session ids, widget state), so that a re-run at the same
size changes only the numbers that really changed.

The kernel is always the interpreter running this script (:func:`kernel_manager`), not
whatever ``python3`` kernel happens to be installed: the studies must import the same
polyregions as the caller.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL_NAME = "python3"

#: Per-cell timeout of nbclient, in seconds, at each size (a cell that runs longer fails).
CELL_TIMEOUT = {"small": 300, "full": 3600}

#: Notebook-level metadata keys that change from run to run.
VOLATILE_NOTEBOOK_KEYS = ("widgets", "papermill", "execution")
#: Cell-level metadata keys that change from run to run (nbclient's timestamps among them).
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime", "papermill")


def notebook_paths() -> list:
    """Every study, ``notebooks/*.ipynb``, sorted by name."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def kernel_manager(spec_dir) -> KernelManager:
    """A kernel manager whose ``python3`` kernel runs ``sys.executable -m ipykernel_launcher``.

    The kernel spec is written into ``spec_dir`` (a temporary folder) by ipykernel itself,
    so nothing is installed in the user's Jupyter paths. Output written to the process's file
    descriptors by compiled code (not through Python's ``sys.stdout``) is not captured into the
    notebook.
    """
    from ipykernel.kernelspec import write_kernel_spec

    kernels = pathlib.Path(spec_dir) / "kernels"
    # Solvers' own C-level output (HiGHS's banner) stays in the kernel's terminal: it is not
    # part of a study.
    write_kernel_spec(path=str(kernels / KERNEL_NAME), extra_arguments=["--IPKernelApp.capture_fd_output=False"])
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def strip_volatile(nb) -> None:
    """Remove run-to-run metadata from ``nb`` in place (timestamps, ids, widget state)."""
    for key in VOLATILE_NOTEBOOK_KEYS:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("transient", None)
            output.pop("transient", None)


def execute(path, *, full: bool, figures, results=None, timeout: float | None = None):
    """Run the notebook at `path` top to bottom in a fresh kernel and return it (stripped).

    Parameters
    ----------
    path : path-like
        The ``.ipynb`` file; it runs with ``notebooks/`` as its working directory.
    full : bool
        Sets ``POLYREGIONS_FULL`` to 1 (full size) or 0 (small size) for the kernel.
    figures : path-like
        Sets ``POLYREGIONS_FIGURES``, where the notebook saves its figures (PNG and SVG).
    results : path-like, optional
        Sets ``POLYREGIONS_RESULTS``, where the notebook saves its raw results and verdicts
        (default: `figures`, so that a run that does not write keeps the committed ones).
    timeout : float, optional
        Per-cell timeout in seconds (default :data:`CELL_TIMEOUT` for the size).

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raises: an assertion of a theorem, or any error.
    """
    nb = nbformat.read(str(path), as_version=4)
    env = dict(os.environ, POLYREGIONS_FULL="1" if full else "0", POLYREGIONS_FIGURES=str(figures),
               POLYREGIONS_RESULTS=str(figures if results is None else results))
    if timeout is None:
        timeout = CELL_TIMEOUT["full" if full else "small"]
    with tempfile.TemporaryDirectory() as spec_dir:
        client = NotebookClient(nb, km=kernel_manager(spec_dir), timeout=timeout, record_timing=False,
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute(env=env)
    strip_volatile(nb)
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    parser.add_argument("--full", action="store_true", help="the full size (POLYREGIONS_FULL=1)")
    parser.add_argument("--write", action="store_true",
                        help="write the executed notebooks back, figures into notebooks/figures/, results into "
                             "notebooks/results/")
    args = parser.parse_args(argv)
    paths = notebook_paths()
    if args.names:
        wanted = set(args.names)
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            parser.error(f"no notebook named {', '.join(sorted(missing))} in {NOTEBOOKS}")
    failed = []
    for path in paths:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            figures = NOTEBOOKS / "figures" if args.write else pathlib.Path(scratch)
            results = NOTEBOOKS / "results" if args.write else pathlib.Path(scratch)
            figures.mkdir(exist_ok=True)
            results.mkdir(exist_ok=True)
            try:
                nb = execute(path, full=args.full, figures=figures, results=results)
            except CellExecutionError as exc:
                failed.append(path.name)
                print(f"{path.name}: FAILED (left unchanged)\n{exc}", file=sys.stderr)
                continue
        if args.write:
            nbformat.write(nb, str(path))
        print(f"{path.name}: {time.perf_counter() - t0:.0f} s ({'full' if args.full else 'small'} size)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
