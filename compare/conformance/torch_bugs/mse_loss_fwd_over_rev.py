"""Forward mode through mse_loss's backward raises "ZeroTensors are immutable" (as gradgradcheck's
check_fwd_over_rev does)."""
import torch
import torch.nn.functional as F
import torch.autograd.forward_ad as fwAD

p = torch.tensor([0.5, -1.0, 2.5], dtype=torch.float64)
y = torch.tensor([1.0, 0.0, -2.0], dtype=torch.float64)
try:
    with fwAD.dual_level(), torch.enable_grad():
        x = fwAD.make_dual(p.clone().requires_grad_(), torch.ones(3, dtype=torch.float64))
        (g,) = torch.autograd.grad(F.mse_loss(x, y), x, create_graph=True)
        fwAD.unpack_dual(g)  # its tangent should be 2/3 per entry: the Hessian 2/3 I times ones
    raise SystemExit("torch no longer fails here")
except RuntimeError as e:
    assert "ZeroTensors are immutable" in str(e)
