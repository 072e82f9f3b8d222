"""Convolutions: each output entry is a sum of products of inputs and weights, so the gradient
with respect to the input is the convolution of the incoming gradient with the flipped kernel."""
import torch
import torch.nn.functional as F

from compare import case

g = torch.Generator().manual_seed(0)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@case(inputs={"x": _r(1, 1, 4), "w": _r(1, 1, 2), "b": _r(1)})
def conv1d(x, w, b):
    """conv1d with a bias: d out / d b is the number of output positions."""
    return F.conv1d(x, w, b)


@case(inputs={"x": _r(1, 2, 3, 3), "w": _r(2, 1, 2, 2)})
def conv2d_strided_grouped(x, w):
    """conv2d with stride 2, padding 1 and two groups: each output channel sees one input channel."""
    return F.conv2d(x, w, stride=2, padding=1, groups=2)


@case(inputs={"x": _r(1, 1, 2, 2, 3), "w": _r(1, 1, 1, 2, 2)})
def conv3d_dilated(x, w):
    """conv3d with dilation 2 along the last dimension: the kernel skips every other entry."""
    return F.conv3d(x, w, dilation=(1, 1, 2))


@case(inputs={"x": _r(1, 2, 2), "w": _r(2, 1, 2), "b": _r(2)})
def conv_transpose1d(x, w, b):
    """The transposed convolution (the gradient of conv1d with respect to its input), stride 2."""
    return F.conv_transpose1d(x, w, b, stride=2, output_padding=1, groups=2)
