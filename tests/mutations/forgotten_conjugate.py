"""A holomorphic z**3 whose backward forgets the conjugate: g * 3 z**2 instead of g * conj(3 z**2)."""
import torch
from compare import case


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z**3

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * 3 * z**2


class CubeFixed(Cube):
    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (3 * z**2).conj()


W = torch.tensor([0.5 - 1.0j, 2.0 + 0.5j], dtype=torch.complex128)


@case(inputs={"z": torch.tensor([1.0 + 0.5j, -0.25 + 2.0j], dtype=torch.complex128)})
def forgotten_conjugate(z):
    return (Cube.apply(z) * W).real.sum()


@case(inputs={"z": torch.tensor([1.0 + 0.5j, -0.25 + 2.0j], dtype=torch.complex128)})
def forgotten_conjugate_fixed(z):
    return (CubeFixed.apply(z) * W).real.sum()
