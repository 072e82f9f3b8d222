"""as_strided_scatter's backward sends the input's gradient to the entries the source overwrites."""
import torch

x = torch.arange(4., dtype=torch.float64, requires_grad=True)
src = torch.zeros(2, dtype=torch.float64, requires_grad=True)
y = torch.as_strided_scatter(x, src, (2,), (1,), 0)  # [src0, src1, x2, x3]
g, = torch.autograd.grad(y.sum(), x)
# y keeps x2 and x3 and drops x0 and x1, so d y.sum() / dx = [0, 0, 1, 1]; torch gives [1, 1, 0, 0]
assert g.tolist() != [0.0, 0.0, 1.0, 1.0], g
