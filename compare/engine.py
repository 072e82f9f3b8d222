"""Check one case: explore its paths, derive each piece exactly, run autograd, compare.

    check_case(case, seed=0, samples=4) -> CaseResult

A mismatch is a result (`disagree`); an exception from the case's own code
is an `error` whose message names the file, the line and the cause.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import signal
import textwrap
import threading
import traceback
import zlib
from contextlib import contextmanager
from typing import Mapping

import numpy as np
import sympy
import torch

from .judge import claims, kinks
from . import continuity, derive, numeric, wirtinger
from .numeric import oracles
from .case import Case
from .errors import CaseOutputError, display_path, one_line
from .explore import Piece, explore, is_branch, path_key, run_symbolic
from .explore.feasible import Feasibility
from .records import (AGREE, CONVENTION, DISAGREE, ERROR, CaseResult, HessianCheck, JacobianEntry, OracleResult,
                      PieceResult, PointResult, UncoveredRegion, worst)
from .sym import as_expr, detach, exact, input_symbols, release
from .symbolic import SymTensor, recording
from .symbolic.elementwise import Step
from .judge.verdict import Errors, Tolerance, agreeing, largest, measure

__all__ = ["check_case", "case_source", "explore_case", "case_symbols", "sample_points", "exact_point", "case_seed", "CaseTimeout", "CaseOutputError", "JACOBIAN_LIMIT"]

JACOBIAN_LIMIT = 400
"""Largest output size x input size for which full Jacobians are built and shown."""

FD_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-6)
"""How far finite differences may be from the exact value, besides their own error estimate."""


SECOND_ORDER_ADVICE = ("if second derivatives are the slow part (Hessians through max or abs can be), "
                       "@case(..., order=1) skips them")
"""Ends the time-limit message of a case checked to second order."""


class CaseTimeout(BaseException):
    """The case ran longer than its time limit.

    A BaseException, as KeyboardInterrupt is: an `except Exception` that
    tolerates a failing oracle (or that a case writes) must not swallow it
    and run on without a limit.
    """


@contextmanager
def time_limit(seconds: float | None, what: str = "the case", advice: str = ""):
    """Raise CaseTimeout inside the code after `seconds` (main thread only; else no limit).

    `advice`, if any, ends the message: what else than a longer limit may help.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout(f"{what} ran longer than its time limit of {seconds:g} s (see --timeout)"
                          + (f"; {advice}" if advice else ""))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)  # and again every 0.5 s, should a bare except eat it
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def case_seed(seed: int, name: str) -> int:
    """The seed of one case's samples: the run's seed and the case's name, hash-randomisation free."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63)


def case_source(case: Case) -> str:
    """The case function's source, dedented; "" where Python cannot find it."""
    try:
        return textwrap.dedent(inspect.getsource(case.fn))
    except (OSError, TypeError):
        return ""


def check_case(case: Case, *, seed: int = 0, samples: int = 4, loop_bound: int = 64,
               epsilon: float = 1e-9, timeout: float | None = 60.0, compile: str | None = None) -> CaseResult:
    """Check `case` at its example point, `samples` drawn points and a point in every piece.

    `compile` (a `torch.compile` backend, where the case names none) has autograd's
    reverse-mode runs go through the compiled function.
    """
    backend = case.compile or compile
    base = dict(known_wrong=case.options.get("known_wrong"), name=case.name, file=case.file, line=case.line, doc=case.doc, source=case_source(case),
                seed=seed, compiled=backend, parameters=tuple(getattr(case.fn, "__compare_parameters__", ())))
    if case.problem:
        return CaseResult(status=ERROR, error=f"{_where(case)}: {case.problem}", **base)
    try:
        with time_limit(timeout, advice=SECOND_ORDER_ADVICE if case.order >= 2 else ""):
            return _check(case, base, seed=seed, samples=samples if case.samples is None else case.samples,
                          loop_bound=case.loop_bound or loop_bound, epsilon=epsilon, backend=backend)
    except (Exception, CaseTimeout) as exc:  # the case's own code failed: report it, run the others
        line = getattr(exc, "line", None) if isinstance(exc, CaseOutputError) else None
        return CaseResult(status=ERROR, error=one_line(exc, case.file, line or case.line),
                          traceback=traceback.format_exc(), cause=exc, **base)


def _return_line(fn) -> int | None:
    """The line of `fn`'s `return` statement when it has exactly one."""
    try:
        lines, start = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    returns = [n.lineno for n in ast.walk(tree.body[0]) if isinstance(n, ast.Return)]
    return start + returns[0] - 1 if len(returns) == 1 else None


def _tensor_valued(fn):
    """`fn`, raising CaseOutputError when it returns anything but a tensor."""

    @functools.wraps(fn)
    def run(**inputs):
        out = fn(**inputs)
        if not isinstance(out, (torch.Tensor, SymTensor)):
            raise CaseOutputError(f"{getattr(fn, '__name__', 'the case')}() returned "
                                  f"{type(out).__name__}, not a tensor", _return_line(fn))
        return out

    return run


def _where(case: Case) -> str:
    return f"{display_path(case.file)}:{case.line}"


REDRAWS = 16
"""Draws of one sample before it settles for one where the function is not defined."""


def sample_points(case: Case, seed: int, samples: int) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """The example, then `samples` seeded draws from independent standard normals.

    A draw where the output is not finite (sqrt or log of a negative entry:
    outside the function's domain, where its derivative says nothing) is
    drawn again, then tried with its entries' absolute values, up to
    `REDRAWS` times; a sample still outside the domain after that is left
    out (the Points table shows which samples were kept).
    """
    dtype = next(iter(case.inputs.values())).dtype
    points = [("example", {k: v.detach().clone() for k, v in case.inputs.items()})]
    g = torch.Generator().manual_seed(case_seed(seed, case.name))
    for k in range(samples):
        for _ in range(REDRAWS):
            draw = {name: torch.randn(tuple(v.shape), dtype=dtype, generator=g) for name, v in case.inputs.items()}
            found = next((p for p in (draw, {n: t.abs() for n, t in draw.items()}) if numeric.defined(case.fn, p)),
                         None)
            if found is not None:
                points.append((f"sample {k + 1}", found))
                break
    return points


def _shown_points(case: Case, dtype) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """The points of `@case(show_at=...)`: a dict of inputs, or a list of them."""
    given = case.options.get("show_at")
    if not given:
        return []
    given = [given] if isinstance(given, Mapping) else list(given)
    return [(f"shown {k + 1}", {n: torch.as_tensor(p[n]).to(dtype) for n in case.inputs})
            for k, p in enumerate(given)]


def exact_point(point: Mapping[str, torch.Tensor], symbols: Mapping[str, np.ndarray]) -> dict:
    out = {}
    for name, t in point.items():
        for s, v in zip(symbols[name].flat, t.detach().reshape(-1).tolist()):
            out[s] = exact(v)
    return out


def _tensor_point(exact_point: Mapping, symbols: Mapping[str, np.ndarray], dtype) -> dict[str, torch.Tensor]:
    out = {}
    for name, syms in symbols.items():
        values = [float(exact_point[s]) for s in syms.flat]
        out[name] = torch.tensor(values, dtype=dtype).reshape(syms.shape)
    return out


def case_symbols(case: Case) -> dict[str, np.ndarray]:
    """Input name -> its SymPy symbols (`x_0, x_1, ...`; a complex input's real view `z_re, z_im`)."""
    kinds = wirtinger.complex_inputs(case.fn)
    return {name: wirtinger.complex_symbols(name, tuple(v.shape)[:-1]) if name in kinds
            else input_symbols(name, tuple(v.shape)) for name, v in case.inputs.items()}


def explore_case(case: Case, symbols: Mapping[str, np.ndarray], points: list[dict], *, seed: int = 0,
                 loop_bound: int = 64, epsilon: float = 1e-9) -> tuple:
    """(Exploration, Feasibility): the case's pieces, as `check_case` finds them.

    Every piece's witness is rounded to the case's dtype, the point autograd
    will really see, and kept only if it still takes the piece's path.
    """
    dtype = next(iter(case.inputs.values())).dtype
    flat = [s for syms in symbols.values() for s in syms.flat]
    sym_inputs = {name: SymTensor(syms, dtype) for name, syms in symbols.items()}
    feasibility = Feasibility(flat, seed=case_seed(seed, case.name))

    def in_dtype(candidate: dict) -> dict:
        return exact_point(_tensor_point(candidate, symbols, dtype), symbols)

    exploration = explore(_tensor_valued(case.fn), sym_inputs, feasibility=feasibility, points=points,
                          loop_bound=loop_bound, epsilon=epsilon, interior=in_dtype)
    return exploration, feasibility


def _check(case: Case, base: dict, *, seed: int, samples: int, loop_bound: int,
           epsilon: float, backend: str | None = None) -> CaseResult:
    dtype = next(iter(case.inputs.values())).dtype
    # reverse mode through torch.compile when asked; forward mode, finite differences and
    # Hessians stay eager (compiled autograd does not differentiate its own backward again)
    reverse = numeric.compiled(case.fn, backend) if backend else case.fn
    symbols = case_symbols(case)
    sym_inputs = {name: SymTensor(syms, dtype) for name, syms in symbols.items()}
    user_points = sample_points(case, seed, samples)
    shown_points = _shown_points(case, dtype)
    exact_points = [exact_point(p, symbols) for _, p in user_points + shown_points]
    exploration, feasibility = explore_case(case, symbols, exact_points, seed=seed, loop_bound=loop_bound,
                                       epsilon=epsilon)
    scalar = bool(exploration.pieces) and exploration.pieces[0].output.shape == ()
    second = case.order >= 2 and scalar
    u = oracles.direction(case.inputs, case_seed(seed, case.name))  # the one direction of every oracle
    pieces = [_piece_result(case, k, piece, symbols, sym_inputs, feasibility, exploration, exact_points,
                            u if second else None)
              for k, piece in enumerate(exploration.pieces)]
    sites = [_sites(case, piece, symbols, dtype) for piece in exploration.pieces]

    checks: list[tuple[str, int, dict]] = [
        (origin, exploration.point_pieces[i], exact_points[i]) for i, (origin, _) in enumerate(user_points)]
    for k, piece in enumerate(exploration.pieces):
        if piece.decisions and piece.witness is not None:
            checks.append((f"piece {k + 1}", k, piece.witness))
    shown_checks = [(origin, exploration.point_pieces[i], exact_points[i])
                    for i, (origin, _) in enumerate(shown_points, start=len(user_points))]
    everywhere = checks + shown_checks  # shown points are checked alike, reported apart
    pieces = [dataclasses.replace(p, float64=_float64_piece(case, k, piece, symbols, dtype, u if second else None))
              for k, (p, piece) in enumerate(zip(pieces, exploration.pieces))]
    exact = _exact_values(pieces, everywhere, symbols, u if second else None)
    exact64 = _exact_values([p.float64 for p in pieces if p.float64 is not None], everywhere, symbols,
                            u if second else None)
    extendable = [_extendable(piece) for piece in exploration.pieces]
    # forward mode and finite differences decide no status: they run where a reader looks for them,
    # the example, the samples and the shown points, not at the point found inside every piece
    checked = [_check_point(case, origin, k, exploration.pieces[k], pieces[k], point, symbols, dtype, *exact[i],
                            sites=sites[k], u=u, second=second, extendable=extendable[k], exact64=exact64[i],
                            reverse=reverse, informs=i < len(user_points) or i >= len(checks))
               for i, (origin, k, point) in enumerate(everywhere)]
    points, shown = checked[:len(checks)], tuple(checked[len(checks):])

    output_shape = tuple(exploration.pieces[0].output.shape) if exploration.pieces else ()
    backward = None
    kinds = wirtinger.complex_inputs(case.fn)
    note = wirtinger.describe(case.fn, user_points[0][1], dtype, pieces[0].output, pieces[0].gradient, symbols) \
        if kinds and pieces else None
    if note is not None and note.output.startswith("complex"):  # what out.backward() says of the complex output
        backward = wirtinger.backward_error(case.fn, user_points[0][1], dtype)
    elif output_shape != ():
        backward = numeric.backward_error(reverse, user_points[0][1], dtype)
    statuses = {p.status for p in points} | {DISAGREE for p in pieces if p.claim == "disproven"}
    status = worst(statuses)
    error = None
    if status == ERROR:
        first = next(p for p in points if p.status == ERROR)
        error = f"{_where(case)}: {first.origin}: {first.note}"
    uncovered = tuple(UncoveredRegion(feasibility.readable([d.literal for d in u.decisions]), u.reason,
                                      u.probability, u.how) for u in exploration.uncovered)
    shown_dtype = next(iter(kinds.values())) if kinds else dtype  # complex64's parts are its float32 run
    return CaseResult(status=status, error=error, dtype=str(shown_dtype).replace("torch.", ""), complex=note,
                      shapes={n: tuple(v.shape) for n, v in case.inputs.items()}, symbols=symbols,
                      pieces=tuple(pieces), points=tuple(points), uncovered=uncovered,
                      backward_error=backward, output_shape=output_shape,
                      hessian_note=_hessian_note(case, scalar, pieces), shown=shown, **base)


def _float64_piece(case: Case, k: int, piece: Piece, symbols, dtype, u) -> PieceResult | None:
    """The piece as the float64 run computes it, where that is another function; None where it is not.

    The symbolic run makes constants as the code asks: `linspace(..., dtype=a.dtype)` or
    `full_like(a, 0.1)` in a float32 case give float32 numbers, which the float64 autograd
    run makes in float64. That run's exact reference is then the derivative of the function
    it computed: the same path, run once more on float64 symbolic inputs.
    """
    if dtype == torch.float64:
        return None
    fresh = {name: SymTensor(syms.copy(), torch.float64) for name, syms in symbols.items()}
    output = run_symbolic(case.fn, fresh, _Replay(piece))
    if output.shape == piece.output.shape and all(a == b for a, b in zip(output.flat, piece.output.flat)):
        return None
    grad = derive.gradient(output, symbols)
    size = output.size * sum(s.size for s in symbols.values())
    jac = derive.jacobian(output, symbols) if output.ndim and size <= JACOBIAN_LIMIT else None
    hess = mode = None
    if u is not None:
        hess, mode = _hessian(grad, symbols)
    return PieceResult(index=k, condition=sympy.true, sites=(), output=output, gradient=grad, jacobian=jac,
                       claim=None, hessian=hess, hessian_mode=mode)


def _hessian_note(case: Case, scalar: bool, pieces) -> str:
    if case.order < 2:
        return f"order={case.order}: second derivatives are not checked"
    if not scalar:
        return "the output is not a scalar: no Hessian (its Jacobian is checked instead)"
    local = ""
    if pieces and pieces[0].hessian_mode == "local":
        local = ("the gradient is large and holds max, abs or steps: at each point the second derivatives "
                 "are those of the smooth expression that holds around it (each max replaced by its "
                 "largest argument there, each step by its value)")
    if pieces and not _full_hessian(sum(v.numel() for v in case.inputs.values())):
        directional = (f"more than {oracles.HESSIAN_LIMIT} Hessian entries: checked as H v along a seeded "
                       f"random direction v instead of in full")
        return f"{directional}; {local}" if local else directional
    return local


def _kinky(expr) -> bool:
    """Whether an expression holds a head that a kinked op makes (and so needs its sites recorded)."""
    expr = as_expr(expr)
    return expr.has(sympy.Max, sympy.Min, sympy.Abs, Step) or any(
        not p.exp.is_integer for p in expr.atoms(sympy.Pow))


class _Replay:
    """Decides each branch as a piece did: its sides, in order."""

    def __init__(self, piece: Piece):
        self.taken = [d.taken for d in piece.decisions]

    def __call__(self, condition, site) -> bool:
        return self.taken.pop(0) if self.taken else True  # a replay never outruns its piece


def _sites(case: Case, piece: Piece, symbols, dtype) -> list:
    """The kinked ops' nodes in a piece's output: one more symbolic run along its path, recorded."""
    if not any(_kinky(o) for o in piece.output.flat):
        return []
    fresh = {name: SymTensor(syms.copy(), dtype) for name, syms in symbols.items()}
    with recording() as noted:
        run_symbolic(case.fn, fresh, _Replay(piece))
    return kinks.present(kinks.sites(noted), piece.output)


def _piece_result(case: Case, k: int, piece: Piece, symbols, sym_inputs, feasibility: Feasibility, exploration,
                  exact_points, u) -> PieceResult:
    grad = derive.gradient(piece.output, symbols)
    size = piece.output.size * sum(s.size for s in symbols.values())
    jac = derive.jacobian(piece.output, symbols) if piece.output.ndim and size <= JACOBIAN_LIMIT else None
    hess = mode = None
    if u is not None:
        hess, mode = _hessian(grad, symbols)
    claim, note = None, ""
    if case.expect is not None:
        inside = piece.witness or next((exact_points[i] for i, j in enumerate(exploration.point_pieces)
                                        if j == k), None)
        claim, note = claims.prove(case, piece, grad, sym_inputs, inside)
    return PieceResult(index=k, condition=feasibility.readable([d.literal for d in piece.decisions]),
                       sites=tuple((d.site[1], d.taken) for d in piece.decisions),
                       output=piece.output, gradient=grad, jacobian=jac, claim=claim, claim_note=note,
                       hessian=hess, hessian_mode=mode)


_STEPPED = (sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign)
"""The heads that `derive.localize` replaces: smooth around every point off their kinks."""

LOCAL_HESSIAN_OPS = 200
"""Size (SymPy operations, all gradient entries together) above which a gradient with kinked
heads (Max, Abs, Heaviside) gets its Hessian point by point, from `derive.localize`."""


def _hessian(grad: dict, symbols) -> tuple[np.ndarray | None, str]:
    """(the exact Hessian over all input entries, "full"), or (None, "directional") when it has
    more than HESSIAN_LIMIT entries: H v is then evaluated from the gradient at each point
    (`derive.hessian_vector_values`), never built as n expressions.

    (None, "local") when the Hessian is taken at each point instead (`_local_hessian`): `diff` of
    `Max` of many arguments, and of the `Heaviside`s it makes, takes seconds per entry.
    """
    entries = [e for g in grad.values() for e in g.flat]
    if any(as_expr(e).has(*_STEPPED) for e in entries) and \
            sum(sympy.count_ops(e) for e in entries) > LOCAL_HESSIAN_OPS:
        return None, "local"
    if _full_hessian(sum(syms.size for syms in symbols.values())):
        return derive.hessian(grad, symbols), "full"
    return None, "directional"


def _full_hessian(entries: int) -> bool:
    """Is the Hessian over this many input entries small enough to build in full (else H v)?"""
    return entries * entries <= oracles.HESSIAN_LIMIT


def _second_derivatives(grad: dict, symbols, u) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(the Hessian, None) when it is small enough to build in full, else (None, H v)."""
    if _full_hessian(sum(syms.size for syms in symbols.values())):
        return derive.hessian(grad, symbols), None
    return None, derive.hessian_vector(grad, symbols, [exact(x) for x in u.tolist()])


def _local_hessian(result: PieceResult, symbols, point, u) -> tuple[str, np.ndarray]:
    """(mode, exact Hessian or H v at the point) from the gradient as it is around the point."""
    local = {n: np.vectorize(lambda e: derive.localize(e, point), otypes=[object])(g)
             for n, g in result.gradient.items()}
    hess, hess_v = _second_derivatives(local, symbols, u)
    return ("full", derive.evaluate(hess, point)) if hess is not None else \
        ("directional", derive.evaluate(hess_v, point))


def _exact_values(pieces: list[PieceResult], checks: list, symbols, u=None) -> list[tuple | None]:
    """(exact gradient, exact Jacobian or None, exact output, exact Hessian or H v or None) at each
    check, piece by piece in one call; None at a check whose piece is not among `pieces`. The
    Hessian is left None where it is taken at each point (`_local_hessian`) or not checked (`u` None)."""
    found: list = [None] * len(checks)
    for piece in pieces:
        mine = [i for i, (_, k, _) in enumerate(checks) if k == piece.index]
        at = [checks[i][2] for i in mine]
        grads = {n: derive.evaluate_many(g, at, symbols) for n, g in piece.gradient.items()}
        jacs = ({n: derive.evaluate_many(j, at, symbols) for n, j in piece.jacobian.items()}
                if piece.jacobian is not None else None)
        outputs = derive.evaluate_many(piece.output, at, symbols)
        hessians = [None] * len(at)
        if u is not None and piece.hessian is not None:
            hessians = derive.evaluate_many(piece.hessian, at, {})
        elif u is not None and piece.hessian_mode == "directional":
            hessians = derive.hessian_vector_values(piece.gradient, symbols, [exact(x) for x in u.tolist()], at)
        for row, i in enumerate(mine):
            found[i] = ({n: v[row] for n, v in grads.items()},
                        {n: v[row] for n, v in jacs.items()} if jacs is not None else None, outputs[row],
                        hessians[row])
    return found


FORWARD_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-3)
"""How far torch's float64 output may be from the exact output (atol times the largest exact
value, at least 1) before the two runs are taken to compute different functions: loose, since
it looks for another function, not for rounding, which cancellation can make large."""


def _forward_mismatch(exact_out: np.ndarray, torch_out: np.ndarray) -> str | None:
    """Why the symbolic run cannot stand for this case at the point, or None when the values match.

    Both runs execute the same code, so their outputs agree up to rounding,
    unless the code does what the symbolic side does not model: randomness,
    a write through a view, an option of an op. Only entries finite in both
    are compared (float64 may overflow where the exact value does not).
    """
    exact_out, torch_out = np.asarray(exact_out, dtype=np.float64), np.asarray(torch_out, dtype=np.float64)
    if exact_out.shape != torch_out.shape:
        return f"the symbolic output has shape {exact_out.shape}, torch's {torch_out.shape}"
    both = np.isfinite(exact_out) & np.isfinite(torch_out)
    if not both.any():
        return None
    scale = max(1.0, float(np.abs(exact_out[both]).max()))
    tolerance = Tolerance(rtol=FORWARD_TOLERANCE.rtol, atol=FORWARD_TOLERANCE.atol * scale)
    found = measure(torch_out[both], exact_out[both], torch.float64, tolerance=tolerance)
    if found.agree:
        return None
    i = tuple(int(j) for j in np.argwhere(both)[found.worst[0]])
    where = f" at entry {list(i)}" if i else ""
    return (f"the symbolic run and torch compute different outputs{where} (exact {exact_out[i]:.7g}, torch "
            f"{torch_out[i]:.7g} in float64): the case draws random numbers, writes through a view in "
            f"place or uses an option of an op that the symbolic side does not model, or rounding "
            f"swallows its value in float64; its exact derivative is not checked against this run")


def _check_point(case: Case, origin: str, k: int, piece: Piece, result: PieceResult, point: dict,
                 symbols, dtype, exact_grad: dict, exact_jac: dict | None, exact_out: np.ndarray, exact_hess=None,
                 *, sites=(), u=None, second: bool = False, extendable: bool = False, exact64=None, reverse=None,
                 informs: bool = True) -> PointResult:
    """One point. `exact64`: (gradient, Jacobian, output, Hessian) of the function the float64 run
    computes, where it is another (`_float64_piece`); the float64 run, and the float64 oracles, are
    then compared with it. `reverse`: the function autograd's reverse mode runs (compiled, or the
    case's own). `informs`: run forward mode and finite differences here (they decide no status)."""
    tensors = _tensor_point(point, symbols, dtype)
    reverse = reverse or case.fn
    continued = _continued(result, piece, point, sites, symbols, exact_grad, exact_jac, exact_out, second,
                           extendable)
    if continued is not None:
        exact_grad, exact_jac = continued.gradient, continued.jacobian
    result64, grad64, jac64, out64, continued64 = result, exact_grad, exact_jac, exact_out, continued
    hess64 = exact_hess
    if exact64 is not None:
        result64, (grad64, jac64, out64, hess64) = result.float64, exact64
        continued64 = _continued(result64, piece, point, sites, symbols, grad64, jac64, out64, second, extendable)
        if continued64 is not None:
            grad64, jac64 = continued64.gradient, continued64.jacobian
    low = numeric.autograd_run(reverse, tensors, dtype)
    high = numeric.autograd_run(reverse, tensors, torch.float64)
    by_input, by_input64 = _each(low.grads, exact_grad, dtype), _each(high.grads, grad64, torch.float64)
    errors, errors64 = _combine(by_input.values()), _combine(by_input64.values())
    kink = _kink(piece, result, point, sites, symbols, exact_grad, high.grads)
    found = _oracles(case, piece, result64, tensors, symbols, point, grad64, high.grads, by_input64, u) \
        if informs else None
    forward = found["forward"] if found else None
    jac_errors = jac_forward = None
    jac_differs = ()
    if result.jacobian is not None and kink is None:
        auto_jac = numeric.jacobian_run(reverse, tensors)
        jac_errors = _combine([measure(auto_jac[n], jac64[n], torch.float64) for n in result.jacobian])
        if not jac_errors.agree:
            jac_differs = _jacobian_differs(auto_jac, jac64, piece.output.shape)
        if forward is not None and forward.jacobian is not None:
            jac_forward = _combine([measure(forward.jacobian[n], jac64[n], torch.float64) for n in jac64])
    hessian = None
    if second:
        hessian = _hessian_check(case, result64, tensors, point, u, kink, symbols,
                                 continued64.hessian if continued64 is not None and continued64.hessian is not None
                                 else hess64, continued=continued64 is not None and continued64.hessian is not None)
    claim = None
    if case.expect is not None:
        takes_out = "out" in inspect.signature(case.expect).parameters
        out = torch.as_tensor(low.output).to(dtype) if takes_out else None
        claim = numeric.claim_exact(low.grads, numeric.claim_values(case.expect, tensors, dtype, out), dtype)
    want = path_key([d for d in piece.decisions if is_branch(d)])  # autograd records Python branches only
    status, note, rule = AGREE, "", None
    label = str(dtype).replace("torch.", "")
    for run, name in ((low, label), (high, "float64")):
        if _norm_path(run.path) != _norm_path(want):
            line = _first_difference(run.path, want)
            status, note = ERROR, (f"autograd's {name} run took another path than the exact value "
                                   f"(branch at line {line}); the point is too close to a boundary")
            break
    if status == AGREE:
        mismatch = _forward_mismatch(out64, high.output)
        if mismatch:
            status, note = ERROR, mismatch
    if status == AGREE and kink is not None:
        status, note, rule = _kink_verdict(kink, low, high, dtype)
    elif status == AGREE:
        failed = [name for name, e in ((label, errors), ("float64", errors64), ("Jacobian", jac_errors),
                                       ("Hessian", hessian.errors if hessian else None))
                  if e is not None and not e.agree]
        if failed:  # a float64 case's two runs are one: name it once
            status, note = DISAGREE, "autograd differs from the exact derivative: " + ", ".join(dict.fromkeys(failed))
    return PointResult(origin=origin, piece=k, inputs={n: t.to(torch.float64).numpy() for n, t in tensors.items()},
                       symbolic=exact_grad, autograd=low.grads, autograd64=high.grads, errors=errors,
                       errors64=errors64, jacobian_errors=jac_errors, claim_exact=claim, status=status, note=note,
                       oracles={name: o.result for name, o in found.items()} if found else None,
                       jacobian_forward_errors=jac_forward, hessian=hessian, rule=rule,
                       torch=kinks.TORCH if kink is not None else None, errors_by_input=by_input,
                       errors64_by_input=by_input64, jacobian_differs=jac_differs,
                       by_continuity=_continuity_text(continued or continued64),
                       symbolic64=grad64 if exact64 is not None else None)


def _extendable(piece: Piece) -> bool:
    """Whether the output may be another expression near a point than at it: an `==` or `!=`, or a `0**e`."""
    return any(as_expr(o).has(sympy.Eq, sympy.Ne) or any(p.base.is_zero for p in as_expr(o).atoms(sympy.Pow))
               for o in piece.output.flat)


def _continued(result: PieceResult, piece: Piece, point, sites, symbols, exact_grad, exact_jac, exact_out,
               second: bool, equality: bool) -> continuity.Continued | None:
    """The exact derivatives by continuity (`compare/continuity.py`) where the formulas fail at the point.

    Only off kinks and piece boundaries (which keep PyTorch's rules) and where
    the output itself is defined; tried where a gradient or Jacobian entry is
    undefined or, with `equality` (`_extendable`), an `==` branch or a `0**e` may be there.
    """
    undefined = any(not np.isfinite(v).all() for v in exact_grad.values()) or (
        exact_jac is not None and any(not np.isfinite(v).all() for v in exact_jac.values()))
    if not (undefined or equality) or not np.isfinite(np.asarray(exact_out, dtype=np.float64)).all():
        return None
    if kinks.locate(sites, point) or kinks.boundaries(piece.decisions, point):
        return None
    hessian = result.hessian if second else None
    return continuity.at_point(result.output, result.gradient, result.jacobian, hessian, symbols, point,
                               exact_grad, exact_jac, derive.evaluate(hessian, point) if hessian is not None else None)


def _continuity_text(continued: continuity.Continued | None) -> str:
    """What the page says of a point whose exact values were taken by continuity ("" for none)."""
    if continued is None:
        return ""
    parts = []
    if continued.equality:
        parts.append("the output is taken as it is near this point (an `==` branch of measure zero set "
                     "aside for the branch it continues, or a `0**e` that is 0 all around it), and differentiated")
    if continued.entries:
        shown = ", ".join(continued.entries[:6]) + (", …" if len(continued.entries) > 6 else "")
        parts.append(f"the formula is 0/0 or 0·∞ here; its limit is the value ({shown})")
    return "by continuity: " + "; ".join(parts)


def _jacobian_differs(got: dict, want: dict, output_shape: tuple) -> tuple[JacobianEntry, ...]:
    """The entries of autograd's float64 Jacobian outside the tolerance, in row-major order."""
    found = []
    for name, exact_jac in want.items():
        bad = ~agreeing(got[name], exact_jac, torch.float64)
        for idx in zip(*np.nonzero(bad)):
            idx = tuple(int(i) for i in idx)
            found.append(JacobianEntry(output=idx[:len(output_shape)], input=name, index=idx[len(output_shape):],
                                       exact=float(exact_jac[idx]), autograd=float(got[name][idx])))
    return tuple(sorted(found, key=lambda e: (e.output, list(want).index(e.input), e.index)))


class _Found:
    """An oracle's result, with forward mode's Jacobian kept aside for the Jacobian check."""

    def __init__(self, result: OracleResult, jacobian=None):
        self.result, self.jacobian = result, jacobian


def _oracles(case: Case, piece: Piece, result: PieceResult, tensors, symbols, point, exact_grad, reverse,
             by_input64, u) -> dict[str, _Found]:
    """Every oracle at the point: exact, reverse (float64), forward, finite differences."""
    found = {"symbolic": _Found(OracleResult(values=exact_grad, errors=None)),
             "reverse": _Found(OracleResult(values=reverse, errors=_combine(by_input64.values()),
                                            errors_by_input=by_input64))}
    total = sum(t.numel() for t in tensors.values())
    directional = total > oracles.FULL_LIMIT
    want = exact_grad
    if directional:  # the exact derivative along u, to compare with forward mode's and FD's
        flat = np.concatenate([exact_grad[n].reshape(-1) for n in symbols])
        want = {"u": np.asarray(math.fsum(flat * u.numpy()))}
    mode = "directional" if directional else "full"
    try:  # one direction u for the exact side, forward mode and finite differences: `_check`'s
        fwd = oracles.forward_mode(case.fn, tensors, u=u)
        each = _each(fwd.grads, want, torch.float64)
        fwd_errors, note = _combine(each.values()), ""
        if not fwd_errors.agree and not directional and _sees_through_detach(piece, symbols, point, fwd.grads):
            note = ("forward mode matches the derivative with detach removed: torch.no_grad() does not stop "
                    "forward-mode AD (detach() does); this is not a failure")
        found["forward"] = _Found(OracleResult(values=fwd.grads, errors=fwd_errors, errors_by_input=each,
                                               mode=mode, note=note), fwd.jacobian)
    except Exception as exc:  # forward mode is optional for a custom Function (it needs a jvp)
        found["forward"] = _Found(OracleResult(values=None, errors=None, mode=mode,
                                               note=f"forward mode failed: {one_line(exc, case.file)}"))
    try:
        fd = oracles.finite_difference(case.fn, tensors, u=u)
        own = fd.estimate if fd.estimate is not None and math.isfinite(fd.estimate) else 0.0  # NaN: no estimate
        tol = Tolerance(rtol=FD_TOLERANCE.rtol, atol=FD_TOLERANCE.atol + 10 * own)
        fd_each = _each(fd.grads, want, torch.float64, tol)
        fd_errors = _combine(fd_each.values())
        note = ""
        if fd.crossed:
            note = "a step crosses a piece boundary even when cut to a small size: the difference mixes pieces"
        if not fd_errors.agree and not directional and _sees_through_detach(piece, symbols, point, fd.grads, tol):
            note = ("finite differences cannot see detach(): they match the derivative with detach "
                    "removed, not autograd's; this is not a failure")
        found["finite_difference"] = _Found(OracleResult(values=fd.grads, errors=fd_errors, errors_by_input=fd_each,
                                                         mode=mode, estimate=fd.estimate, step=fd.step, note=note))
    except Exception as exc:
        found["finite_difference"] = _Found(OracleResult(values=None, errors=None, mode=mode,
                                                         note=f"finite differences failed: "
                                                              f"{one_line(exc, case.file)}"))
    return found


def _sees_through_detach(piece: Piece, symbols, point, got: dict, tolerance=None) -> bool:
    """Do these values match the piece's derivative with every detach removed (and the output has one)?"""
    if not any(as_expr(o).has(detach) for o in piece.output.flat):
        return False
    seen = {n: derive.evaluate(g, point) for n, g in
            derive.gradient(np.vectorize(release, otypes=[object])(piece.output), symbols).items()}
    return _against(got, seen, torch.float64, tolerance).agree


def _each(got: dict, want: dict, dtype, tolerance=None) -> dict[str, Errors]:
    return {n: measure(got[n], want[n], dtype, tolerance=tolerance) for n in want}


def _against(got: dict, want: dict, dtype, tolerance=None) -> Errors:
    return _combine(_each(got, want, dtype, tolerance).values())


_AT_A_KINK = "at a kink: the second derivative does not exist; not compared"


def _hessian_check(case: Case, result: PieceResult, tensors, point, u, kink, symbols,
                   exact_h: np.ndarray | None = None, *, continued: bool = False) -> HessianCheck:
    """`exact_h`: the exact Hessian (or H v) at the point, when already evaluated; `continued`: it was
    taken by continuity (so it is the full Hessian, also where the piece's is taken locally)."""
    if continued:
        mode = "full"
    elif result.hessian_mode == "local":  # taken at each point (`_local_hessian`)
        if kink is not None:  # no smooth expression holds around a kink
            return HessianCheck("skipped", None, None, None, _AT_A_KINK)
        mode, exact_h = _local_hessian(result, symbols, point, u)
    else:
        mode = result.hessian_mode
        if exact_h is None:
            exact_h = derive.evaluate(result.hessian, point) if mode == "full" else \
                derive.hessian_vector_values(result.gradient, symbols, [exact(x) for x in u.tolist()], [point])[0]
    try:
        got = (oracles.autograd_hessian(case.fn, tensors) if mode == "full"
               else oracles.autograd_hvp(case.fn, tensors, u))
    except Exception as exc:
        return HessianCheck(mode, exact_h, None, None, f"autograd could not compute it: {one_line(exc, case.file)}")
    if kink is not None:
        return HessianCheck(mode, exact_h, got, None, _AT_A_KINK)
    return HessianCheck(mode, exact_h, got, measure(got, exact_h, torch.float64))


def _kink(piece: Piece, result: PieceResult, point, sites, symbols, exact_grad, autograd64) -> kinks.Kink | None:
    """Whether the point is on a kink, and if so what PyTorch's rules give there."""
    on = kinks.locate(sites, point)
    lines = kinks.boundaries(piece.decisions, point)
    undefined = any(bool(np.any(~np.isfinite(exact_grad[n]) & np.isfinite(autograd64[n]))) for n in exact_grad)
    if not (on or lines or undefined):
        return None
    ops = tuple(dict.fromkeys(s.rule.op for s in on))
    texts = [f"{s.rule.op}: {s.rule.text}" for s in {s.rule.op: s for s in on}.values()]
    if lines:
        ops += ("control flow",)
        texts.append(kinks.BOUNDARY_RULE + f" (line {', '.join(map(str, lines))})")
    if on:
        value = kinks.conventional(piece.output, sites, symbols, point)
    elif lines:
        value = exact_grad
    else:
        value = None
        ops += ("undefined",)
        texts.append("the exact derivative is undefined here and no rule in the table covers it")
    return kinks.Kink(ops=ops, rule="; ".join(texts), value=value)


def _kink_verdict(kink: kinks.Kink, low, high, dtype) -> tuple[str, str, str | None]:
    """`convention` when autograd gives what PyTorch's rules give at the kink, else `disagree`."""
    where = "at a kink of " + ", ".join(o for o in kink.ops if o != "undefined") if any(
        o != "undefined" for o in kink.ops) else "where the exact derivative is undefined"
    if kink.value is None:
        return DISAGREE, f"{where}: autograd is finite, and no rule says what it should be", None
    checks = [(dtype, low), (torch.float64, high)]
    for dt, run in checks:
        if not _against(run.grads, kink.value, dt).agree:
            label = str(dt).replace("torch.", "")
            shown = "; ".join(f"{n}: autograd {_short(run.grads[n])}, rule {_short(kink.value[n])}"
                              for n in kink.value)
            return DISAGREE, f"{where}: autograd ({label}) is not what PyTorch's rule gives ({shown})", None
    return CONVENTION, f"{where}: autograd follows PyTorch's rule (torch {kinks.TORCH})", kink.rule


def _short(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=6, separator=", ", threshold=8)


def _norm_path(path) -> tuple:
    return tuple(((site[0], site[1]), taken) for site, taken in path)


def _first_difference(a, b) -> int | str:
    for x, y in zip(_norm_path(a), _norm_path(b)):
        if x != y:
            return x[0][1]
    longer = a if len(a) > len(b) else b
    return longer[min(len(a), len(b))][0][1] if len(a) != len(b) else "?"


def _combine(parts) -> Errors:
    """One Errors for several inputs: the worst of each measure."""
    ulps = [p.max_ulp for p in parts]
    return Errors(
        max_abs=largest(p.max_abs for p in parts),
        max_rel=largest(p.max_rel for p in parts),
        max_ulp=None if any(u is None for u in ulps) else max(ulps, default=0),
        agree=all(p.agree for p in parts),
        worst=None,
    )

