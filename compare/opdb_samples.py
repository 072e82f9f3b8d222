"""Which of an OpInfo's samples the conformance run tries: its first small ones (`compare.conformance`)."""
from __future__ import annotations

import torch
from torch.utils._pytree import tree_flatten

__all__ = ["tensors", "samples"]


def tensors(sample) -> list[torch.Tensor]:
    return [t for t in tree_flatten((sample.input, sample.args, sample.kwargs))[0] if isinstance(t, torch.Tensor)]


def _small(sample, limit: int) -> bool:
    return all(t.numel() <= limit for t in tensors(sample))


def _entries(sample) -> int:
    return max((t.numel() for t in tensors(sample)), default=0)


def samples(op, settings) -> list:
    """The op's first `samples` samples within `max_entries`; else its first sample cut to that size
    (`_narrowed`); else its smallest samples within `fallback_entries` (the first of equal size first)."""
    torch.manual_seed(settings.seed)
    found, larger = [], []
    for sample in op.sample_inputs("cpu", torch.float64, requires_grad=True):
        if _small(sample, settings.max_entries):
            found.append(sample)
            if len(found) == settings.samples:
                break
        elif not found and _small(sample, settings.fallback_entries):
            larger.append(sample)
    if not found:
        found = _narrowed(op, settings.max_entries)
    if not found:
        found = sorted(larger, key=_entries)[:settings.samples]  # a stable sort: op_db's order among equals
    return found


def _narrowed(op, limit: int) -> list:
    """An elementwise unary op's first sample, cut to its first `limit` entries (its samples are 20 x 20).

    Only for `UnaryUfuncInfo`s: an entry's value does not depend on the
    others there, so fewer entries are the same test on fewer entries.
    """
    from torch.testing._internal.opinfo.core import SampleInput, UnaryUfuncInfo

    if not isinstance(op, UnaryUfuncInfo):
        return []
    for sample in op.sample_inputs("cpu", torch.float64, requires_grad=True):
        x = sample.input
        if not isinstance(x, torch.Tensor) or tensors(sample) != [x]:
            return []
        cut = x.detach().reshape(-1)[:limit].clone().requires_grad_(x.requires_grad)
        return [SampleInput(cut, args=sample.args, kwargs=sample.kwargs)]
    return []
