"""The PyTorch bugs the conformance run and the issue's examples find, each with a torch-only repro.

Each repro is a script in compare/torch_bugs/ that uses torch alone: it
computes the right value by hand (or with mpmath) and asserts that torch
2.13 still gives another. tests/test_conformance_modes.py runs every one, so
a torch that fixes a bug fails that test, and the record is updated.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Bug", "BUGS", "REPROS", "recorded"]

REPROS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_bugs")
"""Where the repros are: one script per bug, named by its key."""


@dataclass(frozen=True)
class Bug:
    """One way torch's derivative is wrong, established independently of compare."""

    key: str
    """Its name, and its repro's file name (compare/torch_bugs/KEY.py)."""
    title: str
    """What is wrong, in a line."""
    modes: tuple[str, ...]
    """The modes it shows in (`compare.modes.KEYWORDS`)."""
    ops: tuple[str, ...]
    """op_db's names of the ops it shows in (with a variant, `max.reduction_with_dim`); the issue's
    examples outside op_db's samples name the op as torch does."""
    established: str
    """How the right value is known: the mathematics, by hand or with mpmath."""

    @property
    def repro(self) -> str:
        """The repro's source."""
        with open(os.path.join(REPROS, f"{self.key}.py"), encoding="utf-8") as f:
            return f.read()


BUGS: tuple[Bug, ...] = ()


def recorded(name: str, mode: str) -> Bug | None:
    """The recorded bug that explains op `name` disagreeing in `mode`, or None."""
    return next((b for b in BUGS if name in b.ops and mode in b.modes), None)
