"""rrelu in evaluation is leaky_relu with the mean slope, against autograd (training: tests/test_draws.py)."""
import pytest
import torch
import torch.nn.functional as F

import compare

X = torch.tensor([0.75, -1.5, 2.0, -0.25], dtype=torch.float64)


def test_rrelu_in_evaluation_agrees_with_autograd():
    compare.assert_agrees(lambda x: F.rrelu(x, 0.1, 0.3, training=False), (X,), samples=2)
    compare.assert_agrees(lambda x: F.rrelu(x), (X,), samples=1)  # training=False is the default


def test_a_wrong_slope_is_caught():
    class WrongRrelu(torch.autograd.Function):  # the backward of leaky_relu's default slope 0.01
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return F.rrelu(x, 0.1, 0.3, training=False)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.where(x > 0, g, 0.01 * g)

    with pytest.raises(AssertionError):
        compare.assert_agrees(WrongRrelu.apply, (X,), samples=1)


def test_op_db_evaluation_samples_run():
    pytest.importorskip("expecttest")
    from compare.conformance import run as conformance

    op = next(o for o in conformance.opinfos() if o.name == "nn.functional.rrelu")
    evaluation = [s for s in op.sample_inputs("cpu", torch.float64, requires_grad=True)
                  if not s.kwargs.get("training", False)]
    assert evaluation
    assert [conformance.check_sample(op, s).status for s in evaluation] == ["runs"] * len(evaluation)
