"""Arb's balls give the correctly rounded float64, or say they cannot: never a wrong value.

The reference is SymPy's own value at 50 digits, rounded to float64; rationals are exact.
"""
import math

import flint
import numpy as np
import pytest
import sympy

from compare.exact import arithmetic, ball, evaluate
from compare.exact.sym import exact, input_symbols

x = input_symbols("x", (6,))
a = input_symbols("a", ())
X, A = list(x.flat), a.item()
INPUTS = {"x": x, "a": a}
g = sympy.Symbol("g", real=True)

TEMPLATES = {
    "rational": (g**3 - A * g) / (1 + g**2),
    "tanh": sympy.tanh(g) ** 2 * (1 - sympy.tanh(g) ** 2),
    "mixed": sympy.exp(g) * sympy.sin(A * g) + sympy.log(1 + g**2) - sympy.atan(g) / 3,
    "roots": sympy.sqrt(g**2 + A**2) + g ** sympy.Rational(2, 3) + sympy.pi * sympy.erf(g),
    "cancel": sympy.exp(g) / (1 + sympy.exp(g)) - 1 / (1 + sympy.exp(-g)),  # 0 by algebra
    "pole": 1 / (g - sympy.Rational(1, 3)) + sympy.log(g) * sympy.tanh(g),
    "piecewise": sympy.Piecewise((sympy.exp(g), g < sympy.Rational(1, 3)), (g**2, (g < 2) & (A > 0)), (-g, True)),
    "kinks": sympy.Heaviside(g - sympy.Rational(1, 3)) * sympy.exp(g) + sympy.Max(g, A) - sympy.Abs(g) * sympy.sign(A),
    "domain": sympy.asin(g) + sympy.log(-g),  # real only on [-1, 0)
}

# 1/3 is no float: its ball is not exact, so a condition or a pole at it is undecided
VALUES = [exact(0.7), exact(-1.25), sympy.Rational(1, 3), exact(0.0), exact(2.0), exact(-0.5)]
POINTS = [{**dict(zip(X, VALUES)), A: exact(0.5)},
          {**dict(zip(X, reversed(VALUES))), A: exact(-3.0)},
          {**dict(zip(X, (exact(v) for v in (1e-20, 30.0, -40.25, 3.5, 1 / 3, -9.75)))), A: exact(1e-8)}]


def reference(expr: sympy.Expr, point: dict, zero: bool = False) -> float:
    """SymPy's value at 50 digits as the nearest float64 (NaN where not real or undefined); below
    1e-100 in a cancellation to 0 (`zero`), SymPy's digits are noise about the exact 0."""
    v = expr.xreplace(point)
    if v.is_Rational:
        return int(v.p) / int(v.q)
    v = sympy.N(v, 50)
    if v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or not v.is_real:
        return math.nan
    return 0.0 if zero and abs(v) < sympy.Float(10) ** -100 else float(v)


def entries(template: sympy.Expr) -> np.ndarray:
    return np.array([template.xreplace({g: s}) for s in X], dtype=object)


def assert_same_floats(got: np.ndarray, expected: np.ndarray):
    """Equal bits, NaN equal to NaN: no tolerance."""
    assert got.shape == expected.shape
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), f"differ at {np.argwhere(~same).tolist()}: {got[~same]} != {expected[~same]}"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_evaluate_many_gives_sympys_value_correctly_rounded(name):
    exprs = entries(TEMPLATES[name])
    got = evaluate.evaluate_many(exprs, POINTS, INPUTS)
    expected = np.array([[reference(e, p, zero=name == "cancel") for e in exprs] for p in POINTS])
    assert_same_floats(got, expected)


def test_a_long_sum_and_shared_subexpressions_give_sympys_value():
    """A scalar output (terms run as one array by `Balls.sum`) and a Jacobian-like array whose entries
    share tanh(x_i) (one set of evaluators for all groups)."""
    long_sum = np.array(sympy.Add(*(sympy.tanh(s) ** 2 * (k + 1) for k, s in enumerate(X * 3))) + A, dtype=object)
    shared = np.array([[sympy.tanh(s) * t for t in X] for s in X], dtype=object)
    for exprs in (long_sum, shared):
        got = evaluate.evaluate_many(exprs, POINTS, INPUTS)
        expected = np.array([np.vectorize(lambda e: reference(e, p), otypes=[float])(exprs) for p in POINTS])
        assert_same_floats(got, expected)


def balls_of(template: sympy.Expr, points=POINTS) -> tuple[np.ndarray, np.ndarray]:
    env = {g: np.array([[arithmetic.fraction(p[s]) for s in X] for p in points], dtype=object),
           A: np.array([[arithmetic.fraction(p[A])] for p in points], dtype=object)}
    return ball.rounded(ball.Balls(env)(template), (len(points), len(X)))


def test_the_balls_decide_most_entries_themselves():
    """The comparison above is not all the slow path's doing: off ties, poles and cancellations the
    balls decide, and what they decide is the reference. (At the third point, 1 - tanh(30)**2 is a
    cancellation of 85 of the ball's 128 bits: undecided there.)"""
    for name in ("rational", "tanh", "mixed", "roots"):
        values, undecided = balls_of(TEMPLATES[name], POINTS[:2])
        expected = np.array([[reference(e, p) for e in entries(TEMPLATES[name])] for p in POINTS[:2]])
        finite = np.isfinite(expected) & (np.abs(expected) >= ball.SMALLEST_NORMAL)
        assert not undecided[finite].any(), name
        assert_same_floats(values[~undecided], expected[~undecided])


def test_what_the_balls_cannot_decide_is_left_undecided():
    _, cancel = balls_of(TEMPLATES["cancel"])
    assert cancel[0, [0, 1, 2, 4, 5]].all() and not cancel[0, 3]  # a ball about 0 is no value; at 0, exact
    _, pole = balls_of(TEMPLATES["pole"])
    assert pole[0, 2] and pole[0, 3]  # 1/(1/3 - 1/3) and log(0): NaN balls
    _, piecewise = balls_of(TEMPLATES["piecewise"])
    assert piecewise[0, 2] and not piecewise[0, 0]  # 1/3 < 1/3 cannot be decided on its ball
    _, domain = balls_of(TEMPLATES["domain"])
    assert domain[0, [0, 1, 4]].all() and not domain[0, 5]  # log(-0.7), asin(-1.25): not real; -0.5 is


def test_a_ball_too_wide_or_on_a_tie_is_refused():
    with flint.ctx.workprec(ball.PRECISION):
        one = flint.arb(1)
        tight = flint.arb(1, flint.arb(2) ** -60)
        wide = flint.arb(1, flint.arb(2) ** -52)  # reaches past 1 - ulp/2 and 1 + ulp/2
        tie = flint.arb(1) + flint.arb(2) ** -53 + flint.arb(0, flint.arb(2) ** -100)
        huge, tiny = flint.arb(2) ** 1100, flint.arb(2) ** -1060
    values, undecided = ball.rounded(np.array([one, tight, wide, tie, huge, tiny], dtype=object), (6,))
    assert undecided.tolist() == [False, False, True, True, True, True]
    assert values[:2].tolist() == [1.0, 1.0]


def test_a_wrong_ball_would_be_caught(monkeypatch):
    """tanh off by 2**-45 (well outside its ball): the values differ from the reference, and the test
    above would fail. The balls' values are the evaluator's only source, not a copy of the reference."""
    right = ball._FUNCTIONS[sympy.tanh]
    monkeypatch.setitem(ball._FUNCTIONS, sympy.tanh, lambda b: right(b) + flint.arb(2) ** -45)
    exprs = entries(TEMPLATES["tanh"])
    got = evaluate.evaluate_many(exprs, POINTS, INPUTS)
    expected = np.array([[reference(e, p) for e in exprs] for p in POINTS])
    with pytest.raises(AssertionError):
        assert_same_floats(got, expected)


def test_a_ball_that_does_not_hold_the_value_is_seen_by_the_slow_path(monkeypatch):
    """A ball too wide is refused, and the slower path then gives the reference anyway."""
    right = ball._FUNCTIONS[sympy.tanh]
    monkeypatch.setitem(ball._FUNCTIONS, sympy.tanh, lambda b: right(b) + flint.arb(0, 1))
    exprs = entries(TEMPLATES["tanh"])
    assert balls_of(TEMPLATES["tanh"])[1].all()
    expected = np.array([[reference(e, p) for e in exprs] for p in POINTS])
    assert_same_floats(evaluate.evaluate_many(exprs, POINTS, INPUTS), expected)


def test_float_rounds_a_ball_to_nearest():
    """`rounded` relies on float() of an exact ball rounding to nearest, ties to even."""
    assert ball.NEAREST
    with flint.ctx.workprec(ball.PRECISION):
        assert float(flint.arb(flint.fmpq(2**54 + 1, 2**54))) == 1.0  # 1 + ulp/4
        assert float(flint.arb(flint.fmpq(2**53 + 3, 2**53))) == 1 + 2.0**-51  # 1 + 3 ulp/2: to even
