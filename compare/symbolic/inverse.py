"""The inverse of a matrix as one SymPy node per entry, for matrices past adj(A) / det(A)'s reach.

An inverse beyond `linalg.INVERSE_SIZE` is not written out as adj(A) / det(A)
(a 6 x 6 cofactor has 120 terms, and SymPy differentiates quotients of such
sums slowly), nor as Gaussian elimination on expressions: that is a DAG of
O(n^3) small steps, but SymPy differentiates and substitutes trees, not DAGs,
so its derivative re-walks every shared step (5 x 5: 144 s for the gradient).
Instead each entry of A^-1 is one node `inverse_entry(i, j, a_00, ..., a_nn)`,
a function of A's entries whose partial derivatives are the exact identity
d(A^-1) = -A^-1 dA A^-1, i.e. d (A^-1)_ij / d a_kl = -(A^-1)_ik (A^-1)_lj,
and whose value at rational entries is the exact rational (A^-1)_ij.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import sympy

from .nodes import ChainRule

__all__ = ["inverse_entry", "inverse_nodes", "determinant", "rational_inverse", "rational_det"]


@functools.lru_cache(maxsize=256)
def rational_inverse(entries: tuple[Fraction, ...]) -> tuple[tuple[Fraction, ...], ...] | None:
    """A^-1 of an n x n rational matrix (row by row), exactly; None where A is singular.

    Gauss-Jordan on exact Fractions: the inverse is unique, so any nonzero
    pivot gives the same exact result (the first nonzero one of its column
    is taken; no rounding means no need for LAPACK's largest one).
    """
    n = math.isqrt(len(entries))
    rows = [list(entries[i * n:(i + 1) * n]) + [Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for k in range(n):
        p = next((i for i in range(k, n) if rows[i][k] != 0), None)
        if p is None:
            return None
        rows[k], rows[p] = rows[p], rows[k]
        pivot = rows[k][k]
        rows[k] = [v / pivot for v in rows[k]]
        for i in range(n):
            if i != k and rows[i][k] != 0:
                f = rows[i][k]
                rows[i] = [v - f * w for v, w in zip(rows[i], rows[k])]
    return tuple(tuple(r[n:]) for r in rows)


@functools.lru_cache(maxsize=256)
def rational_det(entries: tuple[Fraction, ...]) -> Fraction:
    """det(A) of an n x n rational matrix (row by row), exactly, by elimination (any nonzero pivot)."""
    n = math.isqrt(len(entries))
    rows = [list(entries[i * n:(i + 1) * n]) for i in range(n)]
    det = Fraction(1)
    for k in range(n):
        p = next((i for i in range(k, n) if rows[i][k] != 0), None)
        if p is None:
            return Fraction(0)
        if p != k:
            rows[k], rows[p] = rows[p], rows[k]
            det = -det
        det *= rows[k][k]
        for i in range(k + 1, n):
            f = rows[i][k] / rows[k][k]
            rows[i] = [v - f * w for v, w in zip(rows[i], rows[k])]
    return det


def _mp_matrix(entries: tuple, prec: int):
    n = math.isqrt(len(entries))
    return mpmath.matrix([[entries[i * n + j]._to_mpmath(prec) for j in range(n)] for i in range(n)])


def _numbers(entries, prec: int):
    """The entries as Floats of `prec` bits, or None where one is not a real number."""
    values = [a.evalf(prec) for a in entries]
    return tuple(values) if all(v.is_number and v.is_real for v in values) else None


def _mp_inverse(entries: tuple, prec: int):
    """A^-1 at `prec` bits (mpmath's LU, with guard bits), for entries that are numbers but not rational."""
    with mpmath.workprec(prec + 30):
        return _mp_matrix(entries, prec + 30) ** -1


def _exact_matrix(balls: tuple) -> list | None:
    """Exact balls (a point's dyadic coordinates, their sums and products) as Fractions; None otherwise."""
    out = []
    for b in balls:
        if not (isinstance(b, flint.arb) and b.is_exact() and b.is_finite()):
            return None
        m, e = b.mid().man_exp()
        out.append(Fraction(int(m) * 2 ** int(e)) if e >= 0 else Fraction(int(m), 2 ** int(-e)))
    return out


_SEEN: dict = {}
"""(ids of a node's argument arrays) -> (those arrays, the matrix's exact value at each point): within one
evaluation (`compare.exact.ball.Balls`) every node of one matrix gets the same arrays, and each of the n^2
nodes would otherwise read the n^2 coordinates and invert again."""


def _on_balls(args: list, whole, pick) -> object:
    """`pick(whole(entries as Fractions))` at each point of the arguments' balls (`compare.exact.ball`): the exact
    rational as a ball; NaN where `whole` gives None (a singular matrix) or an entry is not exact."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    key = tuple(id(a) for a in args)
    found = _SEEN.get(key)
    if found is None:
        columns = [np.broadcast_to(np.asarray(a, dtype=object), shape) for a in args]
        values = {}
        for idx in np.ndindex(*shape):
            entries = _exact_matrix(tuple(c[idx] for c in columns))
            values[idx] = whole(tuple(entries)) if entries is not None else None
        if len(_SEEN) >= 64:
            _SEEN.clear()
        found = _SEEN[key] = (list(args), values)
    out = np.empty(shape, dtype=object)
    for idx, value in found[1].items():
        v = pick(value) if value is not None else None
        out[idx] = flint.arb.nan() if v is None else flint.arb(flint.fmpq(v.numerator, v.denominator))
    return out if shape else out[()]


class inverse_entry(ChainRule, sympy.Function):
    """(A^-1)[i, j] of the n x n matrix A whose entries, row by row, follow i and j.

    At rational entries it is the exact rational value; at other numbers it
    evaluates (`evalf`) in mpmath at the precision asked for; on symbols it
    stays a node whose derivative is -A^-1 dA A^-1 (see the module docstring).
    """

    is_real = True  # the inverse of a real matrix (torch's float dtypes) is real where it exists

    @classmethod
    def eval(cls, i, j, *entries):
        if entries and all(isinstance(a, sympy.Rational) for a in entries):
            inv = rational_inverse(tuple(Fraction(int(a.p), int(a.q)) for a in entries))
            if inv is None:  # a singular matrix: torch's inverse is undefined there too
                return sympy.nan
            v = inv[int(i)][int(j)]
            return sympy.Rational(v.numerator, v.denominator)
        return None

    def fdiff(self, argindex: int = 1):
        i, j, *entries = self.args
        if argindex <= 2:
            raise sympy.ArgumentIndexError(self, argindex)
        n = math.isqrt(len(entries))
        k, l = divmod(argindex - 3, n)
        return -inverse_entry(i, sympy.Integer(k), *entries) * inverse_entry(sympy.Integer(l), j, *entries)

    def _eval_ball(self, args: list):
        """At rational points, the exact rational entry of A^-1 (Gauss-Jordan on Fractions), as a ball."""
        i, j = int(self.args[0]), int(self.args[1])
        return _on_balls(args[2:], rational_inverse, lambda inv: inv[i][j])

    def _eval_evalf(self, prec):
        i, j, *entries = self.args
        values = _numbers(entries, prec + 30)
        if values is None:
            return None
        try:
            inv = _mp_inverse(values, prec)
        except ZeroDivisionError:
            return sympy.nan
        return sympy.Float(inv[int(i), int(j)], prec)

    def _latex(self, printer, exp=None):
        base = rf"\left(A^{{-1}}\right)_{{{int(self.args[0]) + 1}{int(self.args[1]) + 1}}}"
        return base if exp is None else rf"{base}^{{{exp}}}"


def inverse_nodes(a: np.ndarray) -> np.ndarray:
    """A^-1 of one square object array, as `inverse_entry` nodes (exact rationals where A is constant)."""
    n = a.shape[0]
    entries = [sympy.sympify(v) for v in a.reshape(-1)]
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            out[i, j] = inverse_entry(sympy.Integer(i), sympy.Integer(j), *entries)
    return out


class determinant(ChainRule, sympy.Function):
    """det(A) of the n x n matrix A whose entries, row by row, are the arguments.

    The polynomial itself has n! terms (720 at 6 x 6: 13 s for a gradient,
    33 s for slogdet's); as one node its partials are Jacobi's formula,
    d det(A) / d a_kl = det(A) (A^-1)_lk, and its value at rational entries
    is the exact rational one (elimination on Fractions).
    """

    is_real = True

    @classmethod
    def eval(cls, *entries):
        if entries and all(isinstance(a, sympy.Rational) for a in entries):
            v = rational_det(tuple(Fraction(int(a.p), int(a.q)) for a in entries))
            return sympy.Rational(v.numerator, v.denominator)
        return None

    def fdiff(self, argindex: int = 1):
        n = math.isqrt(len(self.args))
        k, l = divmod(argindex - 1, n)
        return self * inverse_entry(sympy.Integer(l), sympy.Integer(k), *self.args)

    def _eval_ball(self, args: list):
        """At rational points, the exact rational det(A), as a ball."""
        return _on_balls(args, rational_det, lambda det: det)

    def _eval_evalf(self, prec):
        values = _numbers(self.args, prec + 30)
        if values is None:
            return None
        with mpmath.workprec(prec + 30):
            return sympy.Float(mpmath.det(_mp_matrix(values, prec + 30)), prec)

    def _latex(self, printer, exp=None):
        base = r"\det A"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"
