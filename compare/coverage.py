"""The supported ops, listed from the dispatch table itself: `docs/ops.md`.

    python -m compare.coverage > docs/ops.md

One row per implementation: every torch callable that reaches it, and what
it computes (its SymPy formula for an elementwise op, else its docstring).
"""
from __future__ import annotations

from collections import defaultdict

import sympy

from .symtensor import OPS, op_name

__all__ = ["op_groups", "qualified_names", "render_ops"]


def qualified_names() -> dict[int, str]:
    """id(torch callable) -> its public dotted name (`torch.Tensor.__eq__`, not `__eq__`)."""
    import torch
    import torch.nn.functional as F

    found: dict[int, str] = {}
    for prefix, owner in (("torch.autograd", torch.autograd), ("torch.linalg", torch.linalg),
                          ("torch.special", torch.special), ("torch.nn.functional", F),
                          ("torch.Tensor", torch.Tensor), ("torch", torch)):
        for attr in dir(owner):
            value = getattr(owner, attr, None)
            if value is not None and callable(value):
                found[id(value)] = f"{prefix}.{attr}"
    return found


def op_groups() -> list[tuple[list[str], object]]:
    """(sorted torch names, implementation) per implementation, sorted by first name."""
    qualified = qualified_names()
    names = defaultdict(list)
    impls = {}
    for func, impl in OPS.items():
        names[id(impl)].append(qualified.get(id(func)) or op_name(func))
        impls[id(impl)] = impl
    return sorted(((sorted(set(n)), impls[k]) for k, n in names.items()), key=lambda g: g[0][0])


def _meaning(impl) -> str:
    formula = getattr(impl, "formula", None)
    if formula is not None:
        x, y = sympy.symbols("x y", real=True)
        value = formula(x, y) if getattr(impl, "arity", 1) == 2 else formula(x)
        return f"`{value}`".replace("|", "\\|")
    doc = (getattr(impl, "__doc__", None) or "").strip()
    if doc and getattr(impl, "__name__", "") != "<lambda>":
        return doc.splitlines()[0].replace("|", "\\|")
    return "the same entries, another dtype or shape information" if getattr(impl, "__name__", "") == "<lambda>" \
        else getattr(impl, "__name__", "").strip("_").replace("_", " ")


def render_ops() -> str:
    rows = [f"| {', '.join(f'`{n}`' for n in names)} | {_meaning(impl)} |" for names, impl in op_groups()]
    count = sum(len(names) for names, _ in op_groups())
    return "\n".join([
        "# Supported ops", "",
        "Generated from the dispatch table `compare.symtensor.OPS` by `python -m compare.coverage`; "
        "`tests/test_ops_coverage.py` keeps this file current and checks each op's SymPy value against "
        "torch's.", "",
        f"{count} torch callables, {len(rows)} implementations. An op missing here raises "
        "`UnsupportedOp` naming it and the line of the case.", "",
        "| torch callables | computes |", "|---|---|", *rows, ""])


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_ops())
