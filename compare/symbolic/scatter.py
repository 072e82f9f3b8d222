"""Scatter, index and segment reductions, and the other ops that move entries into a copy.

Each op's meaning says which entries meet at each output entry and how
they combine: one SymPy node per output entry (one `Add` or `Mul` of all
that meet there). Indices are concrete (or decided by the path explorer,
through `shapes.concrete_index`).

amax and amin are `Max` and `Min` of the entries that meet, noted as the
reduction `amax`/`amin`: at a tie autograd shares the gradient evenly
among the tied entries (scatter_reduce_backward, index_reduce_backward and
_segment_reduce_backward divide by the number of entries equal to the
result), which is that rule of `compare.kinks`. Two caveats of torch's
formulas at exact ties: with include_self=False an input entry that
equals the result still takes a share of the gradient, which is then
dropped (so the entries sent get less than all of it: not modelled, torch's
slip); and segment_reduce's `initial` takes no share (modelled: a selection).
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .reductions import _p_norm
from .registry import UnsupportedOp, decide, exprs, meaning, prim
from .shapes import _ITEM, _storage, concrete_index

aten = torch.ops.aten

__all__ = ["combine"]


def combine(reduce: str, entries: list, *, integral: bool = False, initial=None):
    """The entries that meet at one output entry, combined as `reduce` says (`initial` first, if any)."""
    start = [] if initial is None else [initial]
    if reduce == "sum":
        return sympy.Add(*start, *entries)
    if reduce == "prod":
        return sympy.Mul(*start, *entries)
    if reduce == "mean":  # segment_reduce adds its initial to the sum, not to the count
        total = sympy.Add(*start, *entries)
        return sympy.floor(total / len(entries)) if integral else total / len(entries)
    if reduce in ("amax", "max", "amin", "min"):
        big = reduce in ("amax", "max")
        node = (sympy.Max if big else sympy.Min)(*entries)
        if initial is None:
            return node
        # segment_reduce starts from `initial` but gives it no share of the gradient: a selection,
        # the entries' extreme wherever it reaches the initial (a tie included), else the initial
        return node if decide((sympy.Ge if big else sympy.Le)(node, initial), "segment_reduce") else initial
    raise UnsupportedOp(f"a reduction {reduce!r}")


def _integral(x) -> bool:
    dtype = getattr(x, "dtype", torch.float64)
    return not (dtype.is_floating_point or dtype.is_complex)


def _meeting(targets) -> dict:
    """target index -> list of the entries sent to it, in the order sent."""
    met: dict = {}
    for target, entry in targets:
        met.setdefault(target, []).append(entry)
    return met


def _reduced(x, targets, reduce: str, include_self: bool) -> np.ndarray:
    """`x` with each target entry replaced by the reduction of what was sent to it (and itself)."""
    out = exprs(x).copy()
    integral = _integral(x)  # torch's mean of integers rounds down
    for target, sent in _meeting(targets).items():
        entries = ([out[target]] if include_self else []) + sent
        out[target] = combine(reduce, entries, integral=integral)
    return out


# -- scatter_reduce and index_reduce -----------------------------------------------------------
@meaning(aten.scatter_reduce.two)
def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    """x with src's entries reduced into it at `index` along `dim` (sum, prod, mean, amax, amin; x's own
    entries included or not)"""
    i = concrete_index(index)
    s = exprs(src)
    shape = exprs(x).shape
    if not shape:  # a 0-d tensor is scattered into as one of one entry
        targets = [((), s.reshape(-1)[0])] if i.size else []
        return _reduced(x, targets, reduce, include_self)
    d = dim % len(shape)
    targets = [(pos[:d] + (int(i[pos]) % shape[d],) + pos[d + 1:], s[pos]) for pos in np.ndindex(*i.shape)]
    return _reduced(x, targets, reduce, include_self)


@meaning(aten.index_reduce)
def index_reduce(x, dim, index, source, reduce, *, include_self=True):
    """x with source's slices reduced into it at the entries of `index` along `dim` (prod, mean, amax, amin;
    x's own entries included or not)"""
    i = concrete_index(index).reshape(-1)
    s = exprs(source)
    shape = exprs(x).shape
    if not shape:  # torch reads a 0-d tensor (and source) as one of one entry
        return _reduced(x, [((), s.reshape(-1)[0]) for _ in range(len(i))], reduce, include_self)
    d = dim % len(shape)
    targets = [(pos[:d] + (int(i[pos[d]]) % shape[d],) + pos[d + 1:], s[pos]) for pos in np.ndindex(*s.shape)]
    return _reduced(x, targets, reduce, include_self)


# -- segment_reduce -----------------------------------------------------------------------------
_EMPTY = {"sum": sympy.S.Zero, "prod": sympy.S.One, "mean": sympy.nan, "max": -sympy.oo, "min": sympy.oo}
"""An empty segment's value without `initial` (torch's)."""


@meaning(aten.segment_reduce)
def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False,
                   initial=None):
    """Each segment of `data` along `axis` reduced (`lengths`, or `offsets`: where each one starts)."""
    if indices is not None:
        raise UnsupportedOp("aten.segment_reduce with indices (torch has no kernel for it either)")
    e = exprs(data)
    axis = axis % e.ndim
    if lengths is not None:
        counts = concrete_index(lengths)
    else:
        bounds = concrete_index(offsets)
        counts = bounds[..., 1:] - bounds[..., :-1]
    start = None if initial is None else exprs(initial)[()]
    lead = e.shape[:axis]
    counts = np.broadcast_to(counts, lead + counts.shape[-1:])
    out = np.empty(lead + counts.shape[-1:] + e.shape[axis + 1:], dtype=object)
    for outer in np.ndindex(*lead):
        begin = 0
        for k, n in enumerate(counts[outer]):
            n = int(n)
            rows = e[outer + (slice(begin, begin + n),)]
            for inner in np.ndindex(*e.shape[axis + 1:]):
                entries = [rows[(r,) + inner] for r in range(n)]
                out[outer + (k,) + inner] = (combine(reduce, entries, initial=start) if entries else
                                             start if start is not None else _EMPTY[reduce])
            begin += n
    return out


# -- put, masked_scatter -------------------------------------------------------------------------
@meaning(aten.put)
def put(x, index, source, accumulate=False):
    """`x` read as 1-D (row-major), entry index[k] set to (or added) source[k]."""
    out = exprs(x).copy()
    flat = out.reshape(-1)
    i = concrete_index(index).reshape(-1)
    s = exprs(source).reshape(-1)
    if accumulate:
        sent = _meeting([(int(t) % flat.size, s[k]) for k, t in enumerate(i)])
        for target, entries in sent.items():
            flat[target] = sympy.Add(flat[target], *entries)
    else:
        for k, t in enumerate(i):
            flat[int(t) % flat.size] = s[k]
    return flat.reshape(out.shape)


@meaning(aten.masked_scatter)
def masked_scatter(x, mask, source):
    """The entries where `mask` holds (row-major) take the source's entries in order."""
    e, m = exprs(x), concrete_index(mask)
    shape = np.broadcast_shapes(e.shape, m.shape)  # self and mask broadcast together
    out = np.broadcast_to(e, shape).copy()
    m = np.broadcast_to(m, shape)
    s = exprs(source).reshape(-1)
    out[m] = s[:int(m.sum())]
    return out


# -- copies into views: diagonal_scatter (through copy_to) and as_strided_scatter ------------------
@meaning(prim("copy_to"))
def copy_to(a, b):
    """prims.copy_to writes b into a (a view of a fresh copy, in the decompositions that use it)."""
    target = exprs(a)
    target[...] = np.broadcast_to(exprs(b), target.shape)
    return target


def _as_strided_scatter(x, src, size, stride, storage_offset):
    """torch's `out = clone_preserve_strides(x); out.as_strided(size, stride, offset).copy_(src)`."""
    found = _storage(x)
    if found is None:
        raise UnsupportedOp("aten.as_strided_scatter of a tensor whose storage compare does not model")
    flat, at = found
    shape, strides = tuple(exprs(x).shape), tuple(x.stride())
    extent = at + (1 + sum((n - 1) * s for n, s in zip(shape, strides)) if all(shape) else 0)
    buffer = flat[:extent].copy()  # the storage clone_preserve_strides makes: up to x's last entry
    size, stride, offset = tuple(int(n) for n in size), tuple(int(s) for s in stride), int(storage_offset or 0)
    if all(size):
        high = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if offset < 0 or high >= buffer.size:
            raise UnsupportedOp(f"aten.as_strided_scatter writing storage entries {offset}..{high} of a "
                                f"tensor of {buffer.size}")
        window = np.lib.stride_tricks.as_strided(buffer[offset:], shape=size,
                                                 strides=tuple(s * _ITEM for s in stride), writeable=True)
        window[...] = np.broadcast_to(exprs(src), size)
    out = np.lib.stride_tricks.as_strided(buffer[at:], shape=shape, strides=tuple(s * _ITEM for s in strides),
                                          writeable=True)
    return np.array(out, dtype=object)


meaning(aten.as_strided_scatter, prim("as_strided_scatter"))(_as_strided_scatter)


# -- equal: one comparison of whole tensors, a branch ----------------------------------------------
@meaning(aten.equal)
def equal(a, b) -> bool:
    """Same shape and every entry equal: a Python bool, so a branch the explorer decides."""
    x, y = exprs(a), exprs(b)
    if x.shape != y.shape:
        return False
    logical = getattr(a, "dtype", None) == torch.bool  # (a Symbol is a sympy Boolean too: ask the dtype)
    same = [sympy.Equivalent(u, v) if logical else sympy.Eq(u, v) for u, v in zip(x.flat, y.flat)]
    return decide(sympy.And(*same))


# -- _trilinear (bilinear's kernel) ------------------------------------------------------------------
@meaning(aten._trilinear)
def trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim, unroll_dim=1):
    """Each input with size-1 dimensions inserted at `expandK`, multiplied, summed over `sumdim`."""
    parts = []
    for t, expand in ((i1, expand1), (i2, expand2), (i3, expand3)):
        e = exprs(t)
        for d in sorted(expand):
            e = np.expand_dims(e, d)
        parts.append(e)
    product = parts[0] * parts[1] * parts[2]
    keep = [d for d in range(product.ndim) if d not in set(sumdim)]
    moved = np.transpose(product, keep + sorted(set(sumdim)))
    lead = moved.shape[:len(keep)]
    rows = moved.reshape(int(np.prod(lead, dtype=int)), int(np.prod(moved.shape[len(keep):], dtype=int)))
    out = np.empty(len(rows), dtype=object)
    for k, row in enumerate(rows):
        out[k] = sympy.Add(*row)
    return out.reshape(lead)


# -- distances: cdist and pdist --------------------------------------------------------------------
def _distance(p: float):
    """The p-norm of a difference (at zero distance it has a kink: see `compare.kinks`)."""
    return _p_norm(p)


@meaning(aten._cdist_forward)
def cdist(x1, x2, p, compute_mode=None):
    """out[..., i, j] = || x1[..., i, :] - x2[..., j, :] ||_p (batch dimensions broadcast)."""
    a, b = exprs(x1), exprs(x2)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    distance = _distance(float(p))
    out = np.empty(batch + (a.shape[-2], b.shape[-2]), dtype=object)
    for idx in np.ndindex(*out.shape):
        row, col = a[idx[:-2] + (idx[-2],)], b[idx[:-2] + (idx[-1],)]
        out[idx] = distance([u - v for u, v in zip(row, col)])
    return out


@meaning(aten._pdist_forward)
def pdist(x, p=2.0):
    """The distance of every pair of rows i < j, in row-major order of the pairs."""
    e = exprs(x)
    distance = _distance(float(p))
    n = e.shape[0]
    out = [distance([u - v for u, v in zip(e[i], e[j])]) for i in range(n) for j in range(i + 1, n)]
    return np.array(out, dtype=object).reshape(len(out))


# -- embedding_bag ---------------------------------------------------------------------------------
def _bag_entry(rows: list, mode: int, row_of: list[int]) -> tuple:
    """(one bag's entry, the weight row its max came from or None): 0 for an empty bag."""
    from .reductions import _first_index

    if not rows:
        return sympy.S.Zero, None
    if mode == 0:
        return sympy.Add(*rows), None
    if mode == 1:
        return sympy.Add(*rows) / len(rows), None
    node = sympy.Max(*rows)
    first = _first_index(rows, "max")  # a position in the bag, as a Piecewise at a choice
    row = lambda j: sympy.Integer(row_of[int(j)])  # noqa: E731
    return node, (sympy.Piecewise(*((row(j), cond) for j, cond in first.args))
                  if isinstance(first, sympy.Piecewise) else row(first))


@meaning(aten._embedding_bag_forward_only, aten._embedding_bag)
def embedding_bag(weight, indices, offsets, *options):
    """Each bag's rows of `weight` summed (mode 0, weighted by per_sample_weights), averaged (1) or
    maxed entry by entry (2), rows at padding_idx left out; an empty bag is 0.

    offset2bag and bag_size (outputs 1 and 2) depend on the indices only: they are torch's own, from
    its kernel run on a zero weight. max_indices (output 3) of mode 2 is the row of each maximum, the
    first one at a tie (the kernel's strict comparison), decided by the explorer. `options`: the rest
    of the schema (scale_grad_by_freq, mode, sparse, per_sample_weights, include_last_offset, padding_idx).
    """
    _, mode, _, per_sample_weights, include_last_offset, padding_idx = (
        tuple(options) + (False, 0, False, None, False, -1)[len(options):])
    w = exprs(weight)
    idx = concrete_index(indices).reshape(-1)
    starts = [int(o) for o in concrete_index(offsets).reshape(-1)]
    if include_last_offset:
        starts, end = starts[:-1], starts[-1]
    else:
        end = len(idx)
    bounds = list(zip(starts, starts[1:] + [end]))
    psw = None if per_sample_weights is None else exprs(per_sample_weights).reshape(-1)
    zero = torch.zeros(tuple(w.shape), dtype=torch.float64)
    real_psw = None if per_sample_weights is None else torch.zeros(len(idx), dtype=torch.float64)
    _, offset2bag, bag_size, max_indices = torch.ops.aten._embedding_bag_forward_only(
        zero, torch.as_tensor(idx), torch.as_tensor(concrete_index(offsets)), False, mode, False, real_psw,
        include_last_offset, padding_idx)
    pad = padding_idx % w.shape[0] if padding_idx is not None and padding_idx >= 0 else None
    out = np.empty((len(bounds), w.shape[1]), dtype=object)
    picked = exprs(max_indices).copy()
    for b, (lo, hi) in enumerate(bounds):
        members = [k for k in range(lo, hi) if int(idx[k]) != pad]
        for c in range(w.shape[1]):
            rows = [w[int(idx[k]), c] * (psw[k] if psw is not None else 1) for k in members]
            out[b, c], chosen = _bag_entry(rows, mode, [int(idx[k]) for k in members])
            if chosen is not None:
                picked[b, c] = chosen
    aux = [exprs(offset2bag), exprs(bag_size), picked]
    meta = torch.ops.aten._embedding_bag_forward_only(
        torch.empty(tuple(w.shape), device="meta"), torch.as_tensor(idx, device="meta"),
        torch.as_tensor(concrete_index(offsets), device="meta"), False, mode, False,
        None if real_psw is None else torch.empty(len(idx), device="meta"), include_last_offset, padding_idx)
    for k, m in enumerate(meta[1:]):
        if tuple(m.shape) == aux[k].shape:
            continue
        if m.numel() == 0:  # max_indices outside mode 2: empty on the meta kernel, zeros on the CPU one
            aux[k] = np.empty(tuple(m.shape), dtype=object)
        else:
            raise UnsupportedOp(f"aten._embedding_bag_forward_only here: torch's meta kernel gives output "
                                f"{k + 1} shape {tuple(m.shape)}, its CPU kernel {aux[k].shape}")
    return (out, *aux)
