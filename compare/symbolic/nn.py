"""Convolution, pooling and selection (sort, topk, kthvalue, median).

Convolution and average pooling are sums, so each output entry is one
`sympy.Add` of its terms. Max pooling is `sympy.Max` of each window, noted
as a `max(dim)` kink: at a tie autograd gives the gradient to the index the
op returns, the first largest entry of the window.

Sorting is a selection: which entry lands where depends on the values.
Each comparison is decided by the path explorer (`decide`), so a point
gets the exact derivative of the permutation it makes. A merge sort makes
at most n log2 n comparisons per row; the explorer forks at each one
whose two sides are both feasible, so a row of n distinct entries has up
to n! pieces (24 for n = 4, 120 for n = 5): selection is exact on small
inputs only.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
import torch

from . import extremes
from .reductions import _first_index
from .registry import decide, exprs, meaning

aten = torch.ops.aten

__all__: list[str] = []


def _tuple(value, n: int) -> tuple[int, ...]:
    """An int or list of ints (torch's `int[n]` argument) as n ints."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def _batched(x, spatial: int) -> tuple[np.ndarray, bool]:
    """The entries with a batch dimension in front (added when the input has none)."""
    data = exprs(x)
    if data.ndim == spatial + 1:
        return data[None], True
    return data, False


# -- convolution ---------------------------------------------------------------------------------
@meaning(aten.convolution)
def convolution(x, weight, bias, *layout):
    """out[n, o, p] = bias[o] + sum over the group's channels c and kernel offsets k of x[n, c, i] w[., ., k]

    with i = p s - pad + k d (direct) or p = i s - pad + k d (transposed). `layout` is the rest of
    `aten.convolution`'s schema: stride, padding, dilation, transposed, output_padding, groups.
    """
    stride, padding, dilation, transposed, output_padding, groups = layout
    data, w = exprs(x), exprs(weight)
    n_spatial = w.ndim - 2
    data, unbatched = (data[None], True) if data.ndim == n_spatial + 1 else (data, False)
    stride, padding, dilation = (_tuple(v, n_spatial) for v in (stride, padding, dilation))
    output_padding = _tuple(output_padding, n_spatial)
    batch, c_in, *size = data.shape
    kernel = w.shape[2:]
    if transposed:
        c_out = w.shape[1] * groups
        out_size = [(size[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1)
                    + output_padding[i] + 1 for i in range(n_spatial)]
    else:
        c_out = w.shape[0]
        out_size = [(size[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                    for i in range(n_spatial)]
    in_group, out_group = c_in // groups, c_out // groups
    terms: dict[tuple, list] = {}
    for n, g in itertools.product(range(batch), range(groups)):
        for ci, co in itertools.product(range(in_group), range(out_group)):
            c, o = g * in_group + ci, g * out_group + co
            w_slice = w[c, co] if transposed else w[o, ci]
            for k in np.ndindex(*kernel):
                for i in np.ndindex(*size):
                    p = _conv_target(i, k, stride, padding, dilation, transposed)
                    if p is not None and all(0 <= p[d] < out_size[d] for d in range(n_spatial)):
                        terms.setdefault((n, o) + p, []).append(data[(n, c) + i] * w_slice[k])
    b = exprs(bias) if bias is not None else None
    out = np.empty([batch, c_out] + out_size, dtype=object)
    for idx in np.ndindex(*out.shape):
        own = terms.get(idx, [])
        out[idx] = sympy.Add(*own, *([b[idx[1]]] if b is not None else []))
    return out[0] if unbatched else out


def _conv_target(i, k, stride, padding, dilation, transposed):
    """The output position that input position `i` reaches through kernel offset `k`, or None."""
    if transposed:
        return tuple(i[d] * stride[d] - padding[d] + k[d] * dilation[d] for d in range(len(i)))
    p = []
    for d in range(len(i)):
        shifted = i[d] + padding[d] - k[d] * dilation[d]
        if shifted % stride[d]:
            return None
        p.append(shifted // stride[d])
    return tuple(p)


# -- pooling -------------------------------------------------------------------------------------
def _pooled_size(length: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """torch's output length: floor (or ceil) of the windows that fit, less one that would start in the padding."""
    span = length + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= length + pad:
        out -= 1
    return out


def _avg_pool(spatial: int):
    def impl(x, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
        """the mean of each window (divided by the window's size in the padded input, the valid entries, or a given number)"""
        data, unbatched = _batched(x, spatial)
        kernel = _tuple(kernel_size, spatial)
        stride = _tuple(stride, spatial) if stride else kernel
        pad = _tuple(padding, spatial)
        size = data.shape[2:]
        out_size = [_pooled_size(size[d], kernel[d], stride[d], pad[d], 1, ceil_mode) for d in range(spatial)]
        out = np.empty(data.shape[:2] + tuple(out_size), dtype=object)
        for o in np.ndindex(*out_size):
            start = [o[d] * stride[d] - pad[d] for d in range(spatial)]
            end = [min(start[d] + kernel[d], size[d] + pad[d]) for d in range(spatial)]
            padded = math.prod(end[d] - start[d] for d in range(spatial))
            ranges = [range(max(start[d], 0), min(end[d], size[d])) for d in range(spatial)]
            valid = math.prod(len(r) for r in ranges)
            divisor = divisor_override or (padded if count_include_pad else valid)
            window = list(itertools.product(*ranges))
            for nc in np.ndindex(*data.shape[:2]):
                out[nc + o] = sympy.Add(*(data[nc + i] for i in window)) / divisor
        return out[0] if unbatched else out

    return impl


meaning(aten.avg_pool2d.default)(_avg_pool(2))
meaning(aten.avg_pool3d.default)(_avg_pool(3))


def _max_pool(spatial: int):
    def impl(x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        """Max of each window; the index of its first largest entry, flat over the spatial dimensions"""
        data, unbatched = _batched(x, spatial)
        kernel = _tuple(kernel_size, spatial)
        stride = _tuple(stride, spatial) if stride else kernel
        pad, dilation = _tuple(padding, spatial), _tuple(dilation, spatial)
        size = data.shape[2:]
        out_size = [_pooled_size(size[d], kernel[d], stride[d], pad[d], dilation[d], ceil_mode)
                    for d in range(spatial)]
        values = np.empty(data.shape[:2] + tuple(out_size), dtype=object)
        indices = np.empty(values.shape, dtype=object)
        for o in np.ndindex(*out_size):
            ranges = [[o[d] * stride[d] - pad[d] + k * dilation[d] for k in range(kernel[d])] for d in range(spatial)]
            window = [i for i in itertools.product(*ranges) if all(0 <= i[d] < size[d] for d in range(spatial))]
            flat = [sympy.Integer(int(np.ravel_multi_index(i, size))) for i in window]
            for nc in np.ndindex(*data.shape[:2]):
                entries = [data[nc + i] for i in window]
                node = extremes.Max(*entries)  # a 3-d window has 27 entries: see extremes.py
                values[nc + o] = node
                indices[nc + o] = _relabel(_first_index(entries, "max"), flat)
        return (values[0], indices[0]) if unbatched else (values, indices)

    return impl


def _relabel(position: sympy.Expr, labels: list) -> sympy.Expr:
    """A position in a list (a number, or a Piecewise of numbers) mapped through `labels`."""
    if isinstance(position, sympy.Piecewise):
        return sympy.Piecewise(*((labels[int(v)], c) for v, c in position.args))
    return labels[int(position)]


meaning(aten.max_pool2d_with_indices.default)(_max_pool(2))
meaning(aten.max_pool3d_with_indices.default)(_max_pool(3))


# -- selection -----------------------------------------------------------------------------------
def _merge_sort(row: list, descending: bool) -> list:
    """(value, index) pairs sorted stably; each comparison decided by the path explorer."""
    if len(row) <= 1:
        return row
    half = len(row) // 2
    left, right = _merge_sort(row[:half], descending), _merge_sort(row[half:], descending)
    merged = []
    while left and right:
        a, b = left[0][0], right[0][0]
        # stable: the left entry goes first unless the right one is strictly before it
        right_first = decide(sympy.Gt(b, a) if descending else sympy.Lt(b, a), "sort")
        merged.append(right.pop(0) if right_first else left.pop(0))
    return merged + left + right


def _sorted_along(x, dim: int, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values and indices of `x` sorted along `dim`."""
    data = exprs(x)
    if data.ndim == 0:
        return data.copy(), np.array(sympy.Integer(0), dtype=object)
    moved = np.moveaxis(data, dim, -1)
    values, indices = np.empty(moved.shape, dtype=object), np.empty(moved.shape, dtype=object)
    for idx in np.ndindex(*moved.shape[:-1]):
        ordered = _merge_sort([(v, sympy.Integer(i)) for i, v in enumerate(moved[idx])], descending)
        for j, (v, i) in enumerate(ordered):
            values[idx + (j,)], indices[idx + (j,)] = v, i
    return np.moveaxis(values, -1, dim), np.moveaxis(indices, -1, dim)


@meaning(aten.sort.default)
def sort(x, dim=-1, descending=False):
    """x along `dim`, ordered stably by comparisons the path explorer decides"""
    return _sorted_along(x, dim, descending)


@meaning(aten.sort.stable)
def sort_stable(x, *, stable=None, dim=-1, descending=False):
    """x along `dim`, ordered stably (ties keep their order) by comparisons the path explorer decides"""
    return _sorted_along(x, dim, descending)


def _take(pair, dim: int, start: int, stop: int, keepdim: bool = True):
    """Entries start..stop of values and indices along `dim` (that dimension dropped unless `keepdim`)."""
    picked = tuple(np.take(a, range(start, stop), axis=dim) for a in pair)
    return picked if keepdim else tuple(np.squeeze(a, axis=dim) for a in picked)


@meaning(aten.topk.default)
def topk(x, k, dim=-1, largest=True, sorted=True):
    """the k largest (or smallest) entries along `dim`, in order"""
    dim = dim % max(exprs(x).ndim, 1)
    if exprs(x).ndim == 0:
        return _sorted_along(x, 0, largest)
    return _take(_sorted_along(x, dim, largest), dim, 0, k)


@meaning(aten.kthvalue.default)
def kthvalue(x, k, dim=-1, keepdim=False):
    """the k-th smallest entry along `dim` (k from 1)"""
    if exprs(x).ndim == 0:
        return _sorted_along(x, 0, False)
    dim = dim % exprs(x).ndim
    return _take(_sorted_along(x, dim, False), dim, k - 1, k, keepdim)


@meaning(aten.median.default)
def median(x):
    """the lower median of all entries: entry (n - 1) // 2 of them sorted"""
    # At a tie with the median autograd shares the gradient evenly among the entries equal to it
    # (derivatives.yaml); compare.kinks judges it so, whichever entry this piece picks.
    flat = exprs(x).reshape(-1)
    values, _ = _sorted_along(flat, 0, False)
    return np.array(values[(flat.size - 1) // 2], dtype=object)


@meaning(aten.median.dim)
def median_dim(x, dim, keepdim=False):
    """the lower median along `dim`, and its index"""
    data = exprs(x)
    if data.ndim == 0:
        return data.copy(), np.array(sympy.Integer(0), dtype=object)
    dim = dim % data.ndim
    middle = (data.shape[dim] - 1) // 2
    return _take(_sorted_along(x, dim, False), dim, middle, middle + 1, keepdim)
