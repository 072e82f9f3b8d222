"""Render results as markdown: the index and one page per case. Strings only; the CLI writes them.

Everything here is deterministic: no timestamps, no set or hash order,
floats in a fixed format. `results_json` renders the same results as JSON.
"""
from __future__ import annotations

import ast
import math
import os
from typing import Sequence

import numpy as np
import sympy
from tabulate import tabulate

from .modes import modes_section, status_text
from .notation import readable_array, readable_gradient
from ..records import AGREE, CONVENTION, DISAGREE, ERROR, STATUSES, CaseResult, Meta, PointResult
from ..sym import as_expr
from ..judge.verdict import largest

__all__ = ["Meta", "compiled_note", "parameters_note", "gradient_latex", "page_names", "points_table", "render_index", "render_case"]


# -- notation ----------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.7g}"


def _array(a: np.ndarray, limit: int = 8) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return _fmt(float(a))
    flat = [_fmt(float(v)) for v in a.reshape(-1)[:limit]]
    more = ", …" if a.size > limit else ""
    return "[" + ", ".join(flat) + more + "]" if a.ndim == 1 else f"{a.shape} [" + ", ".join(flat) + more + "]"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


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


def page_names(results: Sequence[CaseResult]) -> list[str]:
    """One page name per result, all different: the case's name, prefixed by its file where names repeat.

    Only `name` and `file` are read, so the cases themselves give the same names before they run.
    The prefix is for a name found in several files. A name still taken (two cases with one name
    in one file, declared in a loop or redefined; two files of one name in different folders)
    gets a suffix `-2`, `-3`, … in the order of the results, the first keeping the plain name.
    Names are told apart as a case-insensitive file system would (`F.md` is `f.md` there), and
    `index` is the index's own.
    """
    files: dict = {}
    for r in results:
        files.setdefault(r.name, set()).add(r.file)
    wanted = [r.name if len(files[r.name]) == 1 else f"{os.path.splitext(os.path.basename(r.file))[0]}.{r.name}"
              for r in results]
    taken = {"index"}
    own = {w.casefold() for w in wanted}  # never take a name that another case has as its own
    tried: dict = {}  # name -> the last suffix tried for it, so repeats cost one step each
    names = []
    for name in wanted:
        if name.casefold() in taken:
            n = tried.get(name.casefold(), 1) + 1
            while f"{name}-{n}".casefold() in taken or f"{name}-{n}".casefold() in own:
                n += 1
            tried[name.casefold()] = n
            name = f"{name}-{n}"
        taken.add(name.casefold())
        names.append(name)
    return names


def _max(points: Sequence[PointResult], attr: str, which: str):
    values = [getattr(getattr(p, attr), which) for p in points]
    values = [v for v in values if v is not None]
    return largest(values) if values else None


def _claim_summary(result: CaseResult) -> str:
    claims = [p.claim_exact for p in result.points if p.claim_exact is not None]
    if not claims:
        return "—"
    return f"{sum(claims)}/{len(claims)} hold"


def _other_oracles(result: CaseResult) -> str:
    """Forward mode's and finite differences' largest relative errors off kinks: `0 · 3.2e-12`."""
    parts = []
    for name in ("forward", "finite_difference"):
        found = [p.oracles[name] for p in result.points if p.oracles and p.rule is None and p.oracles.get(name)]
        errs = [o.errors.max_rel for o in found if o.errors is not None]
        text = _fmt(largest(errs)) if errs else "—"
        if any(o.note and o.errors is not None and not o.errors.agree for o in found):
            text += "*"
        if any(o.values is None for o in found):
            text += " (failed)"
        parts.append(text)
    return " · ".join(parts)


# -- index -------------------------------------------------------------------------------
GLANCE = 60
"""Longest derivative the index shows in full; a longer one is on the case's page."""


def _glance(result: CaseResult, name: str) -> str:
    """The derivative for one input as the index shows it: short enough to read at a glance."""
    if len(result.pieces) > 1:
        return f"d/d{name}: piecewise, {len(result.pieces)} pieces"
    text = readable_gradient(result, name)
    if len(text) <= GLANCE:
        return f"d/d{name}: `{_cell(text)}`"
    shape = result.shapes[name]
    return f"d/d{name}: on its page" + (f" ({'×'.join(map(str, shape))})" if shape else "")


def render_index(results: Sequence[CaseResult], meta: Meta) -> str:
    rows = []
    for result, page in zip(results, page_names(results)):
        link = f"[{result.name}]({page}.md)"
        if result.status == ERROR and not result.points:
            rows.append([link, _cell(result.doc or "—"), "—", 0, 0, "—", "—", "—", "—",
                         f"**error**: {_cell(result.error)}"])
            continue
        derivative = "; ".join(_glance(result, n) for n in result.shapes)
        smooth = [p for p in result.points if p.rule is None]  # kinks have their own verdict
        e64 = _max(smooth, "errors64", "max_abs")
        elow = _max(smooth, "errors", "max_abs")
        ulp = _max(smooth, "errors", "max_ulp")
        status = status_text(result) if result.status != ERROR else f"**error**: {_cell(result.error)}"
        if result.known_wrong:
            status += " (known wrong)" if result.status == DISAGREE else " (declared known_wrong: not caught)"
        if result.status == CONVENTION:
            ops = dict.fromkeys(o.split(":")[0] for p in result.points if p.rule for o in p.rule.split("; "))
            status = f"convention ({', '.join(ops)})"
        pieces = str(len(result.pieces))
        if result.uncovered:
            pieces += f" (uncovered: P ≤ {sum(u.probability for u in result.uncovered):.2g})"
        rows.append([link, _cell(_function_text(result)), derivative, len(result.points), pieces,
                     _fmt(e64) if e64 is not None else "—",
                     (f"{_fmt(elow)} ({ulp} ULP)" if ulp is not None else _fmt(elow)) if elow is not None else "—",
                     _other_oracles(result), _claim_summary(result), status])
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    table = tabulate(rows, headers=["case", "function", "exact derivative of out.sum()", "points", "pieces",
                                    "max abs error, float64", "max abs error, case dtype",
                                    "forward · finite differences, rel. error", "notes' `==`", "status"],
                     tablefmt="github")
    return "\n".join([
        "# compare: autograd against exact derivatives", "",
        meta.header(), "",
        f"{len(results)} cases: {counts['agree']} agree, {counts['convention']} convention, "
        f"{counts['disagree']} disagree, {counts['error']} errors.", "",
        "Errors are against SymPy's exact derivative, which alone decides the status. "
        "Points on a kink are left out of the error columns: they have their own verdict. "
        "\"forward · finite differences\" gives the largest relative error of forward mode and of central "
        "finite differences (float64); `*` marks one that differs for a reason given on the case's page "
        "(finite differences see through `detach`). The notes' `==` column is the notes' own "
        "check (`x.grad == claim`, in the case's dtype) at each point. `convention`: at a kink, where the "
        "derivative does not exist, autograd gives what PyTorch's documented rule for the op gives "
        "(named on the case's page); it is not a failure.", "",
        table, ""])


# -- case page ---------------------------------------------------------------------------
def parameters_note(result: CaseResult) -> str:
    """Which inputs are the module's parameters (its buffers and frozen parameters are constants)."""
    return (f"An `nn.Module`: a function of its inputs and of its parameters that require grad, named by "
            f"`named_parameters()`: {', '.join(f'`{n}`' for n in result.parameters)}. Buffers and frozen "
            f"parameters are constants.")


def compiled_note(backend: str) -> str:
    """Which code autograd ran, for a case checked through torch.compile."""
    return (f"Autograd ran `torch.compile(fn, backend=\"{backend}\")`: its reverse mode (the gradients and "
            f"Jacobians below) is the compiled code's; forward mode, finite differences and the Hessian ran "
            f"eagerly.")


def render_case(result: CaseResult, meta: Meta, *, picture: str | None = None) -> str:
    """The case's page; `picture` is the file name of its PNG, embedded after the derivative."""
    from ..errors import display_path

    out = [f"# {result.name}", ""]
    if result.doc:
        out += [f"> {result.doc}", ""]
    out += [f"`{display_path(result.file)}`, line {result.line} · {meta.header(picture is not None)}", ""]
    if result.compiled:
        out += [compiled_note(result.compiled), ""]
    if result.parameters:
        out += [parameters_note(result), ""]
    out += [f"**Status: {result.status}**" + (f" — {result.error}" if result.error else ""), ""]
    if result.known_wrong:
        out += [f"Wrong on purpose (`known_wrong`): {result.known_wrong}. "
                + ("The checker catches it." if result.status == DISAGREE else
                   "**The checker did not catch it**: this fails the run."), ""]
    if result.source:
        out += ["```python", result.source.rstrip(), "```", ""]
    if not result.pieces:
        return "\n".join(out)
    out += _derivative_section(result)
    out += _complex_section(result)
    if picture:
        out += [f"![{result.name}: the function, SymPy's derivative (curve) and autograd's values (points)]"
                f"({picture})", ""]
    if len(result.pieces) > 1 or result.pieces[0].sites:
        out += _pieces_section(result)
    if result.output_shape != ():
        out += _nonscalar_section(result)
    out += _detach_section(result)
    out += _kinks_section(result)
    out += modes_section(result)
    out += _hessian_section(result)
    out += _oracles_section(result)
    out += _points_section(result)
    out += _shown_section(result)
    return "\n".join(out)


def _derivative_section(result: CaseResult) -> list[str]:
    out = ["## Exact derivative", ""]
    if len(result.pieces) > 1:
        out += [f"The derivative is piecewise: {len(result.pieces)} pieces, listed below.", ""]
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
        out += ["```", f"d out.sum() / d {name} = {readable_array(differ[0].float64.gradient[name], result.symbols)}",
                "```", ""]
    return out


def gradient_latex(result: CaseResult, piece, name: str) -> str:
    """The piece's gradient of out.sum() for one input: display LaTeX, or SymPy's text where it has none."""
    g = readable_array(piece.gradient[name], result.symbols)
    if isinstance(g, sympy.Basic):
        return f"$$\\frac{{\\partial\\, \\mathrm{{out.sum()}}}}{{\\partial {name}}} = {sympy.latex(g)}$$"
    # entries without one template, or a sum cut short: SymPy's text, not LaTeX
    return "\n".join(["```", f"d out.sum() / d {name} = {g}", "```"])


def _pieces_section(result: CaseResult) -> list[str]:
    rows = []
    for piece in result.pieces:
        mine = [p for p in result.points if p.piece == piece.index]  # its own point first, as in Points
        inside = next((p for p in mine if p.origin == f"piece {piece.index + 1}"), mine[0] if mine else None)
        rows.append([piece.index + 1, f"`{_cell(piece.condition)}`",
                     f"`{_cell(readable_array(piece.output, result.symbols))}`",
                     "; ".join(f"`{_cell(readable_array(piece.gradient[n], result.symbols))}`"
                               for n in result.shapes),
                     _points_text(inside) if inside else "—",
                     _array(next(iter(inside.autograd.values()))) if inside else "—",
                     piece.claim or "—", inside.status if inside else "—"])
    out = ["## Pieces", "",
           "Each run of the code follows one path through its branches; each path holds on a region of "
           "inputs, where the output is one expression. Every piece is checked at a point inside it.", "",
           tabulate(rows, headers=["piece", "where", "output", "derivative", "point", "autograd", "claim",
                                   "status"], tablefmt="github"), ""]
    if result.uncovered:
        out += ["**Uncovered** (not explored; never hidden):", ""]
        for u in result.uncovered:
            out += [f"- `{_cell(u.condition)}`: {u.reason}; probability {u.probability:.3g} ({u.how})"]
        out += [""]
    else:
        out += ["Every path was explored: no region is uncovered.", ""]
    return out


def _complex_section(result: CaseResult) -> list[str]:
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
                out += [f"$$f'(z) = {sympy.latex(note.derivative.flat[0])}$$", ""]
        elif note.holomorphic is False:
            out += ["Not holomorphic: u and v do not satisfy the Cauchy-Riemann equations, so there is no "
                    "f'(z); both Wirtinger derivatives are needed, and the real-view Jacobian holds them.", ""]
    out += ["The exact gradient of `out.sum()`" + (" (of the real view)" if note.output.startswith("complex")
                                                   else "") + ", as PyTorch's `z.grad` holds it:", ""]
    for name, grad in note.gradient.items():
        shown = grad.flat[0] if grad.size == 1 else sympy.Matrix(grad.reshape(-1))
        out += [f"$$\\frac{{\\partial L}}{{\\partial x}} + i \\frac{{\\partial L}}{{\\partial y}} \\text{{ for }} "
                f"{name}: {sympy.latex(shown)}$$", ""]
    return out


def _nonscalar_section(result: CaseResult) -> list[str]:
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
                out += [f"$$J_{{{name}}} = {sympy.latex(sympy.Matrix(jac))}$$", ""]
        errs = [p.jacobian_errors.max_abs for p in result.points if p.jacobian_errors]
        if errs:
            out += [f"Autograd's full Jacobian (float64, one backward pass per output entry) against "
                    f"SymPy's: largest error {_fmt(largest(errs))}.", ""]
        out += _jacobian_differs(result)
        fwd = [p.jacobian_forward_errors.max_abs for p in result.points if p.jacobian_forward_errors]
        if fwd:
            out += [f"Forward mode's Jacobian (float64, one jvp per input entry: its columns) "
                    f"against SymPy's: largest error {_fmt(largest(fwd))}.", ""]
    return out


JACOBIAN_ROWS = 12
"""How many differing Jacobian entries a page lists, over all points."""


def _jacobian_differs(result: CaseResult) -> list[str]:
    """The Jacobian entries where autograd differs from SymPy, point by point (the first few)."""
    rows = [[p.origin, f"out{list(e.output)}", f"{e.input}{list(e.index)}", _fmt(e.exact), _fmt(e.autograd)]
            for p in result.points for e in p.jacobian_differs]
    if not rows:
        return []
    more = len(rows) - JACOBIAN_ROWS
    return ([f"Where they differ ({len(rows)} entries):", "",
             tabulate(rows[:JACOBIAN_ROWS], headers=["point", "output", "input", "exact (SymPy)",
                                                      "autograd float64"], tablefmt="github"), ""]
            + ([f"…and {more} more.", ""] if more > 0 else []))


def _detach_section(result: CaseResult) -> list[str]:
    from ..sym import detach

    held = []
    for piece in result.pieces[:1]:
        for out in piece.output.flat:
            for d in sorted(as_expr(out).atoms(detach), key=str):
                held.append(d)
    if not held:
        return []
    shown = readable_array(np.array([d.args[0] for d in held], dtype=object), result.symbols) \
        if len(held) > 1 else held[0].args[0]
    return ["## Held constant", "",
            f"`detach()` makes `{_cell(shown)}` a constant: it keeps its value, but no gradient flows "
            "through it. Finite differences cannot see this: they would differentiate it too.", ""]


_ORACLES = (("symbolic", "exact (SymPy)"), ("reverse", "reverse"), ("forward", "forward"),
            ("finite_difference", "finite differences"))


def _oracle_cell(point: PointResult, name: str, key: str) -> str:
    found = point.oracles.get(name)
    if found is None or found.values is None:
        return "failed"
    return _array(found.values[key]) if key in found.values else "—"


def _oracles_section(result: CaseResult) -> list[str]:
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
                        + [_fmt(fd.step) if fd.step is not None else "—",
                           _fmt(fd.estimate) if fd.estimate is not None else "—"] + errs)
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
           "agree with it (within float64's tolerance, or for finite differences their own).", ""]
    skipped = len(result.points) - len(points)
    if skipped:
        out += [f"Forward mode and finite differences decide no status, so they run at the example and the "
                f"samples and not at the point inside each piece ({skipped} points without them).", ""]
    if directional:
        out += [f"The input has more than {_oracle_limit()} entries: forward mode and finite differences give "
                "the derivative along one seeded random unit direction u (`∇·u`), as gradcheck's fast "
                "mode does, rather than every entry.", ""]
    out += [tabulate(rows, headers=["#", "input", "exact (SymPy)", "reverse", "forward", "finite differences",
                                    "FD step", "FD est.", "err reverse", "err forward", "err FD"],
                     tablefmt="github", disable_numparse=True), ""]
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
    return _fmt(e.max_abs) + ("" if e.agree else " ✗")


def _oracle_limit() -> int:
    from ..numeric.oracles import FULL_LIMIT

    return FULL_LIMIT


def _kinks_section(result: CaseResult) -> list[str]:
    on = [(i, p) for i, p in enumerate(result.points) if p.rule or p.note.startswith(("at a kink", "where the exact"))]
    if not on:
        return []
    out = ["## Kinks", "",
           "At these points the derivative does not exist. SymPy's value (Heaviside(0) = 1/2, sign(0) = 0, "
           "0/0 …), finite differences (the average of the one-sided slopes) and forward mode may each "
           "give another answer; autograd follows the rule PyTorch documents for the op (its autograd "
           "notes, \"Gradients for non-differentiable functions\"). Such a point is `convention` when "
           "autograd gives exactly what the rule gives, by the chain rule through the op, and `disagree` "
           "otherwise. The rules change between releases, so each verdict names its torch version.", ""]
    for i, p in on:
        out += [f"- point {i + 1} ({_points_text(p)}): **{p.status}** — {p.note}"]
        if p.rule:
            out += [f"  - rule (torch {p.torch}): {p.rule}"]
        for name, label in _ORACLES:
            o = p.oracles.get(name) if p.oracles else None
            if o is not None and o.values is not None:
                values = "; ".join(f"{k} = {_array(v)}" for k, v in o.values.items())
                out += [f"  - {label}: {values}"]
        out += [f"  - autograd, {result.dtype}: " + "; ".join(f"{k} = {_array(v)}" for k, v in p.autograd.items())]
    return out + [""]


def _hessian_section(result: CaseResult) -> list[str]:
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
            out += [f"$$H = {sympy.latex(sympy.Matrix(piece.hessian))}$$", ""]
    elif checks[0][1].hessian.mode == "full":
        out += [f"The Hessian of the output over every entry of {names} (flattened, in that order) against "
                f"`torch.autograd.functional.hessian` in float64; {result.hessian_note}.", ""]
    else:
        out += [result.hessian_note + ": SymPy's H v against `torch.autograd.functional.hvp`.", ""]
    rows = []
    for i, p in checks:
        h = p.hessian
        rows.append([i + 1, p.origin, _array(h.exact) if h.exact is not None else "—",
                     _array(h.autograd) if h.autograd is not None else "—",
                     _fmt(h.errors.max_abs) if h.errors else "—",
                     (AGREE if h.errors.agree else DISAGREE) if h.errors else h.note])
    out += [tabulate(rows, headers=["#", "origin", "exact", "autograd", "abs err", "verdict"],
                     tablefmt="github", disable_numparse=True), ""]
    return out


def _points_text(point: PointResult) -> str:
    return ", ".join(f"{n} = {_array(v)}" for n, v in point.inputs.items())


def _points_section(result: CaseResult) -> list[str]:
    return ["## Points", "",
            f"Autograd in {result.dtype} and in float64 against the exact derivative (rounded to float64). "
            "ULP: units in the last place of the case's dtype.", "",
            points_table(result, result.points), ""] + _continuity_lines(result.points)


def _continuity_lines(points: Sequence[PointResult]) -> list[str]:
    """Which points' exact values are limits, and why (`compare/continuity.py`)."""
    marked = [(i + 1, p) for i, p in enumerate(points) if p.by_continuity]
    if not marked:
        return []
    return ([f"Exact values **by continuity** (the function is differentiable there, the derivative's "
             f"formula is not defined, and its limit is the value):", ""]
            + [f"- point {i} ({p.origin}): {p.by_continuity}" for i, p in marked] + [""])


def _shown_section(result: CaseResult) -> list[str]:
    if not result.shown:
        return []
    return ["## Outside the verdict", "",
            "Points the case asks to show, not to judge: where the lesson is a limit of floating point "
            "(an overflow, say), not a fault of autograd. The exact derivative is still exact there.", "",
            points_table(result, result.shown), ""]


def points_table(result: CaseResult, points: Sequence[PointResult]) -> str:
    rows = []
    for i, p in enumerate(points):
        for n in result.shapes:
            e, e64 = p.errors_by_input.get(n, p.errors), p.errors64_by_input.get(n, p.errors64)
            rows.append([i + 1, p.origin, p.piece + 1, f"{n} = {_array(p.inputs[n])}", _array(p.symbolic[n]),
                         _array(p.autograd[n]), _fmt(e.max_abs), _fmt(e.max_rel),
                         e.max_ulp if e.max_ulp is not None and p.rule is None else "—",  # no ULPs at a kink
                         _fmt(e64.max_abs),
                         "—" if p.claim_exact is None else str(p.claim_exact),
                         p.status + (f": {p.note}" if p.note else "")
                         + (" (exact by continuity)" if p.by_continuity else "")])
    return tabulate(rows, headers=["#", "origin", "piece", "point", "exact", f"autograd {result.dtype}",
                                   "abs err", "rel err", "ULP", "abs err float64", "notes' `==`", "status"],
                    tablefmt="github", disable_numparse=True)
