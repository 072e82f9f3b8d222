"""Conversions to a sparse layout: refused in one line, as a symbolic tensor is dense.

A SymTensor is a strided tensor with one expression per entry; a sparse
tensor's values and indices are separate tensors with their own autograd
rules (the gradient of `to_sparse` is sparse too), which it does not model.
"""
from __future__ import annotations

import torch

from .registry import UnsupportedOp, meaning

aten = torch.ops.aten

__all__ = []

_SPARSE = ("_to_sparse", "_to_sparse_csr", "_to_sparse_csc", "_to_sparse_bsr", "_to_sparse_bsc")


def to_sparse(*args, **kwargs):
    """refused: a sparse layout (symbolic tensors are dense)"""
    raise UnsupportedOp("aten._to_sparse* (a sparse layout: symbolic tensors are dense, one expression an entry)")


meaning(*(getattr(aten, name, None) for name in _SPARSE))(to_sparse)
