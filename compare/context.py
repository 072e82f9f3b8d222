"""What every stage of one case's check shares: one record, made once, instead of threaded arguments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch

from .case import Case
from .exact.tape import Tape
from .judge.basis import Basis
from .points import tensor_point
from .sym import exact

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
    """The case's own seed (`points.case_seed`): its samples, the explorer's draws, the direction `u`."""
    u: torch.Tensor
    """The one direction of forward mode, finite differences and H v, drawn from `seed`: the exact
    side is taken along the same `u`, never another."""
    second: bool
    """Second derivatives are checked (order 2 and a scalar output)."""
    reverse: Callable
    """The function autograd's reverse mode runs: the case's own, or it through `torch.compile`."""
    basis: Basis = Basis()
    """What each derivative is compared on: structured inputs' directions, the precision each input's
    computation ran in (`judge.basis`), from what the symbolic runs observed."""
    tape: "Tape | None" = None
    """The traced graph of the case's symbolic runs, where its trees swell (`compare.exact.tape`); None
    where it runs as trees."""

    def exact_u(self) -> list:
        """`u` as exact numbers, for the exact H v."""
        return [exact(x) for x in self.u.tolist()]

    def tensors(self, point: Mapping) -> dict[str, torch.Tensor]:
        """An exact point as the case's inputs, in its dtype."""
        return tensor_point(point, self.symbols, self.dtype)
