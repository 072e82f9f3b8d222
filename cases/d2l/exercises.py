"""d2l's exercises on automatic differentiation (section 2.5), checked exactly.

The exercises ask for the derivative of sin without using cos, for the
control-flow function with a vector and a matrix input, for
f(x) = log(x^2) sin(x) + 1/x, and for a second derivative.
"""
import math

import torch

from compare import case


@case(inputs={"x": torch.linspace(-math.pi, math.pi, 13)}, expect=lambda x: torch.cos(x))
def sin(x):
    """Plot sin with autograd's derivative, without being told it is cos."""
    return torch.sin(x)


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


@case(inputs={"a": torch.tensor([0.8, -0.3, 1.1])}, expect=lambda a, out: out / a)
def control_flow_vector(a):
    """The notes' control flow on a vector: the loop runs on the norm, so one factor for all entries."""
    return f(a)


@case(inputs={"a": torch.tensor([[0.8, -0.3], [1.1, 0.4]])}, expect=lambda a, out: out / a)
def control_flow_matrix(a):
    """The notes' control flow on a matrix: still linear on each piece, so the gradient is f(a) / a."""
    return f(a)


@case(inputs={"x": torch.tensor([0.5, 1.5, -2.0, 3.0])},
      expect=lambda x: 2 * torch.sin(x) / x + torch.log(x**2) * torch.cos(x) - 1 / x**2)
def log_sin_reciprocal(x):
    """f(x) = log(x^2) sin(x) + 1/x: the product rule and the chain rule, entry by entry."""
    return torch.log(x**2) * torch.sin(x) + 1 / x


@case(inputs={"x": torch.linspace(-3.0, 3.0, 13)}, expect=lambda x: -torch.sin(x))
def second_derivative(x):
    """A second derivative: the case returns sin' = cos from autograd.grad, whose derivative is -sin."""
    (first,) = torch.autograd.grad(torch.sin(x).sum(), x, create_graph=True)
    return first
