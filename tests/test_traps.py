"""Traps: functions whose derivative is easy to get wrong by evaluation, each with its right verdict.

A removable singularity (a formula 0/0 where the function is smooth), an
exact cancellation, an overflow waiting to happen, a branch of measure zero.
Each asserts what the mathematics gives, including where autograd is the one
that is wrong. Add to it as more turn up.
"""
import math

import numpy as np
import pytest
import sympy
import torch

import compare
from compare.agreement import agreeing
from compare.symbolic import UnsupportedOp

F64 = torch.float64
PI = math.pi  # as torch.pi: the float nearest to pi, whose square over 3 is sinc's -f''(0) / pi**2
SINC_SECOND = -(PI**2) / 3


def verdict(fn, inputs, **options):
    """`compare.check`'s result; an op the symbolic side lacks is raised as itself (for `xfail(raises=...)`)."""
    result = compare.check(fn, inputs, **options)
    if isinstance(result.cause, UnsupportedOp):
        raise result.cause
    assert result.status != "error", result.error
    return result


def _notes(result):
    return {p.note for p in result.points if p.note}


# -- removable singularities: the exact value is the limit -------------------------------------------
def test_a_power_with_a_tensor_exponent_at_a_zero_base():
    """d/da a**b = b*a**b/a and d/db a**b = a**b*log(a) are 0/0 and 0*oo at a = 0; both derivatives are 0."""
    result = verdict(lambda a, b: a**b, {"a": torch.tensor(0.0, dtype=F64), "b": torch.tensor(2.0, dtype=F64)},
                     order=1)
    assert result.status == "agree"
    example = result.points[0]
    assert "by continuity" in example.by_continuity
    assert float(example.symbolic["a"]) == 0.0 and float(example.symbolic["b"]) == 0.0
    assert all(not p.by_continuity for p in result.points[1:])  # the samples need no limit


def test_a_power_at_a_zero_base_in_float32_too():
    result = verdict(lambda a, b: a**b, {"a": torch.tensor(0.0), "b": torch.tensor(2.0)}, order=1)
    assert result.status == "agree"


def test_its_second_derivatives_are_where_autograd_fails():
    """The Hessian at (0, 2) is [[2, 0], [0, 0]] (a**2 along a, 0**b = 0 along b); autograd's is NaN."""
    result = verdict(lambda a, b: a**b, {"a": torch.tensor(0.0, dtype=F64), "b": torch.tensor(2.0, dtype=F64)})
    example = result.points[0]
    assert example.status == "disagree"
    assert example.note == "reverse over reverse differs from the exact derivative (Hessian)"
    assert example.hessian.exact.tolist() == [[2.0, 0.0], [0.0, 0.0]]


class _WrongPowAtZero(torch.autograd.Function):
    """a**b whose backward says d/da = 1 at a = 0, where the derivative is 0 (for b = 2)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a**b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = torch.where(a == 0, torch.ones_like(a), b * a ** (b - 1))
        db = torch.where(a == 0, torch.zeros_like(a), a**b * torch.log(a.abs()))
        return g * da, g * db


def test_a_wrong_value_at_the_singularity_is_caught():
    result = verdict(_WrongPowAtZero.apply, (torch.tensor(0.0, dtype=F64), torch.tensor(2.0, dtype=F64)), order=1,
                     samples=0)
    example = result.points[0]
    assert example.by_continuity  # the exact value is the limit, 0, not NaN
    assert example.status == "disagree" and float(example.autograd64["x"]) == 1.0


def test_zero_to_a_positive_power():
    """0**x is 0 for every x > 0, so its derivative is 0; SymPy's formula 0**x*log(0) is undefined.
    So are its second derivatives, 0 too, where autograd's are NaN (0**x * log(0)**2), as for a**b."""
    x = {"x": torch.tensor([0.5, 2.0], dtype=F64)}
    result = verdict(lambda x: torch.zeros_like(x) ** x, x, order=1)
    assert result.status == "agree"
    assert all(p.by_continuity for p in result.points)
    second = verdict(lambda x: torch.zeros_like(x) ** x, x).points[0]
    assert second.note == "reverse over reverse differs from the exact derivative (Hessian of wᵀ out)"
    assert not second.hessian.exact.any() and np.isnan(second.hessian.autograd).all()


def test_x_to_the_zero():
    result = verdict(lambda x: x**0, {"x": torch.tensor([0.0, 2.0])})
    assert result.status == "agree"
    assert result.points[0].symbolic["x"].tolist() == [0.0, 0.0]


def test_sin_x_over_x_at_zero_is_undefined_as_computed():
    """torch computes sin(0)/0 = NaN: the function as written is not defined at 0, so neither is its
    derivative, and no limit is taken for it (that would be the derivative of another function)."""
    result = verdict(lambda x: torch.sin(x) / x, {"x": torch.tensor(0.0, dtype=F64)})
    assert not result.points[0].by_continuity
    assert math.isnan(float(result.points[0].symbolic["x"])) and math.isnan(float(result.points[0].autograd64["x"]))
    assert result.status == "agree"  # NaN agrees with NaN: both say "undefined here"


# -- a branch of measure zero ----------------------------------------------------------------------
def _sinc(x):  # PyTorch's decomposition of torch.sinc
    return torch.where(x == 0, torch.ones_like(x), torch.sin(torch.pi * x) / (torch.pi * x)).sum()


def _safe_sinc(x):  # the usual repair: keep the NaN of the other branch out of the backward pass
    safe = torch.where(x == 0, torch.ones_like(x), x)
    return torch.where(x == 0, torch.ones_like(x), torch.sin(torch.pi * safe) / (torch.pi * safe)).sum()


def test_sinc_by_where_takes_the_functions_derivative_not_the_constants():
    """At 0 the function's derivatives are 0 and -pi**2/3, the constant branch's 0 and 0; autograd's
    gradient is NaN (the NaN of sin(pi x)/(pi x) at 0 reaches it through where's backward)."""
    result = verdict(_sinc, {"x": torch.tensor([0.0], dtype=F64)})
    example = result.points[0]
    assert example.by_continuity
    assert example.symbolic["x"].tolist() == [0.0] and math.isnan(example.autograd64["x"][0])
    assert example.status == "disagree"
    assert example.hessian.exact[0, 0] == pytest.approx(SINC_SECOND, rel=1e-15)


def test_elementwise_the_safe_sinc_has_the_wrong_second_derivative_of_w_out():
    """Not summed, the safe sinc's second derivatives are those of wᵀ out for a seeded w: at 0, w_0 (-pi²/3)
    by continuity, where autograd's are the constant branch's 0."""
    def elementwise(x):
        safe = torch.where(x == 0, torch.ones_like(x), x)
        return torch.where(x == 0, torch.ones_like(x), torch.sin(torch.pi * safe) / (torch.pi * safe))

    from compare.numeric.modes import cotangent
    from compare.sampling import case_seed

    x = {"x": torch.tensor([0.0, 0.5], dtype=F64)}
    assert verdict(elementwise, x, order=1).status == "agree"
    example = verdict(elementwise, x, samples=0).points[0]
    assert example.note == "reverse over reverse differs from the exact derivative (Hessian of wᵀ out)"
    w = cotangent((2,), case_seed(0, "elementwise"))  # the run's w
    assert example.hessian.exact[0, 0] == pytest.approx(float(w[0]) * SINC_SECOND, rel=1e-15)
    assert example.hessian.autograd[0, 0] == 0.0


def test_the_safe_sinc_has_the_right_gradient_and_the_wrong_second_derivative():
    x = {"x": torch.tensor([0.0], dtype=F64)}
    assert verdict(_safe_sinc, x, order=1).status == "agree"
    result = verdict(_safe_sinc, x)
    example = result.points[0]
    assert example.note == "reverse over reverse differs from the exact derivative (Hessian)"
    assert example.hessian.exact[0, 0] == pytest.approx(SINC_SECOND, rel=1e-15)
    assert example.hessian.autograd[0, 0] == 0.0  # the constant branch's


# -- cancellation and overflow -----------------------------------------------------------------------
def test_softmax_sums_to_one_so_its_gradient_is_exactly_zero():
    result = verdict(lambda x: torch.softmax(x, 0).sum(), {"x": torch.tensor([1.0, 2.0, 3.0])})
    assert result.status == "agree"
    assert all(p.symbolic["x"].tolist() == [0.0, 0.0, 0.0] for p in result.points)  # 0, not 1e-167


def test_sqrt_of_x_squared_plus_one():
    result = verdict(lambda x: torch.sqrt(x**2 + 1), {"x": torch.tensor([0.0, 1e-8, 3.0])})
    assert result.status == "agree"


def test_log1p_of_exp_at_large_x():
    """d/dx log1p(exp(x)) = exp(x)/(1 + exp(x)): 1 to float64 precision at x = 50, 100, 700. The second
    derivative, s(1 - s) for s that fraction, is about exp(-x): autograd's is 1 at x = 700, where its
    backward's (1 + exp(x))**2 overflows and leaves exp's own derivative, times 1/(1 + exp(x))."""
    x = {"x": torch.tensor([50.0, 100.0, 700.0], dtype=F64)}
    result = verdict(lambda x: torch.log1p(torch.exp(x)), x, order=1)
    assert result.status == "agree"
    assert result.points[0].symbolic["x"].tolist() == [1.0, 1.0, 1.0]
    second = verdict(lambda x: torch.log1p(torch.exp(x)), x, samples=0).points[0].hessian
    w = second.autograd[2, 2]  # wᵀ out's Hessian: w_2 times autograd's 1
    assert second.exact[2, 2] == pytest.approx(w * math.exp(-700), rel=1e-12)
    assert [bool(a) for a in agreeing(second.autograd, second.exact, F64).diagonal()] == [True, True, False]


def test_xlogy_of_zero():
    """xlogy(0, y) is 0 for every y, so its derivative in y is 0 (0 * log(y) would be NaN at y = 0)."""
    result = verdict(lambda y: torch.xlogy(torch.zeros_like(y), y), {"y": torch.tensor([0.5, 2.0], dtype=F64)})
    assert result.status == "agree"


# -- constants made in the input's dtype -----------------------------------------------------------
def _scaled(a):
    return (a * torch.linspace(-math.pi, math.pi, 3, dtype=a.dtype)).sum()


def test_constants_in_the_inputs_dtype_give_each_run_its_own_function():
    """float32 linspace in the float32 run, float64 linspace in the float64 run: both are right."""
    result = verdict(_scaled, {"a": torch.tensor([1.0, 2.0, 3.0])})
    assert result.status == "agree"
    float64 = result.pieces[0].float64
    assert float64 is not None and float64.gradient["a"][2] == sympy.Rational(*math.pi.as_integer_ratio())
    example = result.points[0]
    assert example.symbolic64["a"].tolist() == [-math.pi, 0.0, math.pi]
    assert example.symbolic["a"].tolist() == torch.tensor([-math.pi, 0.0, math.pi]).tolist()  # float32's pi


def test_the_page_says_when_the_two_dtypes_functions_differ():
    from compare.records import Meta
    from compare.render.report import render_case

    page = render_case(verdict(_scaled, {"a": torch.tensor([1.0, 2.0, 3.0])}),
                       Meta(python="3", torch="2", sympy="1", seed=0, samples=4))
    assert "In float64 this code computes another function" in page
    same = render_case(verdict(lambda a: (a * 3).sum(), {"a": torch.tensor([1.0, 2.0])}),
                       Meta(python="3", torch="2", sympy="1", seed=0, samples=4))
    assert "another function" not in same


class _Float32Backward(torch.autograd.Function):
    """a * c with c made in a's dtype, whose backward uses float32's c in every dtype."""

    @staticmethod
    def forward(ctx, a):
        return a * torch.linspace(-math.pi, math.pi, 3, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * torch.linspace(-math.pi, math.pi, 3, dtype=torch.float32).to(g.dtype)


def test_a_float64_run_is_held_to_its_own_function():
    result = verdict(lambda a: _Float32Backward.apply(a).sum(), {"a": torch.tensor([1.0, 2.0, 3.0])})
    assert result.status == "disagree"
    assert {p.note for p in result.points} == {"autograd differs from the exact derivative: float64"}


def test_zeros_like_and_full_like_in_float32():
    assert verdict(lambda a: ((a + torch.zeros_like(a)) ** 2).sum(), {"a": torch.tensor([1.0, 2.0])}).status == "agree"
    assert verdict(lambda a: ((a + torch.full_like(a, 0.1)) ** 2).sum(),
                   {"a": torch.tensor([1.0, 2.0])}).status == "agree"


def test_new_tensor_in_float32():
    result = verdict(lambda a: (a * a.new_tensor([0.1, 0.2])).sum(), {"a": torch.tensor([1.0, 2.0])})
    assert result.status == "agree"
