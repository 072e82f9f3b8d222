"""Matrix products (the rest of linear algebra reaches these, or SymPy's exact matrices).

Each entry of a product is one `Add` of its terms.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .registry import exprs, meaning

aten = torch.ops.aten

__all__ = ["matmul2"]


def matmul2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The product of two 2-d object arrays."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = sympy.Add(*(a[i, k] * b[k, j] for k in range(a.shape[1])))
    return out


@meaning(aten.mm)
def mm(a, b):
    return matmul2(exprs(a), exprs(b))


@meaning(aten.bmm)
def bmm(a, b):
    A, B = exprs(a), exprs(b)
    out = np.empty((A.shape[0], A.shape[1], B.shape[2]), dtype=object)
    for k in range(A.shape[0]):
        out[k] = matmul2(A[k], B[k])
    return out


@meaning(aten.dot, aten.vdot, aten.inner)
def dot(a, b):
    return np.array(sympy.Add(*(u * v for u, v in zip(exprs(a).flat, exprs(b).flat))), dtype=object)


@meaning(aten.mv)
def mv(a, v):
    return matmul2(exprs(a), exprs(v).reshape(-1, 1)).reshape(-1)
