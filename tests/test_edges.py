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


# -- NaN inputs: a one-line refusal naming the input and the entry --------------------------------
def test_a_nan_input_is_refused_naming_the_input_and_the_entry():
    x = torch.tensor([[0.0, 1.0, 2.0], [1.0, 2.0, math.nan]], dtype=F64)
    result = compare.check(torch.sin, (x,))
    assert result.status == "error"
    assert result.error.endswith("input 'x' has NaN at [1, 2]: NaN has no derivative to compare")
    assert len(result.error.splitlines()) == 1
    with pytest.raises(compare.CannotCheck, match=r"input 'x' has NaN at \[1, 2\]"):
        compare.assert_agrees(torch.sin, (x,))


def test_a_nan_at_a_shown_point_is_refused_too():
    case = compare.case(inputs={"x": torch.ones(2, dtype=F64)}, show_at={"x": torch.tensor([1.0, math.nan])},
                        name="shown_nan")(lambda x: x.exp())
    result = compare.check(case)
    assert result.status == "error" and "shown 1 (show_at): input 'x' has NaN at [1]" in result.error


# -- infinite inputs where the function is defined ---------------------------------------------------
def test_logsumexp_with_a_minus_infinite_entry():
    """d/dx_i logsumexp(x) = softmax(x)_i: [0, 1/(1+e), e/(1+e)] at [-inf, 0, 1]; exp(-inf) = 0, and
    the function does not change along the -inf entry, which a finite step leaves at -inf."""
    x = torch.tensor([-math.inf, 0.0, 1.0], dtype=F64)
    result = compare.check(lambda x: torch.logsumexp(x, 0), (x,))
    assert result.status == "agree", result.error
    e = math.e
    assert result.points[0].symbolic["x"].tolist() == pytest.approx([0.0, 1 / (1 + e), e / (1 + e)], rel=1e-15)
    assert result.points[0].hessian.errors.agree
    fd = result.points[0].oracles["finite_difference"]
    assert fd.values is None and "infinite" in fd.note  # no finite step moves -inf


def _attention(scores, values):
    """One row of attention with its second key masked out, as model code masks padding."""
    mask = torch.tensor([False, True, False])
    return torch.softmax(scores.masked_fill(mask, -math.inf), -1) @ values


def test_attention_with_a_masked_key():
    scores = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    values = torch.tensor([[1.0, 2.0], [3.0, -4.0], [0.5, 0.25]], dtype=F64)
    result = compare.check(_attention, (scores, values))
    assert result.status == "agree", result.error
    grad = result.points[0].symbolic
    assert grad["scores"][1] == 0.0 and grad["values"][1].tolist() == [0.0, 0.0]  # the masked key gets nothing


def _weighted_softmax(x):
    return (torch.softmax(x, -1) * torch.tensor([1.0, 2.0, 3.0], dtype=x.dtype)).sum()


def test_softmax_of_scores_that_hold_minus_infinity():
    """With s = softmax(x) and w = (1, 2, 3): d/dx_i (w . s) = s_i (w_i - w . s); s_0 = 0 at x_0 = -inf."""
    x = torch.tensor([-math.inf, 0.0, 1.0], dtype=F64)
    result = compare.check(_weighted_softmax, (x,))
    assert result.status == "agree", result.error
    s = torch.softmax(x, -1)
    w = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    assert result.points[0].symbolic["x"] == pytest.approx((s * (w - (w * s).sum())).tolist(), rel=1e-12)


def test_a_fully_masked_row_of_safe_softmax():
    """aten._safe_softmax gives 0 on a row that is all -inf (as op_db samples it): a constant there, so
    its derivative along every entry of that row is 0; autograd gives 0."""
    x = torch.tensor([[1.0, -math.inf, 2.0], [-math.inf, -math.inf, -math.inf]], dtype=F64)
    w = torch.arange(1.0, 4.0, dtype=F64)
    result = compare.check(lambda x: (torch.ops.aten._safe_softmax.default(x, 1) * w).sum(), (x,))
    assert result.status == "agree", result.error
    assert result.points[0].symbolic["x"][1].tolist() == [0.0, 0.0, 0.0]


class _LeakyMaskedSoftmax(torch.autograd.Function):
    """softmax whose backward leaks gradient into masked (-inf) entries, where the derivative is 0."""

    @staticmethod
    def forward(ctx, x):
        s = torch.softmax(x, -1)
        ctx.save_for_backward(x, s)
        return s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return s * (g - (g * s).sum(-1, keepdim=True)) + 1e-3 * torch.isinf(x).to(g.dtype)


def test_a_backward_that_leaks_into_masked_entries_is_caught():
    x = torch.tensor([-math.inf, 0.0, 1.0], dtype=F64)
    result = compare.check(lambda x: _weighted_softmax_of(_LeakyMaskedSoftmax.apply(x)), (x,), order=1, samples=0)
    assert result.status == "disagree"
    assert result.points[0].errors64_by_input["x"].worst == (0,)


def _weighted_softmax_of(s):
    return (s * torch.tensor([1.0, 2.0, 3.0], dtype=s.dtype)).sum()


def test_exp_at_plus_infinity_keeps_its_infinite_derivative():
    """exp(inf) = inf: f(x + h) - f(x) is inf - inf there, and the derivative by continuity is inf
    (PyTorch's rule 4, inf possible), which autograd gives."""
    result = compare.check(lambda x: torch.exp(x).sum(), (torch.tensor([math.inf, 0.5], dtype=F64),), order=1)
    assert result.status == "agree", result.error
    assert result.points[0].symbolic["x"][0] == math.inf


# -- where the function is undefined -------------------------------------------------------------------
def test_an_infinite_input_where_the_function_is_undefined_names_itself():
    result = compare.check(lambda x: torch.sin(x).sum(), (torch.tensor([0.5, math.inf], dtype=F64),))
    assert result.status == "error"
    assert result.error.endswith("example: input 'x' is inf at [1], where the function is not defined (its value "
                                 "is NaN there): an infinite input is checked only where the function has a value")


def test_a_negative_base_to_a_fractional_power_is_undefined_not_a_disagreement():
    """c ** e for c < 0 and e not whole is NaN in torch (a real power of a negative number has no real
    value): the function is undefined there, so its derivatives are arbitrary (rule 5). The exact
    Hessian has structural zeros (d2/de_i de_j of a sum of separate terms) where autograd has NaN."""
    c = torch.tensor(-4.146041530864057, dtype=F64)
    e = torch.tensor([-4.826984902407649, -0.6046891126565539], dtype=F64)
    result = compare.check(lambda e, c: (c ** e).sum(), (e, c))
    example = result.points[0]
    assert example.status == "convention" and "rule 5" in example.rule
    assert example.hessian.exact[0, 1] == 0.0 and math.isnan(example.hessian.autograd[0, 1])
    assert all(p.status == "agree" for p in result.points[1:])  # the samples are drawn where it is defined


class _WrongPow(torch.autograd.Function):
    """c ** e whose backward for e forgets the log(c) factor."""

    @staticmethod
    def forward(ctx, e, c):
        out = c ** e
        ctx.save_for_backward(e, c, out)
        return out

    @staticmethod
    def backward(ctx, g):
        e, c, out = ctx.saved_tensors
        return g * out, (g * e * c ** (e - 1)).sum()


def test_a_wrong_power_backward_is_still_caught_beside_an_undefined_point():
    result = compare.check(_WrongPow.apply, (torch.tensor([0.5, 1.5], dtype=F64), torch.tensor(-2.0, dtype=F64)),
                           order=1)
    assert result.points[0].status == "convention"  # undefined at the example: c < 0
    assert result.status == "disagree"  # the samples, where c > 0, catch it
