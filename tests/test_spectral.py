"""Eigenvalues, eigenvectors, singular values and matrix exponentials as exact nodes, against autograd,
against derivatives found another way (SymPy's implicit differentiation of the characteristic polynomial,
high-precision differences), and with wrong backwards that must be caught."""
import mpmath
import numpy as np
import pytest
import sympy
import torch

import compare
from compare.exact.evaluate import evaluate
from compare.exact.sym import exact, input_symbols
from compare.symbolic import SymTensor
from compare.symbolic.spectral import VALUE, VECTOR, eigh_entry

A3 = torch.tensor([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.5, 0.2, 0.7]], dtype=torch.float64)
W = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)


def _agrees(fn, x, **options):
    result = compare.check(fn, (x,), samples=2, timeout=None, **options)
    assert result.status == "agree", (result.error, [(p.origin, p.note) for p in result.points])
    return result


# -- the done-when checks: 3 x 3 matrices ----------------------------------------------------------
def test_eigh_eigenvalues_and_their_hessian_agree():
    _agrees(lambda a: (torch.linalg.eigh(a + a.T).eigenvalues * W[0]).sum(), A3)


def test_eigh_eigenvectors_agree():
    _agrees(lambda a: (torch.linalg.eigh(a + a.T).eigenvectors ** 2 * W).sum(), A3, order=1)
    _agrees(lambda a: torch.linalg.eigh(a + a.T, UPLO="U").eigenvectors, A3, order=1)  # LAPACK's own signs


def test_svd_agrees():
    _agrees(lambda a: (torch.linalg.svdvals(a) * W[0]).sum(), A3)
    _agrees(lambda a: (lambda u, s, vh: (u * W[0]) @ vh)(*torch.linalg.svd(a)), A3, order=1)


def test_eig_agrees():
    _agrees(lambda a: torch.view_as_real(torch.linalg.eigvals(a)).sum(), A3)
    _agrees(lambda a: (torch.linalg.eig(a).eigenvectors.abs() * W).sum(), A3, order=1)


def test_matrix_exp_agrees():
    _agrees(lambda a: (torch.linalg.matrix_exp(a) * W).sum(), A3 / 2, order=1)


# -- wrong backwards of a symmetric eigendecomposition ---------------------------------------------------
def _eigh_function(mistake: str):
    class Eigh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A):
            L, V = torch.linalg.eigh(A)
            ctx.save_for_backward(L, V)
            return L, V

        @staticmethod
        def backward(ctx, gL, gV):
            L, V = ctx.saved_tensors
            gap = L[None, :] - L[:, None]  # lambda_k - lambda_j at (j, k)
            F = torch.where(gap == 0, torch.zeros_like(gap), 1 / torch.where(gap == 0, torch.ones_like(gap), gap))
            if mistake == "forgotten gap":
                F = torch.where(gap == 0, torch.zeros_like(gap), torch.ones_like(gap))
            elif mistake == "sign":
                F = -F
            return V @ (torch.diag(gL) + F * (V.T @ gV)) @ V.T

    return lambda a: (Eigh.apply(a + a.T)[1] ** 2 * W).sum() + Eigh.apply(a + a.T)[0].sum()


@pytest.mark.parametrize("mistake, status", [("none", "agree"), ("forgotten gap", "disagree"),
                                             ("sign", "disagree")])
def test_a_symmetric_eigendecomposition_with_a_wrong_backward_is_caught(mistake, status):
    result = compare.check(_eigh_function(mistake), (A3,), samples=1, order=1, timeout=None)
    assert result.status == status, (result.error, [p.note for p in result.points])


# -- the partials against derivatives found another way -----------------------------------------------
SYM = sympy.Matrix([[2, sympy.Rational(1, 3), -1], [sympy.Rational(1, 3), 1, sympy.Rational(1, 2)],
                    [-1, sympy.Rational(1, 2), -3]])


def _nodes(part, k, i=0):
    """An `eigh_entry` of SYM: argument 6 + 3 r + c (1-based) is its entry (r, c)."""
    entries = [SYM[r, c] for r in range(3) for c in range(3)]
    return eigh_entry(part, k, i, 3, 0, *entries)


def test_eigenvalue_partials_are_the_implicit_derivatives_of_the_characteristic_polynomial():
    # lambda(a) is defined by p(lambda, a) = det(lambda I - (a + a^T)/2) = 0 (the node is a function of the
    # symmetric part): d lambda / d a_i = -p_i / p_x, and d^2 lambda / d a_i d a_j =
    # -(p_ij + p_ix l_j + p_jx l_i + p_xx l_i l_j) / p_x, with CRootOf's exact root
    x = sympy.Symbol("x")
    a = sympy.Matrix(3, 3, lambda r, c: sympy.Symbol(f"a{r}{c}"))
    p = (x * sympy.eye(3) - (a + a.T) / 2).det()
    values = {a[r, c]: SYM[r, c] for r in range(3) for c in range(3)}
    i, j = a[0, 1], a[1, 2]
    for k in range(3):
        root = sympy.CRootOf(p.subs(values), k)  # ascending, as eigh orders them
        at = lambda e: sympy.N(e.subs(values).subs(x, root), 40)  # noqa: E731
        node = _nodes(VALUE, k)
        assert abs(sympy.N(node, 40) - sympy.N(root, 40)) < 1e-35
        for (r, c) in [(0, 0), (0, 2), (2, 1)]:
            assert abs(sympy.N(node.fdiff(6 + 3 * r + c), 40) - at(-p.diff(a[r, c]) / p.diff(x))) < 1e-30
        li, lj = at(-p.diff(i) / p.diff(x)), at(-p.diff(j) / p.diff(x))
        implicit = -(at(p.diff(i, j)) + at(p.diff(i, x)) * lj + at(p.diff(j, x)) * li
                     + at(p.diff(x, 2)) * li * lj) / at(p.diff(x))
        assert abs(sympy.N(_second(node, 1, 5), 30) - implicit) < 1e-25


def _second(node, e1: int, e2: int):
    """d^2 node / d entry_e1 d entry_e2 at the node's own (numeric) entries, through SymPy's chain rule."""
    symbols = list(input_symbols("g", (9,)).flat)
    generic = type(node)(*node.args[:5], *symbols)
    return generic.diff(symbols[e1]).diff(symbols[e2]).xreplace(dict(zip(symbols, node.args[5:])))


def test_eigenvector_partials_are_high_precision_differences_of_the_exact_eigenvectors():
    mpmath.mp.dps = 60
    h = sympy.Rational(1, 10**25)

    def vector(m: sympy.Matrix, k: int) -> list:
        """Eigenvector k (ascending) at 60 digits, signed so that its largest entry is positive."""
        E, Q = mpmath.eigsy(mpmath.matrix([[mpmath.mpf(e.p) / e.q for e in row] for row in m.tolist()]))
        j = sorted(range(3), key=lambda t: E[t])[k]
        v = [Q[i, j] for i in range(3)]
        return v if max(v, key=abs) > 0 else [-t for t in v]

    for k in range(3):
        node = _nodes(VECTOR, k, 1)
        sign = 1 if mpmath.sign(sympy.N(node, 30)) == mpmath.sign(vector(SYM, k)[1]) else -1
        for (r, c) in [(0, 1), (2, 2)]:  # along the symmetric direction E_rc + E_cr (E_rr on the diagonal)
            step = sympy.zeros(3, 3)
            step[r, c] = step[c, r] = h
            difference = (vector(SYM + step, k)[1] - vector(SYM - step, k)[1]) / (2 * mpmath.mpf(h.p) / h.q)
            ours = node.fdiff(6 + 3 * r + c) + (node.fdiff(6 + 3 * c + r) if r != c else 0)
            assert abs(sign * sympy.N(ours, 30) - difference) < 1e-20


# -- LAPACK's order and signs ---------------------------------------------------------------------------
def _exact(fn, a: torch.Tensor) -> list:
    symbols = input_symbols("a", tuple(a.shape))
    point = {s: exact(v) for s, v in zip(symbols.flat, a.reshape(-1).tolist())}
    out = fn(SymTensor(symbols.copy(), torch.float64))
    return [evaluate(np.asarray(o.exprs if hasattr(o, "exprs") else o), point) for o in out]


def test_the_values_come_in_lapacks_order_and_gauge():
    a = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    s = a + a.T
    for uplo in ("L", "U"):  # syevd's signs depend on the triangle it reads
        L, V = _exact(lambda x: torch.linalg.eigh(x + x.T, UPLO=uplo), a)
        want = torch.linalg.eigh(s, UPLO=uplo)
        assert np.allclose(L, want.eigenvalues.numpy(), atol=1e-13) and np.allclose(V, want.eigenvectors.numpy(), atol=1e-13)
    values = _exact(lambda x: torch.view_as_real(torch.linalg.eigvals(x)).unbind(-1), a)
    want = torch.linalg.eigvals(a)
    assert np.allclose(values[0], want.real.numpy(), atol=1e-13) and np.allclose(values[1], want.imag.numpy(), atol=1e-13)
    U, S, Vh = _exact(lambda x: torch.linalg.svd(x[:, :3], full_matrices=True), a)
    want = torch.linalg.svd(a[:, :3], full_matrices=True)
    assert all(np.allclose(ours, theirs.numpy(), atol=1e-13) for ours, theirs in zip((U, S, Vh), want))


# -- where the derivative does not exist --------------------------------------------------------------------
DOUBLE = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.5]], dtype=torch.float64)  # a + a.T: 1, 1, 3


def _at_example(fn):
    result = compare.check(fn, (DOUBLE,), samples=0, order=1, timeout=None)
    return result, result.points[0]


def test_at_a_repeated_eigenvalue_the_page_says_an_eigenvector_has_no_derivative():
    result, point = _at_example(lambda a: torch.linalg.eigh(a + a.T).eigenvectors.abs().sum())
    assert point.status == "convention" and "_linalg_eigh" in point.note
    assert "not a function of the matrix" in point.rule and "the derivative does not exist here" in point.rule
    from compare.records import Meta
    from compare.render.report import render_case

    assert "the derivative does not exist here" in render_case(result, Meta("3", "2", "1", 0, 0))


def _eigvalsh_function(at_a_tie: str):
    """eigvalsh whose backward is torch's V diag(gL) V^T off repeated eigenvalues, and at one `at_a_tie`:
    "projector" (the mean of v v^T over the copies: rules 2 and 3) or "zero" (wrong)."""
    class Eigvalsh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A):
            L, V = torch.linalg.eigh(A)
            ctx.save_for_backward(L, V)
            return L

        @staticmethod
        def backward(ctx, gL):
            L, V = ctx.saved_tensors
            if (L[1:] - L[:-1]).abs().min() > 1e-9:
                return V @ torch.diag(gL) @ V.T
            if at_a_tie == "zero":
                return torch.zeros_like(V @ V.T)
            tied = (L - L[0]).abs() < 1e-9
            P = V[:, tied] @ V[:, tied].T / int(tied.sum())
            return gL[0] * P + V[:, 2:] @ torch.diag(gL[2:]) @ V[:, 2:].T

    return Eigvalsh.apply


def test_at_a_repeated_eigenvalue_the_eigenvalues_follow_the_rules_for_convex_and_concave_functions():
    # the sum is the trace, smooth; the lowest copy alone is locally concave: the rule's minimum-norm
    # supergradient is P/2 (P the projector on the eigenspace), and torch's backward takes the v v^T of the
    # eigenvector LAPACK returned (one of the limits of nearby gradients, as max(x, dim) takes the index it
    # returns): both are allowed, and a backward that gives 0 there is neither
    _, point = _at_example(lambda a: torch.linalg.eigh(a + a.T).eigenvalues.sum())
    assert point.status in ("agree", "convention")
    _, point = _at_example(lambda a: torch.linalg.eigh(a + a.T).eigenvalues[0])
    assert point.status == "convention" and "rules 3" in point.rule
    _, point = _at_example(lambda a: _eigvalsh_function("projector")(a + a.T)[0])
    assert point.status == "convention"
    _, point = _at_example(lambda a: _eigvalsh_function("zero")(a + a.T)[0])
    assert point.status == "disagree" and "rules" in point.note


def test_at_a_singular_value_zero_torch_and_the_rule_are_allowed_and_a_wrong_backward_is_not():
    # rank 1: the nuclear norm sigma_1 + sigma_2 has a kink where sigma_2 = 0 (a minimum of sigma_2): rule 2
    # gives sigma_2 the subgradient 0, torch's backward u_2 v_2^T with LAPACK's vectors; twice that is neither
    rank_one = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)

    class DoubledAtZero(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A):
            U, S, Vh = torch.linalg.svd(A)
            ctx.save_for_backward(U, Vh)
            return S

        @staticmethod
        def backward(ctx, gS):
            U, Vh = ctx.saved_tensors
            return U @ torch.diag(gS * torch.tensor([1.0, 2.0], dtype=gS.dtype)) @ Vh

    right = compare.check(lambda a: torch.linalg.svdvals(a).sum(), (rank_one,), samples=0, order=1, timeout=None)
    assert right.points[0].status == "convention" and "_linalg_svd" in right.points[0].note
    wrong = compare.check(lambda a: DoubledAtZero.apply(a).sum(), (rank_one,), samples=0, order=1, timeout=None)
    assert wrong.points[0].status == "disagree"
