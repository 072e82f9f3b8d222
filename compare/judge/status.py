"""A point's status, decided in one place, in the order the checks are made.

1. Autograd's runs took the piece's path, else `error` (the point is too
   close to a boundary for the exact side to stand for what ran).
2. Torch's float64 output is the exact output, else `error` (the symbolic
   run computed another function: randomness, an unmodelled option).
   Where the output is NaN, exactly and in torch, the function is not defined
   at the point: `error` if an input is infinite there (the point is outside
   the function's domain), else rule 5 below.
3. At a kink, `convention` when autograd gives what PyTorch's rule gives,
   else `disagree`.
4. Elsewhere `agree` when every comparison agrees, else `disagree`; at a
   point where the function is undefined, `convention` instead of
   `disagree` (PyTorch's rule 5: undefined, arbitrary).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..records import AGREE, CONVENTION, DISAGREE, ERROR
from . import kinks
from .verdict import FORWARD_TOLERANCE, Errors, Tolerance, measure, measure_all

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


def find_kink(piece, point, sites, symbols, exact_grad, autograd64) -> kinks.Kink | None:
    """Whether the point is on a kink, and if so what PyTorch's rules give there."""
    on = kinks.locate(sites, point)
    lines = kinks.boundaries(piece.decisions, point)
    undefined = any(bool(np.any(~np.isfinite(exact_grad[n]) & np.isfinite(autograd64[n]))) for n in exact_grad)
    if not (on or lines or undefined):
        return None
    ops = tuple(dict.fromkeys(s.rule.op for s in on))
    texts = [f"{s.rule.op}: {s.rule.text}" for s in {s.rule.op: s for s in on}.values()]
    if lines:
        ops += ("control flow",)
        texts.append(kinks.BOUNDARY_RULE + f" (line {', '.join(map(str, lines))})")
    if on:
        value = kinks.conventional(piece.output, sites, symbols, point)
    elif lines:
        value = exact_grad
    else:
        value = None
        ops += ("undefined",)
        texts.append("the exact derivative is undefined here and no rule in the table covers it")
    return kinks.Kink(ops=ops, rule="; ".join(texts), value=value)


def kink_status(kink: kinks.Kink, runs) -> Status:
    """`convention` when each (dtype, autograd run) gives what PyTorch's rules give at the kink, else `disagree`."""
    where = "at a kink of " + ", ".join(o for o in kink.ops if o != "undefined") if any(
        o != "undefined" for o in kink.ops) else "where the exact derivative is undefined"
    if kink.value is None:
        return Status(DISAGREE, f"{where}: autograd is finite, and no rule says what it should be")
    for dt, run in runs:
        if not measure_all(run.grads, kink.value, dt).agree:
            label = str(dt).replace("torch.", "")
            shown = "; ".join(f"{n}: autograd {_short(run.grads[n])}, rule {_short(kink.value[n])}"
                              for n in kink.value)
            return Status(DISAGREE, f"{where}: autograd ({label}) is not what PyTorch's rule gives ({shown})")
    return Status(CONVENTION, f"{where}: autograd follows PyTorch's rule (torch {kinks.TORCH})", kink.rule)


def comparison_status(compared: list[tuple[str, Errors | None]]) -> Status:
    """`agree` when every (label, errors) compared agrees; else `disagree`, naming the ones that do not."""
    failed = [name for name, e in compared if e is not None and not e.agree]
    if failed:  # a float64 case's two runs are one: name it once
        return Status(DISAGREE, "autograd differs from the exact derivative: " + ", ".join(dict.fromkeys(failed)))
    return Status(AGREE)


def _short(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=6, separator=", ", threshold=8)
