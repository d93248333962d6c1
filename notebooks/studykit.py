"""Helpers shared by the studies in this folder: the size, tables and figures.

The studies run at two sizes: small (seconds; what the tests run) and full (what is
committed). ``scripts/notebooks.py`` sets the size and the figure folder through the
environment: ``POLYREGIONS_FULL=1`` for the full size, ``POLYREGIONS_FIGURES`` for where
PNG files go (default ``figures/`` beside the notebooks).
"""

from __future__ import annotations

import os
import pathlib

from IPython.display import Markdown, display

FULL = os.environ.get("POLYREGIONS_FULL", "0") == "1"
FIGURES = pathlib.Path(os.environ.get("POLYREGIONS_FIGURES", "figures"))
#: Resolution of the saved PNG files and of the figures shown inline (kept modest: the
#: executed notebooks are committed).
DPI = 72


def say(text: str) -> None:
    """Show `text` (Markdown built from computed values) as a rendered paragraph."""
    display(Markdown(text))


def num(value, digits: int = 3) -> str:
    """An int with thousands separators; a float with `digits` significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def table(headers, rows) -> None:
    """Show a Markdown table; cells are formatted with :func:`num` unless already strings."""
    def cell(v):
        return v if isinstance(v, str) else num(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    say("\n".join(lines))


def save(fig, name: str) -> pathlib.Path:
    """Save `fig` as ``FIGURES/name.png`` (the figure is also shown inline by the notebook)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path
