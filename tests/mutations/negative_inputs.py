"""ELU whose backward uses the output where it needs output + 1: wrong only for negative inputs."""
import torch
from compare import case


class Elu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.where(x > 0, x, torch.exp(x) - 1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return torch.where(x > 0, g, g * y)


class EluFixed(Elu):
    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return torch.where(x > 0, g, g * (y + 1))


@case(inputs={"x": torch.tensor([-1.5, -0.5, 0.5, 2.0])})
def negative_inputs(x):
    return Elu.apply(x).sum()


@case(inputs={"x": torch.tensor([-1.5, -0.5, 0.5, 2.0])})
def negative_inputs_fixed(x):
    return EluFixed.apply(x).sum()
