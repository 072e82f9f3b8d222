"""Check one case, stage by stage: explore its paths, derive each piece exactly, check every point.

    check_case(case, Options(seed=0, samples=4)) -> CaseResult

First `sampling`: the example, seeded samples and the points the case asks to show; then the
stages, numbered as the README's "How it works" and the packages number them:
1. `explore/`: the case's control flow as pieces, each with a point inside;
2. `pieces/`: each piece's exact derivatives and kink sites, then their values at every point;
3. `numeric/` and 4. `judge/`, point by point (`at_point`): torch's numbers against the exact
   values, and a status; the case's status is the worst of its points' (stage 5, `render/`, is the CLI's).

A mismatch is a result (`disagree`); an exception from the case's own code
is an `error` whose message names the file, the line and the cause.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import gc
import inspect
import os
import textwrap
import traceback
from typing import Mapping

import numpy as np
import sympy
import torch

from . import numeric, wirtinger
from .basis import basis
from .case import Case
from .context import CaseRun
from .errors import CaseOutputError, display_path, one_line
from .exact.graph.tape import Tape, TreeTooLarge, graph, watching
from .pieces.values import PointExact, PointToCheck, exact_values
from .explore import explore
from .explore.feasible import Feasibility
from .outputs import differentiated_outputs
from .limits import SECOND_ORDER_ADVICE, CaseTimeout, time_limit
from .options import Options, for_case
from .numeric import oracles
from .numeric.modes import cotangent
from .pieces.derivatives import (Derived, derive_piece, extendable, float64_piece, forward_piece, hessian_note,
                                 kink_sites, on_tree)
from .plan import decide
from .at_point import check_point
from .progress import stage
from .sampling import case_seed, case_symbols, exact_point, sample_points, shown_points, tensor_point
from .records import DISAGREE, ERROR, CaseResult, OutsideRegion, UncoveredRegion, worst
from .symbolic import SymTensor, shared_runs
from .symbolic.draws import described, fixed_draw
from .symbolic.observed import Observed, observing

__all__ = ["check_case", "case_source", "explore_case", "CaseOptions", "CaseTimeout", "CaseOutputError"]


@dataclasses.dataclass(frozen=True)
class CaseOptions:
    """What one case is checked with, each worked out once before its stages run."""

    options: Options
    """The run's options with the case's own declarations in their place (`options.for_case`)."""
    seed: int
    """The case's own seed (`sampling.case_seed` of the run's seed and the case's name): its samples, its
    random ops' draws, the explorer's draws and the oracles' directions."""
    dtype: torch.dtype
    """The dtype of the case's inputs (one for all of them; `case.make_case` refuses a mix)."""

    @classmethod
    def of(cls, case: Case, options: Options) -> CaseOptions:
        """The record for `case` under `options` (already applied to it: `for_case`)."""
        return cls(options, case_seed(options.seed, case.name), case.dtype)


def check_case(case: Case, options: Options | None = None, **changes) -> CaseResult:
    """Check `case` at its example point, `samples` drawn points and a point in every piece.

    `options`: what the run asks (default: `Options()`); `changes` are `Options` fields (`seed=`,
    `samples=`, `modes=`, ...) replacing its own. What the case declares wins over both (`for_case`).
    """
    options = for_case(dataclasses.replace(options or Options(), **changes), case)
    base = dict(known_wrong=case.options.get("known_wrong"), name=case.name, file=case.file, line=case.line,
                doc=case.doc, source=case_source(case), seed=options.seed, compiled=options.compile,
                parameters=tuple(getattr(case.fn, "__compare_parameters__", ())))
    if case.problem:
        return CaseResult(status=ERROR, error=f"{_where(case)}: {case.problem}", **base)
    try:
        with time_limit(options.timeout, advice=SECOND_ORDER_ADVICE if options.modes.second_order else ""), \
                _few_collections():
            return _check(case, base, CaseOptions.of(case, options))
    except (Exception, CaseTimeout) as exc:  # the case's own code failed: report it, run the others
        line = getattr(exc, "line", None) if isinstance(exc, CaseOutputError) else None
        return CaseResult(status=ERROR, error=one_line(exc, case.file, line or case.line),
                          traceback=traceback.format_exc(), cause=exc, **base)


GC_THRESHOLDS = (50_000, 20, 100)
"""CPython's collector thresholds while a case is checked (at least these; the defaults are 700, 10, 10)."""


@contextlib.contextmanager
def _few_collections():
    """Collect cyclic garbage less often while a case is checked.

    A check builds millions of SymPy objects, none of them in a cycle, and CPython's collector
    walks every long-lived object each time its oldest generation is due (every 70,000
    allocations by default): a third of the time of a gradient of 10,000 entries. Young objects
    are still collected every 50,000 allocations; the thresholds come back as they were after.
    """
    before = gc.get_threshold()
    gc.set_threshold(*(max(b, t) for b, t in zip(before, GC_THRESHOLDS)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def case_source(case: Case) -> str:
    """The case function's source, dedented; "" where Python cannot find it."""
    try:
        return textwrap.dedent(inspect.getsource(case.fn))
    except (OSError, TypeError):
        return ""


def explore_case(case: Case, symbols: Mapping[str, np.ndarray], points: list[dict], asked: CaseOptions) -> tuple:
    """(Exploration, Feasibility, Tape or None): the case's pieces, as `check_case` finds them.

    The case runs as trees of SymPy expressions, measured; where a tree swells (`exact.graph.tape.swollen`)
    it runs again on the traced graph, whose Tape is returned (None for trees). Every piece's
    witness is rounded to the case's dtype, the point autograd will really see, and kept only if
    it still takes the piece's path.
    """
    explored = functools.partial(_explore_case, case, symbols, points, asked)
    if any(t.dtype.is_complex for t in case.inputs.values()):
        return explored() + (None,)  # complex parts stay trees: their pages name the Wirtinger convention
    try:
        with watching():
            return explored() + (None,)
    except TreeTooLarge:
        tape = Tape()
        with graph(tape):
            return explored() + (tape,)


def _explore_case(case: Case, symbols: Mapping[str, np.ndarray], points: list[dict], asked: CaseOptions) -> tuple:
    flat = [s for syms in symbols.values() for s in syms.flat]
    sym_inputs = {name: SymTensor(syms, asked.dtype) for name, syms in symbols.items()}
    feasibility = Feasibility(flat, seed=asked.seed)

    def in_dtype(candidate: dict) -> dict:
        return exact_point(tensor_point(candidate, symbols, asked.dtype), symbols)

    exploration = explore(_tensor_valued(case.fn), sym_inputs, feasibility=feasibility, points=points,
                          loop_bound=asked.options.loop_bound, epsilon=asked.options.epsilon, interior=in_dtype)
    for region in exploration.outside:
        witness = tensor_point(region.witness, symbols, asked.dtype) if region.witness else None
        _confirm_outside(case, region, witness)
    return exploration, feasibility


def _confirm_outside(case: Case, region, point: dict | None) -> None:
    """Torch's own run raises alike at a point inside a region where the symbolic run raised; else
    that raise was the symbolic side's doing, and it is the case's error, as any raise is."""
    if point is not None:
        try:
            case.fn(**{name: t.detach().clone().requires_grad_(True) for name, t in point.items()})
        except type(region.exception):
            return
        except Exception:  # another failure: the symbolic raise stands unconfirmed
            pass
    raise region.exception


def _uncovered(exploration, feasibility: Feasibility) -> tuple[UncoveredRegion, ...]:
    """The regions not explored: each cut by a rule alone, and those left at the budget as one."""
    def readable(u) -> sympy.Basic:
        return feasibility.readable([d.literal for d in u.decisions])

    cut = [UncoveredRegion(readable(u), u.reason, u.probability, u.how)
           for u in exploration.uncovered if not u.stopped]
    left = [u for u in exploration.uncovered if u.stopped]
    if left:
        hows = {u.how for u in left}
        how = hows.pop() if len(hows) == 1 else "a sum of exact masses and Monte Carlo estimates"
        cut.append(UncoveredRegion(sympy.Or(*(readable(u) for u in left)), left[0].reason,
                                   sum(u.probability for u in left), how, paths=len(left)))
    return tuple(cut)


def _outside(exploration, feasibility: Feasibility, origins: list[str]) -> tuple[OutsideRegion, ...]:
    """The regions where the case raises, as the pages and results.json show them."""
    return tuple(OutsideRegion(feasibility.readable([d.literal for d in r.decisions]), r.error,
                               f"line {r.site[1]} of {os.path.basename(r.site[0])}", r.probability, r.how,
                               tuple(origins[i] for i in r.points)) for r in exploration.outside)


def _check(case: Case, base: dict, asked: CaseOptions) -> CaseResult:
    # every run of the case, symbolic or autograd, starts from one state of torch's generator: a random
    # op then computes one function of the inputs, whose draw the symbolic run takes as a constant
    case = dataclasses.replace(case, fn=fixed_draw(case.fn, asked.seed))
    fn, settled = differentiated_outputs(case.fn, case.inputs)  # several outputs: those autograd differentiates
    case = dataclasses.replace(case, fn=fn)
    stage("making the symbols and the points")
    symbols = case_symbols(case)
    user_points = sample_points(case, asked.seed, asked.options.samples)
    shown = shown_points(case, asked.dtype)
    stage("exploring the control flow")
    (exploration, feasibility, exact_points, tape), seen = _explore(case, asked, symbols, user_points + shown)
    structure = basis(symbols, seen.structured, {})  # for the claim's proof; the whole basis once derived
    moved = _onto_structure(user_points, structure)
    if moved is not None:  # samples drawn off a structured input's structure: moved onto it, explored again
        user_points = moved
        (exploration, feasibility, exact_points, tape), seen = _explore(case, asked, symbols, user_points + shown)
    fn, outputs_note = settled()
    case = dataclasses.replace(case, fn=fn)
    run = dataclasses.replace(_case_run(case, asked, symbols, exploration), basis=structure, tape=tape)
    checks = _checks(exploration, exact_points, [o for o, _ in user_points], [o for o, _ in shown],
                     asked.options.oracles)
    work, seen64 = _derived(run, exploration, feasibility, exact_points, checks)
    run = _with_basis(run, seen, seen64, outputs_note)
    stage("exact values at every point")
    exact = exact_values(run, [w.result for w in work], checks)
    exact64 = exact_values(run, [w.result.float64 for w in work if w.result.float64 is not None], checks)
    forward = exact_values(run, [w.forward.result for w in work if w.forward is not None], checks)
    mixed = exact_values(run, [w.forward.mixed for w in work if w.forward and w.forward.mixed], checks)
    checked = []
    for i, c in enumerate(checks):
        stage(f"autograd at point {i + 1} of {len(checks)}")
        checked.append(check_point(run, work[c.piece], c, PointExact(exact[i], exact64[i], forward[i], mixed[i])))
    # shown points are checked alike, reported apart (those outside the domain are not checked)
    done = len(checks) - sum(j is not None for j in exploration.point_pieces[len(user_points):])
    base = dict(base, outside=_outside(exploration, feasibility, [o for o, _ in user_points + shown]))
    return _case_result(run, base, (exploration, feasibility), work,
                        (tuple(checked[:done]), tuple(checked[done:])), user_points[0][1])


def _explore(case: Case, asked: CaseOptions, symbols, points: list) -> tuple[tuple, Observed]:
    """((exploration, feasibility, exact points, tape or None), what the runs observed: structured
    arguments, casts)."""
    exact_points = [exact_point(p, symbols) for _, p in points]
    with observing() as seen:
        exploration, feasibility, tape = explore_case(case, symbols, exact_points, asked)
    return (exploration, feasibility, exact_points, tape), seen


def _onto_structure(points: list, found) -> list | None:
    """The drawn samples moved onto the structure of the inputs that ops read as structured matrices,
    keeping the entries they read (`Basis.point`): a symmetric argument's sample is symmetric, a
    triangular one's triangular, as the op's contract asks. None where no sample moves."""
    if found.projection is None:
        return None
    moved = [(o, found.point(p) if o.startswith("sample") else p) for o, p in points]
    same = all(torch.equal(p[n], q[n]) for (_, p), (_, q) in zip(points, moved) for n in p)
    return None if same else moved


def _case_run(case: Case, asked: CaseOptions, symbols, exploration) -> CaseRun:
    scalar, options = _scalar(exploration), asked.options
    # reverse mode through torch.compile when asked; forward mode, finite differences and
    # Hessians stay eager (compiled autograd does not differentiate its own backward again)
    reverse = numeric.compiled(case.fn, options.compile) if options.compile else case.fn
    u = oracles.direction(case.inputs, asked.seed)  # the one direction of every oracle, and of the exact H v
    shape = tuple(exploration.pieces[0].output.shape) if exploration.pieces else ()
    return CaseRun(case=case, dtype=asked.dtype, symbols=symbols, seed=asked.seed, u=u,
                   second=options.modes.second_order and bool(exploration.pieces), reverse=reverse,
                   plan=decide(s.size for s in symbols.values()),
                   modes=options.modes, w=None if scalar else cotangent(shape, asked.seed), oracles=options.oracles,
                   asked=frozenset(k for k, v in case.modes.items() if v))


def _with_basis(run: CaseRun, seen: Observed, seen64: Observed | None, outputs_note: str) -> CaseRun:
    """`run` with what its comparisons are held to (`compare.basis`), and its direction `u` moved onto the
    structured inputs' directions. `seen64`: the float64 replays' observations (None: the case's dtype
    is float64, and its own runs are the float64 run's); `outputs_note`: which outputs are checked,
    for a function that returns several ("" otherwise)."""
    lowered = {run.dtype: seen.lowered, torch.float64: seen.lowered if seen64 is None else seen64.lowered}
    found = basis(run.symbols, seen.structured + (seen64.structured if seen64 else []), lowered)
    if outputs_note:
        found = dataclasses.replace(found, notes=(outputs_note,) + found.notes)
    return dataclasses.replace(run, basis=found, u=found.direction(run.u))


def _piece_stage(what: str, k: int, pieces: list) -> None:
    stage(what + (f", piece {k + 1} of {len(pieces)}" if len(pieces) > 1 else ""))


def _scalar(exploration) -> bool:
    return bool(exploration.pieces) and exploration.pieces[0].output.shape == ()


def _derived(run: CaseRun, exploration, feasibility: Feasibility, exact_points: list[dict],
             checks: list[PointToCheck]) -> tuple[list[Derived], Observed | None]:
    """Every piece derived: its exact derivatives and claim, then its kink sites, then its float64 twin;
    and what the float64 replays observed (None where the case's dtype is float64: there are none).
    A piece kept on the graph with a check on a kink of one of its nodes is derived as a tree instead."""
    def inside(k: int, piece) -> dict | None:
        return piece.witness or next((exact_points[i] for i, j in enumerate(exploration.point_pieces) if j == k),
                                     None)

    pieces, runs, results = list(exploration.pieces), [run] * len(exploration.pieces), []
    for k, piece in enumerate(pieces):
        _piece_stage("deriving", k, pieces)
        results.append(derive_piece(run, k, piece, feasibility, inside(k, piece)))
        tree = on_tree(run, piece, results[k], [c.point for c in checks if c.piece == k])
        if tree is not None:  # a point on a kink of a node: PyTorch's rules apply to the tree
            runs[k], pieces[k] = tree
            results[k] = derive_piece(runs[k], k, pieces[k], feasibility, inside(k, pieces[k]))
    stage("finding kinks")
    sites = [kink_sites(r, piece) for r, piece in zip(runs, pieces)]
    with shared_runs(), observing() as seen64:  # the pieces' float64 replays share their paths' prefixes
        for k, piece in enumerate(pieces):
            _piece_stage("the code once more in float64", k, pieces)
            results[k] = dataclasses.replace(results[k], float64=float64_piece(runs[k], k, piece))
    derived = [Derived(piece, r, s, extendable(piece), forward_piece(runs[k], k, r))
               for k, (piece, r, s) in enumerate(zip(pieces, results, sites))]
    return derived, (None if run.dtype == torch.float64 else seen64)


def _checks(exploration, exact_points: list[dict], users: list[str], shown: list[str],
            oracles: bool) -> list[PointToCheck]:
    """The example and samples, a point inside each piece of a case with branches, then the shown points.

    Forward mode and finite differences decide no status: they run where a reader looks for them,
    the example, the samples and the shown points, not at the point found inside every piece, and
    nowhere without `oracles`."""
    def at(i: int, origin: str) -> list[PointToCheck]:  # none for a point outside the function's domain
        k = exploration.point_pieces[i]
        return [] if k is None else [PointToCheck(origin, k, exact_points[i], informs=oracles)]

    checks = [c for i, origin in enumerate(users) for c in at(i, origin)]
    checks += [PointToCheck(f"piece {k + 1}", k, piece.witness, informs=False)
               for k, piece in enumerate(exploration.pieces) if piece.decisions and piece.witness is not None]
    return checks + [c for i, origin in enumerate(shown, start=len(users)) for c in at(i, origin)]


def _case_result(run: CaseRun, base: dict, explored, work: list[Derived], checked, example) -> CaseResult:
    exploration, feasibility = explored
    points, shown = checked
    case, pieces = run.case, tuple(w.result for w in work)
    output_shape = tuple(exploration.pieces[0].output.shape) if exploration.pieces else ()
    kinds = wirtinger.complex_inputs(case.fn)
    note = wirtinger.describe(case.fn, example, run.dtype, pieces[0].output, pieces[0].gradient, run.symbols) \
        if kinds and pieces else None
    status = worst({p.status for p in points} | {DISAGREE for p in pieces if p.claim == "disproven"})
    error = None
    if status == ERROR:
        first = next(p for p in points if p.status == ERROR)
        error = f"{_where(case)}: {first.origin}: {first.note}"
    uncovered = _uncovered(exploration, feasibility)
    shown_dtype = next(iter(kinds.values())) if kinds else run.dtype  # complex64's parts are its float32 run
    draws = described(getattr(case.fn, "draws", ()), run.seed)
    return CaseResult(status=status, error=error, dtype=str(shown_dtype).replace("torch.", ""), complex=note,
                      draws=draws,
                      comparison_notes=run.basis.notes,
                      shapes={n: tuple(v.shape) for n, v in case.inputs.items()}, symbols=run.symbols,
                      pieces=pieces, points=points, uncovered=uncovered,
                      backward_error=_backward_error(run, example, note, output_shape), output_shape=output_shape,
                      hessian_note=hessian_note(run, _scalar(exploration), pieces), shown=shown,
                      modes=run.modes.on(), **base)


def _backward_error(run: CaseRun, example, note, output_shape: tuple) -> str | None:
    """What `out.backward()` says of the output at the example: a complex or non-scalar output refuses."""
    if note is not None and note.output.startswith("complex"):
        return wirtinger.backward_error(run.case.fn, example, run.dtype)
    if output_shape != ():
        return numeric.backward_error(run.reverse, example, run.dtype)
    return None


def _return_line(fn) -> int | None:
    """The line of `fn`'s `return` statement when it has exactly one."""
    try:
        lines, start = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    returns = [n.lineno for n in ast.walk(tree.body[0]) if isinstance(n, ast.Return)]
    return start + returns[0] - 1 if len(returns) == 1 else None


NOT_DIFFERENTIATED = "element 0 of tensors does not require grad and does not have a grad_fn"
"""What torch raises for `out.sum().backward()` on an integer or bool output."""


def _tensor_valued(fn):
    """`fn`, raising CaseOutputError when it returns anything but a floating or complex tensor.

    An integer or bool output (`(x > 0).long()`, `argmax`) is an error, neither `agree` nor
    `disagree`: its exact derivative is 0 off its jumps, but autograd computes no gradient at all
    (torch differentiates floating and complex tensors only, and `out.sum().backward()` raises), so
    there is nothing to compare, and autograd is not wrong to refuse. Saying `agree` would claim a
    gradient torch never gives."""

    @functools.wraps(fn)
    def run(**inputs):
        out = fn(**inputs)
        name = getattr(fn, "__name__", "the case")
        if not isinstance(out, (torch.Tensor, SymTensor)):
            raise CaseOutputError(f"{name}() returned {type(out).__name__}, not a tensor", _return_line(fn))
        if not (out.dtype.is_floating_point or out.dtype.is_complex):
            raise CaseOutputError(f"{name}() returns a tensor of {str(out.dtype).replace('torch.', '')}, which "
                                  f"autograd does not differentiate: out.sum().backward() raises "
                                  f"\"RuntimeError: {NOT_DIFFERENTIATED}\", so there is no gradient to check",
                                  _return_line(fn))
        return out

    return run


def _where(case: Case) -> str:
    return f"{display_path(case.file)}:{case.line}"
