"""nn.Modules declared as cases: each is a function of its input and of its trainable parameters."""
import torch
from torch import nn

from compare import case


class HalvedWeightGrad(torch.autograd.Function):
    """y = x W^T + b, whose backward gives half the weight's gradient (the bug to catch)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return grad @ weight, 0.5 * grad.T @ x, grad.sum(0)  # the weight's should be grad.T @ x


class RightGrad(HalvedWeightGrad):
    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return grad @ weight, grad.T @ x, grad.sum(0)


class MyLinear(nn.Module):
    """A linear layer whose gradients come from a hand-written autograd.Function."""

    def __init__(self, function, n_in=3, n_out=2):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(torch.randn(n_out, n_in, generator=g, dtype=torch.float64))
        self.bias = nn.Parameter(torch.randn(n_out, generator=g, dtype=torch.float64))
        self.function = function

    def forward(self, x):
        return self.function.apply(x, self.weight, self.bias)


X = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)

halved_weight_grad = case(inputs={"x": X}, name="halved_weight_grad", order=1)(MyLinear(HalvedWeightGrad))
right_weight_grad = case(inputs={"x": X}, name="right_weight_grad", order=1)(MyLinear(RightGrad))

torch.manual_seed(0)
mlp = case(inputs={"input": X}, name="mlp")(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double())


def _seeded(module: nn.Module) -> nn.Module:
    """`module` in float64 with every parameter drawn from a seeded normal (not LayerNorm's 1s and 0s)."""
    g = torch.Generator().manual_seed(1)
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


layer_norm = case(inputs={"input": X}, name="layer_norm")(_seeded(nn.LayerNorm(3)))

IMAGE = torch.arange(18, dtype=torch.float64).reshape(1, 2, 3, 3) / 10 - 0.8
conv2d = case(inputs={"input": IMAGE}, name="conv2d", order=1)(_seeded(nn.Conv2d(2, 2, kernel_size=2)))
