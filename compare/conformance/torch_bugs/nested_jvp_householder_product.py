"""Nested jvps of householder_product give a wrong second derivative."""
import torch
from torch.func import grad, jvp

V = torch.tensor([[1.0, 0.0], [0.5, 1.0], [-0.3, 0.8]], dtype=torch.float64)
tau = torch.tensor([1.2, 0.7], dtype=torch.float64)
U = torch.zeros_like(V)
U[1, 0] = 1.0
weights = torch.arange(6., dtype=torch.float64).reshape(3, 2)


def f(W):
    return (torch.linalg.householder_product(W, tau) ** 2 * weights).sum()


nested = jvp(lambda W: jvp(f, (W,), (U,))[1], (V,), (U,))[1].item()
fwd_rev = (jvp(grad(f), (V,), (U,))[1] * U).sum().item()
h = 1e-5
fd = ((grad(f)(V + h * U) - grad(f)(V - h * U)) * U).sum().item() / (2 * h)
# f is smooth; differentiating torch's own gradient (forward or by central differences) gives 7.5565
assert abs(fwd_rev - fd) < 1e-6 and abs(nested - fd) > 0.1, (nested, fwd_rev, fd)  # nested: 7.2016
