"""Cases checked through torch.compile: one right, one whose hand-written backward is 0.1% off."""
import torch

from compare import case


class Square(torch.autograd.Function):
    """x**2, with a backward scaled by `factor` (1: right)."""

    factor = 1.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x * Square.factor


class OffSquare(Square):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x * 1.001  # 0.1% too large


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0])}, compile="aot_eager", order=1)
def compiled_square(x):
    """A right backward, compiled."""
    return Square.apply(x).sum()


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0])}, compile="aot_eager", order=1)
def compiled_off_square(x):
    """A backward 0.1% off, compiled: still caught."""
    return OffSquare.apply(x).sum()


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0])})
def tanh_times_x(x):
    """Eager unless the run says --compile."""
    return (torch.tanh(x) * x).sum()
