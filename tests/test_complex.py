"""Complex inputs and outputs: PyTorch's convention dL/dx + i dL/dy, checked exactly.

Each check is shown catching a wrong answer: a backward that forgets the
conjugate of a holomorphic derivative, and one that drops the imaginary part.
"""
import importlib.util
import os

import pytest
import sympy
import torch

import compare
from compare.case import make_case
from compare.engine import check_case
from compare.symbolic import SymTensor
from compare.wirtinger import complex_symbols

Z = torch.tensor([1.0 + 2.0j, -0.5 + 0.25j], dtype=torch.complex128)


def _case_module():
    """cases/complex/wirtinger.py, whose right and forgotten-conjugate Functions the tests reuse."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cases", "complex", "wirtinger.py")
    spec = importlib.util.spec_from_file_location("_wirtinger_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CASES = _case_module()
Square, SquareNoConj = _CASES.Square, _CASES.SquareNoConj


class RealPartOnly(Square):
    """Drops the imaginary part of the gradient: right only on the real axis."""

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return (g * (2 * z).conj()).real.to(z.dtype)


def _entries(fn, z_shape=(1,)):
    syms = complex_symbols("z", z_shape)
    x, y = syms[..., 0].flat[0], syms[..., 1].flat[0]
    out = fn(torch.view_as_complex(SymTensor(syms, torch.float64)))
    return out.exprs, x, y


def test_complex_ops_mean_what_sympy_says():
    values, x, y = _entries(lambda z: torch.view_as_real(z * z.conj() + torch.exp(z)))
    assert sympy.simplify(values[0, 0] - (x**2 + y**2 + sympy.exp(x) * sympy.cos(y))) == 0
    assert sympy.simplify(values[0, 1] - sympy.exp(x) * sympy.sin(y)) == 0
    (phase,), x, y = _entries(lambda z: z.angle())
    assert phase == sympy.atan2(y, x)
    (modulus,), x, y = _entries(lambda z: z.abs())
    assert modulus == sympy.sqrt(x**2 + y**2)
    values, x, y = _entries(lambda z: torch.view_as_real(torch.log(z)))
    assert sympy.simplify(values[0, 0] - sympy.log(x**2 + y**2) / 2) == 0 and values[0, 1] == sympy.atan2(y, x)


def test_gradient_of_a_real_function_is_pytorchs_convention():
    result = compare.check(lambda z: (z * z.conj()).real.sum(), (Z,))
    assert result.status == "agree"
    assert result.complex.holomorphic is None and result.complex.output == "float64"
    x, y = result.symbols["z"][0]
    assert result.complex.gradient["z"][0] == 2 * x + 2 * sympy.I * y  # 2 z: dL/dx + i dL/dy


def test_holomorphic_backward_agrees_and_a_forgotten_conjugate_disagrees():
    good = compare.check(Square.apply, (Z,))
    assert good.status == "agree" and good.complex.holomorphic is True
    bad = compare.check(SquareNoConj.apply, (Z,))
    assert bad.status == "disagree"
    with pytest.raises(AssertionError):
        compare.assert_agrees(SquareNoConj.apply, (Z,))
    compare.assert_agrees(Square.apply, (Z,))


def test_a_dropped_imaginary_part_disagrees():
    assert compare.check(RealPartOnly.apply, (Z,)).status == "disagree"


def test_complex_output_shows_what_backward_raises_and_is_not_holomorphic():
    result = compare.check(lambda z: z * z.conj(), (Z[:1].reshape(()),))
    assert result.complex.output == "complex128" and result.complex.holomorphic is False
    assert "real scalar" in result.backward_error


def test_complex64_runs_as_its_float32_parts():
    result = compare.check(lambda z: z.abs().sum(), (Z.to(torch.complex64),))
    assert result.status == "agree" and result.dtype == "complex64"
    assert compare.tolerances.TOLERANCES[torch.complex64] == compare.tolerances.TOLERANCES[torch.float32]


def test_a_point_settles_a_nonzero_cauchy_riemann_entry_and_never_a_zero_one(monkeypatch):
    """A value other than 0 at the point says `not 0` without simplify; an expression that is 0
    (even one only simplify shows to be, sin**2 + cos**2 - 1) is never called nonzero there."""
    from compare import wirtinger

    x, y = sympy.symbols("x y", real=True)
    zero = sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1 + sympy.I * (sympy.exp(x + y) - sympy.exp(x) * sympy.exp(y))
    assert not wirtinger._nonzero_at_a_point(zero)
    assert not wirtinger._nonzero_at_a_point(sympy.log(x - 1) * 0 + 1 / (x - sympy.Rational(1, 2)))  # a pole
    assert wirtinger._nonzero_at_a_point(sympy.I * (sympy.exp(x) * (x - sympy.I * y) - x))
    assert wirtinger._zero(zero)
    monkeypatch.setattr(sympy, "simplify", lambda e: pytest.fail("simplify ran for a nonzero entry"))
    assert not wirtinger._zero(sympy.exp(x) * (x - sympy.I * y) + sympy.Abs(x + sympy.I * y))
