"""Conformance over PyTorch's own operator database (`op_db`): which ops run symbolically.

For every OpInfo that supports autograd in float64 on the CPU, a few of its
own small float64 samples are run twice: on real tensors under autograd,
and on symbolic tensors (each floating input that requires grad becomes a
tensor of symbols, other floating tensors constant symbolic tensors of
their values, so that an op may write into them, the rest stay as they
are). The symbolic forward, evaluated exactly at the sample's values,
must equal torch's forward, and the exact gradient of a real loss of the outputs must equal autograd's,
both by `verdict.measure` (an output in its own dtype's tolerance, a
gradient in float64's). The loss is the sum of every floating output's
entries plus, for a complex output w = u + i v, a sum of a u + b v with
small integer weights that vary along the output (`samples.loss_terms`): it sees
both parts, so a meaning wrong in either part changes the gradient. A
complex output's forward is compared part by part, u and v each exactly
(in the tolerance of its parts' dtype, float64 for complex128). The inputs
are op_db's float64 samples, so the leaves are real and autograd's
gradient with respect to them needs no convention; complex values occur
inside the op and at its outputs (`fft.fft`, `polar`). Branches met on the way
are decided by the sample's values (`explore.ByValue`), so each sample gets
the exact derivative of the path it takes.

An op is classified by its samples: `disagrees` if any sample does (except
at a kink, where autograd must give a gradient PyTorch's rules allow: the op
runs again with its sites recorded, `compare.kinks`), else
`unsupported` if one meets an ATen op with no meaning (`UnsupportedOp`), else
`error` (any other exception, or a sample over its time bound), else `runs`. `skipped` ops have no sample within `Settings.fallback_entries`.

    python -m compare.conformance            # counts and the per-op table, in every mode
    python -m compare.conformance --write    # also docs/opdb.json, docs/ops.md, docs/conformance.json and .md
    python -m compare.conformance --write --only index_add   # re-record some ops only
    python -m compare.conformance --modes check_forward_ad   # reverse and forward mode only (--modes: reverse only)

Every other mode (forward, second order, batched) is `compare.conformance.modes`;
docs/conformance.md, generated from docs/conformance.json, counts each mode and
explains every disagreement (`compare.conformance.report`, `compare.conformance.bugs`).

Needs `expecttest` (the `test` extra): `op_db` lives in torch's test utilities.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import torch

from ..exact.differentiate import gradient
from ..agreement import measure
from .modes import MODES, ModeSample, check_sample_modes
from ..modes import SECOND_ORDER
from .record import EXPECTED, STATUSES, ModeResult, OpResult, counts, load
from ..symbolic import UnsupportedOp
from .samples import _coarsest, _differentiable, _forward_differs, _where, differentiated, evaluated, loss, point_kinks, prepare, samples

__all__ = ["OpResult", "ModeResult", "Settings", "STATUSES", "MODES", "opinfos", "check_op", "check_op_modes", "run",
           "render_table", "load", "EXPECTED"]

_PRECEDENCE = ("disagrees", "unsupported", "error", "runs")
"""Which sample's status is the op's: one failing sample fails the op."""

@dataclass(frozen=True)
class Settings:
    """How much of `op_db` one run looks at."""

    samples: int = 3
    """Samples tried per op (the first small ones torch gives)."""
    max_entries: int = 64
    """A sample with a tensor of more entries is skipped, unless the op has no smaller one."""
    fallback_entries: int = 625
    """For an op with no sample within `max_entries` (op_db's sizes are 5 and 10, so a batch of
    matrices has 250, a 4-d tensor 625) that cannot be cut to one (`_narrowed`): its smallest samples up to
    this many entries a tensor. The `seconds` bound still holds for each."""
    seconds: int = 20
    """Time bound of one sample, in CPU seconds of this process (`ITIMER_PROF`: the same on a busy
    machine as on an idle one); a slower sample is an `error`."""
    seed: int = 0
    """torch's generator is seeded with this before each op draws its samples."""


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


def opinfos() -> list:
    """The OpInfos of op_db that support autograd in float64 on the CPU, in op_db's order."""
    from torch.testing._internal.common_methods_invocations import op_db

    return [op for op in op_db if op.supports_autograd and torch.float64 in op.supported_dtypes("cpu")]


def _name(op) -> str:
    return op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")


@dataclass(frozen=True)
class _Sample:
    status: str
    detail: str = ""
    decomposed: tuple[str, ...] = ()


def check_sample(op, sample) -> _Sample:
    """One sample, real and symbolic (see the module's docstring)."""
    prep = prepare(op, sample)
    differs = _forward_differs(prep.sym_forward, prep.real_forward, prep.point, prep.leaves)
    if differs:
        return _Sample("disagrees", differs, prep.decomposed)
    differentiable = _differentiable(prep.real_out)
    if not prep.leaves or not differentiable:
        return _Sample("runs", "", prep.decomposed)
    index, outputs = differentiated(prep)
    total = sum(loss(f) for f in differentiable)
    grads = torch.autograd.grad(total, prep.leaves, allow_unused=True)
    exact_grad = {n: evaluated(g, prep.point, prep.symbols)
                  for n, g in gradient(outputs, prep.symbols).items()}
    auto = {f"t{k}": (g if g is not None and not g._is_zerotensor() else torch.zeros_like(prep.leaves[k])).detach().numpy()
            for k, g in enumerate(grads)}
    # autograd's gradient is in its leaf's dtype, computed with every input and output in play
    coarsest = _coarsest([t.dtype for t in prep.leaves]
                         + [f.real.dtype if f.is_complex() else f.dtype for f in differentiable])
    for name in prep.symbols:
        errors = measure(auto[name], exact_grad[name], coarsest)
        if errors.agree:
            continue
        ops = _at_a_kink(prep, index, outputs, (auto, coarsest))
        if ops:
            return _Sample("runs", f"at a kink of {ops}: autograd follows PyTorch's rules", prep.decomposed)
        return _Sample("disagrees", _where(errors, f"gradient for input {name}"), prep.decomposed)
    return _Sample("runs", "", prep.decomposed)


def _at_a_kink(prep, index: list[int], outputs, autograd: tuple) -> str:
    """The ops at whose kinks the point lies, where autograd gives a gradient PyTorch's rules allow there
    ("" elsewhere): the op runs again with its sites recorded, and the chain rule goes through them."""
    auto, coarsest = autograd
    at = point_kinks(prep, index, outputs, second=False)
    if at is None or at.gradient(near=auto).match(auto, coarsest) is None:
        return ""
    return ", ".join(sorted(at.ops))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


def _guarded(op, sample, seconds: int, check=None):
    """`check(op, sample)` (default `check_sample`) within `seconds` of CPU time; a failure as a `_Sample`."""
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return (check or check_sample)(op, sample)
    except _Timeout:
        return _Sample("error", f"a sample took over {seconds} s")
    except UnsupportedOp as e:
        return _Sample("unsupported", e.op)
    except Exception as e:  # every other failure is this op's result, not the run's
        return _Sample("error", _first_line(e))
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def check_op(op, settings: Settings = Settings()) -> OpResult:
    """Run an OpInfo's first small samples and classify it (see the module's docstring)."""
    try:
        found = samples(op, settings)
    except Exception as e:
        return OpResult(_name(op), "error", "", "sample_inputs: " + _first_line(e), 0)
    if not found:
        most = max(settings.max_entries, settings.fallback_entries)
        return OpResult(_name(op), "skipped", "", f"no sample with at most {most} entries a tensor", 0)
    results = [_guarded(op, s, settings.seconds) for s in found]
    for status in _PRECEDENCE:
        hit = [r for r in results if r.status == status]
        if hit:
            break
    detail = next((r.detail for r in hit if r.detail), "")
    route = ""
    if status == "runs":
        route = "decomposition" if any(r.decomposed for r in results) else "direct"
    return OpResult(_name(op), status, route, detail, len(found))


def check_op_modes(op, settings: Settings = Settings(), modes: Sequence[str] = MODES) -> list[ModeResult]:
    """The op in each of `modes` (`compare.conformance.modes`) on the samples reverse mode takes; per mode, one
    sample that disagrees makes the op disagree. The first-order and the second-order modes of a sample run
    under time bounds of their own (an exact Hessian can take long where the gradient does not), and once
    a sample's second-order modes run over it, the op's next samples skip them."""
    try:
        found = samples(op, settings)
    except Exception as e:
        return [ModeResult(_name(op), m, "error", "sample_inputs: " + _first_line(e), 0) for m in modes]
    if not found:
        return [ModeResult(_name(op), m, "skipped", "no small sample", 0) for m in modes]
    phases = [tuple(m for m in modes if m not in SECOND_ORDER), tuple(m for m in modes if m in SECOND_ORDER)]
    per_sample, slow = [], {}
    for sample in found:
        got = {}
        for phase in (p for p in phases if p):
            if phase[0] in slow:  # an earlier sample ran over the bound in these modes
                got.update({m: slow[m] for m in phase})
                continue
            one = _guarded(op, sample, settings.seconds, lambda o, s, p=phase: check_sample_modes(o, s, p, settings.seed))
            if not isinstance(one, dict):
                one = {m: ModeSample(one.status, one.detail) for m in phase}
                if "took over" in one[phase[0]].detail:
                    slow.update(one)
            got.update(one)
        per_sample.append(got)
    return [_op_mode(_name(op), mode, [r[mode] for r in per_sample], len(found)) for mode in modes]


def _op_mode(name: str, mode: str, by: list, count: int) -> ModeResult:
    """The op's result in one mode from its samples': the first status of `_PRECEDENCE` any sample has."""
    status = next(s for s in _PRECEDENCE + ("skipped",) if any(b.status == s for b in by))
    detail = next((b.detail for b in by if b.status == status and b.detail), "")
    return ModeResult(name, mode, status, detail, count)


def run(ops: Iterable, settings: Settings = Settings(), *, progress=None) -> list[OpResult]:
    """`check_op` for each op, in the order given."""
    found = []
    for op in ops:
        found.append(check_op(op, settings))
        if progress is not None:
            progress(found[-1])
    return found


def render_table(results: Sequence[OpResult]) -> str:
    """The counts and one row per op, as markdown."""
    c = counts(results)
    lines = [f"{len(results)} ops: " + ", ".join(f"{n} {s}" for s, n in c.items()), "",
             "| op | status | how | detail |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| `{r.name}` | {r.status} | {r.route} | {r.detail.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


def dump(results: Sequence[OpResult], settings: Settings) -> str:
    """The committed record: settings, torch's version, every op's result (stable JSON)."""
    return json.dumps({"torch": torch.__version__, "settings": asdict(settings),
                       "ops": [asdict(r) for r in results]}, indent=1, sort_keys=True) + "\n"


def _arguments(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m compare.conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=Settings.samples)
    parser.add_argument("--seconds", type=int, default=Settings.seconds)
    parser.add_argument("--max-entries", type=int, default=Settings.max_entries)
    parser.add_argument("--fallback-entries", type=int, default=Settings.fallback_entries)
    parser.add_argument("--only", nargs="*", help="op names to check (default: all)")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES),
                        help="modes beside reverse mode (default: all; none: reverse mode alone)")
    parser.add_argument("--write", action="store_true",
                        help="write docs/opdb.json, docs/ops.md, docs/conformance.json and docs/conformance.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    settings = Settings(samples=args.samples, max_entries=args.max_entries,
                        fallback_entries=args.fallback_entries, seconds=args.seconds)
    ops = [op for op in opinfos() if not args.only or _name(op) in args.only or op.name in args.only]
    results = run(ops, settings, progress=lambda r: print(f"{r.name}: {r.status} {r.detail}", file=sys.stderr))
    in_modes = []
    for op in ops if args.modes else ():
        in_modes += check_op_modes(op, settings, args.modes)
        print("  " + ", ".join(f"{r.mode}: {r.status}" for r in in_modes[-len(args.modes):]), file=sys.stderr)
    sys.stdout.write(render_table(results) + render_modes(in_modes))
    if args.write:
        _write_records(results, in_modes, settings, bool(args.only))
    return 0


def render_modes(results: Sequence[ModeResult]) -> str:
    """Each mode's counts and the ops that disagree in it, as markdown lines."""
    lines = []
    for mode in dict.fromkeys(r.mode for r in results):
        mine = [r for r in results if r.mode == mode]
        lines.append(f"{mode}: " + ", ".join(f"{n} {s}" for s, n in counts(mine).items()))
        lines += [f"  {r.name}: {r.detail}" for r in mine if r.status == "disagrees"]
    return "\n".join(lines) + ("\n" if lines else "")


def _write_records(results: list, in_modes: list, settings: Settings, partial: bool) -> None:
    """docs/opdb.json and docs/ops.md (reverse mode), docs/conformance.json and .md (every mode); `partial`:
    the ops run replace theirs in the records, the rest stay as recorded."""
    from .modes import OPDB_TESTS
    from .report import marks_of, record, render
    from .coverage import render_ops
    from .record import MODES_RECORD, load_modes

    if partial:
        fresh = {r.name: r for r in results}
        results = [fresh.pop(r.name, r) for r in load(EXPECTED)] + list(fresh.values())
        new = {(r.name, r.mode): r for r in in_modes}
        in_modes = [new.pop((r.name, r.mode), r) for r in load_modes()] + list(new.values())
    _write(EXPECTED, dump(results, settings))
    _write(os.path.join(os.path.dirname(EXPECTED), "ops.md"), render_ops())
    ops = {_name(op): op for op in opinfos()}
    tests = {"check_backward_ad": ("TestBwdGradients", "test_fn_grad"), **OPDB_TESTS}
    marks = {(r.name, getattr(r, "mode", "check_backward_ad")): marks_of(ops[r.name], getattr(r, "mode",
                                                                                            "check_backward_ad"), tests)
             for r in list(results) + list(in_modes) if r.status == "disagrees" and r.name in ops}
    text = record(results, in_modes, marks, asdict(settings), torch.__version__)
    _write(MODES_RECORD, text)
    _write(os.path.join(os.path.dirname(EXPECTED), "conformance.md"), render(json.loads(text)))


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)

