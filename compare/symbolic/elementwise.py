"""Elementwise ops: functions, arithmetic, comparisons, selection, dtype conversion.

Each entry is computed exactly; type promotion and broadcasting are
torch's (the dispatcher takes the output's dtype from torch's meta kernel,
and NumPy broadcasts as torch does). Rounding to the dtype is not modelled:
the exact side is the function a float computation approximates.
"""
from __future__ import annotations

import operator

import numpy as np
import sympy
import torch
from sympy.core.add import _addsort
from sympy.core.mul import _keep_coeff
from sympy.core.parameters import global_parameters

from ..exact.sym import exact
from .registry import prim, binary, exprs, meaning, ufunc, unary

aten = torch.ops.aten

__all__ = ["convert", "sigmoid", "relation"]


def sigmoid(x):
    return 1 / (1 + sympy.exp(-x))


def _is_bool(value) -> bool:
    """A bool operand: a Python bool, or a tensor (real or symbolic) of dtype bool."""
    return isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool)


def _numbers(value) -> np.ndarray:
    """An operand's entries as arithmetic sees them: torch's type promotion makes a bool 1 or 0."""
    values = exprs(value)
    return ufunc(_from_bool, 1)(values) if _is_bool(value) else values


def arithmetic(f):
    """The meaning of an elementwise op of two operands that computes with numbers (`binary`'s,
    with a bool operand as 1 and 0: `x * mask`, `x + (x > 0)`, `x * True`)."""
    u = ufunc(f, 2)

    def impl(a, b, *rest, **kwargs):
        return u(_numbers(a), _numbers(b))

    impl.formula, impl.arity = f, 2
    return impl


class Step(sympy.Function):
    """A piecewise-constant function of one argument: its value on numbers, derivative 0.

    SymPy leaves `Derivative(floor(x), x)` unevaluated; autograd takes the
    derivative of every step function to be 0, also at its jumps (which
    the verdict treats as kinks). Subclasses say where the value is.
    """

    nargs = 1
    exact_value = staticmethod(lambda v: v)

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_finite:
            return cls.exact_value(x)

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    def _eval_evalf(self, prec):
        v = self.args[0].evalf(prec)
        return self.exact_value(sympy.Rational(v)) if v.is_number and v.is_finite else None


def _half_even(x):
    f = sympy.floor(x)
    d = x - f
    half = sympy.Rational(1, 2)
    return f if d < half else f + 1 if d > half else (f if f % 2 == 0 else f + 1)


class floor(Step):
    """floor(x), a step function"""
    exact_value = staticmethod(sympy.floor)


class ceil(Step):
    """ceil(x), a step function"""
    exact_value = staticmethod(sympy.ceiling)


class trunc(Step):
    """trunc(x): toward zero, a step function"""
    exact_value = staticmethod(lambda v: sympy.floor(v) if v >= 0 else sympy.ceiling(v))


class round_(Step):
    """round(x): to the nearest integer, ties to even, a step function"""
    exact_value = staticmethod(_half_even)


class sign(Step):
    """sign(x): -1, 0 or 1, a step function"""
    exact_value = staticmethod(sympy.sign)


_UNARY = {
    "exp": sympy.exp, "log": sympy.log, "log2": lambda x: sympy.log(x, 2), "log10": lambda x: sympy.log(x, 10),
    "log1p": lambda x: sympy.log(1 + x), "expm1": lambda x: sympy.exp(x) - 1, "exp2": lambda x: 2**x,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "tanh": sympy.tanh, "sinh": sympy.sinh,
    "cosh": sympy.cosh, "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "asinh": sympy.asinh,
    "acosh": sympy.acosh, "atanh": sympy.atanh, "erf": sympy.erf, "erfc": sympy.erfc, "erfinv": sympy.erfinv,
    "sigmoid": sigmoid, "rsqrt": lambda x: 1 / sympy.sqrt(x), "reciprocal": lambda x: 1 / x,
    "neg": operator.neg, "sign": sign,
    "lgamma": lambda x: sympy.log(sympy.Abs(sympy.gamma(x))),  # log|gamma|, as torch's: real for x < 0 too
    "digamma": lambda x: sympy.polygamma(0, x), "floor": floor,
    "ceil": ceil, "trunc": trunc, "frac": lambda x: x - trunc(x),
    "round": round_,
    "sinc": lambda x: sympy.sinc(sympy.pi * x), "square": lambda x: x**2,
    "sqrt": sympy.sqrt,
    "relu": lambda x: sympy.Max(x, 0), "logical_not": sympy.Not, "bitwise_not": sympy.Not,
    "i0": lambda x: sympy.besseli(0, x), "special_i0e": lambda x: sympy.exp(-sympy.Abs(x)) * sympy.besseli(0, x),
    "special_i1": lambda x: sympy.besseli(1, x), "special_ndtr": lambda x: (1 + sympy.erf(x / sympy.sqrt(2))) / 2,
    "special_erfcx": lambda x: sympy.exp(x**2) * sympy.erfc(x), "special_log_ndtr":
        lambda x: sympy.log((1 + sympy.erf(x / sympy.sqrt(2))) / 2),
    "special_ndtri": lambda x: sympy.sqrt(2) * sympy.erfinv(2 * x - 1),
    "deg2rad": lambda x: x * sympy.pi / 180, "rad2deg": lambda x: x * 180 / sympy.pi,
    "positive": lambda x: x,
}  # abs, sgn, real and conj, which differ for complex tensors, are in complexes.py


def _on_numbers(impl):
    """A unary meaning that computes with numbers: a bool tensor's entries as 1 and 0 (`torch.exp(mask)`)."""
    def g(x, *rest, **kwargs):
        return impl(_numbers(x) if _is_bool(x) else x, *rest, **kwargs)

    g.formula, g.arity = impl.formula, impl.arity
    return g


for _name, _f in _UNARY.items():
    _impl = unary(_f) if _name in ("logical_not", "bitwise_not") else _on_numbers(unary(_f))
    meaning(getattr(aten, _name, None), prim(_name))(_impl)
meaning(aten.logit, doc="log(x / (1 - x)), x first clamped to [eps, 1 - eps] where eps is given")(
    lambda x, eps=None: ufunc(
        lambda v: sympy.log(v / (1 - v)) if eps is None else
        sympy.log(sympy.Min(sympy.Max(v, exact(eps)), 1 - exact(eps)) /
                  (1 - sympy.Min(sympy.Max(v, exact(eps)), 1 - exact(eps)))), 1)(exprs(x)))
meaning(aten.polygamma, doc="polygamma(n, x): the n-th derivative of digamma")(
    lambda n, x: ufunc(lambda v: sympy.polygamma(int(n), v), 1)(exprs(x)))
meaning(aten.mvlgamma, doc="the log of the multivariate gamma function: p (p - 1) / 4 log(pi) + sum over j < p "
                           "of log Gamma(x - j / 2)")(lambda x, p: ufunc(
    lambda v: sympy.log(sympy.pi) * sympy.Rational(p * (p - 1), 4) + sympy.Add(
        *(sympy.loggamma(v - sympy.Rational(j, 2)) for j in range(p))), 1)(exprs(x)))


def _scaled(b, alpha):
    return b if alpha is None or alpha == 1 else b * exact(alpha)


@meaning(aten.add, prim("add"))
def add(a, b, *, alpha=None, **_):
    """a + alpha b (for two bool tensors, a or b)"""
    if _is_bool(a) and _is_bool(b):  # bool + bool stays bool in torch: a logical or
        return ufunc(sympy.Or, 2)(exprs(a), exprs(b))
    return ufunc(operator.add, 2)(_numbers(a), _scaled(_numbers(b), alpha))


@meaning(aten.sub, prim("sub"))
def sub(a, b, *, alpha=None, **_):
    """a - alpha b"""
    return ufunc(operator.sub, 2)(_numbers(a), _scaled(_numbers(b), alpha))


@meaning(aten.rsub)
def rsub(a, b, *, alpha=None, **_):
    """b - alpha a (sub with its operands swapped)"""
    return ufunc(operator.sub, 2)(_numbers(b), _scaled(_numbers(a), alpha))


def _polynomial_term(t: sympy.Basic) -> bool:
    """A symbol, a power of one, or a product of those with a rational coefficient: terms that a
    rational factor only rescales (no two merge, none becomes a number)."""
    if t.is_Mul:
        head, *rest = t.args
        return (head.is_Rational or _power_of_symbol(head)) and all(_power_of_symbol(f) for f in rest)
    return _power_of_symbol(t)


def _power_of_symbol(t: sympy.Basic) -> bool:
    return type(t) is sympy.Symbol or (t.is_Pow and type(t.base) is sympy.Symbol and t.exp.is_Rational)


def product(a, b):
    """a * b, as SymPy gives it. A rational times a sum of n polynomial terms is what SymPy's
    two-factor Mul builds, `Add(*[_keep_coeff(c, t) for t in terms])`, built without a
    Mul and an Add flatten per term: `c * x**2` is Mul(c, x**2) and the rescaled terms are
    distinct, so only SymPy's own sort of the terms remains (2 * dot(x, x), n = 10,000:
    0.8 s otherwise, each run)."""
    c, s = (a, b) if getattr(b, "is_Add", False) else (b, a)
    if not (getattr(s, "is_Add", False) and getattr(c, "is_Rational", False) and c is not sympy.S.One
            and not c.is_zero and global_parameters.evaluate and global_parameters.distribute
            and all(_polynomial_term(t) for t in s.args)):
        return a * b
    terms = [_keep_coeff(c, t) if t.is_Mul else sympy.Mul._from_args((c, t)) for t in s.args]
    _addsort(terms)
    return sympy.Add._from_args(terms)


@meaning(aten.mul, prim("mul"))
def mul(a, b, *rest, **kwargs):
    if _is_bool(a) and _is_bool(b):  # bool * bool stays bool in torch: a logical and
        return ufunc(sympy.And, 2)(exprs(a), exprs(b))
    return ufunc(product, 2)(_numbers(a), _numbers(b))


mul.formula, mul.arity = product, 2


@meaning(aten.div, prim("div"))
def div(a, b, *, rounding_mode=None):
    """a / b; with `rounding_mode`, floor(a / b) or trunc(a / b)"""
    q = ufunc(operator.truediv, 2)(_numbers(a), _numbers(b))
    if rounding_mode is None:
        return q
    return ufunc(floor if rounding_mode == "floor" else trunc, 1)(q)


meaning(aten.true_divide)(arithmetic(operator.truediv))
meaning(aten.floor_divide)(arithmetic(lambda a, b: floor(a / b)))
meaning(aten.pow, prim("pow"))(arithmetic(operator.pow))
meaning(aten.float_power)(arithmetic(operator.pow))
meaning(aten.atan2, prim("atan2"))(arithmetic(sympy.atan2))
meaning(aten.hypot, prim("hypot"))(arithmetic(lambda a, b: sympy.sqrt(a**2 + b**2)))
meaning(aten.remainder, prim("remainder"))(arithmetic(lambda a, b: a - b * floor(a / b)))
meaning(aten.fmod, prim("fmod"))(arithmetic(lambda a, b: a - b * trunc(a / b)))
meaning(aten.copysign)(arithmetic(lambda a, b: sympy.Abs(a) * sympy.Piecewise((-1, b < 0), (1, True))))
meaning(aten.xlogy)(arithmetic(lambda a, b: sympy.Piecewise((0, sympy.Eq(a, 0)), (a * sympy.log(b), True))
                           if not (a.is_number and a != 0) else a * sympy.log(b)))
meaning(aten.special_xlog1py)(arithmetic(lambda a, b: sympy.Piecewise((0, sympy.Eq(a, 0)),
                                                                   (a * sympy.log(1 + b), True))))
meaning(aten.logaddexp)(arithmetic(lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b))))
meaning(aten.logaddexp2)(arithmetic(lambda a, b: sympy.log(2**a + 2**b, 2)))
meaning(aten.logical_and, aten.bitwise_and, aten.__and__)(binary(sympy.And))
meaning(aten.logical_or, aten.bitwise_or, aten.__or__)(binary(sympy.Or))
meaning(aten.logical_xor, aten.bitwise_xor)(binary(sympy.Xor))


def relation(rel):
    """`rel(a, b)`, evaluated only between numbers.

    Evaluating a symbolic relation asks SymPy's assumption system, which is
    slow and rarely decides anything; the path explorer decides it exactly.
    """

    def make(a, b):
        if getattr(a, "is_number", True) and getattr(b, "is_number", True):
            return sympy.true if bool(rel(a, b)) else sympy.false
        return rel(a, b, evaluate=False)

    return make


for _name, _rel in (("lt", sympy.Lt), ("le", sympy.Le), ("gt", sympy.Gt), ("ge", sympy.Ge), ("eq", sympy.Eq),
                    ("ne", sympy.Ne)):
    meaning(getattr(aten, _name), prim(_name))(arithmetic(relation(_rel)))


meaning(aten.maximum, prim("maximum"), aten.fmax)(binary(sympy.Max))
meaning(aten.minimum, prim("minimum"), aten.fmin)(binary(sympy.Min))


@meaning(aten.clamp)
def clamp(x, min=None, max=None):
    """min(max(x, min), max): as torch, the lower bound first, so max wins where min > max"""
    y = exprs(x)
    if min is not None:
        y = ufunc(sympy.Max, 2)(y, exprs(min))
    if max is not None:
        y = ufunc(sympy.Min, 2)(y, exprs(max))
    return y


meaning(aten.clamp_min, doc="max(x, min)")(lambda x, min: clamp(x, min=min))
meaning(aten.clamp_max, doc="min(x, max)")(lambda x, max: clamp(x, max=max))


def _pick(c, a, b):
    if c is sympy.true:
        return a
    if c is sympy.false:
        return b
    return sympy.Piecewise((a, c), (b, True))


@meaning(aten.where, prim("where"))
def where(condition, x=None, y=None):
    """x where `condition` holds, else y, entry by entry"""
    if x is None:
        raise TypeError("torch.where(condition) with one argument has a data-dependent shape")
    return ufunc(_pick, 3)(exprs(condition), exprs(x), exprs(y))


@meaning(aten.masked_fill)
def masked_fill(x, mask, value):
    """`value` where `mask` holds, else x"""
    return ufunc(_pick, 3)(exprs(mask), exprs(value), exprs(x))


# -- dtype conversion --------------------------------------------------------------------------
def _as_bool(e):
    if isinstance(e, sympy.logic.boolalg.Boolean):
        return e
    return sympy.true if (e.is_number and e != 0) else sympy.false if e.is_number else sympy.Ne(e, 0)


def _from_bool(e):
    if not isinstance(e, sympy.logic.boolalg.Boolean):
        return e
    return sympy.S.One if e is sympy.true else sympy.S.Zero if e is sympy.false else \
        sympy.Piecewise((1, e), (0, True))


def convert(values: np.ndarray, source: torch.dtype, target: torch.dtype) -> np.ndarray:
    """Entries of `source` dtype as `target` would hold them (exactly: float rounding is not modelled)."""
    if target == torch.bool:
        return ufunc(_as_bool, 1)(values)
    values = ufunc(_from_bool, 1)(values) if source == torch.bool else values
    if source.is_complex and not target.is_complex:  # torch keeps the real part (and warns)
        values = ufunc(lambda e: sympy.re(e) if not e.is_extended_real else e, 1)(values)
    if not target.is_floating_point and not target.is_complex and (source.is_floating_point or source.is_complex):
        return ufunc(trunc, 1)(values)
    return values


@meaning(aten._to_copy)
def to_copy(x, *, dtype=None, **_):
    """x in `dtype`: to bool x != 0, to an integer dtype truncated, from complex to real its real part
    (float rounding not modelled)"""
    source = x.dtype if isinstance(x, torch.Tensor) else torch.float64
    return convert(exprs(x).copy(), source, dtype or source)


@meaning(prim("convert_element_type"))
def convert_element_type(x, dtype):
    """x in `dtype`, as `_to_copy` converts it"""
    return convert(exprs(x).copy(), x.dtype, dtype)


meaning(aten.clone, aten.contiguous, aten.lift_fresh_copy, prim("clone"), doc="a copy of x")(
    lambda x, **_: exprs(x).copy())


@meaning(aten.copy)
def copy(x, src, non_blocking=False):
    """src converted to x's dtype (as `_to_copy`) and broadcast to x's shape"""
    values = convert(exprs(src), src.dtype if isinstance(src, torch.Tensor) else torch.float64, x.dtype)
    return np.broadcast_to(values, x.shape).copy()


# -- activations whose decompositions would round the op's own constants ------------------------
@meaning(aten.gelu)
def gelu(x, *, approximate="none"):
    """x * Phi(x) = x (1 + erf(x / sqrt 2)) / 2; with approximate='tanh', torch's tanh formula"""
    if approximate == "tanh":
        c = sympy.sqrt(2 / sympy.pi)
        return ufunc(lambda v: v * (1 + sympy.tanh(c * (v + sympy.Rational(44715, 1000000) * v**3))) / 2, 1)(
            exprs(x))
    return ufunc(lambda v: v * (1 + sympy.erf(v / sympy.sqrt(2))) / 2, 1)(exprs(x))


@meaning(aten.log_sigmoid_forward)
def log_sigmoid_forward(x):
    """-log(1 + exp(-x)) (and torch's buffer, which only its backward reads)"""
    values = ufunc(lambda v: -sympy.log(1 + sympy.exp(-v)), 1)(exprs(x))
    return values, np.zeros(values.shape, dtype=object)


@meaning(aten.hardtanh)
def hardtanh(x, min_val=-1, max_val=1):
    """min(max(x, min_val), max_val)"""
    lo, hi = exprs(min_val)[()], exprs(max_val)[()]
    return ufunc(lambda v: sympy.Min(sympy.Max(v, lo), hi), 1)(exprs(x))


@meaning(aten.round.decimals)
def round_decimals(x, *, decimals=0):
    """round(x * 10**decimals) / 10**decimals, ties to even"""
    scale = sympy.Integer(10) ** int(decimals)
    return ufunc(lambda v: round_(v * scale) / scale, 1)(exprs(x))
