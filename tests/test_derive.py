"""Exact derivatives: term by term equals SymPy's own diff; readable templates."""
import numpy as np
import sympy
import torch

from compare.exact import differentiate

from compare.exact.evaluate import evaluate

from compare.exact.localize import localize
from compare.exact.differentiate import gradient, jacobian
from compare.exact.shapes import template
from compare.exact.sym import input_symbols


def test_gradient_matches_plain_diff():
    x = input_symbols("x", (3,))
    w = input_symbols("w", (3,))
    out = np.array(sympy.sin(x[0] * w[1]) + sum(x[i] ** 2 * w[i] for i in range(3)), dtype=object)
    g = gradient(out, {"x": x, "w": w})
    for name, syms in (("x", x), ("w", w)):
        for i in range(3):
            assert sympy.simplify(g[name][i] - sympy.diff(out[()], syms[i])) == 0


def test_gradient_of_non_scalar_output_is_column_sums_of_jacobian():
    x = input_symbols("x", (3,))
    out = np.array([x[0] * x[1], x[1] ** 2, x[2]], dtype=object)
    g = gradient(out, {"x": x})["x"]
    j = jacobian(out, {"x": x})["x"]
    assert j.shape == (3, 3)
    for i in range(3):
        assert sympy.expand(g[i] - sum(j[:, i])) == 0


def test_template_reads_entries_as_one_expression():
    x = input_symbols("x", (4,))
    w = input_symbols("w", (4,))
    inputs = {"x": x, "w": w}
    assert str(template(np.array([4 * s for s in x], dtype=object), inputs)) == "4*x"
    assert str(template(np.array([w[i] * x[i] for i in range(4)], dtype=object), inputs)) == "w*x"
    assert template(np.array([x[(i + 1) % 4] for i in range(4)], dtype=object), inputs) is None
    assert template(np.array([1, 1, 0, 0], dtype=object), inputs) is None


def test_the_local_hessian_equals_the_global_one_off_the_kinks():
    x = input_symbols("x", (3,))
    m = sympy.Max(*x)
    out = np.array(m + sympy.log(sum(sympy.exp(xi - m) for xi in x)), dtype=object)
    grad = differentiate.gradient(out, {"x": x})
    point = {x[0]: sympy.Rational(1, 2), x[1]: sympy.Rational(-1), x[2]: sympy.Rational(2)}
    local = {"x": np.vectorize(lambda e: localize(e, point), otypes=[object])(grad["x"])}
    assert not any(e.has(sympy.Max, sympy.Heaviside) for e in local["x"].flat)
    np.testing.assert_array_equal(evaluate(differentiate.hessian(local, {"x": x}), point),
                                  evaluate(differentiate.hessian(grad, {"x": x}), point))
    tie = {x[0]: sympy.Integer(2), x[1]: sympy.Integer(-1), x[2]: sympy.Integer(2)}
    assert localize(m, tie) == m  # at a kink the head stays


def test_a_large_gradient_with_max_gets_its_hessian_point_by_point():
    from compare import case
    from compare.case import collecting
    from compare.engine import check_case

    def stable_logsumexp(x):
        m = x.max()
        return m + torch.log(torch.exp(x - m).sum())

    with collecting() as found:
        case(inputs={"x": torch.tensor([0.5, -1.0, 2.0, 0.25, 1.0])})(stable_logsumexp)
    r = check_case(found[0], samples=1)
    assert r.status == "agree", r.error
    assert r.pieces[0].hessian is None and "smooth expression" in r.hessian_note
    assert all(p.hessian.errors.agree for p in r.points)


def test_an_exact_cancellation_evaluates_to_zero_not_to_its_error_bound():
    """evalf gives -0.e-167 (no significant digit) for this exact 0: as a float, not -8.5e-168."""
    from compare.exact.sym import to_float

    x0, x1 = sympy.symbols("x0 x1", real=True)
    s = sympy.exp(x0) + sympy.exp(x1)
    g = sympy.exp(x0) / s - sympy.exp(2 * x0) / s**2 - sympy.exp(x0) * sympy.exp(x1) / s**2  # d/dx0 of sum(softmax)
    assert to_float(g.xreplace({x0: 1, x1: 2})) == 0.0
    assert to_float((sympy.exp(1) - sympy.exp(1) + sympy.Rational(1, 10**200))) == 1e-200  # a tiny value stays


def test_a_power_of_zero_makes_a_piece_extendable_whatever_its_neighbours():
    """`extendable` asks `is_zero` once per base up to renaming: a 0**e among renamed bases is still seen."""
    import numpy as np

    from compare.explore import Piece
    from compare.pieces.derivatives import extendable

    x = sympy.symbols("x0:4", real=True)
    smooth = [sympy.tanh(s) ** 2 for s in x[:3]]
    assert not extendable(Piece((), np.array(smooth, dtype=object), None))
    assert extendable(Piece((), np.array(smooth + [sympy.Pow(0, x[3])], dtype=object), None))
    assert extendable(Piece((), np.array([sympy.Eq(x[0], x[1])] + smooth, dtype=object), None))


def test_renamed_shape_is_equal_only_for_a_renaming_that_keeps_assumptions():
    from compare.exact.shapes import renamed_shape

    a, b = sympy.symbols("a b", real=True)
    c = sympy.Symbol("c", positive=True)
    assert renamed_shape(sympy.tanh(a) ** 2) == renamed_shape(sympy.tanh(b) ** 2)
    assert renamed_shape(sympy.tanh(a) ** 2) != renamed_shape(sympy.tanh(c) ** 2)
    assert renamed_shape(a - b) != renamed_shape(a + b)


def test_gradient_and_jacobian_together_are_each_alone():
    x, w = input_symbols("x", (3,)), input_symbols("w", (2,))
    total = sympy.exp(x[0]) + sympy.exp(x[1]) + sympy.exp(x[2])
    out = np.array([sympy.exp(x[i]) / total * w[i % 2] for i in range(3)] + [x[0] * x[1]], dtype=object)
    inputs = {"x": x, "w": w}
    grad, jac = differentiate.gradient_and_jacobian(out, inputs)
    alone_grad, alone_jac = gradient(out, inputs), jacobian(out, inputs)
    for name in inputs:
        assert grad[name].shape == alone_grad[name].shape and jac[name].shape == alone_jac[name].shape
        assert all(a == b and a.args == b.args for a, b in zip(grad[name].flat, alone_grad[name].flat))
        assert all(a == b and a.args == b.args for a, b in zip(jac[name].flat, alone_jac[name].flat))
    assert grad["w"][0] == out[0].diff(w[0]) + out[2].diff(w[0])  # the rows summed, not one row


SEPARABLE = [lambda x: (torch.tanh(x) ** 2).sum(), lambda x: 2 * torch.dot(x, x), lambda x: torch.sigmoid(x).sum() * 3,
             lambda x: (x.abs() + torch.exp(-x) * torch.sin(x)).sum(), lambda x: torch.log1p(x * x).sum(),
             lambda x: (torch.relu(x) + torch.clamp(x, -1, 1) ** 3).sum(), lambda x: torch.sqrt(x * x + 1).sum(),
             lambda x: torch.nn.functional.softplus(x).sum(), lambda x: torch.nn.functional.gelu(x).sum(),
             lambda x: torch.nn.functional.elu(x).sum(), lambda x: (x ** 2.5).sum(), lambda x: torch.atan(x).prod()]


def test_a_renamed_derivative_is_the_tree_xreplace_builds(monkeypatch):
    """`_renamed` rebuilds a generic derivative in a term's own symbol without sorting its sums and products
    again: the same expression (equal, same argument order, same text) as xreplace's, which sorts anew."""
    from compare.explore import run_symbolic
    from compare.symbolic import SymTensor

    x = input_symbols("x", (12,))
    for fn in SEPARABLE:
        out = run_symbolic(fn, {"x": SymTensor(x.copy(), torch.float64)}, lambda c, site: True)
        fast = gradient(out, {"x": x})["x"]
        with monkeypatch.context() as m:
            m.setattr(differentiate, "renamed", lambda d, back: d.xreplace(back))
            slow = gradient(out, {"x": x})["x"]
        assert all(a == b and a.args == b.args and str(a) == str(b) for a, b in zip(fast.flat, slow.flat))
