"""scatter_reduce(..., "prod")'s jvp is a zero tangent instead of the product rule (or an error)."""
import torch
from torch.func import jvp
src = torch.tensor([1.5, -2.0, 0.5, 3.0], dtype=torch.float64)
index = torch.tensor([0, 1, 0, 1])
f = lambda s: torch.zeros(2, dtype=torch.float64).scatter_reduce(0, index, s, "prod", include_self=False)
# out = [s0 s2, s1 s3]: along ones, d out = [s2 + s0, s3 + s1] = [2, 1]
got = jvp(f, (src,), (torch.ones(4, dtype=torch.float64),))[1]
assert got.tolist() == [0.0, 0.0], got  # a zero tangent, instead of [2, 1] (or an error)
