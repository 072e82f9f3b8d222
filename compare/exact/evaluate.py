"""Exact values of expressions at points, correctly rounded to float64.

`evaluate_many` compiles each distinct entry shape once (`4*x_0`, ..., `4*x_9999` are all `4*x`, see
`shapes`) and runs it over every entry and every point at once, on NumPy object arrays:

* first on Arb's balls (`ball`, python-flint) at 128 bits: where both ends
  of an entry's ball round to the same float64, that float is the exact
  value correctly rounded, by proof (Arb's balls contain the exact result);
* an entry the balls leave undecided (a value within about 2**-128 of a
  rounding tie, an exact cancellation, a pole) that is tiny is tested for
  being 0 by algebra (`zero.identically_zero`), once for its whole group;
* else rational operations (+, -, *, /, integer powers, Abs, Max, Min, sign,
  Heaviside, Piecewise) run on exact `Fraction`s (`arithmetic`): the result is the exact value,
  correctly rounded to float64, as the entry-by-entry `evaluate` gives;
* anything else (sqrt, exp, log, ...) runs in mpmath at 128 and again at
  256 bits. Where both round to the same float64, that float is kept;
  where they differ, the entry falls back to SymPy's exact evaluation.
  Agreement of two precisions is strong evidence, not a proof, as SymPy's
  own `evalf` is;
* anything these cannot run, or that raises (a division by zero, say),
  falls back to `evaluate` for those entries.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

import mpmath
import numpy as np
import sympy

from . import ball
from .arithmetic import MPMATH, FractionRun, MpmathRun, Unsupported, fraction, nearest_float
from .shapes import OWN, entry_shape
from .sym import as_expr, release, to_float
from .zero import identically_zero

__all__ = ["evaluate", "evaluate_many", "run_group", "TINY", "PRECISIONS", "CANCELLED"]


def evaluate(exprs: np.ndarray, point: Mapping[sympy.Symbol, sympy.Rational]) -> np.ndarray:
    """The exact value of each expression at `point`, rounded to the nearest float64."""
    out = np.empty(exprs.shape, dtype=np.float64)
    for idx in np.ndindex(*exprs.shape):
        out[idx] = _exact_float(release(as_expr(exprs[idx])), point)
    return out


TINY = 2.0 ** -300
"""A value this small (SymPy's `evalf` gives one, with no correct digit, for an exact cancellation
such as the gradient of softmax(x).sum(), which is 0) is worth the algebraic test `identically_zero`."""


def _exact_float(expr: sympy.Expr, point: Mapping) -> float:
    """SymPy's value of `expr` at `point`, as the nearest float64; 0 where `expr` is zero by algebra."""
    value = to_float(expr.xreplace(point))
    if value != 0 and abs(value) < TINY and identically_zero(expr):
        return 0.0
    return value


PRECISIONS = (128, 256)
"""Bits of the two mpmath evaluations that must agree for a non-rational entry."""

CANCELLED = 2.0 ** -100
"""Where the two evaluations disagree below this size, the entry is tested for being 0 by algebra."""


def evaluate_many(exprs: np.ndarray, points: Sequence[Mapping], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """`evaluate(exprs, p)` for every point p, stacked: shape (len(points),) + exprs.shape.

    `inputs` (input name -> its symbols) tells which symbols belong to an
    entry: entries whose expressions differ only in their own entry's
    symbols are evaluated together (see the module docstring for exactness).
    """
    count = len(points)
    if count == 0 or exprs.size == 0:
        return np.empty((count,) + exprs.shape, dtype=np.float64)
    try:
        return _evaluate_together(exprs, points, inputs)
    except Unsupported:  # an infinite coordinate: those points by SymPy alone (exp(-oo) = 0), the others together
        out = np.empty((count,) + exprs.shape, dtype=np.float64)
        extended = [i for i, p in enumerate(points) if not _rational(p)]
        rest = [i for i in range(count) if i not in extended]
        if rest:
            out[rest] = _evaluate_together(exprs, [points[i] for i in rest], inputs)
        for i in extended:
            out[i] = evaluate(exprs, points[i])
        return out


def _evaluate_together(exprs: np.ndarray, points: Sequence[Mapping], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """`evaluate_many` where every coordinate is rational (else `Unsupported`, from `fraction`)."""
    count = len(points)
    out = np.empty((count, exprs.size), dtype=np.float64)
    flat = [as_expr(e) for e in exprs.flat]  # released (detach(e) read as e) one group at a time
    same = {name: syms.reshape(-1) for name, syms in inputs.items() if syms.shape == exprs.shape}
    groups: dict = defaultdict(list)
    for i, e in enumerate(flat):
        groups[entry_shape(e, {syms[i]: (OWN, name) for name, syms in same.items()})].append(i)
    values = _Values(points, same)
    # without inputs of the array's shape (a Jacobian, a Hessian, a scalar), every group sees the
    # same coordinates: one set of evaluators, so that entries share the subexpressions they have in
    # common (tanh(x @ W1) in every entry of an MLP's Jacobian) instead of each computing them anew
    shared, symbols_of = None, [flat[idx[0]].free_symbols for idx in groups.values()]  # a group's are its first's
    if not same:
        scalars = {s: values.scalar(s) for s in set().union(*symbols_of) & values.known}
        shared = (scalars, _runners(scalars))
    for idx, symbols in zip(groups.values(), symbols_of):
        # the group's first entry stands for all: its own symbols take each entry's values in turn
        first = release(flat[idx[0]])
        own = {syms[idx[0]]: name for name, syms in same.items()}
        undecided = np.ones((count, len(idx)), dtype=bool)
        if symbols <= values.known:
            # a tiny undecided value: an exact cancellation, most often, decided by algebra once for the
            # whole group (its entries share one template) instead of by SymPy value by value
            if shared is not None:
                out[:, idx], undecided = run_group(first, shared[0], (count, len(idx)), shared[1], zero=first)
            else:
                env = {s: values.entries(own[s], idx) if s in own else values.scalar(s) for s in symbols}
                out[:, idx], undecided = run_group(first, env, (count, len(idx)), zero=first)
        for p, k in zip(*np.nonzero(undecided)):
            out[p, idx[k]] = _exact_float(release(flat[idx[k]]), points[p])
    return out.reshape((count,) + exprs.shape)


def _rational(point: Mapping) -> bool:
    """Are all of a point's coordinates rational (none of them ±oo), as the Fraction evaluators need?"""
    return all(isinstance(v, sympy.Rational) for v in point.values())


class _Values:
    """The points' coordinates as exact Fractions: per entry for the inputs of the array's shape."""

    def __init__(self, points: Sequence[Mapping], same: Mapping[str, np.ndarray]):
        self.points = points
        self.scalars: dict = {}
        self.known = set.intersection(*(set(p) for p in points))
        self.arrays = {name: np.array([[fraction(p[s]) for s in syms] for p in points], dtype=object)
                       .reshape(len(points), len(syms)) for name, syms in same.items()}

    def entries(self, name: str, idx: list[int]) -> np.ndarray:
        return self.arrays[name][:, idx]

    def scalar(self, s: sympy.Symbol) -> np.ndarray:
        found = self.scalars.get(s)
        if found is None:
            found = self.scalars[s] = np.array([[fraction(p[s])] for p in self.points], dtype=object)
        return found


def run_group(generic: sympy.Expr, env: dict, shape: tuple, runners: dict | None = None,
               zero: sympy.Expr | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, undecided mask) of one compiled shape over all its entries and points.

    Arb's balls first (`ball`: a proof where they decide); the entries they leave undecided go to
    `_run_slow` (exact Fractions, else two mpmath precisions), on their columns alone. Where an
    undecided value is tiny and `zero` (the group's expression) is 0 by algebra, the group is 0.
    `runners` (see `_runners`) are evaluators on this very `env` whose memo other groups share.
    """
    runners = runners or _runners(env)
    try:
        values, undecided = ball.rounded(runners["ball"](generic), shape)
    except (ball.Unsupported, ArithmeticError, ValueError, TypeError):
        values, undecided = np.full(shape, np.nan), np.ones(shape, dtype=bool)
    if not undecided.any():
        return values, undecided
    zeros = np.zeros(shape), np.zeros(shape, dtype=bool)
    # a tiny undecided value: an exact cancellation, most often, decided by algebra once for the group
    tiny = _tiny(values, undecided)
    if tiny and zero is not None and identically_zero(zero):
        return zeros
    cols = np.flatnonzero(undecided.any(axis=0))
    if len(cols) < shape[1]:
        env = {s: v if v.shape[1] == 1 else v[:, cols] for s, v in env.items()}
        runners = _runners(env)
    slow, still = _run_slow(generic, env, (shape[0], len(cols)), runners)
    values[:, cols] = np.where(undecided[:, cols], slow, values[:, cols])
    undecided[:, cols] &= still
    if undecided.any() and not tiny and zero is not None and _tiny(values, undecided) and identically_zero(zero):
        return zeros
    return values, undecided


def _tiny(values: np.ndarray, undecided: np.ndarray) -> bool:
    """Is some undecided value below CANCELLED (NaN is not tiny)?"""
    return bool(np.any(undecided & (np.abs(np.nan_to_num(values, nan=1.0)) < CANCELLED)))


def _run_slow(generic: sympy.Expr, env: dict, shape: tuple, runners: dict) -> tuple[np.ndarray, np.ndarray]:
    """`run_group` without balls: exact Fractions for a rational expression, else mpmath at two
    precisions. A point where the run raises (1/0, say) is retried alone, so it does not send the
    other points to SymPy."""
    try:
        return _run_block(generic, env, shape, runners)
    except (ArithmeticError, ValueError, TypeError):
        if shape[0] == 1:
            return np.full(shape, np.nan), np.ones(shape, dtype=bool)
    values, undecided = np.full(shape, np.nan), np.ones(shape, dtype=bool)
    for p in range(shape[0]):
        row = {s: v[p:p + 1] for s, v in env.items()}
        values[p:p + 1], undecided[p:p + 1] = _run_slow(generic, row, (1,) + shape[1:], _runners(row))
    return values, undecided


def _runners(env: dict) -> dict:
    """Arb's ball evaluator, the exact evaluator and one mpmath evaluator per precision, on `env`."""
    return {"ball": ball.Balls(env), "exact": FractionRun(env), **{bits: MpmathRun(env) for bits in PRECISIONS}}


def _transcendental(expr: sympy.Basic) -> bool:
    """Does `expr` hold what exact Fractions cannot run (exp, a root, pi)? Then `FractionRun` is not tried:
    it would do the Fraction arithmetic below such a node, at big-integer cost, to give up at it."""
    return any(type(n) in MPMATH or n in (sympy.pi, sympy.E) or n.is_Pow and not n.exp.is_Integer
               for n in sympy.preorder_traversal(expr))


def _run_block(generic: sympy.Expr, env: dict, shape: tuple, runners: dict) -> tuple[np.ndarray, np.ndarray]:
    if not _transcendental(generic):
        try:
            exact_values = np.broadcast_to(runners["exact"](generic), shape)
            return np.frompyfunc(nearest_float, 1, 1)(exact_values).astype(np.float64), np.zeros(shape, dtype=bool)
        except Unsupported:
            pass
    results = []
    try:
        for bits in PRECISIONS:
            with mpmath.workprec(bits):
                results.append(np.frompyfunc(nearest_float, 1, 1)(np.broadcast_to(runners[bits](generic), shape))
                               .astype(np.float64))
    except Unsupported:
        return np.full(shape, np.nan), np.ones(shape, dtype=bool)
    low, high = results
    # Infinities are left to SymPy: mpmath's log(0) is -inf where SymPy's is zoo (NaN here).
    agree = np.isfinite(high) & (low == high) | np.isnan(low) & np.isnan(high)
    return high, ~agree
