"""Prove or refute a case's claim (`expect`) on one piece, by algebra.

The claim is run on SymTensors, like the case itself, and compared with
the exact gradient entry by entry; where both follow one template (`4*x`)
the templates are compared once instead.
"""
from __future__ import annotations

import inspect
from typing import Callable, Mapping

import numpy as np
import sympy

from ..exact.shapes import template
from ..case import Case
from ..errors import CaseOutputError
from ..explore import Piece, ByValue
from ..exact.sym import as_expr, release
from ..symbolic import BRANCH, SymTensor, exprs_of

__all__ = ["prove", "vanishes", "same_template", "nonzero"]


def prove(case: Case, piece: Piece, grad: dict, sym_inputs, point: dict | None, *,
          project: Callable[[dict], dict] | None = None) -> tuple[str, str]:
    """Is `expect` the exact gradient on this piece? Proven by algebra, or refuted at a point.

    `detach` is released on both sides: the claim speaks of values
    (`x.grad == u` where `u = (x*x).detach()`). `project`: where inputs are structured matrices
    (`compare.basis`), both sides are compared on the structure's directions.
    """
    kwargs = dict(sym_inputs)
    if "out" in inspect.signature(case.expect).parameters:
        kwargs["out"] = SymTensor(piece.output, next(iter(sym_inputs.values())).dtype)
    token = BRANCH.set(ByValue(point) if point is not None else None)
    try:
        got = case.expect(**kwargs)
    finally:
        BRANCH.reset(token)
    if isinstance(got, Mapping):
        if set(got) != set(grad):
            missing, unknown = sorted(set(grad) - set(got)), sorted(set(got) - set(grad))
            raise CaseOutputError("expect gives gradients for " + str(sorted(got)) + ", the inputs are "
                                  + str(list(grad)) + (f"; missing {missing}" if missing else "")
                                  + (f"; not an input: {unknown}" if unknown else ""))
        claimed = got
    elif len(grad) > 1:
        raise CaseOutputError("expect must return a dict, input name -> gradient, when the case has "
                              "several inputs")
    else:
        claimed = {next(iter(grad)): got}
    wants = {name: _claimed(name, claimed[name], g) for name, g in grad.items()}
    if project is not None:
        grad, wants = project(grad), project(wants)
    unproven, rounding = [], []
    for name, g in grad.items():
        want = wants[name]
        if same_template(want, g, sym_inputs):
            continue
        for idx in np.ndindex(*g.shape):
            difference = release(as_expr(want[idx])) - release(g[idx])
            if difference == 0 or vanishes(difference):
                continue
            entry = f"{name}{list(idx) if idx else ''}"
            if point is not None:
                value = difference.xreplace(point)
                if value.is_number and nonzero(value):
                    if _rounding_apart(value, release(g[idx]).xreplace(point)):
                        rounding.append(f"{entry}: the claim gives {want[idx]}, the derivative is {g[idx]}")
                        continue
                    return "disproven", f"{entry}: the claim gives {want[idx]}, the derivative is {g[idx]}"
            unproven.append(entry)
    if rounding:
        return "unproven", ("equal only up to the rounding of float constants (0.3 is not 3 * 0.1 in "
                            "binary, and the constants are taken exactly): " + rounding[0])
    if unproven:
        return "unproven", "no algebraic proof for " + ", ".join(unproven[:3])
    return "proven", ""


def _claimed(name: str, value, g: np.ndarray) -> np.ndarray:
    """The claim for one input as entries of its gradient's shape (a number broadcast), or why not."""
    if value is None or isinstance(value, (str, bytes, Mapping)):
        raise CaseOutputError(f"expect gives a {type(value).__name__} for input {name!r}, not a tensor")
    data = exprs_of(value)
    if data.shape != g.shape and data.size != 1:
        raise CaseOutputError(f"expect gives shape {tuple(data.shape)} for input {name!r}; its gradient "
                              f"has shape {tuple(g.shape)}")
    return np.broadcast_to(data, g.shape)


ROUNDING = 2.0 ** -40
"""A claim this close to the derivative, relatively, differs from it by the rounding of its float
constants (each off by half an ULP, about 1e-16), not by a mistake: it is left unproven, not refuted."""


def _rounding_apart(difference: sympy.Expr, derivative: sympy.Expr) -> bool:
    try:
        size = abs(float(derivative.evalf(30)))
        return size != 0 and abs(float(difference.evalf(30))) <= ROUNDING * size
    except (TypeError, ValueError):
        return False


def vanishes(difference: sympy.Expr) -> bool:
    """Is `difference` zero by algebra? `simplify` only on small expressions: it is slow on large ones."""
    return sympy.expand(difference) == 0 or sympy.count_ops(difference) < 200 and sympy.simplify(difference) == 0


def same_template(want: np.ndarray, grad: np.ndarray, sym_inputs) -> bool:
    """The claim and the gradient follow one template each, and the templates are equal.

    Entry i of each is its template with the inputs' entry i substituted,
    so equal templates prove every entry at once: one comparison for
    n entries, where entry by entry would be n `expand`s.
    """
    if grad.ndim == 0 or grad.size < 2:
        return False
    inputs = {n: t.exprs for n, t in sym_inputs.items()}
    got, claimed = template(grad, inputs), template(np.asarray(want), inputs)
    if got is None or claimed is None:
        return False
    difference = release(claimed) - release(got)
    return difference == 0 or vanishes(difference)


def nonzero(value: sympy.Expr) -> bool:
    """Is this number provably nonzero? A difference that cancels evaluates to a 1-bit Float such
    as 0.e-166, which compares unequal to 0: only a value known to 30 digits refutes a claim."""
    try:
        return value.evalf(30, strict=True) != 0
    except sympy.core.evalf.PrecisionExhausted:
        return False
