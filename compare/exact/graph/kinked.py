"""Which points of a piece kept on the graph lie on a kink of one of its nodes.

A node's definition may switch: a `Max` or `Min` between its arguments, an `Abs`, `sign`,
`Heaviside` or step of one, a `Piecewise` on a condition, a root at 0. At a point where a switch
sits on its boundary (a tie, a zero argument), the derivative may not exist, and what autograd
gives there is PyTorch's rule for the op (`compare.kinks`), not SymPy's convention (its
`Heaviside(0)` is 1/2). Such a point is found here from the balls of each switch's argument
(a ball that holds 0 may be on the boundary; one that does not is off it, by proof), and the
piece is then checked on its tree, where the rules are applied; the graph's reverse sweep takes
other local partials from a caller (`sweep.Evaluation.override`) for a judge that gives them.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import flint
import numpy as np
import sympy

from .. import ball
from .compiled import Compiled, Template
from .sweep import coordinates_of, forward

__all__ = ["switches", "at_a_kink"]

_STEPS = (sympy.floor, sympy.ceiling, sympy.frac)


def switches(template: Template) -> tuple:
    """The expressions (of the template's symbols) whose value 0 puts the node on a switch's boundary;
    an integer value, for a step (floor, ceiling and the steps made of them)."""
    found: dict = {}
    for node in sympy.preorder_traversal(template.value):
        if isinstance(node, (sympy.Max, sympy.Min)):
            for a, b in zip(node.args, node.args[1:]):
                found.setdefault(a - b, None)
            if len(node.args) > 2:
                for a in node.args[2:]:
                    found.setdefault(node.args[0] - a, None)
        elif isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.DiracDelta)):
            found.setdefault(node.args[0], None)
        elif isinstance(node, sympy.Piecewise):
            for _, cond in node.args:
                for rel in cond.atoms(sympy.core.relational.Relational):
                    found.setdefault(rel.lhs - rel.rhs, None)
        elif isinstance(node, sympy.Pow) and not node.exp.is_integer:
            found.setdefault(node.base, None)
        elif isinstance(node, _STEPS) or getattr(node, "exact_value", None) is not None:
            found.setdefault(("step", node.args[0]), None)
    return tuple(found)


def at_a_kink(graph: Compiled, points: Sequence[Mapping]) -> list[bool]:
    """For each point, whether some node of the graph may sit on a switch's boundary there (or the balls
    cannot run the graph: a function they do not know)."""
    if not points:
        return []
    try:
        ev = forward(graph, coordinates_of(points, graph.inputs), 128)
    except (ball.Unsupported, ArithmeticError, ValueError, TypeError):  # what the balls cannot run: the tree can
        return [True] * len(points)
    near = np.zeros(len(points), dtype=bool)
    with flint.ctx.workprec(ev.prec):
        for g, group in enumerate(graph.groups):
            for switch in switches(group.template):
                step = isinstance(switch, tuple)
                values = np.broadcast_to(ev.evaluators[g](switch[1] if step else switch),
                                         (len(points), group.members.size))
                touching = np.frompyfunc(_holds_integer if step else _holds_zero, 1, 1)(values).astype(bool)
                near |= touching.any(axis=1)
    return near.tolist()


def _holds_zero(b) -> bool:
    return not isinstance(b, flint.arb) or not (b > 0 or b < 0)


def _holds_integer(b) -> bool:
    if not isinstance(b, flint.arb) or not b.is_finite():
        return True
    nearest = flint.arb(int(round(float(b.mid()))))
    return not (b - nearest > 0 or b - nearest < 0)
