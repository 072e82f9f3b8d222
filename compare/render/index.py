"""The index page: one row per case, answering at a glance which function, its derivative, how well
autograd did and the verdict.

Its table is `INDEX_COLUMNS`, a tuple of (header, cell) pairs: a new column is one more entry.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..agreement import largest
from ..records import CONVENTION, DISAGREE, ERROR, CaseResult, Meta
from .cells import cell, table
from .figures import largest_errors, number
from .modes import status_text
from .names import page_names
from .notation import readable_gradient
from .words import counted, tally

__all__ = ["Column", "INDEX_COLUMNS", "GLANCE", "render_index", "claim_summary"]

GLANCE = 60
"""Longest derivative the index shows in full; a longer one is on the case's page."""


@dataclass(frozen=True)
class Column:
    """One column of the index."""

    header: str
    cell: Callable[[CaseResult, str], Any]
    """The cell for a case and the name of its page."""
    broken: Any = "—"
    """The cell for a case that errored before any point was checked."""


def _unchecked(result: CaseResult) -> bool:
    return result.status == ERROR and not result.points


def _function_text(result: CaseResult) -> str:
    """The returned expression for a one-line function, else the docstring."""
    try:
        fn = ast.parse(result.source).body[0]
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
            return f"`{ast.unparse(body[0].value)}`"
    except (SyntaxError, IndexError, AttributeError):
        pass
    return result.doc or result.name


def _glance(result: CaseResult, name: str) -> str:
    """The derivative for one input as the index shows it: short enough to read at a glance."""
    if len(result.pieces) > 1:
        return f"d/d{name}: piecewise, {counted(len(result.pieces), 'piece')}"
    text = readable_gradient(result, name)
    if len(text) <= GLANCE:
        return f"d/d{name}: `{cell(text)}`"
    shape = result.shapes[name]
    return f"d/d{name}: on its page" + (f" ({'×'.join(map(str, shape))})" if shape else "")


def _pieces(result: CaseResult) -> str:
    pieces = str(len(result.pieces))
    if result.uncovered:
        pieces += f" (uncovered: P ≤ {sum(u.probability for u in result.uncovered):.2g})"
    return pieces


def _float64_error(result: CaseResult) -> str:
    found = largest_errors(result.points, result.dtype)
    return number(found.abs64) if found.abs64 is not None else "—"


def _other_oracles(result: CaseResult) -> str:
    """Forward mode's and finite differences' largest relative errors off kinks: `0 · 3.2e-12`."""
    parts = []
    for name in ("forward", "finite_difference"):
        found = [p.oracles[name] for p in result.points if p.oracles and p.rule is None and p.oracles.get(name)]
        errs = [o.errors.max_rel for o in found if o.errors is not None]
        text = number(largest(errs)) if errs else "—"
        if any(o.note and o.errors is not None and not o.errors.agree for o in found):
            text += "*"
        if any(o.values is None for o in found):
            text += " (failed)"
        parts.append(text)
    return " · ".join(parts)


def claim_summary(result: CaseResult) -> str:
    """`5/5 hold`; `0/5 hold (rounding)` where the claim is proven and autograd agrees at every point
    where `==` fails: the claim is the exact gradient, and only its own float evaluation rounds
    differently from autograd's."""
    claims = [p.claim_exact for p in result.points if p.claim_exact is not None]
    if not claims:
        return "—"
    text = f"{sum(claims)}/{len(claims)} hold"
    return text + (" (rounding)" if rounding_only(result) else "")


def rounding_only(result: CaseResult) -> bool:
    """Whether the notes' `==` fails somewhere, only where the proven claim meets an agreeing autograd."""
    failed = [p for p in result.points if p.claim_exact is False]
    proven = bool(result.pieces) and all(p.claim == "proven" for p in result.pieces)
    return bool(failed) and proven and all(p.status in ("agree", CONVENTION) for p in failed)


def _status(result: CaseResult) -> str:
    status = status_text(result) if result.status != ERROR else f"**error**: {cell(result.error)}"
    if result.known_wrong:
        status += " (known wrong)" if result.status == DISAGREE else " (declared known_wrong: not caught)"
    if result.status == CONVENTION:
        ops = dict.fromkeys(re.match(r"[\w. ]*\w", o).group() for p in result.points if p.rule
                            for o in p.rule.split("; "))
        status = f"convention ({', '.join(ops)})"
    return status


INDEX_COLUMNS: tuple[Column, ...] = (
    Column("case", lambda r, page: f"[{r.name}]({page}.md)", None),
    Column("function", lambda r, page: cell(r.doc or "—" if _unchecked(r) else _function_text(r)), None),
    Column("exact derivative of out.sum()", lambda r, page: "; ".join(_glance(r, n) for n in r.shapes)),
    Column("points", lambda r, page: len(r.points), 0),
    Column("pieces", lambda r, page: _pieces(r), 0),
    Column("max abs error, float64", lambda r, page: _float64_error(r)),
    Column("max abs error, case dtype", lambda r, page: largest_errors(r.points, r.dtype).text()),
    Column("forward · finite differences, rel. error", lambda r, page: _other_oracles(r)),
    Column("notes' `==`", lambda r, page: claim_summary(r)),
    Column("status", lambda r, page: _status(r), None),
)
"""The index's columns, in order; `broken` None: the cell is computed for an errored case too."""

INTRO = ("Errors are against SymPy's exact derivative, which alone decides the status. "
         "Points on a kink are left out of the error columns: they have their own verdict. ULP counts the "
         "values of the case's dtype between autograd's and the exact value rounded to that dtype: \"0 ULP, "
         "correctly rounded\" beside a nonzero error means autograd returned the exact value correctly rounded, "
         "the error being that rounding alone; \"near 0\" marks values that agree billions of ULPs apart, near 0, "
         "where floats are dense. "
         "\"forward · finite differences\" gives the largest relative error of forward mode and of central "
         "finite differences (float64); `*` marks one that differs for a reason given on the case's page "
         "(finite differences see through `detach`). The notes' `==` column is the notes' own "
         "check (`x.grad == claim`, in the case's dtype) at each point; \"(rounding)\" marks a claim proven exact "
         "whose `==` fails only where autograd agrees: the claim's own float evaluation rounds otherwise than "
         "autograd's. `convention`: at a kink, where the "
         "derivative does not exist, autograd gives a value PyTorch's rules allow for the ops there "
         "(named on the case's page, with the values they allow); it is not a failure.")


def render_index(results: Sequence[CaseResult], meta: Meta) -> str:
    """The index page: a row per case, linked to its page."""
    pages = page_names(results)
    rows = [[c.cell(r, page) if c.broken is None or not _unchecked(r) else c.broken for c in INDEX_COLUMNS]
            for r, page in zip(results, pages)]
    return "\n".join([
        "# compare: autograd against exact derivatives", "",
        meta.header(), "",
        tally(r.status for r in results), "",
        INTRO, "",
        table(rows, [c.header for c in INDEX_COLUMNS], numbers=True), ""])
