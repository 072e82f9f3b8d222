"""A function with an `if`, whose backward is wrong on the piece the example point does not reach.

f(a) = a * a for a > 1, else 2a - 1 (continuous at 1). The example point
a = 2 lies in the first piece, and `samples=0` draws no other point: only
the point the explorer finds inside the second piece can catch the bug.
"""
import torch
from compare import case


class Bend(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        if a > 1:
            return a * a
        return 2 * a - 1

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if a > 1:
            return g * 2 * a
        return g * a  # the derivative of the first piece's a**2 / 2, left over


class BendFixed(Bend):
    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if a > 1:
            return g * 2 * a
        return g * 2


@case(inputs={"a": torch.tensor(2.0)}, samples=0)
def one_piece(a):
    return Bend.apply(a)


@case(inputs={"a": torch.tensor(2.0)}, samples=0)
def one_piece_fixed(a):
    return BendFixed.apply(a)
