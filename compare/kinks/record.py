"""What a rule allows for one site at one point (`LocalRule`), and the minimum-norm choices of rules 2 and 3."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy

from ..exact.sym import as_expr
from ..symbolic.inverse import rational_inverse
from .numbers import ANYTHING, finite, shown, sign_of

__all__ = ["LocalRule", "RULES", "interval_min_norm", "hull_min_norm", "distinct", "set_text"]

RULES = {
    1: "rule 1 (differentiable: the derivative)",
    2: "rule 2 (locally convex: the subgradient of minimum norm)",
    3: "rule 3 (locally concave: the supergradient of minimum norm)",
    4: "rule 4 (defined: the derivative by continuity, any one where several)",
    5: "rule 5 (undefined: any value)",
}
"""PyTorch's general rules at a point where a function is not differentiable (autograd notes,
"Gradients for non-differentiable functions"), applied op by op and chained."""


@dataclass(frozen=True)
class LocalRule:
    """What PyTorch's rules allow for one site's partial derivatives at one point."""

    text: str
    """The rule, as the page says it: the op, where, which rule and the values it allows."""
    first: tuple
    """The allowed first partials: alternatives, each a tuple over the site's outputs of tuples over
    its variables (exact numbers; `ANYTHING` where any value is allowed)."""
    second: tuple
    """The allowed second partials: alternatives, each a tuple over outputs of (variables x variables)
    tuples of tuples."""
    kink_first: bool
    """The op is not differentiable here: its first partials are a rule's, not the derivative."""
    kink_second: bool
    """Its first partials are not differentiable here: its second partials are a rule's."""


def interval_min_norm(low, high):
    """The element of least absolute value of the interval [low, high] (exact numbers, infinities allowed)."""
    if sign_of(low) != 1 and sign_of(high) != -1:
        return sympy.S.Zero
    return high if sign_of(high) == -1 else low


def distinct(values) -> list:
    """`values` with repeats (exactly equal numbers, or equal tuples of them) left out, in order."""
    out = []
    for v in values:
        if not any(_equal(v, w) for w in out):
            out.append(v)
    return out


def _equal(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    a, b = as_expr(a), as_expr(b)
    if a is ANYTHING or b is ANYTHING:
        return a is b
    if finite(a) and finite(b):
        return a == b if a.is_Rational and b.is_Rational else sign_of(a - b) == 0
    return a == b


def set_text(values) -> str:
    """A set of values (numbers or vectors of them) as the page shows it: {0, -1/2}."""
    def one(v):
        if isinstance(v, tuple):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return shown(v)
    return "{" + ", ".join(one(v) for v in values) + "}"


def hull_min_norm(points: list[tuple]) -> tuple:
    """The point of least Euclidean norm in the convex hull of `points` (Wolfe's algorithm, exactly,
    on the points as fractions: exact for rational points, float64-close otherwise)."""
    pts = [tuple(_fraction(x) for x in p) for p in points]
    chosen = [min(range(len(pts)), key=lambda k: _dot(pts[k], pts[k]))]
    weights = [Fraction(1)]
    x = pts[chosen[0]]
    for _ in range(100):
        j = min(range(len(pts)), key=lambda k: _dot(x, pts[k]))
        if _dot(x, pts[j]) >= _dot(x, x) or j in chosen:
            break
        chosen, weights = chosen + [j], weights + [Fraction(0)]
        chosen, weights, x = _minor(pts, chosen, weights)
    return tuple(sympy.Rational(v.numerator, v.denominator) for v in x)


def _minor(pts, chosen, weights):
    """Wolfe's minor cycle: the least-norm point of the affine hull of the chosen points, moved back
    into their convex hull while it leaves it."""
    while True:
        mu = _affine_min_norm([pts[k] for k in chosen])
        if all(m > 0 for m in mu):
            return chosen, mu, _combination(pts, chosen, mu)
        theta = min(w / (w - m) for w, m in zip(weights, mu) if m <= 0)
        weights = [(1 - theta) * w + theta * m for w, m in zip(weights, mu)]
        keep = [i for i, w in enumerate(weights) if w > 0]
        chosen, weights = [chosen[i] for i in keep], [weights[i] for i in keep]


def _affine_min_norm(points):
    """Weights mu (summing to 1) of the least-norm point of the points' affine hull: with G their Gram
    matrix, [[G, 1], [1ᵀ, 0]] [mu; λ] = [0; 1], whose solution is the last column of that matrix's
    inverse (Wolfe keeps the chosen points affinely independent, so it has one)."""
    n = len(points)
    rows = [[_dot(points[i], points[j]) for j in range(n)] + [Fraction(1)] for i in range(n)]
    rows.append([Fraction(1)] * n + [Fraction(0)])
    inverse = rational_inverse(tuple(v for row in rows for v in row))
    if inverse is None:
        raise ArithmeticError("Wolfe's chosen points are affinely dependent")
    return [inverse[i][n] for i in range(n)]


def _combination(pts, chosen, weights):
    dim = len(pts[0])
    return tuple(sum((w * pts[k][d] for k, w in zip(chosen, weights)), Fraction(0)) for d in range(dim))


def _dot(a, b):
    return sum((x * y for x, y in zip(a, b)), Fraction(0))


def _fraction(v) -> Fraction:
    v = as_expr(v)
    if v.is_Rational:
        return Fraction(int(v.p), int(v.q))
    return Fraction(float(v))
