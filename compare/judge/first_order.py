"""The first-order modes beside reverse mode, at one point: forward, batched and undefined gradients.

- forward (`check_forward_ad`): the Jacobian, all its columns from one vmapped
  jvp, where the piece has one (a scalar output's is its gradient, up to
  `FULL_LIMIT` entries); else ∇(out.sum())·u by one jvp along the run's
  direction u, as gradcheck's fast mode. Where vmap cannot run the function,
  or its columns differ while one plain jvp along u agrees (vmap's batching
  is at fault, which batched forward mode reports), along u.
- batched forward (`check_batched_forward_grad`): the vmapped jvp's columns, or
  ∇·u and ∇·1 as two tangents of one vmap.
- batched reverse (`check_batched_grad`): the Jacobian's rows from one batched
  backward pass (`is_grads_batched`), or the gradients of 1ᵀ out and wᵀ out.
- undefined gradients (`check_undefined_grad`): the backward given undefined
  incoming gradients gives zeros (or None); with forward mode on, an input
  passed with no tangent among dual ones gives the other inputs' J t.
"""
from __future__ import annotations

import numpy as np
import torch

from ..records import AGREE, CONVENTION, DISAGREE, ModeCheck, TorchFailure
from . import failures
from .mode_common import At, Quantity, judged, replaced, sum_tolerance
from .point_status import forward_mismatch
from ..agreement import agreeing

__all__ = ["CHECKS"]


def _full(at: At) -> bool:
    jac = at.fwd.jacobian
    return jac is not None and at.run.plan.forward_columns(jac.shape[0])


def _matrix(at: At) -> str:
    return "gradient" if at.ref.jacobian is not None and at.ref.jacobian.shape[0] == 1 else "Jacobian"


def _columns(at: At) -> np.ndarray | TorchFailure:
    """The Jacobian's columns from one vmapped jvp (m, n), or vmap's failure (asked once, for forward mode
    and batched forward mode)."""
    if "columns" not in at.cache:
        found = at.numbers.columns()  # on structured inputs' directions: the columns J P, as the exact Jacobian's
        at.cache["columns"] = found if isinstance(found, TorchFailure) else at.on_basis(found.T)
    return at.cache["columns"]


def _along_u(at: At, mode: str) -> ModeCheck:
    """∇(out.sum())·u by one plain jvp along u (dual numbers, no vmap), against the exact ∇·u."""
    got = at.numbers.forward_one(at.u).sum()
    u = at.u.numpy()
    return judged(at, mode, "∇·u, one jvp", got, np.dot(at.fwd.gradient, u),
                  tolerance=sum_tolerance(at.fwd.gradient * u), at_a_kink=Quantity("along", got, u, forward=True))


def forward(at: At) -> ModeCheck:
    mode = "check_forward_ad"
    if not _full(at):
        return _along_u(at, mode)
    columns = _columns(at)
    if isinstance(columns, TorchFailure):
        check = _along_u(at, mode)
        note = f"vmap could not run it ({failures.first_line(columns.error)}): checked along one seeded direction u"
        return check if check.note else replaced(check, note=note)
    check = judged(at, mode, f"{_matrix(at)}, one vmapped jvp", columns, at.fwd.jacobian,
                   at_a_kink=Quantity("columns", columns.sum(axis=0), forward=True))
    if check.status != DISAGREE or at.ref.kink is not None:
        return check
    # the vmapped columns differ: the jvp, or vmap's batching of it? the first column that differs, by one
    # plain jvp, tells
    j = int(np.argmax(~agreeing(columns, at.fwd.jacobian, torch.float64).all(axis=0)))
    e = torch.zeros_like(at.u)
    e[j] = 1.0
    e = at.run.basis.direction(e)  # column j of J P is J (P e_j)
    plain = at.numbers.forward_one(e)
    if not agreeing(plain, at.fwd.jacobian[:, j], torch.float64).all():
        return check
    one = _along_u(at, mode)
    return one if one.status == DISAGREE else replaced(one, note=(
        f"the vmapped columns differ, and column {j + 1} by one plain jvp agrees: vmap's batching of the jvp is "
        f"at fault (batched forward mode), not the jvp; checked along u by one plain jvp"))


def batched_forward(at: At) -> ModeCheck:
    """One vmap of jvps over the tangents, the point unbatched, as gradcheck's: the Jacobian's columns
    (or ∇·u and ∇·1). Where the case applies a custom Function with a `vmap` rule of its own, also one
    vmap with the point batched, which runs that rule: its outputs must be the function's."""
    mode, ref = "check_batched_forward_grad", at.fwd
    u = at.u.numpy()
    if _full(at):
        columns = _columns(at)
        if isinstance(columns, TorchFailure):  # the mode fails as vmap does
            return failures.failed(mode, columns, at.numbers.functions(), at.run)
        check = judged(at, mode, f"{_matrix(at)}, one vmapped jvp", columns, ref.jacobian,
                       at_a_kink=Quantity("columns", columns.sum(axis=0), forward=True))
    else:
        ones = at.run.basis.direction(torch.ones_like(at.u))  # on structured inputs' directions, as u
        got = at.numbers.forward(torch.stack([at.u, ones])).sum(axis=1)
        want = np.array([np.dot(ref.gradient, u), np.dot(ref.gradient, ones.numpy())])
        check = judged(at, mode, "∇·u and ∇·1, one vmapped jvp", got, want,
                       tolerance=sum_tolerance(np.abs(ref.gradient) * (np.abs(u) + 1)),
                       at_a_kink=Quantity("along", got, np.stack([u, ones.numpy()]), forward=True))
    if check.status != AGREE or not at.numbers.functions().own_vmap:
        return check
    return _vmap_rule(at, check)


def _vmap_rule(at: At, check: ModeCheck) -> ModeCheck:
    """The function vmapped with the point batched (two copies, tangents u and 1): a custom Function's
    `vmap` rule then runs, and its outputs must be the function's."""
    outs, _ = at.numbers.batched_forward(torch.stack([at.u, torch.ones_like(at.u)]))
    wrong = next((row for row in outs if forward_mismatch(at.ref.output, row)), None)
    if wrong is None:
        return check
    shown = (f"shape {wrong.shape}, the function's {at.ref.output.shape}" if wrong.shape != at.ref.output.shape
             else f"{np.array2string(wrong, precision=6, threshold=8)}, the function's "
                  f"{np.array2string(at.ref.output, precision=6, threshold=8)}")
    return ModeCheck(check.mode, DISAGREE, "the function vmapped over copies of the point", at.ref.output, wrong,
                     note=f"vmap runs another function than the case (a custom Function's vmap rule): its output "
                          f"is {shown}")


def batched_grad(at: At) -> ModeCheck:
    mode, ref = "check_batched_grad", at.ref
    if ref.jacobian is not None:
        m = ref.jacobian.shape[0]
        rows, want = torch.eye(m, dtype=torch.float64), ref.jacobian
        if m == 1:  # a scalar output: a second cotangent, so that the batch is not one row of ones
            rows = torch.tensor([[1.0], [-0.5]], dtype=torch.float64)
            want = np.stack([want[0], -0.5 * want[0]])
        got = at.on_basis(at.numbers.batched_vjp(rows))
        return judged(at, mode, f"{_matrix(at)}, one batched backward", got,
                      want, at_a_kink=Quantity("gradient", got[0] if m == 1 else got.sum(axis=0)))
    if ref.weighted is None:  # wᵀ out's gradient is not derived: 1ᵀ out's and twice it, as one batch
        got = at.on_basis(at.numbers.batched_vjp(torch.stack([torch.ones_like(at.w), 2 * torch.ones_like(at.w)])))
        return judged(at, mode, "gradients of 1ᵀ out and 2ᵀ out, one batched backward", got,
                      np.stack([ref.gradient, 2 * ref.gradient]), at_a_kink=Quantity("gradient", got[0]))
    got = at.on_basis(at.numbers.batched_vjp(torch.stack([torch.ones_like(at.w), at.w])))
    return judged(at, mode, "gradients of 1ᵀ out and wᵀ out, one batched backward", got,
                  np.stack([ref.gradient, ref.weighted]), at_a_kink=Quantity("gradient", got[0]))


def undefined(at: At) -> ModeCheck:
    mode = "check_undefined_grad"
    what = "zeros, from undefined incoming gradients"
    got = at.numbers.undefined_backward()
    if isinstance(got, TorchFailure):
        return ModeCheck(mode, DISAGREE, what, note=(
            f"the backward fails when its incoming gradients are undefined ({failures.first_line(got.error)}); "
            f"PyTorch expects zeros or None then (derivatives.yaml, \"undefined output gradients\")"))
    n = at.numbers.size
    got = np.zeros(n) if got is None else got
    kink = at.ref.kink
    freed = np.isnan(got) & (kink is not None and kink.sites is not None and kink.sites.infinite)
    check = judged(at, mode, what, np.where(freed, 0.0, got), np.zeros(n), at_a_kink=())
    if freed.any() and check.status == AGREE:  # a Function's backward given zeros for undefined gradients
        check = replaced(check, autograd=got, status=CONVENTION, note=(
            "at a kink whose rule gives inf: the backward given zeros for undefined gradients multiplies them by "
            "that inf, and inf times 0 is nan, the arithmetic's, not a rule's"))
    if check.status == AGREE and at.run.modes.check_forward_ad and len(at.numbers.names) > 1:
        return _undefined_forward(at, check)
    return check


def _undefined_forward(at: At, backward: ModeCheck) -> ModeCheck:
    """Forward mode with each input in turn given no tangent: ∇·u with that input's part of u zero."""
    u = at.numbers.by_input(at.u)
    for name in at.numbers.names:
        masked = np.concatenate([np.zeros(v.numel()) if k == name else v.numpy().reshape(-1) for k, v in u.items()])
        got = at.numbers.undefined_forward(name, u).sum()
        check = judged(at, "check_undefined_grad", f"forward mode with input {name!r} given no tangent", got,
                       np.dot(at.fwd.gradient, masked), tolerance=sum_tolerance(at.fwd.gradient * masked),
                       at_a_kink=Quantity("along", got, masked, forward=True))
        if check.status == DISAGREE:
            return check
    return backward


CHECKS = {"check_forward_ad": forward, "check_batched_forward_grad": batched_forward,
          "check_batched_grad": batched_grad, "check_undefined_grad": undefined}
"""Each first-order mode's check, by keyword."""
