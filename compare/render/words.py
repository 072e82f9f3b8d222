"""Counts said in words, one way everywhere: `1 piece`, `2 pieces`, and the tally of a run's verdicts.

Imports nothing, so the command line can use it before torch is loaded.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["counted", "tally"]

_PLURALS = {"entry": "entries", "branch": "branches", "ULP": "ULP"}
"""Plurals that are not the noun and an s."""


def counted(n: int, noun: str) -> str:
    """`1 point`, `0 points`, `5 points`; `1 entry`, `2 entries`."""
    return f"{n} {noun if n == 1 else _PLURALS.get(noun, noun + 's')}"


def tally(statuses: Iterable[str]) -> str:
    """`84 cases: 75 agree, 8 convention, 1 disagree, 0 errors.` for the statuses of a run's cases."""
    from ..statuses import STATUSES

    found = list(statuses)
    agree, convention, disagree, error = (sum(s == status for s in found) for status in STATUSES)
    return (f"{counted(len(found), 'case')}: {agree} agree, {convention} convention, {disagree} disagree, "
            f"{counted(error, 'error')}.")
