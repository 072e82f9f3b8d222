"""compare: check PyTorch's autograd against exact derivatives from SymPy.

Write a function once, in plain PyTorch, and declare it a case:

    import torch
    from compare import case

    @case(inputs={"x": torch.arange(4.0)}, expect=lambda x: 4 * x)
    def two_dot(x):
        return 2 * torch.dot(x, x)

`python -m compare all` checks every case under `cases/`. From a test,
`compare.assert_agrees(fn, (x,))` replaces `torch.autograd.gradcheck(fn, (x,))`.
"""
from .case import Case, case
from .errors import CannotCheck

__all__ = ["case", "Case", "check", "assert_agrees", "CannotCheck"]
__version__ = "0.1.0"

_LAZY = {"check": "api", "assert_agrees": "api"}


def __getattr__(name: str):
    # `import compare` stays light (no torch, no SymPy) until a check is asked for.
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
