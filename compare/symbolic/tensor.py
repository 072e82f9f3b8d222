"""`SymTensor`: a torch.Tensor whose entries are SymPy expressions.

It is a wrapper subclass (`torch.Tensor._make_wrapper_subclass`): torch
sees a tensor with a shape, strides and a dtype but no storage, and sends
every ATen op on it to `__torch_dispatch__`. By then composite ops
(`CompositeImplicitAutograd`: `F.cosine_similarity`, `matmul`, `norm`) have
decomposed themselves, in-place ops arrive as in-place ATen ops (`add_`,
`copy_`, `index_put_`), views as view ops, and a TorchScript function runs
its graph through the same handler. Each op is answered, in this order, by

1. its SymPy meaning in `MEANINGS` (the core: elementwise functions,
   reductions, views, linear algebra, convolution, ...), with shape and
   dtype from torch's own meta kernel, so broadcasting and type promotion
   are torch's;
2. PyTorch's decomposition of it (`torch._decomp.decomposition_table`,
   aten-level or `torch._refs`), run on the symbolic tensors, or its
   composite kernel;
3. otherwise an `UnsupportedOp` that names the ATen op.

Autograd's semantics that live above the dispatcher are followed here:
under `no_grad` an op's result is `detach`ed (a stop-gradient), and an
in-place op under `no_grad` changes the value but not the derivative, as
autograd does not record it. A custom `Function`'s forward, which torch
always runs without grad, is differentiated (its backward is what the
exact side checks). Inside a decomposition, which torch runs below
autograd, neither applies.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np
import sympy
import torch
from torch.utils._pytree import tree_flatten, tree_map

from ..exact.graph.tape import Call, active_tape, record
from ..exact.sym import as_expr, detach, nograd
from .grad import symbolic_grad
from . import observed, shared
from .draws import RANDOM_OPS, draw
from .heads import recorded
from .registry import MEANINGS, RECORDING, NeedsValue, UnsupportedOp, decide, exprs

__all__ = ["SymTensor", "exprs_of"]

aten = torch.ops.aten
_DETACH = np.frompyfunc(detach, 1, 1)
_NOGRAD = np.frompyfunc(nograd, 1, 1)  # grad mode's stop-gradient, which forward mode does not see
_depth = [0]  # > 0 while a decomposition runs: below autograd, grad mode and detach mean nothing


class SymTensor(torch.Tensor):
    """A tensor of SymPy expressions (`exprs`, a NumPy object array of the tensor's shape)."""

    exprs: np.ndarray
    stopped: bool
    """A view made under `no_grad`: its entries alias its base's, and are read as `detach`ed."""

    @staticmethod
    def __new__(cls, exprs: np.ndarray, dtype: torch.dtype = torch.float32, strides=None, offset: int = 0,
                stopped: bool = False):
        exprs = exprs if isinstance(exprs, np.ndarray) and exprs.dtype == object else np.asarray(exprs, dtype=object)
        layout = {"strides": strides, "storage_offset": offset} if strides is not None else {}
        t = torch.Tensor._make_wrapper_subclass(cls, exprs.shape, dtype=dtype, device="cpu", requires_grad=False,
                                                **layout)
        t.exprs = exprs
        t.stopped = stopped
        return t

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.autograd.grad:  # the one op answered above the dispatcher
            grads = symbolic_grad(*args, **(kwargs or {}))
            inputs = args[1] if len(args) > 1 else kwargs["inputs"]
            inputs = [inputs] if not isinstance(inputs, (tuple, list)) else list(inputs)
            return tuple(SymTensor(g, x.dtype) for g, x in zip(grads, inputs))
        if func is torch.Tensor.backward:
            raise UnsupportedOp("torch.Tensor.backward inside the function (use torch.autograd.grad)")
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunctionSubclass():
            return shared.answered(func, args, kwargs, lambda: func(*args, **kwargs), _sharing_state)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return dispatch(func, args, kwargs or {})

    # -- where a Python value is asked for ------------------------------------------------------
    def __bool__(self) -> bool:
        if self.exprs.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return decide(self.exprs.reshape(-1)[0])

    def _concrete(self, what: str):
        if self.exprs.size == 1:
            value = as_expr(self.exprs.reshape(-1)[0])
            if value is sympy.true or value is sympy.false:
                return value is sympy.true
            if value.is_number:
                return value
        raise NeedsValue(f"{what} needs a concrete number; a symbolic tensor has none")

    def __float__(self): return float(self._concrete("float()"))
    def __int__(self): return int(self._concrete("int()"))
    def __index__(self): return int(self._concrete("an index"))

    def item(self):
        value = self._concrete("item()")
        return bool(value) if isinstance(value, bool) else (
            int(value) if not _differentiable(self.dtype) else complex(value) if self.dtype.is_complex
            else float(value))

    def tolist(self):
        raise NeedsValue("tolist() needs concrete numbers; a symbolic tensor has none")

    def numpy(self, *args, **kwargs):
        raise NeedsValue("numpy() needs concrete numbers; a symbolic tensor has none")

    def __repr__(self, *args, **kwargs) -> str:
        return f"SymTensor({self.exprs.tolist()!r}, dtype={self.dtype})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("a symbolic tensor cannot be pickled or deep-copied")


exprs_of = exprs
"""The entries of a symbolic tensor, or of a real tensor or number, as an object array."""


# -- the dispatcher ----------------------------------------------------------------------------
def _on_meta(value):
    """A meta tensor of `value`'s layout, storage offset included (a view of a view keeps it)."""
    if isinstance(value, torch.Tensor):
        shape, stride, offset = tuple(value.shape), tuple(value.stride()), value.storage_offset()
        if not offset:
            return torch.empty_strided(shape, stride, dtype=value.dtype, device="meta")
        extent = 1 + sum((n - 1) * s for n, s in zip(shape, stride)) if all(shape) else 0
        storage = torch.empty(offset + extent, dtype=value.dtype, device="meta")
        return storage.as_strided(shape, stride, offset)
    return value


def _signature(value):
    """What a meta kernel's answer depends on: a tensor's layout and dtype, any other value itself."""
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), tuple(value.stride()), value.storage_offset(), value.dtype)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_signature(v) for v in value)
    if isinstance(value, dict):
        return ("dict",) + tuple((k, _signature(v)) for k, v in sorted(value.items()))
    if isinstance(value, float):  # 0.0 and -0.0, nan: by their bits, never equal by accident
        return ("float", value.hex())
    hash(value)
    return (type(value).__name__, value)


_METAS: dict = {}
"""(op, signature of the arguments) -> torch's meta outputs: most ops meet the same layouts again."""


def _meta(func, args, kwargs):
    """torch's own shapes and dtypes of the outputs (None where the meta kernel cannot run)."""
    try:
        key = (func, _signature(args), _signature(kwargs))
    except TypeError:  # an unhashable argument: no caching
        key = None
    if key is not None and key in _METAS:
        return _METAS[key]
    try:
        found = func(*tree_map(_on_meta, args), **tree_map(_on_meta, kwargs))
    except Exception:  # data-dependent shapes (a boolean mask), or no meta kernel: the meaning decides
        found = None
    if key is not None and len(_METAS) < 100_000:
        _METAS[key] = found
    return found


def _wrap(values, meta, func, args):
    """Wrap a meaning's entries as torch's meta kernel says the outputs look."""
    if isinstance(values, np.ndarray):
        if isinstance(meta, torch.Tensor):
            if tuple(values.shape) != tuple(meta.shape):
                raise RuntimeError(f"compare's meaning of {func} gives shape {values.shape}, "
                                   f"torch's {tuple(meta.shape)}: a bug in compare")
            return SymTensor(values, meta.dtype, strides=meta.stride(), offset=meta.storage_offset())
        # No meta kernel (a data-dependent shape: a boolean mask): the first tensor argument's dtype.
        first = next((a for a in tree_flatten(args)[0] if isinstance(a, torch.Tensor)), None)
        return SymTensor(values, first.dtype if first is not None else torch.float32)
    if isinstance(values, (tuple, list)):
        metas = meta if isinstance(meta, (tuple, list)) else [None] * len(values)
        wrapped = [_wrap(v, m, func, args) for v, m in zip(values, metas)]
        return type(values)(wrapped) if isinstance(values, list) else tuple(wrapped)
    return values


def _meaning_of(func):
    return MEANINGS.get(func) or MEANINGS.get(func.overloadpacket)


def dispatch(func, args: tuple, kwargs: dict) -> Any:
    """Answer one ATen op on symbolic tensors (see the module's docstring for the order)."""
    shared.note_op(func)
    name = func.overloadpacket.__name__
    if name in RANDOM_OPS:
        return _drawn(func, args, kwargs)
    if func is aten._local_scalar_dense.default:  # bool() or item() below Python (TorchScript)
        return _scalar(args[0])
    if func is aten.detach.default:
        return _detached(args[0])
    if not func.is_view and name.endswith("_") and not name.startswith("_") and "out" not in kwargs:
        return _in_place(func, args, kwargs)
    if func.is_view:
        return _view(func, args, kwargs)
    if _any_stopped(args) or _any_stopped(kwargs.values()):
        args, kwargs = tree_map(_read, (args, kwargs))
    return _answer(func, args, kwargs)


def _drawn(func, args, kwargs):
    """A random op: torch's own draw, as exact constants (`draws.py`); an in-place one writes it into its
    first argument (what was there does not matter: the draw replaces it, derivative and all)."""
    values = draw(func, args, kwargs)
    if func._schema.is_mutable and func.overloadpacket.__name__.endswith("_"):
        target = args[0]
        target.exprs[...] = np.broadcast_to(values, target.exprs.shape)
        return target
    out = _wrap(values, _meta(func, args, kwargs), func, args)
    return out if _depth[0] else _grad_mode(out)


def _any_stopped(values) -> bool:
    """Is a stopped view among the arguments (or in a list of them)? Cheaper than a pytree walk."""
    for v in values:
        if isinstance(v, SymTensor):
            if v.stopped:
                return True
        elif isinstance(v, (list, tuple)) and _any_stopped(v):
            return True
    return False


def _answer(func, args, kwargs):
    if _depth[0]:
        return _computed(func, args, kwargs)
    if RECORDING.get() is not None and _differentiating():  # an op autograd records: a kink site?
        out = recorded(func, args, kwargs, _computed)
    else:
        out = _computed(func, args, kwargs)
    observed.note_op(func, args, kwargs, out)  # the op autograd runs: its structured arguments, its casts
    return _recorded(func, args, _grad_mode(out))


def _recorded(func, args, out):
    """The output of an op autograd runs (one answered at depth 0), its entries kept as the graph mode
    keeps them (`compare.exact.graph.tape`): a node each on the tape, measured as trees, or as they are."""
    for t in (out,) if isinstance(out, SymTensor) else tree_flatten(out)[0]:
        if isinstance(t, SymTensor) and _differentiable(t.dtype):
            new = record(_call(func, args), t.exprs)
            if new is not None:
                t.exprs = new
    return out


def _call(func, args) -> Call | None:
    """The op and its parameters, for the tape (None outside graph mode, where nothing keeps it)."""
    if active_tape() is None:
        return None
    return Call(func, tuple(a for a in tree_flatten(args)[0] if not isinstance(a, torch.Tensor)))


def _computed(func, args, kwargs):
    """The op's output: its meaning, else its decomposition (grad mode not applied)."""
    impl = _meaning_of(func)
    if impl is not None:
        return _wrap(impl(*args, **kwargs), _meta(func, args, kwargs), func, args)
    return _decomposed(func, args, kwargs)


def _decomposed(func, args, kwargs):
    """The op through PyTorch's decomposition of it, or its composite kernel."""
    decomposition = torch._decomp.decomposition_table.get(func)
    if decomposition is None and func.has_kernel_for_dispatch_key(torch._C.DispatchKey.CompositeImplicitAutograd):
        decomposition = func.decompose
    if decomposition is None:
        raise UnsupportedOp(str(func))
    _depth[0] += 1
    try:
        out = decomposition(*args, **kwargs)
    finally:
        _depth[0] -= 1
    if out is NotImplemented:
        raise UnsupportedOp(str(func))
    return out


def _scalar(t: SymTensor):
    """A Python scalar for a one-entry tensor: a branch for a condition, else a concrete number."""
    if t.dtype == torch.bool:
        return decide(t.exprs.reshape(-1)[0], "TorchScript")  # Python's bool() never gets here
    return t.item()


def _detached(t):
    """`detach()`: a stop-gradient, except inside a decomposition (below autograd, where it is a no-op)."""
    if not isinstance(t, SymTensor):
        return t.detach()
    if _depth[0] or not _differentiable(t.dtype):
        return SymTensor(t.exprs, t.dtype, strides=t.stride(), offset=t.storage_offset(), stopped=t.stopped)
    return _recorded(aten.detach.default, (), SymTensor(_DETACH(t.exprs), t.dtype, strides=t.stride(),
                                                         offset=t.storage_offset()))


def _read(value):
    """A stopped view as an op that reads it sees it: detached."""
    if isinstance(value, SymTensor) and value.stopped:
        return SymTensor(_NOGRAD(value.exprs), value.dtype)
    return value


def _view(func, args, kwargs):
    """A view op: its entries alias the input's (NumPy views), and it is stopped if made under no_grad."""
    stopped = _any_stopped(args) or _any_stopped(kwargs.values())
    impl = _meaning_of(func)
    if impl is not None:
        out = _wrap(impl(*args, **kwargs), _meta(func, args, kwargs), func, args)
    else:
        out = _decomposed(func, args, kwargs)
    if stopped or (not _depth[0] and not _differentiating()):
        for t in tree_flatten(out)[0]:
            if isinstance(t, SymTensor):
                t.stopped = True
    return out


def _functional(func):
    """`aten.add.Tensor` for `aten.add_.Tensor`: the op that computes what the in-place one writes."""
    packet = getattr(aten, func.overloadpacket.__name__[:-1], None)
    overload = getattr(packet, func._overloadname, None) if packet is not None else None
    if overload is None and packet is not None:  # transpose_.default is transpose.int: the same arguments
        types = [str(a.type) for a in func._schema.arguments]
        overload = next((getattr(packet, o) for o in packet.overloads()
                         if [str(a.type) for a in getattr(packet, o)._schema.arguments] == types), None)
    if overload is None:
        raise UnsupportedOp(str(func))
    return overload


def _in_place(func, args, kwargs):
    """An in-place op: its functional twin's result, written into the first argument's entries.

    The entries are a NumPy view of the base tensor's when the argument is
    a view, so the write reaches the base and every other view of it, as in
    torch. Under `no_grad` (outside a Function's forward) the new value is
    `old + detach(new - old)`: the value changes, the derivative is still
    the old one's, which is what autograd computes when it does not record
    the write.
    """
    target = args[0]
    functional = _functional(func)
    if functional.is_view and isinstance(target, SymTensor):
        # squeeze_, unsqueeze_, t_, transpose_ change the tensor's own shape (matmul's composite
        # kernel ends in `mm(...).squeeze_(0)` and returns the tensor itself): the wrapper takes the
        # view's shape and strides (`.data =` swaps them in), and its entries become the view's.
        new = dispatch(functional, args, kwargs)
        with torch._C.DisableTorchFunctionSubclass():
            target.data = new
        target.exprs, target.stopped = new.exprs, new.stopped
        return target
    if not isinstance(target, SymTensor):
        raise UnsupportedOp(f"{func} writing a symbolic value into a tensor made without the "
                            "inputs (make it from an input: zeros_like, new_zeros, clone)")
    if not _depth[0] and RECORDING.get() is not None and _differentiating():  # autograd records the write
        new = recorded(functional, args, kwargs, _below)
    else:
        new = _below(functional, args, kwargs)
    values = _convert_into(exprs(new), new.dtype, target.dtype)
    if not _depth[0]:
        observed.note_op(func, args, kwargs, target)  # a write into a coarser tensor rounds what it writes
    if not _depth[0] and not _differentiating() and _differentiable(target.dtype):
        old = target.exprs
        values = np.frompyfunc(lambda o, n: o + nograd(n - o), 2, 1)(old, np.broadcast_to(values, old.shape))
    if not _depth[0] and _differentiable(target.dtype):
        values = np.asarray(values, dtype=object)
        on_tape = record(_call(func, args), values)
        values = values if on_tape is None else on_tape
    target.exprs[...] = np.broadcast_to(values, target.exprs.shape)
    return target


def _below(func, args, kwargs):
    """`func` answered as part of another op (an in-place op's functional twin): grad mode not applied."""
    _depth[0] += 1
    try:
        return dispatch(func, args, kwargs)
    finally:
        _depth[0] -= 1


def _convert_into(values: np.ndarray, source: torch.dtype, target: torch.dtype) -> np.ndarray:
    from .elementwise import convert

    return convert(values, source, target) if source != target else values


def _differentiable(dtype: torch.dtype) -> bool:
    """Does autograd track tensors of this dtype (floating and complex ones)?"""
    return dtype.is_floating_point or dtype.is_complex


def _differentiating() -> bool:
    return torch.is_grad_enabled() or _in_function_forward()


_APPLY = torch.autograd.Function.apply.__func__.__code__


def _in_function_forward() -> bool:
    """Is an `autograd.Function.apply` on the stack (so grad is off for its forward, not by the case)?"""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _APPLY:
            return True
        frame = frame.f_back
    return False


def _sharing_state():
    """What a torch call's answer depends on beyond its arguments, for `shared.answered` (grad mode, the
    default dtype, autocast); None while kink sites are recorded (an op's answer then includes its note)."""
    if RECORDING.get() is not None:
        return None
    return (_differentiating(), _depth[0], torch.get_default_dtype(), torch.is_autocast_enabled("cpu"))


def _grad_mode(out):
    """What an op returns as torch's grad mode makes it: under no_grad, a stop-gradient."""
    if _differentiating():
        return out
    if isinstance(out, SymTensor) and _differentiable(out.dtype):
        return SymTensor(_NOGRAD(out.exprs), out.dtype, strides=out.stride(), offset=out.storage_offset())
    if isinstance(out, (tuple, list)):
        items = [_grad_mode(o) for o in out]
        return type(out)(items) if not hasattr(out, "_fields") else type(out)(*items)
    return out
