"""Eigenvalues, eigenvectors and singular values as SymPy nodes: exact values, exact derivatives.

An eigenvalue of a rational matrix is a root of p(x, A) = det(x I - A),
and no formula in radicals gives it past degree 4. So, as `inverse.py`
does for A^-1, each entry is one node of the matrix's entries: its value
at a point is the exact algebraic number, enclosed in Arb's balls
(`eigen.py`), and its partial derivatives are the implicit ones.

For a simple eigenvalue lambda_k, implicit differentiation of
p(lambda_k(A), A) = 0 gives d lambda_k / d A_ab = -(dp/dA_ab) / (dp/dx),
and dp/dA_ab = -adj(x I - A)_ba, dp/dx = tr adj(x I - A); at x = lambda_k,
adj(x I - A) = p'(lambda_k) v_k w_k^T (v_k right, w_k left eigenvector,
w_k^T v_k = 1), so

    d lambda_k / d A_ab = w_k[a] v_k[b].

Differentiating (A - lambda_k) v_k = 0 the same way, with each v_k of unit
length, gives for the right eigenvectors

    d v_k / d A_ab = sum_{j != k} v_j w_j[a] v_k[b] / (lambda_k - lambda_j) + c v_k,
    c = -Re(v_k^H sum_{j != k} ...),

and W = V^-1 gives d W = -W dV W for the left ones. Each partial is an
expression in nodes of the same matrix, so second derivatives follow by
differentiating again. For a symmetric A (`eigh_entry`), W = V^T and the
sum is orthogonal to v_k (c = 0); `tests/test_spectral.py` checks these
partials against SymPy's own implicit derivative of the characteristic
polynomial and against high-precision differences.

A complex eigenvector is unique only up to its phase: its derivative is
taken in the gauge where the phase does not turn (Im(v_k^H dv_k) = 0),
while its value is in LAPACK's gauge. The two agree for every function of
the vectors that does not depend on their phases, which is the only kind
whose gradient PyTorch defines (torch.linalg.eig's documentation; its
backward raises for any other).

A singular value sigma_k of A (m >= n; a wide A is its transpose) is the
square root of an eigenvalue of G = A^T A, with v_k G's eigenvector and
u_k = A v_k / sigma_k:

    d sigma_k / d A_ab = u_k[a] v_k[b],
    d v_k / d A_ab = sum_{j != k} v_j (sigma_k u_k[a] v_j[b] + (A v_j)[a] v_k[b]) / (sigma_k^2 - sigma_j^2),
    d u_k = (dA v_k + A dv_k - u_k d sigma_k) / sigma_k.
"""
from __future__ import annotations

import flint
import sympy

from . import eigen
from .nodes import MatrixNode, Repeating

__all__ = ["eigh_entry", "VALUE", "VECTOR", "U"]

VALUE, VECTOR = 0, 1
"""`eigh_entry`'s and `svd_entry`'s parts: eigenvalue k (sigma_k), or entry i of eigenvector k (v_k[i])."""
U = 2
"""`svd_entry`'s third part: u_k[i], entry i of U's column k."""

def _at(d: eigen.Decomposition | None, pick) -> flint.arb:
    return flint.arb.nan() if d is None else pick(d)


class eigh_entry(Repeating, MatrixNode):
    """lambda_k (ascending, as torch.linalg.eigh) or v_k[i] of the real symmetric n x n matrix given by
    its entries, row by row: `eigh_entry(part, k, i, n, upper, a_00, a_01, ...)`; `upper` (0 or 1) is the
    triangle LAPACK reads, on which the signs it gives the vectors depend.

    Its partials are those of the function of all n^2 entries that takes the symmetric part
    (A + A^T) / 2 first: the same function on the symmetric matrices it is given, and one whose
    partials by each entry are a function's, so that differentiating them again is consistent."""

    dims = 2

    @classmethod
    def decomposition(cls, head, entries, prec):
        part, k, i, n, upper = head
        return eigen.symmetric(entries, (n, n), prec, "U" if upper else "L")

    @classmethod
    def value_at(cls, head, entries, prec):
        part, k, i, n, upper = head
        d = eigen.symmetric(entries, (n, n), prec, "U" if upper else "L")
        return _at(d, lambda d: (d.values[k] if part == VALUE else d.right[k][i]).real)

    def fdiff(self, argindex: int = 1):
        a, b = self._entry_index(argindex)
        part, k, i = self.head[:3]
        vec = lambda r, c: self.node(VECTOR, c, r)  # noqa: E731  v_c[r]
        if part == VALUE:
            return vec(a, k) * vec(b, k)
        val = lambda c: self.node(VALUE, c, 0)  # noqa: E731
        # of the symmetric part (A + A^T) / 2: E_ab enters as (E_ab + E_ba) / 2
        return sympy.Add(*(vec(i, j) * (vec(a, j) * vec(b, k) + vec(b, j) * vec(a, k)) / (2 * (val(k) - val(j)))
                           for j in range(self.shape[0]) if j != k))

    def _latex(self, printer, exp=None):
        part, k, i = self.head[:3]
        base = rf"\lambda_{{{k + 1}}}" if part == VALUE else rf"\left(v_{{{k + 1}}}\right)_{{{i + 1}}}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"
