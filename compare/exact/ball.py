"""Correctly rounded float64 values from Arb's ball arithmetic (python-flint), on object arrays.

A ball is a midpoint and a radius: every operation returns a ball that
contains the exact result of the operation on any numbers in its arguments'
balls (Arb's guarantee; it is what Arb is for). Starting from exact
coordinates, the final ball contains the exact value of the expression.
Rounding to nearest is monotonic, so where both endpoints of that ball round
to the same float64, that float is the exact value correctly rounded: a
proof, not the evidence of two precisions agreeing.

An entry is *undecided* (and the caller takes its slower path) where the ball
straddles a rounding boundary (a value within about 2**-128 of a tie, or an
exact cancellation, whose ball surrounds 0), where it is not finite (a pole:
Arb answers NaN, SymPy zoo), where it is subnormal (rounding there is left to
the exact paths), or where a condition of a Piecewise cannot be decided on
the ball. Anything this evaluator does not know raises `Unsupported`.
"""
from __future__ import annotations

import math
import operator
from collections import defaultdict
from fractions import Fraction
from functools import reduce

import flint
import numpy as np
import sympy

from .sym import RELATIONS

__all__ = ["PRECISION", "Balls", "Unsupported", "fold", "rounded"]

PRECISION = 128
"""Bits of Arb's working precision: the radius of a few operations' ball is about 2**-128 times the
value, so only values that close to a rounding tie (or 0) are left undecided."""

SMALLEST_NORMAL = 2.0 ** -1022


def _rounds_to_nearest() -> bool:
    """Does `float()` of a ball round its midpoint to nearest (python-flint 0.9 does; some earlier
    versions rounded down)? 1 + 3/4 ulp must give 1 + 1 ulp, and 1 + 1/2 ulp (a tie) must give 1."""
    with flint.ctx.workprec(PRECISION):
        up = float(flint.arb(flint.fmpq(2**54 + 3, 2**54)))
        tie = float(flint.arb(flint.fmpq(2**53 + 1, 2**53)))
    return up == 1 + 2.0**-52 and tie == 1.0


NEAREST = _rounds_to_nearest()
"""Where this is False, `rounded` decides nothing: every entry takes the slower, exact paths."""


class Unsupported(Exception):
    """An expression the ball evaluator does not take."""


_FUNCTIONS = {sympy.exp: flint.arb.exp, sympy.log: flint.arb.log, sympy.sin: flint.arb.sin,
              sympy.cos: flint.arb.cos, sympy.tan: flint.arb.tan, sympy.tanh: flint.arb.tanh,
              sympy.sinh: flint.arb.sinh, sympy.cosh: flint.arb.cosh, sympy.atan: flint.arb.atan,
              sympy.asin: flint.arb.asin, sympy.acos: flint.arb.acos, sympy.erf: flint.arb.erf,
              sympy.erfc: flint.arb.erfc, sympy.asinh: flint.arb.asinh, sympy.acosh: flint.arb.acosh,
              sympy.atanh: flint.arb.atanh, sympy.loggamma: flint.arb.lgamma}
"""SymPy's functions and Arb's. Outside a real function's domain (log(-1), asin(2)) Arb answers NaN,
so such an entry is undecided, and the slower path gives SymPy's answer (NaN, as complex)."""

_CERTAIN = {operator.lt: operator.ge, operator.le: operator.gt, operator.gt: operator.le,
            operator.ge: operator.lt, operator.eq: operator.ne, operator.ne: operator.eq}
"""Each relation and its negation. On balls each holds only where it holds for all the balls' points
(Arb's comparisons are certain), so a relation is True, False, or undecided (None) on an entry."""

_NAN = flint.arb.nan()


def _ball(f: Fraction) -> flint.arb:
    """An exact coordinate as a ball (exact where its binary value fits the precision)."""
    return flint.arb(flint.fmpq(f.numerator, f.denominator))


class Balls:
    """Runs an expression on object arrays of balls at `prec` bits, `env` mapping each symbol to an
    object array of exact Fractions (or, with `balls`, of balls already); results are memoized per
    subexpression, so entries that share one (tanh(x @ W1) in an MLP's Jacobian) compute it once."""

    def __init__(self, env: dict, prec: int = PRECISION, balls: bool = False):
        self.env = env
        self.prec = prec
        self.balls = balls
        self.memo: dict = {}

    def __call__(self, e):
        found = self.memo.get(e)
        if found is None:
            with flint.ctx.workprec(self.prec):
                found = self.memo[e] = self.run(e)
        return found

    def run(self, e):
        if e in self.env:
            return self.env[e] if self.balls else np.frompyfunc(_ball, 1, 1)(self.env[e])
        if e.is_Number or e is sympy.pi or e is sympy.E:
            return _number(e)
        if e is sympy.true or e is sympy.false:
            return bool(e)
        if e.is_Add and len(e.args) > SUM_TERMS:
            return self.sum(e)
        if e.is_Add or e.is_Mul:
            return fold(operator.add if e.is_Add else operator.mul, map(self, e.args))
        if e.is_Pow:
            return _power(self(e.base), e.exp)
        if type(e) in _FUNCTIONS:
            return np.frompyfunc(_FUNCTIONS[type(e)], 1, 1)(self(e.args[0]))
        if isinstance(e, sympy.Abs):
            return np.frompyfunc(abs, 1, 1)(self(e.args[0]))
        if isinstance(e, (sympy.Max, sympy.Min)):
            pick = flint.arb.max if isinstance(e, sympy.Max) else flint.arb.min
            return reduce(np.frompyfunc(pick, 2, 1), map(self, e.args))
        if isinstance(e, sympy.sign):  # a ball around 0 gives [0 +/- 1]: undecided when rounded
            return np.frompyfunc(flint.arb.sgn, 1, 1)(self(e.args[0]))
        if hasattr(e, "_eval_ball"):  # a node that evaluates itself on balls (an eigenvalue: symbolic/spectral.py)
            return e._eval_ball([self(a) for a in e.args])
        return self.logic(e)

    def sum(self, e: sympy.Add):
        """A long sum, with its terms of one shape in one coordinate each (tanh(x_0)**2, ...,
        tanh(x_9999)**2 in an output) run as one array instead of node by node."""
        groups: dict = defaultdict(list)
        parts = []
        for term in e.args:
            found = _one_coordinate(term, self.env)
            if found is None:
                parts.append(self(term))
            else:
                groups[found[0]].append((term, found[1]))
        for members in groups.values():
            term, symbol = members[0]
            stacked = np.concatenate([self.env[s] for _, s in members], axis=1)  # points x terms
            values = np.broadcast_to(Balls({symbol: stacked}, self.prec, self.balls)(term), stacked.shape)
            parts.append(np.add.reduce(values, axis=1, keepdims=True))
        return fold(operator.add, parts)

    def logic(self, e):
        """Heaviside, Piecewise and conditions, in three values: True, False, None (undecided)."""
        if isinstance(e, sympy.Heaviside):  # SymPy's value at 0 is its second argument (1/2 by default)
            at_zero = self(e.args[1]) if len(e.args) > 1 else self(sympy.S.Half)
            return np.frompyfunc(_heaviside, 2, 1)(self(e.args[0]), at_zero)
        if isinstance(e, sympy.DiracDelta):  # 0 (and its derivatives 0) off 0; undefined at it
            return np.frompyfunc(_delta, 1, 1)(self(e.args[0]))
        if isinstance(e, sympy.Piecewise):
            result = _NAN
            for value, cond in reversed(e.args):
                result = np.frompyfunc(_choose, 3, 1)(self(cond), self(value), result)
            return result
        if type(e) in RELATIONS:
            holds = RELATIONS[type(e)]
            return np.frompyfunc(lambda a, b: _decide(holds, a, b), 2, 1)(self(e.lhs), self(e.rhs))
        if isinstance(e, (sympy.And, sympy.Or)):
            return reduce(np.frompyfunc(_and if isinstance(e, sympy.And) else _or, 2, 1), map(self, e.args))
        if isinstance(e, sympy.Not):
            return np.frompyfunc(lambda c: None if c is None else not c, 1, 1)(self(e.args[0]))
        raise Unsupported(type(e).__name__)


SUM_TERMS = 16
"""Sums with more terms than this are run by `Balls.sum`."""

_MARK = object()


def _one_coordinate(term: sympy.Expr, env: dict):
    """(`term`'s tree with its coordinate marked, that coordinate) where `term` holds one coordinate
    of `env` and it takes one value per point; else None. Equal trees differ only in that symbol."""
    found = set()

    def walk(x):
        if x in env:
            found.add(x)
            return _MARK
        return (x.func, *map(walk, x.args)) if x.args else x

    key = walk(term)
    if len(found) != 1:
        return None
    (symbol,) = found
    return (key, symbol) if env[symbol].shape[1:] == (1,) else None


def _number(e) -> flint.arb:
    if e.is_Integer:
        return flint.arb(int(e))
    if e.is_Rational:
        return flint.arb(flint.fmpq(int(e.p), int(e.q)))
    if e is sympy.pi:
        return flint.arb.pi()
    if e is sympy.E:
        return flint.arb.const_e()
    raise Unsupported(str(e))  # a Float: not an exact number


def _power(base, exponent: sympy.Expr):
    if exponent.is_Integer:
        k = int(exponent)
        return base ** k if k >= 0 else 1 / base ** -k  # a ball around 0 gives NaN: undecided
    if exponent == sympy.S.Half:
        return np.frompyfunc(flint.arb.sqrt, 1, 1)(base)
    if exponent.is_Rational:  # a negative base gives NaN: undecided (SymPy's value is complex)
        return base ** flint.arb(flint.fmpq(int(exponent.p), int(exponent.q)))
    raise Unsupported(str(exponent))


def fold(op, values):
    """`reduce(op, values)` with the arrays first: a number meeting an array then goes through
    NumPy's elementwise loop, where mpmath's `mpf * array` (and a ball's) would first try (slowly,
    through the array's repr) to read the whole array as one number before giving way."""
    values = list(values)
    return reduce(op, sorted(values, key=lambda v: not isinstance(v, np.ndarray)))


def _decide(holds, a, b):
    if holds(a, b):
        return True
    return False if _CERTAIN[holds](a, b) else None


def _choose(cond, value, otherwise):
    if cond is None:
        return _NAN
    return value if cond else otherwise


def _and(a, b):
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


_ONE, _ZERO = flint.arb(1), flint.arb(0)


def _heaviside(v: flint.arb, at_zero: flint.arb) -> flint.arb:
    if v > 0:
        return _ONE
    if v < 0:
        return _ZERO
    return at_zero if v.is_zero() else _NAN


def _delta(v: flint.arb) -> flint.arb:
    return _ZERO if v > 0 or v < 0 else _NAN


def _round_one(b: flint.arb) -> tuple[float, bool]:
    """(the nearest float64 to the ball's midpoint, whether it is the correctly rounded value)."""
    if not isinstance(b, flint.arb):
        raise Unsupported(f"a value {b!r} that is not a number")
    low, high = float(b.lower()), float(b.upper())
    if b.is_zero():
        return 0.0, True
    decided = low == high and math.isfinite(low) and abs(low) >= SMALLEST_NORMAL
    return (low if decided else float(b)), decided


def rounded(values, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, undecided mask) of a block of balls broadcast to `shape`; an undecided entry
    carries its ball's midpoint, so the caller can see that it is tiny (a likely cancellation)."""
    if not NEAREST:
        raise Unsupported("this python-flint does not round to nearest")
    with flint.ctx.workprec(PRECISION):
        floats, decided = np.frompyfunc(_round_one, 1, 2)(np.broadcast_to(values, shape))
    return floats.astype(np.float64), ~decided.astype(bool)
