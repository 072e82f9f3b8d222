"""Linear algebra: matrix products, and small matrices (det, inv, solve, cholesky, ...) exactly.

Each entry of a product is one `Add` of its terms. Determinants are
Berkowitz's (no division: a polynomial in the entries), inverses and solves
adj(A) / det(A) (past 4 x 4, both are one node per entry: `inverse.py`), triangular solves substitution, Cholesky its recurrence,
LU LAPACK's partial pivoting with each pivot choice a branch, and matrix_exp
a closed form for 2 x 2. SVD and eigendecompositions have no closed form in
general: they raise UnsupportedOp saying so.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .inverse import determinant, inverse_nodes
from .registry import MEANINGS, exprs, meaning

aten = torch.ops.aten

__all__ = ["matmul2", "det2", "inverse2", "substitute", "cholesky2", "lu2", "exp2", "SIZE"]


def matmul2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The product of two 2-d object arrays."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = sympy.Add(*(a[i, k] * b[k, j] for k in range(a.shape[1])))
    return out


@meaning(aten.mm)
def mm(a, b):
    """A B, each entry one sum of products"""
    return matmul2(exprs(a), exprs(b))


@meaning(aten.bmm)
def bmm(a, b):
    """A[k] B[k] for each k of the batch"""
    A, B = exprs(a), exprs(b)
    out = np.empty((A.shape[0], A.shape[1], B.shape[2]), dtype=object)
    for k in range(A.shape[0]):
        out[k] = matmul2(A[k], B[k])
    return out


@meaning(aten.dot, aten.vdot, aten.inner)
def dot(a, b):
    """sum_i a_i b_i (for vdot too: its conjugation of a complex a is not modelled)"""
    return np.array(sympy.Add(*(u * v for u, v in zip(exprs(a).flat, exprs(b).flat))), dtype=object)


@meaning(aten.mv)
def mv(a, v):
    """A v"""
    return matmul2(exprs(a), exprs(v).reshape(-1, 1)).reshape(-1)


# -- small matrices, exactly -------------------------------------------------------------------
# torch's LAPACK kernels give factorizations alongside a result (`_linalg_det` gives det, LU and
# pivots); a meaning gives each output torch's shape, but only the result is computed exactly.
# The auxiliary outputs are NaN (floating) or 0 (integer): torch.linalg.det, inv, solve and slogdet
# return only the result to the user, and the exact derivative never reads them. `info` is 0 (no
# error); a singular matrix shows as the result's division by zero instead.
SIZE = 8
"""Largest matrix (n x n) given an exact meaning: the entries of a symbolic determinant grow as n!."""
INVERSE_SIZE = 4
"""Largest matrix inverted (inv, solve) by adj(A) / det(A), written out: the exact gradient of a 4 x 4
solve takes 4 s, of a 5 x 5 one 99 s (SymPy differentiating quotients of 120-term determinants).
Larger ones (up to SIZE) are one `inverse.inverse_entry` node per entry."""


def _aux(meta) -> np.ndarray:
    """An auxiliary output of torch's shape: NaN for floating entries, 0 for integer ones."""
    fill = sympy.nan if meta.dtype.is_floating_point else sympy.Integer(0)
    out = np.empty(tuple(meta.shape), dtype=object)
    out.fill(fill)
    return out


def _metas(func, *args, **kwargs) -> tuple:
    from .tensor import _meta  # the dispatcher's cached meta kernel (imported late: no import cycle)

    found = _meta(func, args, kwargs)
    return tuple(found) if isinstance(found, (tuple, list)) else (found,)


def _square(A: np.ndarray, op: str, limit: int = SIZE) -> int:
    n = A.shape[-1]
    if A.ndim < 2 or A.shape[-2] != n:
        raise ValueError(f"{op}: a batch of square matrices is needed, got shape {A.shape}")
    if n > limit:
        from .registry import UnsupportedOp

        raise UnsupportedOp(f"aten.{op} of a {n} x {n} matrix (its exact meaning stops at {limit} x {limit})")
    return n


def _each(f, *arrays: np.ndarray, batch: tuple | None = None) -> np.ndarray:
    """`f` of the matrices (last two dims) of arrays broadcast over their batch dims, stacked."""
    if batch is None:
        batch = np.broadcast_shapes(*(a.shape[:-2] for a in arrays))
    parts = [np.broadcast_to(a, batch + a.shape[-2:]) for a in arrays]
    results = {idx: np.asarray(f(*(p[idx] for p in parts)), dtype=object) for idx in np.ndindex(*batch)}
    if not results:  # an empty batch: shape from one call on placeholders
        return np.empty(batch + np.asarray(f(*(np.zeros(p.shape[-2:], dtype=object) for p in parts))).shape,
                        dtype=object)
    first = next(iter(results.values()))
    out = np.empty(batch + first.shape, dtype=object)
    for idx, r in results.items():
        if r.ndim:
            out[idx] = r
        else:  # one expression per matrix: NumPy would store the 0-d array itself as the entry
            out[idx] = r[()]
    return out


def _matrix(a: np.ndarray) -> sympy.Matrix:
    return sympy.Matrix(a.tolist())


def _array(m: sympy.Matrix) -> np.ndarray:
    out = np.empty(m.shape, dtype=object)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[i, j] = m[i, j]
    return out


def det2(a: np.ndarray):
    """The determinant of one matrix, division free (Berkowitz): a polynomial in the entries (past
    INVERSE_SIZE one `inverse.determinant` node: the polynomial has n! terms)."""
    if a.shape[0] > INVERSE_SIZE:
        return determinant(*(sympy.sympify(v) for v in a.reshape(-1)))
    return _matrix(a).det(method="berkowitz") if a.shape[0] else sympy.Integer(1)


def inverse2(a: np.ndarray) -> np.ndarray:
    """adj(A) / det(A): each entry one rational function of A's entries (past INVERSE_SIZE, one node)."""
    if a.shape[0] == 0:
        return a.copy()
    if a.shape[0] > INVERSE_SIZE:
        return inverse_nodes(a)
    m = _matrix(a)
    d = m.det(method="berkowitz")
    return _array(m.adjugate(method="berkowitz") / d)


@meaning(aten._linalg_det)
def linalg_det(A):
    """det(A) by Berkowitz (LU, pivots: NaN, 0)"""
    X = exprs(A)
    _square(X, "_linalg_det")
    metas = _metas(aten._linalg_det.default, A)
    return (_each(lambda a: np.array(det2(a), dtype=object), X), _aux(metas[1]), _aux(metas[2]))


@meaning(aten._linalg_slogdet)
def linalg_slogdet(A):
    """sign(det A), log(Abs(det A)) (LU, pivots: NaN, 0)"""
    X = exprs(A)
    _square(X, "_linalg_slogdet")
    d = _each(lambda a: np.array(det2(a), dtype=object), X)
    metas = _metas(aten._linalg_slogdet.default, A)
    sign = np.frompyfunc(sympy.sign, 1, 1)(d)
    log = np.frompyfunc(lambda v: sympy.log(sympy.Abs(v)), 1, 1)(d)
    return (np.asarray(sign, dtype=object).reshape(d.shape), np.asarray(log, dtype=object).reshape(d.shape),
            _aux(metas[2]), _aux(metas[3]))


@meaning(aten.linalg_inv_ex)
def linalg_inv_ex(A, *, check_errors=False):
    """adj(A) / det(A), or one node per entry past 4 x 4 (info: 0)"""
    X = exprs(A)
    _square(X, "linalg_inv_ex")
    return _each(inverse2, X), _aux(_metas(aten.linalg_inv_ex.default, A)[1])


def _vector_case(A: np.ndarray, B: np.ndarray) -> bool:
    """torch.linalg.solve's rule: B is a (batch of) vector(s) when it is 1-d or A's shape minus a dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])


@meaning(aten._linalg_solve_ex)
def linalg_solve_ex(A, B, *, left=True, check_errors=False):
    """A^-1 B (left) or B A^-1, A^-1 as in linalg_inv_ex (LU, pivots, info: NaN, 0, 0)"""
    X, Y = exprs(A), exprs(B)
    _square(X, "_linalg_solve_ex")
    vector = _vector_case(X, Y)
    Y = Y[..., :, None] if vector and left else (Y[..., None, :] if vector else Y)
    out = _each(lambda a, b: matmul2(inverse2(a), b) if left else matmul2(b, inverse2(a)), X, Y)
    out = out[..., 0] if vector and left else (out[..., 0, :] if vector else out)
    metas = _metas(aten._linalg_solve_ex.default, A, B, left=left)
    return (out, _aux(metas[1]), _aux(metas[2]), _aux(metas[3]))


def _triangle(a: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    """The triangle of `a` that a triangular solve reads (ones on the diagonal when `unit`)."""
    n = a.shape[-1]
    t = np.empty(a.shape, dtype=object)
    for i in range(a.shape[0]):
        for j in range(n):
            keep = (j >= i) if upper else (j <= i)
            t[i, j] = (sympy.Integer(1) if unit else a[i, j]) if i == j else (a[i, j] if keep else sympy.Integer(0))
    return t


def substitute(t: np.ndarray, b: np.ndarray, upper: bool) -> np.ndarray:
    """X with T X = B for a triangular T, by back (upper) or forward (lower) substitution."""
    n = t.shape[0]
    x = np.empty(b.shape, dtype=object)
    rows = range(n - 1, -1, -1) if upper else range(n)
    for i in rows:
        known = range(i + 1, n) if upper else range(i)
        for j in range(b.shape[1]):
            x[i, j] = (b[i, j] - sympy.Add(*(t[i, k] * x[k, j] for k in known))) / t[i, i]
    return x


@meaning(aten.triangular_solve)
def triangular_solve(B, A, upper=True, transpose=False, unitriangular=False):
    """X with A X = B (A^T X = B when `transpose`), A triangular, by substitution (and A itself)"""
    Xa, Xb = exprs(A), exprs(B)
    _square(Xa, "triangular_solve")

    def solve(a, b):
        t = _triangle(a, upper, unitriangular)
        return substitute(t.T, b, not upper) if transpose else substitute(t, b, upper)

    metas = _metas(aten.triangular_solve.default, B, A, upper, transpose, unitriangular)
    return _each(solve, Xa, Xb), np.broadcast_to(Xa, tuple(metas[1].shape)).copy()


@meaning(aten.linalg_solve_triangular)
def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (left) or X A = B, A triangular, by substitution"""
    Xa, Xb = exprs(A), exprs(B)
    _square(Xa, "linalg_solve_triangular")

    def solve(a, b):
        t = _triangle(a, upper, unitriangular)
        return substitute(t, b, upper) if left else substitute(t.T, b.T, not upper).T  # X A = B: A^T X^T = B^T

    return _each(solve, Xa, Xb)


def cholesky2(a: np.ndarray, upper: bool) -> np.ndarray:
    """L with L L^T = A, from A's lower triangle (U = L^T from the upper one when `upper`)."""
    n = a.shape[0]
    entry = (lambda i, j: a[j, i]) if upper else (lambda i, j: a[i, j])  # i >= j: the triangle read
    L = np.full((n, n), sympy.Integer(0), dtype=object)
    for j in range(n):
        L[j, j] = sympy.sqrt(entry(j, j) - sympy.Add(*(L[j, k] ** 2 for k in range(j))))
        for i in range(j + 1, n):
            L[i, j] = (entry(i, j) - sympy.Add(*(L[i, k] * L[j, k] for k in range(j)))) / L[j, j]
    return L.T.copy() if upper else L


@meaning(aten.cholesky)
def cholesky(A, upper=False):
    """L L^T = A (the deprecated torch.cholesky), as linalg_cholesky_ex"""
    X = exprs(A)
    _square(X, "cholesky")
    return _each(lambda a: cholesky2(a, upper), X)


@meaning(aten.cholesky_solve)
def cholesky_solve(B, L, upper=False):
    """X with (L L^T) X = B (U^T U when `upper`), by two substitutions"""
    Xl, Xb = exprs(L), exprs(B)
    _square(Xl, "cholesky_solve")
    return _each(lambda c, b: _cholesky_solve2(c, b, upper), Xl, Xb)


def _cholesky_solve2(c: np.ndarray, b: np.ndarray, upper: bool) -> np.ndarray:
    low = _triangle(c, True, False).T.copy() if upper else _triangle(c, False, False)
    return substitute(low.T.copy(), substitute(low, b, False), True)


@meaning(aten.cholesky_inverse)
def cholesky_inverse(L, upper=False):
    """(L L^T)^-1 (U^T U when `upper`), by two substitutions on the identity"""
    Xl = exprs(L)
    n = _square(Xl, "cholesky_inverse")
    eye = np.array(sympy.eye(n).tolist(), dtype=object).reshape(n, n)
    return _each(lambda c: _cholesky_solve2(c, eye, upper), Xl)


@meaning(aten._linalg_check_errors)
def check_errors(info, api_name, *, is_matrix):
    """nothing: the exact meanings report no LAPACK errors (info is 0)"""
    return None


@meaning(aten.linalg_cholesky_ex)
def linalg_cholesky_ex(A, *, upper=False, check_errors=False):
    """L L^T = A by the Cholesky–Banachiewicz recurrence on one triangle of A (info: 0)"""
    X = exprs(A)
    _square(X, "linalg_cholesky_ex")
    return _each(lambda a: cholesky2(a, upper), X), _aux(_metas(aten.linalg_cholesky_ex.default, A,
                                                                 upper=upper)[1])


def lu2(a: np.ndarray, pivot: bool) -> tuple[np.ndarray, np.ndarray]:
    """LAPACK's getrf, exactly: partial pivoting on the largest |entry| of a column (the first of ties).

    Which row is largest depends on the values, so each comparison is a
    branch that the path explorer decides. Pivots are 1-based, as LAPACK's.
    """
    from .registry import decide

    u = a.copy()
    m, n = u.shape
    pivots = []
    for k in range(min(m, n)):
        p = k
        if pivot:
            for i in range(k + 1, m):
                if decide(sympy.Abs(u[i, k]) > sympy.Abs(u[p, k])):
                    p = i
            u[[k, p]] = u[[p, k]]
        pivots.append(sympy.Integer(p + 1))
        for i in range(k + 1, m):
            u[i, k] = u[i, k] / u[k, k]
            for j in range(k + 1, n):
                u[i, j] = u[i, j] - u[i, k] * u[k, j]
    return u, np.array(pivots, dtype=object)


@meaning(aten.linalg_lu_factor_ex)
def linalg_lu_factor_ex(A, *, pivot=True, check_errors=False):
    """L and U in one matrix, with partial pivoting decided per point (info: 0)"""
    X = exprs(A)
    if max(X.shape[-2:]) > SIZE:
        _square(np.empty((SIZE + 1, SIZE + 1)), "linalg_lu_factor_ex")
    batch = X.shape[:-2]
    factors = {idx: lu2(X[idx], pivot) for idx in np.ndindex(*batch)}
    LU = np.empty(X.shape, dtype=object)
    piv = np.empty(batch + (min(X.shape[-2:]),), dtype=object)
    for idx, (u, p) in factors.items():
        LU[idx], piv[idx] = u, p
    return LU, piv, _aux(_metas(aten.linalg_lu_factor_ex.default, A, pivot=pivot)[2])


def _c(z):
    """cosh(sqrt z), real for every real z (cos(sqrt(-z)) below 0)."""
    return sympy.Piecewise((sympy.cosh(sympy.sqrt(z)), z > 0), (sympy.cos(sympy.sqrt(-z)), z < 0), (1, True))


def _s(z):
    """sinh(sqrt z) / sqrt z, real for every real z (sin(sqrt(-z)) / sqrt(-z) below 0)."""
    return sympy.Piecewise((sympy.sinh(sympy.sqrt(z)) / sympy.sqrt(z), z > 0),
                           (sympy.sin(sympy.sqrt(-z)) / sympy.sqrt(-z), z < 0), (1, True))


def exp2(a: np.ndarray) -> np.ndarray:
    """exp(A) for a 1 x 1 or 2 x 2 matrix, in closed form.

    With s = tr(A)/2 and N = A - s I, N^2 = q I where q = ((a-d)/2)^2 + bc,
    so exp(A) = e^s (cosh(sqrt q) I + sinh(sqrt q)/sqrt q N), written with
    real functions of q on either side of 0. At q = 0 exactly the pieces
    meet in the value 1 (the series), whose derivative the pieces do not give.
    """
    n = a.shape[0]
    if n == 0:
        return a.copy()
    if n == 1:
        return np.array([[sympy.exp(a[0, 0])]], dtype=object)
    if n > 2:
        from .registry import UnsupportedOp

        raise UnsupportedOp(f"aten.matrix_exp of a {n} x {n} matrix (a closed form is modelled for 1 x 1 and "
                            "2 x 2 only: beyond, it needs the roots of the characteristic polynomial)")
    s = (a[0, 0] + a[1, 1]) / 2
    q = ((a[0, 0] - a[1, 1]) / 2) ** 2 + a[0, 1] * a[1, 0]
    c, f, e = _c(q), _s(q), sympy.exp(s)
    return np.array([[e * (c + f * (a[0, 0] - s)), e * f * a[0, 1]],
                     [e * f * a[1, 0], e * (c + f * (a[1, 1] - s))]], dtype=object)


@meaning(aten.matrix_exp, aten.linalg_matrix_exp)
def matrix_exp(A):
    """exp(A) in closed form for 1 x 1 and 2 x 2 matrices"""
    return _each(exp2, exprs(A))


def _no_closed_form(op: str, why: str):
    from .registry import UnsupportedOp

    def impl(*args, **kwargs):
        raise UnsupportedOp(f"{op} ({why})")

    impl.__doc__ = f"not modelled: {why}"
    return impl


for _op, _why in [
        (aten._linalg_svd, "singular values are roots of a polynomial of degree n: no closed form in general"),
        (aten.linalg_eig, "eigenvalues are roots of the characteristic polynomial: no closed form in general"),
        (aten._linalg_eigh, "eigenvalues are roots of the characteristic polynomial: no closed form in general"),
]:
    MEANINGS[_op] = _no_closed_form(str(_op), _why)
