"""x + b with a bias b of shape (1,) broadcast over x, whose backward averages where it must sum.

The gradient of a broadcast input is the sum over the broadcast dimension;
the mean loses a factor of x.numel().
"""
import torch
from compare import case


class AddBias(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g.mean(0, keepdim=True)


class AddBiasFixed(AddBias):
    @staticmethod
    def backward(ctx, g):
        return g, g.sum(0, keepdim=True)


point = {"x": torch.tensor([1.0, 2.0, -1.0, 0.5]), "b": torch.tensor([0.25])}


@case(inputs=point)
def broadcast(x, b):
    return AddBias.apply(x, b)


@case(inputs=point)
def broadcast_fixed(x, b):
    return AddBiasFixed.apply(x, b)
