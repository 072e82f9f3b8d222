"""Switches: the nodes where an expression may stop being smooth.

A switch selects between smooth pieces by where some expression of its
arguments stands: `Max` and `Min` (which argument is the extreme one),
`Abs`, `sign` and `Heaviside` (the sign of their argument), a node that
says itself where it stops being smooth (`OwnBoundary`: an eigenvalue node,
where its eigenvalue repeats), a step function
(`floor`, `ceil`, `trunc`, `round`: whether the argument has crossed one of
the numbers where it jumps), `Piecewise` (whether each relation of its
conditions holds), a root (a power with a non-integer exponent, whose base
may reach 0, the edge of its domain) and `atan2` (undefined where both
arguments are 0). Off its boundary a switch is one smooth piece around the
point; on it, several pieces meet. This module says which nodes are
switches and whether a point lies on one's boundary; `compare.kinks`
decides what PyTorch's rules give there.
"""
from __future__ import annotations

from typing import Callable

import sympy
from sympy.core.relational import Relational

from ..exact.sym import as_expr
from .elementwise import Step, ceil, floor, round_, trunc

__all__ = ["OwnBoundary", "is_switch", "switches", "at_boundary", "sign_of", "relations"]


class OwnBoundary:
    """A node that is a switch by its own mathematics, not by its shape (an eigenvalue or an eigenvector
    of a matrix, not smooth where the eigenvalue repeats): it says itself whether a point is on its boundary."""

    def on_boundary(self, values: list) -> bool:
        """Whether the node is on its boundary where its arguments take `values` (exact numbers)."""
        raise NotImplementedError

_HEADS = (sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside, Step, sympy.Piecewise, sympy.atan2,
          sympy.floor, sympy.ceiling)


def is_switch(node: sympy.Basic) -> bool:
    """Whether `node` is a switch (see the module docstring)."""
    if isinstance(node, OwnBoundary):
        return True
    if isinstance(node, _HEADS):
        return not isinstance(node, sympy.Piecewise) or bool(relations(node))
    return isinstance(node, sympy.Pow) and not node.exp.is_integer and bool(node.base.free_symbols)


def switches(expr: sympy.Basic, among=None) -> list[sympy.Basic]:
    """The switch nodes of `expr`, each once, outermost first; with `among` (a set of symbols), only
    those whose boundary moves with one of them (their arguments hold one)."""
    found: dict = {}
    stack = [expr]
    seen: set = set()
    while stack:
        e = stack.pop()
        if e in seen or not e.args:
            continue
        seen.add(e)
        if is_switch(e) and (among is None or _moves(e, among)):
            found[e] = None
        stack.extend(reversed(e.args))
    return list(found)


def _moves(node: sympy.Basic, among) -> bool:
    if isinstance(node, sympy.Piecewise):
        return any(r.free_symbols & among for r in relations(node))
    if isinstance(node, sympy.Pow):
        return bool(node.base.free_symbols & among)
    return bool(node.free_symbols & among)


def relations(node: sympy.Piecewise) -> list[Relational]:
    """The relations a Piecewise's conditions are made of (those with symbols)."""
    out = []
    for _, cond in node.args:
        out.extend(r for r in sympy.preorder_traversal(cond) if isinstance(r, Relational) and r.free_symbols)
    return out


def sign_of(value) -> int | None:
    """The sign of an exact number (-1, 0, 1), None where it is not a real number (nan, zoo, complex)."""
    v = as_expr(value)
    if v is sympy.nan or v is sympy.zoo:
        return None
    if v.is_Rational:
        return (v.p > 0) - (v.p < 0)
    if v in (sympy.oo, -sympy.oo):
        return 1 if v is sympy.oo else -1
    try:  # 50 correct digits or an error: a value this far from 0 has the sign it shows
        x = v.evalf(50, strict=True)
        if x.is_Float and abs(x) > sympy.Float("1e-40"):
            return 1 if x > 0 else -1
    except Exception:  # PrecisionExhausted, or a value evalf does not take: the exact queries decide
        pass
    if v.is_zero:
        return 0
    if v.is_extended_positive:
        return 1
    if v.is_extended_negative:
        return -1
    x = v.evalf(50)
    if not x.is_extended_real:
        return None
    return 0 if abs(x) < sympy.Float("1e-45") else (1 if x > 0 else -1)


def _integer(v) -> bool:
    return sign_of(v - sympy.floor(v)) == 0 if sign_of(v) is not None else False


def at_boundary(node: sympy.Basic, value: Callable[[sympy.Basic], sympy.Basic]) -> bool:
    """Whether a point lies on `node`'s boundary; `value(e)` gives a subexpression's exact value there."""
    if isinstance(node, OwnBoundary):
        return node.on_boundary([value(a) for a in node.args])
    if isinstance(node, (sympy.Max, sympy.Min)):
        values = [value(a) for a in node.args]
        if any(sign_of(v) is None for v in values):
            return False
        best = values[0]
        for v in values[1:]:
            if sign_of(v - best) * (1 if isinstance(node, sympy.Max) else -1) > 0:
                best = v
        return sum(sign_of(v - best) == 0 for v in values) > 1
    if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside)):
        return sign_of(value(node.args[0])) == 0
    if isinstance(node, Step) or isinstance(node, (sympy.floor, sympy.ceiling)):
        return _at_jump(node, value(node.args[0]))
    if isinstance(node, sympy.Piecewise):
        return any(sign_of(value(r.lhs - r.rhs)) == 0 for r in relations(node))
    if isinstance(node, sympy.atan2):
        return all(sign_of(value(a)) == 0 for a in node.args)
    if isinstance(node, sympy.Pow):
        return sign_of(value(node.base)) == 0
    return False


def _at_jump(node: sympy.Basic, v) -> bool:
    """Whether a step function jumps at the argument's value v."""
    if sign_of(v) is None:
        return False
    if isinstance(node, round_):  # ties to even: jumps at the half integers
        return _integer(2 * v) and not _integer(v)
    if isinstance(node, trunc):  # toward zero: continuous at 0
        return _integer(v) and sign_of(v) != 0
    if isinstance(node, (floor, ceil, sympy.floor, sympy.ceiling)):
        return _integer(v)
    return sign_of(v) == 0  # sign
