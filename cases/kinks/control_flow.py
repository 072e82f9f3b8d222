"""Control flow at a piece boundary: autograd differentiates the branch that ran.

A Python branch (an `if`, a `while`) is not an op autograd records: at a
point where its condition holds with equality, autograd's gradient is that
of the branch the run took (the notes' own function at such a point, where
its loop stops with b.norm() exactly 1000, is in tests/test_kink_corpus.py).
A `torch.where` on a mask is an op, linear in its values given the mask,
which is not differentiable: no kink of its own.
"""
import torch

from compare import case

F64 = torch.float64


@case(inputs={"x": torch.tensor(0.0, dtype=F64)}, samples=1)
def branch_at_its_boundary(x):
    """`x if x > 0 else 0.01 * x` at 0: the else branch ran, so the gradient is 0.01."""
    if x > 0:
        return x
    return 0.01 * x


@case(inputs={"x": torch.tensor([0.0, 2.0], dtype=F64)}, samples=1)
def where_at_its_switch(x):
    """where(x > 0, x, 0.01 x) at 0: where's gradient follows its mask (false at 0): 0.01, no kink."""
    return torch.where(x > 0, x, 0.01 * x).sum()
