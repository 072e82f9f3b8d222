"""sin whose backward goes through NumPy: right, but vmap cannot batch it (batched reverse mode)."""
import numpy as np
import torch

from compare import case

MODE = "check_batched_grad"
STATUS = "error"  # torch cannot run the mode, as gradcheck(check_batched_grad=True) raises


class Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return torch.from_numpy(np.cos(x.detach().numpy()) * g.detach().numpy())


class SinFixed(Sin):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return torch.cos(x) * g


X = {"x": torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)}


@case(inputs=X, order=1, check_batched_grad=True)
def backward_through_numpy(x):
    return Sin.apply(x)


@case(inputs=X, order=1, check_batched_grad=True)
def backward_through_numpy_fixed(x):
    return SinFixed.apply(x)
