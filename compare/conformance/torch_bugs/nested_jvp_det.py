"""Nested jvps of det: d²det/dA₀₀² is 0 (det is linear in each entry); torch's is 1.28."""
import torch
from torch.func import jvp

A = torch.tensor([[1.5, -0.5], [0.25, 2.0]], dtype=torch.float64)
E = torch.zeros(2, 2, dtype=torch.float64)
E[0, 0] = 1
# det A = a00 a11 - a01 a10: its second derivative along E, twice, is 0
second = jvp(lambda X: jvp(torch.linalg.det, (X,), (E,))[1], (A,), (E,))[1]
assert abs(second.item() - 0.0) > 1.0, second  # 1.28 in torch 2.13
