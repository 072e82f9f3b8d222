"""Stages 3 and 4 at one point of one piece: torch's numbers against the exact values, and the status.

Only the sequence is here: the exact values at the point from stage 2
(`pieces.values.compared_with`: the piece's formulas at the point, or their
limits where the formulas are 0/0), torch's numbers from stage 3 (`numeric`:
autograd's runs, `numeric.mode_numbers` for the other modes,
`numeric.oracles` for forward mode and finite differences), and the judge's
comparison of the two (`judge`). The case-dtype run is compared with the
piece; the float64 run with the function it computes (the same piece, or
`result.float64` where the case's constants differ in float64).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, replace

import numpy as np
import torch

from . import numeric
from .exact import continuity
from .context import CaseRun
from .pieces.values import (Compared, PointExact, PointToCheck, compared_with, reference as exact_reference,
                            released_gradient, with_forward)
from .explore import is_branch, path_key
from . import kinks
from .judge import modes
from .judge.modes import check_modes
from .judge.forward_and_fd import judge_oracles
from .numeric.oracles import gather
from .numeric.mode_numbers import mode_numbers
from .judge.point_status import (UNDEFINED_RULE, Status, comparison_status, find_kink, forward_mismatch, kink_status,
                           path_error, undefined_status)
from .agreement import agreeing, combine, measure, measure_each
from .pieces.derivatives import Derived
from .records import CONVENTION, DISAGREE, ERROR, JacobianEntry, MeasuredGradients, PointResult

__all__ = ["check_point"]


@dataclass(frozen=True)
class _Jacobians:
    errors: object = None
    forward: object = None
    differs: tuple = ()


def check_point(run: CaseRun, work: Derived, check: PointToCheck, values: PointExact) -> PointResult:
    """The point `check` of the piece `work`, in every mode the run checks, against `values`."""
    exact, exact64 = values.piece, values.float64
    tensors = run.tensors(check.point)
    ref = compared_with(run, work, work.result, check.point, exact)
    ref64 = ref if exact64 is None else compared_with(run, work, work.result.float64, check.point, exact64)
    raw = numeric.autograd_run(run.reverse, tensors, run.dtype)  # the notes' `==` reads it as autograd gave it
    low = _on_basis(run, raw)
    high = _on_basis(run, numeric.autograd_run(run.reverse, tensors, torch.float64))
    by_input = measure_each(low.grads, ref.exact.gradient, run.dtype, run.basis.tolerances(run.dtype))
    by_input64 = measure_each(high.grads, ref64.exact.gradient, torch.float64, run.basis.tolerances(torch.float64))
    errors, errors64 = combine(by_input.values()), combine(by_input64.values())
    kink = _on_basis_kink(run, find_kink(work.piece, check.point, work.kinks, run.second, ref.exact.gradient,
                                         high.grads))
    continued = ref64.continued is not None and ref64.continued.hessian is not None
    reference = exact_reference(run, ref64.result, ref64.exact, check.point, kink, continued)
    if work.forward is not None:
        reference = with_forward(run, reference, work.forward, values, check.point)
    checks, hessian, columns = check_modes(run, mode_numbers(run.case.fn, tensors), reference)
    found = oracle_answers(run, work.piece.output, tensors, check.point, ref64.exact.gradient,
                           MeasuredGradients(high.grads, by_input64), kink, columns) if check.informs else None
    jac = _jacobians(run, work, tensors, ref64, kink, found) if run.modes.check_backward_ad else _Jacobians()
    status, checks = _status(run, work, (low, high), ref64, kink, tensors, [
        (_label(run.dtype), errors), ("float64", errors64), ("Jacobian", jac.errors)], checks)
    return PointResult(origin=check.origin, piece=check.piece,
                       inputs={n: t.to(torch.float64).numpy() for n, t in tensors.items()},
                       symbolic=ref.exact.gradient, autograd=low.grads, autograd64=high.grads, errors=errors,
                       errors64=errors64, jacobian_errors=jac.errors, claim_exact=_claim(run, tensors, raw),
                       status=status.status, note=status.note,
                       oracles={name: o.result for name, o in found.items()} if found else None,
                       jacobian_forward_errors=jac.forward, hessian=hessian, rule=status.rule,
                       torch=kinks.TORCH if kink is not None or status.rule else None, errors_by_input=by_input,
                       errors64_by_input=by_input64, jacobian_differs=jac.differs,
                       by_continuity=_continuity_text(ref.continued or ref64.continued),
                       symbolic64=ref64.exact.gradient if exact64 is not None else None, modes=checks,
                       allowed=_allowed(kink),
                       within=exact.note or (exact64.note if exact64 is not None else ""))


def oracle_answers(run: CaseRun, output, tensors, point, exact_grad: dict, reverse: MeasuredGradients, kink,
                   columns) -> dict:
    """Forward mode and finite differences at the point (`numeric.oracles.gather`), judged beside the exact
    gradient and reverse mode's float64 run. `columns`: forward mode's Jacobian columns (m, n) where a
    checked mode ran them."""
    ran = (columns, tuple(output.shape)) if columns is not None and run.plan.columns else None
    gathered = gather(run.case.fn, tensors, run.u, run.plan.columns, ran=ran, file=run.case.file)
    return judge_oracles(run, gathered, exact_grad, reverse, kink,
                         released_gradient(run, output, point))


def _on_basis(run: CaseRun, found: numeric.AutogradRun) -> numeric.AutogradRun:
    """An autograd run's gradient as it is compared: projected onto structured inputs' directions."""
    return found if run.basis.projection is None else replace(found, grads=run.basis.gradient(found.grads))


def _on_basis_kink(run: CaseRun, kink: kinks.Kink | None) -> kinks.Kink | None:
    """The values PyTorch's rules allow at a kink, projected as the runs are."""
    if kink is None or kink.allowed is None or run.basis.projection is None:
        return kink
    return replace(kink, allowed=kink.allowed.mapped(run.basis.gradient), project=run.basis.gradient)


def _status(run: CaseRun, work: Derived, runs, ref64: Compared, kink, tensors, compared, checks) -> tuple:
    """(the point's status, every mode's check, reverse mode's first), in the order `judge.point_status`
    documents: a path or output that is not the piece's is an error for every mode, a point where the
    function is undefined is rule 5's for every mode; then each mode's own status, the worst deciding."""
    low, high = runs
    want = path_key([d for d in work.piece.decisions if is_branch(d)])  # autograd records Python branches only
    found = path_error(((_label(run.dtype), low), ("float64", high)), want)
    mismatch = forward_mismatch(ref64.exact.output, high.output, run.basis.output_tolerance()) if found is None \
        else None
    if found is not None or mismatch:
        return found or Status(ERROR, mismatch), checks
    reverse = undefined_status(ref64.exact.output, high.output, tensors, compared)
    if reverse is not None and reverse.status == ERROR:
        return reverse, checks
    ruled = None
    if reverse is not None:  # undefined there: rule 5 for every mode
        ruled = Status(CONVENTION, _UNDEFINED, UNDEFINED_RULE)
        checks = tuple(replace(c, status=CONVENTION, note=ruled.note) if c.status == DISAGREE else c for c in checks)
    elif kink is not None:
        reverse = kink_status(kink, ((run.dtype, low), (torch.float64, high)))
    else:
        reverse = comparison_status(compared)
    if not run.modes.check_backward_ad:
        return modes.point_status(checks, None, ruled), checks
    what = f"gradient of out.sum() in {_label(run.dtype)}" + (" and float64" if run.dtype != torch.float64 else "")
    checks = (modes.reverse_check(reverse, what + (", and the Jacobian" if compared[2][1] is not None else "")),
              ) + checks
    return modes.point_status(checks, reverse, ruled), checks


_UNDEFINED = ("where the function is undefined (its value is NaN): autograd's value is arbitrary there by PyTorch's "
              "rule 5, in every mode")


def _allowed(kink) -> tuple:
    """The gradients the rules allow at a kink, NaN where any value is (none off kinks)."""
    if kink is None or kink.allowed is None:
        return ()
    a = kink.allowed
    return tuple({n: np.where(a.free[n], np.nan, v[n]) for n in v} for v in a.values)


def _label(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _jacobians(run: CaseRun, work: Derived, tensors, ref64: Compared, kink, found) -> _Jacobians:
    """Autograd's (and forward mode's) Jacobian against the exact one, off kinks, where the piece has one."""
    if work.result.jacobian is None or (kink is not None and kink.first_order):
        return _Jacobians()
    want, tolerances = ref64.exact.jacobian, run.basis.tolerances(torch.float64) or {}
    auto_jac = run.basis.jacobian(numeric.jacobian_run(run.reverse, tensors))
    errors = combine([measure(auto_jac[n], want[n], torch.float64, tolerance=tolerances.get(n))
                      for n in work.result.jacobian])
    differs = () if errors.agree else _jacobian_differs(auto_jac, want, work.piece.output.shape, tolerances)
    forward = found["forward"] if found else None
    jac_forward = None
    if forward is not None and forward.jacobian is not None:
        got = run.basis.jacobian(forward.jacobian)
        jac_forward = combine([measure(got[n], want[n], torch.float64, tolerance=tolerances.get(n)) for n in want])
    return _Jacobians(errors, jac_forward, differs)


def _jacobian_differs(got: dict, want: dict, output_shape: tuple, tolerances: dict) -> tuple[JacobianEntry, ...]:
    """The entries of autograd's float64 Jacobian outside the tolerance, in row-major order."""
    found = []
    for name, exact_jac in want.items():
        bad = ~agreeing(got[name], exact_jac, torch.float64, tolerance=tolerances.get(name))
        for idx in zip(*np.nonzero(bad)):
            idx = tuple(int(i) for i in idx)
            found.append(JacobianEntry(output=idx[:len(output_shape)], input=name, index=idx[len(output_shape):],
                                       exact=float(exact_jac[idx]), autograd=float(got[name][idx])))
    return tuple(sorted(found, key=lambda e: (e.output, list(want).index(e.input), e.index)))


def _claim(run: CaseRun, tensors, low):
    """The notes' own check of the case's claim (`x.grad == claim`), or None where it makes none."""
    case = run.case
    if case.expect is None:
        return None
    takes_out = "out" in inspect.signature(case.expect).parameters
    out = torch.as_tensor(low.output).to(run.dtype) if takes_out else None
    return numeric.claim_exact(low.grads, numeric.claim_values(case.expect, tensors, run.dtype, out), run.dtype)


def _continuity_text(continued: continuity.Continued | None) -> str:
    """What the page says of a point whose exact values were taken by continuity ("" for none)."""
    if continued is None:
        return ""
    parts = []
    if continued.equality:
        parts.append("the output is taken as it is near this point (an `==` branch of measure zero set "
                     "aside for the branch it continues, or a `0**e` that is 0 all around it), and differentiated")
    if continued.entries:
        shown = ", ".join(continued.entries[:6]) + (", …" if len(continued.entries) > 6 else "")
        parts.append(f"the formula is 0/0 or 0·∞ here; its limit is the value ({shown})")
    return "by continuity: " + "; ".join(parts)
