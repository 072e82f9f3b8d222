"""Bool tensors in arithmetic: torch's type promotion makes True 1 and False 0 (torch refuses `x - mask`).

Library code multiplies by masks everywhere (kornia's `dice_loss` masks ignored pixels with
`target_one_hot * target_mask`); each idiom here gets the gradient its mathematics gives, and a
masked product whose backward forgets the mask is caught.
"""
import numpy as np
import pytest
import sympy
import torch

import compare
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, exprs_of

F64 = torch.float64
X = torch.tensor([0.5, -1.5, 2.0], dtype=F64)
MASK = torch.tensor([True, False, True])
ONES_WHERE_MASK = [1.0, 0.0, 1.0]


def example_gradient(result, name="x"):
    assert result.status == "agree", result.error
    return result.points[0].symbolic[name].tolist()


@pytest.mark.parametrize("fn, gradient", [
    (lambda x: x * MASK, ONES_WHERE_MASK),
    (lambda x: MASK * x, ONES_WHERE_MASK),
    (lambda x: x * ~MASK, [0.0, 1.0, 0.0]),
    (lambda x: (x + MASK) ** 2, [2 * (0.5 + 1), 2 * -1.5, 2 * (2.0 + 1)]),  # d/dx (x + m)^2 = 2 (x + m)
    (lambda x: x * True + x * False, [1.0, 1.0, 1.0]),
    (lambda x: x / (MASK + 1), [0.5, 1.0, 0.5]),  # a bool plus an int is an int: 2, 1, 2
    (lambda x: x * (MASK == 1), ONES_WHERE_MASK),
    (lambda x: torch.where(MASK, x, 0), ONES_WHERE_MASK),
    (lambda x: x * MASK.float() * MASK.sum(), [2.0, 0.0, 2.0]),
], ids=["x*mask", "mask*x", "x*~mask", "(x+mask)^2", "x*True",
        "x/(mask+1)", "x*(mask==1)", "where", "mask.float()*mask.sum()"])
def test_a_bool_operand_is_one_or_zero(fn, gradient):
    assert np.allclose(example_gradient(compare.check(fn, (X,), order=1)), gradient, rtol=1e-15)


def test_a_mask_of_the_inputs_is_a_piecewise_factor():
    """x * (x > 0) is relu: gradient 1 where x > 0 and 0 where x < 0, at every point checked."""
    result = compare.check(lambda x: x * (x > 0), (X,))
    assert example_gradient(result) == [1.0, 0.0, 1.0]
    for point in result.points:
        assert point.symbolic["x"].tolist() == (point.inputs["x"] > 0).astype(float).tolist()


def test_a_function_of_a_symbolic_mask_takes_it_as_one_or_zero():
    """exp(x > 0) is e where x > 0 and 1 elsewhere (torch promotes the bool to its default float)."""
    x = SymTensor(input_symbols("x", (2,)), torch.float64)
    (e_where_positive, _) = exprs_of(torch.exp(x > 0))
    x0 = x.exprs[0]
    assert e_where_positive.subs(x0, 1) == sympy.E and e_where_positive.subs(x0, -1) == 1


def test_bool_with_bool_stays_bool_as_in_torch():
    """bool + bool is a logical or and bool * bool a logical and (torch keeps the dtype bool)."""
    def f(x):
        either = (x > 0) + MASK
        both = (x > 0) * MASK
        return x * either + 3 * x * both

    result = compare.check(f, (X,), order=1)
    assert example_gradient(result) == [1.0 + 3.0, 0.0, 1.0 + 3.0]
    assert result.points[0].autograd64["x"].tolist() == [4.0, 0.0, 4.0]


def test_a_dice_loss_with_masked_pixels_agrees():
    """kornia's dice_loss as it computes: a one-hot target times the bool mask of non-ignored pixels.

    Pixel 1 is ignored, so the gradient at its logits is exactly 0."""
    target = torch.tensor([[[0, 2, 1]]])  # (B, H, W) = (1, 1, 3), 3 classes
    keep = torch.tensor([[[True, False, True]]])

    def dice_loss(pred):
        soft = pred.softmax(dim=1)
        one_hot = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).to(pred.dtype)
        mask = keep.unsqueeze(1)
        one_hot, soft = one_hot * mask, soft * mask
        intersection = torch.sum(soft * one_hot, (1, 2, 3))
        cardinality = torch.sum(soft + one_hot, (1, 2, 3))
        empty = cardinality == 0
        score = (2.0 * intersection / (cardinality + 1e-8).masked_fill(empty, 1.0)).masked_fill(empty, 0.0)
        return torch.mean(1.0 - score)

    pred = torch.tensor([[[[0.2, -1.0, 0.5]], [[1.5, 0.3, -0.7]], [[-0.4, 0.9, 0.1]]]], dtype=F64)
    result = compare.check(dice_loss, (pred,))
    assert result.status == "agree", result.error
    assert (result.points[0].symbolic["pred"][0, :, 0, 1] == 0).all()


class _ForgetsTheMask(torch.autograd.Function):
    """x * mask whose backward passes the gradient through the masked-out entries too."""

    @staticmethod
    def forward(ctx, x, mask):
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _KeepsTheMask(_ForgetsTheMask):
    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def test_a_backward_that_forgets_the_mask_disagrees():
    wrong = compare.check(lambda x: _ForgetsTheMask.apply(x, MASK), (X,), order=1)
    assert wrong.status == "disagree"
    assert wrong.points[0].symbolic["x"].tolist() == ONES_WHERE_MASK
    assert wrong.points[0].autograd64["x"].tolist() == [1.0, 1.0, 1.0]
    assert example_gradient(compare.check(lambda x: _KeepsTheMask.apply(x, MASK), (X,), order=1)) == ONES_WHERE_MASK
