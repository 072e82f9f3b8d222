"""A piece's exact values on its graph: output, gradient, Jacobian, Hessian or H v, at many points at once.

Each quantity is a ball per entry (`sweep`); where both ends of an entry's ball round to the same
float64, that float is its value correctly rounded, by proof. A point with an entry left undecided
is swept again at the next precision of PRECISIONS: a value near a rounding tie is decided at 384
bits, and an exact cancellation (softmax(x).sum()'s gradient), whose ball straddles 0, shrinks at
1280 bits below 2**-1076 around 0, where every number rounds to zero: its float64 value is 0. An
entry still undecided after the last precision (an exact tie, which no ball decides) is given as
its ball's midpoint rounded, and said to be known only within the ball's radius (`GraphValues.notes`);
an undefined value (a pole: Arb answers NaN) is NaN, as the tree's is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import flint
import numpy as np

from .. import ball
from ..sym import to_float
from .compiled import Compiled
from .sweep import coordinates_of, forward, hessian_vector, reverse, rounded

__all__ = ["PRECISIONS", "GraphValues", "graph_values", "gradient_under"]

PRECISIONS = (128, 384, 1280)
"""Bits of the sweeps, in turn, for the points some entry of which the one before left undecided."""


@dataclass(frozen=True)
class GraphValues:
    """A piece's exact values at each point, rounded to float64 (first axis: the points)."""

    output: np.ndarray
    """(points,) + the output's shape."""
    gradient: dict
    """Input name -> (points,) + the input's shape."""
    jacobian: dict | None
    """Input name -> (points,) + output shape + input shape, where asked for."""
    hessian: np.ndarray | None
    """(points, n, n) in full, or (points, n) for H v along one direction; None where not asked for."""
    notes: tuple
    """Per point, what is known only within a radius ("" where every value is decided)."""


@dataclass(frozen=True)
class _Wanted:
    """What a sweep is asked for besides the output and the gradient."""

    jacobian: bool
    hessian: str | None
    """"full", "directional" or None."""
    u: tuple
    """The direction of H v, exact."""


def graph_values(graph: Compiled, points: Sequence[Mapping], symbols: Mapping[str, np.ndarray], *,
                 jacobian: bool = False, hessian: str | None = None, u: Sequence = ()) -> GraphValues:
    """The exact values of `graph`'s output and derivatives at `points` (symbol -> Rational)."""
    wanted = _Wanted(jacobian, hessian, tuple(u))
    coordinates = coordinates_of(points, graph.inputs)
    balls = None
    floats = undecided = None
    todo = np.arange(len(points))
    for prec in PRECISIONS:
        found = _balls(graph, coordinates[todo], prec, wanted)
        got, still = rounded(found)
        if floats is None:
            balls, floats, undecided = found, got, still
        else:
            balls[todo], floats[todo], undecided[todo] = found, got, still
        todo = np.flatnonzero(undecided.any(axis=1))
        if not todo.size:
            break
    notes = tuple(_note(balls[p], undecided[p]) for p in range(len(points)))
    return _split(graph, floats, symbols, wanted, notes)


def _balls(graph: Compiled, coordinates: np.ndarray, prec: int, wanted: _Wanted) -> np.ndarray:
    """Every wanted quantity at the points, as balls in one row per point: output, gradient, Jacobian
    (row by row), Hessian (column by column) or H v."""
    ev = forward(graph, coordinates, prec)
    count, outputs = coordinates.shape[0], graph.outputs.size
    out = np.empty((count, outputs), dtype=object)
    with flint.ctx.workprec(prec):
        for i, at in enumerate(graph.outputs):
            out[:, i] = ev.values[:, at] if at >= 0 else _constant(graph.constants[i], prec)
    seeds = np.ones((1, outputs), dtype=object)
    if wanted.jacobian:
        seeds = np.concatenate([seeds, np.eye(outputs, dtype=int).astype(object)])
    adjoint = reverse(ev, seeds)  # (seeds, points, inputs)
    parts = [out] + [adjoint[s] for s in range(seeds.shape[0])]
    if wanted.hessian == "full":
        directions = np.eye(len(graph.inputs), dtype=int).astype(object)
        parts += list(hessian_vector(ev, directions))  # column j: H e_j
    elif wanted.hessian == "directional":
        parts += list(hessian_vector(ev, np.array([wanted.u], dtype=object)))
    return np.concatenate(parts, axis=1)


def _constant(value, prec: int):
    """An output entry that is a number (`3*cos(2)`), as a ball at `prec` bits: rounded by the same proof
    as every other entry. One the balls cannot run is SymPy's value to 30 digits, as the tree's is, in a
    ball of no radius (it decides as SymPy's rounding does)."""
    try:
        return ball.Balls({}, prec)(value)
    except (ball.Unsupported, ArithmeticError, ValueError, TypeError):
        return flint.arb(to_float(value))


def _note(balls: np.ndarray, undecided: np.ndarray) -> str:
    """What a point's undecided finite entries are known to: the largest radius among them."""
    loose = [b for b, u in zip(balls, undecided) if u and isinstance(b, flint.arb) and b.is_finite()]
    if not loose:
        return ""
    radius = max(float(b.rad()) for b in loose)
    return (f"{len(loose)} exact value(s) known only to within {radius:.3g} (a ball of "
            f"{PRECISIONS[-1]} bits straddles a rounding boundary); shown rounded from its midpoint")


def _split(graph: Compiled, floats: np.ndarray, symbols: Mapping[str, np.ndarray], wanted: _Wanted,
           notes: tuple) -> GraphValues:
    """The rows of `_balls`' layout, rounded, as the arrays the checks compare with."""
    count, outputs, n = floats.shape[0], graph.outputs.size, len(graph.inputs)
    at = 0

    def take(width: int) -> np.ndarray:
        nonlocal at
        at += width
        return floats[:, at - width:at]

    output = take(outputs).reshape((count,) + graph.shape)
    gradient = _by_input(take(n), symbols, ())
    jacobian = None
    if wanted.jacobian:
        rows = np.stack([take(n) for _ in range(outputs)], axis=1)  # (points, outputs, inputs)
        jacobian = _by_input(rows, symbols, graph.shape)
    hessian = None
    if wanted.hessian == "full":
        hessian = np.stack([take(n) for _ in range(n)], axis=2)  # column j is H e_j
    elif wanted.hessian == "directional":
        hessian = take(n)
    return GraphValues(output, gradient, jacobian, hessian, notes)


def _by_input(values: np.ndarray, symbols: Mapping[str, np.ndarray], lead: tuple) -> dict:
    """(points, ..., all inputs flattened) as input name -> (points,) + lead + the input's shape."""
    out, start = {}, 0
    for name, syms in symbols.items():
        part = values[..., start:start + syms.size]
        out[name] = part.reshape((values.shape[0],) + lead + syms.shape)
        start += syms.size
    return out


def gradient_under(graph: Compiled, point: Mapping, symbols: Mapping[str, np.ndarray], partials: Mapping) -> dict:
    """The gradient of out.sum() at `point` with some nodes' local derivatives given: `partials` maps
    (node, operand symbol) to the value d node / d operand is to take there (a number).

    What a judge asks at a kink: SymPy's derivative of a switch at its boundary is a convention
    (`Heaviside(0)` is 1/2), PyTorch's rule for the op another; the chain rule through every other node
    is the graph's. A kink site's rule (`compare.kinks`: a `LocalRule`'s alternative, d entry / d variable of
    the op's local function) is given here for the node of that op's entry and the operand standing for that
    variable. Rounded as `graph_values` rounds, with the same precisions (input name -> array)."""
    position = {s: k for k, s in enumerate(graph.inputs)}
    position.update({n: len(graph.inputs) + k for k, n in enumerate(graph.nodes)})
    coordinates = coordinates_of([point], graph.inputs)
    floats = None
    for prec in PRECISIONS:
        ev = forward(graph, coordinates, prec)
        for (node, operand), value in partials.items():
            ev.override(position[node], position[operand], value)
        found = reverse(ev, np.ones((1, graph.outputs.size), dtype=object))[0]
        floats, undecided = rounded(found)
        if not undecided.any():
            break
    return _by_input(floats, symbols, ())
