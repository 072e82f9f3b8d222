"""Nested jvps of batch norm (and instance norm, which runs it) give wrong second derivatives in training."""
import torch
from torch.func import grad, jvp

x = torch.tensor([[0.5, -1.0, 2.0, 0.3], [1.1, 0.2, -0.4, 0.9]], dtype=torch.float64)
u = torch.zeros_like(x)
u[0, 0] = 1.0


def along(f, y):
    """d²f along u three ways: nested jvps, jvp of torch's gradient, central differences of the gradient."""
    nested = jvp(lambda z: jvp(f, (z,), (u,))[1], (y,), (u,))[1].item()
    fwd_rev = (jvp(grad(f), (y,), (u,))[1] * u).sum().item()
    h = 1e-5
    fd = ((grad(f)(y + h * u) - grad(f)(y - h * u)) * u).sum().item() / (2 * h)
    return nested, fwd_rev, fd


def batch(v):
    return torch.nn.functional.batch_norm(v, None, None, training=True).pow(3).sum()


def instance(v):
    return torch.nn.functional.instance_norm(v.reshape(1, 2, 4)).pow(3).sum()


# f is smooth: differentiating torch's own gradient, forward or by central differences, gives one value (for
# batch norm about 0: in a batch of two, each column's entries normalise to about ±1 wherever they are)
for f, off in ((batch, 1.0), (instance, 0.03)):
    nested, fwd_rev, fd = along(f, x)
    assert abs(fwd_rev - fd) < 1e-6 and abs(nested - fd) > off, (f.__name__, nested, fwd_rev, fd)
