"""A point's status, decided in one place, in the order the checks are made.

1. Autograd's runs took the piece's path, else `error` (the point is too
   close to a boundary for the exact side to stand for what ran).
2. Torch's float64 output is the exact output, else `error` (the symbolic
   run computed another function: randomness, an unmodelled option).
   Where the output is NaN, exactly and in torch, the function is not defined
   at the point: `error` if an input is infinite there (the point is outside
   the function's domain), else rule 5 below.
3. At a kink, `convention` when autograd gives one of the values PyTorch's
   rules allow (`compare.kinks`), else `disagree`.
4. Elsewhere `agree` when every comparison agrees, else `disagree`; at a
   point where the function is undefined, `convention` instead of
   `disagree` (PyTorch's rule 5: undefined, arbitrary).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..records import AGREE, CONVENTION, DISAGREE, ERROR, Errors
from .. import kinks
from ..tolerances import FORWARD_TOLERANCE, Tolerance
from ..agreement import measure

__all__ = ["Status", "path_error", "forward_mismatch", "undefined_status", "find_kink", "kink_status",
           "comparison_status", "UNDEFINED_RULE"]


@dataclass(frozen=True)
class Status:
    status: str
    """One of `records.STATUSES`."""
    note: str = ""
    """Why the status is not `agree`, in a sentence."""
    rule: str | None = None
    """At a kink where autograd follows PyTorch's rule: the rule."""


def _norm_path(path) -> tuple:
    return tuple(((site[0], site[1]), taken) for site, taken in path)


def _first_difference(a, b) -> int | str:
    for x, y in zip(_norm_path(a), _norm_path(b)):
        if x != y:
            return x[0][1]
    longer = a if len(a) > len(b) else b
    return longer[min(len(a), len(b))][0][1] if len(a) != len(b) else "?"


def path_error(runs, want) -> Status | None:
    """`error` when one of the (label, autograd run) pairs took another path than `want`."""
    for name, run in runs:
        if _norm_path(run.path) != _norm_path(want):
            line = _first_difference(run.path, want)
            return Status(ERROR, f"autograd's {name} run took another path than the exact value "
                                 f"(branch at line {line}); the point is too close to a boundary")
    return None


def forward_mismatch(exact_out: np.ndarray, torch_out: np.ndarray,
                     tolerance: Tolerance = FORWARD_TOLERANCE) -> str | None:
    """Why the symbolic run cannot stand for this case at the point, or None when the values match.

    Both runs execute the same code, so their outputs agree up to rounding,
    unless the code does what the symbolic side does not model: randomness,
    a write through a view, an option of an op. Only entries finite in both
    are compared (float64 may overflow where the exact value does not).
    """
    exact_out, torch_out = np.asarray(exact_out, dtype=np.float64), np.asarray(torch_out, dtype=np.float64)
    if exact_out.shape != torch_out.shape:
        return f"the symbolic output has shape {exact_out.shape}, torch's {torch_out.shape}"
    both = np.isfinite(exact_out) & np.isfinite(torch_out)
    if not both.any():
        return None
    found = measure(torch_out[both], exact_out[both], torch.float64, tolerance=tolerance)
    if found.agree:
        return None
    i = tuple(int(j) for j in np.argwhere(both)[found.worst[0]])
    where = f" at entry {list(i)}" if i else ""
    return (f"the symbolic run and torch compute different outputs{where} (exact {exact_out[i]:.7g}, torch "
            f"{torch_out[i]:.7g} in float64): the case draws random numbers, writes through a view in "
            f"place or uses an option of an op that the symbolic side does not model, or rounding "
            f"swallows its value in float64; its exact derivative is not checked against this run")


UNDEFINED_RULE = ("undefined: the function's value is NaN here, exactly and in torch, so no derivative exists; "
                  "PyTorch's rule 5 (undefined: arbitrary) allows whatever autograd gives")
"""The rule a point where the function itself is undefined is judged by."""


def undefined_status(exact_out: np.ndarray, torch_out: np.ndarray, point: dict[str, torch.Tensor],
                     compared: list[tuple[str, Errors | None]]) -> Status | None:
    """The status at a point where the function is undefined (an output NaN both exactly and in torch's
    float64 run: `c ** e` for c < 0 and e not whole, `sin(inf)`); None where it is defined.

    An infinite input there is named: the point lies outside the function's domain. Elsewhere
    nothing autograd gives there is wrong (rule 5); what agrees anyway (NaN with NaN) stays `agree`.
    """
    exact_out, torch_out = np.asarray(exact_out, dtype=np.float64), np.asarray(torch_out, dtype=np.float64)
    if exact_out.shape != torch_out.shape or not (np.isnan(exact_out) & np.isnan(torch_out)).any():
        return None
    for name, t in point.items():
        infinite = torch.isinf(t).nonzero()
        if len(infinite):
            where = f" at {infinite[0].tolist()}" if t.dim() else ""
            value = t[tuple(infinite[0].tolist())].item()
            return Status(ERROR, f"input {name!r} is {value}{where}, where the function is not defined (its "
                                 f"value is NaN there): an infinite input is checked only where the function "
                                 f"has a value")
    found = comparison_status(compared)
    if found.status == AGREE:
        return found
    return Status(CONVENTION, "where the function is undefined (its value is NaN): autograd's value is "
                              "arbitrary there by PyTorch's rule 5", UNDEFINED_RULE)


def find_kink(piece, point, sites, second: bool, exact_grad, autograd64) -> kinks.Kink | None:
    """Whether the point is on a kink, and if so what PyTorch's rules give there.

    `sites`: the piece's kinks (`kinks.PieceKinks`); the sites kinked at the
    point (at the first order, or with `second` also the second) decide the
    gradient, a piece boundary of the case's own branches leaves it to the
    branch that ran, and an undefined exact value with no rule is named as such.
    """
    at = sites.at(point, second)
    lines = kinks.boundaries(piece.decisions, point, sites.owned(point))
    undefined = any(bool(np.any(~np.isfinite(exact_grad[n]) & np.isfinite(autograd64[n]))) for n in exact_grad)
    if at is None and not lines and not undefined:
        return None
    ops, texts = (at.ops, at.texts) if at is not None else ((), [])
    if lines:
        ops += ("control flow",)
        texts.append(kinks.BOUNDARY_RULE + f" (line {', '.join(map(str, dict.fromkeys(lines)))})")
    if at is not None:
        allowed = at.gradient(near=autograd64)
    elif lines:
        allowed = kinks.Allowed(values=(exact_grad,), free={n: np.zeros(g.shape, dtype=bool) for n, g in
                                                             exact_grad.items()}, combinations=1)
    else:
        allowed = None
        ops += ("undefined",)
        texts.append("the exact derivative is undefined here and no rule covers it")
    return kinks.Kink(ops=ops, rule="; ".join(texts), allowed=allowed, sites=at)


def kink_status(kink: kinks.Kink, runs, hessian=None) -> Status:
    """`convention` when each (dtype, autograd run) gives a gradient PyTorch's rules allow at the kink (and
    its Hessian, where checked, one they allow), else `disagree`, naming the op, the rule and both values."""
    named = [o for o in kink.ops if o != "undefined"]
    where = "at a kink of " + ", ".join(named) if named else "where the exact derivative is undefined"
    if kink.allowed is None:
        return Status(DISAGREE, f"{where}: autograd is finite, and no rule says what it should be")
    for dt, run in runs:
        if kink.allowed_near(run.grads).match(run.grads, dt) is None:
            label = str(dt).replace("torch.", "")
            shown = "; ".join(f"{n}: autograd {_short(run.grads[n])}, the rules allow {_allowed(kink.allowed, n)}"
                              for n in kink.allowed.values[0])
            return Status(DISAGREE, f"{where}: autograd ({label}) is not what PyTorch's rules give ({shown}); "
                                    f"the rules: {kink.rule}{_capped(kink.allowed)}")
    if hessian is not None and hessian.errors is not None and not hessian.errors.agree:
        return Status(DISAGREE, f"{where}: autograd's second derivatives are not what PyTorch's rules give "
                                f"(the rules: {kink.rule}){_capped(kink.allowed)}")
    allowed = "; ".join(f"{n} = {_allowed(kink.allowed, n)}" for n in kink.allowed.values[0])
    return Status(CONVENTION, f"{where}: autograd follows PyTorch's rules (torch {kinks.TORCH}), which allow "
                              f"the gradient of out.sum() {allowed}{_capped(kink.allowed)}", kink.rule)


def _allowed(allowed: kinks.Allowed, name: str) -> str:
    """The values the rules allow for one input's gradient: one array, or several joined by "or"."""
    shown = []
    for v in allowed.values:
        a = np.where(allowed.free[name], np.nan, v[name])
        text = _short(a)
        if text not in shown:
            shown.append(text)
    free = " (nan: any value)" if allowed.free[name].any() else ""
    return " or ".join(shown) + free


def _capped(allowed: kinks.Allowed) -> str:
    return (f" (of {allowed.combinations} combinations of the sites' choices, the first {kinks.CAP} and the one "
            "closest to autograd's were tried)") if allowed.capped else ""


def comparison_status(compared: list[tuple[str, Errors | None]]) -> Status:
    """`agree` when every (label, errors) compared agrees; else `disagree`, naming the ones that do not."""
    failed = [name for name, e in compared if e is not None and not e.agree]
    if failed:  # a float64 case's two runs are one: name it once
        return Status(DISAGREE, "autograd differs from the exact derivative: " + ", ".join(dict.fromkeys(failed)))
    return Status(AGREE)


def _short(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=6, separator=", ", threshold=8)
