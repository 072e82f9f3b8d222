"""W @ x whose backward gives the weight's gradient transposed: outer(x, g) for outer(g, x).

W is square, so the wrong shape passes autograd's shape check unnoticed.
"""
import torch
from compare import case


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, W, x):
        ctx.save_for_backward(W, x)
        return W @ x

    @staticmethod
    def backward(ctx, g):
        W, x = ctx.saved_tensors
        return torch.outer(x, g), W.t() @ g


class LinearFixed(Linear):
    @staticmethod
    def backward(ctx, g):
        W, x = ctx.saved_tensors
        return torch.outer(g, x), W.t() @ g


point = {"W": torch.arange(9.0).reshape(3, 3) / 4, "x": torch.tensor([1.0, -2.0, 0.5])}


@case(inputs=point)
def transposed(W, x):
    return Linear.apply(W, x)


@case(inputs=point)
def transposed_fixed(W, x):
    return LinearFixed.apply(W, x)
