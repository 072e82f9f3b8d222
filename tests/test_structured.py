"""Inputs that an op reads as a structured matrix are compared along that structure (`compare.basis`).

torch.linalg.cholesky takes a symmetric positive-definite A and its backward gives the symmetric
gradient (derivatives.yaml: cholesky_backward; its jvp assumes a symmetric dA), while LAPACK, and
so the exact side, reads one triangle of A. The two gradients are different matrices for the same
function of a symmetric matrix; they agree along every symmetric direction, which is where the
function is defined by the op's contract. cholesky_solve and cholesky_inverse read their factor as
a triangular matrix and give a full gradient for it; they agree along triangular directions.
Each expected verdict comes from that mathematics; each comparison catches a backward that is
wrong along the structure.
"""
import numpy as np
import pytest
import torch

import compare

F64 = torch.float64


def _spd(n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    b = torch.randn(n, n, dtype=F64, generator=g)
    return b @ b.T + n * torch.eye(n, dtype=F64)


def _logdet(A):
    return 2 * torch.linalg.cholesky(A).diagonal().log().sum()


def test_cholesky_of_a_symmetric_matrix_agrees_on_symmetric_directions():
    result = compare.check(lambda A: torch.linalg.cholesky(A), (_spd(),), samples=2)
    assert result.status == "agree", result.error
    assert any("symmetric" in n and "`A`" in n for n in result.comparison_notes)


def test_a_log_determinant_through_cholesky_has_gradient_a_inverse():
    """d log det A = tr(A^-1 dA): along symmetric directions the gradient is A^-1 (symmetric), and its
    second derivative -A^-1 dA A^-1 is compared on symmetric directions too."""
    A = _spd()
    result = compare.check(_logdet, (A,))
    assert result.status == "agree", result.error
    example = result.points[0]
    assert example.symbolic["A"] == pytest.approx(np.linalg.inv(A.numpy()), rel=1e-12)
    assert example.hessian.errors.agree


@pytest.mark.parametrize("fn", [
    lambda A: torch.cholesky_solve(torch.tensor([[1.0], [-2.0], [0.5]], dtype=A.dtype), torch.linalg.cholesky(A)),
    lambda A: torch.cholesky_inverse(torch.linalg.cholesky(A)),
    lambda A: torch.linalg.cholesky(A, upper=True),
], ids=["cholesky_solve", "cholesky_inverse", "upper"])
def test_the_cholesky_family_through_a_symmetric_input(fn):
    result = compare.check(fn, (_spd(),))
    assert result.status == "agree", result.error


def test_a_matrix_built_inside_the_function_is_compared_as_it_is():
    """B @ B.T + 3 I is symmetric whatever B is: B is no structured matrix, and both sides agree without
    any projection (torch's symmetric gradient for A, pulled back through B @ B.T, is the exact one)."""
    B = torch.tensor([[1.0, 0.5, -0.2], [0.3, -1.1, 0.4], [0.0, 0.7, 0.9]], dtype=F64)
    result = compare.check(lambda B: _logdet(B @ B.T + 3 * torch.eye(3, dtype=B.dtype)), (B,), samples=2)
    assert result.status == "agree", result.error
    assert result.comparison_notes == ()


@pytest.mark.parametrize("fn", [
    lambda L: torch.cholesky_solve(torch.tensor([[1.0, 0.0], [-2.0, 1.0], [0.5, 3.0]], dtype=L.dtype), L),
    lambda L: torch.cholesky_inverse(L),
], ids=["cholesky_solve", "cholesky_inverse"])
def test_a_triangular_factor_agrees_on_triangular_directions(fn):
    L = torch.linalg.cholesky(_spd())
    result = compare.check(fn, (L,))
    assert result.status == "agree", result.error
    assert any("lower triangular" in n for n in result.comparison_notes)
    for p in result.points[1:]:  # the samples are drawn on the structure: lower triangular
        assert np.triu(p.inputs["L"], 1).tolist() == np.zeros((3, 3)).tolist()


class _CholeskyDiagonalTwice(torch.autograd.Function):
    """cholesky whose backward forgets to halve the diagonal in pi*(X) = (X + X^T - diag X) / 2: wrong
    along the symmetric directions that move the diagonal."""

    @staticmethod
    def forward(ctx, A):
        L = torch.linalg.cholesky(A)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        (L,) = ctx.saved_tensors
        P = (L.T @ gL).tril()
        P = 0.5 * (P + P.tril(-1).T) + 0.5 * torch.diag_embed(P.diagonal())  # the diagonal counted twice
        P = torch.linalg.solve_triangular(L.T, P, upper=True, left=True)
        return torch.linalg.solve_triangular(L, P, upper=False, left=False)


def test_a_cholesky_backward_wrong_along_a_symmetric_direction_is_caught():
    result = compare.check(lambda A: _CholeskyDiagonalTwice.apply(A).sum(), (_spd(),), order=1)
    assert result.status == "disagree"


class _TriangularInverseOff(torch.autograd.Function):
    """cholesky_inverse whose backward is 1% off on the factor's diagonal (inside the read triangle)."""

    @staticmethod
    def forward(ctx, L):
        X = torch.cholesky_inverse(L)
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, g):
        L, X = ctx.saved_tensors
        common = X @ (g + g.T) @ X
        return -(common @ L) * (1 + 0.01 * torch.eye(L.shape[0], dtype=L.dtype))


def test_a_triangular_factor_backward_wrong_inside_its_triangle_is_caught():
    L = torch.linalg.cholesky(_spd())
    right = compare.check(lambda L: (torch.cholesky_inverse(L) * torch.arange(9.0, dtype=F64).reshape(3, 3)).sum(),
                          (L,), order=1)
    assert right.status == "agree", right.error
    wrong = compare.check(lambda L: (_TriangularInverseOff.apply(L) * torch.arange(9.0, dtype=F64).reshape(3, 3))
                          .sum(), (L,), order=1)
    assert wrong.status == "disagree"


# -- the projection itself ----------------------------------------------------------------------------
def _fact(kind, triangle, matrix):
    from compare.symbolic.observed import Structured

    return Structured("aten.op", "self", kind, triangle, (tuple(tuple(row) for row in matrix),))


def _basis(kind, triangle, matrix=None):
    from compare.basis import basis
    from compare.exact.sym import input_symbols

    symbols = {"A": input_symbols("A", (2, 2))}
    a = symbols["A"]
    return basis(symbols, [_fact(kind, triangle, matrix if matrix is not None else a.tolist())], {})


def test_a_symmetric_argument_averages_each_mirrored_pair():
    b = _basis("symmetric", "lower")
    g = {"A": np.array([[1.0, 2.0], [3.0, 4.0]])}
    assert b.gradient(g)["A"].tolist() == [[1.0, 2.5], [2.5, 4.0]]
    jac = {"A": np.arange(12.0).reshape(3, 2, 2)}  # 3 outputs
    assert b.jacobian(jac)["A"][1].tolist() == [[4.0, 5.5], [5.5, 7.0]]
    h = np.arange(16.0).reshape(4, 4)
    p = np.array([[1, 0, 0, 0], [0, 0.5, 0.5, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 1]])
    assert np.allclose(b.hessian(h), p @ h @ p)  # P H P, P the orthogonal projection
    point = {"A": torch.tensor([[1.0, 9.0], [3.0, 4.0]], dtype=F64)}
    assert b.point(point)["A"].tolist() == [[1.0, 3.0], [3.0, 4.0]]  # the read (lower) triangle mirrored


def test_a_triangular_argument_leaves_out_its_unread_triangle():
    b = _basis("triangular", "upper")
    assert b.gradient({"A": np.array([[1.0, 2.0], [3.0, 4.0]])})["A"].tolist() == [[1.0, 2.0], [0.0, 4.0]]
    point = {"A": torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)}
    assert b.point(point)["A"].tolist() == [[1.0, 2.0], [0.0, 4.0]]
    assert torch.equal(b.direction(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64)),
                       torch.tensor([1.0, 2.0, 0.0, 4.0], dtype=F64))


def test_a_matrix_whose_mirrored_entries_are_one_symbol_needs_no_projection():
    from compare.exact.sym import input_symbols

    v = input_symbols("A", (2, 2))  # A_0_1 stands on both sides of the diagonal: already symmetric
    b = _basis("symmetric", "lower", [[v[0, 0], v[0, 1]], [v[0, 1], v[1, 1]]])
    assert b.projection is None and b.notes == ()


def test_a_claim_about_a_structured_input_is_judged_on_the_structure():
    """`expect` for log det A through cholesky: A^-1 is the gradient on symmetric matrices; the exact side's
    formulas read one triangle, so the claim is compared on the symmetric directions too (not proven by
    algebra, which would need A_ij = A_ji, and not refuted); twice A^-1 is refuted."""
    A = _spd()
    right = compare.check(_logdet, (A,), expect=lambda A: torch.linalg.inv(A), samples=1, order=1)
    assert right.status == "agree" and right.pieces[0].claim == "unproven"
    wrong = compare.check(_logdet, (A,), expect=lambda A: 2 * torch.linalg.inv(A), samples=1, order=1)
    assert wrong.status == "disagree" and wrong.pieces[0].claim == "disproven"
