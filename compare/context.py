"""What every stage of one case's check shares: one record, made once, instead of threaded arguments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import sympy
import torch

from .case import Case
from .modes import Modes
from .exact.graph.tape import Tape
from .basis import Basis
from .plan import Plan
from .sampling import tensor_point
from .exact.sym import exact

__all__ = ["CaseRun"]


@dataclass(frozen=True)
class CaseRun:
    """One case as it is being checked."""

    case: Case
    dtype: torch.dtype
    """The case's dtype: its inputs', and so its autograd run's."""
    symbols: Mapping[str, np.ndarray]
    """Input name -> its SymPy symbols."""
    seed: int
    """The case's own seed (`sampling.case_seed`): its samples, the explorer's draws, the direction `u`."""
    u: torch.Tensor
    """The one direction of forward mode, finite differences and H v, drawn from `seed`: the exact
    side is taken along the same `u`, never another."""
    second: bool
    """Second derivatives are checked (some second-order mode is on)."""
    reverse: Callable
    """The function autograd's reverse mode runs: the case's own, or it through `torch.compile`."""
    plan: Plan
    """What is computed in full and what along `u` (`plan.decide`, from the inputs' sizes): every stage
    reads it, none decides it again."""
    modes: Modes = Modes()
    """The modes the case is checked in (`compare.modes.resolve`: the run's and the case's own)."""
    w: torch.Tensor | None = None
    """The seeded w of wᵀ out, for a non-scalar output (its shape, float64): the second-order modes
    differentiate wᵀ out, as gradgradcheck's random grad_outputs do; None for a scalar output (w = 1)."""
    oracles: bool = True
    """Finite differences (and forward mode, where it is not a checked mode) run where a reader looks."""
    asked: frozenset = frozenset()
    """The modes asked for by name (the case's own keywords): one torch cannot run is an error there,
    and `modes.NOT_RUN` where it is only the run's default."""
    basis: Basis = Basis()
    """What each derivative is compared on: structured inputs' directions, the precision each input's
    computation ran in (`compare.basis`), from what the symbolic runs observed."""
    tape: "Tape | None" = None
    """The traced graph of the case's symbolic runs, where its trees swell (`compare.exact.graph.tape`); None
    where it runs as trees."""

    def exact_u(self) -> list:
        """`u` as exact numbers, for the exact H v."""
        return [exact(x) for x in self.u.tolist()]

    def w_symbols(self) -> list:
        """The weights of wᵀ out as symbols ω_0, ω_1, ... (flattened), for the exact side: derived with
        them, alike terms stay alike (one derivative serves every output entry), and `at` gives them w's
        values. (Input symbols are named after their input, `x_0`: none is ω.)"""
        return [sympy.Symbol(f"ω_{i}", real=True) for i in range(self.w.numel())]

    def at(self, point: Mapping) -> Mapping:
        """An exact point with the values of the ω's (`w_symbols`) added, where the output is not a scalar."""
        if self.w is None:
            return point
        return {**point, **{s: exact(x) for s, x in zip(self.w_symbols(), self.w.reshape(-1).tolist())}}

    def tensors(self, point: Mapping) -> dict[str, torch.Tensor]:
        """An exact point as the case's inputs, in its dtype."""
        return tensor_point(point, self.symbols, self.dtype)
