"""An expression as it reads near a point: Max, Min, Abs, sign and Heaviside replaced by the branch they
take there, so that its derivative is the one-sided derivative on that side."""
from __future__ import annotations

from typing import Mapping

import sympy

__all__ = ["localize", "LOCALIZED"]


LOCALIZED = (sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside)
"""The kinked heads `localize` replaces by what they are around a point off their kinks."""


def localize(expr: sympy.Expr, point: Mapping[sympy.Symbol, sympy.Basic]) -> sympy.Expr:
    """`expr` as it is on a neighbourhood of `point`: every kinked head that is smooth there replaced.

    Off its kinks `Max(a, b, c)` is its largest argument, `Abs(a)` is a or
    -a, and `Heaviside(a)` and `sign(a)` are constants: the same values and
    the same derivatives of every order near the point. Heads at a kink
    (a tie, a zero argument) stay. SymPy differentiates `Max` of n
    arguments slowly and `Heaviside` into `DiracDelta`, so a Hessian built
    from the local expression costs a fraction of the global one.
    """
    def value(e):
        return e.xreplace(point).evalf(30)

    def extreme(node, largest: bool):
        values = [value(a) for a in node.args]
        if not all(v.is_real for v in values):
            return node
        best = max(values) if largest else min(values)
        winners = [a for a, v in zip(node.args, values) if v == best]
        return winners[0] if len(winners) == 1 else node

    def signed(node, make):
        v = value(node.args[0])
        return make(node.args[0], v) if v.is_real and v != 0 else node

    rules = {
        sympy.Max: lambda n: extreme(n, True),
        sympy.Min: lambda n: extreme(n, False),
        sympy.Abs: lambda n: signed(n, lambda a, v: a if v > 0 else -a),
        sympy.sign: lambda n: signed(n, lambda a, v: sympy.Integer(1 if v > 0 else -1)),
        sympy.Heaviside: lambda n: signed(n, lambda a, v: sympy.Integer(1 if v > 0 else 0)),
    }
    out = expr  # detach() stays: its derivative is 0 here too
    for head in LOCALIZED:
        out = out.replace(lambda n, head=head: isinstance(n, head), rules[head])
    return out
