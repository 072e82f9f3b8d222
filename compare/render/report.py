"""Render results as markdown: the index and one page per case. Strings only; the CLI writes them.

Everything here is deterministic: no timestamps, no set or hash order,
floats in a fixed format. `results_json` renders the same results as JSON.

A case page is its sections in order (`render_case`), each a function returning its lines:
`derivatives` holds those about the exact side, `checks` those about the points checked. The
index (`index.render_index`) and the points table (`checks.points_table`) are tables of columns,
`INDEX_COLUMNS` and `POINT_COLUMNS`: a new column is one entry there, a new section one function
and one line in `render_case`.
"""
from __future__ import annotations

from ..records import DISAGREE, CaseResult, Meta
from .checks import kinks_section, oracles_section, points_section, points_table, shown_section
from .derivatives import (complex_section, derivative_section, detach_section, domain_section, gradient_latex,
                          hessian_section, nonscalar_section, pieces_section)
from .index import render_index
from .modes import modes_section
from .names import page_names

__all__ = ["Meta", "compiled_note", "parameters_note", "gradient_latex", "page_names", "points_table", "render_index",
           "render_case"]


def parameters_note(result: CaseResult) -> str:
    """Which inputs are the module's parameters (its buffers and frozen parameters are constants)."""
    return (f"An `nn.Module`: a function of its inputs and of its parameters that require grad, named by "
            f"`named_parameters()`: {', '.join(f'`{n}`' for n in result.parameters)}. Buffers and frozen "
            f"parameters are constants.")


def comparison_lines(result: CaseResult) -> list[str]:
    """How the comparison follows the computation (`compare.basis`): structured inputs, lost precision."""
    if not result.comparison_notes:
        return []
    return (["**How it is compared.**", ""] + [f"- {n[0].upper()}{n[1:]}." for n in result.comparison_notes]
            + [""])


def compiled_note(backend: str) -> str:
    """Which code autograd ran, for a case checked through torch.compile."""
    return (f"Autograd ran `torch.compile(fn, backend=\"{backend}\")`: its reverse mode (the gradients and "
            f"Jacobians below) is the compiled code's; the other modes and finite differences ran eagerly.")


def draws_note(result: CaseResult) -> str:
    """Which random numbers the case drew: the exact side took them as constants."""
    first, *each = result.draws
    return (f"The case draws random numbers: {first}. The exact derivative is that of the function "
            f"of the inputs these numbers make, each drawn by torch itself and taken as an exact constant: "
            + "; ".join(f"`{d}`" for d in each) + ".")


def render_case(result: CaseResult, meta: Meta, *, picture: str | None = None) -> str:
    """The case's page; `picture` is the file name of its PNG, embedded after the derivative."""
    out = _heading(result, meta, picture is not None)
    if not result.pieces:
        return "\n".join(out)
    out += derivative_section(result)
    out += complex_section(result)
    if picture:
        out += [f"![{result.name}: the function, SymPy's derivative (curve) and autograd's values (points)]"
                f"({picture})", ""]
    if len(result.pieces) > 1 or result.pieces[0].sites:
        out += pieces_section(result)
    out += domain_section(result)
    if result.output_shape != ():
        out += nonscalar_section(result)
    out += detach_section(result)
    out += kinks_section(result)
    out += modes_section(result)
    out += hessian_section(result)
    out += oracles_section(result)
    out += points_section(result)
    out += shown_section(result)
    return "\n".join(out)


def _heading(result: CaseResult, meta: Meta, pictured: bool) -> list[str]:
    """The title, the docstring, where the case is, the versions, the status and the code."""
    from ..errors import display_path

    out = [f"# {result.name}", ""]
    if result.doc:
        out += [f"> {result.doc}", ""]
    out += [f"`{display_path(result.file)}`, line {result.line} · {meta.header(pictured)}", ""]
    if result.compiled:
        out += [compiled_note(result.compiled), ""]
    if result.parameters:
        out += [parameters_note(result), ""]
    if result.draws:
        out += [draws_note(result), ""]
    out += comparison_lines(result)
    out += [f"**Status: {result.status}**" + (f" — {result.error}" if result.error else ""), ""]
    if result.known_wrong:
        out += [f"Wrong on purpose (`known_wrong`): {result.known_wrong}. "
                + ("The checker catches it." if result.status == DISAGREE else
                   "**The checker did not catch it**: this fails the run."), ""]
    if result.source:
        out += ["```python", result.source.rstrip(), "```", ""]
    return out
