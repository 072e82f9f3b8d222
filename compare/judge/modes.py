"""Every mode at one point: each mode's check against the exact values, and the point's status.

    check_modes(run, numbers, reference)                  -> (ModeCheck per mode, the page's Hessian)
    point_status(reverse, checks)                         -> the worst of the modes' statuses

The exact values they are held to (`records.Reference`) come from the exact stage
(`pieces.values.reference`), torch's numbers from stage 3 (`numeric.mode_numbers`), both
handed in: the judge runs nothing and derives nothing.

Reverse mode is judged as it always was (`judge.point_status`); the other modes
here (`first_order`, `second_order`), each in float64 on the case's own
function. A mode torch cannot run is judged by `failures`; at a kink every
mode by `mode_common.at_kink`. See `compare.modes` for what each mode is.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..context import CaseRun
from ..modes import LABELS, NOT_RUN
from ..records import AGREE, CONVENTION, ERROR, HessianCheck, ModeCheck, Reference, STATUSES, TorchFailure
from . import failures, first_order, second_order
from .mode_common import At, ModeNumbers
from .point_status import Status

__all__ = ["check_modes", "point_status", "reverse_check"]

_CHECKS = {**first_order.CHECKS, **second_order.CHECKS}


def check_modes(run: CaseRun, numbers: ModeNumbers, ref: Reference) -> tuple[tuple[ModeCheck, ...],
                                                                             HessianCheck | None, np.ndarray | None]:
    """Every mode the run checks but reverse mode, in `compare.modes.KEYWORDS` order, torch's `numbers`
    (`numeric.mode_numbers`) against the exact values `ref`; the reverse-over-reverse Hessian as the page
    shows it (None where that mode is off); and forward mode's Jacobian columns (m, n) where a mode ran
    them (for the oracles' table), else None."""
    w = run.w.reshape(-1) if run.w is not None else torch.ones(1, dtype=torch.float64)
    at = At(run, numbers, ref, w)
    found, hessian = [], None
    for mode in run.modes.on():
        if mode == "check_backward_ad":
            continue
        # a custom Function's saved float32 constant meets the float64 run: retried cast up, as reverse mode
        check = numbers.attempt(lambda: _CHECKS[mode](at))
        if isinstance(check, TorchFailure):  # torch cannot run the mode here: what gradcheck would raise
            check = failures.failed(mode, check, numbers.functions(), run)
        if isinstance(check, tuple):  # reverse over reverse: and the Hessian for the page
            check, hessian = check
        if check.status == ERROR and mode not in run.asked:  # only the run's default: shown, decides nothing
            check = dataclasses.replace(check, status=NOT_RUN)
        found.append(check)
    columns = at.cache.get("columns")
    return tuple(found), hessian, columns if isinstance(columns, np.ndarray) else None


def reverse_check(status: Status, what: str) -> ModeCheck:
    """Reverse mode's own status (`judge.point_status`) as a mode's check."""
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
