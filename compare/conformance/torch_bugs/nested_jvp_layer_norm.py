"""Nested jvps of layer_norm with a weight give wrong mixed second derivatives, not even symmetric."""
import mpmath
import torch
from torch.func import jvp

x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
w = [1.5, 0.5, -1.0]
e0, e1, _ = torch.eye(3, dtype=torch.float64)


def f(v):
    return torch.nn.functional.layer_norm(v, (3,), torch.tensor(w, dtype=torch.float64), None, 0.5).sum()


def mixed(a, b):  # d/da of (d/db f), by nested jvps
    return jvp(lambda y: jvp(f, (y,), (b,))[1], (x,), (a,))[1].item()


# f is smooth, so its mixed partials are equal (Schwarz); mpmath differentiates f = Σ w_i (x_i - m) / sqrt(v + 0.5)
mpmath.mp.dps = 40


def exact(a, b, c):
    xs = [a, b, c]
    m = sum(xs) / 3
    v = sum((t - m) ** 2 for t in xs) / 3
    return sum(wi * (t - m) / mpmath.sqrt(v + mpmath.mpf("0.5")) for wi, t in zip(w, xs))


want = float(mpmath.diff(exact, (0.5, -1.0, 2.0), (1, 1, 0)))  # 0.1179; torch: 0.1768 and -0.0884
assert abs(mixed(e0, e1) - want) > 0.05 and abs(mixed(e1, e0) - want) > 0.2, (mixed(e0, e1), mixed(e1, e0), want)
