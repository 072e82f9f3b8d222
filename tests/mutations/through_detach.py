"""u * x with u = (x * x).detach(), whose backward differentiates through u: 3x**2 instead of u."""
import torch
from compare import case


class HeldSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        u = (x * x).detach()
        ctx.save_for_backward(x, u)
        return u * x

    @staticmethod
    def backward(ctx, g):
        x, u = ctx.saved_tensors
        return g * 3 * x * x


class HeldSquareFixed(HeldSquare):
    @staticmethod
    def backward(ctx, g):
        x, u = ctx.saved_tensors
        return g * u


@case(inputs={"x": torch.arange(4.0)})
def through_detach(x):
    return HeldSquare.apply(x).sum()


@case(inputs={"x": torch.arange(4.0)})
def through_detach_fixed(x):
    return HeldSquareFixed.apply(x).sum()
