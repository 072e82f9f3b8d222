"""SymPy path conditions as z3 terms, and z3's models as exact points.

z3 is imported on first use: it takes about 0.2 s to import, and a case without branches never
asks it anything.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
from fractions import Fraction
from typing import Sequence

import sympy

from ..exact.sym import RELATIONS, detach, exact

__all__ = ["z3", "load_solver", "Untranslatable", "Translator", "model_point"]


def _imported_on_first_use(name: str):
    """The module `name`, whose import runs when one of its attributes is first read (the standard
    library's `LazyLoader`): z3 takes about 0.2 s to import, and a case without branches never
    asks it anything."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


z3 = _imported_on_first_use("z3")


def load_solver() -> None:
    """Import z3 now (before forking workers, so that each does not import it again)."""
    z3.Context  # noqa: B018  (reading an attribute runs the import)


class Untranslatable(Exception):
    """A condition that z3 cannot express (a transcendental function, a symbolic power)."""


class Translator:
    """SymPy -> z3, with fresh variables (and their defining constraints) for roots."""

    def __init__(self, symbols: Sequence[sympy.Symbol]):
        self.symbols = tuple(symbols)
        self.cache: dict = {}
        self.fresh = 0

    # Both made on first use: a case without branches never asks z3 anything, and a context costs
    # about 9 ms (10000 variables, far more).
    @functools.cached_property
    def ctx(self) -> z3.Context:
        # A context of its own: z3's models depend on every term its context has seen, so a shared
        # (global) context would make witnesses depend on the cases checked before in the process.
        return z3.Context()

    @functools.cached_property
    def vars(self) -> dict:
        return {s: z3.Real(s.name, self.ctx) for s in self.symbols}

    def __call__(self, expr) -> tuple:
        """(z3 expression, side constraints) for a SymPy expression or relation."""
        if expr in self.cache:
            return self.cache[expr]
        sides: list = []
        result = (self._tr(expr, sides), tuple(sides))
        self.cache[expr] = result
        return result

    def _num(self, value: sympy.Rational):
        return z3.RealVal(f"{value.p}/{value.q}", self.ctx)

    def _tr(self, e, sides):
        tr = lambda a: self._tr(a, sides)  # noqa: E731
        if e is sympy.true or e is sympy.false:
            return z3.BoolVal(e is sympy.true, self.ctx)
        if isinstance(e, sympy.Symbol):
            if e not in self.vars:
                raise Untranslatable(f"unknown symbol {e}")
            return self.vars[e]
        if isinstance(e, sympy.Rational):
            return self._num(e)
        if isinstance(e, sympy.Float):
            return self._num(exact(float(e)))
        if isinstance(e, sympy.Add):
            return z3.Sum([tr(a) for a in e.args])
        if isinstance(e, sympy.Mul):
            out = tr(e.args[0])
            for a in e.args[1:]:
                out = out * tr(a)
            return out
        if isinstance(e, sympy.Pow):
            return self._power(e, sides)
        if isinstance(e, detach):
            return tr(e.args[0])
        if type(e) in RELATIONS:
            return RELATIONS[type(e)](tr(e.lhs), tr(e.rhs))
        if isinstance(e, (sympy.And, sympy.Or)):
            return (z3.And if isinstance(e, sympy.And) else z3.Or)([tr(a) for a in e.args])
        if isinstance(e, sympy.Not):
            return z3.Not(tr(e.args[0]))
        return self._piecewise(e, tr)

    def _power(self, e, sides):
        base, p = e.args
        if p.is_Integer:
            b = self._tr(base, sides)
            if p == 0:
                return z3.RealVal(1, self.ctx)
            if int(p) < 0:
                sides.append(b != 0)
                return 1 / (b ** int(-p)) if int(-p) > 1 else 1 / b
            return b ** int(p) if int(p) > 1 else b
        if p.is_Rational and p.q == 2:  # sqrt(b)**p: a fresh s >= 0 with s*s == b
            b = self._tr(base, sides)
            self.fresh += 1
            s = z3.Real(f"__sqrt{self.fresh}", self.ctx)
            sides.extend([s >= 0, s * s == b])
            k = int(p.p)
            if k < 0:
                sides.append(s != 0)
                return 1 / (s ** -k) if -k > 1 else 1 / s
            return s ** k if k > 1 else s
        raise Untranslatable(f"power {e}")

    def _piecewise(self, e, tr):
        """The heads that are a choice between expressions: Abs, Max, Min, sign, Heaviside, Piecewise."""
        def real(value):  # made where used, in the order used: z3's models depend on the terms it has seen
            return z3.RealVal(value, self.ctx)

        if isinstance(e, sympy.Abs):
            a = tr(e.args[0])
            return z3.If(a >= 0, a, -a)
        if isinstance(e, (sympy.Max, sympy.Min)):
            args = [tr(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(a > out, a, out) if isinstance(e, sympy.Max) else z3.If(a < out, a, out)
            return out
        if isinstance(e, sympy.sign):
            a = tr(e.args[0])
            return z3.If(a > 0, real(1), z3.If(a < 0, real(-1), real(0)))
        if isinstance(e, sympy.Heaviside):
            a = tr(e.args[0])
            h0 = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
            return z3.If(a > 0, real(1), z3.If(a < 0, real(0), tr(h0)))
        if isinstance(e, sympy.Piecewise):
            out = None
            for value, cond in reversed(e.args):
                v = tr(value)
                out = v if out is None else z3.If(tr(cond), v, out)
            return out
        raise Untranslatable(f"{type(e).__name__} in {e}")


def model_point(model, translator: Translator) -> tuple[dict, bool]:
    """(the model's point, whether it is exactly the model's: rational, not approximated)."""
    point, is_exact = {}, True
    for s, v in translator.vars.items():
        value = model.eval(v, model_completion=True)
        if isinstance(value, z3.RatNumRef):
            point[s] = sympy.Rational(value.numerator_as_long(), value.denominator_as_long())
        else:  # an algebraic number: a close rational, to be checked
            point[s] = sympy.Rational(Fraction(value.approx(40).as_fraction()))
            is_exact = False
    return point, is_exact
