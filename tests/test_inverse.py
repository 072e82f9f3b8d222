"""Inverses, solves and determinants past 4 x 4: one node per entry, exact values, exact partials."""
import numpy as np
import pytest
import sympy
import torch

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from torch.testing._internal.opinfo.core import SampleInput  # noqa: E402

from compare.conformance import run as conformance  # noqa: E402
from compare.symbolic import inverse  # noqa: E402


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def _matrix(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, dtype=torch.float64, generator=g) + n * torch.eye(n, dtype=torch.float64)
    return a.requires_grad_()


@pytest.mark.parametrize("name", ["linalg.inv", "linalg.det", "linalg.slogdet"])
def test_a_6x6_matrix_agrees_with_autograd(ops, name):
    result = conformance.check_sample(ops[name], SampleInput(_matrix(6)))
    assert result.status == "runs", result


def test_a_6x6_solve_agrees_with_autograd(ops):
    b = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_()
    result = conformance.check_sample(ops["linalg.solve"], SampleInput(_matrix(6), args=(b,)))
    assert result.status == "runs", result


def test_values_are_exact_rationals():
    a = [sympy.Rational(v) for v in (2, 1, 0, 1, 3, 1, 0, 1, 4)]
    inv = sympy.Matrix(3, 3, a).inv()
    for i in range(3):
        for j in range(3):
            assert inverse.inverse_entry(i, j, *a) == inv[i, j]
    assert inverse.determinant(*a) == sympy.Matrix(3, 3, a).det()


def test_a_zero_leading_pivot_is_passed_over():
    # [[0, 1], [1, 0]] is its own inverse; elimination must not divide by its first entry
    a = [sympy.Integer(v) for v in (0, 1, 1, 0)]
    assert [inverse.inverse_entry(i, j, *a) for i in range(2) for j in range(2)] == a
    assert inverse.determinant(*a) == -1


def test_a_singular_matrix_has_no_inverse():
    a = [sympy.Integer(v) for v in (1, 2, 2, 4)]
    assert inverse.inverse_entry(0, 0, *a) is sympy.nan
    assert inverse.determinant(*a) == 0


def test_irrational_entries_evaluate_numerically():
    a = [sympy.sqrt(2), sympy.Integer(1), sympy.Integer(1), sympy.sqrt(3)]
    want = np.linalg.inv(np.array([[2 ** 0.5, 1], [1, 3 ** 0.5]]))
    got = [[float(inverse.inverse_entry(i, j, *a).evalf(30)) for j in range(2)] for i in range(2)]
    assert np.allclose(got, want, rtol=1e-15)
    assert float(inverse.determinant(*a).evalf(30)) == pytest.approx(6 ** 0.5 - 1, rel=1e-15)


def test_partials_are_the_inverse_identity():
    x = sympy.symbols("x0:4", real=True)
    at = dict(zip(x, (3, 1, 2, 5)))
    closed = sympy.Matrix(2, 2, x).inv()
    for i in range(2):
        for j in range(2):
            node = inverse.inverse_entry(i, j, *x)
            for s in x:
                assert node.diff(s).subs(at) == closed[i, j].diff(s).subs(at)
    det = inverse.determinant(*x)
    for s in x:
        assert det.diff(s).subs(at) == (x[0] * x[3] - x[1] * x[2]).diff(s).subs(at)


def test_a_wrong_partial_is_caught(ops, monkeypatch):
    # the right values, the partials' sign flipped: only the gradient can tell
    right = inverse.inverse_entry.fdiff
    monkeypatch.setattr(inverse.inverse_entry, "fdiff", lambda self, argindex=1: -right(self, argindex))
    sympy.core.cache.clear_cache()  # derivatives are shared by shape in SymPy's cache: none from before
    result = conformance.check_sample(ops["linalg.inv"], SampleInput(_matrix(6, seed=7)))  # not in SymPy's cache
    assert result.status == "disagrees" and result.detail.startswith("gradient"), result


def test_a_wrong_value_is_caught(ops, monkeypatch):
    right = inverse.rational_det.__wrapped__
    monkeypatch.setattr(inverse, "rational_det", lambda entries: 2 * right(entries))
    sympy.core.cache.clear_cache()
    result = conformance.check_sample(ops["linalg.det"], SampleInput(_matrix(6, seed=8)))  # not in SymPy's cache
    assert result.status == "disagrees" and result.detail.startswith("forward"), result
