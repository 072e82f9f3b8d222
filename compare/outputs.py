"""A function that returns several tensors, as `torch.autograd.gradcheck` takes one (`torch.max(x, 1)`,
`torch.sort`, `torch.native_layer_norm`): checked as the outputs autograd differentiates, laid end
to end in one tensor.

Autograd leaves out what it does not differentiate: integer and boolean outputs (indices, masks)
and floating outputs that torch declares not differentiable (`native_layer_norm`'s mean and rstd:
`requires_grad` is False on them). Which outputs those are is read from one run at the example
point; `out.sum()` of the result is then the sum of every differentiated output's entries, as
`compare.conformance` sums an op_db sample's outputs.
"""
from __future__ import annotations

import functools
from typing import Callable, Mapping

import torch

__all__ = ["differentiated_outputs"]


def differentiated_outputs(fn: Callable, example: Mapping[str, torch.Tensor]) -> tuple[Callable, str]:
    """(`fn`, "") for a function that returns one tensor (or anything else: the check says what); for one
    that returns a tuple or list of tensors, (a function returning the outputs autograd differentiates,
    flattened and concatenated, or the one such output as it is; what the page says of it)."""
    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in example.items()}
    try:
        with torch.enable_grad():
            out = fn(**leaves)
    except Exception:  # the check runs it again and reports the failure where it belongs
        return fn, ""
    if not isinstance(out, (tuple, list)) or not out or not all(isinstance(o, torch.Tensor) for o in out):
        return fn, ""
    keep = [i for i, o in enumerate(out) if (o.dtype.is_floating_point or o.dtype.is_complex) and o.requires_grad]
    if not keep:
        return fn, ""

    @functools.wraps(fn)
    def picked(**inputs):
        outputs = fn(**inputs)
        chosen = [outputs[i] for i in keep]
        return chosen[0] if len(chosen) == 1 else torch.cat([o.reshape(-1) for o in chosen])

    left = [f"{i} ({str(o.dtype).replace('torch.', '')})" for i, o in enumerate(out) if i not in keep]
    return picked, _note(len(out), keep, left)


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
