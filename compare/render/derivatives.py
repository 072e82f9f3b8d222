"""The sections of a case page about the exact side: the derivative, the pieces, complex numbers,
a non-scalar output's Jacobian, what `detach` held constant, second derivatives.

Each section is a function of the result returning its lines (none where it has nothing to say);
`report.render_case` puts them in order.
"""
from __future__ import annotations

import numpy as np
import sympy

from ..agreement import largest
from ..records import AGREE, DISAGREE, CaseResult
from ..exact.sym import as_expr
from .cells import array_text, cell, folded_table, point_text, table
from .figures import number
from .formulas import Formula, formula_lines, latex
from .notation import readable_array
from .words import counted

__all__ = ["derivative_section", "gradient_latex", "pieces_section", "domain_section", "complex_section",
           "nonscalar_section", "detach_section", "hessian_section", "JACOBIAN_ROWS"]


def derivative_section(result: CaseResult) -> list[str]:
    out = ["## Exact derivative", ""]
    if len(result.pieces) > 1:
        out += [f"The derivative is piecewise: {counted(len(result.pieces), 'piece')}, listed below.", ""]
        return out
    piece = result.pieces[0]
    out += ["The gradient of `out.sum()` (what `out.sum().backward()` stores in `.grad`)"
            + (", entry by entry:" if any(s for s in result.shapes.values()) else ":"), ""]
    for name in result.shapes:
        out += [gradient_latex(result, piece, name), ""]
    if piece.claim:
        out += [f"The claim `expect` is **{piece.claim}**" + (f": {piece.claim_note}" if piece.claim_note else ".")
                + "", ""]
    return out + _float64_lines(result)


def _float64_lines(result: CaseResult) -> list[str]:
    """Where the float64 run computes another function than the case's dtype run, say so and show it."""
    differ = [p for p in result.pieces if p.float64 is not None]
    if not differ:
        return []
    out = [f"**In float64 this code computes another function.** It makes constants in its input's dtype "
           f"(`linspace(..., dtype=a.dtype)`, say): {result.dtype} numbers in the {result.dtype} run, float64 "
           f"numbers in the float64 run. Each run is compared with the exact derivative of the function it "
           f"computed; in float64" + (f" (piece {differ[0].index + 1})" if len(result.pieces) > 1 else "") + ":", ""]
    for name in result.shapes:
        gradient = differ[0].float64.gradient[name]
        block = "\n".join(["```", f"d out.sum() / d {name} = {readable_array(gradient, result.symbols)}", "```"])
        what = f"the float64 run's gradient of out.sum() in {name}"
        out += formula_lines(Formula(block, what, f"d/d{name}", gradient))
    return out


def gradient_latex(result: CaseResult, piece, name: str) -> str:
    """The piece's gradient of out.sum() for one input: display LaTeX, or SymPy's text where it has none;
    past `formulas.LONGEST_SHOWN` characters, its shape and its entries folded."""
    g = readable_array(piece.gradient[name], result.symbols)
    if isinstance(g, sympy.Basic):
        block = f"$$\\frac{{\\partial\\, \\mathrm{{out.sum()}}}}{{\\partial {name}}} = {latex(g)}$$"
    else:  # entries without one template, or a sum cut short: SymPy's text, not LaTeX
        block = "\n".join(["```", f"d out.sum() / d {name} = {g}", "```"])
    what = f"the gradient of out.sum() in {name}"
    return "\n".join(formula_lines(Formula(block, what, f"d/d{name}", piece.gradient[name]))).rstrip("\n")


def pieces_section(result: CaseResult) -> list[str]:
    rows = []
    for piece in result.pieces:
        mine = [p for p in result.points if p.piece == piece.index]  # its own point first, as in Points
        inside = next((p for p in mine if p.origin == f"piece {piece.index + 1}"), mine[0] if mine else None)
        rows.append([piece.index + 1, f"`{cell(piece.condition)}`",
                     f"`{cell(readable_array(piece.output, result.symbols))}`",
                     "; ".join(f"`{cell(readable_array(piece.gradient[n], result.symbols))}`"
                               for n in result.shapes),
                     point_text(inside) if inside else "—",
                     array_text(next(iter(inside.autograd.values()))) if inside else "—",
                     piece.claim or "—", inside.status if inside else "—"])
    out = ["## Pieces", "",
           "Each run of the code follows one path through its branches; each path holds on a region of "
           "inputs, where the output is one expression. Every piece is checked at a point inside it.", ""]
    out += folded_table(rows, ["piece", "where", "output", "derivative", "point", "autograd", "claim", "status"],
                        "piece", numbers=True)
    if result.uncovered:
        out += ["**Uncovered** (not explored; never hidden):", ""]
        for u in result.uncovered:
            if u.paths == 1:
                out += [f"- `{cell(u.condition)}`: {u.reason}; probability {u.probability:.3g} ({u.how})"]
            else:  # the sides of branches left at the budget: their union, too long to read here
                out += [f"- {u.paths} branches not taken (their conditions are in `results.json`): {u.reason}; "
                        f"probability {_probability(u.probability)} ({u.how})"]
        out += [""]
    else:
        out += ["Every path was explored: no region is uncovered.", ""]
    return out


def domain_section(result: CaseResult) -> list[str]:
    """Where the code raises (a library's check of its arguments): outside the function's domain."""
    if not result.outside:
        return []
    out = ["**Outside the domain** (the code raises there, and so does torch at a point inside; no piece "
           "of the function):", ""]
    for r in result.outside:
        unchecked = f"; {', '.join(r.unchecked)} lie there, not checked" if r.unchecked else ""
        out += [f"- `{cell(r.condition)}`: raises `{cell(r.error)}` at {r.where}; probability "
                f"{_probability(r.probability)} ({r.how}){unchecked}"]
    return out + [""]


def _probability(p: float) -> str:
    """Three digits, or the distance from 1 where those would round to 1."""
    return f"1 - {1 - p:.3g}" if f"{p:.3g}" == "1" and p < 1 else f"{p:.3g}"


def complex_section(result: CaseResult) -> list[str]:
    """PyTorch's convention for complex inputs, the gradient in complex form, holomorphy."""
    note = result.complex
    if note is None:
        return []
    names = ", ".join(f"`{n}` ({d})" for n, d in note.inputs.items())
    out = ["## Complex numbers", "",
           f"Complex inputs: {names}. Each entry is z = x + i y with real symbols x and y (`z_re`, `z_im`), and "
           "the input is checked as its real view (`torch.view_as_real`), the pair (x, y). For a real-valued "
           "L, PyTorch's `z.grad` is dL/dx + i dL/dy, twice the conjugate Wirtinger derivative dL/d(conj z) "
           "(PyTorch's autograd notes, \"Autograd for Complex Numbers\"): the real view of that is the "
           "gradient with respect to (x, y), so the exact side is the convention itself. The complex64 run "
           "computes in float32 parts; each part is held to its part's tolerance and counted in its ULPs.", ""]
    if note.output.startswith("complex"):
        out += [f"The output is complex ({note.output}): w = u + i v is checked as gradcheck checks it, as "
                "the two real functions u and v (the output's real view). Each row of its Jacobian is a "
                "vector-Jacobian product with a real cotangent (grad_output = 1, on u) or an imaginary one "
                "(grad_output = i, on v); `out.sum()` of the real view is grad_output = 1 + i. Plain "
                "`out.backward()` on the complex output raises:", "",
                f"    RuntimeError: {result.backward_error}" if result.backward_error else "    (it did not raise)",
                ""]
        if note.holomorphic:
            out += ["**Holomorphic.** u and v satisfy the Cauchy-Riemann equations (u_x = v_y, u_y = -v_x, "
                    "exactly): the function has a complex derivative f'(z), and the vector-Jacobian product "
                    "is `grad_output * conj(f'(z))`. A backward that returns `grad_output * f'(z)`, without "
                    "the conjugate, is right only where z is real.", ""]
            if note.derivative is not None:
                derivative = note.derivative.flat[0]
                block = f"$$f'(z) = {latex(derivative)}$$"
                out += formula_lines(Formula(block, "the complex derivative f'(z)", "f'(z)", np.array(derivative)))
        elif note.holomorphic is False:
            out += ["Not holomorphic: u and v do not satisfy the Cauchy-Riemann equations, so there is no "
                    "f'(z); both Wirtinger derivatives are needed, and the real-view Jacobian holds them.", ""]
    out += ["The exact gradient of `out.sum()`" + (" (of the real view)" if note.output.startswith("complex")
                                                   else "") + ", as PyTorch's `z.grad` holds it:", ""]
    for name, grad in note.gradient.items():
        shown = grad.flat[0] if grad.size == 1 else sympy.Matrix(grad.reshape(-1))
        block = (f"$$\\frac{{\\partial L}}{{\\partial x}} + i \\frac{{\\partial L}}{{\\partial y}} \\text{{ for }} "
                 f"{name}: {latex(shown)}$$")
        out += formula_lines(Formula(block, f"the gradient {name}.grad in complex form", f"{name}.grad", grad))
    return out


def nonscalar_section(result: CaseResult) -> list[str]:
    view = result.complex is not None and result.complex.output.startswith("complex")
    out = ["## A non-scalar output", "",
           (f"The output's real view (real and imaginary parts along the last axis) has shape "
            f"{tuple(result.output_shape)}." if view else f"The output has shape {tuple(result.output_shape)}.")
           + " Plain `out.backward()` raises:", "",
           f"    RuntimeError: {result.backward_error}" if result.backward_error else "    (it did not raise)", "",
           "`backward()` needs a scalar to start from, or a vector `v` to multiply the Jacobian with. "
           "`out.sum().backward()` computes the vector-Jacobian product `vᵀJ` with `v` all ones: "
           "each input's gradient is the sum of its column of the Jacobian.", ""]
    example = next((p for p in result.points if p.origin == "example"), None)
    piece = result.pieces[example.piece if example else 0]
    if piece.jacobian is not None:
        if len(result.pieces) > 1:
            out += [f"On piece {piece.index + 1}, where the example point lies, the Jacobian is:", ""]
        for name, jac in piece.jacobian.items():
            if jac.ndim == 2:
                block = f"$$J_{{{name}}} = {latex(sympy.Matrix(jac))}$$"
                out += formula_lines(Formula(block, f"the Jacobian J_{name}", f"J_{name}", jac))
        errs = [p.jacobian_errors.max_abs for p in result.points if p.jacobian_errors]
        if errs:
            out += [f"Autograd's full Jacobian (float64, one backward pass per output entry) against "
                    f"SymPy's: largest error {number(largest(errs))}.", ""]
        out += _jacobian_differs(result)
        fwd = [p.jacobian_forward_errors.max_abs for p in result.points if p.jacobian_forward_errors]
        if fwd:
            out += [f"Forward mode's Jacobian (float64, one jvp per input entry: its columns) "
                    f"against SymPy's: largest error {number(largest(fwd))}.", ""]
    return out


JACOBIAN_ROWS = 12
"""How many differing Jacobian entries a page lists, over all points."""


def _jacobian_differs(result: CaseResult) -> list[str]:
    """The Jacobian entries where autograd differs from SymPy, point by point (the first few)."""
    rows = [[p.origin, f"out{list(e.output)}", f"{e.input}{list(e.index)}", number(e.exact), number(e.autograd)]
            for p in result.points for e in p.jacobian_differs]
    if not rows:
        return []
    more = len(rows) - JACOBIAN_ROWS
    kinds = {"parameter" if e.input in result.parameters else "input"
             for p in result.points for e in p.jacobian_differs}
    return ([f"Where they differ ({counted(len(rows), 'entry')}):", "",
             table(rows[:JACOBIAN_ROWS], ["point", "output", " or ".join(sorted(kinds)), "exact (SymPy)",
                                          "autograd float64"], numbers=True), ""]
            + ([f"…and {more} more.", ""] if more > 0 else []))


def detach_section(result: CaseResult) -> list[str]:
    from ..exact.sym import detach

    held = []
    for piece in result.pieces[:1]:
        if piece.graph is not None:  # kept on the traced graph: no expression to find detach() in
            continue
        for out in piece.output.flat:
            for d in sorted(as_expr(out).atoms(detach), key=str):
                held.append(d)
    if not held:
        return []
    shown = readable_array(np.array([d.args[0] for d in held], dtype=object), result.symbols) \
        if len(held) > 1 else held[0].args[0]
    return ["## Held constant", "",
            f"`detach()` makes `{cell(shown)}` a constant: it keeps its value, but no gradient flows "
            "through it. Finite differences cannot see this: they would differentiate it too.", ""]


def hessian_section(result: CaseResult) -> list[str]:
    checks = [(i, p) for i, p in enumerate(result.points) if p.hessian is not None]
    out = ["## Second derivatives", ""]
    if not checks:
        return out + [result.hessian_note + ".", ""] if result.hessian_note and result.output_shape == () \
            else []
    names = ", ".join(f"`{n}`" for n in result.shapes)
    piece = result.pieces[0]
    if piece.hessian is not None:
        out += [f"The Hessian of the output over every entry of {names} (flattened, in that order), from "
                "SymPy (each gradient entry differentiated term by term) against "
                "`torch.autograd.functional.hessian` in float64."]
        if len(result.pieces) > 1:
            out += ["The first piece's Hessian is shown; each point is compared with its own piece's."]
        out += [""]
        if piece.hessian.shape[0] <= 8:
            block = f"$$H = {latex(sympy.Matrix(piece.hessian))}$$"
            out += formula_lines(Formula(block, "the Hessian H", "H", piece.hessian))
    elif checks[0][1].hessian.mode == "full":
        out += [f"The Hessian of the output over every entry of {names} (flattened, in that order) against "
                f"`torch.autograd.functional.hessian` in float64; {result.hessian_note}.", ""]
    else:
        out += [result.hessian_note + ": SymPy's H v against `torch.autograd.functional.hvp`.", ""]
    rows = []
    for i, p in checks:
        h = p.hessian
        rows.append([i + 1, p.origin, array_text(h.exact) if h.exact is not None else "—",
                     array_text(h.autograd) if h.autograd is not None else "—",
                     number(h.errors.max_abs) if h.errors else "—",
                     (AGREE if h.errors.agree else DISAGREE) if h.errors else h.note])
    out += [table(rows, ["#", "origin", "exact", "autograd", "abs err", "verdict"]), ""]
    return out
