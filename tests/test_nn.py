"""Convolution, pooling and selection on symbolic tensors: values, gradients and ties against torch."""
import pytest
import torch
import torch.nn.functional as F

import compare
from compare.records import AGREE, CONVENTION, DISAGREE

g = torch.Generator().manual_seed(0)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


# Each: (function, inputs). compare.check compares the symbolic output with torch's at every point
# (an error otherwise) and the exact gradient with autograd's.
CONVOLUTIONS = {
    "conv1d_bias": (lambda x, w, b: F.conv1d(x, w, b), {"x": _r(1, 1, 4), "w": _r(1, 1, 2), "b": _r(1)}),
    "conv1d_unbatched_same": (lambda x, w: F.conv1d(x, w, padding="same"), {"x": _r(2, 4), "w": _r(1, 2, 3)}),
    "conv2d_stride_pad": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                          {"x": _r(1, 2, 3, 3), "w": _r(2, 2, 2, 2), "b": _r(2)}),
    "conv2d_groups_dilation": (lambda x, w: F.conv2d(x, w, groups=2, dilation=2),
                               {"x": _r(1, 2, 3, 3), "w": _r(2, 1, 2, 2)}),
    "conv3d": (lambda x, w: F.conv3d(x, w, stride=(1, 1, 2)), {"x": _r(1, 1, 2, 2, 3), "w": _r(1, 1, 2, 1, 2)}),
    "conv_transpose1d": (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1,
                                                            groups=2, dilation=2),
                         {"x": _r(1, 2, 3), "w": _r(2, 1, 2), "b": _r(2)}),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2), {"x": _r(1, 1, 2, 2), "w": _r(1, 2, 2, 2)}),
    "conv_transpose3d": (lambda x, w: F.conv_transpose3d(x, w, padding=1), {"x": _r(1, 1, 2, 2, 2), "w": _r(1, 1, 2, 2, 2)}),
}

POOLS = {
    "avg1d": (lambda x: F.avg_pool1d(x, 2), {"x": _r(1, 1, 4)}),
    "avg2d_exclude_pad": (lambda x: F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False),
                          {"x": _r(1, 1, 3, 3)}),
    "avg2d_ceil_unbatched": (lambda x: F.avg_pool2d(x, 2, ceil_mode=True), {"x": _r(1, 3, 3)}),
    "avg2d_divisor": (lambda x: F.avg_pool2d(x, 2, padding=1, divisor_override=3), {"x": _r(1, 1, 3, 3)}),
    "avg3d_ceil_pad": (lambda x: F.avg_pool3d(x, 2, ceil_mode=True, padding=1), {"x": _r(1, 1, 2, 3, 2)}),
    "max1d": (lambda x: F.max_pool1d(x, 2), {"x": _r(1, 1, 4)}),
    "max2d_pad": (lambda x: F.max_pool2d(x, 2, stride=1, padding=1), {"x": _r(1, 1, 2, 3)}),
    "max2d_dilation": (lambda x: F.max_pool2d(x, 2, dilation=2), {"x": _r(1, 1, 3, 3)}),
    "max3d_ceil": (lambda x: F.max_pool3d(x, 2, ceil_mode=True), {"x": _r(1, 1, 2, 2, 3)}),
    "adaptive_avg2d": (lambda x: F.adaptive_avg_pool2d(x, 2), {"x": _r(1, 1, 3, 3)}),
    "adaptive_avg3d": (lambda x: F.adaptive_avg_pool3d(x, 1), {"x": _r(1, 1, 2, 2, 2)}),
    "adaptive_max2d": (lambda x: F.adaptive_max_pool2d(x, 1), {"x": _r(1, 1, 2, 2)}),
}

SELECTIONS = {
    "sort_descending": (lambda x: torch.sort(x, descending=True, stable=True).values * torch.arange(1.0, 4.0),
                        {"x": _r(3)}),
    "sort_dim0": (lambda x: torch.sort(x, dim=0).values * torch.arange(6.0).reshape(3, 2), {"x": _r(3, 2)}),
    "topk_smallest": (lambda x: torch.topk(x, 2, largest=False).values * torch.tensor([1.0, 3.0]), {"x": _r(3)}),
    "kthvalue_keepdim": (lambda x: torch.kthvalue(x, 2, dim=1, keepdim=True).values, {"x": _r(2, 3)}),
    "median_dim": (lambda x: torch.median(x, 1).values, {"x": _r(2, 3)}),
    "median": (lambda x: torch.median(x), {"x": _r(3)}),
}


@pytest.mark.parametrize("name", sorted({**CONVOLUTIONS, **POOLS, **SELECTIONS}))
def test_agrees_with_torch(name):
    fn, inputs = {**CONVOLUTIONS, **POOLS, **SELECTIONS}[name]
    result = compare.check(fn, inputs, samples=1, order=1, name=name)
    assert result.status == AGREE, [p.note for p in result.points if p.status != AGREE]


def test_indices_are_torchs():
    """The indices outputs, which carry no gradient, are checked through values that use them."""
    x = _r(1, 1, 2, 4)
    compare.assert_agrees(lambda x: x.reshape(-1)[F.max_pool2d(x, 2, return_indices=True)[1].reshape(-1)], (x,),
                          samples=1, order=1)
    y = _r(2, 3)
    compare.assert_agrees(lambda y: y.gather(1, torch.sort(y, dim=1).indices) * torch.arange(3.0), (y,),
                          samples=1, order=1)
    compare.assert_agrees(lambda y: y.gather(1, torch.kthvalue(y, 2, dim=1, keepdim=True).indices), (y,),
                          samples=1, order=1)


def test_a_convolution_is_one_sum_per_entry():
    from compare.symbolic import SymTensor, exprs_of
    import numpy as np
    import sympy

    x = SymTensor(np.array([[sympy.Symbol(f"x{i}") for i in range(4)]], dtype=object), torch.float64)
    w = torch.tensor([[[2.0, 3.0]]], dtype=torch.float64)
    out = exprs_of(F.conv1d(x, w))
    assert out.shape == (1, 3)
    x0, x1 = sympy.symbols("x0 x1")
    assert out[0, 0] == 2 * x0 + 3 * x1 and isinstance(out[0, 0], sympy.Add)


def test_sort_of_four_has_a_piece_per_ordering():
    result = compare.check(lambda x: torch.sort(x).values * torch.arange(1.0, 5.0), {"x": _r(4)}, samples=0, order=1)
    assert result.status == AGREE and len(result.pieces) == 24


def test_a_boolean_mask_is_a_selection_not_a_branch():
    """x[x > 0] decides inside the op, which autograd's run does not see as a Python branch."""
    result = compare.check(lambda x: x[x > 0].sum(), {"x": torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)},
                           samples=1)
    assert result.status == AGREE


def test_a_max_pool_tie_follows_autograds_rule():
    """At a tie autograd sends the gradient to the first largest entry of the window: convention."""
    x = torch.tensor([[[1.0, 1.0, 0.0, 2.0]]], dtype=torch.float64)
    result = compare.check(lambda x: F.max_pool1d(x, 2), {"x": x}, samples=0, order=1)
    assert result.status == CONVENTION


def test_selections_at_a_tie_follow_the_index_they_return():
    """sort, topk, kthvalue and median(dim) send the gradient to the index returned, as the stable sort picks."""
    t = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    for fn in (lambda x: torch.sort(x, descending=True).values * torch.arange(1.0, 4.0),
               lambda x: torch.topk(x, 1).values, lambda x: torch.kthvalue(x, 2).values,
               lambda x: torch.median(x, 0).values):
        assert compare.check(fn, {"x": t}, samples=0, order=1).status == CONVENTION


def test_median_at_a_tie():
    """median() without dim shares the gradient evenly among the entries equal to it (derivatives.yaml)."""
    t = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    result = compare.check(lambda x: torch.median(x), {"x": t}, samples=0, order=1)
    assert result.status == CONVENTION
    assert [a["x"].tolist() for a in result.points[0].allowed] == [[0.5, 0.5, 0.0]]


class _WrongPool(torch.autograd.Function):
    """max_pool1d whose backward sends each window's gradient to its last entry instead of its largest."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return F.max_pool1d(x, 2)

    @staticmethod
    def backward(ctx, grad):
        out = torch.zeros(ctx.shape, dtype=grad.dtype)
        out[..., 1::2] = grad
        return out


class _WrongConv(torch.autograd.Function):
    """conv1d whose backward to the input forgets to flip the kernel."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return F.conv1d(x, w)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        flipped_wrong = F.conv1d(F.pad(grad, (2, 2)), w)  # should be conv_transpose1d(grad, w)
        return flipped_wrong, torch.nn.grad.conv1d_weight(x, w.shape, grad)


class _WrongSort(torch.autograd.Function):
    """sort whose backward passes the gradient through unpermuted."""

    @staticmethod
    def forward(ctx, x):
        return torch.sort(x).values

    @staticmethod
    def backward(ctx, grad):
        return grad


@pytest.mark.parametrize("fn, inputs", [
    (_WrongPool.apply, {"x": torch.tensor([[[3.0, 1.0, 0.5, 2.0]]], dtype=torch.float64)}),
    (_WrongConv.apply, {"x": torch.tensor([[[1.0, -2.0, 0.5, 3.0]]], dtype=torch.float64),
                        "w": torch.tensor([[[2.0, -1.0, 0.25]]], dtype=torch.float64)}),
    (lambda x: _WrongSort.apply(x) * torch.arange(1.0, 4.0), {"x": torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64)}),
], ids=["max_pool", "conv", "sort"])
def test_a_wrong_backward_is_caught(fn, inputs):
    assert compare.check(fn, inputs, samples=1, order=1).status == DISAGREE
