"""rrelu: a leaky_relu whose negative slopes are drawn when training.

In evaluation it is `leaky_relu` with the mean slope (lower + upper) / 2,
the float torch computes in Python (so the constant is that double,
exactly). In training torch draws a slope r from U(lower, upper) for each
entry at or below 0, in order, and none for the others: which entries
draw depends on their signs. So each sign is decided first (a branch the
path explorer takes, as for any comparison), then torch's own kernel runs
from the shared generator state on stand-ins of those signs (`draws.py`),
and the entry is x or r x with that r as an exact constant. The slopes are
also written into the `noise` tensor, as torch writes them.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from . import draws
from .registry import decide, exprs, meaning

aten = torch.ops.aten

__all__ = []


@meaning(aten.rrelu_with_noise)
def rrelu_with_noise(x, noise, lower=0.125, upper=1 / 3, training=False, generator=None):
    """leaky_relu with the slope (lower + upper) / 2 in evaluation; in training, x or r x with torch's own r"""
    if not training:
        return exprs(aten.leaky_relu.default(x, (lower + upper) / 2))
    values = exprs(x)
    positive = np.empty(values.shape, dtype=bool)
    for idx in np.ndindex(*values.shape):
        positive[idx] = decide(sympy.StrictGreaterThan(values[idx], 0), "rrelu")  # torch draws where x <= 0
    signs = torch.from_numpy(np.where(positive, 1.0, -1.0)).to(x.dtype)
    slopes = torch.empty_like(signs)
    aten.rrelu_with_noise.default(signs, slopes, lower, upper, True, generator)
    draws.note(aten.rrelu_with_noise.default, slopes)
    drawn = draws.constants(slopes)
    if getattr(noise, "exprs", None) is not None:
        noise.exprs[...] = drawn
    return np.where(positive, values, values * drawn)
