"""Max and Min kept unsimplified: the same values and derivatives as SymPy's, and the inf-norm against autograd."""
import pytest
import sympy
import torch

import compare
from compare.symbolic.extremes import Max, Min

x, y, z = sympy.symbols("x y z", real=True)


@pytest.mark.parametrize("ours, theirs", [(Max, sympy.Max), (Min, sympy.Min)])
def test_values_and_derivatives_are_sympys(ours, theirs):
    points = [{x: 3, y: 1, z: 2}, {x: -1, y: sympy.Rational(1, 3), z: 0}, {x: 2, y: 2, z: 1}, {x: 1, y: 1, z: 1}]
    for p in points:  # ties included: Heaviside(0) = 1/2, as SymPy's
        assert ours(x, y, z).xreplace(p) == theirs(x, y, z).xreplace(p)
        for s in (x, y, z):
            assert ours(x, y, z).diff(s).xreplace(p) == theirs(x, y, z).diff(s).xreplace(p), (p, s)
    assert isinstance(ours(x, y), theirs) and str(ours(x, y)) == str(theirs(x, y))


def test_numbers_are_compared():
    assert Max(x, 1, 3) == Max(x, 3) and Min(x, 1, 3) == Min(x, 1) and Max(sympy.sqrt(2), 1) == sympy.sqrt(2)


@pytest.mark.parametrize("order", [float("inf"), float("-inf")])
def test_inf_norm_of_25_entries_agrees_with_autograd(order):
    x0 = torch.linspace(-2, 3, 25, dtype=torch.float64).reshape(5, 5) + 0.01
    compare.assert_agrees(lambda a: torch.linalg.vector_norm(a, ord=order), (x0,), samples=2)


def test_a_wrong_inf_norm_gradient_is_caught():
    class WrongNorm(torch.autograd.Function):  # the gradient spread evenly, not on the largest entry
        @staticmethod
        def forward(ctx, a):
            return torch.linalg.vector_norm(a, ord=float("inf"))

        @staticmethod
        def backward(ctx, g):
            return g * torch.full((5, 5), 1 / 25, dtype=torch.float64)

    x0 = torch.linspace(-2, 3, 25, dtype=torch.float64).reshape(5, 5) + 0.01
    with pytest.raises(AssertionError):
        compare.assert_agrees(WrongNorm.apply, (x0,), samples=1)


def test_max_pool3d_of_27_entry_windows_agrees_with_autograd():
    x0 = torch.linspace(-1, 2, 2 * 3 * 4 * 3, dtype=torch.float64).reshape(1, 2, 3, 4, 3).sin()
    compare.assert_agrees(lambda a: torch.nn.functional.max_pool3d(a, 3, stride=1) ** 2, (x0,), samples=1)
