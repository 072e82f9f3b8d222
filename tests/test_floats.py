"""frexp's mantissa against autograd, its exponent exactly; nextafter refused in one line."""
import numpy as np
import pytest
import sympy
import torch

import compare
from compare.exact.evaluate import evaluate
from compare.exact.sym import exact, input_symbols
from compare.symbolic import SymTensor, UnsupportedOp, exprs_of
from compare.symbolic.floats import exponent

X = torch.tensor([0.3, -5.0, 8.0, 0.0, 0.5, -0.75, 1e-300, 3e5], dtype=torch.float64)


def test_frexp_values_equal_torch():
    syms = input_symbols("x", tuple(X.shape))
    mantissa, exp = torch.frexp(SymTensor(syms.copy(), X.dtype))
    point = {s: exact(v) for s, v in zip(syms.flat, X.tolist())}
    want_m, want_e = torch.frexp(X)
    assert exp.dtype == torch.int32
    np.testing.assert_array_equal(evaluate(exprs_of(mantissa), point), want_m.numpy())
    np.testing.assert_array_equal(evaluate(exprs_of(exp), point), want_e.numpy())


def test_the_exponent_is_exact_at_powers_of_two():
    # 2**(e-1) <= |x| < 2**e: a power of two starts the next exponent
    assert [exponent(sympy.Rational(v)) for v in (1, 2, sympy.Rational(1, 2), -4)] == [1, 2, 0, 3]
    assert exponent(sympy.Rational(2**60 - 1)) == 60 and exponent(sympy.Rational(1, 2**60 + 1)) == -60
    assert exponent(sympy.sqrt(2)) == 1 and exponent(sympy.S.Zero) == 0


@pytest.mark.parametrize("x", [[0.3, -5.0, 8.0], [1.0, -0.5, 1e-3]], ids=["between", "at_powers_of_two"])
def test_mantissa_gradient_agrees_with_autograd(x):
    compare.assert_agrees(lambda t: torch.frexp(t).mantissa, (torch.tensor(x, dtype=torch.float64),), samples=2)


def test_a_wrong_mantissa_derivative_is_caught():
    class WrongFrexp(torch.autograd.Function):  # the mantissa's derivative taken as 0, as if a step
        @staticmethod
        def forward(ctx, t):
            return torch.frexp(t).mantissa

        @staticmethod
        def backward(ctx, g):
            return torch.zeros_like(g)

    with pytest.raises(AssertionError):
        compare.assert_agrees(WrongFrexp.apply, (torch.tensor([0.3, -5.0], dtype=torch.float64),), samples=1)


def test_nextafter_is_refused_in_one_line():
    a = SymTensor(input_symbols("a", (2,)), torch.float64)
    with pytest.raises(UnsupportedOp, match="nextafter.*floating-point numbers"):
        torch.nextafter(a, torch.ones(2, dtype=torch.float64))
