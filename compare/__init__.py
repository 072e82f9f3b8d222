"""compare: check PyTorch's autograd against exact derivatives from SymPy.

Write a function once, in plain PyTorch, and declare it a case:

    import torch
    from compare import case

    @case(inputs={"x": torch.arange(4.0)}, expect=lambda x: 4 * x)
    def two_dot(x):
        return 2 * torch.dot(x, x)

`python -m compare all` checks every case under `cases/`.
"""
from .case import Case, case

__all__ = ["case", "Case"]
__version__ = "0.1.0"
