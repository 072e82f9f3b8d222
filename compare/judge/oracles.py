"""The other numeric answers at a point, measured against the exact values.

Forward mode and finite differences decide no status: they tell a reader
whether a disagreement is autograd's alone. Both are taken along the run's
one direction `u` when the inputs are too many for full columns, and the
exact side along the same `u`. (Forward mode as a verdict, and the Hessians, are `judge.modes`.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..exact.differentiate import gradient

from ..exact.evaluate import evaluate
from ..context import CaseRun
from ..errors import one_line
from ..numeric import oracles
from ..records import OracleResult
from ..exact.sym import as_expr, detach, release
from . import kinks
from .verdict import FD_TOLERANCE, Tolerance, combine, measure_all, measure_each

__all__ = ["Found", "oracle_answers"]


@dataclass(frozen=True)
class Found:
    """An oracle's result, with forward mode's Jacobian kept aside for the Jacobian check."""

    result: OracleResult
    jacobian: dict | None = None


_DETACH_FORWARD = ("forward mode matches the derivative with detach removed: torch.no_grad() does not stop "
                   "forward-mode AD (detach() does); this is not a failure")
_DETACH_FD = ("finite differences cannot see detach(): they match the derivative with detach "
              "removed, not autograd's; this is not a failure")


def oracle_answers(run: CaseRun, output, tensors, point, exact_grad, reverse, kink=None,
                   columns=None) -> dict[str, Found]:
    """Every oracle at the point: exact, reverse (float64; `reverse` is its gradients and their
    per-input Errors), forward, finite differences. `output`: the piece's exact output, whose
    detach() calls explain forward mode and finite differences seeing through them. At a kink
    (`kink`), forward mode is held to the values PyTorch's rules allow there, as reverse mode is.
    `columns`: forward mode's Jacobian columns (m, n) where a checked mode already computed them."""
    grads64, by_input64 = reverse
    ruled = kink is not None and kink.first_order and kink.allowed is not None
    if ruled:  # at a kink reverse mode is held to the value the rules allow nearest to its own
        by_input64 = measure_each(grads64, kink.allowed_near(grads64).nearest(grads64, torch.float64), torch.float64)
    found = {"symbolic": Found(OracleResult(values=exact_grad, errors=None)),
             "reverse": Found(OracleResult(values=grads64, errors=combine(by_input64.values()),
                                           errors_by_input=by_input64, note=_ruled(by_input64) if ruled else ""))}
    directional = sum(t.numel() for t in tensors.values()) > oracles.FULL_LIMIT
    want = exact_grad
    if directional:  # the exact derivative along u, to compare with forward mode's and FD's
        flat = np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols])
        want = {"u": np.asarray(math.fsum(flat * run.u.numpy()))}
    mode = "directional" if directional else "full"
    seen = None if directional else lambda got, tol=None: _sees_through_detach(output, run.symbols, point, got, tol)
    along_u = want if directional else {"u": np.asarray(math.fsum(
        np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols]) * run.u.numpy()))}
    rule = _rule(run, kink) if ruled else None
    found["forward"] = _forward(run, tensors, (want, along_u), mode, seen, rule,
                                (columns, tuple(output.shape)) if columns is not None and not directional else None)
    found["finite_difference"] = _finite_difference(run, tensors, want, mode, seen)
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


def _forward(run: CaseRun, tensors, wanted, mode: str, seen, rule: Callable | None = None, columns=None) -> Found:
    """Forward mode's gradient against `wanted` (the exact one, and along u: where vmap cannot run the
    case, forward mode gives the derivative along u alone), or at a kink against the values the rules
    allow (`rule`, `_rule`). `columns`: (the Jacobian's columns, the output's shape) where a checked
    mode already ran them."""
    try:
        fwd = oracles.from_columns(columns[0], tensors, columns[1]) if columns is not None \
            else oracles.forward_mode(run.case.fn, tensors, u=run.u)
    except Exception as exc:  # forward mode is optional for a custom Function (it needs a jvp)
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note=f"forward mode failed: {one_line(exc, run.case.file)}"))
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


def _finite_difference(run: CaseRun, tensors, want, mode: str, seen) -> Found:
    if not all(bool(torch.isfinite(t).all()) for t in tensors.values()):
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note="an input is infinite here: a finite step cannot move it (-inf + h = -inf)"))
    try:
        fd = oracles.finite_difference(run.case.fn, tensors, u=run.u)
    except Exception as exc:
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note=f"finite differences failed: {one_line(exc, run.case.file)}"))
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


def _sees_through_detach(output, symbols, point, got: dict, tolerance=None) -> bool:
    """Do these values match the piece's derivative with every detach removed (and the output has one)?"""
    if not any(as_expr(o).has(detach) for o in output.flat):
        return False
    seen = {n: evaluate(g, point) for n, g in
            gradient(np.vectorize(release, otypes=[object])(output), symbols).items()}
    return measure_all(got, seen, torch.float64, tolerance).agree


_AT_A_KINK_FORWARD = "at a kink: one of the values PyTorch's rules allow there"
_OFF_THE_RULES_FORWARD = "at a kink: none of the values PyTorch's rules allow there (measured against the nearest)"
