"""What is computed for one case, decided once from its sizes: the plan every stage reads.

A small case gets everything in full: the Jacobian, forward mode's and finite differences' every
entry, the Hessian over all input entries. Above the limits below the same checks are made along
the case's one seeded direction `u` (`∇·u`, `J u`, `H v`), as gradcheck's fast mode does; a large
gradient that holds max, abs or steps gets its Hessian at each point ("local"). The limits live
here and nowhere else; `decide` turns them into a `Plan`, kept on the run's context
(`context.CaseRun.plan`), and no other module compares a size with a limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import sympy

from .exact.sym import as_expr

__all__ = ["Plan", "decide", "FULL_LIMIT", "HESSIAN_LIMIT", "JACOBIAN_LIMIT", "LOCAL_HESSIAN_OPS"]

FULL_LIMIT = 64
"""Most input entries for which forward mode and finite differences give every entry."""

HESSIAN_LIMIT = 400
"""Most Hessian entries (inputs squared) for which the full Hessian is built and shown."""

JACOBIAN_LIMIT = 400
"""Largest output size x input size for which full Jacobians are built and shown."""

LOCAL_HESSIAN_OPS = 200
"""Size (SymPy operations, all gradient entries together) above which a gradient with kinked
heads (Max, Abs, Heaviside) gets its Hessian point by point, from `localize.localize`."""


@dataclass(frozen=True)
class Plan:
    """What one case's checks compute, in full or along `u`."""

    inputs: int
    """Input entries, all inputs together (a complex input's real and imaginary parts apart)."""
    columns: bool
    """Forward mode and finite differences give every entry of a scalar output's gradient (at most
    `FULL_LIMIT` input entries); else its derivative along `u`."""
    hessian: str
    """"full" (the Hessian over all input entries, at most `HESSIAN_LIMIT` of them squared) or
    "directional" (H v along `u`)."""

    @property
    def oracles(self) -> str:
        """How forward mode and finite differences are reported: "full" or "directional"."""
        return "full" if self.columns else "directional"

    @property
    def full_hessian(self) -> bool:
        """The Hessian is built over all input entries (else H v)."""
        return self.hessian == "full"

    def jacobian(self, output_shape: tuple) -> bool:
        """Is the exact Jacobian of an output of this shape built and shown (a non-scalar output, its
        size times the input entries at most `JACOBIAN_LIMIT`)?"""
        size = 1
        for n in output_shape:
            size *= n
        return bool(output_shape) and size * self.inputs <= JACOBIAN_LIMIT

    def forward_columns(self, outputs: int) -> bool:
        """Does forward mode run every column J e_j for an output of `outputs` entries? A non-scalar
        output's always (its Jacobian is small: `jacobian`), a scalar's up to `FULL_LIMIT` inputs."""
        return outputs > 1 or self.columns

    def piece_hessian(self, gradient: Iterable, localized: tuple) -> str:
        """A piece's Hessian mode from its gradient's entries: "local" where they hold one of the kinked
        heads `localized` (`exact.localize.LOCALIZED`) and are large (`diff` of a `Max` of many arguments, and of
        the `Heaviside`s it makes, takes seconds per entry), else the case's own (`hessian`)."""
        entries = list(gradient)
        if any(as_expr(e).has(*localized) for e in entries) and \
                sum(sympy.count_ops(e) for e in entries) > LOCAL_HESSIAN_OPS:
            return "local"
        return self.hessian


def decide(sizes: Iterable[int]) -> Plan:
    """The plan of a case whose inputs have these numbers of entries."""
    inputs = sum(sizes)
    return Plan(inputs=inputs, columns=inputs <= FULL_LIMIT,
                hessian="full" if inputs * inputs <= HESSIAN_LIMIT else "directional")
