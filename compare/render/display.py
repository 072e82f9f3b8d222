"""How a `CaseResult` shows itself in Jupyter: the verdict, the exact derivative in LaTeX, the points.

    compare.check(f, {"x": x})      # as a cell's last line: displayed as markdown

Importing this module gives `CaseResult` its `_repr_markdown_` (`markdown`) and `_repr_pretty_`
(`short`), the text IPython shows beside it (instead of a repr with every array); `compare.api`
imports it, so `compare.check` results show themselves. The records never import their renderers.
The pieces are those of the case page (`report`) and of `assert_agrees`'s
message (`message.mismatch_message`), so the notebook and the reports say the
same in the same words.
"""
from __future__ import annotations

from ..records import AGREE, CONVENTION, DISAGREE, ERROR, CaseResult
from .message import mismatch_message
from .modes import status_text

__all__ = ["markdown", "short", "SHOWN_POINTS", "SHOWN_PIECES"]

SHOWN_POINTS = 12
"""Rows of the points table shown; the rest are counted (a control-flow case has one per piece)."""

SHOWN_PIECES = 4
"""Pieces whose derivative is written out; the rest are counted."""


def short(result: CaseResult) -> str:
    """One line: `compare: dot: agree (5 points, 1 piece)`."""
    if result.status == ERROR and not result.points:
        return f"compare: {result.name}: error: {result.error}"
    return (f"compare: {result.name}: {status_text(result)} ({_count(len(result.points), 'point')}, "
            f"{_count(len(result.pieces), 'piece')})")


def markdown(result: CaseResult) -> str:
    """The result as markdown: verdict first, then the derivative, the failure if any, and the points."""
    from .report import compiled_note, gradient_latex, parameters_note, points_table

    out = [f"**{status_text(result)}** · `{result.name}`" + _summary(result), ""]
    if result.compiled:
        out += [compiled_note(result.compiled), ""]
    if result.parameters:
        out += [parameters_note(result), ""]
    if result.status == ERROR and not result.points:
        return "\n".join(out + ["```", result.error or "", "```"])
    if result.status in (DISAGREE, ERROR):
        out += ["```", mismatch_message(result), "```", ""]
    note = next((p.note for p in result.points if p.status == CONVENTION), "")
    if result.status == CONVENTION and note:  # "at a kink of relu: autograd follows PyTorch's rule (...)"
        out += [note[0].upper() + note[1:] + ".", ""]
    out += _derivative(result, gradient_latex)
    if result.output_shape != () and result.backward_error:
        out += [f"The output has shape {tuple(result.output_shape)}: plain `out.backward()` raises "
                f"`RuntimeError: {result.backward_error}`; the gradient shown is that of `out.sum()`.", ""]
    shown = result.points[:SHOWN_POINTS]
    out += [points_table(result, shown), ""]
    if len(result.points) > len(shown):
        rest = result.points[len(shown):]
        agree = sum(p.status in (AGREE, CONVENTION) for p in rest)
        out += [f"… and {len(rest)} more points, {agree} of them agreeing.", ""]
    return "\n".join(out).rstrip() + "\n"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _summary(result: CaseResult) -> str:
    """`: 5 points, 1 piece, float32, the claim `expect` is proven` (what was checked, at a glance)."""
    parts = [_count(len(result.points), "point"), _count(len(result.pieces), "piece")]
    if result.dtype:
        parts.append(result.dtype)
    claims = {p.claim for p in result.pieces if p.claim}
    if claims:
        parts.append("the claim `expect` is " + " / ".join(sorted(claims)))
    return ": " + ", ".join(parts)


def _derivative(result: CaseResult, gradient_latex) -> list[str]:
    """Each piece's exact gradient of out.sum(), with the region it holds on when there are several."""
    if not result.pieces:
        return []
    if len(result.pieces) == 1:
        return [line for name in result.shapes for line in (gradient_latex(result, result.pieces[0], name), "")]
    out = [f"The exact derivative is piecewise, {len(result.pieces)} pieces:", ""]
    for piece in result.pieces[:SHOWN_PIECES]:
        out += [f"Piece {piece.index + 1}, where `{piece.condition}`:", ""]
        out += [line for name in result.shapes for line in (gradient_latex(result, piece, name), "")]
    if len(result.pieces) > SHOWN_PIECES:
        out += [f"… and {len(result.pieces) - SHOWN_PIECES} more pieces.", ""]
    if result.uncovered:
        total = sum(u.probability for u in result.uncovered)
        out += [f"Not explored (never hidden): a region of probability {total:.3g}.", ""]
    return out


def _pretty(result: CaseResult, printer, cycle: bool) -> None:
    printer.text(short(result))


CaseResult._repr_markdown_ = markdown
CaseResult._repr_pretty_ = _pretty
