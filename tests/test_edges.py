"""Edges of the domain: autograd's ZeroTensor, NaN and infinite inputs, points where the function is undefined.

Each expected verdict comes from PyTorch's documented rules (autograd notes, "Gradients for
non-differentiable functions": 5. undefined: arbitrary) or from the mathematics, never from
what compare printed; each has a wrong backward beside it that is still caught.
"""
import math

import pytest
import torch

import compare

F64 = torch.float64


# -- autograd's ZeroTensor ---------------------------------------------------------------------------
def test_sgn_at_zero_is_the_step_rule_not_a_crash():
    """torch.sgn of a real tensor is sign, a step function: derivative 0 off 0, and 0 at its jump by the
    rule for steps (README, "Step functions"). Its backward returns a ZeroTensor, which has no storage."""
    x = torch.tensor([0.0, 1.0, -2.0], dtype=F64)
    result = compare.check(torch.sgn, (x,))
    assert result.status == "convention", result.error
    example = result.points[0]
    assert example.autograd64["x"].tolist() == [0.0, 0.0, 0.0]
    assert example.oracles["forward"].values["x"].tolist() == [0.0, 0.0, 0.0]  # its jvp is a ZeroTensor too


class _SignOneAtZero(torch.autograd.Function):
    """sign whose backward says 1 at 0, where the step rule gives 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sgn(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x == 0).to(g.dtype)


def test_a_wrong_value_of_sgn_at_zero_is_caught():
    result = compare.check(_SignOneAtZero.apply, (torch.tensor([0.0, 1.0], dtype=F64),), order=1, samples=0)
    assert result.status == "disagree"
