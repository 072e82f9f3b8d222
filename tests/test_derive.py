"""Exact derivatives: term by term equals SymPy's own diff; readable templates."""
import numpy as np
import sympy

from compare.derive import gradient, jacobian, template
from compare.sym import input_symbols


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
