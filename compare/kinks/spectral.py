"""Where an eigenvalue or a singular value repeats: the table's entries for eigh, svd and eig.

The nodes of `compare.symbolic.spectral`, `singular` and `general_eig` are
switches whose boundary is a repeated value (`nodes.Repeating`). There, at a
repeated eigenvalue lambda of a symmetric matrix with P the projector on its
m-dimensional eigenspace, the sorted eigenvalues of A + E near lambda are
lambda + mu_t(P E P) (the eigenvalues of E compressed to the eigenspace): the
lowest copy is locally concave, the highest locally convex, the others
neither, and the gradients of nearby points tend to v v^T for the unit
vectors v of the eigenspace. The autograd notes' rules 2 and 3 give the
lowest and highest copy P / m, the minimum-norm super- or subgradient, and
rule 4 a middle copy any v v^T. torch's backward (derivatives.yaml:
linalg_eig_backward, gA = V diag(gL) V^T) gives v_k v_k^T with the
eigenvector v_k LAPACK returned, one of rule 4's values: both are allowed.
A singular value is an eigenvalue of [[0, A], [A^T, 0]], so the same holds
with u v^T; a singular value 0 of a rank-deficient matrix is a minimum of a
nonnegative function, whose minimum-norm subgradient is 0, and torch gives
u_k v_k^T there.

An eigenvector (or singular vector) of a repeated value is not a function
of the matrix (any orthonormal basis of the eigenspace is one): it has no
derivative, torch documents the gradients through it as not finite, and any
value is allowed. Nor has a repeated eigenvalue of a non-symmetric matrix a
derivative (a Jordan block's eigenvalues split as the square root of the
perturbation), nor a limit of derivatives: any value. Second derivatives
at a repeated value are not checked (any value).
"""
from __future__ import annotations

import flint
import numpy as np
import sympy
import torch

from ..symbolic.nodes import Repeating
from ..symbolic.singular import svd_entry
from ..symbolic.spectral import VALUE, eigh_entry
from ..symbolic.switches import at_boundary, switches
from .numbers import ANYTHING, value_at
from .several import gradient_of

__all__ = ["partials", "second"]

_YAML = "tools/autograd/derivatives.yaml"

EIGH = ("at a repeated eigenvalue: the lowest copy is locally concave and the highest locally convex (rules 3 "
        "and 2: P / m, P the projector on the m-dimensional eigenspace), a middle one neither (rule 4: v v^T "
        "for a unit v of the eigenspace), and torch's backward gives v_k v_k^T with the eigenvector LAPACK "
        "returned. An eigenvector there is not a function of the matrix (any basis of the eigenspace is one), so "
        "the derivative does not exist here and any value is allowed, as for second derivatives there")
EIGH_SOURCE = (f"{_YAML}: linalg_eig_backward(..., is_hermitian=true), gA = V diag(gL) V^T, and torch.linalg.eigh: "
               '"Gradients computed using the eigenvectors tensor will only be finite when A has distinct '
               'eigenvalues"')
SVD = ("at a repeated singular value, as eigh's (the mean of u v^T over the copies for the extreme ones, u_k v_k^T "
       "with LAPACK's vectors as torch's backward), and at a singular value 0 of a rank-deficient matrix, its "
       "minimum, 0 (rule 2) or torch's u_k v_k^T. A singular vector there is not a function of the matrix, so the "
       "derivative does not exist here and any value is allowed")
SVD_SOURCE = (f"{_YAML}: svd_backward, gA = U diag(gS) V^H, and torch.linalg.svd: \"Gradients computed using U or "
              'Vh will only be finite when A does not have repeated singular values"')
EIG = ("at a repeated eigenvalue of a non-symmetric matrix, the derivative of the eigenvalue and of its "
       "eigenvectors does not exist here, nor a limit of derivatives: any value is allowed")
EIG_SOURCE = (f"{_YAML}: linalg_eig_backward divides by the gaps lambda_j - lambda_k, and torch.linalg.eig: "
              '"Gradients computed using the eigenvectors tensor will only be finite when A has distinct '
              'eigenvalues"')


def partials(site, values) -> list:
    """The allowed first partials of a spectral op's outputs (alternatives: the rules' values, then torch's
    formula with LAPACK's float64 vectors, then with its float32 ones)."""
    point = dict(zip(site.symbols, values))
    among = set(site.symbols)
    alternatives: list[list] = [[], [], []]
    for f in site.outputs:
        rows = _rows(f, site.symbols, point, among)
        for k in range(3):
            alternatives[k].append(rows[k])
    found = []
    for a in alternatives:
        if a not in found:
            found.append(a)
    return [tuple(a) for a in found]


def second(site, values) -> tuple:
    """Any second partials: at a repeated value they are not checked."""
    n = len(site.symbols)
    return (tuple(tuple((ANYTHING,) * n for _ in range(n)) for _ in site.outputs),)


def _rows(f, symbols, point: dict, among: set) -> list[tuple]:
    """One output's partials under each of the three alternatives."""
    at = lambda e: value_at(e, point)  # noqa: E731
    on = [w for w in switches(f, among) if isinstance(w, Repeating) and at_boundary(w, at)]
    if not on:
        row = gradient_of(f, symbols, point)
        return [row] * 3
    node = on[0]
    if len(on) > 1 or node != f or not isinstance(node, (eigh_entry, svd_entry)) or node.head[0] != VALUE:
        row = tuple(ANYTHING for _ in symbols)
        return [row] * 3
    entries = [at(a) for a in node.entries]
    if not all(isinstance(e, sympy.Rational) for e in entries):
        row = tuple(ANYTHING for _ in symbols)
        return [row] * 3
    matrices = _matrices(node, entries)
    return [_chained(m, node, symbols, point) for m in matrices]


def _matrices(node, entries: list) -> list[np.ndarray]:
    """The partials of the value node by its matrix's entries: the rules', torch's in float64, in float32."""
    head = node.head
    exact = tuple(flint.fmpq(int(e.p), int(e.q)) for e in entries)
    d = node.decomposition(head, exact, 128)
    k = head[1]
    rows, cols = node.shape
    left = d.right if isinstance(node, eigh_entry) else d.left
    copies = [c for c in range(len(d.roots)) if d.roots[c] == d.roots[k]]
    outer = lambda c: np.array([[_mid(left[c][a] * d.right[c][b]) for b in range(cols)]  # noqa: E731
                                for a in range(rows)])
    lapack64 = outer(k)
    if isinstance(node, svd_entry) and d.values[k].real.is_zero():
        rule = np.zeros((rows, cols))
    elif copies.index(k) in (0, len(copies) - 1):
        rule = sum(outer(c) for c in copies) / len(copies)
    else:
        rule = lapack64
    return [rule, lapack64, _float32(node, entries, rows, cols)]


def _float32(node, entries: list, rows: int, cols: int) -> np.ndarray:
    """v_k v_k^T (u_k v_k^T) with the vectors LAPACK gives for the matrix rounded to float32."""
    a = torch.tensor([float(e) for e in entries], dtype=torch.float32).reshape(rows, cols)
    k = node.head[1]
    if isinstance(node, eigh_entry):
        _, v = torch.linalg.eigh(a, UPLO="U" if node.head[4] else "L")
        u = v
    else:
        u, _, vh = torch.linalg.svd(a, full_matrices=False)
        v = vh.mT
    return np.outer(u[:, k].double().numpy(), v[:, k].double().numpy())


def _mid(z) -> float:
    return float((z.real if isinstance(z, flint.acb) else z).mid())


def _chained(m: np.ndarray, node, symbols, point: dict) -> tuple:
    """d node / d s = sum over the matrix's entries e of m[e] d e / d s (the entries are affine in the
    site's variables: a triangle read twice, a transpose)."""
    flat = m.reshape(-1)
    out = []
    for s in symbols:
        total = sum(float(flat[e]) * float(sympy.diff(a, s).xreplace(point))
                    for e, a in enumerate(node.entries) if s in a.free_symbols)
        out.append(sympy.Float(total, 17) if total else sympy.S.Zero)
    return tuple(out)

