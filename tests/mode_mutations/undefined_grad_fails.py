"""sin with materialized gradients turned off, whose backward multiplies an undefined (None) gradient."""
import torch

from compare import case

MODE = "check_undefined_grad"


class Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.cos(x)


class SinFixed(Sin):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return None if g is None else g * torch.cos(x)


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def undefined_grad_fails(x):
    return Sin.apply(x)


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0])})
def undefined_grad_fails_fixed(x):
    return SinFixed.apply(x)
