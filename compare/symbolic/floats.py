"""Ops about the floating-point representation: `frexp` has an exact meaning, `nextafter` has none.

`frexp(x)` writes x = m * 2**e with 1/2 <= |m| < 1 (m = e = 0 at x = 0).
The exponent e is a step function of x; the mantissa m = x * 2**-e is
linear between powers of two, so its derivative is 2**-e, which is what
autograd gives (`grad / exponent.exp2()`).

`nextafter(x, y)` is the next float after x toward y: a function of
floating-point numbers, with no counterpart on the reals to differentiate
(autograd passes the gradient through to x as if it were x itself).
"""
from __future__ import annotations

import sympy
import torch

from .elementwise import Step
from .registry import UnsupportedOp, exprs, meaning, prim, ufunc

aten = torch.ops.aten

__all__ = ["exponent"]


def _exponent_of(v: sympy.Expr) -> sympy.Integer:
    """The e of a finite number v with 2**(e-1) <= |v| < 2**e (0 for v = 0), in exact arithmetic."""
    r = abs(v if v.is_Rational else sympy.Rational(v.evalf(60)))
    if r == 0:
        return sympy.S.Zero
    e = r.p.bit_length() - r.q.bit_length()  # 2**(e-1) <= |v| < 2**(e+1)
    while r >= sympy.Integer(2) ** e:
        e += 1
    while r < sympy.Integer(2) ** (e - 1):
        e -= 1
    return sympy.Integer(e)


class exponent(Step):
    """frexp's exponent e(x): 2**(e-1) <= |x| < 2**e, 0 at 0; a step function"""
    exact_value = staticmethod(_exponent_of)


def _mantissa(x):
    return x * sympy.Integer(2) ** -exponent(x)


@meaning(aten.frexp, prim("frexp"))
def frexp(x):
    """x = m * 2**e, 1/2 <= |m| < 1: the mantissa x * 2**-e and the exponent e, a step function"""
    values = exprs(x)
    return ufunc(_mantissa, 1)(values), ufunc(exponent, 1)(values)


@meaning(aten.nextafter, prim("nextafter"))
def nextafter(x, y):
    """refused: the next float after x is a function of floating-point numbers, not of reals"""
    raise UnsupportedOp("aten.nextafter (the next float after x: a function of floating-point numbers, "
                        "with no real function to differentiate)")
