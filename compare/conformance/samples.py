"""op_db's samples, as the conformance run takes them: which samples, and each run real and symbolic.

    samples(op, settings)  -> the op's first small float64 samples (`Settings` of compare.conformance)
    prepare(op, sample)    -> the sample run on real tensors and on symbolic ones (`Prepared`)

`compare.conformance` judges reverse mode from a `Prepared`,
`compare.conformance.modes` every other mode. See compare/conformance.py's
docstring for how leaves, constants and the loss are made.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
from torch.utils._pytree import tree_flatten, tree_map
from torch.utils._python_dispatch import TorchDispatchMode

from ..exact import evaluate
from ..explore import ByValue
from .. import kinks
from ..agreement import measure
from ..exact.sym import exact, input_symbols
from ..symbolic import BRANCH, MEANINGS, SymTensor, exprs_of, recording
from ..symbolic.complexes import imaginary_part, real_part
from ..symbolic.draws import RANDOM_OPS, seeded
from ..symbolic.registry import ufunc

__all__ = ["Prepared", "prepare", "symbolic", "point_kinks", "differentiated", "evaluated", "samples", "tensors",
           "loss", "loss_terms", "call", "processed", "DRAW_SEED"]

DRAW_SEED = 0
"""torch's default generator is seeded with this before each run of a sample, real or symbolic: a random op
(dropout, rrelu in training) draws the same numbers in every run (`compare.symbolic.draws`)."""


def tensors(sample) -> list[torch.Tensor]:
    return [t for t in tree_flatten((sample.input, sample.args, sample.kwargs))[0] if isinstance(t, torch.Tensor)]


def _small(sample, limit: int) -> bool:
    return all(t.numel() <= limit for t in tensors(sample))


def _empty(sample) -> bool:
    """Has the sample nothing to differentiate: every floating tensor that requires grad has no entry?
    (op_db's first samples of cholesky_inverse, for one, are 0 x 0.)"""
    leaves = [t for t in tensors(sample) if t.dtype.is_floating_point and t.requires_grad]
    return bool(leaves) and all(t.numel() == 0 for t in leaves)


def _entries(sample) -> int:
    return max((t.numel() for t in tensors(sample)), default=0)


def samples(op, settings) -> list:
    """The op's first `samples` samples within `max_entries`; else its first sample cut to that size
    (`_narrowed`); else its smallest samples within `fallback_entries` (the first of equal size first).
    Samples with nothing to differentiate (`_empty`) are passed over."""
    torch.manual_seed(settings.seed)
    found, larger = [], []
    for sample in op.sample_inputs("cpu", torch.float64, requires_grad=True):
        if _empty(sample):
            continue
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
    """1, 2, .., period, 1, 2, ..: a complex output's entries' weights in the loss (see `loss_terms`)."""
    return 1 + np.arange(size) % period


def loss_terms(values: np.ndarray, r: torch.Tensor) -> np.ndarray:
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


def loss(r: torch.Tensor) -> torch.Tensor:
    """torch's side of `loss_terms`, summed."""
    if not r.is_complex():
        return r.sum()
    a, b = (torch.from_numpy(_weights(r.numel(), p)).to(r.real.dtype).reshape(r.shape) for p in (4, 5))
    return (r.real * a).sum() + (r.imag * b).sum()


def _coarsest(dtypes) -> torch.dtype:
    """The least precise of some floating dtypes (the largest machine epsilon)."""
    return max(dtypes, key=lambda d: torch.finfo(d).eps)


def _where(errors, label: str) -> str:
    return f"{label} differs (abs {errors.max_abs:.3g} at {list(errors.worst or ())})"


def call(op, input, args, kwargs):
    """The op as its gradcheck calls it: through `gradcheck_wrapper` (which makes `linalg.cholesky`'s
    input Hermitian, for one), so that autograd's gradient is the derivative of what runs; from the
    generator state every run of the sample starts from (`DRAW_SEED`)."""
    with seeded(DRAW_SEED):
        return op.gradcheck_wrapper(op.op, input, *args, **kwargs)


def processed(sample, out) -> list:
    """The outputs op_db's own gradcheck differentiates: through the sample's `output_process_fn_grad`
    (|eigenvectors|, say: invariant under their signs and phases), flattened."""
    return tree_flatten(sample.output_process_fn_grad(out))[0]


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
            errors = measure(got, evaluate.evaluate(want, point), _coarsest(
                [part.dtype if part.dtype.is_floating_point else torch.float64] + [t.dtype for t in leaves]))
            if not errors.agree:
                return _where(errors, f"forward output {k}{label}")
    return ""


@dataclass(frozen=True)
class Prepared:
    """One sample run on real tensors under autograd and on symbolic tensors."""

    op: object
    """The OpInfo."""
    sample: object
    """The SampleInput."""
    leaves: list
    """The floating tensors that require grad: the inputs differentiated."""
    state: list
    """(tensor, its values before the call) for each tensor the op writes into (`_state`)."""
    symbols: dict
    """"t0", "t1", ... -> each leaf's SymPy symbols."""
    point: dict
    """Symbol -> the leaf entry's exact value (finite entries only)."""
    real_out: list
    """torch's outputs as op_db's gradcheck differentiates them (`processed`)."""
    sym_out: list
    """The symbolic outputs, likewise."""
    real_forward: list
    """torch's outputs as the op returns them, flattened: the forward is compared on these."""
    sym_forward: list
    """The symbolic outputs as the op returns them, flattened."""
    decomposed: tuple[str, ...]
    """The ATen ops that went through PyTorch's decompositions."""


def prepare(op, sample) -> Prepared:
    """The sample run real and symbolic, each floating input that requires grad a tensor of symbols."""
    leaves = [t for t in tensors(sample) if t.dtype.is_floating_point and t.requires_grad]
    state = _state(sample, leaves)
    real = call(op, sample.input, sample.args, sample.kwargs)
    symbols = {f"t{k}": input_symbols(f"t{k}", tuple(t.shape)) for k, t in enumerate(leaves)}
    point = {s: exact(v) for k, t in enumerate(leaves)
             for s, v in zip(symbols[f"t{k}"].flat, t.detach().reshape(-1).tolist()) if math.isfinite(v)}
    route = _Route()
    sym = symbolic(op, sample, (leaves, state, symbols), point, route)
    return Prepared(op, sample, leaves, state, symbols, point, processed(sample, real), processed(sample, sym),
                    tree_flatten(real)[0], tree_flatten(sym)[0], tuple(sorted(route.decomposed)))


def symbolic(op, sample, inputs: tuple, point: dict, route=None):
    """The op on symbolic tensors (`inputs`: leaves, state, symbols), as it returns them, branches decided
    by the point (inside `route`, where one is given)."""
    leaves, state, symbols = inputs
    by_id = {id(t): _symbolic_leaf(t, _finite_symbols(symbols[f"t{k}"], t)) for k, t in enumerate(leaves)}
    by_id.update({id(t): SymTensor(before.copy(), t.dtype) for t, before in state})
    swap = lambda v: by_id.get(id(v), v) if isinstance(v, torch.Tensor) else v  # noqa: E731
    s_input, s_args, s_kwargs = tree_map(swap, (sample.input, sample.args, sample.kwargs))
    token = BRANCH.set(ByValue(point))
    try:
        with route if route is not None else contextlib.nullcontext():
            return call(op, s_input, s_args, s_kwargs)
    finally:
        BRANCH.reset(token)


def point_kinks(prep: Prepared, index: list[int], terms: np.ndarray, second: bool) -> kinks.PointKinks | None:
    """The loss's kinked sites at the sample's point (`compare.kinks`; at the first order, or with `second`
    also the second), None where there is none: the op runs again with its sites recorded. `index`,
    `terms`: the outputs the loss sums and its terms (`differentiated`)."""
    with recording() as rec:
        out = processed(prep.sample, symbolic(prep.op, prep.sample, (prep.leaves, prep.state, prep.symbols),
                                              prep.point))
    headed = np.concatenate([loss_terms(exprs_of(out[k]), prep.real_out[k]) for k in index])
    sites = kinks.PieceKinks(SimpleNamespace(output=terms, decisions=()), prep.symbols,
                             lambda: (headed, rec, frozenset()))
    chain = kinks.Chain(sites=rec.sites, point=prep.point)
    chain.locate(headed.flat)
    return kinks.PointKinks(sites, chain, second) if chain.kinked(second) else None


def evaluated(g: np.ndarray, point: dict, symbols: dict) -> np.ndarray:
    """A gradient's entries at the point: every entry at once, on Arb's balls first (`evaluate.evaluate_many`:
    a gradient through eigenvector nodes is too long for SymPy's evalf entry by entry), or entry by entry
    where an input entry is infinite (its symbol a constant, not in the point)."""
    if all(s in point for syms in symbols.values() for s in syms.flat):
        return evaluate.evaluate_many(g, [point], symbols)[0]
    return evaluate.evaluate(g, point)


def differentiated(prep: Prepared) -> tuple[list[int], np.ndarray]:
    """(the indices of the outputs the loss sums, the loss's terms as exact expressions, flat)."""
    differentiable = _differentiable(prep.real_out)
    index = [k for k, r in enumerate(prep.real_out) if any(r is f for f in differentiable)]
    terms = (np.concatenate([loss_terms(exprs_of(prep.sym_out[k]), prep.real_out[k]) for k in index])
             if index else np.zeros(0, dtype=object))
    return index, terms
