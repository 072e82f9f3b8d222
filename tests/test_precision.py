"""Each derivative is held to the tolerance of the lowest precision its computation passed through.

A loss that computes in float32 for stability (`x = x.float()`, as timm's AsymmetricLossMultiLabel
does) runs in float32 in compare's float64 run too: its gradient is right to float32's rounding,
not to float64's. The symbolic side sees the cast op by op (`symbolic.observed`); the exact side
is not rounded. A real error larger than the coarser dtype's rounding is still caught, and an input
whose values never went through the cast is still held to its own dtype.
"""
import pytest
import torch

import compare

F64, F32 = torch.float64, torch.float32


def _cube_in_float32(x):
    return (x.float() ** 3).sum()


@pytest.mark.parametrize("dtype", [F64, F32])
def test_a_cast_to_float32_inside_holds_the_gradient_to_float32(dtype):
    x = torch.tensor([0.7, -1.3, 2.1, 0.05], dtype=dtype)
    result = compare.check(_cube_in_float32, (x,))
    assert result.status == "agree", [p.note for p in result.points]
    note = next(n for n in result.comparison_notes if n.startswith("precision"))
    assert "rounded from float64 to float32" in note and "the float64 run" in note and "tests/test_precision.py" in note


def _asymmetric_loss(x, y):
    """A multi-label loss with asymmetric focusing, computed in float32 whatever the inputs' dtype."""
    x, y = x.float(), y.float()
    p = torch.sigmoid(x)
    negative = (1 - p + 0.05).clamp(max=1)
    loss = y * torch.log(p.clamp(min=1e-8)) + (1 - y) * torch.log(negative.clamp(min=1e-8))
    weight = torch.pow(1 - (p * y + negative * (1 - y)), 1 * y + 4 * (1 - y))
    return -(loss * weight).sum() / x.shape[0]


@pytest.mark.parametrize("dtype", [F64, F32])
def test_a_loss_that_computes_in_float32(dtype):
    x = torch.tensor([[0.3, -1.2, 2.2], [-0.4, 0.9, -2.5]], dtype=dtype)
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=dtype)
    result = compare.check(lambda x: _asymmetric_loss(x, y), (x,))
    assert result.status == "agree", [p.note for p in result.points]


def test_float16_rounding_is_no_other_function():
    """In float16, x**3 summed with cancellation is 0.3% off the exact output: rounding, not another function."""
    x = torch.tensor([-2.5700, 3.3018, -3.2136, 0.3681])
    result = compare.check(lambda x: (x.half() ** 3).sum(), (x,), samples=0)
    assert result.status == "agree", result.error


class _CubeOff(torch.autograd.Function):
    """x**3 whose backward is 1e-3 relative off: far more than float32 rounds."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * (1 + 1e-3)


def test_a_float32_computation_with_a_real_error_is_still_caught():
    result = compare.check(lambda x: _CubeOff.apply(x.float()).sum(), (torch.tensor([0.7, -1.3], dtype=F64),))
    assert result.status == "disagree"


class _CubeSlightlyOff(torch.autograd.Function):
    """x**3 whose backward is 1e-7 relative off: inside float32's rounding, outside float64's."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * (1 + 1e-7)


def test_an_input_that_never_passes_through_the_cast_keeps_its_own_tolerance():
    def f(x, y):
        return x.float().sum() + _CubeSlightlyOff.apply(y).sum()

    result = compare.check(f, (torch.tensor([0.7, -1.3], dtype=F64), torch.tensor([0.4, 1.1], dtype=F64)), order=1)
    assert result.status == "disagree"
    assert not result.points[0].errors64_by_input["y"].agree and result.points[0].errors64_by_input["x"].agree
