"""The chain rule on a compiled graph, at the points, in Arb's ball arithmetic.

Every quantity is an object array of balls (python-flint's `arb`), one row per point: a ball
contains the exact value (Arb's guarantee for each operation, so for the whole sweep), which
is what makes a rounded result a proof (`compare/exact/ball.py`).

- `forward`: each node's value, group by group (a group's shape run once over all its members
  and points), and its local derivatives d node / d operand, from the same evaluator, so that
  a shape's value and its derivatives share their subexpressions;
- `reverse`: adjoints, from seeds on the output entries back to the inputs (the gradient of
  out.sum() is the seed 1 on every entry; a Jacobian's rows are one-hot seeds, all in one sweep);
- `directional`: J u, each node's tangent along the directions, forward (what forward mode computes);
- `hessian_vector`: forward over reverse: each node's tangent along the directions, then the
  reverse sweep and its own tangent, which needs the local second derivatives:
  d(adj_a) = d(adj_n) p_na + adj_n sum_b (d2 n / da db) t_b.

A caller may replace chosen nodes' local derivatives (`Evaluation.override`): the gradient under
other local partials at a kink, as a judge's rule gives them, without this module knowing rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import flint
import numpy as np
import sympy

from .. import ball
from .compiled import Compiled

__all__ = ["Evaluation", "forward", "reverse", "directional", "hessian_vector", "balls_of", "rounded", "coordinates_of"]

_ZERO = flint.arb(0)


def balls_of(values: np.ndarray, prec: int) -> np.ndarray:
    """Exact numbers (Fractions, ints, SymPy rationals) as balls at `prec` bits."""
    with flint.ctx.workprec(prec):
        return np.frompyfunc(_ball, 1, 1)(values)


def _ball(v) -> flint.arb:
    if isinstance(v, Fraction):
        return flint.arb(flint.fmpq(v.numerator, v.denominator))
    if isinstance(v, sympy.Rational):
        return flint.arb(flint.fmpq(int(v.p), int(v.q)))
    return flint.arb(v)


@dataclass
class Evaluation:
    """A compiled graph at some points: values and local derivatives, at one precision."""

    graph: Compiled
    prec: int
    values: np.ndarray
    """(points, size): every input's and node's value."""
    partials: list
    """Per group, per template symbol t_j: (points, members) balls of d node / d t_j."""
    evaluators: list
    """Per group, the evaluator that ran it (its memo serves the second derivatives)."""

    @property
    def points(self) -> int:
        return self.values.shape[0]

    def override(self, position: int, operand: int, value) -> None:
        """Take `value` (a number, or one per point) as d node / d operand for the node at `position`,
        its j-th operand being the one at position `operand`: every j it stands at."""
        for g, group in enumerate(self.graph.groups):
            at = np.flatnonzero(group.members == position)
            if at.size:
                for j, ops in enumerate(group.operands):
                    if ops[at[0]] == operand:
                        with flint.ctx.workprec(self.prec):
                            column = np.broadcast_to(balls_of(np.asarray(value, dtype=object), self.prec),
                                                     (self.points,))
                        partial = np.array(np.broadcast_to(self.partials[g][j], (self.points, group.members.size)))
                        partial[:, at[0]] = column
                        self.partials[g][j] = partial


def forward(graph: Compiled, coordinates: np.ndarray, prec: int) -> Evaluation:
    """Values and local derivatives at the points; `coordinates` (points, inputs) are exact numbers."""
    count = coordinates.shape[0]
    values = np.empty((count, graph.size), dtype=object)
    values[:, :len(graph.inputs)] = balls_of(coordinates, prec)
    partials, evaluators = [], []
    for group in graph.groups:
        env = {s: values[:, ops] for s, ops in zip(group.template.symbols, group.operands)}
        run = ball.Balls(env, prec, balls=True)
        shape = (count, group.members.size)
        values[:, group.members] = np.broadcast_to(run(group.template.value), shape)
        partials.append([run(d) for d in group.template.first])
        evaluators.append(run)
    return Evaluation(graph, prec, values, partials, evaluators)


def _seeded(graph: Compiled, seeds: np.ndarray, count: int, prec: int) -> np.ndarray:
    """Adjoints (seeds, points, size), zero but for the seeds on the output entries' positions."""
    adjoint = np.full((seeds.shape[0], count, graph.size), _ZERO, dtype=object)
    with flint.ctx.workprec(prec):
        for i, at in enumerate(graph.outputs):
            if at >= 0:
                adjoint[:, :, at] += balls_of(seeds[:, i], prec)[:, None]
    return adjoint


def reverse(ev: Evaluation, seeds: np.ndarray) -> np.ndarray:
    """sum_i seeds[s, i] d out_i / d input, for each seed s: (seeds, points, inputs).

    `seeds` (seeds, outputs) are exact numbers; a seed of ones gives the gradient of out.sum()."""
    graph = ev.graph
    adjoint = _seeded(graph, seeds, ev.points, ev.prec)
    with flint.ctx.workprec(ev.prec):
        for g in range(len(graph.groups) - 1, -1, -1):
            group = graph.groups[g]
            here = adjoint[:, :, group.members]
            for ops, partial in zip(group.operands, ev.partials[g]):
                np.add.at(adjoint, (slice(None), slice(None), ops), here * partial)
    return adjoint[:, :, :len(graph.inputs)]


def _tangents(ev: Evaluation, directions: np.ndarray) -> np.ndarray:
    """Each input's and node's derivative along each direction: (directions, points, size)."""
    graph = ev.graph
    tangent = np.full((directions.shape[0], ev.points, graph.size), _ZERO, dtype=object)
    tangent[:, :, :len(graph.inputs)] = balls_of(directions, ev.prec)[:, None, :]
    with flint.ctx.workprec(ev.prec):
        for g, group in enumerate(graph.groups):
            total = 0
            for ops, partial in zip(group.operands, ev.partials[g]):
                total = total + partial * tangent[:, :, ops]
            tangent[:, :, group.members] = np.broadcast_to(total, tangent[:, :, group.members].shape)
    return tangent


def directional(ev: Evaluation, directions: np.ndarray) -> np.ndarray:
    """J u for each direction u (rows of `directions`, exact numbers over the inputs): each output entry's
    derivative along it, by the forward sweep alone, (directions, points, outputs); a constant entry's is 0."""
    tangent = _tangents(ev, directions)
    out = np.full(tangent.shape[:2] + (ev.graph.outputs.size,), _ZERO, dtype=object)
    taken = ev.graph.outputs >= 0
    out[:, :, taken] = tangent[:, :, ev.graph.outputs[taken]]
    return out


def _dpartials(ev: Evaluation, g: int, tangent: np.ndarray) -> list:
    """Per template symbol t_j of group g: the derivative of d node / d t_j along each direction."""
    group, run = ev.graph.groups[g], ev.evaluators[g]
    out = []
    with flint.ctx.workprec(ev.prec):
        for row in group.template.second:
            total = 0
            for k, d in row:
                total = total + run(d) * tangent[:, :, group.operands[k]]
            out.append(total)
    return out


def hessian_vector(ev: Evaluation, directions: np.ndarray) -> np.ndarray:
    """H v for each direction v (rows of `directions`, exact numbers over the inputs), of a one-entry
    output: (directions, points, inputs)."""
    graph = ev.graph
    tangent = _tangents(ev, directions)
    adjoint = _seeded(graph, np.ones((1, graph.outputs.size), dtype=object), ev.points, ev.prec)[0]
    moved = np.full(tangent.shape, _ZERO, dtype=object)  # the adjoints' tangents
    with flint.ctx.workprec(ev.prec):
        for g in range(len(graph.groups) - 1, -1, -1):
            group = graph.groups[g]
            here, here_moved = adjoint[:, group.members], moved[:, :, group.members]
            for ops, partial, dpartial in zip(group.operands, ev.partials[g], _dpartials(ev, g, tangent)):
                np.add.at(adjoint, (slice(None), ops), here * partial)
                np.add.at(moved, (slice(None), slice(None), ops), here_moved * partial + here * dpartial)
    return moved[:, :, :len(graph.inputs)]


def rounded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, undecided mask) of balls: `ball.rounded`, and 0 where a ball lies within
    2**-1076 of 0, whose every point rounds to zero (a cancellation the balls cannot see exactly)."""
    floats, undecided = ball.rounded(values, values.shape)
    if undecided.any():
        tiny = np.frompyfunc(_negligible, 1, 1)(values).astype(bool)
        floats = np.where(undecided & tiny, 0.0, floats)
        undecided &= ~tiny
    return floats, undecided


_NEGLIGIBLE = flint.arb(2) ** -1076


def _negligible(b) -> bool:
    return isinstance(b, flint.arb) and b.is_finite() and bool(abs(b) < _NEGLIGIBLE)


def coordinates_of(points: Sequence[Mapping], inputs: tuple) -> np.ndarray:
    """The points' coordinates, exact, (points, inputs), in the graph's input order."""
    return np.array([[Fraction(int(p[s].p), int(p[s].q)) for s in inputs] for p in points],
                    dtype=object).reshape(len(points), len(inputs))
