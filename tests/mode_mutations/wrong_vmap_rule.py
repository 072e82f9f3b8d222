"""A column-wise sum of squares whose vmap rule sums over the batch dimension as well as the column."""
import torch

from compare import case

MODE = "check_batched_forward_grad"


class SumSquares(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return (x**2).sum(0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return (2 * x * t).sum(0)

    @staticmethod
    def vmap(info, in_dims, x):
        return (x**2).sum(0), 0  # the batch dimension is dim 0 here: it is summed over too


class SumSquaresFixed(SumSquares):
    @staticmethod
    def vmap(info, in_dims, x):
        x = x.movedim(in_dims[0], 0)
        return (x**2).sum(1), 0


X = {"x": torch.tensor([[1.0, 2.0], [3.0, -4.0], [0.5, -1.0]], dtype=torch.float64)}


@case(inputs=X, check_forward_ad=True, check_batched_forward_grad=True)
def wrong_vmap_rule(x):
    return SumSquares.apply(x)


@case(inputs=X, check_forward_ad=True, check_batched_forward_grad=True)
def wrong_vmap_rule_fixed(x):
    return SumSquaresFixed.apply(x)
