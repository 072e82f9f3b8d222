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
small integer weights that vary along the output (`_loss_terms`): it sees
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
runs again with its sites recorded, `compare.judge.kinks`), else
`unsupported` if one meets an ATen op with no meaning (`UnsupportedOp`), else
`error` (any other exception, or a sample over its time bound), else `runs`. `skipped` ops have no sample within `Settings.fallback_entries`.

    python -m compare.conformance            # counts and the per-op table
    python -m compare.conformance --write    # also docs/opdb.json, and docs/ops.md from it
    python -m compare.conformance --write --only index_add   # re-record some ops only

Needs `expecttest` (the `test` extra): `op_db` lives in torch's test utilities.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from torch.utils._pytree import tree_flatten, tree_map
from torch.utils._python_dispatch import TorchDispatchMode

from . import derive
from .judge import kinks
from .explore import ByValue
from .sym import exact, input_symbols
from .symbolic import BRANCH, MEANINGS, SymTensor, UnsupportedOp, exprs_of, recording
from .judge.verdict import measure
from .opdb_samples import samples as chosen_samples, tensors
from .opdb_record import EXPECTED, STATUSES, OpResult, counts, load  # noqa: F401  (STATUSES: part of the API)
from .symbolic.complexes import imaginary_part, real_part
from .symbolic.draws import RANDOM_OPS, seeded
from .symbolic.registry import ufunc

__all__ = ["OpResult", "Settings", "STATUSES", "opinfos", "check_op", "run", "render_table", "load",
           "EXPECTED"]

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
    matrices has 250, a 4-d tensor 625) that cannot be cut to one (`opdb_samples.narrowed`): its smallest samples up to
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


class _Route(TorchDispatchMode):
    """Notes the ATen ops a call reaches before the symbolic tensors answer them."""

    def __init__(self):
        super().__init__()
        self.decomposed: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        functional = getattr(torch.ops.aten, name[:-1], None) if name.endswith("_") else None
        known = (MEANINGS.get(func) or MEANINGS.get(func.overloadpacket) or name in RANDOM_OPS
                 or (functional is not None and MEANINGS.get(functional))
                 or func in (torch.ops.aten.detach.default, torch.ops.aten._local_scalar_dense.default))
        if not known and any(isinstance(a, SymTensor) for a in tree_flatten((args, kwargs))[0]):
            self.decomposed.add(str(func))
        return func(*args, **(kwargs or {}))


@dataclass(frozen=True)
class _Sample:
    status: str
    detail: str = ""
    decomposed: tuple[str, ...] = ()


def _differentiable(outputs) -> list[torch.Tensor]:
    """The outputs the loss sums: floating and complex ones that autograd tracks."""
    return [o for o in outputs if isinstance(o, torch.Tensor) and (o.dtype.is_floating_point or o.is_complex())
            and o.requires_grad]


def _parts(values: np.ndarray, r: torch.Tensor) -> list[tuple[str, np.ndarray, torch.Tensor]]:
    """(label, exact entries, torch's entries) for each real part of an output: u and v of a complex one."""
    if not r.is_complex():
        return [("", values, r)]
    return [(" (real part)", ufunc(real_part, 1)(values), r.real),
            (" (imaginary part)", ufunc(imaginary_part, 1)(values), r.imag)]


def _weights(size: int, period: int) -> np.ndarray:
    """1, 2, .., period, 1, 2, ..: a complex output's entries' weights in the loss (see `_loss_terms`)."""
    return 1 + np.arange(size) % period


def _loss_terms(values: np.ndarray, r: torch.Tensor) -> np.ndarray:
    """The entries an output adds to the loss, flat: a u + b v for a complex entry u + i v.

    The weights a (1, 2, 3, 4, 1, ..) and b (1, .., 5, 1, ..) vary along the
    output: a plain sum of u (or of v) can be blind, as the real and the
    imaginary parts of a discrete Fourier transform each sum to a multiple
    of the input's first entry, whatever the rest (a full period of cosines,
    or of sines, sums to 0), so that a meaning wrong in the derivative of
    those parts would still give the right gradient. A real output's entries
    are summed as they are.
    """
    if not r.is_complex():
        return values.reshape(-1)
    flat = values.reshape(-1)
    a, b = _weights(flat.size, 4), _weights(flat.size, 5)
    return np.array([int(a[i]) * real_part(e) + int(b[i]) * imaginary_part(e) for i, e in enumerate(flat)],
                    dtype=object)


def _loss(r: torch.Tensor) -> torch.Tensor:
    """torch's side of `_loss_terms`, summed."""
    if not r.is_complex():
        return r.sum()
    a, b = (torch.from_numpy(_weights(r.numel(), p)).to(r.real.dtype).reshape(r.shape) for p in (4, 5))
    return (r.real * a).sum() + (r.imag * b).sum()


def _coarsest(dtypes) -> torch.dtype:
    """The least precise of some floating dtypes (the largest machine epsilon)."""
    return max(dtypes, key=lambda d: torch.finfo(d).eps)


def _where(errors, label: str) -> str:
    return f"{label} differs (abs {errors.max_abs:.3g} at {list(errors.worst or ())})"


def _call(op, input, args, kwargs):
    """The op as its gradcheck calls it: through `gradcheck_wrapper` (which makes `linalg.cholesky`'s
    input Hermitian, for one), so that autograd's gradient is the derivative of what runs."""
    return op.gradcheck_wrapper(op.op, input, *args, **kwargs)


def _symbolic_leaf(t: torch.Tensor, entries: np.ndarray) -> SymTensor:
    """A symbolic tensor of `t`'s entries, laid out in a model of `t`'s storage.

    A sample's input can be a view (`base[5:15]`) whose storage reaches
    past it, and `as_strided` reads there: the storage is modelled whole,
    the view's entries as symbols and the rest as their exact values
    (constants: they do not require grad).
    """
    shape, stride, offset = tuple(t.shape), tuple(t.stride()), t.storage_offset()
    size = t.untyped_storage().nbytes() // t.element_size()
    if (offset == 0 and size == t.numel() and t.is_contiguous()) or t.numel() == 0:
        return SymTensor(entries.copy(), t.dtype)
    positions = {offset + sum(i * s for i, s in zip(index, stride)) for index in np.ndindex(*shape)}
    if len(positions) != t.numel():  # entries that share memory: one symbol each cannot say so
        return SymTensor(entries.copy(), t.dtype)
    whole = torch.as_strided(t.detach(), (size,), (1,), 0)
    storage = np.empty(size, dtype=object)
    storage[:] = [exact(v) for v in whole.tolist()]
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=shape, strides=tuple(s * item for s in stride),
                                           writeable=True)
    view[...] = entries
    return SymTensor(view, t.dtype, strides=stride, offset=offset)


def _finite_symbols(symbols: np.ndarray, t: torch.Tensor) -> np.ndarray:
    """The symbols of a leaf, with its entries that are inf or NaN in place of theirs.

    A symbol stands for a real number, which is finite, so an infinite
    entry (`_safe_softmax`'s samples hold -inf) is the constant it is, as
    torch's kernel sees it: the exact gradient there is 0.
    """
    out = symbols.copy()
    flat = out.reshape(-1)  # a view: the copy is contiguous
    for i, v in enumerate(t.detach().reshape(-1).tolist()):
        if not math.isfinite(v):
            flat[i] = exact(v)
    return out


def _state(sample, leaves) -> list:
    """(tensor, its entries) for each plain floating tensor argument, before the real run.

    An op may update such an argument in place: batch norm in training
    writes its running statistics (torch's kernel does so without bumping
    the tensor's version, so which ones cannot be told beforehand). The
    symbolic run gets each as a constant symbolic tensor of the value the
    real run started from, so a write lands there, as a module's buffers do
    (`compare.modules`); the outputs are what is compared.
    """
    own = {id(t) for t in leaves}
    return [(t, exprs_of(t).copy()) for t in tensors(sample)
            if t.dtype.is_floating_point and id(t) not in own and t.layout == torch.strided]


def _forward_differs(sym_out: list, real_out: list, point: dict, leaves: list) -> str:
    """Where the symbolic forward is not torch's ("" where every output is), part by part."""
    if len(sym_out) != len(real_out):
        return f"{len(sym_out)} outputs, torch gives {len(real_out)}"
    for k, (s, r) in enumerate(zip(sym_out, real_out)):
        if not isinstance(r, torch.Tensor):
            continue
        values = exprs_of(s)
        if values.shape != tuple(r.shape):
            return f"output {k} has shape {values.shape}, torch's {tuple(r.shape)}"
        for label, want, part in _parts(values, r):
            got = part.detach().resolve_neg().to(torch.float64).numpy() if part.dtype != torch.bool \
                else part.detach().numpy().astype(float)
            # torch computes each output in its own dtype (`.float()`, `.half()` round), and in a less
            # precise input's where one is (cov's float32 aweights are summed in float32): the coarser's tolerance
            errors = measure(got, derive.evaluate(want, point), _coarsest(
                [part.dtype if part.dtype.is_floating_point else torch.float64] + [t.dtype for t in leaves]))
            if not errors.agree:
                return _where(errors, f"forward output {k}{label}")
    return ""


DRAW_SEED = 0
"""torch's default generator is seeded with this before the real and before the symbolic run of a sample:
a random op (dropout, rrelu in training) draws the same numbers in both (`compare.symbolic.draws`)."""


def check_sample(op, sample) -> _Sample:
    """One sample, real and symbolic (see the module's docstring)."""
    leaves = [t for t in tensors(sample) if t.dtype.is_floating_point and t.requires_grad]
    state = _state(sample, leaves)
    with seeded(DRAW_SEED):
        real = _call(op, sample.input, sample.args, sample.kwargs)
    symbols = {f"t{k}": input_symbols(f"t{k}", tuple(t.shape)) for k, t in enumerate(leaves)}
    point = {s: exact(v) for k, t in enumerate(leaves)
             for s, v in zip(symbols[f"t{k}"].flat, t.detach().reshape(-1).tolist()) if math.isfinite(v)}
    route = _Route()
    symbolic = _symbolic(op, sample, (leaves, state, symbols), point, route)
    decomposed = tuple(sorted(route.decomposed))
    differs = _forward_differs(tree_flatten(symbolic)[0], tree_flatten(real)[0], point, leaves)
    if differs:
        return _Sample("disagrees", differs, decomposed)
    status, detail = _gradient(op, sample, (leaves, state, symbols), point,
                               (_processed(sample, real), _processed(sample, symbolic)))
    return _Sample(status, detail, decomposed)


def _processed(sample, out) -> list:
    """The outputs op_db's own gradcheck differentiates: through the sample's `output_process_fn_grad`
    (|eigenvectors|, say: invariant under their signs and phases), flattened."""
    return tree_flatten(sample.output_process_fn_grad(out))[0]


def _gradient(op, sample, inputs: tuple, point: dict, outs: tuple) -> tuple[str, str]:
    """(status, detail) from the exact gradient of the loss against autograd's."""
    leaves, _, symbols = inputs
    real_out, sym_out = outs
    differentiable = _differentiable(real_out)
    if not leaves or not differentiable:
        return "runs", ""
    index = [k for k, r in enumerate(real_out) if any(r is f for f in differentiable)]
    total = sum(_loss(f) for f in differentiable)
    grads = torch.autograd.grad(total, leaves, allow_unused=True)
    outputs = np.concatenate([_loss_terms(exprs_of(sym_out[k]), real_out[k]) for k in index])
    exact_grad = {n: _evaluated(g, point, symbols) for n, g in derive.gradient(outputs, symbols).items()}
    auto = {f"t{k}": (g if g is not None and not g._is_zerotensor() else torch.zeros_like(leaves[k])).detach().numpy()
            for k, g in enumerate(grads)}
    # autograd's gradient is in its leaf's dtype, computed with every input and output in play
    coarsest = _coarsest([t.dtype for t in leaves] + [f.real.dtype if f.is_complex() else f.dtype for f in differentiable])
    for name in symbols:
        errors = measure(auto[name], exact_grad[name], coarsest)
        if errors.agree:
            continue
        ops = _at_a_kink(op, sample, inputs, point, (index, real_out, auto, coarsest))
        if ops:
            return "runs", f"at a kink of {ops}: autograd follows PyTorch's rules"
        return "disagrees", _where(errors, f"gradient for input {name}")
    return "runs", ""


def _evaluated(g: np.ndarray, point: dict, symbols: dict) -> np.ndarray:
    """A gradient's entries at the point: every entry at once, on Arb's balls first (`derive.evaluate_many`:
    a gradient through eigenvector nodes is too long for SymPy's evalf entry by entry), or entry by entry
    where an input entry is infinite (its symbol a constant, not in the point)."""
    if all(s in point for syms in symbols.values() for s in syms.flat):
        return derive.evaluate_many(g, [point], symbols)[0]
    return derive.evaluate(g, point)


def _symbolic(op, sample, inputs: tuple, point: dict, route=None):
    """The op's output on symbolic tensors, branches decided by the point (inside `route`, where one is
    given), from the generator state the real run started from."""
    leaves, state, symbols = inputs
    by_id = {id(t): _symbolic_leaf(t, _finite_symbols(symbols[f"t{k}"], t)) for k, t in enumerate(leaves)}
    by_id.update({id(t): SymTensor(before.copy(), t.dtype) for t, before in state})
    swap = lambda v: by_id.get(id(v), v) if isinstance(v, torch.Tensor) else v  # noqa: E731
    s_input, s_args, s_kwargs = tree_map(swap, (sample.input, sample.args, sample.kwargs))
    token = BRANCH.set(ByValue(point))
    try:
        with route if route is not None else contextlib.nullcontext(), seeded(DRAW_SEED):
            return _call(op, s_input, s_args, s_kwargs)
    finally:
        BRANCH.reset(token)


def _at_a_kink(op, sample, inputs: tuple, point: dict, autograd: tuple) -> str:
    """The ops at whose kinks the point lies, where autograd gives a gradient PyTorch's rules allow there
    ("" elsewhere): the op runs again with its sites recorded, and the chain rule goes through them."""
    index, real_out, auto, coarsest = autograd
    with recording() as rec:
        sym_out = _processed(sample, _symbolic(op, sample, inputs, point))
    outputs = np.concatenate([_loss_terms(exprs_of(sym_out[k]), real_out[k]) for k in index])
    chain = kinks.Chain(sites=rec.sites, point=point)
    chain.locate(outputs.flat)
    if not chain.kinked(second=False):
        return ""
    allowed = chain.allowed(derive.gradient(outputs, inputs[2]), second=False)
    if allowed.match(auto, coarsest) is None:
        return ""
    return ", ".join(sorted({rec.sites[k].op for k in chain.kinked(second=False)}))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


def _guarded(op, sample, seconds: int) -> _Sample:
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return check_sample(op, sample)
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
        samples = chosen_samples(op, settings)
    except Exception as e:
        return OpResult(_name(op), "error", "", "sample_inputs: " + _first_line(e), 0)
    if not samples:
        most = max(settings.max_entries, settings.fallback_entries)
        return OpResult(_name(op), "skipped", "", f"no sample with at most {most} entries a tensor", 0)
    results = [_guarded(op, s, settings.seconds) for s in samples]
    for status in _PRECEDENCE:
        hit = [r for r in results if r.status == status]
        if hit:
            break
    detail = next((r.detail for r in hit if r.detail), "")
    route = ""
    if status == "runs":
        route = "decomposition" if any(r.decomposed for r in results) else "direct"
    return OpResult(_name(op), status, route, detail, len(samples))


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


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m compare.conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=Settings.samples)
    parser.add_argument("--seconds", type=int, default=Settings.seconds)
    parser.add_argument("--max-entries", type=int, default=Settings.max_entries)
    parser.add_argument("--fallback-entries", type=int, default=Settings.fallback_entries)
    parser.add_argument("--only", nargs="*", help="op names to check (default: all)")
    parser.add_argument("--write", action="store_true", help="write docs/opdb.json and docs/ops.md")
    args = parser.parse_args(argv)
    settings = Settings(samples=args.samples, max_entries=args.max_entries,
                        fallback_entries=args.fallback_entries, seconds=args.seconds)
    ops = [op for op in opinfos() if not args.only or _name(op) in args.only or op.name in args.only]
    results = run(ops, settings, progress=lambda r: print(f"{r.name}: {r.status} {r.detail}", file=sys.stderr))
    sys.stdout.write(render_table(results))
    if args.write:
        from .coverage import render_ops

        if args.only:  # the ops named replace theirs in the record; the rest stay as recorded
            fresh = {r.name: r for r in results}
            results = [fresh.pop(r.name, r) for r in load(EXPECTED)] + list(fresh.values())
        _write(EXPECTED, dump(results, settings))
        _write(os.path.join(os.path.dirname(EXPECTED), "ops.md"), render_ops())
    return 0


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
