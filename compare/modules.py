"""An `nn.Module` as a function of its inputs and of its trainable parameters.

    compare.check(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double(), (x,))

The function checked is `module(x)` as a function of `x` (its floating
inputs) and of every parameter that requires grad, each named as
`named_parameters()` names it (`0.weight`, `encoder.layer1.bias`). Buffers
(a batch norm's running statistics) and frozen parameters
(`requires_grad=False`) are constants; each call updates its own copies of
the buffers (`_buffers`). The call goes through
`torch.func.functional_call`, which puts the given tensors (real ones for
autograd, symbolic ones for SymPy) in place of the parameters for that call
only: the module itself is never changed.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

import torch

from .locate import source_location, user_file, user_site

__all__ = ["is_module", "trainable", "module_function", "module_location"]


def is_module(obj: Any) -> bool:
    return isinstance(obj, torch.nn.Module)


def trainable(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters autograd would differentiate: name -> a detached copy of its value."""
    return {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}


def module_function(module: torch.nn.Module, inputs: Mapping[str, Any],
                    taken: tuple[bool, ...] | None = None) -> tuple[Callable, dict[str, torch.Tensor]]:
    """(function of keyword inputs, its inputs by name): the module's inputs, then its parameters.

    `inputs` are the forward's arguments by name, in order. Where `taken` is
    given, an argument not taken is a constant, passed unchanged; otherwise
    every argument is differentiated. A parameter named like an input would
    make the two indistinguishable and is refused.
    """
    names = list(inputs)
    taken = tuple(taken) if taken is not None else (True,) * len(names)
    params = trainable(module)
    clash = sorted(set(params) & {n for n, t in zip(names, taken) if t})
    if clash:
        raise ValueError(f"parameter {clash[0]!r} has the name of an input of {type(module).__name__}.forward")

    def call(**given):
        args = tuple(given[n] if t else inputs[n] for n, t in zip(names, taken))
        tensors = {n: given[n] for n in params}
        tensors.update(_buffers(module, symbolic=any(hasattr(v, "exprs") for v in given.values())))
        return torch.func.functional_call(module, tensors, args)

    differentiated = {n: v for (n, v), t in zip(inputs.items(), taken) if t}
    differentiated.update(params)
    call.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY)
                                            for n in differentiated if n.isidentifier()]
                                           + [inspect.Parameter("parameters", inspect.Parameter.VAR_KEYWORD)])
    call.__name__ = call.__qualname__ = type(module).__name__
    call.__wrapped__ = type(module).forward  # its source is the forward's
    call.__compare_parameters__ = tuple(params)  # so that messages say "parameter '0.weight'"
    return call, differentiated


def _buffers(module: torch.nn.Module, *, symbolic: bool) -> dict:
    """A fresh copy of each buffer for one call: constants that the call may update in place.

    A batch norm in training updates its running statistics (and its count
    of batches) in place. Each call gets copies, so every call, real or
    symbolic, starts from the module's own state and the module is never
    changed. In a symbolic call a floating buffer is a constant symbolic
    tensor, so that the write of a symbolic statistic lands in it (the
    statistics feed no output of this call; a later call would read them).
    """
    from .symbolic import SymTensor
    from .symbolic.registry import exprs

    out = {}
    for name, b in module.named_buffers():
        if b is None:
            continue
        out[name] = SymTensor(exprs(b).copy(), b.dtype) if symbolic and b.dtype.is_floating_point else b.detach().clone()
    return out


def module_location(module: torch.nn.Module) -> tuple[str, int]:
    """(file, line) of the module's class where the user wrote it; for a class of torch's own
    (`nn.Sequential`, `nn.Linear`), the user's line that asked for the check (`compare.check(...)`,
    `case(...)(nn.Sequential(...))`): an error inside it is then located there, not in torch."""
    cls = type(module)
    try:
        file, line = source_location(cls)
    except (TypeError, OSError):  # a class defined in a notebook cell: its forward knows where it is
        code = getattr(cls.forward, "__code__", None)
        file, line = (code.co_filename, code.co_firstlineno) if code else ("<unknown>", 0)
    return (file, line) if user_file(file) is not None else user_site()
