"""Exact derivatives of a piece's output, and their evaluation at points.

Differentiation goes term by term: each term of an output's sum is
differentiated only by the symbols it contains. `diff(f, x_i)` on the
whole of `2*(x_0**2 + ... + x_n**2)` would re-walk all n terms for each
of the n inputs (n squared); term by term, the work is the size of the
expression.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping

import numpy as np
import sympy

from .sym import as_expr, release, to_float

__all__ = ["gradient", "jacobian", "hessian", "hessian_vector", "evaluate", "template"]


def _partials(expr: sympy.Expr, wanted: set) -> dict:
    """{symbol: d expr / d symbol} for the symbols of `wanted` that occur in `expr`."""
    acc: dict = defaultdict(list)
    for term in sympy.Add.make_args(expr):
        for s in term.free_symbols & wanted:
            acc[s].append(term.diff(s))
    return {s: sympy.Add(*terms) for s, terms in acc.items()}


def gradient(output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The gradient of `output.sum()` with respect to each input's symbols.

    This is what `out.sum().backward()` computes: for a non-scalar output,
    the vector-Jacobian product with a vector of ones.
    """
    wanted = {s for syms in inputs.values() for s in syms.flat}
    acc: dict = defaultdict(list)
    for out in output.flat:
        for s, d in _partials(out, wanted).items():
            acc[s].append(d)
    result = {}
    for name, syms in inputs.items():
        g = np.empty(syms.shape, dtype=object)
        for idx in np.ndindex(*syms.shape):
            g[idx] = sympy.Add(*acc.get(syms[idx], ()))
        result[name] = g
    return result


def jacobian(output: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """d output[i] / d input[j] for each input: arrays of shape output.shape + input.shape."""
    wanted = {s for syms in inputs.values() for s in syms.flat}
    rows = [_partials(out, wanted) for out in output.flat]
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
    wanted = set(symbols)
    for i, g in enumerate(_flat(grad, inputs)):
        for s, d in _partials(g, wanted).items():
            out[i, column[s]] = d
    return out


def hessian_vector(grad: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], v) -> np.ndarray:
    """H v for a constant vector `v` over all input entries: the gradient of grad . v."""
    along = sympy.Add(*(g * vi for g, vi in zip(_flat(grad, inputs), v)))
    return np.array(_flat(gradient(np.array(along, dtype=object), inputs), inputs), dtype=object)


def evaluate(exprs: np.ndarray, point: Mapping[sympy.Symbol, sympy.Rational]) -> np.ndarray:
    """The exact value of each expression at `point`, rounded to the nearest float64."""
    out = np.empty(exprs.shape, dtype=np.float64)
    for idx in np.ndindex(*exprs.shape):
        out[idx] = to_float(release(as_expr(exprs[idx])).xreplace(point))
    return out


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
