"""The ways PyTorch differentiates, each checked as a verdict, under gradcheck's keyword names.

    Modes()                                  # gradcheck's and gradgradcheck's defaults
    Modes(check_forward_ad=True)             # forward mode too
    EVERY                                    # every mode: what `compare all` checks

One record says which modes a check runs; `compare.check`, `assert_agrees`
and `@case` take its fields as keywords (the names `gradcheck` and
`gradgradcheck` give them), the engine resolves a case's own against the
run's (`resolve`), and every later stage reads the one resolved record.
Importable without torch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Modes", "EVERY", "KEYWORDS", "SECOND_ORDER", "LABELS", "ORDER", "NOT_RUN", "resolve", "problem"]


@dataclass(frozen=True)
class Modes:
    """Which of autograd's modes are checked against the exact derivatives (True: checked).

    The defaults are gradcheck's (reverse mode and undefined gradients) and
    gradgradcheck's (reverse over reverse), so a test that swaps
    `gradcheck(f, x, check_forward_ad=True)` for `compare.assert_agrees(f, x,
    check_forward_ad=True)` checks what it checked, against exact values.
    """

    check_backward_ad: bool = True
    """Reverse mode: `torch.autograd.grad` of out.sum() in the case's dtype and in float64, and the
    Jacobian of a small non-scalar output (one vector-Jacobian product per output entry)."""
    check_forward_ad: bool = False
    """Forward mode: Jacobian-vector products J t (`torch.func.jvp`, all columns in one `vmap`), and a
    zero tangent giving a zero tangent, as gradcheck's `check_forward_ad` with `check_undefined_grad`."""
    check_rev_over_rev: bool = True
    """Reverse over reverse: the Hessian of wᵀ out (w = 1 for a scalar output, a seeded w otherwise) by
    a second backward pass, and that pass's derivative with respect to w (J v), as gradgradcheck's."""
    check_fwd_over_rev: bool = False
    """Forward over reverse: forward mode through the backward pass, x ↦ Jᵀw: columns H e_j and Jᵀ1."""
    check_fwd_over_fwd: bool = False
    """Forward over forward: nested jvps, the second derivatives of wᵀ out along pairs of directions."""
    check_batched_grad: bool = False
    """`vmap` over vector-Jacobian products (`is_grads_batched`), as gradcheck's `check_batched_grad`."""
    check_batched_forward_grad: bool = False
    """`vmap` over Jacobian-vector products, as gradcheck's `check_batched_forward_grad`: the vmap must
    run (a custom Function needs `vmap` or `generate_vmap_rule`) and give the exact columns."""
    check_undefined_grad: bool = True
    """A backward given undefined (None) incoming gradients (`torch._C._functions.UndefinedGrad`)
    gives zeros or None instead of failing, as gradcheck's `check_undefined_grad`."""

    def on(self) -> tuple[str, ...]:
        """The keywords of the modes that are checked, in the order of `KEYWORDS`."""
        return tuple(k for k in KEYWORDS if getattr(self, k))

    @property
    def second_order(self) -> bool:
        """Is any second-order mode checked (so the exact side derives second derivatives)?"""
        return any(getattr(self, k) for k in SECOND_ORDER)


KEYWORDS = tuple(f.name for f in dataclasses.fields(Modes))
"""Every mode's keyword, in the order pages and messages list them."""

SECOND_ORDER = ("check_rev_over_rev", "check_fwd_over_rev", "check_fwd_over_fwd")
"""The modes that check second derivatives: what `order=1` turns off."""

EVERY = Modes(**{k: True for k in KEYWORDS})
"""Every mode: what `compare all` and `pytest --compare` check, unless a case turns some off."""

LABELS = {"check_backward_ad": "reverse", "check_forward_ad": "forward",
          "check_rev_over_rev": "reverse over reverse", "check_fwd_over_rev": "forward over reverse",
          "check_fwd_over_fwd": "forward over forward", "check_batched_grad": "batched reverse",
          "check_batched_forward_grad": "batched forward", "check_undefined_grad": "undefined gradients"}
"""How pages, messages and summary lines name each mode."""

NOT_RUN = "not run"
"""A mode's status where torch cannot run it (a custom Function without `jvp`, an op without a
forward-mode formula) and nobody asked for it by name: only the run's default, as `compare all`'s
every mode. Shown with its reason; it decides nothing. Asked for (a keyword of `check`,
`assert_agrees` or `@case`), the same is an `error`, as gradcheck raises."""

ORDER = ("`order=1` is `check_rev_over_rev=False, check_fwd_over_rev=False, check_fwd_over_fwd=False`; "
         "`order=2` (the default) leaves the second-order modes as their keywords say")
"""How the older `order=` option maps onto the modes, as docstrings and errors say it."""


def resolve(run: Modes, declared: Mapping[str, bool], order: int) -> Modes:
    """The modes a case is checked in: the run's, replaced by those the case declares, and no
    second-order mode under `order=1`."""
    modes = dataclasses.replace(run, **dict(declared))
    if order < 2:
        modes = dataclasses.replace(modes, **{k: False for k in SECOND_ORDER})
    return modes


def problem(declared: Mapping[str, Any], order: Any) -> str | None:
    """Why these declared modes cannot be checked together, or None: a mode that is not a bool, or
    `order=1` beside a second-order mode asked for by name."""
    for key, value in declared.items():
        if not isinstance(value, bool):
            return f"{key} must be True or False, not {value!r}"
    asked = [k for k in SECOND_ORDER if declared.get(k)]
    if order == 1 and asked:
        return f"order=1 checks no second derivatives, yet {asked[0]}=True asks for them ({ORDER})"
    return None
