"""Exact values by continuity, where a derivative's formula is 0/0 or 0·∞ but the function is smooth.

SymPy's derivative of `a**b` in `a` is `b*a**b/a`: at `a = 0`, `b = 2` it is
0/0, though `a**2` has derivative 0 there. A formula that is undefined only
at isolated points (a removable singularity) has a limit there, and for a
function continuous at the point that limit is the derivative (mean value
theorem: if f is continuous at p and f'(t) -> L as t -> p, then f'(p) = L).

    value(expr, point)     -> the exact value of `expr` at `point`, or its limit, or None
    derivative(formula, function, point)
                           -> a derivative's value where its formula is undefined, or None
    extension(expr, point) -> `expr` as it is near `point`, off the equalities that hold there
    zero_powers(expr, point) -> `expr` with each `0**e`, e > 0 at `point`, replaced by 0

How the limit is taken: the symbols that can be substituted without making
the expression undefined are substituted first (the others held on a line
or plane through the point), then the remaining ("singular") ones go to
their values one at a time by SymPy's two-sided `limit`. With more than one
singular symbol the iterated limits are taken in every order and must agree
(at most `MOST_SINGULAR` of them; more are left undefined): the gradient of
a norm at the zero vector, whose entries tend to 0 in some orders and have no
limit in others, is so left undefined, as it must be. Agreeing iterated
limits are strong evidence of a limit, not a proof of one. A pole (an
infinite limit), a jump (one-sided limits that differ) or a limit SymPy
cannot decide gives None: the caller's rules for undefined values apply.

`torch.where(x == 0, 1, sin(pi*x)/(pi*x))` (PyTorch's own `sinc`) makes
`Piecewise((1, Eq(x, 0)), (sin(pi*x)/(pi*x), True))`: at x = 0 the branch of
measure zero is a constant, whose derivatives are all 0, while the function
(continuous there, since the other branch tends to 1) has the other branch's
derivatives, taken by continuity: `extension` gives the expression that holds
near the point, off its equalities.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import sympy

from . import differentiate

from .evaluate import evaluate
from .sym import as_expr, release, to_float, truth

__all__ = ["value", "derivative", "extension", "zero_powers", "at_point", "Derivatives", "Continued", "same", "MOST_SINGULAR", "LARGEST"]

MOST_SINGULAR = 3
"""Most singular symbols whose iterated limits are taken (in every order: 3! = 6 of them)."""

LARGEST = 400
"""Largest expression (SymPy operations) whose limit is attempted: `limit` can take long."""


def _defined(e: sympy.Basic) -> bool:
    return not e.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


def _finite_number(e: sympy.Basic) -> bool:
    if not (e.is_number and _defined(e)):
        return False
    n = e.evalf(30)
    return n.is_finite is True and n.is_real is True


def value(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Rational]) -> sympy.Expr | None:
    """The exact value of `expr` at `point` by continuity: its limit there, or None (module docstring)."""
    expr = release(as_expr(expr))
    direct = expr.xreplace(point)
    if _finite_number(direct):
        return direct
    return _limit(expr, point)[1]


def _limit(expr: sympy.Basic, point) -> tuple[list, sympy.Expr | None]:
    """(the singular symbols, the limit of `expr` at `point`, or None)."""
    if sympy.count_ops(expr) > LARGEST:
        return [], None
    symbols = sorted(expr.free_symbols & set(point), key=sympy.default_sort_key)
    singular = [s for s in symbols if not _defined(expr.xreplace({s: point[s]}))]
    if not singular or len(singular) > MOST_SINGULAR:
        return singular, None
    return singular, _every_order(expr, singular, point)


def _every_order(expr: sympy.Basic, singular: list, point) -> sympy.Expr | None:
    """The iterated limit over `singular` (the other symbols substituted), if every order agrees."""
    restricted = expr.xreplace({s: point[s] for s in expr.free_symbols & set(point) if s not in singular})
    found = None
    for order in itertools.permutations([s for s in singular if s in expr.free_symbols]):
        limit = _iterated(restricted, order, point)
        if limit is None or (found is not None and not same(limit, found)):
            return None
        found = found if found is not None else limit
    return found if found is not None else value(restricted, point)


def derivative(formula: sympy.Basic, function: sympy.Basic,
               point: Mapping[sympy.Symbol, sympy.Rational]) -> sympy.Expr | None:
    """The value at `point` of `formula`, a derivative of `function`, where the formula is undefined.

    Its limit, provided `function` is continuous there along the formula's
    singular symbols (it tends to its own value, itself taken by continuity
    when undefined: a gradient entry, for a second derivative); None
    otherwise: a pole, a jump, a function not continuous at the point. The
    caller checks that the output itself is defined there: `sin(x)/x` at 0,
    as torch computes it, is 0/0 and has no derivative to take.
    """
    formula, function = release(as_expr(formula)), release(as_expr(function))
    singular, limit = _limit(formula, point)
    if limit is None:
        return None
    at = value(function, point)
    if at is None:
        return None
    along = _every_order(function, singular, point)
    return limit if along is not None and same(along, at) else None


def _iterated(expr: sympy.Basic, order, point) -> sympy.Expr | None:
    e = expr
    try:
        for s in order:
            e = sympy.limit(e, s, point[s], "+-")
            if isinstance(e, sympy.Limit) or e.has(sympy.Limit) or not _defined(e):
                return None
    except (ValueError, NotImplementedError, TypeError, ZeroDivisionError, RecursionError,
            sympy.PoleError):  # no limit ("left hand limit = -1 and right hand limit = 1"), or undecided
        return None
    return e if _finite_number(e) else None


def same(a: sympy.Basic, b: sympy.Basic) -> bool:
    """Whether two exact numbers are equal (to 50 significant digits where not rational)."""
    if a.is_Rational and b.is_Rational:
        return a == b
    d = (a - b).evalf(50)
    scale = max(abs(a.evalf(50)), abs(b.evalf(50)), 1)
    return bool(d.is_number and abs(d) <= scale * sympy.Float(10) ** -45)


def extension(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Rational]) -> sympy.Basic:
    """`expr` as it is near `point`, off the equalities that hold there, when that is continuous.

    An equality condition (`Eq(x, 0)`, from `torch.where(x == 0, ...)`) that
    holds at the point is false at every point near it off a set of measure
    zero (and an `Ne` that fails there is true). With those conditions so
    decided, the expression is the function near the point; where its limit
    at the point is the function's value there, the function is continuous
    and its derivatives are that expression's, by continuity. Otherwise (a
    jump: the branch of measure zero is not what the rest tends to) `expr`
    is returned unchanged. Caveat: the equality's set is a point for one
    input (x == 0) but a hyperplane for more; along it, the function is
    taken to continue the other branch as well, which is checked only at the
    point itself.
    """
    expr = as_expr(expr)
    near = {q: sympy.false for q in expr.atoms(sympy.Eq) if truth(q, point)}
    near.update({q: sympy.true for q in expr.atoms(sympy.Ne) if not truth(q, point)})
    if not near:
        return expr
    off = zero_powers(expr.xreplace(near), point)
    at, limit = value(expr, point), value(off, point)
    return off if at is not None and limit is not None and same(at, limit) else expr


def zero_powers(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Rational]) -> sympy.Basic:
    """`expr` with each `0**e` whose exponent is positive at `point` replaced by 0.

    Such a power is 0 on a whole neighbourhood of the point (e is continuous),
    so its derivative there is 0; SymPy differentiates `0**e` as `0**e*log(0)`,
    which is undefined (`0**x` for x > 0; `torch.zeros_like(x) ** x`).
    """
    found = {p: sympy.S.Zero for p in expr.atoms(sympy.Pow)
             if p.base.is_zero and p.exp.free_symbols and truth(sympy.StrictGreaterThan(p.exp, 0), point)}
    return expr.xreplace(found) if found else expr


@dataclass(frozen=True)
class Continued:
    """The exact derivatives at one point, with the entries taken by continuity replaced."""

    gradient: dict[str, np.ndarray]
    """d out.sum() / d input, rounded to float64."""
    jacobian: dict[str, np.ndarray] | None
    """d out[i] / d input[j] where the piece has a Jacobian; None otherwise."""
    hessian: np.ndarray | None
    """The full Hessian where the piece has one; None otherwise."""
    entries: tuple[str, ...]
    """What was taken by continuity: "gradient a", "Jacobian out[0] x[1]", "Hessian [0, 1]"."""
    equality: bool
    """Whether the output was replaced by what it is near the point: an equality holding there
    (an `==` branch of measure zero) set aside, or a `0**e` that is 0 all around it."""


def _label(name: str, idx: tuple) -> str:
    return f"{name}{list(idx)}" if idx else name


@dataclass(frozen=True)
class Derivatives:
    """A gradient (input name -> array), a Jacobian or None, a Hessian or None: as formulas or values."""

    gradient: dict
    jacobian: dict | None = None
    hessian: np.ndarray | None = None


def at_point(output: np.ndarray, formulas: Derivatives, values: Derivatives, symbols: Mapping[str, np.ndarray],
             point: Mapping) -> Continued | None:
    """The derivatives at `point` by continuity where their formulas fail, or None where none does.

    `values` are the `formulas`' own values there (NaN where undefined); a
    Hessian is continued when `formulas` has one. Where an equality branch holds at the
    point and `extension` replaces it, or a `0**e` is 0 all around it
    (`zero_powers`), every derivative is taken anew from the output as it is
    near the point; otherwise only the undefined entries are.
    """
    gradient, jacobian, hessian = formulas.gradient, formulas.jacobian, formulas.hessian
    values, jacobian_values, hessian_values = values.gradient, values.jacobian, values.hessian
    extended = np.vectorize(lambda e: zero_powers(extension(e, point), point), otypes=[object])(output)
    equality = any(e != o for e, o in zip(extended.flat, output.flat))
    if equality:
        gradient = differentiate.gradient(extended, symbols)
        jacobian = differentiate.jacobian(extended, symbols) if jacobian is not None else None
        hessian = differentiate.hessian(gradient, symbols) if hessian is not None else None
        values = {n: evaluate(g, point) for n, g in gradient.items()}
        jacobian_values = {n: evaluate(j, point) for n, j in jacobian.items()} if jacobian is not None else None
        hessian_values = evaluate(hessian, point) if hessian is not None else None
    total = sympy.Add(*extended.flat)
    entries: list[str] = []

    def fill(got: np.ndarray, formulas: np.ndarray, function_of, label_of) -> np.ndarray:
        got = np.array(got, dtype=np.float64, copy=True)
        for idx in zip(*np.nonzero(~np.isfinite(got))) if got.ndim else ([()] if not np.isfinite(got) else []):
            idx = tuple(int(i) for i in idx)
            found = derivative(formulas[idx], function_of(idx), point)
            if found is not None:
                got[idx] = to_float(found)
                entries.append(label_of(idx))
        return got

    values = {n: fill(values[n], g, lambda idx: total, lambda idx, n=n: f"gradient {_label(n, idx)}")
              for n, g in gradient.items()}
    if jacobian is not None:
        out_ndim = extended.ndim
        jacobian_values = {n: fill(jacobian_values[n], j, lambda idx: extended[idx[:out_ndim]],
                                   lambda idx, n=n: f"Jacobian out{list(idx[:out_ndim])} {_label(n, idx[out_ndim:])}")
                           for n, j in jacobian.items()}
    if hessian is not None:
        flat = [g for name in symbols for g in gradient[name].flat]
        hessian_values = fill(hessian_values, hessian, lambda idx: flat[idx[0]], lambda idx: f"Hessian {list(idx)}")
    if not entries and not equality:
        return None
    return Continued(gradient=values, jacobian=jacobian_values, hessian=hessian_values, entries=tuple(entries),
                     equality=equality)
