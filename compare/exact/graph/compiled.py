"""A piece's graph made ready for the chain rule: its nodes in groups of one shape, each shape with its
exact local derivatives.

The local derivative of a node is that of its definition (the op's SymPy meaning on its operands'
symbols) by each operand: a small expression, whatever the graph around it. The entries of one op
share a definition up to the names of their operands (`tanh(n@3)`, `tanh(n@4)`, ...), so a group
is (the op call that made them, that shape), written once over template symbols t0, t1, ... in the
order a walk of the definition first meets its operands. SymPy differentiates each shape once
(`Template`, in SymPy's cache: a shape's derivatives depend on nothing else), term by term
(`differentiate._partials`), and the second derivatives, for Hessian-vector products, from the first.

Nothing here knows a formula of torch's: the local derivatives are SymPy's of the op's meaning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import sympy

from .. import differentiate

from ..shapes import tree_shape
from ..sym import release
from .tape import Node, Tape

__all__ = ["Template", "Group", "Compiled", "compile_graph", "template_symbol"]


def template_symbol(j: int) -> sympy.Dummy:
    """The j-th template symbol: the j-th operand of a node, in a definition's shape."""
    while len(_SYMBOLS) <= j:
        _SYMBOLS.append(sympy.Dummy(f"t{len(_SYMBOLS)}", real=True))
    return _SYMBOLS[j]


_SYMBOLS: list = []


@dataclass
class Template:
    """One shape of definition over template symbols: its value and its local derivatives."""

    definition: sympy.Expr
    """The shape, as SymPy holds it (detach() kept: its derivative is 0)."""
    symbols: tuple
    """t0, t1, ...: one per operand."""
    value: sympy.Expr
    """What is evaluated: the definition with detach() read as its argument."""
    first: tuple
    """d definition / d t_j, for each j."""
    _second: tuple | None = field(default=None, repr=False)

    @property
    def second(self) -> tuple:
        """Per j, the nonzero d2 definition / d t_j d t_k as (k, expression): derived when first asked for."""
        if self._second is None:
            wanted, cache = {s: k for k, s in enumerate(self.symbols)}, {}
            self._second = tuple(tuple((wanted[s], d) for s, d in differentiate._partials(p, wanted, cache).items())
                                 for p in self.first)
        return self._second


def _template(definition: sympy.Basic, symbols: tuple, key) -> Template:
    """The Template of a definition whose operands are `symbols` (`key` is its shape, for a caller that
    groups by it)."""
    generic = tuple(template_symbol(j) for j in range(len(symbols)))
    return _derived(definition.xreplace(dict(zip(symbols, generic))), generic)


@sympy.cacheit
def _derived(shape: sympy.Basic, generic: tuple) -> Template:
    """A shape's Template, in SymPy's own cache: a pure function of the shape (`clear_cache()` empties
    it, so a check that starts from a cleared cache derives every shape itself)."""
    wanted = {s: k for k, s in enumerate(generic)}
    partials = differentiate._partials(shape, wanted, {})
    return Template(shape, generic, release(shape), tuple(partials.get(s, sympy.S.Zero) for s in generic))


@dataclass(frozen=True)
class Group:
    """Nodes made by one op call, of one shape: evaluated together."""

    template: Template
    members: np.ndarray
    """Their positions (in `Compiled`'s numbering)."""
    operands: tuple
    """Per template symbol t_j, the position of each member's j-th operand."""


@dataclass(frozen=True)
class Compiled:
    """A piece's graph: inputs at positions 0 .. len(inputs) - 1, then its nodes in tape order."""

    inputs: tuple
    """The input symbols, flattened in input order."""
    size: int
    """Inputs and nodes."""
    groups: tuple
    """In an order where every group comes after the groups its operands belong to."""
    outputs: np.ndarray
    """Per output entry (flattened), its position, or -1 for a constant."""
    constants: dict
    """Output entry (flat index) -> its value, where the entry is a number."""
    shape: tuple
    """The output's shape."""
    nodes: tuple
    """The nodes, in position order (after the inputs)."""


def compile_graph(tape: Tape, output: np.ndarray, symbols: Mapping[str, np.ndarray]) -> Compiled:
    """The part of `tape` that `output` is made of, grouped, each group's shape derived once."""
    inputs = tuple(s for syms in symbols.values() for s in syms.flat)
    needed = sorted(_reachable(tape, output))
    position = {s: k for k, s in enumerate(inputs)}
    position.update({tape.nodes[k]: len(inputs) + i for i, k in enumerate(needed)})
    groups: dict = {}
    for k in needed:
        symbols_k = tape.operands[k]
        key = tree_shape(tape.definitions[k], {s: (_MARK, j) for j, s in enumerate(symbols_k)})
        groups.setdefault((tape.calls[k], key), []).append(k)
    made = []
    for (_, key), members in sorted(groups.items(), key=lambda item: item[1][0]):
        first = members[0]
        template = _template(tape.definitions[first], tape.operands[first], key)
        operands = tuple(np.array([_position(position, tape.operands[k][j]) for k in members], dtype=np.intp)
                         for j in range(len(template.symbols)))
        made.append(Group(template, np.array([position[tape.nodes[k]] for k in members], dtype=np.intp),
                          operands))
    flat = list(output.reshape(-1))
    outputs = np.array([position.get(e, -1) if isinstance(e, sympy.Symbol) else -1 for e in flat], dtype=np.intp)
    constants = {i: e for i, e in enumerate(flat) if outputs[i] < 0}
    return Compiled(inputs, len(position), tuple(made), outputs, constants, tuple(output.shape),
                    tuple(tape.nodes[k] for k in needed))


_MARK = object()


def _position(position: dict, symbol) -> int:
    found = position.get(symbol)
    if found is None:
        raise ValueError(f"{symbol} is neither an input nor a node of the graph")
    return found


def _reachable(tape: Tape, output: np.ndarray) -> set[int]:
    """The tape's nodes (by index) that the output's entries are made of."""
    found: set[int] = set()
    stack = [tape.index[e] for e in output.reshape(-1) if isinstance(e, Node)]
    while stack:
        k = stack.pop()
        if k not in found:
            found.add(k)
            stack.extend(tape.index[s] for s in tape.operands[k] if isinstance(s, Node))
    return found
