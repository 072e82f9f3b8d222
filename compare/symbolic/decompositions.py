"""Eigendecompositions and the SVD, and what is built on them: torch.linalg.eigh, eigvalsh, eig, eigvals,
svd, svdvals, and through them cond, the nuclear and spectral norms, matrix_rank and pinv at any rank.

Each output entry is a node of `spectral.py` (exact value, exact partial
derivatives); the order and the signs or phases of the vectors are
LAPACK's at the point (`eigen.py`). Ops that decide from the values (pinv
keeps the singular values above its tolerance, matrix_rank counts them)
make those decisions through the path explorer, as any comparison does.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from ..exact.zero import identically_zero
from .complexes import from_parts
from .linalg import _metas, matmul2
from .registry import UnsupportedOp, decide, exprs, meaning
from .general_eig import RIGHT_RE, VALUE_RE, eig_entry
from .singular import svd_entry
from .spectral import U, VALUE, VECTOR, eigh_entry

aten = torch.ops.aten

__all__ = ["eigh2", "eig2", "svd2", "batched", "pinv_by_svd", "pinv_of_rank"]

SIZE = 8
"""Largest matrix (n x n, or min(m, n) for the SVD) decomposed: each node's derivative sums over the
other eigenvalues, and a Hessian differentiates those sums again."""


def _real_matrix(A, op: str) -> None:
    if A.dtype.is_complex:
        raise UnsupportedOp(f"aten.{op} of a complex matrix (only real matrices are modelled)")


def _empty(meta) -> np.ndarray:
    return np.empty(tuple(meta.shape), dtype=object)


def batched(f, X: np.ndarray, metas: tuple) -> tuple:
    """`f(matrix) -> outputs` over the batch dims of X, stacked in the shapes torch gives (`metas`)."""
    outs = tuple(_empty(m) for m in metas)
    for idx in np.ndindex(*X.shape[:-2]):
        for out, value in zip(outs, f(X[idx])):
            if out.size:
                out[idx] = value
    return outs


def _entries(a: np.ndarray) -> list:
    return [sympy.sympify(v) for v in a.reshape(-1)]


def _limit(n: int, op: str) -> None:
    if n > SIZE:
        raise UnsupportedOp(f"aten.{op} of a matrix with {n} rows and columns (the exact meaning stops at {SIZE})")


def eigh2(a: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the symmetric matrix one triangle of `a` gives."""
    n = a.shape[0]
    full = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            full[i, j] = a[min(i, j), max(i, j)] if upper else a[max(i, j), min(i, j)]
    if n == 1:
        return np.array([full[0, 0]], dtype=object), np.array([[sympy.Integer(1)]], dtype=object)
    entries = _entries(full)
    head = lambda part, k, i: (sympy.Integer(part), sympy.Integer(k), sympy.Integer(i), sympy.Integer(n),  # noqa: E731
                               sympy.Integer(int(upper)))
    values = np.array([eigh_entry(*head(VALUE, k, 0), *entries) for k in range(n)], dtype=object)
    vectors = np.array([[eigh_entry(*head(VECTOR, k, i), *entries) for k in range(n)] for i in range(n)],
                       dtype=object).reshape(n, n)
    return values, vectors


@meaning(aten._linalg_eigh)
def linalg_eigh(A, UPLO="L", compute_v=True):
    """eigenvalues ascending and eigenvectors of the symmetric matrix one triangle gives, as exact nodes (signs: LAPACK's)"""
    _real_matrix(A, "_linalg_eigh")
    X = exprs(A)
    _limit(X.shape[-1], "_linalg_eigh")
    metas = _metas(aten._linalg_eigh.default, A, UPLO, compute_v)
    return batched(lambda a: eigh2(a, UPLO.upper() == "U"), X, metas)


def eig2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (LAPACK's order) and unit right eigenvectors (LAPACK's phases) of a real matrix, complex."""
    n = a.shape[0]
    entries = _entries(a)
    head = lambda part, k, i: (sympy.Integer(part), sympy.Integer(k), sympy.Integer(i), sympy.Integer(n))  # noqa: E731


    def part(re, k, i):
        return from_parts(eig_entry(*head(re, k, i), *entries), eig_entry(*head(re + 1, k, i), *entries))

    values = np.array([part(VALUE_RE, k, 0) for k in range(n)], dtype=object)
    vectors = np.array([[part(RIGHT_RE, k, i) for k in range(n)] for i in range(n)], dtype=object).reshape(n, n)
    return values, vectors


@meaning(aten.linalg_eig)
def linalg_eig(A):
    """eigenvalues and unit eigenvectors of a real matrix as exact nodes (LAPACK's order and phases)"""
    _real_matrix(A, "linalg_eig")
    X = exprs(A)
    _limit(X.shape[-1], "linalg_eig")
    return batched(eig2, X, _metas(aten.linalg_eig.default, A))


def svd2(a: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U, S (descending) and V of a real m x n matrix: U m x m or m x k, V n x n or n x k (k = min(m, n))."""
    m, n = a.shape
    entries = _entries(a)
    k = min(m, n)
    head = lambda part, c, i: (sympy.Integer(part), sympy.Integer(c), sympy.Integer(i), sympy.Integer(m),  # noqa: E731
                               sympy.Integer(n))
    S = np.array([svd_entry(*head(VALUE, c, 0), *entries) for c in range(k)], dtype=object)
    cols_u, cols_v = (m if full else k), (n if full else k)
    Um = np.array([[svd_entry(*head(U, c, i), *entries) for c in range(cols_u)] for i in range(m)],
                  dtype=object).reshape(m, cols_u)
    V = np.array([[svd_entry(*head(VECTOR, c, i), *entries) for c in range(cols_v)] for i in range(n)],
                 dtype=object).reshape(n, cols_v)
    return Um, S, V


@meaning(aten._linalg_svd)
def linalg_svd(A, full_matrices=False, compute_uv=True, driver=None):
    """U, S, Vh as exact nodes: singular values from the Gram matrix's eigenvalues (signs: LAPACK's)"""
    _real_matrix(A, "_linalg_svd")
    X = exprs(A)
    _limit(min(X.shape[-2:]), "_linalg_svd")
    metas = _metas(aten._linalg_svd.default, A, full_matrices, compute_uv, driver=driver)
    if min(X.shape[-2:]) == 0:
        return tuple(_zeros_or_empty(m) for m in metas)

    def one(a):
        Um, S, V = svd2(a, full_matrices)
        return Um, S, V.T.copy()

    return batched(one, X, metas)


def _zeros_or_empty(meta) -> np.ndarray:
    """An output of an empty matrix's SVD: torch fills U and Vh of a 0 x n (m x 0) matrix with an identity."""
    out = _empty(meta)
    if out.size:
        out.reshape(-1, *out.shape[-2:])[:] = np.eye(out.shape[-2], out.shape[-1], dtype=int).astype(object)
        out[...] = np.frompyfunc(sympy.Integer, 1, 1)(out)
    return out


def pinv_by_svd(a: np.ndarray, atol, rtol, hermitian: bool) -> np.ndarray:
    """torch.linalg.pinv at any rank, as torch computes it: V diag(s) U^T with s_k = 1 / sigma_k where
    sigma_k > max(atol, rtol sigma_max), else 0 (for `hermitian`, eigh's |lambda_k| and U diag(s) U^T).
    Which singular values stay is decided per point, as any comparison is."""
    m, n = a.shape
    if hermitian:
        values, vectors = eigh2(a, upper=False)
        sizes, left, right = [sympy.Abs(v) for v in values], vectors, vectors
        largest = sympy.Max(*sizes)
    else:
        left, sizes, right = svd2(a, full=False)
        largest = sizes[0]
    tolerance = sympy.Max(atol, rtol * largest)
    kept = [decide(size > tolerance, "linalg_pinv") for size in sizes]
    if 0 < sum(kept) < len(kept):
        rational = pinv_of_rank(a, sum(kept))
        if rational is not None:
            return rational
    out = np.full((n, m), sympy.Integer(0), dtype=object)
    for k, size in enumerate(sizes):
        if kept[k]:
            inverse = 1 / (values[k] if hermitian else size)
            out = out + inverse * np.outer(right[:, k], left[:, k])
    return out


def pinv_of_rank(a: np.ndarray, rank: int) -> np.ndarray | None:
    """A^+ as a rational function of A's entries where A has rank `rank` as a function (A = a b^T, say),
    from Decell's formula; None where that rank is not proved.

    With G the smaller Gram matrix (A A^T for a wide A, A^T A for a tall
    one) and c_j its characteristic polynomial's coefficients (Faddeev-
    LeVerrier: M_1 = I, c_j = -tr(G M_j) / j, M_{j+1} = G M_j + c_j I):
    c_{r+1} = (-1)^(r+1) e_{r+1}(sigma_1^2, ...) is 0 as a function exactly
    when at most r singular values are nonzero, and then
    A^+ = -A^T M_r / c_r (wide) or -M_r A^T / c_r (tall) wherever c_r != 0.
    The caller keeps `rank` singular values, each above a tolerance >= 0:
    they are the nonzero ones, so this is the V diag(1 / sigma) U^T torch
    sums, as a function on the whole path. Written through the SVD's nodes
    instead, each output entry's derivative sums over all of A's entries in
    nodes that each hold all of them (3 x 50: 20 s of `diff` an entry).
    """
    m, n = a.shape
    wide = m <= n
    gram = matmul2(a, a.T.copy()) if wide else matmul2(a.T.copy(), a)
    gram = np.frompyfunc(sympy.factor_terms, 1, 1)(gram).astype(object)
    identity = np.frompyfunc(sympy.Integer, 1, 1)(np.eye(len(gram), dtype=int)).astype(object)
    step, coefficient = identity, sympy.Integer(1)
    for j in range(1, rank + 2):
        if j > 1:
            step = matmul2(gram, step) + coefficient * identity
        coefficient = -sympy.Add(*np.diag(matmul2(gram, step))) / j
        if j == rank:
            kept_step, last = step, coefficient
    if coefficient != 0 and not identically_zero(coefficient):
        return None
    return (matmul2(a.T.copy(), kept_step) if wide else matmul2(kept_step, a.T.copy())) * (-1 / last)
