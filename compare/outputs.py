"""A function that returns several tensors, as `torch.autograd.gradcheck` takes one (`torch.max(x, 1)`,
`torch.sort`, `torch.native_layer_norm`): checked as the outputs autograd differentiates, laid end
to end in one tensor.

Autograd leaves out what it does not differentiate: integer and boolean outputs (indices, masks)
and floating outputs that torch declares not differentiable (`native_layer_norm`'s mean and rstd:
`requires_grad` is False on them). Which outputs those are is read from one run at the example
point, made the first time the function returns several (never for one that returns one tensor:
an extra call can change what it computes, as a TorchScript function's does once its profiling
runs are done); `out.sum()` of the result is then the sum of every differentiated output's
entries, as `compare.conformance` sums an op_db sample's outputs.
"""
from __future__ import annotations

import functools
from typing import Callable, Mapping

import torch

__all__ = ["differentiated_outputs"]


def differentiated_outputs(fn: Callable, example: Mapping[str, torch.Tensor]
                           ) -> tuple[Callable, Callable[[], tuple[Callable, str]]]:
    """(a function that returns what `fn` returns, or, where that is a tuple or list of tensors, the
    outputs autograd differentiates: the one such output as it is, several flattened and concatenated;
    `settled()`, which once the function has run says which to keep using and what the page says:
    `fn` itself and "" where it returned one tensor, so that `torch.compile` compiles `fn`'s own code,
    keyed by its own code object, not one wrapper's shared by every function checked)."""
    found: dict = {}

    @functools.wraps(fn)
    def checked(**inputs):
        out = fn(**inputs)
        if not _several(out):
            return out  # one tensor; or anything else, which the check reports as it is
        if "keep" not in found:
            found.update(_differentiated(fn, example))
        chosen = [out[i] for i in found["keep"]]
        if not chosen:
            return out
        return chosen[0] if len(chosen) == 1 else torch.cat([o.reshape(-1) for o in chosen])

    def settled() -> tuple[Callable, str]:
        return (checked, found["note"]) if found.get("keep") else (fn, "")

    return checked, settled


def _several(out) -> bool:
    return isinstance(out, (tuple, list)) and bool(out) and all(isinstance(o, torch.Tensor) for o in out)


def _differentiated(fn: Callable, example: Mapping[str, torch.Tensor]) -> dict:
    """{"keep": the positions of the outputs autograd differentiates at the example, "note": ...}."""
    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in example.items()}
    with torch.enable_grad():
        out = fn(**leaves)
    keep = [i for i, o in enumerate(out) if (o.dtype.is_floating_point or o.dtype.is_complex) and o.requires_grad]
    left = [f"{i} ({str(o.dtype).replace('torch.', '')})" for i, o in enumerate(out) if i not in keep]
    return {"keep": keep, "note": _note(len(out), keep, left) if keep else ""}


def _note(count: int, keep: list[int], left: list[str]) -> str:
    kept = (f"output {keep[0]}, the output checked" if len(keep) == 1 else
            f"outputs {', '.join(map(str, keep))}, checked as one output (flattened and laid end to end)")
    text = f"the function returns {count} tensors; autograd differentiates {kept}"
    if left:
        one = len(left) == 1
        text += (f"; {'output' if one else 'outputs'} {', '.join(left)} {'is' if one else 'are'} left out of the "
                 f"loss, as autograd leaves {'it' if one else 'them'} out (indices, masks, outputs torch declares "
                 f"not differentiable)")
    return text
