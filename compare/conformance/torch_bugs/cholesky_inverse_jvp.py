"""cholesky_inverse's jvp along a lower-triangle tangent is O(1) off: dC = -C (T Lᵀ + L Tᵀ) C by hand."""
import torch
from torch.func import jvp
L = torch.tensor([[1.0, 0, 0], [0.5, 1, 0], [0.3, -0.7, 1]], dtype=torch.float64)
T = torch.zeros(3, 3, dtype=torch.float64)
T[1, 0] = 1  # a tangent inside the lower triangle, which cholesky_inverse reads
# C = (L Lᵀ)⁻¹, so dC = -C (T Lᵀ + L Tᵀ) C
C = torch.linalg.inv(L @ L.T)
want = -C @ (T @ L.T + L @ T.T) @ C
got = jvp(torch.cholesky_inverse, (L,), (T,))[1]
assert (got - want).abs().max() > 1.0, (got, want)  # off by 1.28 where the entries reach 1.91
