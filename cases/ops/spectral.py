"""Eigenvalues, eigenvectors, singular values and the matrix exponential: no closed form past 2 x 2 (or
degree 4), so each output entry is one exact node, an algebraic number whose derivatives are the implicit
ones (compare/symbolic/spectral.py). The sign or phase of a vector, and eig's order, are LAPACK's."""
import torch

from compare import case

g = torch.Generator().manual_seed(0)
a = torch.randn(3, 3, generator=g, dtype=torch.float64)
W = torch.randn(3, 3, generator=g, dtype=torch.float64)
w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
double = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.5]], dtype=torch.float64)


@case(inputs={"a": a}, samples=2)
def eigenvalues_weighted(a):
    """eigh of a + a^T, eigenvalue k weighted by k: d lambda_k / dA = v_k v_k^T, summed."""
    return (torch.linalg.eigh(a + a.T).eigenvalues * w).sum()


@case(inputs={"a": a}, samples=2, order=1)
def eigenvectors_squared(a):
    """Squares of the eigenvectors' entries, weighted: a function of the vectors that does not depend on
    their signs, as the gradient torch computes assumes (its derivative sums over the other eigenvalues,
    with 1 / (lambda_k - lambda_j))."""
    return (torch.linalg.eigh(a + a.T).eigenvectors ** 2 * W).sum()


@case(inputs={"a": double}, samples=1, order=1)
def eigenvectors_at_a_double_eigenvalue(a):
    """The same at a matrix whose a + a^T has the eigenvalue 1 twice: an eigenvector of it is any unit vector
    of a plane, not a function of the matrix, so there its derivative does not exist."""
    return torch.linalg.eigh(a + a.T).eigenvectors.abs().sum()


@case(inputs={"a": a}, samples=2)
def nuclear_norm(a):
    """The sum of the singular values: U V^T where they are distinct and none is 0."""
    return torch.linalg.matrix_norm(a, "nuc")


@case(inputs={"a": a}, order=1)
def eigenvalue_moduli(a):
    """|lambda| of a matrix that is not symmetric: a real eigenvalue and a complex pair, in LAPACK's order."""
    return torch.linalg.eigvals(a).abs().sum()


@case(inputs={"a": a}, order=1)
def matrix_exponential(a):
    """exp(A) of a 3 x 3 matrix, entry by entry: Arb's series, and the Frechet derivative for the Jacobian."""
    return torch.linalg.matrix_exp(a)


class ForgottenGap(torch.autograd.Function):
    """A symmetric eigendecomposition whose backward forgets to divide by lambda_k - lambda_j."""

    @staticmethod
    def forward(ctx, A):
        L, V = torch.linalg.eigh(A)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        off = 1 - torch.eye(len(L), dtype=L.dtype)  # should be 1 / (L[k] - L[j]) off the diagonal
        return V @ (torch.diag(gL) + off * (V.T @ gV)) @ V.T


@case(inputs={"a": a}, order=1, known_wrong="the backward forgets the factor 1 / (lambda_k - lambda_j)")
def eigh_forgotten_gap(a):
    """A hand-written eigh whose backward forgets 1 / (lambda_k - lambda_j): caught on the vectors."""
    return (ForgottenGap.apply(a + a.T)[1] ** 2 * W).sum()
