"""The exact derivatives' values at the points checked: every point of a piece in one evaluation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..exact import continuity, differentiate, evaluate, extended, jets

from ..exact.localize import localize
from ..exact.ball import Unsupported
from ..context import CaseRun
from ..exact.graph.values import graph_values
from .derivatives import second_order_gradient
from ..records import PieceResult, Reference
from ..exact.sym import as_expr, detach, exact as exact_number, release
from .. import kinks
from .derivatives import Derived

__all__ = ["Exact", "PointExact", "PointToCheck", "Compared", "exact_values", "compared_with", "local_hessian", "reference",
           "with_forward", "released_gradient"]


@dataclass(frozen=True)
class PointToCheck:
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


@dataclass(frozen=True)
class PointExact:
    """Every exact value one point is compared with: the piece's, and those of the other functions torch's
    runs compute there, where they are others."""

    piece: Exact
    """The piece's own."""
    float64: Exact | None = None
    """Those of the function the float64 run computes (`derivatives.float64_piece`)."""
    forward: Exact | None = None
    """Those of what forward-mode AD differentiates (`derivatives.ForwardPiece.result`)."""
    mixed: Exact | None = None
    """Those of its mixed second derivatives (`derivatives.ForwardPiece.mixed`)."""


def exact_values(run: CaseRun, pieces: list[PieceResult], checks: list[PointToCheck]) -> list[Exact | None]:
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
    (`compare.exact.jets`: the columns H e_j, or H u, exactly, without SymPy's second derivatives); an entry the
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
    if run.plan.full_hessian:
        return "full", evaluate.evaluate(differentiate.hessian(local, run.symbols), run.at(point))
    return "directional", evaluate.evaluate(differentiate.hessian_vector(local, run.symbols, run.exact_u()), run.at(point))


def _flat(values: dict, names) -> np.ndarray:
    return np.concatenate([np.asarray(values[n], dtype=np.float64).reshape(-1) for n in names])


def reference(run: CaseRun, result: PieceResult, exact, point, kink, continued: bool) -> Reference:
    """The exact values every mode at `point` is held to, from the piece's `exact` values there.

    `continued`: the Hessian was taken by continuity (so it is full, also where the piece's is taken
    at each point)."""
    names = list(run.symbols)
    gradient = _flat(exact.gradient, names)
    if exact.jacobian is not None:
        m = int(np.prod(result.output.shape, dtype=int))
        jacobian = np.concatenate([np.asarray(exact.jacobian[n], dtype=np.float64).reshape(m, -1) for n in names],
                                  axis=1)
    else:
        jacobian = gradient[None] if result.output.shape == () else None
    weighted = _flat(exact.weighted, names) if exact.weighted is not None else gradient if run.w is None else None
    second, note = None, ""
    if run.second:
        second, note = _second(run, result, exact, point, kink, continued)
    output = np.asarray(exact.output, dtype=np.float64).reshape(-1)
    return Reference(output, gradient, weighted, jacobian, second, note, kink)


def with_forward(run: CaseRun, ref: Reference, piece, exact: PointExact, point) -> Reference:
    """`ref` with forward mode's own values (`pieces.derivatives.ForwardPiece`, and `exact.forward`, `exact.mixed`)."""
    forward = reference(run, piece.result, exact.forward, point, ref.kink, False)
    second = _second(run, piece.mixed, exact.mixed, point, ref.kink, False)[0] if piece.mixed is not None else None
    return dataclasses.replace(ref, forward=forward, mixed=second)


def _second(run: CaseRun, result: PieceResult, exact, point, kink, continued: bool) -> tuple:
    """(("full" or "directional", the exact Hessian of wᵀ out or H u), why not) at the point, on structured
    inputs' directions (`compare.basis`)."""
    if continued:
        return ("full", run.basis.hessian(np.asarray(exact.hessian))), ""
    if result.hessian_mode is None:  # a non-scalar output on the traced graph (`pieces._on_graph`)
        return None, "on the traced graph the second derivatives of wᵀ out are not taken; not compared"
    if result.hessian_mode == "local":  # taken at each point (`local_hessian`)
        if kink is not None:  # no smooth expression holds around a kink
            return None, "at a kink: the second derivative does not exist; not compared"
        shape, values = local_hessian(run, result, point)
        return (shape, run.basis.hessian(np.asarray(values))), ""
    values = exact.hessian
    if values is None:
        values = evaluate.evaluate(result.hessian, run.at(point)) if result.hessian_mode == "full" else \
            differentiate.hessian_vector_values(result.gradient if result.weighted is None else result.weighted,
                                         run.symbols, run.exact_u(), [run.at(point)])[0]
    return (result.hessian_mode, run.basis.hessian(np.asarray(values))), ""


def released_gradient(run: CaseRun, output: np.ndarray, point) -> Callable[[], dict] | None:
    """Where the piece's output holds a detach(): a callable giving the exact gradient at the point with
    every detach removed (what forward mode and finite differences that see through it match, asked
    only where they disagree); None where it holds none."""
    if not any(as_expr(o).has(detach) for o in output.flat):
        return None
    return lambda: {n: evaluate.evaluate(g, point) for n, g in
                    differentiate.gradient(np.vectorize(release, otypes=[object])(output), run.symbols).items()}


@dataclass(frozen=True)
class Compared:
    """What one autograd run is compared with: a piece's formulas and their exact values at the point."""

    result: PieceResult
    """The piece's formulas (or those of the function the float64 run computes: `PieceResult.float64`)."""
    exact: Exact
    """Their exact values at the point, by continuity where the formulas are 0/0, on structured inputs'
    directions (`compare.basis`)."""
    continued: continuity.Continued | None = None
    """The limits taken (`exact.continuity`), where some were; None where the formulas' values are the values."""


def compared_with(run: CaseRun, work: Derived, result: PieceResult, point, exact: Exact) -> Compared:
    """The exact values a run is compared with: the formulas', or their limits where those are 0/0."""
    continued = _continued(run, work, result, point, exact)
    if continued is not None:
        hessian = continued.hessian if continued.hessian is not None else exact.hessian
        weighted = exact.weighted
        if result.weighted is not None:  # wᵀ out's gradient and Hessian, taken by continuity as a scalar's are
            second = _continued_weighted(run, result, point)
            if second is not None:
                weighted = second.gradient
                hessian = second.hessian if result.hessian_mode == "full" else second.hessian @ run.u.numpy()
        exact = dataclasses.replace(exact, gradient=continued.gradient, jacobian=continued.jacobian, hessian=hessian,
                        weighted=weighted)
    basis = run.basis
    if basis.projection is not None:  # compared along the structured inputs' directions (`compare.basis`)
        exact = dataclasses.replace(exact, gradient=basis.gradient(exact.gradient), hessian=basis.hessian(exact.hessian),
                        jacobian=basis.jacobian(exact.jacobian) if exact.jacobian is not None else None,
                        weighted=basis.gradient(exact.weighted) if exact.weighted is not None else None)
    return Compared(result, exact, continued)


def _continued_weighted(run: CaseRun, result: PieceResult, point) -> continuity.Continued | None:
    """The gradient and Hessian of wᵀ out at a point where they are taken by continuity (as for a scalar
    output: `continuity.at_point` on wᵀ out itself), with w's values; None where there are more than
    `HESSIAN_LIMIT` Hessian entries (`plan.Plan.hessian`: its second derivatives are then not continued)."""
    if not run.plan.full_hessian:
        return None
    weights = [exact_number(x) for x in run.w.reshape(-1).tolist()]
    scalar = np.array(sum(w * o for w, o in zip(weights, result.output.flat)), dtype=object)
    gradient = differentiate.gradient(scalar, run.symbols)
    hessian = differentiate.hessian(gradient, run.symbols)
    formulas = continuity.Derivatives(gradient, None, hessian)
    values = continuity.Derivatives({n: evaluate.evaluate(g, point) for n, g in gradient.items()}, None,
                                    evaluate.evaluate(hessian, point))
    found = continuity.at_point(scalar, formulas, values, run.symbols, point)
    return found if found is not None else continuity.Continued(values.gradient, None, values.hessian, (), False)


def _continued(run: CaseRun, work: Derived, result: PieceResult, point, exact: Exact) -> continuity.Continued | None:
    """The exact derivatives by continuity (`compare/exact/continuity.py`) where the formulas fail at the point.

    Only off kinks and piece boundaries (which keep PyTorch's rules) and where
    the output itself is defined; tried where a gradient or Jacobian entry is
    undefined or, for an extendable piece, where an `==` branch or a `0**e` may be there.
    """
    if result.graph is not None:  # on the traced graph there is no formula to take a limit of
        return None
    undefined = any(not np.isfinite(v).all() for v in exact.gradient.values()) or (
        exact.jacobian is not None and any(not np.isfinite(v).all() for v in exact.jacobian.values()))
    if not (undefined or work.extendable) or not np.isfinite(np.asarray(exact.output, dtype=np.float64)).all():
        return None
    if work.kinks.at(point, run.second) is not None or \
            kinks.boundaries(work.piece.decisions, point, work.kinks.owned(point)):
        return None
    # a non-scalar output's Hessian is wᵀ out's, which continuity does not take: its gradient and Jacobian are
    hessian = result.hessian if run.second and result.weighted is None else None
    formulas = continuity.Derivatives(result.gradient, result.jacobian, hessian)
    values = continuity.Derivatives(exact.gradient, exact.jacobian,
                                    evaluate.evaluate(hessian, point) if hessian is not None else None)
    return continuity.at_point(result.output, formulas, values, run.symbols, point)
