"""x * exp(y) whose backward returns the two inputs' gradients in the wrong order."""
import torch
from compare import case


class MulExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * torch.exp(y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * x * torch.exp(y), g * torch.exp(y)


class MulExpFixed(MulExp):
    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * torch.exp(y), g * x * torch.exp(y)


point = {"x": torch.tensor([2.0, -1.0, 3.0]), "y": torch.tensor([0.5, -1.0, 0.25])}


@case(inputs=point)
def swapped(x, y):
    return MulExp.apply(x, y).sum()


@case(inputs=point)
def swapped_fixed(x, y):
    return MulExpFixed.apply(x, y).sum()
