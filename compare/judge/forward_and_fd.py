"""Forward mode's and finite differences' answers at a point (`numeric.oracles.gather`), measured
against the exact values.

Forward mode and finite differences decide no status: they tell a reader
whether a disagreement is autograd's alone. Both are taken along the run's
one direction `u` where the case's plan says so (`plan.Plan.columns`), and the
exact side along the same `u`. (Forward mode as a verdict, and the Hessians, are `judge.modes`.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..context import CaseRun
from ..records import MeasuredGradients, OracleResult
from .. import kinks
from ..tolerances import FD_TOLERANCE, Tolerance
from ..agreement import combine, measure_all, measure_each

__all__ = ["Found", "judge_oracles"]


@dataclass(frozen=True)
class Found:
    """An oracle's result, with forward mode's Jacobian kept aside for the Jacobian check."""

    result: OracleResult
    jacobian: dict | None = None


_DETACH_FORWARD = ("forward mode matches the derivative with detach removed: torch.no_grad() does not stop "
                   "forward-mode AD (detach() does); this is not a failure")
_DETACH_FD = ("finite differences cannot see detach(): they match the derivative with detach "
              "removed, not autograd's; this is not a failure")


def judge_oracles(run: CaseRun, gathered, exact_grad, reverse: MeasuredGradients, kink=None,
                  released=None) -> dict[str, Found]:
    """Every oracle at the point: exact, reverse (float64, measured), forward, finite differences (`gathered`: `numeric.oracles.Gathered`). At a kink
    (`kink`), forward mode is held to the values PyTorch's rules allow there, as reverse mode is.
    `released`: a callable giving the exact gradient with every detach() removed, where the piece's
    output holds one (`pieces.values.released_gradient`): forward mode and finite differences that match
    it see through detach(); None where it has none."""
    grads64, by_input64 = reverse.grads, reverse.errors
    ruled = kink is not None and kink.first_order and kink.allowed is not None
    if ruled:  # at a kink reverse mode is held to the value the rules allow nearest to its own
        by_input64 = measure_each(grads64, kink.allowed_near(grads64).nearest(grads64, torch.float64), torch.float64)
    found = {"symbolic": Found(OracleResult(values=exact_grad, errors=None)),
             "reverse": Found(OracleResult(values=grads64, errors=combine(by_input64.values()),
                                           errors_by_input=by_input64, note=_ruled(by_input64) if ruled else ""))}
    directional = not run.plan.columns
    want = exact_grad
    if directional:  # the exact derivative along u, to compare with forward mode's and FD's
        flat = np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols])
        want = {"u": np.asarray(math.fsum(flat * run.u.numpy()))}
    mode = "directional" if directional else "full"
    seen = None if directional or released is None else \
        lambda got, tol=None: measure_all(got, released(), torch.float64, tol).agree
    along_u = want if directional else {"u": np.asarray(math.fsum(
        np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols]) * run.u.numpy()))}
    rule = _rule(run, kink) if ruled else None
    found["forward"] = _forward(run, gathered, (want, along_u), mode, seen, rule)
    found["finite_difference"] = _finite_difference(run, gathered, want, mode, seen)
    return found


def _rule(run: CaseRun, kink) -> Callable:
    """At a kink: forward mode's values -> the values the rules allow for them (its gradient, or its
    derivative along u), or None where the exact value decides (along u at a bare piece boundary)."""
    def allowed(got: dict):
        if kink.sites is None:  # a bare piece boundary: the branch that ran
            return kink.allowed_near(got) if "u" not in got else None
        sites = kink.sites.forward()  # as forward mode's formulas give them (fmax at a tie)
        if "u" not in got:
            return kinks.allowed(sites, "gradient", near=got).mapped(kink.project or dict)
        return kinks.allowed(sites, "along", run.u.numpy(), near=got)

    return allowed


def _forward(run: CaseRun, gathered, wanted, mode: str, seen, rule: Callable | None = None) -> Found:
    """Forward mode's gradient against `wanted` (the exact one, and along u: where vmap cannot run the
    case, forward mode gives the derivative along u alone), or at a kink against the values the rules
    allow (`rule`, `_rule`)."""
    fwd = gathered.forward
    if fwd is None:
        return Found(OracleResult(values=None, errors=None, mode=mode, note=gathered.forward_note))
    want = wanted[0]
    if "u" in fwd.grads and "u" not in want:
        want, mode, seen = wanted[1], "directional", None
    grads = fwd.grads if mode == "directional" else run.basis.gradient(fwd.grads)  # u is on the basis already
    allowed = rule(grads) if rule is not None else None
    if allowed is not None:  # at a kink: the allowed value forward mode's is nearest to
        want = allowed.nearest(grads, torch.float64)
    each = measure_each(grads, want, torch.float64, None if mode == "directional" else
                        run.basis.tolerances(torch.float64))
    errors = combine(each.values())
    note = _DETACH_FORWARD if not errors.agree and seen is not None and seen(grads) else ""
    if allowed is not None:
        note = _ruled(each)
    return Found(OracleResult(values=grads, errors=errors, errors_by_input=each, mode=mode, note=note),
                 fwd.jacobian)


def _ruled(each: dict) -> str:
    """What an oracle's errors at a kink are measured against, and whether it gives an allowed value."""
    return _AT_A_KINK_FORWARD if all(e.agree for e in each.values()) else _OFF_THE_RULES_FORWARD


def _finite_difference(run: CaseRun, gathered, want, mode: str, seen) -> Found:
    fd = gathered.fd
    if fd is None:
        return Found(OracleResult(values=None, errors=None, mode=mode, note=gathered.fd_note))
    own = fd.estimate if fd.estimate is not None and math.isfinite(fd.estimate) else 0.0  # NaN: no estimate
    tol = Tolerance(rtol=FD_TOLERANCE.rtol, atol=FD_TOLERANCE.atol + 10 * own)
    grads = fd.grads if mode == "directional" else run.basis.gradient(fd.grads)
    each = measure_each(grads, want, torch.float64, tol)
    errors = combine(each.values())
    note = ""
    if fd.crossed:
        note = "a step crosses a piece boundary even when cut to a small size: the difference mixes pieces"
    if not errors.agree and seen is not None and seen(grads, tol):
        note = _DETACH_FD
    return Found(OracleResult(values=grads, errors=errors, errors_by_input=each, mode=mode,
                              estimate=fd.estimate, step=fd.step, note=note))


_AT_A_KINK_FORWARD = "at a kink: one of the values PyTorch's rules allow there"
_OFF_THE_RULES_FORWARD = "at a kink: none of the values PyTorch's rules allow there (measured against the nearest)"
