"""More activations of torch.nn.functional, elementwise on a vector (glu halves it)."""
import torch
import torch.nn.functional as F

from compare import case

x = torch.tensor([-2.5, -0.75, 0.5, 1.25, 7.0], dtype=torch.float64)
x4 = torch.tensor([-1.5, 0.5, 2.0, -0.25], dtype=torch.float64)


@case(inputs={"x": x})
def elu(x):
    """elu: x above 0, exp(x) - 1 below."""
    return F.elu(x)


@case(inputs={"x": x})
def selu(x):
    """selu: elu scaled by torch's two constants."""
    return F.selu(x)


@case(inputs={"x": x})
def leaky_relu(x):
    """leaky_relu: slope 0.01 below 0."""
    return F.leaky_relu(x)


@case(inputs={"x": x})
def relu6(x):
    """relu6: clamped to [0, 6], gradient 0 outside."""
    return F.relu6(x)


@case(inputs={"x": x})
def hardtanh(x):
    """hardtanh: clamped to [-1, 1]."""
    return F.hardtanh(x)


@case(inputs={"x": x})
def hardswish(x):
    """hardswish: x relu6(x + 3) / 6."""
    return F.hardswish(x)


@case(inputs={"x": x})
def mish(x):
    """mish: x tanh(softplus(x))."""
    return F.mish(x)


@case(inputs={"x": x, "a": torch.tensor([0.25], dtype=torch.float64)})
def prelu(x, a):
    """prelu with a learnt slope a: d/da is the sum of the negative entries."""
    return F.prelu(x, a)


@case(inputs={"x": x4})
def glu(x):
    """glu: the first half times the sigmoid of the second."""
    return F.glu(x)
