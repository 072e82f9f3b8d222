"""Norms at the zero vector, at a zero entry, and at ties of the largest entry.

A norm is convex and 0 at the zero vector is its minimum, so its
subgradient of least norm there is 0 (rule 2), which is what torch's
backward gives (and documents, by masking those entries); its forward mode
gives J u = 0 too. The 1-norm at a zero entry and the inf-norm at a tie are
rule 2 as well, each the least-norm point of its subdifferential.
"""
import math

import torch

from compare import case

F64 = torch.float64


@case(inputs={"x": torch.zeros(3)})
def norm_at_zero(x):
    """The norm at the zero vector: the exact derivative x/|x| is 0/0; autograd gives 0, rule 2."""
    return torch.linalg.vector_norm(x)


@case(inputs={"x": torch.tensor([0.0, 0.0, 1.0], dtype=F64)}, samples=1)
def one_norm_at_a_zero_entry(x):
    """The 1-norm at (0, 0, 1): the subgradients are [-1, 1] x [-1, 1] x {1}, the least-norm one (0, 0, 1)."""
    return torch.linalg.vector_norm(x, 1)


@case(inputs={"x": torch.tensor([1.0, -1.0, 0.5], dtype=F64)}, samples=1)
def inf_norm_at_a_tie(x):
    """The inf-norm at (1, -1, 0.5): pieces x0 and -x1 tie, the least-norm point of their hull is (1/2, -1/2, 0)."""
    return torch.linalg.vector_norm(x, math.inf)


@case(inputs={"x": torch.tensor([0.0, 1.0, -4.0], dtype=F64)}, samples=1, order=1)
def half_norm_at_a_zero_entry(x):
    """(sum of sqrt|x|)^2 has a cusp at a zero entry, where torch documents 0; elsewhere 3 and -3/2."""
    return torch.linalg.vector_norm(x, 0.5)


@case(inputs={"x": torch.tensor([0.0, 0.0], dtype=F64)}, samples=1)
def hand_written_norm_at_zero(x):
    """sqrt of a sum of squares at 0: sqrt's inf (rule 4) times the sum's 2 x = 0 is nan, as in autograd."""
    return torch.sqrt((x * x).sum())
