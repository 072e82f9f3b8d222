"""Batch norm in training updates its running statistics in place: on the symbolic side the write
lands in a constant copy (a module's buffers, op_db's plain tensor arguments), and nothing the caller
holds is changed."""
import torch
import torch.nn.functional as F

import compare
from compare.conformance import run as conformance, samples as opdb_samples
from compare.records import AGREE, DISAGREE

g = torch.Generator().manual_seed(2)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_a_training_batch_norm_module_agrees_and_is_not_changed():
    m = torch.nn.BatchNorm1d(2).double().train()
    with torch.no_grad():
        m.running_mean.fill_(0.5)
    result = compare.check(m, (_r(3, 2),), samples=1, order=1)
    assert result.status == AGREE
    assert m.running_mean.tolist() == [0.5, 0.5] and m.running_var.tolist() == [1, 1]
    assert int(m.num_batches_tracked) == 0


def test_an_eval_batch_norm_module_reads_its_statistics():
    m = torch.nn.BatchNorm1d(2).double().eval()
    with torch.no_grad():
        m.running_mean.copy_(torch.tensor([0.5, -1.0]))
        m.running_var.copy_(torch.tensor([2.0, 0.25]))
    assert compare.check(m, (_r(3, 2),), samples=1, order=1).status == AGREE


class _WrongScale(torch.nn.Module):
    """A training batch norm whose output is scaled by a hand-written backward that forgets the scale."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(2).double()

    def forward(self, x):
        return _Twice.apply(self.bn(x))


class _Twice(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        return 2 * y

    @staticmethod
    def backward(ctx, grad):
        return grad  # should be 2 * grad


def test_a_wrong_backward_after_a_training_batch_norm_is_caught():
    result = compare.check(_WrongScale().train(), (_r(3, 2),), samples=1, order=1)
    assert result.status == DISAGREE


def test_op_db_state_is_a_constant_copy_taken_before_the_real_run():
    x = _r(3, 2).requires_grad_()
    mean, var = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    from torch.testing._internal.opinfo.core import SampleInput

    sample = SampleInput(x, args=(mean, var), kwargs={"training": True, "momentum": 0.5})
    state = opdb_samples._state(sample, [x])
    assert [t is mean or t is var for t, _ in state] == [True, True]
    F.batch_norm(x, mean, var, training=True, momentum=0.5)
    assert [list(v) for _, v in state] == [[0, 0], [1, 1]]  # the values the real run started from
    op = next(o for o in conformance.opinfos() if o.name == "nn.functional.batch_norm")
    assert conformance.check_sample(op, SampleInput(x, args=(torch.zeros(2, dtype=torch.float64),
                                                            torch.ones(2, dtype=torch.float64)),
                                                    kwargs={"training": True})).status == "runs"
