"""The matrix exponential of a matrix of any size as one SymPy node per entry.

exp(A) = sum_k A^k / k! has no closed form in A's entries past 2 x 2
(`linalg.exp2`); through an eigendecomposition it would need the spectrum
to be simple. Each entry is instead one node `expm_entry(0, i, j, n, a_00, ...)`
whose value is Arb's matrix exponential (`arb_mat.exp`: the series with a
rigorous bound on its remainder, so the ball contains the exact value, at
any spectrum), and whose partial derivatives are the Frechet derivative

    d exp(A) / d A_ab = int_0^1 exp(s A) E_ab exp((1 - s) A) ds,

which is the upper right block of the exponential of [[A, E_ab], [0, A]]
(Van Loan, 1978): an entry of the same kind of node, of a matrix twice
the size, so every order of derivative is one more such node.
"""
from __future__ import annotations

import flint
import numpy as np
import sympy

from .nodes import MatrixNode

__all__ = ["expm_entry", "expm_nodes"]

_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)
_FOUND: dict = {}
"""(key of the entries, n, bits) -> exp(A) as an arb_mat: a gradient meets one matrix's nodes by the hundred."""


def _exponential(entries: tuple, n: int, prec: int):
    from .eigen import as_ball, key_of

    key = key_of(entries)
    if key is None:
        return None
    found = _FOUND.get((key, n, prec))
    if found is None:
        with flint.ctx.workprec(prec + 32):
            found = flint.arb_mat(n, n, [as_ball(v).real for v in entries]).exp()
        if len(_FOUND) >= 1024:
            _FOUND.clear()
        _FOUND[(key, n, prec)] = found
    return found


class expm_entry(MatrixNode):
    """exp(A)[i, j] of the real n x n matrix A given by its entries, row by row:
    `expm_entry(0, i, j, n, a_00, a_01, ...)` (the first argument is unused: the node's part)."""

    @classmethod
    def value_at(cls, head, entries, prec):
        _, i, j, n = head
        found = _exponential(entries, n, prec)
        return flint.arb.nan() if found is None else found[i, j]

    def fdiff(self, argindex: int = 1):
        a, b = self._entry_index(argindex)
        _, i, j, n = self.head
        block = []
        for r in range(2 * n):
            for c in range(2 * n):
                if r < n and c < n:
                    block.append(self.entry(r, c))
                elif r >= n and c >= n:
                    block.append(self.entry(r - n, c - n))
                elif r < n:  # the upper right block: E_ab
                    block.append(_ONE if (r, c - n) == (a, b) else _ZERO)
                else:
                    block.append(_ZERO)
        return expm_entry(_ZERO, sympy.Integer(i), sympy.Integer(n + j), sympy.Integer(2 * n), *block)

    def _latex(self, printer, exp=None):
        _, i, j, n = self.head  # A_[n]: the n x n matrix of the arguments (a derivative's is a block matrix)
        base = rf"\left(e^{{A_{{[{n}]}}}}\right)_{{{i + 1},{j + 1}}}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"


def expm_nodes(a: np.ndarray) -> np.ndarray:
    """exp(A) of one square object array, one `expm_entry` node per entry."""
    n = a.shape[0]
    entries = [sympy.sympify(v) for v in a.reshape(-1)]
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            out[i, j] = expm_entry(_ZERO, sympy.Integer(i), sympy.Integer(j), sympy.Integer(n), *entries)
    return out
