"""The symbolic side: PyTorch code run on tensors of SymPy expressions.

`SymTensor` (in `tensor.py`) is a torch.Tensor that answers every ATen op
from `MEANINGS`, the SymPy meaning of a core of ops, written once per
family below, or through PyTorch's own decompositions of the rest.
"""
from . import (batched, complexes, ctc, elementwise, factorizations, fft, floats, layouts, linalg, nn,  # noqa: F401
               randomized, reductions, scatter, selections, shapes)  # (each fills MEANINGS)
from .heads import recording
from .registry import BRANCH, MEANINGS, NeedsValue, UnsupportedOp
from .shared import shared_runs
from .sites import user_site
from .tensor import SymTensor, exprs_of

__all__ = ["SymTensor", "exprs_of", "MEANINGS", "BRANCH", "UnsupportedOp", "NeedsValue",
           "recording", "user_site", "shared_runs"]
