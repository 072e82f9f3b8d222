"""x * y whose jvp pairs each tangent with its own input (dx * x + dy * y) instead of the other's."""
import torch

from compare import case

MODE = "check_forward_ad"


class Mul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        ctx.save_for_forward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x

    @staticmethod
    def jvp(ctx, dx, dy):
        x, y = ctx.saved_tensors
        return dx * x + dy * y


class MulFixed(Mul):
    @staticmethod
    def jvp(ctx, dx, dy):
        x, y = ctx.saved_tensors
        return dx * y + dy * x


X = {"x": torch.tensor([0.5, -1.5, 2.0]), "y": torch.tensor([1.0, 0.25, -3.0])}


@case(inputs=X, check_forward_ad=True)
def jvp_swapped(x, y):
    return Mul.apply(x, y)


@case(inputs=X, check_forward_ad=True)
def jvp_swapped_fixed(x, y):
    return MulFixed.apply(x, y)
