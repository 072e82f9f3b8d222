"""Elementwise ops at their kinks: abs, roots, steps, remainders, clamp, and the two-argument extremes.

A step (floor, round, sign) is constant on each side of its jump: rule 4
gives 0 there, by continuity. A root is defined on one side of 0 only:
rule 4 gives the derivative's limit there, inf for sqrt, whatever the op is
called (`torch.pow(x, 0.5)` is judged as the function it is). Where a
function has no limit at all (atan2 at the origin), rule 5 allows any value.
Clamp documents its own behaviour: the gradient passes at its bounds.
"""
import torch

from compare import case

F64 = torch.float64


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0])})
def abs_at_zero(x):
    """abs at 0: slopes -1 | 1, convex, the subgradient of least norm in [-1, 1] is 0."""
    return x.abs().sum()


@case(inputs={"x": torch.tensor([0.0, 0.25, 4.0])}, samples=0)
def sqrt_at_zero(x):
    """sqrt at 0: defined on the right only, where its derivative grows without bound: rule 4, inf."""
    return torch.sqrt(x).sum()


@case(inputs={"x": torch.tensor([0.0, 4.0], dtype=F64)}, samples=0)
def pow_half_at_zero(x):
    """pow(x, 0.5) is sqrt, and is judged so: inf at 0 (its second derivative, -inf, by continuity too)."""
    return torch.pow(x, 0.5).sum()


@case(inputs={"y": torch.tensor([0.0], dtype=F64), "x": torch.tensor([0.0], dtype=F64)}, samples=1)
def atan2_at_the_origin(y, x):
    """atan2(y, x) has no limit at (0, 0): it is not defined there, so rule 5 allows any gradient."""
    return torch.atan2(y, x).sum()


@case(inputs={"x": torch.tensor([0.0, 1.0, 0.5, 1.5, -1.0], dtype=F64)}, samples=1)
def steps_at_their_jumps(x):
    """sign at 0, floor at 1, round at 1/2 and 3/2, trunc at -1: constant on each side of the jump, rule 4, 0."""
    return (torch.sign(x[:1]) + torch.floor(x[1:2]) + torch.round(x[2:4]).sum() + torch.trunc(x[4:])).sum()


@case(inputs={"x": torch.tensor([2.0, -2.0, 1.0], dtype=F64)}, samples=1)
def remainders_at_their_jumps(x):
    """fmod(x, 2) at 2, remainder(x, 2) at -2, frac at 1: each jumps with slope 1 on both sides: rule 4, 1."""
    return torch.fmod(x[0], 2.0) + torch.remainder(x[1], 2.0) + torch.frac(x[2])


@case(inputs={"x": torch.tensor([0.0, 1.0, 0.5, 2.0])})
def clamp_at_bounds(x):
    """clamp at its bounds: autograd passes the gradient (1) at x = min and at x = max, as torch documents.

    derivatives.yaml says so for clamp; rules 2 and 3 alone would give 0 there."""
    return torch.clamp(x, min=0.0, max=1.0).sum()


@case(inputs={"x": torch.tensor([0.0, 1.0, 3.0], dtype=F64), "lo": torch.zeros(3, dtype=F64),
              "hi": torch.ones(3, dtype=F64)}, samples=1)
def clamp_with_tensor_bounds(x, lo, hi):
    """clamp with tensor bounds: 1 to the input at its bound; a bound gets it only where the input is beyond.

    The third entry is clamped to hi: its gradient goes to hi."""
    return torch.clamp(x, lo, hi).sum()


@case(inputs={"a": torch.tensor([1.0, 2.0], dtype=F64), "b": torch.tensor([1.0, 3.0], dtype=F64)}, samples=1)
def maximum_at_a_tie(a, b):
    """maximum(a, b) at a tie gives half to each: the least-norm point of the segment from (1, 0) to (0, 1)."""
    return torch.maximum(a, b).sum()


@case(inputs={"a": torch.tensor([1.0], dtype=F64), "b": torch.tensor([1.0], dtype=F64)}, samples=1)
def fmax_at_a_tie(a, b):
    """fmax(a, b) at a tie gives all of the gradient to a, as its formula in derivatives.yaml does."""
    return torch.fmax(a, b).sum()
