"""More selections and pools: nanmedian, mode, adaptive and fractional max pooling, max_unpool,
adaptive average pooling in 3-D, grid sampling, `_safe_softmax`, and i1e.

A selection picks entries by comparing them; each comparison is decided
by the path explorer (`decide`), so a point gets the exact derivative of
the piece it lies in, and at a tie the entry that torch's kernel returns
(its index output) is the one whose value is used, so the gradient goes
where autograd sends it (`value_selecting_reduction_backward`).

Grid sampling reads the input at positions given by another tensor: the
cell each position falls in is decided the same way, one comparison per
cell boundary, so a grid that is itself differentiated has a piece per
cell of every point (exact on small grids only, as sorting is).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
import torch

from .nn import _relabel, _sorted_along
from .reductions import _first_index
from .registry import UnsupportedOp, decide, exprs, meaning, prim, unary

aten = torch.ops.aten

__all__: list[str] = []


def _batched(x, spatial: int) -> tuple[np.ndarray, bool]:
    data = exprs(x)
    return (data[None], True) if data.ndim == spatial + 1 else (data, False)


def _rows(data: np.ndarray, dim: int):
    """(index of the row, its entries) for every 1-D slice of `data` along `dim` (moved last)."""
    moved = np.moveaxis(data, dim, -1)
    for idx in np.ndindex(*moved.shape[:-1]):
        yield idx, list(moved[idx])


def _reduced(data: np.ndarray, dim: int, keepdim: bool, pick) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of `pick(row) -> (value, index)` over every row along `dim`."""
    if data.ndim == 0:
        value, index = pick([data[()]])
        return np.array(value, dtype=object), np.array(index, dtype=object)
    dim = dim % data.ndim
    moved_shape = np.moveaxis(data, dim, -1).shape[:-1]
    values, indices = np.empty(moved_shape, dtype=object), np.empty(moved_shape, dtype=object)
    for idx, row in _rows(data, dim):
        values[idx], indices[idx] = pick(row)
    if keepdim:
        values, indices = np.expand_dims(values, dim), np.expand_dims(indices, dim)
    return values, indices


# -- nanmedian, mode ----------------------------------------------------------------------------
def _is_nan(v) -> bool:
    """A NaN entry: a concrete one (masked.median writes NaN where its mask is off).

    Caveat: a symbolic entry is a real number by its symbols' assumptions,
    so it is never taken to be NaN.
    """
    return v is sympy.nan


def _lower_median(row: list) -> tuple:
    """The lower median of the non-NaN entries, and its index (NaN and index 0 if all are NaN)."""
    kept = [(v, i) for i, v in enumerate(row) if not _is_nan(v)]
    if not kept:
        return sympy.nan, sympy.Integer(0)
    values, order = _sorted_along(np.array([v for v, _ in kept], dtype=object), 0, False)
    middle = (len(kept) - 1) // 2
    return values[middle], sympy.Integer(kept[int(order[middle])][1])


@meaning(aten.nanmedian.default)
def nanmedian(x):
    """the lower median of all entries that are not NaN"""
    value, _ = _lower_median(list(exprs(x).reshape(-1)))
    return np.array(value, dtype=object)


@meaning(aten.nanmedian.dim)
def nanmedian_dim(x, dim, keepdim=False):
    """the lower median along `dim` of the entries that are not NaN, and its index"""
    return _reduced(exprs(x), dim, keepdim, _lower_median)


def _mode(row: list) -> tuple:
    """torch.mode on one row: the smallest of the most frequent values, and the index of its last occurrence.

    The row is sorted by the explorer's comparisons, then neighbours are
    compared for equality (also decided): runs of equal entries are counted.
    """
    values, order = _sorted_along(np.array(row, dtype=object), 0, False)
    best, best_count, start = 0, 0, 0
    for k in range(1, len(row) + 1):
        if k == len(row) or not decide(sympy.Eq(values[k], values[k - 1]), "mode"):
            if k - start > best_count:  # strictly more: a later (larger) run never wins a tie
                best, best_count = start, k - start
            start = k
    run = [int(order[k]) for k in range(best, best + best_count)]
    last = max(run)
    return row[last], sympy.Integer(last)


@meaning(aten.mode.default)
def mode(x, dim=-1, keepdim=False):
    """the most frequent value along `dim` (the smallest at a tie of counts), and its last index"""
    return _reduced(exprs(x), dim, keepdim, _mode)


# -- adaptive pooling ---------------------------------------------------------------------------
def _adaptive_windows(size, out_size) -> list:
    """For each output position, its window: rows floor(i L / O) to ceil((i + 1) L / O) - 1 per dimension."""
    ranges = [[range(i * length // n, -(-(i + 1) * length // n)) for i in range(n)]
              for length, n in zip(size, out_size)]
    return [(o, list(itertools.product(*(ranges[d][o[d]] for d in range(len(o))))))
            for o in np.ndindex(*out_size)]


def _adaptive_max(spatial: int):
    def impl(x, output_size):
        """the max of each adaptive window, and the flat index of its first largest entry"""
        data, unbatched = _batched(x, spatial)
        size, out_size = data.shape[2:], tuple(int(v) for v in output_size)
        values = np.empty(data.shape[:2] + out_size, dtype=object)
        indices = np.empty(values.shape, dtype=object)
        for o, window in _adaptive_windows(size, out_size):
            flat = [sympy.Integer(int(np.ravel_multi_index(i, size))) for i in window]
            for nc in np.ndindex(*data.shape[:2]):
                entries = [data[nc + i] for i in window]
                node = sympy.Max(*entries)
                values[nc + o] = node
                indices[nc + o] = _relabel(_first_index(entries, "max"), flat)
        return (values[0], indices[0]) if unbatched else (values, indices)

    return impl


meaning(aten.adaptive_max_pool2d.default)(_adaptive_max(2))
meaning(aten.adaptive_max_pool3d.default)(_adaptive_max(3))


@meaning(aten._adaptive_avg_pool3d.default)
def adaptive_avg_pool3d(x, output_size):
    """the mean of each adaptive window"""
    data, unbatched = _batched(x, 3)
    out_size = tuple(int(v) for v in output_size)
    out = np.empty(data.shape[:2] + out_size, dtype=object)
    for o, window in _adaptive_windows(data.shape[2:], out_size):
        for nc in np.ndindex(*data.shape[:2]):
            out[nc + o] = sympy.Add(*(data[nc + i] for i in window)) / len(window)
    return out[0] if unbatched else out


# -- fractional max pooling ---------------------------------------------------------------------
def _intervals(sample: float, length: int, out: int, pool: int) -> list[int]:
    """Where torch's fractional max pool starts its windows, for one random sample u in [0, 1).

    start_i = int((i + u) a) - int(u a) with a = (L - pool) / (O - 1), the
    last window ending at the input's end. This is index arithmetic in the
    input's floating dtype, as torch's kernel does it (float64 here; the
    samples are concrete numbers, so the windows are fixed).
    """
    starts = [0] * out
    if out > 1:
        alpha = (length - pool) / (out - 1)
        for i in range(out - 1):
            starts[i] = int((i + sample) * alpha) - int(sample * alpha)
    if out > 0:
        starts[-1] = length - pool
    return starts


def _fractional_max(spatial: int):
    def impl(x, kernel_size, output_size, random_samples):
        """the max of each window placed by the given random samples, and its flat index"""
        if isinstance(random_samples, torch.Tensor) and hasattr(random_samples, "exprs"):
            raise UnsupportedOp(f"aten.fractional_max_pool{spatial}d with symbolic random samples "
                                "(the windows' places must be numbers)")
        data, unbatched = _batched(x, spatial)
        samples = random_samples.detach().to(torch.float64).reshape(data.shape[0], data.shape[1], spatial).tolist()
        size, kernel = data.shape[2:], tuple(int(k) for k in kernel_size)
        out_size = tuple(int(v) for v in output_size)
        # torch reads the samples as (w, h) in 2-D and (t, h, w) in 3-D
        order = (1, 0) if spatial == 2 else (0, 1, 2)
        values = np.empty(data.shape[:2] + out_size, dtype=object)
        indices = np.empty(values.shape, dtype=object)
        for nc in np.ndindex(*data.shape[:2]):
            u = samples[nc[0]][nc[1]]
            starts = [_intervals(u[order[d]], size[d], out_size[d], kernel[d]) for d in range(spatial)]
            for o in np.ndindex(*out_size):
                window = list(itertools.product(*(range(starts[d][o[d]], starts[d][o[d]] + kernel[d])
                                                  for d in range(spatial))))
                entries = [data[nc + i] for i in window]
                node = sympy.Max(*entries)
                values[nc + o] = node
                flat = [sympy.Integer(int(np.ravel_multi_index(i, size))) for i in window]
                indices[nc + o] = _relabel(_first_index(entries, "max"), flat)
        return (values[0], indices[0]) if unbatched else (values, indices)

    return impl


meaning(aten.fractional_max_pool2d.default)(_fractional_max(2))
meaning(aten.fractional_max_pool3d.default)(_fractional_max(3))


# -- max_unpool -----------------------------------------------------------------------------------
def _index(e, op: str) -> int:
    """A concrete index from an index entry: a number, or the piece of a Piecewise the explorer decides."""
    e = sympy.sympify(e)
    if e.is_number:
        return int(e)
    if isinstance(e, sympy.Piecewise):
        for value, condition in e.args:
            if decide(condition, op):
                return _index(value, op)
    raise UnsupportedOp(f"aten.{op} with an index that is not a number")


def _max_unpool(spatial: int):
    def impl(x, indices, output_size, stride=None, padding=None):
        """each entry written at its flat index in a zero output plane

        Indices repeated within a plane are refused: torch's kernel writes
        one of them, and not by a rule one could state (on the CPU, entries
        [4, 2] sent to one index leave 4 there, [4, 2, 7] leave 7), and its
        backward gathers, so every repeated entry gets the gradient of the
        one position, which is not the derivative of what the forward wrote.
        """
        op = f"max_unpool{spatial}d"
        data, unbatched = _batched(x, spatial)
        index = exprs(indices)
        index = index[None] if unbatched else index
        out_size = tuple(int(v) for v in output_size)
        plane = math.prod(out_size)
        out = np.full(data.shape[:2] + (plane,), sympy.S.Zero, dtype=object)
        for nc in np.ndindex(*data.shape[:2]):
            written: set[int] = set()
            for i in np.ndindex(*data.shape[2:]):
                at = _index(index[nc + i], op)
                if not 0 <= at < plane:
                    raise RuntimeError(f"max_unpool{spatial}d: found an invalid max index {at} "
                                       f"(an output plane has {plane} entries)")
                if at in written:
                    raise UnsupportedOp(f"aten.{op} with the index {at} repeated in a plane (torch writes "
                                        "one entry and sends the gradient to all of them)")
                written.add(at)
                out[nc + (at,)] = data[nc + i]
        out = out.reshape(data.shape[:2] + out_size)
        return out[0] if unbatched else out

    return impl


meaning(aten.max_unpool2d.default)(_max_unpool(2))
meaning(aten.max_unpool3d.default)(_max_unpool(3))


# -- _safe_softmax, i1e ---------------------------------------------------------------------------
def _minus_infinity(v) -> bool:
    """Is the entry -inf? Only a concrete one can be (an added mask's -inf makes one).

    Caveat: an entry with symbols in it is a real number by their
    assumptions, so it is finite: a row of such entries is never masked.
    """
    return v is sympy.S.NegativeInfinity


@meaning(aten._safe_softmax.default)
def safe_softmax(x, dim, dtype=None):
    """softmax along `dim`, except that a slice of -inf entries only gives 0 (not 0 / 0)"""
    data = exprs(x)
    if data.ndim == 0:
        return np.array(sympy.S.Zero if _minus_infinity(data[()]) else sympy.S.One, dtype=object)
    dim = dim % data.ndim
    out = np.empty(np.moveaxis(data, dim, -1).shape, dtype=object)
    for idx, row in _rows(data, dim):
        if all(_minus_infinity(v) for v in row):
            out[idx] = [sympy.S.Zero] * len(row)
            continue
        total = sympy.Add(*(sympy.exp(v) for v in row))
        out[idx] = [sympy.exp(v) / total for v in row]
    return np.moveaxis(out, -1, dim)


meaning(aten.special_i1e, prim("bessel_i1e"))(unary(lambda x: sympy.exp(-sympy.Abs(x)) * sympy.besseli(1, x)))


# -- grid_sampler ---------------------------------------------------------------------------------
_BILINEAR, _NEAREST = 0, 1
_ZEROS, _BORDER = 0, 1


def _source(coord, size: int, padding: int, align_corners: bool):
    """A grid coordinate in [-1, 1] as a position in the input (torch's grid_sampler_compute_source_index).

    With border padding the position is clipped to [0, size - 1]: which
    side it is on is decided, and a clipped position is a constant, as in
    torch's backward (its clip passes no gradient outside).
    """
    x = (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2
    if padding == _BORDER:
        if decide(sympy.Lt(x, 0), "grid_sampler"):
            return sympy.S.Zero
        if decide(sympy.Gt(x, size - 1), "grid_sampler"):
            return sympy.Integer(size - 1)
    return x


def _floor(x, size: int):
    """floor(x) where it matters, decided by comparisons: None when both neighbours are outside [0, size)."""
    if x.is_number:
        k = int(sympy.floor(x))
        return k if -1 <= k < size else None
    if decide(sympy.Lt(x, -1), "grid_sampler") or decide(sympy.Ge(x, size), "grid_sampler"):
        return None
    for k in range(-1, size):
        if decide(sympy.Lt(x, k + 1), "grid_sampler"):
            return k
    return None  # not reached: x < size was decided


def _nearest(x, size: int):
    """x rounded half to even (torch's nearbyint), or None outside [0, size)."""
    if decide(sympy.Lt(x, sympy.Rational(-1, 2)), "grid_sampler"):
        return None
    for k in range(size):
        half = k + sympy.Rational(1, 2)
        # at k + 1/2 exactly, the even neighbour
        if decide(sympy.Le(x, half) if k % 2 == 0 else sympy.Lt(x, half), "grid_sampler"):
            return k
    return None


def _grid_sampler(spatial: int):
    def impl(x, grid, interpolation_mode, padding_mode, align_corners):
        """each grid point's (bi/tri)linear interpolation (or nearest entry) of the input, 0 outside"""
        if interpolation_mode not in (_BILINEAR, _NEAREST) or padding_mode not in (_ZEROS, _BORDER):
            raise UnsupportedOp(f"aten.grid_sampler_{spatial}d with interpolation {interpolation_mode} and "
                                f"padding {padding_mode} (bilinear or nearest, zeros or border are modelled)")
        data, g = exprs(x), exprs(grid)
        size = data.shape[2:]  # (H, W) or (D, H, W); the grid's last axis is (x, y[, z]) = (W, H[, D])
        out = np.empty(data.shape[:2] + g.shape[1:-1], dtype=object)
        for n in range(data.shape[0]):
            for p in np.ndindex(*g.shape[1:-1]):
                pos = [_source(g[(n,) + p + (spatial - 1 - d,)], size[d], padding_mode, align_corners)
                       for d in range(spatial)]
                terms = _corners(pos, size, interpolation_mode)
                for c in range(data.shape[1]):
                    out[(n, c) + p] = sympy.Add(*(w * data[(n, c) + at] for at, w in terms))
        return out

    return impl


def _corners(pos: list, size, mode: int) -> list:
    """(input position, weight) of the entries a sampling point reads (those inside the input)."""
    if mode == _NEAREST:
        at = [_nearest(x, n) for x, n in zip(pos, size)]
        return [] if any(a is None for a in at) else [(tuple(at), sympy.S.One)]
    low = [_floor(x, n) for x, n in zip(pos, size)]
    if any(k is None for k in low):
        return []
    terms = []
    for corner in itertools.product((0, 1), repeat=len(pos)):
        at = tuple(k + c for k, c in zip(low, corner))
        if all(0 <= a < n for a, n in zip(at, size)):
            # the weight of a corner: the opposite corner's distance along every dimension
            w = sympy.Mul(*((x - k) if c else (k + 1 - x) for x, k, c in zip(pos, low, corner)))
            terms.append((at, w))
    return terms


meaning(aten.grid_sampler_2d.default)(_grid_sampler(2))
meaning(aten.grid_sampler_3d.default)(_grid_sampler(3))
