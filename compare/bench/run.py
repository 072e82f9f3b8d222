"""The benchmark behind BENCHMARKS.md: `python -m compare bench [--quick]`.

It measures, paired in one run and repeated, reporting medians with the
spread (min–max):

1. start-up: `python -m compare all` against the import floor
   `python -c "import torch, sympy"`, wall time and peak memory (each
   child's own maximum resident set size, from `os.wait4`), and the
   per-call measures of `calls` (against gradcheck, a large Hessian,
   fresh processes);
2. the whole check (explore, derive, evaluate, compare: `check_case`) of
   `2 * torch.dot(x, x)` and `(x * x).sum()` for n = 10 ... 10000, with
   SymPy's cache cleared before each run so every run starts cold;
3. the piecewise exploration of the notes' control-flow case, at loop
   bounds up to the default, to its 1e-9 probability budget.

Timings are medians because the machines are shared: one run can be twice
as slow as the next. Speed goals live here, never in timed tests.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Sequence

from ..options import Options
from .page import CASES_FILE, FLOOR, Measured, Sample, render

__all__ = ["main", "startup", "scaling", "exploration"]

SIZES = (10, 100, 1000, 10000)


# -- 1. start-up against the import floor --------------------------------------------------
def _child(argv: Sequence[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one child process.

    `os.wait4` hands back the rusage of that child alone (ru_maxrss in KiB on
    Linux), where RUSAGE_CHILDREN would give the maximum over all children.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some case disagrees, still a full run
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def startup(repeat: int) -> dict[str, tuple[Sample, Sample]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    runs: dict[str, list] = {"floor": [], "all": [], "notes": []}
    with tempfile.TemporaryDirectory(prefix="compare-bench-") as tmp:
        commands = {"floor": [sys.executable, "-c", FLOOR],
                    "all": [sys.executable, "-m", "compare", "all", "--out", os.path.join(tmp, "reports")],
                    "notes": [sys.executable, "-m", "compare", "run", os.path.dirname(CASES_FILE),
                              "--out", os.path.join(tmp, "notes")]}
        _child(commands["floor"], env)  # warm the file cache: the first import reads torch from disk
        for _ in range(repeat):
            for key in ("floor", "all", "notes"):  # paired: all see the same load on the machine
                runs[key].append(_child(commands[key], env))
    return {k: (Sample(k, tuple(w for w, _ in v)), Sample(k, tuple(m for _, m in v))) for k, v in runs.items()}


# -- 2. the whole check for growing n --------------------------------------------------------
def _cases(n: int):
    import torch

    from ..case import case, collecting

    with collecting() as found:
        @case(inputs={"x": torch.arange(float(n))}, expect=lambda x: 4 * x)
        def dot(x):
            return 2 * torch.dot(x, x)

        @case(inputs={"x": torch.arange(float(n))}, expect=lambda x: 2 * x)
        def square_sum(x):
            return (x * x).sum()
    return found


def _timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result), from a cold SymPy cache."""
    from sympy.core.cache import clear_cache

    clear_cache()
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - start, time.process_time() - cpu, result


def scaling(repeat: int, sizes: Sequence[int] = SIZES) -> dict[tuple[str, int], tuple[Sample, Sample, Sample]]:
    """(check wall seconds, check CPU seconds, report seconds) per (function, n)."""
    from ..batch import settle
    from ..engine import check_case
    from ..records import AGREE, Meta
    from ..render.report import render_case
    from ..render.results_json import render_json

    settle()  # as `python -m compare all` does after its imports
    meta = Meta(python="-", torch="-", sympy="-", seed=Options.seed, samples=Options.samples)
    out = {}
    for n in sizes:
        for c in _cases(n):
            walls, cpus, reports = [], [], []
            for _ in range(repeat):
                wall, cpu, result = _timed(lambda: check_case(c, timeout=None))
                if result.status != AGREE:
                    raise RuntimeError(f"{c.name} at n = {n}: {result.status} {result.error or ''}")
                walls.append(wall)
                cpus.append(cpu)
                reports.append(_timed(lambda: (render_case(result, meta), render_json([result], meta)))[0])
            out[(c.name, n)] = tuple(Sample(c.name, tuple(v)) for v in (walls, cpus, reports))
    return out


# -- 3. exploration of the notes' control flow ----------------------------------------------
def exploration(repeat: int, bounds: Sequence[int] = (8, 16, 32, Options.loop_bound)) -> dict[int, tuple[Sample, int, float]]:
    """(seconds, pieces, uncovered probability) of exploring `control_flow` per loop bound."""
    from ..engine import CaseOptions, explore_case
    from ..sampling import case_seed, case_symbols, exact_point, sample_points
    from ..load import load_file

    loaded = load_file(CASES_FILE)
    case = next(c for c in loaded.cases if c.name == "control_flow")
    symbols = case_symbols(case)
    points = [exact_point(p, symbols) for _, p in sample_points(case, case_seed(Options.seed, case.name), Options.samples)]

    out = {}
    for bound in bounds:
        times, found = [], None
        for _ in range(repeat):
            seconds, _, (found, _, _) = _timed(lambda: explore_case(case, symbols, points, CaseOptions.of(case, Options(loop_bound=bound))))
            times.append(seconds)
        out[bound] = (Sample(f"bound {bound}", tuple(times)), len(found.pieces),
                      sum(u.probability for u in found.uncovered))
    return out


# -- the page --------------------------------------------------------------------------------


def main(*, quick: bool = False, repeat: int | None = None, out: str = "BENCHMARKS.md") -> int:
    from . import calls as bench_calls, modules as bench_modules

    load = os.getloadavg()[0]
    repeat = repeat or (3 if quick else 5)
    command = "python -m compare bench" + (" --quick" if quick else "") + \
        (f" --repeat {repeat}" if repeat != (3 if quick else 5) else "")
    print(f"start-up, {repeat} pairs ...", file=sys.stderr)
    start = startup(repeat)
    print("fresh processes: one assert_agrees, one gradcheck ...", file=sys.stderr)
    fresh = bench_calls.fresh(repeat)
    print("per call against gradcheck + gradgradcheck ...", file=sys.stderr)
    calls = bench_calls.calls(repeat)
    print("the notes' control flow through assert_agrees ...", file=sys.stderr)
    flow = bench_calls.control_flow(repeat)
    print("(tanh(x)**2).sum() with its Hessian ...", file=sys.stderr)
    growth = bench_calls.growth(1 if quick else repeat)
    print("whole check for growing n ...", file=sys.stderr)
    scale = scaling(repeat)
    print("exploration of the control flow ...", file=sys.stderr)
    explored = exploration(repeat)
    print("where the time goes ...", file=sys.stderr)
    phases = bench_calls.all_phases()
    print("real modules against gradcheck + gradgradcheck ...", file=sys.stderr)
    modules = bench_modules.measure(repeat)
    module_stages = {m.label: bench_modules.stages(m) for m in bench_modules.MODULES}
    text = render(command, repeat, Measured(start, scale, explored, calls, flow, growth, fresh, phases, modules,
                                            module_stages, (load, os.getloadavg()[0])), quick=quick)
    with tempfile.NamedTemporaryFile("w", delete=False, dir=os.path.dirname(os.path.abspath(out)),
                                     encoding="utf-8", newline="\n", suffix=".tmp") as f:
        f.write(text)
    os.replace(f.name, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0
