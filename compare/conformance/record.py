"""The committed record of a conformance run over op_db (docs/opdb.json): its entries, read and written.

`compare.conformance` makes it; `compare.conformance.coverage` lists it in docs/ops.md;
tests/test_opdb.py holds the code to what it records as running.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

__all__ = ["STATUSES", "EXPECTED", "MODES_RECORD", "TORCH_ERRORS", "OpResult", "ModeResult", "counts", "load",
           "load_modes"]

STATUSES = ("runs", "disagrees", "unsupported", "error", "skipped")
"""An op's classification (skipped: no small sample)."""
EXPECTED = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "docs",
                                         "opdb.json"))
"""The committed record of the last full run: what docs/ops.md lists, what tests/test_opdb.py holds to."""


MODES_RECORD = os.path.join(os.path.dirname(EXPECTED), "conformance.json")
"""The committed record of the last full run in every mode but reverse (docs/conformance.json), from which
docs/conformance.md is generated."""


TORCH_ERRORS = {
    "as_strided_scatter": "torch's backward is wrong here: it sends the input's gradient to the entries "
                          "the source overwrites and none to those it keeps (op_db itself expects "
                          "its gradcheck to fail); tests/test_scatter.py pins both gradients",
    "nn.functional.hardsigmoid": "torch's float64 backward multiplies by 1/6 rounded to float32, 3e-8 "
                                 "relative off; tests/test_selections.py pins it",
    "normal": "torch's gradient of torch.normal(mean, std) is 0 while its sample is mean + std z for the z it "
              "drew (op_db skips its gradient tests: 'Gradients are incorrect!'): after torch.manual_seed(0), "
              "torch.normal(m, s).sum().backward() leaves m.grad == 0; tests/test_draws.py pins it",
    "normal.number_mean": "as for normal: torch.normal(2.7, s) is 2.7 + s z, and torch gives s.grad == 0 where it "
                          "is z; tests/test_draws.py pins it",
}
"""Entries that disagree because torch's own gradient is wrong, and how that was established."""


@dataclass(frozen=True)
class OpResult:
    """What one op_db entry gave."""

    name: str
    """`op.name`, with `.variant_test_name` when it has one (`max.reduction_with_dim`)."""
    status: str
    """One of STATUSES."""
    route: str
    """`direct` (every ATen op it reached has a meaning), `decomposition` (some went through
    PyTorch's decompositions), or empty when it did not run."""
    detail: str
    """Where it disagrees, which ATen op is unsupported, the error's first line, or the kink rule met."""
    samples: int
    """How many samples were run."""


@dataclass(frozen=True)
class ModeResult:
    """What one op_db entry gave in one mode (`compare.conformance.modes`)."""

    name: str
    """As `OpResult.name`."""
    mode: str
    """The mode's keyword (`check_forward_ad`, ...)."""
    status: str
    """One of STATUSES: "runs" (agrees, or follows a documented rule at a kink), "disagrees", "unsupported"
    (op_db says the op does not support the mode, or torch raises NotImplementedError), "error", "skipped"."""
    detail: str
    """Where it disagrees, or why it did not run."""
    samples: int
    """How many samples were run."""


def load_modes(path: str = MODES_RECORD) -> list[ModeResult]:
    """The committed results in every mode (empty when there is no record)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [ModeResult(**r) for r in json.load(f)["results"]]


def counts(results: Sequence[OpResult]) -> dict[str, int]:
    c = Counter(r.status for r in results)
    return {s: c.get(s, 0) for s in STATUSES}


def load(path: str = EXPECTED) -> list[OpResult]:
    """The committed results (empty when there is no record)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [OpResult(**r) for r in json.load(f)["ops"]]
