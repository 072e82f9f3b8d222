"""Nested jvps through a custom autograd.Function give zero second derivatives (pytorch/pytorch#197867)."""
import torch
from torch.func import jvp

class Square(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_forward(*inputs)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 2 * x * t

x, t = torch.tensor(3.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
# d²/dx² x² = 2
second = jvp(lambda y: jvp(Square.apply, (y,), (t,))[1], (x,), (t,))[1]
assert second.item() == 0.0, second  # torch 2.13 gives 0 (pytorch/pytorch#197867)
