"""Forward over forward and forward over reverse through cholesky_inverse are O(1) off along the lower triangle."""
import torch
from torch.func import jvp, vjp

L = torch.tensor([[1.0, 0, 0], [0.5, 1, 0], [0.3, -0.7, 1]], dtype=torch.float64)
T = torch.zeros(3, 3, dtype=torch.float64)
T[1, 0] = 1  # inside the lower triangle, which cholesky_inverse reads
G = torch.tensor([[1.0, 0.5, -1], [0.2, 1, 0.3], [-0.4, 0.6, 1]], dtype=torch.float64)
# C = A⁻¹ with A = L Lᵀ: dA = T Lᵀ + L Tᵀ, d²A = 2 T Tᵀ, so d²C = 2 C dA C dA C - 2 C T Tᵀ C
C = torch.linalg.inv(L @ L.T)
dA = T @ L.T + L @ T.T
want = 2 * C @ dA @ C @ dA @ C - 2 * C @ T @ T.T @ C
nested = jvp(lambda X: jvp(torch.cholesky_inverse, (X,), (T,))[1], (L,), (T,))[1]
assert (nested - want).abs().max() > 1.0, (nested, want)  # 11.8 off


def by_hand(X):  # <G, dC> = -<G, C dA C>, so the vjp is -(C Gᵀ C + C G C) X (torch's vjp gives exactly this)
    Ci = torch.linalg.inv(X @ X.T)
    return -(Ci @ G.T @ Ci + Ci @ G @ Ci) @ X


assert torch.equal(vjp(torch.cholesky_inverse, L)[1](G)[0], by_hand(L))
want = jvp(by_hand, (L,), (T,))[1]  # through linalg.inv and matmul only
got = jvp(lambda X: vjp(torch.cholesky_inverse, X)[1](G)[0], (L,), (T,))[1]
assert (got - want).abs().max() > 1.0, (got, want)  # 8.3 off
