"""masked.logaddexp's second derivatives are NaN where an entry is masked out, though they are 0 there."""
import torch

a = torch.tensor([-4.8, -7.6, -0.6], dtype=torch.float64)
b = torch.tensor([-4.1, -5.4, -4.8], dtype=torch.float64)
a_mask = torch.tensor([True, True, False])
b_mask = torch.tensor([False, True, True])


def f(x, y):
    return torch.masked._ops.logaddexp(x, y, input_mask=a_mask, other_mask=b_mask).sum()


H = torch.autograd.functional.hessian(f, (a, b))
# entry 0 keeps only a0 (b0 masked out): its term is a0, so every second derivative through it is 0, and no
# entry is undefined anywhere (every output is finite); torch's mixed block has NaN
assert torch.isfinite(torch.masked._ops.logaddexp(a, b, input_mask=a_mask, other_mask=b_mask)).all()
assert torch.isnan(H[0][1]).any() or torch.isnan(H[1][0]).any(), H
