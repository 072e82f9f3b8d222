"""What every mode's check at one point shares: the exact values, the comparison, the rule at a kink.

`at_kink` is the one place that decides a mode's status at a nondifferentiable
point; `judged` the one place that turns a comparison into a mode's status.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

import numpy as np
import torch

from ..context import CaseRun
from ..modes import LABELS, SECOND_ORDER
from ..records import AGREE, CONVENTION, DISAGREE, CustomFunctions, ModeCheck, Reference, TorchFailure
from .. import kinks
from ..tolerances import TOLERANCES, Tolerance
from ..agreement import measure

__all__ = ["At", "ModeNumbers", "Quantity", "judged", "at_kink", "sum_tolerance"]

_F64 = TOLERANCES[torch.float64]


class ModeNumbers(Protocol):
    """Torch's numbers for the modes at one point, as the judge is given them (`numeric.mode_numbers`
    runs them when asked: some are needed only on some paths). All float64, over the flat input entries;
    H_w is the Hessian of wᵀ out. A run vmap cannot do gives its failure (`TorchFailure`) where the check
    has a way around it; the others raise, and `attempt` gives the mode's failure."""

    names: tuple[str, ...]
    size: int

    def by_input(self, flat: torch.Tensor) -> dict: ...

    def attempt(self, check: Callable[[], object]) -> object: ...

    def columns(self) -> np.ndarray | TorchFailure: ...  # J e_j for each j: (n, m)

    def forward(self, tangents: torch.Tensor) -> np.ndarray: ...  # J t per row: (k, m)

    def forward_one(self, t: torch.Tensor) -> np.ndarray: ...  # J t without vmap: (m,)

    def batched_forward(self, tangents: torch.Tensor) -> tuple[np.ndarray, np.ndarray]: ...  # (f(x), J t) per row

    def batched_vjp(self, cotangents: torch.Tensor) -> np.ndarray: ...  # wᵀ J per row: (k, n)

    def rev_over_rev(self, w: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, np.ndarray]: ...  # H_w v, J v

    def fwd_over_rev(self, w: torch.Tensor, on_x: torch.Tensor,
                     on_w: torch.Tensor) -> np.ndarray | TorchFailure: ...  # H_w t + Jᵀ s per row

    def fwd_over_rev_one(self, w: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> np.ndarray: ...

    def fwd_over_fwd(self, w: torch.Tensor, first: torch.Tensor,
                     second: torch.Tensor) -> np.ndarray | TorchFailure: ...  # wᵀ D²f[u, v] per pair

    def fwd_over_fwd_one(self, w: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> np.ndarray: ...

    def undefined_backward(self) -> np.ndarray | None | TorchFailure: ...

    def undefined_forward(self, name: str, tangents: Mapping[str, torch.Tensor]) -> np.ndarray: ...

    def functions(self) -> CustomFunctions: ...


@dataclass
class At:
    """One point, as every mode checked there sees it."""

    run: CaseRun
    numbers: ModeNumbers
    """Torch's numbers in each mode at the point."""
    ref: Reference
    w: torch.Tensor
    """w of wᵀ out, flat (m,): one 1 for a scalar output."""
    cache: dict = field(default_factory=dict)
    """Numbers two modes share (the vmapped jvp's columns: forward mode's and batched forward mode's)."""

    @property
    def u(self) -> torch.Tensor:
        """The run's one seeded direction (flat, unit length)."""
        return self.run.u

    @property
    def fwd(self) -> Reference:
        """The values forward-mode AD is held to (`Reference.forward`, or the reverse ones)."""
        return self.ref.forward or self.ref

    def on_basis(self, values: np.ndarray, axes: int = 1) -> np.ndarray:
        """Values over the flat input entries (on the last axis, and with `axes=2` on the first too)
        projected onto structured inputs' directions, as the exact values are (`compare.basis`)."""
        projection = self.run.basis.projection
        if projection is None:
            return values
        out = projection.apply(values, axis=-1)
        return projection.apply(out, axis=0) if axes == 2 else out

    @property
    def hessian(self) -> str:
        """What the second-order modes differentiate twice, as pages name it."""
        return "Hessian" if self.run.w is None else "Hessian of wᵀ out"


def sum_tolerance(terms: np.ndarray) -> Tolerance:
    """float64's tolerance for a sum of `terms` (a dot product): its rounding is relative to the sum of
    the terms' magnitudes, which cancellation can leave far above the sum itself."""
    return Tolerance(rtol=_F64.rtol, atol=_F64.atol + _F64.rtol * float(np.abs(terms).sum()))


_NOT_COMPARED = ("at a kink: PyTorch's rules give the derivatives of out.sum(), and this is wᵀ out's (or no rule "
                 "covers the kink); not compared")


@dataclass(frozen=True)
class Quantity:
    """What a mode's value is, as PyTorch's rules at a kink speak of it (`kinks.allowed`)."""

    kind: str
    """"gradient" (of out.sum(), flat), "columns" (J's columns summed over the outputs: out.sum()'s
    derivative along each e_j), "along" (out.sum()'s derivative along `direction`), "hessian" (the
    Hessian of a scalar output, flat), "hvp" (that Hessian times the run's u) or "uHu" (uᵀ H u)."""
    got: np.ndarray
    """The mode's value of it, float64."""
    direction: np.ndarray | None = None
    """For "along": the direction (n,), or one per value (k, n), flat over the input entries."""
    forward: bool = False
    """Computed by forward-mode AD through the ops' forward formulas (held to the rules as those give
    them, `kinks.PointKinks.forward`), not through their backward's."""


def at_kink(at: "At", mode: str, quantity: Quantity | None) -> tuple[str, object, str, np.ndarray] | None:
    """(status, errors or None, note, the value held to) of a mode at the point's kink, or None where the
    exact value decides (a bare piece boundary: the piece's derivatives are those of the branch that ran).

    The one decision of every mode at a kink: its quantity is held to the values PyTorch's rules allow
    there (`kinks.allowed`, through the point's kinked sites), as reverse mode's gradient is; a
    quantity the rules do not speak of (`quantity` None: the second derivatives of wᵀ out) is not
    compared."""
    kink = at.ref.kink
    second = mode in SECOND_ORDER
    if kink.allowed is None:  # undefined, and no rule covers it
        if second or quantity is None:
            return AGREE, None, _NOT_COMPARED, np.zeros(0)
        return DISAGREE, None, "at a kink no rule covers: autograd is finite, and no rule says what it should be", \
            np.zeros(0)
    if kink.sites is None:
        return None
    if quantity is None:
        return AGREE, None, _NOT_COMPARED, np.zeros(0)
    got = np.asarray(quantity.got, dtype=np.float64)
    want, free, tolerance = _allowed(at, kink, quantity, got)
    if kink.sites.infinite:  # a rule's inf times a zero tangent or cotangent: nan, the arithmetic's, not a rule's
        free = free | np.isnan(got)
    want = np.where(free, got, want)
    errors = measure(got, want, torch.float64, tolerance=tolerance)
    freed = " (entries through a rule's inf are any value: autograd multiplies it by zeros)" if free.any() else ""
    what = "second derivatives" if quantity.kind in ("hessian", "hvp", "uHu") else "derivatives"
    if errors.agree:  # the rules themselves are stated once, with reverse mode's verdict and in Kinks
        return CONVENTION, errors, f"at a kink: autograd's {what} are one of the values PyTorch's rules allow there" \
            f"{freed}", want
    return DISAGREE, errors, (f"at a kink: autograd's {what} are none of the values PyTorch's rules allow there "
                              f"({kink.rule})"), want


def _allowed(at: "At", kink, quantity: Quantity, got: np.ndarray) -> tuple[np.ndarray, np.ndarray, object]:
    """(the allowed value nearest `got`, which of its entries are free, the tolerance) for the quantity."""
    run, basis = at.run, at.run.basis
    sites = kink.sites.forward() if quantity.forward else kink.sites
    if quantity.kind == "gradient":
        near = _split(got, run.symbols)
        allowed = kink.allowed_near(near) if not quantity.forward else \
            kinks.allowed(sites, "gradient", near=near).mapped(kink.project or dict)
        # on structured inputs' directions, as reverse mode's
        return _flat(allowed.nearest(near, torch.float64), run.symbols), np.zeros(got.shape, bool), None
    if quantity.kind in ("along", "columns"):
        directions = list(np.atleast_2d(quantity.direction)) if quantity.kind == "along" else \
            list(basis.hessian(np.eye(got.size)) if basis.projection is not None else np.eye(got.size))
        found = [kinks.allowed(sites, "along", d, near={"u": v}) for d, v in zip(directions, np.atleast_1d(got))]
        want = np.array([a.nearest({"u": v}, torch.float64)["u"] for a, v in zip(found, np.atleast_1d(got))])
        free = np.array([bool(a.free["u"]) for a in found])
        terms = np.nan_to_num(np.abs(at.ref.gradient), nan=0.0, posinf=0.0, neginf=0.0)
        return want.reshape(got.shape), free.reshape(got.shape), \
            sum_tolerance(terms * np.abs(np.asarray(directions)).max(axis=0))
    if quantity.kind == "uHu":  # uᵀ(H u) for each H u the rules allow: the one nearest
        u = run.u.numpy()
        allowed = kinks.allowed(sites, "hvp", run.exact_u())
        values = [float(np.dot(u, v["Hv"])) for v in allowed.values]
        want = min(values, key=lambda v: abs(v - float(got)) if np.isfinite(v) else np.inf)
        free = bool((allowed.free["Hv"] & (u != 0)).any())
        return np.asarray(want), np.asarray(free), sum_tolerance(np.abs(u) * np.abs(allowed.values[0]["Hv"]))
    name = "H" if quantity.kind == "hessian" else "Hv"
    allowed = kinks.allowed(sites, quantity.kind, None if name == "H" else run.exact_u(), near={name: got})
    want = allowed.nearest({name: got}, torch.float64)[name]
    return basis.hessian(want), allowed.free[name], basis.hessian_tolerance()


def _flat(values: dict, symbols) -> np.ndarray:
    return np.concatenate([np.asarray(values[n], dtype=np.float64).reshape(-1) for n in symbols])


def _split(flat: np.ndarray, symbols) -> dict:
    sizes = np.cumsum([s.size for s in symbols.values()])[:-1]
    return {n: p.reshape(s.shape) for (n, s), p in zip(symbols.items(), np.split(flat, sizes))}


def judged(at: At, mode: str, what: str, got, want, *, tolerance: Tolerance | None = None,
           at_a_kink: Quantity | None | tuple = None) -> ModeCheck:
    """The mode's check: `got` against `want`, both float64 (and on structured inputs' directions:
    `At.on_basis`). At a kink, `at_a_kink` is what `at_kink` judges
    instead (the mode's `Quantity`, or None where the rules do not speak of it); a mode whose exact
    value does not depend on kinks passes `at_a_kink=()`."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if at.ref.kink is not None and at_a_kink != ():
        decided = at_kink(at, mode, at_a_kink)
        if decided is not None:
            status, errors, note, allowed = decided
            return ModeCheck(mode, status, what, allowed if allowed.size else want, got, errors, note)
    errors = measure(got, want, torch.float64, tolerance=tolerance or at.run.basis.hessian_tolerance())
    note = "" if errors.agree else f"{LABELS[mode]} differs from the exact derivative ({what})"
    return ModeCheck(mode, AGREE if errors.agree else DISAGREE, what, want, got, errors, note)


def replaced(check: ModeCheck, **changes) -> ModeCheck:
    """`check` with some fields changed."""
    return dataclasses.replace(check, **changes)
