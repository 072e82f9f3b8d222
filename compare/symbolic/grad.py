"""`torch.autograd.grad` inside a case, answered exactly."""
from __future__ import annotations

import numpy as np
import sympy

from ..exact.differentiate import gradient
from ..exact.graph.tape import Node, expand
from ..exact.sym import detach
from .registry import exprs

__all__ = ["symbolic_grad"]


def symbolic_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, *_,
                  **__) -> list[np.ndarray]:
    """The exact derivative of sum(grad_outputs * outputs) by each input (held constant unless create_graph),
    one array of expressions per input. `torch.autograd.grad`'s other options change nothing here."""

    outs = [outputs] if not isinstance(outputs, (tuple, list)) else list(outputs)
    ins = [inputs] if not isinstance(inputs, (tuple, list)) else list(inputs)
    weights = [None] * len(outs) if grad_outputs is None else (
        [grad_outputs] if not isinstance(grad_outputs, (tuple, list)) else list(grad_outputs))
    total = []
    for out, w in zip(outs, weights):
        e = exprs(out)
        if w is None:
            if e.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            total.append(expand(e.reshape(-1)[0]))
        else:
            total.extend(expand(t) for t in (np.broadcast_to(exprs(w), e.shape) * e).flat)
    symbols = {}
    for k, x in enumerate(ins):
        data = exprs(x)
        if not all(isinstance(s, sympy.Symbol) and not isinstance(s, Node) for s in data.flat):
            raise TypeError("torch.autograd.grad is supported symbolically only with respect to the "
                            "case's own inputs")
        symbols[k] = data
    grads = gradient(np.array(sympy.Add(*total), dtype=object), symbols)
    keep = (lambda g: g) if create_graph else np.frompyfunc(detach, 1, 1)
    return [np.asarray(keep(grads[k]) if grads[k].size else grads[k], dtype=object) for k in range(len(ins))]
