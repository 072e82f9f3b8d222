"""The small pieces of a page: numbers and arrays in cells, and tables folded after their first rows.

Deterministic: floats in a fixed format, rows in the order given.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from tabulate import tabulate

from ..records import PointResult
from .figures import number
from .words import counted

__all__ = ["array_text", "cell", "folded_table", "point_text", "table", "SHOWN_ROWS", "FOLDED_ABOVE"]

SHOWN_ROWS = 10
"""Rows a long table shows before the fold."""

FOLDED_ABOVE = 15
"""A table of more rows is folded after its first `SHOWN_ROWS` (a control-flow case has a row per piece)."""


def array_text(a: np.ndarray, limit: int = 8) -> str:
    """`[0, 4, 8, 12]`, a matrix as `(2, 3) [...]`, the first `limit` entries and `…` past them."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number(float(a))
    flat = [number(float(v)) for v in a.reshape(-1)[:limit]]
    more = ", …" if a.size > limit else ""
    return "[" + ", ".join(flat) + more + "]" if a.ndim == 1 else f"{a.shape} [" + ", ".join(flat) + more + "]"


def cell(text) -> str:
    """Text that stays inside one table cell (no `|`, no line breaks)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def point_text(point: PointResult) -> str:
    """`x = [0.5, 1], y = 2`: where a point is."""
    return ", ".join(f"{n} = {array_text(v)}" for n, v in point.inputs.items())


def table(rows: Sequence[Sequence], headers: Sequence[str], numbers: bool = False) -> str:
    """A GitHub markdown table; `numbers` lets tabulate align numeric columns as numbers."""
    return tabulate(rows, headers=list(headers), tablefmt="github", disable_numparse=not numbers)


def folded_table(rows: Sequence[Sequence], headers: Sequence[str], what: str, numbers: bool = False) -> list[str]:
    """The table's lines, its rows past the first `SHOWN_ROWS` folded in a `<details>` block when
    there are more than `FOLDED_ABOVE` of them; `what` names a row (`piece`, `point`)."""
    if len(rows) <= FOLDED_ABOVE:
        return [table(rows, headers, numbers), ""]
    rest = rows[SHOWN_ROWS:]
    return [table(rows[:SHOWN_ROWS], headers, numbers), "",
            f"<details><summary>{counted(len(rest), 'more ' + what)} (of {len(rows)})</summary>", "",
            table(rest, headers, numbers), "", "</details>", ""]
