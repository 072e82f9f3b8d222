"""Points with an infinite coordinate: an input entry of ±inf (`logsumexp` of [-inf, 0, 1], a row
of attention scores masked with -inf).

A finite step leaves an infinite coordinate where it is (-inf + h = -inf), so where the function
has a finite value it does not change along that coordinate: the partial derivative along it is
0, and so is every second derivative that involves it. That is also PyTorch's rule 4 (by
continuity): a derivative that has a limit as a coordinate goes to ±inf while the function's
value stays finite has the limit 0. The other partial derivatives are the formulas' values with
±oo substituted (exp(-oo) = 0), which `evaluate_many` takes by SymPy's extended arithmetic.

Where an output entry is itself infinite (exp(x) at x = inf), f(x + h) - f(x) is inf - inf: the
formulas' values (their limits: inf for exp) stand, as rule 4 gives them (inf possible).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import sympy

from .differentiate import hessian_vector_values

__all__ = ["infinite", "at_point", "hessian_vectors"]


def _infinite(value) -> bool:
    return value is sympy.S.Infinity or value is sympy.S.NegativeInfinity  # singletons: no SymPy equality


def infinite(point: Mapping, symbols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Input name -> a bool array of its shape: which of its coordinates are ±oo at `point`."""
    return {name: np.array([_infinite(point.get(s)) for s in syms.flat], dtype=bool).reshape(syms.shape)
            for name, syms in symbols.items()}


def at_point(exact, point: Mapping, symbols: Mapping[str, np.ndarray]):
    """`exact` (an `pieces.values.Exact`) with the derivatives along infinite coordinates set to 0 (see
    the module docstring); `exact` itself at a point with none, or where an output entry is infinite."""
    if not any(_infinite(v) for v in point.values()):
        return exact
    where = infinite(point, symbols)
    output = np.asarray(exact.output, dtype=np.float64)
    if np.isinf(output).any():
        return exact
    gradient = {n: np.where(where[n], 0.0, g) for n, g in exact.gradient.items()}
    jacobian = None
    if exact.jacobian is not None:  # d out[i] / d x[j]: the input's axes are the last ones
        jacobian = {n: np.where(np.broadcast_to(where[n], j.shape), 0.0, j) for n, j in exact.jacobian.items()}
    weighted = None if exact.weighted is None else {n: np.where(where[n], 0.0, g) for n, g in exact.weighted.items()}
    hessian = exact.hessian
    flat = np.concatenate([where[n].reshape(-1) for n in symbols])
    if hessian is not None and np.ndim(hessian) == 2 and hessian.shape == (flat.size, flat.size):
        hessian = np.where(flat[:, None] | flat[None, :], 0.0, hessian)
    return dataclasses.replace(exact, gradient=gradient, jacobian=jacobian, hessian=hessian, weighted=weighted)


def hessian_vectors(gradient: Mapping[str, np.ndarray], symbols: Mapping[str, np.ndarray], u: list,
                    points: list) -> np.ndarray:
    """`hessian_vector_values` at each point, H v along `u`; at a point with infinite
    coordinates, u's entries along them are 0 and so are H v's (the second derivatives involving them,
    module docstring), so that no 0 * NaN of the formulas there reaches the sum."""
    plain = [i for i, p in enumerate(points) if not any(_infinite(v) for v in p.values())]
    marks = {i: np.concatenate([m.reshape(-1) for m in infinite(p, symbols).values()])
             for i, p in enumerate(points) if i not in plain}
    out = np.empty((len(points), sum(s.size for s in symbols.values())), dtype=np.float64)
    if plain:
        out[plain] = hessian_vector_values(gradient, symbols, u, [points[i] for i in plain])
    for i, m in marks.items():
        along = [sympy.Integer(0) if inf else w for w, inf in zip(u, m)]
        out[i] = np.where(m, 0.0, hessian_vector_values(gradient, symbols, along, [points[i]])[0])
    return out
