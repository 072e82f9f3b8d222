"""Nested jvps of logdet: d²/da00² log det A = -(a11 / det A)² = -0.4096; torch's is 0."""
import torch
from torch.func import jvp

A = torch.tensor([[1.5, -0.5], [0.25, 2.0]], dtype=torch.float64)
E = torch.zeros(2, 2, dtype=torch.float64)
E[0, 0] = 1
second = jvp(lambda X: jvp(torch.logdet, (X,), (E,))[1], (A,), (E,))[1]
assert abs(second.item() - -0.4096) > 0.4, second  # 0 in torch 2.13
