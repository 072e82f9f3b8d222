"""addbmm: a sum of matrix products over a batch, which PyTorch does not decompose.

`addbmm(input, b1, b2, beta, alpha) = beta * input + alpha * sum_k b1[k] @ b2[k]`;
with beta = 0 the input is ignored (its nan and inf do not propagate), as
torch documents.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from ..exact.sym import exact
from .registry import exprs, meaning

aten = torch.ops.aten

__all__ = []


@meaning(aten.addbmm)
def addbmm(x, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (the sum over the batch of batch1[k] @ batch2[k]); input ignored at beta = 0"""
    A, B = exprs(batch1), exprs(batch2)
    batch, n, m, p = A.shape[0], A.shape[1], A.shape[2], B.shape[2]
    out = np.empty((n, p), dtype=object)
    for i in range(n):
        for j in range(p):
            out[i, j] = sympy.Add(*(A[k, i, l] * B[k, l, j] for k in range(batch) for l in range(m)))
    if alpha != 1:
        out = out * exact(alpha)
    if beta != 0:
        out = out + np.broadcast_to(exprs(x), (n, p)) * (exact(beta) if beta != 1 else 1)
    return out
