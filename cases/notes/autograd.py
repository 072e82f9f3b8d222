"""The five functions of the notes on automatic differentiation (d2l, chapter 07).

Each is checked at the notes' own point, `x = torch.arange(4.0)` (or a
scalar for the control-flow function), against the notes' own claim.
"""
import torch

from compare import case

x = torch.arange(4.0)


@case(inputs={"x": x}, expect=lambda x: 4 * x)
def dot(x):
    """y = 2 x.x: the gradient is 4x."""
    return 2 * torch.dot(x, x)


@case(inputs={"x": x}, expect=lambda x: torch.ones_like(x))
def sum(x):
    """y = sum(x): every entry contributes once, so the gradient is all ones."""
    return x.sum()


@case(inputs={"x": x}, expect=lambda x: 2 * x)
def square(x):
    """y = x * x is a vector: backward() needs y.sum(), whose gradient is 2x."""
    return x * x


@case(inputs={"x": x}, expect=lambda x: x * x)
def detached(x):
    """z = u * x with u = (x * x).detach(): u is a constant, so the gradient is u."""
    u = (x * x).detach()
    return u * x


@case(inputs={"a": torch.tensor(0.8)}, expect=lambda a, out: out / a)
def control_flow(a):
    """A while loop and an if on the input: f is linear on each piece, so f'(a) = f(a) / a."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c
