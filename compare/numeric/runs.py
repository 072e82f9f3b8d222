"""The autograd side: run a case on real tensors and collect what PyTorch computes.

Each run records the branches it takes (`Tensor.__bool__`, seen through a
`TorchFunctionMode`), so the caller can check that autograd followed the
same path as the piece whose exact derivative it is compared with.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from ..symbolic.sites import user_site

__all__ = ["AutogradRun", "PathRecorder", "as_array", "autograd_run", "compiled", "is_compiled", "defined",
           "jacobian_run", "backward_error", "claim_values", "claim_exact"]


@dataclass(frozen=True)
class AutogradRun:
    """What autograd gives at one point in one dtype."""

    output: np.ndarray
    """The case's output, as float64."""
    grads: dict[str, np.ndarray]
    """Gradient of `out.sum()` per input, as float64 (zeros where the output does not depend on it)."""
    path: tuple
    """((file, line), taken) for each branch on a tensor, in order."""


def _promote(value, dtype: torch.dtype):
    """Floating tensors (in lists and tuples too) cast up to `dtype`; anything else as is."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.dtype.is_floating_point and value.dtype != dtype else value
    if isinstance(value, (list, tuple)):
        return type(value)(_promote(v, dtype) for v in value)
    return value


def _lower(value, dtype: torch.dtype) -> bool:
    """Is there a floating tensor of another dtype than `dtype` in `value` (in lists and tuples too)?

    Asked before `_promote` on every op of a float64 run: most ops have none, and then their
    arguments go on as they are, without being rebuilt."""
    if isinstance(value, torch.Tensor):
        return value.dtype != dtype and value.dtype.is_floating_point
    if isinstance(value, (list, tuple)):
        return any(_lower(v, dtype) for v in value)
    return False


_compiling = torch.compiler.is_compiling


def _tensors_in(value):
    """The tensors in an op's arguments or outputs (in lists, tuples and dicts too)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_in(v)


class PathRecorder(TorchFunctionMode):
    """Records the branches a run takes. In a float64 run it also casts the case's own float32
    constants (a module-level `X = torch.tensor([...])`, say) up to float64: exact, since every
    float32 is a float64, and without it `X @ w` fails on mixed dtypes.

    Given the run's `inputs`, it records only the branches on tensors that depend on them, as
    the exact side does: `if S > 0` on a constant `S` is decided by its value on both sides and
    is no piece of the function. A tensor depends on the inputs when it is one, or an op made
    it (or wrote into it, or into its base) from one that does; `detach()` and `no_grad` keep
    the dependence, as the exact side keeps a stop-gradient's argument. A tensor no op in the
    run made is a constant (a closure's tensor, a frozen parameter) unless autograd made it (a
    `grad_fn`: the output of a compiled function, whose ops the recorder cannot see). In an
    `opaque` run (the case through `torch.compile`, whose compiled code hides every op), and
    without `inputs`, every branch is recorded.
    """

    def __init__(self, promote: torch.dtype | None = None, inputs=None, opaque: bool = False):
        super().__init__()
        self.path: list = []
        self.promote = promote if promote == torch.float64 else None
        self.promoted = False
        """Whether an op's arguments were cast up (the case has float32 constants)."""
        self.every = inputs is None or opaque
        self._made: dict[int, tuple[torch.Tensor, bool]] = {id(t): (t, True) for t in inputs or ()}
        """id -> (tensor, whether it depends on the inputs) for the inputs and every tensor an op made;
        holding the tensor keeps its id from being reused during the run."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.__bool__:
            return self._branch(func, args, kwargs)
        track = not self.every and not _compiling()
        depends = track and (self._any_depends(args) or (bool(kwargs) and self._any_depends(kwargs.values())))
        if self.promote is not None and func is not torch.Tensor.to:
            if _lower(args, self.promote):
                args, self.promoted = _promote(args, self.promote), True
            if kwargs and _lower(tuple(kwargs.values()), self.promote):
                kwargs, self.promoted = {k: _promote(v, self.promote) for k, v in kwargs.items()}, True
        out = func(*args, **kwargs)
        if track:
            self._note(func, args, out, depends)
        return out

    # Every op of a run passes through the three below: loops, not generators, and one dict each.
    def _any_depends(self, values) -> bool:
        """Does a tensor among `values` (or in a list or tuple among them) depend on the inputs?"""
        for v in values:
            if isinstance(v, torch.Tensor):
                if self.depends(v):
                    return True
            elif isinstance(v, (list, tuple)) and self._any_depends(v):
                return True
        return False

    def depends(self, t: torch.Tensor) -> bool:
        """Does `t` depend on the run's inputs (see the class's docstring)?"""
        made = self._made.get(id(t))
        if made is not None and made[0] is t:
            if made[1]:
                return True
        elif t.grad_fn is not None:
            return True
        base = t._base
        return base is not None and self.depends(base)

    def _note(self, func, args, out, depends: bool) -> None:
        """Mark what `func` made, and what it wrote into (`__setitem__`'s target, or an in-place op's,
        which it returns) with its base, as depending on the inputs when an argument does."""
        made = self._made
        target = args[0] if depends and args and isinstance(args[0], torch.Tensor) else None
        written = target is not None and func is torch.Tensor.__setitem__
        if isinstance(out, torch.Tensor):
            made[id(out)] = (out, depends)
            written = written or out is target
        else:
            for t in _tensors_in(out):
                made[id(t)] = (t, depends)
                written = written or (target is not None and t is target)
        if written:
            for t in (target, target._base):
                if t is not None:
                    made[id(t)] = (t, True)

    @torch.compiler.disable
    def _branch(self, func, args, kwargs) -> bool:
        # Run eagerly under torch.compile too: traced, the recorder's growing list would be guarded
        # on, and every branch taken would compile the function again.
        result = func(*args, **kwargs)
        if self.every or self.depends(args[0]):
            self.path.append((user_site(), bool(result)))
        return result


@contextmanager
def saved_cast_up(dtype: torch.dtype):
    """While on, tensors saved for backward come back cast up to `dtype` (when floating).

    A custom Function may save one of the case's float32 constants with
    `ctx.save_for_backward`; its backward, which runs outside the recorder,
    would then meet float64 gradients with it. Used only to retry a float64
    run that failed so: a pack hook keeps each saved output alive through
    its own graph, a cycle the garbage collector cannot see, which costs
    memory in every run that has it on.
    """
    def unpack(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype) if t.is_floating_point() and t.dtype != dtype else t

    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, unpack):
        yield


def cast_up_on_mixed_dtypes(run: Callable, dtype: torch.dtype):
    """`run()`, and if a float64 run fails, `run()` again under `saved_cast_up`.

    Any RuntimeError is retried: ops word a mixed-dtype failure differently
    ("same dtype", "expected scalar type Float but found Double"). A failure
    with another cause fails again, and that is what is reported.
    """
    try:
        return run()
    except RuntimeError:
        if dtype != torch.float64:
            raise
        with saved_cast_up(dtype):
            return run()


def compiled(fn: Callable, backend: str) -> Callable:
    """`torch.compile(fn, backend=backend)`, called so that it is the compiled code that runs.

    Past its recompile limit, torch.compile silently runs the function eagerly;
    here that is an error instead (a check of compiled code that ran eager code
    would claim what it did not test). A branch on a tensor is a graph break: the
    code either side is compiled, the branch itself runs in Python, as it does
    for any user of torch.compile. Dynamo compiles once per code object, dtype
    and backend and keeps it, so every point after the first reuses the code.
    """
    import torch._dynamo.config
    import torch._functorch.config

    # Donated buffers (a memory saving) forbid the retain_graph=True of a Jacobian's row-by-row
    # backward passes. The flag is read when the backward runs, outside any call here, so it is
    # turned off for the process: it changes memory, never values.
    torch._functorch.config.donated_buffer = False
    run = torch.compile(fn, backend=backend)

    def call(**inputs):
        with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
            return run(**inputs)

    call.__name__ = getattr(fn, "__name__", "f")
    call.__wrapped__ = fn
    call.compiled_backend = backend
    return call


def is_compiled(fn: Callable) -> bool:
    """Is `fn` a case made by `compiled`?"""
    return getattr(fn, "compiled_backend", None) is not None


def _leaves(point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {k: v.detach().to(dtype).clone().requires_grad_(True) for k, v in point.items()}


def as_array(t: torch.Tensor | None, shape: tuple) -> np.ndarray:
    """A gradient as a float64 array of `shape`: zeros for None (no dependence) and for autograd's
    ZeroTensor (`torch.sgn`'s backward at 0 gives one: a tensor known to be zero, with no storage)."""
    if t is None or t._is_zerotensor():
        return np.zeros(shape)
    return t.detach().to(torch.float64).numpy()


def _as_tensor(out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the case returned {type(out).__name__}, not a tensor")
    return out


def autograd_run(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> AutogradRun:
    """`out = fn(**point)` in `dtype`, then `torch.autograd.grad(out.sum(), inputs)`."""
    return cast_up_on_mixed_dtypes(lambda: _autograd_run(fn, point, dtype), dtype)


def _autograd_run(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> AutogradRun:
    leaves = _leaves(point, dtype)
    recorder = PathRecorder(dtype, inputs=leaves.values(), opaque=is_compiled(fn))
    with recorder:
        out = _as_tensor(fn(**leaves))
    names = list(leaves)
    if out.requires_grad:
        grads = torch.autograd.grad(out.sum(), [leaves[n] for n in names], allow_unused=True)
    else:  # nothing in the output depends on the inputs (all of it detached, say)
        grads = [None] * len(names)
    return AutogradRun(
        output=out.detach().to(torch.float64).numpy(),
        grads={n: as_array(g, tuple(leaves[n].shape)) for n, g in zip(names, grads)},
        path=tuple(recorder.path),
    )


def defined(fn: Callable, point: Mapping[str, torch.Tensor]) -> bool:
    """Is every entry of `fn`'s float64 output at `point` finite (and does it run at all)?"""
    try:
        with PathRecorder(torch.float64):
            out = fn(**_leaves(point, torch.float64))
        return isinstance(out, torch.Tensor) and bool(torch.isfinite(out.detach()).all())
    except Exception:  # a failure is reported where the point is checked, not here
        return False


def jacobian_run(fn: Callable, point: Mapping[str, torch.Tensor],
                 dtype: torch.dtype = torch.float64) -> dict[str, np.ndarray]:
    """Autograd's full Jacobian, one backward pass per output entry (for small outputs)."""
    return cast_up_on_mixed_dtypes(lambda: _jacobian_run(fn, point, dtype), dtype)


def _jacobian_run(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> dict[str, np.ndarray]:
    leaves = _leaves(point, dtype)
    with PathRecorder(dtype):
        out = _as_tensor(fn(**leaves))
    names = list(leaves)
    flat = out.reshape(-1)
    rows = {n: [] for n in names}
    for i in range(flat.numel()):
        if flat.requires_grad:
            gs = torch.autograd.grad(flat[i], [leaves[n] for n in names], retain_graph=True,
                                     allow_unused=True)
        else:
            gs = [None] * len(names)
        for n, g in zip(names, gs):
            rows[n].append(as_array(g, tuple(leaves[n].shape)))
    return {n: np.array(rows[n]).reshape(tuple(out.shape) + tuple(leaves[n].shape)) for n in names}


def backward_error(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> str | None:
    """The error that plain `out.backward()` raises, or None when it does not."""
    leaves = _leaves(point, dtype)
    with PathRecorder(dtype):
        out = _as_tensor(fn(**leaves))
    try:
        out.backward()
    except RuntimeError as e:
        return str(e).strip().splitlines()[0]
    return None


def claim_values(expect: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype,
                 output: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The notes' claim, evaluated on real tensors in `dtype`: input name -> expected gradient."""
    inputs = {k: v.detach().to(dtype) for k, v in point.items()}
    with torch.no_grad(), PathRecorder(dtype):
        got = expect(**inputs, out=output) if output is not None else expect(**inputs)
    if isinstance(got, Mapping):
        return dict(got)
    if len(inputs) != 1:
        raise TypeError("expect must return a dict input name -> tensor when the case has several inputs")
    return {next(iter(inputs)): got}


def claim_exact(grads: Mapping[str, np.ndarray], claim: Mapping[str, torch.Tensor],
                dtype: torch.dtype) -> bool:
    """The notes' own check, `x.grad == claim`, elementwise in `dtype`, all entries."""
    for name, g in grads.items():
        want = torch.as_tensor(claim[name]).to(dtype)
        got = torch.as_tensor(g).to(dtype)
        if got.shape != want.shape and want.numel() != 1:
            raise ValueError(f"expect gives shape {tuple(want.shape)} for {name}, its gradient has "
                             f"shape {tuple(got.shape)}")
        if not bool((got == want).all()):
            return False
    return True
