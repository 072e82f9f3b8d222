"""x * x whose backward returns 2x and forgets to multiply by the incoming gradient.

With out.sum() the incoming gradient is all ones and hides the bug; the
Jacobian, one backward pass per output entry, shows it.
"""
import torch
from compare import case


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x


class SquareFixed(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x


@case(inputs={"x": torch.tensor([0.5, 1.0, -2.0])})
def ignores_grad_output(x):
    return Square.apply(x)


@case(inputs={"x": torch.tensor([0.5, 1.0, -2.0])})
def ignores_grad_output_fixed(x):
    return SquareFixed.apply(x)
