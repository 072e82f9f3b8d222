"""Exact numbers for the rules at kinks: values, signs, limits, and how a value is shown on a page."""
from __future__ import annotations

import mpmath
import sympy

from ..exact.sym import as_expr
from ..symbolic.switches import sign_of

__all__ = ["ANYTHING", "value_at", "sign_of", "finite", "derivative_at", "shown", "same"]

ANYTHING = sympy.Symbol("anything")
"""Stands for a partial derivative any value of which the rules allow (rule 5: undefined there)."""


def value_at(expr: sympy.Basic, point: dict) -> sympy.Basic:
    """The exact value of `expr` at `point` (symbol -> exact number): nan or zoo where undefined."""
    try:
        v = as_expr(expr).xreplace(point)
        if v.has(sympy.Derivative, sympy.Subs):
            v = v.doit()
        return v
    except (ZeroDivisionError, ValueError, TypeError):
        return sympy.nan


def finite(v) -> bool:
    """Whether `v` is a finite real number."""
    v = as_expr(v)
    return v.is_number and sign_of(v) is not None and v not in (sympy.oo, -sympy.oo)


def derivative_at(expr: sympy.Expr, symbol: sympy.Symbol, point: dict, side: int = 0) -> sympy.Basic:
    """d expr / d symbol at `point`: the formula's value, else its limit (from `side`: -1, 1, or both).

    Where the formula is 0/0 or inf times 0 at the point, the derivative of a
    function continuous there is the formula's limit (`compare.exact.continuity`
    takes the same view); an infinite limit is kept (sqrt's at 0), and a
    limit that does not exist or that SymPy cannot take gives nan, as does a
    formula of several of the point's variables (whose limit would have to
    be taken along every path at once).
    """
    formula = sympy.diff(expr, symbol)
    v = value_at(formula, point)
    if finite(v):
        return v
    if formula.free_symbols & (point.keys() - {symbol}):
        return sympy.nan  # a limit along one variable is not the limit of a function of several
    return limit_at(formula, symbol, point, side)


def limit_at(formula: sympy.Expr, symbol: sympy.Symbol, point: dict, side: int = 0) -> sympy.Basic:
    """The limit of `formula` as `symbol` tends to its value in `point` (the other symbols at theirs)."""
    rest = {s: v for s, v in point.items() if s != symbol}
    f = formula.xreplace(rest)
    sides = ("+", "-") if side == 0 else ("+" if side > 0 else "-",)
    found = []
    for d in sides:
        try:
            found.append(sympy.limit(f, symbol, point[symbol], dir=d))
        except (NotImplementedError, ValueError, TypeError, ZeroDivisionError):
            return sympy.nan
    if any(isinstance(v, sympy.Limit) or v.has(sympy.AccumBounds) or v is sympy.nan for v in found):
        return sympy.nan
    if len(found) == 2 and not same(found[0], found[1]):
        return sympy.nan
    return found[0]


def same(a, b) -> bool:
    """Whether two exact numbers (infinities included) are equal."""
    a, b = as_expr(a), as_expr(b)
    if a in (sympy.oo, -sympy.oo) or b in (sympy.oo, -sympy.oo):
        return a == b
    if not (finite(a) and finite(b)):
        return False
    return sign_of(a - b) == 0


def numeric_sign(expr: sympy.Expr, symbol: sympy.Symbol, at) -> int | None:
    """The sign of `expr` at `symbol = at` (a number), from 60 digits: the last resort of a side's sign."""
    try:
        with mpmath.workdps(60):
            v = as_expr(expr).xreplace({symbol: at}).evalf(60)
        if not v.is_number or not v.is_extended_real:
            return None
        if abs(v) < sympy.Float("1e-50"):
            return 0
        return 1 if v > 0 else -1
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def shown(v) -> str:
    """A number as a page shows it: a small fraction exactly, else the float64 nearest to it."""
    v = as_expr(v)
    if v is ANYTHING:
        return "any value"
    if v in (sympy.oo, -sympy.oo):
        return "inf" if v is sympy.oo else "-inf"
    if v is sympy.nan or v is sympy.zoo:
        return "nan"
    if v.is_Rational and v.q <= 1000:
        return str(v)
    try:
        return repr(float(v))  # the shortest that reads back: 0.9999999979388464 is not 1
    except TypeError:
        return str(v)
