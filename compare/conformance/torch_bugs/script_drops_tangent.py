"""After one vmapped jvp through a TorchScript function, a jvp where an input requiring grad has no tangent
drops every tangent."""
import torch
import torch.autograd.forward_ad as fwAD

@torch.jit.script
def g(x, y):
    return x * torch.tanh(y)

x, y, t = torch.rand(3), torch.rand(3), torch.ones(3)

def tangent():  # y has a tangent; x, which requires grad, has none
    with fwAD.dual_level():
        return fwAD.unpack_dual(g(x.requires_grad_(), fwAD.make_dual(y, t))).tangent

assert tangent() is not None
torch.func.vmap(lambda s: torch.func.jvp(g, (x, y), (s, s))[1])(torch.eye(3))
assert tangent() is None  # after one vmapped jvp, torch 2.13 drops the tangent (x tanh'(y))
