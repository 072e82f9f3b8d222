"""Singular values and vectors as SymPy nodes: exact values, exact derivatives.

A singular value sigma_k of A (m >= n; a wide A is its transpose) is the
square root of an eigenvalue of the Gram matrix G = A^T A, v_k is G's
eigenvector and u_k = A v_k / sigma_k (`eigen.singular`). Differentiating
G v_k = sigma_k^2 v_k as `spectral.py` differentiates an eigenvector:

    d sigma_k / d A_ab = u_k[a] v_k[b],
    d v_k / d A_ab = sum_{j != k} v_j (sigma_k u_k[a] v_j[b] + (A v_j)[a] v_k[b]) / (sigma_k^2 - sigma_j^2),
    d u_k = (dA v_k + A dv_k - u_k d sigma_k) / sigma_k,

with (A v_j)[a] written out where sigma_j u_j[a] would stand, so that it is
defined where sigma_j = 0 (a rank-deficient A, whose pinv sums over the
others). A vector's partial is one node (`svd_partial`): written out, a
gradient through U and V of a 3 x 3 matrix holds a million characters.
Columns of U past min(m, n) (of V, for a wide A) complete a basis, and
torch ignores the gradient with respect to them (torch.linalg.svd's
documentation): their derivative here is 0.
"""
from __future__ import annotations

import flint
import sympy

from . import eigen
from .eigen import as_ball
from .nodes import MatrixNode, PartialNode, Repeating, add, square
from .spectral import U, VALUE, VECTOR

__all__ = ["svd_entry", "svd_partial"]


class _Nodes:
    """sigma, u, v and A's entries of one matrix, as SymPy nodes."""

    zero = sympy.Integer(0)

    def __init__(self, node):
        self.node = node

    def sigma(self, c):
        return self.node.node(VALUE, c, 0)

    def u(self, r, c):
        return self.node.node(U, c, r)

    def v(self, r, c):
        return self.node.node(VECTOR, c, r)

    def entry(self, r, c):
        return self.node.entry(r, c)


class _Balls:
    """The same, as Arb's balls, from one decomposition."""

    zero = flint.arb(0)

    def __init__(self, d: eigen.Decomposition, entries: tuple, cols: int):
        self.d, self.entries, self.cols = d, entries, cols

    def sigma(self, c):
        return self.d.values[c].real

    def u(self, r, c):
        return self.d.left[c][r].real

    def v(self, r, c):
        return self.d.right[c][r].real

    def entry(self, r, c):
        return as_ball(self.entries[r * self.cols + c]).real


def _formula(x, head: tuple, a: int, b: int):
    """d (sigma_k, v_k[i] or u_k[i]) / d A_ab from `x`'s sigma, u, v and entries (module docstring)."""
    part, k, i, m, n = head
    if part == VALUE:
        return x.u(a, k) * x.v(b, k)
    if k >= min(m, n):  # a column that only completes a basis: torch's convention, derivative 0
        return x.zero
    tall = m >= n
    if (part == VECTOR) == tall:  # the Gram matrix's own eigenvector: v for a tall A, u for a wide one
        return _gram_partial(x, head, i, a, b)
    gram, other = (x.v, x.u) if tall else (x.u, x.v)
    # the other vector: u_k = (dA v_k + A dv_k - u_k dsigma_k) / sigma_k (tall), alike for v_k (wide)
    direct = gram(b if tall else a, k) if i == (a if tall else b) else x.zero
    through = add([(x.entry(i, c) if tall else x.entry(c, i)) * _gram_partial(x, head, c, a, b)
                   for c in range(n if tall else m)])
    return (direct + through - other(i, k) * x.u(a, k) * x.v(b, k)) / x.sigma(k)


def _gram_partial(x, head: tuple, i: int, a: int, b: int):
    """d v_k[i] / d A_ab for a tall A (of u_k[i] for a wide one): the Gram matrix's eigenvector's."""
    _, k, _, m, n = head
    terms = []
    for j in range(min(m, n)):
        if j == k:
            continue
        gap = square(x.sigma(k)) - square(x.sigma(j))
        if m >= n:  # v_j^T dG v_k, with (A v_j)[a] for sigma_j u_j[a]
            mixed = x.sigma(k) * x.u(a, k) * x.v(b, j) + add([x.entry(a, c) * x.v(c, j) for c in range(n)]) * x.v(b, k)
            terms.append(x.v(i, j) * mixed / gap)
        else:
            mixed = x.sigma(k) * x.v(b, k) * x.u(a, j) + add([x.entry(c, b) * x.u(c, j) for c in range(m)]) * x.u(a, k)
            terms.append(x.u(i, j) * mixed / gap)
    return add(terms)


class svd_entry(Repeating, MatrixNode):
    """sigma_k (descending, as torch.linalg.svd), v_k[i] (V's column k) or u_k[i] (U's column k) of the
    real m x n matrix given by its entries, row by row: `svd_entry(part, k, i, m, n, a_00, ...)`."""

    dims = 2

    @classmethod
    def shape_of(cls, head: tuple) -> tuple:
        return tuple(head[3:5])

    @classmethod
    def decomposition(cls, head, entries, prec):
        return eigen.singular(entries, tuple(head[3:5]), prec)

    @classmethod
    def value_at(cls, head, entries, prec):
        part, k, i, m, n = head
        d = eigen.singular(entries, (m, n), prec)
        if d is None:
            return flint.arb.nan()
        return (d.values[k] if part == VALUE else (d.right if part == VECTOR else d.left)[k][i]).real

    def formula(self, head: tuple, a: int, b: int):
        return _formula(_Nodes(self), head, a, b)

    @classmethod
    def partial_on_balls(cls, head: tuple, a: int, b: int, entries: tuple, prec: int):
        m, n = head[3:5]
        d = eigen.singular(entries, (m, n), prec)
        if d is None:
            return flint.arb.nan()
        return _formula(_Balls(d, entries, n), head, a, b)

    def fdiff(self, argindex: int = 1):
        a, b = self._entry_index(argindex)
        if self.head[0] == VALUE:
            return self.formula(self.head, a, b)
        return svd_partial(*self.args[:5], sympy.Integer(a), sympy.Integer(b), *self.entries)

    def _latex(self, printer, exp=None):
        part, k, i = self.head[:3]
        base = [rf"\sigma_{{{k + 1}}}", rf"V_{{{i + 1}{k + 1}}}", rf"U_{{{i + 1}{k + 1}}}"][part]
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"


class svd_partial(PartialNode):
    """d (V's or U's entry of `svd_entry`) / d A_ab: `svd_partial(part, k, i, m, n, a, b, a_00, ...)`."""

    owner = svd_entry

    def _latex(self, printer, exp=None):
        part, k, i, m, n, a, b = self.head
        name = "V" if part == VECTOR else "U"
        base = rf"\frac{{\partial {name}_{{{i + 1}{k + 1}}}}}{{\partial A_{{{a + 1}{b + 1}}}}}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"
