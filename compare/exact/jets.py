"""Exact directional derivatives of expressions, by dual numbers of Arb balls: second derivatives without SymPy's.

    directional(exprs, symbols, points, directions) -> (values (points, entries, directions), undecided)

Each entry e of `exprs` (a gradient's entries, say) is run on jets: every
symbol x_j is the pair (its value, directions[k][j]), and every operation
carries its value and its derivative along the direction by the chain rule
(Arb balls for both, at `ball.PRECISION` bits). The derivative part at the
end is d/dt e(x + t v) at t = 0, exactly enclosed: where the ball rounds to
one float64 that float is the correctly rounded value, as in `compare.exact.ball`.
So a gradient's entries give H v (the directions u) or the Hessian's columns
(the directions e_j) in one pass over their trees, sharing subexpressions,
instead of a symbolic `diff` of every entry and an evaluation of each
derivative. What a ball leaves undecided (an exact cancellation to 0, a
kink) the caller takes from SymPy's derivative, as before.

Derivatives follow the expressions: `detach` (and `nograd`), Heaviside,
sign, floor and ceiling have derivative 0; Abs has sign(x) (undecided at 0);
Max and Min follow the argument that wins (undecided at a tie); a Piecewise
the branch whose condition holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Mapping, Sequence

import flint
import numpy as np
import sympy

from . import ball
from .sym import as_expr, detach

__all__ = ["directional"]

@dataclass(frozen=True)
class _Jet:
    """A value and its derivatives along each direction: object arrays of balls, (points, 1) and
    (points, directions), broadcast as NumPy broadcasts."""

    v: object
    d: object


def _ufunc(f):
    return np.frompyfunc(f, 1, 1)


_SQRT, _EXP, _LOG = _ufunc(flint.arb.sqrt), _ufunc(flint.arb.exp), _ufunc(flint.arb.log)
_SIN, _COS, _TAN = _ufunc(flint.arb.sin), _ufunc(flint.arb.cos), _ufunc(flint.arb.tan)
_TANH, _SINH, _COSH = _ufunc(flint.arb.tanh), _ufunc(flint.arb.sinh), _ufunc(flint.arb.cosh)
_ATAN, _ASIN, _ACOS = _ufunc(flint.arb.atan), _ufunc(flint.arb.asin), _ufunc(flint.arb.acos)
_ERF, _SGN, _ABS = _ufunc(flint.arb.erf), _ufunc(flint.arb.sgn), _ufunc(abs)

# (value, d value / d argument) of each function, from the argument's and the value's balls
_FUNCTIONS = {
    sympy.exp: lambda a: (_EXP(a), None),  # the derivative is the value itself
    sympy.log: lambda a: (_LOG(a), 1 / a),
    sympy.sin: lambda a: (_SIN(a), _COS(a)),
    sympy.cos: lambda a: (_COS(a), -_SIN(a)),
    sympy.tan: lambda a: (_TAN(a), 1 + _TAN(a) ** 2),
    sympy.tanh: lambda a: (_TANH(a), 1 - _TANH(a) ** 2),
    sympy.sinh: lambda a: (_SINH(a), _COSH(a)),
    sympy.cosh: lambda a: (_COSH(a), _SINH(a)),
    sympy.atan: lambda a: (_ATAN(a), 1 / (1 + a**2)),
    sympy.asin: lambda a: (_ASIN(a), 1 / _SQRT(1 - a**2)),
    sympy.acos: lambda a: (_ACOS(a), -1 / _SQRT(1 - a**2)),
    sympy.erf: lambda a: (_ERF(a), 2 / flint.arb.sqrt(flint.arb.pi()) * _EXP(-(a**2))),
}
_FLAT = (sympy.Heaviside, sympy.sign, sympy.floor, sympy.ceiling, detach)
"""Functions whose derivative is 0 wherever it is defined (a Heaviside at 0 is a kink: not asked here)."""


class _Jets:
    """Runs expressions on jets, memoized per subexpression (`ball.Balls` runs the values alone)."""

    def __init__(self, env: Mapping, tangents: Mapping):
        self.values = ball.Balls(env)
        self.tangents = tangents
        self.memo: dict = {}

    def __call__(self, e) -> _Jet:
        found = self.memo.get(e)
        if found is None:
            with flint.ctx.workprec(ball.PRECISION):
                found = self.memo[e] = self.run(e)
        return found

    def run(self, e) -> _Jet:
        if e in self.tangents:
            return _Jet(self.values(e), self.tangents[e])
        if not e.free_symbols & self.tangents.keys() or isinstance(e, _FLAT):  # a constant along t
            return _Jet(self.values(e), 0)
        if e.is_Add:
            return reduce(lambda a, b: _Jet(a.v + b.v, a.d + b.d), map(self, e.args))
        if e.is_Mul:
            return reduce(lambda a, b: _Jet(a.v * b.v, a.v * b.d + b.v * a.d), map(self, e.args))
        if e.is_Pow:
            return self.power(e)
        if type(e) in _FUNCTIONS:
            a = self(e.args[0])
            value, slope = _FUNCTIONS[type(e)](a.v)
            return _Jet(value, (value if slope is None else slope) * a.d)
        return self.piecewise(e)

    def power(self, e) -> _Jet:
        a = self(e.base)
        if e.exp.free_symbols & self.tangents.keys():  # b**x: d = b**x (log b dx + x db / b)
            x = self(e.exp)
            value = self.values(e)
            return _Jet(value, value * (_LOG(a.v) * x.d + x.v * a.d / a.v))
        value = self.values(e)
        k = e.exp
        if k == 0:
            return _Jet(value, 0)
        return _Jet(value, ball._number(k) * self.values(e.base ** (k - 1)) * a.d)

    def piecewise(self, e) -> _Jet:
        if isinstance(e, sympy.Abs):
            a = self(e.args[0])
            return _Jet(_ABS(a.v), _SGN(a.v) * a.d)  # at 0 the sign is [0 +/- 1]: undecided
        if isinstance(e, (sympy.Max, sympy.Min)):
            return reduce(lambda a, b: self.pick(a, b, isinstance(e, sympy.Max)), map(self, e.args))
        if isinstance(e, sympy.Piecewise):
            found = None
            for value, cond in reversed(e.args):
                chosen = self(value)
                holds = self.values(cond)
                found = chosen if found is None else _Jet(
                    np.frompyfunc(ball._choose, 3, 1)(holds, chosen.v, found.v),
                    np.frompyfunc(ball._choose, 3, 1)(holds, chosen.d, found.d))
            return found
        raise ball.Unsupported(type(e).__name__)

    def pick(self, a: _Jet, b: _Jet, largest: bool) -> _Jet:
        """Max (or Min) of two jets: the one that wins at each point, NaN where the balls tie."""
        first = np.frompyfunc(lambda x, y: (x > y) if largest else (x < y), 2, 1)(a.v, b.v)
        second = np.frompyfunc(lambda x, y: (x < y) if largest else (x > y), 2, 1)(a.v, b.v)
        holds = np.frompyfunc(lambda f, s: True if f else (False if s else None), 2, 1)(first, second)
        choose = np.frompyfunc(ball._choose, 3, 1)
        return _Jet(choose(holds, a.v, b.v), choose(holds, a.d, b.d))


def directional(exprs: Sequence, symbols: Sequence, points: Sequence[Mapping],
                directions: Sequence[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """(d/dt e(x + t v) at t = 0 for each point x, entry e and direction v, rounded to float64, shape
    (points, entries, directions); the mask of those a ball leaves undecided). `symbols`: the variables
    the directions move, in their order; `points`: exact values of every symbol of the entries."""
    count = len(points)
    known = set().union(*(set(p) for p in points)) if points else set()
    env = {s: np.array([[_fraction(p[s])] for p in points], dtype=object)
           for s in known if all(s in p for p in points)}
    tangents = {s: np.frompyfunc(ball._ball, 1, 1)(np.array([[_fraction(v[j]) for v in directions]], dtype=object))
                for j, s in enumerate(symbols)}
    jets = _Jets(env, tangents)
    out = np.zeros((count, len(exprs), len(directions)))
    undecided = np.zeros(out.shape, dtype=bool)
    for i, e in enumerate(exprs):
        d = jets(as_expr(e)).d
        if not isinstance(d, int):  # an entry constant along every direction: 0, exactly
            out[:, i, :], undecided[:, i, :] = ball.rounded(d, (count, len(directions)))
    return out, undecided


def _fraction(x) -> Fraction:
    """An exact number (a SymPy Rational, an int, a Fraction) as a Fraction; anything else is refused."""
    r = sympy.Rational(x) if not isinstance(x, Fraction) else x
    return r if isinstance(r, Fraction) else Fraction(int(r.p), int(r.q))
