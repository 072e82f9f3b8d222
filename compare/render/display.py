"""How a `CaseResult` shows itself: one line at a prompt, a few lines printed, markdown in Jupyter.

    compare.check(f, {"x": x})          # at a prompt: one line, the verdict, points, pieces, largest error
    print(compare.check(f, {"x": x}))   # a few lines: also the derivative, the rule at a kink, the first
                                        # disagreement (the same as `result.summary()`)
    result.record()                     # the full record, every field (the dataclass's own repr)

In Jupyter, as a cell's last line, it is displayed as markdown: the verdict, the exact derivative in
LaTeX, the points. Every field is also an attribute (`result.points[0].autograd`).

Importing this module gives `CaseResult` its `__repr__` (`short`), `__str__` and `summary`
(`summary`), `record`, `_repr_markdown_` (`markdown`) and `_repr_pretty_` (what IPython shows
as text); `PointResult` and `PieceResult` get a one-line `__repr__` and a `record` too.
`compare.api` imports it, so `compare.check` results show themselves. The records never import their
renderers. The pieces are those of the case page (`report`) and of `assert_agrees`'s
message (`message.mismatch_message`), so the notebook and the reports say the
same in the same words.
"""
from __future__ import annotations

from ..errors import display_path
from ..records import AGREE, CONVENTION, DISAGREE, ERROR, CaseResult, PieceResult, PointResult
from .figures import largest_errors, number
from .message import mismatch_message
from .modes import status_text
from .words import counted

__all__ = ["markdown", "short", "summary", "SHOWN_POINTS", "SHOWN_PIECES", "SUMMARY_WIDTH"]

SHOWN_POINTS = 12
"""Rows of the points table shown; the rest are counted (a control-flow case has one per piece)."""

SHOWN_PIECES = 4
"""Pieces whose derivative is written out; the rest are counted."""

SUMMARY_WIDTH = 100
"""Longest derivative a summary writes out; a longer one is named by its shape and where to find it."""


def short(result: CaseResult) -> str:
    """One line, the repr: `<CaseResult 'dot': agree, 5 points, 1 piece, largest error 0 (0 ULP, float32)>`."""
    if result.status == ERROR and not result.points:
        return f"<CaseResult {result.name!r}: error: {result.error}>"
    return f"<CaseResult {result.name!r}: {status_text(result)}, {_counts(result)}{_largest(result)}>"


def _counts(result: CaseResult) -> str:
    return f"{counted(len(result.points), 'point')}, {counted(len(result.pieces), 'piece')}"


def _largest(result: CaseResult) -> str:
    """`, largest error 1.9e-08 (1 ULP, float32)`: autograd in the case's dtype off kinks; "" without points."""
    found = largest_errors(result.points, result.dtype or "float32")
    if found.errors is None:
        return ""
    return f", largest error {found.text(result.dtype or 'float32')}"


def summary(result: CaseResult) -> str:
    """A few lines, what `print(result)` shows: the verdict, the derivative, the largest error, the rule at
    a kink, the first disagreement (as `assert_agrees` says it) or the error."""
    head = f"compare: {result.name} ({display_path(result.file)}:{result.line})"
    if result.status == ERROR and not result.points:
        return f"{head}: error\n  {result.error}"
    lines = [f"{head}: {status_text(result)}, {_counts(result)}" + (f", {result.dtype}" if result.dtype else "")]
    if result.known_wrong:
        lines.append(f"  wrong on purpose (known_wrong): {result.known_wrong}")
    lines += [f"  {line}" for line in _derivative_lines(result)]
    if result.status in (DISAGREE, ERROR):
        first, _, rest = mismatch_message(result).partition("\n")
        lines += [f"  {first.removeprefix(head).lstrip(': ')}"] + ([rest] if rest else [])
        return "\n".join(lines)
    found = largest_errors(result.points, result.dtype or "float32")
    if found.errors is not None:
        also = f"; {number(found.abs64)} in float64" if result.dtype != "float64" else ""
        lines.append(f"  largest error: {found.text()} in {result.dtype}{also}")
    kink = next((p for p in result.points if p.status == CONVENTION), None)
    if kink is not None:  # "at a kink of relu: autograd follows PyTorch's rule (torch 2.13.0): relu: relu'(0) = 0 ..."
        lines.append(f"  {kink.note}" + (f": {kink.rule}" if kink.rule else ""))
    return "\n".join(lines)


def _derivative_lines(result: CaseResult) -> list[str]:
    """`d out.sum() / d x = 4*x`, one line per input; a long or piecewise one named by its shape."""
    from .notation import readable_gradient

    if not result.pieces:
        return []
    lines = []
    for name, shape in (result.shapes or {}).items():
        if len(result.pieces) > 1:
            lines.append(f"d out.sum() / d {name}: piecewise, {counted(len(result.pieces), 'piece')} "
                         f"(result.pieces[k].gradient[{name!r}])")
            continue
        text = readable_gradient(result, name)
        if len(text) > SUMMARY_WIDTH:
            size = "×".join(map(str, shape)) + " entries" if shape else "one expression"
            text = f"{size}, {len(text)} characters (result.pieces[0].gradient[{name!r}])"
            lines.append(f"d out.sum() / d {name}: {text}")
        else:
            lines.append(f"d out.sum() / d {name} = {text}")
    return lines


def markdown(result: CaseResult) -> str:
    """The result as markdown: verdict first, then the derivative, the failure if any, and the points."""
    from .report import comparison_lines, compiled_note, draws_note, gradient_latex, parameters_note, points_table

    out = [f"**{status_text(result)}** · `{result.name}`" + _summary(result), ""]
    if result.compiled:
        out += [compiled_note(result.compiled), ""]
    if result.parameters:
        out += [parameters_note(result), ""]
    if result.draws:
        out += [draws_note(result), ""]
    out += comparison_lines(result)
    if result.status == ERROR and not result.points:
        return "\n".join(out + ["```", result.error or "", "```"])
    if result.status in (DISAGREE, ERROR):
        out += ["```", mismatch_message(result), "```", ""]
    note = next((p.note for p in result.points if p.status == CONVENTION), "")
    if result.status == CONVENTION and note:  # "at a kink of relu: autograd follows PyTorch's rule (...)"
        out += [note[0].upper() + note[1:] + ".", ""]
    out += _derivative(result, gradient_latex)
    for r in result.outside:  # where the code raises: no piece of the function
        out += [f"Outside the domain: `{r.condition}`, where it raises `{r.error}` ({r.where}).", ""]
    if result.output_shape != () and result.backward_error:
        out += [f"The output has shape {tuple(result.output_shape)}: plain `out.backward()` raises "
                f"`RuntimeError: {result.backward_error}`; the gradient shown is that of `out.sum()`.", ""]
    shown = result.points[:SHOWN_POINTS]
    out += [points_table(result, shown), ""]
    if len(result.points) > len(shown):
        rest = result.points[len(shown):]
        agree = sum(p.status in (AGREE, CONVENTION) for p in rest)
        out += [f"… and {counted(len(rest), 'more point')}, {agree} of them agreeing.", ""]
    return "\n".join(out).rstrip() + "\n"


def _summary(result: CaseResult) -> str:
    """`: 5 points, 1 piece, float32, the claim `expect` is proven` (what was checked, at a glance)."""
    parts = [counted(len(result.points), "point"), counted(len(result.pieces), "piece")]
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
    out = [f"The exact derivative is piecewise, {counted(len(result.pieces), 'piece')}:", ""]
    for piece in result.pieces[:SHOWN_PIECES]:
        out += [f"Piece {piece.index + 1}, where `{piece.condition}`:", ""]
        out += [line for name in result.shapes for line in (gradient_latex(result, piece, name), "")]
    if len(result.pieces) > SHOWN_PIECES:
        out += [f"… and {counted(len(result.pieces) - SHOWN_PIECES, 'more piece')}.", ""]
    if result.uncovered:
        total = sum(u.probability for u in result.uncovered)
        out += [f"Not explored (never hidden): a region of probability {total:.3g}.", ""]
    return out


def _pretty(result: CaseResult, printer, cycle: bool) -> None:
    printer.text(short(result))


def _point_repr(point: PointResult) -> str:
    """`<PointResult example, piece 1: agree, largest abs error 0>`."""
    return (f"<PointResult {point.origin}, piece {point.piece + 1}: {point.status}, "
            f"largest abs error {number(point.errors.max_abs)}>")


def _piece_repr(piece: PieceResult) -> str:
    """`<PieceResult 1: where 500 <= a, 2 branches>`."""
    where = str(piece.condition)
    where = where if len(where) <= 60 else where[:57] + "..."
    return f"<PieceResult {piece.index + 1}: where {where}, {counted(len(piece.sites), 'branch')}>"


for _record in (CaseResult, PointResult, PieceResult):  # the dataclass's own repr: every field, nested
    _record.record = _record.__dict__.get("record", _record.__repr__)  # records in their one line each
CaseResult.__repr__ = short
CaseResult.__str__ = CaseResult.summary = summary
CaseResult._repr_markdown_ = markdown
CaseResult._repr_pretty_ = _pretty
PointResult.__repr__ = _point_repr
PieceResult.__repr__ = _piece_repr
