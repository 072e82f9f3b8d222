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

from .. import derive
from ..context import CaseRun
from ..errors import one_line
from ..exact_values import local_hessian
from ..numeric import oracles
from ..records import HessianCheck, OracleResult
from ..sym import as_expr, detach, release
from .verdict import FD_TOLERANCE, Tolerance, combine, measure, measure_all, measure_each

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


def oracle_answers(run: CaseRun, output, tensors, point, exact_grad, reverse, columns=None) -> dict[str, Found]:
    """Every oracle at the point: exact, reverse (float64; `reverse` is its gradients and their
    per-input Errors), forward, finite differences. `output`: the piece's exact output, whose
    detach() calls explain forward mode and finite differences seeing through them. `columns`:
    forward mode's Jacobian columns (m, n) where a checked mode already computed them."""
    grads64, by_input64 = reverse
    found = {"symbolic": Found(OracleResult(values=exact_grad, errors=None)),
             "reverse": Found(OracleResult(values=grads64, errors=combine(by_input64.values()),
                                           errors_by_input=by_input64))}
    directional = sum(t.numel() for t in tensors.values()) > oracles.FULL_LIMIT
    want = exact_grad
    if directional:  # the exact derivative along u, to compare with forward mode's and FD's
        flat = np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols])
        want = {"u": np.asarray(math.fsum(flat * run.u.numpy()))}
    mode = "directional" if directional else "full"
    seen = None if directional else lambda got, tol=None: _sees_through_detach(output, run.symbols, point, got, tol)
    along_u = want if directional else {"u": np.asarray(math.fsum(
        np.concatenate([exact_grad[n].reshape(-1) for n in run.symbols]) * run.u.numpy()))}
    found["forward"] = _forward(run, tensors, (want, along_u), mode, seen,
                                (columns, tuple(output.shape)) if columns is not None and not directional else None)
    found["finite_difference"] = _finite_difference(run, tensors, want, mode, seen)
    return found


def _forward(run: CaseRun, tensors, wanted, mode: str, seen, columns=None) -> Found:
    """Forward mode's gradient against `wanted` (the exact one, and along u: where vmap cannot run the
    case, forward mode gives the derivative along u alone). `columns`: (the Jacobian's columns, the
    output's shape) where a checked mode already ran them."""
    try:
        fwd = oracles.from_columns(columns[0], tensors, columns[1]) if columns is not None \
            else oracles.forward_mode(run.case.fn, tensors, u=run.u)
    except Exception as exc:  # forward mode is optional for a custom Function (it needs a jvp)
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note=f"forward mode failed: {one_line(exc, run.case.file)}"))
    want = wanted[0]
    if "u" in fwd.grads and "u" not in want:
        want, mode, seen = wanted[1], "directional", None
    each = measure_each(fwd.grads, want, torch.float64)
    errors = combine(each.values())
    note = _DETACH_FORWARD if not errors.agree and seen is not None and seen(fwd.grads) else ""
    return Found(OracleResult(values=fwd.grads, errors=errors, errors_by_input=each, mode=mode, note=note),
                 fwd.jacobian)


def _finite_difference(run: CaseRun, tensors, want, mode: str, seen) -> Found:
    try:
        fd = oracles.finite_difference(run.case.fn, tensors, u=run.u)
    except Exception as exc:
        return Found(OracleResult(values=None, errors=None, mode=mode,
                                  note=f"finite differences failed: {one_line(exc, run.case.file)}"))
    own = fd.estimate if fd.estimate is not None and math.isfinite(fd.estimate) else 0.0  # NaN: no estimate
    tol = Tolerance(rtol=FD_TOLERANCE.rtol, atol=FD_TOLERANCE.atol + 10 * own)
    each = measure_each(fd.grads, want, torch.float64, tol)
    errors = combine(each.values())
    note = ""
    if fd.crossed:
        note = "a step crosses a piece boundary even when cut to a small size: the difference mixes pieces"
    if not errors.agree and seen is not None and seen(fd.grads, tol):
        note = _DETACH_FD
    return Found(OracleResult(values=fd.grads, errors=errors, errors_by_input=each, mode=mode,
                              estimate=fd.estimate, step=fd.step, note=note))


def _sees_through_detach(output, symbols, point, got: dict, tolerance=None) -> bool:
    """Do these values match the piece's derivative with every detach removed (and the output has one)?"""
    if not any(as_expr(o).has(detach) for o in output.flat):
        return False
    seen = {n: derive.evaluate(g, point) for n, g in
            derive.gradient(np.vectorize(release, otypes=[object])(output), symbols).items()}
    return measure_all(got, seen, torch.float64, tolerance).agree
