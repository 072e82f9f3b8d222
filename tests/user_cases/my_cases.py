"""A case file as a new user writes it, outside cases/: two inputs, a fixed loop, custom backward."""
import torch

from compare import case


class Cube(torch.autograd.Function):
    """x**3 with a hand-written backward: 3 x**2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * x * grad


@case(inputs={"x": torch.tensor([1.0, -2.0, 0.5])}, expect=lambda x: 3 * x * x)
def cube(x):
    """A custom autograd.Function with a right backward."""
    return Cube.apply(x)


@case(inputs={"x": torch.tensor([0.3, 1.5]), "w": torch.tensor([2.0, -1.0])},
      expect=lambda x, w: {"x": torch.exp(w * x) * w, "w": torch.exp(w * x) * x})
def two_inputs(x, w):
    """Two inputs: the claim is a dict of gradients."""
    return torch.exp(w * x).sum()


@case(inputs={"x": torch.tensor([0.5, 1.0])})
def fixed_loop(x):
    """A loop whose count does not depend on the input: one piece."""
    y = x
    for _ in range(3):
        y = torch.sin(y) * x
    return y.sum()
