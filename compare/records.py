"""The records the engine hands to the report: what was checked and what was found."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from .verdict import Errors

__all__ = ["PieceResult", "PointResult", "UncoveredRegion", "CaseResult", "AGREE", "DISAGREE", "ERROR"]

AGREE, DISAGREE, ERROR = "agree", "disagree", "error"


@dataclass(frozen=True)
class PieceResult:
    """One path of the case: where it holds, what it computes, its exact derivative."""

    index: int
    condition: sympy.Basic
    """Where this path is taken (a readable equivalent of the path condition)."""
    sites: tuple[tuple[int, bool], ...]
    """(line, side taken) for each branch on the path."""
    output: np.ndarray
    """The output on this path: an object array of SymPy expressions."""
    gradient: dict[str, np.ndarray]
    """d out.sum() / d input, per input: object arrays of SymPy expressions."""
    jacobian: dict[str, np.ndarray] | None
    """d out[i] / d input[j] for a non-scalar output small enough to show; None otherwise."""
    claim: str | None
    """The `expect` claim on this piece: "proven", "disproven", "unproven"; None without one."""
    claim_note: str = ""
    """What the proof found (a counterexample for "disproven")."""


@dataclass(frozen=True)
class PointResult:
    """Every oracle's answer at one point, and how far each is from the exact one."""

    origin: str
    """"example" (the case's own point), "sample k", or "piece k" (a point inside piece k)."""
    piece: int
    """The index of the piece the point lies in."""
    inputs: dict[str, np.ndarray]
    """The point, in the case's dtype (as float64 arrays, exactly)."""
    symbolic: dict[str, np.ndarray]
    """SymPy's exact gradient of out.sum() there, rounded to float64."""
    autograd: dict[str, np.ndarray]
    """Autograd's gradient computed in the case's dtype."""
    autograd64: dict[str, np.ndarray]
    """Autograd's gradient computed in float64."""
    errors: Errors
    """Case-dtype autograd against the exact value."""
    errors64: Errors
    """Float64 autograd against the exact value."""
    jacobian_errors: Errors | None
    """Float64 autograd Jacobian against SymPy's, for a non-scalar output."""
    claim_exact: bool | None
    """The notes' own `grad == expect(...)` in the case's dtype; None without a claim."""
    status: str
    """"agree", "disagree" or "error" (autograd took another path than the piece)."""
    note: str = ""
    """Why the status is not "agree", in a sentence."""


@dataclass(frozen=True)
class UncoveredRegion:
    """Inputs whose path was not explored, and how likely a sample is to land there."""

    condition: sympy.Basic
    reason: str
    probability: float
    how: str


@dataclass(frozen=True)
class CaseResult:
    """Everything found for one case."""

    name: str
    file: str
    line: int
    doc: str
    source: str
    """The case function's code."""
    status: str
    """"agree", "disagree" or "error"."""
    error: str | None = None
    """`file:line: cause` for an error; None otherwise."""
    dtype: str = ""
    shapes: dict[str, tuple[int, ...]] | None = None
    """Input name -> shape."""
    symbols: dict[str, np.ndarray] | None = None
    """Input name -> its SymPy symbols."""
    pieces: tuple[PieceResult, ...] = ()
    points: tuple[PointResult, ...] = ()
    uncovered: tuple[UncoveredRegion, ...] = ()
    backward_error: str | None = None
    """What plain `out.backward()` raises for a non-scalar output."""
    output_shape: tuple[int, ...] = ()
    seed: int = 0
    """The seed that drew this case's samples."""
    traceback: str | None = None
    """The full traceback of an error, for `--verbose`; never rendered in reports."""
