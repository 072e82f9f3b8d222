"""Exact derivatives of a piece's output, and their evaluation at points.

Differentiation goes term by term: each term of an output's sum is
differentiated only by the symbols it contains. `diff(f, x_i)` on the
whole of `2*(x_0**2 + ... + x_n**2)` would re-walk all n terms for each
of the n inputs (n squared); term by term, the work is the size of the
expression.

Evaluation (`evaluate_many`) compiles each distinct entry shape once
(`4*x_0`, ..., `4*x_9999` are all `4*x`) and runs it over every entry and
every point at once, on NumPy object arrays:

* first on Arb's balls (`ball`, python-flint) at 128 bits: where both ends
  of an entry's ball round to the same float64, that float is the exact
  value correctly rounded, by proof (Arb's balls contain the exact result);
* an entry the balls leave undecided (a value within about 2**-128 of a
  rounding tie, an exact cancellation, a pole) that is tiny is tested for
  being 0 by algebra (`identically_zero`), once for its whole group;
* else rational operations (+, -, *, /, integer powers, Abs, Max, Min, sign,
  Heaviside, Piecewise) run on exact `Fraction`s: the result is the exact value,
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

import functools
import math
import operator
from collections import defaultdict
from fractions import Fraction
from functools import reduce
from typing import Mapping, Sequence

import mpmath
import numpy as np
import sympy

from . import ball
from .sym import RELATIONS, as_expr, release, to_float

__all__ = ["gradient", "jacobian", "gradient_and_jacobian", "hessian", "hessian_vector", "hessian_vector_values", "evaluate", "renamed_shape",
           "evaluate_many", "template", "identically_zero", "localize", "LOCALIZED"]


def _dummy(k: int, like: sympy.Symbol) -> sympy.Symbol:
    """The k-th generic symbol with `like`'s assumptions (a real symbol's `Abs` differentiates as real).

    A plain Symbol, as the inputs' are, so that SymPy sorts it among the other arguments of a sum or
    a product as it sorts them (a Dummy sorts elsewhere: see `_renamed`); its name, which no
    identifier can take, keeps it apart from every input's."""
    key = (k, tuple(sorted(like.assumptions0.items())))
    found = _DUMMIES.get(key)
    if found is None:
        found = _DUMMIES[key] = sympy.Symbol(f"g@{k}", **like.assumptions0)
    return found


_DUMMIES: dict = {}


def _term_partials(expr: sympy.Expr, wanted: Mapping, cache: dict):
    """For each term of `expr` with symbols of `wanted`: (the term, its own symbols, in `wanted`'s order, and
    its derivative by each, written in generic symbols `_dummy(k, ...)` for the k-th own symbol).

    Each term is differentiated only by the symbols it contains, and only
    once per shape: `2*x_7**2` is `2*g0**2` with its symbol renamed, whose
    derivative `4*g0` is kept in `cache`. SymPy's `diff` costs milliseconds
    a call (its assumption system); the shape of a term costs microseconds,
    so n terms of one shape cost one `diff`.
    """
    for term in sympy.Add.make_args(expr):
        own = term.free_symbols & wanted.keys()
        if not own:
            continue
        if len(own) == 1:
            own = list(own)
            generic_of = {own[0]: _dummy(0, own[0])}
            key = _shape(term, generic_of)  # the tree with its own symbol as its generic one
        else:
            # the most frequent symbols first, so that softmax's entry i, exp(x_i) / sum_k exp(x_k),
            # reads exp(g0) / sum_k exp(g_k) for every i: with sums and products keyed as multisets
            # (`_unordered_shape`), one shape and one set of `diff` calls for all n entries
            counts = _symbol_counts(term, own)
            own = sorted(own, key=lambda s: (-counts[s], wanted[s]))
            generic_of = {s: _dummy(k, s) for k, s in enumerate(own)}
            key = _unordered_shape(term, generic_of)
        derivatives = cache.get(key)
        if derivatives is None:
            derivatives = cache[key] = _generic_derivatives(term.xreplace(generic_of), tuple(generic_of.values()))
        yield term, own, derivatives


@sympy.cacheit
def _generic_derivatives(generic: sympy.Expr, symbols: tuple) -> tuple:
    """d generic / d s for each s of `symbols`, in SymPy's own cache: the gradient and the Jacobian
    of one output meet the same shapes. A pure function of its arguments, so nothing in it goes
    stale; `clear_cache()` empties it.

    Where swapping s with an earlier symbol a leaves `generic` as it is (softmax's
    exp(g0) / sum_k exp(g_k) treats g1, ..., g7 alike), d generic / d s is d generic / d a with
    a and s swapped: f(.., a, .., s, ..) = f(.., s, .., a, ..) for all values, so are their
    derivatives. A renaming costs far less than `diff` (softmax, n = 8: one `diff` for g1 to g7).
    Only the last symbol derived by `diff` with as many occurrences is tried, so each symbol
    costs at most one walk of the tree.
    """
    counts = _symbol_counts(generic, symbols)
    out: list = []
    last: dict = {}  # occurrences -> the last symbol of that count whose derivative `diff` gave
    for k, g in enumerate(symbols):
        j = last.get(counts[g])
        if j is not None and _swap_invariant(generic, symbols[j], g):
            out.append(out[j].xreplace({symbols[j]: g, g: symbols[j]}))
        else:
            out.append(generic.diff(g))
            last[counts[g]] = k
    return tuple(out)


_A, _B = object(), object()


def _swap_invariant(expr: sympy.Basic, a: sympy.Symbol, b: sympy.Symbol) -> bool:
    """Is `expr` the same expression with `a` and `b` swapped? Compared as `_unordered_shape`
    keys, which are equal only for one expression (sums and products as multisets); a
    symmetry the keys do not show (an ordered argument list) reads as none, and `diff` runs."""
    return _unordered_shape(expr, {a: _A, b: _B}) == _unordered_shape(expr, {a: _B, b: _A})


def _partials(expr: sympy.Expr, wanted: Mapping, cache: dict) -> dict:
    """{symbol: d expr / d symbol} for the symbols of `wanted` that occur in `expr`, term by term
    (`_term_partials`), each generic derivative renamed back to the term's own symbols."""
    acc: dict = defaultdict(list)
    for term, own, derivatives in _term_partials(expr, wanted, cache):
        generic_of = {s: _dummy(k, s) for k, s in enumerate(own)}
        back = {g: s for s, g in generic_of.items()}
        # the term's own function nodes (tanh(x_7)) stand in for their generic forms (tanh(g0)):
        # renaming then builds no new function node, whose construction (`tanh.eval`) is the slow part
        back.update({f.xreplace(generic_of): f for f in term.atoms(sympy.Function)})
        for s, d in zip(own, derivatives):
            if len(own) == 1 and type(s) is sympy.Symbol:
                acc[s].append(_remember(_renamed(d, back), d, generic_of[s], s))
            else:
                acc[s].append(d.xreplace(back))
    return {s: sympy.Add(*terms) for s, terms in acc.items()}


def _remember(entry: sympy.Basic, generic: sympy.Basic, g: sympy.Symbol, s: sympy.Symbol) -> sympy.Basic:
    """Note that `entry` is `generic` with `g` renamed `s` (so `_entry_shape` reads its shape from the
    generic one's, once per shape, instead of walking every entry); returns `entry`."""
    if len(_ORIGINS) >= 1 << 17:
        _ORIGINS.clear()
    _ORIGINS[id(entry)] = (entry, generic, g, s)
    return entry


_ORIGINS: dict = {}
"""id of a renamed entry -> (the entry, its generic form, the generic symbol, the entry's own symbol). The
entry is kept, so its id is not reused; a pure record of structure, never stale."""


def _renamed(expr: sympy.Basic, back: Mapping) -> sympy.Basic:
    """`expr.xreplace(back)` for a derivative of one generic symbol, without evaluating its sums,
    products and powers again.

    The derivative is SymPy's canonical form in g0; with g0 renamed to the term's own symbol
    (a Symbol of the same assumptions) every evaluation SymPy would do again does what it did in
    g0, and every order it would sort arguments in is the same: two arguments of a sum or a
    product compare by their classes and structure before any symbol's name, and the one symbol
    stands at the same places in both (tests/test_derive.py holds this to `xreplace`'s result). So the tree is rebuilt as it is (`_from_args`, `evaluate=False`),
    not flattened and sorted anew, which is most of the cost of a gradient of 10,000 entries.
    Other nodes (a function of the symbol the term did not have) are built as usual.
    """
    found = back.get(expr)
    if found is not None:
        return found
    if not expr.args:
        return expr
    args = [_renamed(a, back) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    if expr.is_Add or expr.is_Mul:
        return expr.func._from_args(args, expr.is_commutative)
    if expr.is_Pow and expr.is_commutative:  # what Pow(..., evaluate=False) builds, without its checks
        power = sympy.Expr.__new__(sympy.Pow, *args)
        power.is_commutative = True
        return power
    return expr.func(*args)


_OWN = object()
"""Marks, in a `_shape` key, where an entry's own symbol stands."""


def _shape(expr: sympy.Basic, own: Mapping) -> object:
    """`expr`'s tree as nested tuples, with each symbol of `own` replaced by its marker.

    Two expressions with equal shapes are one tree that differs only in those
    symbols: what `xreplace` with generic symbols would show, without building
    (and re-simplifying: `tanh` looks at its argument each time) a new
    expression per entry.
    """
    found = own.get(expr)
    if found is not None:
        return found
    if not expr.args:
        return expr
    return (expr.func, *(_shape(a, own) for a in expr.args))


def renamed_shape(expr: sympy.Basic) -> object:
    """`expr`'s tree with each symbol replaced by its rank (by name) and its assumptions.

    Equal keys mean one expression up to a renaming of symbols that keeps their assumptions, so
    anything SymPy infers from assumptions alone (`is_zero`, say) is the same for both.
    """
    ranked = sorted(expr.free_symbols, key=lambda s: s.name)
    return _shape(expr, {s: (_OWN, k, frozenset(s.assumptions0.items())) for k, s in enumerate(ranked)})


def _entry_shape(expr: sympy.Basic, own: Mapping) -> object:
    """`_shape`, kept: the gradient's entries are grouped once for their values (`evaluate_many`)
    and again for H v (`hessian_vector_values`). A pure function of its arguments: never stale."""
    key = (id(expr), tuple(own.items()))
    found = _SHAPES.get(key)
    if found is None or found[0] is not expr:
        if len(_SHAPES) >= 1 << 16:
            _SHAPES.clear()
        origin = _ORIGINS.get(id(expr))
        if origin is not None and origin[0] is expr and origin[3] in own and len(own) == 1:
            # a renamed generic derivative (`_renamed`): its own symbol where the generic one stood
            shape = _entry_shape(origin[1], {origin[2]: own[origin[3]]})
        else:
            shape = _shape(expr, own)
        found = _SHAPES[key] = (expr, shape)
    return found[1]


_SHAPES: dict = {}
"""(id of an expression, its marked symbols) -> (the expression, its shape). Keyed by identity, not
equality (comparing two equal trees walks both); the expression is kept, so its id is not reused."""


def _symbol_counts(expr: sympy.Basic, symbols) -> dict:
    """How often each of `symbols` occurs in `expr`'s tree."""
    counts = dict.fromkeys(symbols, 0)
    stack = [expr]
    while stack:
        e = stack.pop()
        if e in counts:
            counts[e] += 1
        else:
            stack.extend(e.args)
    return counts


def _unordered_shape(expr: sympy.Basic, own: Mapping) -> object:
    """`_shape`, with the arguments of a sum or product as a multiset: equal keys are still one
    expression (both are commutative, and SymPy orders their arguments itself), whatever order
    the renamed symbols would put the arguments in."""
    found = own.get(expr)
    if found is not None:
        return found
    if not expr.args:
        return expr
    if expr.is_Add or expr.is_Mul:
        parts: dict = defaultdict(int)
        for a in expr.args:
            parts[_unordered_shape(a, own)] += 1
        return expr.func, frozenset(parts.items())
    return (expr.func, *(_unordered_shape(a, own) for a in expr.args))


def _positions(inputs: Mapping[str, np.ndarray]) -> dict:
    return {s: k for k, s in enumerate(s for syms in inputs.values() for s in syms.flat)}


def gradient(output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The gradient of `output.sum()` with respect to each input's symbols.

    This is what `out.sum().backward()` computes: for a non-scalar output,
    the vector-Jacobian product with a vector of ones.
    """
    wanted, cache = _positions(inputs), {}
    return _summed([_partials(out, wanted, cache) for out in output.flat], inputs)


def _summed(rows: list[dict], inputs: Mapping[str, np.ndarray], weights=None) -> dict[str, np.ndarray]:
    """The gradient from each output entry's partials: d sum / d s, their terms in output order;
    with `weights` (one exact number per output entry), the gradient of the weighted sum."""
    acc: dict = defaultdict(list)
    for i, row in enumerate(rows):
        for s, d in row.items():
            acc[s].append(d if weights is None else weights[i] * d)
    result = {}
    for name, syms in inputs.items():
        g = np.empty(syms.shape, dtype=object)
        for idx in np.ndindex(*syms.shape):
            g[idx] = sympy.Add(*acc.get(syms[idx], ()))
        result[name] = g
    return result


def weighted_gradients(output: np.ndarray, inputs: Mapping[str, np.ndarray], weights: Sequence,
                       jacobian: bool) -> tuple[dict, dict | None, dict]:
    """(`gradient`, the Jacobian or None, the gradient of sum_i weights[i] * output[i]) from one set of
    partials: the weighted gradient (wᵀ out's, for the second-order modes of a non-scalar output)
    costs a product per term, not a derivation of its own."""
    wanted, cache = _positions(inputs), {}
    rows = [_partials(out, wanted, cache) for out in output.flat]
    jac = _rows_jacobian(rows, output, inputs) if jacobian else None
    return _summed(rows, inputs), jac, _summed(rows, inputs, list(weights))


def jacobian(output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """d output[i] / d input[j] for each input: arrays of shape output.shape + input.shape."""
    wanted, cache = _positions(inputs), {}
    return _rows_jacobian([_partials(out, wanted, cache) for out in output.flat], output, inputs)


def gradient_and_jacobian(output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
    """(`gradient`, `jacobian`) from one set of partials: the gradient is the Jacobian's rows summed,
    so each entry's partials are renamed back to its symbols once, not once for each."""
    wanted, cache = _positions(inputs), {}
    rows = [_partials(out, wanted, cache) for out in output.flat]
    return _summed(rows, inputs), _rows_jacobian(rows, output, inputs)


def _rows_jacobian(rows: list[dict], output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Jacobian from each output entry's partials (a symbol not in a row: 0)."""
    result = {}
    for name, syms in inputs.items():
        jac = np.empty((len(rows), syms.size), dtype=object)
        for i, row in enumerate(rows):
            for j, s in enumerate(syms.flat):
                jac[i, j] = row.get(s, sympy.S.Zero)
        result[name] = jac.reshape(output.shape + syms.shape)
    return result


def _flat(values: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list:
    return [e for name in inputs for e in values[name].flat]


def hessian(grad: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The Hessian of a scalar from its gradient: an n x n array over all input entries, flattened
    in input order. Term by term, as `gradient`: each entry of the gradient is differentiated only
    by the symbols it contains."""
    symbols = _flat(inputs, inputs)
    column = {s: j for j, s in enumerate(symbols)}
    out = np.full((len(symbols), len(symbols)), sympy.S.Zero, dtype=object)
    wanted, cache = _positions(inputs), {}
    for i, g in enumerate(_flat(grad, inputs)):
        for s, d in _partials(g, wanted, cache).items():
            out[i, column[s]] = d
    return out


LOCALIZED = (sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside)
"""The kinked heads `localize` replaces by what they are around a point off their kinks."""


def localize(expr: sympy.Expr, point: Mapping[sympy.Symbol, sympy.Basic]) -> sympy.Expr:
    """`expr` as it is on a neighbourhood of `point`: every kinked head that is smooth there replaced.

    Off its kinks `Max(a, b, c)` is its largest argument, `Abs(a)` is a or
    -a, and `Heaviside(a)` and `sign(a)` are constants: the same values and
    the same derivatives of every order near the point. Heads at a kink
    (a tie, a zero argument) stay. SymPy differentiates `Max` of n
    arguments slowly and `Heaviside` into `DiracDelta`, so a Hessian built
    from the local expression costs a fraction of the global one.
    """
    def value(e):
        return e.xreplace(point).evalf(30)

    def extreme(node, largest: bool):
        values = [value(a) for a in node.args]
        if not all(v.is_real for v in values):
            return node
        best = max(values) if largest else min(values)
        winners = [a for a, v in zip(node.args, values) if v == best]
        return winners[0] if len(winners) == 1 else node

    def signed(node, make):
        v = value(node.args[0])
        return make(node.args[0], v) if v.is_real and v != 0 else node

    rules = {
        sympy.Max: lambda n: extreme(n, True),
        sympy.Min: lambda n: extreme(n, False),
        sympy.Abs: lambda n: signed(n, lambda a, v: a if v > 0 else -a),
        sympy.sign: lambda n: signed(n, lambda a, v: sympy.Integer(1 if v > 0 else -1)),
        sympy.Heaviside: lambda n: signed(n, lambda a, v: sympy.Integer(1 if v > 0 else 0)),
    }
    out = expr  # detach() stays: its derivative is 0 here too
    for head in LOCALIZED:
        out = out.replace(lambda n, head=head: isinstance(n, head), rules[head])
    return out


def hessian_vector(grad: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], v) -> np.ndarray:
    """H v for a constant vector `v` over all input entries, flattened in input order.

    Row i is sum_j (d g_i / d x_j) v_j, from the partials of each gradient
    entry alone, so entries of one shape (`4*x_i`) share one `diff`.
    Differentiating g . v instead would give every term its own coefficient
    v_j, hence its own shape: n calls of `diff` for n entries.
    """
    wanted, cache = _positions(inputs), {}
    weight = dict(zip(_flat(inputs, inputs), v))
    return np.array([_hessian_row(g, wanted, cache, weight) for g in _flat(grad, inputs)], dtype=object)


def _hessian_row(g: sympy.Expr, wanted: Mapping, cache: dict, weight: Mapping) -> sympy.Expr:
    """sum_j (d g / d x_j) v_j, with `weight` mapping each x_j to v_j."""
    return sympy.Add(*(d * weight[s] for s, d in _partials(g, wanted, cache).items()))


def hessian_vector_values(grad: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], v,
                          points: Sequence[Mapping]) -> np.ndarray:
    """`evaluate(hessian_vector(grad, inputs, v), p)` for every point p, stacked: (len(points), N).

    Row i is sum_j (d g_i / d x_j) v_j. Where every term of g_i holds x_i
    alone (a separable function: `(tanh(x)**2).sum()`), the row is
    (sum over terms of their generic derivative by g0) * v_i, so rows whose
    terms have the same shapes share one template, run over all their
    entries and points at once with g0 = x_i and the weight = v_i. Building
    each row as an expression first would cost a renaming per entry, and
    give every row its own coefficient v_i, hence its own shape. Other rows
    are built (`hessian_vector`) and evaluated alone.
    """
    flat = _flat(inputs, inputs)
    wanted, cache = _positions(inputs), {}
    weight = sympy.Dummy("w", real=True)
    count, out = len(points), np.empty((len(points), len(flat)), dtype=np.float64)
    templates: dict = defaultdict(list)
    alone, entries = [], _flat(grad, inputs)
    for members in _same_shapes(entries, inputs).values():
        i = members[0]  # entries of one shape have the same partials, in their own symbols
        parts = list(_term_partials(entries[i], wanted, cache))
        if all(own == [flat[i]] for _, own, _ in parts):
            templates[(tuple(d[0] for _, _, d in parts), _dummy(0, flat[i]))] += members
        else:
            alone += members
    try:
        coords = np.array([[_fraction(p[s]) for s in flat] for p in points], dtype=object).reshape(count, len(flat))
        weights = np.array([[_fraction(sympy.Rational(w)) for w in v]], dtype=object)
    except (_Unsupported, KeyError):  # a point that is not rational: row by row
        coords = None
    for (derivatives, g0), idx in templates.items():
        template = sympy.Add(*derivatives) * weight
        undecided = np.ones((count, len(idx)), dtype=bool)
        if coords is not None and template.free_symbols <= {g0, weight}:
            env = {g0: coords[:, idx], weight: weights[:, idx]}
            out[:, idx], undecided = _run_group(template, env, (count, len(idx)))
        alone += [idx[k] for k in sorted(set(np.nonzero(undecided)[1]))]
    weights_of = dict(zip(flat, v))
    rest = sorted(set(alone))
    if rest:  # the other rows, built, evaluated together (their common subexpressions once, in balls)
        rows = np.array([_hessian_row(entries[i], wanted, cache, weights_of) for i in rest], dtype=object)
        out[:, rest] = evaluate_many(rows, points, {})
    return out


def _same_shapes(entries: list, inputs: Mapping[str, np.ndarray]) -> dict:
    """Gradient entries (flattened in input order) grouped by their shape with their own input entry
    as a marker: entries in one group are one tree that differs only in that symbol."""
    names = [name for name, syms in inputs.items() for _ in range(syms.size)]
    flat = _flat(inputs, inputs)
    groups: dict = defaultdict(list)
    for i, g in enumerate(entries):
        groups[_entry_shape(g, {flat[i]: (_OWN, names[i])})].append(i)
    return groups


def evaluate(exprs: np.ndarray, point: Mapping[sympy.Symbol, sympy.Rational]) -> np.ndarray:
    """The exact value of each expression at `point`, rounded to the nearest float64."""
    out = np.empty(exprs.shape, dtype=np.float64)
    for idx in np.ndindex(*exprs.shape):
        out[idx] = _exact_float(release(as_expr(exprs[idx])), point)
    return out


TINY = 2.0 ** -300
"""A value this small (SymPy's `evalf` gives one, with no correct digit, for an exact cancellation
such as the gradient of softmax(x).sum(), which is 0) is worth the algebraic test `identically_zero`."""

ZERO_TEST_OPS = 2000
"""Largest expression (SymPy operations) that `_zero_by_cancel` tries: cancelling costs more than
the numbers it would replace beyond that."""


def _exact_float(expr: sympy.Expr, point: Mapping) -> float:
    """SymPy's value of `expr` at `point`, as the nearest float64; 0 where `expr` is zero by algebra."""
    value = to_float(expr.xreplace(point))
    if value != 0 and abs(value) < TINY and identically_zero(expr):
        return 0.0
    return value


ZERO_TEST_DIGITS = 2**24
"""Largest numerator or denominator of a constant for which `_zero_by_cancel` tries algebra."""


def identically_zero(expr: sympy.Expr) -> bool:
    """Is `expr` zero as a function, by algebra?

    Each exp(c1*t1 + c2*t2 + ...) becomes y1**c1 * y2**c2 * ... in fresh
    positive symbols (so exp(2*x) and exp(x)**2 meet), every other function
    node a fresh symbol, and the rational function that results must be 0
    (`_zero_at_random_points`, else `cancel`). Sound (by `cancel`; at random
    points, but for a chance below 2**-216): a rational function that is 0
    is 0 for every value of its symbols, these included. Not
    complete: a zero that needs sin**2 + cos**2 = 1, say, is not found (and
    the caller keeps the numbers).
    """
    if not expr.free_symbols:
        return False
    at_points = _zero_at_random_points(expr)
    if at_points is not None:
        return at_points
    return _zero_by_cancel(expr)


def _zero_by_cancel(expr: sympy.Expr) -> bool:
    """`identically_zero` by SymPy's `cancel` of the rational function: for what the random points
    cannot run (exp(x/2), a root, pi)."""
    if sympy.count_ops(expr) > ZERO_TEST_OPS:
        return False
    if any(abs(r.p) > ZERO_TEST_DIGITS or r.q > ZERO_TEST_DIGITS for r in expr.atoms(sympy.Rational)):
        return False  # float constants as exact rationals (a layer's weights): cancel's gcds take minutes
    powers: dict = {}

    def as_powers(arg):
        factors = []
        for term in sympy.Add.make_args(arg):
            c, rest = term.as_coeff_Mul()
            factors.append(powers.setdefault(rest, sympy.Dummy(positive=True)) ** c)
        return sympy.Mul(*factors)

    rational = expr.replace(lambda n: isinstance(n, sympy.exp), lambda n: as_powers(n.args[0]))
    rational = rational.xreplace({f: sympy.Dummy() for f in rational.atoms(sympy.Function)})
    return sympy.cancel(rational) == 0


IDENTITY_POINTS = 2
"""Points at which `_zero_at_random_points` evaluates the rational function."""

IDENTITY_BITS = 128
"""Each coordinate of those points is a random integer in [1, 2**IDENTITY_BITS]."""

IDENTITY_DEGREE = 2**20
"""Largest degree bound for which zeros at the points are taken as a zero function."""


def _zero_at_random_points(expr: sympy.Expr) -> bool | None:
    """`identically_zero`'s rational function decided by its exact values at random points; None
    where this cannot decide (a non-integer power, a pole at a point, too high a degree).

    A value other than 0 at a point proves the function is not 0. Values of 0
    at every point: by the Schwartz-Zippel lemma a nonzero numerator of total
    degree d vanishes at a uniform random point of [1, N]**m with probability
    at most d / N, so with d <= 2**20, N = 2**128 and two independent points
    the chance of calling a nonzero function zero is below 2**-216, far below
    the chance that two mpmath precisions agree on a wrong float. The points
    come from a fixed seed, so the answer is the same in every run. Exact
    Fractions and no cancellation: milliseconds where `cancel`'s gcds take
    tenths of a second (the gradient of softmax(x).sum()), and big constants
    cost no more than small ones.
    """
    run = _AtRandomPoints()
    try:
        values = np.broadcast_to(run(expr), (IDENTITY_POINTS,))
        degree = run.degree(expr)
    except (_Unsupported, ArithmeticError, TypeError):
        return None
    if degree > IDENTITY_DEGREE:
        return None
    return not any(values)


def template(values: np.ndarray, inputs: Mapping[str, np.ndarray]) -> sympy.Expr | None:
    """One expression in the inputs' names that gives every entry, or None.

    Entry i of the gradient of `2*dot(x, x)` is `4*x_i`; with every input
    entry at index i written as the input's name, all entries read `4*x`.
    Only inputs of the gradient's own shape take part: an entry that needs
    another index of them (as softmax's does) has no template.
    """
    if values.ndim == 0:
        return None
    same = {name: syms for name, syms in inputs.items() if syms.shape == values.shape}
    names = {name: sympy.Symbol(name, real=True) for name in same}
    all_entries = {s for syms in same.values() for s in syms.flat}
    found = None
    for idx in np.ndindex(*values.shape):
        expr = as_expr(values[idx])
        here = {syms[idx]: names[name] for name, syms in same.items()}
        generic = expr.xreplace(here)
        if generic.free_symbols & all_entries:
            return None
        if found is None:
            found = generic
        elif generic != found:
            return None
    return found


# -- evaluation at many points -------------------------------------------------------------
class _Unsupported(Exception):
    """An expression or point the vectorised evaluator does not take; the caller falls back."""


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
    except _Unsupported:  # an infinite coordinate: those points by SymPy alone (exp(-oo) = 0), the others together
        out = np.empty((count,) + exprs.shape, dtype=np.float64)
        extended = [i for i, p in enumerate(points) if not _rational(p)]
        rest = [i for i in range(count) if i not in extended]
        if rest:
            out[rest] = _evaluate_together(exprs, [points[i] for i in rest], inputs)
        for i in extended:
            out[i] = evaluate(exprs, points[i])
        return out


def _evaluate_together(exprs: np.ndarray, points: Sequence[Mapping], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """`evaluate_many` where every coordinate is rational (else `_Unsupported`, from `_fraction`)."""
    count = len(points)
    out = np.empty((count, exprs.size), dtype=np.float64)
    flat = [as_expr(e) for e in exprs.flat]  # released (detach(e) read as e) one group at a time
    same = {name: syms.reshape(-1) for name, syms in inputs.items() if syms.shape == exprs.shape}
    groups: dict = defaultdict(list)
    for i, e in enumerate(flat):
        groups[_entry_shape(e, {syms[i]: (_OWN, name) for name, syms in same.items()})].append(i)
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
                out[:, idx], undecided = _run_group(first, shared[0], (count, len(idx)), shared[1], zero=first)
            else:
                env = {s: values.entries(own[s], idx) if s in own else values.scalar(s) for s in symbols}
                out[:, idx], undecided = _run_group(first, env, (count, len(idx)), zero=first)
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
        self.arrays = {name: np.array([[_fraction(p[s]) for s in syms] for p in points], dtype=object)
                       .reshape(len(points), len(syms)) for name, syms in same.items()}

    def entries(self, name: str, idx: list[int]) -> np.ndarray:
        return self.arrays[name][:, idx]

    def scalar(self, s: sympy.Symbol) -> np.ndarray:
        found = self.scalars.get(s)
        if found is None:
            found = self.scalars[s] = np.array([[_fraction(p[s])] for p in self.points], dtype=object)
        return found


def _fraction(value) -> Fraction:
    if not isinstance(value, sympy.Rational):
        raise _Unsupported(f"a coordinate {value!r} that is not rational")
    key = (value.p, value.q)
    found = _FRACTIONS.get(key)
    if found is None:
        if len(_FRACTIONS) >= 1 << 17:  # 35 MiB at most; a check of 10,000 inputs at 5 points holds 50,000
            _FRACTIONS.clear()
        found = _FRACTIONS[key] = Fraction(int(value.p), int(value.q))
    return found


_FRACTIONS: dict = {}
"""(numerator, denominator) -> Fraction: the output, the gradient and H v of one check read the same coordinates
(a Fraction costs a gcd to build). Equal numbers, equal values: nothing here goes stale."""


def _run_group(generic: sympy.Expr, env: dict, shape: tuple, runners: dict | None = None,
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
    """`_run_group` without balls: exact Fractions for a rational expression, else mpmath at two
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
    return {"ball": ball.Balls(env), "exact": _Exact(env), **{bits: _Numeric(env) for bits in PRECISIONS}}


def _transcendental(expr: sympy.Basic) -> bool:
    """Does `expr` hold what exact Fractions cannot run (exp, a root, pi)? Then `_Exact` is not tried:
    it would do the Fraction arithmetic below such a node, at big-integer cost, to give up at it."""
    return any(type(n) in _MPMATH or n in (sympy.pi, sympy.E) or n.is_Pow and not n.exp.is_Integer
               for n in sympy.preorder_traversal(expr))


def _run_block(generic: sympy.Expr, env: dict, shape: tuple, runners: dict) -> tuple[np.ndarray, np.ndarray]:
    if not _transcendental(generic):
        try:
            exact_values = np.broadcast_to(runners["exact"](generic), shape)
            return np.frompyfunc(_round, 1, 1)(exact_values).astype(np.float64), np.zeros(shape, dtype=bool)
        except _Unsupported:
            pass
    results = []
    try:
        for bits in PRECISIONS:
            with mpmath.workprec(bits):
                results.append(np.frompyfunc(_round, 1, 1)(np.broadcast_to(runners[bits](generic), shape))
                               .astype(np.float64))
    except _Unsupported:
        return np.full(shape, np.nan), np.ones(shape, dtype=bool)
    low, high = results
    # Infinities are left to SymPy: mpmath's log(0) is -inf where SymPy's is zoo (NaN here).
    agree = np.isfinite(high) & (low == high) | np.isnan(low) & np.isnan(high)
    return high, ~agree


def _round(value) -> float:
    """An exact Fraction or an mpmath number as the nearest float64 (NaN where not real)."""
    if isinstance(value, (bool, np.bool_, float)):
        return float(value)
    if isinstance(value, (int, Fraction)):
        try:
            return value.numerator / value.denominator  # int division rounds correctly
        except OverflowError:
            return math.copysign(math.inf, value.numerator)
    if isinstance(value, mpmath.mpc):
        return math.nan if value.imag != 0 else _round(value.real)
    if isinstance(value, mpmath.mpf):
        return mpmath.libmp.to_float(value._mpf_, rnd=mpmath.libmp.round_nearest)
    raise TypeError(f"cannot round {value!r}")


class _Exact:
    """Runs an expression on object arrays of Fractions: +, -, *, /, integer powers, Abs, Max,
    Min, sign, Heaviside, Piecewise and comparisons. Anything else raises _Unsupported."""

    def __init__(self, env: dict):
        self.env = env
        self.memo: dict = {}

    def __call__(self, e):
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self.run(e)
        return found

    def number(self, e):
        if e.is_Integer:
            return int(e)
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        raise _Unsupported(str(e))

    def power(self, base, e):
        if not e.exp.is_Integer:
            raise _Unsupported(str(e))
        k = int(e.exp)
        return base ** k if k >= 0 else Fraction(1) / _as_fraction(base) ** -k

    def run(self, e):
        if e in self.env:
            return self.env[e]
        if e.is_Number:
            return self.number(e)
        if e is sympy.true or e is sympy.false:
            return bool(e)
        if e.is_Add:
            return ball.fold(operator.add, map(self, e.args))
        if e.is_Mul:
            return ball.fold(operator.mul, map(self, e.args))
        if e.is_Pow:
            return self.power(self(e.base), e)
        if isinstance(e, sympy.Abs):
            return np.abs(self(e.args[0]))
        if isinstance(e, (sympy.Max, sympy.Min)):
            return reduce(np.maximum if isinstance(e, sympy.Max) else np.minimum, map(self, e.args))
        if isinstance(e, sympy.sign):
            return np.frompyfunc(lambda v: (v > 0) - (v < 0), 1, 1)(self(e.args[0]))
        if isinstance(e, sympy.Heaviside):  # SymPy's value at 0 is its second argument (1/2 by default)
            at_zero = self(e.args[1]) if len(e.args) > 1 else self(sympy.S.Half)
            return np.frompyfunc(lambda v, h: 1 if v > 0 else 0 if v < 0 else h, 2, 1)(self(e.args[0]), at_zero)
        if isinstance(e, sympy.Piecewise):
            result = np.nan
            for value, cond in reversed(e.args):
                result = np.where(np.asarray(self(cond), dtype=bool), self(value), result)
            return result
        if type(e) in RELATIONS:
            return RELATIONS[type(e)](self(e.lhs), self(e.rhs))
        if isinstance(e, (sympy.And, sympy.Or)):
            return reduce(np.logical_and if isinstance(e, sympy.And) else np.logical_or,
                          (np.asarray(self(a), dtype=bool) for a in e.args))
        if isinstance(e, sympy.Not):
            return np.logical_not(np.asarray(self(e.args[0]), dtype=bool))
        raise _Unsupported(type(e).__name__)


class _AtRandomPoints(_Exact):
    """Runs `identically_zero`'s rational function at IDENTITY_POINTS random points, without
    building it: every symbol, every function node other than exp, and every t of an
    exp(c1*t1 + c2*t2 + ...) with integer c's takes its own random positive integers; exp gives
    the product of the t's values to the powers c. `degree` bounds the degree of the numerator."""

    def __init__(self):
        super().__init__({})
        self.rng = np.random.default_rng(0)
        self.fresh: dict = {}
        self.degrees: dict = {}

    def coordinate(self, key) -> np.ndarray:
        found = self.fresh.get(key)
        if found is None:
            found = self.fresh[key] = np.array([int.from_bytes(self.rng.bytes(IDENTITY_BITS // 8), "little") + 1
                                                for _ in range(IDENTITY_POINTS)], dtype=object)
        return found

    @staticmethod
    def exponents(e: sympy.exp):
        for term in sympy.Add.make_args(e.args[0]):
            c, rest = term.as_coeff_Mul()
            if not c.is_Integer:
                raise _Unsupported(str(e))
            yield int(c), rest

    def run(self, e):
        if e.is_Symbol:
            return self.coordinate(e)
        if isinstance(e, sympy.exp):
            return ball.fold(operator.mul, [self.coordinate(("exp", t)) ** c if c >= 0
                                        else Fraction(1) / self.coordinate(("exp", t)) ** -c
                                        for c, t in self.exponents(e)])
        if isinstance(e, sympy.Function):  # Abs, Max, Piecewise, tanh, detach...: a symbol of its own
            return self.coordinate(e)
        return super().run(e)

    def degree(self, e) -> int:
        return self._degrees(e)[0]

    def _degrees(self, e) -> tuple[int, int]:
        """(degree of the numerator, of the denominator) of `e` as one fraction."""
        found = self.degrees.get(e)
        if found is not None:
            return found
        if e.is_Number:
            found = (0, 0)
        elif isinstance(e, sympy.exp):
            cs = [c for c, _ in self.exponents(e)]
            found = (sum(c for c in cs if c > 0), sum(-c for c in cs if c < 0))
        elif e.is_Symbol or isinstance(e, sympy.Function):
            found = (1, 0)
        elif e.is_Add or e.is_Mul:
            parts = [self._degrees(a) for a in e.args]
            den = sum(d for _, d in parts)
            found = (sum(n for n, _ in parts) if e.is_Mul else max(n + den - d for n, d in parts), den)
        elif e.is_Pow and e.exp.is_Integer:
            n, d = self._degrees(e.base)
            k = int(e.exp)
            found = (k * n, k * d) if k >= 0 else (-k * d, -k * n)
        else:
            raise _Unsupported(type(e).__name__)
        self.degrees[e] = found
        return found


def _as_fraction(v):
    return Fraction(v) if isinstance(v, int) else v


_MPMATH = {sympy.exp: mpmath.exp, sympy.log: mpmath.log, sympy.sin: mpmath.sin, sympy.cos: mpmath.cos,
           sympy.tan: mpmath.tan, sympy.tanh: mpmath.tanh, sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh,
           sympy.atan: mpmath.atan, sympy.asin: mpmath.asin, sympy.acos: mpmath.acos, sympy.erf: mpmath.erf}


def _mpf(f: Fraction) -> mpmath.mpf:
    """f at the working precision, rounded once."""
    return _rounded(f, mpmath.mp.prec)


@functools.lru_cache(maxsize=1 << 17)
def _rounded(f: Fraction, prec: int) -> mpmath.mpf:  # kept: the same coordinates meet every entry
    return mpmath.mpf(f.numerator) / f.denominator


_FUNCTION_VALUES: dict = {}
"""(function, argument, precision) -> value: the output, the gradient and H v of one check meet the
same tanh(x_i) at the same points. Pure functions of exact arguments: nothing here goes stale."""


def _function_value(fn, arg):
    key = (fn, arg, mpmath.mp.prec)
    found = _FUNCTION_VALUES.get(key)
    if found is None:
        if len(_FUNCTION_VALUES) >= 1 << 20:
            _FUNCTION_VALUES.clear()
        found = _FUNCTION_VALUES[key] = fn(arg)
    return found


class _Numeric(_Exact):
    """The same on mpmath numbers at the working precision, with the transcendental functions."""

    def number(self, e):
        if e.is_Rational:
            return mpmath.mpf(int(e.p)) / int(e.q)
        if e in (sympy.pi, sympy.E):
            return mpmath.pi if e is sympy.pi else mpmath.e
        raise _Unsupported(str(e))

    def run(self, e):
        if e in self.env:
            return np.frompyfunc(_mpf, 1, 1)(self.env[e])
        if e is sympy.pi or e is sympy.E:
            return self.number(e)
        if type(e) in _MPMATH:
            return np.frompyfunc(functools.partial(_function_value, _MPMATH[type(e)]), 1, 1)(self(e.args[0]))
        return super().run(e)

    def power(self, base, e):
        exponent = self(e.exp)
        if e.exp.is_Integer:
            k = int(e.exp)
            return base ** k if k >= 0 else 1 / base ** -k
        return np.frompyfunc(mpmath.power, 2, 1)(base, exponent)
