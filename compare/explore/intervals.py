"""Exact regions of the real line, and a fast solver for one-variable conditions.

A region is a sorted tuple of disjoint `Interval`s with exact SymPy
endpoints (rationals, algebraic roots, or infinities). `solve` handles
conditions that are piecewise rational in the variable: polynomials and
quotients of them, with `Abs`, `sign` and `Heaviside` of the variable
itself. On each side of 0 those are polynomials again, so the condition's
truth can only change at a real root of a numerator or denominator; it is
decided exactly at every such root and at one point between each pair.
Anything else returns None and the caller falls back to SymPy's solver.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy

from ..exact.sym import as_expr, exact, release, truth

__all__ = ["Interval", "solve", "intersect", "contains", "inside", "mass", "gauss_mass", "as_relational", "from_set"]

oo = sympy.oo


@dataclass(frozen=True)
class Interval:
    lo: sympy.Expr
    hi: sympy.Expr
    lo_closed: bool
    hi_closed: bool


def _truth(condition, s, value) -> bool:
    try:
        return truth(condition, {s: value})
    except (TypeError, ZeroDivisionError):  # an undefined value: the condition does not hold
        return False


_HALF_LINE = {  # what Abs, sign and Heaviside of the variable become on each side of 0
    -1: lambda s: {sympy.Abs(s): -s, sympy.sign(s): sympy.S.NegativeOne, sympy.Heaviside(s): sympy.S.Zero},
    +1: lambda s: {sympy.Abs(s): s, sympy.sign(s): sympy.S.One, sympy.Heaviside(s): sympy.S.One},
}


def _critical_points(condition, s) -> list | None:
    """Where the truth of `condition` can change, or None if it is not piecewise rational in `s`."""
    if isinstance(condition, (sympy.And, sympy.Or, sympy.Not)):
        points = []
        for arg in condition.args:
            sub = _critical_points(arg, s)
            if sub is None:
                return None
            points += sub
        return points
    if not isinstance(condition, sympy.Rel):
        return None
    roots = _roots(condition.lhs - condition.rhs, s)
    return None if roots is None else list(roots)


@functools.lru_cache(maxsize=4096)
def _roots(g, s) -> tuple | None:
    """Real roots of the numerators and denominators of `g` on each side of 0 (and 0 if it splits)."""
    split = g.has(sympy.Abs, sympy.sign, sympy.Heaviside)
    points = [sympy.Integer(0)] if split else []
    for side in ((-1, +1) if split else (0,)):
        h = as_expr(g.xreplace(_HALF_LINE[side](s)) if split else g)
        if h.has(sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Max, sympy.Min, sympy.Piecewise):
            return None
        root = _linear_root(h, s)
        if root is not None:  # a loop's test is often this: its root without building a polynomial
            points += [root] if side == 0 or (root > 0 if side > 0 else root < 0) else []
            continue
        num, den = sympy.together(h).as_numer_denom()
        for part in (num, den):
            if not part.has(s):
                continue
            try:
                poly = sympy.Poly(part, s)
            except sympy.PolynomialError:
                return None
            if not all(c.is_Rational for c in poly.coeffs()):
                return None
            points += [r for r in poly.real_roots() if side == 0 or (r > 0 if side > 0 else r < 0)]
    return tuple(points)


def _linear_root(h, s) -> sympy.Rational | None:
    """The root of `h` where it is c0 + c1*s with rational c0 and c1 != 0; None for any other form."""
    terms = h.as_coefficients_dict()
    if s not in terms or set(terms) - {s, sympy.S.One}:
        return None
    c1, c0 = sympy.sympify(terms[s]), sympy.sympify(terms.get(sympy.S.One, 0))
    if not (c1.is_Rational and c0.is_Rational) or c1 == 0:
        return None
    return -c0 / c1


def solve(condition, s: sympy.Symbol) -> tuple[Interval, ...] | None:
    """The exact region where `condition` holds, or None when it is outside this solver's reach."""
    condition = release(condition)
    if condition is sympy.true:
        return (Interval(-oo, oo, False, False),)
    if condition is sympy.false:
        return ()
    if condition.free_symbols - {s}:
        return None
    points = _critical_points(condition, s)
    if points is None:
        return None
    points = sorted(set(points), key=lambda r: float(r))
    # Test points: each critical point, one between each pair, one beyond each end.
    if points:
        lo, hi = float(points[0]), float(points[-1])
        gaps = [exact(lo - 1 - abs(lo))]
        gaps += [_between(a, b) for a, b in zip(points, points[1:])]
        gaps += [exact(hi + 1 + abs(hi))]
    else:
        gaps = [sympy.Integer(0)]
    bounds = [-oo] + points + [oo]
    # The line as cells: gap, point, gap, point, ..., gap; each cell holds or not throughout.
    cells = []
    for i, gap in enumerate(gaps):
        cells.append((bounds[i], bounds[i + 1], False, _truth(condition, s, gap)))
        if i < len(points):
            cells.append((points[i], points[i], True, _truth(condition, s, points[i])))
    region: list[Interval] = []
    current = None
    for lo, hi, is_point, holds in cells:
        if not holds:
            if current is not None:
                region.append(current)
            current = None
        elif current is None:
            current = Interval(lo, hi, is_point, is_point)
        else:
            current = Interval(current.lo, hi, current.lo_closed, is_point)
    if current is not None:
        region.append(current)
    return tuple(region)


def _between(a, b):
    """A rational strictly between two distinct real numbers."""
    mid = exact((float(a) + float(b)) / 2)
    if not (a < mid < b):  # floats too coarse here
        mid = (sympy.Rational(a.evalf(60)) + sympy.Rational(b.evalf(60))) / 2
    return mid


def intersect(a, b) -> tuple[Interval, ...]:
    out = []
    for x in a:
        for y in b:
            lo, lo_closed = _later_start(x, y)
            hi, hi_closed = _earlier_end(x, y)
            if lo < hi or (lo == hi and lo_closed and hi_closed):
                out.append(Interval(lo, hi, lo_closed, hi_closed))
    return tuple(sorted(out, key=lambda i: (float(i.lo), float(i.hi))))


def _later_start(x: Interval, y: Interval):
    if x.lo == y.lo:
        return x.lo, x.lo_closed and y.lo_closed
    return (x.lo, x.lo_closed) if x.lo > y.lo else (y.lo, y.lo_closed)


def _earlier_end(x: Interval, y: Interval):
    if x.hi == y.hi:
        return x.hi, x.hi_closed and y.hi_closed
    return (x.hi, x.hi_closed) if x.hi < y.hi else (y.hi, y.hi_closed)


def contains(region, value) -> bool:
    """Is the exact number `value` in the region?"""
    for i in region:
        if (i.lo < value or (i.lo_closed and i.lo == value)) and (value < i.hi or (i.hi_closed and i.hi == value)):
            return True
    return False


def inside(interval: Interval, s: sympy.Symbol) -> dict:
    """A rational point strictly inside an interval, far from its ends relative to their size."""
    lo, hi = interval.lo, interval.hi
    if lo == hi:
        value = lo
    elif lo.is_finite and hi.is_finite:
        value = _between(lo, hi)
    elif lo.is_finite:  # [lo, oo): as far in again as lo is from 0, and at least 1
        value = lo + sympy.Max(1, abs(lo))
    elif hi.is_finite:
        value = hi - sympy.Max(1, abs(hi))
    else:
        value = sympy.Integer(0)
    if not value.is_Rational:
        value = sympy.Rational(value.evalf(30))
    return {s: value}


def mass(region) -> float:
    """Probability of the region under a standard normal."""
    return sum(gauss_mass(float(i.lo), float(i.hi)) for i in region)


_REAL = sympy.Symbol("x", real=True).assumptions0


def as_relational(region, s: sympy.Symbol) -> sympy.Basic:
    """The region as relations in `s`: `(250 <= a) & (a < 500)`."""
    # Of a finite real number and a symbol known only to be real, no relation decides itself:
    # SymPy's evaluation (an assumptions query per bound) would hand back the same relation.
    kw = {"evaluate": False} if s.assumptions0 == _REAL else {}
    parts = []
    for i in region:
        if i.lo == i.hi:
            parts.append(sympy.Eq(s, i.lo, **kw))
            continue
        conds = []
        if i.lo is not -oo:
            conds.append(sympy.Le(i.lo, s, **kw) if i.lo_closed else sympy.Lt(i.lo, s, **kw))
        if i.hi is not oo:
            conds.append(sympy.Le(s, i.hi, **kw) if i.hi_closed else sympy.Lt(s, i.hi, **kw))
        parts.append(sympy.And(*conds))
    return sympy.Or(*parts)


def from_set(solved: sympy.Set) -> tuple[Interval, ...]:
    """A SymPy set (from SymPy's own solver) as a region."""
    parts = solved.args if isinstance(solved, sympy.Union) else (solved,)
    out = []
    for part in parts:
        if part is sympy.S.EmptySet:
            continue
        if isinstance(part, sympy.FiniteSet):
            out += [Interval(p, p, True, True) for p in part.args]
        elif isinstance(part, sympy.Interval):
            out.append(Interval(part.start, part.end, not part.left_open, not part.right_open))
        else:
            raise NotImplementedError(f"not an interval: {part}")
    return tuple(sorted(out, key=lambda i: (float(i.lo), float(i.hi))))


def gauss_mass(lo: float, hi: float) -> float:
    """P(lo < Z < hi) for a standard normal Z, accurate for tiny and far-out intervals."""
    if hi <= lo:
        return 0.0
    r = math.sqrt(2.0)
    if lo >= 0:
        return 0.5 * (math.erfc(lo / r) - math.erfc(hi / r))
    if hi <= 0:
        return 0.5 * (math.erfc(-hi / r) - math.erfc(-lo / r))
    return 0.5 * (math.erf(hi / r) - math.erf(lo / r))
