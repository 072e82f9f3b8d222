"""How an error is said: absolute and relative error, and units in the last place only where they mean something.

The measures themselves are `compare.agreement`'s (`records.Errors`); this module only
decides how a reader sees them, the same in a failure message, a page and
a result's summary:

* a distance in ULPs is a count of the floats between two values: it says
  "rounding" (a few) or "a few bits wrong" (up to millions). Past
  `ULP_MEANINGFUL` it says nothing the relative error does not say better
  (a float64 result off by 1e-6 is 4.5e9 ULPs away), so it is said in
  words: "far beyond rounding";
* two values of opposite signs are billions of ULPs apart however close
  they are to zero (the count crosses every float between them): a sign
  flip is said as such;
* a value that agrees but lies billions of ULPs away is near 0, where floats
  are dense (7e-15 against an exact 0 is 7e8 float32 ULPs): the absolute
  error is what means something there, and the ULPs are said "near 0";
* 0 ULP beside a nonzero absolute error means autograd returned the exact
  value correctly rounded to its dtype, the error being that rounding.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..agreement import agreeing, combine, largest
from ..records import Errors
from ..records import PointResult

__all__ = ["ULP_MEANINGFUL", "CORRECTLY_ROUNDED", "Largest", "largest_errors", "number", "sign_flipped",
           "ulp_figure", "ulp_text"]

ULP_MEANINGFUL = 2 ** 23
"""Largest ULP distance shown as a number (8,388,608: one binade of float32, where the count still
grows with the error; in float64 a relative error near 1e-9)."""

CORRECTLY_ROUNDED = "correctly rounded"
"""What 0 ULP beside a nonzero absolute error means."""

SIGN_FLIPPED = "the sign flipped"
BEYOND_ROUNDING = "far beyond rounding"
NEAR_ZERO = "near 0"


def number(x: float) -> str:
    """A float for a page or a message: `nan`, `inf`, an integer as one, else 7 significant digits."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.7g}"


def sign_flipped(got: np.ndarray, want: np.ndarray, dtype: torch.dtype) -> bool:
    """Whether some entry that does not agree has the opposite sign of the exact value (both nonzero)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        opposite = np.sign(got) * np.sign(want) < 0
    return bool(np.any(opposite & ~agreeing(got, want, dtype)))


def ulp_figure(errors: Errors, flipped: bool = False) -> str | None:
    """The ULP distance as a table shows it: the count, or words past `ULP_MEANINGFUL` ("far beyond
    rounding", or "near 0" where the values agree) or for a sign flip; None where there is no distance
    (a NaN against a number, or a dtype without ULPs)."""
    if flipped:
        return SIGN_FLIPPED
    if errors.max_ulp is None:
        return None
    if errors.max_ulp > ULP_MEANINGFUL:
        return NEAR_ZERO if errors.agree else BEYOND_ROUNDING
    return str(errors.max_ulp)


def ulp_text(errors: Errors, flipped: bool = False) -> str | None:
    """The ULP distance as a sentence says it: `4 ULP`, `0 ULP, correctly rounded`, or words (see `ulp_figure`)."""
    figure = ulp_figure(errors, flipped)
    if figure is None or not figure.isdigit():
        return figure
    if figure == "0" and errors.max_abs > 0:
        return f"0 ULP, {CORRECTLY_ROUNDED}"
    return f"{figure} ULP"


@dataclass(frozen=True)
class Largest:
    """The largest errors of a case's points off kinks (points at a kink have their own verdict)."""

    errors: Errors | None
    """Autograd in the case's dtype against the exact value, the worst of every point; None: no point."""
    abs64: float | None
    """The largest absolute error of autograd in float64."""
    flipped: bool
    """Whether some point's value that does not agree has the exact value's opposite sign."""

    def text(self, dtype: str | None = None) -> str:
        """`1.618236e-07 (0 ULP, correctly rounded)`, `0 (0 ULP)`, `4 (the sign flipped)`, `—` without points;
        with `dtype`, it is named in the parentheses: `0 (0 ULP, float32)`."""
        if self.errors is None:
            return "—"
        said = [t for t in (ulp_text(self.errors, self.flipped), dtype) if t]
        return number(self.errors.max_abs) + (f" ({', '.join(said)})" if said else "")


def largest_errors(points: Sequence[PointResult], dtype: str) -> Largest:
    """The largest errors over `points` that are not at a kink, in the case's `dtype` and in float64."""
    smooth = [p for p in points if p.rule is None]
    if not smooth:
        return Largest(None, None, False)
    torch_dtype = getattr(torch, dtype, torch.float32)
    flipped = any(sign_flipped(p.autograd[n], p.symbolic[n], torch_dtype) for p in smooth for n in p.symbolic)
    return Largest(combine(p.errors for p in smooth), largest(p.errors64.max_abs for p in smooth), flipped)
