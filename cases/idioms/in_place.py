"""In-place writes, views, factories and casts, as model code is full of them.

Each is modelled with torch's value semantics: a write through a view
reaches its base, and a write under `no_grad` changes the value but not
the derivative.
"""
import torch
import torch.nn.functional as F

from compare import case


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0, 0.25])})
def in_place_chain(x):
    """y = -(2 x) / 4, written in place: mul_, neg_, div_, add_ on a copy."""
    y = x.clone()
    y.mul_(2).neg_()
    y.div_(4)
    y.add_(1.0)
    return y


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0, 0.25])})
def through_a_view(x):
    """A write through a view reaches the base: y[0] += 1 and y.view(2, 2)[1] *= 3."""
    y = x * 1.0
    y[0] += 1
    y.view(2, 2)[1].mul_(3)
    return y * y


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0, -0.25])})
def masked_write(x):
    """x[mask] = 0 with a mask that depends on x: relu written as a write."""
    y = x.clone()
    y[y < 0] = 0
    return y


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0, 0.25])})
def written_under_no_grad(x):
    """Under no_grad a write changes the value, not the derivative: the gradient stays 1."""
    y = x * 1.0
    with torch.no_grad():
        y.clamp_(-1.0, 1.0)
    return y


@case(inputs={"x": torch.tensor([0.5, -1.5, 2.0, 0.25])})
def factories(x):
    """empty_like, zeros_like, new_tensor, new_full and a cast, all in the input's dtype."""
    out = torch.empty_like(x)
    out.copy_(x * 2)
    w = x.new_tensor([1.0, 2.0, 3.0, 4.0])
    z = torch.zeros_like(x) + x.new_full((4,), 0.5)
    return (out * w + z).double().float()


@case(inputs={"x": torch.tensor([[0.4, -1.3], [1.7, 0.15]])})
def real_world_blockers(x):
    """relu6, hardtanh, var, view_as and round, which a hand-written table lacked."""
    y = F.relu6(x * 3) + F.hardtanh(x) + x.var() + torch.round(x * 2) * x
    return y.view(-1).view_as(x.reshape(4)).sum()
