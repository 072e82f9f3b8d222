"""The exact derivatives' values at the points checked: every point of a piece in one evaluation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exact import differentiate, evaluate, extended, jets

from .exact.localize import localize
from .exact.ball import Unsupported
from .context import CaseRun
from .exact.values import graph_values
from .pieces import full_hessian, second_order_gradient
from .records import PieceResult

__all__ = ["Exact", "Check", "exact_values", "local_hessian"]


@dataclass(frozen=True)
class Check:
    """A point to check: where it comes from, the piece it lies in, the exact point."""

    origin: str
    """"example", "sample 2", "piece 3", "shown 1"."""
    piece: int
    point: dict
    informs: bool = True
    """Forward mode and finite differences run here: where a reader looks for them (they decide no status)."""


@dataclass(frozen=True)
class Exact:
    """A piece's exact values at one point, as float64 arrays."""

    gradient: dict
    jacobian: dict | None
    output: np.ndarray
    hessian: np.ndarray | None = None
    """The Hessian or H v (of wᵀ out for a non-scalar output); None where it is taken at each point
    (`local_hessian`) or not checked."""
    weighted: dict | None = None
    """The gradient of wᵀ out (`PieceResult.weighted`), where the piece has it."""
    note: str = ""
    """What is known only within a radius, where the graph's balls left a value undecided ("" elsewhere)."""


def exact_values(run: CaseRun, pieces: list[PieceResult], checks: list[Check]) -> list[Exact | None]:
    """`Exact` at each check, piece by piece in one call; None at a check whose piece is not among `pieces`."""
    found: list = [None] * len(checks)
    for piece in pieces:
        mine = [i for i, c in enumerate(checks) if c.piece == piece.index]
        at = [checks[i].point for i in mine]
        if piece.graph is not None:
            for i, value in zip(mine, _on_graph(run, piece, at)):
                found[i] = value
            continue
        grads = {n: evaluate.evaluate_many(g, at, run.symbols) for n, g in piece.gradient.items()}
        jacs = ({n: evaluate.evaluate_many(j, at, run.symbols) for n, j in piece.jacobian.items()}
                if piece.jacobian is not None else None)
        outputs = evaluate.evaluate_many(piece.output, at, run.symbols)
        at_w = [run.at(p) for p in at]  # wᵀ out's derivatives hold the ω's of w
        weighted = ({n: evaluate.evaluate_many(g, at_w, run.symbols) for n, g in piece.weighted.items()}
                    if piece.weighted is not None else None)
        hessians = [None] * len(at)
        if run.second and piece.weighted is not None:
            hessians = _weighted_hessians(run, piece, at_w)
        elif run.second and piece.hessian is not None:
            hessians = evaluate.evaluate_many(piece.hessian, at_w, {})
        elif run.second and piece.hessian_mode == "directional":
            hessians = extended.hessian_vectors(second_order_gradient(piece), run.symbols, run.exact_u(), at_w)
        for row, i in enumerate(mine):
            found[i] = extended.at_point(
                Exact({n: v[row] for n, v in grads.items()},
                      {n: v[row] for n, v in jacs.items()} if jacs is not None else None, outputs[row],
                      hessians[row], {n: v[row] for n, v in weighted.items()} if weighted is not None else None),
                checks[i].point, run.symbols)
    return found


def _weighted_hessians(run: CaseRun, piece: PieceResult, at: list[dict]) -> list[np.ndarray]:
    """The Hessian of wᵀ out (or H u) at each point, from its gradient's entries run on jets
    (`compare.jets`: the columns H e_j, or H u, exactly, without SymPy's second derivatives); an entry the
    balls leave undecided, or all of them where jets cannot run an expression, from SymPy's derivative."""
    symbols = [s for syms in run.symbols.values() for s in syms.flat]
    entries = [e for name in run.symbols for e in piece.weighted[name].flat]
    n = len(symbols)
    full = piece.hessian_mode == "full"
    directions = [[int(i == j) for i in range(n)] for j in range(n)] if full else [run.exact_u()]
    try:
        values, undecided = jets.directional(entries, symbols, at, directions)
    except Unsupported:
        values, undecided = np.zeros((len(at), n, len(directions))), np.ones((len(at), n, len(directions)), bool)
    if undecided.any():
        _decide(run, piece, at, values, undecided)
    return [values[k] if full else values[k, :, 0] for k in range(len(at))]


def _decide(run: CaseRun, piece: PieceResult, at: list[dict], values: np.ndarray, undecided: np.ndarray) -> None:
    """The entries jets left undecided, from SymPy's second derivatives (the rows that hold one)."""
    rows = sorted(set(np.nonzero(undecided)[1]))
    gradient = {n: g for n, g in piece.weighted.items()}
    if piece.hessian_mode == "full":
        exprs = differentiate.hessian(gradient, run.symbols)[rows]
        found = evaluate.evaluate_many(exprs, at, {})  # (points, rows, n)
    else:
        found = differentiate.hessian_vector_values(gradient, run.symbols, run.exact_u(), at)[:, rows, None]
    for r, row in enumerate(rows):
        values[:, row, :] = np.where(undecided[:, row, :], found[:, r, :], values[:, row, :])


def _on_graph(run: CaseRun, piece: PieceResult, at: list) -> list[Exact]:
    """`Exact` at each point of a piece kept on the traced graph (`compare.exact`)."""
    values = graph_values(piece.graph.compiled, at, run.symbols, jacobian=piece.jacobian is not None,
                          hessian=piece.hessian_mode if run.second else None,
                          u=run.exact_u() if run.second else ())
    return [Exact({n: v[row] for n, v in values.gradient.items()},
                  {n: v[row] for n, v in values.jacobian.items()} if values.jacobian is not None else None,
                  values.output[row], values.hessian[row] if values.hessian is not None else None,
                  note=values.notes[row]) for row in range(len(at))]


def local_hessian(run: CaseRun, result: PieceResult, point) -> tuple[str, np.ndarray]:
    """(mode, exact Hessian or H v at the point) from the gradient as it is around the point."""
    local = {n: np.vectorize(lambda e: localize(e, point), otypes=[object])(g)
             for n, g in second_order_gradient(result).items()}
    if full_hessian(sum(syms.size for syms in run.symbols.values())):
        return "full", evaluate.evaluate(differentiate.hessian(local, run.symbols), run.at(point))
    return "directional", evaluate.evaluate(differentiate.hessian_vector(local, run.symbols, run.exact_u()), run.at(point))
