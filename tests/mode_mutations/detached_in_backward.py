"""x**3 whose backward reads x through .detach(): its gradient is right, and forward mode through the
backward (forward over reverse) sees no second derivative."""
import torch

from compare import case

MODE = "check_fwd_over_rev"


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x.detach() ** 2 * g

    @staticmethod
    def jvp(ctx, t):  # forward over reverse runs the forward on dual numbers: it needs the jvp
        (x,) = ctx.saved_tensors
        return 3 * x**2 * t


class CubeFixed(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])}, check_rev_over_rev=False, check_fwd_over_rev=True)
def detached_in_backward(x):
    return Cube.apply(x).sum()


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])}, check_rev_over_rev=False, check_fwd_over_rev=True)
def detached_in_backward_fixed(x):
    return CubeFixed.apply(x).sum()
