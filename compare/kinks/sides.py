"""One variable: a site's local function f(s) near a point v, as the smooth piece on each side.

On each side of v every switch of f settles (a Max picks the argument that
is largest just there, a step its value just there, a Piecewise the branch
that holds just there), which leaves a smooth function g, or none where f is
not real on that side (sqrt left of 0). Which side of its boundary a switch's
expression e lies on is the sign of its first nonzero derivative at v, times
the side's sign to that order. From the two pieces: f's one-sided slopes
and each piece's curvature decide PyTorch's rule, and the slopes of g' do
the same one order up, for the second derivative.
"""
from __future__ import annotations

import sympy
from sympy.core.relational import Relational

from ..exact.sym import as_expr
from ..symbolic.elementwise import Step
from ..symbolic.switches import is_switch
from .numbers import ANYTHING, derivative_at, finite, numeric_sign, same, shown, sign_of, value_at
from .record import RULES, LocalRule, distinct, interval_min_norm, set_text

__all__ = ["one_variable"]

_TINY = sympy.Rational(1, 2**100)


class _Absent(Exception):
    """The function is not real on this side of the point."""


def side_sign(g: sympy.Expr, s: sympy.Symbol, v, side: int) -> int | None:
    """The sign of the smooth g on (v, v + side * eps) for small eps: from g(v), else from its first
    nonzero derivative at v (times side**order), else from 60 digits just beside v."""
    d = g
    for order in range(7):
        k = sign_of(value_at(d, {s: v}))
        if k is None:
            break
        if k != 0:
            return k * side ** order
        d = sympy.diff(d, s)
        if d == 0:
            return 0
    return numeric_sign(g, s, v + side * sympy.Rational(1, 2**40))


class _Side:
    """Settles every switch of an expression of `s` as it is just beside v on `side`."""

    def __init__(self, s, v, side: int):
        self.s, self.v, self.side, self.memo = s, v, side, {}

    def sign(self, e) -> int:
        k = side_sign(e, self.s, self.v, self.side)
        if k is None:
            raise _Absent()
        return k

    def __call__(self, e):
        if not getattr(e, "args", ()) or self.s not in e.free_symbols:
            return e
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self._settle(e)
        return found

    def _settle(self, e):
        if isinstance(e, sympy.Piecewise):
            for expr, cond in e.args:
                if self.holds(cond):
                    return self(expr)
            raise _Absent()
        args = [self(a) for a in e.args]
        if not is_switch(e):
            return e.func(*args)
        if isinstance(e, (sympy.Max, sympy.Min)):
            best = args[0]
            for a in args[1:]:
                if self.sign(a - best) * (1 if isinstance(e, sympy.Max) else -1) > 0:
                    best = a
            return best
        if isinstance(e, sympy.Abs):
            return args[0] if self.sign(args[0]) >= 0 else -args[0]
        if isinstance(e, sympy.sign):
            return sympy.Integer(self.sign(args[0]))
        if isinstance(e, sympy.Heaviside):
            k = self.sign(args[0])
            return sympy.Integer(k > 0) if k != 0 else e.func(*args)
        if isinstance(e, (Step, sympy.floor, sympy.ceiling)):
            return self._step(e, args[0])
        if isinstance(e, sympy.Pow):
            if sign_of(value_at(args[0], {self.s: self.v})) == 0 and self.sign(args[0]) < 0:
                raise _Absent()
            return e.func(*args)
        return e.func(*args)

    def _step(self, e, arg):
        """A step function's constant value just beside v."""
        at = value_at(arg, {self.s: self.v})
        k = self.sign(arg - at)
        return e.func(at + k * _TINY)

    def holds(self, cond) -> bool:
        if cond is sympy.true or cond is sympy.false:
            return cond is sympy.true
        if isinstance(cond, Relational):
            k = self.sign(self(cond.lhs) - self(cond.rhs))
            return {"<": k < 0, "<=": k <= 0, ">": k > 0, ">=": k >= 0, "==": k == 0, "!=": k != 0}[cond.rel_op]
        if isinstance(cond, sympy.And):
            return all(self.holds(c) for c in cond.args)
        if isinstance(cond, sympy.Or):
            return any(self.holds(c) for c in cond.args)
        if isinstance(cond, sympy.Not):
            return not self.holds(cond.args[0])
        return bool(value_at(cond, {self.s: self.v + self.side * _TINY}))


def _pieces(f, s, v) -> dict:
    """side -> the smooth piece of f just beside v on that side (sides where f is not real left out)."""
    found = {}
    for side in (-1, 1):
        try:
            found[side] = _Side(s, v, side)(f)
        except _Absent:
            continue
    return found


def _curvature(g, s, v, side: int) -> int | None:
    """The sign of g'' just beside v on `side` (0: g is affine there)."""
    return side_sign(sympy.diff(g, s, 2), s, v, side)


def _classify(value, pieces: dict, s, v, order: int) -> tuple[int | None, list, str]:
    """(rule, allowed values, why) for h = f (order 1) or f' (order 2), from its one-sided pieces.

    Rule None means h is differentiable at v (or, defined on one side only,
    has a finite derivative by continuity there): no kink at this order.
    """
    slopes = {k: derivative_at(g, s, {s: v}, k) for k, g in pieces.items()}
    if any(d is sympy.nan or d is sympy.zoo for d in slopes.values()):
        return 5, [], "its one-sided derivatives have no limit here"
    limits = {k: value_at(g, {s: v}) for k, g in pieces.items()}
    continuous = all(same(value, w) for w in limits.values())
    if len(pieces) == 1:
        (k, d), = slopes.items()
        if finite(d) and continuous:
            return None, [d], ""
        where = "right" if k > 0 else "left"
        return 4, [d], f"defined only on its {where}, where its derivative tends to {shown(d)}"
    left, right = slopes[-1], slopes[1]
    if continuous and same(left, right):
        return None, [left], ""
    curv = {k: _curvature(g, s, v, k) for k, g in pieces.items()}
    slopes_text = f"one-sided slopes {shown(left)} (left) and {shown(right)} (right)"
    rising = sign_of(as_expr(right) - left)
    if continuous and rising == 1 and all(c is not None and c >= 0 for c in curv.values()):
        return 2, [interval_min_norm(left, right)], f"convex there ({slopes_text})"
    if continuous and rising == -1 and all(c is not None and c <= 0 for c in curv.values()):
        return 3, [interval_min_norm(right, left)], f"concave there ({slopes_text})"
    shape = "neither convex nor concave there" if continuous else "not continuous there"
    if continuous and rising in (1, -1):
        # A kink whose sides curve against it (i1e' = 1/2 - |x| + 15/16 x² + ... at 0: slopes 1 | -1, each
        # side convex): not concave on any neighbourhood, but the kink alone is, and its generalized
        # gradient [-1, 1] is the super-gradients' set there: rule 3's (or 2's) least-norm value is as
        # much PyTorch's reading as rule 4's one-sided values, and a backward may give either.
        low, high = (left, right) if rising == 1 else (right, left)
        kind, rule = ("convex", 2) if rising == 1 else ("concave", 3)
        allowed = distinct([left, right, interval_min_norm(low, high)])
        if len(allowed) == 3:  # where the least-norm value is a side's, rule 4's text says it all
            return 4, allowed, f"{shape} ({slopes_text}), its kink alone {kind}: rule {rule}'s least-norm value too"
    return 4, distinct([left, right]), f"{shape} ({slopes_text})"


def one_variable(op: str, f: sympy.Expr, s: sympy.Symbol, v, where: str) -> LocalRule | None:
    """PyTorch's rules for a one-variable site f(s) at s = v; None where f is smooth at both orders."""
    value = value_at(f, {s: v})
    pieces = _pieces(f, s, v) if finite(value) else {}
    if not pieces:
        return _undefined(op, where)
    rule1, first, why1 = _classify(value, pieces, s, v, 1)
    if rule1 == 5:
        return _undefined(op, where)
    slopes = {k: sympy.diff(g, s) for k, g in pieces.items()}
    one_sided = rule1 is not None or len(pieces) == 1
    base = first[0] if rule1 is None else sympy.nan
    rule2, second, why2 = _classify(base, slopes, s, v, 2) if not one_sided else _jump(slopes, s, v)
    if rule1 is None and rule2 is None:
        return None
    text = f"{where}: " + (f"differentiable, derivative {shown(first[0])}" if rule1 is None else
                           f"{why1}, so {RULES[rule1]}: {set_text(first)}")
    if rule2 == 5:
        text += f", and its second derivative has no limit here, so {RULES[5]}"
    elif rule2 is not None:
        text += f", and its derivative is {why2}, so for the second derivative" if rule1 is None else \
            ", and for the second derivative"
        text += f" {RULES[rule2]}: {set_text(second)}"
    return LocalRule(text=text, first=tuple(((d,),) for d in first),
                     second=tuple((((d,),),) for d in second) if rule2 != 5 else ((((ANYTHING,),),),),
                     kink_first=rule1 is not None, kink_second=rule2 is not None)


def _jump(slopes: dict, s, v) -> tuple[int | None, list, str]:
    """The second derivative where the first is not continuous (or is defined on one side only): its
    one-sided values by continuity (rule 4), undefined where one has no limit."""
    seconds = [derivative_at(g, s, {s: v}, k) for k, g in slopes.items()]
    if any(d is sympy.nan or d is sympy.zoo for d in seconds):
        return 5, [], ""
    if len(slopes) == 1 and finite(seconds[0]) and finite(value_at(next(iter(slopes.values())), {s: v})):
        return None, seconds, ""
    return 4, distinct(seconds), "by continuity"


def _undefined(op: str, where: str) -> LocalRule:
    return LocalRule(text=f"{where}: not defined here, so {RULES[5]}", first=(((ANYTHING,),),),
                     second=((((ANYTHING,),),),), kink_first=True, kink_second=True)
