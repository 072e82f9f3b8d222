"""Stage 2, the exact side of each piece: gradient, Jacobian, Hessian, kink sites and claim.

A piece (from `explore`) is one path through the case's control flow and
the SymPy output along it. Here it gets its exact derivatives: the gradient
always, the Jacobian of a small non-scalar output, and the Hessian (or H v
along the run's direction) when second derivatives are checked.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from ..exact import differentiate, localize

from ..exact.shapes import renamed_shape
from ..context import CaseRun
from ..exact.graph.kinked import at_a_kink
from ..exact.graph.piece import ON_GRAPH_HESSIAN, graph_piece, markers
from ..exact.graph.tape import graph
from ..explore import Piece, run_symbolic
from ..explore.feasible import Feasibility
from . import claims
from .. import kinks
from ..kinks.located import on_equality
from ..plan import HESSIAN_LIMIT
from ..records import PieceResult
from ..exact.sym import as_expr, nograd, release_nograd
from ..symbolic import SymTensor, recording

__all__ = ["Derived", "ForwardPiece", "FORWARD_MODES", "forward_piece", "derive_piece", "float64_piece", "kink_sites",
           "record_kinks", "extendable", "hessian_note", "second_order_gradient", "on_tree"]


@dataclass(frozen=True)
class Derived:
    """A piece as the point checks use it: explored, derived, and where its kinks are."""

    piece: Piece
    result: PieceResult
    """Its exact derivatives; `result.float64` those of the float64 run where it computes another function."""
    kinks: kinks.PieceKinks
    """Where its kinks are, found lazily (`kink_sites`)."""
    extendable: bool
    """Its output may be another expression near a point than at it (`extendable`)."""
    forward: "ForwardPiece | None" = None
    """What forward-mode AD differentiates, where that is another function (`forward_piece`)."""


@dataclass(frozen=True)
class ForwardPiece:
    """A piece as forward-mode AD sees it, where its output holds results made under `no_grad`:
    grad mode does not govern forward mode, so those are not stop-gradients there (`detach()` is)."""

    result: PieceResult
    """The output with `no_grad`'s stop-gradients released, and its derivatives: forward mode's and
    forward over forward's reference."""
    mixed: PieceResult | None
    """Forward over reverse's: the gradient reverse mode gives (of wᵀ out), released the same way, with
    its Hessian; None where releasing changes nothing (the reverse Hessian is the reference)."""


def derive_piece(run: CaseRun, k: int, piece: Piece, feasibility: Feasibility, inside: dict | None) -> PieceResult:
    """Piece `k`'s exact derivatives and, where the case makes a claim, its proof or refutation.

    `inside`: a point of the piece, where a claim that cannot be proved is tried numerically."""
    output, grad, jac, weighted, hess, mode, kept = _derivatives(run, piece.output)
    claim, note = None, ""
    if run.case.expect is not None and kept is None:
        project = run.basis.exact_gradient if run.basis.projection is not None else None  # structured inputs
        claim, note = claims.prove(run.case, piece, grad, _symbolic_inputs(run, run.dtype), inside, project=project)
    elif run.case.expect is not None:
        claim, note = "unproven", ON_GRAPH_CLAIM
    return PieceResult(index=k, condition=feasibility.readable([d.literal for d in piece.decisions]),
                       sites=tuple((d.site[1], d.taken) for d in piece.decisions),
                       output=output, gradient=grad, jacobian=jac, claim=claim, claim_note=note,
                       hessian=hess, hessian_mode=mode, weighted=weighted, graph=kept)


ON_GRAPH_CLAIM = ("the gradient was derived on the traced graph, not written out as one expression, so the "
                  "claim is not proven by algebra; it is compared with the exact values at every point")


def on_tree(run: CaseRun, piece: Piece, result: PieceResult, points: list) -> tuple[CaseRun, Piece] | None:
    """(the run, the piece) as trees, where a piece kept on the graph has a point on a kink of one of its
    nodes (`exact.graph.kinked`), or where a decision an op made inside itself holds with equality (a sort's tie):
    PyTorch's rules at kinks are applied to trees (`compare.kinks`). None where the piece stays on the graph."""
    if result.graph is None:
        return None
    tie = any(len(d.site) > 2 and on_equality(d.condition, p) for d in piece.decisions for p in points)
    if not tie and not any(at_a_kink(result.graph.compiled, points)):
        return None
    tree = np.vectorize(run.tape.expand, otypes=[object])(piece.output) if piece.output.size else piece.output
    return dataclasses.replace(run, tape=None), dataclasses.replace(piece, output=tree)


def float64_piece(run: CaseRun, k: int, piece: Piece) -> PieceResult | None:
    """The piece as the float64 run computes it, where that is another function; None where it is not.

    The symbolic run makes constants as the code asks: `linspace(..., dtype=a.dtype)` or
    `full_like(a, 0.1)` in a float32 case give float32 numbers, which the float64 autograd
    run makes in float64. That run's exact reference is then the derivative of the function
    it computed: the same path, run once more on float64 symbolic inputs.
    """
    if run.dtype == torch.float64:
        return None
    with graph(run.tape):
        output = run_symbolic(run.case.fn, _symbolic_inputs(run, torch.float64), _Replay(piece))
    if output.shape == piece.output.shape and all(a == b for a, b in zip(output.flat, piece.output.flat)):
        return None
    output, grad, jac, weighted, hess, mode, kept = _derivatives(run, output)
    return PieceResult(index=k, condition=sympy.true, sites=(), output=output, gradient=grad, jacobian=jac,
                       claim=None, hessian=hess, hessian_mode=mode, weighted=weighted, graph=kept)


def _derivatives(run: CaseRun, output: np.ndarray) -> tuple:
    """(output, gradient, Jacobian or None, gradient of wᵀ out or None, Hessian or None, Hessian mode or None,
    GraphPiece or None).

    The gradient of wᵀ out (`CaseRun.w`) is derived for a non-scalar output where a mode needs it:
    the second-order modes (whose Hessian is wᵀ out's), and the batched reverse mode where there is
    no Jacobian to hold its rows to. In graph mode the derivatives are not written out: the output,
    gradient and Jacobian are markers (`compare.exact.graph.piece`) and the GraphPiece gives their values at
    any point."""
    if run.tape is not None:
        return _on_graph(run, output)
    full = run.plan.jacobian(output.shape)
    if run.w is not None and output.ndim and (run.second or (run.modes.check_batched_grad and not full)):
        grad, jac, weighted = differentiate.weighted_gradients(output, run.symbols, run.w_symbols(), full)
    elif full:
        (grad, jac), weighted = differentiate.gradient_and_jacobian(output, run.symbols), None
    else:
        grad, jac, weighted = differentiate.gradient(output, run.symbols), None, None
    hess = mode = None
    if run.second and weighted is not None:  # wᵀ out's second derivatives come from jets (`pieces.values`)
        mode = run.plan.hessian
    elif run.second:
        hess, mode = _hessian(run, grad)
    return output, grad, jac, weighted, hess, mode, None


FORWARD_MODES = ("check_forward_ad", "check_batched_forward_grad", "check_fwd_over_rev", "check_fwd_over_fwd")
"""The modes that run forward-mode AD, which a `no_grad` block does not stop."""


def forward_piece(run: CaseRun, k: int, result: PieceResult) -> ForwardPiece | None:
    """The piece as forward-mode AD differentiates it, where a forward mode is checked and the output
    holds results made under `no_grad` (`sym.nograd`); None elsewhere."""
    if not any(getattr(run.modes, m) for m in FORWARD_MODES) or \
            not any(as_expr(o).has(nograd) for o in result.output.flat):
        return None
    released = np.vectorize(release_nograd, otypes=[object])
    output = released(result.output)
    output, grad, jac, weighted, hess, mode, kept = _derivatives(run, output)
    first = PieceResult(index=k, condition=sympy.true, sites=(), output=output, gradient=grad, jacobian=jac,
                        claim=None, hessian=hess, hessian_mode=mode, weighted=weighted, graph=kept)
    mixed = None
    gradient = second_order_gradient(result)
    if run.modes.check_fwd_over_rev and any(as_expr(g).has(nograd) for v in gradient.values() for g in v.flat):
        pulled = {n: released(v) for n, v in gradient.items()}
        hess, mode = _hessian(run, pulled)
        mixed = PieceResult(index=k, condition=sympy.true, sites=(), output=result.output, gradient=pulled,
                            jacobian=None, claim=None, hessian=hess, hessian_mode=mode)
    return ForwardPiece(first, mixed)


def second_order_gradient(result: PieceResult) -> dict:
    """The gradient whose derivatives the second-order modes check: wᵀ out's, or out's for a scalar."""
    return result.gradient if result.weighted is None else result.weighted


def _on_graph(run: CaseRun, output: np.ndarray) -> tuple:
    """`_derivatives` in graph mode: the output's graph, compiled (each shape's local derivatives taken)."""
    kept = graph_piece(run.tape, output, run.symbols)
    grad = {n: markers(s.shape, n, kept) for n, s in run.symbols.items()}
    jac = None
    if run.plan.jacobian(output.shape):
        jac = {n: markers(output.shape + s.shape, n, kept) for n, s in run.symbols.items()}
    # wᵀ out's second derivatives (a non-scalar output's) are not taken on the graph: not compared there
    mode = run.plan.hessian if run.second and run.w is None else None
    return markers(output.shape, "output", kept), grad, jac, None, None, mode, kept


def _symbolic_inputs(run: CaseRun, dtype) -> dict[str, SymTensor]:
    return {name: SymTensor(syms.copy(), dtype) for name, syms in run.symbols.items()}


class _Replay:
    """Decides each branch as a piece did: its sides, in order."""

    def __init__(self, piece: Piece):
        self.taken = [d.taken for d in piece.decisions]

    def __call__(self, condition, site) -> bool:
        return self.taken.pop(0) if self.taken else True  # a replay never outruns its piece


def kink_sites(run: CaseRun, piece: Piece) -> kinks.PieceKinks:
    """The piece's kink sites, found when a point first needs them (`kinks.located`)."""
    return kinks.PieceKinks(piece, run.symbols, lambda: record_kinks(run, piece))


def record_kinks(run: CaseRun, piece: Piece) -> tuple:
    """The piece's output from one more symbolic run along its path with kink sites recorded (each a head,
    `symbolic.heads`): (that output, the recording, the piece's decisions that a site's op made inside itself)."""
    replay = _Matching(piece)
    with recording() as rec:
        output = run_symbolic(run.case.fn, _symbolic_inputs(run, run.dtype), replay)
    owned = {replay.index[n] for n in rec.owner if n < len(replay.index) and replay.index[n] is not None}
    return output, rec, owned


class _Matching:
    """Decides each branch as the piece did, matched by the branch's site and condition: a run whose ops'
    outputs are heads may meet a branch that SymPy decided by itself on the plain expressions, so the
    order alone would not do. A branch the piece never met goes the piece's next way."""

    def __init__(self, piece: Piece):
        self.decisions = piece.decisions
        self.used = [False] * len(piece.decisions)
        self.index: list = []
        """For each branch this run decided, the piece's decision it followed (None: none)."""

    def __call__(self, condition, site) -> bool:
        free = [j for j, used in enumerate(self.used) if not used]
        j = next((j for j in free if tuple(self.decisions[j].site) == tuple(site)
                  and self.decisions[j].condition == condition), free[0] if free else None)
        self.index.append(j)
        if j is None:
            return True
        self.used[j] = True
        return self.decisions[j].taken


def extendable(piece: Piece) -> bool:
    """Whether the output may be another expression near a point than at it: an `==` or `!=`, or a `0**e`."""
    zero: dict = {}  # `is_zero` asks SymPy's assumptions (0.1 ms each): once per base up to renaming

    def zero_base(base: sympy.Expr) -> bool:
        key = renamed_shape(base)
        if key not in zero:
            zero[key] = bool(base.is_zero)
        return zero[key]

    return any(as_expr(o).has(sympy.Eq, sympy.Ne) or any(zero_base(p.base) for p in as_expr(o).atoms(sympy.Pow))
               for o in piece.output.flat)


def _hessian(run: CaseRun, grad: dict) -> tuple[np.ndarray | None, str]:
    """(the exact Hessian over all input entries, "full"), or (None, "directional") where the plan
    takes H v: it is then evaluated from the gradient at each point (`differentiate.hessian_vector_values`),
    never built as n expressions; or (None, "local") where the plan takes it at each point
    (`pieces.values.local_hessian`)."""
    mode = run.plan.piece_hessian((e for g in grad.values() for e in g.flat), localize.LOCALIZED)
    return (differentiate.hessian(grad, run.symbols) if mode == "full" else None), mode


def hessian_note(run: CaseRun, scalar: bool, pieces) -> str:
    """What the page says of the second derivatives it checks, or why it checks none."""
    if not run.modes.second_order:
        return "no second-order mode is checked (order=1, or each turned off): second derivatives are not compared"
    local = ""
    if pieces and pieces[0].graph is not None:
        local = ON_GRAPH_HESSIAN
    if pieces and pieces[0].hessian_mode == "local":
        local = ("the gradient is large and holds max, abs or steps: at each point the second derivatives "
                 "are those of the smooth expression that holds around it (each max replaced by its "
                 "largest argument there, each step by its value)")
    if pieces and not run.plan.full_hessian:
        directional = (f"more than {HESSIAN_LIMIT} Hessian entries: checked as H v along a seeded "
                       f"random direction v instead of in full")
        return f"{directional}; {local}" if local else directional
    if not scalar:
        local = "the output is not a scalar: the Hessian is that of wᵀ out for a seeded w" + \
            (f"; {local}" if local else "")
    return local
