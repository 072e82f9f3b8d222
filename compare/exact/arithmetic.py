"""Expressions run on object arrays of numbers: exact Fractions (`FractionRun`) or mpmath numbers at the
working precision (`MpmathRun`), and their rounding to the nearest float64."""
from __future__ import annotations

import functools
import math
import operator
from fractions import Fraction
from functools import reduce

import mpmath
import numpy as np
import sympy

from . import ball
from .sym import RELATIONS

__all__ = ["Unsupported", "FractionRun", "MpmathRun", "MPMATH", "fraction", "nearest_float"]


class Unsupported(Exception):
    """An expression or point the vectorised evaluator does not take; the caller falls back."""


def fraction(value) -> Fraction:
    if not isinstance(value, sympy.Rational):
        raise Unsupported(f"a coordinate {value!r} that is not rational")
    key = (value.p, value.q)
    found = _FRACTIONS.get(key)
    if found is None:
        if len(_FRACTIONS) >= 1 << 17:  # 35 MiB at most; a check of 10,000 inputs at 5 points holds 50,000
            _FRACTIONS.clear()
        found = _FRACTIONS[key] = Fraction(int(value.p), int(value.q))
    return found


_FRACTIONS: dict = {}
"""(numerator, denominator) -> Fraction: the output, the gradient and H v of one check read the same coordinates
(a Fraction costs a gcd to build). Equal numbers, equal values: nothing here goes stale."""


def nearest_float(value) -> float:
    """An exact Fraction or an mpmath number as the nearest float64 (NaN where not real)."""
    if isinstance(value, (bool, np.bool_, float)):
        return float(value)
    if isinstance(value, (int, Fraction)):
        try:
            return value.numerator / value.denominator  # int division rounds correctly
        except OverflowError:
            return math.copysign(math.inf, value.numerator)
    if isinstance(value, mpmath.mpc):
        return math.nan if value.imag != 0 else nearest_float(value.real)
    if isinstance(value, mpmath.mpf):
        return mpmath.libmp.to_float(value._mpf_, rnd=mpmath.libmp.round_nearest)
    raise TypeError(f"cannot round {value!r}")


class FractionRun:
    """Runs an expression on object arrays of Fractions: +, -, *, /, integer powers, Abs, Max,
    Min, sign, Heaviside, Piecewise and comparisons. Anything else raises Unsupported."""

    def __init__(self, env: dict):
        self.env = env
        self.memo: dict = {}

    def __call__(self, e):
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self.run(e)
        return found

    def number(self, e):
        if e.is_Integer:
            return int(e)
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        raise Unsupported(str(e))

    def power(self, base, e):
        if not e.exp.is_Integer:
            raise Unsupported(str(e))
        k = int(e.exp)
        return base ** k if k >= 0 else Fraction(1) / _as_fraction(base) ** -k

    def run(self, e):
        if e in self.env:
            return self.env[e]
        if e.is_Number:
            return self.number(e)
        if e is sympy.true or e is sympy.false:
            return bool(e)
        if e.is_Add:
            return ball.fold(operator.add, map(self, e.args))
        if e.is_Mul:
            return ball.fold(operator.mul, map(self, e.args))
        if e.is_Pow:
            return self.power(self(e.base), e)
        if isinstance(e, sympy.Abs):
            return np.abs(self(e.args[0]))
        if isinstance(e, (sympy.Max, sympy.Min)):
            return reduce(np.maximum if isinstance(e, sympy.Max) else np.minimum, map(self, e.args))
        if isinstance(e, sympy.sign):
            return np.frompyfunc(lambda v: (v > 0) - (v < 0), 1, 1)(self(e.args[0]))
        if isinstance(e, sympy.Heaviside):  # SymPy's value at 0 is its second argument (1/2 by default)
            at_zero = self(e.args[1]) if len(e.args) > 1 else self(sympy.S.Half)
            return np.frompyfunc(lambda v, h: 1 if v > 0 else 0 if v < 0 else h, 2, 1)(self(e.args[0]), at_zero)
        if isinstance(e, sympy.Piecewise):
            result = np.nan
            for value, cond in reversed(e.args):
                result = np.where(np.asarray(self(cond), dtype=bool), self(value), result)
            return result
        if type(e) in RELATIONS:
            return RELATIONS[type(e)](self(e.lhs), self(e.rhs))
        if isinstance(e, (sympy.And, sympy.Or)):
            return reduce(np.logical_and if isinstance(e, sympy.And) else np.logical_or,
                          (np.asarray(self(a), dtype=bool) for a in e.args))
        if isinstance(e, sympy.Not):
            return np.logical_not(np.asarray(self(e.args[0]), dtype=bool))
        raise Unsupported(type(e).__name__)


def _as_fraction(v):
    return Fraction(v) if isinstance(v, int) else v


MPMATH = {sympy.exp: mpmath.exp, sympy.log: mpmath.log, sympy.sin: mpmath.sin, sympy.cos: mpmath.cos,
           sympy.tan: mpmath.tan, sympy.tanh: mpmath.tanh, sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh,
           sympy.atan: mpmath.atan, sympy.asin: mpmath.asin, sympy.acos: mpmath.acos, sympy.erf: mpmath.erf}


def _mpf(f: Fraction) -> mpmath.mpf:
    """f at the working precision, rounded once."""
    return _rounded(f, mpmath.mp.prec)


@functools.lru_cache(maxsize=1 << 17)
def _rounded(f: Fraction, prec: int) -> mpmath.mpf:  # kept: the same coordinates meet every entry
    return mpmath.mpf(f.numerator) / f.denominator


_FUNCTION_VALUES: dict = {}
"""(function, argument, precision) -> value: the output, the gradient and H v of one check meet the
same tanh(x_i) at the same points. Pure functions of exact arguments: nothing here goes stale."""


def _function_value(fn, arg):
    key = (fn, arg, mpmath.mp.prec)
    found = _FUNCTION_VALUES.get(key)
    if found is None:
        if len(_FUNCTION_VALUES) >= 1 << 20:
            _FUNCTION_VALUES.clear()
        found = _FUNCTION_VALUES[key] = fn(arg)
    return found


class MpmathRun(FractionRun):
    """The same on mpmath numbers at the working precision, with the transcendental functions."""

    def number(self, e):
        if e.is_Rational:
            return mpmath.mpf(int(e.p)) / int(e.q)
        if e in (sympy.pi, sympy.E):
            return mpmath.pi if e is sympy.pi else mpmath.e
        raise Unsupported(str(e))

    def run(self, e):
        if e in self.env:
            return np.frompyfunc(_mpf, 1, 1)(self.env[e])
        if e is sympy.pi or e is sympy.E:
            return self.number(e)
        if type(e) in MPMATH:
            return np.frompyfunc(functools.partial(_function_value, MPMATH[type(e)]), 1, 1)(self(e.args[0]))
        return super().run(e)

    def power(self, base, e):
        exponent = self(e.exp)
        if e.exp.is_Integer:
            k = int(e.exp)
            return base ** k if k >= 0 else 1 / base ** -k
        return np.frompyfunc(mpmath.power, 2, 1)(base, exponent)
