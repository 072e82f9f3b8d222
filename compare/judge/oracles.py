"""The other numeric answers at a point, measured against the exact values.

Forward mode and finite differences decide no status: they tell a reader
whether a disagreement is autograd's alone. Both are taken along the run's
one direction `u` when the inputs are too many for full columns, and the
exact side along the same `u`. Autograd's Hessian (or H v) is checked here too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .. import derive
from ..context import CaseRun
from ..errors import one_line
from ..exact_values import local_hessian
from ..numeric import oracles
from ..records import HessianCheck, OracleResult
from ..sym import as_expr, detach, release
from . import kinks
from .verdict import FD_TOLERANCE, Tolerance, combine, measure, measure_all, measure_each

__all__ = ["Found", "oracle_answers", "hessian_check"]


@dataclass(frozen=True)
class Found:
    """An oracle's result, with forward mode's Jacobian kept aside for the Jacobian check."""

    result: OracleResult
    jacobian: dict | None = None


_DETACH_FORWARD = ("forward mode matches the derivative with detach removed: torch.no_grad() does not stop "
                   "forward-mode AD (detach() does); this is not a failure")
_DETACH_FD = ("finite differences cannot see detach(): they match the derivative with detach "
              "removed, not autograd's; this is not a failure")


def oracle_answers(run: CaseRun, output, tensors, point, exact_grad, reverse, kink=None) -> dict[str, Found]:
    """Every oracle at the point: exact, reverse (float64; `reverse` is its gradients and their
    per-input Errors), forward, finite differences. `output`: the piece's exact output, whose
    detach() calls explain forward mode and finite differences seeing through them. At a kink
    (`kink`), forward mode is held to the values PyTorch's rules allow there, as reverse mode is."""
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
    allowed = None
    if ruled and not directional:
        allowed = kink.allowed_near
    elif ruled and kink.sites is not None:
        allowed = lambda got: kinks.allowed(kink.sites, "along", run.u.numpy(), near=got)  # noqa: E731
    found["forward"] = _forward(run, tensors, want, mode, seen, allowed)
    found["finite_difference"] = _finite_difference(run, tensors, want, mode, seen)
    return found


def _forward(run: CaseRun, tensors, want, mode: str, seen, allowed: Callable | None = None) -> Found:
    """Forward mode against `want`, or at a kink against `allowed(its values)`, the values the rules allow."""
    try:
        fwd = oracles.forward_mode(run.case.fn, tensors, u=run.u)
    except Exception as exc:  # forward mode is optional for a custom Function (it needs a jvp)
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note=f"forward mode failed: {one_line(exc, run.case.file)}"))
    grads = fwd.grads if mode == "directional" else run.basis.gradient(fwd.grads)  # u is on the basis already
    if allowed is not None:  # at a kink: the allowed value forward mode's is nearest to
        want = allowed(grads).nearest(grads, torch.float64)
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
    seen = {n: derive.evaluate(g, point) for n, g in
            derive.gradient(np.vectorize(release, otypes=[object])(output), symbols).items()}
    return measure_all(got, seen, torch.float64, tolerance).agree


_AT_A_KINK = "at a kink: the second derivative does not exist; not compared"
_AT_A_KINK_FORWARD = "at a kink: one of the values PyTorch's rules allow there"
_OFF_THE_RULES_FORWARD = "at a kink: none of the values PyTorch's rules allow there (measured against the nearest)"
_RULED = "at a kink: compared with the second derivatives PyTorch's rules allow there"
_FREE = (" (entries through a rule's inf are any value: autograd multiplies it by zeros, which gives nan; "
         "they show autograd's)")


def hessian_check(run: CaseRun, result, tensors, point, kink, exact_h=None, *, continued: bool = False,
                  shared: Callable[[], np.ndarray] | None = None) -> HessianCheck:
    """Autograd's Hessian (or H v) against the exact one. `exact_h`: the exact one at the point, when
    already evaluated; `continued`: it was taken by continuity (so it is the full Hessian, also where
    the piece's is taken locally); `shared`: the full Hessian from the float64 run's own graph
    (`numeric.oracles.gradient_and_hessian`), where it has one."""
    ruled = kink is not None and kink.sites is not None
    if continued:
        mode = "full"
    elif result.hessian_mode == "local":  # taken at each point (`exact_values.local_hessian`)
        if kink is not None:  # no smooth expression holds around a kink
            return HessianCheck("skipped", None, None, None, _AT_A_KINK)
        mode, exact_h = local_hessian(run, result, point)
    else:
        mode = result.hessian_mode
        if exact_h is None and not ruled:
            exact_h = derive.evaluate(result.hessian, point) if mode == "full" else \
                derive.hessian_vector_values(result.gradient, run.symbols, run.exact_u(), [point])[0]
    try:
        got = (_full(run, tensors, shared) if mode == "full"
               else oracles.autograd_hvp(run.case.fn, tensors, run.u))
    except Exception as exc:
        return HessianCheck(mode, exact_h, None, None, f"autograd could not compute it: {one_line(exc, run.case.file)}")
    if ruled:  # the Hessians the rules allow through the kinked sites: the one nearest autograd's
        name = "H" if mode == "full" else "Hv"
        allowed = kinks.allowed(kink.sites, "hessian", near={name: got}) if mode == "full" else \
            kinks.allowed(kink.sites, "hvp", run.exact_u(), near={name: got})
        exact_h = allowed.nearest({name: got}, torch.float64)[name]
    exact_h, got = run.basis.hessian(exact_h), run.basis.hessian(got)  # along structured inputs' directions
    if ruled:
        note = _RULED + (_FREE if allowed.free[name].any() else "")
        return HessianCheck(mode, exact_h, got, measure(got, exact_h, torch.float64,
                                                        tolerance=run.basis.hessian_tolerance()), note)
    if kink is not None and kink.allowed is None:
        return HessianCheck(mode, exact_h, got, None, _AT_A_KINK)
    return HessianCheck(mode, exact_h, got, measure(got, exact_h, torch.float64,
                                                    tolerance=run.basis.hessian_tolerance()))


def _full(run: CaseRun, tensors, shared) -> np.ndarray:
    """Autograd's full Hessian: from the float64 run's graph, or (where that fails, or there is
    none) from a run of its own, which reports the failure as it is."""
    if shared is not None:
        try:
            return shared()
        except Exception:
            pass
    return oracles.autograd_hessian(run.case.fn, tensors)
