"""PyTorch's rules where an eigenvalue or a singular value repeats (the kinks of `symbolic/decompositions.py`).

At a repeated eigenvalue lambda of a symmetric matrix, with P the
projector on its m-dimensional eigenspace, the sorted eigenvalues of A + E
near lambda are lambda + mu_t(P E P) (the eigenvalues of E compressed to
the eigenspace), so the lowest of them is locally concave in A, the
highest locally convex, and the others neither. The autograd notes' rules
then give the lowest and the highest the minimum-norm super- and
subgradient, P / m, and a middle one any one-sided derivative (v v^T for
a unit v of the eigenspace). A singular value is an eigenvalue of the
symmetric [[0, A], [A^T, 0]], so the same holds with (1/m) sum u_c v_c^T;
a singular value 0 is a minimum (of a nonnegative function), whose
minimum-norm subgradient is 0.

An eigenvector (or singular vector) of a repeated value is not a function
of the matrix: any orthonormal basis of the eigenspace is one. Its
derivative does not exist, torch documents the gradients through such
vectors as not finite there, and the rule is that autograd's value is
arbitrary (the autograd notes' last rule). Nor are the eigenvalues of a
non-symmetric matrix differentiable at a repeated one.
"""
from __future__ import annotations

import flint
import sympy

from ..symbolic import eigen
from ..symbolic.general_eig import eig_entry
from ..symbolic.singular import svd_entry
from ..symbolic.spectral import eigh_entry

__all__ = ["RULE_TEXTS", "rules"]

RULE_TEXTS = {
    "linalg.eigh": "at a repeated eigenvalue, the lowest of its copies is locally concave and the highest "
                   "locally convex, so autograd takes the minimum-norm super- or subgradient (the projector "
                   "on the eigenspace over its dimension), and a middle copy a one-sided derivative",
    "linalg.svd": "at a repeated singular value, the lowest of its copies is locally concave and the highest "
                  "locally convex, so autograd takes the minimum-norm super- or subgradient (the mean of "
                  "u v^T over the copies), a middle copy a one-sided derivative, and a singular value 0 "
                  "(a minimum) the subgradient 0",
    "linalg.eig": "a repeated eigenvalue of a non-symmetric matrix has no derivative, and autograd's value "
                  "there is arbitrary (its backward divides by the gap between the copies)",
    "vectors": "an eigenvector or singular vector of a repeated value is not a function of the matrix (any "
               "basis of the eigenspace is one): its derivative does not exist, and torch documents the "
               "gradient through it as not finite, so autograd's value is arbitrary",
}
"""Each rule, in a sentence."""


def _values(args) -> tuple | None:
    """The matrix entries at the point as exact fmpq (None where one is not a rational number)."""
    out = []
    for a in args:
        a = sympy.sympify(a)
        if not isinstance(a, sympy.Rational):
            return None
        out.append(flint.fmpq(int(a.p), int(a.q)))
    return tuple(out)


def _decomposed(kind: str, args, params: dict):
    values = _values(args)
    if values is None:
        return None
    if kind == "eigh":
        n = params["n"]
        return eigen.symmetric(values, (n, n), 128, "U" if params.get("upper") else "L")
    if kind == "eig":
        n = params["n"]
        return eigen.general(values, (n, n), 128)
    return eigen.singular(values, (params["m"], params["n"]), 128)


def _repeated(kind: str):
    def on_kink(args, params) -> bool:
        d = _decomposed(kind, args, params)
        k = params["k"]
        if d is None or (kind == "svd" and k >= len(d.simple)):
            return False
        return not d.simple[k]

    return on_kink


def _float(x) -> sympy.Float:
    return sympy.Float(float(x.real.mid()) if isinstance(x, flint.acb) else float(x.mid()), 30)


def _ordered_partials(kind: str):
    """The rule's gradient of value k at a repeated value: P / m (or the mean of u v^T) for the lowest and
    the highest copy, the copy's own v v^T (u v^T) for a middle one, 0 for a singular value 0."""

    def partials(args, params):
        d = _decomposed(kind, args, params)
        k = params["k"]
        rows, cols = (params["n"], params["n"]) if kind == "eigh" else (params["m"], params["n"])
        copies = [c for c in range(len(d.roots)) if d.roots[c] == d.roots[k]]
        if kind == "svd" and d.values[k].real.is_zero():
            return tuple(sympy.S.Zero for _ in range(rows * cols))
        t = copies.index(k)
        used = copies if t in (0, len(copies) - 1) else [k]
        left = d.left if kind == "svd" else d.right
        return tuple(_float(sum((left[c][a] * d.right[c][b] for c in used), flint.acb(0)) / len(used))
                     for a in range(rows) for b in range(cols))

    return partials


def _undefined(args, params) -> tuple:
    return tuple(sympy.nan for _ in args)


def rules(Rule) -> list:
    """The rules as `kinks.Rule`s (passed in: `kinks` imports this module)."""
    return [
        Rule("linalg.eigh", RULE_TEXTS["linalg.eigh"], (eigh_entry,), _repeated("eigh"), _ordered_partials("eigh")),
        Rule("linalg.svd", RULE_TEXTS["linalg.svd"], (svd_entry,), _repeated("svd"), _ordered_partials("svd")),
        Rule("linalg.eig", RULE_TEXTS["linalg.eig"], (eig_entry,), _repeated("eig"), _undefined, arbitrary=True),
        *(Rule(op, RULE_TEXTS["vectors"], kinds, _repeated(kind), _undefined, arbitrary=True)
          for op, kinds, kind in (("linalg.eigh (eigenvectors)", (eigh_entry,), "eigh"),
                                  ("linalg.eig (eigenvectors)", (eig_entry,), "eig"),
                                  ("linalg.svd (singular vectors)", (svd_entry,), "svd"))),
    ]
