"""Torch's numbers for every mode at one point, handed to the judge (`judge.modes.check_modes`).

Some of a mode's runs are needed only on some paths: one plain jvp along the
column that differs where the vmapped columns do, the function vmapped with
the point batched where a custom Function has a `vmap` rule of its own,
forward mode with one input given no tangent where the backward's undefined
gradients agree. So the judge is given a `ModeNumbers`, which runs them at
the point when asked (`numeric.modes`), and imports nothing from here.

A run torch cannot do is a number too. Where a check has a way around it
(vmap cannot run the function: one direction without it), the run gives the
failure as a `records.TorchFailure`; where the mode as a whole fails, the
run raises and `attempt` gives the mode's failure as one. What the failure is
blamed on, the custom Functions the case applies, is probed here
(`functions`).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ..records import CustomFunctions, TorchFailure
from . import modes as runs
from .runs import cast_up_on_mixed_dtypes

__all__ = ["ModeNumbers", "mode_numbers"]

_ONCE_CODE = once_differentiable(lambda ctx: None).__code__


class ModeNumbers:
    """Autograd's answers in every mode at one point, in float64, run on request (see the module)."""

    def __init__(self, fn: Callable, point: Mapping[str, torch.Tensor]):
        self._fn, self._point = fn, point
        self._flat = runs.flat_function(fn, point)

    @property
    def names(self) -> tuple[str, ...]:
        """The inputs' names, in order."""
        return self._flat.names

    @property
    def size(self) -> int:
        """n: the number of input entries."""
        return self._flat.x.numel()

    def by_input(self, flat: torch.Tensor) -> dict:
        """A flat vector over the input entries, split into the inputs by name."""
        return self._flat.unflat(flat)

    def attempt(self, check: Callable[[], object]) -> object:
        """`check()`, retried with tensors saved for backward cast up to float64 where it fails on mixed
        dtypes (a custom Function's saved float32 constant meets the float64 run, as reverse mode is
        retried: `runs.cast_up_on_mixed_dtypes`); the `TorchFailure` where torch cannot run it at all."""
        return _or_failure(cast_up_on_mixed_dtypes, check, torch.float64)

    def columns(self) -> np.ndarray | TorchFailure:
        """The Jacobian's columns J e_j (n, m) from one vmapped jvp, or the failure where vmap cannot run it."""
        return _or_failure(runs.forward, self._flat, torch.eye(self.size, dtype=torch.float64))

    def forward(self, tangents: torch.Tensor) -> np.ndarray:
        """J t for each row t (k, n): (k, m), one vmapped jvp."""
        return runs.forward(self._flat, tangents)

    def forward_one(self, t: torch.Tensor) -> np.ndarray:
        """J t by dual numbers, no vmap (as gradcheck's forward mode): (m,)."""
        return runs.forward_one(self._fn, self._point, t)

    def batched_forward(self, tangents: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(f(x), J t) for each row t, the point batched too, so that a custom Function's vmap rule runs."""
        return runs.batched_forward(self._flat, tangents)

    def batched_vjp(self, cotangents: torch.Tensor) -> np.ndarray:
        """wᵀ J for each row w (k, m): (k, n), one batched backward."""
        return runs.batched_vjp(self._flat, cotangents)

    def rev_over_rev(self, w: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(H_w v, J v) for each row v (k, n), by backward passes through the backward Jᵀw."""
        return runs.rev_over_rev(self._flat, w, rows)

    def fwd_over_rev(self, w: torch.Tensor, on_x: torch.Tensor, on_w: torch.Tensor) -> np.ndarray | TorchFailure:
        """H_w t + Jᵀ s for each row t of `on_x` and s of `on_w`, one vmapped jvp of a vjp: (k, n); or the
        failure where vmap cannot run it."""
        return _or_failure(runs.fwd_over_rev, self._flat, w, on_x, on_w)

    def fwd_over_rev_one(self, w: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> np.ndarray:
        """H_w t + Jᵀ s by dual numbers through autograd.grad, no vmap (as gradgradcheck): (n,)."""
        return runs.fwd_over_rev_one(self._fn, self._point, w, t, s)

    def fwd_over_fwd(self, w: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> np.ndarray | TorchFailure:
        """wᵀ D²f[u, v] for each row u of `first` and v of `second`, one vmap of nested jvps: (k,); or the
        failure where vmap cannot run it."""
        return _or_failure(runs.fwd_over_fwd, self._flat, w, first, second)

    def fwd_over_fwd_one(self, w: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> np.ndarray:
        """wᵀ D²f[u, v] by one pair of nested jvps, no vmap: a 0-d array."""
        return runs.fwd_over_fwd_one(self._flat, w, u, v)

    def undefined_backward(self) -> np.ndarray | None | TorchFailure:
        """The gradient the backward gives from undefined incoming gradients (None where it gives none),
        retried cast up as `attempt`; the failure where the backward raises."""
        return _or_failure(cast_up_on_mixed_dtypes, lambda: runs.undefined_backward(self._flat), torch.float64)

    def undefined_forward(self, name: str, tangents: Mapping[str, torch.Tensor]) -> np.ndarray:
        """J t with input `name` given no tangent and the others `tangents`: (m,)."""
        return runs.undefined_forward(self._fn, self._point, name, tangents)

    def functions(self) -> CustomFunctions:
        """The custom Functions the case's float64 run applies, and what each lacks (one run of the case)."""
        found = runs.functions_in(self._fn, self._point)

        def named(keep) -> tuple[str, ...]:
            return tuple(c.__name__ for c in found if keep(c))

        base = torch.autograd.Function
        return CustomFunctions(names=named(lambda c: True),
                               once_differentiable=named(lambda c: getattr(c.backward, "__code__", None) is _ONCE_CODE),
                               without_jvp=named(lambda c: c.jvp is base.jvp),
                               without_vmap=named(lambda c: not _vmappable(c)),
                               own_vmap=named(lambda c: c.vmap is not base.vmap))


def _or_failure(run: Callable, *args) -> object:
    """`run(*args)`, or the `TorchFailure` where torch raises: a mode torch cannot run is a number too."""
    try:
        return run(*args)
    except Exception as exc:
        return TorchFailure(exc)


def _vmappable(cls: type) -> bool:
    """Can torch.func transforms run this Function: a `setup_context`, and a `vmap` or a generated rule."""
    base = torch.autograd.Function
    has_context = getattr(cls, "setup_context", base.setup_context) is not base.setup_context
    return has_context and (getattr(cls, "generate_vmap_rule", False) or cls.vmap is not base.vmap)


def mode_numbers(fn: Callable, point: Mapping[str, torch.Tensor]) -> ModeNumbers:
    """The numbers of every mode at `point`, for the judge (the case as a function of its flat entries
    is built here: one run of the case)."""
    return ModeNumbers(fn, point)
