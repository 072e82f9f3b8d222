"""exp whose backward is off by a relative 1e-3 (a constant typed with one digit too few)."""
import torch
from compare import case


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * 1.001


class ExpFixed(Exp):
    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0])})
def relative_error(x):
    return Exp.apply(x).sum()


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0])})
def relative_error_fixed(x):
    return ExpFixed.apply(x).sum()
