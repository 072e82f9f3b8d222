"""Ops that draw random numbers only in one mode: the other mode has an exact meaning.

`rrelu` draws each negative slope from U(lower, upper) when training; in
evaluation it is `leaky_relu` with the mean slope (lower + upper) / 2, the
float torch computes in Python (so the constant is that double, exactly).
"""
from __future__ import annotations

import torch

from .registry import UnsupportedOp, exprs, meaning
from .tensor import RANDOM

aten = torch.ops.aten

__all__ = []


@meaning(aten.rrelu_with_noise)
def rrelu_with_noise(x, noise, lower=0.125, upper=1 / 3, training=False, generator=None):
    """leaky_relu with the slope (lower + upper) / 2 in evaluation; refused in training (random slopes)"""
    if training:
        raise UnsupportedOp(f"aten.rrelu_with_noise.default in training mode ({RANDOM})")
    return exprs(aten.leaky_relu.default(x, (lower + upper) / 2))
