"""Pooling: average pooling is linear (each window's mean), max pooling picks the largest entry of
each window and sends the whole gradient to it (at a tie, to the first, the index it returns)."""
import torch
import torch.nn.functional as F

from compare import case

g = torch.Generator().manual_seed(0)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@case(inputs={"x": _r(1, 1, 3, 3)})
def avg_pool2d_padded(x):
    """avg_pool2d with padding 1, counting only the real entries of each window."""
    return F.avg_pool2d(x, 2, padding=1, count_include_pad=False)


@case(inputs={"x": _r(1, 1, 5)})
def avg_pool1d_ceil(x):
    """avg_pool1d with ceil_mode: the last window hangs over the end and averages what it covers."""
    return F.avg_pool1d(x, 2, ceil_mode=True)


@case(inputs={"x": _r(1, 2, 2, 2)})
def avg_pool3d_divisor(x):
    """avg_pool3d with a divisor of 3 instead of the window's 8 entries."""
    return F.avg_pool3d(x, 2, divisor_override=3)


@case(inputs={"x": _r(1, 1, 3, 4)})
def max_pool2d(x):
    """max_pool2d, 2 by 2 windows with stride 1: an entry shared by windows collects each one's gradient."""
    return F.max_pool2d(x, 2, stride=1)


@case(inputs={"x": _r(1, 1, 6)})
def adaptive_pools(x):
    """Adaptive average and max pooling to 2 and 3 outputs (through PyTorch's decompositions)."""
    return torch.cat([F.adaptive_avg_pool1d(x, 2), F.adaptive_max_pool1d(x, 3)], dim=-1)
