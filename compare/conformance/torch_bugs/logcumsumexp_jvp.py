"""logcumsumexp's jvp: output 0 is x0 itself, derivative 1 along e0; torch's is 2.4e-6 off (an epsilon)."""
import torch
from torch.func import jvp
x = torch.tensor([0.0, 17.0], dtype=torch.float64)
t = torch.tensor([1.0, 0.0], dtype=torch.float64)
# logcumsumexp(x)[0] is x[0] itself: its derivative along t = e0 is exactly 1
got = jvp(lambda v: torch.logcumsumexp(v, 0), (x,), (t,))[1][0].item()
assert abs(got - 1.0) > 1e-6, got  # 0.99999758 in torch 2.13: 2.4e-6 off
