"""The symbolic meaning of each supported torch op, registered in `OPS`.

Every implementation takes the arguments its torch counterpart takes and
returns a `SymTensor` (or a plain value where torch does, as `dim()`).
Broadcasting and basic indexing follow NumPy, which torch follows too.
Caveat: in-place writes (`x[0] = ...`) copy; views do not alias as in torch.
"""
from __future__ import annotations

import math
import operator

import numpy as np
import sympy
import torch
import torch.nn.functional as F

from .kinks import mark
from .sym import detach as _detach
from .sym import exact
from .symtensor import OPS, SymTensor, UnsupportedOp, as_sym, op

T = torch.Tensor


def _keys(*names: str) -> list:
    """torch.X, torch.Tensor.X and torch.nn.functional.X for each name that exists."""
    out = []
    for name in names:
        for owner in (torch, T, F, torch.special, torch.linalg):
            if name.startswith("__") and owner is not T:  # torch.__eq__ is the module's own
                continue
            f = getattr(owner, name, None)
            if f is not None and callable(f) and f not in out:
                out.append(f)
    return out


def _dtype(*args) -> torch.dtype:
    for a in args:
        if isinstance(a, (SymTensor, torch.Tensor)) and a.dtype.is_floating_point:
            return a.dtype
    return torch.float32


def _wrap(data, dtype) -> SymTensor:
    return SymTensor(np.asarray(data, dtype=object), dtype)


# -- elementwise -------------------------------------------------------------------------
_HARMLESS = {"out": None, "inplace": False, "rounding_mode": None}
"""Keyword arguments that change nothing when given with these values (`F.relu(x, inplace=False)`)."""

_OPERANDS = ("input", "self", "other", "exponent")
"""Names torch gives the operands of elementwise ops, in the order they take."""


def _elementwise(f, *names, arity=1):
    ufunc = np.frompyfunc(f, arity, 1)

    def impl(*args, **kwargs):
        for name in _OPERANDS:  # an operand passed by name (torch.pow(x, exponent=2)) takes its place
            if name in kwargs and len(args) < arity:
                args = (*args, kwargs.pop(name))
        options = [f"{k}={v!r}" for k, v in kwargs.items() if _HARMLESS.get(k, ...) is not v]
        if options or len(args) > arity:  # never drop what the symbolic side does not model
            given = options + [repr(a) for a in args[arity:]]
            raise UnsupportedOp(f"torch.{names[0]} with {', '.join(given)}")
        dt = _dtype(*args)
        return _wrap(ufunc(*(as_sym(a).data for a in args)), dt)

    impl.formula, impl.arity = f, arity  # what docs/ops.md shows
    op(*_keys(*names))(impl)
    return impl


def _sigmoid(x):
    return 1 / (1 + sympy.exp(-x))


def _marked(name, f):
    """`f`, with each node it makes marked as a possible kink of op `name` (see `compare.kinks`)."""

    def g(*args):
        node = f(*args)
        mark(name, node, args)
        return node

    return g


_elementwise(sympy.exp, "exp")
_elementwise(sympy.log, "log")
_elementwise(lambda x: sympy.log(x, 2), "log2")
_elementwise(lambda x: sympy.log(1 + x), "log1p")
_elementwise(lambda x: sympy.exp(x) - 1, "expm1")
_elementwise(sympy.sin, "sin")
_elementwise(sympy.cos, "cos")
_elementwise(sympy.tan, "tan")
_elementwise(sympy.tanh, "tanh")
_elementwise(sympy.erf, "erf")
_elementwise(sympy.erfc, "erfc")
_elementwise(lambda x: sympy.log(x, 10), "log10")
_elementwise(lambda x: 2**x, "exp2")
_elementwise(sympy.sinh, "sinh")
_elementwise(sympy.cosh, "cosh")
_elementwise(sympy.asinh, "asinh", "arcsinh")
_elementwise(sympy.acosh, "acosh", "arccosh")
_elementwise(sympy.atanh, "atanh", "arctanh")
_elementwise(sympy.asin, "asin", "arcsin")
_elementwise(sympy.acos, "acos", "arccos")
_elementwise(sympy.atan, "atan", "arctan")
_elementwise(lambda x: x * _sigmoid(x), "silu")
_elementwise(lambda x: -sympy.log(1 + sympy.exp(-x)), "logsigmoid")
_elementwise(lambda x: x / (1 + sympy.Abs(x)), "softsign")
_elementwise(_sigmoid, "sigmoid")
_elementwise(_marked("sqrt", sympy.sqrt), "sqrt")
_elementwise(lambda x: 1 / sympy.sqrt(x), "rsqrt")
_elementwise(_marked("abs", sympy.Abs), "abs", "absolute", "__abs__")
_elementwise(_marked("relu", lambda x: sympy.Max(x, 0)), "relu")
_elementwise(lambda x: x**2, "square")
_elementwise(lambda x: 1 / x, "reciprocal")
_elementwise(sympy.sign, "sign")
_elementwise(operator.neg, "neg", "negative", "__neg__")
_elementwise(operator.mul, "mul", "multiply", "__mul__", "__rmul__", "__imul__", arity=2)
_elementwise(operator.truediv, "div", "divide", "true_divide", "__truediv__", "__itruediv__", "__div__",
             arity=2)
_elementwise(operator.pow, "pow", "__pow__", "__ipow__", arity=2)
def _relation(rel):
    """`rel(a, b)`, evaluated only between numbers.

    Evaluating a symbolic relation asks SymPy's assumption system, which is
    slow and rarely decides anything; the path explorer decides it exactly.
    """
    def make(a, b):
        if getattr(a, "is_number", True) and getattr(b, "is_number", True):
            return rel(a, b)
        return rel(a, b, evaluate=False)

    return make


_elementwise(_relation(sympy.Lt), "lt", "less", "__lt__", arity=2)
_elementwise(_relation(sympy.Le), "le", "less_equal", "__le__", arity=2)
_elementwise(_relation(sympy.Gt), "gt", "greater", "__gt__", arity=2)
_elementwise(_relation(sympy.Ge), "ge", "greater_equal", "__ge__", arity=2)
_elementwise(_relation(sympy.Eq), "eq", "__eq__", arity=2)
_elementwise(_relation(sympy.Ne), "ne", "not_equal", "__ne__", arity=2)
_elementwise(sympy.And, "logical_and", "__and__", arity=2)
_elementwise(sympy.Or, "logical_or", "__or__", arity=2)
_elementwise(sympy.Not, "logical_not", "__invert__")
_elementwise(_detach, "detach")


def _reflected(f):
    return lambda self, other, *rest, **kw: f(other, self)


def _binary(f, a, b):
    return _wrap(np.frompyfunc(f, 2, 1)(as_sym(a).data, as_sym(b).data), _dtype(a, b))


@op(*_keys("add", "__add__", "__radd__", "__iadd__"))
def add(a, b, *, alpha=1, out=None):
    return _binary(operator.add, a, b if alpha == 1 else as_sym(b) * alpha)


@op(*_keys("sub", "subtract", "__sub__", "__isub__"))
def sub(a, b, *, alpha=1, out=None):
    return _binary(operator.sub, a, b if alpha == 1 else as_sym(b) * alpha)


for _names, _f in ((("__rsub__", "rsub"), operator.sub), (("__rtruediv__", "__rdiv__"), operator.truediv),
                   (("__rpow__",), operator.pow)):
    _impl = _reflected(lambda a, b, f=_f: _binary(f, a, b))
    _impl.formula, _impl.arity = (lambda x, y, f=_f: f(y, x)), 2  # x.__rsub__(y) is y - x
    op(*_keys(*_names))(_impl)


def _bound(side, f):
    def g(x, b):
        node = f(x, b)
        mark("clamp", node, (x, b), side=side)
        return node

    return np.frompyfunc(g, 2, 1)


@op(*_keys("clamp", "clip"))
def clamp(x, min=None, max=None, **_):
    # As torch: the lower bound first, then the upper, so max wins when min > max.
    y = as_sym(x).data
    if min is not None:
        y = _bound("min", sympy.Max)(y, as_sym(min).data)
    if max is not None:
        y = _bound("max", sympy.Min)(y, as_sym(max).data)
    return _wrap(y, _dtype(x))


op(*_keys("clamp_min"))(lambda x, min: clamp(x, min=min))
op(*_keys("clamp_max"))(lambda x, max: clamp(x, max=max))


@op(*_keys("where"))
def where(condition, x=None, y=None):
    if x is None:
        raise TypeError("torch.where(condition) with one argument is not supported symbolically")
    pick = np.frompyfunc(lambda c, a, b: a if c is sympy.true else b if c is sympy.false
                         else sympy.Piecewise((a, c), (b, True)), 3, 1)
    return _wrap(pick(as_sym(condition).data, as_sym(x).data, as_sym(y).data), _dtype(x, y))


OPS[T.where] = lambda self, condition, other: where(condition, self, other)  # x.where(c, y): x where c


# -- reductions --------------------------------------------------------------------------
def _dims(dim, ndim: int) -> tuple[int, ...]:
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(sorted(d % max(ndim, 1) for d in dim))


def _reduce(x, dim, keepdim, combine) -> SymTensor:
    """Reduce `x` over `dim` with `combine(list of entries) -> entry`."""
    x = as_sym(x)
    data = x.data
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
    return _wrap(out, x.dtype)


def _total(entries) -> sympy.Expr:
    # One Add of all terms: adding one by one re-flattens the sum each time (n squared).
    return sympy.Add(*entries)


@op(*_keys("sum"))
def sum_(x, dim=None, keepdim=False, *, dtype=None, out=None):
    return _reduce(x, dim, keepdim, _total)


@op(*_keys("mean"))
def mean(x, dim=None, keepdim=False, *, dtype=None, out=None):
    return _reduce(x, dim, keepdim, lambda e: _total(e) / len(e))


@op(*_keys("prod"))
def prod(x, dim=None, keepdim=False, *, dtype=None):
    return _reduce(x, dim, keepdim, lambda e: sympy.Mul(*e))


def _p_norm(p):
    if p in ("fro", 2, 2.0, None):
        return lambda e: sympy.sqrt(sympy.Add(*(v**2 for v in e)))
    if p in (math.inf, float("inf"), "inf"):
        return lambda e: sympy.Max(*(sympy.Abs(v) for v in e))
    if p in (-math.inf, float("-inf")):
        return lambda e: sympy.Min(*(sympy.Abs(v) for v in e))
    if p == 1:
        return lambda e: sympy.Add(*(sympy.Abs(v) for v in e))
    if p == 0:
        raise TypeError("the 0-norm counts nonzeros; it has no derivative and is not supported")
    q = exact(p)
    return lambda e: sympy.Add(*(sympy.Abs(v) ** q for v in e)) ** (1 / q)


def _norm(p):
    combine = _p_norm(p)
    order = 2 if p in ("fro", 2, 2.0, None) else 1 if p == 1 else "inf" if p in (math.inf, "inf") else None

    def marked(entries):
        node = combine(entries)
        if order is not None:  # other orders have no rule in the table
            mark("linalg.vector_norm", node, entries, ord=order)
        return node

    return marked


@op(torch.norm, T.norm)
def norm(x, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    return _reduce(x, dim, keepdim, _norm(p))


@op(torch.linalg.vector_norm)
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    return _reduce(x, dim, keepdim, _norm(ord))


# max and min: SymPy's Max/Min, whose derivative at a tie is Heaviside(0) = 1/2 for each tied entry.
# Autograd's rule differs by form (see compare.kinks): the whole reduction shares the gradient
# among ties; with `dim`, it goes to the index returned.
class _NoIndices:
    """The `indices` of a symbolic max/min: they depend on the values, so they are not available."""

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr):
        raise TypeError(f"the indices of torch.{self.name}(x, dim) are not supported on symbolic tensors")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise TypeError("the indices of torch.max/min(x, dim) are not supported on symbolic tensors")


def _extreme(name: str, f, rule: str):
    def combine(entries):
        node = f(*entries)
        mark(rule, node, entries)
        return node

    return combine


def _max_min(name: str, f):
    combine = _extreme(name, f, name + "imum")  # maximum / minimum
    pairwise = np.frompyfunc(lambda a, b: combine([a, b]), 2, 1)
    result = torch.return_types.max if name == "max" else torch.return_types.min

    def impl(x, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, (SymTensor, torch.Tensor)):  # torch.max(a, b) is torch.maximum(a, b)
            return _wrap(pairwise(as_sym(x).data, as_sym(dim).data), _dtype(x, dim))
        if dim is None:
            return _reduce(x, None, False, _extreme(name, f, name))
        values = _reduce(x, dim, keepdim, _extreme(name, f, name + "(dim)"))
        return result((values, _NoIndices(name)))

    def amax(x, dim=(), keepdim=False, *, out=None):
        return _reduce(x, dim, keepdim, _extreme(name, f, "a" + name))

    def elementwise(a, b, *, out=None):
        return _wrap(pairwise(as_sym(a).data, as_sym(b).data), _dtype(a, b))

    op(*_keys(name))(impl)
    op(*_keys("a" + name))(amax)
    op(*_keys(name + "imum"))(elementwise)


_max_min("max", sympy.Max)
_max_min("min", sympy.Min)


# -- linear algebra ----------------------------------------------------------------------
def _mm2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = sympy.Add(*(a[i, k] * b[k, j] for k in range(a.shape[1])))
    return out


@op(*_keys("matmul", "__matmul__", "mm", "mv", "dot", "inner", "bmm"))
def matmul(a, b, *, out=None):
    A, B = as_sym(a).data, as_sym(b).data
    if A.ndim == 0 or B.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    if A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
        raise RuntimeError(f"matmul: shapes {A.shape} and {B.shape} cannot be multiplied")
    a2 = A.reshape(1, -1) if A.ndim == 1 else A
    b2 = B.reshape(-1, 1) if B.ndim == 1 else B
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    res = np.empty(batch + (a2.shape[-2], b2.shape[-1]), dtype=object)
    for idx in np.ndindex(*batch):
        res[idx] = _mm2(a2[idx], b2[idx])
    if A.ndim == 1:
        res = res[..., 0, :]
    if B.ndim == 1:
        res = res[..., 0]
    return _wrap(res, _dtype(a, b))


@op(*_keys("__rmatmul__"))
def rmatmul(self, other):
    return matmul(other, self)


@op(*_keys("outer", "ger"))
def outer(a, b):
    A, B = as_sym(a).data, as_sym(b).data
    return _wrap(np.multiply.outer(A, B), _dtype(a, b))


# -- shape -------------------------------------------------------------------------------
def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


@op(*_keys("reshape", "view"))
def reshape(x, *shape):
    x = as_sym(x)
    return _wrap(x.data.reshape(_shape_args(shape)), x.dtype)


@op(*_keys("flatten"))
def flatten(x, start_dim=0, end_dim=-1):
    x = as_sym(x)
    s = x.data.shape
    if not s:
        return _wrap(x.data.reshape(1), x.dtype)
    start, end = start_dim % len(s), end_dim % len(s)
    new = s[:start] + (int(np.prod(s[start:end + 1], dtype=int)),) + s[end + 1:]
    return _wrap(x.data.reshape(new), x.dtype)


@op(*_keys("unsqueeze"))
def unsqueeze(x, dim):
    x = as_sym(x)
    return _wrap(np.expand_dims(x.data, dim % (x.data.ndim + 1)), x.dtype)


@op(*_keys("squeeze"))
def squeeze(x, dim=None):
    x = as_sym(x)
    if dim is None:
        return _wrap(np.squeeze(x.data), x.dtype)
    dims = tuple(d % max(x.data.ndim, 1) for d in ((dim,) if isinstance(dim, int) else dim))
    dims = tuple(d for d in dims if x.data.ndim and x.data.shape[d] == 1)
    return _wrap(np.squeeze(x.data, axis=dims) if dims else x.data, x.dtype)


@op(*_keys("t"))
def t(x):
    x = as_sym(x)
    return _wrap(x.data.T, x.dtype)


@op(*_keys("transpose", "swapaxes", "swapdims"))
def transpose(x, dim0, dim1):
    x = as_sym(x)
    return _wrap(np.swapaxes(x.data, dim0, dim1), x.dtype)


@op(*_keys("permute"))
def permute(x, *dims):
    x = as_sym(x)
    return _wrap(np.transpose(x.data, _shape_args(dims)), x.dtype)


@op(*_keys("expand"))
def expand(x, *sizes):
    x = as_sym(x)
    sizes = _shape_args(sizes)
    shape = tuple(x.data.shape[i - len(sizes) + x.data.ndim] if s == -1 else s for i, s in enumerate(sizes))
    return _wrap(np.broadcast_to(x.data, shape).copy(), x.dtype)


@op(*_keys("expand_as"))
def expand_as(x, other):
    return expand(x, *as_sym(other).data.shape)


@op(*_keys("clone", "contiguous", "float", "double", "half", "to", "type_as", "requires_grad_"))
def clone(x, *args, **kwargs):
    x = as_sym(x)
    dt = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.dtype)), x.dtype)
    if isinstance(args[:1] and args[0], (torch.Tensor, SymTensor)):
        dt = args[0].dtype
    return SymTensor(x.data.copy(), dt)


OPS[T.float] = lambda x, *a, **k: SymTensor(as_sym(x).data.copy(), torch.float32)
OPS[T.double] = lambda x, *a, **k: SymTensor(as_sym(x).data.copy(), torch.float64)


def _index(index):
    """A torch index (ints, slices, None, Ellipsis, tensors) as a NumPy one."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, torch.Tensor):
        return index.detach().cpu().numpy()
    if isinstance(index, SymTensor):
        raise TypeError("indexing with a symbolic tensor is not supported")
    return index


@op(T.__getitem__)
def getitem(x, index):
    x = as_sym(x)
    return _wrap(x.data[_index(index)], x.dtype)


@op(T.__setitem__)
def setitem(x, index, value):
    # The SymTensor is rebound to a copy: views of it made earlier do not see the write.
    data = x.data.copy()
    v = as_sym(value).data
    data[_index(index)] = v[()] if v.ndim == 0 else v  # a 0-d value is an entry, not a nested array
    x.data = data


@op(*_keys("stack"))
def stack(tensors, dim=0, *, out=None):
    datas = [as_sym(t).data for t in tensors]
    return _wrap(np.stack(datas, axis=dim), _dtype(*tensors))


@op(*_keys("cat", "concat", "concatenate"))
def cat(tensors, dim=0, *, out=None):
    datas = [as_sym(t).data for t in tensors]
    return _wrap(np.concatenate(datas, axis=dim), _dtype(*tensors))


def _like(fill):
    def impl(x, *args, dtype=None, **kwargs):
        x = as_sym(x)
        value = fill(args)
        return _wrap(np.full(x.data.shape, value, dtype=object), dtype or x.dtype)

    return impl


op(*_keys("zeros_like"))(_like(lambda a: sympy.S.Zero))
op(*_keys("ones_like"))(_like(lambda a: sympy.S.One))
op(*_keys("full_like"))(_like(lambda a: exact(a[0])))


# -- questions about shape that return plain values ---------------------------------------
OPS[T.dim] = lambda x: as_sym(x).data.ndim
OPS[T.numel] = lambda x: as_sym(x).data.size
OPS[torch.numel] = OPS[T.numel]
OPS[T.size] = lambda x, dim=None: (torch.Size(as_sym(x).data.shape) if dim is None
                                   else as_sym(x).data.shape[dim])


# -- logical reductions (for branches such as `if (x > 0).all():`) ------------------------
@op(*_keys("all"))
def all_(x, dim=None, keepdim=False, *, out=None):
    return _reduce(x, dim, keepdim, lambda e: sympy.And(*e))


@op(*_keys("any"))
def any_(x, dim=None, keepdim=False, *, out=None):
    return _reduce(x, dim, keepdim, lambda e: sympy.Or(*e))


# -- the building blocks of deep learning, written out -------------------------------------
def _along(x, dim: int, f) -> SymTensor:
    """Apply `f(list of entries) -> list of entries` to every 1-D slice of `x` along `dim`."""
    x = as_sym(x)
    data = x.data
    if data.ndim == 0:
        return _wrap(np.array(f([data[()]])[0], dtype=object), x.dtype)
    moved = np.moveaxis(data, dim, -1)
    out = np.empty(moved.shape, dtype=object)
    for idx in np.ndindex(*moved.shape[:-1]):
        out[idx] = np.array(f(list(moved[idx])), dtype=object)
    return _wrap(np.moveaxis(out, -1, dim), x.dtype)


def _logsumexp(entries) -> sympy.Expr:
    return sympy.log(sympy.Add(*(sympy.exp(v) for v in entries)))


def _softmax(entries) -> list:
    total = sympy.Add(*(sympy.exp(v) for v in entries))
    return [sympy.exp(v) / total for v in entries]


def _log_softmax(entries) -> list:
    lse = _logsumexp(entries)
    return [v - lse for v in entries]


def _softmax_dim(x, dim):
    if dim is None:  # F.softmax's legacy default: dim 0 for 0-, 1- and 3-d inputs, else 1
        dim = 0 if as_sym(x).data.ndim in (0, 1, 3) else 1
    return dim


@op(*_keys("softmax"))
def softmax(x, dim=None, _stacklevel=3, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along `dim`"""
    return _along(x, _softmax_dim(x, dim), _softmax)


@op(*_keys("log_softmax"))
def log_softmax(x, dim=None, _stacklevel=3, dtype=None):
    """x_i - log(sum_j exp(x_j)) along `dim`"""
    return _along(x, _softmax_dim(x, dim), _log_softmax)


@op(*_keys("logsumexp"))
def logsumexp(x, dim=None, keepdim=False, *, out=None):
    """log(sum_j exp(x_j)) over `dim` (the exact value: no max is subtracted, none is needed)"""
    return _reduce(x, dim, keepdim, _logsumexp)


def _reduction(losses: np.ndarray, reduction: str, dtype, count=None) -> SymTensor:
    if reduction == "none":
        return _wrap(losses, dtype)
    total = sympy.Add(*losses.flat)
    if reduction == "sum":
        return _wrap(total, dtype)
    if reduction == "mean":
        return _wrap(total / (losses.size if count is None else count), dtype)
    raise ValueError(f"{reduction} is not a valid value for reduction")


@op(F.cross_entropy)
def cross_entropy(x, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """-log softmax(x_n)[target_n], averaged over the batch (integer class targets)"""
    if weight is not None or label_smoothing or size_average is not None or reduce is not None:
        raise TypeError("cross_entropy: weight, label_smoothing and the legacy reduction arguments "
                        "are not supported symbolically")
    if not isinstance(target, torch.Tensor) or target.dtype.is_floating_point:
        raise TypeError("cross_entropy: only integer class targets (a LongTensor) are supported symbolically")
    x = as_sym(x)
    if x.data.ndim not in (1, 2):
        raise TypeError("cross_entropy: only (N, C) or (C,) inputs are supported symbolically")
    logits = x.data if x.data.ndim == 2 else x.data.reshape(1, -1)
    losses, kept = [], 0
    for row, c in zip(logits, target.reshape(-1).tolist()):
        if c == ignore_index:
            losses.append(sympy.S.Zero)
            continue
        kept += 1
        losses.append(-_log_softmax(list(row))[c])
    losses = np.array(losses, dtype=object).reshape(tuple(target.shape))
    return _reduction(losses, reduction, x.dtype, count=kept)


@op(F.mse_loss)
def mse_loss(x, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x - target)**2, averaged"""
    if weight is not None or size_average is not None or reduce is not None:
        raise TypeError("mse_loss: weight and the legacy reduction arguments are not supported symbolically")
    a, b = as_sym(x).data, as_sym(target).data
    shape = np.broadcast_shapes(a.shape, b.shape)
    d = np.broadcast_to(a, shape) - np.broadcast_to(b, shape)
    return _reduction(np.frompyfunc(lambda v: v**2, 1, 1)(d).astype(object), reduction, _dtype(x, target))


@op(F.layer_norm)
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dims (biased variance)"""
    x = as_sym(x)
    k = len(_shape_args((normalized_shape,)) if isinstance(normalized_shape, int) else tuple(normalized_shape))
    lead = x.data.shape[:x.data.ndim - k]
    rows = x.data.reshape(lead + (-1,))
    out = np.empty(rows.shape, dtype=object)
    e = exact(eps)
    for idx in np.ndindex(*lead):
        row = list(rows[idx])
        mu = sympy.Add(*row) / len(row)
        var = sympy.Add(*((v - mu) ** 2 for v in row)) / len(row)
        out[idx] = np.array([(v - mu) / sympy.sqrt(var + e) for v in row], dtype=object)
    y = _wrap(out.reshape(x.data.shape), x.dtype)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


@op(F.linear)
def linear(x, weight, bias=None):
    """x @ weight.T + bias"""
    y = matmul(x, t(weight) if as_sym(weight).data.ndim == 2 else weight)
    return y if bias is None else add(y, bias)


@op(*_keys("addmm"))
def addmm(x, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * x + alpha * (mat1 @ mat2)"""
    product = matmul(mat1, mat2)
    return add(as_sym(x) * beta if beta != 1 else x, product * alpha if alpha != 1 else product)


@op(F.softplus)
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (torch's switch to linear)"""
    b, th = exact(beta), exact(threshold)
    f = np.frompyfunc(lambda v: sympy.Piecewise((v, b * v > th), (sympy.log(1 + sympy.exp(b * v)) / b, True)),
                      1, 1)
    return _wrap(f(as_sym(x).data), _dtype(x))


@op(F.gelu)
def gelu(x, approximate="none"):
    """x * Phi(x) = x (1 + erf(x / sqrt 2)) / 2; with approximate='tanh', torch's tanh formula"""
    if approximate == "tanh":
        c = sympy.sqrt(2 / sympy.pi)
        g = lambda v: v * (1 + sympy.tanh(c * (v + sympy.Rational(44715, 1000000) * v**3))) / 2
    else:
        g = lambda v: v * (1 + sympy.erf(v / sympy.sqrt(2))) / 2
    return _wrap(np.frompyfunc(g, 1, 1)(as_sym(x).data), _dtype(x))


# -- derivatives inside a case: torch.autograd.grad ----------------------------------------
@op(torch.autograd.grad)
def autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                  only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """the exact derivative of sum(grad_outputs * outputs) by each input (held constant unless create_graph)"""
    from .derive import gradient
    from .sym import detach

    outs = [outputs] if not isinstance(outputs, (tuple, list)) else list(outputs)
    ins = [inputs] if not isinstance(inputs, (tuple, list)) else list(inputs)
    weights = [None] * len(outs) if grad_outputs is None else (
        [grad_outputs] if not isinstance(grad_outputs, (tuple, list)) else list(grad_outputs))
    total = []
    for out, w in zip(outs, weights):
        out = as_sym(out)
        if w is None:
            if out.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            total.append(out.data.reshape(-1)[0])
        else:
            total.extend((out * w).data.flat)
    symbols = {}
    for k, x in enumerate(ins):
        data = as_sym(x).data
        if not all(isinstance(s, sympy.Symbol) for s in data.flat):
            raise TypeError("torch.autograd.grad is supported symbolically only with respect to the "
                            "case's own inputs")
        symbols[k] = data
    grads = gradient(np.array(sympy.Add(*total), dtype=object), symbols)
    keep = (lambda g: g) if create_graph else np.frompyfunc(detach, 1, 1)
    return tuple(_wrap(keep(grads[k]) if grads[k].size else grads[k], _dtype(x)) for k, x in enumerate(ins))
