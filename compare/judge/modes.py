"""Every mode at one point: the exact values they are held to, each mode's check, and the point's status.

    reference(run, result, exact, point, kink, continued) -> Reference
    check_modes(run, tensors, reference)                  -> (ModeCheck per mode, the page's Hessian)
    point_status(reverse, checks)                         -> the worst of the modes' statuses

Reverse mode is judged as it always was (`judge.status`); the other modes
here (`first_order`, `second_order`), each in float64 on the case's own
function. A mode torch cannot run is judged by `failures`; at a kink every
mode by `mode_common.at_kink`. See `compare.modes` for what each mode is.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..exact.differentiate import hessian_vector_values

from ..exact.evaluate import evaluate
from ..context import CaseRun
from ..exact_values import local_hessian
from ..modes import LABELS, NOT_RUN
from ..numeric import modes as runs
from ..numeric.runs import cast_up_on_mixed_dtypes
from ..records import AGREE, CONVENTION, ERROR, HessianCheck, ModeCheck, PieceResult, STATUSES
from . import failures, first_order, second_order
from .mode_common import At, Reference
from .status import Status

__all__ = ["Reference", "reference", "with_forward", "check_modes", "point_status", "reverse_check"]

_CHECKS = {**first_order.CHECKS, **second_order.CHECKS}


def _flat(values: dict, names) -> np.ndarray:
    return np.concatenate([np.asarray(values[n], dtype=np.float64).reshape(-1) for n in names])


def reference(run: CaseRun, result: PieceResult, exact, point, kink, continued: bool) -> Reference:
    """The exact values every mode at `point` is held to, from the piece's `exact` values there.

    `continued`: the Hessian was taken by continuity (so it is full, also where the piece's is taken
    at each point)."""
    names = list(run.symbols)
    gradient = _flat(exact.gradient, names)
    if exact.jacobian is not None:
        m = int(np.prod(result.output.shape, dtype=int))
        jacobian = np.concatenate([np.asarray(exact.jacobian[n], dtype=np.float64).reshape(m, -1) for n in names],
                                  axis=1)
    else:
        jacobian = gradient[None] if result.output.shape == () else None
    weighted = _flat(exact.weighted, names) if exact.weighted is not None else gradient if run.w is None else None
    second, note = None, ""
    if run.second:
        second, note = _second(run, result, exact, point, kink, continued)
    output = np.asarray(exact.output, dtype=np.float64).reshape(-1)
    return Reference(output, gradient, weighted, jacobian, second, note, kink)


def with_forward(run: CaseRun, ref: Reference, piece, exact: tuple, point) -> Reference:
    """`ref` with forward mode's own values (`pieces.ForwardPiece`, and its `exact` values: result, mixed)."""
    first, mixed = exact
    forward = reference(run, piece.result, first, point, ref.kink, False)
    second = _second(run, piece.mixed, mixed, point, ref.kink, False)[0] if piece.mixed is not None else None
    return dataclasses.replace(ref, forward=forward, mixed=second)


def _second(run: CaseRun, result: PieceResult, exact, point, kink, continued: bool) -> tuple:
    """(("full" or "directional", the exact Hessian of wᵀ out or H u), why not) at the point, on structured
    inputs' directions (`judge.basis`)."""
    if continued:
        return ("full", run.basis.hessian(np.asarray(exact.hessian))), ""
    if result.hessian_mode is None:  # a non-scalar output on the traced graph (`pieces._on_graph`)
        return None, "on the traced graph the second derivatives of wᵀ out are not taken; not compared"
    if result.hessian_mode == "local":  # taken at each point (`exact_values.local_hessian`)
        if kink is not None:  # no smooth expression holds around a kink
            return None, "at a kink: the second derivative does not exist; not compared"
        shape, values = local_hessian(run, result, point)
        return (shape, run.basis.hessian(np.asarray(values))), ""
    values = exact.hessian
    if values is None:
        values = evaluate(result.hessian, run.at(point)) if result.hessian_mode == "full" else \
            hessian_vector_values(result.gradient if result.weighted is None else result.weighted,
                                         run.symbols, run.exact_u(), [run.at(point)])[0]
    return (result.hessian_mode, run.basis.hessian(np.asarray(values))), ""


def check_modes(run: CaseRun, tensors: dict, ref: Reference) -> tuple[tuple[ModeCheck, ...], HessianCheck | None,
                                                                      np.ndarray | None]:
    """Every mode the run checks but reverse mode, in `compare.modes.KEYWORDS` order; the
    reverse-over-reverse Hessian as the page shows it (None where that mode is off); and forward mode's
    Jacobian columns (m, n) where a mode ran them (for the oracles' table), else None."""
    flat = runs.flat_function(run.case.fn, tensors)
    w = run.w.reshape(-1) if run.w is not None else torch.ones(1, dtype=torch.float64)
    at = At(run, tensors, flat, ref, w)
    found, hessian = [], None
    for mode in run.modes.on():
        if mode == "check_backward_ad":
            continue
        try:  # a custom Function's saved float32 constant meets the float64 run: retried cast up, as reverse mode
            check = cast_up_on_mixed_dtypes(lambda: _CHECKS[mode](at), torch.float64)
        except Exception as exc:  # torch cannot run the mode here: what gradcheck would raise, as a status
            check = failures.failed(mode, exc, run, tensors)
        if isinstance(check, tuple):  # reverse over reverse: and the Hessian for the page
            check, hessian = check
        if check.status == ERROR and mode not in run.asked:  # only the run's default: shown, decides nothing
            check = dataclasses.replace(check, status=NOT_RUN)
        found.append(check)
    columns = at.cache.get("columns")
    return tuple(found), hessian, columns if isinstance(columns, np.ndarray) else None


def reverse_check(status: Status, what: str) -> ModeCheck:
    """Reverse mode's own status (`judge.status`) as a mode's check."""
    return ModeCheck("check_backward_ad", status.status, what, note=status.note)


def point_status(checks: tuple[ModeCheck, ...], reverse: Status | None, ruled: Status | None = None) -> Status:
    """The point's status: the worst of its modes', with the note of the worst (the modes named).
    `ruled`: the point's `convention` where a rule holds for every mode (rule 5 where it is undefined)."""
    checks = tuple(c for c in checks if c.status != NOT_RUN)
    worst = max((c.status for c in checks), key=STATUSES.index, default=AGREE)
    if reverse is not None and reverse.status == worst:
        return reverse
    if worst == CONVENTION and ruled is not None:
        return ruled
    if worst in (AGREE, CONVENTION):
        rule = reverse.rule if reverse is not None else None
        return Status(worst, reverse.note if reverse is not None else "", rule)
    failing = [c for c in checks if c.status == worst]
    first, label = failing[0].note, LABELS[failing[0].mode]
    first = first if first.startswith(label) else f"{label}: {first or 'differs from the exact derivative'}"
    if len(failing) > 1:
        first = f"{worst} in {', '.join(LABELS[c.mode] for c in failing)}; {first}"
    return Status(worst, first)
