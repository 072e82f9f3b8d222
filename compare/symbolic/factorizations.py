"""Factorizations and what is built on them: LU's unpacking and solves, products of Householder
reflectors (householder_product, ormqr), QR as LAPACK computes it, least squares and the
pseudo-inverse of a full-rank matrix.

Each is the algorithm LAPACK runs, on expressions: LU's row swaps and QR's
reflector signs are the choices LAPACK makes from the values, so each is a
branch the path explorer decides (`registry.decide`), as `linalg.lu2` does.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .linalg import _aux, _metas, _triangle, inverse2, lu2, matmul2, substitute
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
