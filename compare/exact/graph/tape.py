"""The traced graph of a symbolic run, and when a case is run on it.

A symbolic run builds each op's output as SymPy expressions of the inputs. Through a recurrent
or attention block these swell into trees (an LSTM of 3 steps: output entries of 6,000
operations, over fewer than 300 distinct subexpressions), and SymPy's construction of a `Max`
or of a power of a long sum then asks questions of the whole tree (minutes). In graph mode
(`graph(tape)`) each entry an op outputs at depth 0 (an op autograd runs, see
`symbolic.tensor.dispatch`) becomes a fresh symbol, a `Node`, whose definition (the op's
meaning applied to its operands' nodes) goes on the `Tape`. The run's output is then a few
nodes, and the tape is the graph autograd itself records, each node with its exact meaning.

Nodes are hash-consed by (op, definition): runs that repeat a computation (the explorer's
runs along sibling paths, the float64 replay) get the same nodes, so two runs compute the
same function where their outputs are the same nodes. Where a branch must be decided, its
condition is expanded back into the inputs' symbols (`Tape.expand`) for the explorer.

When a case uses the graph is decided here alone (`swollen`): it is explored as a tree first
(the path whose pages and values every small case keeps), under a `Watch` that measures each
op's output entries as trees; an entry of more than TREE_LIMIT operations that is also more
than SWELL times its distinct subexpressions is a swollen tree, and the case is explored
again, on the graph (`TreeTooLarge`). Size alone would not do: SymPy builds a flat sum of
10,000 squares quickly and differentiates it term by term; what costs minutes is a tree that
repeats its subtrees (SSIM's local means in its numerator and denominator, an LSTM's state in
every gate), where building a power or a `Max` asks SymPy's assumptions about the whole.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import sympy

__all__ = ["Node", "Call", "Tape", "Watch", "TreeTooLarge", "TREE_LIMIT", "SWELL", "swollen", "graph", "watching",
           "active_tape", "record", "expand", "depends_on", "operands"]

TREE_LIMIT = 400
"""Operations in one output entry's tree above which the tree may be swollen. The largest entry of any
case under cases/ has 348 (layer_norm); SSIM's numerator on an 8x8 image, 412 and growing to 990 in
its denominator, where SymPy's power of it takes minutes; an LSTM of 3 steps, 5,823."""

SWELL = 2
"""How many times its distinct subexpressions a tree must have to be swollen: the sharing the graph
keeps and the tree repeats. A flat sum (`2 * dot(x, x)` at n = 10,000: 50,000 operations, 40,000
distinct) is no swollen tree; it stays one, where it is cheap."""


def swollen(tree: int, distinct: int) -> bool:
    """Is an entry of `tree` operations, `distinct` of them different, a swollen tree?"""
    return tree > TREE_LIMIT and tree > SWELL * distinct


class Node(sympy.Symbol):
    """One entry of one op's output, standing for its definition on the tape that made it."""


@dataclass(frozen=True)
class Call:
    """One op answered at depth 0: the op autograd runs there."""

    op: object
    """The ATen op (an OpOverload), or a name where the dispatcher made the entries itself."""
    params: tuple
    """Its arguments other than tensors (a dim, a bound, a slope), as given."""


class TreeTooLarge(BaseException):
    """A tree-mode run met a swollen tree: the case is to be run on the graph.

    A BaseException, as `CaseTimeout` is, so that a case's own `except Exception` does not hold it."""


class Tape:
    """The nodes of one case's symbolic runs, in the order they were made (operands first)."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.definitions: list[sympy.Basic] = []
        self.operands: list[tuple] = []
        """Per node: the symbols of its definition (nodes and inputs), in order of first occurrence."""
        self.calls: list[int] = []
        """Per node: the index of the `Call` that made it."""
        self.ops: list[Call] = []
        self.index: dict = {}
        self._known: dict = {}
        self._expanded: dict = {}
        self._sizes: dict = {}
        self._inputs: dict = {}

    def record(self, call: Call, values: np.ndarray) -> np.ndarray | None:
        """`values` with each entry that is more than a symbol or a number replaced by its node; None
        where none is (a view's entries, a constant)."""
        flat = values.reshape(-1)
        if not any(_compound(e) for e in flat):
            return None
        number = len(self.ops)
        self.ops.append(call)
        out = np.empty(values.shape, dtype=object)
        out.reshape(-1)[:] = [self._node(call.op, e, number) if _compound(e) else e for e in flat]
        return out

    def _node(self, op, definition: sympy.Basic, call: int) -> Node:
        key = (op, definition)
        found = self._known.get(key)
        if found is None:
            k = len(self.nodes)
            found = self._known[key] = Node(f"n@{k}", real=True)
            self.nodes.append(found)
            self.definitions.append(definition)
            self.operands.append(operands(definition))
            self.calls.append(call)
            self.index[found] = k
        return found

    def definition(self, node: Node) -> sympy.Basic:
        return self.definitions[self.index[node]]

    def expand(self, expr: sympy.Basic) -> sympy.Basic:
        """`expr` with every node replaced by its definition, down to the inputs: the tree."""
        wanted = [s for s in operands(expr) if isinstance(s, Node)]
        if not wanted:
            return expr
        for k in sorted(self._below(wanted, self._expanded)):
            inner = {s: self._expanded[self.index[s]] for s in self.operands[k] if isinstance(s, Node)}
            self._expanded[k] = self.definitions[k].xreplace(inner)
        return expr.xreplace({s: self._expanded[self.index[s]] for s in wanted})

    def inputs_of(self, node: Node) -> frozenset:
        """The input symbols a node depends on."""
        for k in sorted(self._below([node], self._inputs)):
            self._inputs[k] = frozenset().union(*(self._inputs[self.index[s]] if isinstance(s, Node) else {s}
                                                  for s in self.operands[k]))
        return self._inputs[self.index[node]]

    def tree_size(self, expr: sympy.Basic) -> int:
        """Operations in `expr` written out as a tree over the inputs, without writing it."""
        for k in sorted(self._below([s for s in operands(expr) if isinstance(s, Node)], self._sizes)):
            self._sizes[k] = _size(self.definitions[k], {}, self._leaf)
        return _size(expr, {}, self._leaf)

    def _leaf(self, e) -> int:
        k = self.index.get(e) if isinstance(e, Node) else None
        return 1 if k is None else self._sizes[k]

    def _below(self, nodes, done: dict) -> set[int]:
        """The nodes (by index) that `nodes` are made of, themselves included, but for those in `done` (a
        memo keyed by index: everything below them is in it too)."""
        found: set[int] = set()
        stack = [self.index[n] for n in nodes]
        while stack:
            k = stack.pop()
            if k not in found and k not in done:
                found.add(k)
                stack.extend(self.index[s] for s in self.operands[k] if isinstance(s, Node))
        return found


def _compound(e) -> bool:
    """An entry that becomes a node: an expression of symbols, other than a symbol (a number stays a number,
    a condition a condition)."""
    return isinstance(e, sympy.Expr) and not e.is_Atom and bool(e.free_symbols)


def operands(expr: sympy.Basic) -> tuple:
    """The symbols of `expr` in the order a preorder walk first meets them."""
    seen: dict = {}
    stack = [expr]
    while stack:
        e = stack.pop()
        if e.is_Symbol:
            seen.setdefault(e, None)
        elif e.args:
            stack.extend(reversed(e.args))
    return tuple(seen)


def _size(expr: sympy.Basic, memo: dict, leaf) -> int:
    """Tree size of `expr`: 1 + its arguments' for a compound, `leaf(e)` for an atom; the compound
    subexpressions' sizes are kept in `memo`."""
    stack = [(expr, False)]
    while stack:
        e, done = stack.pop()
        if e in memo:
            continue
        if not e.args:
            memo[e] = leaf(e)
        elif done:
            memo[e] = 1 + sum(memo[a] for a in e.args)
        else:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in memo)
    return memo[expr]


class Watch:
    """Measures a tree-mode run's entries as trees; raises TreeTooLarge at the first swollen one."""

    def __init__(self):
        self.sizes: dict = {}
        """Every subexpression measured so far -> its tree size."""

    def see(self, values: np.ndarray) -> None:
        for e in values.reshape(-1):
            if isinstance(e, sympy.Basic) and e.args and e not in self.sizes:
                size = _size(e, self.sizes, _one)
                if size > TREE_LIMIT:  # only then is it worth counting its distinct parts
                    distinct = _distinct(e)
                    if swollen(size, distinct):
                        raise TreeTooLarge(f"an entry of {size} operations, {distinct} of them distinct")


def _one(e) -> int:
    return 1


def _distinct(expr: sympy.Basic) -> int:
    """How many different subexpressions `expr` has (its size as a graph)."""
    seen: set = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return len(seen)


_MODE: contextvars.ContextVar = contextvars.ContextVar("compare_graph_mode", default=None)
"""The current symbolic runs' Tape (graph mode), Watch (tree mode, measured) or None."""


@contextlib.contextmanager
def graph(tape: Tape | None) -> Iterator[None]:
    """Symbolic runs inside record their ops on `tape` (nothing changes for None)."""
    if tape is None:
        yield
        return
    token = _MODE.set(tape)
    try:
        yield
    finally:
        _MODE.reset(token)


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """Symbolic runs inside are measured as trees, and stop with TreeTooLarge at a swollen one."""
    watch = Watch()
    token = _MODE.set(watch)
    try:
        yield watch
    finally:
        _MODE.reset(token)


def active_tape() -> Tape | None:
    mode = _MODE.get()
    return mode if isinstance(mode, Tape) else None


def record(call: Call, values: np.ndarray) -> np.ndarray | None:
    """An op's output entries as the current mode keeps them: nodes on the tape (a new array; None where
    nothing changed), or measured as trees (None), or as they are (None)."""
    mode = _MODE.get()
    if mode is None:
        return None
    if isinstance(mode, Watch):
        mode.see(values)
        return None
    return mode.record(call, values)


def expand(expr: sympy.Basic) -> sympy.Basic:
    """`expr` over the inputs' symbols: its nodes replaced by their definitions (as it is outside graph mode)."""
    tape = active_tape()
    return expr if tape is None else tape.expand(expr)


def depends_on(symbols) -> frozenset:
    """`symbols` with each node replaced by the input symbols it depends on (as they are outside graph mode)."""
    tape = active_tape()
    if tape is None:
        return frozenset(symbols)
    return frozenset().union(*(tape.inputs_of(s) if isinstance(s, Node) else {s} for s in symbols))
