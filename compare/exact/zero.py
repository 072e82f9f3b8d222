"""Is an expression zero as a function? Decided by algebra: exact values at random points, else `cancel`."""
from __future__ import annotations

import operator
from fractions import Fraction

import numpy as np
import sympy

from . import ball
from .arithmetic import FractionRun, Unsupported

__all__ = ["identically_zero", "ZERO_TEST_OPS", "ZERO_TEST_DIGITS", "IDENTITY_POINTS", "IDENTITY_BITS", "IDENTITY_DEGREE"]


ZERO_TEST_OPS = 2000
"""Largest expression (SymPy operations) that `_zero_by_cancel` tries: cancelling costs more than
the numbers it would replace beyond that."""


ZERO_TEST_DIGITS = 2**24
"""Largest numerator or denominator of a constant for which `_zero_by_cancel` tries algebra."""


def identically_zero(expr: sympy.Expr) -> bool:
    """Is `expr` zero as a function, by algebra?

    Each exp(c1*t1 + c2*t2 + ...) becomes y1**c1 * y2**c2 * ... in fresh
    positive symbols (so exp(2*x) and exp(x)**2 meet), every other function
    node a fresh symbol, and the rational function that results must be 0
    (`_zero_at_random_points`, else `cancel`). Sound (by `cancel`; at random
    points, but for a chance below 2**-216): a rational function that is 0
    is 0 for every value of its symbols, these included. Not
    complete: a zero that needs sin**2 + cos**2 = 1, say, is not found (and
    the caller keeps the numbers).
    """
    if not expr.free_symbols:
        return False
    at_points = _zero_at_random_points(expr)
    if at_points is not None:
        return at_points
    return _zero_by_cancel(expr)


def _zero_by_cancel(expr: sympy.Expr) -> bool:
    """`identically_zero` by SymPy's `cancel` of the rational function: for what the random points
    cannot run (exp(x/2), a root, pi)."""
    if sympy.count_ops(expr) > ZERO_TEST_OPS:
        return False
    if any(abs(r.p) > ZERO_TEST_DIGITS or r.q > ZERO_TEST_DIGITS for r in expr.atoms(sympy.Rational)):
        return False  # float constants as exact rationals (a layer's weights): cancel's gcds take minutes
    powers: dict = {}

    def as_powers(arg):
        factors = []
        for term in sympy.Add.make_args(arg):
            c, rest = term.as_coeff_Mul()
            factors.append(powers.setdefault(rest, sympy.Dummy(positive=True)) ** c)
        return sympy.Mul(*factors)

    rational = expr.replace(lambda n: isinstance(n, sympy.exp), lambda n: as_powers(n.args[0]))
    rational = rational.xreplace({f: sympy.Dummy() for f in rational.atoms(sympy.Function)})
    return sympy.cancel(rational) == 0


IDENTITY_POINTS = 2
"""Points at which `_zero_at_random_points` evaluates the rational function."""

IDENTITY_BITS = 128
"""Each coordinate of those points is a random integer in [1, 2**IDENTITY_BITS]."""

IDENTITY_DEGREE = 2**20
"""Largest degree bound for which zeros at the points are taken as a zero function."""


def _zero_at_random_points(expr: sympy.Expr) -> bool | None:
    """`identically_zero`'s rational function decided by its exact values at random points; None
    where this cannot decide (a non-integer power, a pole at a point, too high a degree).

    A value other than 0 at a point proves the function is not 0. Values of 0
    at every point: by the Schwartz-Zippel lemma a nonzero numerator of total
    degree d vanishes at a uniform random point of [1, N]**m with probability
    at most d / N, so with d <= 2**20, N = 2**128 and two independent points
    the chance of calling a nonzero function zero is below 2**-216, far below
    the chance that two mpmath precisions agree on a wrong float. The points
    come from a fixed seed, so the answer is the same in every run. Exact
    Fractions and no cancellation: milliseconds where `cancel`'s gcds take
    tenths of a second (the gradient of softmax(x).sum()), and big constants
    cost no more than small ones.
    """
    run = _AtRandomPoints()
    try:
        values = np.broadcast_to(run(expr), (IDENTITY_POINTS,))
        degree = run.degree(expr)
    except (Unsupported, ArithmeticError, TypeError):
        return None
    if degree > IDENTITY_DEGREE:
        return None
    return not any(values)


class _AtRandomPoints(FractionRun):
    """Runs `identically_zero`'s rational function at IDENTITY_POINTS random points, without
    building it: every symbol, every function node other than exp, and every t of an
    exp(c1*t1 + c2*t2 + ...) with integer c's takes its own random positive integers; exp gives
    the product of the t's values to the powers c. `degree` bounds the degree of the numerator."""

    def __init__(self):
        super().__init__({})
        self.rng = np.random.default_rng(0)
        self.fresh: dict = {}
        self.degrees: dict = {}

    def coordinate(self, key) -> np.ndarray:
        found = self.fresh.get(key)
        if found is None:
            found = self.fresh[key] = np.array([int.from_bytes(self.rng.bytes(IDENTITY_BITS // 8), "little") + 1
                                                for _ in range(IDENTITY_POINTS)], dtype=object)
        return found

    @staticmethod
    def exponents(e: sympy.exp):
        for term in sympy.Add.make_args(e.args[0]):
            c, rest = term.as_coeff_Mul()
            if not c.is_Integer:
                raise Unsupported(str(e))
            yield int(c), rest

    def run(self, e):
        if e.is_Symbol:
            return self.coordinate(e)
        if isinstance(e, sympy.exp):
            return ball.fold(operator.mul, [self.coordinate(("exp", t)) ** c if c >= 0
                                        else Fraction(1) / self.coordinate(("exp", t)) ** -c
                                        for c, t in self.exponents(e)])
        if isinstance(e, sympy.Function):  # Abs, Max, Piecewise, tanh, detach...: a symbol of its own
            return self.coordinate(e)
        return super().run(e)

    def degree(self, e) -> int:
        return self._degrees(e)[0]

    def _degrees(self, e) -> tuple[int, int]:
        """(degree of the numerator, of the denominator) of `e` as one fraction."""
        found = self.degrees.get(e)
        if found is not None:
            return found
        if e.is_Number:
            found = (0, 0)
        elif isinstance(e, sympy.exp):
            cs = [c for c, _ in self.exponents(e)]
            found = (sum(c for c in cs if c > 0), sum(-c for c in cs if c < 0))
        elif e.is_Symbol or isinstance(e, sympy.Function):
            found = (1, 0)
        elif e.is_Add or e.is_Mul:
            parts = [self._degrees(a) for a in e.args]
            den = sum(d for _, d in parts)
            found = (sum(n for n, _ in parts) if e.is_Mul else max(n + den - d for n, d in parts), den)
        elif e.is_Pow and e.exp.is_Integer:
            n, d = self._degrees(e.base)
            k = int(e.exp)
            found = (k * n, k * d) if k >= 0 else (-k * d, -k * n)
        else:
            raise Unsupported(type(e).__name__)
        self.degrees[e] = found
        return found
