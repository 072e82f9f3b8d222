"""A hand-written relu whose backward is wrong only at the kink: the checker must still flag it."""
import torch

from compare import case


class BadRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x >= 0).to(grad.dtype)  # 1 at x = 0, where relu's rule gives 0


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0])})
def bad_relu(x):
    """relu by hand; its backward passes the gradient at 0, which PyTorch's relu does not."""
    return BadRelu.apply(x).sum()
