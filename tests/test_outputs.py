"""A function that returns several tensors is checked on the outputs autograd differentiates.

torch.max(x, dim) and torch.sort return values and int64 indices; torch.native_layer_norm returns
the output and its mean and rstd, which torch declares not differentiable (`requires_grad` is False
on them). Autograd leaves those out of any loss; so does the check, as gradcheck does and as the
op_db harness (`compare.conformance`) sums an op_db sample's outputs.
"""
import pytest
import torch

import compare

F64 = torch.float64
X = torch.tensor([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]], dtype=F64)


@pytest.mark.parametrize("fn, left", [
    (lambda x: torch.max(x, 1), "output 1 (int64) is left out"),
    (lambda x: torch.sort(x, 1), "output 1 (int64) is left out"),
    (lambda x: torch.native_layer_norm(x, [3], None, None, 1e-5), "outputs 1 (float64), 2 (float64) are left out"),
], ids=["max_dim", "sort", "native_layer_norm"])
def test_outputs_autograd_does_not_differentiate_are_left_out(fn, left):
    result = compare.check(fn, (X,))
    assert result.status == "agree", result.error
    assert left in result.comparison_notes[0]


def test_several_differentiated_outputs_are_all_checked():
    result = compare.check(lambda x: (x.sin(), x.prod(1)), (X,))
    assert result.status == "agree", result.error
    assert result.output_shape == (8,)  # 6 entries of sin, 2 of prod, end to end


class _ValuesOff(torch.autograd.Function):
    """max over a row, returning (values, indices), whose backward is 1% off for the values."""

    @staticmethod
    def forward(ctx, x):
        values, indices = torch.max(x, 1)
        ctx.save_for_backward(indices)
        ctx.shape = x.shape
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, _):
        (indices,) = ctx.saved_tensors
        return torch.zeros(ctx.shape, dtype=g.dtype).scatter(1, indices[:, None], 1.01 * g[:, None])


def test_a_wrong_backward_beside_an_index_output_is_caught():
    result = compare.check(_ValuesOff.apply, (X,), order=1)
    assert result.status == "disagree"


def test_the_op_db_harness_leaves_out_native_layer_norms_mean_and_rstd():
    pytest.importorskip("expecttest")
    from compare.conformance import samples as opdb_samples

    x = X.clone().requires_grad_()
    out = torch.native_layer_norm(x, [3], None, None, 1e-5)
    assert [o is out[0] for o in opdb_samples._differentiable(out)] == [True]
