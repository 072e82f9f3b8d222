"""hardsigmoid's float64 derivative is 1/6 rounded to float32, in reverse mode and in forward mode."""
import torch
from torch.func import jvp

x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
g, = torch.autograd.grad(torch.nn.functional.hardsigmoid(x).sum(), x)
_, t = jvp(torch.nn.functional.hardsigmoid, (x.detach(),), (torch.ones(1, dtype=torch.float64),))
# hardsigmoid(x) = x / 6 + 1 / 2 on (-3, 3): its derivative is 1/6 = 0.16666666666666666 in float64;
# torch's CPU kernels multiply by 1.0f / 6.0f = 0.1666666716337204, 3e-8 relative off (2^25 float64 ULPs)
assert g.item() != 1 / 6 and t.item() != 1 / 6 and abs(g.item() - 1 / 6) > 4e-9, (g, t)
