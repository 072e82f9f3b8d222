"""What a run asks of each case: one record, every default written here once.

    Options()                                # what `compare.check` asks by default
    Options(seed=1, samples=0, modes=EVERY)  # what `compare all --seed 1 --samples 0` asks

The front doors (`compare.check`, `assert_agrees`, the command line, the pytest plugin, the
benchmarks) build one `Options` and hand it to the engine (`engine.check_case`), which applies
a case's own declarations (`@case(samples=..., loop_bound=..., order=..., compile=..., check_...=)`)
in place of the run's, once per case (`for_case`); every later stage reads that record.
Their own defaults are read from here (`Options.samples`, ...), never written again.
Importable without torch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .modes import Modes, resolve

__all__ = ["Options", "for_case"]


@dataclass(frozen=True)
class Options:
    """How hard one run looks at each case; a case's own declarations win (`for_case`)."""

    seed: int = 0
    """The run's seed: each case's samples, directions and the explorer's draws come from it (through
    `sampling.case_seed`, with the case's name)."""
    samples: int = 4
    """Points drawn per case besides its example, where the case names no number."""
    loop_bound: int = 64
    """How often one branch site may be met on a path, where the case names no bound."""
    order: int = 2
    """The highest derivative order checked, where the case names none: 1 turns off every
    second-order mode (`modes.ORDER`), 2 leaves them as `modes` says."""
    epsilon: float = 1e-9
    """The probability budget of bounded loops: a side of a branch met again on a path is cut (and
    reported uncovered) once the region still reaching it is proven less likely than what is left
    of this budget, under the sampling distribution (`explore.paths`)."""
    timeout: float | None = 60.0
    """Seconds one case may take (None: no limit)."""
    compile: str | None = None
    """A `torch.compile` backend for autograd's reverse-mode runs, where the case names none (None: eager)."""
    oracles: bool = True
    """Run finite differences (and forward mode where it is not a checked mode) where a reader looks for
    them; they decide no status, so `assert_agrees`, whose message never shows them, leaves them out."""
    modes: Modes = Modes()
    """The modes checked where the case declares none (`compare.modes`): gradcheck's defaults here,
    every mode for `compare all` and `pytest --compare`."""


def for_case(options: Options, case: Any) -> Options:
    """`options` with what `case` (a `compare.case.Case`) declares in place of the run's choice: its
    samples, loop bound, order, `torch.compile` backend, and the modes it names (none of the
    second-order ones under `order=1`). A case with a `problem` is not checked, and its modes,
    which may be what is wrong with it, are left as the run's."""
    def own(declared, run):
        return run if declared is None else declared

    order = own(case.order, options.order)
    return dataclasses.replace(options, samples=own(case.samples, options.samples),
                               loop_bound=own(case.loop_bound, options.loop_bound), order=order,
                               compile=case.compile or options.compile,
                               modes=options.modes if case.problem else resolve(options.modes, case.modes, order))
