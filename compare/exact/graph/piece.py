"""A piece derived on the graph: what the exact stage hands on when a case runs in graph mode.

Its derivatives are not written out as expressions: a tree of thousands of operations per entry
is read by nobody and costs minutes to derive. The piece keeps its compiled graph instead
(`GraphPiece`), from which `values.graph_values` gives the exact values at any point; its
output, gradient and Jacobian are arrays of `OnGraph` markers of the right shape, which a page
shows by their shape and size (`summary`), and which no code can mistake for an expression
(SymPy refuses them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import sympy

from .compiled import Compiled, compile_graph
from .tape import Call, Tape

__all__ = ["OnGraph", "GraphPiece", "graph_piece", "markers", "summary", "kept_on_graph",
           "ON_GRAPH_HESSIAN"]


@dataclass(frozen=True)
class OnGraph:
    """One entry of an exact result kept on the traced graph: values at points, no expression."""

    what: str
    """"output" or the input it is a derivative by."""
    piece: "GraphPiece" = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"<{self.what} on the graph>"


@dataclass(frozen=True, eq=False)
class GraphPiece:
    """A piece's output as the graph that computes it."""

    compiled: Compiled
    tree: int
    """Operations in the output written out as one tree over the inputs (all entries together)."""

    @property
    def nodes(self) -> int:
        return len(self.compiled.nodes)


def graph_piece(tape: Tape, output: np.ndarray, symbols: Mapping[str, np.ndarray]) -> GraphPiece:
    """The graph of `output` on `tape`. An entry that is still an expression (a function returning
    what `torch.autograd.grad` gave it) becomes a node first, so every entry is a node or a number."""
    made = tape.record(Call("output", ()), np.asarray(output, dtype=object))
    output = output if made is None else made
    return GraphPiece(compile_graph(tape, output, symbols), sum(tape.tree_size(e) for e in output.reshape(-1)
                                                                if isinstance(e, sympy.Basic)))


def markers(shape: tuple, what: str, piece: GraphPiece) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [OnGraph(what, piece)] * out.size
    return out


def kept_on_graph(values: np.ndarray) -> GraphPiece | None:
    """The graph piece whose markers `values` holds, or None for an array of expressions."""
    first = values.reshape(-1)[0] if values.size else None
    return first.piece if isinstance(first, OnGraph) else None


def summary(values: np.ndarray) -> str | None:
    """How a page shows an array of markers: its shape, and how large a tree it would be (None for
    an array of expressions)."""
    piece = kept_on_graph(values)
    if piece is None:
        return None
    shape = "x".join(map(str, values.shape)) or "one"
    return (f"{shape} {'entry' if values.size == 1 else 'entries'} on the traced graph of {piece.nodes} "
            f"nodes, not written out (as trees over the inputs, the output alone would take {piece.tree} "
            f"operations); the exact values are in the points table")


ON_GRAPH_HESSIAN = ("the case's expressions swell into trees, so its derivatives are taken on the traced graph "
                    "of its ops (the chain rule on each op's exact local derivatives, forward over reverse for "
                    "the Hessian) and not written out")
"""What the page says of second derivatives taken on the graph."""
