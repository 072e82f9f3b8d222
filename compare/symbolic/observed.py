"""What a symbolic run observes besides its output: arguments an op reads as structured matrices,
and precision an op loses. The symbolic side only notes them (inside `observing()`); the judge
(`compare.basis`) decides what they mean for a comparison.

Both are noted at depth 0 only, on the ops autograd itself runs (`tensor.dispatch`): what a
decomposition does inside an op is not what torch's kernel and backward for it do.

- **Structure.** Where torch documents that an op treats an argument as a symmetric or
  triangular matrix, its backward gives the gradient on that structure, while the exact side
  differentiates the entries the op reads (one triangle). `STRUCTURED` names such arguments,
  keyed by the ATen op autograd runs; `structured(...)` adds one (the eigh family, say).
- **Precision.** An op whose floating output is coarser than a floating argument (`x.float()` of
  a float64 `x`, `.half()`, `.to(...)`, autocast's casts, `sum(dtype=torch.float32)`, a write into
  a float32 tensor) computes with that argument rounded: every derivative through it is only as
  precise as the coarser dtype.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy
import torch

from ..exact.graph.tape import depends_on, expand
from ..exact.sym import as_expr
from .sites import user_site

__all__ = ["Structured", "Lowered", "Observed", "Reads", "STRUCTURED", "structured", "observing", "note_op",
           "note_cast", "finer"]

aten = torch.ops.aten
_OBSERVED: contextvars.ContextVar = contextvars.ContextVar("compare_observed", default=None)


@dataclass(frozen=True)
class Structured:
    """An argument an op reads as a structured matrix, as one symbolic run met it."""

    op: str
    """The ATen op autograd runs (`aten.linalg_cholesky_ex`)."""
    argument: str
    """The argument's name in the op's schema (`A`, `input2`)."""
    kind: str
    """"symmetric" or "triangular"."""
    triangle: str
    """The triangle the op reads, "lower" or "upper" (the other one is the first's mirror for a symmetric
    matrix, zeros for a triangular one)."""
    matrices: tuple
    """The argument's matrices (each n x n, a tuple of rows of SymPy expressions), batch flattened."""


@dataclass(frozen=True)
class Lowered:
    """A value rounded to a coarser floating dtype on its way through an op."""

    source: torch.dtype
    """The argument's dtype."""
    target: torch.dtype
    """The output's, coarser."""
    symbols: frozenset
    """The symbols the rounded values depend on."""
    site: tuple[str, int]
    """(file, line) of the user's code where it happened."""


@dataclass
class Observed:
    """What was noted inside one `observing()`, in the order met (each fact once)."""

    structured: list[Structured] = field(default_factory=list)
    lowered: list[Lowered] = field(default_factory=list)

    def add(self, fact) -> None:
        found = self.structured if isinstance(fact, Structured) else self.lowered
        if fact not in found:
            found.append(fact)


class observing:
    """Context manager: the facts the symbolic runs inside it note (an `Observed`)."""

    def __enter__(self) -> Observed:
        self._seen = Observed()
        self._token = _OBSERVED.set(self._seen)
        return self._seen

    def __exit__(self, *exc) -> None:
        _OBSERVED.reset(self._token)


@dataclass(frozen=True)
class Reads:
    """One argument of an op that torch documents as structured, and how it is read."""

    argument: str
    """Its name in the op's schema."""
    kind: str
    """"symmetric" or "triangular"."""
    triangle: Callable[[dict], str]
    """The triangle read, "lower" or "upper", from the op's arguments by name (`upper=True`, `UPLO="U"`)."""
    source: str
    """Where torch says so."""


STRUCTURED: dict = {}
"""ATen op (an overload packet) -> the `Reads` of its structured arguments."""


def structured(op, argument: str, kind: str, triangle: Callable[[dict], str], source: str) -> None:
    """Declare that `op` reads `argument` as a structured matrix, `kind` "symmetric" or "triangular", of
    which it reads the `triangle` (a function of the op's arguments by name), as `source` documents. For
    ops whose backward gives the gradient on that structure: the judge then compares gradients along
    the structure's directions. (The eigh family: `structured(aten._linalg_eigh, "A", "symmetric",
    lambda a: "upper" if a.get("UPLO") == "U" else "lower", ...)`.)"""
    STRUCTURED[op] = STRUCTURED.get(op, ()) + (Reads(argument, kind, triangle, source),)


def _upper(bound: dict) -> str:
    """The triangle an op with an `upper` flag reads."""
    return "upper" if bound.get("upper") else "lower"


structured(aten.linalg_cholesky_ex, "self", "symmetric", _upper,
           "torch.linalg.cholesky: A is symmetric positive-definite; derivatives.yaml: cholesky_backward, "
           "which returns the symmetric gradient (its jvp assumes a symmetric dA)")
structured(aten.cholesky, "self", "symmetric", _upper, "torch.cholesky (deprecated): as torch.linalg.cholesky")
structured(aten.cholesky_solve, "input2", "triangular", _upper,
           "torch.cholesky_solve: input2 is a lower (upper=True: upper) triangular Cholesky factor")
structured(aten.cholesky_inverse, "self", "triangular", _upper,
           "torch.cholesky_inverse: the input is a lower (upper=True: upper) triangular Cholesky factor")


def _bound(func, args: tuple, kwargs: dict) -> dict:
    """The op's arguments by their schema names."""
    names = [a.name for a in func._schema.arguments]
    return {**dict(zip(names, args)), **kwargs}


def _matrices(values: np.ndarray) -> tuple:
    n = values.shape[-1]
    flat = values.reshape((-1, values.shape[-2], n))
    return tuple(tuple(tuple(expand(as_expr(e)) for e in row) for row in m) for m in flat)  # over the inputs


def note_op(func, args: tuple, kwargs: dict, out) -> None:
    """Note what an op at depth 0 shows (see the module docstring); nothing outside `observing()`."""
    seen = _OBSERVED.get()
    if seen is None:
        return
    reads = STRUCTURED.get(func.overloadpacket)
    if reads:
        bound = _bound(func, args, kwargs)
        for r in reads:
            values = getattr(bound.get(r.argument), "exprs", None)
            if values is not None and values.ndim >= 2 and values.shape[-1] == values.shape[-2]:
                seen.add(Structured(str(func.overloadpacket), r.argument, r.kind, r.triangle(bound),
                                    _matrices(values)))
    target = _floating_dtype(out)
    if target is not None:
        for a in args:
            note_cast(getattr(a, "exprs", None), getattr(a, "dtype", None), target)


def _floating_dtype(out) -> torch.dtype | None:
    """The dtype of an op's first output where it is a floating or complex tensor."""
    first = out[0] if isinstance(out, (tuple, list)) and out else out
    dtype = getattr(first, "dtype", None)
    return dtype if isinstance(dtype, torch.dtype) and (dtype.is_floating_point or dtype.is_complex) else None


_EPS: dict = {}


def finer(source: torch.dtype, target: torch.dtype) -> bool:
    """Is `source` a floating (or complex) dtype more precise than `target`?"""
    if source == target:
        return False
    for d in (source, target):
        if d not in _EPS:
            _EPS[d] = torch.finfo(d).eps if d.is_floating_point or d.is_complex else None
    return _EPS[source] is not None and _EPS[target] is not None and _EPS[source] < _EPS[target]


def note_cast(values: np.ndarray | None, source: torch.dtype | None, target: torch.dtype) -> None:
    """Note entries of `source` dtype rounded to a coarser `target` (nothing otherwise)."""
    seen = _OBSERVED.get()
    if seen is None or values is None or source is None or not finer(source, target):
        return
    symbols = depends_on(frozenset().union(*(as_expr(v).free_symbols for v in values.flat
                                             if isinstance(v, sympy.Basic))))  # the inputs, in graph mode too
    if symbols:
        seen.add(Lowered(source, target, symbols, user_site()))
