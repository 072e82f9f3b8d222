"""Autograd's answer in each mode at one point, in float64: what `judge.modes` holds to the exact values
(handed to it as `mode_numbers.ModeNumbers`).

    forward(f, tangents)             J t for each row t: one `vmap` of `torch.func.jvp`
    forward_one(fn, point, t)        J t by dual numbers (`torch.autograd.forward_ad`), no vmap
    batched_vjp(f, cotangents)       wᵀ J for each row w: one backward pass, `is_grads_batched`
    rev_over_rev(f, w, rows)         (H_w v, J v) for each row v: backward passes through the backward
    fwd_over_rev(f, w, tangents)     H_w t + Jᵀ s for each row (t, s): one `vmap` of a jvp of a vjp
    fwd_over_fwd(f, w, pairs)        wᵀ D²f[u, v] for each pair (u, v): one `vmap` of nested jvps
    undefined_backward(f)            the backward given undefined incoming gradients

Each takes the case as a function `f` of the flat float64 vector of its
input entries (`Flat`); H_w is the Hessian of wᵀ out. The forward-mode
columns are batched, never one run per entry: where `vmap` cannot run the
function (a custom Function without `setup_context`, say), the judge
asks for one direction instead (`forward_one`, `fwd_over_rev_one`), as
gradcheck's fast mode does.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

from .runs import PathRecorder, cast_up_on_mixed_dtypes

__all__ = ["Flat", "flat_function", "cotangent", "forward", "batched_forward", "forward_one", "batched_vjp", "rev_over_rev",
           "fwd_over_rev", "fwd_over_rev_one", "fwd_over_fwd", "fwd_over_fwd_one", "undefined_backward", "undefined_forward",
           "functions_in"]


@dataclass(frozen=True)
class Flat:
    """The case as a function of one flat float64 vector of its input entries, at one point."""

    x: torch.Tensor
    """The point: every input's entries, flattened in input order (float64)."""
    f: Callable[[torch.Tensor], torch.Tensor]
    """The case on such a vector: its output, in float64 (the case's float32 constants cast up)."""
    unflat: Callable[[torch.Tensor], dict]
    """A flat vector back to the case's inputs by name."""
    names: tuple[str, ...]
    """The inputs' names, in order."""


def flat_function(fn: Callable, point: Mapping[str, torch.Tensor]) -> Flat:
    """`fn` at `point` as a function of the flat vector of its entries (see `Flat`)."""
    names = tuple(point)
    shapes = [tuple(point[n].shape) for n in names]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    x = torch.cat([point[n].detach().to(torch.float64).reshape(-1) for n in names])

    def unflat(v: torch.Tensor) -> dict:
        return {n: part.reshape(s) for n, part, s in zip(names, torch.split(v, sizes), shapes)}

    def f(v: torch.Tensor) -> torch.Tensor:
        with PathRecorder(torch.float64), _quiet():
            out = fn(**unflat(v))
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the case returned {type(out).__name__}, not a tensor")
        return out.to(torch.float64)

    def plain(v: torch.Tensor) -> torch.Tensor:
        with _quiet():
            out = fn(**unflat(v))
        return out.to(torch.float64)

    return Flat(x, plain if _needs_no_cast(fn, unflat(x)) else f, unflat, names)


def _needs_no_cast(fn: Callable, point: dict) -> bool:
    """Whether a float64 run of `fn` at the point casts no float32 constant up (`PathRecorder`): then it is
    run as it is, without the recorder, whose Python-level hook on every op would cost each mode's
    batched runs dearly. One run without gradients decides."""
    recorder = PathRecorder(torch.float64)
    try:
        with recorder, _quiet(), torch.no_grad():
            out = fn(**point)
    except Exception:  # the run fails, or fails as the modes run it: left to the recorder's run to report
        return False
    return isinstance(out, torch.Tensor) and not recorder.promoted


@contextmanager
def _quiet():
    # vmap's performance warnings and torch's own deprecations inside its forward-AD decompositions
    # are about torch's internals, not about the case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def cotangent(shape: tuple, seed: int) -> torch.Tensor:
    """The seeded w of wᵀ out for a non-scalar output (float64, standard normal), drawn from a stream
    of its own (`seed + 1`: `u` is drawn from `seed`)."""
    return torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))


def _rows(values: torch.Tensor, k: int) -> np.ndarray:
    return values.detach().reshape(k, -1).numpy().copy()


def forward(flat: Flat, tangents: torch.Tensor) -> np.ndarray:
    """J t for each row t of `tangents` (k, n): (k, m), in one `vmap` of `torch.func.jvp`."""
    def column(t):
        return torch.func.jvp(flat.f, (flat.x,), (t,))[1].reshape(-1)

    with _quiet():
        return _rows(torch.func.vmap(column)(tangents), len(tangents))


def batched_forward(flat: Flat, tangents: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), J t) for each row t of `tangents` (k, n), with the point itself batched too (k copies):
    one `vmap` of `torch.func.jvp` that runs the function batched, a custom Function's `vmap` rule
    included (with the point alone unbatched, vmap batches only the jvp): (k, m), (k, m)."""
    def both(p, t):
        out, tangent = torch.func.jvp(flat.f, (p,), (t,))
        return out.reshape(-1), tangent.reshape(-1)

    points = flat.x.expand(len(tangents), -1).clone()
    with _quiet():
        outs, columns = torch.func.vmap(both)(points, tangents)
    return _rows(outs, len(tangents)), _rows(columns, len(tangents))


def forward_one(fn: Callable, point: Mapping[str, torch.Tensor], t: torch.Tensor) -> np.ndarray:
    """J t by dual numbers, as gradcheck's forward mode runs (old-style custom Functions included)."""
    flat = flat_function(fn, point)
    x = flat.x.detach().requires_grad_()  # a case may differentiate inside; before make_dual, which it keeps
    with fwAD.dual_level(), _quiet(), torch.enable_grad():
        out = flat.f(fwAD.make_dual(x, t))
        primal, tangent = fwAD.unpack_dual(out)
    return (torch.zeros_like(primal) if tangent is None else tangent).detach().reshape(-1).numpy().copy()


def _leaf(flat: Flat) -> tuple[torch.Tensor, torch.Tensor]:
    x = flat.x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        return x, flat.f(x)


def batched_vjp(flat: Flat, cotangents: torch.Tensor) -> np.ndarray:
    """wᵀ J for each row w of `cotangents` (k, m): (k, n), one batched backward (`vmap` inside)."""
    x, out = _leaf(flat)
    if not out.requires_grad:
        return np.zeros((len(cotangents), x.numel()))
    with _quiet():
        (g,) = torch.autograd.grad(out.reshape(-1), x, cotangents, is_grads_batched=True, allow_unused=True)
    return np.zeros((len(cotangents), x.numel())) if g is None else _rows(g, len(cotangents))


def rev_over_rev(flat: Flat, w: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """For each row v of `rows` (k, n): (H_w v, J v), both by backward passes through the backward
    g = Jᵀw (taken with create_graph, w requiring grad, as gradgradcheck takes it): (k, n), (k, m)."""
    def run():
        x, out = _leaf(flat)
        cot = w.detach().clone().reshape(out.shape).requires_grad_(True)
        if not out.requires_grad:
            return np.zeros((len(rows), x.numel())), np.zeros((len(rows), out.numel()))
        with torch.enable_grad():
            (g,) = torch.autograd.grad(out, x, cot, create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:  # a backward that made no graph: its derivatives are zero
            return np.zeros((len(rows), x.numel())), np.zeros((len(rows), out.numel()))
        hv, jv = [], []
        for v in rows:
            dx, dw = torch.autograd.grad(g, (x, cot), v, retain_graph=True, allow_unused=True)
            hv.append(torch.zeros_like(x) if dx is None else dx.detach())
            jv.append(torch.zeros(out.numel(), dtype=torch.float64) if dw is None else dw.detach().reshape(-1))
        return torch.stack(hv).numpy(), torch.stack(jv).numpy()

    return cast_up_on_mixed_dtypes(run, torch.float64)


def fwd_over_rev(flat: Flat, w: torch.Tensor, tangents: torch.Tensor, on_w: torch.Tensor) -> np.ndarray:
    """H_w t + Jᵀ s for each row t of `tangents` (k, n) and s of `on_w` (k, m): forward mode through
    the backward pass (x, w) -> Jᵀw, one `vmap` of `torch.func.jvp` over `torch.func.vjp`: (k, n)."""
    shape = tuple(w.shape)

    def pulled(v, cot):
        _, pull = torch.func.vjp(flat.f, v)
        return pull(cot)[0]

    def column(t, s):
        return torch.func.jvp(pulled, (flat.x, w), (t, s.reshape(shape)))[1].reshape(-1)

    with _quiet():
        return _rows(torch.func.vmap(column)(tangents, on_w), len(tangents))


def fwd_over_rev_one(fn: Callable, point: Mapping[str, torch.Tensor], w: torch.Tensor, t: torch.Tensor,
                     s: torch.Tensor) -> np.ndarray:
    """H_w t + Jᵀ s by dual numbers through `torch.autograd.grad(..., create_graph=True)`, as
    gradgradcheck's `check_fwd_over_rev` runs (old-style custom Functions included): (n,)."""
    flat = flat_function(fn, point)
    with fwAD.dual_level(), _quiet(), torch.enable_grad():
        x = fwAD.make_dual(flat.x.detach().clone().requires_grad_(True), t)
        out = flat.f(x)
        cot = fwAD.make_dual(w.detach().clone().reshape(out.shape), s.reshape(out.shape))
        (g,) = torch.autograd.grad(out, x, cot, create_graph=True, allow_unused=True)
        tangent = None if g is None else fwAD.unpack_dual(g).tangent
    return np.zeros(flat.x.numel()) if tangent is None else tangent.detach().reshape(-1).numpy().copy()


def fwd_over_fwd(flat: Flat, w: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> np.ndarray:
    """wᵀ D²f[u, v] for each row u of `first` and v of `second` (k, n): nested `torch.func.jvp`s,
    in one `vmap`: (k,)."""
    def pair(u, v):
        inner = lambda y: torch.func.jvp(flat.f, (y,), (u,))[1]  # noqa: E731
        return (torch.func.jvp(inner, (flat.x,), (v,))[1].reshape(-1) * w).sum()

    with _quiet():
        return torch.func.vmap(pair)(first, second).detach().numpy().copy()


def fwd_over_fwd_one(flat: Flat, w: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> np.ndarray:
    """wᵀ D²f[u, v] by one pair of nested `torch.func.jvp`s, without vmap: a 0-d array."""
    inner = lambda y: torch.func.jvp(flat.f, (y,), (u,))[1]  # noqa: E731
    with _quiet():
        return np.asarray(float((torch.func.jvp(inner, (flat.x,), (v,))[1].reshape(-1) * w).sum()))


def undefined_backward(flat: Flat) -> np.ndarray | None:
    """The gradient the backward gives when every incoming gradient is undefined
    (`torch._C._functions.UndefinedGrad`, as gradcheck's `check_undefined_grad`), None where it
    gives none; raises what the backward raises."""
    x, out = _leaf(flat)
    if not out.requires_grad:
        return None
    undefined = torch._C._functions.UndefinedGrad()(out)
    (g,) = torch.autograd.grad(undefined, x, torch.zeros_like(out), allow_unused=True)
    return None if g is None else g.detach().numpy().copy()


def undefined_forward(fn: Callable, point: Mapping[str, torch.Tensor], name: str,
                      tangents: Mapping[str, torch.Tensor]) -> np.ndarray:
    """J t where input `name` has no tangent at all (a plain tensor among dual ones) and the others
    have theirs, as gradcheck's `check_undefined_grad` in forward mode: the flat output tangent (m,)."""
    leaves = {n: v.detach().to(torch.float64).requires_grad_() for n, v in point.items()}
    with fwAD.dual_level(), _quiet(), torch.enable_grad():
        duals = {n: v if n == name else fwAD.make_dual(v, tangents[n].reshape(v.shape)) for n, v in leaves.items()}
        with PathRecorder(torch.float64):
            out = fn(**duals)
        primal, tangent = fwAD.unpack_dual(out.to(torch.float64))
    return (torch.zeros_like(primal) if tangent is None else tangent).detach().reshape(-1).numpy().copy()


def functions_in(fn: Callable, point: Mapping[str, torch.Tensor]) -> list[type]:
    """The custom `autograd.Function` classes the case's float64 run applies, in the order its graph
    reaches them from the output (to name the one a mode cannot run); [] where none or the run fails."""
    try:
        flat = flat_function(fn, point)
        _, out = _leaf(flat)
    except Exception:
        return []
    found, seen, stack = [], set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        cls = getattr(node, "_forward_cls", None)
        if cls is not None and cls not in found:
            found.append(cls)
        stack.extend(n for n, _ in node.next_functions)
    return found
