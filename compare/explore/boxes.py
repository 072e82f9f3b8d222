"""Path conditions in which every literal is about one input entry: boxes, decided exactly.

Where each coordinate of a sampling grid picks its cell (`F.grid_sample`), or each entry is
tested on its own (`if x[0] > 0`), a path condition is a conjunction of one-variable conditions:
its region is a product of one region per entry (a box of unions of intervals). Each literal is
solved once, exactly (`intervals.solve`; a literal that is itself a conjunction of such
conditions, or the negation of a disjunction of them, is taken apart), and a conjunction is the
intersection per entry, so
feasibility, a witness, membership and the probability (a product of exact normal masses) need
neither z3 nor sampling. A conjunction with a literal over several entries, or one outside
`intervals.solve`'s reach, is no box (None): the caller asks z3.
"""
from __future__ import annotations

import math
from typing import Sequence

import sympy

from . import intervals
from ..exact.sym import release

__all__ = ["Boxes"]

_LINE = (intervals.Interval(-sympy.oo, sympy.oo, False, False),)


class Boxes:
    """One exploration's boxes: each literal solved once, each prefix of a path intersected once."""

    def __init__(self, symbols: Sequence[sympy.Symbol]):
        self.symbols = tuple(symbols)
        self._solved: dict = {}
        self._boxes: dict = {(False,): {}, (True,): {}}  # (compound,) + conjunction -> {symbol: region} or None

    def box(self, conditions: Sequence[sympy.Basic], *, compound: bool = False) -> dict | None:
        """{symbol: region} for the conjunction (a symbol it does not constrain is absent), or None.

        Only with `compound` is a literal that is a conjunction itself, or the negation of a
        disjunction, taken apart: where z3 decided such paths before boxes were, it still does,
        so that the witnesses it gives (which depend on every term its context has seen) stay
        what they were."""
        key = (compound,) + tuple(c for c in conditions if c is not sympy.true)
        known = len(key)
        while known > 1 and key[:known] not in self._boxes:
            known -= 1
        box = self._boxes[key[:known]]
        for i in range(known, len(key)):
            box = self._narrowed(box, key[i], compound)
            self._boxes[key[:i + 1]] = box
        return box

    def _narrowed(self, box: dict | None, condition, compound: bool) -> dict | None:
        if box is None or (not compound and _compound(release(condition))):
            return None
        sides = self._sides(condition)
        if sides is None:
            return None
        out = dict(box)
        for s, region in sides:
            out[s] = intervals.intersect(out.get(s, _LINE), region)
        return out

    def _sides(self, condition) -> tuple | None:
        """((symbol, region), ...) whose conjunction `condition` is, each about one entry; or None.

        A conjunction of such conditions is one too, and so is the negation of a disjunction
        (`not torch.any(var < 0)`: every entry of var is at least 0)."""
        if condition not in self._solved:
            c = release(condition)
            parts = _compound(c)
            if parts is not None:
                solved = [self._sides(part) for part in parts]
                found = None if any(x is None for x in solved) else tuple(p for x in solved for p in x)
            else:
                found = self._one(c)
            self._solved[condition] = found
        return self._solved[condition]

    def _one(self, c) -> tuple | None:
        if c is sympy.false:
            return ((self.symbols[0], ()),)
        free = c.free_symbols
        if len(free) != 1 or next(iter(free)) not in self.symbols:
            return None
        s = next(iter(free))
        region = intervals.solve(c, s)
        return None if region is None else ((s, region),)

    @staticmethod
    def empty(box: dict) -> bool:
        return any(not region for region in box.values())

    @staticmethod
    def mass(box: dict) -> float:
        """The box's probability under independent standard normals: the product of its sides'."""
        return math.prod(intervals.mass(region) for region in box.values())

    def mass_less(self, conditions: Sequence[sympy.Basic]) -> float | None:
        """The probability of a conjunction that is a box but for its last literal, whose negation
        would keep it one: the box of the others less the box with the negation (a library's
        `torch.any(var < 0)` taken: 1 - P(every var >= 0)); None for any other conjunction."""
        conditions = [c for c in conditions if c is not sympy.true]
        if not conditions:
            return None
        outer = self.box(conditions[:-1], compound=True)
        inner = self.box(conditions[:-1] + [sympy.Not(conditions[-1])], compound=True)
        if outer is None or inner is None:
            return None
        return max(0.0, self.mass(outer) - (0.0 if self.empty(inner) else self.mass(inner)))

    @staticmethod
    def contains(box: dict, point: dict) -> bool:
        return all(s in point and intervals.contains(region, point[s]) for s, region in box.items())

    def corner(self, box: dict) -> dict:
        """A point of the box: inside the first interval (not a single point, where there is one) of
        each constrained entry, 0 elsewhere, as z3's models leave an entry no condition names."""
        point = {s: sympy.Integer(0) for s in self.symbols}
        for s, region in box.items():
            wide = next((i for i in region if i.lo != i.hi), region[0])
            point.update(intervals.inside(wide, s))  # the rule for one variable
        return point

    def readable(self, box: dict) -> sympy.Basic:
        """The box as relations, entry by entry, in the inputs' order."""
        return sympy.And(*(intervals.as_relational(box[s], s) for s in self.symbols if s in box))


def _compound(c) -> list | None:
    """The parts of a conjunction, or of the negation of a disjunction; None for any other condition."""
    if isinstance(c, sympy.Not) and isinstance(c.args[0], sympy.Or):
        return [sympy.Not(a) for a in c.args[0].args]
    if isinstance(c, sympy.And):
        return list(c.args)
    return None
