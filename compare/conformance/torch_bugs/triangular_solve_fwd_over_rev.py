"""Forward mode through triangular_solve's backward, along a lower-triangle tangent, differs from the hand
derivative of that backward, -A⁻ᵀ W Xᵀ."""
import torch
from torch.func import jvp, vjp
A = torch.tensor([[2.0, 0, 0], [0.5, 1.5, 0], [-1.0, 0.25, 3.0]], dtype=torch.float64)
B = torch.tensor([[1.0, -2.0], [0.5, 1.0], [2.0, 0.25]], dtype=torch.float64)
W = torch.ones(3, 2, dtype=torch.float64)
E = torch.zeros(3, 3, dtype=torch.float64)
E[1, 0] = 1  # a lower-triangle tangent
solve = lambda M: torch.triangular_solve(B, M, upper=False).solution
# X = A⁻¹B: d/dt of the backward's Aᵀ-gradient -A⁻ᵀ W Xᵀ along E, computed by hand
Ai = torch.linalg.inv(A)
X = Ai @ B
dX = -Ai @ E @ X
G = -Ai.T @ W @ X.T
want = -Ai.T @ E.T @ G - Ai.T @ W @ dX.T
got = jvp(lambda M: vjp(solve, M)[1](W)[0], (A,), (E,))[1]
assert (got - want).tril().abs().max() > 0.1, (got, want)
