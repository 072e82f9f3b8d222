"""Where a case is checked: its symbols, its example, seeded samples and the points it asks to show.

A point exists twice: as tensors in the case's dtype (what autograd sees)
and as exact rationals keyed by symbol (what the exact derivative is
evaluated at); `exact_point` and `tensor_point` convert between them.
"""
from __future__ import annotations

import zlib
from typing import Mapping

import numpy as np
import torch

from . import numeric, wirtinger
from .case import Case, nan_entry
from .exact.sym import exact, input_symbols

__all__ = ["REDRAWS", "case_seed", "case_symbols", "sample_points", "shown_points", "exact_point", "tensor_point"]

REDRAWS = 16
"""Draws of one sample before it settles for one where the function is not defined."""


def case_seed(seed: int, name: str) -> int:
    """The seed of one case's samples: the run's seed and the case's name, hash-randomisation free."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63)


def case_symbols(case: Case) -> dict[str, np.ndarray]:
    """Input name -> its SymPy symbols (`x_0, x_1, ...`; a complex input's real view `z_re, z_im`)."""
    kinds = wirtinger.complex_inputs(case.fn)
    return {name: wirtinger.complex_symbols(name, tuple(v.shape)[:-1]) if name in kinds
            else input_symbols(name, tuple(v.shape)) for name, v in case.inputs.items()}


def sample_points(case: Case, seed: int, samples: int) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """The example, then `samples` draws from independent standard normals, seeded with the case's own
    `seed` (`case_seed`).

    A draw where the output is not finite (sqrt or log of a negative entry:
    outside the function's domain, where its derivative says nothing) is
    drawn again, then tried with its entries' absolute values, up to
    `REDRAWS` times; a sample still outside the domain after that is left
    out (the Points table shows which samples were kept).
    """
    points = [("example", {k: v.detach().clone() for k, v in case.inputs.items()})]
    g = torch.Generator().manual_seed(seed)
    for k in range(samples):
        for _ in range(REDRAWS):
            draw = {name: torch.randn(tuple(v.shape), dtype=case.dtype, generator=g) for name, v in case.inputs.items()}
            found = next((p for p in (draw, {n: t.abs() for n, t in draw.items()}) if numeric.defined(case.fn, p)),
                         None)
            if found is not None:
                points.append((f"sample {k + 1}", found))
                break
    return points


def shown_points(case: Case, dtype) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """The points of `@case(show_at=...)`: a dict of inputs, or a list of them."""
    given = case.options.get("show_at")
    if not given:
        return []
    given = [given] if isinstance(given, Mapping) else list(given)
    shown = [(f"shown {k + 1}", {n: torch.as_tensor(p[n]).to(dtype) for n in case.inputs})
             for k, p in enumerate(given)]
    for origin, point in shown:
        problem = next((nan_entry(n, t) for n, t in point.items() if nan_entry(n, t)), None)
        if problem:
            raise ValueError(f"{origin} (show_at): {problem}")
    return shown


def exact_point(point: Mapping[str, torch.Tensor], symbols: Mapping[str, np.ndarray]) -> dict:
    """Symbol -> the exact rational value of its entry at the point."""
    out = {}
    for name, t in point.items():
        for s, v in zip(symbols[name].flat, t.detach().reshape(-1).tolist()):
            out[s] = exact(v)
    return out


def tensor_point(at: Mapping, symbols: Mapping[str, np.ndarray], dtype) -> dict[str, torch.Tensor]:
    """Input name -> a tensor in `dtype` of the exact point's values (rounded to it)."""
    out = {}
    for name, syms in symbols.items():
        values = [float(at[s]) for s in syms.flat]
        out[name] = torch.tensor(values, dtype=dtype).reshape(syms.shape)
    return out
