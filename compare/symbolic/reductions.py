"""Reductions and scans: sums, products, extremes, norms, moments, softmax, cumulative ops.

A reduction combines the entries of each slice with one SymPy node (one
`Add` of all terms, not a chain of pairwise sums, which SymPy would
re-flatten at every step: n squared).
"""
from __future__ import annotations

import math

import numpy as np
import sympy
import torch

from ..exact.sym import exact
from .registry import prim, exprs, meaning
from . import extremes

aten = torch.ops.aten

__all__ = ["reduce", "along"]


def _dims(dim, ndim: int) -> tuple[int, ...]:
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(sorted(d % max(ndim, 1) for d in dim))


def reduce(x, dim, keepdim: bool, combine) -> np.ndarray:
    """Reduce the entries of `x` over `dim` with `combine(list of entries) -> entry`."""
    data = exprs(x)
    dims = _dims(dim, data.ndim) if data.ndim else ()
    rest = [d for d in range(data.ndim) if d not in dims]
    moved = np.transpose(data, rest + list(dims)) if data.ndim else data
    kept = [data.shape[d] for d in rest]
    rows = moved.reshape(int(np.prod(kept, dtype=int)), -1)
    out = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        out[i] = combine(list(row))
    out = out.reshape(kept)
    if keepdim and data.ndim:
        out = out.reshape([1 if d in dims else data.shape[d] for d in range(data.ndim)])
    return out


def along(x, dim: int, f) -> np.ndarray:
    """`f(list of entries) -> list of entries` on every 1-D slice of `x` along `dim`."""
    data = exprs(x)
    if data.ndim == 0:
        return np.array(f([data[()]])[0], dtype=object)
    moved = np.moveaxis(data, dim, -1)
    out = np.empty(moved.shape, dtype=object)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = np.empty(moved.shape[-1], dtype=object)
        row[:] = f(list(moved[idx]))
        out[idx] = row
    return np.moveaxis(out, -1, dim)


def _total(entries) -> sympy.Expr:
    return sympy.Add(*entries)


@meaning(aten.sum, prim("sum"))
def sum_(x, dim=None, keepdim=False, *, dtype=None, output_dtype=None):
    """the sum of the entries over `dim` (over all, where none is given)"""
    if getattr(x, "dtype", None) == torch.bool:  # a count (nanmean's): true is 1, as torch promotes it
        from .elementwise import convert

        x = convert(exprs(x), torch.bool, torch.int64)
    return reduce(x, dim, keepdim, _total)


@meaning(aten.mean)
def mean(x, dim=None, keepdim=False, *, dtype=None):
    """the mean of the entries over `dim` (over all, where none is given)"""
    return reduce(x, dim, keepdim, lambda e: _total(e) / len(e))


@meaning(aten.prod, prim("prod"))
def prod(x, dim=None, keepdim=False, *, dtype=None, output_dtype=None):
    """the product of the entries over `dim` (over all, where none is given)"""
    return reduce(x, dim, keepdim, lambda e: sympy.Mul(*e))


def _moment(x, dim, correction, keepdim, root: bool):
    c = 1 if correction is None else exact(correction)

    def combine(e):
        mu = _total(e) / len(e)
        var = sympy.Add(*((v - mu) ** 2 for v in e)) / (len(e) - c)
        return sympy.sqrt(var) if root else var

    return reduce(x, dim, keepdim, combine)


def _moment_args(args, kwargs) -> tuple:
    """(dim, correction, keepdim) from any overload: (unbiased), (dim, unbiased, keepdim), (dim, *, correction)."""
    args = list(args)
    if args and isinstance(args[0], bool):  # var(x, unbiased)
        return None, int(args[0]), kwargs.get("keepdim", False)
    dim = args[0] if args else kwargs.get("dim")
    if len(args) > 1:  # var(x, dim, unbiased, keepdim)
        return dim, int(args[1]), args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    correction = kwargs.get("correction", 1 if "unbiased" not in kwargs else int(kwargs["unbiased"]))
    return dim, correction, kwargs.get("keepdim", False)


def _moments(root: bool, with_mean: bool):
    """The meaning of var, std, var_mean or std_mean (its description is given where it is registered)."""

    def impl(x, *args, **kwargs):
        dim, correction, keepdim = _moment_args(args, kwargs)
        spread = _moment(x, dim, correction, keepdim, root)
        return (spread, mean(x, dim, keepdim)) if with_mean else spread

    return impl


_VARIANCE = "the variance over `dim`: sum_i (x_i - mean)^2 / (n - correction), the correction 1 unless given"
meaning(aten.var, doc=_VARIANCE)(_moments(root=False, with_mean=False))
meaning(aten.std, doc=f"the square root of {_VARIANCE}")(_moments(root=True, with_mean=False))
meaning(aten.var_mean, doc=f"{_VARIANCE}, and the mean")(_moments(root=False, with_mean=True))
meaning(aten.std_mean, doc=f"the square root of {_VARIANCE}, and the mean")(
    _moments(root=True, with_mean=True))


@meaning(prim("var"))
def prims_var(x, dims, correction=1, *, output_dtype=None):
    """the variance over `dims`: sum_i (x_i - mean)^2 / (n - correction)"""
    return _moment(x, dims, correction, False, root=False)


# -- extremes: SymPy's Max/Min, whose derivative at a tie is Heaviside(0) = 1/2 per tied entry. ----
# Autograd's rule differs by op (see compare.kinks): a whole reduction shares the gradient among
# ties; with `dim`, it goes to the index returned.
def _of_all(f):
    return lambda entries: f(*entries)


def _first_index(entries, kind: str) -> sympy.Expr:
    """The index of the first largest (`kind` "max") or smallest entry, as a Piecewise of conditions.

    Entry i is the first extreme one when it beats every earlier entry
    strictly and every later one or ties with it.
    """
    strict, tie = (sympy.Gt, sympy.Ge) if kind == "max" else (sympy.Lt, sympy.Le)
    pieces = [(sympy.Integer(i), sympy.And(*(tie(v, w, evaluate=False) if j > i else strict(v, w, evaluate=False)
                                             for j, w in enumerate(entries) if j != i)))
              for i, v in enumerate(entries)]
    if len(pieces) == 1:
        return sympy.Integer(0)
    pieces[-1] = (pieces[-1][0], sympy.true)
    return sympy.Piecewise(*pieces)


def _last_index(entries, kind: str) -> sympy.Expr:
    """The index of the last extreme entry (what cummax and cummin return at ties)."""
    return len(entries) - 1 - _first_index(entries[::-1], kind)


def _extremes(name: str, f):
    most = {"max": "largest", "min": "smallest"}[name]

    @meaning(getattr(aten, name), doc=f"the {most} entry; with `dim`, the {most} along it and the index of its "
                                      "first occurrence")
    def impl(x, dim=None, keepdim=False):
        if dim is None:
            return reduce(x, None, False, _of_all(f))
        values = reduce(x, dim, keepdim, _of_all(f))
        indices = reduce(x, dim, keepdim, lambda e: _first_index(e, name))
        return values, indices

    @meaning(getattr(aten, "a" + name), prim("a" + name), doc=f"the {most} entry over `dim` (over all, where none "
                                                               "is given)")
    def extreme(x, dim=(), keepdim=False):
        return reduce(x, dim, keepdim, _of_all(f))

    @meaning(getattr(aten, "arg" + name), doc=f"the index of the first {most} entry along `dim` (in the flattened "
                                              "x, where none is given)")
    def index_of_extreme(x, dim=None, keepdim=False):
        return reduce(x, dim, keepdim and dim is not None, lambda e: _first_index(e, name))


_extremes("max", sympy.Max)
_extremes("min", sympy.Min)


@meaning(aten.aminmax)
def aminmax(x, *, dim=None, keepdim=False):
    """(the smallest entry, the largest entry) over `dim` (over all, where none is given)"""
    return (reduce(x, dim, keepdim, _of_all(sympy.Min)), reduce(x, dim, keepdim, _of_all(sympy.Max)))


# -- norms -----------------------------------------------------------------------------------
def _p_norm(p):
    if p in (2, 2.0, None):
        return lambda e: sympy.sqrt(sympy.Add(*(v**2 for v in e)))
    if p in (math.inf, float("inf")):
        return lambda e: extremes.Max(*(sympy.Abs(v) for v in e))  # of many entries: see extremes.py
    if p in (-math.inf, float("-inf")):
        return lambda e: extremes.Min(*(sympy.Abs(v) for v in e))
    if p == 1:
        return lambda e: sympy.Add(*(sympy.Abs(v) for v in e))
    if p == 0:
        return lambda e: sympy.Add(*(sympy.Piecewise((0, sympy.Eq(v, 0)), (1, True)) for v in e))
    q = exact(p)
    return lambda e: sympy.Add(*(sympy.Abs(v) ** q for v in e)) ** (1 / q)


@meaning(aten.linalg_vector_norm)
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """the `ord`-norm over `dim`: (sum_i |x_i|^ord)^(1/ord); for ord inf and -inf, max and min |x_i|; for
    ord 0, the count of nonzero entries"""
    return reduce(x, dim, keepdim, _p_norm(ord))


# -- along a dimension ---------------------------------------------------------------------------
def _logsumexp(entries) -> sympy.Expr:
    return sympy.log(sympy.Add(*(sympy.exp(v) for v in entries)))


def _softmax(entries) -> list:
    total = sympy.Add(*(sympy.exp(v) for v in entries))
    return [sympy.exp(v) / total for v in entries]


@meaning(aten._softmax, aten.softmax)
def softmax(x, dim, half_to_float=False, **_):
    """exp(x_i) / sum_j exp(x_j) along `dim`"""
    return along(x, dim, _softmax)


@meaning(aten._log_softmax, aten.log_softmax)
def log_softmax(x, dim, half_to_float=False, **_):
    """x_i - log(sum_j exp(x_j)) along `dim`"""
    return along(x, dim, lambda e: [v - _logsumexp(e) for v in e])


@meaning(aten.logsumexp)
def logsumexp(x, dim=(), keepdim=False):
    """log(sum_j exp(x_j)) over `dim` (exactly: no max is subtracted, none is needed)"""
    return reduce(x, dim, keepdim, _logsumexp)


def _running(f):
    def scan(entries):
        out, acc = [], None
        for v in entries:
            acc = v if acc is None else f(acc, v)
            out.append(acc)
        return out

    return scan


meaning(aten.cumsum, doc="the running sums along `dim`")(
    lambda x, dim, *, dtype=None: along(x, dim, _running(lambda a, b: a + b)))
meaning(aten.cumprod, doc="the running products along `dim`")(
    lambda x, dim, *, dtype=None: along(x, dim, _running(lambda a, b: a * b)))
meaning(aten.logcumsumexp, doc="log of the running sums of exp(x) along `dim`")(lambda x, dim: along(
    x, dim, lambda e: [_logsumexp(e[:k + 1]) for k in range(len(e))]))


@meaning(aten.cummax)
def cummax(x, dim):
    """the running maximum along `dim`, and the index of its last occurrence so far"""
    return (along(x, dim, _running(lambda a, b: _of_all(sympy.Max)([a, b]))),
            along(x, dim, lambda e: [_last_index(e[:k + 1], "max") for k in range(len(e))]))


@meaning(aten.cummin)
def cummin(x, dim):
    """the running minimum along `dim`, and the index of its last occurrence so far"""
    return (along(x, dim, _running(lambda a, b: _of_all(sympy.Min)([a, b]))),
            along(x, dim, lambda e: [_last_index(e[:k + 1], "min") for k in range(len(e))]))


meaning(aten.all, doc="whether every entry is true, over `dim` (over all, where none is given)")(
    lambda x, dim=None, keepdim=False: reduce(x, dim, keepdim, lambda e: sympy.And(*e)))
meaning(aten.any, doc="whether some entry is true, over `dim` (over all, where none is given)")(
    lambda x, dim=None, keepdim=False: reduce(x, dim, keepdim, lambda e: sympy.Or(*e)))
