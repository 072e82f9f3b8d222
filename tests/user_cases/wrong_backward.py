"""A hand-written backward with a wrong factor: the checker must flag it."""
import torch

from compare import case


class BadCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * x * grad  # should be 3 x**2


@case(inputs={"x": torch.tensor([1.0, -2.0, 0.5])})
def bad_cube(x):
    """The forward is x**3; the backward claims 2 x**2."""
    return BadCube.apply(x)
