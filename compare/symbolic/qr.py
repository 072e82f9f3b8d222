"""QR of a tall or square matrix as one SymPy node per entry of Q, R and R^-1.

Householder QR written out on expressions nests square roots in every step
(a 3 x 2 QR took 18 s to evaluate, the exact values of nested radicals), so,
as `inverse.inverse_entry` does for A^-1, each entry is one node
`qr_entry(part, i, j, m, n, s_0, ..., s_{k-1}, a_00, ..., a_mn)` whose value is
LAPACK's geqr2/org2r in mpmath at the precision asked for, and whose partials
are the exact differentials of A = QR (Q^T Q = I, R upper triangular), for
m >= n with full column rank:

    C = Q^T dA R^-1,  M = C - Omega with Omega = tril(C, -1) - tril(C, -1)^T
    (so M is upper triangular: M_ab = C_ab + C_ba above the diagonal, C_aa on it),
    dR = M R,  dQ = dA R^-1 - Q M,  d(R^-1) = -R^-1 M.

s_k is the sign LAPACK gives R_kk's reflector: beta_k = -s_k |column k|,
s_k = sign(alpha_k) (sign(0) = +1) with alpha_k the entry (k, k) after k
reflections. It is a choice from the values, so it is an argument, decided
by the path explorer on the node `qr_entry(ALPHA, k, 0, ...)`; 0 marks a
column with nothing below its diagonal (the last of a square matrix), where
LAPACK reflects nothing (tau = 0, R_kk = alpha_k).
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy

__all__ = ["qr_entry", "Q", "R", "RINV", "ALPHA", "qr_nodes"]

Q, R, RINV, ALPHA = 0, 1, 2, 3
"""The `part` argument: an entry of Q (m x n), R (n x n), R^-1 (n x n), or alpha_k (i = k)."""


@functools.lru_cache(maxsize=64)
def _householder(m: int, n: int, signs: tuple, entries: tuple, prec: int, upto: int | None):
    """(Q, R, R^-1) as mpmath matrices, or alpha_upto, by geqr2 with the given signs, at `prec` bits."""
    with mpmath.workprec(prec):
        a = [[entries[i * n + j] for j in range(n)] for i in range(m)]
        vs, taus = [], []
        for k in range(n):
            alpha = a[k][k]
            if k == upto:
                return alpha
            x = [a[i][k] for i in range(k + 1, m)]
            if signs[k] == 0 or all(v == 0 for v in x):  # dlarfg: nothing to reflect, tau = 0
                vs.append([mpmath.mpf(1)]), taus.append(mpmath.mpf(0))
                continue
            norm = mpmath.sqrt(alpha ** 2 + mpmath.fsum(v ** 2 for v in x))
            beta = -signs[k] * norm
            tau = (beta - alpha) / beta
            v = [mpmath.mpf(1)] + [xi / (alpha - beta) for xi in x]
            a[k][k] = beta
            for i in range(k + 1, m):
                a[i][k] = mpmath.mpf(0)
            for j in range(k + 1, n):
                w = tau * mpmath.fsum(v[r] * a[k + r][j] for r in range(len(v)))
                for r in range(len(v)):
                    a[k + r][j] -= v[r] * w
            vs.append(v), taus.append(tau)
        q = mpmath.eye(m)[:, :n] if m > n else mpmath.eye(m)
        for k in range(n - 1, -1, -1):  # Q = H_0 ... H_{n-1} I[:, :n]
            v, tau = vs[k], taus[k]
            for j in range(n):
                w = tau * mpmath.fsum(v[r] * q[k + r, j] for r in range(len(v)))
                for r in range(len(v)):
                    q[k + r, j] -= v[r] * w
        r = mpmath.matrix([[a[i][j] if j >= i else 0 for j in range(n)] for i in range(n)])
        return q, r, r ** -1


@functools.lru_cache(maxsize=64)
def _numbers(entries: tuple, prec: int) -> tuple | None:
    """The entries as mpmath numbers of `prec` bits (None where one is not a real number): once per
    matrix, not once per node, since a gradient holds thousands of nodes of one matrix."""
    with mpmath.workprec(prec):
        if all(isinstance(a, sympy.Rational) for a in entries):
            return tuple(mpmath.mpf(int(a.p)) / int(a.q) for a in entries)
        values = [a.evalf(prec) for a in entries]
        if not all(v.is_number and v.is_real for v in values):
            return None
        return tuple(v._to_mpmath(prec) for v in values)


class qr_entry(sympy.Function):
    """An entry of Q, R or R^-1 of LAPACK's QR of an m x n matrix (m >= n), or alpha_k (module docstring)."""

    is_real = True

    def _parts(self):
        part, i, j, m, n = (int(v) for v in self.args[:5])
        signs = self.args[5:5 + n]
        return part, i, j, m, n, signs, self.args[5 + n:]

    def _eval_evalf(self, prec):
        part, i, j, m, n, signs, entries = self._parts()
        values = _numbers(tuple(entries), prec + 30)
        if values is None:
            return None
        try:
            found = _householder(m, n, tuple(int(s) for s in signs), values, prec + 30, i if part == ALPHA else None)
        except ZeroDivisionError:  # a rank-deficient A: R^-1 (and the derivative) is undefined
            return sympy.nan
        if part == ALPHA:
            return sympy.Float(found, prec)
        return sympy.Float(found[part][i, j], prec)

    def fdiff(self, argindex: int = 1):
        part, i, j, m, n, signs, entries = self._parts()
        first = 6 + n  # 1-based index of a_00
        if argindex < first or part == ALPHA:
            raise sympy.ArgumentIndexError(self, argindex)
        k, l = divmod(argindex - first, n)
        head = self.args[3:5 + n]  # m, n, signs
        node = lambda p, a, b: qr_entry(p, a, b, *head, *entries)  # noqa: E731

        def c(a, b):  # C_ab = (Q^T E_kl R^-1)_ab = Q_ka (R^-1)_lb
            return node(Q, k, a) * node(RINV, l, b)

        def mm(a, b):  # M = C - Omega, upper triangular
            return sympy.Integer(0) if a > b else (c(a, a) if a == b else c(a, b) + c(b, a))

        if part == R:
            return sympy.Add(*(mm(i, b) * node(R, b, j) for b in range(i, j + 1))) if i <= j else sympy.Integer(0)
        if part == RINV:
            return -sympy.Add(*(node(RINV, i, a) * mm(a, j) for a in range(i, j + 1))) if i <= j else sympy.Integer(0)
        direct = node(RINV, l, j) if i == k else sympy.Integer(0)
        return direct - sympy.Add(*(node(Q, i, b) * mm(b, j) for b in range(j + 1)))

    def _latex(self, printer, exp=None):
        part, i, j = (int(v) for v in self.args[:3])
        name = ["Q", "R", "R^{-1}", r"\alpha"][part]
        base = rf"{name}_{{{i + 1}{j + 1}}}" if part != ALPHA else rf"\alpha_{{{i + 1}}}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"


def qr_nodes(a: np.ndarray, decide) -> tuple[np.ndarray, np.ndarray]:
    """Q (m x n) and R (n x n) of one m x n object array, m >= n, R's signs decided by `decide`."""
    m, n = a.shape
    entries = [sympy.sympify(v) for v in a.reshape(-1)]
    signs = [sympy.Integer(0)] * n
    for k in range(n):
        if k == m - 1:  # nothing below the diagonal: no reflection, no sign
            continue
        alpha = qr_entry(ALPHA, k, 0, m, n, *signs, *entries)
        signs[k] = sympy.Integer(1 if decide(alpha >= 0) else -1)
    node = lambda p, i, j: qr_entry(p, i, j, m, n, *signs, *entries)  # noqa: E731
    q = np.array([[node(Q, i, j) for j in range(n)] for i in range(m)], dtype=object).reshape(m, n)
    r = np.array([[node(R, i, j) if j >= i else sympy.Integer(0) for j in range(n)] for i in range(n)],
                 dtype=object).reshape(n, n)
    return q, r
