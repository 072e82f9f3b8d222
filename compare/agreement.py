"""The one place that decides whether a computed gradient agrees with the exact one.

Tolerances are data, keyed by dtype (`compare.tolerances`). A value `got` agrees with the exact
value `want` (rounded to float64) when

    |got - want| <= atol * scale + rtol * |want|,   scale = max(1, largest finite |want| in the array)

The absolute part scales with the derivative the entry belongs to (the
array compared: one input's gradient, a Jacobian, a Hessian), as rounding
does: an entry summed from terms of size 1e5 carries rounding of that size
even where the terms cancel to an exact 0 (the Hessian of a product of eight
entries: 7e-12 on its zero diagonal, beside entries of 1.6e4). The relative
part stays each entry's own, so an error of 1e-6 relative in a small entry is
still caught unless the array holds entries over 1e6 times larger.

And these rules for what is not a finite number:

* NaN agrees only with NaN: both say "undefined here". A NaN against a
  number, or a number against a NaN, is a disagreement.
* +inf agrees only with +inf, -inf only with -inf; an infinity against a
  finite value, however large, is a disagreement.
* Signed zeros are equal: -0.0 agrees with 0.0 (their difference is 0, and
  so is their ULP distance).
* Subnormals compare like any finite number: within `atol` of the exact
  value they agree, like any tiny number; the ULP distance counts the
  subnormal steps between them (and across zero, -tiny to +tiny is 2).
* An unknown dtype is held to float32's tolerance.

Errors are reported as absolute, relative (over entries whose exact value
is nonzero) and in units in the last place (ULP) of the compared dtype:
the number of representable values between `got` and `want` rounded to
that dtype. Pairs that are not both finite and agree (NaN and NaN, an
infinity and itself) add nothing to the absolute and relative errors. Those
that disagree make them NaN (a NaN against anything else) or inf (an
infinity against a finite value or the other infinity): an error column
never reads 0 beside values that disagree. A NaN against a number has no
ULP distance (None). tests/test_verdict.py shows each rule accepting what
it should and catching a wrong answer.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch

from .records import Errors
from .tolerances import TOLERANCES, Tolerance

__all__ = ["agreeing", "largest", "measure", "measure_each", "measure_all", "combine", "scale", "ulp_distance"]


_BITS = {torch.float64: (np.float64, np.int64), torch.float32: (np.float32, np.int32),
         torch.float16: (np.float16, np.int16)}
_BITS.update({torch.complex64: _BITS[torch.float32], torch.complex128: _BITS[torch.float64]})


def ulp_distance(got: np.ndarray, want: np.ndarray, dtype: torch.dtype) -> int | None:
    """Largest number of representable `dtype` values between got and want (rounded to dtype).

    IEEE floats of one sign are ordered like their bit patterns read as
    integers; mapping negatives to minus their magnitude makes the order
    total, so the distance is an integer difference. NaN pairs count 0 if
    both are NaN; a NaN against a number has no distance (None).
    """
    if dtype not in _BITS or got.size == 0:
        return None if dtype not in _BITS else 0
    ftype, itype = _BITS[dtype]
    with np.errstate(over="ignore", invalid="ignore"):
        g = got.astype(ftype).reshape(-1)
        w = want.astype(ftype).reshape(-1)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if np.any(nan_g != nan_w):
        return None
    keep = ~nan_g
    def ordered(a):
        bits = a.view(itype).astype(np.int64)
        sign = bits < 0
        magnitude = bits & np.int64(np.iinfo(itype).max)
        return np.where(sign, -magnitude, magnitude)
    d = np.abs(ordered(g[keep]) - ordered(w[keep]))
    return int(d.max()) if d.size else 0


def scale(want: np.ndarray) -> float:
    """The magnitude the absolute tolerance is multiplied by: the largest finite |want|, at least 1."""
    finite = np.abs(want[np.isfinite(want)])
    return max(1.0, float(finite.max())) if finite.size else 1.0


def _allowed(want: np.ndarray, tol: Tolerance) -> np.ndarray:
    """How far each entry may be from `want` (see the module docstring)."""
    return tol.atol * scale(want) + tol.rtol * np.abs(want)


def _difference(got: np.ndarray, want: np.ndarray, finite: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: masked out
        return np.where(finite, np.abs(got - want), 0.0)


def agreeing(got: np.ndarray, want: np.ndarray, dtype: torch.dtype, *,
             tolerance: Tolerance | None = None) -> np.ndarray:
    """Entry by entry, whether `got` agrees with `want` under the rules above (a bool array)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    tol = tolerance or TOLERANCES.get(dtype, TOLERANCES[torch.float32])
    both_nan = np.isnan(got) & np.isnan(want)
    same_inf = np.isinf(got) & np.isinf(want) & (np.sign(got) == np.sign(want))
    finite = np.isfinite(got) & np.isfinite(want)
    with np.errstate(invalid="ignore"):  # inf * 0 where want is not finite: masked out
        return both_nan | same_inf | (finite & (_difference(got, want, finite) <= _allowed(want, tol)))


def measure(got: np.ndarray, want: np.ndarray, dtype: torch.dtype, *,
            tolerance: Tolerance | None = None) -> Errors:
    """Compare `got` (computed in `dtype`) with `want` (exact, as float64).

    `tolerance` replaces the dtype's for a method with its own error (finite differences).
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise ValueError(f"shapes differ: got {got.shape}, exact {want.shape}")
    tol = tolerance or TOLERANCES.get(dtype, TOLERANCES[torch.float32])
    finite = np.isfinite(got) & np.isfinite(want)
    diff = _difference(got, want, finite)
    ok = agreeing(got, want, dtype, tolerance=tolerance)
    nonzero = finite & (want != 0)
    rel = np.where(nonzero, diff / np.where(nonzero, np.abs(want), 1.0), 0.0)
    excess = np.where(ok, 0.0, np.inf)
    with np.errstate(invalid="ignore"):
        excess = np.where(finite & ~ok, diff - _allowed(want, tol), excess)
    worst = None
    if got.size:
        score = np.where(ok, diff - np.inf, excess)  # violations first, then the largest error
        if ok.all():
            score = diff
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(score)), got.shape))
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    wrong = ~ok & ~finite
    if np.any(wrong & (np.isnan(got) | np.isnan(want))):
        max_abs = max_rel = math.nan
    elif np.any(wrong):
        max_abs = max_rel = math.inf
    return Errors(
        max_abs=max_abs,
        max_rel=max_rel,
        max_ulp=ulp_distance(got, want, dtype),
        agree=bool(ok.all()),
        worst=worst,
    )


def largest(values, default=0.0):
    """The largest of some errors, NaN when any is NaN (Python's `max` would depend on the order)."""
    values = list(values)
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return math.nan
    return max(values, default=default)


def is_nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


def measure_each(got: Mapping, want: Mapping, dtype: torch.dtype,
                 tolerance: Tolerance | Mapping[str, Tolerance] | None = None) -> dict:
    """`measure` per input: name -> Errors, for the names of `want`. `tolerance` may be one per input
    (an input whose computation passed through a coarser dtype: `compare.basis`)."""
    def own(name: str) -> Tolerance | None:
        return tolerance.get(name) if isinstance(tolerance, Mapping) else tolerance

    return {n: measure(got[n], want[n], dtype, tolerance=own(n)) for n in want}


def measure_all(got: Mapping, want: Mapping, dtype: torch.dtype,
                tolerance: Tolerance | Mapping[str, Tolerance] | None = None) -> Errors:
    """`measure` over all inputs at once: the worst of each measure."""
    return combine(measure_each(got, want, dtype, tolerance).values())


def combine(parts) -> Errors:
    """One Errors for several inputs: the worst of each measure."""
    parts = list(parts)
    ulps = [p.max_ulp for p in parts]
    return Errors(
        max_abs=largest(p.max_abs for p in parts),
        max_rel=largest(p.max_rel for p in parts),
        max_ulp=None if any(u is None for u in ulps) else max(ulps, default=0),
        agree=all(p.agree for p in parts),
        worst=None,
    )
