"""Numeric oracles beside reverse mode: forward mode, finite differences, Hessians.

    forward_mode(fn, point)       -> Jacobian columns J e_j by forward-mode AD (one vmap), and their sum
    finite_difference(fn, point)  -> central differences with Richardson extrapolation,
                                     the step chosen per entry and an error estimate
    autograd_hessian(fn, point)   -> `torch.autograd.functional.hessian`, or H v
    gradient_and_hessian(fn, point) -> the float64 autograd run, and that Hessian from its graph

All run in float64. Each gives the gradient of `out.sum()`, entry by entry
for small inputs; where the case's plan says so (`plan.Plan.columns`, above
`plan.FULL_LIMIT` entries) it gives the derivative along one seeded random
direction `u` instead (`∇·u`, `J u`, `H v`), as gradcheck's fast mode does. None of them decides a verdict: the exact value
does; these are reported beside it, each with its error.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

from ..errors import one_line
from ..plan import decide
from .runs import AutogradRun, PathRecorder, _as_tensor, _leaves, as_array, autograd_run, cast_up_on_mixed_dtypes

__all__ = ["Gathered", "gather", "BATCHED_ENTRIES", "FD_EPS_POWER", "Numbers", "direction", "jvp", "forward_mode",
           "from_columns",
           "finite_difference", "autograd_hessian", "autograd_hvp",
           "gradient_and_hessian"]

FD_EPS_POWER = 1 / 5
"""The step is eps**(1/5) * max(1, |x|): the balance of rounding (eps/h) and Richardson's h**4."""

BATCHED_ENTRIES = 16
"""Fewest input entries for which finite differences run their points in one `vmap` call: below,
the loop's few runs cost less than vmap's set-up, or than a vmap that cannot run (a custom Function
without `setup_context`) or rounds otherwise (a batched `dot`) and is thrown away."""

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Numbers:
    """One numeric oracle's answer at one point."""

    grads: dict[str, np.ndarray]
    """Gradient of out.sum() per input; in directional mode, {"u": derivative along u} (0-d)."""
    jacobian: dict[str, np.ndarray] | None = None
    """Forward mode's Jacobian per input (output shape + input shape), when full."""
    estimate: float | None = None
    """Finite differences' own error estimate (largest over entries)."""
    step: float | None = None
    """Finite differences' largest step."""
    crossed: bool = False
    """Finite differences: some step left the point's piece even at the smallest size tried."""


def _flat(point: Mapping[str, torch.Tensor]) -> tuple[list[str], torch.Tensor, list[tuple]]:
    names = list(point)
    shapes = [tuple(point[n].shape) for n in names]
    flat = torch.cat([point[n].detach().to(torch.float64).reshape(-1) for n in names]) if names else None
    return names, flat, shapes


def _unflat(vector: torch.Tensor, names, shapes) -> dict[str, torch.Tensor]:
    out, at = {}, 0
    for n, s in zip(names, shapes):
        size = int(np.prod(s, dtype=int))
        out[n] = vector[at:at + size].reshape(s)
        at += size
    return out


@dataclass(frozen=True)
class Gathered:
    """Forward mode's and finite differences' answers at one point, or why each has none."""

    forward: Numbers | None
    """Forward mode's answer (None where it failed)."""
    forward_note: str
    """Why forward mode has no answer ("" where it has one)."""
    fd: Numbers | None
    """Finite differences' answer (None where they failed or cannot step)."""
    fd_note: str
    """Why finite differences have no answer ("" where they have one)."""


def gather(fn: Callable, point: Mapping[str, torch.Tensor], u: torch.Tensor, columns: bool, *,
           ran: tuple | None = None, file: str | None = None) -> Gathered:
    """Forward mode and finite differences at `point`, along `u` unless `columns` (the case's plan).
    `ran`: (forward mode's Jacobian columns (m, n), the output's shape) where a checked mode already ran
    them; `file`: the case's file, which a failure's one-line message names."""
    try:
        fwd, fwd_note = (from_columns(ran[0], point, ran[1]) if ran is not None
                         else forward_mode(fn, point, u=u, columns=columns)), ""
    except Exception as exc:  # forward mode is optional for a custom Function (it needs a jvp)
        fwd, fwd_note = None, f"forward mode failed: {one_line(exc, file)}"
    if not all(bool(torch.isfinite(t).all()) for t in point.values()):
        return Gathered(fwd, fwd_note, None,
                        "an input is infinite here: a finite step cannot move it (-inf + h = -inf)")
    try:
        return Gathered(fwd, fwd_note, finite_difference(fn, point, u=u, columns=columns), "")
    except Exception as exc:
        return Gathered(fwd, fwd_note, None, f"finite differences failed: {one_line(exc, file)}")


def direction(point: Mapping[str, torch.Tensor], seed: int) -> torch.Tensor:
    """A seeded random unit direction in the space of all input entries (float64, flat)."""
    n = sum(t.numel() for t in point.values())
    u = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return u / u.norm()


def _as_float64_case(fn: Callable, names, shapes) -> Callable:
    """`fn` on a flat vector of its inputs' entries, run as autograd's float64 run runs it.

    The case's own float32 constants (a module-level `X = torch.tensor(...)`)
    are cast up to float64, exactly, where they meet the float64 inputs:
    otherwise `X @ w` fails on mixed dtypes. And the inputs require grad, so
    a case that differentiates inside (`torch.autograd.grad(..., x)`) runs as
    it does under autograd; forward mode then differentiates that backward.
    """
    def run(v: torch.Tensor, recorder: PathRecorder | None = None):
        with torch.enable_grad(), recorder or PathRecorder(torch.float64):
            return fn(**_unflat(v if v.requires_grad else v.detach().requires_grad_(), names, shapes))

    return run


def _split(vector: np.ndarray, names, shapes) -> dict[str, np.ndarray]:
    return {n: t.numpy() for n, t in _unflat(torch.as_tensor(vector), names, shapes).items()}


def jvp(fn: Callable, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(fn(x), J u) by forward-mode AD: dual numbers (`torch.autograd.forward_ad`, which
    `torch.func.jvp` runs on too, without its functional wrapping: a third of the cost here).
    Python control flow on the values is fine: branches see the primal."""
    with fwAD.dual_level(), warnings.catch_warnings():
        # torch's own forward-AD decompositions call torch.jit.script, deprecated in torch 2.13:
        # the warning is about torch's internals, not about the case.
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning)
        out = fn(fwAD.make_dual(x, u))
        primal, tangent = fwAD.unpack_dual(out)
    if tangent is None:  # the output does not depend on x (all of it detached, say)
        tangent = torch.zeros_like(primal)
    return primal.detach(), tangent.detach()


def forward_mode(fn: Callable, point: Mapping[str, torch.Tensor], *, seed: int = 0,
                 u: torch.Tensor | None = None, columns: bool | None = None) -> Numbers:
    """The gradient of out.sum() by forward mode: the columns J e_j, all in one vmapped jvp.

    Where `columns` is false (by default, the plan of inputs of the point's size: `plan.decide`), or
    where vmap cannot run the case (a custom Function without `setup_context`, a case that
    differentiates inside), the derivative along `u` (by default
    `direction(point, seed)`) by one jvp: a caller comparing it with another oracle passes the
    one direction both use.
    """
    from .modes import flat_function, forward

    names, flat, shapes = _flat(point)
    if _columns(columns, flat):
        try:
            fl = flat_function(fn, point)
            out_shape = tuple(fl.f(fl.x).shape)
            jac = forward(fl, torch.eye(flat.numel(), dtype=torch.float64)).T  # (m, n)
        except Exception:  # vmap cannot run it: one jvp along u, below
            pass
        else:
            return from_columns(jac, point, out_shape)
    flat = flat.detach().requires_grad_()  # before make_dual: detaching a dual drops its tangent
    run = _as_float64_case(fn, names, shapes)
    u = direction(point, seed) if u is None else u
    _, t = jvp(lambda v: _as_output(run(v)).sum(), flat, u)
    return Numbers(grads={"u": np.asarray(float(t))})


def _columns(columns: bool | None, flat: torch.Tensor) -> bool:
    """Every entry (`columns`), or as the plan of inputs of this many entries says where no plan is given."""
    return decide([flat.numel()]).columns if columns is None else columns


def from_columns(jac: np.ndarray, point: Mapping[str, torch.Tensor], out_shape: tuple) -> Numbers:
    """Forward mode's `Numbers` from the Jacobian's columns (m, n) over the flat input entries."""
    names, _, shapes = _flat(point)
    sizes = np.cumsum([int(np.prod(s, dtype=int)) for s in shapes])[:-1]
    jacobian = {n: block.reshape(out_shape + s) for n, block, s in zip(names, np.split(jac, sizes, axis=1), shapes)}
    return Numbers(grads=_split(jac.sum(axis=0), names, shapes), jacobian=jacobian)


def _as_output(out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the case returned {type(out).__name__}, not a tensor")
    return out.to(torch.float64)


class _Crossed(Exception):
    """A finite-difference step left the point's piece (its run took other branches)."""


def _central(f, x: torch.Tensor, d: torch.Tensor, h: float, path) -> tuple[float, float]:
    """((f(x + h d) - f(x - h d)) / 2h, the larger |f|) with h the step that x + h d really takes."""
    plus, minus = x + h * d, x - h * d
    # the step that was really taken (x + h d rounds), measured along d
    span = float(torch.dot(plus - minus, d) / torch.dot(d, d)) / 2 or h
    (fp, pp), (fm, pm) = f(plus), f(minus)
    if pp != path or pm != path:
        raise _Crossed
    return (fp - fm) / (2 * span), max(abs(fp), abs(fm))


def _step(f, x: torch.Tensor, d: torch.Tensor, h: float, path) -> tuple[float, float, float, bool]:
    """Richardson at the largest of h, h/8, h/64, ... whose points stay in the point's piece.

    (value, estimate, step, crossed): crossed when even the smallest step tried leaves the piece.
    """
    for cut in range(_SHRINKS + 1):
        try:
            return (*_richardson(f, x, d, h, path), h, False)
        except _Crossed:
            if cut < _SHRINKS:
                h /= 8
    return (*_richardson(f, x, d, h, None), h, True)  # the smallest step, which was seen to cross


_SHRINKS = 8
"""How often the step is cut by 8 to stay inside a piece before finite differences give up on that."""


def _richardson(f, x: torch.Tensor, d: torch.Tensor, h: float, path) -> tuple[float, float]:
    """Central differences at h, h/2 and h/4, extrapolated twice: (value, error estimate).

    A central difference errs by c h**2 + O(h**4); R(h) = (4 D(h/2) - D(h)) / 3
    removes the h**2 term. The value is R(h/2); its error is estimated by
    |R(h) - R(h/2)| (what the finer step changed) plus rounding, about
    eps |f| / step for the smallest step.
    """
    if path is None:  # accept whichever branches the steps take
        f = _ignoring_path(f)
    d1, s1 = _central(f, x, d, h, path)
    d2, s2 = _central(f, x, d, h / 2, path)
    d4, s4 = _central(f, x, d, h / 4, path)
    r1, r2 = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
    estimate = abs(r1 - r2) + 4 * _EPS * max(s1, s2, s4) / (h / 4)
    return r2, estimate


def _ignoring_path(f):
    return lambda v: (f(v)[0], None)


def finite_difference(fn: Callable, point: Mapping[str, torch.Tensor], *, seed: int = 0,
                      u: torch.Tensor | None = None, columns: bool | None = None) -> Numbers:
    """The gradient of out.sum() by central differences in float64, step chosen per entry.

    The step for entry j is eps**(1/5) * max(1, |x_j|), halved twice for
    Richardson extrapolation (`_richardson`), and cut further while a step
    would leave the point's piece (take other branches). It cannot see a
    stop-gradient (`detach`): it differentiates the values. Where `columns` is
    false, the derivative along `u`, as for `forward_mode`.
    """
    names, flat, shapes = _flat(point)
    columns = _columns(columns, flat)
    run = _as_float64_case(fn, names, shapes)

    def f(v: torch.Tensor) -> tuple[float, tuple]:
        recorder = PathRecorder(torch.float64)
        value = float(run(v, recorder).detach().to(torch.float64).sum())
        return value, tuple(recorder.path)

    value, path = f(flat)
    scale = _EPS ** FD_EPS_POWER
    if not columns:
        u = direction(point, seed) if u is None else u
        steps = [(u, scale * max(1.0, float(flat.abs().max())))]
    else:
        steps = []
        for j in range(flat.numel()):
            e = torch.zeros_like(flat)
            e[j] = 1.0
            steps.append((e, scale * max(1.0, abs(float(flat[j])))))
    f = _batched(f, fn, names, shapes, flat, value, path, steps)
    if not columns:
        value, estimate, h, crossed = _step(f, flat, *steps[0], path)
        return Numbers(grads={"u": np.asarray(value)}, estimate=estimate, step=h, crossed=crossed)
    grad = np.empty(flat.numel())
    estimates, steps_taken, crossed = [], [], False
    for j, (e, h0) in enumerate(steps):
        grad[j], est, h, out = _step(f, flat, e, h0, path)
        estimates.append(est)
        steps_taken.append(h)
        crossed |= out
    finite = [e for e in estimates if math.isfinite(e)]
    return Numbers(grads=_split(grad, names, shapes),
                   estimate=max(finite) if len(finite) == len(estimates) and finite else
                   (math.nan if estimates else 0.0),
                   step=max(steps_taken, default=None), crossed=crossed)


def _batched(f, fn: Callable, names, shapes, x: torch.Tensor, value: float, path: tuple, steps) -> Callable:
    """`f`, with the values at the points Richardson asks for first (x ± h d, x ± h/2 d, x ± h/4 d
    for each (d, h) of `steps`) computed in one `torch.func.vmap` run: one call of the case
    instead of six per entry (223 runs of the MLP's 37 entries in 0.3 ms instead of 30 ms).

    Only for a run that takes no branch, and only where the batched run gives the value at `x`
    itself to the last bit, as `f` does: otherwise (a branch on a value, an op or a custom
    Function that vmap cannot run, a case that differentiates inside, a batched kernel that
    rounds otherwise) `f` itself, point by point. A point not computed here goes to `f`.
    """
    if path or len(steps) < BATCHED_ENTRIES:
        return f
    points = [x]
    for d, h in steps:
        for step in (h, h / 2, h / 4):
            points += [x + step * d, x - step * d]  # as `_central` forms them, to the bit
    batch = torch.stack(points)

    def run(v):
        with PathRecorder(torch.float64) as recorder:
            out = fn(**_unflat(v, names, shapes))
        if recorder.path:
            raise _Crossed  # a branch: not the path of `x`
        return out.to(torch.float64).sum()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = torch.func.vmap(run)(batch).detach()
    except Exception:  # whatever vmap cannot run is run point by point
        return f
    if values.shape != (len(points),) or float(values[0]) != value and not (math.isnan(value) and
                                                                          math.isnan(float(values[0]))):
        return f
    known = {p.numpy().tobytes(): float(v) for p, v in zip(points, values.tolist())}

    def lookup(v: torch.Tensor) -> tuple[float, tuple]:
        found = known.get(v.detach().numpy().tobytes())
        return (found, path) if found is not None else f(v)

    return lookup


def autograd_hessian(fn: Callable, point: Mapping[str, torch.Tensor]) -> np.ndarray:
    """Autograd's Hessian of a scalar output over all input entries (flattened, in input order)."""
    names, flat, shapes = _flat(point)
    total = _summed(_as_float64_case(fn, names, shapes))
    h = cast_up_on_mixed_dtypes(lambda: _hessian(total, flat.clone()), torch.float64)
    return h.detach().numpy()


def _hessian(total: Callable, x0: torch.Tensor) -> torch.Tensor:
    """`torch.autograd.functional.hessian(total, x0)`: the same backward passes, to the bit,
    without its argument handling (about a third of its time for a few inputs).

    As there, the function sees a view of the input (so it may work in place on it), the
    gradient is taken with respect to that view with create_graph, each of its entries is
    differentiated with respect to the input, and an entry that does not depend on the
    input gives a row of zeros.
    """
    x = x0.detach().requires_grad_(True)
    view = x.view_as(x)
    (g,) = _grad(total(view).reshape(-1)[0], view, create_graph=True)
    g = torch.zeros_like(x) if g is None else g.reshape(-1)
    rows = [_grad(g[j], x, retain_graph=True)[0] for j in range(g.numel())]
    return torch.stack([torch.zeros_like(x) if r is None else r for r in rows]).view(x.shape + x.shape)


def _grad(out: torch.Tensor, x: torch.Tensor, **options) -> tuple:
    """torch.autograd.grad of `out` with respect to `x` (None where `out` does not depend on it)."""
    if not out.requires_grad:
        return (None,)
    return torch.autograd.grad(out, x, allow_unused=True, **options)


def autograd_hvp(fn: Callable, point: Mapping[str, torch.Tensor], v: torch.Tensor) -> np.ndarray:
    """Autograd's Hessian-vector product H v over all input entries (flattened)."""
    names, flat, shapes = _flat(point)
    total = _summed(_as_float64_case(fn, names, shapes))
    _, hv = cast_up_on_mixed_dtypes(lambda: torch.autograd.functional.hvp(total, flat.clone(), v), torch.float64)
    return hv.detach().numpy()


def _summed(run: Callable) -> Callable:
    return lambda v: run(v).to(torch.float64).sum()


def gradient_and_hessian(fn: Callable, point: Mapping[str, torch.Tensor]
                         ) -> tuple[AutogradRun, Callable[[], np.ndarray] | None]:
    """The float64 `autograd_run`, and `autograd_hessian` from that run's own forward pass, where
    both give what they give alone, to the bit; else None for the Hessian (ask `autograd_hessian`).

    The gradient is taken with create_graph, as the Hessian's first backward pass is (so with
    the same formulas), and the Hessian's rows are the backward passes of its entries. Shared
    for one input only: the Hessian over several inputs is taken with respect to their entries
    concatenated (`_hessian`), whose backward passes add the inputs' parts (where -0.0 + 0.0 is
    0.0); over one input that concatenation only copies. Not shared where the output is not
    float64 (the Hessian sums it in float64, the gradient in its own dtype), where grad mode is
    off (the Hessian turns it on, the gradient run does not), or where the shared run fails: the
    two runs alone then fail, or retry (`cast_up_on_mixed_dtypes`), each as it would.
    """
    if len(point) == 1 and torch.is_grad_enabled():
        try:
            return _shared_run(fn, point)
        except Exception:  # run again as the two runs alone do, failure included
            pass
    return autograd_run(fn, point, torch.float64), None


class _NotShared(Exception):
    """The shared run would not give what the runs alone give."""


def _shared_run(fn: Callable, point: Mapping[str, torch.Tensor]
                ) -> tuple[AutogradRun, Callable[[], np.ndarray] | None]:
    leaves = _leaves(point, torch.float64)
    ((name, x),) = leaves.items()
    recorder = PathRecorder(torch.float64, inputs=(x,))
    with recorder:
        out = _as_tensor(fn(**leaves))
    if out.dtype != torch.float64:
        raise _NotShared
    g = _grad(out.sum(), x, create_graph=True)[0] if out.requires_grad else None
    run = AutogradRun(output=out.detach().numpy(),
                      grads={name: as_array(g, tuple(x.shape))},
                      path=tuple(recorder.path))

    def hessian() -> np.ndarray:  # as `_hessian` forms it, over the flattened entries of x
        flat = torch.zeros(x.numel(), dtype=x.dtype) if g is None else g.reshape(-1)
        rows = [_grad(flat[j], x, retain_graph=True)[0] for j in range(flat.numel())]
        zero = torch.zeros(x.numel(), dtype=x.dtype)
        h = torch.stack([zero if r is None else r.reshape(-1) for r in rows])
        return h.view((x.numel(), x.numel())).detach().numpy()

    return run, hessian
