"""How far a computed value may be from the exact one, keyed by dtype: the data every comparison
(`compare.agreement`) and every basis (`compare.basis`) reads. The rule they enter is `compare.agreement`'s."""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Tolerance", "TOLERANCES", "FD_TOLERANCE", "FORWARD_TOLERANCE", "looser"]


@dataclass(frozen=True)
class Tolerance:
    """How far a value may be from the exact one: atol * scale + rtol * |exact| (module docstring)."""

    rtol: float
    """Relative to the entry's own exact value."""
    atol: float
    """Absolute, for a derivative of magnitude at most 1; multiplied by the derivative's magnitude above."""


# float64's rtol sits between two kinds of error: above the worst of torch's own float64 kernels
# measured (its trigamma, which digamma's backward calls, is 4.9e-10 relative off at 1.1352,
# against mpmath at 30 digits), and below what a float32 number inside a float64 computation
# costs (torch's float64 hardsigmoid backward uses 1/6 rounded to float32: 3e-8 relative).
TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(rtol=1e-9, atol=1e-12),
    torch.float32: Tolerance(rtol=1e-5, atol=1e-6),
    torch.float16: Tolerance(rtol=1e-2, atol=1e-3),
    torch.bfloat16: Tolerance(rtol=2e-2, atol=1e-2),
}
# A complex gradient is compared part by part, real and imaginary, each a number of the
# dtype of the parts: complex64 is held to float32's tolerance and counted in float32's ULPs.
TOLERANCES[torch.complex64] = TOLERANCES[torch.float32]
TOLERANCES[torch.complex128] = TOLERANCES[torch.float64]
"""How far a gradient computed in each dtype may be from the exact value."""

FD_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-6)
"""How far finite differences may be from the exact value, besides their own error estimate."""

FORWARD_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-3)
"""How far torch's float64 output may be from the exact output (atol scaled by the largest exact
value, as every atol is) before the two runs are taken to compute different functions: loose, since
it looks for another function, not for rounding, which cancellation can make large."""


def looser(a: Tolerance, b: Tolerance) -> Tolerance:
    """The tolerance that allows what either allows (the larger rtol and the larger atol)."""
    return Tolerance(rtol=max(a.rtol, b.rtol), atol=max(a.atol, b.atol))
