"""x**2 with materialized gradients turned off, whose backward reads an undefined gradient as ones."""
import torch

from compare import case

MODE = "check_undefined_grad"


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * (g if g is not None else torch.ones_like(x))


class SquareFixed(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * (g if g is not None else torch.zeros_like(x))


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def undefined_grad_nonzero(x):
    return Square.apply(x)


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def undefined_grad_nonzero_fixed(x):
    return SquareFixed.apply(x)
