"""Several variables (or several outputs): a site's local function near a point, as its active pieces.

Each switch on its boundary at the point (a tie in a Max, an Abs of 0, a
Piecewise whose relation holds with equality) may go either way just beside
it, so each of its branches is a piece of the function there; an op that
decides branches inside itself (a sort's comparisons) is run again with each
tie decided either way. Each piece is smooth around the point, so it has a
gradient and a Hessian there: those are the one-sided derivatives. Where the
function is convex by construction (a Max of affine or convex pieces, a sum
of such, an Abs of an affine function: `_curvature`) rule 2 takes the point
of least norm of their convex hull, the subdifferential, and likewise rule 3
for a concave one; otherwise rule 4 allows any of them. A root whose base is
0 is the edge of its domain, not a kink: `compare.exact.continuity` takes its
derivatives by continuity.
"""
from __future__ import annotations

import itertools

import sympy
from sympy.core.relational import Relational

from ..symbolic.elementwise import Step
from ..symbolic.switches import at_boundary, is_switch, switches
from .numbers import ANYTHING, derivative_at, finite, same, sign_of, value_at
from .record import RULES, LocalRule, distinct, hull_min_norm, set_text

__all__ = ["several_variables", "decision_pieces", "gradient_of", "hessian_of", "CAP"]

CAP = 64
"""Most pieces (or combinations of pieces) enumerated at one point; the page says when there were more."""

_TINY = sympy.Rational(1, 2**100)


def _near(cond, point) -> str:
    """Whether a condition holds just around the point: "T" (on a neighbourhood), "F", or "B" (both occur)."""
    if cond is sympy.true or cond is sympy.false:
        return "T" if cond is sympy.true else "F"
    if isinstance(cond, Relational):
        k = sign_of(value_at(cond.lhs - cond.rhs, point))
        if k is None:
            return "B"
        if k != 0:
            return "T" if {"<": k < 0, "<=": k < 0, ">": k > 0, ">=": k > 0, "==": False, "!=": True}[cond.rel_op] \
                else "F"
        return {"==": "F", "!=": "T"}.get(cond.rel_op, "B")
    parts = [_near(c, point) for c in cond.args]
    if isinstance(cond, sympy.Not):
        return {"T": "F", "F": "T", "B": "B"}[parts[0]]
    if isinstance(cond, sympy.And):
        return "F" if "F" in parts else "T" if all(p == "T" for p in parts) else "B"
    if isinstance(cond, sympy.Or):
        return "T" if "T" in parts else "F" if all(p == "F" for p in parts) else "B"
    return "T" if bool(value_at(cond, point)) else "F"


class _Branches:
    """The smooth pieces of an expression active at a point (each switch on its boundary both ways)."""

    def __init__(self, point: dict, among: set):
        self.point, self.among, self.memo = point, among, {}

    def __call__(self, e) -> list:
        if not getattr(e, "args", ()) or not (e.free_symbols & self.among):
            return [e]
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = distinct(self._branches(e))[:CAP]
        return found

    def _value(self, e):
        return value_at(e, self.point)

    def _branches(self, e) -> list:
        if isinstance(e, sympy.Piecewise):
            out = []
            for expr, cond in e.args:
                near = _near(cond, self.point)
                if near != "F":
                    out += self(expr)
                if near == "T":
                    break
            return out
        children = [self(a) for a in e.args]
        if isinstance(e, (sympy.Max, sympy.Min)):
            values = [self._value(a) for a in e.args]
            best = values[0]
            for v in values[1:]:
                if sign_of(v - best) * (1 if isinstance(e, sympy.Max) else -1) > 0:
                    best = v
            return [p for c, v in zip(children, values) if same(v, best) for p in c]
        if isinstance(e, sympy.Abs):
            k = sign_of(self._value(e.args[0]))
            return [s * p for s in ((1,) if k > 0 else (-1,) if k < 0 else (1, -1)) for p in children[0]]
        if isinstance(e, (Step, sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside)) and is_switch(e):
            at = self._value(e.args[0])
            if not at_boundary(e, self._value):
                return [e.func(at)]
            return [e.func(at - _TINY), e.func(at + _TINY)]
        return [e.func(*combo) for combo in itertools.islice(itertools.product(*children), CAP)]


def _curvature(e, among: set) -> int | None:
    """+1 where `e` is convex by construction, -1 concave, 0 affine, None where that is not seen."""
    own = e.free_symbols & among
    if not own:
        return 0
    if e.is_polynomial(*own) and sympy.Poly(e, *own).total_degree() <= 1:
        return 0
    if e.is_Add:
        signs = {_curvature(a, among) for a in e.args}
        if None in signs or {1, -1} <= signs:
            return None
        return 1 if 1 in signs else -1 if -1 in signs else 0
    if e.is_Mul:
        varying = [a for a in e.args if a.free_symbols & among]
        constant = sympy.Mul(*(a for a in e.args if not a.free_symbols & among))
        k = sign_of(constant)
        inner = _curvature(varying[0], among) if len(varying) == 1 else None
        return None if inner is None or not k else inner * k
    if isinstance(e, (sympy.Max, sympy.Min)):
        want = 1 if isinstance(e, sympy.Max) else -1
        return want if all(_curvature(a, among) in (0, want) for a in e.args) else None
    if isinstance(e, sympy.Abs):
        return 1 if _curvature(e.args[0], among) == 0 else None
    if e.is_Pow and e.exp.is_even and e.exp > 0:
        return 1 if _curvature(e.base, among) == 0 else None
    return None


def _settled(e, point: dict, among: set):
    """`e` with every switch that is off its boundary at the point replaced by its active branch."""
    def settle(node):
        if not (node.free_symbols & among) or not is_switch(node) or at_boundary(node, lambda x: value_at(x, point)):
            return node
        found = _Branches(point, among)(node)
        return found[0] if len(found) == 1 else node
    return e.replace(lambda n: is_switch(n) and bool(n.free_symbols & among), settle)


def gradient_of(g, symbols, point) -> tuple:
    """The gradient of a smooth piece at the point (by continuity where its formula is 0/0; any value
    where even that is undefined)."""
    out = []
    for s in symbols:
        d = derivative_at(g, s, point)
        out.append(d if d is not sympy.nan and d is not sympy.zoo else ANYTHING)
    return tuple(out)


def hessian_of(g, symbols, point) -> tuple:
    """The Hessian of a smooth piece at the point (as `gradient_of`, entry by entry)."""
    return tuple(gradient_of(sympy.diff(g, s), symbols, point) for s in symbols)


def _output(f, symbols, point) -> tuple | None:
    """(rule, allowed gradients, allowed Hessians, why) for one output entry; None where it is smooth."""
    among = set(symbols)
    value = value_at(f, point)
    if not finite(value):
        return 5, [tuple(ANYTHING for _ in symbols)], [tuple((ANYTHING,) * len(symbols) for _ in symbols)], \
            "not defined here"
    edges = [w for w in switches(f, among) if at_boundary(w, lambda x: value_at(x, point))]
    if not any(not isinstance(w, sympy.Pow) for w in edges):
        return None  # smooth, or at the edge of a root's domain (a derivative by continuity)
    pieces = _Branches(point, among)(f)
    grads = distinct(gradient_of(g, symbols, point) for g in pieces)
    hessians = distinct(hessian_of(g, symbols, point) for g in pieces)
    continuous = all(same(value_at(g, point), value) for g in pieces)
    if continuous and len(grads) == 1 and len(hessians) == 1:
        return None
    curvature = _curvature(_settled(f, point, among), among) if continuous and len(grads) > 1 else None
    if curvature in (1, -1) and all(finite(x) for g in grads for x in g):
        rule, allowed = (2 if curvature == 1 else 3), [hull_min_norm(grads)]
        why = "convex there" if curvature == 1 else "concave there"
    elif len(grads) == 1 and continuous:
        rule, allowed, why = 1, grads, "differentiable"
    else:
        rule, allowed = 4, grads
        why = ("neither convex nor concave there" if continuous else "not continuous there") + \
            f" (its pieces' gradients {set_text(grads)})"
    return rule, allowed, hessians, why


def several_variables(op: str, site, values: tuple, where: str, context: dict) -> LocalRule | None:
    """PyTorch's general rules for a site of several variables or outputs; None where it is smooth."""
    point = {**context, **dict(zip(site.symbols, values))}
    if site.decisions:
        return _decided(op, site, point, where)
    found = [_output(f, site.symbols, point) for f in site.outputs]
    if all(r is None for r in found):
        return None
    firsts, seconds, texts = [], [], []
    for f, r in zip(site.outputs, found):
        if r is None:
            firsts.append([gradient_of(f, site.symbols, point)])
            seconds.append([hessian_of(f, site.symbols, point)])
        else:
            rule, allowed, hessians, why = r
            firsts.append(allowed)
            seconds.append(hessians)
            texts.append(f"{why}, so {RULES[rule]}: {set_text(allowed)}")
    kink_first = any(r is not None and r[0] != 1 for r in found)
    return LocalRule(text=f"{where}: " + " and ".join(dict.fromkeys(texts)),
                     first=tuple(itertools.islice(itertools.product(*firsts), CAP)),
                     second=tuple(itertools.islice(itertools.product(*seconds), CAP)),
                     kink_first=kink_first, kink_second=kink_first or any(len(s) > 1 for s in seconds))


def decision_pieces(site, point: dict) -> list[tuple]:
    """The site's outputs for every way its op's ties may be decided (a tie is a branch whose relation
    holds with equality at the point), depth first, at most CAP of them."""
    results, stack = [], [()]
    while stack and len(results) < CAP:
        prefix = stack.pop()
        made: list = []

        def decide(cond, prefix=prefix, made=made):
            near = _near(cond, point)
            if near != "B":
                return near == "T"
            choice = prefix[len(made)] if len(made) < len(prefix) else True
            made.append(choice)
            return choice

        results.append(site.pieces(decide))
        stack.extend(tuple(made[:k]) + (not made[k],) for k in range(len(made) - 1, len(prefix) - 1, -1))
    return distinct(results)


def _decided(op: str, site, point: dict, where: str) -> LocalRule | None:
    """An op that decides branches inside itself: each way its ties may go is a piece (rule 4)."""
    pieces = decision_pieces(site, point)
    firsts = distinct(tuple(gradient_of(f, site.symbols, point) for f in p) for p in pieces)
    seconds = distinct(tuple(hessian_of(f, site.symbols, point) for f in p) for p in pieces)
    if len(firsts) == 1 and len(seconds) == 1:
        return None
    return LocalRule(text=f"{where}: its ties may be decided either way, so {RULES[4]}: "
                          f"{set_text([_flat(j) for j in firsts])}",
                     first=tuple(firsts), second=tuple(seconds), kink_first=True, kink_second=True)


def _flat(jacobian: tuple) -> tuple:
    return jacobian[0] if len(jacobian) == 1 else tuple(x for row in jacobian for x in row)
