"""What `assert_agrees` says when autograd and the exact derivative differ, or when it cannot check.

The same message is the pytest plugin's failure and part of Jupyter's
display: the case, the point, the input and both values on aligned,
labelled lines, so every place says the same in the same words.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from ..errors import display_path
from ..agreement import measure
from ..modes import LABELS, SECOND_ORDER
from ..records import AGREE, DISAGREE, ERROR, CaseResult, PointResult
from .figures import sign_flipped, ulp_text
from .modes import failing_checks
from .words import counted

__all__ = ["cannot_check", "mismatch_message", "largest_error", "jacobian_lines", "JACOBIAN_SHOWN", "ONLY_SECOND_ORDER"]


def cannot_check(result: CaseResult) -> bool:
    """An error with nothing found to disagree: an unsupported op, a broken function."""
    return result.status == ERROR and not any(p.status == DISAGREE for p in result.points)


def _values(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), precision=10, separator=", ",
                           max_line_width=10_000, threshold=64, floatmode="maxprec")


def _lines(pairs: list[tuple[str, str]]) -> list[str]:
    """`label: value` lines with the labels right-aligned, so the values line up."""
    width = max(len(label) for label, _ in pairs)
    indent = "\n" + " " * (width + 6)  # a matrix's further rows start under its first
    return [f"    {label.rjust(width)}: {value.replace(chr(10), indent)}" for label, value in pairs]


def _worst_input(point: PointResult, dtype: str) -> str:
    """The input whose gradient is furthest outside the tolerance (the first, if all are inside)."""
    def outside(name: str) -> tuple:  # as the point measured it (a coarser tolerance where precision was lost)
        e = point.errors_by_input.get(name) or measure(point.autograd[name], point.symbolic[name],
                                                       getattr(torch, dtype, torch.float32))
        return (not e.agree, math.inf if math.isnan(e.max_rel) else e.max_rel)  # NaN: a NaN met a number

    return max(point.symbolic, key=outside)


def mismatch_message(result: CaseResult, positions: Mapping[str, int] | None = None) -> str:
    """Why `assert_agrees` failed: the case, the point, the input and both values, aligned.

    `positions` gives, for inputs whose names were invented (`torch.sin` or
    `Cube.apply` name no parameters: x, y, ... by position), which
    positional argument each is, so that the message says so.
    """
    where = f"{display_path(result.file)}:{result.line}"
    head = f"compare: {result.name} ({where})"
    if result.compiled:
        head += f" through torch.compile (backend {result.compiled})"
    bad = [p for p in result.points if p.status != AGREE]
    if cannot_check(result):
        return f"{head} could not be checked:\n    {result.error}"
    if not bad:  # only a claim was disproven
        notes = [f"piece {p.index + 1}: {p.claim_note}" for p in result.pieces if p.claim == "disproven"]
        return "\n".join([f"{head}: the claim `expect` is not the exact gradient"] + [f"    {n}" for n in notes])
    disagree = [p for p in bad if p.status == DISAGREE]
    # a wrong gradient says more than a wrong Hessian: show one where there is one
    point = next((p for p in disagree if _gradient_differs(p)), disagree[0])
    others = len(bad) - 1
    checks = failing_checks(point)
    if checks and checks[0].mode != "check_backward_ad":  # reverse mode agrees: another mode is wrong
        if checks[0].mode == "check_rev_over_rev" and _hessian_differs(point):
            return _hessian_message(result, head, point, others)
        return _mode_message(result, head, point, others, checks[0])
    dtype = result.dtype or "float32"
    name = _worst_input(point, dtype)
    if point.errors.agree and point.errors64.agree and point.jacobian_differs:
        head += (": the gradient of out.sum() agrees, but the Jacobian does not (as for a backward that "
                 "ignores its incoming gradient, which out.sum() sets to ones)")
        lines = [head, f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}):"]
        lines += _lines([(f"input {n}", _values(v)) for n, v in point.inputs.items()])
        lines += jacobian_lines(point.jacobian_differs, result.parameters)
        if others:
            lines.append(_others(others, len(result.points)))
        return "\n".join(lines)
    lines = [f"{head}: autograd disagrees with the exact derivative in reverse mode",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), "
             f"gradient of out.sum() with respect to "
             f"{f'parameter {name!r}' if name in result.parameters else f'input {_input(name, positions)}'}:"]
    pairs = [(f"{'parameter' if n in result.parameters else 'input'} {n}", _values(v))
             for n, v in point.inputs.items()]
    pairs += [("exact (SymPy)", _values(point.symbolic[name])),
              (f"autograd {dtype}", _values(point.autograd[name]))]
    if dtype != "float64":
        pairs.append(("autograd float64", _values(point.autograd64[name])))
    pairs.append(("largest error", largest_error(point, name, dtype)))
    lines += _lines(pairs)
    if point.jacobian_differs:
        lines += jacobian_lines(point.jacobian_differs, result.parameters)
    if point.note:
        lines.append(f"  {point.note}")
    if others:
        lines.append(_others(others, len(result.points)))
    return "\n".join(lines)


def largest_error(point: PointResult, name: str, dtype: str) -> str:
    """`abs 4, rel 0.333, 4194304 ULP (float32); abs 4 (float64)` for one input at one point.

    ULPs only where they mean something (`figures`); the float64 run's error is added for a
    case in another dtype, and said as "the same" where it is the same figure."""
    errors = point.errors_by_input.get(name, point.errors)
    flipped = sign_flipped(point.autograd[name], point.symbolic[name], getattr(torch, dtype, torch.float32))
    ulp = ulp_text(errors, flipped)
    text = f"abs {errors.max_abs:.3g}, rel {errors.max_rel:.3g}" + (f", {ulp}" if ulp else "") + f" ({dtype})"
    if dtype == "float64":
        return text
    errors64 = point.errors64_by_input.get(name, point.errors64)
    same = f"{errors64.max_abs:.3g}" == f"{errors.max_abs:.3g}"
    return text + ("; the same abs in float64" if same else f"; abs {errors64.max_abs:.3g} (float64)")


JACOBIAN_SHOWN = 8
"""How many differing Jacobian entries a message lists."""


def jacobian_lines(entries: Sequence, parameters: Sequence[str] = (), limit: int = JACOBIAN_SHOWN) -> list[str]:
    """The differing Jacobian entries, one a line, in aligned labelled columns.

    The header names what the rows name: `d out[i] / d weight[j]` for a module's parameter
    `weight`, `d out[i] / d x[j]` for an input x (`parameters` tells the two apart)."""
    names = list(dict.fromkeys(e.input for e in entries))
    kinds = {"parameter" if n in parameters else "input" for n in names}
    rows = [("output", " or ".join(sorted(kinds)), "exact (SymPy)", "autograd float64")]
    rows += [(f"out{list(e.output)}", f"{e.input}{list(e.index)}", f"{e.exact:.10g}", f"{e.autograd:.10g}")
             for e in entries[:limit]]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = [f"  Jacobian entries {', '.join(f'd out[i] / d {n}[j]' for n in names)} that differ ({len(entries)}):"]
    lines += ["    " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    if len(entries) > limit:
        lines.append(f"    and {len(entries) - limit} more")
    return lines


def _others(others: int, total: int) -> str:
    """`  and 4 more of the 5 points differ`."""
    return f"  and {others} more of the {counted(total, 'point')} {'differs' if others == 1 else 'differ'}"


def _input(name: str, positions: Mapping[str, int] | None) -> str:
    """`'x'`, or `'y' (positional argument 2)` where the name was invented by position."""
    where = (positions or {}).get(name)
    return f"{name!r} (positional argument {where})" if where else repr(name)


def _gradient_differs(point: PointResult) -> bool:
    """Whether autograd's first derivatives (gradient, or Jacobian) are outside the tolerance."""
    return not (point.errors.agree and point.errors64.agree
                and (point.jacobian_errors is None or point.jacobian_errors.agree))


def _hessian_differs(point: PointResult) -> bool:
    h = point.hessian
    return h is not None and h.errors is not None and not h.errors.agree


ONLY_SECOND_ORDER = ("  A backward that is not itself differentiable (@once_differentiable, or computed "
                     "through .detach()\n  or numpy) gives this; if so, "
                     "check the gradient alone with order=1:\n  assert_agrees(..., order=1), or @case(..., order=1).")


def _mode_message(result: CaseResult, head: str, point: PointResult, others: int, check) -> str:
    """Reverse mode agrees and another mode does not (or cannot run): say which, with both values."""
    label = LABELS[check.mode]
    verb = "cannot run" if check.status == ERROR else "disagrees with the exact derivative"
    lines = [f"{head}: autograd's {label} mode {verb} (reverse mode agrees)" if check.mode != "check_undefined_grad"
             else f"{head}: autograd's backward fails the undefined-gradients check (reverse mode agrees)",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), {check.what}:"]
    pairs = [(f"input {n}", _values(v)) for n, v in point.inputs.items()]
    if check.errors is not None and check.exact is not None and check.autograd is not None:
        pairs += [("exact (SymPy)", _values(check.exact)), (f"autograd, {label}", _values(check.autograd)),
                  ("largest error", f"abs {check.errors.max_abs:.3g}, rel {check.errors.max_rel:.3g} (float64)")]
    lines += _lines(pairs)
    if check.note:
        lines.append(f"  {check.note}")
    if check.mode in SECOND_ORDER:
        lines.append(ONLY_SECOND_ORDER.replace("check the gradient alone with order=1", f"turn it off with "
                                               f"{check.mode}=False, or check the gradient alone with order=1"))
    if others:
        lines.append(_others(others, len(result.points)))
    return "\n".join(lines)


def _hessian_message(result: CaseResult, head: str, point: PointResult, others: int) -> str:
    """The gradient is right and only the second derivatives differ: say so, and how to check first order only."""
    h = point.hessian
    of = "out.sum()" if result.output_shape == () else "wᵀ out for a seeded w"
    what = (f"Hessian of {of} over all input entries (flattened, in input order)" if h.mode == "full"
            else f"Hessian-vector product H v of {of} along a seeded direction v")
    lines = [f"{head}: autograd's gradient agrees with the exact derivative, but its second derivatives do not "
             f"(reverse over reverse)",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), {what}:"]
    pairs = [(f"input {n}", _values(v)) for n, v in point.inputs.items()]
    pairs += [("exact (SymPy)", _values(h.exact)), ("autograd float64", _values(h.autograd)),
              ("largest error", f"abs {h.errors.max_abs:.3g}, rel {h.errors.max_rel:.3g} (float64)")]
    lines += _lines(pairs)
    lines.append(ONLY_SECOND_ORDER)
    if others:
        lines.append(_others(others, len(result.points)))
    return "\n".join(lines)
