"""The core set of ATen ops with a SymPy meaning, listed from the table itself: `docs/ops.md`.

    python -m compare.conformance.coverage > docs/ops.md

One row per meaning: every ATen (or prims) op that reaches it, and what it
computes (its SymPy formula for an elementwise op, else its docstring: see `description`).
Every other op reaches these through PyTorch's decompositions.
"""
from __future__ import annotations

import re
from collections import defaultdict

import sympy

__all__ = ["meaning_groups", "description", "MissingDescription", "render_ops", "render_opdb"]

_HOW = {"direct": "direct", "decomposition": "through a decomposition"}


def meaning_groups() -> list[tuple[list[str], object]]:
    """(sorted op names, meaning) per meaning, sorted by first name."""
    from ..symbolic import MEANINGS

    names, impls = defaultdict(list), {}
    for op, impl in MEANINGS.items():
        names[id(impl)].append(str(op))
        impls[id(impl)] = impl
    return sorted(((sorted(set(n)), impls[k]) for k, n in names.items()), key=lambda g: g[0][0])


class MissingDescription(ValueError):
    """A meaning without a description of its own for docs/ops.md to show."""


def description(names: list[str], impl) -> str:
    """What `impl` computes: its SymPy formula for an elementwise op, else its docstring's first paragraph.

    Never its `__name__`: a lambda's is `<lambda>`, and a function a factory makes for several ops
    bears one op's name for all (amin's meaning was once shown as "amax"). A meaning with neither,
    or whose docstring is a bare name, raises MissingDescription naming the ops and where it is written.
    """
    formula = getattr(impl, "formula", None)
    if formula is not None:
        x, y = sympy.symbols("x y", real=True)
        value = formula(x, y) if getattr(impl, "arity", 1) == 2 else formula(x)
        return f"`{value}`".replace("|", "\\|")
    paragraph = (getattr(impl, "__doc__", None) or "").strip().split("\n\n")[0]
    text = " ".join(line.strip() for line in paragraph.splitlines())
    if not text or re.fullmatch(r"<?[\w.]+>?", text):
        from ..symbolic.registry import written_at

        raise MissingDescription(f"{', '.join(names)}: the meaning at {written_at(impl)} has no description "
                                 "(give it a docstring, or `@meaning(..., doc=...)`)")
    return text.replace("|", "\\|")


def render_ops() -> str:
    groups = meaning_groups()
    rows = [f"| {', '.join(f'`{n}`' for n in names)} | {description(names, impl)} |" for names, impl in groups]
    count = sum(len(names) for names, _ in groups)
    return "\n".join([
        "# The core set: ATen ops with a SymPy meaning", "",
        "Generated from the table `compare.symbolic.MEANINGS` by `python -m compare.conformance.coverage`; "
        "`tests/test_coverage.py` keeps this file current. Every other op reaches these through "
        "PyTorch's own decompositions (`torch._decomp`, `torch._refs`, composite kernels); an op that "
        "reaches none raises `UnsupportedOp` naming the ATen op and the line of the case.", "",
        f"{count} ops (packets and overloads), {len(rows)} meanings.", "",
        "| ATen ops | computes |", "|---|---|", *rows, "", *render_opdb()])


def render_opdb() -> list[str]:
    """Every op of PyTorch's op_db, as the committed conformance record (docs/opdb.json) saw it."""
    from .record import EXPECTED, TORCH_ERRORS, counts, load

    results = load(EXPECTED)
    if not results:
        return []
    c = counts(results)
    rows = []
    for r in sorted(results, key=lambda r: r.name):
        if r.status == "runs":
            how = _HOW[r.route]
        elif r.status == "unsupported":
            how = f"not supported ({r.detail})"
        elif r.status == "skipped":
            how = "not checked (no small sample)"
        else:
            how = f"{r.status}: {r.detail}" + (f" ({TORCH_ERRORS[r.name]})" if r.name in TORCH_ERRORS else "")
        rows.append(f"| `{r.name}` | {how.replace('|', chr(92) + '|')} |")
    return ["## Every op of PyTorch's operator database", "",
            "From `docs/opdb.json`, written by `python -m compare.conformance --write`: each OpInfo of "
            "`torch.testing._internal.common_methods_invocations.op_db` that supports autograd in float64 "
            "was run on its first small float64 samples (at most 64 entries a tensor; an op with none, on its "
            "smallest up to 625), on real and on symbolic tensors, and its forward "
            "value (a complex one part by part) and the gradient of its outputs' sum (of a complex "
            "output's real and imaginary parts, weighted) compared with autograd's. *direct*: every ATen op "
            "it reaches has a SymPy meaning above; *through a decomposition*: some reach one only through "
            "PyTorch's decompositions; *not supported*: the ATen op that has no meaning.", "",
            f"{len(results)} ops: " + ", ".join(f"{n} {s}" for s, n in c.items()) + ".", "",
            "| op | how |", "|---|---|", *rows, ""]


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_ops())
