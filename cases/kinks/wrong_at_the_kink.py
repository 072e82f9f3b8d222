"""Hand-written backwards that are right everywhere but at the kink: each is caught.

A custom `autograd.Function` is judged by the rules of the ops its forward
runs: a backward that gives another value at the kink than those rules allow
is `disagree`, even where it is right everywhere else. These cases are wrong
on purpose (`known_wrong`), so their `disagree` is the bug being caught.
"""
import torch
import torch.nn.functional as F

from compare import case

F64 = torch.float64


class BadRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (x >= 0).to(grad.dtype)  # 1 at x = 0, where relu's rule gives 0


class SafeSqrt(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * torch.where(x > 0, 0.5 / torch.sqrt(x.clamp_min(1e-300)), torch.zeros_like(x))  # 0 at 0


class LastMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.max(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        last = x.numel() - 1 - int(torch.argmax(x.flip(0)))
        out = torch.zeros_like(x)
        out[last] = grad  # all to the last tied entry, where max() shares it evenly
        return out


class BentElu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.elu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        slope = torch.where(x > 0, torch.ones_like(x), torch.exp(x))
        return grad * (slope + 0.5 * torch.where(x == 0, x, torch.zeros_like(x)))  # its derivative is off at 0


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0], dtype=F64)}, samples=1,
      known_wrong="its backward passes the gradient at 0, where relu's rule 2 gives 0")
def relu_passing_at_zero(x):
    """relu by hand whose backward gives 1 at 0, where rule 2 gives 0 (it is right everywhere else)."""
    return BadRelu.apply(x).sum()


@case(inputs={"x": torch.tensor([0.0, 4.0], dtype=F64)}, samples=1,
      known_wrong="its backward gives 0 at 0, where sqrt's derivative by continuity (rule 4) is inf")
def sqrt_made_safe_at_zero(x):
    """A "safe" sqrt whose backward gives 0 at 0: a common fix, but not what PyTorch's rules give (inf)."""
    return SafeSqrt.apply(x).sum()


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0], dtype=F64)}, samples=1,
      known_wrong="its backward gives all of a tie's gradient to the last entry; max() shares it evenly")
def max_to_the_last_tie(x):
    """max whose backward sends the gradient to the last of the tied entries instead of sharing it."""
    return LastMax.apply(x)


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1,
      known_wrong="right to the first order, its second derivative at 0 is 1.5, where the rules allow 1 or 0")
def elu_bent_at_zero(x):
    """elu by hand, right to the first order everywhere, whose backward's own derivative is off at 0 only."""
    return BentElu.apply(x).sum()
