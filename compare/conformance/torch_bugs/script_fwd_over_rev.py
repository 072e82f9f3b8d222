"""Forward mode through a TorchScript function's backward loses its tangent once the profiling runs are over."""
import torch
import torch.autograd.forward_ad as fwAD

@torch.jit.script
def cube(x):
    return x * x * x

def forward_over_reverse(x, t):  # forward mode through the gradient of cube(x).sum()
    with fwAD.dual_level(), torch.enable_grad():
        d = fwAD.make_dual(x.clone().requires_grad_(), t)
        (g,) = torch.autograd.grad(cube(d).sum(), d, create_graph=True)
        return fwAD.unpack_dual(g).tangent

x, t = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), torch.ones(3, dtype=torch.float64)
tangents = [forward_over_reverse(x, t) for _ in range(3)]
# d/dx 3x² along ones is 6x = [3, -6, 12]: right on the first call, none from the third on
assert torch.equal(tangents[0], 6 * x) and tangents[2] is None, tangents
