"""exp whose jvp is off by a relative 1e-3: gradcheck(check_forward_ad=True) passes it (its rtol is 1e-3)."""
import torch

from compare import case

MODE = "check_forward_ad"


class Exp(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.exp(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return t * y * 1.001


class ExpFixed(Exp):
    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return t * y


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)}, check_forward_ad=True)
def jvp_relative_error(x):
    return Exp.apply(x)


@case(inputs={"x": torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)}, check_forward_ad=True)
def jvp_relative_error_fixed(x):
    return ExpFixed.apply(x)
