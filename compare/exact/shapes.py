"""An expression's shape: its tree with some symbols marked, so that entries that differ only in
their own symbols (`4*x_0`, ..., `4*x_9999` are all `4*x`) are differentiated and evaluated once."""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping

import numpy as np
import sympy

from .sym import as_expr

__all__ = ["OWN", "tree_shape", "renamed_shape", "entry_shape", "unordered_shape", "symbol_counts", "remember_renaming", "renamed", "template"]


def remember_renaming(entry: sympy.Basic, generic: sympy.Basic, g: sympy.Symbol, s: sympy.Symbol) -> sympy.Basic:
    """Note that `entry` is `generic` with `g` renamed `s` (so `entry_shape` reads its shape from the
    generic one's, once per shape, instead of walking every entry); returns `entry`."""
    if len(_ORIGINS) >= 1 << 17:
        _ORIGINS.clear()
    _ORIGINS[id(entry)] = (entry, generic, g, s)
    return entry


_ORIGINS: dict = {}
"""id of a renamed entry -> (the entry, its generic form, the generic symbol, the entry's own symbol). The
entry is kept, so its id is not reused; a pure record of structure, never stale."""


def renamed(expr: sympy.Basic, back: Mapping) -> sympy.Basic:
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
    args = [renamed(a, back) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    if expr.is_Add or expr.is_Mul:
        return expr.func._from_args(args, expr.is_commutative)
    if expr.is_Pow and expr.is_commutative:  # what Pow(..., evaluate=False) builds, without its checks
        power = sympy.Expr.__new__(sympy.Pow, *args)
        power.is_commutative = True
        return power
    return expr.func(*args)


OWN = object()
"""Marks, in a `tree_shape` key, where an entry's own symbol stands."""


def tree_shape(expr: sympy.Basic, own: Mapping) -> object:
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
    return (expr.func, *(tree_shape(a, own) for a in expr.args))


def renamed_shape(expr: sympy.Basic) -> object:
    """`expr`'s tree with each symbol replaced by its rank (by name) and its assumptions.

    Equal keys mean one expression up to a renaming of symbols that keeps their assumptions, so
    anything SymPy infers from assumptions alone (`is_zero`, say) is the same for both.
    """
    ranked = sorted(expr.free_symbols, key=lambda s: s.name)
    return tree_shape(expr, {s: (OWN, k, frozenset(s.assumptions0.items())) for k, s in enumerate(ranked)})


def entry_shape(expr: sympy.Basic, own: Mapping) -> object:
    """`tree_shape`, kept: the gradient's entries are grouped once for their values (`evaluate_many`)
    and again for H v (`hessian_vector_values`). A pure function of its arguments: never stale."""
    key = (id(expr), tuple(own.items()))
    found = _SHAPES.get(key)
    if found is None or found[0] is not expr:
        if len(_SHAPES) >= 1 << 16:
            _SHAPES.clear()
        origin = _ORIGINS.get(id(expr))
        if origin is not None and origin[0] is expr and origin[3] in own and len(own) == 1:
            # a renamed generic derivative (`renamed`): its own symbol where the generic one stood
            shape = entry_shape(origin[1], {origin[2]: own[origin[3]]})
        else:
            shape = tree_shape(expr, own)
        found = _SHAPES[key] = (expr, shape)
    return found[1]


_SHAPES: dict = {}
"""(id of an expression, its marked symbols) -> (the expression, its shape). Keyed by identity, not
equality (comparing two equal trees walks both); the expression is kept, so its id is not reused."""


def symbol_counts(expr: sympy.Basic, symbols) -> dict:
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


def unordered_shape(expr: sympy.Basic, own: Mapping) -> object:
    """`tree_shape`, with the arguments of a sum or product as a multiset: equal keys are still one
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
            parts[unordered_shape(a, own)] += 1
        return expr.func, frozenset(parts.items())
    return (expr.func, *(unordered_shape(a, own) for a in expr.args))


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
