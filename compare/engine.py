"""Check one case: explore its paths, derive each piece exactly, run autograd, compare.

    check_case(case, seed=0, samples=4) -> CaseResult

A mismatch is a result (`disagree`); an exception from the case's own code
is an `error` whose message names the file, the line and the cause.
"""
from __future__ import annotations

import inspect
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

from . import derive, numeric
from .case import Case
from .errors import display_path, one_line
from .explore import Piece, _ByValue, explore, path_key
from .feasible import Oracle
from .records import AGREE, DISAGREE, ERROR, CaseResult, PieceResult, PointResult, UncoveredRegion
from .sym import exact, input_symbols, release
from .symtensor import BRANCH, SymTensor, as_sym
from .verdict import Errors, measure

__all__ = ["check_case", "case_seed", "CaseTimeout", "JACOBIAN_LIMIT"]

JACOBIAN_LIMIT = 400
"""Largest output size x input size for which full Jacobians are built and shown."""


class CaseTimeout(Exception):
    """The case ran longer than its time limit."""


@contextmanager
def _time_limit(seconds: float | None):
    """Raise CaseTimeout inside the case after `seconds` (main thread only; else no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout(f"the case ran longer than its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def case_seed(seed: int, name: str) -> int:
    """The seed of one case's samples: the run's seed and the case's name, hash-randomisation free."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63)


def _source(case: Case) -> str:
    try:
        return textwrap.dedent(inspect.getsource(case.fn))
    except (OSError, TypeError):
        return ""


def check_case(case: Case, *, seed: int = 0, samples: int = 4, loop_bound: int = 64,
               epsilon: float = 1e-9, timeout: float | None = 60.0) -> CaseResult:
    """Check `case` at its example point, `samples` drawn points and a point in every piece."""
    base = dict(name=case.name, file=case.file, line=case.line, doc=case.doc, source=_source(case),
                seed=seed)
    if case.problem:
        return CaseResult(status=ERROR, error=f"{_where(case)}: {case.problem}", **base)
    try:
        with _time_limit(timeout):
            return _check(case, base, seed=seed, samples=samples if case.samples is None else case.samples,
                          loop_bound=case.loop_bound or loop_bound, epsilon=epsilon)
    except Exception as exc:  # the case's own code failed: report it, run the others
        return CaseResult(status=ERROR, error=one_line(exc, case.file, case.line),
                          traceback=traceback.format_exc(), **base)


def _where(case: Case) -> str:
    return f"{display_path(case.file)}:{case.line}"


def _points(case: Case, seed: int, samples: int) -> list[tuple[str, dict[str, torch.Tensor]]]:
    dtype = next(iter(case.inputs.values())).dtype
    points = [("example", {k: v.detach().clone() for k, v in case.inputs.items()})]
    g = torch.Generator().manual_seed(case_seed(seed, case.name))
    for k in range(samples):
        points.append((f"sample {k + 1}", {name: torch.randn(tuple(v.shape), dtype=dtype, generator=g)
                                          for name, v in case.inputs.items()}))
    return points


def _exact_point(point: Mapping[str, torch.Tensor], symbols: Mapping[str, np.ndarray]) -> dict:
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


def _check(case: Case, base: dict, *, seed: int, samples: int, loop_bound: int,
           epsilon: float) -> CaseResult:
    dtype = next(iter(case.inputs.values())).dtype
    symbols = {name: input_symbols(name, tuple(v.shape)) for name, v in case.inputs.items()}
    flat_symbols = [s for syms in symbols.values() for s in syms.flat]
    sym_inputs = {name: SymTensor(syms, dtype) for name, syms in symbols.items()}
    user_points = _points(case, seed, samples)
    exact_points = [_exact_point(p, symbols) for _, p in user_points]
    oracle = Oracle(flat_symbols, seed=case_seed(seed, case.name))

    def in_dtype(candidate: dict) -> dict:
        """A witness rounded to the case's dtype: the point autograd will really see."""
        return _exact_point(_tensor_point(candidate, symbols, dtype), symbols)

    exploration = explore(case.fn, sym_inputs, oracle=oracle, points=exact_points, loop_bound=loop_bound,
                          epsilon=epsilon, interior=in_dtype)
    pieces = [_piece_result(case, k, piece, symbols, sym_inputs, oracle, exploration, exact_points)
              for k, piece in enumerate(exploration.pieces)]

    checks: list[tuple[str, int, dict]] = [
        (origin, exploration.point_pieces[i], exact_points[i]) for i, (origin, _) in enumerate(user_points)]
    for k, piece in enumerate(exploration.pieces):
        if piece.decisions and piece.witness is not None:
            checks.append((f"piece {k + 1}", k, piece.witness))
    exact = _exact_values(pieces, checks, symbols)
    points = [_check_point(case, origin, k, exploration.pieces[k], pieces[k], point, symbols, dtype, *exact[i])
              for i, (origin, k, point) in enumerate(checks)]

    output_shape = tuple(exploration.pieces[0].output.shape) if exploration.pieces else ()
    backward = None
    if output_shape != ():
        backward = numeric.backward_error(case.fn, user_points[0][1], dtype)
    statuses = {p.status for p in points} | {DISAGREE for p in pieces if p.claim == "disproven"}
    status = ERROR if ERROR in statuses else DISAGREE if DISAGREE in statuses else AGREE
    error = None
    if status == ERROR:
        first = next(p for p in points if p.status == ERROR)
        error = f"{_where(case)}: {first.origin}: {first.note}"
    uncovered = tuple(UncoveredRegion(oracle.readable([d.literal for d in u.decisions]), u.reason,
                                      u.probability, u.how) for u in exploration.uncovered)
    return CaseResult(status=status, error=error, dtype=str(dtype).replace("torch.", ""),
                      shapes={n: tuple(v.shape) for n, v in case.inputs.items()}, symbols=symbols,
                      pieces=tuple(pieces), points=tuple(points), uncovered=uncovered,
                      backward_error=backward, output_shape=output_shape, **base)


def _piece_result(case: Case, k: int, piece: Piece, symbols, sym_inputs, oracle: Oracle, exploration,
                  exact_points) -> PieceResult:
    grad = derive.gradient(piece.output, symbols)
    size = piece.output.size * sum(s.size for s in symbols.values())
    jac = derive.jacobian(piece.output, symbols) if piece.output.ndim and size <= JACOBIAN_LIMIT else None
    claim, note = None, ""
    if case.expect is not None:
        inside = piece.witness or next((exact_points[i] for i, j in enumerate(exploration.point_pieces)
                                        if j == k), None)
        claim, note = _prove_claim(case, piece, grad, sym_inputs, inside)
    return PieceResult(index=k, condition=oracle.readable([d.literal for d in piece.decisions]),
                       sites=tuple((d.site[1], d.taken) for d in piece.decisions),
                       output=piece.output, gradient=grad, jacobian=jac, claim=claim, claim_note=note)


def _prove_claim(case: Case, piece: Piece, grad: dict, sym_inputs, point: dict | None) -> tuple[str, str]:
    """Is `expect` the exact gradient on this piece? Proven by algebra, or refuted at a point.

    `detach` is released on both sides: the claim speaks of values
    (`x.grad == u` where `u = (x*x).detach()`).
    """
    kwargs = dict(sym_inputs)
    if "out" in inspect.signature(case.expect).parameters:
        kwargs["out"] = SymTensor(piece.output)
    token = BRANCH.set(_ByValue(point) if point is not None else None)
    try:
        got = case.expect(**kwargs)
    finally:
        BRANCH.reset(token)
    claimed = got if isinstance(got, Mapping) else {next(iter(sym_inputs)): got}
    unproven = []
    for name, g in grad.items():
        if name not in claimed:
            raise KeyError(f"expect gives no gradient for input {name!r}")
        want = np.broadcast_to(as_sym(claimed[name]).data, g.shape)
        if _same_template(want, g, sym_inputs):
            continue
        for idx in np.ndindex(*g.shape):
            difference = release(sympy.sympify(want[idx])) - release(g[idx])
            if difference == 0 or _vanishes(difference):
                continue
            entry = f"{name}{list(idx) if idx else ''}"
            if point is not None:
                value = difference.xreplace(point)
                if value.is_number and value.evalf(30) != 0:
                    return "disproven", f"{entry}: the claim gives {want[idx]}, the derivative is {g[idx]}"
            unproven.append(entry)
    if unproven:
        return "unproven", "no algebraic proof for " + ", ".join(unproven[:3])
    return "proven", ""


def _exact_values(pieces: list[PieceResult], checks: list, symbols) -> list[tuple[dict, dict | None]]:
    """(exact gradient, exact Jacobian or None) at each check, evaluated piece by piece in one call."""
    found: list = [None] * len(checks)
    for piece in pieces:
        mine = [i for i, (_, k, _) in enumerate(checks) if k == piece.index]
        at = [checks[i][2] for i in mine]
        grads = {n: derive.evaluate_many(g, at, symbols) for n, g in piece.gradient.items()}
        jacs = ({n: derive.evaluate_many(j, at, symbols) for n, j in piece.jacobian.items()}
                if piece.jacobian is not None else None)
        for row, i in enumerate(mine):
            found[i] = ({n: v[row] for n, v in grads.items()},
                        {n: v[row] for n, v in jacs.items()} if jacs is not None else None)
    return found


def _vanishes(difference: sympy.Expr) -> bool:
    """Is `difference` zero by algebra? `simplify` only on small expressions: it is slow on large ones."""
    return sympy.expand(difference) == 0 or sympy.count_ops(difference) < 200 and sympy.simplify(difference) == 0


def _same_template(want: np.ndarray, grad: np.ndarray, sym_inputs) -> bool:
    """The claim and the gradient follow one template each, and the templates are equal.

    Entry i of each is its template with the inputs' entry i substituted,
    so equal templates prove every entry at once: one comparison for
    n entries, where entry by entry would be n `expand`s.
    """
    if grad.ndim == 0 or grad.size < 2:
        return False
    inputs = {n: t.data for n, t in sym_inputs.items()}
    got, claimed = derive.template(grad, inputs), derive.template(np.asarray(want), inputs)
    if got is None or claimed is None:
        return False
    difference = release(claimed) - release(got)
    return difference == 0 or _vanishes(difference)


def _check_point(case: Case, origin: str, k: int, piece: Piece, result: PieceResult, point: dict,
                 symbols, dtype, exact_grad: dict, exact_jac: dict | None) -> PointResult:
    tensors = _tensor_point(point, symbols, dtype)
    low = numeric.autograd_run(case.fn, tensors, dtype)
    high = numeric.autograd_run(case.fn, tensors, torch.float64)
    errors = _combine([measure(low.grads[n], exact_grad[n], dtype) for n in exact_grad])
    errors64 = _combine([measure(high.grads[n], exact_grad[n], torch.float64) for n in exact_grad])
    jac_errors = None
    if result.jacobian is not None:
        auto_jac = numeric.jacobian_run(case.fn, tensors)
        jac_errors = _combine([measure(auto_jac[n], exact_jac[n], torch.float64) for n in result.jacobian])
    claim = None
    if case.expect is not None:
        takes_out = "out" in inspect.signature(case.expect).parameters
        out = torch.as_tensor(low.output).to(dtype) if takes_out else None
        claim = numeric.claim_exact(low.grads, numeric.claim_values(case.expect, tensors, dtype, out), dtype)
    want = path_key(piece.decisions)
    status, note = AGREE, ""
    for run, label in ((low, str(dtype).replace("torch.", "")), (high, "float64")):
        if _norm_path(run.path) != _norm_path(want):
            line = _first_difference(run.path, want)
            status, note = ERROR, (f"autograd's {label} run took another path than the exact value "
                                   f"(branch at line {line}); the point is too close to a boundary")
            break
    if status == AGREE:
        failed = [label for label, e in ((str(dtype).replace("torch.", ""), errors), ("float64", errors64),
                                          ("Jacobian", jac_errors)) if e is not None and not e.agree]
        if failed:
            status, note = DISAGREE, "autograd differs from the exact derivative: " + ", ".join(failed)
    return PointResult(origin=origin, piece=k, inputs={n: t.to(torch.float64).numpy() for n, t in tensors.items()},
                       symbolic=exact_grad, autograd=low.grads, autograd64=high.grads, errors=errors,
                       errors64=errors64, jacobian_errors=jac_errors, claim_exact=claim, status=status, note=note)


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
        max_abs=max((p.max_abs for p in parts), default=0.0),
        max_rel=max((p.max_rel for p in parts), default=0.0),
        max_ulp=None if any(u is None for u in ulps) else max(ulps, default=0),
        agree=all(p.agree for p in parts),
        worst=None,
    )

