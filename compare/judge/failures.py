"""What a mode's status is when torch cannot run the mode, with the custom Function to blame named.

As gradcheck: a custom Function without `jvp` under forward mode, or one that
`vmap` cannot run under a batched mode, is an error (torch cannot compute the
derivative at all; gradcheck raises); a backward marked `@once_differentiable`
under a second-order mode is a failed check (autograd gives no second
derivative where the exact one exists; gradgradcheck reports a mismatch), and
the page names the decorator instead of showing an all-zero Hessian.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ..context import CaseRun
from ..errors import one_line
from ..modes import LABELS, SECOND_ORDER
from ..numeric import modes as runs
from ..records import DISAGREE, ERROR, ModeCheck

__all__ = ["failed", "first_line", "own_vmap", "once_differentiable_functions", "ONCE", "BATCHED"]

BATCHED = ("check_batched_grad", "check_batched_forward_grad")
"""The modes that run under vmap, which a function must support."""

ONCE = "once_differentiable"
"""What torch's error says of a backward marked `@once_differentiable`, differentiated again."""

_ONCE_CODE = once_differentiable(lambda ctx: None).__code__


def once_differentiable_functions(run: CaseRun, tensors: dict) -> list[type]:
    """The custom Functions the case applies whose backward is marked `@once_differentiable`."""
    return [c for c in runs.functions_in(run.case.fn, tensors) if getattr(c.backward, "__code__", None) is _ONCE_CODE]


def first_line(exc: BaseException) -> str:
    """`Type: the message's first line`, cut to 200 characters."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


def _names(classes) -> str:
    return ", ".join(c.__name__ for c in classes)


def failed(mode: str, exc: BaseException, run: CaseRun, tensors: dict) -> ModeCheck:
    """The status of `mode` where running it raised `exc` (see the module's docstring)."""
    label = LABELS[mode]
    functions = runs.functions_in(run.case.fn, tensors)
    once = once_differentiable_functions(run, tensors)
    if mode in SECOND_ORDER and (once or ONCE in str(exc)):
        return ModeCheck(mode, DISAGREE, "second derivatives", note=(
            f"{label}: the backward of {_names(once) or 'a custom Function'} is marked @once_differentiable, "
            f"so autograd cannot differentiate it again (torch: {first_line(exc)}); check the gradient "
            f"alone with order=1 if it is not meant to be"))
    where = one_line(exc, run.case.file, run.case.line)
    no_jvp = [c for c in functions if c.jvp is torch.autograd.Function.jvp]
    if isinstance(exc, NotImplementedError) and no_jvp:
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: {_names(no_jvp)} has no jvp, so forward-mode AD cannot run it (torch: {first_line(exc)}); "
            f"give it a jvp staticmethod, or pass check_forward_ad=False (and no forward-mode check)"))
    no_vmap = [c for c in functions if not _vmappable(c)]
    if no_vmap and ("setup_context" in str(exc) or "vmap" in str(exc)):
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: vmap cannot run {_names(no_vmap)} (torch: {first_line(exc)}); give it setup_context and "
            f"a vmap staticmethod or generate_vmap_rule = True, or turn off {mode}"))
    if mode in BATCHED:
        return ModeCheck(mode, ERROR, label, note=(
            f"{label}: vmap cannot run it (torch: {first_line(exc)}), as gradcheck's {mode} would say; "
            f"turn it off if the function is not meant to be batched"))
    return ModeCheck(mode, ERROR, label, note=f"{label}: torch could not compute it: {where}")


def own_vmap(cls: type) -> bool:
    """Has this Function a `vmap` staticmethod of its own (not a generated rule)?"""
    return cls.vmap is not torch.autograd.Function.vmap


def _vmappable(cls: type) -> bool:
    """Can torch.func transforms run this Function: a `setup_context`, and a `vmap` or a generated rule."""
    base = torch.autograd.Function
    has_context = getattr(cls, "setup_context", base.setup_context) is not base.setup_context
    return has_context and (getattr(cls, "generate_vmap_rule", False) or cls.vmap is not base.vmap)
