"""Factorizations and what is built on them: LU's unpacking and solves, products of Householder
reflectors (householder_product, ormqr), QR as LAPACK computes it, least squares and the
pseudo-inverse (in closed form at full rank, through the SVD at any other).

Each is the algorithm LAPACK runs, on expressions: LU's row swaps and QR's
reflector signs are the choices LAPACK makes from the values, so each is a
branch the path explorer decides (`registry.decide`), as `linalg.lu2` does.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .inverse import inverse_nodes
from .linalg import _metas, _triangle, inverse2, lu2, matmul2, substitute
from .decompositions import pinv_by_svd
from .qr import qr_nodes
from .registry import UnsupportedOp, decide, exprs, meaning

aten = torch.ops.aten

__all__ = ["permutation", "lu_solve2", "reflect", "householder2", "geqrf2"]

_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)


def _stack(f, arrays: list[tuple[np.ndarray, int]], batch: tuple) -> tuple[np.ndarray, ...]:
    """`f` of each batch entry of the arrays (each given with its number of core dims, the rest
    broadcast to `batch`), its several outputs stacked. An empty batch is not modelled."""
    parts = [np.broadcast_to(a, batch + a.shape[a.ndim - core:]) for a, core in arrays]
    results = {idx: f(*(p[idx] for p in parts)) for idx in np.ndindex(*batch)}
    if not results:
        raise UnsupportedOp("an empty batch of matrices (no shape to take the outputs' from)")
    first = next(iter(results.values()))
    outs = tuple(np.empty(batch + np.asarray(r).shape, dtype=object) for r in first)
    for idx, rs in results.items():
        for out, r in zip(outs, rs):
            out[idx] = r
    return outs


def _ints(values: np.ndarray) -> list[int]:
    return [int(v) for v in values.reshape(-1)]


def permutation(pivots: list[int], m: int) -> np.ndarray:
    """P with A = P L U for LAPACK's 1-based row swaps (row i swapped with pivots[i] - 1, in order)."""
    perm = list(range(m))
    for i, p in enumerate(pivots):
        perm[i], perm[p - 1] = perm[p - 1], perm[i]
    P = np.full((m, m), _ZERO, dtype=object)
    for i, r in enumerate(perm):
        P[r, i] = _ONE  # P = I[perm]^T
    return P


def _unpack(lu: np.ndarray, pivots: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P, L (m x k, unit lower) and U (k x n) from LAPACK's packed LU of an m x n matrix."""
    m, n = lu.shape
    k = min(m, n)
    L = np.empty((m, k), dtype=object)
    U = np.empty((k, n), dtype=object)
    for i in range(m):
        for j in range(k):
            L[i, j] = lu[i, j] if i > j else (_ONE if i == j else _ZERO)
    for i in range(k):
        for j in range(n):
            U[i, j] = lu[i, j] if j >= i else _ZERO
    return permutation(pivots, m), L, U


def _fit(values: np.ndarray, meta) -> np.ndarray:
    """`values` where torch returns them, or torch's empty output where it does not (unpack_data=False)."""
    return values if meta.numel() else np.empty(tuple(meta.shape), dtype=object)


@meaning(aten.lu_unpack)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """P, L, U of A = P L U from LAPACK's packed LU and its row swaps"""
    X, piv = exprs(LU_data), exprs(LU_pivots)
    batch = X.shape[:-2]
    P, L, U = _stack(lambda lu, p: _unpack(lu, _ints(p)), [(X, 2), (piv, 1)], batch)
    metas = _metas(aten.lu_unpack.default, LU_data, LU_pivots, unpack_data, unpack_pivots)
    return tuple(_fit(v, m) for v, m in zip((P, L, U), metas))


@meaning(aten.linalg_lu)
def linalg_lu(A, *, pivot=True):
    """P, L, U by LAPACK's getrf (partial pivoting decided per point), unpacked"""
    X = exprs(A)
    batch = X.shape[:-2]

    def one(a):
        lu, piv = lu2(a, pivot)
        return _unpack(lu, _ints(piv))

    P, L, U = _stack(one, [(X, 2)], batch)
    metas = _metas(aten.linalg_lu.default, A, pivot=pivot)
    return tuple(_fit(v, m) for v, m in zip((P, L, U), metas))


def lu_solve2(lu: np.ndarray, P: np.ndarray, b: np.ndarray, adjoint: bool) -> np.ndarray:
    """X with A X = B (A^T X = B when `adjoint`), A = P L U given packed, by substitutions."""
    L, U = _triangle(lu, False, True), _triangle(lu, True, False)
    if not adjoint:  # L U X = P^T B
        return substitute(U, substitute(L, matmul2(P.T, b), False), True)
    # U^T L^T P^T X = B
    return matmul2(P, substitute(L.T.copy(), substitute(U.T.copy(), b, False), True))


@meaning(aten.linalg_lu_solve)
def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B, X A = B (or with A^T), A = P L U from its packed LU, by substitutions"""
    X, piv, Y = exprs(LU), exprs(pivots), exprs(B)
    n = X.shape[-1]
    perms = np.empty(piv.shape[:-1] + (n, n), dtype=object)
    for idx in np.ndindex(*piv.shape[:-1]):
        perms[idx] = permutation(_ints(piv[idx]), n)
    batch = tuple(np.broadcast_shapes(X.shape[:-2], Y.shape[:-2]))
    if left:
        f = lambda lu, p, b: (lu_solve2(lu, p, b, adjoint),)  # noqa: E731
    else:  # X A = B is A^T X^T = B^T; X A^T = B is A X^T = B^T
        f = lambda lu, p, b: (lu_solve2(lu, p, b.T.copy(), not adjoint).T.copy(),)  # noqa: E731
    return _stack(f, [(X, 2), (perms, 2), (Y, 2)], batch)[0]


# -- Householder reflectors: H_i = I - tau_i v_i v_i^T, v_i = (0, ..., 0, 1, a[i+1:, i]) ----------
def _vector(a: np.ndarray, i: int) -> list:
    """The i-th reflector's vector as LAPACK stores it below the diagonal of column i of `a`."""
    return [_ZERO] * i + [_ONE] + list(a[i + 1:, i])


def reflect(c: np.ndarray, v: list, tau) -> np.ndarray:
    """H C = C - tau v (v^T C), on the rows where v is not zero; each entry a small expression on
    C's (a DAG: expanding would multiply the terms, 60 against 1236 for a 5 x 5 product)."""
    out = c.copy()
    rows = [r for r, x in enumerate(v) if x is not _ZERO]
    for j in range(c.shape[1]):
        w = tau * sympy.Add(*(v[r] * c[r, j] for r in rows))
        for r in rows:
            out[r, j] = c[r, j] - v[r] * w
    return out


def householder2(a: np.ndarray, tau: np.ndarray, c: np.ndarray, transpose: bool) -> np.ndarray:
    """Q C (Q^T C when `transpose`) for Q = H_0 H_1 ... H_{k-1}, reflectors stored in `a`, as orm2r."""
    order = range(len(tau)) if transpose else range(len(tau) - 1, -1, -1)
    for i in order:
        c = reflect(c, _vector(a, i), tau[i])
    return c


def _eye(m: int, n: int) -> np.ndarray:
    out = np.full((m, n), _ZERO, dtype=object)
    for i in range(min(m, n)):
        out[i, i] = _ONE
    return out


@meaning(aten.linalg_householder_product)
def linalg_householder_product(input, tau):
    """the first n columns of H_0 H_1 ... H_{k-1} (LAPACK's orgqr), reflector by reflector"""
    X, T = exprs(input), exprs(tau)
    m, n = X.shape[-2:]
    return _stack(lambda a, t: (householder2(a, t, _eye(m, n), False),), [(X, 2), (T, 1)], X.shape[:-2])[0]


@meaning(aten.ormqr)
def ormqr(input, input2, input3, left=True, transpose=False):
    """Q C, Q^T C, C Q or C Q^T for Q = H_0 ... H_{k-1} (LAPACK's ormqr), reflector by reflector"""
    X, T, C = exprs(input), exprs(input2), exprs(input3)
    batch = tuple(np.broadcast_shapes(X.shape[:-2], T.shape[:-1], C.shape[:-2]))
    if left:
        f = lambda a, t, c: (householder2(a, t, c, transpose),)  # noqa: E731
    else:  # C Q = (Q^T C^T)^T: each H is symmetric
        f = lambda a, t, c: (householder2(a, t, c.T.copy(), not transpose).T.copy(),)  # noqa: E731
    return _stack(f, [(X, 2), (T, 1), (C, 2)], batch)[0]


# -- QR as LAPACK's geqrf computes it --------------------------------------------------------------
def geqrf2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R above the diagonal and the reflectors below it, with their taus: LAPACK's geqr2 exactly.

    Column k's reflector (dlarfg) maps (alpha, x) to (beta, 0) with
    beta = -sign(alpha) sqrt(alpha^2 + |x|^2) (sign(0) = +1), so R's diagonal
    has the sign opposite to alpha's: a choice from the values, made by the
    path explorer. tau = (beta - alpha) / beta, v = (1, x / (alpha - beta)).
    Where x is zero, dlarfg takes tau = 0 (H = I, beta = alpha): that is
    modelled for an x of constant zeros (the last row of a square matrix, a
    triangular input); an x that is zero only at the point (a set of measure
    zero) would divide by zero here (NaN), not be detected.
    """
    a = a.copy()
    m, n = a.shape
    taus = []
    for k in range(min(m, n)):
        alpha, x = a[k, k], list(a[k + 1:, k])
        if all(sympy.sympify(v).is_zero for v in x):
            taus.append(_ZERO)
            continue
        norm = sympy.sqrt(alpha ** 2 + sympy.Add(*(v ** 2 for v in x)))
        beta = -norm if decide(sympy.sympify(alpha) >= 0, "geqrf") else norm
        taus.append((beta - alpha) / beta)
        a[k + 1:, k] = [v / (alpha - beta) for v in x]
        a[k, k] = beta
        if k + 1 < n:
            a[k:, k + 1:] = reflect(a[k:, k + 1:], _vector(a[k:, k:], 0), taus[-1])
    return a, np.array(taus, dtype=object)


@meaning(aten.geqrf)
def geqrf(A):
    """R and the Householder reflectors in one matrix, and their taus (LAPACK's geqrf)"""
    X = exprs(A)
    return _stack(geqrf2, [(X, 2)], X.shape[:-2])


def _qr2(a: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    m, n = a.shape
    if m >= n and (mode != "complete" or m == n):  # one node per entry (qr.py): fast to differentiate
        q, r = qr_nodes(a, lambda condition: decide(condition, "geqrf"))
        return (np.empty((0,), dtype=object) if mode == "r" else q), r
    # a wide matrix, or Q complete past n columns: geqr2 and org2r written out (exact, slow past 3 x 3)
    packed, taus = geqrf2(a)
    rows = m if mode == "complete" else min(m, n)
    R = np.full((rows, n), _ZERO, dtype=object)
    for i in range(min(rows, n)):
        R[i, i:] = packed[i, i:]
    if mode == "r":
        return np.empty((0,), dtype=object), R
    Q = householder2(packed, taus, _eye(m, rows), False)
    return Q, R


@meaning(aten.linalg_qr)
def linalg_qr(A, mode="reduced"):
    """Q and R as LAPACK's geqrf and orgqr give them (R's diagonal signs decided per point)"""
    X = exprs(A)
    batch = X.shape[:-2]
    metas = _metas(aten.linalg_qr.default, A, mode)
    if mode == "r":  # no Q: torch gives an empty tensor
        R = _stack(lambda a: (_qr2(a, mode)[1],), [(X, 2)], batch)[0]
        return np.empty(tuple(metas[0].shape), dtype=object), R
    return _stack(lambda a: _qr2(a, mode), [(X, 2)], batch)


# -- least squares, full rank ------------------------------------------------------------------------
def _lstsq2(a: np.ndarray, b: np.ndarray, residuals: bool) -> tuple[np.ndarray, np.ndarray]:
    """gels' solution of a full-rank A: (A^T A)^-1 A^T B for m >= n, the least-norm A^T (A A^T)^-1 B
    for m < n; and the squared residual of each column of B (m > n only, as torch gives them)."""
    m, n = a.shape  # the Gram matrix's inverse as nodes: adj/det of its sums is slow to differentiate
    if m < n:
        return matmul2(a.T.copy(), matmul2(inverse_nodes(matmul2(a, a.T.copy())), b)), np.empty((0,), dtype=object)
    atb = matmul2(a.T.copy(), b)
    x = matmul2(inverse_nodes(matmul2(a.T.copy(), a)), atb)
    if not residuals:
        return x, np.empty((0,), dtype=object)
    # |B - A X|^2 = |B|^2 - (A^T B) . X at the solution (A^T (B - A X) = 0): the same function, smaller
    return x, np.array([sympy.Add(*(v ** 2 for v in b[:, j])) - sympy.Add(*(atb[i, j] * x[i, j] for i in range(n)))
                        for j in range(b.shape[1])], dtype=object)


@meaning(aten.linalg_lstsq)
def linalg_lstsq(A, B, rcond=None, *, driver=None):
    """driver gels (full rank): the normal equations' solution and residuals (rank, singular values: empty)"""
    if driver != "gels":
        raise UnsupportedOp(f"aten.linalg_lstsq with driver {driver!r} (only 'gels', which assumes full rank, "
                            "is modelled: the others decide a numerical rank, or need an SVD)")
    from .tensor import SymTensor  # imported late, as linalg's _metas does: tensor.py imports the table

    X, Y = exprs(A), exprs(B)
    m, n = X.shape[-2:]
    batch = tuple(np.broadcast_shapes(X.shape[:-2], Y.shape[:-2]))
    solution, res = _stack(lambda a, b: _lstsq2(a, b, m > n), [(X, 2), (Y, 2)], batch)
    # no meta kernel: the outputs are wrapped here, in torch's shapes and dtypes
    empty = np.empty((0,), dtype=object)
    return (SymTensor(solution, A.dtype), SymTensor(res if m > n else empty, A.dtype),
            SymTensor(empty, torch.int64), SymTensor(empty, A.dtype))


# -- the pseudo-inverse of a full-rank matrix --------------------------------------------------------
def _frobenius2(a: np.ndarray):
    return sympy.Add(*(v ** 2 for v in a.reshape(-1)))


def _pinv2(a: np.ndarray, atol, rtol, hermitian: bool) -> np.ndarray:
    """A^+: where A has full rank, A^-1, (A^T A)^-1 A^T (tall) or A^T (A A^T)^-1 (wide); else by the SVD.

    torch keeps the singular values above max(atol, rtol sigma_max); A^+ is
    the full-rank formula exactly when all of them are kept. With G the Gram
    matrix (A itself when square), sigma_min >= 1 / |G^-1|_F (square) or
    sigma_min^2 >= 1 / |G^-1|_F, and sigma_max <= |A|_F: so the formula is
    taken where 1 / |G^-1|_F^2 > max(atol, rtol |A|_F)^2 (squared for the Gram
    matrix's bound), a condition the path explorer decides. Past it (a
    matrix near rank deficiency, or rtol = 1, which keeps sigma_max alone)
    it is torch's own computation from the SVD (`decompositions.pinv_by_svd`).
    """
    m, n = a.shape
    if m == 0 or n == 0:
        return np.empty((n, m), dtype=object)
    if m == n:
        g = inverse2(a)
        low = 1 / _frobenius2(g)  # a bound on sigma_min^2
    else:
        gram = matmul2(a.T.copy(), a) if m > n else matmul2(a, a.T.copy())
        g = inverse_nodes(gram)
        low = 1 / sympy.sqrt(_frobenius2(g))  # sigma_min^2 >= 1 / |G^-1|_2 >= 1 / |G^-1|_F
    bound = sympy.Max(atol ** 2, rtol ** 2 * _frobenius2(a))  # >= the threshold squared
    singular = low.has(sympy.zoo, sympy.nan)  # det(A) is 0 as a polynomial: A = a b^T of rank 1, say
    if singular or not decide(low > bound, "linalg_pinv"):
        return pinv_by_svd(a, atol, rtol, hermitian)
    if m == n:
        return g
    return matmul2(g, a.T.copy()) if m > n else matmul2(a.T.copy(), g)


@meaning(aten.linalg_pinv.atol_rtol_tensor)
def linalg_pinv(A, *, atol=None, rtol=None, hermitian=False):
    """A^+: the full-rank formula where the rank is full (decided per point), else torch's SVD route"""
    X = exprs(A)
    m, n = X.shape[-2:]
    eps = sympy.Rational(2) ** -(52 if A.dtype == torch.float64 else 23)  # torch's finfo(dtype).eps
    tol_a = exprs(atol) if atol is not None else np.array(sympy.Integer(0), dtype=object)
    if rtol is not None:
        tol_r = exprs(rtol)
    else:  # torch: rtol = eps max(m, n) when atol is absent or zero, else 0
        tol_r = np.array(eps * max(m, n) if atol is None else sympy.Integer(0), dtype=object)
    if hermitian:  # torch reads the lower triangle only
        X = X.copy()
        for i in range(n):
            for j in range(i + 1, n):
                X[..., i, j] = X[..., j, i]
    batch = tuple(np.broadcast_shapes(X.shape[:-2], tol_a.shape, tol_r.shape))
    if 0 in batch:
        return np.empty(batch + (n, m), dtype=object)
    return _stack(lambda a, t, r: (_pinv2(a, t, r, hermitian),), [(X, 2), (tol_a, 0), (tol_r, 0)], batch)[0]
