"""The eigenvalues and eigenvectors of a real, not necessarily symmetric, matrix as SymPy nodes.

Values are complex, so each node is one real or imaginary part
(`eig_entry`); `decompositions.py` joins them. Their partial derivatives
are the implicit ones of `spectral.py`'s docstring, for a simple
eigenvalue: d lambda_k / d A_ab = w_k[a] v_k[b] (w_k the row k of V^-1), and

    d v_k / d A_ab = sum_{j != k} v_j w_j[a] v_k[b] / (lambda_k - lambda_j) + c v_k,
    c = -Re(sum_{j != k} (v_k^H v_j) w_j[a] v_k[b] / (lambda_k - lambda_j)),
    d w_k / d A_ab = -sum_{q != k} w_k[a] v_q[b] w_q / (lambda_q - lambda_k) - c w_k

(the last from dW = -W dV W). Written out in real and imaginary parts,
these sums hold O(n^2) products each, and a gradient of n^2 vector entries
would hold them all; so a vector's partial is itself one node,
`eig_partial`, whose value is the formula's in Arb's balls and whose own
partials (second derivatives) differentiate the formula written out.

The derivative of a vector is taken in the gauge where its phase does not
turn (Im(v_k^H dv_k) = 0), its value in LAPACK's: the two agree for every
function of the vectors that does not depend on their phases, the only
kind whose gradient PyTorch defines (its backward raises for the others).
"""
from __future__ import annotations

import flint
import sympy

from . import eigen
from .nodes import MatrixNode, PartialNode, Repeating, add, square

__all__ = ["eig_entry", "eig_partial", "VALUE_RE", "VALUE_IM", "RIGHT_RE", "RIGHT_IM", "LEFT_RE", "LEFT_IM"]

VALUE_RE, VALUE_IM, RIGHT_RE, RIGHT_IM, LEFT_RE, LEFT_IM = range(6)
"""`eig_entry`'s parts: the real and imaginary parts of lambda_k, of v_k[i], and of w_k[i]."""


# -- complex numbers as (real part, imaginary part) pairs of real expressions -----------------------
def _mul(x, y):
    return (x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0])


def _div(x, y):
    size = square(y[0]) + square(y[1])
    return ((x[0] * y[0] + x[1] * y[1]) / size, (x[1] * y[0] - x[0] * y[1]) / size)


def _sub(x, y):
    return (x[0] - y[0], x[1] - y[1])


def _sum(pairs):
    pairs = list(pairs)
    return (add([p[0] for p in pairs]), add([p[1] for p in pairs]))


def _conj(x):
    return (x[0], -x[1])


class _Parts:
    """lambda, v and w of one matrix as pairs, on SymPy nodes or on Arb's balls alike."""

    def __init__(self, lam, v, w, make):
        self.lam, self.v, self.w, self.make = lam, v, w, make

    def gauge(self, k: int, a: int, b: int, n: int):
        """c_k: keeps |v_k| = 1."""
        terms = []
        for j in range(n):
            if j != k:
                overlap = _sum(_mul(_conj(self.v(k, p)), self.v(j, p)) for p in range(n))
                terms.append(_div(_mul(_mul(overlap, self.w(j, a)), self.v(k, b)), _sub(self.lam(k), self.lam(j))))
        return -_sum(terms)[0]

    def partial(self, part: int, k: int, i: int, a: int, b: int, n: int):
        """d (lambda_k, v_k[i] or w_k[i]) / d A_ab as a pair."""
        lam, v, w = self.lam, self.v, self.w
        if part < RIGHT_RE:
            return _mul(w(k, a), v(k, b))
        c = self.gauge(k, a, b, n)
        if part < LEFT_RE:
            spread = _sum(_div(_mul(_mul(v(j, i), w(j, a)), v(k, b)), _sub(lam(k), lam(j))) for j in range(n) if j != k)
            return (spread[0] + c * v(k, i)[0], spread[1] + c * v(k, i)[1])
        spread = _sum(_div(_mul(_mul(w(k, a), v(q, b)), w(q, i)), _sub(lam(q), lam(k))) for q in range(n) if q != k)
        return (-spread[0] - c * w(k, i)[0], -spread[1] - c * w(k, i)[1])


def _node_parts(make) -> _Parts:
    """`_Parts` on nodes: `make(part, k, i)` is the node of that part of the same matrix."""
    pair = lambda part, k, i=0: (make(part, k, i), make(part + 1, k, i))  # noqa: E731
    return _Parts(lambda c: pair(VALUE_RE, c), lambda c, r: pair(RIGHT_RE, c, r), lambda c, r: pair(LEFT_RE, c, r),
                  make)


def _ball_parts(d: eigen.Decomposition) -> _Parts:
    pair = lambda z: (z.real, z.imag)  # noqa: E731
    return _Parts(lambda c: pair(d.values[c]), lambda c, r: pair(d.right[c][r]), lambda c, r: pair(d.left[c][r]),
                  None)


def _real_or_imaginary(part: int, z: tuple):
    return z[part % 2]


class eig_entry(Repeating, MatrixNode):
    """A real or imaginary part of lambda_k, v_k[i] or w_k[i] (row k of V^-1) of the real n x n matrix
    given by its entries, in torch.linalg.eig's order and gauge: `eig_entry(part, k, i, n, a_00, ...)`."""

    @classmethod
    def decomposition(cls, head, entries, prec):
        return eigen.general(entries, (head[3], head[3]), prec)

    @classmethod
    def value_at(cls, head, entries, prec):
        part, k, i, n = head
        d = eigen.general(entries, (n, n), prec)
        if d is None:
            return flint.arb.nan()
        z = d.values[k] if part < RIGHT_RE else (d.right if part < LEFT_RE else d.left)[k][i]
        return z.real if part % 2 == 0 else z.imag

    def formula(self, head: tuple, a: int, b: int):
        part, k, i, n = head
        return _real_or_imaginary(part, _node_parts(self.node).partial(part, k, i, a, b, n))

    @classmethod
    def partial_on_balls(cls, head: tuple, a: int, b: int, entries: tuple, prec: int):
        part, k, i, n = head
        d = eigen.general(entries, (n, n), prec)
        if d is None or not d.simple[k]:
            return flint.arb.nan()
        return _real_or_imaginary(part, _ball_parts(d).partial(part, k, i, a, b, n))

    def fdiff(self, argindex: int = 1):
        a, b = self._entry_index(argindex)
        if self.head[0] < RIGHT_RE:
            return self.formula(self.head, a, b)
        return eig_partial(*self.args[:4], sympy.Integer(a), sympy.Integer(b), *self.entries)

    def _latex(self, printer, exp=None):
        part, k, i = self.head[:3]
        name = [rf"\lambda_{{{k + 1}}}", rf"\left(v_{{{k + 1}}}\right)_{{{i + 1}}}",
                rf"\left(w_{{{k + 1}}}\right)_{{{i + 1}}}"][part // 2]
        base = rf"\operatorname{{{'Re' if part % 2 == 0 else 'Im'}}}{name}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"


class eig_partial(PartialNode):
    """d (the part `part` of v_k[i] or w_k[i]) / d A_ab of `eig_entry`'s matrix:
    `eig_partial(part, k, i, n, a, b, a_00, ...)`."""

    owner = eig_entry

    def _latex(self, printer, exp=None):
        part, k, i, n, a, b = self.head
        name = "v" if part < LEFT_RE else "w"
        base = (rf"\operatorname{{{'Re' if part % 2 == 0 else 'Im'}}}\frac{{\partial \left({name}_{{{k + 1}}}\right)"
                rf"_{{{i + 1}}}}}{{\partial A_{{{a + 1}{b + 1}}}}}")
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"
