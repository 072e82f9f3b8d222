"""2 x with a backward marked @once_differentiable: its Hessian is 0, right, and yet the backward's own
derivative in its incoming gradient is missing, which reverse over reverse (as gradgradcheck) sees."""
import torch
from torch.autograd.function import once_differentiable

from compare import case

MODE = "check_rev_over_rev"


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        return 2 * g


class DoubleFixed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return 2 * g


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def once_differentiable_backward(x):
    return Double.apply(x).sum()


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def once_differentiable_backward_fixed(x):
    return DoubleFixed.apply(x).sum()
