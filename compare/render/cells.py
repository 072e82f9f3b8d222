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
"""Items (pieces, points) a long table shows before the fold."""

FOLDED_ABOVE = 15
"""A table of more items is folded after its first `SHOWN_ROWS` (a control-flow case has one per piece)."""


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


def folded_table(rows: Sequence[Sequence], headers: Sequence[str], what: str, numbers: bool = False,
                 per: int = 1) -> list[str]:
    """The table's lines, folded in a `<details>` block after its first `SHOWN_ROWS` items when it has more
    than `FOLDED_ABOVE`; an item (`what`: a piece, a point) is `per` consecutive rows."""
    items = len(rows) // per
    if items <= FOLDED_ABOVE:
        return [table(rows, headers, numbers), ""]
    rest = items - SHOWN_ROWS
    return [table(rows[:SHOWN_ROWS * per], headers, numbers), "",
            f"<details><summary>{counted(rest, 'more ' + what)} (of {items})</summary>", "",
            table(rows[SHOWN_ROWS * per:], headers, numbers), "", "</details>", ""]
