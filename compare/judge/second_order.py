"""The second-order modes at one point: reverse over reverse, forward over reverse, forward over forward.

Each is held to the Hessian of wᵀ out (w = 1 for a scalar output, the run's
seeded w otherwise; `Reference.second`): in full up to `HESSIAN_LIMIT`
entries, else H u along the run's direction u.

- reverse over reverse: backward passes through the backward g = Jᵀw, taken
  with create_graph and w requiring grad (as gradgradcheck): each gives a row
  of H and, with respect to w, a column of J, whose weighted sum is held to
  the exact Jᵀw. A backward that builds no graph gives zeros for both: a
  `@once_differentiable` or detached backward is caught even where the
  Hessian is zero.
- forward over reverse: one vmapped jvp through the backward: the columns
  H e_j, and Jᵀ1 from a tangent on w alone.
- forward over forward: one vmapped pair of nested jvps per Hessian entry, or
  uᵀ H u.

Where vmap cannot run the function, forward over reverse and forward over
forward are checked along u without it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..numeric import modes as runs
from ..records import AGREE, HessianCheck, ModeCheck
from . import failures
from .mode_common import At, judged, replaced, sum_tolerance
from .verdict import measure

__all__ = ["CHECKS"]


def _not_compared(at: At, mode: str) -> ModeCheck | None:
    """The mode's check where second derivatives are not compared (a kink, a Hessian taken locally at
    a kink), or None where they are."""
    if at.ref.second is None:
        return ModeCheck(mode, AGREE, "second derivatives", note=at.ref.second_note)
    if at.ref.kink is not None:
        return judged(at, mode, "second derivatives", np.zeros(0), np.zeros(0), at_a_kink=None)
    return None


def rev_over_rev(at: At) -> tuple[ModeCheck, HessianCheck]:
    mode = "check_rev_over_rev"
    if at.ref.second is None:
        return ModeCheck(mode, AGREE, "second derivatives", note=at.ref.second_note), \
            HessianCheck("skipped", None, None, None, at.ref.second_note)
    shape, want = at.ref.second
    rows = torch.eye(at.flat.x.numel(), dtype=torch.float64) if shape == "full" else at.u[None]
    hv, jv = runs.rev_over_rev(at.flat, at.w, rows)
    got_h = hv if shape == "full" else hv[0]
    skipped = _not_compared(at, mode)
    if skipped is not None:  # at a kink: shown, not compared
        return skipped, HessianCheck(shape, want, got_h, None, skipped.note)
    w, u = at.w.numpy(), at.u.numpy()
    if shape == "full":
        got_w, want_w, tolerance, what = jv @ w, at.ref.weighted, None, at.hessian
    else:
        got_w, want_w = np.dot(jv[0], w), np.dot(at.ref.weighted, u)
        tolerance, what = sum_tolerance(at.ref.weighted * u), f"{at.hessian} times u"
    hessian = measure(got_h, want, torch.float64)
    page = HessianCheck(shape, want, got_h, hessian)
    if hessian.agree and not measure(got_w, want_w, torch.float64, tolerance=tolerance).agree:
        check = judged(at, mode, "the backward's derivative in its incoming gradient", got_w, want_w,
                       tolerance=tolerance)
        once = failures.once_differentiable_functions(at.run, at.tensors)
        why = (f"the backward of {', '.join(c.__name__ for c in once)} is marked @once_differentiable" if once else
               "the backward is not differentiable in its incoming gradient (run outside autograd: "
               "@once_differentiable, detach, numpy)")
        return replaced(check, note=f"{check.note}: {why}"), page
    return judged(at, mode, what, got_h, want), page


def _columns_and_jt1(at: At, shape: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Forward over reverse: (H's columns as rows (or H u), Jᵀ1, how), batched where vmap can."""
    n, m = at.flat.x.numel(), at.w.numel()
    tangents = torch.eye(n, dtype=torch.float64) if shape == "full" else at.u[None]
    on_x = torch.cat([tangents, torch.zeros(1, n, dtype=torch.float64)])
    on_w = torch.cat([torch.zeros(len(tangents), m, dtype=torch.float64), torch.ones(1, m, dtype=torch.float64)])
    try:
        got = runs.fwd_over_rev(at.flat, at.w.reshape(_shape(at)), on_x, on_w)
        return got[:-1], got[-1], "one vmapped jvp"
    except Exception:  # vmap cannot run it: dual numbers through autograd.grad, as gradgradcheck, along u
        w = at.w.reshape(_shape(at))
        hu = runs.fwd_over_rev_one(at.run.case.fn, at.tensors, w, at.u, torch.zeros(m, dtype=torch.float64))
        jt1 = runs.fwd_over_rev_one(at.run.case.fn, at.tensors, w, torch.zeros(n, dtype=torch.float64),
                                    torch.ones(m, dtype=torch.float64))
        return hu[None], jt1, "jvps along u, as vmap could not run it"


def _shape(at: At) -> tuple:
    return tuple(at.run.w.shape) if at.run.w is not None else ()


def fwd_over_rev(at: At) -> ModeCheck:
    mode = "check_fwd_over_rev"
    skipped = _not_compared(at, mode)
    if skipped is not None:
        return skipped
    shape, want = at.ref.mixed or at.ref.second
    columns, jt1, how = _columns_and_jt1(at, shape)
    if shape == "full" and len(columns) == len(want):
        check = judged(at, mode, f"{at.hessian}, {how}", columns.T, want)
    else:
        if shape == "full":  # the full Hessian, asked along u
            want = want @ at.u.numpy()
        check = judged(at, mode, f"{at.hessian} times u, {how}", columns[0], want)
    if check.status != AGREE:
        return check
    along_w = judged(at, mode, f"the backward's derivative in its incoming gradient, {how}", jt1, at.ref.gradient)
    return along_w if along_w.status != AGREE else check


def fwd_over_fwd(at: At) -> ModeCheck:
    mode = "check_fwd_over_fwd"
    skipped = _not_compared(at, mode)
    if skipped is not None:
        return skipped
    shape, want = at.fwd.second
    n = at.flat.x.numel()
    if shape == "full":
        eye = torch.eye(n, dtype=torch.float64)
        try:
            got = runs.fwd_over_fwd(at.flat, at.w, eye.repeat_interleave(n, 0), eye.repeat(n, 1)).reshape(n, n)
            return judged(at, mode, f"{at.hessian}, one vmap of nested jvps", got, want)
        except Exception:  # vmap cannot run it: uᵀ H u by one pair of nested jvps
            want = want @ at.u.numpy()
    u = at.u.numpy()
    got = runs.fwd_over_fwd_one(at.flat, at.w, at.u, at.u)
    return judged(at, mode, f"uᵀ({at.hessian})u, nested jvps", got, np.dot(u, want),
                  tolerance=sum_tolerance(u * want))


CHECKS = {"check_rev_over_rev": rev_over_rev, "check_fwd_over_rev": fwd_over_rev, "check_fwd_over_fwd": fwd_over_fwd}
"""Each second-order mode's check, by keyword (reverse over reverse also gives the page's Hessian)."""
