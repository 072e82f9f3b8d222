"""BENCHMARKS.md from one `bench` run's measurements: the records they are kept in, and the page."""
from __future__ import annotations

import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from types import SimpleNamespace

__all__ = ["Sample", "Measured", "render", "machine", "versions", "FLOOR", "CASES_FILE"]

FLOOR = "import torch, sympy"
"""The import floor `compare all` is measured against."""
CASES_FILE = os.path.join("cases", "notes", "autograd.py")
"""The notes' control-flow case, whose exploration is measured."""


def machine() -> dict[str, str]:
    """The machine the page was measured on: CPU, usable cores, memory, system."""
    def first(path: str, key: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    mem = first("/proc/meminfo", "MemTotal")
    if mem.endswith("kB"):
        mem = f"{int(mem.split()[0]) / 1024 ** 2:.1f} GiB"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"CPU": first("/proc/cpuinfo", "model name"), "cores": f"{usable} usable of {os.cpu_count()}",
            "memory": mem, "system": platform.platform()}


def versions() -> dict[str, str]:
    """The versions of Python and of the libraries whose speed the page measures."""
    import flint
    import numpy
    import sympy
    import torch
    import z3

    found = {"python": platform.python_version(), "torch": torch.__version__, "sympy": sympy.__version__,
             "numpy": numpy.__version__, "z3-solver": z3.get_version_string(), "python-flint": flint.__version__}
    try:
        import symengine
        found["symengine (installed, not used)"] = symengine.__version__
    except ImportError:
        pass
    return found


def _case_count(folder: str) -> int:
    from ..load import declared_cases, discover

    return sum(len(declared_cases(path)) for path in discover([folder]))


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one thing."""

    label: str
    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread(self, fmt: str = "{:.2f}") -> str:
        return f"{fmt.format(min(self.values))}–{fmt.format(max(self.values))}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(command: str, repeat: int, m: Measured, *, quick: bool = False) -> str:
    """BENCHMARKS.md: the machine and the targets, then each measurement with how it was made."""
    v = _values(m)
    from .modules import section

    sections = (_summary(v, m, command, repeat, quick), _flow(v, m), _phases(m),
                section(m.modules, m.module_stages), _fresh(v), _startup(v, m), _exploration(m))
    return "\n".join(line for section in sections for line in section)


def _values(m: Measured) -> SimpleNamespace:
    """The medians and ratios the page quotes, computed once."""
    wall_floor, mem_floor = m.start["floor"]
    wall_all, mem_all = m.start["all"]
    wall_notes, mem_notes = m.start["notes"]
    wall_ratio, mem_ratio = wall_all.median / wall_floor.median, mem_all.median / mem_floor.median
    dot = {n: m.scale[("dot", n)][0].median for (name, n) in m.scale if name == "dot"}
    dot_cpu = {n: m.scale[("dot", n)][1].median for (name, n) in m.scale if name == "dot"}
    big = max(dot)
    calls = {label: (Sample(label, ours), Sample(label, theirs)) for label, (ours, theirs) in m.calls.items()}
    ratios = {label: ours.median / theirs.median for label, (ours, theirs) in calls.items()}
    mean = _geomean(ratios.values())
    slowest = max(ours.median for ours, _ in calls.values())
    flow = Sample("control flow", m.flow[0])
    growth = {n: Sample(f"n = {n}", v) for n, v in m.growth.items()}
    g_small, g_big = min(growth), max(growth)
    grows = growth[g_big].median / growth[g_small].median
    fresh_ours, fresh_theirs = Sample("compare", m.fresh[0]), Sample("gradcheck", m.fresh[1])
    fresh_ratio = fresh_ours.median / fresh_theirs.median
    found = dict(locals())
    del found["m"]
    return SimpleNamespace(**found)


def _summary(v, m: Measured, command: str, repeat: int, quick: bool) -> list[str]:
    """The head, the targets and the per-call table."""
    wall_floor, mem_floor, wall_all, mem_all = v.wall_floor, v.mem_floor, v.wall_all, v.mem_all
    wall_ratio, mem_ratio, dot, dot_cpu = v.wall_ratio, v.mem_ratio, v.dot, v.dot_cpu
    big, calls, ratios, mean = v.big, v.calls, v.ratios, v.mean
    slowest, flow, growth, g_small = v.slowest, v.flow, v.growth, v.g_small
    g_big, grows, fresh_ours, fresh_theirs = v.g_big, v.grows, v.fresh_ours, v.fresh_theirs
    fresh_ratio = v.fresh_ratio
    lines = [
        "# Benchmarks", "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}: {repeat} paired repetitions"
        + (" (one for the largest `tanh` check)" if quick else "")
        + ", medians with the spread (min–max) beside them. The machines are shared; medians, not single "
        "runs, and never timed tests.", "",
        "## Machine", "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        *([f"- load average (1 minute) at the start and the end of this run: {m.load[0]:.1f}, {m.load[1]:.1f} "
           "(other work on the machine: times scale with it, paired ratios less so)"] if m.load else []), "",
        "## Versions", "",
        *(f"- {k}: {v}" for k, v in versions().items()), "",
        "## Targets (issue 13)", "",
        "| target | measured (median) | |",
        "|---|---|---|",
        f"| per call against `gradcheck` + `gradgradcheck` at the same 5 points: geometric mean ≤ 1.0x | "
        f"{mean:.2f}x | {_verdict(mean <= 1.0)} |",
        f"| ... none above 3x | largest {max(ratios.values()):.2f}x ({max(ratios, key=ratios.get)}) | "
        f"{_verdict(max(ratios.values()) <= 3)} |",
        f"| ... no call above 0.3 s | slowest {_ms(slowest)} | {_verdict(slowest <= 0.3)} |",
        f"| the notes' control flow through `assert_agrees` ≤ 0.5 s a call | {_ms(flow.median)} "
        f"({m.flow[1]} points) | {_verdict(flow.median <= 0.5)} |",
        f"| `(tanh(x)**2).sum()` with its Hessian at n = {g_big} ≤ 10 s | {_ms(growth[g_big].median)} CPU | "
        f"{_verdict(growth[g_big].median <= 10)} |",
        f"| ... from n = {g_small} to n = {g_big} grows ≤ 11x | {grows:.1f}x | {_verdict(grows <= 11)} |",
        f"| n = {big}: whole check of `2 * torch.dot(x, x)` ≤ 3 s beyond the import floor | "
        f"{dot[big]:.2f} s wall ({dot_cpu[big]:.2f} s CPU) | {_verdict(dot[big] <= 3)} |",
        f"| `python -m compare all` wall time ≤ 2.5x the import floor | {wall_ratio:.2f}x "
        f"({wall_all.median:.2f} s / {wall_floor.median:.2f} s) | {_verdict(wall_ratio <= 2.5)} |",
        f"| `python -m compare all` peak memory ≤ 1.5x the import floor | {mem_ratio:.2f}x "
        f"({mem_all.median:.0f} MiB / {mem_floor.median:.0f} MiB) | {_verdict(mem_ratio <= 1.5)} |",
        f"| a fresh process with one `assert_agrees` ≤ 1.3x one with one `gradcheck` | {fresh_ratio:.2f}x "
        f"({fresh_ours.median:.2f} s / {fresh_theirs.median:.2f} s) | {_verdict(fresh_ratio <= 1.3)} |", "",
        "## Targets (issue 26)", "", "| target | measured (median) | |", "|---|---|---|", *_issue26(v, m), "",
        "## Per call: `assert_agrees` against `gradcheck` + `gradgradcheck`", "",
        "In this process, imports done, after one unmeasured call of each. `compare.assert_agrees(f, inputs)` "
        "checks every mode (reverse and forward mode, the batched modes, undefined gradients, and the second "
        "derivatives of wᵀ out in reverse over reverse, forward over reverse and forward over forward) at the "
        "example and four seeded samples, with SymPy's cache cleared before each call, so no call reuses a "
        "derivative from the one before; `Cube.apply` leaves out forward over forward, where torch 2.13's "
        "nested jvps through a custom Function are wrong. Torch's side runs `gradcheck(check_forward_ad=True, "
        "check_batched_grad=True, check_batched_forward_grad=True)` and `gradgradcheck(check_fwd_over_rev=True, "
        "check_batched_grad=True)` at the same five points. Inputs are float64 (seeded standard normals), the "
        "dtype gradcheck asks for.", "",
        "| function | compare | spread | torch's checks x5 | spread | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for label, (ours, theirs) in calls.items():
        lines.append(f"| {label} | {_ms(ours.median)} | {ours.spread('{:.3f}')} | {_ms(theirs.median)} | "
                     f"{theirs.spread('{:.3f}')} | {ratios[label]:.2f}x |")
    return lines


def _issue26(v, m: Measured) -> list[str]:
    from .modules import targets

    return targets(m.modules, (v.g_big, v.growth[v.g_big].median), (v.big, v.dot[v.big], v.dot_cpu[v.big]))


def _flow(v, m: Measured) -> list[str]:
    """The geometric mean's row, the notes' control flow and the large Hessian."""
    mean, flow, growth = v.mean, v.flow, v.growth
    lines = [f"| geometric mean | | | | | {mean:.2f}x |", "",
              "## The notes' control flow and a large Hessian", "",
              f"`compare.assert_agrees(control_flow)` (the `@case` of {CASES_FILE}): {_ms(flow.median)} a call "
              f"(spread {flow.spread('{:.3f}')} s), {m.flow[1]} points: the example, the samples and one in each "
              "piece.", "",
              "`compare.assert_agrees(lambda x: (torch.tanh(x)**2).sum(), (x,))`, x a seeded standard normal "
              "in float64; above 400 Hessian entries the Hessian is checked as H v along a seeded direction. "
              "CPU seconds of the call.", "",
              "| n | CPU seconds | spread |", "|---|---|---|"]
    for n, sample in growth.items():
        lines.append(f"| {n} | {sample.median:.2f} | {sample.spread()} |")
    return lines


def _phases(m: Measured) -> list[str]:
    """Where the time of one call goes, stage by stage."""
    from . import calls as bench_calls

    stages = list(bench_calls.STAGES)
    lines = ["", "## Where the time goes", "",
              "One more call of each, warm, with SymPy's cache cleared, each stage of `check_case` timed by a "
              "timer around its function (exploration: `engine.explore_case`, the symbolic runs and z3; "
              "derivation: `pieces.derivatives.derive_piece`, gradients, Jacobians, Hessians and the claim; "
              "exact values: `pieces.values.exact_values`; forward mode + FD: `at_point.oracle_answers`; the other "
              "modes: `at_point.mode_numbers` then `check_modes`, every mode but reverse, the Hessians included). "
              "\"other\" is the rest: autograd's own runs, sampling, kinks, the comparison.", "",
              "| call | total | " + " | ".join(stages) + " | other |", "|---" * (len(stages) + 3) + "|"]
    for label, spent in m.phases.items():
        other = spent["total"] - sum(spent[k] for k in stages)
        lines.append(f"| {label} | {_ms(spent['total'])} | " + " | ".join(
            f"{100 * spent[k] / spent['total']:.0f}%" for k in stages) + f" | {100 * other / spent['total']:.0f}% |")
    return lines


def _fresh(v) -> list[str]:
    """Fresh processes: one assert_agrees against one gradcheck."""
    from .calls import FRESH_COMPARE, FRESH_TORCH
    fresh_ours, fresh_theirs, fresh_ratio = v.fresh_ours, v.fresh_theirs, v.fresh_ratio
    lines = ["", "## Fresh processes", "",
              "Each repetition runs the README's example twice, as child processes: once checked by "
              "`compare.assert_agrees`, once by `gradcheck`, wall time around each (one unmeasured run "
              "first warms the file cache).", "",
              "| process | wall time (s) | spread |", "|---|---|---|",
              f"| one `assert_agrees` | {fresh_ours.median:.2f} | {fresh_ours.spread()} |",
              f"| one `gradcheck` | {fresh_theirs.median:.2f} | {fresh_theirs.spread()} |",
              f"| ratio | {fresh_ratio:.2f}x | |", "",
              "<details><summary>the two programs</summary>", "",
              "```python", FRESH_COMPARE.rstrip(), "```", "", "```python", FRESH_TORCH.rstrip(), "```", "",
              "</details>", ""]
    return lines


def _startup(v, m: Measured) -> list[str]:
    """compare all against the import floor, and the whole check for growing n."""
    wall_floor, mem_floor, wall_all, mem_all = v.wall_floor, v.mem_floor, v.wall_all, v.mem_all
    wall_notes, mem_notes, wall_ratio, mem_ratio = v.wall_notes, v.mem_notes, v.wall_ratio, v.mem_ratio
    lines = [
        "## Start-up: `python -m compare all` against the import floor", "",
        f"Each repetition runs `python -c \"{FLOOR}\"`, then `python -m compare all --out <temp dir>` "
        f"(every case under `cases/`: {_case_count('cases')} cases, each with four oracles, a Hessian for "
        f"scalar outputs and a picture for one-dimensional ones, on {os.cpu_count()} worker processes), then "
        f"`python -m compare run {os.path.dirname(CASES_FILE)}` (the notes' five cases alone, for scale), as "
        "child processes. Wall time is measured around each child; peak memory is the child's maximum "
        "resident set size, workers included (`ru_maxrss` from `os.wait4`). One unmeasured floor run "
        "first warms the file cache. Beyond the floor, a run pays fixed costs before any case: torch's "
        "forward-mode AD imports its JVP decompositions (about 0.17 s), and its first product of a dual "
        "tensor with a Python number runs a Python decomposition whose first call imports `torch._dynamo` "
        "(about 0.55 s); the pictures import matplotlib (about 0.35 s). Both are imported once, before the "
        "workers fork.", "",
        "| command | wall time (s) | spread | peak memory (MiB) | spread |",
        "|---|---|---|---|---|",
        f"| import floor | {wall_floor.median:.2f} | {wall_floor.spread()} | {mem_floor.median:.0f} | "
        f"{mem_floor.spread('{:.0f}')} |",
        f"| `compare all` | {wall_all.median:.2f} | {wall_all.spread()} | {mem_all.median:.0f} | "
        f"{mem_all.spread('{:.0f}')} |",
        f"| ratio | {wall_ratio:.2f}x | | {mem_ratio:.2f}x | |",
        f"| `compare run {os.path.dirname(CASES_FILE)}` | {wall_notes.median:.2f} | {wall_notes.spread()} | "
        f"{mem_notes.median:.0f} | {mem_notes.spread('{:.0f}')} |",
        f"| ratio | {wall_notes.median / wall_floor.median:.2f}x | | "
        f"{mem_notes.median / mem_floor.median:.2f}x | |", "",
        "## The whole check for growing n", "",
        "`check_case` on `x = torch.arange(float(n))` with the claim as `expect` (`4 * x`, `2 * x`): the "
        "symbolic run, the exact gradient, the proof of the claim, the exact values and autograd (float32 "
        "and float64) at the example and 4 sampled points, and the comparison. SymPy's cache is cleared "
        "before every run, so each run starts as cold as the first run of a process (imports excluded: "
        "they are the floor above). The process is settled as `compare all` settles it (`gc.freeze()` "
        "after the imports). CPU time is this process's own, less disturbed than wall time by other "
        "work on the machine. Rendering the case page and JSON is timed separately.", "",
        "| function | n | check, wall (s) | spread | check, CPU (s) | report (s) | wall per entry (µs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (name, n), (check, cpu, report) in m.scale.items():
        code = "2 * torch.dot(x, x)" if name == "dot" else "(x * x).sum()"
        lines.append(f"| `{code}` | {n} | {check.median:.3f} | {check.spread('{:.3f}')} | {cpu.median:.3f} | "
                     f"{report.median:.3f} | {1e6 * check.median / n:.0f} |")
    return lines


def _exploration(m: Measured) -> list[str]:
    """Exploring the notes' control flow at several loop bounds."""
    lines = [
        "", "## Exploration of the notes' control flow", "",
        "`explore` on `control_flow` (cases/notes/autograd.py) as `check_case` runs it: z3 decides each side "
        "of each branch, loops are cut when the region still looping has probability below half the "
        "remaining 1e-9 budget, or at the loop bound. Smaller bounds show how the time grows with it.", "",
        "| loop bound | explore (s) | spread | pieces | uncovered probability |",
        "|---|---|---|---|---|",
    ]
    for bound, (sample, pieces, p) in m.explored.items():
        lines.append(f"| {bound} | {sample.median:.2f} | {sample.spread()} | {pieces} | {p:.3g} |")
    lines += ["", "Exactness of the fast evaluation: see `compare/exact/evaluate.py` (Arb's balls, correctly rounded by "
              "proof where they decide; else exact Fractions for rational expressions, two mpmath precisions "
              "that must agree, else SymPy, for the rest).", ""]
    return lines


@dataclass(frozen=True)
class Measured:
    """Everything one `bench` run measured, as the page shows it."""

    start: dict
    """`startup`: command -> (wall Sample, memory Sample)."""
    scale: dict
    """`scaling`: (function, n) -> (wall, CPU, report) Samples."""
    explored: dict
    """`exploration`: loop bound -> (Sample, pieces, uncovered probability)."""
    calls: dict
    """`calls.calls`: label -> (compare seconds, torch's checks seconds)."""
    flow: tuple
    """`calls.control_flow`: (seconds, points)."""
    growth: dict
    """`calls.growth`: n -> seconds."""
    fresh: tuple
    """`calls.fresh`: (compare seconds, gradcheck seconds)."""
    phases: dict
    """`calls.all_phases`: label -> stage -> seconds of one call."""
    modules: dict
    """`modules.measure`: label -> its paired measurements."""
    module_stages: dict
    """`modules.stages` of each module: label -> stage -> CPU seconds of one call, or None."""
    load: tuple = ()
    """The machine's 1-minute load average when the run began and when it ended."""
