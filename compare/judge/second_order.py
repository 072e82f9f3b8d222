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

from ..records import AGREE, CONVENTION, HessianCheck, ModeCheck, TorchFailure
from .mode_common import At, Quantity, judged, replaced, sum_tolerance

__all__ = ["CHECKS"]


def _skipped(at: At, mode: str) -> ModeCheck | None:
    """The mode's check where second derivatives are not compared (`Reference.second_note`: a Hessian
    taken at each point, at a kink), or None where they are."""
    if at.ref.second is None:
        return ModeCheck(mode, AGREE, "second derivatives", note=at.ref.second_note)
    return None


def _second(at: At, shape: str, got: np.ndarray, kind: str = "", forward: bool = False) -> Quantity | None:
    """Second derivatives as the rules at a kink speak of them: a scalar output's Hessian (or H u, or
    uᵀ H u: `kind`; `forward`: by forward mode over forward mode); None for wᵀ out's, of which they do not."""
    if at.run.w is not None:
        return None
    return Quantity(kind or ("hessian" if shape == "full" else "hvp"), got, forward=forward)


def _first(at: At, got: np.ndarray, along_u: bool) -> Quantity | None:
    """The backward's derivative in its incoming gradient as the rules at a kink speak of it: Jᵀ1, the
    gradient of out.sum() (or its value along u); None for Jᵀw with w not 1."""
    if at.run.w is not None and not np.all(at.w.numpy() == 1):
        return None
    return Quantity("along", got, at.u.numpy()) if along_u else Quantity("gradient", got)


def rev_over_rev(at: At) -> tuple[ModeCheck, HessianCheck]:
    mode = "check_rev_over_rev"
    skipped = _skipped(at, mode)
    if skipped is not None:
        return skipped, HessianCheck("skipped", None, None, None, at.ref.second_note)
    shape, want = at.ref.second
    rows = torch.eye(at.numbers.size, dtype=torch.float64) if shape == "full" else at.u[None]
    hv, jv = at.numbers.rev_over_rev(at.w, rows)
    got_h = at.on_basis(hv, 2) if shape == "full" else at.on_basis(hv[0])
    w, u = at.w.numpy(), at.u.numpy()
    if shape == "full":
        got_w, want_w, tolerance, what = at.on_basis(jv @ w), at.ref.weighted, None, at.hessian
    else:
        got_w, want_w = np.dot(jv[0], w), np.dot(at.ref.weighted, u)
        tolerance, what = sum_tolerance(at.ref.weighted * u), f"{at.hessian} times u"
    check = judged(at, mode, what, got_h, want, at_a_kink=_second(at, shape, got_h))
    page = HessianCheck(shape, check.exact, got_h, check.errors, check.note if at.ref.kink is not None else "")
    if check.status not in (AGREE, CONVENTION):
        return check, page
    incoming = judged(at, mode, "the backward's derivative in its incoming gradient", got_w, want_w,
                      tolerance=tolerance, at_a_kink=_first(at, got_w, shape != "full"))
    if incoming.status in (AGREE, CONVENTION):
        return check, page
    once = at.numbers.functions().once_differentiable
    if once:
        why = f"the backward of {', '.join(once)} is marked @once_differentiable"
    elif not np.any(got_w) and np.any(want_w != 0):  # a backward run outside autograd gives no derivative at all
        why = "the backward is not differentiable in its incoming gradient (run outside autograd: detach, numpy)"
    else:  # a wrong value (at a kink, say) with a derivative there: the note says what differs
        return incoming, page
    return replaced(incoming, note=f"{incoming.note}: {why}"), page


def _columns_and_jt1(at: At, shape: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Forward over reverse: (H's columns as rows (or H u), Jᵀ1, how), batched where vmap can."""
    n, m = at.numbers.size, at.w.numel()
    tangents = torch.eye(n, dtype=torch.float64) if shape == "full" else at.u[None]
    on_x = torch.cat([tangents, torch.zeros(1, n, dtype=torch.float64)])
    on_w = torch.cat([torch.zeros(len(tangents), m, dtype=torch.float64), torch.ones(1, m, dtype=torch.float64)])
    w = at.w.reshape(_shape(at))
    got = at.numbers.fwd_over_rev(w, on_x, on_w)
    if not isinstance(got, TorchFailure):
        return got[:-1], got[-1], "one vmapped jvp"
    # vmap cannot run it: dual numbers through autograd.grad, as gradgradcheck, along u
    hu = at.numbers.fwd_over_rev_one(w, at.u, torch.zeros(m, dtype=torch.float64))
    jt1 = at.numbers.fwd_over_rev_one(w, torch.zeros(n, dtype=torch.float64), torch.ones(m, dtype=torch.float64))
    return hu[None], jt1, "jvps along u, as vmap could not run it"


def _shape(at: At) -> tuple:
    return tuple(at.run.w.shape) if at.run.w is not None else ()


def fwd_over_rev(at: At) -> ModeCheck:
    mode = "check_fwd_over_rev"
    skipped = _skipped(at, mode)
    if skipped is not None:
        return skipped
    shape, want = at.ref.mixed or at.ref.second
    columns, jt1, how = _columns_and_jt1(at, shape)
    jt1 = at.on_basis(jt1)
    if shape == "full" and len(columns) == len(want):
        got = at.on_basis(columns.T, 2)
        check = judged(at, mode, f"{at.hessian}, {how}", got, want, at_a_kink=_second(at, "full", got))
    else:
        if shape == "full":  # the full Hessian, asked along u
            want = want @ at.u.numpy()
        got = at.on_basis(columns[0])
        check = judged(at, mode, f"{at.hessian} times u, {how}", got, want, at_a_kink=_second(at, "directional", got))
    if check.status not in (AGREE, CONVENTION):
        return check
    along_w = judged(at, mode, f"the backward's derivative in its incoming gradient, {how}", jt1, at.ref.gradient,
                     at_a_kink=Quantity("gradient", jt1))
    return along_w if along_w.status not in (AGREE, CONVENTION) else check


def fwd_over_fwd(at: At) -> ModeCheck:
    mode = "check_fwd_over_fwd"
    skipped = _skipped(at, mode)
    if skipped is not None:
        return skipped
    shape, want = at.fwd.second
    n = at.numbers.size
    if shape == "full":
        eye = torch.eye(n, dtype=torch.float64)
        got = at.numbers.fwd_over_fwd(at.w, eye.repeat_interleave(n, 0), eye.repeat(n, 1))
        if not isinstance(got, TorchFailure):
            got = at.on_basis(got.reshape(n, n), 2)
            return judged(at, mode, f"{at.hessian}, one vmap of nested jvps", got, want,
                          at_a_kink=_second(at, "full", got, forward=True))
        want = want @ at.u.numpy()  # vmap cannot run it: uᵀ H u by one pair of nested jvps
    u = at.u.numpy()
    got = at.numbers.fwd_over_fwd_one(at.w, at.u, at.u)
    return judged(at, mode, f"uᵀ({at.hessian})u, nested jvps", got, np.dot(u, want),
                  tolerance=sum_tolerance(u * want), at_a_kink=_second(at, "directional", got, "uHu", forward=True))


CHECKS = {"check_rev_over_rev": rev_over_rev, "check_fwd_over_rev": fwd_over_rev, "check_fwd_over_fwd": fwd_over_fwd}
"""Each second-order mode's check, by keyword (reverse over reverse also gives the page's Hessian)."""
