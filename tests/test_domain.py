"""Paths on which the code raises are outside the function's domain, not pieces of it.

Library code checks its arguments (`F.gaussian_nll_loss` raises where a variance is negative):
the explorer reports that side as a region outside the domain, with its condition and its
probability, and checks the rest. torch must raise there too; a raise at the case's own example,
a raise of another kind, or one torch does not make, stays the case's error.
"""
import inspect
import math

import sympy
import torch
import torch.nn.functional as F

import compare
from compare.records import Meta
from compare.render.report import render_case
from compare.render.results_json import case_entry
from compare.symbolic import SymTensor

F64 = torch.float64
MU = torch.tensor([0.5, -1.5, 2.0], dtype=F64)
TARGET = torch.tensor([0.0, 1.0, 1.5], dtype=F64)
VAR = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
META = Meta(python="3", torch="2", sympy="1", seed=0, samples=4)


def gaussian_nll(input, var):
    return F.gaussian_nll_loss(input, TARGET, var)


def line_of(fn, text: str) -> int:
    """The line of `fn`'s source file holding `text`."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_a_library_check_that_raises_is_the_edge_of_the_domain():
    result = compare.check(gaussian_nll, {"input": MU, "var": VAR})
    assert result.status == "agree", result.error
    (region,) = result.outside
    v = sympy.symbols("var_0:3", real=True)
    assert region.condition == sympy.Or(*(s < 0 for s in v))
    assert region.error == "ValueError: var has negative entry/entries"
    assert region.probability == 1 - 0.5**3 and region.how == "exact"  # some of 3 standard normals < 0
    assert len(result.pieces) == 1 and all(p.status == "agree" for p in result.points)
    where = f"line {line_of(gaussian_nll, 'return')} of test_domain.py"
    assert region.where == where
    page = render_case(result, META)
    assert ("- `(var_0 < 0) \\| (var_1 < 0) \\| (var_2 < 0)`: raises `ValueError: var has negative entry/entries` "
            f"at {where}; probability 0.875 (exact)") in page
    assert case_entry(result)["outside_domain"][0]["probability"] == 0.875
    assert ("Outside the domain: `(var_0 < 0) | (var_1 < 0) | (var_2 < 0)`, where it raises `ValueError: var has "
            f"negative entry/entries` ({where}).") in result._repr_markdown_()


def test_the_domain_edge_of_one_variable_has_its_exact_probability():
    def log_of_shifted(a):
        if a < -1:
            raise ValueError("a must be at least -1")
        return torch.log(a + 2)

    result = compare.check(log_of_shifted, (torch.tensor(0.5, dtype=F64),))
    assert result.status == "agree", result.error
    (region,) = result.outside
    assert math.isclose(region.probability, 0.5 * math.erfc(1 / math.sqrt(2)), rel_tol=1e-12)  # P(Z < -1)
    assert region.where == f"line {line_of(log_of_shifted, 'raise')} of test_domain.py"


def test_a_raise_at_the_example_is_the_cases_error():
    result = compare.check(gaussian_nll, {"input": MU, "var": -VAR})
    assert result.status == "error"
    assert "ValueError: var has negative entry/entries" in result.error


def test_a_raise_of_another_kind_is_the_cases_error():
    def typo_on_one_side(x):
        if x.sum() > 100:
            return x.nonexistent()
        return x * 2

    result = compare.check(typo_on_one_side, (MU,))
    assert result.status == "error" and "AttributeError" in result.error


def test_a_raise_torch_does_not_make_is_the_cases_error():
    """Were the symbolic side to raise where torch computes (a bug of its own), no region hides it."""
    def raises_only_symbolically(x):
        if x.sum() > 100 and isinstance(x, SymTensor):
            raise ValueError("only on symbolic tensors")
        return x * 2

    result = compare.check(raises_only_symbolically, (MU,))
    assert result.status == "error" and "only on symbolic tensors" in result.error


class _CheckedSquare(torch.autograd.Function):
    """x**2 for x >= 0, checked as a library checks; its backward forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        if torch.any(x < 0):
            raise ValueError("x must be nonnegative")
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def test_a_wrong_backward_inside_the_domain_still_disagrees():
    result = compare.check(lambda x: _CheckedSquare.apply(x).sum(), (VAR,), order=1)
    assert result.status == "disagree"
    assert len(result.outside) == 1
