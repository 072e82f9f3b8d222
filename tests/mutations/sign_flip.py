"""sin whose backward has the sign of cos's derivative: -cos instead of cos."""
import torch
from compare import case


class Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * torch.cos(x)


class SinFixed(Sin):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.cos(x)


@case(inputs={"x": torch.tensor([0.25, 0.5, 1.0, 2.0])})
def sign_flip(x):
    return Sin.apply(x).sum()


@case(inputs={"x": torch.tensor([0.25, 0.5, 1.0, 2.0])})
def sign_flip_fixed(x):
    return SinFixed.apply(x).sum()
