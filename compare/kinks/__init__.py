"""Nondifferentiable points, and the rules PyTorch documents for them.

At a kink (relu at 0, hardswish at 3, a tie in a max, a norm at the zero
vector, a piece boundary) the derivative does not exist, and SymPy, autograd
and finite differences each give a defensible, different answer. PyTorch's
autograd notes ("Gradients for non-differentiable functions") say what
autograd gives there, applied to each elementary op and chained:

1. differentiable at the point: the gradient;
2. locally convex: the subgradient of minimum norm;
3. locally concave: the supergradient of minimum norm;
4. defined: the gradient by continuity (inf possible), any one if several;
5. undefined: arbitrary.

Some ops document their own behaviour on top (`table.TABLE`: clamp passes
the gradient at its bounds, cummax follows the index it returns, ...).

The sites are the ops autograd runs (`compare.symbolic.heads` records them
at the dispatcher, each output entry a head), and each site's rule follows
from its mathematics (`local.analyse`: the op's local function, the pieces
that meet at the point, their one-sided derivatives, convex or concave),
whatever the symbolic side decomposed it into. A site's rule gives a set of
allowed partials; the chain rule through every combination gives the set of
allowed gradients (`chain`). Autograd is a `convention` when it is one of
them, and a hand-written backward that is wrong only at the kink is still
`disagree`. The same sets govern the Hessian and forward mode at the point.

For another mode's check, ask `allowed(kinks, point, quantity)`: at this
point, what values may this quantity take? (None: no kink there, the exact
value decides.)

The rules are those of the torch version named in `TORCH`; they change
between releases, so every verdict that rests on them carries it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .chain import Allowed, Chain
from .local import analyse
from .located import PieceKinks, PointKinks, boundaries
from .record import RULES, LocalRule
from .several import CAP
from .table import TABLE

__all__ = ["TORCH", "RULES", "TABLE", "CAP", "BOUNDARY_RULE", "Kink", "Allowed", "Chain", "LocalRule", "PieceKinks",
           "PointKinks", "analyse", "boundaries", "allowed"]

TORCH = torch.__version__
"""The torch whose documented rules the table states (and whose autograd is checked)."""

BOUNDARY_RULE = ("control flow: autograd differentiates the branch that ran, so on a piece boundary "
                 "it gives that piece's one-sided derivative")


@dataclass(frozen=True)
class Kink:
    """Why a point is not a point of differentiability, and what PyTorch's rules give there."""

    ops: tuple[str, ...]
    """The ops whose kinks the point lies on (or "control flow" for a piece boundary)."""
    rule: str
    """The rules that decide autograd's value, joined into one sentence."""
    allowed: Allowed | None
    """The gradients of out.sum() the rules allow (float64); None when no rule covers the kink."""
    sites: PointKinks | None = None
    """The kinked sites, for the other derivatives at the point; None at a bare piece boundary."""
    project: Callable | None = None
    """How gradients are mapped before they are compared (onto structured inputs' directions), if they are."""

    @property
    def first_order(self) -> bool:
        """Whether the gradient itself is at a kink (else only second derivatives are: elu at 0)."""
        return self.sites is None or self.sites.first_order

    def allowed_near(self, got: dict) -> Allowed | None:
        """The gradients the rules allow, the one closest to `got` among them where the combinations of
        the sites' choices were too many to try them all."""
        if self.sites is None or self.allowed is None or not self.allowed.capped:
            return self.allowed
        found = self.sites.gradient(near=got)
        return found.mapped(self.project) if self.project is not None else found


def allowed(sites: PointKinks | None, quantity: str, direction=None, near: dict | None = None) -> Allowed | None:
    """At a point, what values may this quantity take under PyTorch's rules?

    `sites`: the point's kinked sites (`PieceKinks.at(point, second)`), None where there are none.
    `quantity`: "gradient" (of out.sum(), name -> array, as reverse and forward mode give it), "along"
    (the derivative along `direction`, a float array over the flattened inputs: forward mode's J u
    summed, as {"u": value}), "hessian" (the full Hessian of a scalar output, {"H": matrix}) or "hvp"
    (H `direction`, exact numbers, as {"Hv": vector}). `near`: the value being checked, in the same
    form; where the sites' choices combine in more ways than are tried, the combination closest to it
    is tried too. None: no site is kinked there, and the exact value decides. `Allowed.match(got,
    dtype)` then says whether `got` is one of them.
    """
    if sites is None:
        return None
    if quantity == "gradient":
        return sites.gradient(near)
    if quantity == "along":
        return sites.along(direction, near)
    if quantity == "hessian":
        return sites.hessian(near=near)
    if quantity == "hvp":
        return sites.hessian(direction, near)
    raise ValueError(f"no such quantity: {quantity!r}")
