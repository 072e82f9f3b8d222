"""SymPy vocabulary shared by every stage: exact constants, input symbols, `detach`.

A float enters SymPy as the rational number its binary value is, never as a
decimal approximation: `exact(0.1)` is 3602879701896397/36028797018963968.
"""
from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np
import sympy

__all__ = ["exact", "as_expr", "detach", "nograd", "release", "release_nograd", "input_symbols", "to_float", "is_constant", "truth", "rational_value",
           "RELATIONS"]


def exact(value) -> sympy.Expr:
    """The exact SymPy number for a Python, NumPy or 0-d torch scalar."""
    if isinstance(value, sympy.Basic):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return sympy.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    if isinstance(value, (complex, np.complexfloating)):  # both parts exactly: x + I*y
        return exact(value.real) + sympy.I * exact(value.imag)
    value = float(value)
    if math.isnan(value):
        return sympy.nan
    if math.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    num, den = value.as_integer_ratio()
    return _COPRIME(num, den) if _COPRIME is not None else sympy.Rational(num, den)


_COPRIME = getattr(sympy.Rational, "from_coprime_ints", None)
"""SymPy 1.13's constructor for a fraction already in lowest terms, as `as_integer_ratio` gives: no gcd
(a point of 10,000 coordinates builds 10,000 Rationals)."""


def as_expr(value) -> sympy.Basic:
    """`value` (a SymPy object, a number, a bool) as a SymPy object. Never parses text.

    `sympy.sympify` would read a string as code (it calls `eval`); nothing
    read from a case file, a report or the command line may reach it, so a
    string here is an error, and so is any type SymPy has no exact
    conversion for (`strict=True`).
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (str, bytes)):
        raise TypeError(f"text is never turned into an expression: {value[:40]!r}")
    return sympy.sympify(value, strict=True)


class detach(sympy.Function):
    """Stop-gradient: the value of its argument, a derivative of 0.

    `fdiff` is what SymPy's chain rule asks for; answering 0 makes
    d/dx detach(g(x)) = 0 while the value stays g(x).
    """

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_number:  # a constant has nothing to stop
            return arg

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    def _eval_evalf(self, prec):
        return self.args[0]._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{detach}\left(%s\right)" % printer._print(self.args[0])


class nograd(detach):
    """A stop-gradient made by grad mode (a result computed under `torch.no_grad()`), not by `detach()`.

    Reverse mode stops there as at `detach()`; forward-mode AD does not (grad mode does not govern
    it), so forward mode's reference is the output with these released (`release_nograd`). It reads
    and prints as `detach`.
    """

    def _sympystr(self, printer):
        return "detach(%s)" % printer._print(self.args[0])


def release_nograd(expr: sympy.Basic) -> sympy.Basic:
    """`expr` as forward-mode AD differentiates it: every `nograd(e)` replaced by `e`, `detach` kept."""
    if not expr.has(nograd):
        return expr
    return expr.replace(nograd, lambda e: e)


def release(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with every `detach(e)` replaced by `e`: the same value, for evaluation."""
    if not expr.has(detach):
        return expr
    return expr.replace(detach, lambda e: e)


def input_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Real symbols for an input: `a` for a scalar, `x_0, x_1, ...`, `W_0_1` for arrays."""
    out = np.empty(shape, dtype=object)
    if shape == ():
        out[()] = sympy.Symbol(name, real=True)
        return out
    for index in np.ndindex(*shape):
        out[index] = sympy.Symbol(name + "_" + "_".join(map(str, index)), real=True)
    return out


def is_constant(expr) -> bool:
    return not getattr(expr, "free_symbols", None)


def to_float(value: sympy.Basic) -> float:
    """A SymPy number as the nearest float64; undefined values as NaN.

    Rationals round correctly (Python's int division); other numbers are
    evaluated to 30 significant digits first.
    """
    if value is sympy.nan or value is sympy.zoo:
        return math.nan
    if value is sympy.oo:
        return math.inf
    if value is -sympy.oo:
        return -math.inf
    if isinstance(value, sympy.Rational):
        try:
            return value.p / value.q
        except OverflowError:
            return math.copysign(math.inf, value.p)
    if isinstance(value, sympy.logic.boolalg.BooleanAtom):
        return float(bool(value))
    number = value.evalf(30)
    if isinstance(number, sympy.Float) and number._prec < SIGNIFICANT_BITS:
        number = _significant(value, number)
    if number.is_real is False or not number.is_number:
        return math.nan
    try:
        return float(number)
    except (TypeError, OverflowError):
        return math.nan


SIGNIFICANT_BITS = 60
"""Fewer correct bits than this (a float64 has 53) and `evalf` has not found the value's digits."""


def _significant(value: sympy.Basic, number: sympy.Float) -> sympy.Basic:
    """`value` evaluated to significant digits, where `evalf(30)` found none (cancellation).

    An expression whose terms cancel exactly (the gradient of softmax(x).sum(),
    for one) evaluates to a Float without significant digits, such as
    -0.e-167: its magnitude is only a bound on the value, and as a float it
    would claim a tiny nonzero value. More working precision (`maxn`) finds the
    digits of a value that is not 0, or a smaller bound; a bound below half the
    smallest subnormal float64 rounds to 0 whatever the value is. Otherwise
    the bound stays, as before.
    """
    deeper = value.evalf(30, maxn=DEEPEST)
    if not (isinstance(deeper, sympy.Float) and deeper._prec < SIGNIFICANT_BITS):
        return deeper
    return sympy.S.Zero if abs(deeper) < sympy.Rational(1, 2**1075) else number


DEEPEST = 1200
"""Bits of working precision `_significant` may use (evalf's `maxn`)."""


RELATIONS = {sympy.StrictLessThan: operator.lt, sympy.LessThan: operator.le, sympy.StrictGreaterThan: operator.gt,
             sympy.GreaterThan: operator.ge, sympy.Equality: operator.eq, sympy.Unequality: operator.ne}
"""Each SymPy relation as the Python operator that decides it, on numbers, arrays or z3 terms alike."""


class _NotRational(Exception):
    """A node `rational_value` does not evaluate exactly."""


def rational_value(expr: sympy.Basic, point: dict) -> Fraction | None:
    """The exact value of `expr` at `point` (symbol -> Rational), where it is a rational number.

    Evaluated over Python's Fractions for expressions built of rationals, the
    point's symbols, sums, products, integer powers, `Abs`, `sign`, `Heaviside`,
    `Max`, `Min` and `detach`: the value SymPy's substitution gives there,
    without building the intermediate expressions. None for anything else,
    and where a division by zero makes the value undefined (SymPy decides those).
    """
    try:
        return _rational(expr, point, {})
    except (_NotRational, ZeroDivisionError):
        return None


def _rational(e, point: dict, memo: dict) -> Fraction:
    if e in memo:
        return memo[e]
    if e.is_Rational:
        out = Fraction(e.p, e.q)
    elif e.is_Symbol:
        value = point.get(e)
        if value is None or not getattr(value, "is_Rational", False):
            raise _NotRational()
        out = Fraction(value.p, value.q)
    else:
        args = [_rational(a, point, memo) for a in e.args] if type(e) in _COMBINE else None
        if args is not None:
            out = _COMBINE[type(e)](args)
        elif isinstance(e, sympy.Pow) and e.exp.is_Integer:
            out = _rational(e.base, point, memo) ** int(e.exp)
        elif isinstance(e, (detach, sympy.Abs, sympy.sign)):
            x = _rational(e.args[0], point, memo)
            out = x if isinstance(e, detach) else abs(x) if isinstance(e, sympy.Abs) else Fraction((x > 0) - (x < 0))
        elif isinstance(e, sympy.Heaviside):
            x = _rational(e.args[0], point, memo)
            at_zero = _rational(e.args[1], point, memo)  # SymPy keeps H(0), 1/2 unless given
            out = Fraction(int(x > 0)) if x != 0 else at_zero
        else:
            raise _NotRational()
    memo[e] = out
    return out


_COMBINE = {sympy.Add: sum, sympy.Mul: math.prod, sympy.Max: max, sympy.Min: min}


def truth(condition: sympy.Basic, point: dict) -> bool:
    """The exact truth of `condition` at `point` (symbol -> Rational).

    A relation is decided by the sign of `lhs - rhs` at the point: exact for
    rationals, 50 significant digits for other numbers. An undefined value
    (a division by zero) makes the relation false.
    """
    c = release(condition)
    if c is sympy.true or c is sympy.false:
        return c is sympy.true
    if type(c) in RELATIONS:
        lhs, rhs = rational_value(c.lhs, point), rational_value(c.rhs, point)
        if lhs is not None and rhs is not None:  # both rational: the sign of lhs - rhs, exactly
            return bool(RELATIONS[type(c)](lhs - rhs, 0))
        d = (c.lhs - c.rhs).xreplace(point)
        if not d.is_Rational:
            d = d.evalf(50)
            if not (d.is_real and d.is_finite):
                return False
        return bool(RELATIONS[type(c)](d, 0))
    if isinstance(c, sympy.And):
        return all(truth(a, point) for a in c.args)
    if isinstance(c, sympy.Or):
        return any(truth(a, point) for a in c.args)
    if isinstance(c, sympy.Not):
        return not truth(c.args[0], point)
    value = c.xreplace(point)
    return value is sympy.true
