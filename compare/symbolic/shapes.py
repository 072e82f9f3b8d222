"""Views, indexing and the ops that only move entries: their meaning is where each entry goes.

A view's entries are a NumPy view of its input's (basic indexing,
transposes, reshapes and strided views alias in NumPy as in torch), so an
in-place write through a view reaches its base. Indexing with a tensor
that holds symbolic values (a boolean mask `x > 0`, an index from
`argmax`) asks the path explorer for each entry's value.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .registry import prim, NeedsValue, UnsupportedOp, decide, exprs, meaning

aten = torch.ops.aten

__all__ = ["concrete_index"]

_ITEM = np.dtype(object).itemsize


def _shape(size, total: int) -> tuple[int, ...]:
    size = [int(s) for s in size]
    if -1 in size:
        known = int(np.prod([s for s in size if s != -1], dtype=int))
        size[size.index(-1)] = total // known if known else 0
    return tuple(size)


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (through `as_strided`'s views too, whose base holds the array)."""
    while True:
        base = a.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # as_strided's holder of the interface
        if not isinstance(base, np.ndarray):
            return a
        a = base


def _storage(x) -> tuple[np.ndarray, int] | None:
    """`x`'s storage as NumPy holds it (a flat view of the root array) and `x`'s offset in it.

    None when the NumPy layout of `x`'s entries is not the one torch gives
    `x` (a detached view is a fresh array with its view's strides and
    offset): then positions in torch's storage have no NumPy counterpart.
    """
    e = exprs(x)
    root = _root(e)
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    start = e.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    at = start // _ITEM
    torch_offset = x.storage_offset() if isinstance(x, torch.Tensor) else 0
    torch_strides = x.stride() if isinstance(x, torch.Tensor) else tuple(s // _ITEM for s in e.strides)
    if at != torch_offset or any(n > 1 and s != t * _ITEM for n, s, t in zip(e.shape, e.strides, torch_strides)):
        return None
    flat = np.lib.stride_tricks.as_strided(root, shape=(root.size,), strides=(_ITEM,), writeable=True)
    return flat, at


def strided(x, size, stride, offset: int = 0) -> np.ndarray:
    """A writable view of `x`'s storage with torch's (size, stride in entries, storage offset).

    torch's storage of a view reaches past the view (`base[5:15]` has 20
    entries of storage): the entries reached are read from the NumPy root
    array that the view's entries live in, and refused when that array is
    not torch's storage or the view reads past it (NumPy would read
    whatever memory lies there).
    """
    size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(offset)
    found = _storage(x)
    if found is None:
        raise UnsupportedOp("aten.as_strided of a tensor whose storage compare does not model "
                            "(a detached or copied view)")
    flat, _ = found
    if any(n == 0 for n in size):
        return np.empty(size, dtype=object)
    low = offset + sum((n - 1) * s for n, s in zip(size, stride) if s < 0)
    high = offset + sum((n - 1) * s for n, s in zip(size, stride) if s > 0)
    if low < 0 or high >= flat.size:
        raise UnsupportedOp(f"aten.as_strided reading storage entries {low}..{high} of a tensor whose "
                            f"known storage has {flat.size} (entries outside it have no value here)")
    return np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=tuple(s * _ITEM for s in stride),
                                           writeable=True)


def _entry(a: np.ndarray, index: tuple) -> np.ndarray:
    """`a[index]` as a view, also when `index` picks one entry (NumPy would return the entry itself)."""
    return a[index + (Ellipsis,)]


# -- views ---------------------------------------------------------------------------------
@meaning(aten.view, aten._unsafe_view, aten.reshape, prim("reshape"), aten.view_copy)
def view(x, size):
    """x's entries in row-major order, in the shape `size`"""
    e = exprs(x)
    return e.reshape(_shape(size, e.size))


@meaning(aten.alias, prim("view_of"), aten.lift_fresh)
def alias(x):
    """x itself: a view of the same entries"""
    return exprs(x).view()


@meaning(aten.expand, aten.expand_copy)
def expand(x, size, *, implicit=False):
    """x broadcast to `size` (-1 keeps a dimension's size)"""
    e = exprs(x)
    lead = len(size) - e.ndim
    shape = tuple(e.shape[i - lead] if s == -1 else int(s) for i, s in enumerate(size))
    return np.broadcast_to(e, shape)


@meaning(prim("broadcast_in_dim"))
def broadcast_in_dim(x, shape, broadcast_dimensions):
    """x broadcast to `shape`, its dimensions placed at `broadcast_dimensions`"""
    e = exprs(x)
    kept = [1] * len(shape)
    for source, target in enumerate(broadcast_dimensions):
        kept[target] = e.shape[source]
    return np.broadcast_to(e.reshape(kept), tuple(shape))


@meaning(aten.permute, prim("transpose"))
def permute(x, dims):
    """x with its dimensions in the order `dims`"""
    return np.transpose(exprs(x), [d % max(exprs(x).ndim, 1) for d in dims])


@meaning(aten.transpose)
def transpose(x, dim0, dim1):
    """x with dimensions `dim0` and `dim1` swapped"""
    return np.swapaxes(exprs(x), dim0, dim1)


@meaning(aten.t, aten.numpy_T)
def t(x):
    """a matrix's transpose (a 0-d or 1-d x itself)"""
    return exprs(x).T


@meaning(aten.unsqueeze)
def unsqueeze(x, dim):
    """x with a dimension of size 1 inserted at `dim`"""
    e = exprs(x)
    return np.expand_dims(e, dim % (e.ndim + 1))


@meaning(aten.squeeze, prim("squeeze"))
def squeeze(x, dim=None):
    """x without its dimensions of size 1 (of those in `dim` only, where given)"""
    e = exprs(x)
    if dim is None:
        return np.squeeze(e)
    dims = tuple(d % max(e.ndim, 1) for d in ((dim,) if isinstance(dim, int) else dim))
    dims = tuple(d for d in dims if e.ndim and e.shape[d] == 1)
    return np.squeeze(e, axis=dims) if dims else e.view()


@meaning(aten.select)
def select(x, dim, index):
    """the slice of x at `index` along `dim`, that dimension removed"""
    e = exprs(x)
    dim = dim % e.ndim
    return _entry(e, (slice(None),) * dim + (int(index),))


@meaning(aten.slice)
def slice_(x, dim=0, start=None, end=None, step=1):
    """x[start:end:step] along `dim`"""
    e = exprs(x)
    return e[(slice(None),) * (dim % e.ndim) + (slice(start, end, step),)]


@meaning(prim("slice"))
def prims_slice(x, start_indices, limit_indices, strides=None):
    """x[start:limit:stride] along every dimension"""
    strides = strides or [1] * len(start_indices)
    return exprs(x)[tuple(slice(a, b, s) for a, b, s in zip(start_indices, limit_indices, strides))]


@meaning(prim("slice_in_dim"))
def slice_in_dim(x, start_index, limit_index, stride=1, axis=0):
    """x[start:limit:stride] along `axis`"""
    return slice_(x, axis, start_index, limit_index, stride)


@meaning(aten.narrow)
def narrow(x, dim, start, length):
    """x[start:start + length] along `dim`"""
    return slice_(x, dim, int(start), int(start) + int(length))


@meaning(aten.unbind)
def unbind(x, dim=0):
    """the slices of x along `dim`, each without that dimension"""
    e = exprs(x)
    return [select(x, dim, i) for i in range(e.shape[dim % e.ndim])]


@meaning(aten.split)
def split(x, split_size, dim=0):
    """x cut along `dim` into pieces of `split_size` entries (the last may be shorter)"""
    n = exprs(x).shape[dim]
    return [slice_(x, dim, s, s + split_size) for s in range(0, max(n, 1), split_size)] if n else [slice_(x, dim, 0, 0)]


@meaning(aten.split_with_sizes)
def split_with_sizes(x, split_sizes, dim=0):
    """x cut along `dim` into pieces of the sizes given"""
    starts = np.cumsum([0] + list(split_sizes))
    return [slice_(x, dim, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]


@meaning(aten.as_strided, prim("as_strided"))
def as_strided(x, size, stride, storage_offset=None):
    """x's storage read with the given size, strides and storage offset"""
    offset = x.storage_offset() if storage_offset is None else storage_offset
    return strided(x, size, stride, offset)


@meaning(aten.diagonal)
def diagonal(x, offset=0, dim1=0, dim2=1):
    """the diagonal at `offset` of each (dim1, dim2) plane, as a last dimension"""
    e = exprs(x)
    dim1, dim2 = dim1 % e.ndim, dim2 % e.ndim
    n1, n2 = e.shape[dim1], e.shape[dim2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = [0] * e.ndim
    if offset >= 0:
        start[dim2] = offset
    else:
        start[dim1] = -offset
    # The diagonal of the view `e`, as a strided view of the same memory (np.diagonal is read-only).
    base = e[tuple(slice(s, None) for s in start)] if length else e[tuple(slice(0, 0) for _ in start)]
    rest = [d for d in range(e.ndim) if d not in (dim1, dim2)]
    shape = [e.shape[d] for d in rest] + [length]
    strides = [base.strides[d] for d in rest] + [base.strides[dim1] + base.strides[dim2]]
    return np.lib.stride_tricks.as_strided(base, shape=shape, strides=strides, writeable=True)


@meaning(aten.unfold)
def unfold(x, dimension, size, step):
    """each window of `size` entries, `step` apart, along `dimension`, as a new last dimension"""
    e = exprs(x)
    if e.ndim == 0:
        return e.reshape(1)
    d = dimension % e.ndim
    count = (e.shape[d] - size) // step + 1
    shape = list(e.shape[:d]) + [count] + list(e.shape[d + 1:]) + [size]
    strides = list(e.strides[:d]) + [e.strides[d] * step] + list(e.strides[d + 1:]) + [e.strides[d]]
    return np.lib.stride_tricks.as_strided(e, shape=shape, strides=strides, writeable=True)


# -- copies that move entries --------------------------------------------------------------------
@meaning(aten.cat, prim("cat"))
def cat(tensors, dim=0):
    """the tensors joined along `dim` (1-d empty ones skipped, as torch does)"""
    parts = [exprs(t) for t in tensors]
    parts = [p for p in parts if not (p.ndim == 1 and p.size == 0)] or parts  # torch skips 1-d empties
    return np.concatenate(parts, axis=dim % max(parts[0].ndim, 1))


@meaning(aten.stack)
def stack(tensors, dim=0):
    """the tensors stacked along a new dimension `dim`"""
    parts = [exprs(t) for t in tensors]
    return np.stack(parts, axis=dim % (parts[0].ndim + 1))


@meaning(aten.flip, prim("rev"))
def flip(x, dims):
    """x reversed along each dimension in `dims`"""
    return np.flip(exprs(x), axis=tuple(dims)).copy()


@meaning(aten.constant_pad_nd)
def constant_pad_nd(x, pad, value=0):
    """x padded with `value` on both sides of its last dimensions (a negative padding crops)"""
    e = exprs(x)
    out = e
    for k in range(len(pad) // 2):
        d = e.ndim - 1 - k
        before, after = int(pad[2 * k]), int(pad[2 * k + 1])
        if before < 0:
            out = out[(slice(None),) * d + (slice(-before, None),)]
        if after < 0:
            out = out[(slice(None),) * d + (slice(None, out.shape[d] + after),)]
        fill = sympy.Integer(0) if value == 0 else exprs(value)[()]
        width = [(0, 0)] * e.ndim
        width[d] = (max(before, 0), max(after, 0))
        padded = np.empty([s + a + b for s, (a, b) in zip(out.shape, width)], dtype=object)
        padded[...] = fill
        padded[tuple(slice(a, a + s) for s, (a, _) in zip(out.shape, width))] = out
        out = padded
    return out.copy()


# -- indexing with tensors -------------------------------------------------------------------------
def concrete_index(value) -> np.ndarray:
    """An index tensor's entries as integers (or booleans); symbolic ones are decided by the explorer."""
    if isinstance(value, torch.Tensor) and not hasattr(value, "exprs"):
        return value.detach().cpu().numpy()
    e = exprs(value)
    if e.size and isinstance(e.flat[0], sympy.logic.boolalg.Boolean):
        out = np.array([decide(c, "index") for c in e.flat], dtype=bool)
        return out.reshape(e.shape)
    out = np.array([_integer(v) for v in e.flat], dtype=np.int64)
    return out.reshape(e.shape)


def _integer(v) -> int:
    if v.is_number:
        return int(v)
    if isinstance(v, sympy.Piecewise):  # an index from argmax: the explorer decides which piece holds
        for value, condition in v.args:
            if decide(condition, "index"):
                return _integer(value)
    raise NeedsValue(f"an index with the symbolic value {v} needs a concrete number")


def _index_tuple(indices, ndim: int) -> tuple:
    out = []
    for i in indices:
        out.append(slice(None) if i is None else concrete_index(i))
    return tuple(out)


@meaning(aten.index)
def index(x, indices):
    """x[indices]: indexing with integer and bool tensors"""
    e = exprs(x)
    return np.array(e[_index_tuple(indices, e.ndim)], dtype=object)


@meaning(aten.index_put)
def index_put(x, indices, values, accumulate=False):
    """x with x[indices] set to `values` (or `values` added there, with accumulate)"""
    e = exprs(x)
    v = exprs(values)
    symbolic_mask = (len(indices) == 1 and hasattr(indices[0], "exprs") and indices[0].dtype == torch.bool)
    if symbolic_mask and v.size == 1 and not accumulate:  # x[x > 0] = c: entry by entry, a Piecewise
        from .elementwise import where

        mask = exprs(indices[0]).reshape(indices[0].shape + (1,) * (e.ndim - indices[0].dim()))
        return where(np.broadcast_to(mask, e.shape), np.broadcast_to(v.reshape(()), e.shape), e)
    out = e.copy()
    where_ = _index_tuple(indices, e.ndim)
    if accumulate:
        np.add.at(out, where_, v)
    else:
        out[where_] = v
    return out


@meaning(aten.index_select)
def index_select(x, dim, index):
    """x's slices at the entries of `index` along `dim`"""
    e = exprs(x)
    i = concrete_index(index).reshape(-1)
    if e.ndim == 0:  # torch reads a 0-d input as one entry, and keeps it 0-d
        return e.reshape(1)[i].reshape(())
    d = dim % e.ndim
    return np.take(e, i, axis=d)


@meaning(aten.gather)
def gather(x, dim, index, *, sparse_grad=False):
    """x's entries picked by `index` along `dim`: out[..., i, ...] = x[..., index[..., i, ...], ...]"""
    e = exprs(x)
    i = concrete_index(index)
    if e.ndim == 0:
        return np.broadcast_to(e, i.shape).copy()
    return np.take_along_axis(e[tuple(slice(0, n) for n in i.shape[:dim % e.ndim])
                                + (slice(None),) + tuple(slice(0, n) for n in i.shape[dim % e.ndim + 1:])],
                              i, axis=dim % e.ndim)


def _scatter(x, dim, index, src, combine):
    out = exprs(x).copy()
    i = concrete_index(index)
    s = np.broadcast_to(exprs(src), i.shape) if exprs(src).ndim == 0 else exprs(src)
    if out.ndim == 0:
        out[()] = combine(out[()], s.reshape(-1)[0]) if i.size else out[()]
        return out
    d = dim % out.ndim
    for pos in np.ndindex(*i.shape):
        target = pos[:d] + (int(i[pos]),) + pos[d + 1:]
        out[target] = combine(out[target], s[pos])
    return out


@meaning(aten.scatter)
def scatter(x, dim, index, src=None, value=None, *, reduce=None):
    """x with src (or `value`) written at `index` along `dim` (added or multiplied, with `reduce`)"""
    source = src if src is not None else value
    if reduce is None:
        return _scatter(x, dim, index, source, lambda old, new: new)
    return _scatter(x, dim, index, source, (lambda a, b: a + b) if reduce == "add" else (lambda a, b: a * b))


meaning(aten.scatter_add, doc="x with src added at `index` along `dim`")(
    lambda x, dim, index, src: _scatter(x, dim, index, src, lambda a, b: a + b))


@meaning(aten.index_add)
def index_add(x, dim, index, source, *, alpha=1):
    """x with alpha times source's slices added at the entries of `index` along `dim`"""
    out = exprs(x).copy()
    i = concrete_index(index).reshape(-1)
    s = np.asarray(exprs(source) * alpha if alpha != 1 else exprs(source), dtype=object)
    scalar = out.ndim == 0
    if scalar:  # torch indexes a 0-d tensor (and source) as one of shape (1,)
        out, s = out.reshape(1), s.reshape(1)
    d = dim % max(out.ndim, 1)
    for k, target in enumerate(i):
        sel = (slice(None),) * d + (int(target),)
        src = (slice(None),) * d + (k,)
        out[sel + (Ellipsis,)] = out[sel + (Ellipsis,)] + s[src + (Ellipsis,)]
    return out.reshape(()) if scalar else out


@meaning(aten.masked_select)
def masked_select(x, mask):
    """the entries of x where `mask` holds, in row-major order, as a 1-d tensor"""
    e, m = np.broadcast_arrays(exprs(x), concrete_index(mask))
    return np.array(e[m], dtype=object)


# -- factories from an input's shape and dtype --------------------------------------------------
def _filled(shape, value) -> np.ndarray:
    out = np.empty(tuple(shape), dtype=object)
    out[...] = value
    return out


_UNINITIALISED = sympy.nan  # what `empty_like` holds until written: reading it is reading garbage
meaning(aten.zeros_like, doc="0 in x's shape")(lambda x, **_: _filled(x.shape, sympy.S.Zero))
meaning(aten.ones_like, doc="1 in x's shape")(lambda x, **_: _filled(x.shape, sympy.S.One))
meaning(aten.empty_like, doc="NaN (uninitialised) in x's shape")(lambda x, **_: _filled(x.shape, _UNINITIALISED))
meaning(aten.full_like, doc="`fill_value` in x's shape")(
    lambda x, fill_value, **_: _filled(x.shape, exprs(fill_value)[()]))
meaning(aten.new_zeros, doc="0 in the shape `size`")(lambda x, size, **_: _filled(size, sympy.S.Zero))
meaning(aten.new_ones, doc="1 in the shape `size`")(lambda x, size, **_: _filled(size, sympy.S.One))
meaning(aten.new_empty, aten.new_empty_strided, doc="NaN (uninitialised) in the shape `size`")(
    lambda x, size, *a, **_: _filled(size, _UNINITIALISED))
meaning(aten.new_full, doc="`fill_value` in the shape `size`")(
    lambda x, size, fill_value, **_: _filled(size, exprs(fill_value)[()]))
meaning(aten.fill, doc="`value` in every entry of x")(
    lambda x, value: _filled(x.shape, exprs(value).reshape(-1)[0]))
meaning(aten.zero, doc="0 in every entry of x")(lambda x: _filled(x.shape, sympy.S.Zero))
