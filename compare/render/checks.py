"""The sections of a case page about the points checked: kinks, the four oracles, the points table.

Each section is a function of the result returning its lines; the points table is `POINT_COLUMNS`,
a tuple of (header, cell) pairs, so a new column is one more entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from ..records import CaseResult, PointResult
from .cells import array_text, folded_table, point_text, table
from .figures import CORRECTLY_ROUNDED, number, sign_flipped, ulp_figure
from .index import rounding_only
from .words import counted

__all__ = ["kinks_section", "oracles_section", "points_section", "shown_section", "points_table", "PointColumn",
           "POINT_COLUMNS"]


_ORACLES = (("symbolic", "exact (SymPy)"), ("reverse", "reverse"), ("forward", "forward"),
            ("finite_difference", "finite differences"))


def _oracle_cell(point: PointResult, name: str, key: str) -> str:
    found = point.oracles.get(name)
    if found is None or found.values is None:
        return "failed"
    return array_text(found.values[key]) if key in found.values else "—"


def oracles_section(result: CaseResult) -> list[str]:
    points = [(i, p) for i, p in enumerate(result.points) if p.oracles]
    if not points:
        return []
    directional = any(p.oracles["finite_difference"].mode == "directional" for _, p in points)
    rows, notes = [], []
    for i, p in points:
        keys = ["u"] if directional else list(result.shapes)
        fd = p.oracles["finite_difference"]
        for key in keys:
            errs = []
            for name in ("reverse", "forward", "finite_difference"):
                o = p.oracles[name]
                e = o.errors_by_input.get(key, o.errors)
                errs.append(_err(e) if e is not None else "—")
            rows.append([i + 1, "∇·u" if key == "u" else key] + [_oracle_cell(p, n, key) for n, _ in _ORACLES]
                        + [number(fd.step) if fd.step is not None else "—",
                           number(fd.estimate) if fd.estimate is not None else "—"] + errs)
        for name, label in _ORACLES[1:]:
            note = p.oracles[name].note
            if note:
                notes.append((note, label, i + 1))
    out = ["## Oracles", "",
           "Four answers for the gradient of `out.sum()` at each point, all in float64: SymPy's exact value "
           "(which alone decides the status), reverse mode (`torch.autograd.grad`), forward mode "
           "(`torch.func.jvp`, every column in one `vmap`, or one jvp along u where vmap cannot run the case) and central finite differences (step "
           "eps^(1/5)·max(1, |x|) per entry, halved twice and extrapolated by Richardson, and cut by 8, up to "
           "8 times, while a step would leave the point's piece; \"FD est.\" is their own error estimate). Errors are against the exact value; ✗ marks values that do not "
           "agree with it (within float64's tolerance, or for finite differences their own)." +
           (" At a kink, reverse and forward mode are measured against the value PyTorch's rules allow "
            "nearest to theirs (see Kinks)." if any(p.allowed for _, p in points) else ""), ""]
    skipped = len(result.points) - len(points)
    if skipped:
        out += [f"Forward mode and finite differences decide no status, so they run at the example and the "
                f"samples and not at the point inside each piece ({counted(skipped, 'point')} without them).", ""]
    if directional:
        out += [f"The input has more than {_oracle_limit()} entries: forward mode and finite differences give "
                "the derivative along one seeded random unit direction u (`∇·u`), as gradcheck's fast "
                "mode does, rather than every entry.", ""]
    out += [table(rows, ["#", "input", "exact (SymPy)", "reverse", "forward", "finite differences", "FD step",
                         "FD est.", "err reverse", "err forward", "err FD"]), ""]
    grouped: dict = {}
    for note, label, i in notes:
        grouped.setdefault((label, note), []).append(str(i))
    for (label, note), where in grouped.items():
        out += [f"- {label}, points {', '.join(where)}: {note}"]
    if grouped:
        out += [""]
    return out


def _err(e) -> str:
    """An error, marked ✗ where the values do not agree (which a NaN or inf may hide from the number)."""
    return number(e.max_abs) + ("" if e.agree else " ✗")


def _oracle_limit() -> int:
    from ..plan import FULL_LIMIT

    return FULL_LIMIT


KINKS_INTRO = (
    "At these points the derivative does not exist. SymPy's value (Heaviside(0) = 1/2, sign(0) = 0, "
    "0/0 …), finite differences (the average of the one-sided slopes) and forward mode may each "
    "give another answer. Autograd follows PyTorch's rules (its autograd notes, \"Gradients for "
    "non-differentiable functions\"), op by op: 1. differentiable: the derivative; 2. locally convex: "
    "the subgradient of minimum norm; 3. locally concave: the supergradient of minimum norm; "
    "4. defined: the derivative by continuity, any one where several; 5. undefined: any value; and "
    "some ops document their own behaviour (clamp passes the gradient at its bounds). Each op autograd "
    "runs is judged by its own mathematics: the pieces that meet at the point and their one-sided "
    "derivatives give what its rule allows, and the chain rule through every combination gives the "
    "gradients of out.sum() the rules allow. Such a point is `convention` when autograd gives one "
    "of them, and `disagree` otherwise. The rules change between releases, so each verdict names "
    "its torch version.")
"""What a page's Kinks section says first."""


def kinks_section(result: CaseResult) -> list[str]:
    on = [(i, p) for i, p in enumerate(result.points) if p.rule or p.note.startswith(("at a kink", "where the exact"))]
    if not on:
        return []
    out = ["## Kinks", "", KINKS_INTRO, ""]
    for i, p in on:
        out += [f"- point {i + 1} ({point_text(p)}): **{p.status}** — {p.note}"]
        for rule in (p.rule.split("; ") if p.rule else ()):
            out += [f"  - rule (torch {p.torch}): {rule}"]
        for name, label in _ORACLES:
            o = p.oracles.get(name) if p.oracles else None
            if o is not None and o.values is not None:
                values = "; ".join(f"{k} = {array_text(v)}" for k, v in o.values.items())
                out += [f"  - {label}: {values}"]
        out += [f"  - autograd, {result.dtype}: " + "; ".join(f"{k} = {array_text(v)}" for k, v in p.autograd.items())]
    return out + [""]


@dataclass(frozen=True)
class PointColumn:
    """One column of the points table."""

    header: Callable[[CaseResult], str]
    """Its header, for the case (`autograd float32`)."""
    cell: Callable[[CaseResult, int, PointResult, str], Any]
    """The cell for the point's row of one input: (result, row number, point, input name)."""


def _ulp(result: CaseResult, i: int, p: PointResult, n: str) -> str:
    """The ULP cell: "—" at a kink (its own verdict), words for a sign flip or a gap past meaning."""
    if p.rule is not None:
        return "—"
    flipped = sign_flipped(p.autograd[n], p.symbolic[n], getattr(torch, result.dtype, torch.float32))
    return ulp_figure(p.errors_by_input.get(n, p.errors), flipped) or "—"


def _status(p: PointResult) -> str:
    return p.status + (f": {p.note}" if p.note else "") + (" (exact by continuity)" if p.by_continuity else "")


POINT_COLUMNS: tuple[PointColumn, ...] = (
    PointColumn(lambda r: "#", lambda r, i, p, n: i),
    PointColumn(lambda r: "origin", lambda r, i, p, n: p.origin),
    PointColumn(lambda r: "piece", lambda r, i, p, n: p.piece + 1),
    PointColumn(lambda r: "point", lambda r, i, p, n: f"{n} = {array_text(p.inputs[n])}"),
    PointColumn(lambda r: "exact", lambda r, i, p, n: array_text(p.symbolic[n])),
    PointColumn(lambda r: f"autograd {r.dtype}", lambda r, i, p, n: array_text(p.autograd[n])),
    PointColumn(lambda r: "abs err", lambda r, i, p, n: number(p.errors_by_input.get(n, p.errors).max_abs)),
    PointColumn(lambda r: "rel err", lambda r, i, p, n: number(p.errors_by_input.get(n, p.errors).max_rel)),
    PointColumn(lambda r: "ULP", _ulp),
    PointColumn(lambda r: "abs err float64",
                lambda r, i, p, n: number(p.errors64_by_input.get(n, p.errors64).max_abs)),
    PointColumn(lambda r: "notes' `==`", lambda r, i, p, n: "—" if p.claim_exact is None else str(p.claim_exact)),
    PointColumn(lambda r: "status", lambda r, i, p, n: _status(p)),
)
"""The points table's columns, in order: a row per point and input."""


def _point_rows(result: CaseResult, points: Sequence[PointResult]) -> list[list]:
    return [[c.cell(result, i + 1, p, n) for c in POINT_COLUMNS] for i, p in enumerate(points) for n in result.shapes]


def points_table(result: CaseResult, points: Sequence[PointResult]) -> str:
    """The points table whole, one row per point and input (for a message, or Jupyter's first rows)."""
    return table(_point_rows(result, points), [c.header(result) for c in POINT_COLUMNS])


POINTS_INTRO = ("Autograd in {dtype} and in float64 against the exact derivative (rounded to float64). ULP: units "
                "in the last place of the case's dtype, counted between autograd's value and the exact one rounded "
                "to that dtype; 0 beside a nonzero abs err means autograd's value is the exact one "
                f"{CORRECTLY_ROUNDED}, the error being that rounding. ULPs past a few million are said in words: "
                "\"far beyond rounding\", or \"near 0\" for values that agree there (floats are dense near 0, "
                "and the abs err is the figure to read), as is a sign flip.")


def points_section(result: CaseResult) -> list[str]:
    out = ["## Points", "", POINTS_INTRO.format(dtype=result.dtype), ""]
    out += folded_table(_point_rows(result, result.points), [c.header(result) for c in POINT_COLUMNS], "point",
                        per=len(result.shapes))
    return out + _rounding_lines(result) + _continuity_lines(result.points)


def _rounding_lines(result: CaseResult) -> list[str]:
    """Why the notes' `==` fails where autograd agrees, when the claim is proven: rounding alone."""
    if not rounding_only(result):
        return []
    failed = sum(p.claim_exact is False for p in result.points)
    return [f"The notes' `==` fails at {counted(failed, 'point')} where autograd agrees: the claim `expect` is "
            f"proven to be the exact gradient, and `x.grad == claim` compares two {result.dtype} computations of "
            f"that one value, autograd's and the claim's own, which round differently. Compared with the exact "
            f"value, autograd is within {result.dtype}'s tolerance (the abs err and ULP columns).", ""]


def _continuity_lines(points: Sequence[PointResult]) -> list[str]:
    """Which points' exact values are limits, and why (`compare/exact/continuity.py`)."""
    marked = [(i + 1, p) for i, p in enumerate(points) if p.by_continuity]
    loose = [(i + 1, p) for i, p in enumerate(points) if p.within]
    out = []
    if marked:
        out += (["Exact values **by continuity** (the function is differentiable there, the derivative's "
                 "formula is not defined, and its limit is the value):", ""]
                + [f"- point {i} ({p.origin}): {p.by_continuity}" for i, p in marked] + [""])
    if loose:
        out += (["Exact values **known only within a radius** (not proven correctly rounded):", ""]
                + [f"- point {i} ({p.origin}): {p.within}" for i, p in loose] + [""])
    return out


def shown_section(result: CaseResult) -> list[str]:
    if not result.shown:
        return []
    return ["## Outside the verdict", "",
            "Points the case asks to show, not to judge: where the lesson is a limit of floating point "
            "(an overflow, say), not a fault of autograd. The exact derivative is still exact there.", "",
            points_table(result, result.shown), ""]
