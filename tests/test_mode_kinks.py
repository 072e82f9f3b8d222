"""At a kink every mode is held to PyTorch's rules, as reverse mode is (`judge.mode_common.at_kink`).

No mode disagrees where torch follows the rules, and a mode that leaves them at the kink alone is
caught. Each expected value is worked out by hand from the autograd notes' rules ("Gradients for
non-differentiable functions": 2, the subgradient of minimum norm; 4, the derivative by continuity)
and from the op's formulas in derivatives.yaml, never from what compare printed.
"""
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import compare
from compare.engine import check_case
from compare.load import load_file
from compare.modes import KEYWORDS

F64 = torch.float64
EVERY = {k: True for k in KEYWORDS}
INF, NAN = math.inf, math.nan

# (id, function, inputs, forward mode's derivative of out.sum() along each e_j, by hand)
AT_KINKS = [
    # relu at 0 is convex, slopes 0 and 1: rule 2 gives 0
    ("relu", lambda x: torch.relu(x).sum(), {"x": [0.0, 1.5, -2.0]}, [0, 1, 0]),
    # |x| at 0: rule 2 gives 0 (abs: grad * sgn(x), sgn(0) = 0)
    ("abs", lambda x: x.abs().sum(), {"x": [0.0, -1.0]}, [0, -1]),
    # clamp passes the gradient at its bounds (derivatives.yaml: "we return the subgradient 1")
    ("clamp", lambda x: x.clamp(-1.0, 1.0).sum(), {"x": [-1.0, 1.0, 0.5, 2.0]}, [1, 1, 1, 0]),
    # elu (alpha 1) is differentiable at 0, slope 1 from both sides: only its second derivative has a kink
    ("elu", lambda x: F.elu(x).sum(), {"x": [0.0, 2.0]}, [1, 1]),
    # max() shares the gradient evenly among the tied entries (rule 2's subgradient of minimum norm too)
    ("max_tie", lambda x: x.max(), {"x": [1.0, 3.0, 3.0]}, [0, 0.5, 0.5]),
    # maximum(a, b) at a tie: half to each
    ("maximum_tie", lambda a, b: torch.maximum(a, b).sum(), {"a": [2.0], "b": [2.0]}, [0.5, 0.5]),
    # fmax's forward formula, other_t + (self_p > other_p) * (self_t - other_t): at a tie, the second argument
    ("fmax_tie", lambda a, b: torch.fmax(a, b).sum(), {"a": [1.0], "b": [1.0]}, [0, 1]),
    # sqrt at 0: rule 4, inf; along e_1 forward mode multiplies that inf by the tangent's 0: nan
    ("sqrt_zero", lambda x: torch.sqrt(x).sum(), {"x": [0.0, 0.25, 4.0]}, [INF, NAN, NAN]),
    # a non-scalar output: relu's Jacobian, its columns summed as above
    ("relu_vector", lambda x: torch.relu(x), {"x": [0.0, 1.0]}, [0, 1]),
]


def _modes(result) -> dict:
    return {c.mode: c for c in result.points[0].modes}


def _tensors(inputs: dict) -> dict:
    return {n: torch.tensor(v, dtype=F64) for n, v in inputs.items()}


@pytest.mark.parametrize("fn, inputs, along", [a[1:] for a in AT_KINKS], ids=[a[0] for a in AT_KINKS])
def test_no_mode_disagrees_where_torch_follows_the_rules(fn, inputs, along):
    result = compare.check(fn, _tensors(inputs), samples=0, **EVERY)
    modes = _modes(result)
    assert set(modes) == set(KEYWORDS)
    assert {m: c.status for m, c in modes.items() if c.status not in ("agree", "convention")} == {}, \
        {m: c.note for m, c in modes.items()}
    forward = modes["check_forward_ad"]
    assert forward.status == "convention", forward.note  # a kink at the first order: the rules decide
    np.testing.assert_array_equal(forward.exact, np.array(along, dtype=np.float64))  # the value held to


def test_fmax_forward_and_reverse_take_a_tie_from_different_arguments_in_torch():
    """Why forward mode has its own rule at fmax's tie: torch's two formulas compare with > and >=."""
    a, b = torch.tensor([1.0], dtype=F64), torch.tensor([1.0], dtype=F64)
    one, zero = torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64)
    forward = [float(torch.func.jvp(torch.fmax, (a, b), t)[1]) for t in ((one, zero), (zero, one))]
    reverse = [float(g) for g in torch.autograd.grad(torch.fmax(a.requires_grad_(), b.requires_grad_()).sum(), (a, b))]
    assert forward == [0.0, 1.0] and reverse == [1.0, 0.0]
    result = compare.check(lambda a, b: torch.fmax(a, b).sum(), {"a": a.detach(), "b": b.detach()}, samples=0,
                           **EVERY)
    modes = _modes(result)
    assert modes["check_backward_ad"].status == "convention"
    np.testing.assert_array_equal(result.points[0].allowed[0]["a"], [1.0])  # reverse: the first argument


class _ReluPassingTangent(torch.autograd.Function):
    """relu whose backward follows rule 2 (0 at 0) and whose jvp passes the tangent at 0 (x >= 0)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.relu(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * (x >= 0)


class _SafeSqrtTangent(torch.autograd.Function):
    """sqrt whose backward gives rule 4's inf at 0 and whose jvp gives 0 there (a "safe" jvp)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x.sqrt()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2 * y)

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return torch.where(y == 0, torch.zeros_like(t), t / (2 * y))


@pytest.mark.parametrize("function, x, wrong", [
    (_ReluPassingTangent, [0.0, 1.5, -2.0], 1.0),  # rule 2 gives relu'(0) = 0; the jvp gives 1
    (_SafeSqrtTangent, [0.0, 4.0], 0.0),  # rule 4 gives sqrt'(0) = inf; the jvp gives 0
], ids=["relu_jvp_passes_at_0", "sqrt_jvp_safe_at_0"])
def test_a_jvp_wrong_only_at_the_kink_is_caught_in_forward_mode(function, x, wrong):
    x = torch.tensor(x, dtype=F64)
    assert float(torch.func.jvp(function.apply, (x,), (torch.eye(len(x), dtype=F64)[0],))[1][0]) == wrong
    result = compare.check(lambda x: function.apply(x).sum(), {"x": x}, samples=0, check_forward_ad=True,
                           check_batched_forward_grad=True)
    modes = _modes(result)
    assert modes["check_backward_ad"].status == "convention"  # its backward follows the rule
    assert modes["check_forward_ad"].status == "disagree", modes["check_forward_ad"].note
    assert modes["check_batched_forward_grad"].status == "disagree"
    assert "none of the values PyTorch's rules allow" in modes["check_forward_ad"].note
    assert result.status == "disagree"
    fixed = compare.check(lambda x: function.apply(x).sum(), {"x": x}, samples=0, check_forward_ad=False,
                          check_batched_forward_grad=False, check_fwd_over_fwd=False, check_fwd_over_rev=False)
    assert fixed.status == "convention"  # with forward mode off, nothing else is wrong


def test_a_second_derivative_wrong_only_at_the_kink_is_caught_in_reverse_over_reverse():
    """The corpus's elu by hand whose backward's derivative at 0 is 1.5, where the rules allow 1 or 0
    (elu'' is 1 from the left, 0 from the right: rule 4, any one of the limits)."""
    loaded = load_file(os.path.join(os.path.dirname(__file__), "..", "cases", "kinks", "wrong_at_the_kink.py"))
    case = next(c for c in loaded.cases if c.name == "elu_bent_at_zero")
    modes = _modes(check_case(case, samples=0))
    assert modes["check_backward_ad"].status == "convention"
    assert modes["check_rev_over_rev"].status == "disagree"
    assert "second derivatives are none of the values" in modes["check_rev_over_rev"].note


def test_a_wrong_value_at_a_kink_is_not_blamed_on_a_backward_outside_autograd():
    """leaky_relu(x, -0.5) at 0 is convex (slopes -1/2 and 1), so rule 2 allows 0 and torch gives -1/2: every
    mode that sees the first derivative disagrees, reverse over reverse too (through Jᵀ1); but its backward is
    differentiable in its incoming gradient, so the note must not say it runs outside autograd."""
    result = compare.check(lambda x: F.leaky_relu(x, -0.5).sum(), _tensors({"x": [0.0]}), samples=0, **EVERY)
    rev_over_rev = _modes(result)["check_rev_over_rev"]
    assert rev_over_rev.status == "disagree"
    assert "outside autograd" not in rev_over_rev.note and "rule 2" in rev_over_rev.note, rev_over_rev.note
