"""What every mode's check at one point shares: the exact values, the comparison, the rule at a kink.

`at_kink` is the one place that decides a mode's status at a nondifferentiable
point; `judged` the one place that turns a comparison into a mode's status.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..context import CaseRun
from ..modes import LABELS, SECOND_ORDER
from ..numeric import modes as runs
from ..records import AGREE, CONVENTION, DISAGREE, ModeCheck
from .verdict import TOLERANCES, Tolerance, measure

__all__ = ["Reference", "At", "judged", "at_kink", "sum_tolerance"]

_F64 = TOLERANCES[torch.float64]


@dataclass(frozen=True)
class Reference:
    """The exact values one point's modes are held to (float64, over the flat input entries)."""

    output: np.ndarray
    """The exact output (m,), rounded to float64."""
    gradient: np.ndarray
    """The gradient of out.sum() (n,)."""
    weighted: np.ndarray
    """The gradient of wᵀ out (n,): the gradient itself for a scalar output."""
    jacobian: np.ndarray | None
    """The Jacobian (m, n) where the piece has one (a scalar output's: its gradient as one row)."""
    second: tuple[str, np.ndarray] | None
    """("full", the Hessian of wᵀ out (n, n)) or ("directional", H u (n,)); None where not compared."""
    second_note: str = ""
    """Why second derivatives are not compared, where they are not."""
    kink: object = None
    """The point's kink (`judge.status.find_kink`: its rule and the rule's gradient), or None."""
    forward: "Reference | None" = None
    """Forward mode's own values where the output holds results made under `no_grad`, which forward-mode
    AD differentiates through (`pieces.ForwardPiece`); None where they are these."""
    mixed: tuple[str, np.ndarray] | None = None
    """Forward over reverse's second derivatives there (the reverse gradient, released the same way,
    differentiated); None where they are `second`."""


@dataclass
class At:
    """One point, as every mode checked there sees it."""

    run: CaseRun
    tensors: dict
    """The point, as the case's inputs."""
    flat: runs.Flat
    ref: Reference
    w: torch.Tensor
    """w of wᵀ out, flat (m,): one 1 for a scalar output."""
    cache: dict = field(default_factory=dict)
    """Runs two modes share (the vmapped jvp's columns: forward mode's and batched forward mode's)."""

    @property
    def u(self) -> torch.Tensor:
        """The run's one seeded direction (flat, unit length)."""
        return self.run.u

    @property
    def fwd(self) -> Reference:
        """The values forward-mode AD is held to (`Reference.forward`, or the reverse ones)."""
        return self.ref.forward or self.ref

    @property
    def hessian(self) -> str:
        """What the second-order modes differentiate twice, as pages name it."""
        return "Hessian" if self.run.w is None else "Hessian of wᵀ out"


def sum_tolerance(terms: np.ndarray) -> Tolerance:
    """float64's tolerance for a sum of `terms` (a dot product): its rounding is relative to the sum of
    the terms' magnitudes, which cancellation can leave far above the sum itself."""
    return Tolerance(rtol=_F64.rtol, atol=_F64.atol + _F64.rtol * float(np.abs(terms).sum()))


def at_kink(mode: str, kink, got: np.ndarray | None, along: np.ndarray | None = None) -> tuple[str, object, str]:
    """(status, errors or None, note) of a mode at a kink, from its gradient of out.sum() (`got`, or
    that gradient's value along `along` where the mode gave only that).

    The one decision of every mode at a kink. Until the rules say what each mode may give at each
    kink, every first-order mode is held to the rule's gradient (`Kink.value`, the value reverse
    mode is held to), and second derivatives, which do not exist there, are not compared, as the
    Hessian never was."""
    if mode in SECOND_ORDER or got is None:
        return AGREE, None, "at a kink: the second derivative does not exist; not compared"
    if kink.value is None:
        return DISAGREE, None, "at a kink no rule covers: autograd is finite, and no rule says what it should be"
    want = np.concatenate([np.asarray(kink.value[n], dtype=np.float64).reshape(-1) for n in kink.value])
    tolerance = None
    if along is not None:
        tolerance = sum_tolerance(want * along)
        want = np.asarray(np.dot(want, along))
    errors = measure(np.asarray(got, dtype=np.float64), want, torch.float64, tolerance=tolerance)
    if errors.agree:
        return CONVENTION, errors, f"at a kink: what PyTorch's rule gives ({kink.rule})"
    return DISAGREE, errors, f"at a kink: not what PyTorch's rule gives ({kink.rule})"


def judged(at: At, mode: str, what: str, got, want, *, tolerance: Tolerance | None = None,
           at_a_kink: tuple | None = None) -> ModeCheck:
    """The mode's check: `got` against `want`, both float64. At a kink, `at_a_kink` is what `at_kink`
    judges instead ((gradient of out.sum(), direction or None), or None for a second derivative);
    a mode whose exact value does not depend on kinks passes `at_a_kink=()`."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if at.ref.kink is not None and at_a_kink != ():
        status, errors, note = at_kink(mode, at.ref.kink, *(at_a_kink or (None,)))
        return ModeCheck(mode, status, what, want, got, errors, note)
    errors = measure(got, want, torch.float64, tolerance=tolerance)
    note = "" if errors.agree else f"{LABELS[mode]} differs from the exact derivative ({what})"
    return ModeCheck(mode, AGREE if errors.agree else DISAGREE, what, want, got, errors, note)


def replaced(check: ModeCheck, **changes) -> ModeCheck:
    """`check` with some fields changed."""
    import dataclasses

    return dataclasses.replace(check, **changes)
