"""The table of SymPy meanings of ATen (and prims) ops, and what every meaning needs.

A meaning takes the op's arguments as torch passes them to
`__torch_dispatch__` (symbolic tensors, real tensors, numbers, lists) and
returns an object array of SymPy expressions, or a tuple of them for an op
with several outputs. It never builds a tensor: the dispatcher takes shape
and dtype from torch's own meta kernel and wraps the entries. So the table
holds mathematics only, and an op with no entry reaches the table through
PyTorch's decompositions instead.

Branches met inside a meaning (a symbolic boolean mask, a data-dependent
index) are decided by `decide`, which asks the path explorer of the run.
"""
from __future__ import annotations

import contextvars
from typing import Any, Callable

import numpy as np
import sympy
import torch

from ..exact.graph.tape import Node, expand
from ..exact.sym import as_expr, exact
from .shared import note_decision
from .sites import enclosing_torch_function, user_site

__all__ = ["MEANINGS", "meaning", "DuplicateMeaning", "prim", "UnsupportedOp", "NeedsValue", "BRANCH", "exprs",
           "decide", "unary", "binary", "ufunc", "RECORDING", "written_at"]

MEANINGS: dict[Any, Callable] = {}
"""ATen OpOverloadPacket or OpOverload -> meaning. An overload's own entry wins over its packet's."""

BRANCH: contextvars.ContextVar = contextvars.ContextVar("compare_branch")
"""The decider of the current symbolic run: `decide(condition, site) -> bool`."""


class UnsupportedOp(TypeError):
    """An op that the symbolic side has no meaning for, directly or through a decomposition."""

    def __init__(self, name: str):
        super().__init__(f"op {name} is not supported on symbolic tensors")
        self.op = name


class NeedsValue(TypeError):
    """A symbolic tensor was asked for a concrete Python number."""


class DuplicateMeaning(ValueError):
    """An op given a second meaning: the second would silently replace the first."""


def meaning(*ops, doc: str | None = None) -> Callable:
    """Register a meaning under every op (packet or overload) given; an op already registered is an error.

    What docs/ops.md says the meaning computes is an elementwise op's formula, else its docstring's
    first paragraph; `doc` gives that description to a meaning that has no docstring of its own (a
    lambda, or a function a factory makes for several ops).
    """

    def register(impl: Callable) -> Callable:
        if doc is not None:
            impl.__doc__ = doc
        for op in ops:
            if op is None:  # a prims op this torch lacks
                continue
            if op in MEANINGS:
                raise DuplicateMeaning(f"{op} has two meanings: {written_at(MEANINGS[op])} and {written_at(impl)}")
            MEANINGS[op] = impl
        return impl

    return register


def written_at(impl: Callable) -> str:
    """Where a meaning is written: `file:line (name)`."""
    from ..errors import display_path

    code = getattr(impl, "__code__", None)
    where = f"{display_path(code.co_filename)}:{code.co_firstlineno}" if code else getattr(impl, "__module__", "?")
    return f"{where} ({getattr(impl, '__qualname__', impl)})"


def prim(name: str):
    """The prims op `name`, or None where this torch has none (`meaning` skips it)."""
    return getattr(torch.ops.prims, name, None)


def exprs(value) -> np.ndarray:
    """The entries of a symbolic tensor, or of a real tensor or number as exact SymPy numbers."""
    found = getattr(value, "exprs", None)
    if found is not None:
        return found
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        out = np.empty(tuple(t.shape), dtype=object)
        if t.dtype == torch.bool:
            out.reshape(-1)[:] = [sympy.true if v else sympy.false for v in t.reshape(-1).tolist()]
        else:
            out.reshape(-1)[:] = [exact(v) for v in t.reshape(-1).tolist()]
        return out
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    if isinstance(value, (list, tuple)):
        return np.array([exprs(v) for v in value], dtype=object)
    if isinstance(value, bool):
        return np.array(sympy.true if value else sympy.false, dtype=object)
    return np.array(as_expr(value) if isinstance(value, sympy.Basic) else exact(value), dtype=object)


def ufunc(f: Callable, arity: int) -> Callable:
    """`f` applied entry by entry (with NumPy broadcasting) to object arrays."""
    u = np.frompyfunc(f, arity, 1)

    def apply(*arrays):
        out = u(*arrays)
        return out if isinstance(out, np.ndarray) else np.array(out, dtype=object)

    return apply


def unary(f: Callable) -> Callable:
    """The meaning of an elementwise op of one tensor."""
    u = ufunc(_on_symbols(f) if isinstance(f, type) and issubclass(f, sympy.Function) else f, 1)

    def impl(x, *rest, **kwargs):
        return u(exprs(x))

    impl.formula, impl.arity = f, 1  # what docs/ops.md shows
    return impl


def _on_symbols(f: Callable) -> Callable:
    """The SymPy function `f`, decided once per kind of symbol where it stays a node of the symbol alone.

    On a bare symbol, a SymPy function's `eval` can see nothing but the
    symbol's class and assumptions: `tanh(x_7)` evaluates as `tanh(g)` does
    for a symbol g of the same kind. Where `f(g)` stays an unevaluated node
    F(g), every symbol of that kind gets F(symbol) without its `eval`
    (`tanh.eval` asks `as_coefficient(I)`, about 0.1 ms an entry: 1 s for
    10,000 entries). Any other result (`1/sqrt(g)`, an evaluated value)
    leaves `f` to run on each entry.
    """
    known: dict = {}

    def on(v):
        if type(v) is not sympy.Symbol and type(v) is not Node:
            return f(v)
        kind = tuple(sorted(v.assumptions0.items()))
        stays = known.get(kind)
        if stays is None:
            g = sympy.Symbol("_generic", **v.assumptions0)  # the class and assumptions of v, nothing else
            r = f(g)
            stays = known[kind] = type(r) is f and r.args == (g,)
        return f(v, evaluate=False) if stays else f(v)

    return on


def binary(f: Callable) -> Callable:
    """The meaning of an elementwise op of two operands (tensors or numbers)."""
    u = ufunc(f, 2)

    def impl(a, b, *rest, **kwargs):
        return u(exprs(a), exprs(b))

    impl.formula, impl.arity = f, 2
    return impl


def decide(condition: sympy.Basic, op: str | None = None) -> bool:
    """A Python bool for a symbolic condition: a number decides itself, else the path explorer does.

    `op` names the op when the choice is a selection inside it (a sort's
    comparison), not a Python branch of the case (`bool()`, `if`); a branch
    inside a torch function's own Python code is named by that function.
    """
    condition = expand(as_expr(condition))  # in graph mode, over the inputs: the explorer decides it there
    recording = RECORDING.get()
    if recording is not None:  # a condition on recorded heads is the condition on what they stand for
        condition = recording.release(condition)
    if condition is sympy.true or condition is sympy.false:
        return condition is sympy.true
    if isinstance(condition, sympy.Expr):  # a number as a condition means `!= 0`
        if condition.is_number:
            return bool(condition != 0)
        condition = sympy.Ne(condition, 0)
    note_decision()
    decider = BRANCH.get(None)
    if decider is None:
        raise NeedsValue("a branch on a symbolic value outside a symbolic run")
    site = user_site()
    op = op or enclosing_torch_function()
    taken = decider(condition, site if op is None else tuple(site) + (op,))
    if recording is not None:
        recording.note(condition, taken)
    return taken


# -- kink sites ------------------------------------------------------------------------------------
RECORDING: contextvars.ContextVar = contextvars.ContextVar("compare_kink_sites", default=None)
"""While `heads.recording()`: the `heads.Recording` of the run (the sites it records, the decisions it makes)."""
