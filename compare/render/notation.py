"""Readable forms of exact results: `4*x` for a gradient whose entries share one template.

Shared by the markdown report and the JSON results, so both name a
derivative the same way; every form is SymPy `str()` that `sympify` reads
back, except where a result too large to read is cut.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy

from ..exact.shapes import template
from ..exact.graph.piece import summary
from ..records import CaseResult
from ..exact.sym import as_expr

__all__ = ["SHOWN_TERMS", "readable_array", "readable_gradient", "shortened"]


SHOWN_TERMS = 64
"""Longest sum, and largest array without a template, written out in full; longer ones are cut."""


def readable_array(values: np.ndarray, symbols: dict) -> sympy.Basic | str:
    """`4*x` when every entry follows one template, else the entries; a scalar as itself.

    Large results are cut (`... (10000 terms)`): SymPy's ordered printing of
    a sum in n symbols costs n squared, and nobody reads 10000 terms.
    """
    on_graph = summary(values)  # kept on the traced graph: shown by its shape, never written out
    if on_graph is not None:
        return on_graph
    if values.ndim == 0:
        return shortened(as_expr(values[()]))
    found = template(values, symbols)
    if found is not None:
        return shortened(found)
    if values.size > SHOWN_TERMS:
        head = ", ".join(str(shortened(as_expr(v))) for v in values.reshape(-1)[:8])
        return f"{values.shape} [{head}, … ({values.size} entries)]"
    return str(np.vectorize(lambda v: _text(as_expr(v)), otypes=[object])(values).tolist()).replace("'", "")


@functools.lru_cache(maxsize=1 << 12)
def _text(expr: sympy.Basic) -> str:
    """An entry's `str`, kept: the page and the JSON of a case print the same entries (equal
    expressions print alike, so a kept text is never another expression's)."""
    return str(shortened(expr))


def shortened(expr: sympy.Basic) -> sympy.Basic | str:
    """`expr`, or for a sum of more than SHOWN_TERMS terms its first few and the count."""
    if not isinstance(expr, sympy.Add) or len(expr.args) <= SHOWN_TERMS:
        return expr
    terms = expr.args  # SymPy's canonical order: printing them sorted would cost n squared
    return " + ".join(sympy.sstr(t) for t in terms[:4]) + f" + … + {sympy.sstr(terms[-1])} ({len(terms)} terms)"


def readable_gradient(result: CaseResult, name: str) -> str:
    """The case's derivative for one input, as SymPy `str()` that `sympify` reads back."""
    if len(result.pieces) == 1:
        return str(readable_array(result.pieces[0].gradient[name], result.symbols))
    parts = []
    for piece in result.pieces:
        g = readable_array(piece.gradient[name], result.symbols)
        parts.append((g if isinstance(g, sympy.Basic) else sympy.Symbol(g), piece.condition))
    return str(sympy.Piecewise(*parts, evaluate=False))
