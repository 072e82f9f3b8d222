"""torch.normal(mean, std)'s gradient in mean is 0, though its sample is mean + std z."""
import torch

torch.manual_seed(0)
m = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
s = torch.ones(2, dtype=torch.float64)
sample = torch.normal(m, s)
g, = torch.autograd.grad(sample.sum(), m)
# with the draw z fixed, the sample is m + s z: its derivative in m is 1 (op_db skips this test: "Gradients are
# incorrect!"); torch gives 0
assert g.tolist() == [0.0, 0.0], g
