"""exp whose backward fills the gradient in a loop that starts at 1: element 0 stays 0."""
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
        grad = torch.zeros_like(y)
        for i in range(1, y.numel()):
            grad[i] = g[i] * y[i]
        return grad


class ExpFixed(Exp):
    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        grad = torch.zeros_like(y)
        for i in range(y.numel()):
            grad[i] = g[i] * y[i]
        return grad


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0])})
def one_element(x):
    return Exp.apply(x).sum()


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0])})
def one_element_fixed(x):
    return ExpFixed.apply(x).sum()
