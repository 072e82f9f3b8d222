"""x * sin(x) whose backward keeps only one term of the product rule: x cos(x), not sin(x) + x cos(x)."""
import torch
from compare import case


class XSin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x * torch.cos(x)


class XSinFixed(XSin):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (torch.sin(x) + x * torch.cos(x))


@case(inputs={"x": torch.tensor([0.5, 1.0, 1.5, -2.0])})
def product_rule(x):
    return XSin.apply(x).sum()


@case(inputs={"x": torch.tensor([0.5, 1.0, 1.5, -2.0])})
def product_rule_fixed(x):
    return XSinFixed.apply(x).sum()
