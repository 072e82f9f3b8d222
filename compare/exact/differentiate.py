"""Exact derivatives of a piece's output: gradient, Jacobian, Hessian and H v, term by term.

Differentiation goes term by term: each term of an output's sum is differentiated only by the
symbols it contains, and only once per shape (`shapes`): `diff(f, x_i)` on the whole of
`2*(x_0**2 + ... + x_n**2)` would re-walk all n terms for each of the n inputs (n squared); term by
term, the work is the size of the expression.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

import numpy as np
import sympy

from .arithmetic import Unsupported, fraction
from .evaluate import evaluate_many, run_group
from .shapes import OWN, entry_shape, remember_renaming, renamed, tree_shape, symbol_counts, unordered_shape

__all__ = ["gradient", "jacobian", "gradient_and_jacobian", "weighted_gradients", "hessian", "hessian_vector", "hessian_vector_values"]


def _dummy(k: int, like: sympy.Symbol) -> sympy.Symbol:
    """The k-th generic symbol with `like`'s assumptions (a real symbol's `Abs` differentiates as real).

    A plain Symbol, as the inputs' are, so that SymPy sorts it among the other arguments of a sum or
    a product as it sorts them (a Dummy sorts elsewhere: see `renamed`); its name, which no
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
            key = tree_shape(term, generic_of)  # the tree with its own symbol as its generic one
        else:
            # the most frequent symbols first, so that softmax's entry i, exp(x_i) / sum_k exp(x_k),
            # reads exp(g0) / sum_k exp(g_k) for every i: with sums and products keyed as multisets
            # (`unordered_shape`), one shape and one set of `diff` calls for all n entries
            counts = symbol_counts(term, own)
            own = sorted(own, key=lambda s: (-counts[s], wanted[s]))
            generic_of = {s: _dummy(k, s) for k, s in enumerate(own)}
            key = unordered_shape(term, generic_of)
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
    counts = symbol_counts(generic, symbols)
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
    """Is `expr` the same expression with `a` and `b` swapped? Compared as `unordered_shape`
    keys, which are equal only for one expression (sums and products as multisets); a
    symmetry the keys do not show (an ordered argument list) reads as none, and `diff` runs."""
    return unordered_shape(expr, {a: _A, b: _B}) == unordered_shape(expr, {a: _B, b: _A})


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
                acc[s].append(remember_renaming(renamed(d, back), d, generic_of[s], s))
            else:
                acc[s].append(d.xreplace(back))
    return {s: sympy.Add(*terms) for s, terms in acc.items()}


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
        coords = np.array([[fraction(p[s]) for s in flat] for p in points], dtype=object).reshape(count, len(flat))
        weights = np.array([[fraction(sympy.Rational(w)) for w in v]], dtype=object)
    except (Unsupported, KeyError):  # a point that is not rational: row by row
        coords = None
    for (derivatives, g0), idx in templates.items():
        template = sympy.Add(*derivatives) * weight
        undecided = np.ones((count, len(idx)), dtype=bool)
        if coords is not None and template.free_symbols <= {g0, weight}:
            env = {g0: coords[:, idx], weight: weights[:, idx]}
            out[:, idx], undecided = run_group(template, env, (count, len(idx)))
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
        groups[entry_shape(g, {flat[i]: (OWN, names[i])})].append(i)
    return groups
