"""Nested jvps of linalg.solve give half the second derivative."""
import torch
from torch.func import jvp

A = torch.tensor([[1.5, -0.5, 0.3], [0.25, 2.0, -0.7], [0.1, 0.4, 1.2]], dtype=torch.float64)
b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
E = torch.zeros(3, 3, dtype=torch.float64)
E[0, 1] = 1.0


def f(M):
    return torch.linalg.solve(M, b).sum()


nested = jvp(lambda M: jvp(f, (M,), (E,))[1], (A,), (E,))[1].item()
# x = A⁻¹ b: along E, dx = -A⁻¹ E x and d²x = 2 A⁻¹ E A⁻¹ E x (by hand), so f'' = sum(2 A⁻¹ E A⁻¹ E x) = 0.0752
inv = torch.linalg.inv(A)
want = (2 * inv @ E @ inv @ E @ inv @ b).sum().item()
assert abs(nested - want) > 0.03, (nested, want)  # torch: 0.0376
