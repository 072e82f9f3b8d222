"""The fast paths give what the slow, obvious ones give; light commands stay light.

Speed itself is shown by `python -m compare bench`, never timed here.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from compare.exact import differentiate, evaluate, zero
from compare.case import case, collecting
from compare.engine import check_case
from compare.render.notation import SHOWN_TERMS, readable_array
from compare.exact.sym import detach, exact, input_symbols

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

x = input_symbols("x", (4,))
a = input_symbols("a", ())
X, A = list(x.flat), a.item()
INPUTS = {"x": x, "a": a}


def outputs():
    """Outputs of several kinds: repeated term shapes, cross terms, detach, Piecewise, roots, kinks."""
    return {
        "dot": np.array(sympy.Add(*(2 * s**2 for s in X)), dtype=object),
        "cross": np.array(sympy.Add(*(X[i] * X[j] for i in range(4) for j in range(4))) * A, dtype=object),
        "detach": np.array([detach(s**2) * s for s in X], dtype=object),
        "piecewise": np.array([sympy.Piecewise((s**2, s > A), (-s, True)) for s in X], dtype=object),
        "sqrt": np.array([sympy.sqrt(s**2 + A**2) for s in X], dtype=object),
        "norm": np.array(sympy.sqrt(sympy.Add(*(s**2 for s in X))), dtype=object),
        "kinks": np.array([sympy.Abs(s) + sympy.Max(s, 0) / (1 + s**2) + sympy.exp(s) * A for s in X],
                          dtype=object),
        "softmax": np.array([sympy.exp(s) / sympy.Add(*map(sympy.exp, X)) for s in X], dtype=object),
        # entries alike but for which neighbour is squared: shapes that must not be merged
        "neighbours": np.array([sympy.exp(s) * X[(i + 1) % 4] ** 2 / sympy.Add(*map(sympy.exp, X)) + A * X[i - 1]
                                for i, s in enumerate(X)], dtype=object),
    }


def naive_gradient(output: np.ndarray) -> dict:
    """diff of the whole sum by each symbol: slow (n squared) and obviously right."""
    total = sympy.Add(*output.flat)
    return {name: np.vectorize(lambda s: total.diff(s), otypes=[object])(syms) for name, syms in INPUTS.items()}


def points():
    rng = np.random.default_rng(1)
    found = [{**{s: exact(float(v)) for s, v in zip(X, rng.standard_normal(4))}, A: exact(float(rng.standard_normal()))}
             for _ in range(3)]
    found.append({**{s: exact(0.0) for s in X}, A: exact(0.0)})  # 0/0 and sqrt(0): SymPy decides
    found.append({**{s: exact(v) for s, v in zip(X, (-1.5, 2.0, 1e-30, -3e20))}, A: exact(-0.25)})
    return found


@pytest.mark.parametrize("kind", list(outputs()))
def test_gradient_equals_whole_diff(kind):
    output = outputs()[kind]
    fast, slow = differentiate.gradient(output, INPUTS), naive_gradient(output)
    for name in INPUTS:
        for f, s in zip(fast[name].flat, slow[name].flat):
            assert sympy.simplify(f - s) == 0, (kind, name, f, s)


@pytest.mark.parametrize("kind", list(outputs()))
def test_vectorised_evaluation_equals_exact(kind):
    output = outputs()[kind]
    pts = points()
    for arrays in (differentiate.gradient(output, INPUTS), differentiate.jacobian(output, INPUTS) if output.ndim else {}):
        for name, g in arrays.items():
            fast = evaluate.evaluate_many(g, pts, INPUTS)
            slow = np.array([evaluate.evaluate(g, p) for p in pts])
            np.testing.assert_array_equal(fast, slow, err_msg=f"{kind} d/d{name}")


def test_evaluation_of_output_itself_equals_exact():
    pts = points()
    for kind, output in outputs().items():
        np.testing.assert_array_equal(evaluate.evaluate_many(output, pts, INPUTS),
                                      np.array([evaluate.evaluate(output, p) for p in pts]), err_msg=kind)


def test_evaluation_is_correctly_rounded_where_float64_arithmetic_is_not():
    # 1/3 + 1/3 + 1/3 - 1 is 0 exactly; in float64 steps it is not. x**3 - 1 near 1 cancels.
    tiny = np.array([X[0] / 3 + X[0] / 3 + X[0] / 3 - 1, X[1] ** 3 - 1], dtype=object)
    p = {X[0]: exact(1.0), X[1]: exact(1.0 + 2**-52), X[2]: exact(0.0), X[3]: exact(0.0), A: exact(0.0)}
    got = evaluate.evaluate_many(tiny, [p], INPUTS)[0]
    want = evaluate.evaluate(tiny, p)
    np.testing.assert_array_equal(got, want)
    assert got[0] == 0.0 and got[1] == float(sympy.Rational(3 * 2**52 * 2**52 + 3 * 2**52 + 1, 2**156))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=4, max_size=4),
       st.integers(-3, 3), st.integers(1, 7))
def test_polynomial_evaluation_matches_exact(values, power, scale):
    exprs = np.array([(s + sympy.Rational(1, scale)) ** power + s * A for s in X], dtype=object)
    p = {**{s: exact(v) for s, v in zip(X, values)}, A: exact(values[0] / 3)}
    np.testing.assert_array_equal(evaluate.evaluate_many(exprs, [p], INPUTS)[0], evaluate.evaluate(exprs, p))


def _case(fn, n, expect):
    with collecting() as found:
        case(inputs={"x": torch.arange(float(n))}, expect=expect)(fn)
    return found[0]


def test_claim_proven_by_template_for_many_entries():
    result = check_case(_case(lambda x: 2 * torch.dot(x, x), 300, lambda x: 4 * x), timeout=None)
    assert result.status == "agree" and result.pieces[0].claim == "proven"
    assert str(readable_array(result.pieces[0].gradient["x"], result.symbols)) == "4*x"


def test_wrong_claim_is_still_disproven():
    result = check_case(_case(lambda x: 2 * torch.dot(x, x), 300, lambda x: 3 * x), timeout=None)
    assert result.pieces[0].claim == "disproven" and result.status == "disagree"


def test_long_sum_is_cut_in_reports():
    output = np.array(sympy.Add(*(2 * s**2 for s in input_symbols("y", (SHOWN_TERMS + 1,)).flat)), dtype=object)
    shown = readable_array(output, {})
    assert isinstance(shown, str) and f"({SHOWN_TERMS + 1} terms)" in shown and len(shown) < 200


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["all", "--help"], ["bench", "--help"]])
def test_light_commands_do_not_import_torch(argv):
    probe = ("import runpy, sys\n"
             f"sys.argv = ['compare'] + {argv!r}\n"
             "try:\n    runpy.run_module('compare', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch', 'sympy', 'numpy', 'z3') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


@pytest.mark.parametrize("kind", ["dot", "cross", "detach", "piecewise", "sqrt", "norm", "kinks"])
def test_vectorised_path_is_taken(kind, monkeypatch):
    """Away from 0/0, no entry of these falls back to SymPy one by one (else the speed is a lie)."""
    slow = []
    monkeypatch.setattr(evaluate, "to_float", lambda v: slow.append(v) or math.nan)
    g = differentiate.gradient(outputs()[kind], INPUTS)["x"]
    evaluate.evaluate_many(g, points()[:3], INPUTS)
    assert slow == []


WEIGHTS = [sympy.Rational(3, 7), sympy.Rational(-2), sympy.Rational(1, 1024), sympy.Rational(5, 3),
           sympy.Rational(-1, 9)]


@pytest.mark.parametrize("kind", list(outputs()))
def test_hessian_vector_values_equal_the_built_rows_evaluated(kind):
    """H v from shared templates equals H v built as expressions and evaluated entry by entry."""
    grad = differentiate.gradient(outputs()[kind], INPUTS)
    pts = points()
    fast = differentiate.hessian_vector_values(grad, INPUTS, WEIGHTS, pts)
    rows = differentiate.hessian_vector(grad, INPUTS, WEIGHTS)
    np.testing.assert_array_equal(fast, np.array([evaluate.evaluate(rows, p) for p in pts]), err_msg=kind)


def test_separable_hessian_vector_takes_the_template_path(monkeypatch):
    slow = []
    monkeypatch.setattr(evaluate, "to_float", lambda v: slow.append(v) or math.nan)
    output = np.array(sympy.Add(*(sympy.tanh(s) ** 2 for s in X)) + sympy.exp(A), dtype=object)
    differentiate.hessian_vector_values(differentiate.gradient(output, INPUTS), INPUTS, WEIGHTS, points()[:3])
    assert slow == []


def test_a_wrong_hessian_along_a_direction_is_still_caught():
    """Above the full-Hessian size H v is evaluated from templates; a backward whose own
    derivative is lost (once_differentiable) must still fail there."""
    from torch.autograd.function import once_differentiable

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    def cube_sum(x):
        return Cube.apply(x).sum()

    x = torch.linspace(-1, 1, 30, dtype=torch.float64)
    from compare.api import as_case
    result = check_case(as_case(cube_sum, (x,)), samples=1)
    assert result.status == "disagree"
    assert all(p.hessian.mode == "directional" and not p.hessian.errors.agree for p in result.points)
    assert all(p.errors64.agree for p in result.points)  # the gradient itself is right


def test_an_exact_cancellation_evaluates_to_zero_on_both_paths():
    """softmax(x).sum() is 1, so its gradient is 0 exactly: the mpmath passes disagree on
    tiny values, and algebra, not SymPy's digitless evalf, says 0."""
    g = differentiate.gradient(outputs()["softmax"], INPUTS)["x"]
    pts = points()[:3]
    assert not evaluate.evaluate_many(g, pts, INPUTS).any()
    assert not np.array([evaluate.evaluate(g, p) for p in pts]).any()


def test_identically_zero_is_sound_not_complete():
    s, t = X[0], X[1]
    e = sympy.exp
    assert zero.identically_zero((e(s) + e(t)) ** 2 - e(2 * s) - 2 * e(s + t) - e(2 * t))
    assert zero.identically_zero(e(s) / (e(s) + e(t)) + e(t) / (e(s) + e(t)) - 1)
    assert not zero.identically_zero((e(s) + e(t)) ** 2 - e(2 * s) - e(2 * t))
    assert not zero.identically_zero(e(s) / (e(s) + e(t)) - sympy.Rational(1, 2))
    assert not zero.identically_zero(sympy.sin(s) ** 2 + sympy.cos(s) ** 2 - 1)  # true, but not found


def _zero_cases():
    s, t = X[0], X[1]
    e = sympy.exp
    big = sympy.Rational(3602879701896397, 36028797018963968)  # 0.1 as the float it is
    return [
        ((e(s) + e(t)) ** 2 - e(2 * s) - 2 * e(s + t) - e(2 * t), True),
        (e(s) / (e(s) + e(t)) + e(t) / (e(s) + e(t)) - 1, True),
        ((e(s) + e(t)) ** 2 - e(2 * s) - e(2 * t), False),
        (e(s) / (e(s) + e(t)) - sympy.Rational(1, 2), False),
        (sympy.tanh(s) * (1 - sympy.tanh(s) ** 2) - sympy.tanh(s) + sympy.tanh(s) ** 3, True),
        (sympy.Abs(s) * big / (1 + sympy.Abs(s)) - big + big / (1 + sympy.Abs(s)), True),
        (sympy.Abs(s) - s, False),  # s for |s| would make it 0: a function node must stay a symbol of its own
        ((s - t) ** 7 - (t - s) ** 7, False),
        ((detach(s) + t) ** 2 - detach(s) ** 2 - 2 * detach(s) * t - t ** 2, True),
    ]


@pytest.mark.parametrize("k", range(len(_zero_cases())))
def test_zero_at_random_points_agrees_with_cancel(k):
    """The random-point identity test says what cancel says, both ways."""
    expr, is_zero = _zero_cases()[k]
    assert zero._zero_at_random_points(expr) is is_zero
    assert zero.identically_zero(expr) is is_zero
    if not expr.atoms(sympy.Rational) - {r for r in expr.atoms(sympy.Rational) if abs(r.q) < 2**24}:
        assert zero._zero_by_cancel(expr) is is_zero


def test_zero_at_random_points_leaves_what_it_cannot_run_to_cancel():
    s, t = X[0], X[1]
    half = sympy.exp(s / 2)
    assert zero._zero_at_random_points((half + 1) ** 2 - sympy.exp(s) - 2 * half - 1) is None  # exp(x/2)
    assert zero._zero_at_random_points((half + 1) ** 2 - sympy.exp(s) - 1) is None
    assert not zero.identically_zero((half + 1) ** 2 - sympy.exp(s) - 1)
    assert zero._zero_at_random_points(sympy.sqrt(s) * t - t * sympy.sqrt(s) + sympy.pi * s) is None


def test_a_nonzero_gradient_beside_an_exact_cancellation_keeps_its_value():
    """softmax(x) * x summed: its gradient is not 0, and no zero test may make it so."""
    out = outputs()["softmax"] * np.array(X, dtype=object)
    g = differentiate.gradient(out, INPUTS)["x"]
    pts = points()[:3]
    fast = evaluate.evaluate_many(g, pts, INPUTS)
    np.testing.assert_array_equal(fast, np.array([evaluate.evaluate(g, p) for p in pts]))
    assert np.all(fast != 0)


def test_softmax_entries_share_one_shape(monkeypatch):
    """exp(x_i) / sum_k exp(x_k) is one expression up to renaming: its partials are derived once."""
    calls = []
    real = differentiate._generic_derivatives
    monkeypatch.setattr(differentiate, "_generic_derivatives", lambda g, syms: calls.append(g) or real(g, syms))
    differentiate.jacobian(outputs()["softmax"], INPUTS)
    assert len(calls) == 1



def test_a_symmetry_gives_derivatives_equal_to_diff_and_saves_the_calls(monkeypatch):
    """softmax's exp(g0) / sum_k exp(g_k) treats g1, g2, g3 alike: one `diff` serves all three, and
    each renamed derivative is the very expression `diff` gives."""
    g = [differentiate._dummy(k, X[0]) for k in range(4)]
    total = sympy.Add(*(sympy.exp(s) for s in g))
    cases = {"softmax": (sympy.exp(g[0]) / total, 2),
             # equal counts, no symmetry: swapping g0 and g1 changes the expression, so each is diff'd
             "ordered": (g[0] * sympy.exp(g[1]) + g[2] ** 3 * g[3], 4),
             "log of a sum": (sympy.log(total), 1)}
    for name, (expr, diffs) in cases.items():
        sympy.core.cache.clear_cache()
        calls = []
        real = sympy.Expr.diff
        monkeypatch.setattr(sympy.Expr, "diff",
                            lambda self, *a, **k: (self is expr and calls.append(a)) or real(self, *a, **k))
        got = differentiate._generic_derivatives(expr, tuple(g))
        monkeypatch.undo()
        assert len(calls) == diffs, name
        assert got == tuple(expr.diff(s) for s in g), name


def _mlp(x, w):
    return torch.tanh(x @ w).sum(dim=0)


def _branchy(x, w):
    y = x @ w
    return y * 2 if y.sum() > 0 else -y


@pytest.mark.parametrize("fn", [_mlp, _branchy, lambda x, w: torch.softmax((x @ w).reshape(-1), dim=0)])
def test_batched_finite_differences_equal_the_point_by_point_ones(fn, monkeypatch):
    """One vmap run for every step gives what the loop gives, to the bit (and a branch falls back)."""
    from compare.numeric import oracles

    g = torch.Generator().manual_seed(3)
    point = {"x": torch.randn(4, 3, dtype=torch.float64, generator=g),
             "w": torch.randn(3, 2, dtype=torch.float64, generator=g)}
    assert sum(t.numel() for t in point.values()) >= oracles.BATCHED_ENTRIES
    used = []
    real = oracles._batched
    monkeypatch.setattr(oracles, "_batched", lambda f, *a: used.append(real(f, *a) is not f) or real(f, *a))
    fast = oracles.finite_difference(fn, point)
    monkeypatch.setattr(oracles, "_batched", lambda f, *a: f)
    slow = oracles.finite_difference(fn, point)
    assert used == [fn is not _branchy]
    for name in point:
        np.testing.assert_array_equal(fast.grads[name], slow.grads[name])
    assert (fast.estimate, fast.step, fast.crossed) == (slow.estimate, slow.step, slow.crossed)


@pytest.mark.parametrize("f", [sympy.tanh, sympy.exp, sympy.sin, sympy.log, sympy.atanh, sympy.erf, sympy.Abs,
                               sympy.sign, sympy.re])
def test_a_function_decided_once_per_kind_of_symbol_is_what_its_eval_gives(f):
    from compare.symbolic.registry import _on_symbols

    on = _on_symbols(f)
    real, positive = sympy.Symbol("x_3", real=True), sympy.Symbol("p", positive=True)
    for v in (real, positive, real, sympy.Symbol("x_4", real=True), sympy.Integer(0), 2 * real, sympy.Dummy()):
        got, want = on(v), f(v)
        assert got == want and type(got) is type(want) and hash(got) == hash(want), (f, v, got, want)
    assert on(positive) == f(positive)  # Abs(p) is p, re(p) is p: an evaluating kind keeps its eval


def test_a_rational_times_a_sum_is_what_sympy_builds():
    from compare.symbolic.elementwise import product

    y, z = sympy.Symbol("y"), sympy.Symbol("z", positive=True)
    sums = [sum(v**2 for v in X), sum(X), 3 * X[0] * X[1] + X[2]**-1 - X[3] / 2, sympy.sqrt(z) + X[1], X[0] + 1,
            sympy.exp(X[0]) + X[1], X[0] * y - 2 * X[1], -X[0] + X[1]**3, 2 * X[0] + 2 * X[1] * z]
    for s in sums:
        for c in (2, -1, sympy.Rational(1, 2), sympy.Rational(-3, 7), 1, 0, 2.0, -4):
            c = exact(c) if isinstance(c, float) else sympy.Integer(c) if isinstance(c, int) else c
            for a, b in ((c, s), (s, c)):
                got, want = product(a, b), a * b
                assert got == want and got.args == want.args and hash(got) == hash(want), (a, b, got, want)
