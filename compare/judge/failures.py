"""What a mode's status is when torch cannot run the mode, with the custom Function to blame named.

As gradcheck: a custom Function without `jvp` under forward mode, or one that
`vmap` cannot run under a batched mode, is an error (torch cannot compute the
derivative at all; gradcheck raises); a backward marked `@once_differentiable`
under a second-order mode is a failed check (autograd gives no second
derivative where the exact one exists; gradgradcheck reports a mismatch), and
the page names the decorator instead of showing an all-zero Hessian.
"""
from __future__ import annotations

from ..context import CaseRun
from ..errors import one_line
from ..modes import LABELS, SECOND_ORDER
from ..records import DISAGREE, ERROR, CustomFunctions, ModeCheck, TorchFailure

__all__ = ["failed", "first_line", "ONCE", "BATCHED"]

BATCHED = ("check_batched_grad", "check_batched_forward_grad")
"""The modes that run under vmap, which a function must support."""

ONCE = "once_differentiable"
"""What torch's error says of a backward marked `@once_differentiable`, differentiated again."""


def first_line(exc: BaseException) -> str:
    """`Type: the message's first line`, cut to 200 characters."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def failed(mode: str, failure: TorchFailure, functions: CustomFunctions, run: CaseRun) -> ModeCheck:
    """The status of `mode` where torch could not run it (`failure`), with the custom Functions the case
    applies (`functions`) to blame (see the module's docstring)."""
    label, exc = LABELS[mode], failure.error
    once = functions.once_differentiable
    if mode in SECOND_ORDER and (once or ONCE in str(exc)):
        return ModeCheck(mode, DISAGREE, "second derivatives", note=(
            f"{label}: the backward of {_names(once) or 'a custom Function'} is marked @once_differentiable, "
            f"so autograd cannot differentiate it again (torch: {first_line(exc)}); check the gradient "
            f"alone with order=1 if it is not meant to be"))
    where = one_line(exc, run.case.file, run.case.line)
    if isinstance(exc, NotImplementedError) and functions.without_jvp:
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: {_names(functions.without_jvp)} has no jvp, so forward-mode AD cannot run it "
            f"(torch: {first_line(exc)}); give it a jvp staticmethod, or pass check_forward_ad=False (and no "
            f"forward-mode check)"))
    if functions.without_vmap and ("setup_context" in str(exc) or "vmap" in str(exc)):
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: vmap cannot run {_names(functions.without_vmap)} (torch: {first_line(exc)}); give it "
            f"setup_context and a vmap staticmethod or generate_vmap_rule = True, or turn off {mode}"))
    if mode in BATCHED:
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: vmap cannot run it (torch: {first_line(exc)}), as gradcheck's {mode} would say; "
            f"turn it off if the function is not meant to be batched"))
    return ModeCheck(mode, ERROR, label, note=f"{label}: torch could not compute it: {where}")
