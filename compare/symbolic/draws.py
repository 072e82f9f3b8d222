"""Random ops under a shared draw: the draw is a constant of the symbolic run, taken from torch itself.

Once its random numbers are fixed, a random op is a deterministic function
of its inputs: dropout multiplies by a fixed mask, torch.normal(mean, std)
is mean + std z for a fixed z. The engine starts every run of a case, the
symbolic ones and every autograd run, from the same state of torch's
generator (`fixed_draw`). Here each random ATen op the symbolic run meets
is run for real, with that generator, on stand-ins of its inputs' shapes
and dtypes: it consumes the generator as the autograd run's op does and
gives the same numbers, which enter the symbolic run as exact constants.

Where the numbers depend on the inputs' values, what is drawn is what does
not: torch.bernoulli(p) draws a uniform u per entry and gives 1 where
u < p, so u is read by bisection (the op rerun from the same generator
state on stand-in probabilities) and u < p becomes a comparison the path
explorer decides; rrelu draws a slope only for the entries at or below 0,
so their signs are decided first (`randomized.py`).

What each symbolic run drew is kept (`Draw`) while `recording_draws` is on,
so a page can say which draw was used.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import sympy
import torch
from torch.utils._pytree import tree_map

from ..exact.sym import exact
from .registry import UnsupportedOp, decide, exprs
from .shared import note_decision

aten = torch.ops.aten

__all__ = ["Draw", "RANDOM_OPS", "draw", "note", "constants", "fixed_draw", "seeded", "recording_draws", "described"]

RANDOM_OPS = frozenset({"normal_", "uniform_", "bernoulli_", "exponential_", "random_", "cauchy_", "geometric_",
                        "log_normal_", "bernoulli", "normal", "uniform", "exponential", "random", "cauchy",
                        "geometric", "log_normal", "rand_like", "randn_like", "randint_like", "native_dropout"})
"""ATen ops (by name) that draw from a generator whatever their arguments."""

SHOWN_ENTRIES = 16
"""A draw of at most this many numbers is written out on the page; a larger one by its shape alone."""


@dataclass(frozen=True)
class Draw:
    """The numbers one random op drew in a symbolic run."""

    op: str
    """The ATen op (`aten.bernoulli_.float`)."""
    shape: tuple
    """The shape of what was drawn."""
    values: tuple
    """The numbers, flat (floats), where there are at most SHOWN_ENTRIES; else empty."""

    def text(self) -> str:
        where = f"{self.op} of shape {self.shape}" if self.shape else self.op
        if not self.values:
            return where
        return f"{where}: " + ", ".join(f"{v:g}" for v in self.values)


_RECORD: contextvars.ContextVar = contextvars.ContextVar("compare_draws", default=None)


@contextlib.contextmanager
def recording_draws() -> Iterator[list]:
    """The draws made inside, in order (a fresh list for each run of a case)."""
    found: list = []
    token = _RECORD.set(found)
    try:
        yield found
    finally:
        _RECORD.reset(token)


def note(func, values: torch.Tensor) -> None:
    """Record what `func` drew (for the page), and keep the call it happened in from being shared."""
    note_decision()  # a draw belongs to this run, as a decision does: never answered from another run
    found = _RECORD.get()
    if found is not None:
        flat = values.detach().reshape(-1).to(torch.float64).tolist() if values.numel() <= SHOWN_ENTRIES else []
        found.append(Draw(str(func), tuple(values.shape), tuple(flat)))


def described(draws: list, seed: int) -> tuple[str, ...]:
    """What a page says of a case's draws: how the generator was set, then each draw."""
    if not draws:
        return ()
    return (f"torch's default generator is seeded with {seed} before each run of the case (torch.manual_seed), "
            "so every run, symbolic or autograd, sees the same draw",) + tuple(d.text() for d in draws)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside, torch's default generator starts from `seed`; after, it is as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def fixed_draw(fn: Callable, seed: int) -> Callable:
    """`fn`, started from torch's default generator seeded with `seed` on every call (and the
    generator's state restored after it): every run of the case draws the same numbers. The draws
    of the symbolic runs are kept on the wrapper (`draws`), from the last run that drew any."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with seeded(seed), recording_draws() as made:
            out = fn(*args, **kwargs)
        if made:  # in place: a wrapper made by functools.wraps shares the list
            run.draws[:] = made
        return out

    run.draws = []
    run.seed = seed
    return run


# -- the ops ------------------------------------------------------------------------------------------
def _is_symbolic(value) -> bool:
    return getattr(value, "exprs", None) is not None


def _stand_in(value, fill: float = 0.0):
    """A real tensor of a symbolic one's shape and dtype (its values do not matter to the draw)."""
    if _is_symbolic(value):
        return torch.full(tuple(value.shape), fill, dtype=value.dtype)
    return value


def constants(t: torch.Tensor) -> np.ndarray:
    """A real tensor's entries as exact SymPy numbers."""
    out = np.empty(tuple(t.shape), dtype=object)
    out.reshape(-1)[:] = [exact(v) for v in t.detach().reshape(-1).tolist()]
    return out


def _run_real(func, args, kwargs, fill: float = 0.0):
    """The op on real stand-ins of its symbolic arguments (filled with `fill`), from the current state
    of the generator it is given (or torch's default one)."""
    real_args, real_kwargs = tree_map(lambda v: _stand_in(v, fill), (tuple(args), dict(kwargs)))
    return func(*real_args, **real_kwargs)


def draw(func, args: tuple, kwargs: dict):
    """The entries of a random op's output (for an in-place op: what it writes into its first argument)."""
    name = func.overloadpacket.__name__
    if name == "normal":
        return _normal(func, args, kwargs)
    if name in ("bernoulli", "bernoulli_") and _probabilities(func, args, kwargs) is not None:
        return _bernoulli(func, args, kwargs)
    if name == "native_dropout":
        return _native_dropout(func, args, kwargs)
    if name == "multinomial":
        raise UnsupportedOp(f"{func} (its draw depends on the probabilities' values)")
    out = _run_real(func, args, kwargs)
    note(func, out)
    return constants(out)


def _normal(func, args, kwargs):
    """torch.normal(mean, std) = mean + std z: torch draws z from N(0, 1) and scales it, so z is the op's
    own output for mean 0 and std 1."""
    mean, std = args[0], args[1]
    unit = [torch.zeros(tuple(v.shape), dtype=v.dtype) if isinstance(v, torch.Tensor) else 0.0 for v in (mean,)]
    unit += [torch.ones(tuple(std.shape), dtype=std.dtype) if isinstance(std, torch.Tensor) else 1.0]
    z = func(*unit, *args[2:], **kwargs)
    note(func, z)
    return exprs(mean) + exprs(std) * constants(z)


def _probabilities(func, args, kwargs):
    """The tensor of probabilities of a bernoulli whose draw compares a uniform with them, else None."""
    if func is aten.bernoulli.default:
        return args[0]
    p = args[1] if len(args) > 1 else kwargs.get("p")
    return p if isinstance(p, torch.Tensor) else None


def _bernoulli(func, args, kwargs):
    """bernoulli with tensor probabilities p: 1 where the uniform u drawn for the entry is below p. Each u
    is found by bisection on the grid torch draws it on (multiples of 2^-53 in float64, 2^-24 in
    float32), rerunning the op from the same generator state; u < p is then decided per entry."""
    p = _probabilities(func, args, kwargs)
    generator = kwargs.get("generator")
    u = _uniforms(lambda q: _run_with(func, args, kwargs, p, q), tuple(p.shape), p.dtype, generator)
    note(func, u)
    shape = tuple(args[0].shape)
    chances = np.broadcast_to(exprs(p), shape)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sympy.Integer(1 if decide(sympy.StrictGreaterThan(chances[idx], exact(float(u[idx]))),
                                             "bernoulli") else 0)
    return out


def _run_with(func, args, kwargs, p, q: torch.Tensor) -> torch.Tensor:
    swap = lambda v: q if v is p else _stand_in(v)  # noqa: E731
    real_args, real_kwargs = tree_map(swap, (tuple(args), dict(kwargs)))
    return func(*real_args, **real_kwargs)


def _uniforms(run: Callable, shape: tuple, dtype: torch.dtype, generator) -> torch.Tensor:
    """The uniform u per entry behind `run(q) = [u < q]`, each run from the same generator state."""
    source = generator if generator is not None else torch.default_generator
    state = source.get_state()
    bits = 1 - int(np.log2(torch.finfo(dtype).eps))  # 53 for float64, 24 for float32
    low = torch.zeros(shape, dtype=torch.float64)  # u lies in [low, high): a multiple of 2^-bits
    high = torch.ones(shape, dtype=torch.float64)
    for _ in range(bits):
        middle = (low + high) / 2
        source.set_state(state)
        below = run(middle.to(dtype)).to(torch.bool)  # u < middle
        high = torch.where(below, middle, high)
        low = torch.where(below, low, middle)
    source.set_state(state)
    run(low.to(dtype))  # the generator moves on as the op moves it
    return low


def _native_dropout(func, args, kwargs):
    """native_dropout(x, p, train): x * mask * scale with torch's own mask, and the mask."""
    x = args[0]
    out, mask = _run_real(func, args, kwargs, fill=1.0)  # on ones: out = mask * scale
    note(func, mask)
    scale = float(out.reshape(-1)[mask.reshape(-1)][0]) if mask.any() else 0.0
    return exprs(x) * constants(mask.to(x.dtype)) * exact(scale), constants(mask)
