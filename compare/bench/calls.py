"""Per-call measurements for the benchmark: `assert_agrees` against torch's own checks.

    calls(repeat)        -> per function: assert_agrees with every mode on, and gradcheck +
                            gradgradcheck with the matching flags at the same five points (the
                            example and compare's four samples)
    control_flow(repeat) -> the notes' while loop and if through assert_agrees
    growth(repeat, ...)  -> (tanh(x)**2).sum() with its Hessian for growing n
    fresh(repeat)        -> a fresh process with one assert_agrees against one with one gradcheck

All in float64, the dtype gradcheck asks for, so both sides check the same
dtype. Each compare call starts from a cold SymPy cache (as a test suite's
next call, of another function, would), in a process whose imports are done.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch

from ..options import Options

__all__ = ["Function", "FUNCTIONS", "calls", "control_flow", "growth", "fresh", "FRESH_COMPARE", "FRESH_TORCH"]


class Cube(torch.autograd.Function):
    """x**3 with a hand-written backward, itself differentiable (gradgradcheck runs through it), a jvp and a
    generated vmap rule: every mode can run it."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x ** 3

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * t


def two_dot(x):
    return 2 * torch.dot(x, x)


def softmax(x):
    return torch.softmax(x, dim=0)


def log_softmax(x):
    return torch.log_softmax(x, dim=0)


def mlp(x, W1, W2):
    return torch.tanh(x @ W1) @ W2


def tanh_squared(x):
    return (torch.tanh(x) ** 2).sum()


@dataclass(frozen=True)
class Function:
    """One function of issue 13's table and the shapes of its inputs."""

    label: str
    """How the table names it."""
    fn: Callable
    shapes: tuple[tuple[int, ...], ...]
    """One shape per positional input."""
    off: tuple[str, ...] = ()
    """Modes left off, where torch gets them wrong (a custom Function's nested jvps: pytorch/pytorch#197867)."""


FUNCTIONS = (
    Function("`2*dot(x, x)`, n = 4", two_dot, ((4,),)),
    Function("`2*dot(x, x)`, n = 1000", two_dot, ((1000,),)),
    Function("`softmax`, n = 8", softmax, ((8,),)),
    Function("`log_softmax`, n = 8", log_softmax, ((8,),)),
    Function("MLP `tanh(x @ W1) @ W2`, x 4x3, W1 3x5, W2 5x2", mlp, ((4, 3), (3, 5), (5, 2))),
    Function("`Cube.apply` (custom Function), n = 4", Cube.apply, ((4,),), off=("check_fwd_over_fwd",)),
)

GRADCHECK = dict(check_forward_ad=True, check_batched_grad=True, check_batched_forward_grad=True,
                 check_undefined_grad=True)
"""gradcheck's flags for the modes `assert_agrees` checks (every one)."""
GRADGRADCHECK = dict(check_rev_over_rev=True, check_fwd_over_rev=True, check_batched_grad=True,
                     check_undefined_grad=True)
"""gradgradcheck's, for the second-order ones (it has no forward over forward)."""


def _inputs(f: Function) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(s, dtype=torch.float64, generator=g) for s in f.shapes)


def _points(fn: Callable, inputs: tuple) -> list[tuple[torch.Tensor, ...]]:
    """The five points compare checks for a smooth function: the example and its four samples."""
    from ..api import as_case
    from ..engine import CaseOptions
    from ..sampling import sample_points

    case = as_case(fn, inputs)
    asked = CaseOptions.of(case, Options())
    return [tuple(p[n].detach().clone().requires_grad_() for n in case.inputs)
            for _, p in sample_points(case, asked.seed, asked.options.samples)]


def _compare(fn: Callable, inputs: tuple, off: tuple[str, ...] = (), *, clock: Callable[[], float] = time.perf_counter,
             timeout: float | None = Options.timeout) -> float:
    """Seconds of one `assert_agrees(fn, inputs)` with every mode on but `off`, by `clock`."""
    from sympy.core.cache import clear_cache

    from .. import assert_agrees
    from ..modes import KEYWORDS

    clear_cache()
    start = clock()
    assert_agrees(fn, inputs, timeout=timeout, **{k: k not in off for k in KEYWORDS})
    return clock() - start


def _torch(fn: Callable, points: list) -> float:
    """Seconds of gradcheck and gradgradcheck with the matching flags at each point."""
    from torch.autograd import gradcheck, gradgradcheck

    start = time.perf_counter()
    for p in points:
        assert gradcheck(fn, p, **GRADCHECK) and gradgradcheck(fn, p, **GRADGRADCHECK)
    return time.perf_counter() - start


def calls(repeat: int, functions=FUNCTIONS) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """label -> (compare seconds per call, torch's checks seconds per call), paired, after one warm-up."""
    out = {}
    for f in functions:
        inputs = _inputs(f)
        points = _points(f.fn, inputs)
        _compare(f.fn, inputs, f.off), _torch(f.fn, points)  # warm-up: first calls pay one-time costs
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(_compare(f.fn, inputs, f.off))
            theirs.append(_torch(f.fn, points))
        out[f.label] = (tuple(ours), tuple(theirs))
    return out


CASES_FILE = os.path.join("cases", "notes", "autograd.py")


def control_flow(repeat: int) -> tuple[tuple[float, ...], int]:
    """(seconds per `assert_agrees(control_flow)` call, points checked), after one warm-up."""
    from sympy.core.cache import clear_cache

    from .. import assert_agrees
    from ..load import load_file

    case = next(c for c in load_file(CASES_FILE).cases if c.name == "control_flow")
    points = len(assert_agrees(case).points)
    times = []
    for _ in range(repeat):
        clear_cache()
        start = time.perf_counter()
        assert_agrees(case)
        times.append(time.perf_counter() - start)
    return tuple(times), points


def growth(repeat: int, sizes=(1000, 10000)) -> dict[int, tuple[float, ...]]:
    """n -> CPU seconds of `assert_agrees((tanh(x)**2).sum(), (x,))`, Hessian included (H v): CPU time, since
    the machines are shared and a wall clock there measures the other work as much as this."""
    out = {}
    for n in sizes:
        x = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        out[n] = tuple(_compare(tanh_squared, (x,), clock=time.process_time) for _ in range(repeat))
    return out


_FRESH_FN = ("import torch\n"
             "def f(x):\n"
             "    return torch.log(x**2) * torch.sin(x) + 1 / x\n"
             "x = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64, requires_grad=True)\n")
FRESH_TORCH = _FRESH_FN + "from torch.autograd import gradcheck\nassert gradcheck(f, (x,))\n"
FRESH_COMPARE = _FRESH_FN + "import compare\ncompare.assert_agrees(f, (x,))\n"
"""The README's example: the same function checked once by each, each in a fresh process."""


def fresh(repeat: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(wall seconds of a process with one assert_agrees, of one with one gradcheck), paired."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    run(FRESH_TORCH)  # warm the file cache
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(run(FRESH_COMPARE))
        theirs.append(run(FRESH_TORCH))
    return tuple(ours), tuple(theirs)


PHASES = (("engine", "explore_case", "exploration"), ("engine", "derive_piece", "derivation"),
          ("engine", "exact_values", "exact values"), ("at_point", "oracle_answers", "forward mode + FD"),
          ("at_point", "mode_numbers", "the other modes"), ("at_point", "check_modes", "the other modes"))
"""The stages of `check_case` timed by `phases`: (module of compare that calls it, function, label); the
functions of one label add up (the other modes: torch's numbers gathered, then judged)."""

STAGES = tuple(dict.fromkeys(label for _, _, label in PHASES))
"""The stages' labels, in order, each once."""


def phases(fn: Callable, inputs: tuple, off: tuple[str, ...] = (), *, clock: Callable[[], float] = time.perf_counter,
           timeout: float | None = Options.timeout) -> dict[str, float]:
    """Seconds per stage of one `assert_agrees(fn, inputs)` (warm, SymPy's cache cleared), and "total".

    Each stage's function is wrapped in a timer, where its caller looks it up, for this one call;
    `clock` is the timer's (`time.process_time` for CPU seconds).
    """
    import importlib

    spent = dict.fromkeys(STAGES, 0.0)
    modules = {where: importlib.import_module(f"compare.{where}") for where, _, _ in PHASES}
    originals = {(where, name): getattr(modules[where], name) for where, name, _ in PHASES}

    def timed(f, label):
        def run(*args, **kwargs):
            start = clock()
            try:
                return f(*args, **kwargs)
            finally:
                spent[label] += clock() - start
        return run

    try:
        for where, name, label in PHASES:
            setattr(modules[where], name, timed(originals[where, name], label))
        total = _compare(fn, inputs, off, clock=clock, timeout=timeout)
    finally:
        for (where, name), f in originals.items():
            setattr(modules[where], name, f)
    return {**spent, "total": total}


def all_phases() -> dict[str, dict[str, float]]:
    """`phases` of each function of the table, of the notes' control flow and of tanh² at n = 1000."""
    from ..load import load_file

    out = {f.label: phases(f.fn, _inputs(f), f.off) for f in FUNCTIONS}
    case = next(c for c in load_file(CASES_FILE).cases if c.name == "control_flow")
    out["the notes' control flow"] = phases(case, None)
    x = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out["`(tanh(x)**2).sum()`, n = 1000"] = phases(tanh_squared, (x,))
    return out
